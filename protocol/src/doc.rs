//! Document kinds, headers and the Automerge wrapper.
//!
//! A document is identified by the SHA-256 of its header ([`DocHeader::id`]), so its id
//! commits to its kind and owner: nobody can present a deployment document of Stadt X under
//! another owner. Layout inside the Automerge document:
//!
//! | kind | root map holds |
//! |---|---|
//! | profile | the profile's fields |
//! | product | the product's fields |
//! | deployments | `deployments` → record id → fields |
//! | experience | `ratings` → product id → fields; `reuse_reports` → record id → fields |
//! | trust | `attestations` → organisation id → fields; `stewardships` → `product/org` → fields |
//!
//! Every field is a scalar string holding the field's JSON text. Whole fields merge
//! last-writer-wins (Automerge's deterministic conflict rule), nobody co-edits a field
//! character by character, and fields unknown to this version are kept untouched.

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{
    ActorId, AutoCommit, ChangeHash, ObjId, ObjType, ROOT, ReadDoc, ScalarValue, ScalarValueRef,
    Value, ValueRef,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::auth::AuthorisedChange;
use crate::change::{MAX_CHANGE_BYTES, ReplicaId, SignedChange, actor_id};
pub use crate::header::{DocHeader, DocKind};
use crate::identity::Keypair;
use crate::ids::DocId;
use crate::schema::{
    Attestation, Deployment, OrgProfile, Product, Rating, ReuseReport, SchemaError, UnixTime,
    Validate,
};
/// Where a record type lives in its document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// The document's root map is the record (profile, product).
    Root,
    /// A map under this root key, one entry per record.
    Section(&'static str),
}

/// A record type of the schema and where it lives.
pub trait Record: Serialize + DeserializeOwned + Validate {
    /// The document kind that holds it.
    const KIND: DocKind;
    /// Its place in that document.
    const PLACE: Place;
    /// Fields left out of the record when unset (added after the v1 encoding was pinned, so
    /// they are not written as `null`). Writing a record without one deletes a stored value.
    const OMITTED_WHEN_UNSET: &'static [&'static str] = &[];
}

impl Record for OrgProfile {
    const KIND: DocKind = DocKind::Profile;
    const PLACE: Place = Place::Root;
}
impl Record for Product {
    const KIND: DocKind = DocKind::Product;
    const PLACE: Place = Place::Root;
    const OMITTED_WHEN_UNSET: &'static [&'static str] = &[
        "vendor_org",
        "same_as",
        "co_stewards",
        "current_version",
        "support_ends",
    ];
}
impl Record for Deployment {
    const KIND: DocKind = DocKind::Deployments;
    const PLACE: Place = Place::Section("deployments");
    const OMITTED_WHEN_UNSET: &'static [&'static str] = &[
        "contact_role",
        "exchange_ok",
        "until",
        "replaced_by",
        "end_reason",
    ];
}
impl Record for crate::schema::TrainingOffer {
    const KIND: DocKind = DocKind::Experience;
    const PLACE: Place = Place::Section("trainings");
}
impl Record for crate::schema::TrainingRating {
    const KIND: DocKind = DocKind::Experience;
    const PLACE: Place = Place::Section("training_ratings");
}
impl Record for Rating {
    const KIND: DocKind = DocKind::Experience;
    const PLACE: Place = Place::Section("ratings");
}
impl Record for ReuseReport {
    const KIND: DocKind = DocKind::Experience;
    const PLACE: Place = Place::Section("reuse_reports");
}
impl Record for Attestation {
    const KIND: DocKind = DocKind::Trust;
    const PLACE: Place = Place::Section("attestations");
}
impl Record for crate::schema::StewardGrant {
    const KIND: DocKind = DocKind::Trust;
    const PLACE: Place = Place::Section("stewardships");
}

