//! Following changes in a real browser (`integration-tests/browser/follow.mjs`): the watch
//! button, the pages "Beobachtet" and "Hinweise", each checked with axe-core (WCAG 2.1 A/AA).
//! Skips like the other browser tests when Chromium or the packages are missing, unless
//! `ALLMENDE_REQUIRE_BROWSER=1`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use integration_tests::{TestNode, http};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_watch_button_and_pages_work_in_a_browser_and_pass_axe() {
    let Some(browser) =
        integration_tests::browser::Browser::find("the browser test of following changes")
    else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let node = TestNode::start_http(&tmp.path().join("a"), Some("Beobachtungsstadt"), &[])
        .await
        .unwrap();
    let product = node
        .add_product("Melde-Suite Beobachtung")
        .await
        .unwrap()
        .id();
    let addr = node.http_addr().unwrap();
    let token = node.admin_token().unwrap();
    let (ok, failures) = tokio::task::spawn_blocking(move || {
        let (code, link) = http(
            &addr.to_string(),
            "POST",
            "/api/v1/ui/login",
            Some(&token),
            "",
            Duration::from_secs(10),
        )
        .unwrap();
        assert_eq!(code, 201, "{link}");
        let link: serde_json::Value = serde_json::from_str(&link).unwrap();
        browser.run_script(
            "follow.mjs",
            &[
                ("BASE_URL", format!("http://{addr}")),
                (
                    "LOGIN_URL",
                    format!("http://{addr}{}", link["path"].as_str().unwrap()),
                ),
                ("PRODUCT_ID", format!("{product:#}")),
                ("PRODUCT_NAME", "Melde-Suite Beobachtung".to_owned()),
            ],
        )
    })
    .await
    .unwrap();
    assert!(ok, "browser checks failed:\n{}", failures.join("\n"));
}
