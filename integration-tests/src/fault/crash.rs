//! Crash consistency: an `allmende run` process catching up from a peer is killed with
//! SIGKILL at random moments, again and again.
//!
//! ```text
//!   harness ──writes batches──▶ source store ◀── allmende run (source) ◀──catch-up── victim
//!      │                                                                               │
//!      └── polls status, reads acknowledged ids over the API, SIGKILL, checks the store ┘
//! ```
//!
//! **Acknowledged** means what the victim reported as stored before it was killed: the
//! `changes` and `documents` counts of its last `/api/v1/status` answer, and every product id
//! and deployment key its read-only SQL endpoint (`POST /api/v1/query`) listed. Both read
//! committed SQLite state (the index rows are written in the same transaction as the
//! changes), so an acknowledged change is one the node would have served to anyone.
//!
//! After every kill the harness checks the victim's store without the node: `allmende
//! check` passes (structure, every signature, snapshots against changes); the counts are at
//! least the acknowledged ones; every acknowledged product and deployment is in the catalog;
//! and the catalog index equals an index rebuilt from the documents. Before each restart the
//! source gets a new batch, so every round has a catch-up to interrupt. At the end the victim
//! runs undisturbed and must reach the source's catalog digest.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use allmende_node::datadir::DataDir;
use allmende_node::repo::Repo;
use allmende_node::store::SqliteStore;
use allmende_node::store::Store;
use allmende_protocol::doc::DocHeader;
use allmende_protocol::doc::DocKind;
use allmende_protocol::identity::Keypair;
use allmende_protocol::ids::{DocId, OrgId};
use allmende_protocol::schema::Deployment;
use anyhow::Context;

use super::{ProcNode, Rng, Summary};

/// Parameters of a run.
#[derive(Debug, Clone)]
pub struct Params {
    /// Kill-and-restart rounds.
    pub rounds: usize,
    /// Seed of every random choice (data, kill moments).
    pub seed: u64,
    /// Changes written to the source before the first round.
    pub initial: usize,
    /// Changes added to the source before each further round.
    pub batch: usize,
    /// Bound on the final catch-up.
    pub converge: Duration,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            rounds: 20,
            seed: 1,
            initial: 1500,
            // 200 changes are caught up faster than the 5 ms polling can follow (one
            // fetch answer, one transaction): most kills then hit a node at rest.
            batch: 1000,
            converge: Duration::from_secs(300),
        }
    }
}

/// One kill.
#[derive(Debug, Clone)]
pub struct Round {
    /// Round number (from 0).
    pub round: usize,
    /// How the kill moment was chosen.
    pub trigger: String,
    /// Milliseconds from spawn to SIGKILL.
    pub killed_after_ms: u128,
    /// Changes the source held.
    pub source_changes: u64,
    /// Changes the victim held when it was started.
    pub changes_at_start: u64,
    /// Changes acknowledged (last status before the kill).
    pub acknowledged: u64,
    /// Product ids and deployment keys acknowledged (listed over the API).
    pub acknowledged_records: usize,
    /// Changes found in the store after the kill.
    pub after_kill: u64,
    /// Whether the kill landed while the catch-up was still running.
    pub mid_catch_up: bool,
}

/// What a run found.
#[derive(Debug, Clone)]
pub struct Report {
    /// The parameters.
    pub params: Params,
    /// Every round.
    pub rounds: Vec<Round>,
    /// Acknowledged changes or records missing after a kill (must be 0).
    pub lost: u64,
    /// Integrity check failures, index mismatches (must be 0).
    pub integrity_failures: u64,
    /// Whether the victim reached the source's catalog digest.
    pub converged: bool,
    /// Time of the final catch-up.
    pub final_catch_up: Duration,
    /// Documents and changes at the end.
    pub documents: u64,
    /// Changes at the end.
    pub changes: u64,
    /// Wall time of the run.
    pub wall: Duration,
}

