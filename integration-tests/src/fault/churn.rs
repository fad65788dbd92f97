//! Churn: nodes on 127.0.0.1 restarted and partitioned at random while every node keeps
//! writing, for a bounded time; then the network heals and must converge within a bound.
//!
//! The nodes run in this process (real libp2p swarms over loopback TCP, real SQLite stores).
//!
//! - **Restart**: a running node stops (orderly shutdown) and comes back after 0.2–2 s, on a
//!   new port, bootstrapping from up to two running nodes of its side of a partition.
//! - **Partition**: the nodes are split in two random sides. Every running node of one side
//!   restarts knowing only nodes of its own side; nodes keep no peer list on disk, so the
//!   sides cannot find each other. Later restarts keep to their side.
//! - **Heal**: each node of the smaller side dials a node of the other side.
//!
//! **Acknowledged writes** are edits whose `Repo::edit` call returned `Ok` on a running node:
//! new products, renames of a node's own products (each node renames only its own, so the
//! last acknowledged name must win everywhere) and new deployments. After the heal every
//! node must hold exactly the expected documents with the same catalog digest (a node that
//! does not, at the bound, is a **divergence**), and every acknowledged write must be there
//! with its last value on every node (else it is **lost**).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use allmende_protocol::doc::{DocHeader, DocKind};
use allmende_protocol::ids::{DocId, OrgId};
use allmende_protocol::schema::{Deployment, DeploymentStatus, OperatedBy};
use libp2p::Multiaddr;

use super::{Rng, Summary};
use crate::TestNode;

/// Parameters of a run.
#[derive(Debug, Clone)]
pub struct Params {
    /// Nodes.
    pub nodes: usize,
    /// Seconds of churn (writes and faults).
    pub secs: u64,
    /// Seed of every random choice.
    pub seed: u64,
    /// Mean milliseconds between writes.
    pub write_ms: u64,
    /// Mean milliseconds between faults.
    pub fault_ms: u64,
    /// Chance that a fault is a partition (when none is in place).
    pub partition_chance: f64,
    /// Bound on convergence after the heal.
    pub converge: Duration,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            nodes: 10,
            secs: 60,
            seed: 1,
            write_ms: 100,
            fault_ms: 1500,
            partition_chance: 0.3,
            converge: Duration::from_secs(60),
        }
    }
}

/// What a run found.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Fault rounds (times a fault was chosen).
    pub rounds: u64,
    /// Restarts (a partition restarts a whole side).
    pub restarts: u64,
    /// Partitions.
    pub partitions: u64,
    /// Heals.
    pub heals: u64,
    /// Heals before which the two sides' catalogs differed: the partition held while both
    /// sides wrote.
    pub partitions_observed: u64,
    /// Most nodes down at once.
    pub max_down: usize,
    /// Acknowledged writes.
    pub writes: u64,
    /// Writes refused (not acknowledged; expected 0).
    pub refused: u64,
    /// Documents expected at the end.
    pub documents: u64,
    /// Time from the heal until every node showed the same catalog.
    pub converge_time: Option<Duration>,
    /// Nodes whose catalog differed at the bound (must be 0).
    pub divergences: u64,
    /// Acknowledged writes missing or with another value on some node (must be 0).
    pub lost: u64,
    /// Wall time of the run.
    pub wall: Duration,
}

impl Report {
    /// The result table.
    pub fn summary(&self, p: &Params) -> Summary {
        let mut s = Summary::default();
        s.add("seed", p.seed);
        s.add(
            "parameters",
            format!(
                "{} nodes, {} s churn, write every ~{} ms, fault every ~{} ms",
                p.nodes, p.secs, p.write_ms, p.fault_ms
            ),
        );
        s.add("fault rounds", self.rounds);
        s.add(
            "faults injected",
            format!(
                "{} restarts, {} partitions, {} heals (at most {} nodes down at once)",
                self.restarts, self.partitions, self.heals, self.max_down
            ),
        );
        s.add(
            "partitions that held (sides differed at the heal)",
            format!("{} of {}", self.partitions_observed, self.heals),
        );
        s.add(
            "writes acknowledged",
            format!("{} ({} refused)", self.writes, self.refused),
        );
        s.add(
            "converged after the heal",
            match self.converge_time {
                Some(t) => format!(
                    "{:.1} s ({} documents on every node, bound {:.0} s)",
                    t.as_secs_f64(),
                    self.documents,
                    p.converge.as_secs_f64()
                ),
                None => format!("no, within {:.0} s", p.converge.as_secs_f64()),
            },
        );
        s.add("divergences", self.divergences);
        s.add("data lost (acknowledged, missing)", self.lost);
        s.add("wall time", format!("{:.0} s", self.wall.as_secs_f64()));
        s
    }