/// Errors of document operations.
#[derive(Debug, thiserror::Error)]
pub enum DocError {
    /// The record does not belong in this kind of document.
    #[error("a {record} record does not belong in a {kind} document")]
    WrongKind {
        /// The document kind.
        kind: &'static str,
        /// The record's kind.
        record: &'static str,
    },
    /// A record failed validation.
    #[error("invalid record: {0}")]
    Schema(#[from] SchemaError),
    /// A change was offered for another document.
    #[error("change for {found} offered to {expected}")]
    WrongDocument {
        /// This document.
        expected: DocId,
        /// The change's document.
        found: DocId,
    },
    /// Automerge refused.
    #[error("automerge: {0}")]
    Automerge(#[from] automerge::AutomergeError),
    /// The stored document does not match the header it is filed under.
    #[error("stored document is corrupt: {0}")]
    Corrupt(String),
    /// An edit produced a change larger than peers accept. The document that made it holds
    /// the change in memory only and must be discarded.
    #[error(
        "the edit makes a change of {len} bytes; at most {max} are allowed (shorten long texts or lists)"
    )]
    TooLarge {
        /// Size of the change.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Applying the changes would make the document hold more than [`MAX_DOC_OPS`] ops.
    #[error("the document would hold {ops} ops; at most {MAX_DOC_OPS} are allowed")]
    TooManyOps {
        /// Ops the document would hold.
        ops: u64,
    },
}

/// Most ops one document may hold (every change applied, Automerge's own count). Each op costs
/// memory whenever the document is loaded: a document at the limit takes about 100 MB. A
/// product or an organisation's records with years of edits are far below it; only a key
/// writing its own document without end reaches it.
pub const MAX_DOC_OPS: u64 = 1_000_000;

/// One document: its header and its Automerge state.
pub struct Document {
    header: DocHeader,
    id: DocId,
    doc: AutoCommit,
}

impl std::fmt::Debug for Document {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Document")
            .field("id", &self.id)
            .field("kind", &self.header.kind)
            .finish()
    }
}

impl Document {
    /// An empty document.
    pub fn new(header: DocHeader) -> Self {
        Self {
            header,
            id: header.id(),
            doc: AutoCommit::new(),
        }
    }

    /// Loads a saved document. Only bytes this node saved itself are loaded this way;
    /// bytes from peers arrive as signed changes.
    pub fn load(header: DocHeader, bytes: &[u8]) -> Result<Self, DocError> {
        let doc = AutoCommit::load(bytes)?;
        Ok(Self {
            header,
            id: header.id(),
            doc,
        })
    }

    /// The header.
    pub fn header(&self) -> &DocHeader {
        &self.header
    }

    /// The id.
    pub fn id(&self) -> DocId {
        self.id
    }

    /// Compact saved form.
    pub fn save(&mut self) -> Vec<u8> {
        self.doc.save()
    }

    /// Current heads, sorted.
    pub fn heads(&mut self) -> Vec<ChangeHash> {
        let mut h = self.doc.get_heads();
        h.sort();
        h
    }

    /// The latest time the document's heads (its newest changes) claim, in Unix seconds; `None`
    /// for an empty document. Claimed by the authors: callers clamp it to their own clock.
    pub fn newest_claimed_time(&mut self) -> Option<i64> {
        let heads = self.doc.get_heads();
        heads
            .iter()
            .filter_map(|h| self.doc.get_change_by_hash(h).map(|c| c.timestamp()))
            .max()
    }

    /// Whether the change is part of the document.
    pub fn has_change(&mut self, hash: &ChangeHash) -> bool {
        self.doc.get_change_by_hash(hash).is_some()
    }

    /// Changes the document is waiting for (applied changes whose deps are missing).
    pub fn missing_deps(&mut self) -> Vec<ChangeHash> {
        self.doc.get_missing_deps(&[])
    }

    /// Hashes of the changes a peer that has `have` lacks, in causal order. Hashes in `have`
    /// that this document does not know are ignored (the peer may be ahead there).
    pub fn changes_since(&mut self, have: &[ChangeHash]) -> Vec<ChangeHash> {
        let known: Vec<ChangeHash> = have
            .iter()
            .copied()
            .filter(|h| self.doc.get_change_by_hash(h).is_some())
            .collect();
        self.doc
            .get_changes(&known)
            .iter()
            .map(|c| c.hash())
            .collect()
    }

    /// The changes added after `have` (hashes this document holds), in causal order.
    pub fn changes_after(&mut self, have: &[ChangeHash]) -> Vec<automerge::Change> {
        self.doc.get_changes(have)
    }

    /// Every change, in causal order, for re-verification or export.
    pub fn all_changes(&mut self) -> Vec<automerge::Change> {
        self.doc.get_changes(&[])
    }

