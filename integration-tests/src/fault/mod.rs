//! The fault harness: crash consistency ([`crash`]) and churn ([`churn`]).
//!
//! Both are driven by the binaries `fault-crash` and `fault-churn` (long runs with
//! parameters, documented in `docs/testing.md`) and by `tests/fault.rs` (one short run of
//! each, in CI). Every run is reproducible from its seed, which is printed first; every wait
//! is bounded.

pub mod churn;
pub mod crash;
pub mod hostile;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// A small deterministic random number generator (SplitMix64): the harness must replay the
/// same faults from the same seed, and needs nothing stronger.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// 32 random bytes (secret keys of the harness's organisations).
    pub fn bytes32(&mut self) -> [u8; 32] {
        let mut out = [0u8; 32];
        for chunk in out.chunks_mut(8) {
            chunk.copy_from_slice(&self.next_u64().to_le_bytes());
        }
        out
    }
}

/// A seed from the clock, for runs without `--seed`.
pub fn clock_seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(7)
}

/// The `allmende` binary for a harness: next to a test binary (built on demand by
/// [`crate::workspace_bin`]) or next to a harness binary in `target/<profile>/` (built first,
/// a no-op when it is current).
pub fn allmende_bin() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let dir = exe.parent().context("no binary directory")?;
    if dir.file_name().is_some_and(|n| n == "deps") {
        return crate::workspace_bin("allmende");
    }
    let target = dir.parent().context("no target directory")?;
    let mut cmd = Command::new(env!("CARGO"));
    cmd.args([
        "build",
        "-q",
        "-p",
        "allmende-node",
        "--bin",
        "allmende",
        "--target-dir",
    ])
    .arg(target);
    if dir.file_name().is_some_and(|n| n == "release") {
        cmd.arg("--release");
    }
    let status = cmd.status().context("running cargo to build allmende")?;
    if !status.success() {
        bail!("building allmende failed: {status}");
    }
    Ok(dir.join("allmende"))
}

/// An `allmende run` process on 127.0.0.1 (P2P and HTTP on OS-chosen ports).
pub struct ProcNode {
    /// The process.
    pub child: Child,
    /// `127.0.0.1:PORT` of its HTTP API.
    pub http: String,
    /// Its TCP dial address with `/p2p/`.
    pub p2p: String,
    /// When it was started.
    pub started: Instant,
}

impl ProcNode {
    /// Starts `allmende run` on `dir` (an initialised data directory) and waits until it
    /// printed its addresses.
    pub fn start(allmende: &Path, dir: &Path, bootstrap: &[&str]) -> anyhow::Result<Self> {
        Self::start_with(allmende, dir, bootstrap, &[])
    }

    /// [`ProcNode::start`] with more flags for `allmende run`.
    pub fn start_with(
        allmende: &Path,
        dir: &Path,
        bootstrap: &[&str],
        extra: &[&str],
    ) -> anyhow::Result<Self> {
        let started = Instant::now();
        let mut cmd = Command::new(allmende);
        cmd.arg("run")
            .arg("--data-dir")
            .arg(dir)
            .args(["--listen", "/ip4/127.0.0.1/tcp/0", "--http", "127.0.0.1:0"])
            .args(["--mdns", "false", "--reconcile-secs", "1", "--log", "warn"])
            .env_remove("ALLMENDE_CONFIG")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for b in bootstrap {
            cmd.arg("--bootstrap").arg(b);
        }
        cmd.args(extra);
        let mut child = cmd.spawn().context("starting allmende run")?;
        let out = child.stdout.take().context("no stdout")?;
        let mut lines = BufReader::new(out).lines();
        let (mut http, mut p2p) = (None, None);
        while http.is_none() {
            let Some(line) = lines.next() else {
                let _ = child.kill();
                let _ = child.wait();
                bail!(
                    "allmende run on {} ended before it served HTTP",
                    dir.display()
                );
            };
            let line = line?;
            if let Some(url) = line.strip_prefix("Web UI: http://") {
                http = Some(url.trim_end_matches('/').to_owned());
            } else if line.starts_with("/ip4/127.0.0.1/tcp/") && p2p.is_none() {
                p2p = Some(line);
            }
        }
        // Keep draining stdout so that the node never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Ok(Self {
            child,
            http: http.unwrap_or_default(),
            p2p: p2p.context("no TCP dial address printed")?,
            started,
        })
    }

    /// `GET /api/v1/status` as JSON.
    pub fn status(&self) -> anyhow::Result<serde_json::Value> {
        let (code, body) = crate::http(
            &self.http,
            "GET",
            "/api/v1/status",
            None,
            "",
            Duration::from_secs(30),
        )?;
        if code != 200 {
            bail!("status answered {code}: {body}");
        }
        Ok(serde_json::from_str(&body)?)
    }

    /// One read-only SQL query over the API (`POST /api/v1/query`, admin token); the first
    /// column of every row as text.
    pub fn query(&self, token: &str, sql: &str) -> anyhow::Result<Vec<String>> {
        let body = serde_json::json!({ "sql": sql, "max_rows": 1_000_000 }).to_string();
        let (code, body) = crate::http(
            &self.http,
            "POST",
            "/api/v1/query",
            Some(token),
            &body,
            Duration::from_secs(60),
        )?;
        if code != 200 {
            bail!("query answered {code}: {body}");
        }
        let v: serde_json::Value = serde_json::from_str(&body)?;
        Ok(v["rows"]
            .as_array()
            .context("no rows in the query answer")?
            .iter()
            .filter_map(|r| r.get(0).and_then(|c| c.as_str()).map(str::to_owned))
            .collect())
    }

    /// SIGKILL: no destructor, no flush, no orderly close of SQLite.
    pub fn kill(mut self) -> anyhow::Result<()> {
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }

    /// SIGTERM, then waits (at most 30 s) for the orderly exit.
    pub fn stop(mut self) -> anyhow::Result<()> {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()?;
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                if !status.success() {
                    bail!("allmende run exited with {status} on SIGTERM");
                }
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.child.kill()?;
        self.child.wait()?;
        bail!("allmende run did not stop within 30 s of SIGTERM")
    }
}

impl Drop for ProcNode {
    fn drop(&mut self) {
        // Only on error paths: the harness stops or kills its nodes itself.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A result table: one row per measure, aligned, as the binaries and `docs/testing.md` show it.
#[derive(Debug, Default)]
pub struct Summary {
    rows: Vec<(String, String)>,
}

impl Summary {
    /// Adds a row.
    pub fn add(&mut self, what: impl Into<String>, value: impl std::fmt::Display) {
        self.rows.push((what.into(), value.to_string()));
    }

    /// The table as Markdown.
    pub fn markdown(&self) -> String {
        let w = self.rows.iter().map(|(a, _)| a.len()).max().unwrap_or(0);
        let mut out = format!(
            "| {:w$} | result |\n|{}|---|\n",
            "measure",
            "-".repeat(w + 2)
        );
        for (a, b) in &self.rows {
            out.push_str(&format!("| {a:w$} | {b} |\n"));
        }
        out
    }
}
