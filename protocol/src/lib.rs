//! # allmende-protocol
//!
//! The data model, identities, signed CRDT changes, authorisation rules and encodings of
//! Allmende. Pure: no I/O, no clock, no randomness. Time and random bytes are passed in.
//!
//! ## Invariants this crate upholds
//! 1. **A signature binds document and change.** Every Automerge change travels as a
//!    [`change::SignedChange`]; the ed25519 signature covers
//!    `"allmende/v1/change\0" ‖ doc id ‖ change hash`, and the change hash covers every byte
//!    of the change.
//! 2. **Only verified and authorised changes reach a document.**
//!    [`doc::Document::apply`] takes [`auth::AuthorisedChange`]s only, which can be made only
//!    by [`change::SignedChange::verify`] followed by [`auth::Certificates::authorise`].
//! 3. **Actor ids are bound to signers and never shared**: `signer key ‖ 16-byte replica id`
//!    (see [`change`]).
//! 4. **Authorisation is deterministic**: it depends on signed statements only, so nodes that
//!    know the same statements decide alike (see [`auth`]).
//! 5. **Everything that leaves the process is versioned** (see [`wire`]); decoders refuse
//!    unknown versions, truncation, trailing bytes and oversized fields.
//! 6. **Reconciliation costs grow with the difference**: [`sync`] compares inventories
//!    (document id → heads digest, certificate key) by range fingerprints, so two nodes
//!    exchange bytes in proportion to what differs, not to the catalog's size; its messages
//!    are versioned and size-limited like everything else.
//!
//! ## Merge rules
//! Records are Automerge maps of fields; a field is one scalar holding its JSON text. Two
//! concurrent writes to the same field resolve by Automerge's deterministic rule (the change
//! with the greater operation id wins), so every replica shows the same value. Distinct
//! fields and distinct records merge without loss.

pub mod auth;
pub mod catalog;
pub mod change;
pub mod chunk;
pub mod doc;
pub mod equivocation;
pub mod gv100ad;
pub mod header;
pub mod identity;
pub mod ids;
pub mod manifest;
#[cfg(feature = "utoipa")]
pub mod openapi;
pub mod ozg;
pub mod reference;
pub mod schema;
pub mod stewardship;
pub mod sync;
pub mod wire;

pub use automerge;
