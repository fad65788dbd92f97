//! The benchmark still runs: `allmende-bench --size small` end to end (generation, ingest,
//! catch-up, Automerge baseline, queries, UI pages, exports, propagation). Debug builds are
//! far slower than release, so no target is asserted here; `docs/benchmarks.md` holds the
//! release figures.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

#[test]
fn benchmark_runs_at_small_size() {
    let tmp = tempfile::tempdir().unwrap();
    let md = tmp.path().join("result.md");
    let out = Command::new(env!("CARGO_BIN_EXE_allmende-bench"))
        .args([
            "--size",
            "small",
            "--nodes",
            "4",
            "--samples",
            "3",
            "--data",
        ])
        .arg(tmp.path().join("data"))
        .arg("--markdown")
        .arg(&md)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "benchmark failed:\n{stderr}");
    let table = std::fs::read_to_string(&md).unwrap();
    for row in [
        "bare ed25519 verification, one by one",
        "ingest (verify, authorise, apply, store, index)",
        "catch-up of a fresh node from one peer",
        "Automerge sync protocol, unsigned",
        "catalog search",
        "UI: product page",
        "resident memory of the serving node",
        "on-disk size of the store",
        "export --format jsonl: peak memory",
        "propagation of one change to every node (4 nodes",
    ] {
        assert!(table.contains(row), "row {row:?} missing from:\n{table}");
    }
    // The second run reuses the generated data and reaches the same counts.
    let first = table
        .lines()
        .find(|l| l.starts_with("Size"))
        .unwrap()
        .to_owned();
    let out = Command::new(env!("CARGO_BIN_EXE_allmende-bench"))
        .args([
            "--size",
            "small",
            "--nodes",
            "2",
            "--samples",
            "1",
            "--data",
        ])
        .arg(tmp.path().join("data"))
        .arg("--markdown")
        .arg(&md)
        .args(["--skip", "catchup,queries,exports,propagation"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table = std::fs::read_to_string(&md).unwrap();
    assert!(table.contains("generate (cached)"), "{table}");
    let again = table.lines().find(|l| l.starts_with("Size")).unwrap();
    let counts = |s: &str| s.split(". Machine").next().unwrap().to_owned();
    assert_eq!(counts(&first), counts(again));
}