impl Report {
    /// Kills that landed during a catch-up.
    pub fn mid_catch_up(&self) -> usize {
        self.rounds.iter().filter(|r| r.mid_catch_up).count()
    }

    /// The result table.
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        let p = &self.params;
        s.add("seed", p.seed);
        s.add(
            "parameters",
            format!(
                "{} rounds, {} initial changes, {} per round",
                p.rounds, p.initial, p.batch
            ),
        );
        s.add("rounds (SIGKILL + restart)", self.rounds.len());
        s.add(
            "faults injected",
            format!(
                "{} SIGKILLs, {} during a catch-up",
                self.rounds.len(),
                self.mid_catch_up()
            ),
        );
        let acked: u64 = self
            .rounds
            .iter()
            .map(|r| r.acknowledged)
            .max()
            .unwrap_or(0);
        s.add("changes acknowledged before a kill (max)", acked);
        s.add(
            "records acknowledged over the API (sum)",
            self.rounds
                .iter()
                .map(|r| r.acknowledged_records)
                .sum::<usize>(),
        );
        s.add("integrity check failures", self.integrity_failures);
        s.add("data lost (acknowledged, missing)", self.lost);
        s.add(
            "divergences (final digest ≠ source)",
            u8::from(!self.converged),
        );
        s.add(
            "final catch-up",
            format!(
                "{:.1} s to {} documents, {} changes",
                self.final_catch_up.as_secs_f64(),
                self.documents,
                self.changes
            ),
        );
        s.add("wall time", format!("{:.0} s", self.wall.as_secs_f64()));
        s
    }

    /// Whether the run passed: nothing lost, no failed check, converged.
    pub fn passed(&self) -> bool {
        self.lost == 0 && self.integrity_failures == 0 && self.converged
    }
}

/// The source's writers: its own organisation and three more, each with its deployments.
struct Source {
    repo: Repo<SqliteStore>,
    /// Secret keys of the writing organisations (`Keypair` is not `Clone` on purpose).
    orgs: Vec<[u8; 32]>,
    products: Vec<([u8; 32], DocHeader)>,
    written: usize,
}

impl Source {
    fn write(&mut self, rng: &mut Rng, n: usize) -> anyhow::Result<()> {
        for _ in 0..n {
            let i = self.written;
            self.written += 1;
            let secret = self.orgs[rng.below(self.orgs.len() as u64) as usize];
            let key = Keypair::from_secret_bytes(&secret)?;
            let org = OrgId::from_root_key(key.public());
            let roll = rng.below(100);
            let now = allmende_node::now();
            if roll < 55 || self.products.is_empty() {
                let header = DocHeader::product(org, rng.bytes32()[..16].try_into()?);
                let p = crate::product(&format!("Fachverfahren {i}"));
                self.repo.edit(&key, header, now, |ed| ed.put_root(&p))?;
                self.products.push((secret, header));
            } else if roll < 80 {
                // Another change of an existing product: the victim holds some of its
                // changes and fetches the rest by heads.
                let (secret, header) =
                    self.products[rng.below(self.products.len() as u64) as usize];
                let key = Keypair::from_secret_bytes(&secret)?;
                let p = crate::product(&format!("Fachverfahren {i} (überarbeitet)"));
                self.repo.edit(&key, header, now, |ed| ed.put_root(&p))?;
            } else {
                let header = DocHeader::singleton(DocKind::Deployments, org);
                let product = self
                    .products
                    .last()
                    .map(|(_, h)| h.id())
                    .unwrap_or(DocId::from_bytes([7; 32]));
                let d = Deployment {
                    cost_once_eur: Some(i as u64),
                    ..crate::deployment(product, &i.to_string())
                };
                let k = format!("crash-{i}");
                self.repo.edit(&key, header, now, |ed| ed.put(&k, &d))?;
            }
        }
        Ok(())
    }

    fn changes(&self) -> anyhow::Result<u64> {
        Ok(self.repo.store().counts()?.changes)
    }
}

