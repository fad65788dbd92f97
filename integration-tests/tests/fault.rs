//! Short runs of the fault harness (`docs/testing.md`), so that CI proves it still works:
//! a few SIGKILLs of a catching-up `allmende run` process, a few seconds of churn on
//! three in-process nodes, and a few seconds of every hostile-peer attack on four. The long
//! runs are the binaries `fault-crash`, `fault-churn` and `hostile-peer`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use integration_tests::fault::{self, churn, crash, hostile};

#[test]
fn crash_consistency_short() {
    let allmende = fault::allmende_bin().unwrap();
    let p = crash::Params {
        rounds: 3,
        seed: 7,
        initial: 150,
        batch: 40,
        converge: Duration::from_secs(60),
    };
    let mut log = Vec::new();
    let r = crash::run(&allmende, p, &mut log).unwrap();
    let log = String::from_utf8_lossy(&log);
    println!("{log}\n{}", r.summary().markdown());
    assert_eq!(r.rounds.len(), 3);
    assert!(r.passed(), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn churn_short() {
    let p = churn::Params {
        nodes: 3,
        secs: 4,
        seed: 11,
        write_ms: 60,
        fault_ms: 600,
        partition_chance: 0.6,
        converge: Duration::from_secs(30),
    };
    let mut log: Vec<u8> = Vec::new();
    let r = churn::run(p.clone(), &mut log).await.unwrap();
    let log = String::from_utf8_lossy(&log);
    println!("{log}\n{}", r.summary(&p).markdown());
    assert!(r.writes > 10, "{log}");
    assert!(r.rounds > 0, "{log}");
    assert!(r.passed(), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_peers_short() {
    let p = hostile::Params {
        secs: 6,
        kinds: hostile::Attack::ALL.to_vec(),
        baseline_secs: 3,
        seed: 13,
        write_ms: 200,
        phantom_docs: 500,
        max_attackers: 100,
        settle: Duration::from_secs(60),
    };
    let mut log: Vec<u8> = Vec::new();
    let r = hostile::run(p.clone(), &mut log).await.unwrap();
    let log = String::from_utf8_lossy(&log);
    println!("{log}\n{}", r.markdown(&p));
    for k in &r.kinds {
        assert!(k.sent > 0, "{:?} sent nothing\n{log}", k.kind);
    }
    assert_eq!(r.kinds.len(), hostile::Attack::ALL.len());
    assert_eq!(r.accepted(), 0, "{log}");
    assert_eq!(r.diverged, 0, "{log}");
    assert!(r.passed(), "{log}");
}