    /// Applies verified and authorised changes. Idempotent; changes whose dependencies are
    /// missing wait inside Automerge until they arrive (see [`Document::missing_deps`]).
    pub fn apply(
        &mut self,
        changes: impl IntoIterator<Item = AuthorisedChange>,
    ) -> Result<(), DocError> {
        let mut batch = Vec::new();
        for c in changes {
            let c = c.into_verified();
            if c.doc() != self.id {
                return Err(DocError::WrongDocument {
                    expected: self.id,
                    found: c.doc(),
                });
            }
            batch.push(c.into_change());
        }
        // Bounded before Automerge holds them; changes already in the document count twice
        // here, which errs on the safe side.
        let ops = batch
            .iter()
            .map(|c| c.len() as u64)
            .fold(self.doc.stats().num_ops, u64::saturating_add);
        if ops > MAX_DOC_OPS {
            return Err(DocError::TooManyOps { ops });
        }
        self.doc.apply_changes(batch)?;
        Ok(())
    }

    /// Makes a local edit as `author` and returns the signed change, or `None` when the edit
    /// changed nothing. The actor id is `author ‖ replica`, so two writers never share one.
    pub fn edit(
        &mut self,
        author: &Keypair,
        replica: ReplicaId,
        time: UnixTime,
        f: impl FnOnce(&mut Editor<'_>) -> Result<(), DocError>,
    ) -> Result<Option<SignedChange>, DocError> {
        self.edit_shown(author, replica, time, None, f)
    }

    /// [`Document::edit`] of a product whose shown values are `shown` (its
    /// [`crate::stewardship::Resolution`]): [`Editor::put_root`] then writes each field whose
    /// value differs from the shown one, whatever Automerge holds (a proposal's value, say).
    pub fn edit_shown(
        &mut self,
        author: &Keypair,
        replica: ReplicaId,
        time: UnixTime,
        shown: Option<&dyn ShownValues>,
        f: impl FnOnce(&mut Editor<'_>) -> Result<(), DocError>,
    ) -> Result<Option<SignedChange>, DocError> {
        self.doc.set_actor(ActorId::from(
            actor_id(&author.public(), &replica).as_slice(),
        ));
        let result = {
            let mut ed = Editor {
                doc: &mut self.doc,
                kind: self.header.kind,
                shown,
            };
            f(&mut ed)
        };
        if let Err(e) = result {
            self.doc.rollback();
            return Err(e);
        }
        let Some(hash) = self
            .doc
            .commit_with(CommitOptions::default().with_time(time.0))
        else {
            return Ok(None);
        };
        let change = self
            .doc
            .get_change_by_hash(&hash)
            .ok_or_else(|| DocError::Corrupt("the change just committed is missing".into()))?;
        if change.raw_bytes().len() > MAX_CHANGE_BYTES {
            // Peers would refuse it; the caller discards this in-memory document.
            return Err(DocError::TooLarge {
                len: change.raw_bytes().len(),
                max: MAX_CHANGE_BYTES,
            });
        }
        Ok(Some(SignedChange::sign(author, self.id, change)))
    }

    /// Reads the root record (profile, product). `None` when the document has no fields yet.
    pub fn root<T: Record>(&self) -> Option<Result<T, SchemaError>> {
        if T::KIND != self.header.kind || T::PLACE != Place::Root {
            return None;
        }
        read_map(&self.doc, &ROOT)
    }

    /// Reads every record of a section, by key, sorted by key.
    pub fn records<T: Record>(&self) -> Vec<(String, Result<T, SchemaError>)> {
        let Place::Section(name) = T::PLACE else {
            return Vec::new();
        };
        if T::KIND != self.header.kind {
            return Vec::new();
        }
        // Every record of every conflicting copy of the section (see `sections`); a key in
        // several copies is read from the copy that wins the conflict, as `Editor` writes it.
        // One pass over each map (`map_range` yields each key's winning value, as `get`
        // does): a lookup per key costs a seek through the document each.
        let mut records = std::collections::BTreeMap::new();
        for section in sections(&self.doc, name) {
            for item in self.doc.map_range(&section, ..) {
                if matches!(item.value, ValueRef::Object(ObjType::Map)) {
                    let id = item.id();
                    records.insert(item.key.into_owned(), id);
                }
            }
        }
        records
            .into_iter()
            .filter_map(|(k, obj)| read_map(&self.doc, &obj).map(|r| (k, r)))
            .collect()
    }
}

/// The maps stored under the root key `name`, the conflict's winner last.
///
/// Two writers of one document (an organisation and its delegate, or its two nodes) who each
/// add the first record of a section concurrently each create the section's map: Automerge
/// keeps both as a conflict on the root key and shows only the winner. Reading and writing
/// only the winner would silently drop the other writer's records, so every copy is used.
fn sections(doc: &AutoCommit, name: &str) -> Vec<ObjId> {
    doc.get_all(ROOT, name)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|(v, id)| matches!(v, Value::Object(ObjType::Map)).then_some(id))
        .collect()
}

fn read_map<T: DeserializeOwned + Validate>(
    doc: &AutoCommit,
    obj: &ObjId,
) -> Option<Result<T, SchemaError>> {
    record_of_fields(doc.map_range(obj, ..).filter_map(|item| match item.value {
        ValueRef::Scalar(ScalarValueRef::Str(text)) => Some((item.key, text)),
        _ => None,
    }))
}

/// The record whose fields hold these JSON texts; `None` without any field. Also what
/// [`crate::stewardship`] makes of the values it resolved.
pub(crate) fn record_of_fields<T: DeserializeOwned + Validate>(
    fields: impl Iterator<Item = (impl AsRef<str>, impl AsRef<str>)>,
) -> Option<Result<T, SchemaError>> {
    let mut map = serde_json::Map::new();
    for (key, text) in fields {
        let key = key.as_ref();
        match serde_json::from_str(text.as_ref()) {
            Ok(v) => {
                map.insert(key.to_owned(), v);
            }
            Err(e) => {
                return Some(Err(SchemaError::new(
                    key,
                    format!("stored value is not JSON: {e}"),
                )));
            }
        }
    }
    if map.is_empty() {
        return None;
    }
    Some(
        serde_json::from_value::<T>(serde_json::Value::Object(map))
            .map_err(|e| SchemaError::new("record", e.to_string()))
            .and_then(|r| r.validate().map(|()| r)),
    )
}

/// One field a change writes: its JSON text, or `None` when it removes the field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldEdit {
    /// The field.
    pub field: String,
    /// The new value's JSON text.
    pub value: Option<String>,
}

