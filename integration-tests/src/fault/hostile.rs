//! Hostile peers: attackers flood a network of honest nodes with the attacks of issue 21 for a
//! bounded time while the honest nodes keep writing; nothing of the attacks may be stored, the
//! honest nodes must end with one catalog, and their changes must keep propagating.
//!
//! ```text
//!   victim 0 ── victim 1 ── victim 2 ── victim 3        (honest, one organisation each, a chain)
//!      ▲  ▲         ▲           ▲           ▲
//!      │  └── harness: a change every ~write-ms on a victim, polls the others for it
//!      └──────┴─────┴───────────┴──── attackers: one task per attack kind, fresh peer ids
//! ```
//!
//! Everything runs in this process (real libp2p swarms over loopback TCP, real SQLite stores),
//! so the peak resident memory reported is the whole harness's, attackers included.
//!
//! Phases:
//! 1. **Baseline**: the victims write (alternately a new product and a rename of one of the
//!    writer's products, rotating the writer), no attacks. For every acknowledged change the
//!    harness polls the other victims' stores every 20 ms until all hold it: the
//!    **propagation time**.
//! 2. **Attack**: the same writes and measurement, while one task per [`Attack`] kind sends
//!    its attack. Attackers are in-process nodes without an organisation; each signs with a
//!    key of its own (valid, unattested). Victims block attackers that prove malicious: a
//!    blocked attacker (connected to no victim any more) is replaced by a fresh one (new data
//!    directory, new peer id), within a budget of attackers.
//! 3. **Settle**: all attackers stop; the victims must converge, and their fetch queues must
//!    empty (the phantom documents' queues leave with the attackers).
//!
//! An attack is **accepted** when its effect shows on an honest node after the run (see
//! [`Attack`] for each kind's criterion): a document that is not an honest one, a certificate
//! more than before the attacks, a change more than the honest writes, a fetch answered with
//! more than one copy of a wanted document, or fetches still queued after the attackers left.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use allmende_node::net::NetConfig;
use allmende_node::repo_actor::RepoHandle;
use allmende_node::store::Store;
use allmende_protocol::automerge::ChangeHash;
use allmende_protocol::doc::{DocHeader, DocKind};
use allmende_protocol::identity::Keypair;
use allmende_protocol::ids::{DocId, OrgId, PublicKey};
use allmende_protocol::sync::{Request, Response};
use anyhow::{Context, bail};
use libp2p::{Multiaddr, PeerId};

use super::{Rng, Summary};
use crate::{TestNode, attacks, test_net};

/// The attacks the harness runs (items 2–6 of issue 21).
///
/// To add a kind: a variant here, its entry in [`Attack::ALL`], its name in [`Attack::name`]
/// and its arm in `step` (what one round of it sends, and how it counts as accepted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Attack {
    /// Gossip: a signed change of the attacker's own new product whose columns declare 2^50
    /// or 10^8 ops in a few hundred bytes. Accepted if the product is stored anywhere.
    DecodeBomb,
    /// Gossip: a revocation of a victim's key signed by the attacker's key. Accepted if any
    /// victim stores a certificate more than before the attacks.
    ForeignRevocation,
    /// Request: a reconciliation naming thousands of documents nobody has, to every victim;
    /// then the attacker disconnects. Accepted if fetches are still queued on a victim after
    /// all attackers left (one per victim).
    PhantomInventory,
    /// Request: a fetch naming one victim's profile 64 times. Accepted for every answer with
    /// more than one object.
    RepeatedWant,
    /// Gossip: stored honest changes in new wrappers (new message ids). Accepted if any
    /// victim stores more changes than the honest writes made.
    Replay,
    /// Gossip: heads-only announcements of products that do not exist. Accepted if any is
    /// stored.
    PhantomAnnouncement,
    /// Request: waves of valid reconciliation requests from several peer ids at once, each
    /// replaced after a few waves (new peer ids are free). Nothing to store: its effect shows
    /// in the propagation times.
    RequestFlood,
    /// Gossip: a fork. The attacker announces a product it edits from one session in two
    /// ways (two changes numbered 1, one numbered 2 on top), both on a change of another
    /// session. Accepted for every forked change a victim still stores, and for every
    /// victim holding the product without the proof.
    Equivocation,
}

impl Attack {
    /// Every kind, in the order of the report.
    pub const ALL: [Attack; 8] = [
        Attack::DecodeBomb,
        Attack::ForeignRevocation,
        Attack::PhantomInventory,
        Attack::RepeatedWant,
        Attack::Replay,
        Attack::PhantomAnnouncement,
        Attack::RequestFlood,
        Attack::Equivocation,
    ];

    /// A short name for the report.
    pub fn name(self) -> &'static str {
        match self {
            Attack::DecodeBomb => "decode bomb (gossip)",
            Attack::ForeignRevocation => "foreign revocation (gossip)",
            Attack::PhantomInventory => "phantom inventory + leave (request)",
            Attack::RepeatedWant => "repeated want (request)",
            Attack::Replay => "replayed change (gossip)",
            Attack::PhantomAnnouncement => "phantom announcement (gossip)",
            Attack::RequestFlood => "request flood, fresh peer ids (request)",
            Attack::Equivocation => "equivocation, a forked document (gossip)",
        }
    }
}

