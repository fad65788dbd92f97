//! Keys, delegations and revocations.
//!
//! An organisation is its root key ([`OrgId`]). It may *delegate* to another key (its second
//! node, its IT-Dienstleister) for a set of document kinds and a time window, and it may
//! *revoke* a key. Both are small signed statements, versioned and domain-separated:
//!
//! - a delegation is signed by the delegating organisation's root key over
//!   `"allmende/v1/delegation\0" ‖ body`;
//! - a revocation is signed by its issuer over `"allmende/v1/revocation\0" ‖ body`. When the
//!   issuer revokes itself, the key is dead for everything from `effective`; when an
//!   organisation's root key revokes a delegate, every delegation from that organisation to the
//!   delegate ends at `effective`.
//!
//! **Key succession** (rotation). An organisation replaces its key by a new one without
//! changing its [`OrgId`]: the current key revokes itself, and the revocation's reason ends
//! with a line `allmende-succession/1 <org> <next key> <countersignature>` ([`Succession`]).
//! The next key countersigns `"allmende/v1/succession\0" ‖ org ‖ previous ‖ next ‖ effective`,
//! so nobody can name a key they do not hold. Carrying the succession inside an ordinary
//! revocation keeps the wire format: nodes of 0.1.0 accept it as the self-revocation it also
//! is (the old key writes nothing more from `effective` on); newer nodes also accept the next
//! key as the organisation's key from then on.

use std::fmt;

use ed25519_dalek::{Signature, Signer, SigningKey};
use serde::{Deserialize, Serialize};

use crate::header::DocKind;
use crate::ids::{OrgId, PublicKey};
use crate::schema::UnixTime;
pub(crate) use crate::wire::read_key;
use crate::wire::{DecodeError, Reader, Writer};

const DELEGATION_DOMAIN: &[u8] = b"allmende/v1/delegation\0";
const REVOCATION_DOMAIN: &[u8] = b"allmende/v1/revocation\0";
const SUCCESSION_DOMAIN: &[u8] = b"allmende/v1/succession\0";
/// The first word of the reason line that carries a [`Succession`].
pub const SUCCESSION_MARK: &str = "allmende-succession/1";
/// Longest human note before the succession line of a rotation.
pub const MAX_SUCCESSION_NOTE_BYTES: usize = 600;
/// Longest revocation reason, in bytes.
pub const MAX_REASON_BYTES: usize = 1_000;

/// A signing key pair. Its secret never appears in `Debug` or `Display`.
pub struct Keypair {
    sk: SigningKey,
    public: PublicKey,
}

impl Keypair {
    /// Builds the key pair from 32 secret bytes (the caller draws them from a CSPRNG).
    pub fn from_secret_bytes(secret: &[u8; 32]) -> Result<Self, crate::ids::IdError> {
        let sk = SigningKey::from_bytes(secret);
        // A freshly drawn secret never yields a weak key, but check rather than trust.
        let public = PublicKey::from_bytes(sk.verifying_key().to_bytes())?;
        Ok(Self { sk, public })
    }

    /// The secret bytes, for writing the key file. Handle with care.
    pub fn secret_bytes(&self) -> [u8; 32] {
        self.sk.to_bytes()
    }

    /// The public half.
    pub fn public(&self) -> PublicKey {
        self.public
    }

    pub(crate) fn sign(&self, msg: &[u8]) -> [u8; 64] {
        self.sk.sign(msg).to_bytes()
    }
}

impl fmt::Debug for Keypair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Keypair({})", self.public())
    }
}

/// Verifies an ed25519 signature strictly (no malleable or small-order forms).
pub(crate) fn verify(key: &PublicKey, msg: &[u8], sig: &[u8; 64]) -> bool {
    let sig = Signature::from_bytes(sig);
    key.verifying_key().verify_strict(msg, &sig).is_ok()
}

/// A set of document kinds, as a bit set on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Scope(u8);

impl Scope {
    /// Every kind an organisation owns (profile, deployments, experience) plus product edits.
    pub fn all() -> Self {
        DocKind::ALL
            .iter()
            .filter(|k| **k != DocKind::Trust)
            .fold(Self(0), |s, k| s.with(*k))
    }

    /// Adds a kind.
    pub fn with(self, kind: DocKind) -> Self {
        Self(self.0 | (1 << kind.tag()))
    }

    /// Whether `kind` is in the set.
    pub fn contains(&self, kind: DocKind) -> bool {
        self.0 & (1 << kind.tag()) != 0
    }

