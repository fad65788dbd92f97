//! The repository: the only way changes get into a [`Store`].
//!
//! ```text
//!   CLI / (later) network, HTTP
//!          │ signed changes, local edits, certificates
//!          ▼
//!   Repo ── decode → verify signature → authorise → apply to Automerge → one Store::commit
//!          │                                                 (changes + snapshot together)
//!          ▼
//!   Store (SQLite | memory)
//! ```
//!
//! A batch is accepted whole or not at all: if any change of it fails a check, nothing of
//! it is stored and the error names the change's position and reason.

use allmende_protocol::auth::{AuthError, AuthorisedChange, Certificates};
use allmende_protocol::automerge::AutomergeError;
use allmende_protocol::automerge::ChangeHash;
use allmende_protocol::catalog::Catalog;
use allmende_protocol::change::{ReplicaId, SignedChange, VerifiedChange, VerifyError};
use allmende_protocol::doc::DocKind;
use allmende_protocol::doc::{DocError, DocHeader, Document, Editor, ShownValues};
use allmende_protocol::equivocation::EquivocationProof;
use allmende_protocol::identity::{CertError, Keypair, SignedDelegation, SignedRevocation};
use allmende_protocol::ids::{DocId, OrgId, PublicKey};
use allmende_protocol::schema::UnixTime;
use allmende_protocol::schema::{Product, SchemaError};
use allmende_protocol::stewardship::{Context, Decision, FieldEdit, Grants, Resolution, StepCache};

use crate::store::{
    Batch, CertKind, Committed, KeyRecord, Store, StoreError, StoredCert, StoredChange, StoredDoc,
};

/// Most changes one ingest call takes; larger transfers are split by the sender.
pub const MAX_BATCH_CHANGES: usize = 10_000;

/// `changes` without those on or after a known fork of their actor, and without those that
/// depend on a change left out.
fn without_forked(
    certs: &Certificates,
    id: DocId,
    changes: Vec<SignedChange>,
) -> Vec<SignedChange> {
    let mut out = std::collections::HashSet::new();
    let mut kept = Vec::with_capacity(changes.len());
    for c in causal_order(changes) {
        if certs.is_forked(&id, c.change()) || c.change().deps().iter().any(|d| out.contains(d)) {
            out.insert(c.hash());
        } else {
            kept.push(c);
        }
    }
    kept
}

/// `changes` in causal order: each after those of its dependencies that are among them, and
/// otherwise in the order given. A change in a dependency cycle (impossible for honest hashes)
/// or waiting for one is left out.
pub fn causal_order(changes: Vec<SignedChange>) -> Vec<SignedChange> {
    let n = changes.len();
    let at: std::collections::HashMap<ChangeHash, usize> = changes
        .iter()
        .enumerate()
        .map(|(i, c)| (c.hash(), i))
        .collect();
    let mut waiting = vec![0usize; n];
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, c) in changes.iter().enumerate() {
        for d in c.change().deps() {
            if let Some(&j) = at.get(d) {
                waiting[i] += 1;
                children[j].push(i);
            }
        }
    }
    let mut ready: std::collections::VecDeque<usize> =
        (0..n).filter(|&i| waiting[i] == 0).collect();
    let mut order = Vec::with_capacity(n);
    while let Some(i) = ready.pop_front() {
        order.push(i);
        for &k in &children[i] {
            waiting[k] -= 1;
            if waiting[k] == 0 {
                ready.push_back(k);
            }
        }
    }
    let mut slots: Vec<Option<SignedChange>> = changes.into_iter().map(Some).collect();
    order.into_iter().filter_map(|i| slots[i].take()).collect()
}

/// Checks the signatures of `changes` for the document `header` (the first step of
/// [`Repo::ingest`]); needs no repository, so it can run on any thread. The error names the
/// position of the first bad change.
pub fn verify_all(
    header: DocHeader,
    changes: Vec<SignedChange>,
) -> Result<Vec<VerifiedChange>, RepoError> {
    if changes.len() > MAX_BATCH_CHANGES {
        return Err(RepoError::BatchTooLarge(changes.len()));
    }
    let id = header.id();
    changes
        .into_iter()
        .enumerate()
        .map(|(index, c)| {
            c.verify(id)
                .map_err(|error| RepoError::Verify { index, error })
        })
        .collect()
}

/// A document's changes checked off the repository thread: signatures verified ([`prepare`])
/// and, when the document can be built from them alone, a draft of what storing them writes.
#[derive(Debug)]
pub struct Prepared {
    header: DocHeader,
    changes: Vec<VerifiedChange>,
    draft: Option<Draft>,
}

/// A document built from one batch of changes alone, as [`Repo::ingest_many`] would build it
/// for a document it does not hold yet: its snapshot, heads, stored changes and index rows.
///
/// It is speculative. It was authorised against a copy of the certificates that may be out
/// of date, so the repository thread authorises every change again and uses the draft only if
/// they all pass and the document is still new; otherwise the draft is dropped and the
/// document built there. Building it elsewhere moves Automerge's apply and save and the index
/// rows, about a third of a catch-up's work on the repository thread, to other cores.
#[derive(Debug)]
struct Draft {
    /// The changes it holds, in the order they were authorised.
    hashes: Vec<ChangeHash>,
    staged: Staged,
}

impl Prepared {
    /// Changes verified beforehand, without a draft.
    pub fn verified(header: DocHeader, changes: Vec<VerifiedChange>) -> Self {
        Self {
            header,
            changes,
            draft: None,
        }
    }

    /// The document's header.
    pub fn header(&self) -> DocHeader {
        self.header
    }

    /// The verified changes.
    pub fn changes(&self) -> &[VerifiedChange] {
        &self.changes
    }

    /// The header and the verified changes (without the draft).
    pub fn into_parts(self) -> (DocHeader, Vec<VerifiedChange>) {
        (self.header, self.changes)
    }
}

/// Verifies `changes` ([`verify_all`]) and, if they authorise against `certs` (a recent copy
/// of the repository's certificates) and make a complete document on their own, drafts the
/// document. Needs no repository, so it runs on any thread.
pub fn prepare(
    header: DocHeader,
    changes: Vec<SignedChange>,
    certs: &Certificates,
    now: UnixTime,
) -> Result<Prepared, RepoError> {
    let changes = verify_all(header, changes)?;
    let draft = draft(header, &changes, certs, now);
    Ok(Prepared {
        header,
        changes,
        draft,
    })
}

