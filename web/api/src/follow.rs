//! Following changes over the API (`docs/feeds.md`): Atom feeds of a product, a task, an
//! organisation and a region; the watch list of the token's organisation; and its notices.
//! The web UI uses the same functions ([`events_for`], [`watch_view`], [`notices_view`]).
//!
//! Threat: the feeds are public reads like the pages, bounded to
//! [`allmende_catalog::follow::MAX_EVENTS`] entries and filtered by the trust scope. A watch
//! list belongs to one organisation of the node: reading or changing it needs that
//! organisation's token (or the admin token with `for`), because a list says what an
//! organisation is interested in. Targets are checked for form and existence; a list holds at
//! most [`allmende_store::watch::MAX_WATCHED`] entries.

use allmende_catalog::follow::{self, Event, Subject};
use allmende_protocol::ids::{DocId, OrgId};
use allmende_protocol::schema::{Land, Task};
use allmende_store::watch::{self, VisitedPage, WatchError, WatchKind};
use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::answers::{self as doc, example};
use crate::http::{ApiError, ApiState, require_token};

/// Events per watched entry on the watch list.
pub const EVENTS_PER_WATCHED: usize = 10;

/// The organisations whose records count on this node (`None`: open mode, all).
fn counted(
    conn: &rusqlite::Connection,
    s: &ApiState,
) -> Result<Option<std::collections::HashSet<Vec<u8>>>, ApiError> {
    let mut own: Vec<OrgId> = s.tenants.current().iter().map(|t| t.org).collect();
    own.extend(s.organisation);
    Ok(follow::counted_orgs(conn, &s.anchors, &own)?)
}

/// The events around `subject`, or `None` when the node does not know it.
pub async fn events_for(
    s: &ApiState,
    subject: Subject,
    limit: usize,
) -> Result<Option<Vec<Event>>, ApiError> {
    let s2 = s.clone();
    s.repo
        .call(move |st| -> Result<_, ApiError> {
            let conn = st.repo().store().connection();
            let (kind, target) = subject_target(&subject);
            if !follow::known(conn, kind, &target)? {
                return Ok(None);
            }
            let counted = counted(conn, &s2)?;
            Ok(Some(follow::events(
                conn,
                &subject,
                counted.as_ref(),
                limit,
            )?))
        })
        .await?
}

fn subject_target(subject: &Subject) -> (&'static str, String) {
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

/// An Atom response.
fn atom(body: String) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/atom+xml; charset=utf-8")],
        body,
    )
        .into_response()
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

/// The Atom feed of `subject`, or 404.
pub async fn feed_response(
    s: &ApiState,
    headers: &HeaderMap,
    subject: Subject,
    title: &str,
    self_path: &str,
    page_path: &str,
) -> Result<Response, ApiError> {
    let Some(events) = events_for(s, subject, follow::MAX_EVENTS).await? else {
        return Err(ApiError::not_found(format!("nothing known as {self_path}")));
    };
    let base = base_url(headers);
    let self_url = format!("{base}{self_path}");
    let page_url = format!("{base}{page_path}");
    let id = format!("tag:allmende.invalid,2026:feed{self_path}");
    let meta = allmende_formats::atom::FeedMeta {
        id: &id,
        title,
        self_url: &self_url,
        page_url: &page_url,
        base: &base,
        now: allmende_store::now().0,
    };
    Ok(atom(allmende_formats::atom::feed(&meta, &events)))
}

fn no_query(raw: Option<&str>) -> Result<(), ApiError> {
    match raw {
        Some(q) if !q.is_empty() => Err(ApiError::bad_request(format!(
            "unknown parameter in {:?}; this feed takes none",
            q.chars().take(80).collect::<String>()
        ))),
        _ => Ok(()),
    }
}

async fn name_of(s: &ApiState, kind: WatchKind, target: String) -> Option<String> {
    s.repo
        .call(move |st| target_name(st.repo().store().connection(), kind, &target))
        .await
        .ok()
        .flatten()
}

