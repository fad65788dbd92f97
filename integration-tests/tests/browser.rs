//! The web UI in a real browser: two nodes on 127.0.0.1 that sync with each other, driven by
//! headless Chromium through `integration-tests/browser/ui.mjs` (playwright-core and axe-core;
//! see `integration-tests/browser/README.md`). The script signs in on node A with a one-time
//! login link, searches, filters, opens a product,
//! publishes a rating on node A and waits for it on node B, submits bad input, walks the
//! pages with the keyboard, and runs axe (WCAG 2.1 A/AA) on every page type. Screenshots go
//! to `<workspace>/target/ui-screenshots`.
//!
//! Needs Node.js, Chromium (`/usr/bin/chromium` or `$CHROMIUM`) and `npm ci` in
//! `integration-tests/browser`. Without them the test prints `SKIPPED` and passes, unless
//! `ALLMENDE_REQUIRE_BROWSER=1` (set by CI), where it fails.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::cloned_ref_to_slice_refs
)]

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use integration_tests::{TestNode, http, wait_until};

const PRODUCT_NAME: &str = "Bauantrag Online Musterstadt";
const TASK: &str = "99009001001000";

/// GET `path` from `addr`; returns the status code and the body.
async fn get(addr: SocketAddr, path: String) -> (u16, String) {
    tokio::task::spawn_blocking(move || {
        http(
            &addr.to_string(),
            "GET",
            &path,
            None,
            "",
            Duration::from_secs(10),
        )
        .unwrap_or((0, String::new()))
    })
    .await
    .unwrap()
}

/// POST the JSON `body` to `addr` with `token`; returns the status code and the parsed answer.
async fn post(
    addr: SocketAddr,
    path: &'static str,
    token: String,
    body: serde_json::Value,
) -> (u16, serde_json::Value) {
    tokio::task::spawn_blocking(move || {
        let (code, text) = http(
            &addr.to_string(),
            "POST",
            path,
            Some(&token),
            &body.to_string(),
            Duration::from_secs(10),
        )
        .unwrap();
        (
            code,
            serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
        )
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_web_ui_works_in_a_real_browser() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let Some(browser) = integration_tests::browser::Browser::find("the browser test of the web UI")
    else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let mut a = TestNode::start_http(&tmp.path().join("a"), Some("Browsertest Stadt A"), &[])
        .await
        .unwrap();
    let mut b = TestNode::start_http(
        &tmp.path().join("b"),
        Some("Browsertest Stadt B"),
        &[a.addr().await.unwrap()],
    )
    .await
    .unwrap();
    let (a_addr, b_addr) = (a.http_addr().unwrap(), b.http_addr().unwrap());
    let token = a.admin_token().unwrap();

    // The product and one deployment of it, published on A through the API.
    let (code, created) = post(
        a_addr,
        "/api/v1/products",
        token.clone(),
        serde_json::json!({
            "name": PRODUCT_NAME,
            "vendor": "Musterstadt Digital GmbH",
            "kind": "onlinedienst",
            "licence": "EUPL-1.2",
            "description": "Bauanträge digital einreichen und den Stand der Baugenehmigung online verfolgen.",
            "tasks": [TASK],
            "standards": ["XBau"],
        }),
    )
    .await;
    assert_eq!(code, 201, "{created}");
    let pid = created["id"].as_str().unwrap().to_owned();
    let (code, dep) = post(
        a_addr,
        "/api/v1/deployments",
        token,
        serde_json::json!({
            "product": pid,
            "status": "production",
            "operated_by": {"by": "self"},
            "tasks": [TASK],
            "since": "2023-04-01",
            "cost_yearly_eur": 4800,
            "contact_role": "Bauaufsichtsamt, Produktverantwortliche",
            "exchange_ok": true,
        }),
    )
    .await;
    assert_eq!(code, 201, "{dep}");
    // A training offer, so that the product page and the training overview show one.
    let (code, offer) = post(
        a_addr,
        "/api/v1/trainings",
        a.admin_token().unwrap(),
        serde_json::json!({
            "product": pid,
            "title": "Bauantrag Online für Bauaufsichten",
            "provider": "Studieninstitut Musterstadt",
            "format": "online",
            "duration_minutes": 120,
            "cost_eur": 0,
            "roles": ["Sachbearbeitung Bauaufsicht"],
        }),
    )
    .await;
    assert_eq!(code, 201, "{offer}");

    // B has the product and the deployment before the browser starts.
    let path = format!("/api/v1/products/{pid}");
    let synced = wait_until(Duration::from_secs(60), || {
        let path = path.clone();
        async move {
            let (code, body) = get(b_addr, path).await;
            code == 200
                && serde_json::from_str::<serde_json::Value>(&body)
                    .is_ok_and(|v| v["deployments"].as_array().is_some_and(|d| d.len() == 1))
        }
    })
    .await;
    assert!(synced, "node B did not receive the product within 60 s");

    let screenshots = manifest
        .parent()
        .unwrap()
        .join("target")
        .join("ui-screenshots");
    // Publishing in the UI needs a session: a one-time login link, as the admin token's holder
    // gets one.
    let (code, link) = post(
        a_addr,
        "/api/v1/ui/login",
        a.admin_token().unwrap(),
        serde_json::json!({}),
    )
    .await;
    assert_eq!(code, 201, "{link}");
    let env = vec![
        ("A_LOGIN_URL", link["url"].as_str().unwrap().to_owned()),
        ("A_URL", a.http_url().unwrap()),
        ("B_URL", b.http_url().unwrap()),
        ("PRODUCT_ID", pid),
        ("PRODUCT_NAME", PRODUCT_NAME.to_owned()),
        ("ORG_ID", format!("{:#}", a.org().unwrap())),
        ("TASK", TASK.to_owned()),
        ("SCREENSHOT_DIR", screenshots.display().to_string()),
    ];
    let (passed, failures) = tokio::task::spawn_blocking(move || browser.run_ui_script(&env))
        .await
        .unwrap();

    b.stop().await;
    a.stop().await;
    assert!(
        passed,
        "the browser test failed (screenshots in {}):\n{}",
        screenshots.display(),
        failures.join("\n")
    );
}