    /// Whether the run passed.
    pub fn passed(&self) -> bool {
        self.divergences == 0 && self.lost == 0 && self.converge_time.is_some()
    }
}

struct Slot {
    node: TestNode,
    dir: PathBuf,
    name: String,
    org: OrgId,
    side: u8,
    /// When a stopped node comes back.
    up_at: Option<Instant>,
    own_products: Vec<DocHeader>,
}

/// What every node must show at the end.
#[derive(Default)]
struct Expected {
    /// Product → last acknowledged name.
    products: BTreeMap<DocId, String>,
    /// (organisation, key) of acknowledged deployments.
    deployments: BTreeSet<(OrgId, String)>,
    /// Organisations with a deployments document.
    deployment_docs: BTreeSet<OrgId>,
}

/// Runs the harness, logging progress to `log`.
pub async fn run(p: Params, log: &mut (dyn Write + Send)) -> anyhow::Result<Report> {
    let wall = Instant::now();
    writeln!(log, "fault-churn: seed {}", p.seed)?;
    let mut rng = Rng::new(p.seed);
    let tmp = tempfile::tempdir()?;
    let mut slots: Vec<Slot> = Vec::new();
    for i in 0..p.nodes {
        let dir = tmp.path().join(format!("n{i}"));
        let boot: Vec<Multiaddr> = match slots.first() {
            Some(s) => vec![s.node.addr().await?],
            None => vec![],
        };
        let name = format!("Churn-Gemeinde {i}");
        let node = TestNode::start(&dir, Some(&name), &boot).await?;
        let org = node.org()?;
        slots.push(Slot {
            node,
            dir,
            name,
            org,
            side: 0,
            up_at: None,
            own_products: Vec::new(),
        });
    }
    let mut report = Report::default();
    let mut expected = Expected::default();
    let start = Instant::now();
    let end = start + Duration::from_secs(p.secs);
    let mut next_fault = start + Duration::from_millis(rng.below(2 * p.fault_ms) + 1);
    let mut partitioned_at: Option<(Instant, Duration)> = None;
    let mut n_write = 0u64;
    while Instant::now() < end {
        // Nodes whose downtime is over come back.
        for i in 0..slots.len() {
            if slots[i].up_at.is_some_and(|t| t <= Instant::now()) {
                restart(&mut slots, i, &mut rng).await?;
                report.restarts += 1;
            }
        }
        if Instant::now() >= next_fault {
            report.rounds += 1;
            next_fault = Instant::now() + Duration::from_millis(rng.below(2 * p.fault_ms) + 1);
            match partitioned_at {
                Some((at, lasts)) if at.elapsed() >= lasts => {
                    if heal(&mut slots, &mut rng).await? {
                        report.partitions_observed += 1;
                    }
                    report.heals += 1;
                    partitioned_at = None;
                    writeln!(log, "{:6.1} s: heal", start.elapsed().as_secs_f64())?;
                }
                None if p.nodes >= 2 && rng.chance(p.partition_chance) => {
                    let restarted = partition(&mut slots, &mut rng).await?;
                    report.partitions += 1;
                    report.restarts += restarted;
                    let lasts = Duration::from_millis(1000 + rng.below(3000));
                    partitioned_at = Some((Instant::now(), lasts));
                    let sides: Vec<u8> = slots.iter().map(|s| s.side).collect();
                    writeln!(
                        log,
                        "{:6.1} s: partition {sides:?} for {:.1} s",
                        start.elapsed().as_secs_f64(),
                        lasts.as_secs_f64()
                    )?;
                }
                _ => {
                    let running: Vec<usize> = (0..slots.len())
                        .filter(|&i| slots[i].node.node.is_some())
                        .collect();
                    if running.len() > 1 {
                        let i = running[rng.below(running.len() as u64) as usize];
                        slots[i].node.stop().await;
                        let down = Duration::from_millis(200 + rng.below(1800));
                        slots[i].up_at = Some(Instant::now() + down);
                        writeln!(
                            log,
                            "{:6.1} s: stop node {i} for {:.1} s",
                            start.elapsed().as_secs_f64(),
                            down.as_secs_f64()
                        )?;
                    }
                }
            }
            let down = slots.iter().filter(|s| s.node.node.is_none()).count();
            report.max_down = report.max_down.max(down);
        }
        write(&mut slots, &mut rng, &mut expected, &mut report, n_write).await;
        n_write += 1;
        let pause = rng.below(2 * p.write_ms);
        tokio::time::sleep(Duration::from_millis(pause)).await;
    }

    // Heal: every node up, one network, then wait for one catalog.
    writeln!(
        log,
        "{:6.1} s: churn over after {} writes; healing",
        start.elapsed().as_secs_f64(),
        report.writes
    )?;
    for i in 0..slots.len() {
        slots[i].side = 0;
        if slots[i].node.node.is_none() {
            restart(&mut slots, i, &mut rng).await?;
            report.restarts += 1;
        }
    }
    let hub = slots[0].node.addr().await?;
    for s in &slots[1..] {
        let _ = s.node.node()?.net.dial(hub.clone()).await;
    }
    let docs =
        p.nodes as u64 + expected.products.len() as u64 + expected.deployment_docs.len() as u64;
    report.documents = docs;
    let healed = Instant::now();
    let nodes: Vec<&TestNode> = slots.iter().map(|s| &s.node).collect();
    if crate::converged(&nodes, docs, p.converge).await {
        report.converge_time = Some(healed.elapsed());
    }
    // Divergences: nodes whose catalog is not the majority's (or not complete) at the bound.
    let mut digests = Vec::new();
    for s in &slots {
        digests.push(s.node.digest().await?);
    }
    let mut tally: BTreeMap<([u8; 32], u64), u64> = BTreeMap::new();
    for d in &digests {
        *tally.entry(*d).or_default() += 1;
    }
    let majority = tally
        .iter()
        .max_by_key(|(_, n)| **n)
        .map(|(d, _)| *d)
        .unwrap_or(([0; 32], 0));
    report.divergences = digests
        .iter()
        .filter(|d| **d != majority || d.1 != docs)
        .count() as u64;
    // Data lost: every acknowledged write on every node.
    let mut lost: BTreeSet<String> = BTreeSet::new();
    for s in &slots {
        let catalog = s
            .node
            .node()?
            .repo
            .call(|st| st.repo().catalog())
            .await
            .map_err(|e| anyhow::anyhow!(e))??;
        let names: BTreeMap<DocId, &str> = catalog
            .products
            .iter()
            .map(|e| (e.id, e.product.name.as_str()))
            .collect();
        for (id, name) in &expected.products {
            if names.get(id) != Some(&name.as_str()) {
                lost.insert(format!("product {id:#} = {name:?}"));
            }
        }
        let deps: BTreeSet<(OrgId, String)> = catalog
            .deployments
            .iter()
            .map(|e| (e.org, e.key.clone()))
            .collect();
        for d in expected.deployments.difference(&deps) {
            lost.insert(format!("deployment {:#}/{}", d.0, d.1));
        }
    }
    if let Some(first) = lost.iter().next() {
        writeln!(log, "lost: {} writes, e.g. {first}", lost.len())?;
    }
    report.lost = lost.len() as u64;
    for s in &mut slots {
        s.node.stop().await;
    }
    report.wall = wall.elapsed();
    Ok(report)
}