/// Parameters of a run.
#[derive(Debug, Clone)]
pub struct Params {
    /// Seconds of the attack phase.
    pub secs: u64,
    /// The attacks run (default [`Attack::ALL`]; fewer to find out which one costs what).
    pub kinds: Vec<Attack>,
    /// Seconds of the baseline phase (writes without attacks).
    pub baseline_secs: u64,
    /// Seed of every random choice.
    pub seed: u64,
    /// Milliseconds between honest writes.
    pub write_ms: u64,
    /// Documents a phantom inventory names.
    pub phantom_docs: usize,
    /// Most attacker nodes started over the run (each is a fresh peer id).
    pub max_attackers: u64,
    /// Bound on a change's propagation, and on convergence and on the fetch queues emptying
    /// after the attacks.
    pub settle: Duration,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            secs: 60,
            kinds: Attack::ALL.to_vec(),
            baseline_secs: 20,
            seed: 1,
            write_ms: 200,
            phantom_docs: 5_000,
            max_attackers: 600,
            settle: Duration::from_secs(60),
        }
    }
}

/// What one attack kind did.
#[derive(Debug, Clone)]
pub struct KindReport {
    /// The kind.
    pub kind: Attack,
    /// Messages delivered: gossip published to at least one peer, requests answered.
    pub sent: u64,
    /// Requests answered with a refusal (rate limit and others; included in `sent`).
    pub refused: u64,
    /// Messages that could not be sent (no peer subscribed, request failed, attacker cut off).
    pub failed: u64,
    /// Attacker nodes (peer ids) used.
    pub attackers: u64,
    /// Attackers found blocked by every victim (then replaced).
    pub blocked: u64,
    /// Attacks whose effect showed on an honest node (must be 0).
    pub accepted: u64,
    /// Documents the attack tried to introduce (to attribute strays).
    targets: BTreeSet<DocId>,
    /// Forked documents and the changes no victim may keep ([`Attack::Equivocation`]).
    forks: BTreeMap<DocId, Vec<ChangeHash>>,
}

impl KindReport {
    fn new(kind: Attack) -> Self {
        KindReport {
            kind,
            sent: 0,
            refused: 0,
            failed: 0,
            attackers: 0,
            blocked: 0,
            accepted: 0,
            targets: BTreeSet::new(),
            forks: BTreeMap::new(),
        }
    }
}

/// Propagation measured in one phase.
#[derive(Debug, Clone, Default)]
pub struct Phase {
    /// Acknowledged honest writes.
    pub writes: u64,
    /// Honest writes refused (not acknowledged).
    pub refused: u64,
    /// Time from each acknowledged write until every other victim held it.
    pub latencies: Vec<Duration>,
    /// Writes some victim did not hold within the bound.
    pub missing: u64,
}

impl Phase {
    /// The `q` quantile (0..=1) of the propagation times.
    pub fn quantile(&self, q: f64) -> Option<Duration> {
        let mut v = self.latencies.clone();
        v.sort();
        let n = v.len();
        if n == 0 {
            return None;
        }
        let i = ((q * n as f64).ceil() as usize).clamp(1, n) - 1;
        v.get(i).copied()
    }

    fn describe(&self) -> String {
        let ms = |d: Option<Duration>| {
            d.map(|d| format!("{:.0} ms", d.as_secs_f64() * 1000.0))
                .unwrap_or_else(|| "-".into())
        };
        format!(
            "p50 {}, p99 {}, max {} ({} writes, {} missing, {} refused)",
            ms(self.quantile(0.5)),
            ms(self.quantile(0.99)),
            ms(self.quantile(1.0)),
            self.writes,
            self.missing,
            self.refused
        )
    }
}

/// Resident memory of this process, from `/proc/self/status`, in KiB.
#[derive(Debug, Clone, Copy, Default)]
pub struct Memory {
    /// `VmRSS`: resident now.
    pub rss_kib: u64,
    /// `VmHWM`: the peak so far.
    pub peak_kib: u64,
}

impl Memory {
    /// Reads it (zeros where `/proc` is missing).
    pub fn now() -> Self {
        let text = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let field = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        Memory {
            rss_kib: field("VmRSS:"),
            peak_kib: field("VmHWM:"),
        }
    }

    fn mib(kib: u64) -> String {
        format!("{:.0} MiB", kib as f64 / 1024.0)
    }
}

/// What a run found.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Per attack kind, in the order of [`Attack::ALL`].
    pub kinds: Vec<KindReport>,
    /// Documents on a victim that are neither honest nor an attack's target (must be 0).
    pub stray_documents: u64,
    /// Victims whose catalog digest or document count differed at the end (must be 0).
    pub diverged: u64,
    /// Documents every victim must hold at the end.
    pub documents: u64,
    /// Time from the end of the attacks until the victims showed one catalog.
    pub converge_time: Option<Duration>,
    /// Victims that blocked another victim (must be 0).
    pub honest_blocked: u64,
    /// Rejections counted by the victims, summed over them, by reason.
    pub rejected: BTreeMap<String, u64>,
    /// Propagation without attacks.
    pub baseline: Phase,
    /// Propagation under attack.
    pub attacked: Phase,
    /// Memory after the network started, after the baseline and after the attacks.
    pub memory: [Memory; 3],
    /// Wall time of the run.
    pub wall: Duration,
}

