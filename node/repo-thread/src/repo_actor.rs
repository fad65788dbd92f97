//! The repository actor: one OS thread owns the [`Repo`] and the sync [`Inventory`].
//!
//! ```text
//!   NetActor / HTTP ──call(closure)──▶ repo thread (owns Repo<SqliteStore>, Inventory)
//!                   ◀──oneshot result──
//!   repo thread ──announcements──▶ NetActor (local changes to gossip)
//! ```
//!
//! Automerge and SQLite calls are synchronous and CPU-bound, so they run here, never on the
//! async runtime's worker threads where they would stall libp2p.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use allmende_protocol::auth::Certificates;
use allmende_protocol::automerge::ChangeHash;
use allmende_protocol::change::{SignedChange, VerifiedChange};
use allmende_protocol::doc::{DocHeader, DocKind};
use allmende_protocol::identity::{SignedDelegation, SignedRevocation};
use allmende_protocol::ids::{DocId, PublicKey};
use allmende_protocol::schema::UnixTime;
use allmende_protocol::sync::{
    self, Announce, CERT_VALUE, Cert, Gossip, Inventory, Key, MAX_RESPONSE_BYTES, Object, Range,
    Step, SyncError, Want,
};
use tokio::sync::{mpsc, oneshot};

use allmende_protocol::ids::OrgId;

use crate::quarantine::{Quarantine, QuarantineLimits, Refused};
use allmende_catalog::trust::TrustScope;
use allmende_store::repo::{Ingested, Prepared, Repo, RepoError};
use allmende_store::store::{CertKind, SqliteStore, Store};

/// How often the store is checked for commits by other processes (the CLI).
pub const EXTERNAL_POLL: Duration = Duration::from_millis(300);

type Job = Box<dyn FnOnce(&mut RepoState) + Send>;

/// The repository thread is gone (the node is shutting down).
#[derive(Debug, thiserror::Error)]
#[error("the repository thread has stopped")]
pub struct RepoGone;

/// Most fetched documents stored in one transaction (one job of the repository thread, so
/// that other jobs, such as API requests, wait at most for this many).
pub const MAX_RUN: usize = 64;

/// Most bytes of one document's changes in a fetch answer (the rest follows next round).
const DOC_BUDGET: usize = MAX_RESPONSE_BYTES - 128 * 1024;

/// The repository's certificates as of its last change, for work off the thread.
type CertsView = Arc<RwLock<Arc<Certificates>>>;

/// A cloneable handle to the repository thread.
#[derive(Clone, Debug)]
pub struct RepoHandle {
    jobs: mpsc::Sender<Job>,
    /// The repository thread, woken when a job is queued (it parks while idle).
    thread: std::thread::Thread,
    certs: CertsView,
    /// The trust scope as last computed: the network actor turns away what it would not
    /// keep before paying for signatures, and reconciles with its peers at once when it
    /// changed (what was refused may be wanted now).
    scope: tokio::sync::watch::Receiver<Arc<TrustScope>>,
}

impl Drop for RepoHandle {
    /// The last handle gone closes the channel: wake the thread so that it stops (and closes
    /// the store) now rather than at its next poll.
    fn drop(&mut self) {
        // This handle's sender goes first, so that the woken thread sees the channel closed
        // when this was the last one.
        let (closed, _) = mpsc::channel(1);
        drop(std::mem::replace(&mut self.jobs, closed));
        self.thread.unpark();
    }
}

impl RepoHandle {
    /// Runs `f` on the repository thread and returns its result.
    pub async fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut RepoState) -> T + Send + 'static,
    ) -> Result<T, RepoGone> {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move |state| {
            let _ = tx.send(f(state));
        });
        self.jobs.send(job).await.map_err(|_| RepoGone)?;
        self.thread.unpark();
        rx.await.map_err(|_| RepoGone)
    }

    /// A recent copy of the repository's certificates (updated after each job that changed
    /// them), for drafting documents off the repository thread ([`check`]). Never the last
    /// word: the repository thread authorises again.
    pub fn certificates(&self) -> Arc<Certificates> {
        Arc::clone(&self.certs.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// Changes whenever the trust scope changed ([`RepoState::refresh_scope`]).
    pub fn scope_changes(&self) -> tokio::sync::watch::Receiver<Arc<TrustScope>> {
        self.scope.clone()
    }

    /// The trust scope as last computed.
    pub fn scope(&self) -> Arc<TrustScope> {
        Arc::clone(&self.scope.borrow())
    }
}

/// What decides a node's trust scope besides signed material ([`allmende_catalog::trust`]): the anchors
/// it follows, the organisations it hosts, and the bounds of its quarantine.
#[derive(Clone)]
pub struct TrustPolicy {
    /// The anchors followed; none is open mode.
    pub anchors: Vec<OrgId>,
    /// The node's own organisation and its hosted members, read again whenever the scope is
    /// computed (members come and go while the node runs).
    pub own: Arc<dyn Fn() -> Vec<OrgId> + Send + Sync>,
    /// The quarantine's bounds.
    pub quarantine: QuarantineLimits,
}

impl std::fmt::Debug for TrustPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrustPolicy")
            .field("anchors", &self.anchors)
            .field("quarantine", &self.quarantine)
            .finish_non_exhaustive()
    }
}

impl TrustPolicy {
    /// Open mode: no anchor, nothing hosted, default bounds.
    pub fn open() -> Self {
        Self::new(Vec::new(), Vec::new())
    }

    /// Following `anchors`, hosting `own` (fixed), with the default bounds.
    pub fn new(anchors: Vec<OrgId>, own: Vec<OrgId>) -> Self {
        Self {
            anchors,
            own: Arc::new(move || own.clone()),
            quarantine: QuarantineLimits::default(),
        }
    }
}

/// Documents a large catch-up stores before the product indexes are deferred
/// ([`RepoState::begin_catch_up`], `NetConfig::defer_after_stored`).
pub const DEFER_AFTER_STORED: usize = 200;

