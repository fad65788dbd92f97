//! Following changes over the API (`docs/feeds.md`): the answers of the watch list and the
//! notices, and what the feed routes share (subjects, names, the base URL). The routes and
//! their handlers are in [`crate::http`] (`follow_api`), which the web UI uses too.

use allmende_catalog::follow::{Event, Subject};
use allmende_store::watch::WatchKind;
use axum::http::{HeaderMap, header};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Events per watched entry on the watch list.
pub const EVENTS_PER_WATCHED: usize = 10;

/// The watch kind slug and canonical target of `subject`.
pub fn subject_target(subject: &Subject) -> (&'static str, String) {
    match subject {
        Subject::Product(d) => ("product", format!("{d:#}")),
        Subject::Task(t) => ("task", t.clone()),
        Subject::Org(o) => ("org", format!("{o:#}")),
        Subject::Kreis(k) => ("kreis", k.clone()),
        Subject::Land(l) => ("land", l.clone()),
    }
}

/// The subject a watch entry names.
pub fn subject_of(kind: WatchKind, target: &str) -> Option<Subject> {
    Some(match kind {
        WatchKind::Product => Subject::Product(target.parse().ok()?),
        WatchKind::Org => Subject::Org(target.parse().ok()?),
        WatchKind::Task => Subject::Task(target.to_owned()),
        WatchKind::Kreis => Subject::Kreis(target.to_owned()),
        WatchKind::Land => Subject::Land(target.to_owned()),
    })
}

/// The display name of a watch target: a product's or organisation's name, a Kreis's or
/// Land's name from the Gemeindeverzeichnis, a task's name from the OZG/LeiKa catalogue.
pub fn target_name(conn: &rusqlite::Connection, kind: WatchKind, target: &str) -> Option<String> {
    let (sql, arg): (&str, rusqlite::types::Value) = match kind {
        WatchKind::Product => (
            "SELECT name FROM idx_product WHERE doc = ?1",
            rusqlite::types::Value::Blob(hex::decode(target).ok()?),
        ),
        WatchKind::Org => (
            "SELECT name FROM idx_org WHERE org = ?1 LIMIT 1",
            rusqlite::types::Value::Blob(hex::decode(target).ok()?),
        ),
        WatchKind::Kreis => (
            "SELECT name FROM ref_kreis WHERE key = ?1",
            rusqlite::types::Value::Text(target.to_owned()),
        ),
        WatchKind::Land => (
            "SELECT name FROM ref_land WHERE key = ?1",
            rusqlite::types::Value::Text(target.to_owned()),
        ),
        WatchKind::Task => (
            "SELECT name FROM ref_task WHERE task = ?1",
            rusqlite::types::Value::Text(target.to_owned()),
        ),
    };
    conn.query_row(sql, [arg], |r| r.get(0)).ok()
}

/// The node's base URL as the client reached it (the Host header; `loopback_only` has
/// checked it where the node listens on loopback).
pub fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.len() <= 255
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        })
        .unwrap_or("127.0.0.1");
    format!("http://{host}")
}

/// One watched entry with its news.
#[derive(Debug, Serialize, ToSchema)]
pub struct WatchedView {
    /// `product`, `task`, `org`, `kreis` or `land`.
    pub kind: String,
    /// The target's id.
    pub target: String,
    /// Its name, when known.
    pub name: Option<String>,
    /// When it was added (Unix seconds).
    pub added_at: i64,
    /// How many of `events` this node saw after the last visit.
    pub new_events: usize,
    /// The newest events (at most 10), newest first.
    pub events: Vec<Event>,
}

/// A watch list with what is new since the last visit.
#[derive(Debug, Serialize, ToSchema)]
pub struct WatchView {
    /// The organisation whose list it is (64 hex).
    pub owner: String,
    /// The visit before this one (Unix seconds), if any: events this node saw after it are new.
    pub last_visit: Option<i64>,
    /// The entries, by kind and target.
    pub entries: Vec<WatchedView>,
}

/// Notices for an organisation.
#[derive(Debug, Serialize, ToSchema)]
pub struct NoticesView {
    /// The organisation (64 hex).
    pub org: String,
    /// The visit before this one (Unix seconds), if any.
    pub last_visit: Option<i64>,
    /// How many notices this node saw after the last visit.
    pub new_notices: usize,
    /// The notices (at most 50), newest first: ratings and Nachnutzung reports by others,
    /// version and end of support of the products the organisation runs.
    pub notices: Vec<Event>,
}

/// A watch list entry to add.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WatchRequest {
    /// `product`, `task`, `org`, `kreis` or `land`.
    pub kind: String,
    /// The id: product or organisation id (64 hex), task, Kreis key (5 digits), Land key.
    pub target: String,
}