/// Runs the harness with the `allmende` binary `allmende`, logging progress to `log`.
pub fn run(allmende: &Path, p: Params, log: &mut dyn Write) -> anyhow::Result<Report> {
    let wall = Instant::now();
    writeln!(log, "fault-crash: seed {}", p.seed)?;
    let mut rng = Rng::new(p.seed);
    let tmp = tempfile::tempdir()?;
    let src_dir = tmp.path().join("source");
    let victim_dir = tmp.path().join("victim");
    let src_dd = DataDir::new(src_dir.clone());
    let own = src_dd.create_identity()?.keypair.secret_bytes();
    let mut orgs = vec![own];
    for _ in 0..3 {
        let secret = rng.bytes32();
        Keypair::from_secret_bytes(&secret)?;
        orgs.push(secret);
    }
    let mut source = Source {
        repo: src_dd.open_repo()?,
        orgs,
        products: Vec::new(),
        written: 0,
    };
    source.write(&mut rng, p.initial)?;
    let src_node = ProcNode::start(allmende, &src_dir, &[])?;
    DataDir::new(victim_dir.clone()).create_identity()?;

    let mut rounds = Vec::new();
    let (mut lost, mut integrity_failures) = (0u64, 0u64);
    let mut acked_records: BTreeSet<String> = BTreeSet::new();
    let mut acked_changes = 0u64;
    for round in 0..p.rounds {
        if round > 0 {
            source.write(&mut rng, p.batch)?;
        }
        let source_changes = source.changes()?;
        let victim = ProcNode::start(allmende, &victim_dir, &[src_node.p2p.as_str()])?;
        let token = DataDir::new(victim_dir.clone()).admin_token()?;
        let start = victim.status()?["changes"].as_u64().unwrap_or(0);
        let backlog = source_changes.saturating_sub(start);
        // Mostly at a random point of the catch-up's progress; sometimes at a random time
        // from the start, which can land before the first fetch or after the end.
        let (mut trigger, target, deadline) = if rng.chance(0.2) {
            let ms = rng.below(1500);
            (
                format!("timer {ms} ms"),
                u64::MAX,
                Duration::from_millis(ms),
            )
        } else {
            let f = 0.05 + 0.9 * rng.unit();
            let target = start + (f * backlog as f64) as u64;
            (
                format!("{:.0} % of the backlog", f * 100.0),
                target,
                Duration::from_secs(120),
            )
        };
        let mut last = start;
        loop {
            let st = victim.status()?;
            last = st["changes"].as_u64().unwrap_or(last);
            if last >= source_changes {
                trigger.push_str(", catch-up finished first");
                break;
            }
            if last >= target || victim.started.elapsed() >= deadline {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        std::thread::sleep(Duration::from_millis(rng.below(30)));
        // What the node acknowledges right before the kill: the ids it lists, then its counts.
        let listed = victim.query(
            &token,
            "SELECT 'p:' || id FROM products UNION ALL SELECT 'd:' || org || '/' || key FROM deployments",
        )?;
        let st = victim.status()?;
        let acknowledged = st["changes"].as_u64().unwrap_or(0);
        let acknowledged_docs = st["documents"].as_u64().unwrap_or(0);
        let killed_after_ms = victim.started.elapsed().as_millis();
        victim.kill()?;
        acked_changes = acked_changes.max(acknowledged);
        let n_listed = listed.len();
        acked_records.extend(listed);

        // The store after the crash, without the node.
        let check = Command::new(allmende)
            .arg("check")
            .arg("--data-dir")
            .arg(&victim_dir)
            .env_remove("ALLMENDE_CONFIG")
            .output()?;
        if !check.status.success() {
            integrity_failures += 1;
            writeln!(
                log,
                "round {round}: allmende check failed: {}{}",
                String::from_utf8_lossy(&check.stdout),
                String::from_utf8_lossy(&check.stderr)
            )?;
        }
        let (after, missing, index_ok) = inspect(&victim_dir, &acked_records)?;
        if !index_ok {
            integrity_failures += 1;
            writeln!(
                log,
                "round {round}: the index differs from one rebuilt from the documents"
            )?;
        }
        if after.0 < acked_changes || after.1 < acknowledged_docs {
            lost += acked_changes - after.0.min(acked_changes);
            writeln!(
                log,
                "round {round}: acknowledged {acked_changes} changes / {acknowledged_docs} documents, found {} / {}",
                after.0, after.1
            )?;
        }
        if !missing.is_empty() {
            lost += missing.len() as u64;
            writeln!(
                log,
                "round {round}: {} acknowledged records missing, e.g. {:?}",
                missing.len(),
                missing.first()
            )?;
        }
        let r = Round {
            round,
            trigger,
            killed_after_ms,
            source_changes,
            changes_at_start: start,
            acknowledged,
            acknowledged_records: n_listed,
            after_kill: after.0,
            mid_catch_up: acknowledged > start && acknowledged < source_changes,
        };
        writeln!(
            log,
            "round {:2}: kill at {:>5} ms ({}): {} → {} acknowledged of {} at the source, {} after restart{}",
            r.round,
            r.killed_after_ms,
            r.trigger,
            r.changes_at_start,
            r.acknowledged,
            r.source_changes,
            r.after_kill,
            if r.mid_catch_up { ", mid catch-up" } else { "" }
        )?;
        rounds.push(r);
    }

    // Heal: let the victim finish undisturbed, then compare catalogs.
    let t = Instant::now();
    let target = source.changes()?;
    let victim = ProcNode::start(allmende, &victim_dir, &[src_node.p2p.as_str()])?;
    let mut reached = false;
    while t.elapsed() < p.converge {
        let st = victim.status()?;
        if st["changes"].as_u64() == Some(target)
            && st["network"]["pending_fetches"].as_u64() == Some(0)
        {
            reached = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let final_catch_up = t.elapsed();
    victim.stop()?;
    src_node.stop()?;
    let victim_repo = DataDir::new(victim_dir.clone()).open_repo()?;
    if let Err(e) = victim_repo.check_integrity() {
        integrity_failures += 1;
        writeln!(log, "final: integrity check failed: {e}")?;
    }
    let digest_v = victim_repo.catalog()?.digest();
    let digest_s = source.repo.catalog()?.digest();
    let counts = victim_repo.store().counts()?;
    let converged = reached && digest_v == digest_s;
    if !converged {
        writeln!(
            log,
            "final: victim {} changes, source {target}; digests {}",
            counts.changes,
            if digest_v == digest_s {
                "equal"
            } else {
                "differ"
            }
        )?;
    }
    Ok(Report {
        params: p,
        rounds,
        lost,
        integrity_failures,
        converged,
        final_catch_up,
        documents: counts.documents,
        changes: counts.changes,
        wall: wall.elapsed(),
    })
}

/// Opens the killed node's store: its (changes, documents), the acknowledged records it
/// lacks, and whether its index equals one rebuilt from the documents.
fn inspect(
    dir: &Path,
    acked: &BTreeSet<String>,
) -> anyhow::Result<((u64, u64), Vec<String>, bool)> {
    let mut repo = DataDir::new(dir.to_owned())
        .open_repo()
        .context("reopening the store after SIGKILL")?;
    let counts = repo.store().counts()?;
    let catalog = repo.catalog()?;
    let mut have: BTreeSet<String> = catalog
        .products
        .iter()
        .map(|e| format!("p:{:#}", e.id))
        .collect();
    have.extend(
        catalog
            .deployments
            .iter()
            .map(|e| format!("d:{:#}/{}", e.org, e.key)),
    );
    let missing: Vec<String> = acked.difference(&have).cloned().collect();
    let before = allmende_node::query::dump_index(repo.store().connection())?;
    repo.rebuild_index()?;
    let after = allmende_node::query::dump_index(repo.store().connection())?;
    Ok(((counts.changes, counts.documents), missing, before == after))
}
