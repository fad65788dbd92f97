//! The Nachbarvergleich in a real browser against the real demo network: `allmende demo` on
//! 127.0.0.1, then `integration-tests/browser/vergleich.mjs` (playwright-core, axe-core) walks
//! the comparison pages of the served node (the KRZ West) and of a Gemeinde it hosts.
//! Skipped with a loud message when Chromium, Node.js or the npm packages are missing, unless
//! `ALLMENDE_REQUIRE_BROWSER=1`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use integration_tests::browser::Browser;
use integration_tests::workspace_bin;

/// Kills the demo (this test's own child) when the test ends, however it ends.
struct Demo(std::process::Child);

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_comparison_pages_of_the_demo_work_in_a_browser_and_are_accessible() {
    let Some(browser) = Browser::find("the Nachbarvergleich browser test") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(workspace_bin("allmende").unwrap())
        .arg("--data-dir")
        .arg(tmp.path().join("demo"))
        .args(["demo", "--http", &format!("127.0.0.1:{port}")])
        .env_remove("ALLMENDE_CONFIG")
        .env_remove("ALLMENDE_DATA_DIR")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let demo = Demo(child);
    // The demo prints the UI's address once every node runs.
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            eprintln!("demo: {line}");
            if line.starts_with("Oberfläche von ")
                && let Some(i) = line.find("http://")
            {
                let _ = tx.send(line[i..].trim().to_owned());
            }
        }
    });
    let url = rx
        .recv_timeout(Duration::from_secs(120))
        .expect("the demo did not start serving within 120 s");
    assert_eq!(url, format!("http://127.0.0.1:{port}/"));
    let env = vec![("BASE_URL", url)];
    let (passed, failures) = browser.run_script("vergleich.mjs", &env);
    drop(demo);
    assert!(passed, "vergleich.mjs failed:\n{}", failures.join("\n"));
}