/// `GET /api/v1/feeds/products/{id}`.
#[utoipa::path(
    get,
    path = "/api/v1/feeds/products/{id}",
    tag = "catalog",
    summary = "Atom feed of what happens around a product",
    description = "RFC 4287 Atom: organisations that start, try, plan or end running it, new and changed ratings and Nachnutzung reports, its current version and end of support, other changes of the entry. Newest first, at most 50 entries; times are the authors' clamped to this node's clock; on a node with trust anchors only records of attested (or this node's own) organisations. Content type application/atom+xml.",
    params(("id" = String, Path, description = "The product id, all 64 hex characters", example = json!(example::BAUANTRAG))),
    responses(
        (status = 200, description = "The Atom feed", content_type = "application/atom+xml", body = String),
        (status = 400, description = "A malformed id", body = doc::ErrorBody),
        (status = 404, description = "No such product", body = doc::ErrorBody),
        (status = 500, description = "A storage error", body = doc::ErrorBody), (status = 503, description = "The node is shutting down", body = doc::ErrorBody),
    ),
    extensions(("x-example-requests" = json!([
        { "summary": "The feed of one product", "request": format!("/api/v1/feeds/products/{}", example::BAUANTRAG), "status": 200 },
        { "summary": "An unknown product", "request": format!("/api/v1/feeds/products/{}", "e".repeat(64)), "status": 404 },
        { "summary": "A malformed id", "request": "/api/v1/feeds/products/xyz", "status": 400 }
    ])))
)]
pub async fn product_feed(
    State(s): State<ApiState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    no_query(raw.as_deref())?;
    let doc: DocId = id
        .parse()
        .map_err(|e| ApiError::bad_request(format!("product id: {e}")))?;
    let name = name_of(&s, WatchKind::Product, format!("{doc:#}"))
        .await
        .unwrap_or_else(|| format!("{doc:#}"));
    feed_response(
        &s,
        &headers,
        Subject::Product(doc),
        &format!("Allmende: {name}"),
        &format!("/api/v1/feeds/products/{doc:#}"),
        &format!("/produkte/{doc:#}"),
    )
    .await
}

/// `GET /api/v1/feeds/organizations/{id}`.
#[utoipa::path(
    get,
    path = "/api/v1/feeds/organizations/{id}",
    tag = "catalog",
    summary = "Atom feed of what an organisation publishes",
    description = "RFC 4287 Atom: the organisation's deployments, ratings and Nachnutzung reports, and changes of the product entries it created. As the product feed otherwise.",
    params(("id" = String, Path, description = "The organisation id, all 64 hex characters", example = json!(example::KOELN))),
    responses(
        (status = 200, description = "The Atom feed", content_type = "application/atom+xml", body = String),
        (status = 400, description = "A malformed id", body = doc::ErrorBody),
        (status = 404, description = "No such organisation", body = doc::ErrorBody),
        (status = 500, description = "A storage error", body = doc::ErrorBody), (status = 503, description = "The node is shutting down", body = doc::ErrorBody),
    ),
    extensions(("x-example-requests" = json!([
        { "summary": "The feed of one organisation", "request": format!("/api/v1/feeds/organizations/{}", example::KOELN), "status": 200 },
        { "summary": "An unknown organisation", "request": format!("/api/v1/feeds/organizations/{}", "e".repeat(64)), "status": 404 }
    ])))
)]
pub async fn organization_feed(
    State(s): State<ApiState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    no_query(raw.as_deref())?;
    let org: OrgId = id
        .parse()
        .map_err(|e| ApiError::bad_request(format!("organisation id: {e}")))?;
    let name = name_of(&s, WatchKind::Org, format!("{org:#}"))
        .await
        .unwrap_or_else(|| format!("{org:#}"));
    feed_response(
        &s,
        &headers,
        Subject::Org(org),
        &format!("Allmende: {name}"),
        &format!("/api/v1/feeds/organizations/{org:#}"),
        &format!("/organisationen/{org:#}"),
    )
    .await
}