fn draft(
    header: DocHeader,
    changes: &[VerifiedChange],
    certs: &Certificates,
    now: UnixTime,
) -> Option<Draft> {
    header.check().ok()?;
    let id = header.id();
    let mut seen = std::collections::HashSet::with_capacity(changes.len());
    let mut hashes = Vec::with_capacity(changes.len());
    let mut authorised = Vec::with_capacity(changes.len());
    for c in changes {
        let hash = c.signed().hash();
        if c.doc() != id || !seen.insert(hash) {
            continue;
        }
        hashes.push(hash);
        authorised.push(certs.authorise(&header, c.clone(), now).ok()?);
    }
    if authorised.is_empty() {
        return None;
    }
    // A product's index rows depend on the followed anchors' grants, which only the
    // repository holds: products are staged on its thread.
    if header.kind == DocKind::Product {
        return None;
    }
    let shown = Context {
        certs,
        grants: &Grants::new(),
        cache: None,
    };
    let staged = apply_and_stage(Document::new(header), authorised, &shown).ok()?;
    Some(Draft { hashes, staged })
}

/// What storing one document's new changes writes: its state, the changes, its index rows.
#[derive(Debug)]
struct Staged {
    doc: StoredDoc,
    changes: Vec<StoredChange>,
    index: crate::index::DocIndex,
}

impl Staged {
    /// The writes for `doc` as it is now, with its new `changes`.
    fn of(doc: &mut Document, changes: Vec<StoredChange>, shown: &Context<'_>) -> Self {
        Self {
            doc: StoredDoc {
                header: *doc.header(),
                heads: doc.heads(),
                snapshot: doc.save(),
            },
            changes,
            index: crate::index::rows(doc, shown),
        }
    }
}

/// Applies `authorised` to `doc` and stages the result; refuses a document left with missing
/// dependencies.
fn apply_and_stage(
    mut doc: Document,
    authorised: Vec<AuthorisedChange>,
    shown: &Context<'_>,
) -> Result<Staged, RepoError> {
    let stored: Vec<StoredChange> = authorised
        .iter()
        .map(|a| stored_change(a.verified().signed()))
        .collect();
    match doc.apply(authorised) {
        Ok(()) => {}
        // One actor, one sequence number, two changes: a fork. The changes of the batch go
        // with the error, so the repository can prove it ([`Repo::ingest_many`]).
        Err(DocError::Automerge(AutomergeError::DuplicateSeqNumber(seq, actor))) => {
            return Err(RepoError::Fork(Box::new(Fork {
                actor: actor.to_bytes().to_vec(),
                seq,
                incoming: stored,
            })));
        }
        Err(e) => return Err(e.into()),
    }
    let missing = doc.missing_deps();
    if !missing.is_empty() {
        return Err(RepoError::MissingDependencies {
            doc: doc.header().id(),
            missing,
        });
    }
    Ok(Staged::of(&mut doc, stored, shown))
}

/// A fork found while applying a batch: the actor and sequence number Automerge found twice,
/// and the batch's changes.
#[derive(Debug)]
pub struct Fork {
    actor: Vec<u8>,
    seq: u64,
    incoming: Vec<StoredChange>,
}

/// Why the repository refused something.
#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    /// Two changes with one actor and sequence number met: resolved inside
    /// [`Repo::ingest_many`] (the proof is stored and the rest of the batch taken), so callers
    /// see it only from a draft.
    #[error("two different changes with one actor and sequence number {}", .0.seq)]
    Fork(Box<Fork>),
    /// A proof of equivocation about a document this node does not hold (not stored).
    #[error("a proof of equivocation about {0}, which this node does not hold")]
    NotHeld(DocId),
    /// A decision on a product's proposal by a key that speaks for none of its stewards.
    #[error(
        "{signer} speaks for none of the stewards of product {product}; only they decide on proposals"
    )]
    NotSteward {
        /// The key.
        signer: PublicKey,
        /// The product.
        product: DocId,
    },
    /// No such product, or no proposal with that id.
    #[error("{0}")]
    NoProposal(String),
    /// The proposal was accepted or declined already.
    #[error("{0}")]
    Decided(String),
    /// A change failed signature or format checks.
    #[error("change #{index} refused: {error}")]
    Verify {
        /// Position in the batch.
        index: usize,
        /// Why.
        error: VerifyError,
    },
    /// A change is not authorised.
    #[error("change #{index} refused: {error}")]
    Auth {
        /// Position in the batch.
        index: usize,
        /// Why.
        error: AuthError,
    },
    /// A certificate failed its checks.
    #[error("certificate refused: {0}")]
    Cert(#[from] CertError),
    /// The batch refers to changes this node does not have.
    #[error("{doc}: {} dependencies are missing, first {}", missing.len(), missing.first().map(|h| h.to_string()).unwrap_or_default())]
    MissingDependencies {
        /// The document.
        doc: DocId,
        /// The missing change hashes.
        missing: Vec<ChangeHash>,
    },
    /// The document header breaks a rule of its encoding.
    #[error("invalid document header: {0}")]
    InvalidHeader(allmende_protocol::wire::DecodeError),
    /// Too many changes in one batch.
    #[error("batch of {0} changes exceeds the limit of {MAX_BATCH_CHANGES}")]
    BatchTooLarge(usize),
    /// The document refused an edit or a change.
    #[error(transparent)]
    Document(#[from] DocError),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Stored data does not pass verification.
    #[error("store integrity: {0}")]
    Integrity(String),
    /// The transaction that was to store this document with others failed.
    #[error("storing failed: {0}")]
    StoreBatch(String),
}

/// What an ingest or edit did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ingested {
    /// Changes newly stored.
    pub new_changes: usize,
    /// Changes that were already there.
    pub duplicates: usize,
    /// Changes not stored because the node's trust scope does not admit them (quarantined,
    /// or building on something that is; see `allmende_repo_thread::quarantine`).
    pub out_of_scope: usize,
    /// Every change counted in `out_of_scope` had been refused before: a peer pushing the
    /// same refused content again.
    pub refused_again: bool,
}