    /// The kinds in the set.
    pub fn kinds(&self) -> Vec<DocKind> {
        DocKind::ALL
            .iter()
            .copied()
            .filter(|k| self.contains(*k))
            .collect()
    }
}

/// The document kinds a delegation may grant, in the order they are shown. A trust anchor's
/// attestations cannot be delegated.
pub const DELEGABLE: [DocKind; 4] = [
    DocKind::Profile,
    DocKind::Deployments,
    DocKind::Experience,
    DocKind::Product,
];

/// The scope of a delegation unless told otherwise (`allmende key delegate`, the UI's keys page):
/// everything a delegate publishes for the organisation except its profile.
///
/// Threat: the delegate (typically an IT-Dienstleister) is trusted with the records it
/// keeps for the organisation, not with the organisation's identity. With the profile it
/// could rename the organisation, change its AGS or kind, and so what every aggregate
/// counts it as. Granting the profile takes an explicit `--scope all` or `profile`.
pub fn default_delegation_scope() -> Scope {
    DELEGABLE
        .iter()
        .filter(|k| **k != DocKind::Profile)
        .fold(Scope::default(), |s, k| s.with(*k))
}

/// Reads scope names (`allmende key delegate --scope`, the UI's checkboxes): `all`, or kinds of [`DELEGABLE`] by
/// their slug. An unknown name is an error naming it; an empty list is an error too.
pub fn parse_scope<S: AsRef<str>>(names: &[S]) -> Result<Scope, String> {
    let mut scope = Scope::default();
    for name in names {
        let name = name.as_ref().trim();
        if name == "all" {
            scope = DELEGABLE.iter().fold(scope, |s, k| s.with(*k));
            continue;
        }
        match DELEGABLE.iter().find(|k| k.slug() == name) {
            Some(k) => scope = scope.with(*k),
            None => {
                return Err(format!(
                    "unknown scope {name:?}; the scopes are profile, deployments, experience \
                     (ratings and Nachnutzung reports), product, or all"
                ));
            }
        }
    }
    if scope.kinds().is_empty() {
        return Err("the scope names no kind of document".into());
    }
    Ok(scope)
}

impl Serialize for Scope {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.kinds().serialize(s)
    }
}

impl<'de> Deserialize<'de> for Scope {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Vec::<DocKind>::deserialize(d)?
            .into_iter()
            .fold(Scope(0), Scope::with))
    }
}

/// An organisation authorises another key to write some of its documents for a time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delegation {
    /// The delegating organisation; its root key signs.
    pub issuer: OrgId,
    /// The key authorised.
    pub delegate: PublicKey,
    /// Which document kinds.
    pub scope: Scope,
    /// Valid from (inclusive).
    pub not_before: UnixTime,
    /// Valid until (inclusive).
    pub not_after: UnixTime,
}

/// A delegation with its signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedDelegation {
    /// The statement.
    pub body: Delegation,
    /// Signature by `body.issuer`'s root key.
    #[serde(with = "hex_sig")]
    pub signature: [u8; 64],
}

/// Why a statement (delegation, revocation) is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertError {
    /// The signature does not verify.
    #[error("signature does not verify")]
    BadSignature,
    /// The fields contradict each other.
    #[error("invalid statement: {0}")]
    Invalid(String),
    /// The bytes are malformed.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// A revocation by a key that has no authority over its subject: neither the subject
    /// itself nor a key of an organisation that delegated to it.
    #[error(
        "{issuer} may not revoke {subject}: it is neither that key nor a key of an organisation that delegated to it"
    )]
    NoAuthority {
        /// Who signed.
        issuer: PublicKey,
        /// The key it tried to revoke.
        subject: PublicKey,
    },
}

const DELEGATION_VERSION: u8 = 1;

