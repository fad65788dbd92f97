//! A running node: repository thread, network actor and HTTP server, started and stopped
//! together.
//!
//! ```text
//!   Node::spawn ──▶ repo thread ◀──▶ NetActor (libp2p) ◀──▶ peers
//!                       ▲
//!                       └──── HTTP (/api/v1/status) on 127.0.0.1
//! ```
//! Shutdown runs in reverse order: HTTP, network, repository.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use allmende_protocol::ids::OrgId;
use libp2p::identity;
use tokio::sync::{mpsc, oneshot};

pub use allmende_api::status::{Status, StatusError, status};
use allmende_net::net::{self, NetConfig, NetHandle};
use allmende_repo_thread::repo_actor::{self, RepoHandle};
use allmende_store::datadir::DataDir;

/// The node's libp2p key file in the data directory.
pub const NODE_KEY_FILE: &str = "node.key";

/// What a node needs to start.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// The data directory (store, identity, node key).
    pub data_dir: PathBuf,
    /// The organisation key file, if not `<data dir>/identity.key`.
    pub identity_file: Option<PathBuf>,
    /// Network settings.
    pub net: NetConfig,
    /// Where the HTTP API listens; `None` for no HTTP.
    pub http: Option<SocketAddr>,
    /// Trust anchors whose attestations mark organisations as verified, and whose scope
    /// decides what the node replicates ([`allmende_catalog::trust`]); none is open mode.
    pub trust_anchors: Vec<OrgId>,
    /// The bounds of the quarantine for signed content outside the trust scope.
    pub quarantine: allmende_repo_thread::quarantine::QuarantineLimits,
    /// Whether the web UI marks every page as showing demo data (`allmende demo`).
    pub demo: bool,
}

/// HTTP settings beyond the address ([`NodeConfig::http`]).
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// How long an export over the API may wait for its client to take the next chunk before
    /// it is abandoned and gives its slot back ([`allmende_api::http::MAX_EXPORTS`]).
    pub export_stall: std::time::Duration,
}

impl Default for HttpOptions {
    fn default() -> Self {
        Self {
            export_stall: allmende_api::http::EXPORT_STALL,
        }
    }
}

