//! Durable local storage: documents, signed changes, certificates and keys.
//!
//! The [`Store`] trait is deliberately small: it stores bytes that the [`crate::repo::Repo`]
//! has already verified and never interprets them. Two backends implement it,
//! [`MemStore`] (tests) and [`SqliteStore`] (disk), and one conformance suite
//! ([`conformance`]) runs against both.
//!
//! Atomicity: [`Store::commit`] writes a whole [`Batch`] (new changes, new document snapshots,
//! certificates) in one transaction, or nothing.

use allmende_protocol::automerge::ChangeHash;
use allmende_protocol::doc::DocHeader;
use allmende_protocol::ids::{DocId, PublicKey};

mod follow;
mod memory;
mod sqlite;
mod sqlite_index;

pub mod conformance;

pub use memory::MemStore;
pub use sqlite::{SCHEMA_VERSION, SqliteStore};

/// Storage errors.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite reported an error.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The database was written by a newer version of Allmende.
    #[error(
        "the store has schema version {found}, this Allmende reads up to {known}: upgrade Allmende"
    )]
    TooNew {
        /// Version found.
        found: i64,
        /// Newest version known.
        known: i64,
    },
    /// Stored bytes do not decode: the store is damaged.
    #[error("store is corrupt: {0}")]
    Corrupt(String),
    /// A change was offered for a document whose header is not stored and not in the batch.
    #[error("change for unknown document {0}")]
    UnknownDocument(DocId),
    /// The database is locked by another process.
    #[error("the store is in use by another process (database locked)")]
    Locked,
}

/// A signed change as stored: its encoded bytes plus the columns needed to find it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredChange {
    /// The document.
    pub doc: DocId,
    /// The Automerge change hash.
    pub hash: ChangeHash,
    /// Who signed it.
    pub signer: PublicKey,
    /// `SignedChange::encode()` output.
    pub encoded: Vec<u8>,
}

/// A document's current state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDoc {
    /// Its header (the id is the header's hash).
    pub header: DocHeader,
    /// The Automerge document as saved.
    pub snapshot: Vec<u8>,
    /// Its heads, sorted.
    pub heads: Vec<ChangeHash>,
}

/// Kinds of certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CertKind {
    /// A delegation.
    Delegation,
    /// A revocation.
    Revocation,
    /// A proof of equivocation ([`allmende_protocol::equivocation`]).
    Equivocation,
}

impl CertKind {
    /// The name stored and exported (`delegation`, `revocation`, `equivocation`).
    pub fn as_str(&self) -> &'static str {
        match self {
            CertKind::Delegation => "delegation",
            CertKind::Revocation => "revocation",
            CertKind::Equivocation => "equivocation",
        }
    }

    fn parse(s: &str) -> Result<Self, StoreError> {
        match s {
            "delegation" => Ok(CertKind::Delegation),
            "revocation" => Ok(CertKind::Revocation),
            "equivocation" => Ok(CertKind::Equivocation),
            other => Err(StoreError::Corrupt(format!(
                "unknown certificate kind {other:?}"
            ))),
        }
    }
}

/// A certificate as stored.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct StoredCert {
    /// Kind.
    pub kind: CertKind,
    /// Encoded, verified bytes.
    pub encoded: Vec<u8>,
}

/// A public key the node knows and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRecord {
    /// The key.
    pub key: PublicKey,
    /// `local` (this node signs with it; the secret is in the key file), or another role.
    pub role: String,
    /// A label for people.
    pub label: String,
}

/// Everything one verified ingest or local edit writes, committed atomically.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    /// Documents with their new state.
    pub docs: Vec<StoredDoc>,
    /// New changes (already-stored ones are skipped).
    pub changes: Vec<StoredChange>,
    /// New certificates (already-stored ones are skipped).
    pub certs: Vec<StoredCert>,
    /// Keys to record.
    pub keys: Vec<KeyRecord>,
    /// Changes to delete (they lost their authorisation through a revocation; the batch
    /// carries the rebuilt document without them).
    pub removed: Vec<(DocId, ChangeHash)>,
    /// Replacement index rows, one entry per document whose state changed.
    pub index: Vec<crate::index::DocIndex>,
    /// Drop the whole index before applying `index` (a full rebuild); clears the stale mark.
    pub reindex_all: bool,
    /// Settings of the store itself to write (key, value), such as the anchors whose
    /// stewardship grants the index follows.
    pub meta: Vec<(String, String)>,
}

/// What a commit did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Committed {
    /// Changes newly stored.
    pub new_changes: usize,
    /// Certificates newly stored.
    pub new_certs: usize,
}

/// Row counts, for status output.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Documents.
    pub documents: u64,
    /// Signed changes.
    pub changes: u64,
    /// Certificates.
    pub certificates: u64,
}

/// The storage interface.
pub trait Store {
    /// Writes the batch in one transaction: all of it or nothing.
    fn commit(&mut self, batch: &Batch) -> Result<Committed, StoreError>;
    /// A document's state.
    fn document(&self, id: &DocId) -> Result<Option<StoredDoc>, StoreError>;
    /// A document's heads, without its snapshot.
    fn heads(&self, id: &DocId) -> Result<Option<Vec<ChangeHash>>, StoreError> {
        Ok(self.document(id)?.map(|d| d.heads))
    }
    /// All document headers, sorted by id.
    fn headers(&self) -> Result<Vec<DocHeader>, StoreError>;
    /// Every document's header and heads (without the snapshot), sorted by id.
    fn all_heads(&self) -> Result<Vec<(DocHeader, Vec<ChangeHash>)>, StoreError>;
    /// A document's changes, in the order they were stored (causal for each writer).
    fn changes(&self, doc: &DocId) -> Result<Vec<StoredChange>, StoreError>;
    /// Documents holding at least one change signed by `key`, sorted.
    fn docs_signed_by(&self, key: &PublicKey) -> Result<Vec<DocId>, StoreError>;
    /// Whether a change is stored.
    fn has_change(&self, doc: &DocId, hash: &ChangeHash) -> Result<bool, StoreError>;
    /// All certificates, sorted.
    fn certs(&self) -> Result<Vec<StoredCert>, StoreError>;
    /// All known keys, sorted by key.
    fn keys(&self) -> Result<Vec<KeyRecord>, StoreError>;
    /// Row counts.
    fn counts(&self) -> Result<Counts, StoreError>;
    /// Whether the index must be rebuilt from the documents (after an upgrade that added or
    /// changed index tables).
    fn needs_reindex(&self) -> Result<bool, StoreError>;
    /// A setting written by [`Batch::meta`].
    fn meta(&self, key: &str) -> Result<Option<String>, StoreError>;
    /// Storage-level consistency check (page structure, foreign keys, every change belongs to
    /// a stored document). The [`crate::repo::Repo`] adds the semantic checks.
    fn integrity_check(&self) -> Result<(), StoreError>;
}
