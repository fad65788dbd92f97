//! The inventory import over the HTTP API of a real node: preview of the 200-row XLSX, an
//! import refused for its errors that writes nothing, the import with `skip_errors`, a second
//! preview that finds everything unchanged, and the bounds (no token, a file over the limit).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use allmende_node::datadir::DataDir;
use allmende_node::net::NetConfig;
use allmende_node::node::{Node, NodeConfig};
use serde_json::Value;

/// One HTTP/1.1 POST with a binary body; returns status and body.
fn post(addr: SocketAddr, path: &str, token: Option<&str>, body: &[u8]) -> (u16, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/octet-stream\r\n{auth}Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    // The server may answer (413) before it read everything.
    let _ = s.write_all(body);
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let code = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (code, body.to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_previews_refuses_imports_and_finds_it_unchanged() {
    let tmp = tempfile::tempdir().unwrap();
    let dd = DataDir::new(tmp.path().to_owned());
    dd.create_identity().unwrap();
    let node = Node::spawn(NodeConfig {
        data_dir: tmp.path().to_owned(),
        identity_file: None,
        net: NetConfig {
            listen: vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
            mdns: false,
            ..NetConfig::default()
        },
        http: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
        trust_anchors: vec![],
        quarantine: Default::default(),
        demo: false,
    })
    .await
    .unwrap();
    let addr = node.http_addr.unwrap();
    let token = dd.admin_token().unwrap();
    let file = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/inventory/bestand-200.xlsx"),
    )
    .unwrap();
    let results = tokio::task::spawn_blocking(move || {
        let t = Some(token.as_str());
        let json = |b: &str| serde_json::from_str::<Value>(b).unwrap();
        let (code, body) = post(addr, "/api/v1/inventory/preview", t, &file);
        assert_eq!(code, 200, "{body}");
        let p = json(&body);
        assert_eq!(p["counts"]["rows"], 200);
        assert_eq!(p["counts"]["errors"], 3);
        assert_eq!(p["ready"], false);
        assert_eq!(p["mapping"]["I"], "cost_once");
        let issue = p["issues"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["severity"] == "error" && i["field"] == "since")
            .unwrap();
        assert_eq!(issue["position"]["sheet"], "Bestand");
        assert_eq!(issue["position"]["column"], "G (Im Einsatz seit)");
        // Errors: refused, nothing written.
        let (code, body) = post(addr, "/api/v1/inventory/import", t, &file);
        assert_eq!(code, 409, "{body}");
        assert!(
            json(&body)["message"]
                .as_str()
                .unwrap()
                .contains("3 errors")
        );
        let (_, body) = post(addr, "/api/v1/inventory/preview?skip_errors=true", t, &file);
        assert_eq!(json(&body)["counts"]["add"], 197);
        // The import.
        let (code, body) = post(addr, "/api/v1/inventory/import?skip_errors=true", t, &file);
        assert_eq!(code, 201, "{body}");
        let w = json(&body);
        assert_eq!(w["deployments"], 197);
        assert!(w["products"].as_array().unwrap().len() > 150);
        // Again: unchanged, nothing duplicated.
        let (_, body) = post(addr, "/api/v1/inventory/preview?skip_errors=true", t, &file);
        let again = json(&body);
        assert_eq!(again["counts"]["unchanged"], 197, "{}", again["counts"]);
        assert_eq!(again["counts"]["add"], 0);
        // Bounds and bad input.
        let (code, _) = post(addr, "/api/v1/inventory/preview", None, &file);
        assert_eq!(code, 401);
        let (code, _) = post(
            addr,
            "/api/v1/inventory/preview",
            t,
            &vec![b'a'; 5 * 1024 * 1024],
        );
        assert_eq!(code, 413);
        let (code, body) = post(addr, "/api/v1/inventory/preview?map=Q:nothing", t, &file);
        assert_eq!(code, 400);
        assert!(body.contains("nothing"));
        let (code, body) = post(addr, "/api/v1/inventory/preview", t, b"PK\x03\x04broken");
        assert_eq!(code, 400);
        assert!(body.contains("ZIP"), "{body}");
    })
    .await;
    node.shutdown().await;
    results.unwrap();
}
