//! The network actor: one task owns the libp2p [`Swarm`].
//!
//! ```text
//!                 NetHandle (cloneable)            repo thread (RepoHandle)
//!                      │ NetCommand                    ▲  │ results (Internal)
//!                      ▼                               │  ▼
//!   Swarm events ─▶ NetActor::run ── tokio::select! ── spawned tasks ──┘
//!                      │
//!                      └─▶ gossipsub (announce), request-response (/allmende/sync/1),
//!                          Kademlia + identify (discovery), mDNS, relay, ping, block list
//! ```
//!
//! Sync: on every new connection and every `reconcile_interval` the actor runs a
//! range-reconciliation session with the peer ([`allmende_protocol::sync`]); what it lacks it
//! fetches in batches, never one document twice at once (module `fetch_queue`). Gossip
//! carries announcements of new changes, validated (verified, authorised, stored) before they
//! are forwarded. Peers are penalised for provably bad data
//! and for request floods, and blocked past a threshold.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use allmende_protocol::auth::AuthError;
use allmende_protocol::identity::CertError;
use allmende_protocol::sync::{
    self, Gossip, Key, MAX_GOSSIP_BYTES, MAX_REQUEST_BYTES, MAX_RESPONSE_BYTES, RefusalCode,
    Request, Response, Want,
};
use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, StreamExt};
use libp2p::swarm::behaviour::toggle::Toggle;
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{
    Multiaddr, PeerId, StreamProtocol, Swarm, allow_block_list, gossipsub, identify, identity, kad,
    mdns, noise, ping, relay, request_response, tcp, yamux,
};
use serde::Serialize;
use tokio::sync::{mpsc, oneshot};

use allmende_store::repo::RepoError;

mod fetch_queue;
mod limits;
use allmende_repo_thread::repo_actor::{self, Outcome, RepoHandle};
use fetch_queue::{BatchId, FetchQueue};
use limits::{AddressBuckets, Bucket, Budget, Recent, Verdict};

/// The request-response protocol for reconciliation and fetching.
pub const SYNC_PROTOCOL: &str = "/allmende/sync/1";
/// Kademlia protocol name: our own, so nodes never join the public IPFS DHT.
pub const KAD_PROTOCOL: &str = "/allmende/kad/1";
/// Identify protocol version string.
pub const IDENTIFY_PROTOCOL: &str = "/allmende/id/1";
/// Gossipsub topic for announcements.
pub const TOPIC: &str = "allmende/announce/1";

/// Penalty points for provably bad data (forged, malformed, unauthorised).
const PENALTY_BAD_DATA: i64 = 50;
/// Penalty points per request over the rate limit.
const PENALTY_FLOOD: i64 = 5;

/// Counted when a gossip message is valid but not forwarded: it brought nothing this node did
/// not hold (a replay in a new wrapper has a new message id).
const HELD_BACK_NOT_NEW: &str = "gossip held back: nothing new";
/// Counted when a revocation is not forwarded because its issuer has no authority over its
/// subject (as far as this node knows).
const HELD_BACK_NO_AUTHORITY: &str = "gossip held back: revocation without authority";
/// Counted when a heads-only announcement is not forwarded: nothing in it can be verified.
const HELD_BACK_UNVERIFIABLE: &str = "gossip held back: unverifiable announcement";

/// Counted when a gossip message is not forwarded because it carries changes outside this
/// node's trust scope ([`allmende_catalog::trust`]).
const HELD_BACK_OUT_OF_SCOPE: &str = "gossip held back: outside the trust scope";

/// What the codec hands the actor in place of an oversized request (no message starts
/// with a zero byte).
const OVERSIZED: &[u8] = b"\0oversized";

/// Bytes through the sync protocol, for status and the catch-up benchmark.
#[derive(Debug, Default)]
pub struct Traffic {
    /// Bytes written (frames including length prefixes).
    pub sent: AtomicU64,
    /// Bytes read.
    pub received: AtomicU64,
}

/// Length-prefixed frames with hard size limits; the contents are `allmende_protocol::sync`
/// messages, decoded by the actor.
#[derive(Debug, Clone, Default)]
pub struct SyncCodec {
    traffic: Arc<Traffic>,
}

async fn read_frame<T: AsyncRead + Unpin + Send>(
    io: &mut T,
    max: usize,
    traffic: &Traffic,
) -> io::Result<Vec<u8>> {
    let mut len = [0u8; 4];
    io.read_exact(&mut len).await?;
    let n = u32::from_be_bytes(len) as usize;
    if n > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("frame of {n} bytes exceeds {max}"),
        ));
    }
    let mut buf = vec![0u8; n];
    io.read_exact(&mut buf).await?;
    traffic.received.fetch_add(n as u64 + 4, Ordering::Relaxed);
    Ok(buf)
}

async fn write_frame<T: AsyncWrite + Unpin + Send>(
    io: &mut T,
    data: &[u8],
    max: usize,
    traffic: &Traffic,
) -> io::Result<()> {
    if data.len() > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("frame of {} bytes exceeds {max}", data.len()),
        ));
    }
    let len =
        u32::try_from(data.len()).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    io.write_all(&len.to_be_bytes()).await?;
    io.write_all(data).await?;
    io.flush().await?;
    traffic
        .sent
        .fetch_add(data.len() as u64 + 4, Ordering::Relaxed);
    Ok(())
}

impl request_response::Codec for SyncCodec {
    type Protocol = StreamProtocol;
    type Request = Vec<u8>;
    type Response = Vec<u8>;

    async fn read_request<T: AsyncRead + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
    ) -> io::Result<Vec<u8>> {
        match read_frame(io, MAX_REQUEST_BYTES, &self.traffic).await {
            // request-response drops failed inbound reads silently; hand the actor a marker
            // instead so it can refuse and penalise the sender.
            Err(e) if e.kind() == io::ErrorKind::InvalidData => Ok(OVERSIZED.to_vec()),
            other => other,
        }
    }

    async fn read_response<T: AsyncRead + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
    ) -> io::Result<Vec<u8>> {
        read_frame(io, MAX_RESPONSE_BYTES, &self.traffic).await
    }

    async fn write_request<T: AsyncWrite + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        req: Vec<u8>,
    ) -> io::Result<()> {
        // The receiver enforces MAX_REQUEST_BYTES; the writer's looser bound lets a
        // diagnostic raw request test that (honest requests are encoded far below it).
        write_frame(io, &req, MAX_RESPONSE_BYTES, &self.traffic).await
    }

    async fn write_response<T: AsyncWrite + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        res: Vec<u8>,
    ) -> io::Result<()> {
        write_frame(io, &res, MAX_RESPONSE_BYTES, &self.traffic).await
    }
}

mod behaviour {
    // The derive generates an undocumented event enum.
    #![allow(missing_docs)]
    use super::*;

    /// All behaviours of an Allmende node.
    #[derive(NetworkBehaviour)]
    pub struct Behaviour {
        pub(super) blocked: allow_block_list::Behaviour<allow_block_list::BlockedPeers>,
        pub(super) gossipsub: gossipsub::Behaviour,
        pub(super) sync: request_response::Behaviour<SyncCodec>,
        pub(super) kad: kad::Behaviour<kad::store::MemoryStore>,
        pub(super) identify: identify::Behaviour,
        pub(super) ping: ping::Behaviour,
        pub(super) mdns: Toggle<mdns::tokio::Behaviour>,
        pub(super) relay_client: relay::client::Behaviour,
        pub(super) relay_server: Toggle<relay::Behaviour>,
    }
}
pub use behaviour::{Behaviour, BehaviourEvent};