impl Report {
    /// Attacks accepted, over all kinds and strays.
    pub fn accepted(&self) -> u64 {
        self.kinds.iter().map(|k| k.accepted).sum::<u64>() + self.stray_documents
    }

    /// Attacks sent, over all kinds.
    pub fn sent(&self) -> u64 {
        self.kinds.iter().map(|k| k.sent).sum()
    }

    /// p99 under attack over p99 without.
    pub fn p99_ratio(&self) -> Option<f64> {
        let a = self.attacked.quantile(0.99)?;
        let b = self.baseline.quantile(0.99)?;
        (b > Duration::ZERO).then(|| a.as_secs_f64() / b.as_secs_f64())
    }

    /// Whether the run passed: nothing accepted, nothing diverged, no honest node blocked,
    /// and every honest change propagated in both phases (at least one under attack).
    pub fn passed(&self) -> bool {
        self.accepted() == 0
            && self.diverged == 0
            && self.converge_time.is_some()
            && self.honest_blocked == 0
            && self.baseline.missing == 0
            && self.attacked.missing == 0
            && !self.attacked.latencies.is_empty()
    }

    /// The result table.
    pub fn summary(&self, p: &Params) -> Summary {
        let mut s = Summary::default();
        s.add("seed", p.seed);
        s.add(
            "parameters",
            format!(
                "4 victims (chain), {} s baseline + {} s attacks, honest write every {} ms, phantom inventories of {} documents",
                p.baseline_secs, p.secs, p.write_ms, p.phantom_docs
            ),
        );
        if p.kinds != Attack::ALL {
            s.add(
                "attacks run",
                p.kinds
                    .iter()
                    .map(|k| format!("{k:?}"))
                    .collect::<Vec<_>>()
                    .join(", "),
            );
        }
        s.add(
            "attacks sent (delivered)",
            format!(
                "{} by {} attacker peer ids ({} found blocked by every victim)",
                self.sent(),
                self.kinds.iter().map(|k| k.attackers).sum::<u64>(),
                self.kinds.iter().map(|k| k.blocked).sum::<u64>()
            ),
        );
        s.add("attacks accepted", self.accepted());
        if self.stray_documents > 0 {
            s.add(
                "stray documents (not from any attack)",
                self.stray_documents,
            );
        }
        s.add(
            "nodes diverged",
            format!(
                "{} ({} documents expected on each)",
                self.diverged, self.documents
            ),
        );
        s.add(
            "converged after the attacks",
            match self.converge_time {
                Some(t) => format!("{:.1} s", t.as_secs_f64()),
                None => format!("no, within {:.0} s", p.settle.as_secs_f64()),
            },
        );
        s.add("honest peers blocked by victims", self.honest_blocked);
        s.add("propagation without attacks", self.baseline.describe());
        s.add("propagation under attack", self.attacked.describe());
        s.add(
            "p99 under attack / without",
            self.p99_ratio()
                .map(|r| format!("{r:.2}x"))
                .unwrap_or_else(|| "-".into()),
        );
        let [start, base, att] = self.memory;
        s.add(
            "peak RSS (harness process: 4 victims and the attackers in-process)",
            format!(
                "{} after the baseline, {} after the attacks (resident {} at start, {} at the end)",
                Memory::mib(base.peak_kib),
                Memory::mib(att.peak_kib),
                Memory::mib(start.rss_kib),
                Memory::mib(att.rss_kib)
            ),
        );
        let rejected: Vec<String> = self
            .rejected
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect();
        s.add("rejections counted by the victims", rejected.join("; "));
        s.add("wall time", format!("{:.0} s", self.wall.as_secs_f64()));
        s
    }

    /// The per-kind table as Markdown.
    pub fn kinds_markdown(&self) -> String {
        let mut out = String::from(
            "| attack | sent | refused answers | not sent | attacker peer ids | blocked | accepted |\n|---|---|---|---|---|---|---|\n",
        );
        for k in &self.kinds {
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} |\n",
                k.kind.name(),
                k.sent,
                k.refused,
                k.failed,
                k.attackers,
                k.blocked,
                k.accepted
            ));
        }
        out
    }

    /// Both tables.
    pub fn markdown(&self, p: &Params) -> String {
        format!("{}\n{}", self.summary(p).markdown(), self.kinds_markdown())
    }
}

/// An honest node, as the attackers and the writer see it.
#[derive(Clone)]
struct Victim {
    addr: Multiaddr,
    peer: PeerId,
    key: PublicKey,
    profile: DocId,
    repo: RepoHandle,
}

/// What the attack tasks share.
struct Ctx {
    dir: PathBuf,
    victims: Vec<Victim>,
    started: AtomicU64,
    max_attackers: u64,
    phantom_docs: usize,
}

