//! What identifies a document: its kind and its header (kind, owner, nonce), whose SHA-256 is
//! the document id ([`DocHeader::id`]). Kept apart from the Automerge wrapper in
//! [`crate::doc`] (which re-exports both), so the authorisation rules can name a document's
//! kind without depending on documents.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::ids::{DocId, OrgId};
use crate::wire::{DecodeError, Reader, Writer};

/// The kinds of document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DocKind {
    /// An organisation's profile (one per organisation).
    Profile,
    /// An organisation's deployments (one per organisation).
    Deployments,
    /// An organisation's ratings and Nachnutzung reports (one per organisation).
    Experience,
    /// A shared product entry (many; any organisation may edit).
    Product,
    /// A trust anchor's attestations (one per anchor).
    Trust,
}

impl DocKind {
    /// Every kind.
    pub const ALL: &'static [DocKind] = &[
        DocKind::Profile,
        DocKind::Deployments,
        DocKind::Experience,
        DocKind::Product,
        DocKind::Trust,
    ];

    /// The byte on the wire.
    pub fn tag(&self) -> u8 {
        match self {
            DocKind::Profile => 0,
            DocKind::Deployments => 1,
            DocKind::Experience => 2,
            DocKind::Product => 3,
            DocKind::Trust => 4,
        }
    }

    fn from_tag(t: u8) -> Option<Self> {
        Self::ALL.get(usize::from(t)).copied()
    }

    /// Documents of this kind belong to one organisation and only it (and its delegates)
    /// may write them.
    pub fn is_owned(&self) -> bool {
        matches!(
            self,
            DocKind::Profile | DocKind::Deployments | DocKind::Experience
        )
    }

    /// The slug used in exports and logs.
    pub fn slug(&self) -> &'static str {
        match self {
            DocKind::Profile => "profile",
            DocKind::Deployments => "deployments",
            DocKind::Experience => "experience",
            DocKind::Product => "product",
            DocKind::Trust => "trust",
        }
    }
}

/// What a document is: its kind, its owner and a nonce. Hashing it gives the [`DocId`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DocHeader {
    /// Kind.
    pub kind: DocKind,
    /// Owner: the organisation for owned kinds and the creator of a product; the anchor's key
    /// for trust documents.
    pub owner: OrgId,
    /// Distinguishes several products by the same creator; zero for the one-per-owner kinds.
    #[serde(with = "hex16")]
    pub nonce: [u8; 16],
}

const HEADER_VERSION: u8 = 1;
const DOC_ID_DOMAIN: &[u8] = b"allmende/v1/doc\0";

impl DocHeader {
    /// The header of `owner`'s one document of an owned kind (or trust).
    pub fn singleton(kind: DocKind, owner: OrgId) -> Self {
        Self {
            kind,
            owner,
            nonce: [0; 16],
        }
    }

    /// The header of a new product created by `creator`; `nonce` comes from a CSPRNG.
    pub fn product(creator: OrgId, nonce: [u8; 16]) -> Self {
        Self {
            kind: DocKind::Product,
            owner: creator,
            nonce,
        }
    }

    /// Checks the rule the decoder enforces: only products carry a nonce. Headers built in
    /// code (or deserialised from JSON) go through this before anything is stored.
    pub fn check(&self) -> Result<(), DecodeError> {
        if self.kind != DocKind::Product && self.nonce != [0; 16] {
            return Err(DecodeError::Invalid {
                what: "nonce",
                reason: "only products carry a nonce".into(),
            });
        }
        Ok(())
    }

    /// The document id.
    pub fn id(&self) -> DocId {
        let mut h = Sha256::new();
        h.update(DOC_ID_DOMAIN);
        h.update(self.encode());
        DocId::from_bytes(h.finalize().into())
    }

    /// Versioned encoding (`AMH`).
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new(b"AMH", HEADER_VERSION);
        w.u8(self.kind.tag())
            .bytes(self.owner.as_bytes())
            .bytes(&self.nonce);
        w.finish()
    }

    /// Decodes a header.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let (mut r, _v) = Reader::open(bytes, b"AMH", "a document header", HEADER_VERSION)?;
        let tag = r.u8("kind")?;
        let kind = DocKind::from_tag(tag).ok_or(DecodeError::Invalid {
            what: "kind",
            reason: format!("unknown document kind {tag}"),
        })?;
        let owner = OrgId::from_root_key(crate::wire::read_key(&mut r, "owner")?);
        let nonce = r.array::<16>("nonce")?;
        r.finish()?;
        if kind != DocKind::Product && nonce != [0; 16] {
            return Err(DecodeError::Invalid {
                what: "nonce",
                reason: "only products carry a nonce".into(),
            });
        }
        Ok(Self { kind, owner, nonce })
    }
}

mod hex16 {
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(v: &[u8; 16], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(v))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 16], D::Error> {
        let s = String::deserialize(d)?;
        let mut out = [0u8; 16];
        hex::decode_to_slice(s, &mut out).map_err(serde::de::Error::custom)?;
        Ok(out)
    }
}
