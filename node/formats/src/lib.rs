//! # allmende-formats
//!
//! What goes in and out of a node as files: the signed export and its import ([`export`]),
//! the streamed catalog exports as JSON, JSON Lines, CSV, JSON-LD and SQLite snapshot
//! ([`export_stream`]), and publiccode.yml, read and written ([`publiccode`]).
//!
//! May use: `allmende-protocol`, `allmende-store`, `allmende-catalog`. Never: the network,
//! HTTP, async runtimes.

pub mod atom;
pub mod civil;
pub mod export;
pub mod export_stream;
pub mod inventory;
pub mod publiccode;
