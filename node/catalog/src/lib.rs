//! # allmende-catalog
//!
//! The catalog's read side: everything a node answers from its store without writing to it.
//! Queries and search ([`query`]), statistics and coverage ([`stats`]), the read-only SQL
//! endpoint's guard ([`sql`]), a product's stewardship as the UI and API show it
//! ([`stewardship`]), and the node's trust scope computed from signed certificates
//! ([`trust`]), what helps one body learn from another: contacts, training offers and
//! "replaced by" flows ([`exchange`]), and the Nachbarvergleich of one organisation with
//! comparable bodies ([`compare`]).
//!
//! May use: `allmende-protocol`, `allmende-store` (read connections). Never: the network, HTTP,
//! async runtimes, the repository thread.

pub mod compare;
pub mod exchange;
pub mod follow;
pub mod inventory_match;
pub mod query;
pub mod refdata;
pub mod sql;
pub mod stats;
pub mod stewardship;
pub mod trust;
