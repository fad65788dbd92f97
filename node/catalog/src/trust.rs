//! The trust scope of a node: whose signed material it treats as first-hand evidence of
//! public bodies.
//!
//! A node follows trust anchors (`--trust-anchor`, the design's network manifest later). Its
//! scope is, from signed material and its own configuration only:
//! - the anchors it follows;
//! - the organisations those anchors attest (their trust documents, `idx_attestation`);
//! - the node's own organisation and the members it hosts (an IT-Dienstleister's);
//! - every key of these organisations (root key and successors) and every key they delegated
//!   to that is valid now.
//!
//! A node that follows no anchor runs in **open mode**: nothing tells trusted keys from
//! others, and it says so at start, in `/api/v1/status`, in `/metrics` and on every page of
//! the web UI.
//!
//! Outside open mode the scope decides what the node replicates ([`TrustScope::admits`]):
//! changes within it are stored, indexed, forwarded and offered as in open mode; everything
//! else goes to the bounded quarantine (`allmende_repo_thread::quarantine`), which nothing reads into the
//! catalog. The repository thread keeps the scope and computes it again when a trust document
//! changes, when another process wrote to the store, and every minute.

use std::collections::BTreeSet;

use allmende_protocol::auth::Certificates;
use allmende_protocol::change::SignedChange;
use allmende_protocol::doc::{DocHeader, DocKind};
use allmende_protocol::ids::{OrgId, PublicKey};
use allmende_protocol::schema::UnixTime;
use rusqlite::Connection;
use serde::Serialize;

use crate::query::QueryError;

/// A node's trust scope (see the module documentation).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustScope {
    /// The anchors followed; empty in open mode.
    pub anchors: Vec<OrgId>,
    /// The organisations in scope.
    pub organisations: BTreeSet<OrgId>,
    /// The keys in scope.
    pub keys: BTreeSet<PublicKey>,
}

impl TrustScope {
    /// The scope of a node following `anchors`, hosting `own` (its organisation and members),
    /// over the attestations in the index (`conn`) and the certificates it knows, at `now`.
    pub fn compute(
        conn: &Connection,
        certs: &Certificates,
        anchors: &[OrgId],
        own: &[OrgId],
        now: UnixTime,
    ) -> Result<Self, QueryError> {
        let mut organisations: BTreeSet<OrgId> = anchors.iter().copied().collect();
        organisations.extend(crate::query::verified_orgs(conn, anchors)?);
        organisations.extend(own.iter().copied());
        let mut keys = BTreeSet::new();
        for org in &organisations {
            keys.extend(certs.org_keys(*org).into_iter().map(|(k, _)| k));
        }
        for d in certs.delegations() {
            let b = &d.body;
            if organisations.contains(&b.issuer) && certs.delegation_in_force(b, now) {
                keys.insert(b.delegate);
            }
        }
        Ok(Self {
            anchors: anchors.to_vec(),
            organisations,
            keys,
        })
    }

    /// Whether the node follows no anchor.
    pub fn open_mode(&self) -> bool {
        self.anchors.is_empty()
    }

    /// Whether a document with `header` may hold anything at all in this scope: open mode, or
    /// its owner (for a product its creator) is in the scope.
    pub fn admits_doc(&self, header: &DocHeader) -> bool {
        self.open_mode() || self.organisations.contains(&header.owner)
    }

    /// Whether `change` of the document `header` is within the scope: the document is
    /// ([`Self::admits_doc`]), and for a product, which any key may edit, its signer speaks
    /// for an organisation in the scope (as its key, a successor of its key, or a delegate
    /// for products at the change's time). For the other kinds the authorisation rule already
    /// demands the owner's key or its delegate.
    ///
    /// Deterministic over signed material: nodes with the same anchors, certificates and
    /// attestations admit the same changes.
    pub fn admits(&self, certs: &Certificates, header: &DocHeader, change: &SignedChange) -> bool {
        if !self.admits_doc(header) {
            return false;
        }
        if self.open_mode() || header.kind != DocKind::Product {
            return true;
        }
        let key = change.signer();
        let at = change.time();
        self.organisations.contains(&OrgId::from_root_key(key))
            || certs
                .org_of_successor(&key)
                .is_some_and(|o| self.organisations.contains(&o))
            || certs
                .delegations_to(&key)
                .any(|d| d.covers(DocKind::Product, at) && self.organisations.contains(&d.issuer))
    }

