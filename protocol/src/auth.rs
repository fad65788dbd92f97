//! Authorisation: may this key write this document at this time?
//!
//! The decision depends only on signed material (the document header, the change's signer
//! and timestamp, and the delegations and revocations known), never on local choices such as
//! which trust anchors a node follows. So every node that knows the same statements decides
//! the same way, which convergence needs. Trust (attestation) is a *view* on top: content from
//! unattested keys is stored but shown as unverified.
//!
//! Rules, by document kind:
//! - **profile, deployments, experience** (owned): the owner's root key, or a key the owner
//!   delegated this kind to, with the change's time inside the delegation's window and before
//!   any revocation of that delegation.
//! - **product** (shared): any key. What a node *shows* of a product is decided on top, by
//!   [`crate::stewardship`]: changes by keys that do not speak for one of the product's
//!   stewards are proposals, not values.
//! - **trust**: only the anchor's own key.
//!
//! "The owner's key" is the key of the owner's [`Certificates::org_key_at`] the change's time:
//! its root key until a [`crate::identity::Succession`] hands over to the next key, and so on.
//! A key that names two different successors is treated as compromised: neither successor is
//! accepted (the organisation then needs its trust anchor to attest a new identity).
//!
//! For every kind, a key that revoked itself may not write from the revocation's `effective`
//! time on, and a change timestamped more than [`MAX_CLOCK_SKEW`] into the future is refused
//! (for now; it is accepted once its time has come). A change timestamped before 1970 is
//! refused: no real author writes one, and Automerge 0.12 delta-encodes the times of a
//! document's changes in `i64`, so one at `i64::MIN` beside one at today's time overflows
//! (a panic with overflow checks, a wrapped value without).
//!
//! For every kind, a change by an actor that forked the document (a known
//! [`crate::equivocation::EquivocationProof`]) at or after the fork's sequence number is
//! refused, whoever signed it and whatever the signer may otherwise write.
//!
//! Known limit: change times are claimed by their authors. A revoked key's holder can backdate
//! changes to before the revocation; nodes that saw the key's real history show the jump.

use std::collections::HashMap;

use crate::change::VerifiedChange;
use crate::equivocation::EquivocationProof;
use crate::header::{DocHeader, DocKind};
use crate::identity::{
    CertError, Delegation, Revocation, SignedDelegation, SignedRevocation, Succession,
};
use crate::ids::DocId;
use crate::ids::{OrgId, PublicKey};
use crate::schema::UnixTime;

/// How far ahead of the local clock a change's timestamp may be.
pub const MAX_CLOCK_SKEW: i64 = 10 * 60;

/// Why a verified change is not authorised.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// The key has no right to write this document.
    #[error("{signer} may not write the {kind} document of {owner}")]
    UnauthorisedKey {
        /// The signer.
        signer: PublicKey,
        /// The document kind.
        kind: &'static str,
        /// The document's owner.
        owner: OrgId,
    },
    /// The signer's key was revoked before the change's time.
    #[error("{key} was revoked at {since} (change made at {at})")]
    RevokedKey {
        /// The key.
        key: PublicKey,
        /// Revocation time.
        since: i64,
        /// The change's time.
        at: i64,
    },
    /// The delegation does not cover the change's time.
    #[error("delegation of {delegate} by {issuer} is not valid at {at} (valid {from}–{until})")]
    DelegationExpired {
        /// The delegate.
        delegate: PublicKey,
        /// The issuer.
        issuer: OrgId,
        /// The change's time.
        at: i64,
        /// Window start.
        from: i64,
        /// Window end.
        until: i64,
    },
    /// The delegation was revoked by its issuer before the change's time.
    #[error("delegation of {delegate} by {issuer} was revoked at {since}")]
    DelegationRevoked {
        /// The delegate.
        delegate: PublicKey,
        /// The issuer.
        issuer: OrgId,
        /// Revocation time.
        since: i64,
    },
    /// The only delegation for the signer was issued after the issuer's root key was revoked.
    #[error("delegation of {delegate} by {issuer} was issued after {issuer}'s key was revoked")]
    IssuerRevoked {
        /// The delegate.
        delegate: PublicKey,
        /// The issuer.
        issuer: OrgId,
    },
    /// The change claims a time before 1970 (a negative Unix time).
    #[error("change time {at} lies before 1970")]
    BeforeEpoch {
        /// The change's time.
        at: i64,
    },
    /// The change's actor forked this document at or before the change's sequence number
    /// ([`crate::equivocation`]).
    #[error(
        "{signer} signed two different changes numbered {forked_at} for this document (change {seq} refused)"
    )]
    Equivocated {
        /// The signer.
        signer: PublicKey,
        /// The sequence number of the fork.
        forked_at: u64,
        /// The refused change's sequence number.
        seq: u64,
    },
    /// The change claims a time too far in the future.
    #[error("change time {at} lies more than {MAX_CLOCK_SKEW} s after now ({now})")]
    FromTheFuture {
        /// The change's time.
        at: i64,
        /// Local time.
        now: i64,
    },
}

