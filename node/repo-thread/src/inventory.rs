//! The inventory import's write: one signed batch.
//!
//! Everything is checked before anything is written: each new product and each deployment
//! against the schema, the record keys, the products the deployments name (in the store or
//! created by the same batch), the batch's size. Then [`Repo::edit_many`] makes every change
//! (the new products; the organisation's deployments document in as many changes as keep
//! each well below the protocol's size limit, a quarter of it in records) and stores them
//! in one transaction with the remembered column mapping. If any check, signature,
//! authorisation or the commit fails, nothing is stored.
//!
//! Threat: the batch is built from a local user's uploaded file (see
//! `allmende_formats::inventory`); a bad cell must not leave half an inventory behind, and a
//! huge file must not become a change over the protocol's size limit (the deployments are
//! cut into changes by size, and the size is checked again when each change is made).
//!
//! [`Repo::edit_many`]: allmende_store::repo::Repo::edit_many

use std::collections::HashSet;

use allmende_protocol::automerge::ChangeHash;
use allmende_protocol::change::MAX_CHANGE_BYTES;
use allmende_protocol::doc::{DocHeader, DocKind};
use allmende_protocol::identity::Keypair;
use allmende_protocol::ids::{DocId, OrgId};
use allmende_protocol::schema::{Deployment, Product, UnixTime, Validate};
use allmende_store::repo::{ManyEdit, Repo, RepoError};
use allmende_store::store::{SqliteStore, Store};

use crate::repo_actor::RepoState;

/// Most deployments one batch writes.
pub const MAX_DEPLOYMENTS: usize = 2_000;
/// Most products one batch creates.
pub const MAX_PRODUCTS: usize = 1_000;

/// What an inventory import writes.
#[derive(Debug, Clone, Default)]
pub struct ImportBatch {
    /// New product entries: (header nonce, product); created by the importing organisation.
    pub products: Vec<([u8; 16], Product)>,
    /// Deployments to store: (record key, deployment), added, updated or ended.
    pub deployments: Vec<(String, Deployment)>,
    /// Store settings written with it (the remembered column mapping).
    pub meta: Vec<(String, String)>,
}

/// What the batch wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportWritten {
    /// Products created.
    pub products: Vec<DocId>,
    /// Deployments written.
    pub deployments: usize,
}

/// Why a batch was refused before anything was written.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// A record fails a check (the message names it).
    #[error("{0}")]
    Invalid(String),
    /// The repository refused or failed (nothing was written).
    #[error(transparent)]
    Repo(#[from] RepoError),
}

impl ImportBatch {
    /// Checks the batch as a whole: sizes, schema, keys, products.
    pub fn check(
        &self,
        org: OrgId,
        exists: &dyn Fn(&DocId) -> Result<bool, RepoError>,
    ) -> Result<(), ImportError> {
        let bad = |m: String| Err(ImportError::Invalid(m));
        if self.deployments.len() > MAX_DEPLOYMENTS {
            return bad(format!(
                "{} deployments in one import; at most {MAX_DEPLOYMENTS}",
                self.deployments.len()
            ));
        }
        if self.products.len() > MAX_PRODUCTS {
            return bad(format!(
                "{} new products in one import; at most {MAX_PRODUCTS}",
                self.products.len()
            ));
        }
        let mut new_ids = HashSet::new();
        for (nonce, p) in &self.products {
            if let Err(e) = p.validate() {
                return bad(format!("new product {:?}: invalid {e}", p.name));
            }
            if !new_ids.insert(DocHeader::product(org, *nonce).id()) {
                return bad("two new products with the same nonce".into());
            }
        }
        let mut keys = HashSet::new();
        for (key, d) in &self.deployments {
            if key.is_empty() || key.len() > 64 || !keys.insert(key.as_str()) {
                return bad(format!(
                    "deployment key {key:?} is empty, too long or repeated"
                ));
            }
            if let Err(e) = d.validate() {
                return bad(format!("deployment {key}: invalid {e}"));
            }
            if !new_ids.contains(&d.product) && !exists(&d.product)? {
                return bad(format!(
                    "deployment {key}: product {:#} is neither in the catalog nor created by this import",
                    d.product
                ));
            }
        }
        Ok(())
    }
}