/// The values a node shows of a product's root fields (JSON texts), against which a write is
/// diffed ([`Document::edit_shown`]); the stewardship rule's resolution is one
/// ([`crate::stewardship::Resolution`]).
pub trait ShownValues {
    /// The shown JSON text of `field`, if any.
    fn value(&self, field: &str) -> Option<&str>;
}

/// The field writes that make a root map whose values `shown` returns hold `record`.
pub fn diff_record<'a, T: Record>(
    shown: impl Fn(&str) -> Option<&'a str>,
    record: &T,
) -> Result<Vec<FieldEdit>, SchemaError> {
    let value =
        serde_json::to_value(record).map_err(|e| SchemaError::new("record", e.to_string()))?;
    let serde_json::Value::Object(fields) = value else {
        return Err(SchemaError::new("record", "a record must be a JSON object"));
    };
    let mut out = Vec::new();
    for key in T::OMITTED_WHEN_UNSET {
        if !fields.contains_key(*key) && shown(key).is_some() {
            out.push(FieldEdit {
                field: (*key).to_owned(),
                value: None,
            });
        }
    }
    for (k, v) in fields {
        let text = v.to_string();
        if shown(&k) != Some(text.as_str()) {
            out.push(FieldEdit {
                field: k,
                value: Some(text),
            });
        }
    }
    Ok(out)
}

/// Writes records into a document during [`Document::edit`].
pub struct Editor<'a> {
    doc: &'a mut AutoCommit,
    kind: DocKind,
    shown: Option<&'a dyn ShownValues>,
}

