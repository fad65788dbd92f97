//! The HTTP API: happy paths and bad input, against a real node on 127.0.0.1.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::cloned_ref_to_slice_refs
)]

use std::io::{Read, Write};
use std::time::Duration;

use allmende_node::datadir::DataDir;
use allmende_node::node::{Node, NodeConfig};
use allmende_protocol::doc::{DocHeader, DocKind};
use allmende_protocol::ids::OrgId;
use allmende_protocol::schema::{Deployment, DeploymentStatus, OperatedBy};
use integration_tests::{product, test_net};

/// GET `path`; returns (status code, JSON body).
fn get(addr: std::net::SocketAddr, path: &str) -> (u16, serde_json::Value) {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let code: u16 = text.split_whitespace().nth(1).unwrap().parse().unwrap();
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    let json = serde_json::from_str(body)
        .unwrap_or_else(|e| panic!("{path}: body is not JSON ({e}): {text}"));
    (code, json)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_endpoints_answer_and_refuse_bad_input_with_a_code() {
    let tmp = tempfile::tempdir().unwrap();
    let dd = DataDir::new(tmp.path().join("n"));
    let id = dd.create_identity().unwrap();
    let node = Node::spawn(NodeConfig {
        data_dir: dd.path().to_owned(),
        net: test_net(&[]),
        http: Some("127.0.0.1:0".parse().unwrap()),
        trust_anchors: vec![],
    })
    .await
    .unwrap();
    let addr = node.http_addr.unwrap();
    let key = allmende_protocol::identity::Keypair::from_secret_bytes(&id.keypair.secret_bytes())
        .unwrap();
    let header = DocHeader::product(id.org, [1; 16]);
    let mut p = product("Bauantrag Online");
    p.description = Some("Bauanträge digital einreichen".into());
    p.standards = vec!["XBau".into()];
    let k = key.public();
    node.repo
        .call(move |s| {
            let key = allmende_protocol::identity::Keypair::from_secret_bytes(&key.secret_bytes())
                .unwrap();
            s.edit(&key, header, allmende_node::now(), |ed| ed.put_root(&p))
                .unwrap();
            let d = Deployment {
                product: header.id(),
                version: None,
                tasks: vec![],
                since: None,
                status: DeploymentStatus::Production,
                operated_by: OperatedBy::Itself,
                integrations: vec![],
                end_to_end: Some(true),
                cost_once_eur: None,
                cost_yearly_eur: Some(500),
            };
            let deployments = DocHeader::singleton(DocKind::Deployments, OrgId::from_root_key(k));
            s.edit(&key, deployments, allmende_node::now(), |ed| {
                ed.put("d1", &d)
            })
            .unwrap();
        })
        .await
        .unwrap();

    tokio::task::spawn_blocking(move || {
        let (code, body) = get(addr, "/api/v1/products?q=Bauantrag&standard=XBau");
        assert_eq!(code, 200, "{body}");
        assert_eq!(body["total"], 1);
        assert_eq!(body["hits"][0]["name"], "Bauantrag Online");
        assert_eq!(body["hits"][0]["deployments"], 1);
        assert_eq!(body["facets"]["standard"]["XBau"], 1);

        let id = body["hits"][0]["id"].as_str().unwrap().to_owned();
        let (code, page) = get(addr, &format!("/api/v1/products/{id}"));
        assert_eq!(code, 200, "{page}");
        assert_eq!(page["product"]["name"], "Bauantrag Online");
        assert_eq!(page["deployments"].as_array().unwrap().len(), 1);

        let (code, orgs) = get(addr, "/api/v1/organizations");
        assert_eq!(code, 200);
        assert!(
            orgs.as_array().unwrap().is_empty(),
            "no profile was published: {orgs}"
        );

        let (code, status) = get(addr, "/api/v1/status");
        assert_eq!(code, 200);
        assert_eq!(status["documents"], 2);

        let (code, index) = get(addr, "/api/v1/stats");
        assert_eq!(code, 200);
        assert_eq!(index["stats"].as_array().unwrap().len(), 6);
        for name in [
            "usage",
            "ratings",
            "interop",
            "duplicates",
            "costs",
            "coverage",
        ] {
            let (code, body) = get(
                addr,
                &format!("/api/v1/stats/{name}?include_unverified=true"),
            );
            assert_eq!(code, 200, "{name}: {body}");
            assert!(body.is_array(), "{name}: {body}");
        }
        // No trust anchor configured: nobody is verified, so the default view counts nobody.
        let (_, usage) = get(addr, "/api/v1/stats/usage");
        assert_eq!(usage, serde_json::json!([]));
        let (_, usage) = get(addr, "/api/v1/stats/usage?include_unverified=true");
        assert_eq!(usage[0]["organisations"], 1);

        for (path, expected, needle) in [
            ("/api/v1/stats/nope", 404, "no statistic"),
            (
                "/api/v1/stats/usage?include_unverified=maybe",
                400,
                "include_unverified",
            ),
            ("/api/v1/stats/coverage?by=planet", 400, "coverage by"),
            ("/api/v1/stats/usage?by=land", 400, "unknown parameter"),
            ("/api/v1/products?colour=red", 400, "unknown parameter"),
            ("/api/v1/products?limit=0", 400, "limit"),
            ("/api/v1/products?limit=abc", 400, "limit"),
            ("/api/v1/products?offset=-1", 400, "offset"),
            ("/api/v1/products/zz", 400, "product id"),
            (
                &format!("/api/v1/products/{}", "ab".repeat(32)),
                404,
                "no product",
            ),
            ("/api/v1/nothing-here", 404, "no such endpoint"),
            (
                &format!("/api/v1/products?q={}", "x".repeat(5000)),
                400,
                "longer than",
            ),
        ] {
            let (code, body) = get(addr, path);
            assert_eq!(code, expected, "{path}: {body}");
            assert!(body["error"].is_string(), "{path}: {body}");
            assert!(
                body["message"].as_str().unwrap().contains(needle),
                "{path}: {body}"
            );
        }
        // Hostile search text is just text.
        let (code, body) = get(addr, "/api/v1/products?q=%22%20OR%20*%20NEAR(");
        assert_eq!(code, 200, "{body}");
    })
    .await
    .unwrap();
    node.shutdown().await;
}