/// Network settings.
#[derive(Debug, Clone)]
pub struct NetConfig {
    /// Addresses to listen on.
    pub listen: Vec<Multiaddr>,
    /// Peers to dial at start (with `/p2p/<peer id>`).
    pub bootstrap: Vec<Multiaddr>,
    /// Discover peers on the local network with mDNS.
    pub mdns: bool,
    /// Serve as a relay for peers behind NAT (bootstrap and always-on nodes).
    pub relay_server: bool,
    /// Relays to listen through when this node is not reachable directly.
    pub relays: Vec<Multiaddr>,
    /// How often to reconcile with each connected peer.
    pub reconcile_interval: Duration,
    /// Inbound sync requests per second allowed per peer (sustained).
    pub requests_per_second: f64,
    /// Burst of inbound requests allowed per peer.
    pub request_burst: f64,
    /// Inbound requests of all peers of one remote address may use this many times one
    /// peer's rate and burst (module `limits`): new peer ids are free, addresses are not.
    pub address_share: f64,
    /// Bytes of reconciliation replies one peer may draw per second (module `limits`).
    pub reconcile_reply_rate: f64,
    /// Bytes of reconciliation replies one peer may draw at once.
    pub reconcile_reply_burst: f64,
    /// Documents outside the trust scope one peer may deliver per second, in fetch answers
    /// (each is verified, then refused) and by gossip: past it, what waits to be fetched from
    /// the peer is dropped, no fetch is sent to it for a request's worth of the rate, and
    /// each further document it publishes by gossip is penalised as a flood. Bounds what a flood costs in
    /// signatures checked (gossipsub's own and the changes').
    pub out_of_scope_rate: f64,
    /// Documents outside the trust scope one peer may deliver at once.
    pub out_of_scope_burst: f64,
    /// Penalty points at which a peer is disconnected and blocked.
    pub ban_threshold: i64,
    /// Documents waiting to be fetched at which a catch-up counts as large: the product
    /// indexes are then dropped until no fetch is in flight any more, and built again in one
    /// go (`SqliteStore::defer_indexes`). `usize::MAX` never defers them.
    pub defer_indexes_at: usize,
    /// Documents of such a catch-up stored before the indexes are dropped: a flood that is
    /// offered but refused (outside the trust scope) never drops them
    /// ([`repo_actor::DEFER_AFTER_STORED`]).
    pub defer_after_stored: usize,
}

/// The default of [`NetConfig::address_share`]: eight honest nodes behind one address can
/// each use a peer's full rate at once.
pub const ADDRESS_SHARE: f64 = 8.0;

/// The default of [`NetConfig::defer_indexes_at`]. Building the product indexes again costs
/// about as much as storing 2,500 documents with them at full scale (15 s against 6 ms a
/// document, measured in docs/benchmarks.md), so smaller backlogs keep them.
pub const DEFER_INDEXES_AT: usize = 2_000;

impl Default for NetConfig {
    fn default() -> Self {
        Self {
            listen: vec![],
            bootstrap: vec![],
            mdns: false,
            relay_server: false,
            relays: vec![],
            reconcile_interval: Duration::from_secs(30),
            requests_per_second: 50.0,
            request_burst: 200.0,
            address_share: ADDRESS_SHARE,
            reconcile_reply_rate: 1024.0 * 1024.0,
            reconcile_reply_burst: 512.0 * 1024.0 * 1024.0,
            out_of_scope_rate: 20.0,
            out_of_scope_burst: 100.0,
            ban_threshold: 100,
            defer_indexes_at: DEFER_INDEXES_AT,
            defer_after_stored: repo_actor::DEFER_AFTER_STORED,
        }
    }
}

/// Errors starting the network.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// The transport could not be built.
    #[error("cannot build the libp2p transport: {0}")]
    Transport(String),
    /// A listen address is unusable.
    #[error("cannot listen on {addr}: {reason}")]
    Listen {
        /// The address.
        addr: Multiaddr,
        /// Why.
        reason: String,
    },
    /// The actor is gone.
    #[error("the network actor has stopped")]
    Stopped,
}

/// A snapshot of the network state.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct NetStatus {
    /// This node's peer id.
    pub peer_id: String,
    /// Addresses it listens on.
    pub listen_addrs: Vec<String>,
    /// Connected peers.
    pub peers: Vec<String>,
    /// Peers blocked for misbehaviour.
    pub blocked: Vec<String>,
    /// Sync protocol bytes sent.
    pub bytes_sent: u64,
    /// Sync protocol bytes received.
    pub bytes_received: u64,
    /// Reconciliation sessions completed.
    pub sessions_completed: u64,
    /// Objects waiting to be fetched.
    pub pending_fetches: usize,
    /// Rejected messages by reason.
    pub rejected: BTreeMap<String, u64>,
}

enum NetCommand {
    Status(oneshot::Sender<NetStatus>),
    Dial(Multiaddr, oneshot::Sender<Result<(), String>>),
    SyncNow,
    RawRequest {
        peer: PeerId,
        bytes: Vec<u8>,
        reply: oneshot::Sender<Result<Vec<u8>, String>>,
    },
    RawPublish {
        bytes: Vec<u8>,
        reply: oneshot::Sender<Result<(), String>>,
    },
    Shutdown(oneshot::Sender<()>),
}

/// A cloneable handle to the network actor.
#[derive(Clone, Debug)]
pub struct NetHandle {
    tx: mpsc::Sender<NetCommand>,
    peer_id: PeerId,
}

impl NetHandle {
    /// This node's peer id.
    pub fn peer_id(&self) -> PeerId {
        self.peer_id
    }

    async fn ask<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> NetCommand,
    ) -> Result<T, NetError> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(make(tx))
            .await
            .map_err(|_| NetError::Stopped)?;
        rx.await.map_err(|_| NetError::Stopped)
    }

    /// The current network state.
    pub async fn status(&self) -> Result<NetStatus, NetError> {
        self.ask(NetCommand::Status).await
    }

    /// Dials an address.
    pub async fn dial(&self, addr: Multiaddr) -> Result<(), NetError> {
        self.ask(|tx| NetCommand::Dial(addr, tx))
            .await?
            .map_err(|reason| NetError::Listen {
                addr: Multiaddr::empty(),
                reason,
            })
    }

    /// Starts a reconciliation session with every connected peer now.
    pub async fn sync_now(&self) -> Result<(), NetError> {
        self.tx
            .send(NetCommand::SyncNow)
            .await
            .map_err(|_| NetError::Stopped)
    }

    /// Sends raw bytes as a sync request and returns the raw response. For diagnostics and
    /// for tests that play a misbehaving peer; honest code uses the typed protocol.
    pub async fn raw_request(
        &self,
        peer: PeerId,
        bytes: Vec<u8>,
    ) -> Result<Result<Vec<u8>, String>, NetError> {
        self.ask(|reply| NetCommand::RawRequest { peer, bytes, reply })
            .await
    }

    /// Publishes raw bytes on the announcement topic (diagnostics and tests, as above).
    pub async fn raw_publish(&self, bytes: Vec<u8>) -> Result<Result<(), String>, NetError> {
        self.ask(|reply| NetCommand::RawPublish { bytes, reply })
            .await
    }

    /// Stops the actor and waits until the swarm is dropped.
    pub async fn shutdown(&self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(NetCommand::Shutdown(tx)).await.is_ok() {
            let _ = rx.await;
        }
    }
}

/// Results of work done off the actor task.
enum Internal {
    Respond {
        channel: request_response::ResponseChannel<Vec<u8>>,
        bytes: Vec<u8>,
        /// For a reconciliation reply: the peer whose byte budget it is charged to.
        reconcile_of: Option<PeerId>,
    },
    Continue {
        peer: PeerId,
        reply: Vec<u8>,
        need: Vec<Key>,
    },
    SessionDone {
        peer: PeerId,
        need: Vec<Key>,
    },
    Need {
        peer: PeerId,
        keys: Vec<Key>,
    },
    Validated {
        id: gossipsub::MessageId,
        source: PeerId,
        acceptance: gossipsub::MessageAcceptance,
        fetch: Option<Key>,
        held_back: Option<&'static str>,
        /// The document, when everything the message carried had been refused by policy
        /// before.
        refused_again: Option<Key>,
    },
    Penalise {
        peer: PeerId,
        points: i64,
        reason: &'static str,
    },
    /// A fetch answer of `peer` brought `docs` documents of which nothing is in the trust
    /// scope.
    OutOfScope {
        peer: PeerId,
        docs: usize,
    },
    Fetched {
        peer: PeerId,
        batch: BatchId,
    },
    SendFetch {
        peer: PeerId,
        batch: BatchId,
        bytes: Vec<u8>,
    },
}

