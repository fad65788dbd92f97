//! The watch lists (Merkliste, "Beobachten") of the organisations a node publishes for, and
//! when each last visited its watch list and its notices. Local to the node, never sent: a
//! list belongs to one organisation of the node (its own, or a hosted member), the way its
//! write token does, so one member does not see another's list (`docs/feeds.md`).
//!
//! Threat: a local user with a session or token of one organisation writes that
//! organisation's list only. Targets are checked for form here and for existence by the
//! caller; a list holds at most [`MAX_WATCHED`] entries, so neither the table nor a watch
//! page grows without bound.

use allmende_protocol::ids::{DocId, OrgId};
use allmende_protocol::schema::{Land, Task};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use crate::store::StoreError;

/// At most this many entries on one organisation's watch list.
pub const MAX_WATCHED: usize = 200;

/// What can be watched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WatchKind {
    /// A product entry (64 hex).
    Product,
    /// A task (LeiKa key, `ozg:…` or free text).
    Task,
    /// An organisation (64 hex).
    Org,
    /// A Kreis (5-digit key).
    Kreis,
    /// A Land (2-digit key).
    Land,
}

impl WatchKind {
    /// Every kind, in the order a watch page lists them.
    pub const ALL: [WatchKind; 5] = [
        WatchKind::Product,
        WatchKind::Task,
        WatchKind::Org,
        WatchKind::Kreis,
        WatchKind::Land,
    ];

    /// The slug stored and used in URLs and JSON.
    pub fn slug(self) -> &'static str {
        match self {
            WatchKind::Product => "product",
            WatchKind::Task => "task",
            WatchKind::Org => "org",
            WatchKind::Kreis => "kreis",
            WatchKind::Land => "land",
        }
    }

    /// The kind of a slug.
    pub fn parse(s: &str) -> Option<WatchKind> {
        WatchKind::ALL.into_iter().find(|k| k.slug() == s)
    }

    /// `target` in the canonical form stored for this kind, or why it is no such target.
    pub fn canonical(self, target: &str) -> Result<String, String> {
        let t = target.trim();
        match self {
            WatchKind::Product => t
                .parse::<DocId>()
                .map(|d| format!("{d:#}"))
                .map_err(|e| format!("not a product id (64 hex): {e}")),
            WatchKind::Org => t
                .parse::<OrgId>()
                .map(|o| format!("{o:#}"))
                .map_err(|e| format!("not an organisation id (64 hex): {e}")),
            WatchKind::Task => t
                .parse::<Task>()
                .map(|x| x.as_str().to_owned())
                .map_err(|e| e.to_string()),
            WatchKind::Kreis => {
                if t.len() == 5
                    && t.bytes().all(|b| b.is_ascii_digit())
                    && t[..2].parse::<Land>().is_ok()
                {
                    Ok(t.to_owned())
                } else {
                    Err("not a Kreis key (5 digits, the first two a Land key 01-16)".into())
                }
            }
            WatchKind::Land => t
                .parse::<Land>()
                .map(|l| l.code().to_owned())
                .map_err(|e| e.to_string()),
        }
    }
}

/// One entry of a watch list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Watched {
    /// What kind of thing.
    pub kind: WatchKind,
    /// Its id in canonical form.
    pub target: String,
    /// When it was added (Unix seconds).
    pub added_at: i64,
}

/// Why a watch list write was refused.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    /// The target is malformed.
    #[error("target: {0}")]
    Target(String),
    /// The list is full.
    #[error("the watch list holds {MAX_WATCHED} entries already; remove one first")]
    Full,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for WatchError {
    fn from(e: rusqlite::Error) -> Self {
        WatchError::Store(e.into())
    }
}

/// A page whose visits are remembered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VisitedPage {
    /// The watch list ("Beobachtet").
    Watch,
    /// The notices ("Hinweise").
    Notices,
}

impl VisitedPage {
    fn slug(self) -> &'static str {
        match self {
            VisitedPage::Watch => "watch",
            VisitedPage::Notices => "notices",
        }
    }
}

fn owner_bytes(owner: &OrgId) -> &[u8] {
    owner.as_bytes().as_slice()
}

/// Adds `target` to `owner`'s list (once; adding again keeps the first time). Returns whether
/// it was new.
pub fn add(
    conn: &Connection,
    owner: &OrgId,
    kind: WatchKind,
    target: &str,
    now: i64,
) -> Result<bool, WatchError> {
    let target = kind.canonical(target).map_err(WatchError::Target)?;
    if contains(conn, owner, kind, &target)? {
        return Ok(false);
    }
    let n: i64 = conn.query_row(
        "SELECT count(*) FROM follow_watch WHERE owner = ?1",
        [owner_bytes(owner)],
        |r| r.get(0),
    )?;
    if usize::try_from(n).unwrap_or(usize::MAX) >= MAX_WATCHED {
        return Err(WatchError::Full);
    }
    conn.execute(
        "INSERT INTO follow_watch (owner, kind, target, added_at) VALUES (?1, ?2, ?3, ?4)",
        params![owner_bytes(owner), kind.slug(), target, now],
    )?;
    Ok(true)
}

/// Removes `target` from `owner`'s list. Returns whether it was there.
pub fn remove(
    conn: &Connection,
    owner: &OrgId,
    kind: WatchKind,
    target: &str,
) -> Result<bool, WatchError> {
    let target = kind.canonical(target).map_err(WatchError::Target)?;
    let n = conn.execute(
        "DELETE FROM follow_watch WHERE owner = ?1 AND kind = ?2 AND target = ?3",
        params![owner_bytes(owner), kind.slug(), target],
    )?;
    Ok(n > 0)
}

/// Whether `owner` watches `target` (canonical form).
pub fn contains(
    conn: &Connection,
    owner: &OrgId,
    kind: WatchKind,
    target: &str,
) -> Result<bool, StoreError> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM follow_watch WHERE owner = ?1 AND kind = ?2 AND target = ?3)",
        params![owner_bytes(owner), kind.slug(), target],
        |r| r.get(0),
    )?)
}

/// `owner`'s list, by kind and target.
pub fn list(conn: &Connection, owner: &OrgId) -> Result<Vec<Watched>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT kind, target, added_at FROM follow_watch WHERE owner = ?1 ORDER BY kind, target",
    )?;
    let rows = stmt.query_map([owner_bytes(owner)], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, i64>(2)?,
        ))
    })?;
    let mut out = Vec::new();
    for r in rows {
        let (kind, target, added_at) = r?;
        if let Some(kind) = WatchKind::parse(&kind) {
            out.push(Watched {
                kind,
                target,
                added_at,
            });
        }
    }
    out.sort_by_key(|w| w.kind);
    Ok(out)
}

/// When `owner` last visited `page` (Unix seconds), if ever.
pub fn last_visit(
    conn: &Connection,
    owner: &OrgId,
    page: VisitedPage,
) -> Result<Option<i64>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT visited_at FROM follow_visit WHERE owner = ?1 AND page = ?2",
            params![owner_bytes(owner), page.slug()],
            |r| r.get(0),
        )
        .optional()?)
}

/// Remembers that `owner` visited `page` at `now`; returns the visit before.
pub fn mark_visit(
    conn: &Connection,
    owner: &OrgId,
    page: VisitedPage,
    now: i64,
) -> Result<Option<i64>, StoreError> {
    let before = last_visit(conn, owner, page)?;
    conn.execute(
        "INSERT INTO follow_visit (owner, page, visited_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (owner, page) DO UPDATE SET visited_at = excluded.visited_at",
        params![owner_bytes(owner), page.slug(), now],
    )?;
    Ok(before)
}