/// Who a change is attributed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attribution {
    /// The key that signed.
    pub signer: PublicKey,
    /// The organisation it acted for, when the rules establish one (owner or delegator).
    pub on_behalf_of: Option<OrgId>,
}

/// A change that is verified *and* authorised: the only kind a document accepts.
#[derive(Debug, Clone)]
pub struct AuthorisedChange {
    change: VerifiedChange,
    attribution: Attribution,
}

impl AuthorisedChange {
    /// The verified change.
    pub fn verified(&self) -> &VerifiedChange {
        &self.change
    }

    /// Who it is attributed to.
    pub fn attribution(&self) -> Attribution {
        self.attribution
    }

    /// Unwraps the verified change.
    pub fn into_verified(self) -> VerifiedChange {
        self.change
    }
}

/// The delegations and revocations a node knows, all with verified signatures.
#[derive(Debug, Clone, Default)]
pub struct Certificates {
    delegations: HashMap<PublicKey, Vec<SignedDelegation>>,
    revocations: HashMap<PublicKey, Vec<SignedRevocation>>,
    /// Successions carried by revocations, by previous key.
    successions: HashMap<PublicKey, Vec<Succession>>,
    /// Forks: the lowest known forked sequence number by document and actor, with the proof.
    forks: HashMap<(DocId, Vec<u8>), EquivocationProof>,
}

impl Certificates {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a delegation after checking its signature. Returns false if it was known.
    pub fn add_delegation(&mut self, d: SignedDelegation) -> Result<bool, CertError> {
        d.verify()?;
        let list = self.delegations.entry(d.body.delegate).or_default();
        if list.contains(&d) {
            return Ok(false);
        }
        list.push(d);
        Ok(true)
    }

    /// Adds a proof of equivocation (checked when it was made or decoded). Returns true when
    /// it forks its actor earlier than any proof known before: only then does it change what
    /// is authorised.
    pub fn add_equivocation(&mut self, p: EquivocationProof) -> bool {
        let key = (p.doc(), p.actor());
        match self.forks.get(&key) {
            Some(known) if known.seq() <= p.seq() => false,
            _ => {
                self.forks.insert(key, p);
                true
            }
        }
    }

    /// The sequence number from which `actor`'s changes to `doc` are refused, if it forked.
    pub fn forked_at(&self, doc: &DocId, actor: &[u8]) -> Option<u64> {
        // Every change authorised asks: no key to build while nobody forked anything.
        if self.forks.is_empty() {
            return None;
        }
        self.forks.get(&(*doc, actor.to_vec())).map(|p| p.seq())
    }

    /// Whether `change` (for `doc`) lies on or after a fork of its actor.
    pub fn is_forked(&self, doc: &DocId, change: &automerge::Change) -> bool {
        self.forked_at(doc, change.actor_id().to_bytes())
            .is_some_and(|n| change.seq() >= n)
    }

    /// The proofs of equivocation that count (the earliest per document and actor).
    pub fn equivocations(&self) -> impl Iterator<Item = &EquivocationProof> {
        self.forks.values()
    }

