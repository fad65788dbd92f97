#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The trust scope (issue 22, first part): a node that follows no anchor says it runs in open
//! mode (status, metrics, every UI page); a node that follows an anchor counts the anchor,
//! the organisations it attests, its own organisation and their keys and valid delegates.

use std::net::SocketAddr;
use std::path::Path;

mod common;
use common::ok;

/// Starts a node on `dir` following `anchors`, serving HTTP on 127.0.0.1.
async fn node(
    dir: &Path,
    anchors: Vec<allmende_protocol::ids::OrgId>,
) -> allmende_node::node::Node {
    allmende_node::node::Node::spawn(allmende_node::node::NodeConfig {
        data_dir: dir.to_owned(),
        identity_file: None,
        net: allmende_node::net::NetConfig {
            listen: vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
            mdns: false,
            ..Default::default()
        },
        http: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
        trust_anchors: anchors,
        quarantine: Default::default(),
        demo: false,
    })
    .await
    .unwrap()
}

/// `GET path` on the node's loopback HTTP server: status code and body.
fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let code = text.split_whitespace().nth(1).unwrap().parse().unwrap();
    let body = text.split_once("\r\n\r\n").map(|x| x.1).unwrap_or("");
    (code, body.to_owned())
}

fn org_of(dir: &Path) -> String {
    ok(dir, &["key", "export-public"])
        .lines()
        .nth(1)
        .unwrap()
        .trim_start_matches("org ")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_without_anchor_says_it_runs_in_open_mode_and_one_with_counts_its_scope() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("n");
    ok(
        &dir,
        &[
            "init",
            "--name",
            "Land Anker",
            "--kind",
            "land",
            "--ags",
            "05000000",
        ],
    );
    let own = org_of(&dir);
    // Another organisation, attested by this node (which is its own anchor here), and a key
    // that organisation delegated to: it lives in a second data directory.
    let other_dir = tmp.path().join("o");
    ok(
        &other_dir,
        &[
            "init",
            "--name",
            "Stadt Bestätigt",
            "--kind",
            "kommune",
            "--ags",
            "05315000",
        ],
    );
    let other = org_of(&other_dir);
    let delegate = "06e6ad7f6f775ddef8e0afec96d2693b95382fc407990bdfba905384648bef1b";
    ok(
        &other_dir,
        &["key", "delegate", "--to", delegate, "--days", "30"],
    );
    let export = tmp.path().join("o.json");
    ok(
        &other_dir,
        &[
            "export",
            "--format",
            "json",
            "--out",
            export.to_str().unwrap(),
        ],
    );
    ok(&dir, &["import", export.to_str().unwrap()]);
    ok(
        &dir,
        &[
            "trust",
            "attest",
            "--org",
            &other,
            "--name",
            "Stadt Bestätigt",
            "--kind",
            "kommune",
            "--ags",
            "05315000",
        ],
    );

    // Open mode: no anchor.
    let n = node(&dir, vec![]).await;
    let addr = n.http_addr.unwrap();
    let (status, page, metrics) = tokio::task::spawn_blocking(move || {
        (
            get(addr, "/api/v1/status"),
            get(addr, "/produkte"),
            get(addr, "/metrics"),
        )
    })
    .await
    .unwrap();
    assert_eq!(status.0, 200, "{}", status.1);
    let s: serde_json::Value = serde_json::from_str(&status.1).unwrap();
    assert_eq!(s["trust"]["open_mode"], true, "{s}");
    assert_eq!(s["trust"]["anchors"], 0);
    assert_eq!(s["trust"]["organisations"], 1, "only its own: {s}");
    assert!(page.1.contains("Offener Modus"), "{}", page.1);
    assert!(metrics.1.contains("allmende_open_mode 1"), "{}", metrics.1);
    n.shutdown().await;

    // Following itself as anchor: the anchor, the organisation it attests, their keys and the
    // delegate.
    let n = node(&dir, vec![own.parse().unwrap()]).await;
    let addr = n.http_addr.unwrap();
    let (status, page, trust, metrics) = tokio::task::spawn_blocking(move || {
        (
            get(addr, "/api/v1/status"),
            get(addr, "/produkte"),
            get(addr, "/vertrauen"),
            get(addr, "/metrics"),
        )
    })
    .await
    .unwrap();
    let s: serde_json::Value = serde_json::from_str(&status.1).unwrap();
    assert_eq!(s["trust"]["open_mode"], false, "{s}");
    assert_eq!(s["trust"]["anchors"], 1);
    assert_eq!(s["trust"]["organisations"], 2, "{s}");
    assert_eq!(s["trust"]["keys"], 3, "two root keys and the delegate: {s}");
    assert!(!page.1.contains("Offener Modus"));
    assert!(
        trust
            .1
            .contains(r#"<dd id="vertrauensbereich-organisationen">2</dd>"#),
        "{}",
        trust.1
    );
    assert!(
        trust
            .1
            .contains(r#"<dd id="vertrauensbereich-schluessel">3</dd>"#)
    );
    assert!(metrics.1.contains("allmende_open_mode 0"));
    assert!(metrics.1.contains("allmende_trust_scope_keys 3"));
    n.shutdown().await;
}
