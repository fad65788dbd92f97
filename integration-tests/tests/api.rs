//! The HTTP API: happy paths and bad input, against a real node on 127.0.0.1.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::cloned_ref_to_slice_refs
)]

use std::time::Duration;

use allmende_node::datadir::DataDir;
use allmende_protocol::doc::{DocHeader, DocKind};
use allmende_protocol::ids::OrgId;
use allmende_protocol::schema::{Deployment, DeploymentStatus, OperatedBy};
use integration_tests::{http, product};

/// GET `path`; returns (status code, JSON body).
fn get(addr: std::net::SocketAddr, path: &str) -> (u16, serde_json::Value) {
    let (code, body) = http(
        &addr.to_string(),
        "GET",
        path,
        None,
        "",
        Duration::from_secs(10),
    )
    .unwrap();
    let json = serde_json::from_str(&body)
        .unwrap_or_else(|e| panic!("{path}: body is not JSON ({e}): {body}"));
    (code, json)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_endpoints_answer_and_refuse_bad_input_with_a_code() {
    let tmp = tempfile::tempdir().unwrap();
    let dd = DataDir::new(tmp.path().join("n"));
    let id = dd.create_identity().unwrap();
    let node = integration_tests::spawn_http(dd.path()).await.unwrap();
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
                contact_role: None,
                exchange_ok: None,
                until: None,
                replaced_by: None,
                end_reason: None,
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
        assert_eq!(page["integrations"], serde_json::json!([]));

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
        assert_eq!(index["stats"].as_array().unwrap().len(), 7);
        for name in [
            "usage",
            "ratings",
            "interop",
            "duplicates",
            "costs",
            "coverage",
            "ozg",
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
            ("/api/v1/stats/ozg?by=land", 400, "unknown parameter"),
            ("/api/v1/tasks/catalogue", 400, "q is missing"),
            ("/api/v1/tasks/catalogue?q=steuer&limit=101", 400, "limit"),
            (
                "/api/v1/tasks/catalogue?q=steuer&colour=red",
                400,
                "unknown parameter",
            ),
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

/// POST `body` to `path` with an optional bearer token; returns (status code, JSON body).
fn post(
    addr: std::net::SocketAddr,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> (u16, serde_json::Value) {
    let (code, body) = http(
        &addr.to_string(),
        "POST",
        path,
        token,
        body,
        Duration::from_secs(10),
    )
    .unwrap();
    (
        code,
        serde_json::from_str(&body).unwrap_or(serde_json::Value::Null),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn write_endpoints_need_the_token_and_store_nothing_on_bad_input() {
    let tmp = tempfile::tempdir().unwrap();
    let dd = DataDir::new(tmp.path().join("n"));
    let id = dd.create_identity().unwrap();
    let token = dd.admin_token().unwrap();
    let node = integration_tests::spawn_http(dd.path()).await.unwrap();
    let addr = node.http_addr.unwrap();
    let org = format!("{:#}", id.org);
    tokio::task::spawn_blocking(move || {
        let t = Some(token.as_str());
        let product = serde_json::json!({"name": "OpenRathaus", "vendor": "Stadt Ulm", "kind": "software", "licence": "EUPL-1.2"});
        let documents = || get(addr, "/api/v1/status").1["documents"].as_u64().unwrap();
        let before = documents();

        // No token, a wrong token, a token for a page from elsewhere: refused, nothing stored.
        for bad in [None, Some("wrong"), Some(&"0".repeat(64)[..])] {
            let (code, body) = post(addr, "/api/v1/products", bad, &product.to_string());
            assert_eq!(code, 401, "{body}");
            assert_eq!(body["error"], "unauthorized");
        }
        // Bad bodies: precise 400s, nothing stored.
        for (body, needle) in [
            ("{not json", "invalid JSON"),
            (r#"{"name": "X"}"#, "missing field"),
            (r#"{"name": "X", "vendor": "Y", "kind": "software", "licence": "EUPL 1.2"}"#, "SPDX"),
            (r#"{"name": "", "vendor": "Y", "kind": "software"}"#, "name"),
        ] {
            let (code, resp) = post(addr, "/api/v1/products", t, body);
            assert_eq!(code, 400, "{body}: {resp}");
            assert!(resp["message"].as_str().unwrap().contains(needle), "{body}: {resp}");
        }
        let (code, resp) = post(addr, "/api/v1/products", t, &"x".repeat(300 * 1024));
        assert_eq!(code, 413, "{resp}");
        assert_eq!(documents(), before, "a refused request stored something");

        // The happy path.
        let (code, created) = post(addr, "/api/v1/products", t, &product.to_string());
        assert_eq!(code, 201, "{created}");
        let pid = created["id"].as_str().unwrap().to_owned();
        // The same product again is offered, not duplicated; ?new=true insists.
        let (code, again) = post(addr, "/api/v1/products", t, &product.to_string());
        assert_eq!(code, 409, "{again}");
        assert!(again["message"].as_str().unwrap().contains(&pid), "{again}");
        let (code, _) = post(addr, "/api/v1/products?new=true", t, &product.to_string());
        assert_eq!(code, 201);
        let (code, _) = post(addr, "/api/v1/products?force=1", t, &product.to_string());
        assert_eq!(code, 400);
        let (code, dep) = post(
            addr,
            "/api/v1/deployments",
            t,
            &serde_json::json!({"product": pid, "status": "production", "operated_by": {"by": "self"}}).to_string(),
        );
        assert_eq!(code, 201, "{dep}");
        let (code, bad) = post(addr, "/api/v1/ratings", t, &serde_json::json!({"product": pid, "scores": {"usability": 6}}).to_string());
        assert_eq!(code, 400, "{bad}");
        let (code, rating) =
            post(addr, "/api/v1/ratings", t, &serde_json::json!({"product": pid, "scores": {"usability": 4}}).to_string());
        assert_eq!(code, 201, "{rating}");
        let (code, reuse) = post(
            addr,
            "/api/v1/reuse-reports",
            t,
            &serde_json::json!({"product": pid, "outcome": "production", "efa": true, "effort_person_days": 12}).to_string(),
        );
        assert_eq!(code, 201, "{reuse}");

        for (path, n) in [
            (format!("/api/v1/deployments?product={pid}"), 1),
            (format!("/api/v1/ratings?product={pid}&org={org}"), 1),
            (format!("/api/v1/reuse-reports?product={pid}"), 1),
            (format!("/api/v1/deployments?product={}", "cd".repeat(32)), 0),
        ] {
            let (code, list) = get(addr, &path);
            assert_eq!(code, 200, "{path}: {list}");
            assert_eq!(list.as_array().unwrap().len(), n, "{path}: {list}");
        }
        let (code, page) = get(addr, &format!("/api/v1/organizations/{org}"));
        assert_eq!(code, 200, "{page}");
        assert_eq!(page["deployments"].as_array().unwrap().len(), 1);
        assert_eq!(page["ratings"].as_array().unwrap().len(), 1, "{page}");
        assert_eq!(page["ratings"][0]["record"]["scores"]["usability"], 4, "{page}");
        assert_eq!(page["reuse_reports"].as_array().unwrap().len(), 1, "{page}");
        assert_eq!(page["reuse_reports"][0]["record"]["effort_person_days"], 12, "{page}");
        assert_eq!(page["verified"], false);
        for (path, expected) in [
            ("/api/v1/deployments?product=xyz".to_owned(), 400),
            ("/api/v1/ratings?colour=red".to_owned(), 400),
            ("/api/v1/organizations/nope".to_owned(), 400),
            (format!("/api/v1/organizations/{}", "ee".repeat(32)), 404),
        ] {
            let (code, body) = get(addr, &path);
            assert_eq!(code, expected, "{path}: {body}");
        }
    })
    .await
    .unwrap();
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_member_token_publishes_for_its_own_organisation_only() {
    let tmp = tempfile::tempdir().unwrap();
    let dd = DataDir::new(tmp.path().join("rz"));
    let host = dd.create_identity().unwrap();
    let (a, token_a) = dd.add_member().unwrap();
    let (b, token_b) = dd.add_member().unwrap();
    assert_ne!(token_a, token_b);
    assert_eq!(dd.members().unwrap().len(), 2);
    let node = integration_tests::spawn_http(dd.path()).await.unwrap();
    let addr = node.http_addr.unwrap();
    let (host, a, b) = (
        format!("{:#}", host.org),
        format!("{:#}", a.org),
        format!("{:#}", b.org),
    );
    tokio::task::spawn_blocking(move || {
        let (code, created) = post(
            addr,
            "/api/v1/products",
            Some(&token_a),
            &serde_json::json!({"name": "Friedhofsverwaltung", "vendor": "X", "kind": "fachverfahren"}).to_string(),
        );
        assert_eq!(code, 201, "{created}");
        let pid = created["id"].as_str().unwrap().to_owned();
        let deployment = serde_json::json!({"product": pid, "status": "pilot", "operated_by": {"by": "self"}}).to_string();
        assert_eq!(post(addr, "/api/v1/deployments", Some(&token_a), &deployment).0, 201);
        assert_eq!(post(addr, "/api/v1/deployments", Some("not-a-token"), &deployment).0, 401);
        let count = |org: &str| get(addr, &format!("/api/v1/deployments?org={org}")).1.as_array().unwrap().len();
        assert_eq!((count(&a), count(&b), count(&host)), (1, 0, 0), "member A's token wrote elsewhere");
        assert_eq!(post(addr, "/api/v1/deployments", Some(&token_b), &deployment).0, 201);
        assert_eq!((count(&a), count(&b), count(&host)), (1, 1, 0));
        // The product was created by member A, signed by A's own key.
        let (_, page) = get(addr, &format!("/api/v1/products/{pid}"));
        assert_eq!(page["created_by"], a.as_str());
    })
    .await
    .unwrap();
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_sql_answers_the_admin_only_and_refuses_writes() {
    let tmp = tempfile::tempdir().unwrap();
    let dd = DataDir::new(tmp.path().join("rz"));
    dd.create_identity().unwrap();
    let (_, member_token) = dd.add_member().unwrap();
    let admin = dd.admin_token().unwrap();
    let node = integration_tests::spawn_http(dd.path()).await.unwrap();
    let addr = node.http_addr.unwrap();
    tokio::task::spawn_blocking(move || {
        let created = post(
            addr,
            "/api/v1/products",
            Some(&admin),
            &serde_json::json!({"name": "Wahlhelfer", "vendor": "X", "kind": "software"}).to_string(),
        );
        assert_eq!(created.0, 201, "{}", created.1);
        let query = |token: Option<&str>, body: serde_json::Value| {
            post(addr, "/api/v1/query", token, &body.to_string())
        };
        let (code, r) = query(Some(&admin), serde_json::json!({"sql": "SELECT id, name FROM products"}));
        assert_eq!(code, 200, "{r}");
        assert_eq!(r["columns"], serde_json::json!(["id", "name"]));
        assert_eq!(r["rows"], serde_json::json!([[created.1["id"], "Wahlhelfer"]]));
        // Members and strangers may not query.
        let sql = serde_json::json!({"sql": "SELECT 1"});
        assert_eq!(query(Some(&member_token), sql.clone()).0, 403);
        assert_eq!(query(None, sql.clone()).0, 401);
        // Writes, bad limits and bad bodies are refused with a message.
        for (body, needle) in [
            (serde_json::json!({"sql": "DELETE FROM changes"}), "DELETE from changes"),
            (serde_json::json!({"sql": "ATTACH 'x.db' AS x"}), "ATTACH"),
            (serde_json::json!({"sql": "PRAGMA writable_schema = 1"}), "writable_schema"),
            (serde_json::json!({"sql": "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT count(*) FROM c", "timeout_secs": 1}), "longer than 1 s"),
            (serde_json::json!({"sql": "SELECT 1", "timeout_secs": 0}), "timeout_secs"),
            (serde_json::json!({"sql": "SELECT 1", "max_rows": 0}), "max_rows"),
            (serde_json::json!({"sql": "SELECT 1", "drop": true}), "unknown field"),
            (serde_json::json!({"query": "SELECT 1"}), "sql"),
        ] {
            let (code, r) = query(Some(&admin), body.clone());
            assert_eq!(code, 400, "{body}: {r}");
            assert!(r.to_string().contains(needle), "{body}: {r}");
        }
        let (_, r) = query(Some(&admin), serde_json::json!({"sql": "SELECT count(*) FROM products"}));
        assert_eq!(r["rows"], serde_json::json!([[1]]), "nothing was changed");
    })
    .await
    .unwrap();
    node.shutdown().await;
}

/// A GET with extra header lines; returns status, head and body.
fn get_raw(addr: std::net::SocketAddr, path: &str, extra: &str) -> (u16, String, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\n{extra}Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let code = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (code, head.to_owned(), body.to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_reads_carry_an_etag_and_answer_304_until_they_change() {
    let tmp = tempfile::tempdir().unwrap();
    let node =
        integration_tests::TestNode::start_http(&tmp.path().join("a"), Some("ETag Stadt"), &[])
            .await
            .unwrap();
    let addr = node.http_addr().unwrap();
    let token = node.admin_token().unwrap();
    tokio::task::spawn_blocking(move || {
        let etag_of = |head: &str| {
            head.lines()
                .find_map(|l| {
                    l.strip_prefix("etag: ")
                        .or_else(|| l.strip_prefix("ETag: "))
                })
                .map(str::to_owned)
                .expect("no ETag")
        };
        let (code, head, body) = get_raw(addr, "/api/v1/products", "");
        assert_eq!(code, 200);
        assert!(!body.is_empty());
        let tag = etag_of(&head);
        // The same request with that tag: 304 and no body.
        let (code, head304, body304) = get_raw(
            addr,
            "/api/v1/products",
            &format!("If-None-Match: {tag}\r\n"),
        );
        assert_eq!(code, 304, "{head304}");
        assert!(body304.is_empty());
        assert_eq!(etag_of(&head304), tag);
        // Another tag, or a list without it: the full answer.
        assert_eq!(
            get_raw(
                addr,
                "/api/v1/products",
                "If-None-Match: \"abc\", \"def\"\r\n"
            )
            .0,
            200
        );
        // After a change the tag changes and the old one no longer matches.
        let created = post(
            addr,
            "/api/v1/products",
            Some(&token),
            &serde_json::json!({"name": "Neu", "vendor": "X", "kind": "software"}).to_string(),
        );
        assert_eq!(created.0, 201);
        let (code, head, _) = get_raw(
            addr,
            "/api/v1/products",
            &format!("If-None-Match: {tag}\r\n"),
        );
        assert_eq!(code, 200);
        assert_ne!(etag_of(&head), tag);
        // Errors and writes carry no ETag.
        let (code, head, _) = get_raw(addr, "/api/v1/products/zz", "");
        assert_eq!(code, 400);
        assert!(!head.to_ascii_lowercase().contains("etag"));
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publiccode_yml_imports_updates_and_exports_over_the_api() {
    let tmp = tempfile::tempdir().unwrap();
    let dd = DataDir::new(tmp.path().join("rz"));
    dd.create_identity().unwrap();
    let (a, token_a) = dd.add_member().unwrap();
    let (b, _) = dd.add_member().unwrap();
    let node = integration_tests::spawn_http(dd.path()).await.unwrap();
    let addr = node.http_addr.unwrap();
    let (a, b) = (format!("{:#}", a.org), format!("{:#}", b.org));
    tokio::task::spawn_blocking(move || {
        let yaml = "publiccodeYmlVersion: 0.4\nname: Ratsinfo\nurl: https://example.org/stadt/ratsinfo.git\nlegal:\n  license: EUPL-1.2\n  repoOwner: Stadt Beispiel\nfrobnicate: yes\ndescription:\n  de:\n    shortDescription: Sitzungen und Beschlüsse\n    longDescription: Ein Ratsinformationssystem für Sitzungen, Vorlagen und Beschlüsse des Rates.\nusedBy:\n  - Stadt Beispiel\n";
        let (code, r) = post(addr, "/api/v1/import/publiccode", Some(&token_a), yaml);
        assert_eq!(code, 201, "{r}");
        assert_eq!(r["created"], true);
        let id = r["id"].as_str().unwrap().to_owned();
        let warnings = r["warnings"].as_array().unwrap();
        assert!(warnings.iter().any(|w| w["key"] == "frobnicate" && w["line"] == 7), "{r}");
        assert!(warnings.iter().any(|w| w["key"] == "publiccodeYmlVersion" && w["line"] == 1), "{r}");
        assert_eq!(r["used_by"], serde_json::json!(["Stadt Beispiel"]));
        let (_, page) = get(addr, &format!("/api/v1/products/{id}"));
        assert_eq!(page["created_by"], a.as_str());
        assert_eq!(page["product"]["licence"], "EUPL-1.2");
        // usedBy is a hint, not a deployment.
        assert_eq!(get(addr, &format!("/api/v1/deployments?product={id}")).1, serde_json::json!([]));
        // The same file again: same product, nothing new; a changed file updates it.
        let (code, again) = post(addr, "/api/v1/import/publiccode", Some(&token_a), yaml);
        assert_eq!((code, &again["id"], &again["created"], &again["changed"]), (200, &r["id"], &serde_json::json!(false), &serde_json::json!(false)));
        let changed = yaml.replace("EUPL-1.2", "MIT");
        let (code, upd) = post(addr, "/api/v1/import/publiccode", Some(&token_a), &changed);
        assert_eq!((code, &upd["id"], &upd["changed"]), (200, &r["id"], &serde_json::json!(true)));
        assert_eq!(get(addr, &format!("/api/v1/products/{id}")).1["product"]["licence"], "MIT");
        // YAML errors are refused with their line; another member's organisation is 403.
        let (code, bad) = post(addr, "/api/v1/import/publiccode", Some(&token_a), "name: x\n\tbad: tab\n");
        assert_eq!(code, 400, "{bad}");
        assert!(bad.to_string().contains("YAML error at line") && bad.to_string().contains("tab"), "{bad}");
        let (code, _) = post(addr, &format!("/api/v1/import/publiccode?for={b}"), Some(&token_a), yaml);
        assert_eq!(code, 403);
        assert_eq!(post(addr, "/api/v1/import/publiccode", None, yaml).0, 401);
        assert_eq!(get(addr, "/api/v1/products?limit=200").1["total"], 1);
        // Export as publiccode.yml 0.4.
        let (code, text) = http(&addr.to_string(), "GET", &format!("/api/v1/products/{id}/publiccode.yml"), None, "", Duration::from_secs(10)).unwrap();
        assert_eq!(code, 200);
        assert!(text.contains("publiccodeYmlVersion: \"0.4\""), "{text}");
        assert!(text.contains("name: \"Ratsinfo\""), "{text}");
        assert!(text.contains("license: \"MIT\""), "{text}");
        let (code, _) = http(&addr.to_string(), "GET", &format!("/api/v1/products/{}/publiccode.yml", "0".repeat(64)), None, "", Duration::from_secs(10)).unwrap();
        assert_eq!(code, 404);
    })
    .await
    .unwrap();
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn record_lists_page_with_a_cursor_in_the_link_header() {
    let tmp = tempfile::tempdir().unwrap();
    let node =
        integration_tests::TestNode::start_http(&tmp.path().join("a"), Some("Seiten Stadt"), &[])
            .await
            .unwrap();
    let addr = node.http_addr().unwrap();
    let token = node.admin_token().unwrap();
    tokio::task::spawn_blocking(move || {
        let (code, p) = post(
            addr,
            "/api/v1/products",
            Some(&token),
            &serde_json::json!({"name": "Paging", "vendor": "X", "kind": "software"}).to_string(),
        );
        assert_eq!(code, 201);
        let pid = p["id"].as_str().unwrap().to_owned();
        for i in 0..5 {
            let body = serde_json::json!({"product": pid, "status": "pilot", "operated_by": {"by": "self"}, "version": format!("{i}")});
            assert_eq!(post(addr, "/api/v1/deployments", Some(&token), &body.to_string()).0, 201);
        }
        let next_of = |head: &str| {
            head.lines()
                .find_map(|l| l.strip_prefix("link: ").or_else(|| l.strip_prefix("Link: ")))
                .map(|l| l.trim_start_matches('<').split('>').next().unwrap().to_owned())
        };
        let mut path = format!("/api/v1/deployments?product={pid}&limit=2");
        let mut keys = Vec::new();
        let mut pages = 0;
        loop {
            let (code, head, body) = get_raw(addr, &path, "");
            assert_eq!(code, 200, "{path}: {body}");
            let page: Vec<serde_json::Value> = serde_json::from_str(&body).unwrap();
            assert!(page.len() <= 2);
            keys.extend(page.iter().map(|r| r["key"].as_str().unwrap().to_owned()));
            pages += 1;
            match next_of(&head) {
                Some(next) => {
                    assert!(next.contains(&format!("product={pid}")) && next.contains("limit=2"), "{next}");
                    path = next;
                }
                None => break,
            }
        }
        assert_eq!(pages, 3);
        let mut sorted = keys.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(keys.len(), 5, "every record once: {keys:?}");
        assert_eq!(sorted, keys, "in key order, no repeats");
        // Without a limit everything fits in one page and there is no Link.
        let (_, head, body) = get_raw(addr, "/api/v1/deployments", "");
        assert_eq!(serde_json::from_str::<Vec<serde_json::Value>>(&body).unwrap().len(), 5);
        assert!(next_of(&head).is_none());
        for bad in ["limit=0", "limit=10001", "limit=x", "after=zz", &format!("after={}", "0".repeat(64)), "after=00.k"] {
            let (code, _, body) = get_raw(addr, &format!("/api/v1/deployments?{bad}"), "");
            assert_eq!(code, 400, "{bad}: {body}");
        }
    })
    .await
    .unwrap();
}

/// A product page counts integrations in both directions: those its own deployments report
/// and those other products' deployments report towards it, per (product, other, standard),
/// and nothing that involves neither.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_product_page_counts_integrations_in_both_directions() {
    use allmende_protocol::schema::{Integration, IntegrationStatus};
    let tmp = tempfile::tempdir().unwrap();
    let dd = DataDir::new(tmp.path().join("n"));
    let id = dd.create_identity().unwrap();
    let node = integration_tests::spawn_http(dd.path()).await.unwrap();
    let addr = node.http_addr.unwrap();
    let secret = id.keypair.secret_bytes();
    let [a, b, c] = [1u8, 2, 3].map(|n| DocHeader::product(id.org, [n; 16]));
    let deployment =
        |product: &DocHeader, links: Vec<(&DocHeader, &str, IntegrationStatus)>| Deployment {
            product: product.id(),
            version: None,
            tasks: vec![],
            since: None,
            status: DeploymentStatus::Production,
            operated_by: OperatedBy::Itself,
            integrations: links
                .into_iter()
                .map(|(other, standard, status)| Integration {
                    product: other.id(),
                    standard: standard.into(),
                    status,
                })
                .collect(),
            end_to_end: None,
            cost_once_eur: None,
            cost_yearly_eur: None,
            contact_role: None,
            exchange_ok: None,
            until: None,
            replaced_by: None,
            end_reason: None,
        };
    let records = vec![
        (
            "d1",
            deployment(&a, vec![(&b, "XBau", IntegrationStatus::Works)]),
        ),
        (
            "d2",
            deployment(&a, vec![(&b, "XBau", IntegrationStatus::Partly)]),
        ),
        (
            "d3",
            deployment(&b, vec![(&a, "XMeld", IntegrationStatus::Fails)]),
        ),
        (
            "d4",
            deployment(&b, vec![(&c, "XBau", IntegrationStatus::Works)]),
        ),
    ];
    node.repo
        .call(move |s| {
            let key = allmende_protocol::identity::Keypair::from_secret_bytes(&secret).unwrap();
            for (h, name) in [(a, "Antrag"), (b, "Bescheid"), (c, "Archiv")] {
                s.edit(&key, h, allmende_node::now(), |ed| {
                    ed.put_root(&product(name))
                })
                .unwrap();
            }
            let doc =
                DocHeader::singleton(DocKind::Deployments, OrgId::from_root_key(key.public()));
            s.edit(&key, doc, allmende_node::now(), |ed| {
                for (k, d) in &records {
                    ed.put(k, d)?;
                }
                Ok(())
            })
            .unwrap();
        })
        .await
        .unwrap();

    let row = |from: &DocHeader, to: &DocHeader, standard: &str, counts: [u64; 3]| {
        serde_json::json!({
            "product": format!("{:#}", from.id()),
            "other": format!("{:#}", to.id()),
            "standard": standard,
            "works": counts[0],
            "partly": counts[1],
            "fails": counts[2],
        })
    };
    let sorted = |mut rows: Vec<serde_json::Value>| {
        rows.sort_by_key(|r| (r["product"].to_string(), r["other"].to_string()));
        serde_json::Value::Array(rows)
    };
    let expected_a = sorted(vec![
        row(&a, &b, "XBau", [1, 1, 0]),
        row(&b, &a, "XMeld", [0, 0, 1]),
    ]);
    let expected_c = sorted(vec![row(&b, &c, "XBau", [1, 0, 0])]);
    tokio::task::spawn_blocking(move || {
        for (h, expected) in [(a, expected_a), (c, expected_c)] {
            let (code, page) = get(addr, &format!("/api/v1/products/{:#}", h.id()));
            assert_eq!(code, 200, "{page}");
            assert_eq!(page["integrations"], expected);
        }
    })
    .await
    .unwrap();
}

/// One raw HTTP/1.1 GET with the given `Host` header; returns status, head and body.
fn get_with_host(addr: std::net::SocketAddr, path: &str, host: &str) -> (u16, String, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut bytes = Vec::new();
    let _ = s.read_to_end(&mut bytes);
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let code = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (code, head.to_owned(), body.to_owned())
}

/// DNS rebinding: a web page whose name resolves to 127.0.0.1 sends `Host: evil.example`. A
/// node listening on loopback answers it on no route, API, metrics and health included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_loopback_node_answers_no_route_for_a_foreign_host() {
    let tmp = tempfile::tempdir().unwrap();
    let dd = DataDir::new(tmp.path().join("n"));
    dd.create_identity().unwrap();
    let node = integration_tests::spawn_http(dd.path()).await.unwrap();
    let addr = node.http_addr.unwrap();
    tokio::task::spawn_blocking(move || {
        for path in [
            "/api/v1/status",
            "/api/v1/products",
            "/api/v1/export?format=jsonl",
            "/api/v1/openapi.json",
            "/api/v1/nothing-here",
        ] {
            // Positive control: the same request with this node's address as Host works.
            let (ok, _, _) = get_with_host(addr, path, &addr.to_string());
            assert!(ok == 200 || ok == 404, "{path}: {ok}");
            let (code, head, body) = get_with_host(addr, path, "evil.example");
            assert_eq!(code, 421, "{path}: {head}\n{body}");
            let v: serde_json::Value = serde_json::from_str(&body)
                .unwrap_or_else(|e| panic!("{path}: not JSON ({e}): {body}"));
            assert_eq!(v["error"], "misdirected_request", "{path}: {body}");
            let (code, _, _) = get_with_host(addr, path, "127.0.0.1.evil.example:80");
            assert_eq!(code, 421, "{path}");
        }
        for path in ["/metrics", "/healthz", "/readyz", "/", "/produkte"] {
            let (ok, _, _) = get_with_host(addr, path, "localhost");
            assert_eq!(ok, 200, "{path}");
            let (code, head, body) = get_with_host(addr, path, "evil.example:8080");
            assert_eq!(code, 421, "{path}: {head}\n{body}");
            assert!(body.contains("127.0.0.1 or localhost"), "{path}: {body}");
        }
    })
    .await
    .unwrap();
    node.shutdown().await;
}

/// A client that reads the first chunk of an export and then stops reading, with the
/// connection open, holds its export slot (and a read transaction) only until the stall
/// timeout: afterwards two new exports run again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_export_gives_its_slot_back() {
    use std::io::{Read, Write};
    let tmp = tempfile::tempdir().unwrap();
    let dd = DataDir::new(tmp.path().join("n"));
    let id = dd.create_identity().unwrap();
    let stall = Duration::from_secs(1);
    let node = integration_tests::spawn_http_with(
        dd.path(),
        allmende_node::node::HttpOptions {
            export_stall: stall,
        },
    )
    .await
    .unwrap();
    let addr = node.http_addr.unwrap();
    // About 18 MB of JSON Lines: more than the socket buffers and the body channel hold, so
    // the export really waits for the client.
    let secret = id.keypair.secret_bytes();
    node.repo
        .call(move |s| {
            let key = allmende_protocol::identity::Keypair::from_secret_bytes(&secret).unwrap();
            for i in 0..600u32 {
                let mut nonce = [0u8; 16];
                nonce[..4].copy_from_slice(&i.to_be_bytes());
                let header = DocHeader::product(id.org, nonce);
                let mut p = product(&format!("Großes Produkt {i}"));
                p.description = Some(format!("{i:05} ").repeat(3_300));
                p.prerequisites = Some("Voraussetzung ".repeat(350));
                p.cost_model = Some("Kosten ".repeat(280));
                p.sla = Some("Betrieb ".repeat(240));
                s.edit(&key, header, allmende_node::now(), |ed| ed.put_root(&p))
                    .unwrap();
            }
        })
        .await
        .unwrap();
    tokio::task::spawn_blocking(move || {
        // Starts an export and reads its first bytes only; returns them and the open connection.
        let start = |query: &str| {
            let mut s = std::net::TcpStream::connect(addr).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
            write!(
                s,
                "GET /api/v1/export?{query} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
            )
            .unwrap();
            let mut head = vec![0u8; 64 * 1024];
            let n = s.read(&mut head).unwrap();
            (String::from_utf8_lossy(&head[..n.min(200)]).into_owned(), s)
        };
        let (head, stalled) = start("format=jsonl");
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        let (head, second) = start("format=jsonld");
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        // Both slots are held: a third export is refused.
        let (code, _, _) = get_raw(addr, "/api/v1/export?format=csv&table=organisations", "");
        assert_eq!(code, 429, "two stalled exports hold both slots");
        // After the stall timeout (with margin for a slow machine) both slots are free again,
        // though both clients keep their connections open: two exports run at the same time.
        std::thread::sleep(stall * 4);
        let (head, a) = start("format=jsonl");
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        let (head, b) = start("format=jsonl");
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        drop((stalled, second, a, b));
    })
    .await
    .unwrap();
    node.shutdown().await;
}