    /// The proofs against `org`: signed by one of its keys or by a key it delegated to.
    pub fn equivocations_of(&self, org: OrgId) -> Vec<&EquivocationProof> {
        let keys: Vec<PublicKey> = self.org_keys(org).into_iter().map(|(k, _)| k).collect();
        let mut out: Vec<&EquivocationProof> = self
            .forks
            .values()
            .filter(|p| {
                keys.contains(&p.signer())
                    || self.delegations_to(&p.signer()).any(|d| d.issuer == org)
            })
            .collect();
        out.sort_by_key(|p| (p.doc(), p.seq()));
        out
    }

    /// Adds a revocation after checking its signature. Returns false if it was known.
    pub fn add_revocation(&mut self, r: SignedRevocation) -> Result<bool, CertError> {
        r.verify()?;
        let list = self.revocations.entry(r.body.subject).or_default();
        if list.contains(&r) {
            return Ok(false);
        }
        if let Some(s) = r.succession() {
            self.successions.entry(s.previous).or_default().push(s);
        }
        list.push(r);
        Ok(true)
    }

    /// The succession that hands `org`'s key `key` over, if there is exactly one successor
    /// (the earliest statement of it counts). Two different successors cancel each other.
    fn succession_from(&self, org: OrgId, key: PublicKey) -> Option<Succession> {
        let mut found: Option<Succession> = None;
        for s in self.successions.get(&key).into_iter().flatten() {
            if s.org != org {
                continue;
            }
            match found {
                Some(f) if f.next != s.next => return None,
                Some(f) if f.effective <= s.effective => {}
                _ => found = Some(*s),
            }
        }
        found
    }

    /// The chain of `org`'s keys: its root key, then each successor with the time it took
    /// over.
    pub fn org_keys(&self, org: OrgId) -> Vec<(PublicKey, Option<UnixTime>)> {
        let mut chain = vec![(org.root_key(), None)];
        let mut cur = org.root_key();
        while let Some(s) = self.succession_from(org, cur) {
            if chain.iter().any(|(k, _)| *k == s.next) {
                break; // a cycle: stop where it closes
            }
            chain.push((s.next, Some(s.effective)));
            cur = s.next;
        }
        chain
    }

    /// The key that speaks for `org` at `at`.
    pub fn org_key_at(&self, org: OrgId, at: UnixTime) -> PublicKey {
        let mut key = org.root_key();
        for (k, from) in self.org_keys(org) {
            match from {
                Some(t) if t > at => break,
                _ => key = k,
            }
        }
        key
    }

    /// The organisation's key now: the last of its chain.
    pub fn current_org_key(&self, org: OrgId) -> PublicKey {
        self.org_keys(org)
            .last()
            .map(|(k, _)| *k)
            .unwrap_or_else(|| org.root_key())
    }

    /// The organisation whose chain holds `key` as a successor, if any.
    pub fn org_of_successor(&self, key: &PublicKey) -> Option<OrgId> {
        self.successions
            .values()
            .flatten()
            .filter(|s| s.next == *key)
            .map(|s| s.org)
            .find(|org| self.org_keys(*org).iter().any(|(k, _)| k == key))
    }

    /// The revocations carrying the successions of `org`'s chain up to `key`, oldest first
    /// (what a receiver needs to accept `key` as the organisation's key).
    pub fn succession_certs(&self, org: OrgId, key: &PublicKey) -> Vec<SignedRevocation> {
        let mut out = Vec::new();
        let chain = self.org_keys(org);
        if !chain.iter().any(|(k, _)| k == key) {
            return out;
        }
        for pair in chain.windows(2) {
            let (prev, next) = (pair[0].0, pair[1].0);
            if let Some(r) = self.revocations.get(&prev).into_iter().flatten().find(|r| {
                r.succession()
                    .is_some_and(|s| s.org == org && s.next == next)
            }) {
                out.push(r.clone());
            }
            if next == *key {
                break;
            }
        }
        out
    }

    /// All delegations, in no particular order.
    pub fn delegations(&self) -> impl Iterator<Item = &SignedDelegation> {
        self.delegations.values().flatten()
    }

