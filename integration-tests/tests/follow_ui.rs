//! Following changes over HTTP against a real node: the watch button needs the CSRF token and a
//! session like every UI write, the watch list API needs the token and refuses unknown and
//! malformed targets, the pages announce their Atom feed, and the feed is served as Atom.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;

use integration_tests::TestNode;
use integration_tests::raw_http::{get, post, raw};

/// A form posted with the cookie header `cookie`.
fn post_form(addr: SocketAddr, path: &str, cookie: &str, body: &str) -> (u16, String, String) {
    post(addr, path, cookie, "", body)
}

fn api(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> (u16, String) {
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let (code, _, body) = raw(
        addr,
        &format!(
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    );
    (code, body)
}

fn set_cookie(head: &str, name: &str) -> Option<String> {
    head.lines()
        .filter_map(|l| l.strip_prefix("set-cookie: "))
        .find(|c| c.starts_with(&format!("{name}=")))
        .map(|c| c.split(';').next().unwrap().to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watching_in_the_ui_needs_csrf_and_a_session_and_the_api_needs_the_token() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("a");
    let node = TestNode::start_http(&dir, Some("Stadt Beobachtungshausen"), &[])
        .await
        .unwrap();
    let header = node.add_product("Melde-Suite").await.unwrap();
    let product = header.id();
    let addr = node.http_addr().unwrap();
    let admin = node.admin_token().unwrap();
    // Another organisation's key proposes a new version: a proposal, not the shown value.
    let (_, page) = tokio::task::spawn_blocking(move || {
        api(
            addr,
            "GET",
            &format!("/api/v1/products/{product:#}"),
            None,
            "",
        )
    })
    .await
    .unwrap();
    let page: serde_json::Value = serde_json::from_str(&page).unwrap();
    let mut proposed: allmende_protocol::schema::Product =
        serde_json::from_value(page["product"].clone()).unwrap();
    proposed.current_version = Some("9.9".into());
    let other = allmende_protocol::identity::Keypair::from_secret_bytes(&[77; 32]).unwrap();
    node.node()
        .unwrap()
        .repo
        .call(move |st| {
            st.edit(&other, header, allmende_node::now(), |ed| {
                ed.put_root(&proposed)
            })
        })
        .await
        .unwrap()
        .unwrap();
    tokio::task::spawn_blocking(move || {
        let id = format!("{product:#}");
        // The page reads without a session and announces its feed.
        let (_, head, _) = get(addr, "/", "");
        let csrf = set_cookie(&head, "allmende_csrf").unwrap();
        let token = csrf.trim_start_matches("allmende_csrf=").to_owned();
        let (code, _, page) = get(addr, &format!("/produkte/{id}"), &csrf);
        assert_eq!(code, 200);
        assert!(page.contains(&format!(
            "<link rel=\"alternate\" type=\"application/atom+xml\" title=\"Melde-Suite – Atom-Feed\" href=\"/api/v1/feeds/products/{id}\">"
        )), "{page}");
        assert!(page.contains("Beobachten"));
        let form = format!("_csrf={token}&art=product&ziel={id}&aktion=hinzufuegen&zurueck=/produkte/{id}");
        // Without the CSRF field: refused.
        let no_csrf = form.replace(&format!("_csrf={token}&"), "");
        let (code, _, _) = post_form(addr, "/beobachten", &csrf, &no_csrf);
        assert_eq!(code, 403);
        // Without a session: sent to sign in, nothing watched.
        let (code, head, _) = post_form(addr, "/beobachten", &csrf, &form);
        assert_eq!(code, 303, "{head}");
        assert!(head.contains("location: /anmelden"), "{head}");
        let (code, list) = api(addr, "GET", "/api/v1/watch", Some(&admin), "");
        assert_eq!(code, 200, "{list}");
        let list: serde_json::Value = serde_json::from_str(&list).unwrap();
        assert_eq!(list["entries"].as_array().unwrap().len(), 0);
        // With a session from a one-time login link.
        let (code, link) = api(addr, "POST", "/api/v1/ui/login", Some(&admin), "");
        assert_eq!(code, 201, "{link}");
        let link: serde_json::Value = serde_json::from_str(&link).unwrap();
        let (_, head, _) = get(addr, link["path"].as_str().unwrap(), &csrf);
        let session = format!("{csrf}; {}", set_cookie(&head, "allmende_session").unwrap());
        let (code, head, _) = post_form(addr, "/beobachten", &session, &form);
        assert_eq!(code, 303, "{head}");
        assert!(head.contains(&format!("location: /produkte/{id}")), "{head}");
        // A return address elsewhere is not followed.
        let evil = form.replace(&format!("zurueck=/produkte/{id}"), "zurueck=//evil.example/");
        let (_, head, _) = post_form(addr, "/beobachten", &session, &evil);
        assert!(head.contains("location: /beobachtet"), "{head}");
        let (code, _, page) = get(addr, "/beobachtet", &session);
        assert_eq!(code, 200);
        assert!(page.contains("Melde-Suite"), "{page}");
        let (_, _, page) = get(addr, &format!("/produkte/{id}"), &session);
        assert!(page.contains("Nicht mehr beobachten"), "the button says what it does now");
        let (code, _, page) = get(addr, "/hinweise", "");
        assert_eq!(code, 200, "{page}");

        // The API: the token is needed, targets are checked.
        let body = "{\"kind\":\"kreis\",\"target\":\"05315\"}";
        assert_eq!(api(addr, "POST", "/api/v1/watch", None, body).0, 401);
        assert_eq!(api(addr, "POST", "/api/v1/watch", Some("f".repeat(64).as_str()), body).0, 401);
        assert_eq!(api(addr, "POST", "/api/v1/watch", Some(&admin), body).0, 200);
        let unknown = format!("{{\"kind\":\"product\",\"target\":\"{}\"}}", "e".repeat(64));
        let (code, err) = api(addr, "POST", "/api/v1/watch", Some(&admin), &unknown);
        assert_eq!(code, 404, "{err}");
        assert!(err.contains("target"), "{err}");
        let long = format!("{{\"kind\":\"task\",\"target\":\"{}\"}}", "x".repeat(100_000));
        let (code, err) = api(addr, "POST", "/api/v1/watch", Some(&admin), &long);
        assert_eq!(code, 400, "{err}");
        assert!(err.contains("target"), "{err}");
        let (code, err) = api(addr, "POST", "/api/v1/watch", Some(&admin), "{\"kind\":\"product\"}");
        assert_eq!(code, 400, "{err}");
        let (code, list) = api(addr, "GET", "/api/v1/watch?visit=true", Some(&admin), "");
        assert_eq!(code, 200);
        let list: serde_json::Value = serde_json::from_str(&list).unwrap();
        let entries = list["entries"].as_array().unwrap();
        assert_eq!(entries.len(), 2, "{list}");
        assert!(entries.iter().any(|e| e["kind"] == "product" && e["target"] == id.as_str()));
        assert_eq!(api(addr, "DELETE", "/api/v1/watch/kreis/05315", None, "").0, 401);
        let (code, removed) = api(addr, "DELETE", "/api/v1/watch/kreis/05315", Some(&admin), "");
        assert_eq!(code, 200);
        assert!(removed.contains("true"));

        // The feed is Atom, with the product's deployment-free history: its creation.
        let (code, head, feed) = get(addr, &format!("/api/v1/feeds/products/{id}"), "");
        assert_eq!(code, 200);
        assert!(head.contains("content-type: application/atom+xml"), "{head}");
        assert!(feed.contains("<feed xmlns=\"http://www.w3.org/2005/Atom\""), "{feed}");
        assert!(feed.contains(&format!("<link rel=\"self\" type=\"application/atom+xml\" href=\"http://{addr}/api/v1/feeds/products/{id}\"/>")), "{feed}");
        let (code, _, _) = get(addr, &format!("/api/v1/feeds/products/{}", "e".repeat(64)), "");
        assert_eq!(code, 404);
        assert_eq!(get(addr, "/api/v1/feeds/regions/99", "").0, 400);
        assert_eq!(get(addr, "/api/v1/feeds/regions/05315", "").0, 200);
        assert!(feed.contains("Vorschlag zu Melde-Suite"), "{feed}");
        assert!(feed.contains("Felder: current_version"), "{feed}");
        // The organisation runs the product: the open proposal is a notice for it.
        let deployment = format!(
            "{{\"product\":\"{id}\",\"status\":\"production\",\"operated_by\":{{\"by\":\"self\"}}}}"
        );
        let (code, answer) = api(addr, "POST", "/api/v1/deployments", Some(&admin), &deployment);
        assert_eq!(code, 201, "{answer}");
        assert_eq!(api(addr, "GET", "/api/v1/notices", None, "").0, 401);
        let (code, notices) = api(addr, "GET", "/api/v1/notices", Some(&admin), "");
        assert_eq!(code, 200);
        let notices: serde_json::Value = serde_json::from_str(&notices).unwrap();
        assert!(
            notices["notices"]
                .as_array()
                .unwrap()
                .iter()
                .any(|n| n["kind"] == "proposal" && n["product"] == id.as_str()),
            "{notices}"
        );
    })
    .await
    .unwrap();
}
