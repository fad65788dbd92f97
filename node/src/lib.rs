//! # allmende-node
//!
//! The `allmende` binary's library, the top of the layers (docs/ARCHITECTURE.md): the command
//! line ([`cli`]), its configuration ([`config`]), network manifests ([`network`]), the
//! wiring that starts repository thread, network actor, API and UI together ([`node`]), the
//! demo network ([`demo`]) and backups ([`backup`]).
//!
//! It re-exports the layers below under their module names (`allmende_node::store`,
//! `allmende_node::http`, …), so tests and tools that drive a whole node need one import.

pub mod backup;
pub mod cli;
pub mod config;
pub mod demo;
pub mod demo_inventory;
pub mod follow_cli;
pub mod inventory_cli;
pub mod network;
pub mod node;
pub mod vergleich;

// The layers below, under the names the node's tests and tools have always used.
pub use allmende_api::{aggregates, http, metrics, openapi};
pub use allmende_catalog::{compare, exchange, query, sql, stats, stewardship, trust};
pub use allmende_formats::{export, export_stream, publiccode};
pub use allmende_net::net;
pub use allmende_repo_thread::{quarantine, repo_actor};
pub use allmende_store::{datadir, index, now, repo, search_text, store};
pub use allmende_ui as ui;

/// Installs the tracing subscriber (logs to standard error, readable or as JSON lines).
pub fn init_tracing(filter: &str, format: config::LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(filter))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        config::LogFormat::Human => builder.try_init(),
        config::LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}
