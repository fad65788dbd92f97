//! # allmende-net
//!
//! The network actor ([`net`]): the libp2p swarm, gossip, reconciliation with peers, fetches,
//! and the limits and penalties that bound what a peer can make the node spend. It hands
//! everything it receives to the repository thread.
//!
//! May use: `allmende-protocol`, `allmende-store`, `allmende-catalog`,
//! `allmende-repo-thread`, libp2p. Never: HTTP, the web UI.

pub mod net;