/// What the actor keeps about a connected peer. Created when the first connection is
/// established and dropped with the last one: peer ids cost nothing, so nothing keyed by one
/// may outlive its connection (penalty scores excepted, in a bounded map).
struct PeerState {
    requests: Bucket,
    /// Bytes of reconciliation replies ([`NetConfig::reconcile_reply_rate`]).
    replies: Bucket,
    /// Documents outside the trust scope fetched or pushed ([`NetConfig::out_of_scope_rate`]).
    out_of_scope: Bucket,
    /// The documents outside the trust scope it pushed last by gossip (at most
    /// [`RECENT_OUT_OF_SCOPE`]), charged once.
    recent_out_of_scope: Recent<Key>,
    /// No fetch is sent to it before this: it delivered more documents outside the trust
    /// scope than its budget.
    fetch_paused_until: Option<Instant>,
    fetches: FetchQueue,
    session: bool,
    /// The remote address of its first connection, for the per-address request limit.
    ip: Option<std::net::IpAddr>,
}

impl PeerState {
    fn new(burst: f64, reply_burst: f64, scope_burst: f64, ip: Option<std::net::IpAddr>) -> Self {
        Self {
            requests: Bucket::full(burst, Instant::now()),
            replies: Bucket::full(reply_burst, Instant::now()),
            out_of_scope: Bucket::full(scope_burst, Instant::now()),
            recent_out_of_scope: Recent::new(RECENT_OUT_OF_SCOPE),
            fetch_paused_until: None,
            fetches: FetchQueue::default(),
            session: false,
            ip,
        }
    }
}

/// Documents outside the trust scope remembered per peer, so that many gossip messages about
/// one of them are charged once.
const RECENT_OUT_OF_SCOPE: usize = 64;

/// Peers kept blocked at most; the earliest blocked go first.
const MAX_BLOCKED: usize = 10_000;
/// Penalty scores kept, of connected and disconnected peers; the lowest go first.
const MAX_SCORES: usize = 10_000;
/// Keys waiting to be fetched, over all peers. Each peer may queue its fair share of it
/// (at most [`fetch_queue::MAX_QUEUED_PER_PEER`]): a peer that names keys it never delivers
/// cannot crowd out the others, nor grow memory with new peer ids.
const MAX_QUEUED_TOTAL: usize = 400_000;

enum Pending {
    Reconcile,
    Fetch(BatchId),
    Raw(oneshot::Sender<Result<Vec<u8>, String>>),
}

/// Builds the swarm, starts listening and dialing, and spawns the actor.
pub async fn spawn(
    key: identity::Keypair,
    cfg: NetConfig,
    repo: RepoHandle,
    announcements: mpsc::Receiver<Gossip>,
) -> Result<NetHandle, NetError> {
    let traffic = Arc::new(Traffic::default());
    let codec = SyncCodec {
        traffic: traffic.clone(),
    };
    let mdns_on = cfg.mdns;
    let relay_on = cfg.relay_server;
    let mut swarm = libp2p::SwarmBuilder::with_existing_identity(key)
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )
        .map_err(|e| NetError::Transport(e.to_string()))?
        .with_quic()
        .with_dns()
        .map_err(|e| NetError::Transport(e.to_string()))?
        .with_websocket(noise::Config::new, yamux::Config::default)
        .await
        .map_err(|e| NetError::Transport(e.to_string()))?
        .with_relay_client(noise::Config::new, yamux::Config::default)
        .map_err(|e| NetError::Transport(e.to_string()))?
        .with_behaviour(|key, relay_client| {
            let peer_id = key.public().to_peer_id();
            let gossip_cfg = gossipsub::ConfigBuilder::default()
                .validation_mode(gossipsub::ValidationMode::Strict)
                .validate_messages()
                .max_transmit_size(MAX_GOSSIP_BYTES + 4096)
                .heartbeat_interval(Duration::from_millis(700))
                .message_id_fn(|m: &gossipsub::Message| {
                    use sha2_hash::hash;
                    gossipsub::MessageId::from(hash(&m.data))
                })
                .build()
                .map_err(|e| e.to_string())?;
            let gossipsub = gossipsub::Behaviour::new(
                gossipsub::MessageAuthenticity::Signed(key.clone()),
                gossip_cfg,
            )?;
            let sync = request_response::Behaviour::with_codec(
                codec.clone(),
                [(
                    StreamProtocol::new(SYNC_PROTOCOL),
                    request_response::ProtocolSupport::Full,
                )],
                request_response::Config::default()
                    .with_request_timeout(Duration::from_secs(30))
                    .with_max_concurrent_streams(64),
            );
            // Bootstrapping is driven from the actor's own timer (see `run`): libp2p's periodic
            // one warns every five minutes on a node that knows no peer yet, such as a demo.
            let mut kad_cfg = kad::Config::new(StreamProtocol::new(KAD_PROTOCOL));
            kad_cfg.set_periodic_bootstrap_interval(None);
            let mut kad = kad::Behaviour::with_config(
                peer_id,
                kad::store::MemoryStore::new(peer_id),
                kad_cfg,
            );
            kad.set_mode(Some(kad::Mode::Server));
            let identify = identify::Behaviour::new(identify::Config::new(
                IDENTIFY_PROTOCOL.into(),
                key.public(),
            ));
            let mdns = if mdns_on {
                Some(mdns::tokio::Behaviour::new(
                    mdns::Config::default(),
                    peer_id,
                )?)
            } else {
                None
            };
            let relay_server =
                relay_on.then(|| relay::Behaviour::new(peer_id, relay::Config::default()));
            Ok(Behaviour {
                blocked: allow_block_list::Behaviour::default(),
                gossipsub,
                sync,
                kad,
                identify,
                ping: ping::Behaviour::default(),
                mdns: Toggle::from(mdns),
                relay_client,
                relay_server: Toggle::from(relay_server),
            })
        })
        .map_err(|e| NetError::Transport(e.to_string()))?
        // Peers outside the gossip mesh must stay connected for sync and catch-up.
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(300)))
        .build();

    let topic = gossipsub::IdentTopic::new(TOPIC);
    swarm
        .behaviour_mut()
        .gossipsub
        .subscribe(&topic)
        .map_err(|e| NetError::Transport(e.to_string()))?;
    for addr in &cfg.listen {
        swarm
            .listen_on(addr.clone())
            .map_err(|e| NetError::Listen {
                addr: addr.clone(),
                reason: e.to_string(),
            })?;
    }
    for relay in &cfg.relays {
        let circuit = relay.clone().with(libp2p::multiaddr::Protocol::P2pCircuit);
        if let Err(e) = swarm.listen_on(circuit) {
            tracing::warn!(%relay, error = %e, "cannot listen through relay");
        }
    }
    for addr in &cfg.bootstrap {
        if let Some(peer) = peer_of(addr) {
            swarm.behaviour_mut().kad.add_address(&peer, addr.clone());
        }
        if let Err(e) = swarm.dial(addr.clone()) {
            tracing::warn!(%addr, error = %e, "cannot dial bootstrap peer");
        }
    }
    let peer_id = *swarm.local_peer_id();
    let (tx, rx) = mpsc::channel(256);
    let (itx, irx) = mpsc::channel(4096);
    let addresses = AddressBuckets::new(
        cfg.requests_per_second * cfg.address_share,
        cfg.request_burst * cfg.address_share,
    );
    let reply_addresses = AddressBuckets::new(
        cfg.reconcile_reply_rate * cfg.address_share,
        cfg.reconcile_reply_burst * cfg.address_share,
    );
    let scope_addresses = AddressBuckets::new(
        cfg.out_of_scope_rate * cfg.address_share,
        cfg.out_of_scope_burst * cfg.address_share,
    );
    let actor = NetActor {
        swarm,
        repo,
        commands: rx,
        internal_tx: itx,
        internal: irx,
        announcements,
        topic,
        cfg,
        traffic,
        peers: HashMap::new(),
        scores: HashMap::new(),
        addresses,
        reply_addresses,
        scope_addresses,
        pending: HashMap::new(),
        blocked: HashSet::new(),
        blocked_order: std::collections::VecDeque::new(),
        refused_pushes: Recent::new(MAX_REFUSED_PUSHES),
        sessions_completed: 0,
        indexes_deferred: false,
        rejected: BTreeMap::new(),
    };
    tokio::spawn(actor.run());
    Ok(NetHandle { tx, peer_id })
}