    /// All revocations, in no particular order.
    pub fn revocations(&self) -> impl Iterator<Item = &SignedRevocation> {
        self.revocations.values().flatten()
    }

    /// Delegations to `delegate`.
    pub fn delegations_to(&self, delegate: &PublicKey) -> impl Iterator<Item = &Delegation> {
        self.delegations
            .get(delegate)
            .into_iter()
            .flatten()
            .map(|d| &d.body)
    }

    fn revocations_of(&self, key: &PublicKey) -> impl Iterator<Item = &Revocation> {
        self.revocations
            .get(key)
            .into_iter()
            .flatten()
            .map(|r| &r.body)
    }

    /// Whether `r`'s issuer may revoke its subject: the subject itself, or a key (root or
    /// successor) of an organisation that delegated to the subject. Only such revocations
    /// have any effect ([`Certificates::check`]); anything else is a key signing statements
    /// about keys it has nothing to do with.
    pub fn may_revoke(&self, r: &Revocation) -> bool {
        r.issuer == r.subject || !self.delegators_revoking(r).is_empty()
    }

    /// The organisations that delegated to `r`'s subject and of which `r`'s issuer is a key.
    fn delegators_revoking(&self, r: &Revocation) -> Vec<OrgId> {
        let mut orgs: Vec<OrgId> = self
            .delegations_to(&r.subject)
            .map(|d| d.issuer)
            .filter(|org| self.org_keys(*org).iter().any(|(k, _)| *k == r.issuer))
            .collect();
        orgs.sort();
        orgs.dedup();
        orgs
    }

    /// Whether `r` ends more than the revocations known already: a self-revocation (which may
    /// carry a succession) always may, a delegation's revocation only when it is earlier than
    /// every known revocation of that delegation. Otherwise storing it changes what is
    /// authorised nowhere, and nothing need be rechecked.
    pub fn revocation_ends_more(&self, r: &Revocation) -> bool {
        r.issuer == r.subject
            || self.delegators_revoking(r).iter().any(|org| {
                self.delegation_revoked_at(org, &r.subject)
                    .is_none_or(|t| r.effective < t)
            })
    }

    /// Whether the delegation `d` is in force at `now`: inside its window, not revoked by its
    /// issuer, and its delegate not revoked by itself, before `now`.
    pub fn delegation_in_force(&self, d: &Delegation, now: UnixTime) -> bool {
        let before_now = |t: Option<UnixTime>| t.is_some_and(|t| t <= now);
        d.not_before <= now
            && now <= d.not_after
            && !before_now(self.delegation_revoked_at(&d.issuer, &d.delegate))
            && !before_now(self.self_revoked_at(&d.delegate))
    }

    /// The earliest self-revocation of `key`, if any.
    pub fn self_revoked_at(&self, key: &PublicKey) -> Option<UnixTime> {
        self.revocations_of(key)
            .filter(|r| r.issuer == *key)
            .map(|r| r.effective)
            .min()
    }

    fn delegation_revoked_at(&self, issuer: &OrgId, delegate: &PublicKey) -> Option<UnixTime> {
        let keys = self.org_keys(*issuer);
        self.revocations_of(delegate)
            .filter(|r| keys.iter().any(|(k, _)| *k == r.issuer))
            .map(|r| r.effective)
            .min()
    }

    /// Decides whether `change`, verified for the document with `header`, may be applied.
    pub fn authorise(
        &self,
        header: &DocHeader,
        change: VerifiedChange,
        now: UnixTime,
    ) -> Result<AuthorisedChange, AuthError> {
        let signer = change.signed().signer();
        let at = change.signed().time();
        let attribution = self.check(header, signer, at, now)?;
        let c = change.signed().change();
        if let Some(forked_at) = self.forked_at(&header.id(), c.actor_id().to_bytes())
            && c.seq() >= forked_at
        {
            return Err(AuthError::Equivocated {
                signer,
                forked_at,
                seq: c.seq(),
            });
        }
        Ok(AuthorisedChange {
            change,
            attribution,
        })
    }

