//! Signed Automerge changes.
//!
//! **What a signature covers.** The signer signs
//! `"allmende/v1/change\0" ‖ doc id (32 bytes) ‖ change hash (32 bytes)`.
//! The change hash is Automerge's SHA-256 over the whole change (actor, seq, deps, time,
//! operations), so the signature covers every byte of the change and names the one document
//! it may be applied to; it cannot be replayed into another document.
//!
//! **Actor ids.** A change's actor id must be `signer key (32 bytes) ‖ replica id (16 bytes)`.
//! The key prefix binds the actor to the signer, so nobody can write under someone else's
//! actor; the replica suffix is drawn fresh by every writing session, so two writers (two
//! nodes of one organisation, a node restored from backup) never share an actor id, which
//! would fork the document irreparably.

use automerge::{Change, ChangeHash};

use crate::identity::{Keypair, verify};
use crate::ids::{DocId, PublicKey};
use crate::wire::{DecodeError, Reader, Writer};

const CHANGE_DOMAIN: &[u8] = b"allmende/v1/change\0";
const CHANGE_VERSION: u8 = 1;
/// Largest change accepted, in bytes. A catalog record is a few KiB; a whole product with a
/// long description stays far below this.
pub const MAX_CHANGE_BYTES: usize = 256 * 1024;

/// The per-session half of an actor id (16 random bytes, drawn by the caller).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReplicaId(pub [u8; 16]);

/// The actor id of `signer` writing in session `replica`.
pub fn actor_id(signer: &PublicKey, replica: &ReplicaId) -> [u8; 48] {
    let mut a = [0u8; 48];
    a[..32].copy_from_slice(signer.as_bytes());
    a[32..].copy_from_slice(&replica.0);
    a
}

