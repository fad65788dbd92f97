//! What a node keeps of signed content outside its trust scope ([`allmende_catalog::trust`]), and what
//! it remembers having refused.
//!
//! Keys are free: anybody can sign any number of documents. A node that follows trust anchors
//! stores, indexes, forwards and offers only what its scope signed. Everything else that
//! arrives verified goes to the [`Quarantine`]: in memory, never indexed, forwarded or
//! offered in reconciliation, bounded per signing key ([`QuarantineLimits::key_documents`],
//! [`QuarantineLimits::key_bytes`]) and in total ([`QuarantineLimits::total_bytes`], with
//! eviction: a per-key quota alone bounds nothing when keys cost nothing). It holds, for
//! example, the profile of a Kommune that has not been attested yet, so that its data can be
//! taken at once when its anchor attests it; the rest arrives by reconciliation.
//!
//! [`Refused`] remembers which versions of which documents were refused by policy (the
//! digest of the heads a peer offered, and the refused change hashes), so that a peer's
//! inventory holding them is not fetched again at every reconciliation, and a peer that
//! pushes the same refused changes again can be told from one that brings news.
//!
//! Both forget everything when the scope changes: what was out of scope may be in it now.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};

use allmende_protocol::automerge::ChangeHash;
use allmende_protocol::change::SignedChange;
use allmende_protocol::doc::{DocHeader, DocKind};
use allmende_protocol::ids::{DocId, PublicKey};
use allmende_protocol::sync::Value;
use serde::Serialize;

/// The bounds of the quarantine (`[trust]` in the configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuarantineLimits {
    /// Most documents one key may have changes in.
    pub key_documents: usize,
    /// Most bytes of signed changes one key may have in quarantine.
    pub key_bytes: usize,
    /// Most bytes of signed changes in quarantine altogether; the oldest are evicted first,
    /// profiles last.
    pub total_bytes: usize,
}

impl Default for QuarantineLimits {
    fn default() -> Self {
        Self {
            key_documents: 4,
            key_bytes: 64 * 1024,
            total_bytes: 32 * 1024 * 1024,
        }
    }
}

/// What [`Quarantine::offer`] did with a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kept {
    /// Kept (or held already).
    Kept,
    /// Not kept: its signer's quota is used up.
    OverQuota,
}

/// One quarantined document.
#[derive(Debug)]
struct Held {
    header: DocHeader,
    /// Change hash → (signer, encoded signed change).
    changes: HashMap<ChangeHash, (PublicKey, Vec<u8>)>,
    /// Eviction rank: (profile last, age).
    rank: (bool, u64),
}

/// Signed changes outside the trust scope, bounded (see the module documentation).
#[derive(Debug, Default)]
pub struct Quarantine {
    limits: QuarantineLimits,
    docs: HashMap<DocId, Held>,
    /// Per key: the documents it has changes in, and their bytes.
    keys: HashMap<PublicKey, (HashSet<DocId>, usize)>,
    /// Eviction order.
    order: BTreeSet<((bool, u64), DocId)>,
    total: usize,
    seq: u64,
    evicted: u64,
    over_quota: u64,
}

/// What status and metrics show of the quarantine.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct QuarantineStats {
    /// Documents held.
    pub documents: usize,
    /// Bytes of signed changes held.
    pub bytes: usize,
    /// Signing keys with something held.
    pub keys: usize,
    /// The cap on `bytes`.
    pub cap_bytes: usize,
    /// Documents evicted to stay under the cap, since start.
    pub evicted: u64,
    /// Changes not kept because their signer's quota was used up, since start.
    pub over_quota: u64,
}

impl Quarantine {
    /// An empty quarantine with these bounds.
    pub fn new(limits: QuarantineLimits) -> Self {
        Self {
            limits,
            ..Self::default()
        }
    }

    /// Keeps `change` of the document `header` if its signer's quota allows, evicting the
    /// oldest documents (profiles last) while the total is over the cap.
    pub fn offer(&mut self, header: DocHeader, change: &SignedChange) -> Kept {
        let id = header.id();
        let hash = change.hash();
        if self
            .docs
            .get(&id)
            .is_some_and(|h| h.changes.contains_key(&hash))
        {
            return Kept::Kept;
        }
        let signer = change.signer();
        let encoded = change.encode();
        let size = encoded.len();
        let (docs, bytes) = self.keys.get(&signer).map_or((0, 0), |(d, b)| {
            (d.len() + usize::from(!d.contains(&id)), *b)
        });
        if docs > self.limits.key_documents
            || bytes + size > self.limits.key_bytes
            || size > self.limits.total_bytes
        {
            self.over_quota += 1;
            return Kept::OverQuota;
        }
        let held = self.docs.entry(id).or_insert_with(|| {
            self.seq += 1;
            let rank = (header.kind == DocKind::Profile, self.seq);
            self.order.insert((rank, id));
            Held {
                header,
                changes: HashMap::new(),
                rank,
            }
        });
        held.changes.insert(hash, (signer, encoded));
        let use_ = self.keys.entry(signer).or_default();
        use_.0.insert(id);
        use_.1 += size;
        self.total += size;
        while self.total > self.limits.total_bytes {
            let Some(&(_, victim)) = self.order.iter().find(|(_, d)| *d != id) else {
                break;
            };
            self.remove(&victim);
            self.evicted += 1;
        }
        Kept::Kept
    }