    /// The rule itself, on plain values.
    pub fn check(
        &self,
        header: &DocHeader,
        signer: PublicKey,
        at: UnixTime,
        now: UnixTime,
    ) -> Result<Attribution, AuthError> {
        if at.0 < 0 {
            return Err(AuthError::BeforeEpoch { at: at.0 });
        }
        if at.0 > now.0.saturating_add(MAX_CLOCK_SKEW) {
            return Err(AuthError::FromTheFuture {
                at: at.0,
                now: now.0,
            });
        }
        if let Some(since) = self.self_revoked_at(&signer).filter(|t| *t <= at) {
            return Err(AuthError::RevokedKey {
                key: signer,
                since: since.0,
                at: at.0,
            });
        }
        let owner = header.owner;
        let unauthorised = || AuthError::UnauthorisedKey {
            signer,
            kind: header.kind.slug(),
            owner,
        };
        match header.kind {
            DocKind::Product => Ok(Attribution {
                signer,
                on_behalf_of: self.acting_for(signer, DocKind::Product, at),
            }),
            DocKind::Trust => {
                if signer == self.org_key_at(owner, at) {
                    Ok(Attribution {
                        signer,
                        on_behalf_of: Some(owner),
                    })
                } else {
                    Err(unauthorised())
                }
            }
            kind => self.speak_for(owner, signer, kind, at),
        }
    }

    /// Whether `signer` speaks for `org` for documents of `kind` at `at`: the organisation's
    /// key at that time, or a key it delegated `kind` to, the delegation valid then. What
    /// [`Certificates::check`] asks of owned documents, and what stewardship asks of product
    /// changes ([`crate::stewardship`]).
    pub fn speaks_for(&self, signer: PublicKey, org: OrgId, kind: DocKind, at: UnixTime) -> bool {
        self.self_revoked_at(&signer).is_none_or(|t| t > at)
            && self.speak_for(org, signer, kind, at).is_ok()
    }

    fn speak_for(
        &self,
        owner: OrgId,
        signer: PublicKey,
        kind: DocKind,
        at: UnixTime,
    ) -> Result<Attribution, AuthError> {
        let unauthorised = || AuthError::UnauthorisedKey {
            signer,
            kind: kind.slug(),
            owner,
        };
        if signer == self.org_key_at(owner, at) {
            return Ok(Attribution {
                signer,
                on_behalf_of: Some(owner),
            });
        }
        let mut best: Option<AuthError> = None;
        for d in self
            .delegations_to(&signer)
            .filter(|d| d.issuer == owner && d.scope.contains(kind))
        {
            if let Some(since) = self
                .delegation_revoked_at(&owner, &signer)
                .filter(|t| *t <= at)
            {
                best = Some(AuthError::DelegationRevoked {
                    delegate: signer,
                    issuer: owner,
                    since: since.0,
                });
                continue;
            }
            if self
                .self_revoked_at(&owner.root_key())
                .is_some_and(|t| t <= d.not_before)
            {
                // Issued (by its own claim) after the root key was revoked.
                if best.is_none() {
                    best = Some(AuthError::IssuerRevoked {
                        delegate: signer,
                        issuer: owner,
                    });
                }
                continue;
            }
            if d.covers(kind, at) {
                return Ok(Attribution {
                    signer,
                    on_behalf_of: Some(owner),
                });
            }
            if best.is_none() {
                best = Some(AuthError::DelegationExpired {
                    delegate: signer,
                    issuer: owner,
                    at: at.0,
                    from: d.not_before.0,
                    until: d.not_after.0,
                });
            }
        }
        Err(best.unwrap_or_else(unauthorised))
    }

    /// The organisation `key` acts for at `at`, for attribution of shared edits: itself if it
    /// is a root key nobody delegated (we cannot tell), or the delegator of a valid delegation.
    pub fn acting_for(&self, key: PublicKey, kind: DocKind, at: UnixTime) -> Option<OrgId> {
        self.delegations_to(&key)
            .filter(|d| d.covers(kind, at))
            .map(|d| d.issuer)
            .min()
            .or_else(|| self.org_of_successor(&key))
            .or(Some(OrgId::from_root_key(key)))
    }
}
