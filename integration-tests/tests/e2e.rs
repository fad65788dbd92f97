//! End to end with the real binaries: `allmende-bootstrap` plus three `allmende run`
//! processes on loopback. A deployment added through the CLI on one node shows up in the
//! status document counts and the exports of the other two; each `allmende run` prints a
//! one-time web UI login link that opens a session once.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::cloned_ref_to_slice_refs
)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use integration_tests::{http, workspace_bin};

struct Proc {
    child: Child,
    lines: std::sync::mpsc::Receiver<String>,
}

impl Proc {
    fn spawn(cmd: &mut Command) -> Proc {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Proc { child, lines: rx }
    }

    /// The first stdout line containing `needle`, within 30 s.
    fn line_with(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(l) = self.lines.recv_timeout(Duration::from_millis(200))
                && l.contains(needle)
            {
                return l;
            }
        }
        panic!("no output line with {needle:?}");
    }

    /// SIGTERM, then the exit status within 20 s.
    fn terminate(mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("process did not stop after SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn cli(dir: &Path, args: &[&str]) -> String {
    integration_tests::allmende_cli(dir, args).unwrap()
}

fn status(addr: &str) -> serde_json::Value {
    let (_, body) = http(
        addr,
        "GET",
        "/api/v1/status",
        None,
        "",
        Duration::from_secs(5),
    )
    .unwrap();
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("status is not JSON ({e}): {body}"))
}

#[test]
fn deployment_added_by_cli_reaches_the_other_nodes() {
    let tmp = tempfile::tempdir().unwrap();
    let boot = Proc::spawn(
        Command::new(workspace_bin("allmende-bootstrap").unwrap())
            .arg("--data-dir")
            .arg(tmp.path().join("boot"))
            .args([
                "--listen",
                "/ip4/127.0.0.1/tcp/0",
                "--reconcile-secs",
                "1",
                "--log",
                "warn",
            ]),
    );
    let boot_addr = boot.line_with("/p2p/");
    assert!(boot_addr.starts_with("/ip4/127.0.0.1/tcp/"), "{boot_addr}");

    let mut nodes = Vec::new();
    for i in 0..3 {
        let dir = tmp.path().join(format!("n{i}"));
        cli(
            &dir,
            &[
                "init",
                "--name",
                &format!("Gemeinde E2E {i}"),
                "--kind",
                "kommune",
            ],
        );
        let p = Proc::spawn(
            Command::new(workspace_bin("allmende").unwrap())
                .arg("--data-dir")
                .arg(&dir)
                .args([
                    "run",
                    "--listen",
                    "/ip4/127.0.0.1/tcp/0",
                    "--bootstrap",
                    &boot_addr,
                ])
                .args(["--http", "127.0.0.1:0", "--reconcile-secs", "1"]),
        );
        let http = p.line_with("HTTP API:");
        let http = http
            .trim_start_matches("HTTP API: http://")
            .trim_end_matches("/api/v1/status")
            .to_owned();
        // The one-time login link for the web UI: it opens a session once.
        let login = p.line_with("UI login:");
        let path = login
            .trim_start_matches("UI login: ")
            .strip_prefix(&format!("http://{http}"))
            .unwrap_or_else(|| panic!("{login}"))
            .to_owned();
        assert!(path.starts_with("/anmelden?token="), "{login}");
        let use_link = || {
            integration_tests::http(&http, "GET", &path, None, "", Duration::from_secs(10))
                .unwrap()
                .0
        };
        assert_eq!(use_link(), 303, "the login link opens a session");
        assert_eq!(use_link(), 401, "a second use is refused");
        nodes.push((dir, p, http));
    }

    let product = cli(
        &nodes[0].0,
        &[
            "product",
            "add",
            "--name",
            "E2E-Fachverfahren",
            "--vendor",
            "Test GmbH",
        ],
    );
    let product = product.trim().to_owned();
    let deployment = cli(
        &nodes[0].0,
        &[
            "deployment",
            "add",
            "--product",
            &product,
            "--status",
            "production",
        ],
    );
    let deployment = deployment.trim().to_owned();

    // 3 profiles + 1 product + 1 deployments document everywhere.
    let deadline = Instant::now() + Duration::from_secs(60);
    for (dir, _, http) in &nodes[1..] {
        loop {
            let s = status(http);
            if s["documents"] == 5 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "node {} did not get the deployment: {s}",
                dir.display()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        let export: serde_json::Value = serde_json::from_str(&cli(dir, &["export"])).unwrap();
        let deployments = export["catalog"]["deployments"].as_array().unwrap();
        assert!(
            deployments
                .iter()
                .any(|d| d["key"] == deployment.as_str() && d["product"] == product.as_str())
        );
    }
    let s = status(&nodes[2].2);
    assert!(!s["network"]["peers"].as_array().unwrap().is_empty(), "{s}");

    for (_, p, _) in nodes {
        assert!(p.terminate().success(), "node did not shut down cleanly");
    }
    assert!(
        boot.terminate().success(),
        "bootstrap did not shut down cleanly"
    );
}