impl Delegation {
    fn body_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new(b"AMD", DELEGATION_VERSION);
        w.bytes(self.issuer.as_bytes())
            .bytes(self.delegate.as_bytes())
            .u8(self.scope.0)
            .i64(self.not_before.0)
            .i64(self.not_after.0);
        w.finish()
    }

    /// Signs the delegation with the issuer's root key.
    pub fn sign(self, issuer: &Keypair) -> Result<SignedDelegation, CertError> {
        if issuer.public() != self.issuer.root_key() {
            return Err(CertError::Invalid(
                "the issuer's root key must sign a delegation".into(),
            ));
        }
        self.check()?;
        let sig = issuer.sign(&[DELEGATION_DOMAIN, &self.body_bytes()].concat());
        Ok(SignedDelegation {
            body: self,
            signature: sig,
        })
    }

    fn check(&self) -> Result<(), CertError> {
        if self.not_after < self.not_before {
            return Err(CertError::Invalid(
                "not_after lies before not_before".into(),
            ));
        }
        if self.delegate == self.issuer.root_key() {
            return Err(CertError::Invalid(
                "an organisation cannot delegate to its own root key".into(),
            ));
        }
        if self.scope.0 == 0 {
            return Err(CertError::Invalid("empty scope".into()));
        }
        if self.scope.contains(DocKind::Trust) {
            return Err(CertError::Invalid(
                "a trust anchor's attestations cannot be delegated".into(),
            ));
        }
        Ok(())
    }

    /// Whether the delegation covers `kind` at `time`.
    pub fn covers(&self, kind: DocKind, time: UnixTime) -> bool {
        self.scope.contains(kind) && self.not_before <= time && time <= self.not_after
    }
}

impl SignedDelegation {
    /// Checks the signature and the fields.
    pub fn verify(&self) -> Result<(), CertError> {
        self.body.check()?;
        let msg = [DELEGATION_DOMAIN, &self.body.body_bytes()].concat();
        if verify(&self.body.issuer.root_key(), &msg, &self.signature) {
            Ok(())
        } else {
            Err(CertError::BadSignature)
        }
    }

    /// Versioned encoding: the body followed by the signature.
    pub fn encode(&self) -> Vec<u8> {
        let mut v = self.body.body_bytes();
        v.extend_from_slice(&self.signature);
        v
    }

    /// Decodes and verifies.
    pub fn decode(bytes: &[u8]) -> Result<Self, CertError> {
        let (mut r, _v) = Reader::open(bytes, b"AMD", "a delegation", DELEGATION_VERSION)?;
        let issuer = OrgId::from_root_key(read_key(&mut r, "issuer")?);
        let delegate = read_key(&mut r, "delegate")?;
        let scope = Scope(r.u8("scope")?);
        let not_before = UnixTime(r.i64("not_before")?);
        let not_after = UnixTime(r.i64("not_after")?);
        let signature = r.array::<64>("signature")?;
        r.finish()?;
        let d = Self {
            body: Delegation {
                issuer,
                delegate,
                scope,
                not_before,
                not_after,
            },
            signature,
        };
        d.verify()?;
        Ok(d)
    }
}

/// A key is withdrawn from a moment on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revocation {
    /// Who revokes: the key itself, or the root key of an organisation that delegated to it.
    pub issuer: PublicKey,
    /// The key revoked.
    pub subject: PublicKey,
    /// From when (inclusive) changes by `subject` are refused.
    pub effective: UnixTime,
    /// Why, for people.
    pub reason: String,
}

/// A revocation with its signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedRevocation {
    /// The statement.
    pub body: Revocation,
    /// Signature by `body.issuer`.
    #[serde(with = "hex_sig")]
    pub signature: [u8; 64],
}

const REVOCATION_VERSION: u8 = 1;

impl Revocation {
    fn body_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new(b"AMR", REVOCATION_VERSION);
        w.bytes(self.issuer.as_bytes())
            .bytes(self.subject.as_bytes())
            .i64(self.effective.0)
            .var(self.reason.as_bytes());
        w.finish()
    }

    /// Signs with the issuer's key.
    pub fn sign(self, issuer: &Keypair) -> Result<SignedRevocation, CertError> {
        if issuer.public() != self.issuer {
            return Err(CertError::Invalid(
                "the issuer must sign its revocation".into(),
            ));
        }
        if self.reason.len() > MAX_REASON_BYTES {
            return Err(CertError::Invalid(format!(
                "reason longer than {MAX_REASON_BYTES} bytes"
            )));
        }
        let sig = issuer.sign(&[REVOCATION_DOMAIN, &self.body_bytes()].concat());
        Ok(SignedRevocation {
            body: self,
            signature: sig,
        })
    }
}

impl SignedRevocation {
    /// Checks the signature.
    pub fn verify(&self) -> Result<(), CertError> {
        let msg = [REVOCATION_DOMAIN, &self.body.body_bytes()].concat();
        if verify(&self.body.issuer, &msg, &self.signature) {
            Ok(())
        } else {
            Err(CertError::BadSignature)
        }
    }

    /// Versioned encoding: the body followed by the signature.
    pub fn encode(&self) -> Vec<u8> {
        let mut v = self.body.body_bytes();
        v.extend_from_slice(&self.signature);
        v
    }