impl Editor<'_> {
    fn check<T: Record>(&self) -> Result<(), DocError> {
        if T::KIND != self.kind {
            return Err(DocError::WrongKind {
                kind: self.kind.slug(),
                record: T::KIND.slug(),
            });
        }
        Ok(())
    }

    /// Validates and writes the root record; only fields whose value changed are written.
    pub fn put_root<T: Record>(&mut self, record: &T) -> Result<(), DocError> {
        self.check::<T>()?;
        record.validate()?;
        if let Some(shown) = self.shown {
            let edits = diff_record(|k| shown.value(k), record)?;
            return self.put_fields(&edits);
        }
        write_fields(self.doc, &ROOT, record)
    }

    /// Validates and writes a record of a section under `key`.
    pub fn put<T: Record>(&mut self, key: &str, record: &T) -> Result<(), DocError> {
        self.check::<T>()?;
        record.validate()?;
        let Place::Section(name) = T::PLACE else {
            return Err(DocError::WrongKind {
                kind: self.kind.slug(),
                record: "root",
            });
        };
        let sections = sections(self.doc, name);
        // The record where `Document::records` reads it: in the winning copy of the section
        // that holds it.
        let mut existing = None;
        for section in sections.iter().rev() {
            if let Some((Value::Object(ObjType::Map), id)) = self.doc.get(section, key)? {
                existing = Some(id);
                break;
            }
        }
        let obj = match (existing, sections.last()) {
            (Some(id), _) => id,
            (None, Some(section)) => self.doc.put_object(section, key, ObjType::Map)?,
            (None, None) => {
                let section = self.doc.put_object(ROOT, name, ObjType::Map)?;
                self.doc.put_object(&section, key, ObjType::Map)?
            }
        };
        write_fields(self.doc, &obj, record)
    }

    /// Writes root fields of a product exactly as given (JSON texts; `None` removes the
    /// field), also when Automerge holds the same text already: what a node shows is resolved
    /// from who wrote what ([`crate::stewardship`]), so a steward's write of a value a
    /// proposal holds is not a no-op. The caller validates the product these make.
    pub fn put_fields(&mut self, edits: &[FieldEdit]) -> Result<(), DocError> {
        self.check::<Product>()?;
        for e in edits {
            if e.field.is_empty() || e.field.contains('/') {
                return Err(SchemaError::new(e.field.clone(), "not a product field").into());
            }
            match &e.value {
                Some(text) => {
                    serde_json::from_str::<serde_json::Value>(text).map_err(|err| {
                        SchemaError::new(e.field.clone(), format!("not JSON: {err}"))
                    })?;
                    // Automerge skips a put of the value it shows already (and turns one
                    // into a delete of the losers of a conflict): a delete first makes the
                    // put an operation of this change.
                    if self.doc.get(ROOT, e.field.as_str())?.is_some() {
                        self.doc.delete(ROOT, e.field.as_str())?;
                    }
                    self.doc.put(ROOT, e.field.as_str(), text.as_str())?;
                }
                None => {
                    // Likewise: a delete of a field Automerge does not show is no operation.
                    self.doc.put(ROOT, e.field.as_str(), "null")?;
                    self.doc.delete(ROOT, e.field.as_str())?;
                }
            }
        }
        Ok(())
    }

    /// Writes one root field of a product as the JSON text given (no schema check: for the
    /// stewardship rule's own keys, such as decisions).
    pub(crate) fn put_product_text(&mut self, key: &str, text: &str) -> Result<(), DocError> {
        self.check::<Product>()?;
        self.doc.put(ROOT, key, text)?;
        Ok(())
    }

    /// Deletes a record of a section.
    pub fn delete<T: Record>(&mut self, key: &str) -> Result<(), DocError> {
        self.check::<T>()?;
        let Place::Section(name) = T::PLACE else {
            return Ok(());
        };
        // From every copy of the section, or an older copy would show the record again.
        for section in sections(self.doc, name) {
            if self.doc.get(&section, key)?.is_some() {
                self.doc.delete(&section, key)?;
            }
        }
        Ok(())
    }
}

fn write_fields<T: Record>(doc: &mut AutoCommit, obj: &ObjId, record: &T) -> Result<(), DocError> {
    let value =
        serde_json::to_value(record).map_err(|e| SchemaError::new("record", e.to_string()))?;
    let serde_json::Value::Object(fields) = value else {
        return Err(SchemaError::new("record", "a record must be a JSON object").into());
    };
    // Every field of `T` serialises (unset ones as `null`) except the few listed in
    // OMITTED_WHEN_UNSET, which are deleted when unset; fields a newer version wrote stay
    // untouched.
    for key in T::OMITTED_WHEN_UNSET {
        if !fields.contains_key(*key) && doc.get(obj, *key)?.is_some() {
            doc.delete(obj, *key)?;
        }
    }
    for (key, v) in fields {
        let text = v.to_string();
        let same = matches!(
            doc.get(obj, key.as_str())?,
            Some((Value::Scalar(s), _)) if matches!(s.as_ref(), ScalarValue::Str(t) if t.as_str() == text)
        );
        if !same {
            doc.put(obj, key.as_str(), text)?;
        }
    }
    Ok(())
}
