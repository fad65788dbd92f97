//! # allmende-web
//!
//! The node's local web UI: routes, templates and static assets embedded in the binary (no
//! CDN; it works offline). Not built yet: the UI arrives with the web-UI issue, on top of the
//! catalog and HTTP API. This crate exists so the workspace has its final shape.