/// How often the trust scope is computed again while nothing changed it (delegations expire,
/// members are added).
const SCOPE_REFRESH: Duration = Duration::from_secs(60);

/// A fetched object, checked off the repository thread by [`check`].
#[derive(Debug)]
pub enum Fetched {
    /// A document's changes, verified (and drafted) or refused, with the certificates sent
    /// along for their signers.
    Doc {
        /// The checked changes, or why they were refused.
        prepared: Result<Prepared, RepoError>,
        /// Certificates the sender attached.
        certs: Vec<Cert>,
    },
    /// A certificate.
    Cert(Cert),
}

/// Verifies a fetched object's signatures and drafts its document against `certs` (see
/// [`allmende_store::repo::prepare`]). CPU-bound: run it on a blocking thread. `None` for an object
/// the peer does not have.
///
/// A document outside `scope` is verified (the quarantine keeps only verified changes) but
/// not drafted: the repository thread will not store it.
pub fn check(
    obj: Object,
    certs: &Certificates,
    scope: &TrustScope,
    now: UnixTime,
) -> Option<Fetched> {
    let (header, changes, attached) = match obj {
        Object::Doc {
            header,
            changes,
            certs,
        } => (header, changes, certs),
        // Only a responder builds these (decoding yields `Doc`); checked all the same.
        Object::Stored {
            header,
            changes,
            certs,
        } => {
            let changes = changes
                .iter()
                .map(|c| SignedChange::decode(c))
                .collect::<Result<Vec<_>, _>>()
                .inspect_err(|e| tracing::warn!(error = %e, "a stored change does not decode"))
                .ok()?;
            (header, changes, certs)
        }
        Object::Cert(c) => return Some(Fetched::Cert(c)),
        Object::Missing(_) => return None,
    };
    let prepared = if scope.admits_doc(&header) {
        allmende_store::repo::prepare(header, changes, certs, now)
    } else {
        allmende_store::repo::verify_all(header, changes).map(|v| Prepared::verified(header, v))
    };
    Some(Fetched::Doc {
        prepared,
        certs: attached,
    })
}

/// Puts the delegations of a fetched answer first and the proofs of equivocation last,
/// keeping the order otherwise: a revocation is refused unless its issuer delegated to its
/// subject, a proof unless its document is held, and an answer lists certificates in key
/// order, not in the order they were made.
pub fn delegations_first(items: &mut [Fetched]) {
    items.sort_by_key(|i| match i {
        Fetched::Cert(Cert::Delegation(_)) => 0,
        Fetched::Cert(Cert::Equivocation(_)) => 2,
        _ => 1,
    });
}

/// Starts the repository thread. Announcements of changes this node did not receive from the
/// network (local edits, CLI writes in another process) go to `announce`.
pub fn spawn(
    repo: Repo<SqliteStore>,
    announce: mpsc::Sender<Gossip>,
    policy: TrustPolicy,
) -> Result<RepoHandle, RepoError> {
    let mut state = RepoState::new(repo, announce, policy)?;
    let certs = Arc::clone(&state.certs_view);
    let scope = state.scope_tx.subscribe();
    let (tx, mut rx) = mpsc::channel::<Job>(1024);
    let thread = std::thread::Builder::new()
        .name("allmende-repo".into())
        .spawn(move || {
            loop {
                // Poll for other processes' commits while idle.
                match rx.try_recv() {
                    Ok(job) => job(&mut state),
                    Err(mpsc::error::TryRecvError::Disconnected) => break,
                    Err(mpsc::error::TryRecvError::Empty) => {
                        state.poll_external();
                        if state.scope_at.elapsed() >= SCOPE_REFRESH {
                            state.refresh_scope();
                        }
                        match recv_timeout(&mut rx, EXTERNAL_POLL) {
                            Some(Some(job)) => job(&mut state),
                            Some(None) => break,
                            None => {}
                        }
                    }
                }
                state.publish_certs();
            }
            tracing::debug!("repository thread stopped");
        })
        .map_err(|e| RepoError::Integrity(format!("cannot start the repository thread: {e}")))?
        .thread()
        .clone();
    Ok(RepoHandle {
        jobs: tx,
        thread,
        certs,
        scope,
    })
}

/// `Some(Some(job))`, `Some(None)` when closed, `None` on timeout.
///
/// The thread parks until [`RepoHandle::call`] unparks it after queueing a job (a wake-up
/// that comes before the park is kept, so none is lost). It used to sleep in steps of 5 ms,
/// which added 2.5 ms on average to every request that found the thread idle.
fn recv_timeout(rx: &mut mpsc::Receiver<Job>, timeout: Duration) -> Option<Option<Job>> {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        match rx.try_recv() {
            Ok(job) => return Some(Some(job)),
            Err(mpsc::error::TryRecvError::Disconnected) => return Some(None),
            Err(mpsc::error::TryRecvError::Empty) => {}
        }
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return None;
        }
        std::thread::park_timeout(left);
    }
}

/// What the repository thread owns.
pub struct RepoState {
    repo: Repo<SqliteStore>,
    inventory: Inventory,
    heads: HashMap<DocId, (DocHeader, Vec<ChangeHash>)>,
    /// Every stored certificate by its inventory key, to answer fetches.
    certs: HashMap<Key, Cert>,
    data_version: i64,
    announce: mpsc::Sender<Gossip>,
    metrics: crate::counters::RepoMetrics,
    /// What [`RepoHandle::certificates`] hands out, and whether it is behind the repository.
    certs_view: CertsView,
    certs_changed: bool,
    /// The product indexes are dropped for a large catch-up ([`Self::defer_indexes`]).
    indexes_deferred: bool,
    /// A large catch-up began ([`Self::begin_catch_up`]): the documents stored since, and
    /// how many defer the indexes.
    catch_up: Option<(usize, usize)>,
    policy: TrustPolicy,
    /// The trust scope as last computed ([`Self::refresh_scope`]), and when.
    scope: TrustScope,
    scope_at: std::time::Instant,
    /// A trust document changed since the scope was computed.
    scope_dirty: bool,
    /// Set while quarantined documents are taken in, so that doing so does not start another
    /// round of it.
    promoting: bool,
    scope_tx: tokio::sync::watch::Sender<Arc<TrustScope>>,
    quarantine: Quarantine,
    refused: Refused,
    /// [`Self::org_volume`] as last computed, and when.
    volume: Option<(
        std::time::Instant,
        Arc<Vec<allmende_catalog::trust::OrgVolume>>,
    )>,
}

