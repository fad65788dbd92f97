//! `allmende-bench`: the Germany-scale benchmark (issue 7; results in `docs/benchmarks.md`).
//!
//! ```text
//! cargo run --release -p integration-tests --bin allmende-bench -- --size small|medium|full
//! ```
//!
//! It generates a synthetic network (`integration_tests::synth`, cached under
//! `target/bench-data/`), then measures, each figure beside a baseline measured in the same
//! run on the same machine:
//!
//! - ingest: verified records per second through `Repo::ingest`, against bare ed25519
//!   verification of the same signatures (one by one, and in batches);
//! - catch-up: a fresh `allmende run` process catching up from one peer over loopback TCP,
//!   wall time against verify-only time and bytes on the wire against the raw signed data;
//!   Automerge's own sync protocol (unsigned) over loopback TCP on the same documents as a
//!   peer baseline;
//! - propagation: one change reaching every node of an N-node loopback network, p50/p99;
//! - search, aggregates and every UI page type at the generated size, p50/p99, measured from
//!   a client on loopback (so slightly above the server time);
//! - resident memory of the serving and the caught-up node, on-disk size against the raw
//!   signed data, and the peak memory of each streamed export.
//!
//! Every server it starts listens on 127.0.0.1 and is stopped before it exits.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use allmende_node::datadir::DataDir;
use allmende_node::store::Store;
use allmende_protocol::change::SignedChange;
use allmende_protocol::doc::DocKind;
use anyhow::{Context, bail};
use integration_tests::synth::{self, Params};

const USAGE: &str = "usage: allmende-bench [--size small|medium|full] [--seed N] [--nodes N] \
    [--samples N] [--ingest-sample N] [--data DIR] [--markdown FILE] \
    [--skip catchup,propagation,queries,exports]";

struct Opts {
    size: String,
    seed: u64,
    nodes: usize,
    samples: usize,
    ingest_sample: usize,
    data: Option<PathBuf>,
    markdown: Option<PathBuf>,
    skip: Vec<String>,
}

fn opts() -> anyhow::Result<Opts> {
    let mut o = Opts {
        size: "small".into(),
        seed: 2026,
        nodes: 0,
        samples: 0,
        ingest_sample: 0,
        data: None,
        markdown: None,
        skip: vec![],
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || {
            args.next()
                .with_context(|| format!("{a} needs a value\n{USAGE}"))
        };
        match a.as_str() {
            "--size" => o.size = val()?,
            "--seed" => o.seed = val()?.parse().context("--seed")?,
            "--nodes" => o.nodes = val()?.parse().context("--nodes")?,
            "--samples" => o.samples = val()?.parse().context("--samples")?,
            "--ingest-sample" => o.ingest_sample = val()?.parse().context("--ingest-sample")?,
            "--data" => o.data = Some(val()?.into()),
            "--markdown" => o.markdown = Some(val()?.into()),
            "--skip" => o.skip = val()?.split(',').map(str::to_owned).collect(),
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            _ => bail!("unknown argument {a:?}\n{USAGE}"),
        }
    }
    if !["small", "medium", "full"].contains(&o.size.as_str()) {
        bail!("--size must be small, medium or full\n{USAGE}");
    }
    if o.nodes == 0 {
        o.nodes = if o.size == "small" { 8 } else { 50 };
    }
    if o.ingest_sample == 0 {
        // In-process ingest of a sample: the catch-up measures ingest of everything.
        o.ingest_sample = if o.size == "full" {
            300_000
        } else {
            usize::MAX
        };
    }
    if o.samples == 0 {
        o.samples = if o.size == "small" { 10 } else { 100 };
    }
    Ok(o)
}

/// One line of the result table.
struct Row {
    measure: String,
    value: String,
    baseline: String,
    target: String,
    verdict: &'static str,
}

struct Table(Vec<Row>);

impl Table {
    fn add(
        &mut self,
        measure: &str,
        value: String,
        baseline: String,
        target: &str,
        met: Option<bool>,
    ) {
        let verdict = match met {
            Some(true) => "met",
            Some(false) => "MISSED",
            None => "",
        };
        eprintln!("  {measure}: {value}  [{baseline}]");
        self.0.push(Row {
            measure: measure.into(),
            value,
            baseline,
            target: target.into(),
            verdict,
        });
    }

    fn markdown(&self) -> String {
        let mut s = String::from(
            "| measure | value | baseline (same run) | target | |\n|---|---|---|---|---|\n",
        );
        for r in &self.0 {
            s.push_str(&format!(
                "| {} | {} | {} | {} | {} |\n",
                r.measure, r.value, r.baseline, r.target, r.verdict
            ));
        }
        s
    }
}