/// `GET /api/v1/feeds/tasks/{task}`.
#[utoipa::path(
    get,
    path = "/api/v1/feeds/tasks/{task}",
    tag = "catalog",
    summary = "Atom feed of what happens around the products of a task",
    description = "RFC 4287 Atom: the events of every product that serves the task (a 14-digit LeiKa key, `ozg:…` or a free task, percent-encoded). As the product feed otherwise.",
    params(("task" = String, Path, description = "The task", example = "99108001000000")),
    responses(
        (status = 200, description = "The Atom feed", content_type = "application/atom+xml", body = String),
        (status = 400, description = "A malformed task", body = doc::ErrorBody),
        (status = 404, description = "A task neither in the OZG/LeiKa catalogue nor of any product", body = doc::ErrorBody),
        (status = 500, description = "A storage error", body = doc::ErrorBody), (status = 503, description = "The node is shutting down", body = doc::ErrorBody),
    ),
    extensions(("x-example-requests" = json!([
        { "summary": "An unknown task", "request": "/api/v1/feeds/tasks/Gibt%20es%20nicht", "status": 404 },
        { "summary": "A malformed LeiKa key", "request": "/api/v1/feeds/tasks/123", "status": 400 }
    ])))
)]
pub async fn task_feed(
    State(s): State<ApiState>,
    Path(task): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    no_query(raw.as_deref())?;
    let task: Task = task
        .parse()
        .map_err(|e| ApiError::bad_request(format!("task: {e}")))?;
    let t = task.as_str().to_owned();
    let name = name_of(&s, WatchKind::Task, t.clone())
        .await
        .unwrap_or_else(|| t.clone());
    let enc = url::form_urlencoded::byte_serialize(t.as_bytes())
        .collect::<String>()
        .replace('+', "%20");
    feed_response(
        &s,
        &headers,
        Subject::Task(t),
        &format!("Allmende: {name}"),
        &format!("/api/v1/feeds/tasks/{enc}"),
        &format!("/aufgaben/{enc}"),
    )
    .await
}