/// An attacker node: no organisation, a signing key of its own.
struct Attacker {
    node: TestNode,
    key: Keypair,
    born: Instant,
    connected_once: bool,
}

impl Attacker {
    fn org(&self) -> OrgId {
        OrgId::from_root_key(self.key.public())
    }

    /// Victims it is connected to.
    async fn connected(&self, ctx: &Ctx) -> usize {
        let Ok(node) = self.node.node() else {
            return 0;
        };
        let Ok(s) = node.net.status().await else {
            return 0;
        };
        ctx.victims
            .iter()
            .filter(|v| s.peers.contains(&v.peer.to_string()))
            .count()
    }

    async fn publish(&self, bytes: Vec<u8>, stats: &mut KindReport) {
        let ok = match self.node.node() {
            Ok(n) => matches!(n.net.raw_publish(bytes).await, Ok(Ok(()))),
            Err(_) => false,
        };
        if ok {
            stats.sent += 1;
        } else {
            stats.failed += 1;
        }
    }

    async fn stop(mut self) {
        self.node.stop().await;
        let _ = std::fs::remove_dir_all(&self.node.dir);
    }
}

/// The attackers of one kind, replaced when blocked.
struct Crew {
    slots: Vec<Option<Attacker>>,
}

impl Crew {
    /// Attacker `i`, started fresh when there is none or the victims cut it off. `None` when
    /// the attacker budget is used up or it cannot start.
    async fn ready(
        &mut self,
        i: usize,
        ctx: &Ctx,
        rng: &mut Rng,
        stats: &mut KindReport,
    ) -> Option<&Attacker> {
        if let Some(a) = self.slots.get_mut(i).and_then(Option::as_mut) {
            let connected = a.connected(ctx).await;
            if connected > 0 {
                a.connected_once = true;
            }
            let blocked = connected == 0 && a.connected_once;
            let stuck = !a.connected_once && a.born.elapsed() > Duration::from_secs(10);
            if blocked || stuck {
                stats.blocked += u64::from(blocked);
                self.retire(i).await;
            }
        }
        if self.slots.get(i).is_some_and(Option::is_none) {
            match start_attacker(ctx, rng).await {
                Ok(a) => {
                    stats.attackers += 1;
                    if let Some(slot) = self.slots.get_mut(i) {
                        *slot = Some(a);
                    }
                }
                Err(_) => return None,
            }
        }
        self.slots.get(i).and_then(Option::as_ref)
    }

    async fn retire(&mut self, i: usize) {
        if let Some(a) = self.slots.get_mut(i).and_then(Option::take) {
            a.stop().await;
        }
    }

    async fn retire_all(&mut self) {
        for i in 0..self.slots.len() {
            self.retire(i).await;
        }
    }
}

/// Starts a fresh attacker (new data directory, new peer id) that dials every victim, and
/// waits (bounded) until it is connected to them.
async fn start_attacker(ctx: &Ctx, rng: &mut Rng) -> anyhow::Result<Attacker> {
    let n = ctx.started.fetch_add(1, Ordering::Relaxed);
    if n >= ctx.max_attackers {
        bail!("attacker budget used up");
    }
    let addrs: Vec<Multiaddr> = ctx.victims.iter().map(|v| v.addr.clone()).collect();
    let net = NetConfig {
        // The attacker does not reconcile on its own: only its attacks load the victims.
        reconcile_interval: Duration::from_secs(3600),
        ..test_net(&addrs)
    };
    let node = TestNode::start_with(&ctx.dir.join(format!("x{n}")), None, net).await?;
    let key = Keypair::from_secret_bytes(&rng.bytes32())?;
    let mut a = Attacker {
        node,
        key,
        born: Instant::now(),
        connected_once: false,
    };
    let all = ctx.victims.len();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let c = a.connected(ctx).await;
        a.connected_once |= c > 0;
        if c == all || Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(a)
}

fn nonce(rng: &mut Rng) -> [u8; 16] {
    let mut n = [0u8; 16];
    n.copy_from_slice(&rng.bytes32()[..16]);
    n
}

fn pick<'a, T>(rng: &mut Rng, items: &'a [T]) -> Option<&'a T> {
    items.get(rng.below(items.len() as u64) as usize)
}

/// Flood attackers at once, requests in each one's wave, and waves each sends before it is
/// replaced by a fresh peer id: 160 requests, within one peer's burst (200 by default), so
/// that only the limit shared by the address can stop the flood.
const FLOODERS: usize = 3;
const WAVE: usize = 40;
const WAVES_PER_FLOODER: u64 = 4;

