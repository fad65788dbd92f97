//! # allmende-node
//!
//! The `allmende` binary's library: the local store ([`store`]), the repository that admits
//! only verified and authorised changes into it ([`repo`]), the data directory
//! ([`datadir`]), exports ([`export`]) and the command line ([`cli`]). The network actor and
//! the HTTP API build on these.
//!
//! Rule for every write path: bytes from outside become a
//! [`allmende_protocol::auth::AuthorisedChange`] before they touch storage, and a change and
//! the document snapshot containing it are committed in one transaction.

pub mod aggregates;
pub mod backup;
pub mod cli;
pub mod config;
pub mod datadir;
pub mod demo;
pub mod export;
pub mod export_stream;
pub mod http;
pub mod index;
pub mod metrics;
pub mod net;
pub mod network;
pub mod node;
pub mod openapi;
pub mod publiccode;
pub mod quarantine;
pub mod query;
pub mod repo;
pub mod repo_actor;
pub mod search_text;
pub mod sql;
pub mod stats;
pub mod stewardship;
pub mod store;
pub mod trust;
pub mod ui;

use allmende_protocol::schema::UnixTime;

/// The current time, as the protocol counts it (seconds since the Unix epoch, UTC).
pub fn now() -> UnixTime {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    UnixTime(i64::try_from(secs).unwrap_or(i64::MAX))
}

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