/// Why a signed change is refused. Each case has its own variant, so logs, metrics and peer
/// penalties can tell them apart.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The envelope is malformed, oversized or of an unknown version.
    #[error("malformed signed change: {0}")]
    Decode(#[from] DecodeError),
    /// Automerge refused the change bytes (they were altered or are not a change).
    #[error("change bytes are not a valid Automerge change: {0}")]
    MalformedChange(String),
    /// The change chunk is malformed or declares more ops than a change may hold; found
    /// before Automerge parses it ([`crate::chunk`]).
    #[error("refused before parsing: {0}")]
    Chunk(#[from] crate::chunk::ChunkError),
    /// The signature does not verify for this signer, document and change.
    #[error("signature by {signer} does not verify")]
    BadSignature {
        /// The claimed signer.
        signer: PublicKey,
    },
    /// The change was signed for another document.
    #[error("change signed for {signed_for} offered for {offered_for}")]
    WrongDocument {
        /// The document the change is offered for.
        offered_for: DocId,
        /// The document named in the signature.
        signed_for: DocId,
    },
    /// The change's actor id does not start with the signer's key.
    #[error("actor id {actor} is not bound to signer {signer}")]
    ActorNotBound {
        /// The actor id (hex, truncated).
        actor: String,
        /// The signer.
        signer: PublicKey,
    },
}

/// A change with its signature, as it travels and is stored.
#[derive(Debug, Clone)]
pub struct SignedChange {
    doc: DocId,
    signer: PublicKey,
    signature: [u8; 64],
    change: Change,
    /// Whether the signature was verified already ([`SignedChange::decode`] does so before
    /// parsing), so [`SignedChange::verify`] need not verify it twice.
    signature_checked: bool,
}

fn signing_message(doc: &DocId, hash: &ChangeHash) -> Vec<u8> {
    [CHANGE_DOMAIN, doc.as_bytes(), hash.0.as_slice()].concat()
}

impl SignedChange {
    /// Signs `change` for `doc`.
    pub fn sign(key: &Keypair, doc: DocId, change: Change) -> Self {
        let signature = key.sign(&signing_message(&doc, &change.hash()));
        Self {
            doc,
            signer: key.public(),
            signature,
            change,
            signature_checked: true,
        }
    }

    /// Assembles a signed change from parts (e.g. read back from a store); nothing is checked
    /// until [`SignedChange::verify`].
    pub fn from_parts(doc: DocId, signer: PublicKey, signature: [u8; 64], change: Change) -> Self {
        Self {
            doc,
            signer,
            signature,
            change,
            signature_checked: false,
        }
    }

    /// The document named in the signature.
    pub fn doc(&self) -> DocId {
        self.doc
    }

    /// The signer.
    pub fn signer(&self) -> PublicKey {
        self.signer
    }

    /// The signature.
    pub fn signature(&self) -> &[u8; 64] {
        &self.signature
    }

    /// The Automerge change hash.
    pub fn hash(&self) -> ChangeHash {
        self.change.hash()
    }

    /// The bytes the signature covers (domain, document id, change hash), for verifying it
    /// with another ed25519 implementation or in a batch.
    pub fn signed_message(&self) -> Vec<u8> {
        signing_message(&self.doc, &self.change.hash())
    }

    /// The change.
    pub fn change(&self) -> &Change {
        &self.change
    }

    /// The author's timestamp (seconds), as claimed in the change.
    pub fn time(&self) -> crate::schema::UnixTime {
        crate::schema::UnixTime(self.change.timestamp())
    }

    /// Checks that the change is for `doc`, that its actor is bound to the signer and that the
    /// signature verifies. Authorisation is a separate step ([`crate::auth`]).
    pub fn verify(self, doc: DocId) -> Result<VerifiedChange, VerifyError> {
        if self.doc != doc {
            return Err(VerifyError::WrongDocument {
                offered_for: doc,
                signed_for: self.doc,
            });
        }
        let actor = self.change.actor_id().to_bytes();
        if actor.len() != 48 || actor[..32] != self.signer.as_bytes()[..] {
            let mut hex = hex::encode(actor);
            hex.truncate(80);
            return Err(VerifyError::ActorNotBound {
                actor: hex,
                signer: self.signer,
            });
        }
        if !self.signature_checked
            && !verify(
                &self.signer,
                &signing_message(&self.doc, &self.change.hash()),
                &self.signature,
            )
        {
            return Err(VerifyError::BadSignature {
                signer: self.signer,
            });
        }
        Ok(VerifiedChange(self))
    }

    /// Versioned encoding (`AMC` v1): doc id, signer, signature, length-prefixed change bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new(b"AMC", CHANGE_VERSION);
        w.bytes(self.doc.as_bytes())
            .bytes(self.signer.as_bytes())
            .bytes(&self.signature)
            .var(self.change.raw_bytes());
        w.finish()
    }

    /// Decodes a signed change from outside (a peer, an import file): the envelope, then the
    /// signature over the change hash computed from the raw bytes, then the op counts
    /// ([`crate::chunk`]), and only then Automerge's parse. A forged change costs one
    /// signature check and a signed decode bomb a walk over its bytes, never a parse. The
    /// document and the actor binding are checked by [`SignedChange::verify`].
    pub fn decode(bytes: &[u8]) -> Result<Self, VerifyError> {
        Self::decode_with(bytes, true)
    }

    /// Decodes a signed change this node stored itself, after verifying it: as
    /// [`SignedChange::decode`] without the signature check (serving peers decodes stored
    /// changes by the thousand; the receiver verifies them). [`SignedChange::verify`] still
    /// checks the signature of a change decoded this way.
    pub fn decode_stored(bytes: &[u8]) -> Result<Self, VerifyError> {
        Self::decode_with(bytes, false)
    }

    fn decode_with(bytes: &[u8], check_signature: bool) -> Result<Self, VerifyError> {
        let (mut r, _v) = Reader::open(bytes, b"AMC", "a signed change", CHANGE_VERSION)?;
        let doc = DocId::from_bytes(r.array::<32>("doc id")?);
        let signer = crate::identity::read_key(&mut r, "signer")?;
        let signature = r.array::<64>("signature")?;
        let raw = r.var("change", MAX_CHANGE_BYTES)?;
        r.finish()?;
        // Only plain change chunks, as `encode` writes them: Automerge inflates a compressed
        // chunk (and a document chunk's columns) without a bound while parsing, so a
        // `MAX_CHANGE_BYTES` input could become hundreds of megabytes. `chunk::hash` refuses
        // every other chunk type.
        let hash = crate::chunk::hash(raw)?;
        if check_signature && !verify(&signer, &signing_message(&doc, &hash), &signature) {
            return Err(VerifyError::BadSignature { signer });
        }
        // Automerge does not check the checksum when parsing a single change, and the change
        // hash (which the signature covers) does not include the checksum bytes: without this
        // check they could be altered and the change would still verify.
        if raw.get(4..8) != Some(&hash.0[..4]) {
            return Err(VerifyError::MalformedChange(
                "checksum does not match the change".into(),
            ));
        }
        crate::chunk::check_ops(raw)?;
        let change =
            Change::try_from(raw).map_err(|e| VerifyError::MalformedChange(e.to_string()))?;
        if change.hash() != hash {
            return Err(VerifyError::MalformedChange(
                "the change hash differs from the hash of its bytes".into(),
            ));
        }
        Ok(Self {
            doc,
            signer,
            signature,
            change,
            signature_checked: check_signature,
        })
    }
}

/// A change whose signature and actor binding have been checked. Only these can be applied
/// to a [`crate::doc::Document`]. It is *not* yet authorised: see [`crate::auth`].
#[derive(Debug, Clone)]
pub struct VerifiedChange(SignedChange);

impl VerifiedChange {
    /// The signed change.
    pub fn signed(&self) -> &SignedChange {
        &self.0
    }

    /// The document.
    pub fn doc(&self) -> DocId {
        self.0.doc
    }

    pub(crate) fn into_change(self) -> Change {
        self.0.change
    }
}
