//! Proofs of equivocation: two changes one key signed for the same place in one document's
//! history.
//!
//! An Automerge actor numbers its changes to a document 1, 2, 3, …; a second, different
//! change with the same actor and number is a fork. Automerge refuses whichever of the two
//! arrives second (`DuplicateSeqNumber`), and every later change built on one branch is
//! refused for ever on a node that holds the other: without a rule, two nodes that saw them
//! in opposite orders never converge. Both changes carry the signer's signature, so the pair
//! is a proof anybody can check, and every node applies the same rule to it:
//!
//! **The rule.** Once a node knows a proof that actor `A` forked document `D` at sequence
//! number `n`, it keeps none of `A`'s changes to `D` numbered `n` or later, and none of the
//! changes that depend on them; it refuses them when they arrive. With several proofs for the
//! same actor and document the lowest `n` counts. Every input is signed material, so every
//! node that knows the same proofs keeps the same changes (invariant 4). The signer can keep
//! writing from another session (a new actor); the fork is on its record
//! ([`crate::auth::Certificates::equivocations`]).
//!
//! Encoding (`AME` v1): document id (32) ‖ the two signed changes (`AMC`, length-prefixed),
//! the one with the smaller change hash first, so every node that finds the same pair
//! writes the same bytes.

use crate::change::{MAX_CHANGE_BYTES, SignedChange, VerifyError};
use crate::ids::{DocId, PublicKey};
use crate::wire::{DecodeError, Reader, Writer};

const PROOF_VERSION: u8 = 1;
/// Largest encoded proof: two changes of [`MAX_CHANGE_BYTES`] and their envelopes.
pub const MAX_PROOF_BYTES: usize = 2 * MAX_CHANGE_BYTES + 1024;

/// Why a proof is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// The bytes are malformed.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// One of the changes does not verify for the document.
    #[error("a change of the proof: {0}")]
    Change(#[from] VerifyError),
    /// The two changes do not fork: other actors, other numbers, or the same change.
    #[error("not a fork: {0}")]
    NotAFork(&'static str),
}

/// Two verified changes by one actor with one sequence number for one document.
#[derive(Debug, Clone)]
pub struct EquivocationProof {
    doc: DocId,
    first: SignedChange,
    second: SignedChange,
}

impl EquivocationProof {
    /// The proof that `a` and `b` fork `doc`, if they do: both verify for `doc`, they have the
    /// same actor (and so the same signer) and sequence number, and they differ.
    pub fn new(doc: DocId, a: SignedChange, b: SignedChange) -> Result<Self, ProofError> {
        let (first, second) = if a.hash() <= b.hash() { (a, b) } else { (b, a) };
        let p = Self { doc, first, second };
        p.check()?;
        Ok(p)
    }

    fn check(&self) -> Result<(), ProofError> {
        let (a, b) = (self.first.change(), self.second.change());
        if a.actor_id() != b.actor_id() {
            return Err(ProofError::NotAFork("the changes have different actors"));
        }
        if a.seq() != b.seq() {
            return Err(ProofError::NotAFork("the changes have different numbers"));
        }
        if a.hash() == b.hash() {
            return Err(ProofError::NotAFork("the two changes are the same"));
        }
        // Signature and actor binding (the actor starts with the signer's key).
        self.first.clone().verify(self.doc)?;
        self.second.clone().verify(self.doc)?;
        Ok(())
    }

    /// The document forked.
    pub fn doc(&self) -> DocId {
        self.doc
    }

    /// The key that signed both changes.
    pub fn signer(&self) -> PublicKey {
        self.first.signer()
    }

    /// The actor that forked (signer key ‖ replica id).
    pub fn actor(&self) -> Vec<u8> {
        self.first.change().actor_id().to_bytes().to_vec()
    }

    /// The sequence number both changes claim.
    pub fn seq(&self) -> u64 {
        self.first.change().seq()
    }

    /// The two changes, the smaller hash first.
    pub fn changes(&self) -> [&SignedChange; 2] {
        [&self.first, &self.second]
    }

    /// Versioned encoding (`AME` v1).
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new(b"AME", PROOF_VERSION);
        w.bytes(self.doc.as_bytes())
            .var(&self.first.encode())
            .var(&self.second.encode());
        w.finish()
    }

    /// Decodes and checks a proof (both signatures, one actor, one number, two changes).
    pub fn decode(bytes: &[u8]) -> Result<Self, ProofError> {
        if bytes.len() > MAX_PROOF_BYTES {
            return Err(DecodeError::TooLarge {
                what: "an equivocation proof",
                len: bytes.len(),
                max: MAX_PROOF_BYTES,
            }
            .into());
        }
        let (mut r, _v) = Reader::open(bytes, b"AME", "an equivocation proof", PROOF_VERSION)?;
        let doc = DocId::from_bytes(r.array::<32>("doc id")?);
        let limit = MAX_CHANGE_BYTES + 512;
        let first = SignedChange::decode(r.var("first change", limit)?)?;
        let second = SignedChange::decode(r.var("second change", limit)?)?;
        r.finish()?;
        if first.hash() >= second.hash() {
            return Err(ProofError::NotAFork(
                "the changes are not ordered by hash (or are the same)",
            ));
        }
        let p = Self { doc, first, second };
        p.check()?;
        Ok(p)
    }
}