    /// Removes a document, giving its bytes back to its signers.
    fn remove(&mut self, id: &DocId) -> Option<Held> {
        let held = self.docs.remove(id)?;
        self.order.remove(&(held.rank, *id));
        for (signer, encoded) in held.changes.values() {
            self.total -= encoded.len();
            if let Some((docs, bytes)) = self.keys.get_mut(signer) {
                docs.remove(id);
                *bytes -= encoded.len();
                if docs.is_empty() {
                    self.keys.remove(signer);
                }
            }
        }
        Some(held)
    }

    /// Takes out the documents `admits` lets in now, with their encoded changes.
    pub fn take(&mut self, admits: impl Fn(&DocHeader) -> bool) -> Vec<(DocHeader, Vec<Vec<u8>>)> {
        let ids: Vec<DocId> = self
            .docs
            .iter()
            .filter(|(_, h)| admits(&h.header))
            .map(|(id, _)| *id)
            .collect();
        ids.into_iter()
            .filter_map(|id| self.remove(&id))
            .map(|h| {
                let header = h.header;
                (header, h.changes.into_values().map(|(_, e)| e).collect())
            })
            .collect()
    }

    /// The headers of the quarantined profiles, newest first (organisations that published
    /// without being in the scope, e.g. waiting for an attestation).
    pub fn profiles(&self) -> Vec<DocHeader> {
        self.order
            .iter()
            .rev()
            .filter_map(|(_, id)| self.docs.get(id))
            .filter(|h| h.header.kind == DocKind::Profile)
            .map(|h| h.header)
            .collect()
    }

    /// Sizes and counters.
    pub fn stats(&self) -> QuarantineStats {
        QuarantineStats {
            documents: self.docs.len(),
            bytes: self.total,
            keys: self.keys.len(),
            cap_bytes: self.limits.total_bytes,
            evicted: self.evicted,
            over_quota: self.over_quota,
        }
    }
}

/// Most entries (heads digests and change hashes) [`Refused`] keeps; the oldest documents are
/// forgotten first (a forgotten one is fetched and refused once more).
pub const MAX_REFUSED_ENTRIES: usize = 200_000;

#[derive(Debug, Default)]
struct RefusedDoc {
    digests: HashSet<Value>,
    hashes: HashSet<ChangeHash>,
}

/// The versions of documents refused by policy (see the module documentation).
#[derive(Debug, Default)]
pub struct Refused {
    docs: HashMap<DocId, RefusedDoc>,
    order: VecDeque<DocId>,
    entries: usize,
}

impl Refused {
    /// Notes that the version of `doc` whose heads digest is `digest` holds `hashes`, which
    /// were refused by policy.
    pub fn note(
        &mut self,
        doc: DocId,
        digest: Value,
        hashes: impl IntoIterator<Item = ChangeHash>,
    ) {
        let entry = self.docs.entry(doc).or_insert_with(|| {
            self.order.push_back(doc);
            RefusedDoc::default()
        });
        let before = entry.digests.len() + entry.hashes.len();
        entry.digests.insert(digest);
        entry.hashes.extend(hashes);
        self.entries += entry.digests.len() + entry.hashes.len() - before;
        while self.entries > MAX_REFUSED_ENTRIES {
            let Some(old) = self.order.pop_front() else {
                break;
            };
            if let Some(d) = self.docs.remove(&old) {
                self.entries -= d.digests.len() + d.hashes.len();
            }
        }
    }

    /// Whether the version of `doc` with heads digest `digest` was refused.
    pub fn has_version(&self, doc: &DocId, digest: &Value) -> bool {
        self.docs
            .get(doc)
            .is_some_and(|d| d.digests.contains(digest))
    }

    /// Whether the change `hash` of `doc` was refused.
    pub fn has_change(&self, doc: &DocId, hash: &ChangeHash) -> bool {
        self.docs.get(doc).is_some_and(|d| d.hashes.contains(hash))
    }

    /// Forgets everything (the scope changed).
    pub fn clear(&mut self) {
        *self = Self::default();
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }
}

/// The heads of a document holding the changes with heads `held` and `changes` (which the
/// holder lacked): what a peer that sent `changes` holds, when it sent all it had.
pub fn heads_with(held: &[ChangeHash], changes: &[&SignedChange]) -> Vec<ChangeHash> {
    let deps: HashSet<ChangeHash> = changes
        .iter()
        .flat_map(|c| c.change().deps().iter().copied())
        .collect();
    let mut heads: Vec<ChangeHash> = held
        .iter()
        .copied()
        .chain(changes.iter().map(|c| c.hash()))
        .filter(|h| !deps.contains(h))
        .collect();
    heads.sort();
    heads.dedup();
    heads
}
