//! The node status: the `/api/v1/status` document, also read by `allmende status`, the
//! metrics page and the UI. It is asked of the repository thread and the network actor
//! through their handles, so the web face needs nothing of the node's wiring.

use allmende_net::net::{NetError, NetHandle, NetStatus};
use allmende_protocol::ids::OrgId;
use allmende_repo_thread::repo_actor::{RepoGone, RepoHandle};
use allmende_store::repo::RepoError;
use allmende_store::store::Store;
use serde::Serialize;

/// The `/api/v1/status` document.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Status {
    /// Allmende version.
    pub version: &'static str,
    /// The organisation this node signs for, if it has an identity.
    pub organisation: Option<OrgId>,
    /// Documents stored.
    pub documents: u64,
    /// Signed changes stored.
    pub changes: u64,
    /// Certificates stored.
    pub certificates: u64,
    /// Objects in the sync inventory.
    pub objects: usize,
    /// When this node last stored a change (Unix seconds; `null` before the first).
    pub last_change_received: Option<i64>,
    /// A large catch-up runs with the product indexes dropped: pages and queries by product
    /// are slower until it ends and they are built again.
    pub indexes_deferred: bool,
    /// The size of the node's trust scope, and whether it runs in open mode (no anchor).
    pub trust: allmende_catalog::trust::TrustSummary,
    /// What the node holds of signed content outside its trust scope (in memory, bounded).
    pub quarantine: allmende_repo_thread::quarantine::QuarantineStats,
    /// Network state.
    pub network: NetStatus,
}

/// Why the status could not be read.
#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    /// The store could not be read.
    #[error(transparent)]
    Repo(#[from] RepoError),
    /// The network actor stopped.
    #[error(transparent)]
    Net(#[from] NetError),
    /// The repository thread stopped.
    #[error(transparent)]
    RepoGone(#[from] RepoGone),
}

/// The node's status, with the trust scope the repository thread keeps.
pub async fn status(
    net: &NetHandle,
    repo: &RepoHandle,
    organisation: Option<OrgId>,
) -> Result<Status, StatusError> {
    let network = net.status().await?;
    let (counts, last, objects, indexes_deferred, trust, quarantine) = repo
        .call(move |s| {
            (
                s.repo().store().counts(),
                s.repo().store().last_received_at(),
                s.inventory_len(),
                s.indexes_deferred(),
                s.trust_scope().summary(),
                s.quarantine_stats(),
            )
        })
        .await?;
    let counts = counts.map_err(RepoError::from)?;
    let last_change_received = last.map_err(RepoError::from)?;
    Ok(Status {
        version: env!("CARGO_PKG_VERSION"),
        organisation,
        documents: counts.documents,
        changes: counts.changes,
        certificates: counts.certificates,
        objects,
        last_change_received,
        indexes_deferred,
        trust,
        quarantine,
        network,
    })
}