impl PartialEq for EquivocationProof {
    fn eq(&self, other: &Self) -> bool {
        self.doc == other.doc
            && self.first.hash() == other.first.hash()
            && self.second.hash() == other.second.hash()
    }
}

impl Eq for EquivocationProof {}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::change::ReplicaId;
    use crate::doc::{DocHeader, DocKind, Document};
    use crate::identity::Keypair;
    use crate::ids::OrgId;
    use crate::schema::{OrgKind, OrgProfile, UnixTime};

    fn fork() -> (DocHeader, Keypair, SignedChange, SignedChange) {
        let key = Keypair::from_secret_bytes(&[5; 32]).unwrap();
        let header = DocHeader::singleton(DocKind::Profile, OrgId::from_root_key(key.public()));
        let edit = |name: &str| {
            let p = OrgProfile::new(name, OrgKind::Kommune);
            Document::new(header)
                .edit(&key, ReplicaId([1; 16]), UnixTime(1_700_000_000), |ed| {
                    ed.put_root(&p)
                })
                .unwrap()
                .unwrap()
        };
        let (a, b) = (edit("Stadt A"), edit("Stadt B"));
        (header, key, a, b)
    }

    #[test]
    fn a_fork_is_a_proof_in_either_order_with_the_same_bytes() {
        let (header, _, a, b) = fork();
        let p = EquivocationProof::new(header.id(), a.clone(), b.clone()).unwrap();
        let q = EquivocationProof::new(header.id(), b, a).unwrap();
        assert_eq!(p.encode(), q.encode());
        let back = EquivocationProof::decode(&p.encode()).unwrap();
        assert_eq!(back, p);
        assert_eq!(back.seq(), 1);
        assert_eq!(back.signer(), p.signer());
    }

    #[test]
    fn what_is_not_a_fork_is_no_proof() {
        let (header, key, a, b) = fork();
        // The same change twice.
        assert!(matches!(
            EquivocationProof::new(header.id(), a.clone(), a.clone()),
            Err(ProofError::NotAFork(_))
        ));
        // A change and its successor: two numbers.
        let mut doc = Document::new(header);
        let c1 = doc
            .edit(&key, ReplicaId([1; 16]), UnixTime(1_700_000_000), |ed| {
                ed.put_root(&OrgProfile::new("Stadt X", OrgKind::Kommune))
            })
            .unwrap()
            .unwrap();
        let c2 = doc
            .edit(&key, ReplicaId([1; 16]), UnixTime(1_700_000_001), |ed| {
                ed.put_root(&OrgProfile::new("Stadt Y", OrgKind::Kommune))
            })
            .unwrap()
            .unwrap();
        assert!(matches!(
            EquivocationProof::new(header.id(), c1, c2),
            Err(ProofError::NotAFork(_))
        ));
        // Offered for another document: the signatures name this one.
        let other = DocHeader::singleton(DocKind::Deployments, header.owner).id();
        assert!(matches!(
            EquivocationProof::new(other, a.clone(), b.clone()),
            Err(ProofError::Change(VerifyError::WrongDocument { .. }))
        ));
        // Tampered bytes do not decode.
        let mut bytes = EquivocationProof::new(header.id(), a, b).unwrap().encode();
        let last = bytes.len() - 40;
        bytes[last] ^= 1;
        assert!(EquivocationProof::decode(&bytes).is_err());
    }
}
