//! # allmende-api
//!
//! The HTTP face of a node for programs: the API routes and their state ([`http`]), the
//! OpenAPI description generated from them ([`openapi`]), the node status ([`status`]),
//! Prometheus metrics ([`metrics`]), the cache of aggregates ([`aggregates`]) and the
//! Nachbarvergleich route ([`compare`]). It talks to
//! the node only through the handles of the repository thread and the network actor.
//!
//! May use: every layer below (protocol, store, catalog, formats, repository thread,
//! network handle). Never: the web UI, the `allmende` binary (CLI, configuration, demo).

pub mod aggregates;
pub mod answers;
pub mod compare;
pub mod follow;
pub mod http;
pub mod inventory;
pub mod metrics;
pub mod openapi;
pub mod status;