impl ImportBatch {
    /// The documents the batch writes: the new products, then the organisation's deployments.
    pub fn headers(&self, org: OrgId) -> Vec<DocHeader> {
        let mut h: Vec<DocHeader> = self
            .products
            .iter()
            .map(|(nonce, _)| DocHeader::product(org, *nonce))
            .collect();
        if !self.deployments.is_empty() {
            h.push(DocHeader::singleton(DocKind::Deployments, org));
        }
        h
    }
}

/// Writes an inventory import for `org` into `repo`, signed by `author`, all or nothing (see
/// the module documentation). Returns what was written and, per document of
/// [`ImportBatch::headers`], its new change. The command line writes this way; a running
/// node through [`RepoState::write_import`], which also announces the changes.
pub fn write_import(
    repo: &mut Repo<SqliteStore>,
    author: &Keypair,
    org: OrgId,
    batch: ImportBatch,
    now: UnixTime,
) -> Result<(ImportWritten, Vec<Option<ChangeHash>>), ImportError> {
    {
        let store = repo.store();
        batch.check(org, &|id| {
            Ok(store
                .document(id)?
                .is_some_and(|d| d.header.kind == DocKind::Product))
        })?;
    }
    let headers = batch.headers(org);
    let mut edits: Vec<(DocHeader, ManyEdit)> = Vec::new();
    let mut products = Vec::new();
    for ((_, p), header) in batch.products.into_iter().zip(&headers) {
        products.push(header.id());
        edits.push((*header, Box::new(move |ed| ed.put_root(&p))));
    }
    let deployments = batch.deployments.len();
    if let Some(header) = headers.get(products.len()) {
        for records in change_sized(batch.deployments) {
            edits.push((
                *header,
                Box::new(move |ed| {
                    for (key, d) in &records {
                        ed.put(key, d)?;
                    }
                    Ok(())
                }),
            ));
        }
    }
    let hashes = repo.edit_many(author, now, edits, batch.meta)?;
    // One hash per document: the last change made to it.
    let mut per_doc: Vec<Option<ChangeHash>> = hashes[..products.len()].to_vec();
    if headers.len() > products.len() {
        per_doc.push(hashes[products.len()..].iter().rev().find_map(|h| *h));
    }
    Ok((
        ImportWritten {
            products,
            deployments,
        },
        per_doc,
    ))
}

/// Bytes of deployment records (as JSON) per change of the deployments document: a quarter
/// of the protocol's change limit. The changes of 1,999 deployments with every field filled
/// measured 1.00 times their records' JSON (842 of 846 KB, in 13 changes of at most 65 KB;
/// `the_largest_inventory_is_written_in_changes_within_the_limit` in
/// `node/tests/inventory.rs`), so each change stays well below the limit. One change of them
/// all took 838 KB, over three times the limit.
const CHANGE_RECORD_BYTES: usize = MAX_CHANGE_BYTES / 4;

/// Cuts `records` into runs whose JSON stays within [`CHANGE_RECORD_BYTES`] each (a single
/// larger record, which the schema's bounds do not allow, gets a run of its own), in order.
fn change_sized(records: Vec<(String, Deployment)>) -> Vec<Vec<(String, Deployment)>> {
    let mut runs: Vec<Vec<(String, Deployment)>> = Vec::new();
    let mut bytes = 0;
    for (key, d) in records {
        let size = key.len() + serde_json::to_vec(&d).map_or(CHANGE_RECORD_BYTES, |v| v.len());
        match runs.last_mut() {
            Some(run) if bytes + size <= CHANGE_RECORD_BYTES => run.push((key, d)),
            _ => {
                runs.push(vec![(key, d)]);
                bytes = 0;
            }
        }
        bytes += size;
    }
    runs
}

impl RepoState {
    /// [`write_import`] on the node's repository, then the changes announced to peers.
    pub fn write_import(
        &mut self,
        author: &Keypair,
        org: OrgId,
        batch: ImportBatch,
        now: UnixTime,
    ) -> Result<ImportWritten, ImportError> {
        let headers = batch.headers(org);
        let old: Vec<_> = headers.iter().map(|h| self.held_heads(&h.id())).collect();
        let (written, hashes) = write_import(self.repo_mut(), author, org, batch, now)?;
        for ((header, old), hash) in headers.into_iter().zip(old).zip(hashes) {
            if hash.is_some() {
                self.announce_local(header, &old)?;
            }
        }
        Ok(written)
    }
}
