//! # allmende-repo-thread
//!
//! The repository thread: the one thread that writes to a node's store ([`repo_actor`]).
//! Everything that changes the store (peers, the API, the UI) sends it jobs through a
//! [`repo_actor::RepoHandle`]. It admits changes by the node's trust scope, keeps what it
//! refused in a bounded quarantine ([`quarantine`]), holds the sync inventory, and counts
//! what it did ([`counters`]).
//!
//! May use: `allmende-protocol`, `allmende-store`, `allmende-catalog`, tokio's channels.
//! Never: the network, HTTP.

pub mod counters;
pub mod inventory;
pub mod quarantine;
pub mod repo_actor;
