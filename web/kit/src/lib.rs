//! # allmende-web-kit
//!
//! The presentation kit of the node's local web UI: the page layout ([`layout`]), the German
//! and English texts ([`i18n`]), server-rendered accessible SVG charts with a table fallback
//! ([`chart`]), labelled form fields with messages next to them ([`form`]) and the stylesheet
//! ([`STYLESHEET`]), all embedded in the binary: the UI loads nothing from the internet.
//!
//! The pages themselves (routes, data, forms, CSRF and login) live in `allmende-node`'s `ui`
//! module, which depends on this crate: the routes need the node's store and handles, and the
//! node binary serves them, so putting them here would make the two crates depend on each
//! other. Everything here is pure: text in, escaped HTML out. Every value goes through maud's
//! escaping; nothing in this crate emits unescaped text except the fixed stylesheet.

pub mod chart;
pub mod form;
pub mod i18n;
pub mod layout;

pub use i18n::Lang;
pub use maud::{Markup, PreEscaped, html};

/// The stylesheet, served at [`STYLESHEET_PATH`].
pub const STYLESHEET: &str = include_str!("style.css");

/// Where the layout links the stylesheet from. The version in the name lets browsers cache it
/// for long without serving an old one after an upgrade.
pub const STYLESHEET_PATH: &str = concat!("/static/allmende-", env!("CARGO_PKG_VERSION"), ".css");
