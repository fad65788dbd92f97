//! Newtypes for keys and identifiers.
//!
//! Which name to use where:
//! - [`PublicKey`]: any ed25519 key that signs something (an organisation's root key, a
//!   second node's key, an IT-Dienstleister's key).
//! - [`OrgId`]: the identity of an organisation. It is the organisation's *root* public key,
//!   fixed at `init`; documents an organisation owns are bound to it. Never pass an `OrgId`
//!   where "the key that signed this" is meant, and vice versa.
//! - [`DocId`]: a document, the SHA-256 of its [`crate::doc::DocHeader`].
//!
//! Every type prints a short, prefixed form for logs (`key:1a2b3c4d`, `org:…`, `doc:…`) with
//! `Display`, and its full lowercase hex with [`PublicKey::to_hex`] / `{:#}`.

use std::fmt;
use std::str::FromStr;

use ed25519_dalek::VerifyingKey;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Number of hex characters in the short display form.
const SHORT_HEX: usize = 8;

/// Errors when parsing or validating a key or id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// The text is not 64 hex characters.
    #[error("expected 64 hex characters (32 bytes), got {0:?}")]
    BadHex(String),
    /// The bytes are not a point on the curve.
    #[error("not a valid ed25519 public key")]
    InvalidKey,
    /// A small-order key: it would verify signatures nobody made.
    #[error("weak ed25519 public key (small order) refused")]
    WeakKey,
}

fn parse_hex32(s: &str) -> Result<[u8; 32], IdError> {
    let s = s.trim();
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out).map_err(|_| IdError::BadHex(truncate_for_error(s)))?;
    Ok(out)
}

/// Keeps hostile input out of error messages beyond a readable length.
pub(crate) fn truncate_for_error(s: &str) -> String {
    const MAX: usize = 80;
    if s.chars().count() <= MAX {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(MAX).collect();
        t.push('…');
        t
    }
}

/// An ed25519 public key that is valid and not weak.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PublicKey([u8; 32]);

impl PublicKey {
    /// Checks the bytes: a curve point that is not of small order.
    pub fn from_bytes(bytes: [u8; 32]) -> Result<Self, IdError> {
        key_cache::checked(&bytes)?;
        Ok(Self(bytes))
    }

    /// The 32 raw bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Full lowercase hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    pub(crate) fn verifying_key(&self) -> VerifyingKey {
        // Checked in `from_bytes`, the only constructor.
        key_cache::checked(&self.0).unwrap_or_else(|_| unreachable_key())
    }
}

/// Decompressed keys, so that a key is checked once and not again for every change it
/// signed.
///
/// Decompressing a point takes about a fifth of a signature verification, and a catch-up
/// decodes and verifies millions of changes by a few thousand signers: without this cache
/// each key was decompressed twice per change on the receiving node and once per change on
/// the sending one. The cache is bounded (hostile peers can offer any number of keys): when
/// full it is emptied and refills with the keys in use. Only valid, non-weak keys are kept,
/// so a hit is exactly the result of the full check.
mod key_cache {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};

    use ed25519_dalek::VerifyingKey;

    use super::IdError;

    /// At most this many keys (about 13 MB).
    const CAPACITY: usize = 65_536;

    static KEYS: OnceLock<Mutex<HashMap<[u8; 32], VerifyingKey>>> = OnceLock::new();

    /// The decompressed key, if `bytes` are a valid and not weak ed25519 key.
    pub(super) fn checked(bytes: &[u8; 32]) -> Result<VerifyingKey, IdError> {
        let keys = KEYS.get_or_init(|| Mutex::new(HashMap::new()));
        // A poisoned lock only means another thread panicked while holding it; the map is
        // still a valid cache (every entry was fully checked before insertion).
        if let Some(vk) = keys.lock().unwrap_or_else(|p| p.into_inner()).get(bytes) {
            return Ok(*vk);
        }
        let vk = VerifyingKey::from_bytes(bytes).map_err(|_| IdError::InvalidKey)?;
        if vk.is_weak() {
            return Err(IdError::WeakKey);
        }
        let mut map = keys.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= CAPACITY {
            map.clear();
        }
        map.insert(*bytes, vk);
        Ok(vk)
    }
}

#[cold]
fn unreachable_key() -> VerifyingKey {
    // `PublicKey` can only be built from bytes that decoded; this is never reached. The
    // identity point fails every strict verification, so even then nothing would pass.
    VerifyingKey::default()
}

macro_rules! hex_id {
    ($name:ident, $prefix:literal) => {
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let hex = hex::encode(self.as_bytes());
                if f.alternate() {
                    f.write_str(&hex)
                } else {
                    write!(f, concat!($prefix, ":{}"), &hex[..SHORT_HEX])
                }
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(self, f)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&hex::encode(self.as_bytes()))
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

impl FromStr for PublicKey {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        Self::from_bytes(parse_hex32(s)?)
    }
}
hex_id!(PublicKey, "key");