impl std::fmt::Debug for RepoState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RepoState")
            .field("objects", &self.inventory.len())
            .finish()
    }
}

/// The result of ingesting one object from a peer.
#[derive(Debug)]
pub enum Outcome {
    /// Stored (possibly nothing new).
    Stored(Ingested),
    /// Refused.
    Refused(RepoError),
}

impl RepoState {
    fn new(
        mut repo: Repo<SqliteStore>,
        announce: mpsc::Sender<Gossip>,
        policy: TrustPolicy,
    ) -> Result<Self, RepoError> {
        // Products show what the stewards set, under the grants of the anchors followed.
        repo.set_anchors(policy.anchors.clone())?;
        let quarantine = Quarantine::new(policy.quarantine);
        let mut s = Self {
            data_version: repo.store().data_version()?,
            repo,
            inventory: Inventory::new(),
            heads: HashMap::new(),
            certs: HashMap::new(),
            announce,
            metrics: crate::counters::RepoMetrics::default(),
            certs_view: Arc::new(RwLock::new(Arc::new(Certificates::new()))),
            certs_changed: true,
            indexes_deferred: false,
            catch_up: None,
            policy,
            scope: TrustScope::default(),
            scope_at: std::time::Instant::now(),
            scope_dirty: true,
            promoting: false,
            scope_tx: tokio::sync::watch::channel(Arc::new(TrustScope::default())).0,
            quarantine,
            refused: Refused::default(),
            volume: None,
        };
        // A catch-up that was interrupted (a crash, a kill) left its indexes deferred.
        if s.repo.store().indexes_deferred()? {
            tracing::info!("building the product indexes an interrupted catch-up left out");
            s.indexes_deferred = true;
            s.restore_indexes();
        }
        s.publish_certs();
        for (header, heads) in s.repo.store().all_heads()? {
            s.set_heads(header, heads);
        }
        s.refresh_scope();
        for c in s.repo.store().certs()? {
            let cert = decode_cert(c.kind, &c.encoded)?;
            // Stores of earlier versions kept revocations by keys without authority over
            // their subject. They never had an effect; offered to peers, which refuse them,
            // they would only be fetched and refused again every session.
            if let Cert::Revocation(r) = &cert
                && !s.repo.certificates().may_revoke(&r.body)
            {
                continue;
            }
            s.learn_cert(cert);
        }
        Ok(s)
    }

    /// A large catch-up may begin (many documents wait to be fetched): the product indexes
    /// are deferred ([`Self::defer_indexes`]) once `after` documents of it were stored
    /// ([`DEFER_AFTER_STORED`] by default). Waiting for what is stored rather than what is offered keeps a flood of
    /// documents outside the trust scope, which are fetched and refused, from dropping an
    /// established node's indexes and rebuilding them.
    pub fn begin_catch_up(&mut self, after: usize) {
        if !self.indexes_deferred && self.catch_up.is_none() {
            self.catch_up = Some((0, after));
        }
    }

    /// Drops the product indexes while a large catch-up is stored, which then takes half the
    /// time (see `SqliteStore::defer_indexes`); [`Self::restore_indexes`] ends it.
    pub fn defer_indexes(&mut self) {
        if self.indexes_deferred {
            return;
        }
        match self.repo.store_mut().defer_indexes() {
            Ok(()) => {
                self.indexes_deferred = true;
                self.metrics.index_deferrals += 1;
                tracing::info!("large catch-up: product indexes deferred until it ends");
            }
            Err(e) => tracing::warn!(error = %e, "cannot defer the product indexes"),
        }
    }

    /// Builds the indexes [`Self::defer_indexes`] dropped. On failure they stay deferred
    /// (queries are slower, never wrong) and are built at the next start.
    pub fn restore_indexes(&mut self) {
        self.catch_up = None;
        let started = std::time::Instant::now();
        match self.repo.store_mut().restore_indexes() {
            Ok(false) => {}
            Ok(true) => {
                self.metrics.index_rebuild_seconds = started.elapsed().as_secs_f64();
                tracing::info!(
                    secs = self.metrics.index_rebuild_seconds,
                    "product indexes and deployment counts built"
                );
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot build the product indexes; trying at the next start");
                return;
            }
        }
        self.indexes_deferred = false;
    }

    /// Whether the product indexes are deferred for a catch-up.
    pub fn indexes_deferred(&self) -> bool {
        self.indexes_deferred
    }

    /// The repository.
    pub fn repo(&self) -> &Repo<SqliteStore> {
        &self.repo
    }

    /// What this thread counted since start.
    pub fn metrics(&self) -> &crate::counters::RepoMetrics {
        &self.metrics
    }

    /// Objects in the inventory (documents and certificates).
    pub fn inventory_len(&self) -> usize {
        self.inventory.len()
    }

    /// Opening ranges of a reconciliation session.
    pub fn initiate(&self) -> Vec<Range> {
        sync::initiate(&self.inventory)
    }

    /// One reconciliation step. What the peer holds that this node refused by policy in the
    /// same version is not asked for again ([`Refused`]).
    pub fn reconcile(&self, incoming: &[Range]) -> Result<Step, SyncError> {
        let mut step = sync::respond(&self.inventory, incoming)?;
        if !self.refused.is_empty() {
            step.need
                .retain(|(k, v)| !self.refused.has_version(&DocId::from_bytes(*k), v));
        }
        Ok(step)
    }