    /// Decodes and verifies.
    pub fn decode(bytes: &[u8]) -> Result<Self, CertError> {
        let (mut r, _v) = Reader::open(bytes, b"AMR", "a revocation", REVOCATION_VERSION)?;
        let issuer = read_key(&mut r, "issuer")?;
        let subject = read_key(&mut r, "subject")?;
        let effective = UnixTime(r.i64("effective")?);
        let reason = r.var("reason", MAX_REASON_BYTES)?;
        let reason = String::from_utf8(reason.to_vec()).map_err(|_| DecodeError::Invalid {
            what: "reason",
            reason: "not UTF-8".into(),
        })?;
        let signature = r.array::<64>("signature")?;
        r.finish()?;
        let rv = Self {
            body: Revocation {
                issuer,
                subject,
                effective,
                reason,
            },
            signature,
        };
        rv.verify()?;
        Ok(rv)
    }
}

/// An organisation's key `previous` hands over to `next` from `effective` on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Succession {
    /// The organisation whose key changes (unchanged by the rotation).
    pub org: OrgId,
    /// The key that signs the handover and writes nothing from `effective` on.
    pub previous: PublicKey,
    /// The organisation's key from `effective` on.
    pub next: PublicKey,
    /// When the handover takes effect.
    pub effective: UnixTime,
}

impl Succession {
    fn countersigned_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new(b"AMS", 1);
        w.bytes(self.org.as_bytes())
            .bytes(self.previous.as_bytes())
            .bytes(self.next.as_bytes())
            .i64(self.effective.0);
        [SUCCESSION_DOMAIN, &w.finish()].concat()
    }

    /// The self-revocation of `previous` that carries this succession: signed by `previous`,
    /// countersigned by `next`. `note` is the human part of the reason.
    pub fn sign(
        self,
        previous: &Keypair,
        next: &Keypair,
        note: &str,
    ) -> Result<SignedRevocation, CertError> {
        if previous.public() != self.previous || next.public() != self.next {
            return Err(CertError::Invalid(
                "the previous and the next key must sign a succession".into(),
            ));
        }
        if self.previous == self.next {
            return Err(CertError::Invalid("a key cannot succeed itself".into()));
        }
        if note.len() > MAX_SUCCESSION_NOTE_BYTES || note.contains(SUCCESSION_MARK) {
            return Err(CertError::Invalid(format!(
                "the note must be at most {MAX_SUCCESSION_NOTE_BYTES} bytes and must not contain {SUCCESSION_MARK}"
            )));
        }
        let counter = next.sign(&self.countersigned_bytes());
        let line = format!(
            "{SUCCESSION_MARK} {:#} {:#} {}",
            self.org,
            self.next,
            hex::encode(counter)
        );
        let reason = if note.trim().is_empty() {
            line
        } else {
            format!("{}\n{line}", note.trim())
        };
        Revocation {
            issuer: self.previous,
            subject: self.previous,
            effective: self.effective,
            reason,
        }
        .sign(previous)
    }
}

impl SignedRevocation {
    /// The succession this revocation carries: `None` unless it is a self-revocation whose
    /// reason ends with a well-formed succession line countersigned by the next key.
    pub fn succession(&self) -> Option<Succession> {
        let b = &self.body;
        if b.issuer != b.subject {
            return None;
        }
        let line = b.reason.lines().last()?;
        let mut words = line.split(' ');
        if words.next()? != SUCCESSION_MARK {
            return None;
        }
        let org: OrgId = words.next()?.parse().ok()?;
        let next: PublicKey = words.next()?.parse().ok()?;
        let mut sig = [0u8; 64];
        hex::decode_to_slice(words.next()?, &mut sig).ok()?;
        if words.next().is_some() || next == b.subject {
            return None;
        }
        let s = Succession {
            org,
            previous: b.subject,
            next,
            effective: b.effective,
        };
        verify(&next, &s.countersigned_bytes(), &sig).then_some(s)
    }

    /// The human part of the reason (without a succession line).
    pub fn note(&self) -> &str {
        match self.succession() {
            Some(_) => self
                .body
                .reason
                .rsplit_once('\n')
                .map(|(note, _)| note)
                .unwrap_or(""),
            None => &self.body.reason,
        }
    }
}

/// Hex (de)serialisation of 64-byte signatures for JSON exports.
pub(crate) mod hex_sig {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(sig: &[u8; 64], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(sig))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 64], D::Error> {
        let s = String::deserialize(d)?;
        let mut out = [0u8; 64];
        hex::decode_to_slice(s, &mut out).map_err(serde::de::Error::custom)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kp(seed: u8) -> Keypair {
        Keypair::from_secret_bytes(&[seed; 32]).unwrap()
    }

