//! Headless Chromium for the UI tests: finds the browser and the script's packages, and runs
//! `integration-tests/browser/ui.mjs` (playwright-core and axe-core; see
//! `integration-tests/browser/README.md`).

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The browser script stops itself earlier (150 s); this is the backstop.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(180);

/// Chromium and the script's directory, when everything the script needs is there.
#[derive(Debug, Clone)]
pub struct Browser {
    /// `integration-tests/browser`.
    pub dir: PathBuf,
    /// The Chromium binary (`/usr/bin/chromium` or `$CHROMIUM`).
    pub chromium: PathBuf,
}

impl Browser {
    /// The browser, or `None` after printing `SKIPPED` for `what` when something is missing.
    /// With `ALLMENDE_REQUIRE_BROWSER=1` (set by CI) a missing prerequisite panics instead.
    #[allow(clippy::panic)]
    pub fn find(what: &str) -> Option<Self> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("browser");
        let chromium = std::env::var_os("CHROMIUM")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
        let missing = missing_prerequisites(&dir, &chromium);
        if missing.is_empty() {
            return Some(Self { dir, chromium });
        }
        let list = missing.join("\n  - ");
        if std::env::var("ALLMENDE_REQUIRE_BROWSER").is_ok_and(|v| v == "1") {
            panic!(
                "ALLMENDE_REQUIRE_BROWSER=1, but {what} cannot run; missing:\n  - {list}\n\
                 See integration-tests/browser/README.md."
            );
        }
        eprintln!(
            "\n*****************************************************************\n\
             SKIPPED: {what} did not run; missing:\n  - {list}\n\
             See integration-tests/browser/README.md.\n\
             *****************************************************************\n"
        );
        None
    }

    /// Runs `node ui.mjs` with `env` (and `CHROMIUM`), echoing its output as it comes;
    /// returns whether it passed and the lines of the checks that failed (with their details).
    pub fn run_ui_script(&self, env: &[(&str, String)]) -> (bool, Vec<String>) {
        self.run_script("ui.mjs", env)
    }

    /// Runs `node <script>` (a file in `integration-tests/browser`) with `env` (and
    /// `CHROMIUM`), like [`Browser::run_ui_script`]. The script follows the same conventions:
    /// "ok - …" / "not ok - …" lines, exit code 1 when a check failed.
    pub fn run_script(&self, script: &str, env: &[(&str, String)]) -> (bool, Vec<String>) {
        let mut env = env.to_vec();
        env.push(("CHROMIUM", self.chromium.display().to_string()));
        run_browser_script(&self.dir, script, &env)
    }
}

/// What is missing to run the browser test, one entry per missing thing.
fn missing_prerequisites(browser_dir: &Path, chromium: &Path) -> Vec<String> {
    let mut missing = Vec::new();
    if !chromium.is_file() {
        missing.push(format!(
            "Chromium at {} (apt-get install chromium, or set CHROMIUM)",
            chromium.display()
        ));
    }
    for package in ["playwright-core", "axe-core"] {
        if !browser_dir.join("node_modules").join(package).is_dir() {
            missing.push(format!(
                "{} (run `npm ci` in {})",
                browser_dir.join("node_modules").join(package).display(),
                browser_dir.display()
            ));
        }
    }
    let node = Command::new("node")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if !node.is_ok_and(|s| s.success()) {
        missing.push("Node.js 20 or newer (`node` on PATH)".to_owned());
    }
    missing
}

/// Runs `node <script>` with `env`, echoing its output as it comes; returns whether it passed
/// and the lines of the checks that failed (with their details).
fn run_browser_script(
    browser_dir: &Path,
    script: &str,
    env: &[(&str, String)],
) -> (bool, Vec<String>) {
    let mut cmd = Command::new("node");
    cmd.arg(browser_dir.join(script))
        .current_dir(browser_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let Ok(mut child) = cmd.spawn() else {
        return (false, vec!["cannot start node".to_owned()]);
    };
    let failures = Arc::new(Mutex::new(Vec::new()));
    let Some(stdout) = child.stdout.take() else {
        return (false, vec!["no stdout from node".to_owned()]);
    };
    let out_failures = failures.clone();
    let out = std::thread::spawn(move || {
        let mut in_failure = false;
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            println!("{line}");
            if line.starts_with("not ok") {
                in_failure = true;
            } else if !line.starts_with("    #") {
                in_failure = false;
            }
            if in_failure {
                out_failures
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(line);
            }
        }
    });
    let Some(mut stderr) = child.stderr.take() else {
        return (false, vec!["no stderr from node".to_owned()]);
    };
    let err = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stderr.read(&mut buf) {
            if n == 0 {
                break;
            }
            eprint!("{}", String::from_utf8_lossy(&buf[..n]));
        }
    });

    let deadline = Instant::now() + BROWSER_TIMEOUT;
    let mut timed_out = false;
    while matches!(child.try_wait(), Ok(None)) {
        if Instant::now() >= deadline {
            // SIGTERM first, so that playwright closes Chromium; then SIGKILL.
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            std::thread::sleep(Duration::from_secs(5));
            let _ = child.kill();
            timed_out = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let status = child.wait();
    let _ = out.join();
    let _ = err.join();
    let mut failures = failures.lock().unwrap_or_else(|e| e.into_inner()).clone();
    if timed_out {
        failures.push(format!(
            "{script} did not finish within {} s and was killed",
            BROWSER_TIMEOUT.as_secs()
        ));
        return (false, failures);
    }
    let passed = match status {
        Ok(s) if s.success() => true,
        Ok(s) => {
            failures.push(format!("{script} exited with {s}"));
            false
        }
        Err(e) => {
            failures.push(format!("cannot wait for {script}: {e}"));
            false
        }
    };
    (passed, failures)
}