/// Gossip message ids are a hash of the payload, so the same announcement relayed by two
/// peers is one message.
mod sha2_hash {
    use sha2::{Digest, Sha256};

    pub fn hash(data: &[u8]) -> Vec<u8> {
        Sha256::digest(data)[..20].to_vec()
    }
}

fn peer_of(addr: &Multiaddr) -> Option<PeerId> {
    addr.iter().find_map(|p| match p {
        libp2p::multiaddr::Protocol::P2p(id) => Some(id),
        _ => None,
    })
}

struct NetActor {
    swarm: Swarm<Behaviour>,
    repo: RepoHandle,
    commands: mpsc::Receiver<NetCommand>,
    internal_tx: mpsc::Sender<Internal>,
    internal: mpsc::Receiver<Internal>,
    announcements: mpsc::Receiver<Gossip>,
    topic: gossipsub::IdentTopic,
    cfg: NetConfig,
    traffic: Arc<Traffic>,
    peers: HashMap<PeerId, PeerState>,
    /// Penalty points per peer, kept across reconnections ([`MAX_SCORES`]).
    scores: HashMap<PeerId, i64>,
    /// Inbound request buckets per remote address ([`NetConfig::address_share`]).
    addresses: AddressBuckets,
    /// Reconciliation reply bytes per remote address.
    reply_addresses: AddressBuckets,
    /// The same for documents outside the trust scope.
    scope_addresses: AddressBuckets,
    pending: HashMap<request_response::OutboundRequestId, (PeerId, Pending)>,
    blocked: HashSet<PeerId>,
    /// `blocked` in the order they were blocked, to let the oldest out ([`MAX_BLOCKED`]).
    blocked_order: std::collections::VecDeque<PeerId>,
    /// Which peer pushed which refused document by gossip (the newest
    /// [`MAX_REFUSED_PUSHES`]).
    refused_pushes: Recent<(PeerId, Key)>,
    sessions_completed: u64,
    rejected: BTreeMap<String, u64>,
    /// A large catch-up runs with the product indexes deferred (see
    /// [`NetConfig::defer_indexes_at`]).
    indexes_deferred: bool,
}