/// One round of attack `kind`; returns how long to pause before the next.
async fn step(
    kind: Attack,
    crew: &mut Crew,
    ctx: &Ctx,
    rng: &mut Rng,
    stats: &mut KindReport,
    round: u64,
) -> Duration {
    let pause = Duration::from_millis(100);
    match kind {
        Attack::DecodeBomb => {
            let Some(a) = crew.ready(0, ctx, rng, stats).await else {
                return pause;
            };
            for _ in 0..2 {
                let nonce = nonce(rng);
                let ops = if rng.below(2) == 0 {
                    1u64 << 50
                } else {
                    100_000_000
                };
                let header = DocHeader::product(a.org(), nonce);
                let Ok(bomb) = attacks::decode_bomb(&a.key, nonce, ops) else {
                    stats.failed += 1;
                    continue;
                };
                stats.targets.insert(header.id());
                a.publish(attacks::raw_announcement(header, &[bomb]), stats)
                    .await;
            }
            pause
        }
        Attack::ForeignRevocation => {
            let Some(a) = crew.ready(0, ctx, rng, stats).await else {
                return pause;
            };
            for _ in 0..2 {
                let Some(victim) = pick(rng, &ctx.victims) else {
                    return pause;
                };
                match attacks::foreign_revocation(&a.key, victim.key, round as u32) {
                    Ok(bytes) => a.publish(bytes, stats).await,
                    Err(_) => stats.failed += 1,
                }
            }
            pause
        }
        Attack::PhantomAnnouncement => {
            let Some(a) = crew.ready(0, ctx, rng, stats).await else {
                return pause;
            };
            for _ in 0..3 {
                let header = DocHeader::product(a.org(), nonce(rng));
                stats.targets.insert(header.id());
                a.publish(attacks::phantom_announcement(header), stats)
                    .await;
            }
            pause
        }
        Attack::Replay => {
            let Some(a) = crew.ready(0, ctx, rng, stats).await else {
                return pause;
            };
            let Some(victim) = pick(rng, &ctx.victims) else {
                return pause;
            };
            let seed = rng.next_u64();
            // A stored honest change: of a random document, a random one of its changes.
            let stored = victim
                .repo
                .call(move |s| {
                    let headers = s.repo().store().headers().ok()?;
                    let mut r = Rng::new(seed);
                    let header = *pick(&mut r, &headers)?;
                    let changes = s.repo().signed_changes(&header.id()).ok()?;
                    Some((header, pick(&mut r, &changes)?.clone()))
                })
                .await;
            if let Ok(Some((header, change))) = stored {
                // Wrappers the earlier rounds did not use (publishing the same bytes again
                // would be a gossip duplicate, dropped by the sender itself).
                let skip = (round % 16) as usize;
                for bytes in attacks::replays(header, &change, skip + 3)
                    .into_iter()
                    .skip(skip)
                {
                    a.publish(bytes, stats).await;
                }
            }
            pause
        }
        Attack::PhantomInventory => {
            let Some(a) = crew.ready(0, ctx, rng, stats).await else {
                return pause;
            };
            let seed = (rng.below(255) + 1) as u8;
            let bytes = attacks::phantom_inventory(ctx.phantom_docs, seed);
            for v in &ctx.victims {
                let Ok(node) = a.node.node() else { break };
                count_answer(node.net.raw_request(v.peer, bytes.clone()).await, stats);
            }
            // Then leave: the victims' fetch queues for it must go with it.
            crew.retire(0).await;
            Duration::from_millis(500)
        }
        Attack::RepeatedWant => {
            let Some(a) = crew.ready(0, ctx, rng, stats).await else {
                return pause;
            };
            let (Some(target), Some(owner)) = (pick(rng, &ctx.victims), pick(rng, &ctx.victims))
            else {
                return pause;
            };
            let Ok(node) = a.node.node() else {
                return pause;
            };
            let answer = node
                .net
                .raw_request(
                    target.peer,
                    attacks::repeated_want(*owner.profile.as_bytes(), 64),
                )
                .await;
            if let Ok(Ok(bytes)) = &answer
                && let Ok(Response::Fetched(objects)) = Response::decode(bytes)
                && objects.len() > 1
            {
                stats.accepted += 1;
            }
            count_answer(answer, stats);
            Duration::from_millis(50)
        }
        Attack::Equivocation => {
            let Some(a) = crew.ready(0, ctx, rng, stats).await else {
                return pause;
            };
            let Ok(fork) = attacks::equivocation(&a.key, nonce(rng)) else {
                stats.failed += 1;
                return pause;
            };
            let branches = [fork.left.clone(), fork.right.clone()];
            stats.forks.insert(
                fork.header.id(),
                branches.iter().flatten().map(|c| c.hash()).collect(),
            );
            for branch in branches {
                let mut changes = vec![fork.shared.clone()];
                changes.extend(branch);
                let bytes =
                    allmende_protocol::sync::Gossip::Announce(allmende_protocol::sync::Announce {
                        header: fork.header,
                        changes,
                        certs: vec![],
                    })
                    .encode();
                a.publish(bytes, stats).await;
            }
            Duration::from_millis(500)
        }
        Attack::RequestFlood => {
            let valid = Request::Reconcile(vec![]).encode();
            // Every flooder at the same victim, so that they share its limit for the address.
            let Some(target) = pick(rng, &ctx.victims).map(|v| v.peer) else {
                return pause;
            };
            let mut wave = Vec::new();
            for i in 0..FLOODERS {
                if round.is_multiple_of(WAVES_PER_FLOODER) {
                    crew.retire(i).await;
                }
                let Some(a) = crew.ready(i, ctx, rng, stats).await else {
                    continue;
                };
                let Ok(node) = a.node.node() else { continue };
                for _ in 0..WAVE {
                    let (net, peer, bytes) = (node.net.clone(), target, valid.clone());
                    wave.push(tokio::spawn(
                        async move { net.raw_request(peer, bytes).await },
                    ));
                }
            }
            for f in wave {
                match f.await {
                    Ok(answer) => count_answer(answer, stats),
                    Err(_) => stats.failed += 1,
                }
            }
            Duration::ZERO
        }
    }
}