/// One write on a random running node.
async fn write(
    slots: &mut [Slot],
    rng: &mut Rng,
    expected: &mut Expected,
    report: &mut Report,
    n: u64,
) {
    let running: Vec<usize> = (0..slots.len())
        .filter(|&i| slots[i].node.node.is_some())
        .collect();
    if running.is_empty() {
        return;
    }
    let i = running[rng.below(running.len() as u64) as usize];
    let s = &mut slots[i];
    let roll = rng.below(100);
    let ok = if roll < 40 || s.own_products.is_empty() {
        let name = format!("Churn-Produkt {n}");
        match s.node.add_product(&name).await {
            Ok(h) => {
                s.own_products.push(h);
                expected.products.insert(h.id(), name);
                true
            }
            Err(_) => false,
        }
    } else if roll < 75 {
        let header = s.own_products[rng.below(s.own_products.len() as u64) as usize];
        let name = format!("Churn-Produkt {n} (umbenannt)");
        let p = crate::product(&name);
        match s.node.edit(header, move |ed| ed.put_root(&p)).await {
            Ok(()) => {
                expected.products.insert(header.id(), name);
                true
            }
            Err(_) => false,
        }
    } else {
        let header = DocHeader::singleton(DocKind::Deployments, s.org);
        let product = s.own_products[rng.below(s.own_products.len() as u64) as usize].id();
        let key = format!("churn-{n}");
        let d = Deployment {
            product,
            version: None,
            tasks: vec![],
            since: None,
            status: DeploymentStatus::Pilot,
            operated_by: OperatedBy::Itself,
            integrations: vec![],
            end_to_end: None,
            cost_once_eur: Some(n),
            cost_yearly_eur: None,
            contact_role: None,
            exchange_ok: None,
            until: None,
            replaced_by: None,
            end_reason: None,
        };
        let k = key.clone();
        match s.node.edit(header, move |ed| ed.put(&k, &d)).await {
            Ok(()) => {
                expected.deployments.insert((s.org, key));
                expected.deployment_docs.insert(s.org);
                true
            }
            Err(_) => false,
        }
    };
    if ok {
        report.writes += 1;
    } else {
        report.refused += 1;
    }
}