impl NetActor {
    async fn run(mut self) {
        let mut tick = tokio::time::interval(self.cfg.reconcile_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut kad_tick = tokio::time::interval(Duration::from_secs(60));
        let mut kad_ticks: u64 = 0;
        let mut scope = self.repo.scope_changes();
        scope.mark_unchanged();
        loop {
            tokio::select! {
                cmd = self.commands.recv() => match cmd {
                    Some(NetCommand::Shutdown(done)) => {
                        drop(self.swarm);
                        let _ = done.send(());
                        return;
                    }
                    Some(cmd) => self.command(cmd),
                    None => return,
                },
                event = self.swarm.select_next_some() => self.swarm_event(event),
                Some(msg) = self.internal.recv() => self.internal(msg),
                Some(gossip) = self.announcements.recv() => self.publish(gossip),
                _ = tick.tick() => self.start_sessions(),
                // The trust scope grew or shrank: what peers hold may be wanted now.
                Ok(()) = scope.changed() => self.start_sessions(),
                _ = kad_tick.tick() => {
                    // Every minute with bootstrap peers configured; otherwise every five
                    // minutes, as libp2p would, for peers found by mDNS or identify. With no
                    // peer known yet, bootstrap refuses (`NoKnownPeers`), which is no news.
                    kad_ticks = kad_ticks.wrapping_add(1);
                    if !self.cfg.bootstrap.is_empty() || kad_ticks.is_multiple_of(5) {
                        let _ = self.swarm.behaviour_mut().kad.bootstrap();
                    }
                }
            }
        }
    }

    fn command(&mut self, cmd: NetCommand) {
        match cmd {
            NetCommand::Status(tx) => {
                let _ = tx.send(self.status());
            }
            NetCommand::Dial(addr, tx) => {
                let _ = tx.send(self.swarm.dial(addr).map_err(|e| e.to_string()));
            }
            NetCommand::SyncNow => self.start_sessions(),
            NetCommand::RawRequest { peer, bytes, reply } => {
                let id = self.swarm.behaviour_mut().sync.send_request(&peer, bytes);
                self.pending.insert(id, (peer, Pending::Raw(reply)));
            }
            NetCommand::RawPublish { bytes, reply } => {
                let r = self
                    .swarm
                    .behaviour_mut()
                    .gossipsub
                    .publish(self.topic.clone(), bytes);
                let _ = reply.send(r.map(|_| ()).map_err(|e| e.to_string()));
            }
            NetCommand::Shutdown(_) => {}
        }
    }

    fn status(&self) -> NetStatus {
        NetStatus {
            peer_id: self.swarm.local_peer_id().to_string(),
            listen_addrs: self.swarm.listeners().map(ToString::to_string).collect(),
            peers: self
                .swarm
                .connected_peers()
                .map(ToString::to_string)
                .collect(),
            blocked: self.blocked.iter().map(ToString::to_string).collect(),
            bytes_sent: self.traffic.sent.load(Ordering::Relaxed),
            bytes_received: self.traffic.received.load(Ordering::Relaxed),
            sessions_completed: self.sessions_completed,
            pending_fetches: self.peers.values().map(|p| p.fetches.pending()).sum(),
            rejected: self.rejected.clone(),
        }
    }

    fn publish(&mut self, gossip: Gossip) {
        let mut bytes = gossip.encode();
        if bytes.len() > MAX_GOSSIP_BYTES {
            // Too big for gossip: announce the document without its changes; receivers pull.
            if let Gossip::Announce(a) = gossip {
                bytes = Gossip::Announce(sync::Announce {
                    header: a.header,
                    changes: vec![],
                    certs: vec![],
                })
                .encode();
            } else {
                return;
            }
        }
        match self
            .swarm
            .behaviour_mut()
            .gossipsub
            .publish(self.topic.clone(), bytes)
        {
            Ok(_) => {}
            // Normal in small or young networks; reconciliation delivers it later.
            Err(gossipsub::PublishError::NoPeersSubscribedToTopic)
            | Err(gossipsub::PublishError::Duplicate) => {}
            Err(e) => tracing::warn!(error = %e, "cannot publish announcement"),
        }
    }

    fn start_sessions(&mut self) {
        let peers: Vec<PeerId> = self.swarm.connected_peers().copied().collect();
        for peer in peers {
            self.start_session(peer);
        }
    }

    fn start_session(&mut self, peer: PeerId) {
        if self.blocked.contains(&peer) {
            return;
        }
        let Some(state) = self.peers.get_mut(&peer) else {
            return;
        };
        if state.session {
            return;
        }
        state.session = true;
        let repo = self.repo.clone();
        let tx = self.internal_tx.clone();
        tokio::spawn(async move {
            if let Ok(ranges) = repo.call(|s| s.initiate()).await {
                let _ = tx
                    .send(Internal::Continue {
                        peer,
                        reply: Request::Reconcile(ranges).encode(),
                        need: vec![],
                    })
                    .await;
            }
        });
    }

    fn reject(&mut self, reason: &str) {
        *self.rejected.entry(reason.to_owned()).or_default() += 1;
    }

    fn penalise(&mut self, peer: PeerId, points: i64, reason: &'static str) {
        self.reject(reason);
        if self.scores.len() >= MAX_SCORES
            && !self.scores.contains_key(&peer)
            && let Some(lowest) = self.scores.iter().min_by_key(|(_, s)| **s).map(|(p, _)| *p)
        {
            self.scores.remove(&lowest);
        }
        let score = self.scores.entry(peer).or_default();
        *score += points;
        let score = *score;
        tracing::warn!(%peer, reason, score, "peer penalised");
        if score >= self.cfg.ban_threshold && self.blocked.insert(peer) {
            tracing::warn!(%peer, "peer blocked and disconnected");
            self.swarm.behaviour_mut().blocked.block_peer(peer);
            let _ = self.swarm.disconnect_peer_id(peer);
            self.peers.remove(&peer);
            self.scores.remove(&peer);
            // Peer ids are free: the block list keeps the newest MAX_BLOCKED. A peer let out
            // again starts from nothing and is blocked again after the same misbehaviour.
            self.blocked_order.push_back(peer);
            while self.blocked_order.len() > MAX_BLOCKED {
                if let Some(old) = self.blocked_order.pop_front() {
                    self.blocked.remove(&old);
                    self.swarm.behaviour_mut().blocked.unblock_peer(old);
                }
            }
        }
    }

    /// Token buckets per peer and per remote address ([`limits`]). A peer not connected any
    /// more counts as over its limit.
    fn admit(&mut self, peer: PeerId) -> Verdict {
        let limits = (self.cfg.requests_per_second, self.cfg.request_burst);
        let Some(state) = self.peers.get_mut(&peer) else {
            return Verdict::PeerOver;
        };
        limits::judge(
            &mut state.requests,
            &mut self.addresses,
            state.ip,
            limits,
            Instant::now(),
        )
    }

    /// Charges a reconciliation reply to the peer's and its address's byte budgets
    /// ([`limits::charge`]); false when over either. A peer gone meanwhile is charged
    /// nothing: its answer goes nowhere.
    fn charge_reply(&mut self, peer: PeerId, bytes: usize) -> bool {
        let budget = Budget {
            rate: self.cfg.reconcile_reply_rate,
            burst: self.cfg.reconcile_reply_burst,
        };
        let Some(state) = self.peers.get_mut(&peer) else {
            return true;
        };
        limits::charge(
            &mut state.replies,
            &mut self.reply_addresses,
            state.ip,
            budget,
            bytes,
            Instant::now(),
        )
    }

    /// Charges documents outside the trust scope that `peer` delivered (in a fetch answer or
    /// by gossip); when over its (or its address's) budget, drops what waits to be fetched
    /// from it (the next session names what is still missing again) and returns false.
    fn charge_out_of_scope(&mut self, peer: PeerId, docs: usize) -> bool {
        let budget = Budget {
            rate: self.cfg.out_of_scope_rate,
            burst: self.cfg.out_of_scope_burst,
        };
        let Some(state) = self.peers.get_mut(&peer) else {
            return true;
        };
        if limits::charge(
            &mut state.out_of_scope,
            &mut self.scope_addresses,
            state.ip,
            budget,
            docs,
            Instant::now(),
        ) {
            return true;
        }
        // Fetches wait until the budget holds about one request's worth again, so that what
        // is fetched from this peer stays near its rate (a request names up to MAX_WANTS).
        let pause = sync::MAX_WANTS as f64 / self.cfg.out_of_scope_rate.max(0.001);
        state.fetch_paused_until = Some(Instant::now() + Duration::from_secs_f64(pause.min(600.0)));
        let dropped = state.fetches.drop_waiting();
        if dropped > 0 {
            tracing::debug!(%peer, dropped, "fetching paused: many documents outside the trust scope");
            self.reject("fetches paused: documents outside the trust scope");
        }
        false
    }

    fn swarm_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::NewListenAddr { address, .. } => tracing::info!(%address, "listening"),
            SwarmEvent::ConnectionEstablished {
                peer_id,
                endpoint,
                num_established,
                ..
            } => {
                let addr = endpoint.get_remote_address();
                tracing::debug!(peer = %peer_id, %addr, "connected");
                if num_established.get() == 1 {
                    let ip = addr.iter().find_map(|p| match p {
                        libp2p::multiaddr::Protocol::Ip4(ip) => Some(ip.into()),
                        libp2p::multiaddr::Protocol::Ip6(ip) => Some(limits::network_of(ip)),
                        _ => None,
                    });
                    let state = PeerState::new(
                        self.cfg.request_burst,
                        self.cfg.reconcile_reply_burst,
                        self.cfg.out_of_scope_burst,
                        ip,
                    );
                    self.peers.insert(peer_id, state);
                    self.start_session(peer_id);
                }
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                num_established,
                ..
            } => {
                if num_established == 0 {
                    // Its queue goes too: what it named is named again by the peers that
                    // hold it, at their next reconciliation.
                    self.peers.remove(&peer_id);
                }
                self.end_catch_up();
            }
            SwarmEvent::Behaviour(BehaviourEvent::Identify(identify::Event::Received {
                peer_id,
                info,
                ..
            })) => {
                for addr in info.listen_addrs {
                    self.swarm.behaviour_mut().kad.add_address(&peer_id, addr);
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Mdns(mdns::Event::Discovered(list))) => {
                for (peer, addr) in list {
                    self.swarm
                        .behaviour_mut()
                        .kad
                        .add_address(&peer, addr.clone());
                    if !self.swarm.is_connected(&peer) {
                        let _ = self.swarm.dial(addr);
                    }
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Kad(kad::Event::RoutingUpdated {
                peer,
                addresses,
                ..
            })) if !self.swarm.is_connected(&peer) && !self.blocked.contains(&peer) => {
                let _ = self.swarm.dial(addresses.first().clone());
            }
            SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            })) => {
                let origin = message.source;
                self.gossip(propagation_source, origin, message_id, message.data)
            }
            SwarmEvent::Behaviour(BehaviourEvent::Sync(ev)) => self.sync_event(ev),
            _ => {}
        }
    }

    /// Validates a gossip message that `source` forwarded and `origin` published (signed, in
    /// strict mode).
    fn gossip(
        &mut self,
        source: PeerId,
        origin: Option<PeerId>,
        id: gossipsub::MessageId,
        data: Vec<u8>,
    ) {
        // A document outside the trust scope is turned away on its header, before any
        // signature is checked: a flood of it costs a header's decoding per message, and
        // its signed content reaches the quarantine by reconciliation instead. Within the
        // budget not penalised: a node in open mode relays such documents by its own rules.
        if let Some(header) = Gossip::peek_header(&data)
            && !self.repo.scope().admits_doc(&header)
        {
            // Publishing more such documents than the budget is a flood. Charged to the peer
            // that published them, when it is the one that sent them here (a node in open
            // mode relaying them is not at fault), and per document, not per message: many
            // changes to one document (an unattested organisation's import) cost one.
            let key = *header.id().as_bytes();
            let fresh = origin == Some(source)
                && self
                    .peers
                    .get_mut(&source)
                    .is_some_and(|p| p.recent_out_of_scope.insert(key));
            if fresh && !self.charge_out_of_scope(source, 1) {
                self.penalise(
                    source,
                    PENALTY_FLOOD,
                    "gossip outside the trust scope over budget",
                );
            }
            self.internal(Internal::Validated {
                id,
                source,
                acceptance: gossipsub::MessageAcceptance::Ignore,
                fetch: None,
                held_back: Some(HELD_BACK_OUT_OF_SCOPE),
                refused_again: None,
            });
            return;
        }
        let repo = self.repo.clone();
        let tx = self.internal_tx.clone();
        tokio::spawn(async move {
            // Decoding verifies the signature of every change it carries, and the changes
            // are checked for their document (the repository's first step): off the actor
            // and off the repository thread, which a flood of gossip would otherwise keep
            // busy verifying.
            let decoded = tokio::task::spawn_blocking(move || {
                Gossip::decode(&data).map(|g| match g {
                    Gossip::Announce(a) if !a.changes.is_empty() => {
                        let verified = allmende_store::repo::verify_all(a.header, a.changes);
                        Checked::Announce {
                            header: a.header,
                            verified,
                            certs: a.certs,
                        }
                    }
                    other => Checked::Other(other),
                })
            })
            .await
            .unwrap_or(Err(allmende_protocol::sync::SyncError::Invalid(
                "decoding stopped".into(),
            )));
            // Why a message that is not refused is still not forwarded (counted in status).
            let mut held_back = None;
            // A document whose changes were all refused by policy before.
            let mut refused_again = None;
            let (acceptance, penalty, fetch) = match decoded {
                // A forged signature or a decode bomb: found while decoding, before parsing.
                Err(allmende_protocol::sync::SyncError::Change(_)) => (
                    gossipsub::MessageAcceptance::Reject,
                    Some("forged or malformed change"),
                    None,
                ),
                Err(_) => (
                    gossipsub::MessageAcceptance::Reject,
                    Some("malformed gossip"),
                    None,
                ),
                // Forwarded only when verified and new: a certificate or changes this node
                // already holds, replayed in a new wrapper (a new message id), stop here.
                Ok(Checked::Other(Gossip::Cert(cert))) => {
                    match repo.call(move |s| s.add_cert(cert)).await {
                        Ok(Ok(true)) => (gossipsub::MessageAcceptance::Accept, None, None),
                        Ok(Ok(false)) => {
                            held_back = Some(HELD_BACK_NOT_NEW);
                            (gossipsub::MessageAcceptance::Ignore, None, None)
                        }
                        Ok(Err(RepoError::Cert(CertError::NoAuthority { .. }))) => {
                            held_back = Some(HELD_BACK_NO_AUTHORITY);
                            (gossipsub::MessageAcceptance::Ignore, None, None)
                        }
                        Ok(Err(e)) => {
                            let (acceptance, penalty, _) = judge(&e);
                            (acceptance, penalty, None)
                        }
                        Err(_) => (gossipsub::MessageAcceptance::Ignore, None, None),
                    }
                }
                Ok(Checked::Other(Gossip::Announce(a))) if a.certs.is_empty() => {
                    // "Document X changed", too large to carry its changes: nothing here
                    // can be verified, so it is not forwarded (every receiver would fetch
                    // from its source); this node fetches it from the sender, and the
                    // others learn it from their next reconciliation.
                    held_back = Some(HELD_BACK_UNVERIFIABLE);
                    let key = *a.header.id().as_bytes();
                    (gossipsub::MessageAcceptance::Ignore, None, Some(key))
                }
                Ok(Checked::Other(Gossip::Announce(a))) => {
                    // Certificates without changes: stored like an ingest of nothing.
                    let now = allmende_store::now();
                    let key = *a.header.id().as_bytes();
                    gossip_outcome(
                        repo.call(move |s| s.ingest(a.header, a.changes, a.certs, now))
                            .await,
                        key,
                        &mut held_back,
                        &mut refused_again,
                    )
                }
                Ok(Checked::Announce {
                    verified: Err(e), ..
                }) => {
                    let (acc, pen, _) = judge(&e);
                    (acc, pen, None)
                }
                Ok(Checked::Announce {
                    header,
                    verified: Ok(verified),
                    certs,
                }) => {
                    let now = allmende_store::now();
                    let key = *header.id().as_bytes();
                    gossip_outcome(
                        repo.call(move |s| s.ingest_verified(header, verified, certs, now))
                            .await,
                        key,
                        &mut held_back,
                        &mut refused_again,
                    )
                }
            };
            if let Some(reason) = penalty {
                let _ = tx
                    .send(Internal::Penalise {
                        peer: source,
                        points: PENALTY_BAD_DATA,
                        reason,
                    })
                    .await;
            }
            let _ = tx
                .send(Internal::Validated {
                    id,
                    source,
                    acceptance,
                    fetch,
                    held_back,
                    refused_again,
                })
                .await;
        });
    }

    fn sync_event(&mut self, ev: request_response::Event<Vec<u8>, Vec<u8>>) {
        use request_response::{Event, Message};
        match ev {
            Event::Message {
                peer,
                message:
                    Message::Request {
                        request, channel, ..
                    },
                ..
            } => self.inbound(peer, request, channel),
            Event::Message {
                peer,
                message:
                    Message::Response {
                        request_id,
                        response,
                    },
                ..
            } => {
                let Some((_, pending)) = self.pending.remove(&request_id) else {
                    return;
                };
                self.response(peer, pending, response);
            }
            Event::OutboundFailure {
                peer,
                request_id,
                error,
                ..
            } => {
                tracing::debug!(%peer, %error, "sync request failed");
                if let request_response::OutboundFailure::Io(e) = &error
                    && e.kind() == io::ErrorKind::InvalidData
                {
                    self.penalise(peer, PENALTY_BAD_DATA, "oversized response");
                }
                if let Some((_, pending)) = self.pending.remove(&request_id) {
                    match pending {
                        Pending::Raw(reply) => {
                            let _ = reply.send(Err(error.to_string()));
                        }
                        Pending::Reconcile => {
                            if let Some(p) = self.peers.get_mut(&peer) {
                                p.session = false;
                            }
                        }
                        Pending::Fetch(batch) => self.fetch_done(peer, batch),
                    }
                }
            }
            Event::InboundFailure { peer, error, .. } => {
                tracing::debug!(%peer, %error, "inbound sync request failed");
                // Resets and closed connections are ordinary network trouble and cost
                // nothing; oversized requests arrive as the OVERSIZED marker instead.
            }
            Event::ResponseSent { .. } => {}
        }
    }

    fn inbound(
        &mut self,
        peer: PeerId,
        request: Vec<u8>,
        channel: request_response::ResponseChannel<Vec<u8>>,
    ) {
        if self.blocked.contains(&peer) {
            return;
        }
        let verdict = self.admit(peer);
        if verdict != Verdict::Admit {
            if verdict == Verdict::PeerOver {
                self.penalise(peer, PENALTY_FLOOD, "request flood");
            } else {
                self.reject("address over its request limit");
            }
            let refused = Response::Refused {
                code: RefusalCode::RateLimited,
                message: "too many requests".into(),
            };
            let _ = self
                .swarm
                .behaviour_mut()
                .sync
                .send_response(channel, refused.encode());
            return;
        }
        if request == OVERSIZED {
            self.penalise(peer, PENALTY_BAD_DATA, "oversized request");
            let refused = Response::Refused {
                code: RefusalCode::TooLarge,
                message: format!("requests are limited to {MAX_REQUEST_BYTES} bytes"),
            };
            let _ = self
                .swarm
                .behaviour_mut()
                .sync
                .send_response(channel, refused.encode());
            return;
        }
        let request = match Request::decode(&request) {
            Ok(r) => r,
            Err(e) => {
                self.penalise(peer, PENALTY_BAD_DATA, "malformed request");
                let refused = Response::Refused {
                    code: RefusalCode::Malformed,
                    message: e.to_string(),
                };
                let _ = self
                    .swarm
                    .behaviour_mut()
                    .sync
                    .send_response(channel, refused.encode());
                return;
            }
        };
        let repo = self.repo.clone();
        let tx = self.internal_tx.clone();
        tokio::spawn(async move {
            let response = match request {
                Request::Reconcile(ranges) => {
                    match repo.call(move |s| s.reconcile(&ranges)).await {
                        Ok(Ok(step)) => {
                            if !step.need.is_empty() {
                                let _ = tx
                                    .send(Internal::Need {
                                        peer,
                                        keys: keys_of(step.need),
                                    })
                                    .await;
                            }
                            Response::Reconcile(step.reply)
                        }
                        Ok(Err(e)) => {
                            let _ = tx
                                .send(Internal::Penalise {
                                    peer,
                                    points: PENALTY_BAD_DATA,
                                    reason: "invalid reconciliation",
                                })
                                .await;
                            Response::Refused {
                                code: RefusalCode::Malformed,
                                message: e.to_string(),
                            }
                        }
                        Err(_) => Response::Refused {
                            code: RefusalCode::Busy,
                            message: "shutting down".into(),
                        },
                    }
                }
                Request::Fetch(wants) => match repo.call(move |s| s.fetch(&wants)).await {
                    Ok(objects) => Response::Fetched(objects),
                    Err(_) => Response::Refused {
                        code: RefusalCode::Busy,
                        message: "shutting down".into(),
                    },
                },
            };
            let reconcile_of = matches!(response, Response::Reconcile(_)).then_some(peer);
            let _ = tx
                .send(Internal::Respond {
                    channel,
                    bytes: response.encode(),
                    reconcile_of,
                })
                .await;
        });
    }

    fn response(&mut self, peer: PeerId, pending: Pending, bytes: Vec<u8>) {
        match pending {
            Pending::Raw(reply) => {
                let _ = reply.send(Ok(bytes));
            }
            Pending::Reconcile => {
                let repo = self.repo.clone();
                let tx = self.internal_tx.clone();
                tokio::spawn(async move {
                    let msg = match Response::decode(&bytes) {
                        Ok(Response::Reconcile(ranges)) => {
                            repo.call(move |s| s.reconcile(&ranges)).await.ok()
                        }
                        Ok(Response::Refused { .. }) => None,
                        _ => {
                            let _ = tx
                                .send(Internal::Penalise {
                                    peer,
                                    points: PENALTY_BAD_DATA,
                                    reason: "malformed response",
                                })
                                .await;
                            None
                        }
                    };
                    let internal = match msg {
                        Some(Ok(step)) if !step.reply.is_empty() => Internal::Continue {
                            peer,
                            reply: Request::Reconcile(step.reply).encode(),
                            need: keys_of(step.need),
                        },
                        Some(Ok(step)) => Internal::SessionDone {
                            peer,
                            need: keys_of(step.need),
                        },
                        Some(Err(_)) => {
                            let _ = tx
                                .send(Internal::Penalise {
                                    peer,
                                    points: PENALTY_BAD_DATA,
                                    reason: "invalid reconciliation",
                                })
                                .await;
                            Internal::SessionDone { peer, need: vec![] }
                        }
                        None => Internal::SessionDone { peer, need: vec![] },
                    };
                    let _ = tx.send(internal).await;
                });
            }
            Pending::Fetch(batch) => {
                let repo = self.repo.clone();
                let tx = self.internal_tx.clone();
                tokio::spawn(async move {
                    // Decoding (which verifies every change's signature) and checking (which
                    // drafts new documents) run on a blocking thread, while the repository
                    // thread stores what earlier responses brought: on a catch-up the two
                    // overlap instead of taking turns. `None`: malformed; `Some(None)`: a
                    // refusal.
                    let certs = repo.certificates();
                    let scope = repo.scope();
                    let now = allmende_store::now();
                    let decoded =
                        tokio::task::spawn_blocking(move || match Response::decode(&bytes) {
                            Ok(Response::Fetched(objects)) => {
                                let mut checked = objects
                                    .into_iter()
                                    .filter_map(|o| repo_actor::check(o, &certs, &scope, now))
                                    .collect::<Vec<_>>();
                                repo_actor::delegations_first(&mut checked);
                                Some(Some(checked))
                            }
                            Ok(Response::Refused { .. }) => Some(None),
                            _ => None,
                        })
                        .await
                        .unwrap_or(Some(None));
                    match decoded {
                        Some(Some(checked)) => {
                            let mut checked = checked.into_iter().peekable();
                            while checked.peek().is_some() {
                                let run: Vec<_> =
                                    checked.by_ref().take(repo_actor::MAX_RUN).collect();
                                let now = allmende_store::now();
                                let outcomes = repo
                                    .call(move |s| s.ingest_fetched(run, now))
                                    .await
                                    .unwrap_or_default();
                                let refused = outcomes
                                    .iter()
                                    .filter(|o| {
                                        matches!(o, Outcome::Stored(i)
                                            if i.out_of_scope > 0 && i.new_changes == 0)
                                    })
                                    .count();
                                if refused > 0 {
                                    let _ = tx
                                        .send(Internal::OutOfScope {
                                            peer,
                                            docs: refused,
                                        })
                                        .await;
                                }
                                for outcome in outcomes {
                                    let Outcome::Refused(e) = outcome else {
                                        continue;
                                    };
                                    let (_, penalty, _) = judge(&e);
                                    tracing::debug!(%peer, error = %e, "fetched object refused");
                                    if let Some(reason) = penalty {
                                        let _ = tx
                                            .send(Internal::Penalise {
                                                peer,
                                                points: PENALTY_BAD_DATA,
                                                reason,
                                            })
                                            .await;
                                    }
                                }
                            }
                        }
                        Some(None) => {}
                        None => {
                            let _ = tx
                                .send(Internal::Penalise {
                                    peer,
                                    points: PENALTY_BAD_DATA,
                                    reason: "malformed response",
                                })
                                .await;
                        }
                    }
                    let _ = tx.send(Internal::Fetched { peer, batch }).await;
                });
            }
        }
    }

    fn internal(&mut self, msg: Internal) {
        match msg {
            Internal::Respond {
                channel,
                mut bytes,
                reconcile_of,
            } => {
                if let Some(peer) = reconcile_of
                    && !self.charge_reply(peer, bytes.len())
                {
                    self.reject("reconciliation over its byte budget");
                    bytes = Response::Refused {
                        code: RefusalCode::RateLimited,
                        message: "reconciliation replies over their byte budget; try later".into(),
                    }
                    .encode();
                }
                let _ = self
                    .swarm
                    .behaviour_mut()
                    .sync
                    .send_response(channel, bytes);
            }
            Internal::Continue { peer, reply, need } => {
                self.enqueue(peer, need);
                if self.swarm.is_connected(&peer) && !self.blocked.contains(&peer) {
                    let id = self.swarm.behaviour_mut().sync.send_request(&peer, reply);
                    self.pending.insert(id, (peer, Pending::Reconcile));
                } else if let Some(p) = self.peers.get_mut(&peer) {
                    p.session = false;
                }
            }
            Internal::SessionDone { peer, need } => {
                self.sessions_completed += 1;
                if let Some(p) = self.peers.get_mut(&peer) {
                    p.session = false;
                }
                self.enqueue(peer, need);
            }
            Internal::Need { peer, keys } => self.enqueue(peer, keys),
            Internal::Validated {
                id,
                source,
                mut acceptance,
                fetch,
                held_back,
                refused_again,
            } => {
                // Refused content is news once from each peer (it may have come from another
                // peer, or by reconciliation, first); the same peer pushing it again keeps
                // pushing what this node refused.
                if let Some(key) = refused_again
                    && !self.refused_pushes.insert((source, key))
                {
                    acceptance = gossipsub::MessageAcceptance::Reject;
                    self.penalise(source, PENALTY_BAD_DATA, "refused content pushed again");
                }
                if matches!(acceptance, gossipsub::MessageAcceptance::Reject) {
                    self.reject("gossip rejected");
                }
                if let Some(reason) = held_back {
                    self.reject(reason);
                }
                self.swarm
                    .behaviour_mut()
                    .gossipsub
                    .report_message_validation_result(&id, &source, acceptance);
                if let Some(key) = fetch {
                    self.enqueue(source, vec![key]);
                }
            }
            Internal::Penalise {
                peer,
                points,
                reason,
            } => self.penalise(peer, points, reason),
            Internal::OutOfScope { peer, docs } => {
                // Asked for: not the peer's fault, only a pause.
                self.charge_out_of_scope(peer, docs);
            }
            Internal::SendFetch { peer, batch, bytes } => {
                if self.swarm.is_connected(&peer) && !self.blocked.contains(&peer) {
                    let id = self.swarm.behaviour_mut().sync.send_request(&peer, bytes);
                    self.pending.insert(id, (peer, Pending::Fetch(batch)));
                } else {
                    self.fetch_done(peer, batch);
                }
            }
            Internal::Fetched { peer, batch } => {
                self.fetch_done(peer, batch);
                self.dispatch_fetches(peer);
                self.end_catch_up();
            }
        }
    }

    fn enqueue(&mut self, peer: PeerId, keys: Vec<Key>) {
        if keys.is_empty() || self.blocked.contains(&peer) {
            return;
        }
        let queued: usize = self.peers.values().map(|p| p.fetches.queued()).sum();
        let share = MAX_QUEUED_TOTAL / self.peers.len().max(1);
        let Some(state) = self.peers.get_mut(&peer) else {
            return;
        };
        let room = share
            .saturating_sub(state.fetches.queued())
            .min(MAX_QUEUED_TOTAL.saturating_sub(queued));
        if keys.len() > room || !state.fetches.want(keys.into_iter().take(room)) {
            tracing::debug!(%peer, "fetch queue full; the rest waits for the next session");
        }
        self.begin_catch_up();
        self.dispatch_fetches(peer);
    }

    /// Defers the product indexes when the documents waiting to be fetched make a large
    /// catch-up. The repository thread runs jobs in order, so this comes before the
    /// documents those fetches bring.
    fn begin_catch_up(&mut self) {
        if self.indexes_deferred {
            return;
        }
        let queued: usize = self.peers.values().map(|p| p.fetches.queued()).sum();
        if queued < self.cfg.defer_indexes_at {
            return;
        }
        tracing::info!(queued, "large catch-up");
        self.indexes_deferred = true;
        let repo = self.repo.clone();
        let after = self.cfg.defer_after_stored;
        tokio::spawn(async move {
            let _ = repo.call(move |s| s.begin_catch_up(after)).await;
        });
    }

    /// Builds the deferred product indexes once no fetch is in flight: the catch-up is done,
    /// or its peers are gone (what still waits is fetched with the indexes in place).
    fn end_catch_up(&mut self) {
        if !self.indexes_deferred || self.peers.values().any(|p| p.fetches.in_flight() > 0) {
            return;
        }
        self.indexes_deferred = false;
        let repo = self.repo.clone();
        tokio::spawn(async move {
            let _ = repo.call(|s| s.restore_indexes()).await;
        });
    }

    /// Fetch request `batch` to `peer` was answered and its objects stored, or it failed.
    fn fetch_done(&mut self, peer: PeerId, batch: BatchId) {
        if let Some(p) = self.peers.get_mut(&peer) {
            p.fetches.done(batch);
        }
    }

    fn dispatch_fetches(&mut self, peer: PeerId) {
        if !self.swarm.is_connected(&peer) {
            return;
        }
        loop {
            let Some(state) = self.peers.get_mut(&peer) else {
                return;
            };
            if state.fetch_paused_until.is_some_and(|t| t > Instant::now()) {
                return;
            }
            let Some((batch, keys)) = state.fetches.next_batch() else {
                return;
            };
            let repo = self.repo.clone();
            let tx = self.internal_tx.clone();
            // The wants carry our current heads, read on the repo thread.
            tokio::spawn(async move {
                let wants = repo
                    .call(move |s| {
                        keys.into_iter()
                            .map(|key| Want {
                                key,
                                // More heads than a request may carry: send a subset;
                                // the answer then repeats some changes, which is harmless.
                                have: s.heads_of(&key).into_iter().take(sync::MAX_HAVE).collect(),
                            })
                            .collect::<Vec<_>>()
                    })
                    .await;
                match wants {
                    Ok(wants) => {
                        let _ = tx
                            .send(Internal::SendFetch {
                                peer,
                                batch,
                                bytes: Request::Fetch(wants).encode(),
                            })
                            .await;
                    }
                    Err(_) => {
                        let _ = tx.send(Internal::Fetched { peer, batch }).await;
                    }
                }
            });
        }
    }
}