    fn delegation(issuer: &Keypair, delegate: &Keypair) -> SignedDelegation {
        Delegation {
            issuer: OrgId::from_root_key(issuer.public()),
            delegate: delegate.public(),
            scope: Scope::all(),
            not_before: UnixTime(100),
            not_after: UnixTime(200),
        }
        .sign(issuer)
        .unwrap()
    }

    #[test]
    fn delegation_round_trips_and_detects_tampering() {
        let d = delegation(&kp(1), &kp(2));
        let bytes = d.encode();
        assert_eq!(SignedDelegation::decode(&bytes).unwrap(), d);
        let mut bad = bytes.clone();
        let last = bad.len() - 70; // inside not_after
        bad[last] ^= 1;
        assert!(matches!(
            SignedDelegation::decode(&bad),
            Err(CertError::BadSignature) | Err(CertError::Invalid(_))
        ));
        assert!(matches!(
            SignedDelegation::decode(&bytes[..bytes.len() - 1]),
            Err(CertError::Decode(DecodeError::Truncated { .. }))
        ));
        let mut v2 = bytes.clone();
        v2[3] = 2;
        assert!(matches!(
            SignedDelegation::decode(&v2),
            Err(CertError::Decode(DecodeError::UnknownVersion {
                found: 2,
                ..
            }))
        ));
    }

    #[test]
    fn only_the_root_key_may_sign_a_delegation() {
        let body = Delegation {
            issuer: OrgId::from_root_key(kp(1).public()),
            delegate: kp(2).public(),
            scope: Scope::all(),
            not_before: UnixTime(0),
            not_after: UnixTime(1),
        };
        assert!(matches!(body.sign(&kp(3)), Err(CertError::Invalid(_))));
    }

    #[test]
    fn revocation_round_trips_and_rejects_oversized_reason() {
        let k = kp(4);
        let r = Revocation {
            issuer: k.public(),
            subject: k.public(),
            effective: UnixTime(5),
            reason: "Schlüssel verloren".into(),
        }
        .sign(&k)
        .unwrap();
        assert_eq!(SignedRevocation::decode(&r.encode()).unwrap(), r);
        let big = Revocation {
            issuer: k.public(),
            subject: k.public(),
            effective: UnixTime(5),
            reason: "x".repeat(5000),
        };
        assert!(big.sign(&k).is_err());
    }

    #[test]
    fn succession_is_a_self_revocation_with_a_countersigned_successor() {
        let (old, new) = (kp(10), kp(11));
        let org = OrgId::from_root_key(old.public());
        let s = Succession {
            org,
            previous: old.public(),
            next: new.public(),
            effective: UnixTime(50),
        };
        let r = s.sign(&old, &new, "Jährlicher Schlüsselwechsel").unwrap();
        let decoded = SignedRevocation::decode(&r.encode()).unwrap();
        assert_eq!(decoded.succession(), Some(s));
        assert_eq!(decoded.note(), "Jährlicher Schlüsselwechsel");
        assert_eq!(
            (decoded.body.issuer, decoded.body.subject),
            (old.public(), old.public())
        );
        // Only the holder of the next key can countersign; another key's signature fails.
        let forged = Succession {
            next: kp(12).public(),
            ..s
        };
        let line = r.body.reason.replace(
            &format!("{:#}", new.public()),
            &format!("{:#}", kp(12).public()),
        );
        let tampered = Revocation {
            reason: line,
            ..r.body.clone()
        }
        .sign(&old)
        .unwrap();
        assert_eq!(tampered.succession(), None, "{forged:?} must not verify");
        // Either key missing is refused, and so is a note that smuggles a second line in.
        assert!(s.sign(&kp(12), &new, "").is_err());
        assert!(s.sign(&old, &kp(12), "").is_err());
        assert!(s.sign(&old, &new, SUCCESSION_MARK).is_err());
        // A plain revocation, or a line with extra words, carries no succession.
        let plain = Revocation {
            issuer: old.public(),
            subject: old.public(),
            effective: UnixTime(1),
            reason: format!("{} extra", r.body.reason),
        }
        .sign(&old)
        .unwrap();
        assert_eq!(plain.succession(), None);
        assert_eq!(plain.note(), plain.body.reason);
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let k = kp(9);
        let dbg = format!("{k:?}");
        assert!(!dbg.contains(&hex::encode(k.secret_bytes())));
    }
}