/// Starts node `i` again, bootstrapping from up to two running nodes of its side.
async fn restart(slots: &mut [Slot], i: usize, rng: &mut Rng) -> anyhow::Result<()> {
    let side = slots[i].side;
    let mut peers: Vec<usize> = (0..slots.len())
        .filter(|&j| j != i && slots[j].side == side && slots[j].node.node.is_some())
        .collect();
    let mut boot = Vec::new();
    while boot.len() < 2 && !peers.is_empty() {
        let j = peers.swap_remove(rng.below(peers.len() as u64) as usize);
        boot.push(slots[j].node.addr().await?);
    }
    slots[i].node.stop().await;
    let s = &mut slots[i];
    s.node = TestNode::start(&s.dir, Some(&s.name), &boot).await?;
    s.up_at = None;
    Ok(())
}

/// Splits the nodes in two sides and restarts the running nodes of side 1 knowing only
/// side 1; returns how many restarted.
async fn partition(slots: &mut [Slot], rng: &mut Rng) -> anyhow::Result<u64> {
    let n = slots.len();
    let ones = 1 + rng.below(n as u64 - 1) as usize;
    let mut order: Vec<usize> = (0..n).collect();
    for k in (1..n).rev() {
        order.swap(k, rng.below(k as u64 + 1) as usize);
    }
    for (rank, &i) in order.iter().enumerate() {
        slots[i].side = u8::from(rank < ones);
    }
    // Stop side 1 first, so that no restarted node dials an old incarnation of the other side.
    let side1: Vec<usize> = (0..n)
        .filter(|&i| slots[i].side == 1 && slots[i].node.node.is_some())
        .collect();
    for &i in &side1 {
        slots[i].node.stop().await;
    }
    for &i in &side1 {
        restart(slots, i, rng).await?;
    }
    Ok(side1.len() as u64)
}

/// Each running node of the smaller side dials a running node of the other side. Returns
/// whether the sides' catalogs differed just before (the partition held).
async fn heal(slots: &mut [Slot], rng: &mut Rng) -> anyhow::Result<bool> {
    let side = |s: u8| -> Vec<usize> {
        (0..slots.len())
            .filter(|&i| slots[i].side == s && slots[i].node.node.is_some())
            .collect()
    };
    let (a, b) = (side(0), side(1));
    let differed = match (a.first(), b.first()) {
        (Some(&i), Some(&j)) => slots[i].node.digest().await? != slots[j].node.digest().await?,
        _ => false,
    };
    let (small, large) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if !large.is_empty() {
        for &i in &small {
            let j = large[rng.below(large.len() as u64) as usize];
            let addr = slots[j].node.addr().await?;
            let _ = slots[i].node.node()?.net.dial(addr).await;
        }
    }
    for s in slots.iter_mut() {
        s.side = 0;
    }
    Ok(differed)
}