/// `GET /api/v1/feeds/regions/{key}`.
#[utoipa::path(
    get,
    path = "/api/v1/feeds/regions/{key}",
    tag = "catalog",
    summary = "Atom feed of what the bodies of a Kreis or Land publish",
    description = "RFC 4287 Atom: deployments, ratings and Nachnutzung reports of the organisations in a Land (2-digit key) or Kreis (5-digit key). As the product feed otherwise.",
    params(("key" = String, Path, description = "A Land key (`05`) or Kreis key (`05315`)", example = "05")),
    responses(
        (status = 200, description = "The Atom feed", content_type = "application/atom+xml", body = String),
        (status = 400, description = "Neither a Land nor a Kreis key", body = doc::ErrorBody),
        (status = 404, description = "No such Kreis", body = doc::ErrorBody),
        (status = 500, description = "A storage error", body = doc::ErrorBody), (status = 503, description = "The node is shutting down", body = doc::ErrorBody),
    ),
    extensions(("x-example-requests" = json!([
        { "summary": "The feed of a Land", "request": "/api/v1/feeds/regions/05", "status": 200 },
        { "summary": "The feed of a Kreis", "request": "/api/v1/feeds/regions/05358", "status": 200 },
        { "summary": "Not a region key", "request": "/api/v1/feeds/regions/5a", "status": 400 }
    ])))
)]
pub async fn region_feed(
    State(s): State<ApiState>,
    Path(key): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    no_query(raw.as_deref())?;
    let (kind, subject, page) = match key.len() {
        2 => {
            let land: Land = key
                .parse()
                .map_err(|e| ApiError::bad_request(format!("key: {e}")))?;
            let code = land.code().to_owned();
            (
                WatchKind::Land,
                Subject::Land(code.clone()),
                "/abdeckung".to_owned(),
            )
        }
        5 => {
            let k = WatchKind::Kreis
                .canonical(&key)
                .map_err(|e| ApiError::bad_request(format!("key: {e}")))?;
            (
                WatchKind::Kreis,
                Subject::Kreis(k.clone()),
                format!("/kreise/{k}"),
            )
        }
        _ => {
            return Err(ApiError::bad_request(
                "key: a Land key (2 digits) or a Kreis key (5 digits)",
            ));
        }
    };
    let target = match &subject {
        Subject::Land(c) | Subject::Kreis(c) => c.clone(),
        _ => String::new(),
    };
    let name = name_of(&s, kind, target.clone())
        .await
        .unwrap_or_else(|| target.clone());
    feed_response(
        &s,
        &headers,
        subject,
        &format!("Allmende: {name}"),
        &format!("/api/v1/feeds/regions/{target}"),
        &page,
    )
    .await
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

/// `owner`'s watch list; with `mark`, the visit is remembered (the next view counts from
/// now).
pub async fn watch_view(s: &ApiState, owner: OrgId, mark: bool) -> Result<WatchView, ApiError> {
    let s2 = s.clone();
    let now = allmende_store::now().0;
    s.repo
        .call(move |st| -> Result<WatchView, ApiError> {
            let conn = st.repo().store().connection();
            let last_visit = if mark {
                watch::mark_visit(conn, &owner, VisitedPage::Watch, now)
            } else {
                watch::last_visit(conn, &owner, VisitedPage::Watch)
            }
            .map_err(|e| ApiError::internal(e.to_string()))?;
            let counted = counted(conn, &s2)?;
            let mut entries = Vec::new();
            for w in watch::list(conn, &owner).map_err(|e| ApiError::internal(e.to_string()))? {
                let events = match subject_of(w.kind, &w.target) {
                    Some(subject) => {
                        follow::events(conn, &subject, counted.as_ref(), EVENTS_PER_WATCHED)?
                    }
                    None => Vec::new(),
                };
                let new_events = events
                    .iter()
                    .filter(|e| last_visit.is_some_and(|v| e.noticed_at > v))
                    .count();
                entries.push(WatchedView {
                    kind: w.kind.slug().to_owned(),
                    name: target_name(conn, w.kind, &w.target),
                    target: w.target,
                    added_at: w.added_at,
                    new_events,
                    events,
                });
            }
            Ok(WatchView {
                owner: format!("{owner:#}"),
                last_visit,
                entries,
            })
        })
        .await?
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

/// The notices for `org`; with `mark`, the visit is remembered.
pub async fn notices_view(s: &ApiState, org: OrgId, mark: bool) -> Result<NoticesView, ApiError> {
    let s2 = s.clone();
    let now = allmende_store::now().0;
    s.repo
        .call(move |st| -> Result<NoticesView, ApiError> {
            let conn = st.repo().store().connection();
            let last_visit = if mark {
                watch::mark_visit(conn, &org, VisitedPage::Notices, now)
            } else {
                watch::last_visit(conn, &org, VisitedPage::Notices)
            }
            .map_err(|e| ApiError::internal(e.to_string()))?;
            let counted = counted(conn, &s2)?;
            let notices = follow::notices(conn, &org, counted.as_ref(), follow::MAX_EVENTS)?;
            let new_notices = notices
                .iter()
                .filter(|e| last_visit.is_none_or(|v| e.noticed_at > v))
                .count();
            Ok(NoticesView {
                org: format!("{org:#}"),
                last_visit,
                new_notices,
                notices,
            })
        })
        .await?
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

/// Adds an entry to `owner`'s list after checking that the node knows the target; returns
/// whether it was new.
pub async fn add_watched(
    s: &ApiState,
    owner: OrgId,
    kind: &str,
    target: &str,
) -> Result<bool, ApiError> {
    let kind = WatchKind::parse(kind).ok_or_else(|| {
        ApiError::bad_request(format!(
            "kind {:?}: product, task, org, kreis or land",
            kind.chars().take(40).collect::<String>()
        ))
    })?;
    let target = kind
        .canonical(target)
        .map_err(|e| ApiError::bad_request(format!("target: {e}")))?;
    let now = allmende_store::now().0;
    s.repo
        .call(move |st| -> Result<bool, ApiError> {
            let conn = st.repo().store().connection();
            if !follow::known(conn, kind.slug(), &target)? {
                return Err(ApiError::not_found(format!(
                    "target: this node knows no {} {target}",
                    kind.slug()
                )));
            }
            watch::add(conn, &owner, kind, &target, now).map_err(watch_error)
        })
        .await?
}

/// Removes an entry from `owner`'s list; returns whether it was there.
pub async fn remove_watched(
    s: &ApiState,
    owner: OrgId,
    kind: &str,
    target: &str,
) -> Result<bool, ApiError> {
    let kind = WatchKind::parse(kind).ok_or_else(|| {
        ApiError::bad_request("kind: product, task, org, kreis or land".to_owned())
    })?;
    let target = target.to_owned();
    s.repo
        .call(move |st| {
            watch::remove(st.repo().store().connection(), &owner, kind, &target)
                .map_err(watch_error)
        })
        .await?
}

fn watch_error(e: WatchError) -> ApiError {
    match e {
        WatchError::Target(m) => ApiError::bad_request(format!("target: {m}")),
        WatchError::Full => ApiError::conflict(e.to_string()),
        WatchError::Store(e) => ApiError::internal(e.to_string()),
    }
}

/// `GET /api/v1/watch`.
#[utoipa::path(
    get,
    path = "/api/v1/watch",
    tag = "write",
    summary = "The token organisation's watch list, with what is new since the last visit",
    description = "Local to this node, never sent to peers. Each entry lists its newest events (at most 10) and how many this node saw after the last visit. `visit=true` remembers this visit (as the web UI's page \"Beobachtet\" does).",
    params(
        ("visit" = Option<bool>, Query, description = "`true` to remember this visit"),
        ("for" = Option<OrgId>, Query, description = "With the admin token: the list of this hosted member organisation"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The watch list", body = WatchView),
        (status = 400, description = "An unknown parameter", body = doc::ErrorBody),
        (status = 401, description = "No valid token", body = doc::ErrorBody),
        (status = 403, description = "`for` names no member", body = doc::ErrorBody),
        (status = 500, description = "A storage error", body = doc::ErrorBody), (status = 503, description = "The node is shutting down", body = doc::ErrorBody),
    ),
    extensions(("x-example-requests" = json!([
        { "summary": "The watch list", "request": "/api/v1/watch", "token": "admin", "status": 200 },
        { "summary": "Without the token", "request": "/api/v1/watch", "status": 401 }
    ])))
)]
pub async fn watch_list(
    State(s): State<ApiState>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Json<WatchView>, ApiError> {
    let mut visit = false;
    for (k, v) in url::form_urlencoded::parse(raw.as_deref().unwrap_or("").as_bytes()) {
        match (k.as_ref(), v.as_ref()) {
            ("visit", "true") => visit = true,
            ("visit", "false") | ("for", _) => {}
            (other, _) => {
                return Err(ApiError::bad_request(format!(
                    "unknown parameter {other:?}; only visit=true|false and for=ORG_ID"
                )));
            }
        }
    }
    let tenant = require_token(&headers, raw.as_deref(), &s)?;
    Ok(Json(watch_view(&s, tenant.org, visit).await?))
}

/// `POST /api/v1/watch`.
#[utoipa::path(
    post,
    path = "/api/v1/watch",
    tag = "write",
    summary = "Watch a product, task, organisation, Kreis or Land",
    description = "Adds an entry to the token organisation's watch list (local to this node). The target must be known to this node. Adding an entry twice keeps it once. At most 200 entries (409 beyond).",
    params(("for" = Option<OrgId>, Query, description = "With the admin token: for this hosted member organisation")),
    request_body = WatchRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Watched; `added` is false when it was already", body = Object),
        (status = 400, description = "An unknown kind or a malformed target", body = doc::ErrorBody),
        (status = 401, description = "No valid token", body = doc::ErrorBody),
        (status = 403, description = "`for` names no member", body = doc::ErrorBody),
        (status = 404, description = "The node knows no such target", body = doc::ErrorBody),
        (status = 409, description = "The list is full", body = doc::ErrorBody),
        (status = 500, description = "A storage error", body = doc::ErrorBody), (status = 503, description = "The node is shutting down", body = doc::ErrorBody),
    ),
    extensions(("x-example-requests" = json!([
        { "summary": "Watch a product", "request": "/api/v1/watch", "token": "admin", "body": { "kind": "product", "target": example::BAUANTRAG }, "status": 200 },
        { "summary": "Watch a Kreis", "request": "/api/v1/watch", "token": "admin", "body": { "kind": "kreis", "target": "05358" }, "status": 200 },
        { "summary": "An unknown product", "request": "/api/v1/watch", "token": "admin", "body": { "kind": "product", "target": "e".repeat(64) }, "status": 404 },
        { "summary": "An unknown kind", "request": "/api/v1/watch", "token": "admin", "body": { "kind": "vendor", "target": "x" }, "status": 400 },
        { "summary": "Without the token", "request": "/api/v1/watch", "body": { "kind": "land", "target": "05" }, "status": 401 }
    ])))
)]
pub async fn watch_add(
    State(s): State<ApiState>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    let tenant = require_token(&headers, raw.as_deref(), &s)?;
    let req: WatchRequest = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))?;
    let added = add_watched(&s, tenant.org, &req.kind, &req.target).await?;
    Ok(Json(serde_json::json!({ "added": added })))
}