    /// What status and metrics show of it.
    pub fn summary(&self) -> TrustSummary {
        TrustSummary {
            open_mode: self.open_mode(),
            anchors: self.anchors.len(),
            organisations: self.organisations.len(),
            keys: self.keys.len(),
        }
    }
}

/// The size of a node's trust scope, in `/api/v1/status` (`trust`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct TrustSummary {
    /// The node follows no trust anchor: it cannot tell attested organisations from any key.
    pub open_mode: bool,
    /// Trust anchors followed.
    pub anchors: usize,
    /// Organisations in the scope (anchors, whom they attest, the node's own and its hosted
    /// members).
    pub organisations: usize,
    /// Keys in the scope (those organisations' keys and the keys they delegated to, valid now).
    pub keys: usize,
}

/// An organisation's volume: the changes signed by its keys and delegates that this node
/// stored in the last 24 hours.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrgVolume {
    /// The organisation.
    pub org: OrgId,
    /// Changes stored in the last 24 hours.
    pub changes: u64,
    /// Unusually many ([`UNUSUAL_CHANGES`], [`UNUSUAL_FACTOR`]).
    pub unusual: bool,
}

/// An organisation with more changes than this in 24 hours, and [`UNUSUAL_FACTOR`] times the
/// median of the organisations that changed anything, is marked: "ungewöhnlich viele
/// Änderungen". A compromised but attested organisation is not throttled (nodes that
/// throttled differently would hold different catalogs); it is shown, so that its anchor can
/// withdraw the attestation or it can revoke the key.
pub const UNUSUAL_CHANGES: u64 = 1_000;
/// See [`UNUSUAL_CHANGES`].
pub const UNUSUAL_FACTOR: u64 = 10;

/// The organisation a key signs for now: the issuer of a delegation in force (the smallest,
/// as authorisation picks it), the organisation of a successor key, or the organisation whose
/// root key it is.
pub fn org_of_key(certs: &Certificates, key: &PublicKey, now: UnixTime) -> OrgId {
    certs
        .delegations_to(key)
        .filter(|d| d.not_before <= now && now <= d.not_after)
        .map(|d| d.issuer)
        .min()
        .or_else(|| certs.org_of_successor(key))
        .unwrap_or_else(|| OrgId::from_root_key(*key))
}

/// The organisations whose keys signed changes this node stored since `since` (Unix
/// seconds), most first, with the unusual ones marked.
pub fn volume(
    conn: &Connection,
    certs: &Certificates,
    since: i64,
    now: UnixTime,
) -> Result<Vec<OrgVolume>, QueryError> {
    let mut stmt = conn.prepare_cached(
        "SELECT signer, count(*) FROM changes WHERE received_at >= ?1 GROUP BY signer",
    )?;
    let rows = stmt.query_map([since], |r| {
        Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, i64>(1)?))
    })?;
    let mut per_org: std::collections::HashMap<OrgId, u64> = std::collections::HashMap::new();
    for r in rows {
        let (signer, n) = r?;
        let Some(key) = <[u8; 32]>::try_from(signer)
            .ok()
            .and_then(|b| PublicKey::from_bytes(b).ok())
        else {
            continue;
        };
        *per_org.entry(org_of_key(certs, &key, now)).or_default() += n.max(0) as u64;
    }
    let mut out: Vec<OrgVolume> = per_org
        .into_iter()
        .map(|(org, changes)| OrgVolume {
            org,
            changes,
            unusual: false,
        })
        .collect();
    out.sort_by(|a, b| b.changes.cmp(&a.changes).then(a.org.cmp(&b.org)));
    let median = out.get(out.len() / 2).map_or(0, |v| v.changes);
    for v in &mut out {
        v.unusual = v.changes > UNUSUAL_CHANGES && v.changes > UNUSUAL_FACTOR * median;
    }
    Ok(out)
}

/// The line `allmende run` prints, and logs, when the node follows no anchor.
pub const OPEN_MODE_WARNING: &str = "OPEN MODE: this node follows no trust anchor, so it cannot tell attested public bodies from any key; it stores and shows what every key signs. Follow your network's anchor with --trust-anchor ORG_ID (docs/operations.md).";