/// Counts a raw request's fate: answered (refused or not) or failed.
fn count_answer<E>(answer: Result<Result<Vec<u8>, String>, E>, stats: &mut KindReport) {
    match answer {
        Ok(Ok(bytes)) => {
            stats.sent += 1;
            if matches!(Response::decode(&bytes), Ok(Response::Refused { .. })) {
                stats.refused += 1;
            }
        }
        _ => stats.failed += 1,
    }
}

/// Runs attack `kind` until `until`, then stops its attackers.
async fn attack_loop(kind: Attack, ctx: Arc<Ctx>, seed: u64, until: Instant) -> KindReport {
    let mut stats = KindReport::new(kind);
    let mut rng = Rng::new(seed);
    let slots = if kind == Attack::RequestFlood {
        FLOODERS
    } else {
        1
    };
    let mut crew = Crew {
        slots: (0..slots).map(|_| None).collect(),
    };
    let mut round = 0u64;
    while Instant::now() < until {
        let pause = step(kind, &mut crew, &ctx, &mut rng, &mut stats, round).await;
        round += 1;
        if ctx.started.load(Ordering::Relaxed) >= ctx.max_attackers
            && crew.slots.iter().all(Option::is_none)
        {
            break;
        }
        tokio::time::sleep(pause).await;
    }
    crew.retire_all().await;
    stats
}

/// An honest writer's state.
struct Writer {
    secret: [u8; 32],
    org: OrgId,
    own: Vec<DocHeader>,
}

/// A write waiting to be seen everywhere.
struct Pending {
    doc: DocId,
    hash: ChangeHash,
    at: Instant,
    seen: Vec<bool>,
}