/// How to treat a refused object: gossip acceptance, a penalty reason when the data is provably
/// bad, and whether to fetch the document (missing dependencies).
/// Most (peer, document) pairs of refused pushes kept; the oldest are forgotten first.
const MAX_REFUSED_PUSHES: usize = 100_000;

/// A gossip message decoded, its changes verified for their document (off the actors).
enum Checked {
    /// An announcement with changes.
    Announce {
        header: allmende_protocol::doc::DocHeader,
        verified: Result<Vec<allmende_protocol::change::VerifiedChange>, RepoError>,
        certs: Vec<sync::Cert>,
    },
    /// A certificate, or an announcement without changes.
    Other(Gossip),
}

/// What to do with a gossip message the repository took or refused: accept (forward), ignore
/// or reject it, the penalty for its sender, and the document to fetch from the sender.
fn gossip_outcome(
    outcome: Result<Outcome, repo_actor::RepoGone>,
    key: Key,
    held_back: &mut Option<&'static str>,
    refused_again: &mut Option<Key>,
) -> (
    gossipsub::MessageAcceptance,
    Option<&'static str>,
    Option<Key>,
) {
    match outcome {
        // Outside this node's trust scope: not forwarded (the part inside it reaches the
        // others by reconciliation).
        // Whether the sender keeps pushing it is for the actor to judge (`refused_again`).
        Ok(Outcome::Stored(ing)) if ing.out_of_scope > 0 => {
            *held_back = Some(HELD_BACK_OUT_OF_SCOPE);
            if ing.refused_again {
                *refused_again = Some(key);
            }
            (gossipsub::MessageAcceptance::Ignore, None, None)
        }
        Ok(Outcome::Stored(ing)) if ing.new_changes > 0 => {
            (gossipsub::MessageAcceptance::Accept, None, None)
        }
        Ok(Outcome::Stored(_)) => {
            *held_back = Some(HELD_BACK_NOT_NEW);
            (gossipsub::MessageAcceptance::Ignore, None, None)
        }
        Ok(Outcome::Refused(e)) => {
            let (acc, pen, fetch) = judge(&e);
            (acc, pen, fetch.then_some(key))
        }
        Err(_) => (gossipsub::MessageAcceptance::Ignore, None, None),
    }
}