    /// The trust scope as last computed.
    pub fn trust_scope(&self) -> &TrustScope {
        &self.scope
    }

    /// The quarantine's sizes and counters.
    pub fn quarantine_stats(&self) -> crate::quarantine::QuarantineStats {
        self.quarantine.stats()
    }

    /// The quarantine (what is held of content outside the scope).
    pub fn quarantine(&self) -> &Quarantine {
        &self.quarantine
    }

    /// Each organisation's changes stored in the last 24 hours, most first
    /// ([`allmende_catalog::trust::volume`]); computed at most once a minute.
    pub fn org_volume(&mut self) -> Arc<Vec<allmende_catalog::trust::OrgVolume>> {
        if let Some((at, v)) = &self.volume
            && at.elapsed() < SCOPE_REFRESH
        {
            return Arc::clone(v);
        }
        let now = allmende_store::now();
        let v = Arc::new(
            allmende_catalog::trust::volume(
                self.repo.store().connection(),
                self.repo.certificates(),
                now.0 - 86_400,
                now,
            )
            .unwrap_or_else(|e| {
                tracing::warn!(error = %e, "cannot count the changes per organisation");
                Vec::new()
            }),
        );
        self.volume = Some((std::time::Instant::now(), Arc::clone(&v)));
        v
    }