/// What the full integrity check looked at.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IntegrityReport {
    /// Documents checked.
    pub documents: usize,
    /// Changes re-verified.
    pub changes: usize,
    /// Certificates re-verified.
    pub certificates: usize,
}

/// One edit of [`Repo::edit_many`].
pub type ManyEdit = Box<dyn FnOnce(&mut Editor<'_>) -> Result<(), DocError> + Send>;

/// Verified access to a store.
#[derive(Debug)]
pub struct Repo<S: Store> {
    store: S,
    certs: Certificates,
    replica: ReplicaId,
    /// Proofs of equivocation this repository found itself while ingesting, not announced
    /// yet ([`Repo::take_found_proofs`]).
    found_proofs: Vec<EquivocationProof>,
    /// The anchors whose stewardship grants the index follows (kept in the store, so every
    /// process that opens it shows products alike; [`Repo::set_anchors`]).
    anchors: Vec<OrgId>,
    /// Their grants.
    grants: Grants,
    /// The changes of recently resolved products ([`StepCache`]).
    steps: StepCache,
}

/// The store setting that holds the followed anchors, as comma-separated hex ids.
const ANCHORS_META: &str = "stewardship_anchors";

fn parse_anchors(text: &str) -> Result<Vec<OrgId>, RepoError> {
    text.split(',')
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<OrgId>()
                .map_err(|e| RepoError::Integrity(format!("stored anchor {s:?}: {e}")))
        })
        .collect()
}

impl<S: Store> Repo<S> {
    /// Opens the repository over `store`. `replica` must be fresh random bytes for every
    /// process that writes (see `allmende_protocol::change`).
    pub fn open(store: S, replica: ReplicaId) -> Result<Self, RepoError> {
        let certs = load_certs(&store)?;
        let anchors = match store.meta(ANCHORS_META)? {
            Some(text) => parse_anchors(&text)?,
            None => Vec::new(),
        };
        let mut repo = Self {
            store,
            certs,
            replica,
            found_proofs: Vec::new(),
            anchors,
            grants: Grants::new(),
            steps: StepCache::default(),
        };
        repo.grants = repo.load_grants()?;
        if repo.store.needs_reindex()? {
            let docs = repo.rebuild_index()?;
            tracing::info!(docs, "rebuilt the catalog index");
        }
        Ok(repo)
    }

    /// Rebuilds the whole catalog index from the documents, in one transaction. Returns the
    /// number of documents indexed.
    pub fn rebuild_index(&mut self) -> Result<usize, RepoError> {
        let mut batch = Batch {
            reindex_all: true,
            ..Batch::default()
        };
        for header in self.store.headers()? {
            if let Some(mut doc) = self.document(&header.id())? {
                batch
                    .index
                    .push(crate::index::rows(&mut doc, &self.shown()));
            }
        }
        let n = batch.index.len();
        self.store.commit(&batch)?;
        Ok(n)
    }

    /// Follows the stewardship grants of `anchors` ([`allmende_protocol::stewardship`]):
    /// kept in the store, so every process that opens it shows products alike; the products
    /// whose stewards change are indexed again.
    pub fn set_anchors(&mut self, mut anchors: Vec<OrgId>) -> Result<(), RepoError> {
        anchors.sort();
        anchors.dedup();
        if anchors == self.anchors && self.store.meta(ANCHORS_META)?.is_some() {
            return Ok(());
        }
        self.anchors = anchors;
        let grants = self.load_grants()?;
        let changed = grants.differing(&self.grants);
        self.grants = grants;
        let text = self
            .anchors
            .iter()
            .map(|a| format!("{a:#}"))
            .collect::<Vec<_>>()
            .join(",");
        let mut batch = self.reindex_batch(&changed)?;
        batch.meta.push((ANCHORS_META.to_owned(), text));
        self.store.commit(&batch)?;
        Ok(())
    }