/// `DELETE /api/v1/watch/{kind}/{target}`.
#[utoipa::path(
    delete,
    path = "/api/v1/watch/{kind}/{target}",
    tag = "write",
    summary = "Stop watching an entry",
    description = "Removes the entry from the token organisation's watch list. `removed` is false when it was not on the list.",
    params(
        ("kind" = String, Path, description = "`product`, `task`, `org`, `kreis` or `land`"),
        ("target" = String, Path, description = "The id, percent-encoded"),
        ("for" = Option<OrgId>, Query, description = "With the admin token: for this hosted member organisation"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Done", body = Object),
        (status = 400, description = "An unknown kind or a malformed target", body = doc::ErrorBody),
        (status = 401, description = "No valid token", body = doc::ErrorBody),
        (status = 403, description = "`for` names no member", body = doc::ErrorBody),
        (status = 500, description = "A storage error", body = doc::ErrorBody), (status = 503, description = "The node is shutting down", body = doc::ErrorBody),
    ),
    extensions(("x-example-requests" = json!([
        { "summary": "Stop watching a Kreis", "request": "/api/v1/watch/kreis/05358", "token": "admin", "status": 200 },
        { "summary": "A malformed Land key", "request": "/api/v1/watch/land/99", "token": "admin", "status": 400 },
        { "summary": "Without the token", "request": "/api/v1/watch/kreis/05358", "status": 401 }
    ])))
)]
pub async fn watch_remove(
    State(s): State<ApiState>,
    Path((kind, target)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, ApiError> {
    let tenant = require_token(&headers, raw.as_deref(), &s)?;
    let removed = remove_watched(&s, tenant.org, &kind, &target).await?;
    Ok(Json(serde_json::json!({ "removed": removed })))
}

/// `GET /api/v1/notices`.
#[utoipa::path(
    get,
    path = "/api/v1/notices",
    tag = "write",
    summary = "Notices (Hinweise) about the products the token organisation runs",
    description = "For the products the organisation runs (deployments in production or pilot): new and changed ratings and Nachnutzung reports by other organisations, and a new current version or end of support. Newest first, at most 50; on a node with trust anchors only from attested organisations. `visit=true` remembers this visit; `new_notices` counts those seen after the one before.",
    params(
        ("visit" = Option<bool>, Query, description = "`true` to remember this visit"),
        ("for" = Option<OrgId>, Query, description = "With the admin token: the notices of this hosted member organisation"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The notices", body = NoticesView),
        (status = 400, description = "An unknown parameter", body = doc::ErrorBody),
        (status = 401, description = "No valid token", body = doc::ErrorBody),
        (status = 403, description = "`for` names no member", body = doc::ErrorBody),
        (status = 500, description = "A storage error", body = doc::ErrorBody), (status = 503, description = "The node is shutting down", body = doc::ErrorBody),
    ),
    extensions(("x-example-requests" = json!([
        { "summary": "The notices", "request": "/api/v1/notices", "token": "admin", "status": 200 },
        { "summary": "Without the token", "request": "/api/v1/notices", "status": 401 }
    ])))
)]
pub async fn notices(
    State(s): State<ApiState>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Result<Json<NoticesView>, ApiError> {
    let mut visit = false;
    for (k, v) in url::form_urlencoded::parse(raw.as_deref().unwrap_or("").as_bytes()) {
        match (k.as_ref(), v.as_ref()) {
            ("visit", "true") => visit = true,
            ("visit", "false") | ("for", _) => {}
            (other, _) => {
                return Err(ApiError::bad_request(format!(
                    "unknown parameter {other:?}; only visit=true|false and for=ORG_ID"
                )));
            }
        }
    }
    let tenant = require_token(&headers, raw.as_deref(), &s)?;
    Ok(Json(notices_view(&s, tenant.org, visit).await?))
}