/// Honest writes every `write_ms` for `secs`, each measured until every victim holds it (at
/// most `settle` after the phase).
#[allow(clippy::too_many_arguments)]
async fn measure(
    victims: &[Victim],
    writers: &mut [Writer],
    expected_docs: &mut BTreeSet<DocId>,
    p: &Params,
    secs: u64,
    rng: &mut Rng,
    n_write: &mut u64,
    log: &mut (dyn Write + Send),
    label: &str,
) -> anyhow::Result<Phase> {
    let mut phase = Phase::default();
    let start = Instant::now();
    let end = start + Duration::from_secs(secs);
    let give_up = end + p.settle;
    let mut next_write = start;
    let mut next_log = start + Duration::from_secs(5);
    let mut pending: Vec<Pending> = Vec::new();
    loop {
        let now = Instant::now();
        if now >= end && pending.is_empty() {
            break;
        }
        if now >= give_up {
            phase.missing = pending.len() as u64;
            break;
        }
        if now < end && now >= next_write {
            next_write += Duration::from_millis(p.write_ms);
            let w = (*n_write % writers.len() as u64) as usize;
            *n_write += 1;
            match write(victims, writers, w, rng, *n_write).await {
                Some((header, hash, new)) => {
                    phase.writes += 1;
                    if new {
                        expected_docs.insert(header.id());
                    }
                    let mut seen = vec![false; victims.len()];
                    if let Some(s) = seen.get_mut(w) {
                        *s = true;
                    }
                    pending.push(Pending {
                        doc: header.id(),
                        hash,
                        at: Instant::now(),
                        seen,
                    });
                }
                None => phase.refused += 1,
            }
        }
        for (j, v) in victims.iter().enumerate() {
            let ask: Vec<(usize, DocId, ChangeHash)> = pending
                .iter()
                .enumerate()
                .filter(|(_, w)| !w.seen.get(j).copied().unwrap_or(true))
                .map(|(i, w)| (i, w.doc, w.hash))
                .collect();
            if ask.is_empty() {
                continue;
            }
            let have = v
                .repo
                .call(move |s| {
                    ask.into_iter()
                        .filter(|(_, doc, hash)| {
                            s.repo().store().has_change(doc, hash).unwrap_or(false)
                        })
                        .map(|(i, _, _)| i)
                        .collect::<Vec<_>>()
                })
                .await
                .unwrap_or_default();
            for i in have {
                if let Some(s) = pending.get_mut(i).and_then(|w| w.seen.get_mut(j)) {
                    *s = true;
                }
            }
        }
        let now = Instant::now();
        pending.retain(|w| {
            let done = w.seen.iter().all(|s| *s);
            if done {
                phase.latencies.push(now - w.at);
            }
            !done
        });
        if now >= next_log {
            next_log += Duration::from_secs(5);
            writeln!(
                log,
                "{label} {:5.1} s: {} writes, {} propagated, {} pending, p99 so far {}",
                start.elapsed().as_secs_f64(),
                phase.writes,
                phase.latencies.len(),
                pending.len(),
                phase
                    .quantile(0.99)
                    .map(|d| format!("{:.0} ms", d.as_secs_f64() * 1000.0))
                    .unwrap_or_else(|| "-".into())
            )?;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(phase)
}

/// One honest write by victim `w`: a new product, or a rename of one of its products.
/// Returns the document, the new change and whether the document is new.
async fn write(
    victims: &[Victim],
    writers: &mut [Writer],
    w: usize,
    rng: &mut Rng,
    n: u64,
) -> Option<(DocHeader, ChangeHash, bool)> {
    let victim = victims.get(w)?;
    let writer = writers.get_mut(w)?;
    let new = writer.own.is_empty() || rng.below(2) == 0;
    let (header, name) = if new {
        (
            DocHeader::product(writer.org, nonce(rng)),
            format!("Ehrliches Produkt {n}"),
        )
    } else {
        (
            *pick(rng, &writer.own)?,
            format!("Ehrliches Produkt {n} (umbenannt)"),
        )
    };
    let key = Keypair::from_secret_bytes(&writer.secret).ok()?;
    let product = crate::product(&name);
    let now = allmende_node::now();
    let hash = victim
        .repo
        .call(move |s| s.edit(&key, header, now, move |ed| ed.put_root(&product)))
        .await
        .ok()?
        .ok()??;
    if new {
        writer.own.push(header);
    }
    Some((header, hash, new))
}

/// Runs the harness, logging progress to `log`.
pub async fn run(p: Params, log: &mut (dyn Write + Send)) -> anyhow::Result<Report> {
    let wall = Instant::now();
    writeln!(log, "hostile-peer: seed {}", p.seed)?;
    let mut rng = Rng::new(p.seed);
    let tmp = tempfile::tempdir()?;
    let mut nodes: Vec<TestNode> = Vec::new();
    for i in 0..4 {
        // A chain: each victim knows only the one before it.
        let boot = match nodes.last() {
            Some(n) => vec![n.addr().await?],
            None => vec![],
        };
        let name = format!("Opfer-Gemeinde {i}");
        nodes.push(TestNode::start(&tmp.path().join(format!("v{i}")), Some(&name), &boot).await?);
    }
    let refs: Vec<&TestNode> = nodes.iter().collect();
    if !crate::converged(&refs, 4, p.settle).await {
        bail!("the victims did not converge before the attacks");
    }
    // Gossipsub needs a moment to learn who subscribes to the topic.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut victims = Vec::new();
    let mut writers = Vec::new();
    for n in &nodes {
        let node = n.node()?;
        let org = n.org()?;
        victims.push(Victim {
            addr: n.addr().await?,
            peer: node.net.peer_id(),
            key: n.keypair()?.public(),
            profile: DocHeader::singleton(DocKind::Profile, org).id(),
            repo: node.repo.clone(),
        });
        writers.push(Writer {
            secret: n.keypair()?.secret_bytes(),
            org,
            own: Vec::new(),
        });
    }
    let counts = |repo: RepoHandle| async move {
        repo.call(|s| {
            let st = s.repo().store();
            Ok::<_, anyhow::Error>((st.counts()?, st.headers()?))
        })
        .await
        .map_err(|e| anyhow::anyhow!(e))?
    };
    let first = victims.first().context("no victims")?.repo.clone();
    let (initial, headers) = counts(first).await?;
    let mut expected_docs: BTreeSet<DocId> = headers.iter().map(DocHeader::id).collect();
    let mut report = Report::default();
    report.memory[0] = Memory::now();

    writeln!(log, "baseline: {} s of honest writes", p.baseline_secs)?;
    let mut n_write = 0u64;
    report.baseline = measure(
        &victims,
        &mut writers,
        &mut expected_docs,
        &p,
        p.baseline_secs,
        &mut rng,
        &mut n_write,
        log,
        "baseline",
    )
    .await?;
    report.memory[1] = Memory::now();

    writeln!(
        log,
        "attacks: {} s of {}",
        p.secs,
        p.kinds
            .iter()
            .map(|k| k.name())
            .collect::<Vec<_>>()
            .join(", ")
    )?;
    let ctx = Arc::new(Ctx {
        dir: tmp.path().join("attackers"),
        victims: victims.clone(),
        started: AtomicU64::new(0),
        max_attackers: p.max_attackers,
        phantom_docs: p.phantom_docs,
    });
    let until = Instant::now() + Duration::from_secs(p.secs);
    let tasks: Vec<_> = p
        .kinds
        .iter()
        .map(|&kind| tokio::spawn(attack_loop(kind, Arc::clone(&ctx), rng.next_u64(), until)))
        .collect();
    report.attacked = measure(
        &victims,
        &mut writers,
        &mut expected_docs,
        &p,
        p.secs,
        &mut rng,
        &mut n_write,
        log,
        "attack",
    )
    .await?;
    for t in tasks {
        let k = t.await?;
        writeln!(
            log,
            "{}: {} sent, {} refused answers, {} not sent, {} attackers ({} blocked)",
            k.kind.name(),
            k.sent,
            k.refused,
            k.failed,
            k.attackers,
            k.blocked
        )?;
        report.kinds.push(k);
    }
    // A forked product is a document like any other (its shared change is valid): expected
    // wherever it arrived; what no victim may keep are its forked changes.
    for k in &report.kinds {
        for doc in k.forks.keys() {
            for v in &victims {
                let id = *doc;
                let held = v
                    .repo
                    .call(move |s| s.repo().store().heads(&id).ok().flatten().is_some())
                    .await
                    .unwrap_or(false);
                if held {
                    expected_docs.insert(*doc);
                    break;
                }
            }
        }
    }
    report.memory[2] = Memory::now();

    // Settle: one catalog, empty fetch queues.
    let ended = Instant::now();
    report.documents = expected_docs.len() as u64;
    if crate::converged(&refs, report.documents, p.settle).await {
        report.converge_time = Some(ended.elapsed());
    }
    let queues_empty = crate::wait_until(p.settle, || async {
        for n in &nodes {
            match n.node() {
                Ok(node) => match node.net.status().await {
                    Ok(s) if s.pending_fetches == 0 => {}
                    _ => return false,
                },
                Err(_) => return false,
            }
        }
        true
    })
    .await;
    writeln!(
        log,
        "settled in {:.1} s (fetch queues empty: {queues_empty})",
        ended.elapsed().as_secs_f64()
    )?;

    // Accepted attacks and divergences, from the victims' stores.
    let honest_peers: BTreeSet<String> = victims.iter().map(|v| v.peer.to_string()).collect();
    let expected_changes = initial.changes + report.baseline.writes + report.attacked.writes;
    let mut digests = Vec::new();
    let mut strays: BTreeSet<DocId> = BTreeSet::new();
    let (mut new_certs, mut extra_changes, mut queued) = (0u64, 0u64, 0u64);
    // Forked products the attack made: each victim holding one keeps its shared change and
    // the proof (checked per kind below), which are no stray certificate or change.
    let forked: BTreeSet<DocId> = report
        .kinds
        .iter()
        .flat_map(|k| k.forks.keys().copied())
        .collect();
    for (n, v) in nodes.iter().zip(&victims) {
        digests.push(n.digest().await?);
        let (c, headers) = counts(v.repo.clone()).await?;
        let forks_held = headers.iter().filter(|h| forked.contains(&h.id())).count() as u64;
        let proofs = v
            .repo
            .call(|s| s.repo().certificates().equivocations().count() as u64)
            .await
            .unwrap_or(0);
        new_certs += c
            .certificates
            .saturating_sub(proofs)
            .saturating_sub(initial.certificates);
        extra_changes += c
            .changes
            .saturating_sub(forks_held)
            .saturating_sub(expected_changes);
        for h in headers {
            if !expected_docs.contains(&h.id()) {
                strays.insert(h.id());
            }
        }
        let s = n.node()?.net.status().await?;
        queued += u64::from(s.pending_fetches > 0);
        report.honest_blocked += s
            .blocked
            .iter()
            .filter(|b| honest_peers.contains(*b))
            .count() as u64;
        for (reason, count) in s.rejected {
            *report.rejected.entry(reason).or_default() += count;
        }
    }
    for k in &mut report.kinds {
        for (doc, forked) in &k.forks {
            for v in &victims {
                let (id, forked) = (*doc, forked.clone());
                let kept = v
                    .repo
                    .call(move |s| {
                        let held = s.repo().store().heads(&id).ok().flatten().is_some();
                        let proved = s
                            .repo()
                            .certificates()
                            .equivocations()
                            .any(|p| p.doc() == id);
                        let kept = forked
                            .iter()
                            .filter(|h| s.repo().store().has_change(&id, h).unwrap_or(false))
                            .count() as u64;
                        kept + u64::from(held && !proved)
                    })
                    .await
                    .unwrap_or(0);
                k.accepted += kept;
            }
        }
        match k.kind {
            Attack::ForeignRevocation => k.accepted += new_certs,
            Attack::Replay => k.accepted += extra_changes,
            Attack::PhantomInventory => k.accepted += queued,
            _ => {}
        }
        let hit: Vec<DocId> = strays.intersection(&k.targets).copied().collect();
        k.accepted += hit.len() as u64;
        for id in hit {
            strays.remove(&id);
        }
    }
    report.stray_documents = strays.len() as u64;
    let mut tally: BTreeMap<([u8; 32], u64), u64> = BTreeMap::new();
    for d in &digests {
        *tally.entry(*d).or_default() += 1;
    }
    let majority = tally
        .iter()
        .max_by_key(|(_, n)| **n)
        .map(|(d, _)| *d)
        .unwrap_or(([0; 32], 0));
    report.diverged = digests
        .iter()
        .filter(|d| **d != majority || d.1 != report.documents)
        .count() as u64;
    drop(refs);
    drop(victims);
    drop(ctx);
    for n in &mut nodes {
        n.stop().await;
    }
    report.wall = wall.elapsed();
    Ok(report)
}