/// An organisation: its root public key.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OrgId(PublicKey);

impl OrgId {
    /// The organisation whose root key is `key`.
    pub fn from_root_key(key: PublicKey) -> Self {
        Self(key)
    }

    /// The root key.
    pub fn root_key(&self) -> PublicKey {
        self.0
    }

    /// The 32 raw bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        self.0.as_bytes()
    }
}

impl FromStr for OrgId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        Ok(Self(s.parse()?))
    }
}
hex_id!(OrgId, "org");

/// A document: SHA-256 over its encoded header (see [`crate::doc::DocHeader::id`]).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DocId([u8; 32]);

impl DocId {
    /// Wraps raw bytes. Only the header hash yields a meaningful id; a received id is
    /// always checked against the header it came with.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The 32 raw bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl FromStr for DocId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        Ok(Self(parse_hex32(s)?))
    }
}
hex_id!(DocId, "doc");

/// A record inside a document (a product, a deployment, a rating, …): 16 random bytes,
/// chosen by the writer, shown as 32 hex characters.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RecordId([u8; 16]);

impl RecordId {
    /// Wraps raw bytes (the caller supplies randomness: this crate has none).
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }

    /// The 16 raw bytes.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

impl FromStr for RecordId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        let s = s.trim();
        let mut out = [0u8; 16];
        hex::decode_to_slice(s, &mut out).map_err(|_| IdError::BadHex(truncate_for_error(s)))?;
        Ok(Self(out))
    }
}
hex_id!(RecordId, "rec");

#[cfg(test)]
mod tests {
    use super::*;

    fn key(seed: u8) -> PublicKey {
        let sk = ed25519_dalek::SigningKey::from_bytes(&[seed; 32]);
        PublicKey::from_bytes(sk.verifying_key().to_bytes()).unwrap()
    }

    #[test]
    fn display_is_short_and_alternate_is_full() {
        let k = key(7);
        assert_eq!(format!("{k}").len(), "key:".len() + SHORT_HEX);
        assert!(format!("{k}").starts_with("key:"));
        assert_eq!(format!("{k:#}"), k.to_hex());
        assert_eq!(k.to_hex().parse::<PublicKey>().unwrap(), k);
    }

    /// The cache must give exactly the uncached check's answer, on the first and on every
    /// later call, for valid, weak and off-curve encodings alike, also after it was emptied.
    #[test]
    fn cached_key_checks_match_the_full_check() {
        let direct = |b: &[u8; 32]| match VerifyingKey::from_bytes(b) {
            Err(_) => Err(IdError::InvalidKey),
            Ok(vk) if vk.is_weak() => Err(IdError::WeakKey),
            Ok(vk) => Ok(vk),
        };
        let mut outcomes = std::collections::HashSet::new();
        for round in 0..3 {
            for i in 0..=255u8 {
                let mut b = [i; 32];
                b[31] &= 0x7f;
                b[0] = i.wrapping_mul(31);
                let want = direct(&b);
                outcomes.insert(std::mem::discriminant(&want));
                assert_eq!(
                    PublicKey::from_bytes(b).map(|k| k.0),
                    want.clone().map(|_| b)
                );
                if let Ok(vk) = want {
                    assert_eq!(PublicKey(b).verifying_key(), vk, "round {round}, byte {i}");
                }
            }
        }
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert_eq!(PublicKey::from_bytes(identity), Err(IdError::WeakKey));
        assert_eq!(PublicKey::from_bytes(identity), Err(IdError::WeakKey));
        assert!(
            outcomes.len() >= 2,
            "the inputs cover valid and invalid keys"
        );
    }

    #[test]
    fn weak_and_malformed_keys_are_refused() {
        // The identity point (encoded as 1 followed by zeros) has small order.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert_eq!(PublicKey::from_bytes(identity), Err(IdError::WeakKey));
        assert!(matches!("zz".parse::<PublicKey>(), Err(IdError::BadHex(_))));
        assert!(matches!(
            "ab".repeat(40).parse::<PublicKey>(),
            Err(IdError::BadHex(_))
        ));
    }

    #[test]
    fn long_hostile_input_is_truncated_in_errors() {
        let long = "x".repeat(10_000);
        let err = long.parse::<DocId>().unwrap_err().to_string();
        assert!(err.len() < 200, "{err}");
    }

    #[test]
    fn serde_uses_full_hex() {
        let k = OrgId::from_root_key(key(3));
        let json = serde_json::to_string(&k).unwrap();
        assert_eq!(json, format!("\"{}\"", k.root_key().to_hex()));
        assert_eq!(serde_json::from_str::<OrgId>(&json).unwrap(), k);
    }
}