/// The keys of a reconciliation's `need`.
fn keys_of(need: Vec<(Key, sync::Value)>) -> Vec<Key> {
    need.into_iter().map(|(k, _)| k).collect()
}

fn judge(e: &RepoError) -> (gossipsub::MessageAcceptance, Option<&'static str>, bool) {
    use gossipsub::MessageAcceptance::{Ignore, Reject};
    match e {
        RepoError::Verify { .. } => (Reject, Some("forged or malformed change"), false),
        // A revocation whose issuer has no authority over its subject as far as this node
        // knows: refused at the cost of a lookup, not forwarded, not penalised (the
        // delegation that gives the authority may arrive later, in another answer).
        RepoError::Cert(CertError::NoAuthority { .. }) => (Ignore, None, false),
        RepoError::Cert(_) => (Reject, Some("invalid certificate"), false),
        RepoError::InvalidHeader(_) | RepoError::BatchTooLarge(_) => {
            (Reject, Some("invalid document"), false)
        }
        RepoError::Auth {
            error: AuthError::UnauthorisedKey { .. },
            ..
        } => (Reject, Some("unauthorised change"), false),
        // A revocation, fork or clock the sender may not know yet: not provably malicious.
        RepoError::Auth { .. } => (Ignore, None, false),
        // Two changes signed by one key for one place: the signer's fault, not the
        // forwarder's (the repository stores the proof and takes the rest).
        RepoError::Fork(_) => (Ignore, None, false),
        // A proof about a document this node does not hold: nothing to prove here.
        RepoError::NotHeld(_) => (Ignore, None, false),
        // Local decisions on proposals; nothing a peer sends.
        RepoError::NotSteward { .. } | RepoError::NoProposal(_) | RepoError::Decided(_) => {
            (Ignore, None, false)
        }
        RepoError::MissingDependencies { .. } => (Ignore, None, true),
        // Automerge refusing a signed change cannot be pinned on the peer that forwarded it.
        RepoError::Document(_) => (Reject, None, false),
        RepoError::Store(_) | RepoError::Integrity(_) | RepoError::StoreBatch(_) => {
            (Ignore, None, false)
        }
    }
}
