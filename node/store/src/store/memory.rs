//! The in-memory backend, for tests and simulations.

use std::collections::{BTreeMap, BTreeSet};

use allmende_protocol::automerge::ChangeHash;
use allmende_protocol::doc::DocHeader;
use allmende_protocol::ids::{DocId, PublicKey};

use super::{
    Batch, Committed, Counts, KeyRecord, Store, StoreError, StoredCert, StoredChange, StoredDoc,
};

/// Keeps everything in maps; a commit checks the whole batch before changing anything.
#[derive(Debug, Default, Clone)]
pub struct MemStore {
    docs: BTreeMap<DocId, StoredDoc>,
    changes: BTreeMap<DocId, Vec<StoredChange>>,
    change_set: BTreeSet<(DocId, ChangeHash)>,
    certs: BTreeSet<StoredCert>,
    keys: BTreeMap<PublicKey, KeyRecord>,
    index: BTreeMap<DocId, crate::index::DocIndex>,
    meta: BTreeMap<String, String>,
}

impl MemStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Store for MemStore {
    fn commit(&mut self, batch: &Batch) -> Result<Committed, StoreError> {
        // Check first, so a refused batch leaves no trace.
        for c in &batch.changes {
            let known =
                self.docs.contains_key(&c.doc) || batch.docs.iter().any(|d| d.header.id() == c.doc);
            if !known {
                return Err(StoreError::UnknownDocument(c.doc));
            }
        }
        for d in &batch.docs {
            self.docs.insert(d.header.id(), d.clone());
        }
        let mut out = Committed::default();
        for c in &batch.changes {
            if self.change_set.insert((c.doc, c.hash)) {
                self.changes.entry(c.doc).or_default().push(c.clone());
                out.new_changes += 1;
            }
        }
        for c in &batch.certs {
            if self.certs.insert(c.clone()) {
                out.new_certs += 1;
            }
        }
        for k in &batch.keys {
            self.keys.insert(k.key, k.clone());
        }
        if batch.reindex_all {
            self.index.clear();
        }
        for (k, v) in &batch.meta {
            self.meta.insert(k.clone(), v.clone());
        }
        for idx in &batch.index {
            self.index.insert(idx.doc, idx.clone());
        }
        for (doc, hash) in &batch.removed {
            if self.change_set.remove(&(*doc, *hash))
                && let Some(list) = self.changes.get_mut(doc)
            {
                list.retain(|c| c.hash != *hash);
            }
        }
        Ok(out)
    }

    fn document(&self, id: &DocId) -> Result<Option<StoredDoc>, StoreError> {
        Ok(self.docs.get(id).cloned())
    }

    fn headers(&self) -> Result<Vec<DocHeader>, StoreError> {
        Ok(self.docs.values().map(|d| d.header).collect())
    }

    fn all_heads(&self) -> Result<Vec<(DocHeader, Vec<ChangeHash>)>, StoreError> {
        Ok(self
            .docs
            .values()
            .map(|d| (d.header, d.heads.clone()))
            .collect())
    }

    fn changes(&self, doc: &DocId) -> Result<Vec<StoredChange>, StoreError> {
        Ok(self.changes.get(doc).cloned().unwrap_or_default())
    }

    fn docs_signed_by(&self, key: &PublicKey) -> Result<Vec<DocId>, StoreError> {
        Ok(self
            .changes
            .iter()
            .filter(|(_, list)| list.iter().any(|c| c.signer == *key))
            .map(|(d, _)| *d)
            .collect())
    }

    fn has_change(&self, doc: &DocId, hash: &ChangeHash) -> Result<bool, StoreError> {
        Ok(self.change_set.contains(&(*doc, *hash)))
    }

    fn certs(&self) -> Result<Vec<StoredCert>, StoreError> {
        Ok(self.certs.iter().cloned().collect())
    }

    fn keys(&self) -> Result<Vec<KeyRecord>, StoreError> {
        Ok(self.keys.values().cloned().collect())
    }

    fn counts(&self) -> Result<Counts, StoreError> {
        Ok(Counts {
            documents: self.docs.len() as u64,
            changes: self.change_set.len() as u64,
            certificates: self.certs.len() as u64,
        })
    }

    fn needs_reindex(&self) -> Result<bool, StoreError> {
        Ok(false)
    }

    fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self.meta.get(key).cloned())
    }

    fn integrity_check(&self) -> Result<(), StoreError> {
        for doc in self.changes.keys() {
            if !self.docs.contains_key(doc) {
                return Err(StoreError::Corrupt(format!(
                    "changes for missing document {doc}"
                )));
            }
        }
        Ok(())
    }
}