fn main() {
    if let Err(e) = run() {
        eprintln!("allmende-bench: {e:#}");
        std::process::exit(1);
    }
}

fn run() -> anyhow::Result<()> {
    let o = opts()?;
    let params = match o.size.as_str() {
        "full" => Params::full(o.seed),
        "medium" => Params::medium(o.seed),
        _ => Params::small(o.seed),
    };
    let bin_dir = std::env::current_exe()?
        .parent()
        .context("no binary directory")?
        .to_owned();
    let allmende = build_allmende(&bin_dir)?;
    let data = match &o.data {
        Some(d) => d.clone(),
        None => bin_dir
            .parent()
            .context("no target directory")?
            .join("bench-data")
            .join(format!("{}-{}", o.size, o.seed)),
    };
    let mut table = Table(Vec::new());
    let started = Instant::now();
    eprintln!("== data: {}", data.display());
    let info = ensure_data(&data, params, &mut table)?;
    eprintln!("== verification and ingest");
    let verify = verify_and_ingest(&data, &info, o.ingest_sample, &mut table)?;
    // The serving node follows the Land bodies as trust anchors, as a real node would: the
    // aggregates and UI pages count attested organisations only, and without anchors they
    // would count nothing.
    let anchors = trust_anchors(&data)?;
    let source = Server::start(&allmende, &data, &[], &anchors)?;
    let skip = |s: &str| o.skip.iter().any(|x| x == s);
    if !skip("catchup") {
        eprintln!("== catch-up of a fresh node over loopback");
        catch_up(&allmende, &source, &info, verify, &mut table)?;
        eprintln!("== Automerge sync (unsigned) baseline");
        automerge_baseline(&data, &mut table)?;
    }
    if !skip("queries") {
        eprintln!("== search, aggregates and UI pages");
        queries(&source, o.samples, &mut table)?;
    }
    let rss = source.peak_rss_kib();
    let disk = dir_bytes(&data.join("allmende.db"));
    table.add(
        "resident memory of the serving node (peak)",
        format!("{:.0} MiB", rss as f64 / 1024.0),
        format!("{} signed changes", info.changes),
        "< 1 GiB",
        Some(rss < 1024 * 1024),
    );
    table.add(
        "on-disk size of the store",
        format!("{:.0} MiB", disk as f64 / 1048576.0),
        format!(
            "raw signed data {:.0} MiB ({:.2}×)",
            info.signed_bytes as f64 / 1048576.0,
            disk as f64 / info.signed_bytes.max(1) as f64
        ),
        "≤ 3× raw",
        Some(disk <= 3 * info.signed_bytes),
    );
    drop(source);
    if !skip("exports") {
        eprintln!("== streamed exports");
        exports(&allmende, &data, &info, &mut table)?;
    }
    if !skip("propagation") {
        eprintln!("== propagation across {} nodes", o.nodes);
        propagation(o.nodes, o.samples.min(30), &mut table)?;
    }
    let header = format!(
        "Size `{}` (seed {}): {} organisations, {} products, {} documents, {} signed changes ({:.1} MB signed). \
         Machine: {}. Date: {}. Commit: {}. Benchmark wall time {:.0} s.\n\n",
        o.size,
        o.seed,
        info.orgs,
        info.products,
        info.documents,
        info.changes,
        info.signed_bytes as f64 / 1e6,
        machine(),
        today(),
        commit(),
        started.elapsed().as_secs_f64()
    );
    let md = format!("{header}{}", table.markdown());
    println!("\n{md}");
    if let Some(path) = &o.markdown {
        std::fs::write(path, &md).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// The `allmende` binary next to this one, built first (a no-op when current).
fn build_allmende(bin_dir: &Path) -> anyhow::Result<PathBuf> {
    let release = bin_dir.file_name().is_some_and(|n| n == "release");
    let target = bin_dir.parent().context("no target directory")?;
    let mut cmd = Command::new(env!("CARGO"));
    // The workspace's manifest, so that the benchmark runs from any directory.
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
    cmd.args(["build", "-q", "-p", "allmende-node", "--bin", "allmende"])
        .arg("--manifest-path")
        .arg(manifest)
        .arg("--target-dir")
        .arg(target);
    if release {
        cmd.arg("--release");
    }
    let status = cmd.status().context("running cargo to build allmende")?;
    if !status.success() {
        bail!("building allmende failed: {status}");
    }
    Ok(bin_dir.join("allmende"))
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct DataInfo {
    orgs: usize,
    products: usize,
    documents: usize,
    changes: usize,
    signed_bytes: u64,
    generate_secs: f64,
}

/// Generates the network into `data` unless a complete copy is there.
fn ensure_data(data: &Path, params: Params, table: &mut Table) -> anyhow::Result<DataInfo> {
    let marker = data.join("bench-data.json");
    if let Ok(text) = std::fs::read_to_string(&marker) {
        let info: DataInfo = serde_json::from_str(&text)?;
        eprintln!("  reusing the generated data ({} changes)", info.changes);
        table.add(
            "generate (cached)",
            format!("{:.1} s when generated", info.generate_secs),
            format!("{:.0} changes/s", info.changes as f64 / info.generate_secs),
            "",
            None,
        );
        return Ok(info);
    }
    let partial = data.with_extension("partial");
    if partial.exists() {
        std::fs::remove_dir_all(&partial)?;
    }
    std::fs::create_dir_all(&partial)?;
    let dd = DataDir::new(partial.clone());
    dd.create_identity()?;
    let mut repo = dd.open_repo()?;
    let t = Instant::now();
    let net = synth::Network::new(params)?;
    eprintln!(
        "  {} organisations, {} products; writing {} documents",
        net.orgs.len(),
        net.products.len(),
        net.document_count()
    );
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let mut last = Instant::now();
    let written = synth::write(&net, &mut repo, threads, |done, total| {
        if last.elapsed() > Duration::from_secs(5) || done == total {
            eprintln!(
                "  {done}/{total} documents ({:.0} s)",
                t.elapsed().as_secs_f64()
            );
            last = Instant::now();
        }
    })?;
    drop(repo);
    let info = DataInfo {
        orgs: net.orgs.len(),
        products: net.products.len(),
        documents: written.documents,
        changes: written.changes,
        signed_bytes: written.signed_bytes,
        generate_secs: t.elapsed().as_secs_f64(),
    };
    std::fs::write(
        partial.join("bench-data.json"),
        serde_json::to_string(&info)?,
    )?;
    if data.exists() {
        std::fs::remove_dir_all(data)?;
    }
    std::fs::rename(&partial, data)?;
    table.add(
        "generate (sign, ingest, index)",
        format!("{:.1} s", info.generate_secs),
        format!("{:.0} changes/s", info.changes as f64 / info.generate_secs),
        "",
        None,
    );
    Ok(info)
}

/// Verify-only time of all signatures, one by one (the catch-up baseline).
#[derive(Clone, Copy)]
struct VerifyTimes {
    single: Duration,
}

fn verify_and_ingest(
    data: &Path,
    info: &DataInfo,
    sample: usize,
    table: &mut Table,
) -> anyhow::Result<VerifyTimes> {
    let src = DataDir::new(data.to_owned()).open_repo()?;
    let headers = src.store().headers()?;
    let scratch = tempfile::tempdir()?;
    let dd = DataDir::new(scratch.path().join("ingest"));
    dd.create_identity()?;
    let mut dst = dd.open_repo()?;
    let (mut single, mut batch, mut ingest) = (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    // Verification time of the documents ingested (all of them unless `sample` is smaller).
    let mut sample_verify = Duration::ZERO;
    let mut n = 0usize;
    let mut ingested = 0usize;
    // Products first, as a peer sends them: deployments refer to them (not required for
    // validity, but the same order as generation).
    let mut ordered = headers.clone();
    ordered.sort_by_key(|h| (h.kind != DocKind::Product, h.id()));
    for h in &ordered {
        let changes = src.signed_changes(&h.id())?;
        n += changes.len();
        let t = Instant::now();
        for c in &changes {
            c.clone().verify(h.id())?;
        }
        let verified = t.elapsed();
        single += verified;
        batch += verify_batch(&changes)?;
        if ingested < sample {
            ingested += changes.len();
            sample_verify += verified;
            let t = Instant::now();
            dst.ingest(*h, changes, synth::TIME)?;
            ingest += t.elapsed();
        }
    }
    if n != info.changes {
        bail!(
            "the store holds {n} changes, the generator wrote {}",
            info.changes
        );
    }
    let rate = |d: Duration| n as f64 / d.as_secs_f64();
    table.add(
        "bare ed25519 verification, one by one",
        format!("{:.0} sig/s ({:.1} s)", rate(single), single.as_secs_f64()),
        format!(
            "{:.1} µs per signature",
            single.as_secs_f64() * 1e6 / n as f64
        ),
        "",
        None,
    );
    table.add(
        "bare ed25519 verification, batched per document",
        format!("{:.0} sig/s ({:.1} s)", rate(batch), batch.as_secs_f64()),
        format!(
            "{:.2}× the one-by-one rate",
            single.as_secs_f64() / batch.as_secs_f64()
        ),
        "",
        None,
    );
    table.add(
        "ingest (verify, authorise, apply, store, index)",
        format!(
            "{:.0} records/s ({:.1} s for {ingested} records)",
            ingested as f64 / ingest.as_secs_f64(),
            ingest.as_secs_f64()
        ),
        format!(
            "{:.2}× verify-only time of the same records",
            ingest.as_secs_f64() / sample_verify.as_secs_f64()
        ),
        "",
        None,
    );
    Ok(VerifyTimes { single })
}

fn verify_batch(changes: &[SignedChange]) -> anyhow::Result<Duration> {
    use ed25519_dalek::{Signature, VerifyingKey};
    let msgs: Vec<Vec<u8>> = changes.iter().map(SignedChange::signed_message).collect();
    let sigs: Vec<Signature> = changes
        .iter()
        .map(|c| Signature::from_bytes(c.signature()))
        .collect();
    let keys: Vec<VerifyingKey> = changes
        .iter()
        .map(|c| VerifyingKey::from_bytes(c.signer().as_bytes()))
        .collect::<Result<_, _>>()?;
    let refs: Vec<&[u8]> = msgs.iter().map(Vec::as_slice).collect();
    let t = Instant::now();
    for chunk in 0..refs.len().div_ceil(256) {
        let r = chunk * 256..((chunk + 1) * 256).min(refs.len());
        ed25519_dalek::verify_batch(&refs[r.clone()], &sigs[r.clone()], &keys[r])?;
    }
    Ok(t.elapsed())
}

/// The organisations that attest others in the generated network (the Land bodies).
fn trust_anchors(data: &Path) -> anyhow::Result<Vec<String>> {
    let repo = DataDir::new(data.to_owned()).open_repo()?;
    let mut stmt = repo
        .store()
        .connection()
        .prepare("SELECT DISTINCT lower(hex(anchor)) FROM idx_attestation ORDER BY 1")?;
    let anchors = stmt
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    if anchors.is_empty() {
        bail!("the generated network has no attestations");
    }
    Ok(anchors)
}

/// A running `allmende run` process on 127.0.0.1.
struct Server {
    child: Child,
    http: String,
    p2p: String,
}

impl Server {
    fn start(
        allmende: &Path,
        dir: &Path,
        bootstrap: &[&str],
        anchors: &[String],
    ) -> anyhow::Result<Self> {
        let mut cmd = Command::new(allmende);
        cmd.arg("run")
            .arg("--data-dir")
            .arg(dir)
            .args(["--listen", "/ip4/127.0.0.1/tcp/0", "--http", "127.0.0.1:0"])
            .args(["--mdns", "false", "--reconcile-secs", "5", "--log", "warn"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for b in bootstrap {
            cmd.arg("--bootstrap").arg(b);
        }
        for a in anchors {
            cmd.arg("--trust-anchor").arg(a);
        }
        let mut child = cmd.spawn().context("starting allmende run")?;
        let out = child.stdout.take().context("no stdout")?;
        let mut lines = BufReader::new(out).lines();
        let (mut http, mut p2p) = (None, None);
        while http.is_none() {
            let Some(line) = lines.next() else {
                let _ = child.kill();
                bail!("allmende run ended before it served HTTP");
            };
            let line = line?;
            if let Some(url) = line.strip_prefix("Web UI: http://") {
                http = Some(url.trim_end_matches('/').to_owned());
            } else if line.starts_with("/ip4/127.0.0.1/tcp/") && p2p.is_none() {
                p2p = Some(line);
            }
        }
        // Keep reading stdout so that the node never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Ok(Self {
            child,
            http: http.unwrap_or_default(),
            p2p: p2p.context("no TCP dial address printed")?,
        })
    }

    fn get(&self, path: &str) -> anyhow::Result<(u16, String)> {
        integration_tests::http(&self.http, "GET", path, None, "", Duration::from_secs(120))
    }

    /// A first, cold request: an aggregate of a full-size catalog takes minutes before the
    /// cache holds it.
    fn get_cold(&self, path: &str) -> anyhow::Result<(u16, String)> {
        let t = Instant::now();
        let answer =
            integration_tests::http(&self.http, "GET", path, None, "", Duration::from_secs(3600))?;
        if t.elapsed() > Duration::from_secs(1) {
            eprintln!("  (cold) {path}: {:.1} s", t.elapsed().as_secs_f64());
        }
        Ok(answer)
    }

    fn status(&self) -> anyhow::Result<serde_json::Value> {
        let (code, body) = self.get("/api/v1/status")?;
        if code != 200 {
            bail!("status answered {code}");
        }
        Ok(serde_json::from_str(&body)?)
    }

    fn peak_rss_kib(&self) -> u64 {
        proc_kib(self.child.id(), "VmHWM:")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn proc_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn dir_bytes(db: &Path) -> u64 {
    let size = |p: PathBuf| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    let mut wal = db.as_os_str().to_owned();
    wal.push("-wal");
    size(db.to_owned()) + size(PathBuf::from(wal))
}

fn catch_up(
    allmende: &Path,
    source: &Server,
    info: &DataInfo,
    verify: VerifyTimes,
    table: &mut Table,
) -> anyhow::Result<()> {
    let scratch = tempfile::tempdir()?;
    let dir = scratch.path().join("fresh");
    DataDir::new(dir.clone()).create_identity()?;
    let before = source.status()?;
    let sent0 = before["network"]["bytes_sent"].as_u64().unwrap_or(0);
    let want = before["changes"].as_u64().unwrap_or(0);
    let t = Instant::now();
    let fresh = Server::start(allmende, &dir, &[source.p2p.as_str()], &[])?;
    let deadline = Duration::from_secs(3600);
    let mut last = Instant::now();
    // When the share of changes held first reached each of these fractions: a slow tail shows
    // as a long gap before the last one.
    let marks = [0.5, 0.9, 0.98];
    let mut reached: Vec<Option<Duration>> = vec![None; marks.len()];
    loop {
        let st = fresh.status()?;
        let have = st["changes"].as_u64().unwrap_or(0);
        for (m, r) in marks.iter().zip(reached.iter_mut()) {
            if r.is_none() && have as f64 >= m * want as f64 {
                *r = Some(t.elapsed());
            }
        }
        // Caught up when every change is held, nothing is being fetched, and the product
        // indexes a large catch-up defers are built again.
        if have >= want
            && st["network"]["pending_fetches"].as_u64() == Some(0)
            && st["indexes_deferred"].as_bool() == Some(false)
        {
            break;
        }
        if t.elapsed() > deadline {
            bail!("catch-up incomplete after {deadline:?}: {have}/{want} changes");
        }
        if last.elapsed() > Duration::from_secs(10) {
            eprintln!(
                "  {have}/{want} changes after {:.0} s",
                t.elapsed().as_secs_f64()
            );
            last = Instant::now();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let wall = t.elapsed();
    let after = source.status()?;
    let sent = after["network"]["bytes_sent"].as_u64().unwrap_or(0) - sent0;
    let received = fresh.status()?["network"]["bytes_sent"]
        .as_u64()
        .unwrap_or(0);
    let rss = fresh.peak_rss_kib();
    let ratio = wall.as_secs_f64() / verify.single.as_secs_f64();
    // The part of the wall time spent building the indexes a large catch-up defers.
    let (_, metrics) = fresh.get("/metrics")?;
    let rebuild = metrics
        .lines()
        .find_map(|l| l.strip_prefix("allmende_index_rebuild_seconds "))
        .and_then(|v| v.trim().parse::<f64>().ok());
    table.add(
        "catch-up of a fresh node from one peer (loopback TCP)",
        format!(
            "{:.1} s ({:.0} records/s)",
            wall.as_secs_f64(),
            info.changes as f64 / wall.as_secs_f64()
        ),
        format!(
            "verify-only {:.1} s → {ratio:.2}×",
            verify.single.as_secs_f64()
        ),
        "≤ 2× verify-only",
        Some(ratio <= 2.0),
    );
    let progress = marks
        .iter()
        .zip(&reached)
        .map(|(m, r)| {
            format!(
                "{:.0} % at {:.1} s",
                m * 100.0,
                r.unwrap_or(wall).as_secs_f64()
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    table.add(
        "catch-up progress (share of the changes held)",
        progress,
        format!("all at {:.1} s", wall.as_secs_f64()),
        "",
        None,
    );
    table.add(
        "catch-up: indexes deferred, built again at its end",
        match rebuild {
            Some(secs) if secs > 0.0 => format!("{secs:.1} s to build"),
            _ => "not deferred".into(),
        },
        format!("of the {:.1} s", wall.as_secs_f64()),
        "",
        None,
    );
    table.add(
        "catch-up bytes on the wire",
        format!(
            "{:.1} MB (+{:.1} MB requests)",
            sent as f64 / 1e6,
            received as f64 / 1e6
        ),
        format!(
            "raw signed data {:.1} MB → {:.2}×",
            info.signed_bytes as f64 / 1e6,
            sent as f64 / info.signed_bytes as f64
        ),
        "",
        None,
    );
    table.add(
        "resident memory of the caught-up node (peak)",
        format!("{:.0} MiB", rss as f64 / 1024.0),
        String::new(),
        "< 1 GiB",
        Some(rss < 1024 * 1024),
    );
    Ok(())
}

/// The same documents synced with Automerge's own sync protocol (no signatures, no
/// authorisation, no index), one document after another over one loopback TCP connection.
fn automerge_baseline(data: &Path, table: &mut Table) -> anyhow::Result<()> {
    use automerge::sync::{Message, State, SyncDoc};
    let src = DataDir::new(data.to_owned()).open_repo()?;
    let mut docs = Vec::new();
    for h in src.store().headers()? {
        let stored = src
            .store()
            .document(&h.id())?
            .context("document vanished")?;
        docs.push(automerge::Automerge::load(&stored.snapshot)?);
    }
    drop(src);
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let n = docs.len();
    let server = std::thread::spawn(move || -> anyhow::Result<u64> {
        let (s, _) = listener.accept()?;
        s.set_nodelay(true)?;
        let mut w = std::io::BufWriter::new(s.try_clone()?);
        let mut r = BufReader::new(s);
        let mut bytes = 0;
        for doc in &mut docs {
            let mut state = State::new();
            loop {
                if let Some(m) = doc.generate_sync_message(&mut state) {
                    bytes += frame_write(&mut w, &m.encode())?;
                } else {
                    bytes += frame_write(&mut w, &[])?;
                }
                w.flush()?;
                let msg = frame_read(&mut r)?;
                if msg.is_empty() {
                    break;
                }
                doc.receive_sync_message(&mut state, Message::decode(&msg)?)?;
            }
        }
        Ok(bytes)
    });
    let t = Instant::now();
    let s = TcpStream::connect(addr)?;
    s.set_nodelay(true)?;
    let mut w = std::io::BufWriter::new(s.try_clone()?);
    let mut r = BufReader::new(s);
    let mut changes = 0;
    for _ in 0..n {
        let mut doc = automerge::Automerge::new();
        let mut state = State::new();
        loop {
            let msg = frame_read(&mut r)?;
            if !msg.is_empty() {
                doc.receive_sync_message(&mut state, Message::decode(&msg)?)?;
            }
            match doc.generate_sync_message(&mut state) {
                Some(m) => frame_write(&mut w, &m.encode())?,
                None if msg.is_empty() => {
                    frame_write(&mut w, &[])?;
                    w.flush()?;
                    break;
                }
                None => frame_write(&mut w, &[])?,
            };
            w.flush()?;
        }
        changes += doc.get_changes(&[]).len();
    }
    let wall = t.elapsed();
    let bytes = server
        .join()
        .map_err(|_| anyhow::anyhow!("sync server panicked"))??;
    table.add(
        "Automerge sync protocol, unsigned (peer baseline)",
        format!(
            "{:.1} s, {:.1} MB sent",
            wall.as_secs_f64(),
            bytes as f64 / 1e6
        ),
        format!("{changes} changes in {n} documents, one document at a time"),
        "",
        None,
    );
    Ok(())
}

fn frame_write(w: &mut impl Write, bytes: &[u8]) -> anyhow::Result<u64> {
    w.write_all(&(bytes.len() as u32).to_be_bytes())?;
    w.write_all(bytes)?;
    Ok(4 + bytes.len() as u64)
}

fn frame_read(r: &mut impl std::io::Read) -> anyhow::Result<Vec<u8>> {
    let mut len = [0u8; 4];
    r.read_exact(&mut len)?;
    let mut buf = vec![0u8; u32::from_be_bytes(len) as usize];
    r.read_exact(&mut buf)?;
    Ok(buf)
}

fn percentiles(mut xs: Vec<Duration>) -> (Duration, Duration) {
    xs.sort();
    if xs.is_empty() {
        return (Duration::ZERO, Duration::ZERO);
    }
    let at = |q: f64| xs[((xs.len() as f64 * q).ceil() as usize).clamp(1, xs.len()) - 1];
    (at(0.5), at(0.99))
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

/// Times `paths` on the serving node, `samples` rounds each.
fn time_paths(source: &Server, paths: &[String], samples: usize) -> anyhow::Result<Vec<Duration>> {
    let mut out = Vec::new();
    for p in paths {
        let (code, _) = source.get_cold(p)?; // warm-up
        if code != 200 {
            bail!("GET {p} answered {code}");
        }
    }
    for _ in 0..samples {
        for p in paths {
            let t = Instant::now();
            let (code, _) = source.get(p)?;
            out.push(t.elapsed());
            if code != 200 {
                bail!("GET {p} answered {code}");
            }
        }
    }
    Ok(out)
}

fn queries(source: &Server, samples: usize, table: &mut Table) -> anyhow::Result<()> {
    let (_, body) = source.get("/api/v1/products?limit=5")?;
    let listing: serde_json::Value = serde_json::from_str(&body)?;
    let product = ["hits", "products", "items"]
        .iter()
        .find_map(|k| listing[*k][0]["id"].as_str())
        .context("no product in the listing")?
        .to_owned();
    let (_, body) = source.get("/api/v1/organizations")?;
    let orgs: serde_json::Value = serde_json::from_str(&body)?;
    let org = orgs
        .as_array()
        .or_else(|| orgs["organizations"].as_array())
        .or_else(|| orgs["items"].as_array())
        .and_then(|a| a.get(a.len() / 2))
        .and_then(|o| o["id"].as_str())
        .context("no organisation in the listing")?
        .to_owned();
    let search: Vec<String> = [
        "q=hundesteuer",
        "q=bauantrag%20online",
        "q=kita",
        "q=meldewesen&kind=fachverfahren",
        "q=e-akte&land=09",
        "licence=EUPL-1.2&open_source=yes",
        "kind=onlinedienst&land=05",
        "q=gewerbe&kreis=05315",
        "q=friedhof&hosting=saas",
        "q=abfallwirtschaft%20portal",
    ]
    .iter()
    .map(|q| format!("/api/v1/products?{q}&limit=20"))
    .collect();
    let (p50, p99) = percentiles(time_paths(source, &search, samples)?);
    table.add(
        "catalog search (10 queries: text, facets, region)",
        format!("p50 {} / p99 {}", ms(p50), ms(p99)),
        "client on loopback".into(),
        "p99 < 20 ms",
        Some(p99 < Duration::from_millis(20)),
    );
    let stats: Vec<String> = [
        "usage",
        "ratings",
        "interop",
        "duplicates",
        "costs",
        "coverage",
    ]
    .iter()
    .map(|s| format!("/api/v1/stats/{s}"))
    .collect();
    for path in &stats {
        let (p50, p99) = percentiles(time_paths(
            source,
            std::slice::from_ref(path),
            samples.min(20),
        )?);
        table.add(
            &format!("aggregate {path}"),
            format!("p50 {} / p99 {}", ms(p50), ms(p99)),
            "client on loopback".into(),
            "",
            None,
        );
    }
    let pages = [
        ("/", "start page"),
        ("/produkte", "product list"),
        ("/produkte?q=hundesteuer", "product search"),
        (&format!("/produkte/{product}") as &str, "product page"),
        ("/organisationen", "organisation list"),
        (&format!("/organisationen/{org}"), "organisation page"),
        ("/aufgaben", "task list"),
        ("/interoperabilitaet", "interoperability matrix"),
        ("/doppelentwicklungen", "duplicate developments"),
        ("/abdeckung", "coverage"),
        ("/netzwerk", "network"),
        ("/vertrauen", "trust"),
    ];
    let mut worst = BTreeMap::new();
    for (path, name) in pages {
        let (p50, p99) = percentiles(time_paths(source, &[path.to_owned()], samples.min(20))?);
        worst.insert(name, p99);
        let shown = path.replace(&product, "{id}").replace(&org, "{id}");
        table.add(
            &format!("UI: {name} ({shown})"),
            format!("p50 {} / p99 {}", ms(p50), ms(p99)),
            "client on loopback".into(),
            "< 100 ms",
            Some(p99 < Duration::from_millis(100)),
        );
    }
    Ok(())
}

/// Peak resident memory and time of each streamed export of the whole catalog.
fn exports(allmende: &Path, data: &Path, info: &DataInfo, table: &mut Table) -> anyhow::Result<()> {
    let scratch = tempfile::tempdir()?;
    for (format, name) in [
        ("jsonl", "catalog.jsonl"),
        ("csv", "csv"),
        ("sqlite", "catalog.sqlite"),
    ] {
        let out = scratch.path().join(name);
        let t = Instant::now();
        let mut child = Command::new(allmende)
            .arg("export")
            .arg("--data-dir")
            .arg(data)
            .args(["--format", format, "--out"])
            .arg(&out)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let mut peak = 0;
        let status = loop {
            peak = peak.max(proc_kib(child.id(), "VmHWM:"));
            if let Some(s) = child.try_wait()? {
                break s;
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        if !status.success() {
            bail!("allmende export --format {format} failed: {status}");
        }
        let size = if out.is_dir() {
            std::fs::read_dir(&out)?
                .filter_map(Result::ok)
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        } else {
            std::fs::metadata(&out)?.len()
        };
        // At full size the files are gigabytes: keep only one at a time.
        if out.is_dir() {
            std::fs::remove_dir_all(&out)?;
        } else {
            std::fs::remove_file(&out)?;
        }
        table.add(
            &format!("export --format {format}: peak memory"),
            format!(
                "{:.0} MiB, {:.1} s",
                peak as f64 / 1024.0,
                t.elapsed().as_secs_f64()
            ),
            format!(
                "{} records, {:.0} MB written",
                info.changes,
                size as f64 / 1e6
            ),
            "bounded (not growing with the catalog)",
            None,
        );
    }
    Ok(())
}

/// `nodes` in-process nodes on loopback, each dialling the first and two others; a change made
/// at one node is timed until every other node has stored it.
fn propagation(nodes: usize, changes: usize, table: &mut Table) -> anyhow::Result<()> {
    use integration_tests::{TestNode, test_net};
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let scratch = tempfile::tempdir()?;
        let mut net = Vec::new();
        let mut rng = synth::Rng::new(7);
        let mut addrs: Vec<libp2p::Multiaddr> = Vec::new();
        for i in 0..nodes {
            let mut boot = Vec::new();
            if !addrs.is_empty() {
                boot.push(addrs[0].clone());
                for _ in 0..2 {
                    boot.push(addrs[rng.below(addrs.len() as u64) as usize].clone());
                }
                boot.dedup();
            }
            let mut cfg = test_net(&boot);
            cfg.reconcile_interval = Duration::from_secs(30);
            let n = TestNode::start_with(
                &scratch.path().join(format!("n{i}")),
                Some(&format!("Gemeinde {i:02}")),
                cfg,
            )
            .await?;
            addrs.push(n.addr().await?);
            net.push(n);
        }
        // Let connections and the gossip mesh form.
        let refs: Vec<&TestNode> = net.iter().collect();
        let docs = nodes as u64;
        if !integration_tests::converged(&refs, docs, Duration::from_secs(120)).await {
            bail!("the {nodes} nodes did not converge on their profiles");
        }
        tokio::time::sleep(Duration::from_secs(3)).await;
        let mut latencies = Vec::new();
        let mut worst_per_change = Vec::new();
        for c in 0..changes {
            let origin = rng.below(nodes as u64) as usize;
            let t = Instant::now();
            let header = net[origin].add_product(&format!("Propagation {c}")).await?;
            let id = header.id();
            let mut pending: Vec<usize> = (0..nodes).filter(|&i| i != origin).collect();
            let mut worst = Duration::ZERO;
            while !pending.is_empty() {
                if t.elapsed() > Duration::from_secs(60) {
                    bail!(
                        "change {c} did not reach {} nodes within 60 s",
                        pending.len()
                    );
                }
                let mut still = Vec::new();
                for &i in &pending {
                    let has = net[i]
                        .node()?
                        .repo
                        .call(move |s| s.repo().store().document(&id).map(|d| d.is_some()))
                        .await
                        .map_err(|e| anyhow::anyhow!(e))??;
                    if has {
                        let d = t.elapsed();
                        latencies.push(d);
                        worst = worst.max(d);
                    } else {
                        still.push(i);
                    }
                }
                pending = still;
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            worst_per_change.push(worst);
        }
        let (p50, p99) = percentiles(latencies);
        let (w50, w99) = percentiles(worst_per_change);
        table.add(
            &format!("propagation of one change to every node ({nodes} nodes, {changes} changes)"),
            format!("per node p50 {} / p99 {}", ms(p50), ms(p99)),
            format!("last node reached: p50 {} / p99 {}", ms(w50), ms(w99)),
            "p99 < 1 s",
            Some(p99 < Duration::from_secs(1)),
        );
        for mut n in net {
            n.stop().await;
        }
        anyhow::Ok(())
    })
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem = proc_meminfo_gib();
    format!("{cpu}, {cores} cores, {mem:.0} GiB")
}

fn proc_meminfo_gib() -> f64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<f64>().ok())
        })
        .map_or(0.0, |k| k / 1048576.0)
}

fn today() -> String {
    Command::new("date")
        .arg("+%Y-%m-%d")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

fn commit() -> String {
    Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|| "unknown".into())
}