/// Errors starting a node.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// Data directory problem.
    #[error(transparent)]
    DataDir(#[from] allmende_store::datadir::DataDirError),
    /// Repository problem.
    #[error(transparent)]
    Repo(#[from] allmende_store::repo::RepoError),
    /// Network problem.
    #[error(transparent)]
    Net(#[from] net::NetError),
    /// The node key file is unusable.
    #[error("node key {path}: {reason}")]
    NodeKey {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The HTTP address is unusable.
    #[error("cannot serve HTTP on {addr}: {source}")]
    Http {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The repository thread stopped.
    #[error(transparent)]
    RepoGone(#[from] repo_actor::RepoGone),
}

/// A running node.
#[derive(Debug)]
pub struct Node {
    /// The network actor.
    pub net: NetHandle,
    /// The repository thread.
    pub repo: RepoHandle,
    /// Where HTTP is served (the bound address, also when port 0 was asked for).
    pub http_addr: Option<SocketAddr>,
    organisation: Option<OrgId>,
    /// The trust anchors followed.
    anchors: Arc<Vec<OrgId>>,
    ui_logins: Option<Arc<allmende_api::http::UiLogins>>,
    http_stop: Option<oneshot::Sender<()>>,
    http_task: Option<tokio::task::JoinHandle<()>>,
}

impl Node {
    /// Opens the data directory and starts everything, with the default [`HttpOptions`].
    pub async fn spawn(cfg: NodeConfig) -> Result<Node, NodeError> {
        Self::spawn_with(cfg, HttpOptions::default()).await
    }

    /// Opens the data directory and starts everything.
    pub async fn spawn_with(cfg: NodeConfig, http: HttpOptions) -> Result<Node, NodeError> {
        let dd = DataDir::new(cfg.data_dir.clone()).with_key_file(cfg.identity_file.clone());
        let identity = if dd.is_initialised() {
            Some(dd.identity()?)
        } else {
            None
        };
        let organisation = identity.as_ref().map(|i| i.org);
        let key = node_key(&dd.path().join(NODE_KEY_FILE), dd.path())?;
        let repo = dd.open_repo()?;
        let (gossip_tx, gossip_rx) = mpsc::channel(1024);
        let members = dd.clone();
        let policy = repo_actor::TrustPolicy {
            anchors: cfg.trust_anchors.clone(),
            own: Arc::new(move || {
                let mut own: Vec<OrgId> = organisation.into_iter().collect();
                own.extend(members.member_orgs().unwrap_or_default());
                own
            }),
            quarantine: cfg.quarantine,
        };
        let repo = repo_actor::spawn(repo, gossip_tx, policy)?;
        let net = net::spawn(key, cfg.net.clone(), repo.clone(), gossip_rx).await?;
        // A bootstrap peer (no organisation) relays and serves everything by design.
        if cfg.trust_anchors.is_empty() && organisation.is_some() {
            tracing::warn!("{}", allmende_catalog::trust::OPEN_MODE_WARNING);
        }
        let mut node = Node {
            net,
            repo,
            http_addr: None,
            organisation,
            anchors: Arc::new(cfg.trust_anchors.clone()),
            ui_logins: None,
            http_stop: None,
            http_task: None,
        };
        if let Some(addr) = cfg.http {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|source| NodeError::Http { addr, source })?;
            let bound = listener
                .local_addr()
                .map_err(|source| NodeError::Http { addr, source })?;
            let api = allmende_api::http::ApiState {
                net: node.net.clone(),
                repo: node.repo.clone(),
                organisation,
                anchors: Arc::new(cfg.trust_anchors.clone()),
                tenants: Arc::new(allmende_api::http::Tenants::from_dir(dd.clone())?),
                http_metrics: Arc::default(),
                store_path: Arc::new(dd.db_path()),
                aggregates: Default::default(),
                exports: Arc::new(tokio::sync::Semaphore::new(allmende_api::http::MAX_EXPORTS)),
                export_stall: http.export_stall,
                ui_logins: Arc::default(),
            };
            node.ui_logins = Some(api.ui_logins.clone());
            let http_metrics = api.http_metrics.clone();
            let local_only = bound.ip().is_loopback();
            let ui = allmende_ui::UiState::new(api.clone(), local_only, cfg.demo);
            let mut router = allmende_api::http::router(api)
                .merge(allmende_ui::router(ui))
                .layer(axum::middleware::from_fn_with_state(
                    http_metrics,
                    allmende_api::http::track,
                ));
            if local_only {
                router = router.layer(axum::middleware::from_fn(allmende_api::http::loopback_only));
            }
            let (stop_tx, stop_rx) = oneshot::channel::<()>();
            let task = tokio::spawn(async move {
                let serve = axum::serve(listener, router).with_graceful_shutdown(async {
                    let _ = stop_rx.await;
                });
                if let Err(e) = serve.await {
                    tracing::error!(error = %e, "HTTP server failed");
                }
            });
            node.http_addr = Some(bound);
            node.http_stop = Some(stop_tx);
            node.http_task = Some(task);
        }
        Ok(node)
    }

    /// The organisation this node signs for.
    pub fn organisation(&self) -> Option<OrgId> {
        self.organisation
    }

    /// A new one-time link that opens a web UI session allowed to publish for every tenant
    /// ([`allmende_api::http::UiLogins`]); `None` without HTTP.
    pub fn ui_login_url(&self) -> Option<String> {
        let mut addr = self.http_addr?;
        if addr.ip().is_unspecified() {
            addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
        }
        let token = self.ui_logins.as_ref()?.issue().ok()?;
        Some(format!(
            "http://{addr}{}{token}",
            allmende_api::http::UI_LOGIN_PATH
        ))
    }

    /// The node's status.
    pub async fn status(&self) -> Result<Status, NodeError> {
        Ok(status(&self.net, &self.repo, self.organisation).await?)
    }

    /// Whether the node follows no trust anchor (open mode, [`allmende_catalog::trust`]).
    pub fn open_mode(&self) -> bool {
        self.anchors.is_empty()
    }

    /// Stops HTTP, then the network, then the repository thread.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.http_stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.http_task.take() {
            let _ = task.await;
        }
        self.net.shutdown().await;
        // Dropping the last repo handle ends the repository thread after its queued jobs.
    }
}

impl From<StatusError> for NodeError {
    fn from(e: StatusError) -> Self {
        match e {
            StatusError::Repo(e) => NodeError::Repo(e),
            StatusError::Net(e) => NodeError::Net(e),
            StatusError::RepoGone(e) => NodeError::RepoGone(e),
        }
    }
}

/// Loads the node's libp2p key, creating it (mode 0600) on first start.
fn node_key(path: &Path, dir: &Path) -> Result<identity::Keypair, NodeError> {
    let bad = |reason: String| NodeError::NodeKey {
        path: path.to_owned(),
        reason,
    };
    if path.exists() {
        let bytes = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
        return identity::Keypair::from_protobuf_encoding(&bytes).map_err(|e| bad(e.to_string()));
    }
    std::fs::create_dir_all(dir).map_err(|e| bad(e.to_string()))?;
    let key = identity::Keypair::generate_ed25519();
    let bytes = key.to_protobuf_encoding().map_err(|e| bad(e.to_string()))?;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(path).map_err(|e| bad(e.to_string()))?;
    std::io::Write::write_all(&mut f, &bytes).map_err(|e| bad(e.to_string()))?;
    f.sync_all().map_err(|e| bad(e.to_string()))?;
    Ok(key)
}

/// The default listen addresses: TCP and QUIC on 7420, WebSocket on 7421, all interfaces.
pub const DEFAULT_LISTEN: [&str; 3] = [
    "/ip4/0.0.0.0/tcp/7420",
    "/ip4/0.0.0.0/udp/7420/quic-v1",
    "/ip4/0.0.0.0/tcp/7421/ws",
];

/// [`DEFAULT_LISTEN`] parsed.
pub fn default_listen() -> Vec<libp2p::Multiaddr> {
    DEFAULT_LISTEN
        .iter()
        .filter_map(|a| a.parse().ok())
        .collect()
}

/// Waits for Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// The addresses others should dial, each with `/p2p/<peer id>`, once the listeners are up
/// (waits up to two seconds for them).
pub async fn dial_addresses(node: &Node) -> Vec<String> {
    for _ in 0..40 {
        if let Ok(s) = node.net.status().await
            && !s.listen_addrs.is_empty()
        {
            return s
                .listen_addrs
                .iter()
                .map(|a| format!("{a}/p2p/{}", s.peer_id))
                .collect();
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    Vec::new()
}