    /// What resolving a product needs: the certificates, the grants and the cache.
    fn shown(&self) -> Context<'_> {
        Context {
            certs: &self.certs,
            grants: &self.grants,
            cache: Some(&self.steps),
        }
    }

    /// The anchors whose stewardship grants the index follows.
    pub fn anchors(&self) -> &[OrgId] {
        &self.anchors
    }

    /// The grants of the followed anchors.
    pub fn grants(&self) -> &Grants {
        &self.grants
    }

    fn load_grants(&self) -> Result<Grants, RepoError> {
        let mut grants = Grants::new();
        for a in &self.anchors {
            let id = DocHeader::singleton(DocKind::Trust, *a).id();
            if let Some(doc) = self.document(&id)? {
                grants.add_document(&doc, &self.anchors);
            }
        }
        Ok(grants)
    }

    /// Index rows of the product documents among `ids`, computed again.
    fn reindex_batch(&self, ids: &[DocId]) -> Result<Batch, RepoError> {
        let mut batch = Batch::default();
        for id in ids {
            // The kind is read before Automerge loads anything: a delegate's documents are
            // mostly deployments and experience.
            let Some(stored) = self.store.document(id)? else {
                continue;
            };
            if stored.header.kind != DocKind::Product {
                continue;
            }
            let mut doc = Document::load(stored.header, &stored.snapshot)?;
            batch
                .index
                .push(crate::index::rows(&mut doc, &self.shown()));
        }
        Ok(batch)
    }

    /// After documents were stored: when a followed anchor's trust document was among them,
    /// its grants are read again and the products whose grants changed indexed again.
    fn after_storing(&mut self, headers: &[DocHeader]) -> Result<(), RepoError> {
        if !headers
            .iter()
            .any(|h| h.kind == DocKind::Trust && self.anchors.contains(&h.owner))
        {
            return Ok(());
        }
        let grants = self.load_grants()?;
        let changed = grants.differing(&self.grants);
        self.grants = grants;
        if !changed.is_empty() {
            let batch = self.reindex_batch(&changed)?;
            self.store.commit(&batch)?;
        }
        Ok(())
    }

    /// After certificates about `keys` were stored: the products they wrote are indexed
    /// again (a delegation can make a key speak for a steward, a revocation end it).
    fn reindex_products_signed_by(&mut self, keys: &[PublicKey]) -> Result<(), RepoError> {
        let mut docs = Vec::new();
        for k in keys {
            docs.extend(self.store.docs_signed_by(k)?);
        }
        docs.sort();
        docs.dedup();
        let batch = self.reindex_batch(&docs)?;
        if !batch.index.is_empty() {
            self.store.commit(&batch)?;
        }
        Ok(())
    }

    /// The underlying store (read access).
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The underlying store, for upkeep that leaves documents, changes and certificates alone
    /// (its indexes).
    pub fn store_mut(&mut self) -> &mut S {
        &mut self.store
    }

    /// The certificates known.
    pub fn certificates(&self) -> &Certificates {
        &self.certs
    }

    /// Re-reads the certificates from the store (another process may have added some).
    pub fn reload_certificates(&mut self) -> Result<(), RepoError> {
        self.certs = load_certs(&self.store)?;
        self.grants = self.load_grants()?;
        Ok(())
    }

    /// Records a key in the store.
    pub fn put_key(&mut self, key: KeyRecord) -> Result<(), RepoError> {
        self.store.commit(&Batch {
            keys: vec![key],
            ..Batch::default()
        })?;
        Ok(())
    }

    /// Verifies and stores a delegation.
    pub fn add_delegation(&mut self, d: SignedDelegation) -> Result<bool, RepoError> {
        d.verify()?;
        let encoded = d.encode();
        let committed = self.store.commit(&Batch {
            certs: vec![StoredCert {
                kind: CertKind::Delegation,
                encoded,
            }],
            ..Batch::default()
        })?;
        let delegate = d.body.delegate;
        self.certs.add_delegation(d)?;
        if committed.new_certs > 0 {
            self.reindex_products_signed_by(&[delegate])?;
        }
        Ok(committed.new_certs > 0)
    }

    /// Verifies and stores a revocation.
    ///
    /// Changes that the revocation makes unauthorised (signed by the revoked key at or after
    /// the revocation's time), and every change built on them, are removed and their documents
    /// rebuilt, in the same transaction that stores the revocation. So a node that applied
    /// such a change before it learnt of the revocation ends with the same state as a node
    /// that refused it: convergence does not depend on the order of arrival.
    ///
    /// Threat: any key can sign a revocation about any key. One by a key without authority
    /// over its subject ([`Certificates::may_revoke`]) is refused before its signature is
    /// checked or anything is copied or re-read, so a stream of them costs a map lookup each.
    /// One that ends nothing new (a later revocation of a delegation already revoked) is
    /// stored without rechecking any document.
    pub fn add_revocation(&mut self, r: SignedRevocation) -> Result<bool, RepoError> {
        if !self.certs.may_revoke(&r.body) {
            return Err(RepoError::Cert(CertError::NoAuthority {
                issuer: r.body.issuer,
                subject: r.body.subject,
            }));
        }
        r.verify()?;
        let encoded = r.encode();
        let subject = r.body.subject;
        let r_issuer = r.body.issuer;
        if !self.certs.revocation_ends_more(&r.body) {
            let batch = Batch {
                certs: vec![StoredCert {
                    kind: CertKind::Revocation,
                    encoded,
                }],
                ..Batch::default()
            };
            let committed = self.store.commit(&batch)?;
            self.certs.add_revocation(r)?;
            return Ok(committed.new_certs > 0);
        }
        let mut certs = self.certs.clone();
        certs.add_revocation(r)?;
        let mut batch = Batch {
            certs: vec![StoredCert {
                kind: CertKind::Revocation,
                encoded,
            }],
            ..Batch::default()
        };
        // A root key that revokes itself also ends the delegations it issued from then on.
        let mut signers = vec![subject];
        if r_issuer == subject {
            signers.extend(
                certs
                    .delegations()
                    .filter(|d| d.body.issuer.root_key() == subject)
                    .map(|d| d.body.delegate),
            );
            // A second successor of the same key cancels the first: recheck what both wrote.
            signers.extend(
                certs
                    .revocations()
                    .filter(|x| x.body.subject == subject)
                    .filter_map(|x| x.succession())
                    .map(|s| s.next),
            );
        }
        let mut docs: Vec<DocId> = Vec::new();
        for key in &signers {
            docs.extend(self.store.docs_signed_by(key)?);
        }
        docs.sort();
        docs.dedup();
        for doc in docs {
            self.prune(&certs, doc, &mut batch)?;
        }
        let committed = self.store.commit(&batch)?;
        self.certs = certs;
        // Who speaks for a product's stewards may have changed.
        self.reindex_products_signed_by(&signers)?;
        if !batch.removed.is_empty() {
            tracing::info!(
                removed = batch.removed.len(),
                docs = batch.docs.len(),
                "revocation removed changes"
            );
        }
        Ok(committed.new_certs > 0)
    }

    /// Stores a proof of equivocation ([`allmende_protocol::equivocation`]). When it forks its
    /// actor earlier than any proof known before, the document loses the actor's changes from
    /// the fork on and their descendants, in the same transaction; every node that knows the
    /// same proofs keeps the same changes. Returns whether the proof was new.
    ///
    /// Threat: a proof costs a key two signatures over changes of its own making, for any
    /// document id. Only proofs about a document this node holds are stored
    /// ([`RepoError::NotHeld`]): a node that holds neither branch needs none, since what it
    /// fetches later comes pruned, or comes with the proof, which stays in the inventories of
    /// the nodes that hold the document.
    pub fn add_equivocation(&mut self, p: EquivocationProof) -> Result<bool, RepoError> {
        let doc = p.doc();
        if self.store.heads(&doc)?.is_none() {
            return Err(RepoError::NotHeld(doc));
        }
        let mut batch = Batch {
            certs: vec![StoredCert {
                kind: CertKind::Equivocation,
                encoded: p.encode(),
            }],
            ..Batch::default()
        };
        // Like a revocation that ends nothing new: a fork at or after one known already
        // changes nothing authorised, so it is stored without copying the certificates or
        // rechecking the document.
        let earlier = self
            .certs
            .forked_at(&doc, &p.actor())
            .is_none_or(|known| p.seq() < known);
        if !earlier {
            return Ok(self.store.commit(&batch)?.new_certs > 0);
        }
        let mut certs = self.certs.clone();
        certs.add_equivocation(p);
        self.prune(&certs, doc, &mut batch)?;
        let committed = self.store.commit(&batch)?;
        self.certs = certs;
        if !batch.removed.is_empty() {
            tracing::warn!(
                %doc,
                removed = batch.removed.len(),
                "a key signed two changes with one number: its changes from the fork on are removed"
            );
        }
        Ok(committed.new_certs > 0)
    }

    /// Proofs of equivocation found while ingesting since the last call, for announcing.
    pub fn take_found_proofs(&mut self) -> Vec<EquivocationProof> {
        std::mem::take(&mut self.found_proofs)
    }

    /// A batch for `header` met a fork: proves it (from the batch, or from a stored change),
    /// stores the proof, and stores the rest of the batch, without what the fork removes.
    fn resolve_fork(
        &mut self,
        header: DocHeader,
        mut fork: Fork,
        now: UnixTime,
    ) -> Result<Ingested, RepoError> {
        let id = header.id();
        let integrity = |e: VerifyError| RepoError::Integrity(format!("a change of {id}: {e}"));
        // Each round removes one forked actor; a batch has at most one per change.
        for _ in 0..=fork.incoming.len() {
            let incoming: Vec<SignedChange> = fork
                .incoming
                .iter()
                .map(|c| SignedChange::decode_stored(&c.encoded))
                .collect::<Result<_, _>>()
                .map_err(integrity)?;
            let proof = self.prove_fork(id, &incoming, &fork.actor, fork.seq)?;
            if self.add_equivocation(proof.clone())? {
                self.found_proofs.push(proof);
            }
            let rest = without_forked(&self.certs, id, incoming);
            let verified = verify_all(header, rest)?;
            match self.stage(Prepared::verified(header, verified), now) {
                Ok((duplicates, None)) => {
                    return Ok(Ingested {
                        new_changes: 0,
                        duplicates,
                        ..Ingested::default()
                    });
                }
                Ok((duplicates, Some(staged))) => {
                    let batch = Batch {
                        docs: vec![staged.doc],
                        changes: staged.changes,
                        index: vec![staged.index],
                        ..Batch::default()
                    };
                    let committed = self.store.commit(&batch)?;
                    return Ok(Ingested {
                        new_changes: committed.new_changes,
                        duplicates,
                        ..Ingested::default()
                    });
                }
                Err(RepoError::Fork(next)) => fork = *next,
                Err(e) => return Err(e),
            }
        }
        Err(RepoError::Integrity(format!("{id}: forks did not resolve")))
    }

    /// The proof that `actor` forked `id` at `seq`: two changes of `incoming`, or one of them
    /// and a stored one.
    fn prove_fork(
        &self,
        id: DocId,
        incoming: &[SignedChange],
        actor: &[u8],
        seq: u64,
    ) -> Result<EquivocationProof, RepoError> {
        let at = |c: &&SignedChange| {
            c.change().seq() == seq && c.change().actor_id().to_bytes() == actor
        };
        let mut found: Vec<SignedChange> = incoming.iter().filter(at).cloned().collect();
        if found.len() < 2 {
            let stored = self.signed_changes(&id)?;
            found.extend(stored.iter().filter(at).cloned());
        }
        found.sort_by_key(|c| c.hash());
        found.dedup_by_key(|c| c.hash());
        match found.as_slice() {
            [a, b, ..] => EquivocationProof::new(id, a.clone(), b.clone()).map_err(|e| {
                RepoError::Integrity(format!("{id}: a fork that proves nothing: {e}"))
            }),
            _ => Err(RepoError::Integrity(format!(
                "{id}: Automerge saw sequence number {seq} twice, but only one change has it"
            ))),
        }
    }

    /// Adds to `batch` the rebuild of `id` without the changes `certs` no longer authorise
    /// and their descendants.
    fn prune(&self, certs: &Certificates, id: DocId, batch: &mut Batch) -> Result<(), RepoError> {
        let Some(stored) = self.store.document(&id)? else {
            return Ok(());
        };
        let header = stored.header;
        // Stored time claims are judged as they are; no change is "from the future" here.
        let far = UnixTime(i64::MAX - allmende_protocol::auth::MAX_CLOCK_SKEW);
        let mut dropped: std::collections::HashSet<ChangeHash> = std::collections::HashSet::new();
        let mut kept: std::collections::HashSet<ChangeHash> = std::collections::HashSet::new();
        let mut keep = Vec::new();
        // Causal order, so a change is judged after all its dependencies; a change is kept
        // only when every dependency is kept, so the rebuilt document holds every change kept
        // and no orphan is ever stored.
        for c in causal_order(self.signed_changes(&id)?) {
            let orphaned = c.change().deps().iter().any(|d| !kept.contains(d));
            let authorised = certs.check(&header, c.signer(), c.time(), far).is_ok()
                && !certs.is_forked(&id, c.change());
            if orphaned || !authorised {
                dropped.insert(c.hash());
            } else {
                kept.insert(c.hash());
                keep.push(c);
            }
        }
        if dropped.is_empty() {
            return Ok(());
        }
        let mut doc = Document::new(header);
        let mut authorised = Vec::with_capacity(keep.len());
        for (index, c) in keep.into_iter().enumerate() {
            let v = c
                .verify(id)
                .map_err(|error| RepoError::Verify { index, error })?;
            authorised.push(
                certs
                    .authorise(&header, v, far)
                    .map_err(|error| RepoError::Auth { index, error })?,
            );
        }
        doc.apply(authorised)?;
        batch.index.push(crate::index::rows(
            &mut doc,
            &Context {
                certs,
                grants: &self.grants,
                cache: None,
            },
        ));
        batch.removed.extend(dropped.into_iter().map(|h| (id, h)));
        batch.docs.push(StoredDoc {
            header,
            heads: doc.heads(),
            snapshot: doc.save(),
        });
        Ok(())
    }

    /// Loads a document, if stored.
    pub fn document(&self, id: &DocId) -> Result<Option<Document>, RepoError> {
        let Some(stored) = self.store.document(id)? else {
            return Ok(None);
        };
        Ok(Some(Document::load(stored.header, &stored.snapshot)?))
    }

    /// What the node shows of a product: its stewards' values, proposals and history
    /// ([`allmende_protocol::stewardship`]). `None` when no such document is stored.
    pub fn stewardship(&self, id: &DocId) -> Result<Option<Resolution>, RepoError> {
        match self.document(id)? {
            Some(mut doc) if doc.header().kind == DocKind::Product => {
                Ok(Some(self.shown().resolve(&mut doc)))
            }
            _ => Ok(None),
        }
    }

    /// Accepts or declines a proposal to `product` as a steward (`author` must speak for one
    /// now): accepting writes the proposed values still pending and the decision in one
    /// change, declining only the decision. Refused when the proposal is unknown, decided
    /// already, or would make the entry invalid. Returns the product's header and the
    /// decision's change.
    pub fn decide(
        &mut self,
        author: &Keypair,
        product: DocId,
        proposal: &str,
        decision: Decision,
        now: UnixTime,
    ) -> Result<(DocHeader, ChangeHash), RepoError> {
        let mut doc = self
            .document(&product)?
            .filter(|d| d.header().kind == DocKind::Product)
            .ok_or_else(|| RepoError::NoProposal(format!("no product {product:#}")))?;
        let header = *doc.header();
        let shown = self.shown().resolve(&mut doc);
        let signer = author.public();
        if !shown
            .stewards
            .iter()
            .any(|s| self.certs.speaks_for(signer, s.org, DocKind::Product, now))
        {
            return Err(RepoError::NotSteward { signer, product });
        }
        let p = shown.proposal(proposal).ok_or_else(|| {
            RepoError::NoProposal(format!("no proposal {proposal} for {product:#}"))
        })?;
        if let Some((d, _)) = p.decision {
            return Err(RepoError::Decided(format!(
                "proposal {proposal} was {} already",
                match d {
                    Decision::Accepted => "accepted",
                    Decision::Declined => "declined",
                }
            )));
        }
        let edits: Vec<FieldEdit> = p.pending(&shown).cloned().collect();
        if decision == Decision::Accepted
            && let Some(Err(e)) = shown.with_edits(&edits)
        {
            return Err(RepoError::Document(DocError::Schema(e)));
        }
        let hash = p.author.change;
        let change = self
            .edit(author, header, now, |ed| {
                if decision == Decision::Accepted {
                    ed.put_fields(&edits)?;
                }
                ed.decide(hash, decision)
            })?
            .ok_or_else(|| RepoError::Integrity("a decision changed nothing".into()))?;
        Ok((header, change))
    }

    /// Whether `org` is a steward of product `doc` now (false when it is not stored).
    pub fn is_steward(&self, doc: &DocId, org: OrgId) -> Result<bool, RepoError> {
        Ok(self.stewardship(doc)?.is_some_and(|r| r.is_steward(org)))
    }

    /// The product as the node shows it; `None` when not stored or without fields.
    pub fn product(&self, id: &DocId) -> Result<Option<Result<Product, SchemaError>>, RepoError> {
        Ok(self.stewardship(id)?.and_then(|r| r.product()))
    }

    /// Loads every document.
    pub fn documents(&self) -> Result<Vec<Document>, RepoError> {
        self.store
            .headers()?
            .into_iter()
            .map(|h| {
                self.document(&h.id())?
                    .ok_or_else(|| RepoError::Integrity(format!("{} vanished", h.id())))
            })
            .collect()
    }

    /// The catalog of everything stored.
    pub fn catalog(&self) -> Result<Catalog, RepoError> {
        Ok(Catalog::from_documents(
            &mut self.documents()?,
            &self.shown(),
        ))
    }

    /// A document's signed changes, in storage order (the order they arrived, which need not
    /// be causal: see [`causal_order`]). Their signatures are checked by `verify`.
    pub fn signed_changes(&self, id: &DocId) -> Result<Vec<SignedChange>, RepoError> {
        self.store
            .changes(id)?
            .into_iter()
            .map(|c| {
                SignedChange::decode_stored(&c.encoded).map_err(|e| {
                    RepoError::Integrity(format!("stored change {} of {id}: {e}", c.hash))
                })
            })
            .collect()
    }

    /// Verifies, authorises and stores `changes` for the document `header`, all or nothing.
    pub fn ingest(
        &mut self,
        header: DocHeader,
        changes: Vec<SignedChange>,
        now: UnixTime,
    ) -> Result<Ingested, RepoError> {
        let verified = verify_all(header, changes)?;
        self.ingest_verified(header, verified, now)
    }

    /// [`Repo::ingest`] for changes whose signatures were already checked ([`verify_all`]),
    /// e.g. on another thread while this one stored the previous document.
    pub fn ingest_verified(
        &mut self,
        header: DocHeader,
        changes: Vec<VerifiedChange>,
        now: UnixTime,
    ) -> Result<Ingested, RepoError> {
        let (_, result) = self
            .ingest_many(vec![Prepared::verified(header, changes)], now)
            .pop()
            .ok_or_else(|| RepoError::Integrity("an ingest gave no result".into()))?;
        result
    }

    /// Authorises and stores several documents' changes in one store transaction. Each
    /// document is accepted or refused on its own, all or nothing as in [`Repo::ingest`]; the
    /// results come in the order of `items`. One transaction for many documents spares a
    /// catch-up most of SQLite's per-commit work (WAL frames, checksums, checkpoints).
    pub fn ingest_many(
        &mut self,
        items: Vec<Prepared>,
        now: UnixTime,
    ) -> Vec<(DocHeader, Result<Ingested, RepoError>)> {
        let mut results = Vec::with_capacity(items.len());
        let mut batch = Batch::default();
        // Positions in `results` of the documents in `batch`, with their new changes.
        let mut pending: Vec<(usize, usize)> = Vec::new();
        let mut in_batch = std::collections::HashSet::new();
        for item in items {
            let header = item.header;
            if !in_batch.insert(header.id()) {
                // The same document twice: the second must see the first stored.
                self.commit_staged(&mut batch, &mut pending, &mut results);
                in_batch.clear();
                in_batch.insert(header.id());
            }
            match self.stage(item, now) {
                Err(RepoError::Fork(fork)) => {
                    // Stores the proof and prunes: the staged documents go first.
                    self.commit_staged(&mut batch, &mut pending, &mut results);
                    in_batch.clear();
                    let r = self.resolve_fork(header, *fork, now);
                    results.push((header, r));
                }
                Err(e) => results.push((header, Err(e))),
                Ok((duplicates, None)) => results.push((
                    header,
                    Ok(Ingested {
                        new_changes: 0,
                        duplicates,
                        ..Ingested::default()
                    }),
                )),
                Ok((duplicates, Some(staged))) => {
                    pending.push((results.len(), staged.changes.len()));
                    results.push((
                        header,
                        Ok(Ingested {
                            new_changes: 0,
                            duplicates,
                            ..Ingested::default()
                        }),
                    ));
                    batch.docs.push(staged.doc);
                    batch.changes.extend(staged.changes);
                    batch.index.push(staged.index);
                }
            }
        }
        self.commit_staged(&mut batch, &mut pending, &mut results);
        results
    }

    /// Commits the staged documents and fills in their results.
    fn commit_staged(
        &mut self,
        batch: &mut Batch,
        pending: &mut Vec<(usize, usize)>,
        results: &mut [(DocHeader, Result<Ingested, RepoError>)],
    ) {
        if pending.is_empty() {
            return;
        }
        let batch = std::mem::take(batch);
        let headers: Vec<DocHeader> = batch.docs.iter().map(|d| d.header).collect();
        let result = self.store.commit(&batch);
        if result.is_ok()
            && let Err(e) = self.after_storing(&headers)
        {
            tracing::warn!(error = %e, "could not index the products of new stewardship grants");
        }
        match result {
            Ok(committed) => {
                let staged: usize = pending.iter().map(|(_, n)| n).sum();
                for (slot, n) in pending.drain(..) {
                    if let Ok(done) = &mut results[slot].1 {
                        // Exact for one document; for several, another process storing some of
                        // the same changes meanwhile would make the per-document counts high.
                        done.new_changes = if staged == committed.new_changes {
                            n
                        } else {
                            n.min(committed.new_changes)
                        };
                    }
                }
            }
            Err(e) => {
                for (slot, _) in pending.drain(..) {
                    results[slot].1 = Err(RepoError::StoreBatch(e.to_string()));
                }
            }
        }
    }

    /// Checks and authorises one document's changes and builds what storing them writes
    /// (from the draft when it still holds). Returns the duplicates and, if anything is new,
    /// the staged writes.
    fn stage(
        &mut self,
        item: Prepared,
        now: UnixTime,
    ) -> Result<(usize, Option<Staged>), RepoError> {
        let Prepared {
            header,
            changes,
            draft,
        } = item;
        if changes.len() > MAX_BATCH_CHANGES {
            return Err(RepoError::BatchTooLarge(changes.len()));
        }
        header.check().map_err(RepoError::InvalidHeader)?;
        let id = header.id();
        if let Some((index, c)) = changes.iter().enumerate().find(|(_, c)| c.doc() != id) {
            return Err(RepoError::Verify {
                index,
                error: VerifyError::WrongDocument {
                    offered_for: id,
                    signed_for: c.doc(),
                },
            });
        }
        // A draft holds only for a document this node does not have yet.
        let (mut doc, draft) = match draft {
            Some(d) if self.store.heads(&id)?.is_none() => (None, Some(d)),
            _ => (self.document(&id)?, None),
        };
        let mut authorised: Vec<AuthorisedChange> = Vec::with_capacity(changes.len());
        let mut seen = std::collections::HashSet::with_capacity(changes.len());
        let mut duplicates = 0;
        for (index, verified) in changes.into_iter().enumerate() {
            let hash = verified.signed().hash();
            if doc.as_mut().is_some_and(|d| d.has_change(&hash)) || !seen.insert(hash) {
                duplicates += 1;
                continue;
            }
            let ok = self
                .certs
                .authorise(&header, verified, now)
                .map_err(|error| RepoError::Auth { index, error })?;
            authorised.push(ok);
        }
        if authorised.is_empty() {
            return Ok((duplicates, None));
        }
        if let Some(d) = draft {
            let same = d.hashes.len() == authorised.len()
                && d.hashes
                    .iter()
                    .zip(&authorised)
                    .all(|(h, a)| *h == a.verified().signed().hash());
            if same {
                return Ok((duplicates, Some(d.staged)));
            }
        }
        let doc = doc.unwrap_or_else(|| Document::new(header));
        Ok((
            duplicates,
            Some(apply_and_stage(doc, authorised, &self.shown())?),
        ))
    }

    /// Makes a local edit of the document `header` (created if new) as `author`, and stores
    /// it once it passed the same checks as a change from a peer. Returns the new change's
    /// hash, or `None` when the edit changed nothing.
    pub fn edit(
        &mut self,
        author: &Keypair,
        header: DocHeader,
        now: UnixTime,
        f: impl FnOnce(&mut Editor<'_>) -> Result<(), DocError>,
    ) -> Result<Option<ChangeHash>, RepoError> {
        header.check().map_err(RepoError::InvalidHeader)?;
        let id = header.id();
        let mut doc = match self.document(&id)? {
            Some(d) => d,
            None => Document::new(header),
        };
        let Some(stored) = self.sign_edit(author, now, &mut doc, f)? else {
            return Ok(None);
        };
        let hash = stored.hash;
        self.commit_doc(&mut doc, vec![stored])?;
        Ok(Some(hash))
    }

    /// Makes `f`'s edit of `doc` as `author` and checks the change like one from a peer
    /// (verified, authorised); `None` when it changed nothing. Stores nothing.
    fn sign_edit(
        &self,
        author: &Keypair,
        now: UnixTime,
        doc: &mut Document,
        f: impl FnOnce(&mut Editor<'_>) -> Result<(), DocError>,
    ) -> Result<Option<StoredChange>, RepoError> {
        let header = *doc.header();
        // A product is written against what it shows (its stewards' values), not against
        // whatever Automerge holds last.
        let shown = (header.kind == DocKind::Product).then(|| self.shown().resolve(doc));
        let Some(signed) = doc.edit_shown(
            author,
            self.replica,
            now,
            shown.as_ref().map(|r| r as &dyn ShownValues),
            f,
        )?
        else {
            return Ok(None);
        };
        let verified = signed
            .verify(header.id())
            .map_err(|error| RepoError::Verify { index: 0, error })?;
        let ok = self
            .certs
            .authorise(&header, verified, now)
            .map_err(|error| RepoError::Auth { index: 0, error })?;
        Ok(Some(stored_change(ok.verified().signed())))
    }

    /// Several local edits as `author`, all or none: each is made and checked like
    /// [`Repo::edit`] (signed, verified, authorised), and only when every one passed are they
    /// stored, in one transaction (one [`Store::commit`]) together with the store settings
    /// `meta`. Consecutive edits of one document make one change each, the later on top of
    /// the earlier (so a write too large for one change can be cut into several); a document
    /// may not come back after another one.
    /// Returns the hash of each edit's change (`None` where it changed nothing).
    pub fn edit_many(
        &mut self,
        author: &Keypair,
        now: UnixTime,
        edits: Vec<(DocHeader, ManyEdit)>,
        meta: Vec<(String, String)>,
    ) -> Result<Vec<Option<ChangeHash>>, RepoError> {
        let mut seen = std::collections::HashSet::new();
        let mut batch = Batch::default();
        let mut headers = Vec::new();
        let mut hashes = Vec::with_capacity(edits.len());
        // The document being edited, with its changes so far.
        let mut open: Option<(Document, Vec<StoredChange>)> = None;
        for (header, f) in edits {
            header.check().map_err(RepoError::InvalidHeader)?;
            let id = header.id();
            let (mut doc, mut stored) = match open.take() {
                Some((doc, stored)) if doc.header().id() == id => (doc, stored),
                previous => {
                    if let Some((mut doc, stored)) = previous {
                        self.stage_edited(&mut batch, &mut headers, &mut doc, stored);
                    }
                    if !seen.insert(id) {
                        return Err(RepoError::Integrity(format!(
                            "{id} comes back after another document in one batch of edits"
                        )));
                    }
                    let doc = match self.document(&id)? {
                        Some(d) => d,
                        None => Document::new(header),
                    };
                    (doc, Vec::new())
                }
            };
            let change = self.sign_edit(author, now, &mut doc, f)?;
            hashes.push(change.as_ref().map(|c| c.hash));
            stored.extend(change);
            open = Some((doc, stored));
        }
        if let Some((mut doc, stored)) = open {
            self.stage_edited(&mut batch, &mut headers, &mut doc, stored);
        }
        batch.meta = meta;
        if !batch.docs.is_empty() || !batch.meta.is_empty() {
            self.store.commit(&batch)?;
            self.after_storing(&headers)?;
        }
        Ok(hashes)
    }

    /// Adds `doc` with its new changes `stored` to `batch` (nothing when it has none).
    fn stage_edited(
        &self,
        batch: &mut Batch,
        headers: &mut Vec<DocHeader>,
        doc: &mut Document,
        stored: Vec<StoredChange>,
    ) {
        if stored.is_empty() {
            return;
        }
        let staged = Staged::of(doc, stored, &self.shown());
        batch.docs.push(staged.doc);
        batch.changes.extend(staged.changes);
        batch.index.push(staged.index);
        headers.push(*doc.header());
    }

    fn commit_doc(
        &mut self,
        doc: &mut Document,
        changes: Vec<StoredChange>,
    ) -> Result<Committed, RepoError> {
        let staged = Staged::of(doc, changes, &self.shown());
        let batch = Batch {
            docs: vec![staged.doc],
            changes: staged.changes,
            index: vec![staged.index],
            ..Batch::default()
        };
        let committed = self.store.commit(&batch)?;
        self.after_storing(&[*doc.header()])?;
        Ok(committed)
    }

    /// Full check: storage structure, every certificate and change re-verified, and every
    /// document snapshot holding exactly the stored changes, with the stored heads.
    ///
    /// Authorisation is not re-run: a revocation learnt later does not make stored bytes
    /// corrupt.
    pub fn check_integrity(&self) -> Result<IntegrityReport, RepoError> {
        self.store.integrity_check()?;
        let mut report = IntegrityReport {
            certificates: self.store.certs()?.len(),
            ..Default::default()
        };
        load_certs(&self.store)?;
        for header in self.store.headers()? {
            let id = header.id();
            let stored = self
                .store
                .document(&id)?
                .ok_or_else(|| RepoError::Integrity(format!("{id} vanished")))?;
            let mut stored_hashes = Vec::new();
            for (index, c) in self.signed_changes(&id)?.into_iter().enumerate() {
                let v = c
                    .verify(id)
                    .map_err(|e| RepoError::Integrity(format!("{id} change #{index}: {e}")))?;
                stored_hashes.push(v.signed().hash());
            }
            let mut snapshot = Document::load(header, &stored.snapshot)
                .map_err(|e| RepoError::Integrity(format!("{id} snapshot does not load: {e}")))?;
            let mut in_snapshot: Vec<ChangeHash> =
                snapshot.all_changes().iter().map(|c| c.hash()).collect();
            in_snapshot.sort();
            stored_hashes.sort();
            if in_snapshot != stored_hashes {
                return Err(RepoError::Integrity(format!(
                    "{id}: snapshot holds {} changes, the store {}",
                    in_snapshot.len(),
                    stored_hashes.len()
                )));
            }
            if snapshot.heads() != stored.heads {
                return Err(RepoError::Integrity(format!(
                    "{id}: stored heads differ from the snapshot's"
                )));
            }
            report.changes += stored_hashes.len();
            report.documents += 1;
        }
        Ok(report)
    }
}

fn stored_change(c: &SignedChange) -> StoredChange {
    StoredChange {
        doc: c.doc(),
        hash: c.hash(),
        signer: c.signer(),
        encoded: c.encode(),
    }
}

fn load_certs<S: Store>(store: &S) -> Result<Certificates, RepoError> {
    let mut certs = Certificates::new();
    for c in store.certs()? {
        let bad = |e: CertError| {
            RepoError::Integrity(format!("stored {:?} does not verify: {e}", c.kind))
        };
        match c.kind {
            CertKind::Delegation => certs
                .add_delegation(SignedDelegation::decode(&c.encoded).map_err(bad)?)
                .map_err(bad)?,
            CertKind::Revocation => certs
                .add_revocation(SignedRevocation::decode(&c.encoded).map_err(bad)?)
                .map_err(bad)?,
            CertKind::Equivocation => {
                certs.add_equivocation(EquivocationProof::decode(&c.encoded).map_err(|e| {
                    RepoError::Integrity(format!("stored equivocation proof does not verify: {e}"))
                })?)
            }
        };
    }
    Ok(certs)
}