    /// Computes the trust scope again. When it changed, forgets what was refused by policy,
    /// takes in the quarantined documents it admits now, and tells the network actor, which
    /// reconciles with its peers at once (what they hold may be in the scope now). A trust
    /// document among those taken in may change the scope again: repeated until it holds.
    pub fn refresh_scope(&mut self) {
        if self.promoting {
            return;
        }
        self.promoting = true;
        loop {
            self.scope_at = std::time::Instant::now();
            self.scope_dirty = false;
            let own = (self.policy.own)();
            let scope = match TrustScope::compute(
                self.repo.store().connection(),
                self.repo.certificates(),
                &self.policy.anchors,
                &own,
                allmende_store::now(),
            ) {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot compute the trust scope; keeping the last");
                    break;
                }
            };
            let changed = scope.organisations != self.scope.organisations
                || scope.anchors != self.scope.anchors;
            self.scope = scope;
            if !changed {
                break;
            }
            tracing::info!(
                organisations = self.scope.organisations.len(),
                keys = self.scope.keys.len(),
                "trust scope changed"
            );
            self.refused.clear();
            self.scope_tx.send_replace(Arc::new(self.scope.clone()));
            let items = self.take_from_quarantine();
            if items.is_empty() {
                break;
            }
            let n = items.len();
            self.ingest_fetched(items, allmende_store::now());
            tracing::info!(documents = n, "quarantined documents taken into the scope");
            if !self.scope_dirty {
                break;
            }
        }
        self.promoting = false;
    }

    /// The quarantined documents the scope admits now, taken out, ready to ingest.
    fn take_from_quarantine(&mut self) -> Vec<Fetched> {
        let scope = &self.scope;
        self.quarantine
            .take(|h| scope.admits_doc(h))
            .into_iter()
            .filter_map(|(header, encoded)| {
                let changes = encoded
                    .iter()
                    .map(|e| SignedChange::decode_stored(e))
                    .collect::<Result<Vec<_>, _>>()
                    .ok()?;
                Some(Fetched::Doc {
                    prepared: allmende_store::repo::verify_all(
                        header,
                        allmende_store::repo::causal_order(changes),
                    )
                    .map(|v| Prepared::verified(header, v)),
                    certs: vec![],
                })
            })
            .collect()
    }

    /// Splits a document's verified changes into what the trust scope admits and what it does
    /// not. The rest goes to the quarantine (within its signer's quota) or, when it is in the
    /// scope but builds on something refused, is dropped; either way the version is
    /// remembered as refused. Returns the admitted part and, when something was refused, how
    /// many changes and whether every one of them had been refused before.
    fn admit(&mut self, p: Prepared) -> (Prepared, Option<(usize, bool)>) {
        if self.scope.open_mode() {
            return (p, None);
        }
        let header = p.header();
        let id = header.id();
        let certs = self.repo.certificates();
        let held = self.heads.get(&id).map(|(_, h)| h.clone());
        // A change stored already (while its signer was in the scope) passes as a duplicate.
        let inside: Vec<bool> = p
            .changes()
            .iter()
            .map(|c| {
                self.scope.admits(certs, &header, c.signed())
                    || (held.is_some()
                        && self
                            .repo
                            .store()
                            .has_change(&id, &c.signed().hash())
                            .unwrap_or(false))
            })
            .collect();
        if inside.iter().all(|i| *i) {
            return (p, None);
        }
        // Out: outside the scope, or depending on something out (in this batch or refused
        // before); a fixpoint, since the batch need not be in causal order.
        let changes = p.changes();
        let mut out: std::collections::HashSet<ChangeHash> = changes
            .iter()
            .zip(&inside)
            .filter(|(_, i)| !**i)
            .map(|(c, _)| c.signed().hash())
            .collect();
        loop {
            let before = out.len();
            for c in changes {
                let s = c.signed();
                if !out.contains(&s.hash())
                    && s.change()
                        .deps()
                        .iter()
                        .any(|d| out.contains(d) || self.refused.has_change(&id, d))
                {
                    out.insert(s.hash());
                }
            }
            if out.len() == before {
                break;
            }
        }
        let again = out.iter().all(|h| self.refused.has_change(&id, h));
        let all: Vec<&SignedChange> = changes.iter().map(|c| c.signed()).collect();
        let digest = sync::heads_digest(&crate::quarantine::heads_with(
            held.as_deref().unwrap_or_default(),
            &all,
        ));
        for (c, i) in changes.iter().zip(&inside) {
            if !*i {
                self.quarantine.offer(header, c.signed());
            }
        }
        self.refused.note(id, digest, out.iter().copied());
        let n = out.len();
        *self
            .metrics
            .refused
            .entry("outside the trust scope".to_owned())
            .or_default() += n as u64;
        let (_, changes) = p.into_parts();
        let admitted = changes
            .into_iter()
            .filter(|c| !out.contains(&c.signed().hash()))
            .collect();
        (Prepared::verified(header, admitted), Some((n, again)))
    }

    /// The heads this node has of the document `key` (empty if none or not a document).
    pub fn heads_of(&self, key: &Key) -> Vec<ChangeHash> {
        self.heads
            .get(&DocId::from_bytes(*key))
            .map(|(_, h)| h.clone())
            .unwrap_or_default()
    }

    /// Answers a fetch: each wanted document's changes the peer lacks (with the delegations
    /// their signers need), or the certificate, or `Missing`; stops adding objects before the
    /// response limit.
    ///
    /// Threat: a request of a few KiB may name one document 64 times. Each key is answered
    /// once, and the answer stops at the first object that does not fit, so a request costs
    /// at most an answer's worth of work and one object more (which a later request asks
    /// for again). Building each object within the room left instead was measured: it sent
    /// prefixes of documents that fit whole into the next answer, each needing the document
    /// loaded, and slowed a medium catch-up by a tenth.
    pub fn fetch(&mut self, wants: &[Want]) -> Vec<Object> {
        let budget = MAX_RESPONSE_BYTES - 64 * 1024;
        let mut used = 0usize;
        let mut out = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for want in wants.iter().take(sync::MAX_OBJECTS) {
            if !seen.insert(want.key) {
                continue;
            }
            let obj = self.answer(want).unwrap_or_else(|e| {
                tracing::warn!(error = %e, "cannot read an object for a peer");
                Object::Missing(want.key)
            });
            let size = object_size(&obj);
            if used + size > budget && !out.is_empty() {
                break;
            }
            used += size;
            out.push(obj);
        }
        out
    }

    /// One fetched object: nothing for a peer that is up to date, a document the peer has
    /// nothing of straight from the stored bytes when it fits, anything else through
    /// [`Self::object`].
    fn answer(&mut self, want: &Want) -> Result<Object, RepoError> {
        let Some((header, heads)) = self.heads.get(&DocId::from_bytes(want.key)) else {
            return self.object(want);
        };
        if !heads.is_empty() && heads.iter().all(|h| want.have.contains(h)) {
            // The peer holds every head, so all their history: nothing to send. (A fetch
            // queued before an earlier one brought the document asks for it again.)
            return Ok(Object::Doc {
                header: *header,
                changes: vec![],
                certs: vec![],
            });
        }
        if want.have.is_empty()
            && let Some(o) = self.stored_object(*header)?
        {
            return Ok(o);
        }
        self.object(want)
    }

    /// All of a document's changes as stored, without loading the document or decoding a
    /// change, if they fit one answer. Only whole documents: the store keeps changes in the
    /// order they arrived, which need not be causal, and the receiver applies the changes of
    /// one answer together, so their order within it does not matter. A prefix would.
    fn stored_object(&self, header: DocHeader) -> Result<Option<Object>, RepoError> {
        let stored = self.repo.store().changes(&header.id())?;
        let size: usize = stored.iter().map(|c| c.encoded.len()).sum();
        if stored.len() > sync::MAX_DOC_CHANGES || size > DOC_BUDGET {
            return Ok(None);
        }
        let certs = self.certs_for(&header, stored.iter().map(|c| c.signer));
        Ok(Some(Object::Stored {
            header,
            changes: stored.into_iter().map(|c| c.encoded).collect(),
            certs,
        }))
    }

    fn object(&mut self, want: &Want) -> Result<Object, RepoError> {
        let id = DocId::from_bytes(want.key);
        if let Some((header, _)) = self.heads.get(&id).cloned() {
            let Some(mut doc) = self.repo.document(&id)? else {
                return Ok(Object::Missing(want.key));
            };
            let missing = doc.changes_since(&want.have);
            let stored: HashMap<ChangeHash, Vec<u8>> = self
                .repo
                .store()
                .changes(&id)?
                .into_iter()
                .map(|c| (c.hash, c.encoded))
                .collect();
            let mut used = 0;
            let mut changes = Vec::with_capacity(missing.len());
            for h in missing {
                let Some(bytes) = stored.get(&h) else {
                    return Err(RepoError::Integrity(format!(
                        "{id}: change {h} is in the snapshot but not stored"
                    )));
                };
                // Causal order: a prefix is always applicable, the rest follows next round.
                if (used + bytes.len() > DOC_BUDGET && !changes.is_empty())
                    || changes.len() >= sync::MAX_DOC_CHANGES
                {
                    break;
                }
                used += bytes.len();
                changes.push(
                    SignedChange::decode_stored(bytes)
                        .map_err(|e| RepoError::Integrity(e.to_string()))?,
                );
            }
            let certs = self.certs_for(&header, changes.iter().map(|c| c.signer()));
            return Ok(Object::Doc {
                header,
                changes,
                certs,
            });
        }
        Ok(match self.certs.get(&want.key) {
            Some(c) => Object::Cert(c.clone()),
            None => Object::Missing(want.key),
        })
    }

    /// The delegations from the document's owner to the signers of `changes`, so the receiver
    /// can authorise them without a separate round trip; at most `MAX_DOC_CERTS`.
    fn certs_for(
        &self,
        header: &DocHeader,
        signers: impl IntoIterator<Item = PublicKey>,
    ) -> Vec<Cert> {
        let mut others: Vec<PublicKey> = Vec::new();
        for s in signers {
            if s != header.owner.root_key() && !others.contains(&s) {
                others.push(s);
            }
        }
        let mut out: Vec<Cert> = Vec::new();
        let certs = self.repo.certificates();
        for signer in others {
            // A successor key after a rotation: the successions that make it the org's key.
            let org = match header.kind {
                DocKind::Product => certs.org_of_successor(&signer),
                _ => Some(header.owner),
            };
            if let Some(org) = org {
                for r in certs.succession_certs(org, &signer) {
                    if !out
                        .iter()
                        .any(|x| matches!(x, Cert::Revocation(y) if *y == r))
                    {
                        out.push(Cert::Revocation(r));
                    }
                }
            }
            for d in certs.delegations() {
                if d.body.delegate == signer
                    && (header.kind == DocKind::Product || d.body.issuer == header.owner)
                    && !out
                        .iter()
                        .any(|x| matches!(x, Cert::Delegation(y) if y == d))
                {
                    out.push(Cert::Delegation(d.clone()));
                }
            }
        }
        out.truncate(sync::MAX_DOC_CERTS);
        out
    }

    /// Whether the certificate with this inventory key is stored and known to the repository.
    fn knows_cert(&self, key: &Key) -> bool {
        self.inventory.get(key) == Some(&CERT_VALUE)
    }

    /// Stores a certificate from a peer.
    pub fn add_cert(&mut self, cert: Cert) -> Result<bool, RepoError> {
        let key = cert.key();
        if self.knows_cert(&key) {
            // Stored and known to the repository already: peers attach the certificates of
            // every document's signers, so most arrive many times.
            return Ok(false);
        }
        self.certs_changed = true;
        let new = match cert.clone() {
            Cert::Delegation(d) => self.repo.add_delegation(d)?,
            Cert::Revocation(r) => {
                let new = self.repo.add_revocation(r)?;
                // A revocation may have removed changes and rebuilt documents.
                self.resync_heads()?;
                new
            }
            Cert::Equivocation(p) => {
                let new = self.repo.add_equivocation(*p)?;
                // So may a proof of equivocation.
                self.resync_heads()?;
                new
            }
        };
        self.learn_cert(cert);
        Ok(new)
    }

    /// Adds a stored certificate to the inventory and to what fetches are answered from.
    fn learn_cert(&mut self, cert: Cert) {
        let key = cert.key();
        self.inventory.insert(key, CERT_VALUE);
        self.certs.insert(key, cert);
    }

    /// Brings the inventory in line with the heads in the store (no announcements: every
    /// node derives the same rebuilds from the same revocation).
    fn resync_heads(&mut self) -> Result<(), RepoError> {
        for (header, heads) in self.repo.store().all_heads()? {
            let id = header.id();
            if self.heads.get(&id).map(|(_, h)| h) != Some(&heads) {
                self.set_heads(header, heads);
            }
        }
        Ok(())
    }

    /// Verifies, authorises and stores a document's changes from a peer (certificates first).
    pub fn ingest(
        &mut self,
        header: DocHeader,
        changes: Vec<SignedChange>,
        certs: Vec<Cert>,
        now: UnixTime,
    ) -> Outcome {
        match allmende_store::repo::verify_all(header, changes) {
            Ok(verified) => self.ingest_verified(header, verified, certs, now),
            Err(e) => Outcome::Refused(e),
        }
    }

    /// [`RepoState::ingest`] for changes verified beforehand ([`allmende_store::repo::verify_all`],
    /// which the network actor runs off this thread).
    pub fn ingest_verified(
        &mut self,
        header: DocHeader,
        changes: Vec<VerifiedChange>,
        certs: Vec<Cert>,
        now: UnixTime,
    ) -> Outcome {
        let item = Fetched::Doc {
            prepared: Ok(Prepared::verified(header, changes)),
            certs,
        };
        self.ingest_fetched(vec![item], now)
            .pop()
            .unwrap_or(Outcome::Stored(Ingested::default()))
    }

    /// Stores fetched objects in their order: consecutive documents go into one transaction
    /// (at most [`MAX_RUN`]), a certificate not known yet is stored between them, before the
    /// documents after it. One outcome per object, in order.
    ///
    /// Outside open mode, what the trust scope does not admit is split off first (see
    /// `RepoState::admit`): the outcome counts it in [`Ingested::out_of_scope`].
    pub fn ingest_fetched(&mut self, items: Vec<Fetched>, now: UnixTime) -> Vec<Outcome> {
        let mut slots: Vec<Option<Outcome>> = Vec::with_capacity(items.len());
        // Documents waiting for one transaction, with their positions.
        let mut run: Vec<(usize, Prepared)> = Vec::new();
        // Documents with changes outside the scope: (position, refused, all refused before).
        let mut notes: Vec<(usize, usize, bool)> = Vec::new();
        for (position, item) in items.into_iter().enumerate() {
            slots.push(None);
            let outcome = match item {
                Fetched::Cert(c) => {
                    self.ingest_run(&mut run, now, &mut slots);
                    match self.add_cert(c) {
                        Ok(_) => Outcome::Stored(Ingested::default()),
                        Err(e) => Outcome::Refused(e),
                    }
                }
                Fetched::Doc {
                    prepared: Err(e), ..
                } => Outcome::Refused(e),
                Fetched::Doc {
                    prepared: Ok(p),
                    certs,
                } => {
                    let new: Vec<Cert> = certs
                        .into_iter()
                        .filter(|c| !self.knows_cert(&c.key()))
                        .collect();
                    if !new.is_empty() {
                        // Authorisation of the documents before must not see these.
                        self.ingest_run(&mut run, now, &mut slots);
                        if let Some(e) = new.into_iter().find_map(|c| self.add_cert(c).err()) {
                            slots[position] = Some(Outcome::Refused(e));
                            continue;
                        }
                    }
                    let (p, note) = self.admit(p);
                    if let Some((n, again)) = note {
                        notes.push((position, n, again));
                    }
                    if p.changes().is_empty() && note.is_some() {
                        // Nothing of it admitted: nothing to store or look up.
                        Outcome::Stored(Ingested::default())
                    } else {
                        run.push((position, p));
                        if run.len() >= MAX_RUN {
                            self.ingest_run(&mut run, now, &mut slots);
                        }
                        continue;
                    }
                }
            };
            slots[position] = Some(outcome);
        }
        self.ingest_run(&mut run, now, &mut slots);
        for (position, n, again) in notes {
            if let Some(Some(Outcome::Stored(done))) = slots.get_mut(position) {
                done.out_of_scope = n;
                done.refused_again = again;
            }
        }
        if self.scope_dirty {
            self.refresh_scope();
        }
        slots
            .into_iter()
            .map(|o| o.unwrap_or(Outcome::Stored(Ingested::default())))
            .collect()
    }

    /// Stores `run` in one transaction and puts each document's outcome in its slot.
    fn ingest_run(
        &mut self,
        run: &mut Vec<(usize, Prepared)>,
        now: UnixTime,
        slots: &mut [Option<Outcome>],
    ) {
        if run.is_empty() {
            return;
        }
        let (positions, prepared): (Vec<usize>, Vec<Prepared>) =
            std::mem::take(run).into_iter().unzip();
        // The times of the changes not stored yet, for the sync lag.
        let fresh: Vec<Vec<i64>> = prepared.iter().map(|p| self.fresh_times(p)).collect();
        let results = self.repo.ingest_many(prepared, now);
        for (((header, result), fresh), position) in results.into_iter().zip(fresh).zip(positions) {
            let outcome = self.account(header, result, fresh, now);
            if let Some(slot) = slots.get_mut(position) {
                *slot = Some(outcome);
            }
        }
        self.announce_found_proofs();
    }

    /// Forks found while ingesting: the proofs go into the inventory (reconciliation carries
    /// them to every peer) and, when they fit, into gossip at once; the documents they pruned
    /// get their new heads.
    fn announce_found_proofs(&mut self) {
        let found = self.repo.take_found_proofs();
        if found.is_empty() {
            return;
        }
        self.certs_changed = true;
        if let Err(e) = self.resync_heads() {
            tracing::warn!(error = %e, "cannot read heads after a fork");
        }
        for p in found {
            tracing::warn!(doc = %p.doc(), signer = %p.signer(), seq = p.seq(), "equivocation found");
            *self
                .metrics
                .refused
                .entry("equivocation found".to_owned())
                .or_default() += 1;
            let cert = Cert::Equivocation(Box::new(p));
            self.learn_cert(cert.clone());
            let _ = self.announce.try_send(Gossip::Cert(cert));
        }
    }

    fn fresh_times(&self, p: &Prepared) -> Vec<i64> {
        let id = p.header().id();
        let known = self.heads.contains_key(&id);
        p.changes()
            .iter()
            .map(VerifiedChange::signed)
            .filter(|c| !known || !self.repo.store().has_change(&id, &c.hash()).unwrap_or(true))
            .map(|c| c.time().0)
            .collect()
    }

    /// Heads, metrics and refusal counts after one document's ingest.
    fn account(
        &mut self,
        header: DocHeader,
        result: Result<Ingested, RepoError>,
        fresh: Vec<i64>,
        now: UnixTime,
    ) -> Outcome {
        match result {
            Ok(done) => {
                if done.new_changes > 0 {
                    if header.kind == DocKind::Trust {
                        self.scope_dirty = true;
                    }
                    if let Some((n, after)) = &mut self.catch_up {
                        *n += 1;
                        if *n >= *after {
                            self.catch_up = None;
                            self.defer_indexes();
                        }
                    }
                    self.note_heads(header);
                    self.metrics.changes_applied += done.new_changes as u64;
                    for t in fresh {
                        self.metrics
                            .sync_lag
                            .observe(now.0.saturating_sub(t) as f64);
                    }
                }
                Outcome::Stored(done)
            }
            Err(e) => {
                use allmende_protocol::auth::AuthError;
                if let RepoError::Auth { error, .. } = &e {
                    let reason = match error {
                        AuthError::UnauthorisedKey { .. } => None, // counted by the network actor
                        AuthError::RevokedKey { .. } => Some("revoked key"),
                        AuthError::DelegationExpired { .. } => Some("delegation expired"),
                        AuthError::DelegationRevoked { .. } => Some("delegation revoked"),
                        AuthError::IssuerRevoked { .. } => {
                            Some("delegation issued after the issuer's revocation")
                        }
                        AuthError::FromTheFuture { .. } => Some("change from the future"),
                        AuthError::BeforeEpoch { .. } => Some("change from before 1970"),
                        AuthError::Equivocated { .. } => Some("change after its actor's fork"),
                    };
                    if let Some(r) = reason {
                        *self.metrics.refused.entry(r.to_owned()).or_default() += 1;
                    }
                }
                Outcome::Refused(e)
            }
        }
    }

    /// Hands the repository's current certificates to [`RepoHandle::certificates`] if they
    /// changed since the last time.
    fn publish_certs(&mut self) {
        if !self.certs_changed {
            return;
        }
        self.certs_changed = false;
        let copy = Arc::new(self.repo.certificates().clone());
        *self.certs_view.write().unwrap_or_else(|p| p.into_inner()) = copy;
    }

    /// Records a document's heads in the heads map and the sync inventory.
    fn set_heads(&mut self, header: DocHeader, heads: Vec<ChangeHash>) {
        let id = header.id();
        self.inventory
            .insert(*id.as_bytes(), sync::heads_digest(&heads));
        self.heads.insert(id, (header, heads));
    }

    fn note_heads(&mut self, header: DocHeader) {
        let id = header.id();
        match self.repo.store().heads(&id) {
            Ok(Some(heads)) => self.set_heads(header, heads),
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, %id, "cannot read heads"),
        }
    }

    /// Makes a local edit (see [`Repo::edit`]) and announces the new change to peers.
    pub fn edit(
        &mut self,
        author: &allmende_protocol::identity::Keypair,
        header: DocHeader,
        now: UnixTime,
        f: impl FnOnce(
            &mut allmende_protocol::doc::Editor<'_>,
        ) -> Result<(), allmende_protocol::doc::DocError>,
    ) -> Result<Option<ChangeHash>, RepoError> {
        let old = self.held_heads(&header.id());
        let hash = self.repo.edit(author, header, now, f)?;
        if hash.is_some() {
            self.announce_local(header, &old)?;
        }
        Ok(hash)
    }

    /// Accepts or declines a proposal to `product` as a steward ([`Repo::decide`]) and
    /// announces the change.
    pub fn decide(
        &mut self,
        author: &allmende_protocol::identity::Keypair,
        product: DocId,
        proposal: &str,
        decision: allmende_protocol::stewardship::Decision,
        now: UnixTime,
    ) -> Result<ChangeHash, RepoError> {
        let old = self.held_heads(&product);
        let (header, hash) = self.repo.decide(author, product, proposal, decision, now)?;
        self.announce_local(header, &old)?;
        Ok(hash)
    }

    /// The repository, for writes of this crate's other modules (they announce through
    /// [`RepoState::announce_local`]).
    pub(crate) fn repo_mut(&mut self) -> &mut Repo<SqliteStore> {
        &mut self.repo
    }

    pub(crate) fn held_heads(&self, id: &DocId) -> Vec<ChangeHash> {
        self.heads
            .get(id)
            .map(|(_, h)| h.clone())
            .unwrap_or_default()
    }

    /// After a local change to `header` (whose heads were `old`): the scope, the metrics, the
    /// inventory and an announcement to peers.
    pub(crate) fn announce_local(
        &mut self,
        header: DocHeader,
        old: &[ChangeHash],
    ) -> Result<(), RepoError> {
        let id = header.id();
        if header.kind == DocKind::Trust {
            self.refresh_scope();
        }
        self.metrics.changes_applied += 1;
        self.note_heads(header);
        let announce = self.announcement(header, old)?;
        if self.announce.try_send(Gossip::Announce(announce)).is_err() {
            tracing::debug!(%id, "announcement queue full; peers will reconcile");
        }
        Ok(())
    }

    /// Stores a local certificate and announces it.
    pub fn publish_cert(&mut self, cert: Cert) -> Result<bool, RepoError> {
        let new = self.add_cert(cert.clone())?;
        if new {
            let _ = self.announce.try_send(Gossip::Cert(cert));
        }
        Ok(new)
    }

    /// Picks up commits made by other processes and announces their changes.
    pub fn poll_external(&mut self) {
        let version = match self.repo.store().data_version() {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(error = %e, "cannot poll the store");
                return;
            }
        };
        if version == self.data_version {
            return;
        }
        self.data_version = version;
        if let Err(e) = self.rescan() {
            tracing::warn!(error = %e, "cannot rescan the store");
        }
        // Another process attested someone, or added a member.
        self.refresh_scope();
    }

    fn rescan(&mut self) -> Result<(), RepoError> {
        // Certificates written by another process (the CLI) join the inventory and the
        // repository's view; reopening the certificate set is cheap.
        self.repo.reload_certificates()?;
        self.certs_changed = true;
        for c in self.repo.store().certs()? {
            if !self.knows_cert(&sync::cert_key(&c.encoded))
                && let Ok(cert) = decode_cert(c.kind, &c.encoded)
            {
                self.learn_cert(cert.clone());
                let _ = self.announce.try_send(Gossip::Cert(cert));
            }
        }
        for (header, heads) in self.repo.store().all_heads()? {
            let id = header.id();
            let old = self
                .heads
                .get(&id)
                .map(|(_, h)| h.clone())
                .unwrap_or_default();
            if old == heads {
                continue;
            }
            self.set_heads(header, heads);
            let announce = self.announcement(header, &old)?;
            self.metrics.changes_applied += announce.changes.len() as u64;
            if self.announce.try_send(Gossip::Announce(announce)).is_err() {
                tracing::debug!(%id, "announcement queue full; peers will reconcile");
            }
        }
        Ok(())
    }

    /// The announcement of `header`'s changes since `old` heads.
    fn announcement(
        &mut self,
        header: DocHeader,
        old: &[ChangeHash],
    ) -> Result<Announce, RepoError> {
        let want = Want {
            key: *header.id().as_bytes(),
            have: old.to_vec(),
        };
        match self.object(&want)? {
            Object::Doc {
                header,
                changes,
                certs,
            } => Ok(Announce {
                header,
                changes,
                certs,
            }),
            _ => Ok(Announce {
                header,
                changes: vec![],
                certs: vec![],
            }),
        }
    }
}

fn decode_cert(kind: CertKind, bytes: &[u8]) -> Result<Cert, RepoError> {
    let bad = |e: allmende_protocol::identity::CertError| {
        RepoError::Integrity(format!("stored certificate: {e}"))
    };
    Ok(match kind {
        CertKind::Delegation => Cert::Delegation(SignedDelegation::decode(bytes).map_err(bad)?),
        CertKind::Revocation => Cert::Revocation(SignedRevocation::decode(bytes).map_err(bad)?),
        CertKind::Equivocation => Cert::Equivocation(Box::new(
            allmende_protocol::equivocation::EquivocationProof::decode(bytes)
                .map_err(|e| RepoError::Integrity(format!("stored equivocation proof: {e}")))?,
        )),
    })
}

fn object_size(o: &Object) -> usize {
    match o {
        Object::Doc { changes, certs, .. } => {
            64 + changes
                .iter()
                .map(|c| c.change().raw_bytes().len() + 140)
                .sum::<usize>()
                + certs.len() * 300
        }
        Object::Stored { changes, certs, .. } => {
            64 + changes.iter().map(|c| c.len() + 4).sum::<usize>() + certs.len() * 300
        }
        Object::Cert(_) => 300,
        Object::Missing(_) => 40,
    }
}
