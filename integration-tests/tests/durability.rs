//! Durability: a write acknowledged to the user survives `kill -9` of the writing process.
//!
//! A child process writes deployments and acknowledges each after the store returned. The
//! test reads a varying number of acknowledgements, kills the child with SIGKILL while it is
//! in the middle of further writes, reopens the store and checks that every acknowledged
//! write is there and that the store passes the full integrity check.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::cloned_ref_to_slice_refs
)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use allmende_node::datadir::DataDir;

#[test]
fn acknowledged_writes_survive_sigkill() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("node");
    let dd = DataDir::new(dir.clone());
    dd.create_identity().unwrap();
    let mut acknowledged: Vec<String> = Vec::new();
    // Rounds kill after different numbers of acknowledgements, so the kill lands at
    // different points of a write.
    for (round, kill_after) in [1usize, 7, 3, 20, 12].into_iter().enumerate() {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ack-writer"))
            .arg(&dir)
            .arg("1000000")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut seen = 0;
        while seen < kill_after {
            let line = lines.next().expect("writer ended early").unwrap();
            let key = line
                .split_whitespace()
                .nth(2)
                .expect("ack line has a key")
                .to_owned();
            acknowledged.push(key);
            seen += 1;
        }
        // SIGKILL on Unix: no destructor, no flush, no orderly close of SQLite.
        child.kill().unwrap();
        child.wait().unwrap();

        let repo = dd.open_repo().unwrap();
        let report = repo.check_integrity().unwrap();
        assert!(report.changes > 0);
        let catalog = repo.catalog().unwrap();
        // Keys carry the writer's pid, so every acknowledgement of every round is its own record.
        let stored: std::collections::BTreeSet<String> =
            catalog.deployments.iter().map(|d| d.key.clone()).collect();
        for key in &acknowledged {
            assert!(
                stored.contains(key),
                "round {round}: acknowledged {key} lost after SIGKILL"
            );
        }
        let counts = allmende_node::store::Store::counts(repo.store()).unwrap();
        assert!(
            counts.changes as usize >= acknowledged.len(),
            "{counts:?} < {}",
            acknowledged.len()
        );
    }
}
