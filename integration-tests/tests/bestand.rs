//! The inventory import in a real browser: a node on 127.0.0.1, a session from a one-time login
//! link, and `integration-tests/browser/bestand.mjs` uploading the 200-row messy spreadsheet
//! (`node/tests/fixtures/inventory/bestand-200.xlsx`), checking the preview and importing it,
//! with axe-core on every page. Skips loudly without Chromium unless
//! `ALLMENDE_REQUIRE_BROWSER=1`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::time::Duration;

use integration_tests::TestNode;
use integration_tests::browser::Browser;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_inventory_import_works_in_a_browser_and_is_accessible() {
    let Some(browser) = Browser::find("the inventory import browser test") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let mut node = TestNode::start_http(&tmp.path().join("a"), Some("Gemeinde Bestand"), &[])
        .await
        .unwrap();
    let addr = node.http_addr().unwrap();
    let token = node.admin_token().unwrap();
    let (code, body) = tokio::task::spawn_blocking(move || {
        integration_tests::http(
            &addr.to_string(),
            "POST",
            "/api/v1/ui/login",
            Some(&token),
            "{}",
            Duration::from_secs(10),
        )
        .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(code, 201, "{body}");
    let link: serde_json::Value = serde_json::from_str(&body).unwrap();
    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../node/tests/fixtures/inventory/bestand-200.xlsx")
        .canonicalize()
        .unwrap();
    let env = vec![
        ("BASE_URL", node.http_url().unwrap()),
        ("LOGIN_URL", link["url"].as_str().unwrap().to_owned()),
        ("FILE", file.display().to_string()),
    ];
    let (passed, failures) =
        tokio::task::spawn_blocking(move || browser.run_script("bestand.mjs", &env))
            .await
            .unwrap();
    // The import wrote deployments for the node's organisation.
    let addr = node.http_addr().unwrap();
    let (code, list) = tokio::task::spawn_blocking(move || {
        integration_tests::http(
            &addr.to_string(),
            "GET",
            "/api/v1/deployments",
            None,
            "",
            Duration::from_secs(10),
        )
        .unwrap()
    })
    .await
    .unwrap();
    node.stop().await;
    assert!(passed, "bestand.mjs failed:\n{}", failures.join("\n"));
    assert_eq!(code, 200);
    let n = serde_json::from_str::<serde_json::Value>(&list)
        .unwrap()
        .as_array()
        .map_or(0, Vec::len);
    assert!(n >= 150, "only {n} deployments after importing 200 rows");
}
