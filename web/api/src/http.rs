//! The HTTP API (`/api/v1`): all routes in [`router`]; handlers parse input, make one call on
//! the node, and map the result. Errors are JSON `{"error": CODE, "message": TEXT}` with a
//! stable code.

use std::collections::BTreeMap;
use std::sync::Arc;

use allmende_protocol::ids::{DocId, OrgId};
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::answers::{self as doc, example};
// The handlers of contacts, replacements and training with their OpenAPI path items.
use exchange_api::*;
// The handlers of following changes with their OpenAPI path items, for `routes!` below.
use crate::inventory::with_file_limit;
use follow_api::*;

use allmende_catalog::query::{self, QueryError, SearchQuery};
use allmende_net::net::NetHandle;
use allmende_repo_thread::repo_actor::RepoHandle;

/// What the handlers share.
#[derive(Clone)]
pub struct ApiState {
    /// The network actor.
    pub net: NetHandle,
    /// The repository thread.
    pub repo: RepoHandle,
    /// The local organisation.
    pub organisation: Option<OrgId>,
    /// Trust anchors this node follows.
    pub anchors: Arc<Vec<OrgId>>,
    /// Who may write: the node's own organisation (admin token) and, in IT-Dienstleister mode,
    /// each hosted member with its own token. A member's token writes for its organisation
    /// only; the admin token may also write for the members (`?for=ORG_ID`).
    pub tenants: Arc<Tenants>,
    /// HTTP request latencies for `/metrics`.
    pub http_metrics: Arc<crate::metrics::HttpMetrics>,
    /// The store file, for its size in `/metrics`.
    pub store_path: Arc<std::path::PathBuf>,
    /// Aggregates kept between requests, for the statistics and the UI ([`crate::aggregates`]).
    pub aggregates: Arc<crate::aggregates::AggregateCache>,
    /// Slots of the exports over the API (`GET /api/v1/export`, [`MAX_EXPORTS`]).
    pub exports: Arc<tokio::sync::Semaphore>,
    /// How long an export waits for its client to take the next chunk ([`EXPORT_STALL`]).
    pub export_stall: std::time::Duration,
    /// One-time links that open a web UI session ([`UiLogins`]).
    pub ui_logins: Arc<UiLogins>,
}

/// One-time login links for the web UI (`/anmelden?token=…`), as Jupyter prints one at start.
/// A link opens a session that may publish for every tenant of the node, once; `allmende run`
/// prints one and `POST /api/v1/ui/login` (admin token) issues more.
///
/// Threat: every local user and process can reach a UI on loopback. Without a session they
/// can read, but not publish or sign delegations. Whoever can read the node's standard output
/// (its operator, the journal) or `admin.token` can sign in, as before through `/anmelden`.
/// Tokens live in memory only: a restart ends them. At most [`MAX_PENDING_LOGINS`] are
/// pending; issuing more drops the oldest.
#[derive(Debug, Default)]
pub struct UiLogins {
    pending: std::sync::Mutex<std::collections::VecDeque<String>>,
}

/// Unused login links kept at once.
pub const MAX_PENDING_LOGINS: usize = 8;

/// The path of a login link, before its token.
pub const UI_LOGIN_PATH: &str = "/anmelden?token=";

impl UiLogins {
    /// A new one-time token.
    pub fn issue(&self) -> Result<String, allmende_store::datadir::DataDirError> {
        let token = hex::encode(allmende_store::datadir::random_bytes::<32>()?);
        if let Ok(mut p) = self.pending.lock() {
            if p.len() >= MAX_PENDING_LOGINS {
                p.pop_front();
            }
            p.push_back(token.clone());
        }
        Ok(token)
    }

    /// Whether `token` is pending; a pending token is used up by this call.
    pub fn redeem(&self, token: &str) -> bool {
        let Ok(mut p) = self.pending.lock() else {
            return false;
        };
        let given = token.as_bytes();
        // Compare with every pending token in constant time, then remove the match.
        let mut found = None;
        for (i, t) in p.iter().enumerate() {
            let same = t.len() == given.len()
                && t.bytes().zip(given).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0;
            if same {
                found = Some(i);
            }
        }
        found.and_then(|i| p.remove(i)).is_some()
    }
}

impl ApiState {
    /// The node's status, with its trust scope.
    pub async fn status(&self) -> Result<crate::status::Status, crate::status::StatusError> {
        crate::status::status(&self.net, &self.repo, self.organisation).await
    }
}

/// An organisation this node writes for, and the token that authorises it.
#[derive(Clone)]
pub struct Tenant {
    /// `Authorization: Bearer` value.
    pub token: String,
    /// The organisation.
    pub org: OrgId,
    /// Its signing key.
    pub keypair: Arc<allmende_protocol::identity::Keypair>,
}

/// The tenants, re-read from the data directory at most once a second, so that `allmende
/// member add/remove` and `allmende key rotate` take effect without a restart.
#[derive(Debug)]
pub struct Tenants {
    source: allmende_store::datadir::DataDir,
    loaded: std::sync::RwLock<(std::time::Instant, Arc<Vec<Tenant>>)>,
}

/// How long a loaded tenant list is used before the files are read again.
const TENANT_RELOAD: std::time::Duration = std::time::Duration::from_secs(1);

impl Tenants {
    /// The tenants of a data directory: its own organisation (if initialised) with the admin
    /// token, then its members with theirs.
    pub fn from_dir(
        dd: allmende_store::datadir::DataDir,
    ) -> Result<Self, allmende_store::datadir::DataDirError> {
        let list = Self::read(&dd)?;
        Ok(Self {
            source: dd,
            loaded: std::sync::RwLock::new((std::time::Instant::now(), Arc::new(list))),
        })
    }

    fn read(
        dd: &allmende_store::datadir::DataDir,
    ) -> Result<Vec<Tenant>, allmende_store::datadir::DataDirError> {
        let mut out = Vec::new();
        if dd.is_initialised() {
            let id = dd.identity()?;
            out.push(Tenant {
                token: dd.admin_token()?,
                org: id.org,
                keypair: Arc::new(id.keypair),
            });
        }
        for (id, token) in dd.members()? {
            out.push(Tenant {
                token,
                org: id.org,
                keypair: Arc::new(id.keypair),
            });
        }
        Ok(out)
    }

    /// The current list (re-read when older than a second; on a read error the previous list
    /// stays and the error is logged).
    pub fn current(&self) -> Arc<Vec<Tenant>> {
        if let Ok(g) = self.loaded.read()
            && g.0.elapsed() < TENANT_RELOAD
        {
            return g.1.clone();
        }
        let Ok(mut g) = self.loaded.write() else {
            return Arc::new(Vec::new());
        };
        if g.0.elapsed() >= TENANT_RELOAD {
            match Self::read(&self.source) {
                Ok(list) => g.1 = Arc::new(list),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot re-read the tenants; keeping the previous list")
                }
            }
            g.0 = std::time::Instant::now();
        }
        g.1.clone()
    }

    /// The tenant of `org`, if this node writes for it.
    pub fn get(&self, org: &OrgId) -> Option<Tenant> {
        self.current().iter().find(|t| t.org == *org).cloned()
    }
}

impl std::fmt::Debug for Tenant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tenant")
            .field("org", &self.org)
            .finish_non_exhaustive()
    }
}

/// An API error with a stable code.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code: "bad_request",
            message: message.into(),
        }
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            code: "not_found",
            message: message.into(),
        }
    }

    fn unavailable(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code: "unavailable",
            message: message.into(),
        }
    }

    fn unauthorised() -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            code: "unauthorized",
            message: "write requests need the node's admin token: Authorization: Bearer <token from admin.token>".into(),
        }
    }

    pub(crate) fn forbidden(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::FORBIDDEN,
            code: "forbidden",
            message: message.into(),
        }
    }

    pub(crate) fn conflict(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::CONFLICT,
            code: "conflict",
            message: message.into(),
        }
    }

    pub(crate) fn internal(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "internal",
            message: message.into(),
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl ApiError {
    /// The HTTP status this error maps to.
    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(serde_json::json!({ "error": self.code, "message": self.message })),
        )
            .into_response()
    }
}

impl From<QueryError> for ApiError {
    fn from(e: QueryError) -> Self {
        match e {
            QueryError::UnknownFacet(_) | QueryError::Invalid(_) => {
                ApiError::bad_request(e.to_string())
            }
            QueryError::Changed(m) => ApiError::conflict(m),
            QueryError::Store(e) => ApiError::internal(e.to_string()),
        }
    }
}

impl From<allmende_repo_thread::repo_actor::RepoGone> for ApiError {
    fn from(e: allmende_repo_thread::repo_actor::RepoGone) -> Self {
        ApiError::unavailable(e.to_string())
    }
}

/// The routes documented in the OpenAPI description. Every route is registered here through
/// `routes!`, which takes method and path from the handler's `#[utoipa::path]`, so a route
/// cannot be added without describing it (`node/tests/openapi.rs` also checks this file).
fn api_routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::with_openapi(<ApiDoc as utoipa::OpenApi>::openapi())
        .routes(routes!(metrics))
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(openapi_json))
        .routes(routes!(status))
        .routes(routes!(sql_query))
        .routes(routes!(ui_login))
        .routes(routes!(export))
        .routes(routes!(import_publiccode_route))
        .routes(routes!(product_publiccode))
        .routes(routes!(products, create_product))
        .routes(routes!(product))
        .routes(routes!(product_stewardship))
        .routes(routes!(decide_proposal))
        .routes(routes!(deployments, create_deployment))
        .routes(routes!(ratings, set_rating))
        .routes(routes!(reuse_reports, create_reuse_report))
        .routes(routes!(product_contacts))
        .routes(routes!(product_replacements))
        .routes(routes!(trainings, create_training))
        .routes(routes!(set_training_rating))
        .routes(routes!(organizations))
        .routes(routes!(organization))
        .routes(routes!(comparison))
        .routes(routes!(task_catalogue))
        .routes(routes!(stats_index))
        .routes(routes!(stats))
        // Following changes (`follow.rs`): feeds, the watch list, notices.
        .routes(routes!(product_feed))
        .routes(routes!(task_feed))
        .routes(routes!(organization_feed))
        .routes(routes!(region_feed))
        .routes(routes!(watch_list, watch_add))
        .routes(routes!(watch_remove))
        .routes(routes!(notices))
        .routes(with_file_limit(routes!(inventory_preview)))
        .routes(with_file_limit(routes!(inventory_import)))
}

/// The finished OpenAPI description as JSON, as served at `/api/v1/openapi.json` (built once,
/// from [`openapi`] by [`crate::openapi::finish`]).
pub fn openapi_document() -> &'static serde_json::Value {
    static DOC: std::sync::OnceLock<serde_json::Value> = std::sync::OnceLock::new();
    DOC.get_or_init(|| crate::openapi::finish(openapi()))
}

/// The OpenAPI description as the routes produce it (finished by [`crate::openapi`], served
/// at `/api/v1/openapi.json`).
pub fn openapi() -> utoipa::openapi::OpenApi {
    api_routes().split_for_parts().1
}

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Allmende node API",
        description = "Read and write the federated catalog of public-administration software that this node holds: search with German full-text and facets, product and organisation pages, record lists, statistics with the trust model, and token-protected writes. Reference: docs/api.md. Paging: `limit` and an opaque `after` cursor from the RFC 8288 `Link` header. Every GET under /api/v1 carries an ETag.",
        license(name = "EUPL-1.2", identifier = "EUPL-1.2"),
    ),
    servers((url = "http://127.0.0.1:8080", description = "a node's default HTTP address")),
    tags(
        (name = "catalog", description = "products, organisations and their records"),
        (name = "write", description = "token-protected writes, signed with the token organisation's key"),
        (name = "statistics", description = "aggregates over verified organisations"),
        (name = "research", description = "read-only SQL and publiccode.yml"),
        (name = "operations", description = "status, metrics, health, this description"),
    )
)]
struct ApiDoc;

/// Whether `host` (a Host header value) names this machine's loopback interface.
pub(crate) fn loopback_host(host: &str) -> bool {
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        host.rsplit_once(':').map_or(host, |(h, _)| h)
    };
    name == "localhost"
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The outer layer of a server that listens on loopback only: every route (UI, API,
/// `/metrics`, health) answers 421 unless the `Host` header names a loopback host.
///
/// Threat: DNS rebinding. A web page the user visits can point its own host name at
/// 127.0.0.1 and then read this node's answers from JavaScript as same-origin; the browser
/// still sends the page's host name in `Host`, which is what this refuses. A server that
/// listens beyond loopback sits behind a reverse proxy, which checks the name itself.
pub async fn loopback_only(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let host = req
        .headers()
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    if loopback_host(host) {
        return next.run(req).await;
    }
    let message = "This node answers on 127.0.0.1 or localhost only.";
    if req.uri().path().starts_with("/api/") || req.uri().path() == "/api" {
        return ApiError {
            status: StatusCode::MISDIRECTED_REQUEST,
            code: "misdirected_request",
            message: message.into(),
        }
        .into_response();
    }
    (
        StatusCode::MISDIRECTED_REQUEST,
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; charset=utf-8",
        )],
        message,
    )
        .into_response()
}

/// All routes.
pub fn router(state: ApiState) -> Router {
    let (routes, _) = api_routes().split_for_parts();
    routes
        // Unknown API paths answer in JSON; every other path belongs to the web UI.
        .route(
            "/api/v1/{*rest}",
            axum::routing::any(|| async { ApiError::not_found("no such endpoint") }),
        )
        .route(
            "/api/v1",
            axum::routing::any(|| async { ApiError::not_found("no such endpoint") }),
        )
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(etag))
        .with_state(state)
}

/// `GET /api/v1/openapi.json`.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "operations",
    summary = "This OpenAPI 3.1 description",
    description = "Generated from the code: the router and this description come from the same handler annotations. Each operation lists example requests in `x-example-requests` (request, body, expected status) and as curl lines in `x-codeSamples`; their ids belong to the example catalog the tests build.",
    responses((status = 200, description = "The description", body = Object)),
    extensions(("x-example-requests" = json!([
        { "summary": "The description", "request": "/api/v1/openapi.json", "status": 200 }
    ])))
)]
async fn openapi_json() -> Json<&'static serde_json::Value> {
    Json(openapi_document())
}

/// `GET /api/v1/status`.
#[utoipa::path(
    get,
    path = "/api/v1/status",
    tag = "operations",
    summary = "Node, store and network state",
    responses(
        (status = 200, description = "The status (operations.md)", body = crate::status::Status),
        (status = 503, description = "The node is shutting down", body = doc::ErrorBody),
    ),
    extensions(("x-example-requests" = json!([
        { "summary": "Peers, documents, sync state", "request": "/api/v1/status", "status": 200 }
    ])))
)]
async fn status(State(s): State<ApiState>) -> Result<Json<crate::status::Status>, ApiError> {
    s.status()
        .await
        .map(Json)
        .map_err(|e| ApiError::unavailable(e.to_string()))
}

#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    summary = "Prometheus metrics",
    description = "The Prometheus text format (version 0.0.4); the series are listed in docs/operations.md. Outside /api/v1, so without ETag.",
    responses(
        (status = 200, description = "The metrics", body = String, content_type = "text/plain; version=0.0.4; charset=utf-8"),
        (status = 503, description = "The node is shutting down", body = doc::ErrorBody),
    ),
    extensions(("x-example-requests" = json!([
        { "summary": "Scrape the metrics", "request": "/metrics", "status": 200 }
    ])))
)]
/// Prometheus metrics ([`crate::metrics`]).
async fn metrics(State(s): State<ApiState>) -> Response {
    let status = match s.status().await {
        Ok(st) => st,
        Err(e) => return ApiError::unavailable(e.to_string()).into_response(),
    };
    let Ok((repo, volume)) = s
        .repo
        .call(|st| (st.metrics().clone(), st.org_volume()))
        .await
    else {
        return ApiError::unavailable("the repository does not answer").into_response();
    };
    let path = s.store_path.as_path();
    let size = |p: &std::path::Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    let bytes = size(path) + size(std::path::Path::new(&wal));
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        crate::metrics::render(&status, &repo, &s.http_metrics, bytes, &volume),
    )
        .into_response()
}

#[utoipa::path(
    post,
    path = "/api/v1/query",
    tag = "research",
    summary = "One read-only SQL statement over the catalog index",
    description = "For the node's own admin token only. The documented views and the limits are in docs/sql.md. Writes, ATTACH and PRAGMA are refused with 400.",
    request_body(content = doc::SqlBody, content_type = "application/json"),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Columns and rows", body = allmende_catalog::sql::QueryResult),
        (status = 400, description = "Not JSON, a limit out of range, a write or a SQL error", body = doc::ErrorBody),
        (status = 401, description = "No valid token", body = doc::ErrorBody),
        (status = 403, description = "A member's token", body = doc::ErrorBody),
    ),
    extensions(("x-example-requests" = json!([
        { "summary": "Products per kind", "request": "/api/v1/query", "token": "admin",
          "body": { "sql": "SELECT kind, count(*) AS products FROM products GROUP BY kind ORDER BY kind" }, "status": 200 },
        { "summary": "Writes are refused", "request": "/api/v1/query", "token": "admin",
          "body": { "sql": "DELETE FROM products" }, "status": 400 },
        { "summary": "Without the token", "request": "/api/v1/query",
          "body": { "sql": "SELECT 1" }, "status": 401 }
    ])))
)]
/// `POST /api/v1/query`: one read-only SQL statement ([`allmende_catalog::sql`]), for the node's own
/// admin token only (members' tokens get 403).
async fn sql_query(
    State(s): State<ApiState>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<allmende_catalog::sql::QueryResult>, ApiError> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Body {
        sql: String,
        timeout_secs: Option<u64>,
        max_rows: Option<usize>,
    }
    let tenant = require_token(&headers, None, &s)?;
    if s.organisation != Some(tenant.org) {
        return Err(ApiError::forbidden(
            "SQL queries need the node's admin token, not a member's",
        ));
    }
    let b: Body = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))?;
    let timeout = b
        .timeout_secs
        .unwrap_or(allmende_catalog::sql::DEFAULT_TIMEOUT.as_secs());
    if !(1..=allmende_catalog::sql::MAX_TIMEOUT.as_secs()).contains(&timeout) {
        return Err(ApiError::bad_request("timeout_secs must be 1–300"));
    }
    let rows = b.max_rows.unwrap_or(allmende_catalog::sql::DEFAULT_ROWS);
    if !(1..=allmende_catalog::sql::MAX_ROWS).contains(&rows) {
        return Err(ApiError::bad_request("max_rows must be 1–1000000"));
    }
    let limits = allmende_catalog::sql::Limits {
        timeout: std::time::Duration::from_secs(timeout),
        rows,
    };
    let db = s.store_path.clone();
    tokio::task::spawn_blocking(move || {
        let mut conn = allmende_catalog::sql::open(&db)?;
        allmende_catalog::sql::run(&mut conn, &b.sql, limits)
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))?
    .map(Json)
    .map_err(|e| ApiError::bad_request(e.to_string()))
}

/// The answer of `POST /api/v1/ui/login`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UiLoginLink {
    /// The link on this node, as the request named it (`Host`).
    pub url: String,
    /// The link's path and query, for another host name (e.g. behind a reverse proxy).
    pub path: String,
}

/// `POST /api/v1/ui/login`.
#[utoipa::path(
    post,
    path = "/api/v1/ui/login",
    tag = "operations",
    summary = "A one-time login link for the web UI",
    description = "Publishing in the web UI needs a session, also on loopback. The link opens one in the browser that follows it, once; the session may publish for the node's organisation and every hosted member. `allmende run` prints one link at start; this issues more. Only the admin token may ask (a member signs in at /anmelden with its own token). Links live in memory until used or the node stops; at most 8 are pending.",
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The link", body = UiLoginLink),
        (status = 401, description = "No valid token", body = doc::ErrorBody),
        (status = 403, description = "A member's token: members sign in at /anmelden", body = doc::ErrorBody),
        (status = 500, description = "No randomness", body = doc::ErrorBody),
    ),
    extensions(("x-example-requests" = json!([
        { "summary": "A login link", "request": "/api/v1/ui/login", "token": "admin", "status": 201 },
        { "summary": "Without the token", "request": "/api/v1/ui/login", "status": 401 }
    ])))
)]
async fn ui_login(
    State(s): State<ApiState>,
    headers: axum::http::HeaderMap,
) -> Result<(StatusCode, Json<UiLoginLink>), ApiError> {
    let tenant = require_token(&headers, None, &s)?;
    if s.organisation != Some(tenant.org) {
        return Err(ApiError::forbidden(
            "login links are for the node's admin token; a member signs in at /anmelden with its own token",
        ));
    }
    let token = s
        .ui_logins
        .issue()
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let path = format!("{UI_LOGIN_PATH}{token}");
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    Ok((
        StatusCode::CREATED,
        Json(UiLoginLink {
            url: format!("http://{host}{path}"),
            path,
        }),
    ))
}

/// Exports running at once over the API; a further request gets 429. Each holds a blocking
/// thread and a read transaction on the store for as long as its client reads.
pub const MAX_EXPORTS: usize = 2;

/// How long an export waits by default for its client to take the next chunk before it gives
/// up and frees its slot and its read transaction (`http.export_stall_secs`).
pub const EXPORT_STALL: std::time::Duration = std::time::Duration::from_secs(60);

/// Seconds a client is asked to wait when every export slot is taken.
const EXPORT_RETRY_SECS: u64 = 30;

/// Bytes per chunk of a streamed export body.
const EXPORT_CHUNK: usize = 64 * 1024;

/// Marks a streamed response: [`etag`] leaves its body alone instead of hashing it (which
/// would hold the whole export in memory).
#[derive(Debug, Clone, Copy)]
struct Streamed;

/// What `GET /api/v1/export` was asked for.
#[derive(Debug, Clone, PartialEq)]
enum ExportKind {
    Jsonl,
    Jsonld,
    /// One table as CSV.
    Csv(String),
    Sqlite,
}

impl ExportKind {
    fn content_type(&self) -> &'static str {
        match self {
            ExportKind::Jsonl => "application/x-ndjson",
            ExportKind::Jsonld => "application/ld+json",
            ExportKind::Csv(_) => "text/csv; charset=utf-8",
            ExportKind::Sqlite => "application/vnd.sqlite3",
        }
    }

    fn file_name(&self) -> String {
        match self {
            ExportKind::Jsonl => "allmende-export.jsonl".into(),
            ExportKind::Jsonld => "allmende-export.jsonld".into(),
            ExportKind::Csv(t) => format!("{t}.csv"),
            ExportKind::Sqlite => "allmende-export.sqlite".into(),
        }
    }
}

/// Reads the export's query string: `format`, `table` (csv only) and the filters of
/// [`allmende_formats::export_stream::Filter`].
fn parse_export(
    raw: Option<&str>,
) -> Result<(ExportKind, allmende_formats::export_stream::Filter), ApiError> {
    use allmende_formats::export_stream::{FILTER_PARAMS, Filter, table_names};
    let raw = raw.unwrap_or_default();
    if raw.len() > MAX_QUERY_BYTES {
        return Err(ApiError::bad_request(format!(
            "query string longer than {MAX_QUERY_BYTES} bytes"
        )));
    }
    let (mut format, mut table, mut filter) = (None::<String>, None::<String>, Filter::default());
    for (k, v) in url::form_urlencoded::parse(raw.as_bytes()) {
        match k.as_ref() {
            "format" | "table" => {
                let slot = if k == "format" {
                    &mut format
                } else {
                    &mut table
                };
                if slot.replace(v.into_owned()).is_some() {
                    return Err(ApiError::bad_request(format!("{k} given twice")));
                }
            }
            key => {
                let known = filter
                    .add(key, &v)
                    .map_err(|e| ApiError::bad_request(format!("filter: {e}")))?;
                if !known {
                    return Err(ApiError::bad_request(format!(
                        "unknown parameter {key:?}; use format, table (csv) or a filter: {FILTER_PARAMS}"
                    )));
                }
            }
        }
    }
    let kind = match format.as_deref() {
        None => {
            return Err(ApiError::bad_request(
                "format is required: jsonl, jsonld, csv (with table) or sqlite",
            ));
        }
        Some("jsonl") => ExportKind::Jsonl,
        Some("jsonld") => ExportKind::Jsonld,
        Some("sqlite") => ExportKind::Sqlite,
        Some("csv") => match table.take() {
            None => {
                return Err(ApiError::bad_request(format!(
                    "format=csv gives one table per request: add table=, one of {}",
                    table_names()
                )));
            }
            Some(t) if allmende_catalog::sql::VIEWS.iter().any(|(v, _, _)| *v == t) => {
                ExportKind::Csv(t)
            }
            Some(t) => {
                return Err(ApiError::bad_request(format!(
                    "no table {t:?}; the tables are {}",
                    table_names()
                )));
            }
        },
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "format {other:?} is not one of jsonl, jsonld, csv, sqlite"
            )));
        }
    };
    if table.is_some() {
        return Err(ApiError::bad_request("table is only for format=csv"));
    }
    Ok((kind, filter))
}

/// An export slot, or `None` when all [`MAX_EXPORTS`] are taken.
fn export_slot(slots: &Arc<tokio::sync::Semaphore>) -> Option<tokio::sync::OwnedSemaphorePermit> {
    slots.clone().try_acquire_owned().ok()
}

/// The answer when every export slot is taken: 429 with `Retry-After`.
fn exports_busy() -> Response {
    let mut resp = ApiError {
        status: StatusCode::TOO_MANY_REQUESTS,
        code: "too_many_requests",
        message: format!(
            "{MAX_EXPORTS} exports are running on this node; try again in {EXPORT_RETRY_SECS} s"
        ),
    }
    .into_response();
    resp.headers_mut().insert(
        axum::http::header::RETRY_AFTER,
        axum::http::HeaderValue::from(EXPORT_RETRY_SECS),
    );
    resp
}

/// Writes into the channel of a streamed body, in chunks of [`EXPORT_CHUNK`] bytes; fails
/// with `BrokenPipe` once the client has gone and with `TimedOut` when it has taken nothing
/// for `stall`, either of which stops the export.
///
/// Threat: a client (any local process, or anyone when the API is published) that starts an
/// export and stops reading with the connection open. Without the timeout it would hold one
/// of the [`MAX_EXPORTS`] slots, a blocking thread and a read transaction (which keeps the
/// store's WAL from being checkpointed) for as long as it likes.
struct BodyWriter {
    tx: tokio::sync::mpsc::Sender<Result<axum::body::Bytes, std::io::Error>>,
    buf: Vec<u8>,
    /// The runtime the response is served on (the writer runs on a blocking thread).
    runtime: tokio::runtime::Handle,
    stall: std::time::Duration,
}

impl BodyWriter {
    fn send(&mut self) -> std::io::Result<()> {
        let chunk = axum::body::Bytes::from(std::mem::take(&mut self.buf));
        let sent = self
            .runtime
            .block_on(tokio::time::timeout(self.stall, self.tx.send(Ok(chunk))));
        match sent {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(std::io::Error::new(
                std::io::ErrorKind::BrokenPipe,
                "the client went away",
            )),
            Err(_) => Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("the client took nothing for {} s", self.stall.as_secs_f64()),
            )),
        }
    }
}

impl std::io::Write for BodyWriter {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(b);
        if self.buf.len() >= EXPORT_CHUNK {
            self.send()?;
        }
        Ok(b.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        self.send()
    }
}

/// Runs one export into `w` (on a blocking thread). The SQLite snapshot is built in a
/// temporary directory inside the data directory, streamed, and removed.
fn run_export(
    db: &std::path::Path,
    meta: &allmende_formats::export_stream::Meta,
    kind: &ExportKind,
    w: &mut dyn std::io::Write,
) -> Result<(), allmende_formats::export_stream::ExportError> {
    use allmende_formats::export_stream as xs;
    let mut progress = |_: u64| {};
    match kind {
        ExportKind::Jsonl => xs::jsonl(db, meta, w, &mut progress)?,
        ExportKind::Jsonld => xs::jsonld(db, meta, w, &mut progress)?,
        ExportKind::Csv(t) => xs::csv_table(db, meta, t, w, &mut progress)?,
        ExportKind::Sqlite => {
            let dir = db.parent().unwrap_or(std::path::Path::new("."));
            let tmp = tempfile::Builder::new().prefix("export-").tempdir_in(dir)?;
            let file = tmp.path().join("export.sqlite");
            xs::sqlite(db, meta, &file)?;
            std::io::copy(&mut std::fs::File::open(&file)?, w)?;
            tmp.close()?;
            0
        }
    };
    w.flush()?;
    Ok(())
}

/// `GET /api/v1/export`.
#[utoipa::path(
    get,
    path = "/api/v1/export",
    tag = "research",
    summary = "The catalog, or a filtered view of it, as JSON Lines, JSON-LD, CSV or SQLite",
    description = "The exports of `allmende export` (docs/exports.md), streamed: JSON Lines (re-importable with `allmende import --format jsonl`), JSON-LD, one CSV table (`table=`, since one answer is one file) or a SQLite snapshot. Every export states licence (dl-de/zero-2-0), exporter, time, trust anchors, verified organisations and the filter. Filters: `q` and the product facets of /api/v1/products select products; `land`, `kreis`, `org` and `verified` select organisations. A filtered export holds the selected products, the deployments, ratings and Nachnutzung reports about them (by the selected organisations) and the organisations these name. At most two exports run at once (429 with Retry-After beyond). No ETag: the answer is streamed.",
    params(
        ("format" = String, Query, description = "`jsonl`, `jsonld`, `csv` (with `table`) or `sqlite`", example = "jsonl"),
        ("table" = Option<String>, Query, description = "With format=csv: the table (a view of docs/sql.md: organisations, attestations, products, product_facets, deployments, deployment_tasks, integrations, ratings, rating_scores, reuse_reports)", example = "products"),
        ("q" = Option<String>, Query, description = "Products matching this free text (as in product search)"),
        ("kind" = Option<Vec<allmende_protocol::schema::ProductKind>>, Query, explode, description = "Product facet: kind"),
        ("task" = Option<Vec<String>>, Query, explode, description = "Product facet: task as stored (LeiKa key, ozg:… id or text)", example = json!(["99009001001000"])),
        ("themenfeld" = Option<Vec<String>>, Query, explode, description = "Product facet: OZG Themenfeld slug"),
        ("category" = Option<Vec<String>>, Query, explode, description = "Product facet: category as stored"),
        ("standard" = Option<Vec<String>>, Query, explode, description = "Product facet: standard (canonical name)"),
        ("licence" = Option<Vec<String>>, Query, explode, description = "Product facet: SPDX expression as stored"),
        ("open_source" = Option<Vec<String>>, Query, explode, description = "Product facet: `yes` or `no`"),
        ("hosting" = Option<Vec<allmende_protocol::schema::HostingModel>>, Query, explode, description = "Product facet: hosting model"),
        ("efa" = Option<Vec<String>>, Query, explode, description = "Product facet: `yes` for products with EfA data"),
        ("efa_land" = Option<Vec<String>>, Query, explode, description = "Product facet: Land providing the EfA service (two-digit key)"),
        ("land" = Option<String>, Query, description = "Records of organisations in this Land (two-digit key)", example = "05"),
        ("kreis" = Option<String>, Query, description = "Records of organisations in this Kreis (five digits)"),
        ("org" = Option<Vec<String>>, Query, explode, description = "Records of these organisations (64 hex)"),
        ("verified" = Option<bool>, Query, description = "Records of organisations a followed trust anchor attested (`true`) or did not (`false`)"),
    ),
    responses(
        (status = 200, description = "The export, streamed, with `Content-Disposition: attachment`",
            content(
                (String = "application/x-ndjson"),
                (String = "application/ld+json"),
                (String = "text/csv; charset=utf-8"),
                (Vec<u8> = "application/vnd.sqlite3"),
            ),
            headers(("Content-Disposition" = String, description = "attachment; filename=…"))),
        (status = 400, description = "No or an unknown format, csv without table, an unknown table, an unknown parameter or a bad filter value", body = doc::ErrorBody),
        (status = 429, description = "Two exports are running already: try again after Retry-After seconds", body = doc::ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 500, description = "A storage error before the first byte", body = doc::ErrorBody),
    ),
    extensions(("x-example-requests" = json!([
        { "summary": "Everything about products for building permits (LeiKa), as JSON Lines", "request": "/api/v1/export?format=jsonl&task=99009001001000", "status": 200 },
        { "summary": "Open-source products as JSON-LD (DCAT, schema.org)", "request": "/api/v1/export?format=jsonld&open_source=yes", "status": 200 },
        { "summary": "Deployments in Nordrhein-Westfalen as CSV", "request": "/api/v1/export?format=csv&table=deployments&land=05", "status": 200 },
        { "summary": "A SQLite snapshot of what attested organisations report", "request": "/api/v1/export?format=sqlite&verified=true", "status": 200 },
        { "summary": "CSV without a table", "request": "/api/v1/export?format=csv", "status": 400 },
        { "summary": "An unknown format", "request": "/api/v1/export?format=xlsx", "status": 400 }
    ])))
)]
async fn export(State(s): State<ApiState>, RawQuery(raw): RawQuery) -> Result<Response, ApiError> {
    let (kind, filter) = parse_export(raw.as_deref())?;
    let Some(permit) = export_slot(&s.exports) else {
        return Ok(exports_busy());
    };
    let (tx, mut rx) = tokio::sync::mpsc::channel(8);
    let (db, anchors, org) = (s.store_path.clone(), s.anchors.clone(), s.organisation);
    let job = kind.clone();
    let (runtime, stall) = (tokio::runtime::Handle::current(), s.export_stall);
    // Set once the whole export is in the channel: a body that ends without it failed.
    let finished = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let finished_w = finished.clone();
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let mut w = BodyWriter {
            tx: tx.clone(),
            buf: Vec::with_capacity(EXPORT_CHUNK),
            runtime,
            stall,
        };
        let done =
            allmende_formats::export_stream::Meta::new(&db, org, &anchors, allmende_store::now())
                .and_then(|meta| run_export(&db, &meta.with_filter(filter), &job, &mut w));
        match done {
            Ok(()) => finished_w.store(true, std::sync::atomic::Ordering::Release),
            Err(e) => {
                tracing::warn!(error = %e, "export over the API failed");
                // Fails the body, so the client sees a broken transfer, never a short file. A
                // stalled client may never take it: do not wait for that either.
                let _ = tx.try_send(Err(std::io::Error::other(e.to_string())));
            }
        }
    });
    // Errors before the first byte still get a JSON answer.
    let first = match rx.recv().await {
        Some(Ok(b)) => b,
        Some(Err(e)) => return Err(ApiError::internal(format!("export failed: {e}"))),
        None => return Err(ApiError::internal("the export stopped before writing")),
    };
    // A body that ends before the export finished (an error that found no room in the
    // channel, a stalled client) must end in an error too, so the client never takes a
    // truncated file for a whole one.
    let rest = futures::stream::unfold(Some(rx), move |rx| {
        let finished = finished.clone();
        async move {
            let mut rx = rx?;
            match rx.recv().await {
                Some(item) => Some((item, Some(rx))),
                None if finished.load(std::sync::atomic::Ordering::Acquire) => None,
                None => Some((
                    Err(std::io::Error::other("the export stopped before its end")),
                    None,
                )),
            }
        }
    });
    let body = futures::StreamExt::chain(
        futures::stream::once(async move { Ok::<_, std::io::Error>(first) }),
        rest,
    );
    let mut resp = Response::new(axum::body::Body::from_stream(body));
    let headers = resp.headers_mut();
    headers.insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static(kind.content_type()),
    );
    if let Ok(v) =
        axum::http::HeaderValue::from_str(&format!("attachment; filename=\"{}\"", kind.file_name()))
    {
        headers.insert(axum::http::header::CONTENT_DISPOSITION, v);
    }
    resp.extensions_mut().insert(Streamed);
    Ok(resp)
}

/// Imports a `publiccode.yml` as `tenant`'s product through the announcing write path: the
/// product document is the one its repository URL (else its name) names, so importing again
/// updates it ([`allmende_formats::publiccode`]).
pub async fn import_publiccode(
    s: &ApiState,
    tenant: &Tenant,
    parsed: allmende_formats::publiccode::Parsed,
) -> Result<allmende_formats::publiccode::ImportOutcome, ApiError> {
    let header = allmende_protocol::doc::DocHeader::product(
        tenant.org,
        allmende_formats::publiccode::nonce_for(&parsed),
    );
    let id = header.id();
    let previous = s
        .repo
        .call(move |st| st.repo().product(&id))
        .await?
        .map_err(map_repo)?;
    let created = previous.is_none();
    let product = match previous.and_then(Result::ok) {
        Some(old) => allmende_formats::publiccode::merge(old, parsed.product),
        None => parsed.product,
    };
    allmende_protocol::schema::Validate::validate(&product)
        .map_err(|e| ApiError::bad_request(format!("invalid {e}")))?;
    let stored = product.clone();
    let changed = write(s, tenant, header, move |ed| ed.put_root(&stored)).await?;
    Ok(allmende_formats::publiccode::ImportOutcome {
        id,
        created,
        changed,
        product,
        warnings: parsed.warnings,
        used_by: parsed.used_by,
    })
}

#[utoipa::path(
    post,
    path = "/api/v1/import/publiccode",
    tag = "write",
    summary = "Import a publiccode.yml (0.2–0.7) as the token organisation's product",
    description = "The same repository URL updates the same entry. Valid parts are imported with warnings naming key and line; a file that is no YAML gives 400 with the parser's message and line, and nothing is stored.",
    params(("for" = Option<OrgId>, Query, description = "With the admin token: write for this hosted member organisation")),
    request_body(content = String, content_type = "application/yaml", description = "The publiccode.yml text, at most 256 KiB"),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "A new entry", body = doc::ImportAnswer),
        (status = 200, description = "The same repository's entry, updated or unchanged", body = doc::ImportAnswer),
        (status = 400, description = "Not YAML, or no usable name", body = doc::ErrorBody),
        (status = 401, description = "No valid token", body = doc::ErrorBody), (status = 403, description = "The token may not write for this organisation, or the write is not authorised", body = doc::ErrorBody), (status = 500, description = "A storage error", body = doc::ErrorBody),
    ),
    extensions(("x-example-requests" = json!([
        { "summary": "Import a publiccode.yml", "request": "/api/v1/import/publiccode", "token": "admin",
          "body_text": "publiccodeYmlVersion: \"0.4\"\nname: Abfallkalender\nurl: https://gitlab.opencode.de/beispiel/abfallkalender\nlegal:\n  license: EUPL-1.2\n  repoOwner: Stadt Beispiel\nplatforms:\n  - web\nsoftwareType: standalone/web\ndescription:\n  de:\n    shortDescription: Abfuhrtermine als Kalender\n",
          "status": 201 },
        { "summary": "Not YAML", "request": "/api/v1/import/publiccode", "token": "admin",
          "body_text": "name: [unclosed\n", "status": 400 }
    ])))
)]
/// `POST /api/v1/import/publiccode` (body: the YAML text; `?for=` as for every write).
async fn import_publiccode_route(
    State(s): State<ApiState>,
    RawQuery(raw): RawQuery,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let tenant = require_token(&headers, raw.as_deref(), &s)?;
    let parsed = allmende_formats::publiccode::parse_bytes(&body)
        .map_err(|e| ApiError::bad_request(format!("publiccode.yml refused: {e}")))?;
    let o = import_publiccode(&s, &tenant, parsed).await?;
    let warnings: Vec<serde_json::Value> = o
        .warnings
        .iter()
        .map(|w| serde_json::json!({ "key": w.key, "line": w.line, "message": w.message }))
        .collect();
    let code = if o.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        code,
        Json(serde_json::json!({
            "id": format!("{:#}", o.id),
            "created": o.created,
            "changed": o.changed,
            "warnings": warnings,
            "used_by": o.used_by,
        })),
    ))
}

#[utoipa::path(
    get,
    path = "/api/v1/products/{id}/publiccode.yml",
    tag = "research",
    summary = "A product as publiccode.yml 0.4",
    params(("id" = String, Path, description = "The product id, 64 hex characters", example = json!(example::BAUANTRAG))),
    responses(
        (status = 200, description = "The publiccode.yml", body = String, content_type = "application/yaml; charset=utf-8"),
        (status = 400, description = "A malformed id", body = doc::ErrorBody),
        (status = 404, description = "No such product", body = doc::ErrorBody),
        (status = 500, description = "A storage error", body = doc::ErrorBody),
    ),
    extensions(("x-example-requests" = json!([
        { "summary": "Move an entry to Open CoDE", "request": format!("/api/v1/products/{}/publiccode.yml", example::BAUANTRAG), "status": 200 }
    ])))
)]
/// `GET /api/v1/products/{id}/publiccode.yml`: the product as publiccode.yml 0.4.
async fn product_publiccode(
    State(s): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let doc: DocId = id
        .parse()
        .map_err(|e| ApiError::bad_request(format!("product id: {e}")))?;
    let product = s
        .repo
        .call(move |st| st.repo().product(&doc))
        .await?
        .map_err(map_repo)?
        .and_then(Result::ok)
        .ok_or_else(|| ApiError::not_found(format!("no product {id}")))?;
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "application/yaml; charset=utf-8",
        )],
        allmende_formats::publiccode::export(&product, &doc),
    )
        .into_response())
}

#[utoipa::path(
    get,
    path = "/api/v1/tasks/catalogue",
    tag = "catalog",
    summary = "Search the OZG/LeiKa catalogue for a task",
    description = "The task picker of the forms: OZG-Leistungen and LeiKa Leistungen of the shipped catalogue (KDN OZG-Datenbank NRW, December 2019; docs/reference-data.md) whose name contains every word of `q`, OZG-Leistungen first. `task` is what a product or deployment writes into `tasks`.",
    params(
        ("q" = String, Query, description = "Words of the name (each must occur in it, also inside compounds), a 14-digit LeiKa key or `ozg:<id>`", example = "Abbruch"),
        ("limit" = Option<u32>, Query, description = "Hits, 1–100 (default 20)", minimum = 1, maximum = 100),
    ),
    responses(
        (status = 200, description = "The entries found (none is an empty list)", body = Vec<allmende_catalog::refdata::TaskHit>),
        (status = 400, description = "A missing or unknown parameter, or a limit out of range", body = doc::ErrorBody),
    ),
    extensions(("x-example-requests" = json!([
        { "summary": "Tasks about demolition permits", "request": "/api/v1/tasks/catalogue?q=Abbruch", "status": 200 },
        { "summary": "A LeiKa key by its name", "request": "/api/v1/tasks/catalogue?q=99012001000000", "status": 200 },
        { "summary": "A limit out of range", "request": "/api/v1/tasks/catalogue?q=steuer&limit=0", "status": 400 }
    ])))
)]
/// `GET /api/v1/tasks/catalogue`.
async fn task_catalogue(
    RawQuery(raw): RawQuery,
) -> Result<Json<Vec<allmende_catalog::refdata::TaskHit>>, ApiError> {
    let (mut q, mut limit) = (None, 20usize);
    for (k, v) in url::form_urlencoded::parse(raw.as_deref().unwrap_or("").as_bytes()) {
        match k.as_ref() {
            "q" => q = Some(v.into_owned()),
            "limit" => {
                limit = v
                    .parse()
                    .ok()
                    .filter(|n| (1..=allmende_catalog::refdata::MAX_TASK_HITS).contains(n))
                    .ok_or_else(|| {
                        ApiError::bad_request(format!("limit {v:?} is not a number within 1..=100"))
                    })?;
            }
            other => {
                return Err(ApiError::bad_request(format!(
                    "unknown parameter {other:?}; use q or limit"
                )));
            }
        }
    }
    let q = q.ok_or_else(|| {
        ApiError::bad_request("q is missing: words of a task name, a LeiKa key or ozg:<id>")
    })?;
    if q.chars().count() > 200 {
        return Err(ApiError::bad_request("q is longer than 200 characters"));
    }
    Ok(Json(allmende_catalog::refdata::search_tasks(&q, limit)))
}

#[utoipa::path(
    get,
    path = "/healthz",
    tag = "operations",
    summary = "Liveness",
    responses((status = 200, description = "`ok` while the process serves HTTP", body = String, content_type = "text/plain")),
    extensions(("x-example-requests" = json!([
        { "summary": "Is the process alive?", "request": "/healthz", "status": 200 }
    ])))
)]
/// Liveness: the process serves HTTP.
async fn healthz() -> &'static str {
    "ok\n"
}

#[utoipa::path(
    get,
    path = "/readyz",
    tag = "operations",
    summary = "Readiness",
    responses(
        (status = 200, description = "Store and network answer and the node listens", body = doc::Readiness),
        (status = 503, description = "Not ready; the body names what is not", body = doc::Readiness),
    ),
    extensions(("x-example-requests" = json!([
        { "summary": "Ready for traffic?", "request": "/readyz", "status": 200 }
    ])))
)]
/// Readiness: the store and the network actor answer, and the node listens for peers.
async fn readyz(State(s): State<ApiState>) -> Response {
    let store = s
        .repo
        .call(|st| allmende_store::store::Store::counts(st.repo().store()).is_ok())
        .await
        .unwrap_or(false);
    let listening = match s.net.status().await {
        Ok(n) => Some(n.listen_addrs.len()),
        Err(_) => None,
    };
    let ready = store && listening.is_some_and(|n| n > 0);
    let body = serde_json::json!({
        "ready": ready,
        "store": if store { "ok" } else { "not answering" },
        "network": match listening {
            None => "not answering".to_owned(),
            Some(0) => "no listen address yet".to_owned(),
            Some(n) => format!("listening on {n} addresses"),
        },
    });
    let code = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(body)).into_response()
}

/// `ETag` on every successful `GET` under `/api/v1/` (a hash of the body), and `304 Not
/// Modified` when the request's `If-None-Match` names it, so pollers and researchers fetch
/// large answers only when they changed.
pub async fn etag(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    use axum::http::header::{CONTENT_LENGTH, ETAG, IF_NONE_MATCH};
    let is_get =
        req.method() == axum::http::Method::GET && req.uri().path().starts_with("/api/v1/");
    let wanted = req
        .headers()
        .get(IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let resp = next.run(req).await;
    if !is_get || resp.status() != StatusCode::OK || resp.extensions().get::<Streamed>().is_some() {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return ApiError::internal("cannot read the response body").into_response();
    };
    let digest = <sha2::Sha256 as sha2::Digest>::digest(&bytes);
    let tag = format!("\"{}\"", hex::encode(&digest[..16]));
    if let Ok(v) = axum::http::HeaderValue::from_str(&tag) {
        parts.headers.insert(ETAG, v);
    }
    let matches = wanted.is_some_and(|w| {
        w.split(',')
            .map(|t| t.trim().trim_start_matches("W/"))
            .any(|t| t == tag || t == "*")
    });
    if matches {
        parts.status = StatusCode::NOT_MODIFIED;
        parts.headers.remove(CONTENT_LENGTH);
        return Response::from_parts(parts, axum::body::Body::empty());
    }
    Response::from_parts(parts, axum::body::Body::from(bytes))
}

/// Records every request's latency by method, route template and status.
pub async fn track(
    State(m): State<Arc<crate::metrics::HttpMetrics>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let start = std::time::Instant::now();
    let method = req.method().as_str().to_owned();
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".into());
    let resp = next.run(req).await;
    m.observe(
        &method,
        &route,
        resp.status().as_u16(),
        start.elapsed().as_secs_f64(),
    );
    resp
}

/// Longest accepted query string.
const MAX_QUERY_BYTES: usize = 4096;

fn parse_search(raw: Option<&str>) -> Result<SearchQuery, ApiError> {
    let raw = raw.unwrap_or_default();
    if raw.len() > MAX_QUERY_BYTES {
        return Err(ApiError::bad_request(format!(
            "query string longer than {MAX_QUERY_BYTES} bytes"
        )));
    }
    let mut q = SearchQuery {
        limit: 20,
        ..SearchQuery::default()
    };
    for (k, v) in url::form_urlencoded::parse(raw.as_bytes()) {
        match k.as_ref() {
            "q" => q.q = Some(v.into_owned()),
            "limit" => {
                q.limit = v
                    .parse()
                    .map_err(|_| ApiError::bad_request(format!("limit {v:?} is not a number")))?;
                if q.limit == 0 || q.limit > query::MAX_LIMIT {
                    return Err(ApiError::bad_request(format!(
                        "limit must be 1–{}",
                        query::MAX_LIMIT
                    )));
                }
            }
            "offset" => {
                q.offset = v
                    .parse()
                    .map_err(|_| ApiError::bad_request(format!("offset {v:?} is not a number")))?
            }
            "after" => q.after = Some(v.into_owned()),
            "unverified" => {
                q.unverified = match v.as_ref() {
                    "true" => true,
                    "false" => false,
                    _ => {
                        return Err(ApiError::bad_request(format!(
                            "unverified {v:?}: true or false"
                        )));
                    }
                }
            }
            "land" => q.land = Some(v.into_owned()),
            "kreis" => q.kreis = Some(v.into_owned()),
            facet if query::PRODUCT_FACETS.contains(&facet) => {
                q.facets.push((facet.to_owned(), v.into_owned()))
            }
            other => {
                return Err(ApiError::bad_request(format!(
                    "unknown parameter {other:?}; use q, limit, after, offset, unverified, land, kreis or a facet: {}",
                    query::PRODUCT_FACETS.join(", ")
                )));
            }
        }
    }
    Ok(q)
}

/// `GET /api/v1/products`.
#[utoipa::path(
    get,
    path = "/api/v1/products",
    tag = "catalog",
    summary = "Product search: German full text, facets, region, cursor paging",
    description = "Several values of one facet mean OR, different facets mean AND. Filter values compare exactly (use the values `facets` returns). Order: with `q` by relevance (bm25, raised by up to half for entries with many deployments in production or pilot), then name, then id; without `q` by name, then id. On a node that follows trust anchors, entries with neither a verified steward nor a deployment, rating or report by a verified organisation (or by the node's own or hosted organisations) are left out and counted in `hidden_unverified` (`unverified=true` lists them). `total` and `facets` count all matches listed. Paging: `limit` and the cursor from the `Link` header (or `next`); a ranked cursor (with `q`) is refused with 409 once the products changed, because relevance scores are relative to the whole catalog (api.md §4).",
    params(
        ("q" = Option<String>, Query, description = "Free text, German-aware: umlauts, ß, light stemming, every word a prefix, all words must match (api.md §5)", example = "Bauantrag"),
        ("kind" = Option<Vec<allmende_protocol::schema::ProductKind>>, Query, explode, description = "Facet: kind of product"),
        ("task" = Option<Vec<String>>, Query, explode, description = "Facet: a task as stored (14-digit LeiKa key, ozg:… id or text)", example = json!(["99009001001000"])),
        ("themenfeld" = Option<Vec<String>>, Query, explode, description = "Facet: slug of an OZG Themenfeld, e.g. bauen-wohnen", example = json!(["bauen-wohnen"])),
        ("category" = Option<Vec<String>>, Query, explode, description = "Facet: a category as stored"),
        ("standard" = Option<Vec<String>>, Query, explode, description = "Facet: a standard under its canonical name (XMeld, XBau, FIT-Connect, …)", example = json!(["XBau"])),
        ("licence" = Option<Vec<String>>, Query, explode, description = "Facet: the SPDX expression as stored", example = json!(["EUPL-1.2"])),
        ("open_source" = Option<Vec<String>>, Query, explode, description = "Facet: `yes` or `no` (products without licence have neither)"),
        ("hosting" = Option<Vec<allmende_protocol::schema::HostingModel>>, Query, explode, description = "Facet: hosting model offered"),
        ("efa" = Option<Vec<String>>, Query, explode, description = "Facet: `yes` for products with EfA data"),
        ("efa_land" = Option<Vec<String>>, Query, explode, description = "Facet: two-digit key of the Land providing the EfA service", example = json!(["05"])),
        ("land" = Option<String>, Query, description = "Products with a deployment (any status) by an organisation in this Land (two-digit key)", example = "05"),
        ("kreis" = Option<String>, Query, description = "Likewise for a Kreis (first five digits of the AGS)", example = "05315"),
        ("limit" = Option<u32>, Query, description = "Page size 1–200, default 20", minimum = 1, maximum = 200),
        ("after" = Option<String>, Query, description = "The cursor of the previous page (from the Link header or `next`); do not build it"),
        ("offset" = Option<u32>, Query, description = "Matches to skip instead of a cursor (pages can repeat or skip entries when the catalog changes); not together with `after`"),
        ("unverified" = Option<bool>, Query, description = "`true` to list entries without verified steward or evidence too"),
    ),
    responses(
        (status = 200, description = "The matches", body = query::SearchResult,
            headers(("Link" = String, description = "The next page, RFC 8288 (absent on the last page)"))),
        (status = 400, description = "A malformed or unknown parameter, an unknown facet, or a bad cursor", body = doc::ErrorBody),
        (status = 409, description = "A ranked search's cursor after the products changed: start again", body = doc::ErrorBody),
        (status = 500, description = "A storage error", body = doc::ErrorBody), (status = 503, description = "The node is shutting down", body = doc::ErrorBody),
    ),
    extensions(("x-example-requests" = json!([
        { "summary": "Products for building permits (German text)", "request": "/api/v1/products?q=Bauantr%C3%A4ge", "status": 200 },
        { "summary": "Open-source products that speak XBau, with facet counts", "request": "/api/v1/products?standard=XBau&open_source=yes", "status": 200 },
        { "summary": "Themenfeld Bauen & Wohnen, offered as SaaS or in the cloud", "request": "/api/v1/products?themenfeld=bauen-wohnen&hosting=saas&hosting=cloud", "status": 200 },
        { "summary": "EfA services provided by Nordrhein-Westfalen", "request": "/api/v1/products?efa=yes&efa_land=05", "status": 200 },
        { "summary": "What organisations in NRW use for the building-permit task (LeiKa)", "request": "/api/v1/products?land=05&task=99009001001000", "status": 200 },
        { "summary": "Deployed in the Kreis 05315 (Köln), 50 per page", "request": "/api/v1/products?kreis=05315&limit=50", "status": 200 },
        { "summary": "The page after Bauantrag Online, with the cursor from a Link header", "request": format!("/api/v1/products?limit=1&after={}", example::name_cursor("Bauantrag Online", example::BAUANTRAG)), "status": 200 },
        { "summary": "Also the entries nobody verified looks after or uses", "request": "/api/v1/products?q=Meldewesen&unverified=true", "status": 200 },
        { "summary": "An unknown facet", "request": "/api/v1/products?colour=red", "status": 400 }
    ])))
)]
async fn products(
    State(s): State<ApiState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let mut q = parse_search(raw.as_deref())?;
    q.anchors = s.anchors.to_vec();
    q.own = s.tenants.current().iter().map(|t| t.org).collect();
    let result = s
        .repo
        .call(move |st| query::search(st.repo().store().connection(), &q))
        .await??;
    let link = result
        .next
        .as_deref()
        .and_then(|c| next_link("/api/v1/products", raw.as_deref(), c));
    let mut resp = Json(result).into_response();
    if let Some(link) = link {
        resp.headers_mut().insert(axum::http::header::LINK, link);
    }
    Ok(resp)
}

/// A product with what the network knows about it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProductPage {
    /// Id.
    pub id: String,
    /// The entry.
    #[schema(value_type = allmende_protocol::schema::Product)]
    pub product: serde_json::Value,
    /// Who created the entry.
    pub created_by: String,
    /// Deployments (organisation, record).
    #[schema(value_type = Vec<doc::DeploymentOfProduct>)]
    pub deployments: Vec<serde_json::Value>,
    /// Ratings (organisation, record).
    #[schema(value_type = Vec<doc::RatingOfProduct>)]
    pub ratings: Vec<serde_json::Value>,
    /// Nachnutzung reports.
    #[schema(value_type = Vec<doc::ReuseReportOfProduct>)]
    pub reuse_reports: Vec<serde_json::Value>,
    /// Mean score per dimension over all ratings.
    pub rating_means: BTreeMap<String, f64>,
    /// The canonical entry when this one was merged into another ("same as").
    pub merged_into: Option<String>,
    /// Integrations reported by deployments, in either direction, with evidence counts.
    #[schema(value_type = Vec<doc::IntegrationCount>)]
    pub integrations: Vec<serde_json::Value>,
}

/// `GET /api/v1/products/{id}`.
#[utoipa::path(
    get,
    path = "/api/v1/products/{id}",
    tag = "catalog",
    summary = "One product with its deployments, ratings, reports and integrations",
    description = "Lists every record about this entry from every organisation, verified or not (records of entries merged into it are on their own pages). `rating_means` includes unverified and vendor ratings; use /api/v1/stats/ratings for the trust-filtered means.",
    params(("id" = String, Path, description = "The product id, all 64 hex characters", example = json!(example::BAUANTRAG))),
    responses(
        (status = 200, description = "The product page", body = ProductPage),
        (status = 400, description = "A malformed id", body = doc::ErrorBody),
        (status = 404, description = "No such product", body = doc::ErrorBody),
        (status = 500, description = "A storage error", body = doc::ErrorBody), (status = 503, description = "The node is shutting down", body = doc::ErrorBody),
    ),
    extensions(("x-example-requests" = json!([
        { "summary": "Everything known about one product", "request": format!("/api/v1/products/{}", example::BAUANTRAG), "status": 200 },
        { "summary": "An unknown product", "request": format!("/api/v1/products/{}", "e".repeat(64)), "status": 404 }
    ])))
)]
async fn product(
    State(s): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Json<ProductPage>, ApiError> {
    let doc: DocId = id
        .parse()
        .map_err(|e| ApiError::bad_request(format!("product id: {e}")))?;
    let page = s
        .repo
        .call(move |st| product_page(st.repo().store().connection(), doc, None))
        .await??;
    page.map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no product {id}")))
}

/// `GET /api/v1/products/{id}/stewardship`.
#[utoipa::path(
    get,
    path = "/api/v1/products/{id}/stewardship",
    tag = "catalog",
    summary = "Who looks after a product entry, where each shown value came from, its proposals and history",
    description = "What a node shows of a product is what its stewards set (docs/protocol.md §22): the creator, the co-stewards it names, and organisations a followed trust anchor made steward. Changes by anyone else are proposals, listed newest first with the value shown now beside the proposed one. Proposals by organisations no followed anchor attests are counted in `hidden_unverified` and listed only with `unverified=true`.",
    params(
        ("id" = String, Path, description = "The product id, all 64 hex characters", example = json!(example::BAUANTRAG)),
        ("unverified" = Option<bool>, Query, description = "`true` to list proposals by unverified authors too"),
    ),
    responses(
        (status = 200, description = "The stewardship", body = allmende_catalog::stewardship::StewardshipView),
        (status = 400, description = "A malformed id or an unknown parameter", body = doc::ErrorBody),
        (status = 404, description = "No such product", body = doc::ErrorBody),
        (status = 500, description = "A storage error", body = doc::ErrorBody), (status = 503, description = "The node is shutting down", body = doc::ErrorBody),
    ),
    extensions(("x-example-requests" = json!([
        { "summary": "Stewards, provenance, proposals and history of one product", "request": format!("/api/v1/products/{}/stewardship", example::BAUANTRAG), "status": 200 },
        { "summary": "With the proposals of unverified authors", "request": format!("/api/v1/products/{}/stewardship?unverified=true", example::BAUANTRAG), "status": 200 },
        { "summary": "An unknown product", "request": format!("/api/v1/products/{}/stewardship", "e".repeat(64)), "status": 404 }
    ])))
)]
async fn product_stewardship(
    State(s): State<ApiState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<allmende_catalog::stewardship::StewardshipView>, ApiError> {
    let doc: DocId = id
        .parse()
        .map_err(|e| ApiError::bad_request(format!("product id: {e}")))?;
    let mut unverified = false;
    for (k, v) in url::form_urlencoded::parse(raw.as_deref().unwrap_or("").as_bytes()) {
        match (k.as_ref(), v.as_ref()) {
            ("unverified", "true") => unverified = true,
            ("unverified", "false") => unverified = false,
            (other, _) => {
                return Err(ApiError::bad_request(format!(
                    "unknown parameter {other:?}={v:?}; only unverified=true|false"
                )));
            }
        }
    }
    let view = stewardship_view(&s, doc, unverified).await?;
    view.map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no product {id}")))
}

/// The stewardship view of `doc`, built on the repository thread.
pub async fn stewardship_view(
    s: &ApiState,
    doc: DocId,
    unverified: bool,
) -> Result<Option<allmende_catalog::stewardship::StewardshipView>, ApiError> {
    let anchors = s.anchors.clone();
    s.repo
        .call(move |st| -> Result<_, ApiError> {
            let Some(resolution) = st.repo().stewardship(&doc).map_err(map_repo)? else {
                return Ok(None);
            };
            let conn = st.repo().store().connection();
            Ok(Some(allmende_catalog::stewardship::view(
                conn,
                doc,
                &resolution,
                &anchors,
                unverified,
            )?))
        })
        .await?
}

/// `POST /api/v1/products/{id}/proposals/{proposal}/{decision}`.
#[utoipa::path(
    post,
    path = "/api/v1/products/{id}/proposals/{proposal}/{decision}",
    tag = "write",
    summary = "Accept or decline a proposal to a product entry, as one of its stewards",
    description = "Only an organisation that is a steward of the entry decides (403 otherwise). Accepting writes the proposed values that still differ from the shown ones together with the decision, signed by the token organisation's key; declining writes only the decision. Every node that follows the same anchors then shows the same entry. No request body.",
    params(
        ("id" = String, Path, description = "The product id, all 64 hex characters", example = json!(example::BAUANTRAG)),
        ("proposal" = String, Path, description = "The proposal's id (the hash of its change, 64 hex), from /stewardship"),
        ("decision" = String, Path, description = "`accept` or `decline`"),
        ("for" = Option<OrgId>, Query, description = "With the admin token: decide for this hosted member organisation"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Decided; the change's hash", body = Object),
        (status = 400, description = "A malformed id or decision", body = doc::ErrorBody),
        (status = 401, description = "No valid token", body = doc::ErrorBody),
        (status = 403, description = "The token's organisation is no steward of the entry", body = doc::ErrorBody),
        (status = 404, description = "No such product or proposal", body = doc::ErrorBody),
        (status = 409, description = "Decided already", body = doc::ErrorBody),
        (status = 500, description = "A storage error", body = doc::ErrorBody), (status = 503, description = "The node is shutting down", body = doc::ErrorBody),
    ),
    extensions(("x-example-requests" = json!([
        { "summary": "Only a steward decides", "request": format!("/api/v1/products/{}/proposals/{}/accept", example::BAUANTRAG, "e".repeat(64)), "token": "admin", "status": 403 },
        { "summary": "Neither accept nor decline", "request": format!("/api/v1/products/{}/proposals/{}/maybe", example::BAUANTRAG, "e".repeat(64)), "token": "admin", "status": 400 },
        { "summary": "Without the token", "request": format!("/api/v1/products/{}/proposals/{}/decline", example::BAUANTRAG, "e".repeat(64)), "status": 401 }
    ])))
)]
async fn decide_proposal(
    State(s): State<ApiState>,
    Path((id, proposal, decision)): Path<(String, String, String)>,
    RawQuery(raw): RawQuery,
    headers: axum::http::HeaderMap,
) -> Result<Json<serde_json::Value>, ApiError> {
    let doc: DocId = id
        .parse()
        .map_err(|e| ApiError::bad_request(format!("product id: {e}")))?;
    let decision = match decision.as_str() {
        "accept" => allmende_protocol::stewardship::Decision::Accepted,
        "decline" => allmende_protocol::stewardship::Decision::Declined,
        other => {
            return Err(ApiError::bad_request(format!(
                "decision {other:?}: accept or decline"
            )));
        }
    };
    if proposal.len() != 64 || !proposal.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError::bad_request(
            "proposal: the 64 hex characters of its change hash",
        ));
    }
    for (k, _) in url::form_urlencoded::parse(raw.as_deref().unwrap_or("").as_bytes()) {
        if k != "for" {
            return Err(ApiError::bad_request(format!(
                "unknown parameter {k:?}; only for=ORG_ID"
            )));
        }
    }
    let tenant = require_token(&headers, raw.as_deref(), &s)?;
    let change = decide(&s, &tenant, doc, proposal.to_lowercase(), decision).await?;
    Ok(Json(serde_json::json!({
        "decision": match decision {
            allmende_protocol::stewardship::Decision::Accepted => "accepted",
            allmende_protocol::stewardship::Decision::Declined => "declined",
        },
        "change": change,
    })))
}

/// Decides a proposal as `tenant` on the repository thread; returns the change's hash (hex).
pub async fn decide(
    s: &ApiState,
    tenant: &Tenant,
    doc: DocId,
    proposal: String,
    decision: allmende_protocol::stewardship::Decision,
) -> Result<String, ApiError> {
    let signer = tenant.keypair.clone();
    let now = allmende_store::now();
    let hash = s
        .repo
        .call(move |st| st.decide(&signer, doc, &proposal, decision, now))
        .await?
        .map_err(map_repo)?;
    Ok(hex::encode(hash.0))
}

/// One product with its records, ordered by organisation and key. `window` (limit, offset)
/// cuts each list of records (deployments, ratings, reports) to one page in document order,
/// for the web UI, and then leaves the integrations and rating means empty: the UI reads those
/// through [`product_aggregates`], kept per product.
pub fn product_page(
    conn: &rusqlite::Connection,
    doc: DocId,
    window: Option<(u32, u32)>,
) -> Result<Option<ProductPage>, QueryError> {
    let id = doc.as_bytes().as_slice();
    let row = conn.query_row(
        "SELECT json, created_by FROM idx_product WHERE doc = ?1",
        [id],
        |r| Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?)),
    );
    let (json, created_by) = match row {
        Ok(r) => r,
        Err(rusqlite::Error::QueryReturnedNoRows) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let records = |sql: &str| -> Result<Vec<serde_json::Value>, QueryError> {
        let (limit, offset) = window.map_or((-1, 0), |(l, o)| (i64::from(l), i64::from(o)));
        // A page walks the product index in its own order (document, key) and reads only the
        // rows it skips and shows; ordering by organisation sorted every record first (80 ms
        // for a page of the most used product at full scale, against 20 ms).
        let order = if window.is_some() {
            "doc, key"
        } else {
            "org, key"
        };
        let mut stmt = conn.prepare(&format!("{sql} ORDER BY {order} LIMIT ?2 OFFSET ?3"))?;
        let rows = stmt.query_map(rusqlite::params![id, limit, offset], |r| {
            Ok((
                r.get::<_, Vec<u8>>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?;
        let mut out = Vec::new();
        for r in rows {
            let (org, key, json) = r?;
            let record: serde_json::Value =
                serde_json::from_str(&json).unwrap_or(serde_json::Value::Null);
            out.push(serde_json::json!({ "org": hex::encode(org), "key": key, "record": record }));
        }
        Ok(out)
    };
    query::prepare_canon(conn)?;
    let canonical: Vec<u8> =
        conn.query_row("SELECT canonical FROM canon WHERE doc = ?1", [id], |r| {
            r.get(0)
        })?;
    let merged_into = (canonical.as_slice() != id).then(|| hex::encode(&canonical));
    let (integrations, rating_means) = match window {
        None => product_aggregates(conn, doc)?,
        Some(_) => (Vec::new(), BTreeMap::new()),
    };
    Ok(Some(ProductPage {
        id: format!("{doc:#}"),
        product: serde_json::from_str(&json).unwrap_or(serde_json::Value::Null),
        created_by: hex::encode(created_by),
        deployments: records("SELECT org, key, json FROM idx_deployment WHERE product = ?1")?,
        ratings: records("SELECT org, key, json FROM idx_rating WHERE product = ?1")?,
        reuse_reports: records("SELECT org, key, json FROM idx_reuse WHERE product = ?1")?,
        rating_means,
        merged_into,
        integrations,
    }))
}

/// What a product page shows over every record of the product: its integrations in either
/// direction with evidence counts, and the mean score per rating dimension. At full scale, for
/// the most used product, this reads some 22,000 integration and 50,000 score rows; the web
/// UI keeps the result per product in the aggregate cache.
pub fn product_aggregates(
    conn: &rusqlite::Connection,
    doc: DocId,
) -> Result<(Vec<serde_json::Value>, BTreeMap<String, f64>), QueryError> {
    let id = doc.as_bytes().as_slice();
    // Reported by this product's deployments (found through them, by primary key) and by
    // other products' deployments pointing here (index on `other`); counted per (product,
    // other, standard) here rather than with GROUP BY, which sorted some 20,000 rows for the
    // most used product at full scale.
    let mut stmt = conn.prepare(
        "SELECT i.product, i.other, i.standard, i.status
           FROM idx_deployment d CROSS JOIN idx_integration i ON i.doc = d.doc AND i.key = d.key
          WHERE d.product = ?1 AND i.product = ?1
         UNION ALL
         SELECT product, other, standard, status FROM idx_integration WHERE other = ?1",
    )?;
    let mut counts: BTreeMap<(Vec<u8>, Vec<u8>, String), [i64; 3]> = BTreeMap::new();
    let mut rows = stmt.query([id])?;
    while let Some(r) = rows.next()? {
        let key = (r.get(0)?, r.get(1)?, r.get(2)?);
        let n = counts.entry(key).or_default();
        match r.get_ref(3)?.as_str().unwrap_or("") {
            "works" => n[0] += 1,
            "partly" => n[1] += 1,
            "fails" => n[2] += 1,
            _ => {}
        }
    }
    let integrations: Vec<serde_json::Value> = counts
        .into_iter()
        .map(|((product, other, standard), [works, partly, fails])| {
            serde_json::json!({
                "product": hex::encode(product),
                "other": hex::encode(other),
                "standard": standard,
                "works": works,
                "partly": partly,
                "fails": fails,
            })
        })
        .collect();
    let mut rating_means = BTreeMap::new();
    let mut stmt = conn.prepare(
        "SELECT dimension, avg(score) FROM idx_rating_score WHERE product = ?1 GROUP BY dimension",
    )?;
    for r in stmt.query_map([id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, f64>(1)?)))? {
        let (d, m) = r?;
        rating_means.insert(d, m);
    }
    Ok((integrations, rating_means))
}

/// One organisation of `GET /api/v1/organizations`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OrgItem {
    /// The organisation id.
    pub id: String,
    /// Attested by a trust anchor this node follows.
    pub verified: bool,
    /// Its profile.
    #[schema(value_type = allmende_protocol::schema::OrgProfile)]
    pub profile: serde_json::Value,
}

/// `GET /api/v1/organizations`.
#[utoipa::path(
    get,
    path = "/api/v1/organizations",
    tag = "catalog",
    summary = "Organisations with a profile, by name, a page at a time",
    description = "Ordered by name, then id. When more follow, the answer carries `Link: </api/v1/organizations?…&after=CURSOR>; rel=\"next\"` with the same filters; follow it until an answer has none.",
    params(
        ("kind" = Option<allmende_protocol::schema::OrgKind>, Query, description = "Only this kind of body"),
        ("land" = Option<String>, Query, description = "Only organisations in this Land (two-digit key)", example = "05"),
        ("kreis" = Option<String>, Query, description = "Only organisations in this Kreis (five digits)", example = "05315"),
        ("verified" = Option<bool>, Query, description = "Only organisations a followed trust anchor attested (`true`) or did not (`false`)"),
        ("limit" = Option<u32>, Query, description = "Organisations per page, 1–10,000 (default 1,000)", minimum = 1, maximum = 10000),
        ("after" = Option<String>, Query, description = "The cursor from the previous page's Link header"),
    ),
    responses(
        (status = 200, description = "One page", body = Vec<OrgItem>,
            headers(("Link" = String, description = "The next page, RFC 8288 (absent on the last page)"))),
        (status = 400, description = "A malformed or unknown parameter", body = doc::ErrorBody), (status = 500, description = "A storage error", body = doc::ErrorBody), (status = 503, description = "The node is shutting down", body = doc::ErrorBody),
    ),
    extensions(("x-example-requests" = json!([
        { "summary": "Kommunen in Nordrhein-Westfalen", "request": "/api/v1/organizations?land=05&kind=kommune", "status": 200 },
        { "summary": "Attested organisations, two per page", "request": "/api/v1/organizations?verified=true&limit=2", "status": 200 },
        { "summary": "A cursor not from a Link header", "request": "/api/v1/organizations?after=xyz", "status": 400 }
    ])))
)]
async fn organizations(
    State(s): State<ApiState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    use allmende_protocol::schema::OrgKind;
    let (mut kind, mut land, mut kreis, mut verified) = (None, None, None, None);
    let paging = parse_paging(raw.as_deref(), 2, "kind, land, kreis, verified", |k, v| {
        match k {
            "kind" => {
                let k: OrgKind = v
                    .parse()
                    .map_err(|e| ApiError::bad_request(format!("invalid {e}")))?;
                kind = Some(k.slug().to_owned());
            }
            "land" => land = Some(v),
            "kreis" => kreis = Some(v),
            "verified" => {
                verified = Some(match v.as_str() {
                    "true" => true,
                    "false" => false,
                    _ => {
                        return Err(ApiError::bad_request(format!(
                            "verified must be true or false, not {v:?}"
                        )));
                    }
                })
            }
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    let (after_name, after_org) = match &paging.after {
        Some(f) => (
            Some(String::from_utf8(f[0].clone()).map_err(|_| bad_cursor())?),
            Some(f[1].clone()),
        ),
        None => (None, None),
    };
    let limit = paging.limit;
    let anchors = s.anchors.clone();
    let (orgs, last) = s
        .repo
        .call(move |st| -> Result<(Vec<OrgItem>, Option<String>), QueryError> {
            let conn = st.repo().store().connection();
            let verified_set = query::verified_orgs(conn, &anchors)?;
            // The anchors are few and come from the configuration; as hex literals they keep
            // the verified filter inside the paged query.
            let attested = if anchors.is_empty() {
                "0".to_owned()
            } else {
                format!(
                    "org IN (SELECT org FROM idx_attestation WHERE anchor IN ({}))",
                    anchors
                        .iter()
                        .map(|a| format!("X'{}'", hex::encode(a.as_bytes())))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            let mut stmt = conn.prepare(&format!(
                "SELECT org, name, json FROM idx_org
                 WHERE (?1 IS NULL OR kind = ?1) AND (?2 IS NULL OR land = ?2) AND (?3 IS NULL OR kreis = ?3)
                   AND (?4 IS NULL OR ({attested}) = ?4)
                   AND (?5 IS NULL OR (name, org) > (?5, ?6))
                 ORDER BY name, org LIMIT ?7"
            ))?;
            let rows = stmt.query_map(
                rusqlite::params![kind, land, kreis, verified, after_name, after_org, i64::from(limit) + 1],
                |r| Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?)),
            )?;
            let mut out = Vec::new();
            let mut last = None;
            for r in rows {
                let (org, name, json) = r?;
                // A (limit + 1)-th row means another page follows.
                if out.len() == limit as usize {
                    return Ok((out, last));
                }
                last = Some(query::cursor::encode(&[name.as_bytes(), &org]));
                let is_verified = verified_set
                    .iter()
                    .any(|v| v.as_bytes().as_slice() == org.as_slice());
                out.push(OrgItem {
                    id: hex::encode(&org),
                    verified: is_verified,
                    profile: serde_json::from_str(&json).unwrap_or(serde_json::Value::Null),
                });
            }
            Ok((out, None))
        })
        .await??;
    let mut resp = Json(orgs).into_response();
    if let Some(link) = last.and_then(|c| next_link("/api/v1/organizations", raw.as_deref(), &c)) {
        resp.headers_mut().insert(axum::http::header::LINK, link);
    }
    Ok(resp)
}

/// The aggregates, by name.
const STATS: &[(&str, &str)] = &[
    (
        "usage",
        "who uses which product (pilot or production), per Land",
    ),
    (
        "ratings",
        "rating means and counts per dimension; vendor self-ratings excluded",
    ),
    (
        "interop",
        "product × product × standard with evidence from deployments",
    ),
    (
        "duplicates",
        "tasks served by several open-source or EfA products",
    ),
    ("costs", "yearly cost per inhabitant"),
    (
        "coverage",
        "tasks with a deployed product per Land (by=land) or Kreis (by=kreis), with the Gemeinden and population that have published",
    ),
    (
        "ozg",
        "OZG-Leistungen with a product in production, and where",
    ),
];

/// `GET /api/v1/stats`.
#[utoipa::path(
    get,
    path = "/api/v1/stats",
    tag = "statistics",
    summary = "The list of aggregates",
    responses((status = 200, description = "Names, links and descriptions", body = doc::StatsIndex)),
    extensions(("x-example-requests" = json!([
        { "summary": "Which aggregates are there?", "request": "/api/v1/stats", "status": 200 }
    ])))
)]
async fn stats_index() -> Json<serde_json::Value> {
    let list: Vec<serde_json::Value> = STATS
        .iter()
        .map(|(name, what)| serde_json::json!({ "name": name, "href": format!("/api/v1/stats/{name}"), "description": what }))
        .collect();
    Json(serde_json::json!({
        "stats": list,
        "parameters": { "include_unverified": "true to count organisations no trust anchor attested" }
    }))
}

/// `GET /api/v1/stats/{name}`.
#[utoipa::path(
    get,
    path = "/api/v1/stats/{name}",
    tag = "statistics",
    summary = "One aggregate",
    description = "By default every aggregate counts organisations that a trust anchor this node follows attested (`--trust-anchor`); vendor self-ratings never count; `duplicates` ignores the trust scope. Shapes and rules: api.md §10.",
    params(
        ("name" = String, Path, description = "usage, ratings, interop, duplicates, costs, coverage or ozg", example = "usage"),
        ("include_unverified" = Option<bool>, Query, description = "`true` to count every organisation, not only attested ones"),
        ("by" = Option<String>, Query, description = "Only for coverage: `land` (default) or `kreis`", example = "kreis"),
        ("limit" = Option<usize>, Query, description = "Only for interop: the best-evidenced rows to return, 1,000 by default, at most 10,000", example = 100),
    ),
    responses(
        (status = 200, description = "The aggregate; its shape depends on the name", body = doc::StatsAnswer),
        (status = 400, description = "A malformed or unknown parameter", body = doc::ErrorBody),
        (status = 404, description = "No such statistic", body = doc::ErrorBody),
        (status = 500, description = "A storage error", body = doc::ErrorBody), (status = 503, description = "The node is shutting down", body = doc::ErrorBody),
    ),
    extensions(("x-example-requests" = json!([
        { "summary": "Who uses what, counting attested organisations", "request": "/api/v1/stats/usage", "status": 200 },
        { "summary": "The same, counting every organisation", "request": "/api/v1/stats/usage?include_unverified=true", "status": 200 },
        { "summary": "Rating means without vendor self-ratings", "request": "/api/v1/stats/ratings", "status": 200 },
        { "summary": "Which standards work between which products", "request": "/api/v1/stats/interop", "status": 200 },
        { "summary": "The 100 best-evidenced interoperability rows", "request": "/api/v1/stats/interop?limit=100", "status": 200 },
        { "summary": "Too many interoperability rows at once", "request": "/api/v1/stats/interop?limit=1000000", "status": 400 },
        { "summary": "Yearly cost per inhabitant", "request": "/api/v1/stats/costs", "status": 200 },
        { "summary": "Tasks covered per Kreis", "request": "/api/v1/stats/coverage?by=kreis", "status": 200 },
        { "summary": "OZG-Leistungen with a product in production, and where", "request": "/api/v1/stats/ozg", "status": 200 },
        { "summary": "Tasks served by several open-source or EfA products", "request": "/api/v1/stats/duplicates", "status": 200 },
        { "summary": "An unknown statistic", "request": "/api/v1/stats/popularity", "status": 404 }
    ])))
)]
async fn stats(
    State(s): State<ApiState>,
    Path(name): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<serde_json::Value>, ApiError> {
    if !STATS.iter().any(|(n, _)| *n == name) {
        return Err(ApiError::not_found(format!(
            "no statistic {name:?}; available: {}",
            STATS.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
        )));
    }
    let raw = raw.unwrap_or_default();
    if raw.len() > MAX_QUERY_BYTES {
        return Err(ApiError::bad_request(format!(
            "query string longer than {MAX_QUERY_BYTES} bytes"
        )));
    }
    let mut scope = allmende_catalog::stats::Scope {
        anchors: s.anchors.to_vec(),
        include_unverified: false,
    };
    let mut by = "land".to_owned();
    let mut limit = allmende_catalog::stats::INTEROP_LIMIT.0;
    for (k, v) in url::form_urlencoded::parse(raw.as_bytes()) {
        match (k.as_ref(), v.as_ref()) {
            ("include_unverified", "true") => scope.include_unverified = true,
            ("include_unverified", "false") => scope.include_unverified = false,
            ("include_unverified", other) => {
                return Err(ApiError::bad_request(format!(
                    "include_unverified must be true or false, not {other:?}"
                )));
            }
            ("by", v) if name == "coverage" => by = v.to_owned(),
            ("limit", v) if name == "interop" => {
                limit = match v.parse::<usize>() {
                    Ok(n) if (1..=allmende_catalog::stats::INTEROP_LIMIT.1).contains(&n) => n,
                    _ => {
                        return Err(ApiError::bad_request(format!(
                            "limit must be a number from 1 to {}, not {v:?}",
                            allmende_catalog::stats::INTEROP_LIMIT.1
                        )));
                    }
                }
            }
            (other, _) => {
                return Err(ApiError::bad_request(format!(
                    "unknown parameter {other:?} for stats/{name}"
                )));
            }
        }
    }
    let key = format!("api {name} {} {by} {limit}", scope.include_unverified);
    let value = crate::aggregates::cached(&s.repo, &s.aggregates, key, move |conn| {
        use allmende_catalog::stats;
        let to = |v: Result<serde_json::Value, serde_json::Error>| {
            v.map_err(|e| QueryError::Invalid(e.to_string()))
        };
        match name.as_str() {
            "usage" => to(serde_json::to_value(stats::usage(conn, &scope)?)),
            "ratings" => to(serde_json::to_value(stats::ratings(conn, &scope)?)),
            "interop" => to(serde_json::to_value(stats::interop(conn, &scope, limit)?)),
            "duplicates" => to(serde_json::to_value(stats::duplicates(conn)?)),
            "costs" => to(serde_json::to_value(stats::costs(conn, &scope)?)),
            "ozg" => to(serde_json::to_value(stats::ozg(conn, &scope)?)),
            _ => to(serde_json::to_value(stats::coverage(conn, &scope, &by)?)),
        }
    })
    .await??;
    Ok(Json(value.as_ref().clone()))
}

/// Largest request body.
const MAX_BODY_BYTES: usize = 256 * 1024;

/// The index of the tenant whose token is `given`, compared in constant time.
pub fn tenant_index(tenants: &[Tenant], given: &[u8]) -> Option<usize> {
    let same = |want: &[u8]| {
        given.len() == want.len()
            && given
                .iter()
                .zip(want)
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    };
    tenants.iter().position(|t| same(t.token.as_bytes()))
}

/// Finds the tenant whose token the request carries, and the organisation it writes for:
/// its own, or with `?for=ORG_ID` a member's when the token is the node's admin token. A
/// member's token asking to write for anyone else gets 403.
pub(crate) fn require_token(
    headers: &axum::http::HeaderMap,
    raw_query: Option<&str>,
    s: &ApiState,
) -> Result<Tenant, ApiError> {
    let given = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("")
        .as_bytes();
    let tenants = s.tenants.current();
    let tenant = tenant_index(&tenants, given)
        .map(|i| tenants[i].clone())
        .ok_or_else(ApiError::unauthorised)?;
    let wanted = url::form_urlencoded::parse(raw_query.unwrap_or("").as_bytes())
        .find(|(k, _)| k == "for")
        .map(|(_, v)| v.into_owned());
    let Some(wanted) = wanted else {
        return Ok(tenant);
    };
    let org: OrgId = wanted
        .parse()
        .map_err(|e| ApiError::bad_request(format!("for: {e}")))?;
    if org == tenant.org {
        return Ok(tenant);
    }
    let is_admin = s.organisation == Some(tenant.org);
    if !is_admin {
        return Err(ApiError::forbidden(format!(
            "this token publishes for {:#} only",
            tenant.org
        )));
    }
    tenants
        .iter()
        .find(|t| t.org == org)
        .cloned()
        .ok_or_else(|| {
            ApiError::forbidden(format!(
                "{org:#} is not a member organisation hosted by this node"
            ))
        })
}

pub(crate) fn parse_body<T: serde::de::DeserializeOwned + allmende_protocol::schema::Validate>(
    body: &[u8],
) -> Result<T, ApiError> {
    let v: T = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))?;
    v.validate()
        .map_err(|e| ApiError::bad_request(format!("invalid {e}")))?;
    Ok(v)
}

/// The API error for a repository error: 400 for invalid content, 403 for a refused
/// signature or a non-steward, 404 and 409 for proposals, 500 otherwise.
pub fn map_repo(e: allmende_store::repo::RepoError) -> ApiError {
    use allmende_store::repo::RepoError;
    match e {
        RepoError::Document(allmende_protocol::doc::DocError::Schema(e)) => {
            ApiError::bad_request(format!("invalid {e}"))
        }
        RepoError::Document(e @ allmende_protocol::doc::DocError::TooLarge { .. }) => {
            ApiError::bad_request(e.to_string())
        }
        RepoError::Auth { error, .. } => ApiError::forbidden(error.to_string()),
        e @ RepoError::NotSteward { .. } => ApiError::forbidden(e.to_string()),
        RepoError::NoProposal(m) => ApiError::not_found(m),
        RepoError::Decided(m) => ApiError::conflict(m),
        other => ApiError::internal(other.to_string()),
    }
}

/// Runs a local edit of `header` signed by the tenant's key; returns whether it changed anything.
pub async fn write(
    s: &ApiState,
    tenant: &Tenant,
    header: allmende_protocol::doc::DocHeader,
    f: impl FnOnce(
        &mut allmende_protocol::doc::Editor<'_>,
    ) -> Result<(), allmende_protocol::doc::DocError>
    + Send
    + 'static,
) -> Result<bool, ApiError> {
    let signer = tenant.keypair.clone();
    let now = allmende_store::now();
    let r = s
        .repo
        .call(move |st| st.edit(&signer, header, now, f))
        .await?;
    r.map(|h| h.is_some()).map_err(map_repo)
}

/// A new random key for a record in a document (deployments, ratings, reports).
pub fn record_key() -> Result<String, ApiError> {
    let bytes = allmende_store::datadir::random_bytes::<16>()
        .map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(format!(
        "{:#}",
        allmende_protocol::ids::RecordId::from_bytes(bytes)
    ))
}

/// `POST /api/v1/products`.
#[utoipa::path(
    post,
    path = "/api/v1/products",
    tag = "write",
    summary = "Create a product entry owned by the token's organisation",
    description = "Before creating, the node looks for likely existing entries (same name after German normalisation, or same vendor among the name's search hits) and answers 409 naming them; repeat with `?new=true` to create a separate entry anyway. Unknown body fields are ignored.",
    params(
        ("new" = Option<bool>, Query, description = "`true` to create even when a likely duplicate exists"),
        ("for" = Option<OrgId>, Query, description = "With the admin token: write for this hosted member organisation"),
    ),
    request_body(content = allmende_protocol::schema::Product, content_type = "application/json"),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = doc::Created),
        (status = 400, description = "Not JSON, or a field fails the schema (the message names it)", body = doc::ErrorBody),
        (status = 401, description = "No valid token", body = doc::ErrorBody), (status = 403, description = "The token may not write for this organisation, or the write is not authorised", body = doc::ErrorBody),
        (status = 409, description = "The product likely exists already", body = doc::ErrorBody),
        (status = 500, description = "A storage error", body = doc::ErrorBody), (status = 503, description = "The node is shutting down", body = doc::ErrorBody),
    ),
    extensions(("x-example-requests" = json!([
        { "summary": "Create a product", "request": "/api/v1/products", "token": "admin",
          "body": { "name": "OpenRathaus", "vendor": "Stadt Ulm", "kind": "software", "licence": "EUPL-1.2" }, "status": 201 },
        { "summary": "A likely duplicate", "request": "/api/v1/products", "token": "admin",
          "body": { "name": "BAUANTRAG online", "vendor": "Land NRW", "kind": "onlinedienst" }, "status": 409 },
        { "summary": "A licence that is no SPDX id", "request": "/api/v1/products", "token": "admin",
          "body": { "name": "Ratsinfo", "vendor": "Beispiel GmbH", "kind": "software", "licence": "EUPL 1.2" }, "status": 400 },
        { "summary": "Without the token", "request": "/api/v1/products",
          "body": { "name": "Ratsinfo", "vendor": "Beispiel GmbH", "kind": "software" }, "status": 401 }
    ])))
)]
async fn create_product(
    State(s): State<ApiState>,
    RawQuery(raw): RawQuery,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let mut force = false;
    for (k, v) in url::form_urlencoded::parse(raw.as_deref().unwrap_or("").as_bytes()) {
        match (k.as_ref(), v.as_ref()) {
            ("new", "true") => force = true,
            ("for", _) => {}
            (other, _) => {
                return Err(ApiError::bad_request(format!(
                    "unknown parameter {other:?}; only new=true and for=ORG_ID"
                )));
            }
        }
    }
    let tenant = require_token(&headers, raw.as_deref(), &s)?;
    let product: allmende_protocol::schema::Product = parse_body(&body)?;
    if !force {
        let (name, vendor) = (product.name.clone(), product.vendor.clone());
        let similar = s
            .repo
            .call(move |st| query::similar(st.repo().store().connection(), &name, &vendor))
            .await??;
        if !similar.is_empty() {
            let list: Vec<String> = similar
                .iter()
                .map(|h| format!("{} ({}, {})", h.id, h.name, h.vendor))
                .collect();
            return Err(ApiError::conflict(format!(
                "this product likely exists already: {}; use it, or POST with ?new=true to create a separate entry",
                list.join("; ")
            )));
        }
    }
    let nonce = allmende_store::datadir::random_bytes::<16>()
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let header = allmende_protocol::doc::DocHeader::product(tenant.org, nonce);
    write(&s, &tenant, header, move |ed| ed.put_root(&product)).await?;
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({ "id": format!("{:#}", header.id()) })),
    ))
}

/// Stores one record of the local organisation's own documents under the key `key_of` picks.
pub(crate) async fn post_record<T>(
    s: &ApiState,
    raw_query: Option<&str>,
    headers: &axum::http::HeaderMap,
    body: &[u8],
    key_of: impl FnOnce(&T) -> Result<String, ApiError>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError>
where
    T: allmende_protocol::doc::Record + Send + 'static,
{
    let tenant = require_token(headers, raw_query, s)?;
    let record: T = parse_body(body)?;
    let key = key_of(&record)?;
    let header = allmende_protocol::doc::DocHeader::singleton(T::KIND, tenant.org);
    let k = key.clone();
    write(s, &tenant, header, move |ed| ed.put(&k, &record)).await?;
    Ok((StatusCode::CREATED, Json(serde_json::json!({ "key": key }))))
}

/// `POST /api/v1/deployments`.
#[utoipa::path(
    post,
    path = "/api/v1/deployments",
    tag = "write",
    summary = "Add a deployment (\"we run this product\") for the token's organisation",
    description = "Each call adds a new record. The product id is not checked against the index.",
    params(("for" = Option<OrgId>, Query, description = "With the admin token: write for this hosted member organisation")),
    request_body(content = allmende_protocol::schema::Deployment, content_type = "application/json"),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Stored", body = doc::Stored),
        (status = 400, description = "Not JSON, or a field fails the schema", body = doc::ErrorBody),
        (status = 401, description = "No valid token", body = doc::ErrorBody), (status = 403, description = "The token may not write for this organisation, or the write is not authorised", body = doc::ErrorBody), (status = 500, description = "A storage error", body = doc::ErrorBody), (status = 503, description = "The node is shutting down", body = doc::ErrorBody),
    ),
    extensions(("x-example-requests" = json!([
        { "summary": "Record a deployment", "request": "/api/v1/deployments", "token": "admin",
          "body": { "product": example::MELDEWESEN, "status": "production", "operated_by": { "by": "self" }, "cost_yearly_eur": 4800 }, "status": 201 },
        { "summary": "An unknown status", "request": "/api/v1/deployments", "token": "admin",
          "body": { "product": example::MELDEWESEN, "status": "running", "operated_by": { "by": "self" } }, "status": 400 }
    ])))
)]
async fn create_deployment(
    State(s): State<ApiState>,
    RawQuery(raw): RawQuery,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    post_record::<allmende_protocol::schema::Deployment>(
        &s,
        raw.as_deref(),
        &headers,
        &body,
        |_| record_key(),
    )
    .await
}

/// `POST /api/v1/inventory/preview`.
#[utoipa::path(
    post,
    path = "/api/v1/inventory/preview",
    tag = "write",
    summary = "Preview an inventory import (Bestandsaufnahme) of a CSV, XLSX or ODS file",
    description = "The body is the file. The answer shows the header and column mapping found, each row's product match (with candidates and scores), what is added, updated or ended, and every error and warning with sheet, row and column. Nothing is written. Parameters override the mapping (`map=C:vendor`, `map=D:` to ignore D), decide rows (`choose=12:new`, `choose=12:skip`, `choose=12:<product id>`), keep deployments the file no longer lists (`keep=<key>`) and leave rows with errors out (`skip_errors=true`).",
    params(
        ("map" = Option<Vec<String>>, Query, description = "COLUMN:FIELD, repeated; fields: name, vendor, repository, version, tasks, status, since, operator, cost_once, cost_yearly, contact_role"),
        ("choose" = Option<Vec<String>>, Query, description = "ROW:new|skip|PRODUCT_ID, repeated"),
        ("keep" = Option<Vec<String>>, Query, description = "A deployment key not to end, repeated"),
        ("skip_errors" = Option<bool>, Query, description = "Leave rows with errors out"),
        ("for" = Option<OrgId>, Query, description = "With the admin token: import for this hosted member organisation"),
    ),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The file (at most 4 MiB)"),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The preview", body = crate::inventory::InventoryPreview),
        (status = 400, description = "The file cannot be read (the message names sheet, row and column), or a parameter is wrong", body = doc::ErrorBody),
        (status = 401, description = "No valid token", body = doc::ErrorBody),
        (status = 403, description = "The token may not write for this organisation", body = doc::ErrorBody),
        (status = 500, description = "A storage error", body = doc::ErrorBody), (status = 503, description = "The node is shutting down", body = doc::ErrorBody),
    ),
    extensions(("x-example-requests" = json!([
        { "summary": "Preview a CSV inventory", "request": "/api/v1/inventory/preview", "token": "admin", "body_text": crate::inventory::CSV_EXAMPLE, "status": 200 },
        { "summary": "A file that is no table", "request": "/api/v1/inventory/preview", "token": "admin", "body_text": "nur ein Satz ohne Spalten", "status": 400 },
        { "summary": "An unknown field in the mapping", "request": "/api/v1/inventory/preview?map=C:preis", "token": "admin", "body_text": crate::inventory::CSV_EXAMPLE, "status": 400 },
        { "summary": "Without the token", "request": "/api/v1/inventory/preview", "body_text": crate::inventory::CSV_EXAMPLE, "status": 401 }
    ])))
)]
async fn inventory_preview(
    State(s): State<ApiState>,
    RawQuery(raw): RawQuery,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    let tenant = require_token(&headers, raw.as_deref(), &s)?;
    let options = crate::inventory::options(raw.as_deref()).map_err(ApiError::bad_request)?;
    let plan = crate::inventory::preview(&s.repo, tenant.org, body.to_vec(), options)
        .await
        .map_err(inventory_failure)?;
    Ok(Json(crate::inventory::answer(&plan)))
}

/// `POST /api/v1/inventory/import`.
#[utoipa::path(
    post,
    path = "/api/v1/inventory/import",
    tag = "write",
    summary = "Import an inventory (Bestandsaufnahme) as one signed batch",
    description = "Takes the same body and parameters as the preview, plans again and, when the plan is ready (no error, or `skip_errors=true`; no row waiting for a choice), writes the new product entries and every added, updated and ended deployment in one batch: all or nothing. Importing the updated file again updates, ends and adds deployments instead of duplicating them. The column mapping is remembered for the next import.",
    params(
        ("map" = Option<Vec<String>>, Query, description = "COLUMN:FIELD, repeated"),
        ("choose" = Option<Vec<String>>, Query, description = "ROW:new|skip|PRODUCT_ID, repeated"),
        ("keep" = Option<Vec<String>>, Query, description = "A deployment key not to end, repeated"),
        ("skip_errors" = Option<bool>, Query, description = "Leave rows with errors out"),
        ("for" = Option<OrgId>, Query, description = "With the admin token: import for this hosted member organisation"),
    ),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The file (at most 4 MiB)"),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Written", body = crate::inventory::InventoryImported),
        (status = 400, description = "The file cannot be read (the message names sheet, row and column), or a parameter is wrong", body = doc::ErrorBody),
        (status = 401, description = "No valid token", body = doc::ErrorBody),
        (status = 403, description = "The token may not write for this organisation", body = doc::ErrorBody),
        (status = 409, description = "The plan has errors or rows waiting for a choice; nothing was written (the message counts them; the preview shows them)", body = doc::ErrorBody),
        (status = 500, description = "A storage error", body = doc::ErrorBody), (status = 503, description = "The node is shutting down", body = doc::ErrorBody),
    ),
    extensions(("x-example-requests" = json!([
        { "summary": "A row with an error: nothing is written", "request": "/api/v1/inventory/import", "token": "admin", "body_text": "Produkt;Hersteller;Seit\nMeldewesen Plus;Beispiel GmbH;demnächst\n", "status": 409 },
        { "summary": "An empty file", "request": "/api/v1/inventory/import", "token": "admin", "body_text": "", "status": 400 },
        { "summary": "Without the token", "request": "/api/v1/inventory/import", "body_text": crate::inventory::CSV_EXAMPLE, "status": 401 }
    ])))
)]
async fn inventory_import(
    State(s): State<ApiState>,
    RawQuery(raw): RawQuery,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let tenant = require_token(&headers, raw.as_deref(), &s)?;
    let options = crate::inventory::options(raw.as_deref()).map_err(ApiError::bad_request)?;
    let imported = crate::inventory::import(
        &s.repo,
        tenant.keypair.clone(),
        tenant.org,
        body.to_vec(),
        options,
    )
    .await
    .map_err(inventory_failure)?;
    match imported {
        Ok((plan, written)) => Ok((
            StatusCode::CREATED,
            Json(serde_json::json!({
                "products": written.products.iter().map(|p| format!("{p:#}")).collect::<Vec<_>>(),
                "deployments": written.deployments,
                "counts": plan.counts,
            })),
        )
            .into_response()),
        Err(plan) => Err(ApiError::conflict(format!(
            "not imported: {} errors, {} rows waiting for a choice; see the preview, fix the file, choose, or repeat with skip_errors=true",
            plan.counts.errors, plan.counts.choose
        ))),
    }
}

/// The API error of a failed inventory request: the file's own message (sheet, row,
/// column) as 400, a refused batch as its repository error.
fn inventory_failure(e: crate::inventory::InventoryFailure) -> ApiError {
    use crate::inventory::{InventoryFailure, PlanFailure};
    use allmende_repo_thread::inventory::ImportError;
    match e {
        InventoryFailure::Plan(PlanFailure::File(e)) => ApiError::bad_request(e.to_string()),
        InventoryFailure::Plan(PlanFailure::Store(m)) => ApiError::internal(m),
        InventoryFailure::Import(ImportError::Invalid(m)) => ApiError::bad_request(m),
        InventoryFailure::Import(ImportError::Repo(e)) => map_repo(e),
        InventoryFailure::Gone(g) => g.into(),
    }
}

/// `POST /api/v1/ratings`.
#[utoipa::path(
    post,
    path = "/api/v1/ratings",
    tag = "write",
    summary = "Set the token organisation's rating of a product",
    description = "One rating per organisation and product, keyed by the product id: a second POST replaces the first. Scores are 1–5; `scores` may be empty when `recommend` or `text` is given.",
    params(("for" = Option<OrgId>, Query, description = "With the admin token: write for this hosted member organisation")),
    request_body(content = allmende_protocol::schema::Rating, content_type = "application/json"),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Stored; the key is the product id", body = doc::Stored),
        (status = 400, description = "Not JSON, or a field fails the schema", body = doc::ErrorBody),
        (status = 401, description = "No valid token", body = doc::ErrorBody), (status = 403, description = "The token may not write for this organisation, or the write is not authorised", body = doc::ErrorBody), (status = 500, description = "A storage error", body = doc::ErrorBody), (status = 503, description = "The node is shutting down", body = doc::ErrorBody),
    ),
    extensions(("x-example-requests" = json!([
        { "summary": "Rate a product", "request": "/api/v1/ratings", "token": "admin",
          "body": { "product": example::BAUANTRAG, "scores": { "usability": 4, "support": 3 }, "recommend": true }, "status": 201 },
        { "summary": "A score out of range", "request": "/api/v1/ratings", "token": "admin",
          "body": { "product": example::BAUANTRAG, "scores": { "usability": 6 } }, "status": 400 }
    ])))
)]
async fn set_rating(
    State(s): State<ApiState>,
    RawQuery(raw): RawQuery,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    // One rating per organisation and product: keyed by the product.
    post_record::<allmende_protocol::schema::Rating>(&s, raw.as_deref(), &headers, &body, |r| {
        Ok(format!("{:#}", r.product))
    })
    .await
}

/// `POST /api/v1/reuse-reports`.
#[utoipa::path(
    post,
    path = "/api/v1/reuse-reports",
    tag = "write",
    summary = "Add a Nachnutzung report for the token's organisation",
    params(("for" = Option<OrgId>, Query, description = "With the admin token: write for this hosted member organisation")),
    request_body(content = allmende_protocol::schema::ReuseReport, content_type = "application/json"),
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Stored", body = doc::Stored),
        (status = 400, description = "Not JSON, or a field fails the schema", body = doc::ErrorBody),
        (status = 401, description = "No valid token", body = doc::ErrorBody), (status = 403, description = "The token may not write for this organisation, or the write is not authorised", body = doc::ErrorBody), (status = 500, description = "A storage error", body = doc::ErrorBody), (status = 503, description = "The node is shutting down", body = doc::ErrorBody),
    ),
    extensions(("x-example-requests" = json!([
        { "summary": "Report a Nachnutzung", "request": "/api/v1/reuse-reports", "token": "admin",
          "body": { "product": example::BAUANTRAG, "provider": example::LAND, "efa": true, "effort_person_days": 15,
                    "cost_once_eur": 8000, "obstacles": ["technical", "organisational"], "outcome": "production", "recommend": true }, "status": 201 }
    ])))
)]
async fn create_reuse_report(
    State(s): State<ApiState>,
    RawQuery(raw): RawQuery,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    post_record::<allmende_protocol::schema::ReuseReport>(
        &s,
        raw.as_deref(),
        &headers,
        &body,
        |_| record_key(),
    )
    .await
}

/// Default and largest page of the record and organisation lists.
const LIST_PAGE: u32 = 1_000;
const LIST_MAX: u32 = 10_000;

/// Paging of a list: `limit` and the fields of the `after` cursor ([`query::cursor`]).
#[derive(Debug)]
struct Paging {
    limit: u32,
    after: Option<Vec<Vec<u8>>>,
}

fn bad_cursor() -> ApiError {
    ApiError::bad_request("after is not a cursor from a Link header")
}

/// Reads `limit` and `after` (a cursor of `fields` fields) of a list's query string, and
/// hands every other parameter to `filter`, which answers whether it knew it; `known` names
/// the filters for the error message.
fn parse_paging(
    raw: Option<&str>,
    fields: usize,
    known: &str,
    mut filter: impl FnMut(&str, String) -> Result<bool, ApiError>,
) -> Result<Paging, ApiError> {
    let raw = raw.unwrap_or_default();
    if raw.len() > MAX_QUERY_BYTES {
        return Err(ApiError::bad_request(format!(
            "query string longer than {MAX_QUERY_BYTES} bytes"
        )));
    }
    let mut p = Paging {
        limit: LIST_PAGE,
        after: None,
    };
    for (k, v) in url::form_urlencoded::parse(raw.as_bytes()) {
        match k.as_ref() {
            "limit" => {
                p.limit = v
                    .parse()
                    .ok()
                    .filter(|n| (1..=LIST_MAX).contains(n))
                    .ok_or_else(|| ApiError::bad_request(format!("limit must be 1–{LIST_MAX}")))?;
            }
            "after" => p.after = Some(query::cursor::decode(&v, fields).ok_or_else(bad_cursor)?),
            other => {
                if !filter(other, v.into_owned())? {
                    return Err(ApiError::bad_request(format!(
                        "unknown parameter {other:?}; use {known}, limit or after"
                    )));
                }
            }
        }
    }
    Ok(p)
}

/// The RFC 8288 `Link` to the next page: the request's own query with `after` replaced by
/// `cursor`, so the filters carry over.
fn next_link(path: &str, raw: Option<&str>, cursor: &str) -> Option<axum::http::HeaderValue> {
    let mut next: Vec<(String, String)> =
        url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
            .filter(|(k, _)| k != "after")
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
    next.push(("after".into(), cursor.to_owned()));
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(next)
        .finish();
    axum::http::HeaderValue::from_str(&format!("<{path}?{query}>; rel=\"next\"")).ok()
}

/// A record list's own filter: the parameter (= column) name and how to read its value.
type StateFilter = (&'static str, fn(&str) -> Result<String, ApiError>);

/// Filters of the record lists.
#[derive(Debug, Default)]
struct ListFilters {
    product: Option<Vec<u8>>,
    org: Option<Vec<u8>>,
    land: Option<String>,
    kreis: Option<String>,
    /// `status` of deployments, `outcome` of reports.
    state: Option<String>,
}

/// A record list, ordered by organisation and record key, one page at a time. When more
/// records follow, the answer carries `Link: <…&after=CURSOR>; rel="next"` (RFC 8288).
/// `state` names the list's own filter column (`status`, `outcome`) and how to check it.
async fn list(
    s: &ApiState,
    table: &'static str,
    path: &'static str,
    raw: Option<String>,
    state: Option<StateFilter>,
) -> Result<Response, ApiError> {
    let mut f = ListFilters::default();
    let known = match state {
        Some(("status", _)) => "product, org, land, kreis, status",
        Some(_) => "product, org, land, kreis, outcome",
        None => "product, org, land, kreis",
    };
    let paging = parse_paging(raw.as_deref(), 2, known, |k, v| {
        match k {
            "product" => {
                let id: DocId = v
                    .parse()
                    .map_err(|e| ApiError::bad_request(format!("product: {e}")))?;
                f.product = Some(id.as_bytes().to_vec());
            }
            "org" => {
                let id: OrgId = v
                    .parse()
                    .map_err(|e| ApiError::bad_request(format!("org: {e}")))?;
                f.org = Some(id.as_bytes().to_vec());
            }
            "land" => f.land = Some(v),
            "kreis" => f.kreis = Some(v),
            k => match state {
                Some((name, check)) if name == k => f.state = Some(check(&v)?),
                _ => return Ok(false),
            },
        }
        Ok(true)
    })?;
    let (after_org, after_key) = match &paging.after {
        Some(c) if c[0].len() == 32 && !c[1].is_empty() => (
            Some(c[0].clone()),
            Some(String::from_utf8(c[1].clone()).map_err(|_| bad_cursor())?),
        ),
        Some(_) => return Err(bad_cursor()),
        None => (None, None),
    };
    let limit = paging.limit;
    let state_column = state.map_or("NULL", |(name, _)| name);
    let (rows, last) = s
        .repo
        .call(move |st| -> Result<(Vec<serde_json::Value>, Option<String>), QueryError> {
            let conn = st.repo().store().connection();
            let mut stmt = conn.prepare(&format!(
                "SELECT org, key, product, json FROM {table}
                 WHERE (?1 IS NULL OR product = ?1) AND (?2 IS NULL OR org = ?2)
                   AND (?3 IS NULL OR (org, key) > (?3, ?4))
                   AND (?6 IS NULL OR org IN (SELECT org FROM idx_org WHERE land = ?6))
                   AND (?7 IS NULL OR org IN (SELECT org FROM idx_org WHERE kreis = ?7))
                   AND (?8 IS NULL OR {state_column} = ?8)
                 ORDER BY org, key LIMIT ?5"
            ))?;
            let rows = stmt.query_map(
                rusqlite::params![f.product, f.org, after_org, after_key, i64::from(limit) + 1, f.land, f.kreis, f.state],
                |r| Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, String>(1)?, r.get::<_, Vec<u8>>(2)?, r.get::<_, String>(3)?)),
            )?;
            let mut out = Vec::new();
            let mut last = None;
            for r in rows {
                let (org, key, product, json) = r?;
                // A (limit + 1)-th row means another page follows.
                if out.len() == limit as usize {
                    return Ok((out, last));
                }
                last = Some(query::cursor::encode(&[&org, key.as_bytes()]));
                let record: serde_json::Value = serde_json::from_str(&json).unwrap_or(serde_json::Value::Null);
                out.push(serde_json::json!({
                    "org": hex::encode(org), "key": key, "product": hex::encode(product), "record": record
                }));
            }
            Ok((out, None))
        })
        .await??;
    let mut resp = Json(rows).into_response();
    if let Some(link) = last.and_then(|c| next_link(path, raw.as_deref(), &c)) {
        resp.headers_mut().insert(axum::http::header::LINK, link);
    }
    Ok(resp)
}

fn deployment_status(v: &str) -> Result<String, ApiError> {
    v.parse::<allmende_protocol::schema::DeploymentStatus>()
        .map(|s| s.slug().to_owned())
        .map_err(|e| ApiError::bad_request(format!("invalid {e}")))
}

fn reuse_outcome(v: &str) -> Result<String, ApiError> {
    v.parse::<allmende_protocol::schema::ReuseOutcome>()
        .map(|s| s.slug().to_owned())
        .map_err(|e| ApiError::bad_request(format!("invalid {e}")))
}

/// `GET /api/v1/deployments`.
#[utoipa::path(
    get,
    path = "/api/v1/deployments",
    tag = "catalog",
    summary = "Deployments, filtered, a page at a time",
    description = "Ordered by (org, key), unfiltered by trust. When more follow, the answer carries a `Link` header (RFC 8288) to the next page with the same filters; records added or removed meanwhile never make a page repeat or skip one that existed throughout.",
    params(
        ("product" = Option<String>, Query, description = "Only records about this product entry (64 hex; merged entries are not included)", example = json!(example::BAUANTRAG)),
        ("org" = Option<String>, Query, description = "Only records of this organisation (64 hex)"),
        ("land" = Option<String>, Query, description = "Only records of organisations in this Land (two-digit key)", example = "05"),
        ("kreis" = Option<String>, Query, description = "Only records of organisations in this Kreis (five digits)"),
        ("status" = Option<allmende_protocol::schema::DeploymentStatus>, Query, description = "Only deployments in this status"),
        ("limit" = Option<u32>, Query, description = "Records per page, 1–10,000 (default 1,000)", minimum = 1, maximum = 10000),
        ("after" = Option<String>, Query, description = "The cursor from the previous page's Link header"),
    ),
    responses(
        (status = 200, description = "One page", body = Vec<doc::DeploymentItem>,
            headers(("Link" = String, description = "The next page, RFC 8288 (absent on the last page)"))),
        (status = 400, description = "A malformed or unknown parameter", body = doc::ErrorBody), (status = 500, description = "A storage error", body = doc::ErrorBody), (status = 503, description = "The node is shutting down", body = doc::ErrorBody),
    ),
    extensions(("x-example-requests" = json!([
        { "summary": "Who runs a product, and at what cost?", "request": format!("/api/v1/deployments?product={}", example::BAUANTRAG), "status": 200 },
        { "summary": "Deployments in production in Nordrhein-Westfalen", "request": "/api/v1/deployments?land=05&status=production", "status": 200 },
        { "summary": "One organisation's deployments, one per page", "request": format!("/api/v1/deployments?org={}&limit=1", example::KOELN), "status": 200 },
        { "summary": "A limit out of range", "request": "/api/v1/deployments?limit=0", "status": 400 }
    ])))
)]
async fn deployments(
    State(s): State<ApiState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    list(
        &s,
        "idx_deployment",
        "/api/v1/deployments",
        raw,
        Some(("status", deployment_status)),
    )
    .await
}

/// `GET /api/v1/ratings`.
#[utoipa::path(
    get,
    path = "/api/v1/ratings",
    tag = "catalog",
    summary = "Ratings, filtered, a page at a time",
    description = "Like the deployments list; a rating's key is the product id (one rating per organisation and product).",
    params(
        ("product" = Option<String>, Query, description = "Only ratings of this product entry (64 hex)", example = json!(example::BAUANTRAG)),
        ("org" = Option<String>, Query, description = "Only ratings by this organisation (64 hex)"),
        ("land" = Option<String>, Query, description = "Only ratings by organisations in this Land"),
        ("kreis" = Option<String>, Query, description = "Only ratings by organisations in this Kreis"),
        ("limit" = Option<u32>, Query, description = "Records per page, 1–10,000 (default 1,000)", minimum = 1, maximum = 10000),
        ("after" = Option<String>, Query, description = "The cursor from the previous page's Link header"),
    ),
    responses(
        (status = 200, description = "One page", body = Vec<doc::RatingItem>,
            headers(("Link" = String, description = "The next page, RFC 8288 (absent on the last page)"))),
        (status = 400, description = "A malformed or unknown parameter", body = doc::ErrorBody), (status = 500, description = "A storage error", body = doc::ErrorBody), (status = 503, description = "The node is shutting down", body = doc::ErrorBody),
    ),
    extensions(("x-example-requests" = json!([
        { "summary": "Every rating of a product", "request": format!("/api/v1/ratings?product={}", example::BAUANTRAG), "status": 200 }
    ])))
)]
async fn ratings(State(s): State<ApiState>, RawQuery(raw): RawQuery) -> Result<Response, ApiError> {
    list(&s, "idx_rating", "/api/v1/ratings", raw, None).await
}

/// `GET /api/v1/reuse-reports`.
#[utoipa::path(
    get,
    path = "/api/v1/reuse-reports",
    tag = "catalog",
    summary = "Nachnutzung reports, filtered, a page at a time",
    description = "Like the deployments list.",
    params(
        ("product" = Option<String>, Query, description = "Only reports about this product entry (64 hex)"),
        ("org" = Option<String>, Query, description = "Only reports by this organisation (64 hex)"),
        ("land" = Option<String>, Query, description = "Only reports by organisations in this Land"),
        ("kreis" = Option<String>, Query, description = "Only reports by organisations in this Kreis"),
        ("outcome" = Option<allmende_protocol::schema::ReuseOutcome>, Query, description = "Only reports with this outcome"),
        ("limit" = Option<u32>, Query, description = "Records per page, 1–10,000 (default 1,000)", minimum = 1, maximum = 10000),
        ("after" = Option<String>, Query, description = "The cursor from the previous page's Link header"),
    ),
    responses(
        (status = 200, description = "One page", body = Vec<doc::ReuseReportItem>,
            headers(("Link" = String, description = "The next page, RFC 8288 (absent on the last page)"))),
        (status = 400, description = "A malformed or unknown parameter", body = doc::ErrorBody), (status = 500, description = "A storage error", body = doc::ErrorBody), (status = 503, description = "The node is shutting down", body = doc::ErrorBody),
    ),
    extensions(("x-example-requests" = json!([
        { "summary": "Nachnutzungen that reached production", "request": "/api/v1/reuse-reports?outcome=production", "status": 200 },
        { "summary": "Abandoned Nachnutzungen in Nordrhein-Westfalen", "request": "/api/v1/reuse-reports?land=05&outcome=abandoned", "status": 200 }
    ])))
)]
async fn reuse_reports(
    State(s): State<ApiState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    list(
        &s,
        "idx_reuse",
        "/api/v1/reuse-reports",
        raw,
        Some(("outcome", reuse_outcome)),
    )
    .await
}

/// `GET /api/v1/organizations/{id}/comparison`.
#[utoipa::path(
    get,
    path = "/api/v1/organizations/{id}/comparison",
    tag = "statistics",
    summary = "Nachbarvergleich: what comparable bodies run, per task",
    description = "Compares an organisation's deployments with those of one group: `kreis` (every organisation whose AGS lies in its Kreis), `land` (its Land) or `groesse` (same kind and size class of official population from the Gemeindeverzeichnis; classes in `size_class`). Per task: its own products and the group's, each organisation counted once per product, with the group's ratings (vendor self-ratings left out) and costs (medians per organisation, euros per inhabitant). Differences: `missing_tasks` (neighbours run something, it nothing), `rare` (it runs a product fewer than 25 % of the neighbours active in the task run), `left` (neighbours with a retired deployment and none in use). Counts organisations a followed trust anchor attested, as /api/v1/stats does, unless `include_unverified=true`. Bounded: at most 5,000 organisations per group, 150 tasks, 8 products per task besides its own (api.md, nachbarvergleich.md).",
    params(
        ("id" = String, Path, description = "The organisation id, 64 hex characters", example = json!(example::MUSTERHAUSEN)),
        ("group" = Option<String>, Query, description = "`kreis`, `land` or `groesse`; without it the first of these that can be formed for the organisation", example = "kreis"),
        ("include_unverified" = Option<bool>, Query, description = "`true` to count every organisation, not only attested ones"),
    ),
    responses(
        (status = 200, description = "The comparison", body = allmende_catalog::compare::Comparison),
        (status = 400, description = "A malformed id or parameter, or a group that cannot be formed for this organisation (no AGS, no official population); the message names the field", body = doc::ErrorBody),
        (status = 404, description = "Neither a profile nor any record of the organisation", body = doc::ErrorBody),
        (status = 500, description = "A storage error", body = doc::ErrorBody), (status = 503, description = "The node is shutting down", body = doc::ErrorBody),
    ),
    extensions(("x-example-requests" = json!([
        { "summary": "Musterhausen and the other bodies of its Kreis", "request": format!("/api/v1/organizations/{}/comparison", example::MUSTERHAUSEN), "status": 200 },
        { "summary": "Köln and the bodies of Nordrhein-Westfalen", "request": format!("/api/v1/organizations/{}/comparison?group=land", example::KOELN), "status": 200 },
        { "summary": "Musterhausen and Kommunen of its size class, attested or not", "request": format!("/api/v1/organizations/{}/comparison?group=groesse&include_unverified=true", example::MUSTERHAUSEN), "status": 200 },
        { "summary": "The Land body has no AGS: no Kreis group", "request": format!("/api/v1/organizations/{}/comparison?group=kreis", example::LAND), "status": 400 },
        { "summary": "An unknown group", "request": format!("/api/v1/organizations/{}/comparison?group=gemeinde", example::KOELN), "status": 400 },
        { "summary": "An organisation this node does not know", "request": format!("/api/v1/organizations/{}/comparison", crate::compare::UNKNOWN_ORG), "status": 404 }
    ])))
)]
async fn comparison(
    State(s): State<ApiState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<allmende_catalog::compare::Comparison>, ApiError> {
    let org: OrgId = id
        .parse()
        .map_err(|e| ApiError::bad_request(format!("id: {e}")))?;
    let (group, include_unverified) =
        crate::compare::params(raw.as_deref().unwrap_or("")).map_err(ApiError::bad_request)?;
    let scope = allmende_catalog::stats::Scope {
        anchors: s.anchors.to_vec(),
        include_unverified,
    };
    let c = s
        .repo
        .call(move |st| {
            allmende_catalog::compare::compare(st.repo().store().connection(), &scope, &org, group)
        })
        .await?
        .map_err(|e| match crate::compare::refusal(e) {
            crate::compare::Refusal::BadRequest(m) => ApiError::bad_request(m),
            crate::compare::Refusal::NotFound(m) => ApiError::not_found(m),
            crate::compare::Refusal::Query(q) => q.into(),
        })?;
    Ok(Json(c))
}

/// `GET /api/v1/organizations/{id}`.
#[utoipa::path(
    get,
    path = "/api/v1/organizations/{id}",
    tag = "catalog",
    summary = "One organisation with its own records",
    params(("id" = String, Path, description = "The organisation id, 64 hex characters", example = json!(example::KOELN))),
    responses(
        (status = 200, description = "The organisation page", body = doc::OrgPage),
        (status = 400, description = "A malformed id", body = doc::ErrorBody),
        (status = 404, description = "Neither a profile nor any record of it", body = doc::ErrorBody),
        (status = 500, description = "A storage error", body = doc::ErrorBody), (status = 503, description = "The node is shutting down", body = doc::ErrorBody),
    ),
    extensions(("x-example-requests" = json!([
        { "summary": "What has one organisation published?", "request": format!("/api/v1/organizations/{}", example::KOELN), "status": 200 },
        { "summary": "A malformed id", "request": "/api/v1/organizations/koeln", "status": 400 }
    ])))
)]
async fn organization(
    State(s): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let org: OrgId = id
        .parse()
        .map_err(|e| ApiError::bad_request(format!("organisation id: {e}")))?;
    let anchors = s.anchors.clone();
    let page = s
        .repo
        .call(move |st| -> Result<Option<serde_json::Value>, QueryError> {
            let conn = st.repo().store().connection();
            let key = org.as_bytes().as_slice();
            let profile: Option<String> = match conn.query_row("SELECT json FROM idx_org WHERE org = ?1", [key], |r| r.get(0)) {
                Ok(j) => Some(j),
                Err(rusqlite::Error::QueryReturnedNoRows) => None,
                Err(e) => return Err(e.into()),
            };
            let stack = |sql: &str| -> Result<Vec<serde_json::Value>, QueryError> {
                let mut stmt = conn.prepare(sql)?;
                let rows = stmt.query_map([key], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
                let mut out = Vec::new();
                for r in rows {
                    let (k, json) = r?;
                    out.push(serde_json::json!({ "key": k, "record": serde_json::from_str::<serde_json::Value>(&json).unwrap_or_default() }));
                }
                Ok(out)
            };
            let deployments = stack(&query::own_records_sql("idx_deployment"))?;
            let ratings = stack(&query::own_records_sql("idx_rating"))?;
            let reports = stack(&query::own_records_sql("idx_reuse"))?;
            if profile.is_none() && deployments.is_empty() && ratings.is_empty() && reports.is_empty() {
                return Ok(None);
            }
            let verified = query::is_verified(conn, &org, &anchors)?;
            Ok(Some(serde_json::json!({
                "id": format!("{org:#}"),
                "verified": verified,
                "profile": profile.map(|p| serde_json::from_str::<serde_json::Value>(&p).unwrap_or_default()),
                "deployments": deployments,
                "ratings": ratings,
                "reuse_reports": reports,
            })))
        })
        .await??;
    page.map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no organisation {id}")))
}

/// Following changes over HTTP (`docs/feeds.md`): Atom feeds of a product, a task, an
/// organisation and a region; the watch list of the token's organisation; and its notices.
/// The web UI uses the same functions ([`follow_api::events_for`], [`follow_api::watch_view`],
/// [`follow_api::notices_view`], [`follow_api::add_watched`], [`follow_api::remove_watched`]).
///
/// Threat: the feeds are public reads like the pages, bounded to
/// [`allmende_catalog::follow::MAX_EVENTS`] entries and filtered by the trust scope. A watch
/// list belongs to one organisation of the node: reading or changing it needs that
/// organisation's token (or the admin token with `for`), because a list says what an
/// organisation is interested in. Targets are checked for form and existence; a list holds at
/// most [`allmende_store::watch::MAX_WATCHED`] entries.
pub mod follow_api {
    use allmende_catalog::follow::{self, Event, Subject};
    use allmende_protocol::ids::{DocId, OrgId};
    use allmende_protocol::schema::{Land, Task};
    use allmende_store::watch::{self, VisitedPage, WatchError, WatchKind};
    use axum::Json;
    use axum::extract::{Path, RawQuery, State};
    use axum::http::{HeaderMap, StatusCode, header};
    use axum::response::{IntoResponse, Response};

    use super::{ApiError, ApiState, require_token};
    use crate::answers::{self as doc, example};
    use crate::follow::{
        EVENTS_PER_WATCHED, NoticesView, WatchRequest, WatchView, WatchedView, base_url,
        subject_of, subject_target, target_name,
    };

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

    /// An Atom response.
    fn atom(body: String) -> Response {
        (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/atom+xml; charset=utf-8")],
            body,
        )
            .into_response()
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
        let product = match &subject {
            Subject::Product(d) => Some(*d),
            _ => None,
        };
        let Some(mut events) = events_for(s, subject, follow::MAX_EVENTS).await? else {
            return Err(ApiError::not_found(format!("nothing known as {self_path}")));
        };
        if let Some(doc) = product {
            events.extend(proposal_events(s, &[doc], false, None).await?);
            newest_first(&mut events);
        }
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

    /// At most this many products' proposals go into one answer (each is one stewardship
    /// resolution, kept in the repository's step cache).
    const MAX_PROPOSAL_PRODUCTS: usize = 50;

    fn newest_first(events: &mut Vec<Event>) {
        events.sort_by(|a, b| (b.at, &b.id).cmp(&(a.at, &a.id)));
        events.truncate(follow::MAX_EVENTS);
    }

    /// The steward proposals (and, unless `open_only`, the decisions on them) about
    /// `products` as events, leaving out those by `except`. The stewardship view decides what
    /// is shown exactly as on the product's page (proposals by unverified authors only in open
    /// mode). A proposal's time is its claimed time clamped to when this node received the
    /// change, so a proposal claiming a future time does not stay on top.
    pub async fn proposal_events(
        s: &ApiState,
        products: &[DocId],
        open_only: bool,
        except: Option<OrgId>,
    ) -> Result<Vec<Event>, ApiError> {
        let unverified = s.anchors.is_empty();
        let except = except.map(|o| format!("{o:#}"));
        let mut found = Vec::new();
        for doc in products.iter().take(MAX_PROPOSAL_PRODUCTS) {
            let Some(view) = super::stewardship_view(s, *doc, unverified).await? else {
                continue;
            };
            for p in view.proposals {
                if (open_only && !p.open) || (except.is_some() && p.author.org == except) {
                    continue;
                }
                found.push((*doc, p));
            }
        }
        if found.is_empty() {
            return Ok(Vec::new());
        }
        let now = allmende_store::now().0;
        s.repo
            .call(move |st| -> Result<Vec<Event>, ApiError> {
                let conn = st.repo().store().connection();
                let received = |doc: &DocId, change: &str| -> Option<i64> {
                    conn.query_row(
                        "SELECT received_at FROM changes WHERE doc = ?1 AND hash = ?2",
                        rusqlite::params![
                            doc.as_bytes().as_slice(),
                            hex::decode(change).unwrap_or_default()
                        ],
                        |r| r.get::<_, Option<i64>>(0),
                    )
                    .ok()
                    .flatten()
                };
                let mut out = Vec::new();
                for (doc, p) in found {
                    let (kind, by) = match (&p.decision, &p.decided_by) {
                        (Some(_), Some(by)) if !open_only => ("decision", by),
                        _ => ("proposal", &p.author),
                    };
                    let seen = received(&doc, &by.change).unwrap_or(now);
                    let at = if by.at > 0 { by.at.min(seen) } else { seen };
                    let fields: Vec<&str> = p.changes.iter().map(|c| c.field.as_str()).collect();
                    out.push(Event {
                        id: format!(
                            "tag:allmende.invalid,2026:{kind}/{doc:#}/{}",
                            hex::encode(hex::decode(&by.change).unwrap_or_default())
                        ),
                        kind: kind.to_owned(),
                        product: format!("{doc:#}"),
                        product_name: target_name(conn, WatchKind::Product, &format!("{doc:#}")),
                        org: p
                            .author
                            .org
                            .clone()
                            .unwrap_or_else(|| p.author.signer.clone()),
                        org_name: p.author.name.clone(),
                        at,
                        noticed_at: seen,
                        record: serde_json::json!({
                            "proposal": p.id,
                            "fields": fields,
                            "decision": p.decision,
                        }),
                    });
                }
                Ok(out)
            })
            .await?
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

    /// The notices for `org`; with `mark`, the visit is remembered.
    pub async fn notices_view(
        s: &ApiState,
        org: OrgId,
        mark: bool,
    ) -> Result<NoticesView, ApiError> {
        let s2 = s.clone();
        let now = allmende_store::now().0;
        let view = s
            .repo
            .call(move |st| -> Result<_, ApiError> {
                let conn = st.repo().store().connection();
                let last_visit = if mark {
                    watch::mark_visit(conn, &org, VisitedPage::Notices, now)
                } else {
                    watch::last_visit(conn, &org, VisitedPage::Notices)
                }
                .map_err(|e| ApiError::internal(e.to_string()))?;
                let counted = counted(conn, &s2)?;
                let notices = follow::notices(conn, &org, counted.as_ref(), follow::MAX_EVENTS)?;
                let runs = follow::products_run_by(conn, &org, MAX_PROPOSAL_PRODUCTS)?;
                Ok((last_visit, notices, runs))
            })
            .await??;
        let (last_visit, mut notices, runs) = view;
        // Open proposals by others about the products it runs.
        notices.extend(proposal_events(s, &runs, true, Some(org)).await?);
        newest_first(&mut notices);
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
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn only_loopback_hosts_pass_on_a_loopback_server() {
        for ok in [
            "127.0.0.1:8080",
            "localhost:8080",
            "[::1]:8080",
            "localhost",
            "127.0.0.1",
        ] {
            assert!(loopback_host(ok), "{ok}");
        }
        for bad in [
            "evil.example:8080",
            "127.0.0.1.evil.example",
            "",
            "[::2]:80",
            "10.0.0.1:8080",
        ] {
            assert!(!loopback_host(bad), "{bad}");
        }
    }

    #[tokio::test]
    async fn a_third_export_is_told_to_come_back_later() {
        let slots = Arc::new(tokio::sync::Semaphore::new(MAX_EXPORTS));
        let held: Vec<_> = (0..MAX_EXPORTS)
            .map(|_| export_slot(&slots).unwrap())
            .collect();
        assert!(export_slot(&slots).is_none());
        let refused = exports_busy();
        assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(
            refused.headers()[axum::http::header::RETRY_AFTER],
            EXPORT_RETRY_SECS.to_string().as_str()
        );
        let body = axum::body::to_bytes(refused.into_body(), 4096)
            .await
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["error"], "too_many_requests");
        // A finished export frees its slot.
        drop(held);
        assert!(export_slot(&slots).is_some());
    }

    #[test]
    fn export_parameters_are_read_strictly() {
        let (kind, filter) =
            parse_export(Some("format=csv&table=products&task=1&task=2&land=Bayern")).unwrap();
        assert_eq!(kind, ExportKind::Csv("products".into()));
        assert_eq!(filter.facets["task"], vec!["1", "2"]);
        assert_eq!(filter.land.as_deref(), Some("09"));
        for bad in [
            None,
            Some("format=csv"),
            Some("format=csv&table=idx_org"),
            Some("format=sqlite&table=products"),
            Some("format=jsonl&q="),
            Some("format=jsonl&kreis=abcde"),
        ] {
            assert_eq!(
                parse_export(bad).unwrap_err().status(),
                StatusCode::BAD_REQUEST,
                "{bad:?}"
            );
        }
    }
}

/// The routes of what helps one body learn from another about a product: whom to ask,
/// training offers and their ratings, and "abgelöst durch" flows
/// ([`allmende_catalog::exchange`]). A module of this file because the handlers are
/// registered in the router (`api_routes`) by name.
pub mod exchange_api {
    use allmende_catalog::exchange::{self, Contact, Flows, Scope, TaskTrainings, TrainingFilter};
    use allmende_protocol::ids::DocId;
    use allmende_protocol::schema::{Task, TrainingFormat, TrainingOffer, TrainingRating};
    use axum::Json;
    use axum::extract::{Path, RawQuery, State};
    use axum::http::StatusCode;
    use serde::Serialize;

    use super::{ApiError, ApiState, post_record, record_key};
    use crate::answers::{self as doc, example};

    /// The query parameters of a read: each known once, anything else refused by name.
    fn read_params<'a>(
        raw: Option<&str>,
        known: &'a [&'a str],
    ) -> Result<Vec<(&'a str, String)>, ApiError> {
        let mut out: Vec<(&'a str, String)> = Vec::new();
        for (k, v) in url::form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
            let Some(name) = known.iter().find(|n| **n == k.as_ref()) else {
                return Err(ApiError::bad_request(format!(
                    "unknown parameter {k:?}; known: {}",
                    known.join(", ")
                )));
            };
            if out.iter().any(|(n, _)| n == name) {
                return Err(ApiError::bad_request(format!("{name} given twice")));
            }
            out.push((name, v.into_owned()));
        }
        Ok(out)
    }

    fn flag(name: &str, v: &str) -> Result<bool, ApiError> {
        match v {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err(ApiError::bad_request(format!(
                "{name}: {v:?} is not true or false"
            ))),
        }
    }

    fn product_id(id: &str) -> Result<DocId, ApiError> {
        id.parse()
            .map_err(|e| ApiError::bad_request(format!("product id: {e}")))
    }

    /// `GET /api/v1/products/{id}/contacts`.
    #[utoipa::path(
        get,
        path = "/api/v1/products/{id}/contacts",
        tag = "catalog",
        summary = "Whom to ask about a product: organisations open to an exchange of experience, with the role to ask",
        description = "Organisations whose deployment of this product says `exchange_ok: true`, with the deployment's `contact_role` (a role or unit, never a person). Verified organisations first; without `unverified=true` only those a followed anchor attests (everyone when the node follows no anchor). At most 50.",
        params(
            ("id" = String, Path, description = "The product id, all 64 hex characters", example = json!(example::BAUANTRAG)),
            ("unverified" = Option<bool>, Query, description = "`true` to list unverified organisations too"),
        ),
        responses(
            (status = 200, description = "The contacts", body = Vec<Contact>),
            (status = 400, description = "A malformed id or an unknown parameter", body = doc::ErrorBody),
            (status = 500, description = "A storage error", body = doc::ErrorBody), (status = 503, description = "The node is shutting down", body = doc::ErrorBody),
        ),
        extensions(("x-example-requests" = json!([
            { "summary": "Whom to ask about Bauantrag Online", "request": format!("/api/v1/products/{}/contacts", example::BAUANTRAG), "status": 200 },
            { "summary": "A malformed id", "request": "/api/v1/products/xyz/contacts", "status": 400 }
        ])))
    )]
    pub async fn product_contacts(
        State(s): State<ApiState>,
        Path(id): Path<String>,
        RawQuery(raw): RawQuery,
    ) -> Result<Json<Vec<Contact>>, ApiError> {
        per_product(&s, &id, raw.as_deref(), exchange::contacts).await
    }

    /// Runs `read` for the product `id` on the repository thread, in the scope the query's
    /// `unverified` parameter (the only one allowed) selects.
    async fn per_product<T: Send + 'static>(
        s: &ApiState,
        id: &str,
        raw: Option<&str>,
        read: fn(
            &rusqlite::Connection,
            DocId,
            &Scope,
        ) -> Result<T, allmende_catalog::query::QueryError>,
    ) -> Result<Json<T>, ApiError> {
        let doc = product_id(id)?;
        let mut unverified = false;
        for (k, v) in read_params(raw, &["unverified"])? {
            unverified = flag(k, &v)?;
        }
        let scope = Scope {
            anchors: s.anchors.to_vec(),
            include_unverified: unverified,
        };
        let answer = s
            .repo
            .call(move |st| read(st.repo().store().connection(), doc, &scope))
            .await??;
        Ok(Json(answer))
    }

    /// `GET /api/v1/products/{id}/replacements`.
    #[utoipa::path(
        get,
        path = "/api/v1/products/{id}/replacements",
        tag = "catalog",
        summary = "Who moved from this product to which other, and from which others to this one (\"abgelöst durch\")",
        description = "Counted from retired deployments that name `replaced_by`: per (from, to) pair the number of organisations and up to five of their reasons. Only organisations a followed anchor attests count, unless `unverified=true` (everyone when the node follows no anchor). At most 50 pairs per direction, most organisations first.",
        params(
            ("id" = String, Path, description = "The product id, all 64 hex characters", example = json!(example::MELDEWESEN)),
            ("unverified" = Option<bool>, Query, description = "`true` to count unverified organisations too"),
        ),
        responses(
            (status = 200, description = "The flows in both directions", body = Flows),
            (status = 400, description = "A malformed id or an unknown parameter", body = doc::ErrorBody),
            (status = 500, description = "A storage error", body = doc::ErrorBody), (status = 503, description = "The node is shutting down", body = doc::ErrorBody),
        ),
        extensions(("x-example-requests" = json!([
            { "summary": "What replaced Meldewesen Plus, and what it replaced", "request": format!("/api/v1/products/{}/replacements", example::MELDEWESEN), "status": 200 },
            { "summary": "An unknown parameter", "request": format!("/api/v1/products/{}/replacements?since=2020", example::MELDEWESEN), "status": 400 }
        ])))
    )]
    pub async fn product_replacements(
        State(s): State<ApiState>,
        Path(id): Path<String>,
        RawQuery(raw): RawQuery,
    ) -> Result<Json<Flows>, ApiError> {
        per_product(&s, &id, raw.as_deref(), exchange::flows).await
    }

    /// The training overview.
    #[derive(Debug, Serialize, utoipa::ToSchema)]
    pub struct TrainingList {
        /// Offers grouped by the tasks of their products (an offer for a product of several tasks
        /// is listed under each; offers for products of no task under the empty task).
        pub tasks: Vec<TaskTrainings>,
    }

    /// `GET /api/v1/trainings`.
    #[utoipa::path(
        get,
        path = "/api/v1/trainings",
        tag = "catalog",
        summary = "Training offers for products, by task, best rated first",
        description = "Offers any organisation published, with their ratings (the publisher's own rating never counts). Without `unverified=true` only offers and ratings of organisations a followed anchor attests (everyone when the node follows no anchor). At most 200 offers.",
        params(
            ("task" = Option<String>, Query, description = "Only offers for products of this task (a 14-digit LeiKa key or a text task)", example = "99009001001000"),
            ("product" = Option<String>, Query, description = "Only offers for this product (64 hex)"),
            ("format" = Option<TrainingFormat>, Query, description = "Only offers in this format"),
            ("unverified" = Option<bool>, Query, description = "`true` to list offers of unverified organisations too"),
        ),
        responses(
            (status = 200, description = "The offers by task", body = TrainingList),
            (status = 400, description = "A malformed task, product or format, or an unknown parameter", body = doc::ErrorBody),
            (status = 500, description = "A storage error", body = doc::ErrorBody), (status = 503, description = "The node is shutting down", body = doc::ErrorBody),
        ),
        extensions(("x-example-requests" = json!([
            { "summary": "Every training offer", "request": "/api/v1/trainings", "status": 200 },
            { "summary": "Training for the Baugenehmigung", "request": "/api/v1/trainings?task=99009001001000", "status": 200 },
            { "summary": "Online training for one product", "request": format!("/api/v1/trainings?product={}&format=online", example::BAUANTRAG), "status": 200 },
            { "summary": "An unknown format", "request": "/api/v1/trainings?format=fernstudium", "status": 400 }
        ])))
    )]
    pub async fn trainings(
        State(s): State<ApiState>,
        RawQuery(raw): RawQuery,
    ) -> Result<Json<TrainingList>, ApiError> {
        let mut filter = TrainingFilter::default();
        let mut unverified = false;
        for (k, v) in read_params(raw.as_deref(), &["task", "product", "format", "unverified"])? {
            match k {
                "task" => {
                    let t: Task = v
                        .parse()
                        .map_err(|e| ApiError::bad_request(format!("{e}")))?;
                    filter.task = Some(t.as_str().to_owned());
                }
                "product" => filter.product = Some(product_id(&v)?),
                "format" => {
                    filter.format = Some(
                        v.parse()
                            .map_err(|e| ApiError::bad_request(format!("{e}")))?,
                    )
                }
                _ => unverified = flag(k, &v)?,
            }
        }
        let scope = Scope {
            anchors: s.anchors.to_vec(),
            include_unverified: unverified,
        };
        let tasks = s
            .repo
            .call(move |st| {
                exchange::trainings_by_task(st.repo().store().connection(), &filter, &scope)
            })
            .await??;
        Ok(Json(TrainingList { tasks }))
    }

    /// `POST /api/v1/trainings`.
    #[utoipa::path(
        post,
        path = "/api/v1/trainings",
        tag = "write",
        summary = "Publish a training offer for a product (the token's organisation)",
        description = "Each call adds a new offer under a new key (answered as `key`); ratings name the publishing organisation and that key. `roles` name roles, never persons. The product id is not checked against the index.",
        params(("for" = Option<allmende_protocol::ids::OrgId>, Query, description = "With the admin token: write for this hosted member organisation")),
        request_body(content = TrainingOffer, content_type = "application/json"),
        security(("bearer" = [])),
        responses(
            (status = 201, description = "Stored", body = doc::Stored),
            (status = 400, description = "Not JSON, or a field fails the schema", body = doc::ErrorBody),
            (status = 401, description = "No valid token", body = doc::ErrorBody), (status = 403, description = "The token may not write for this organisation, or the write is not authorised", body = doc::ErrorBody), (status = 500, description = "A storage error", body = doc::ErrorBody), (status = 503, description = "The node is shutting down", body = doc::ErrorBody),
        ),
        extensions(("x-example-requests" = json!([
            { "summary": "Offer a webinar", "request": "/api/v1/trainings", "token": "admin",
              "body": { "product": example::BAUANTRAG, "title": "Bauantrag Online für Bauaufsichten", "provider": "Land NRW",
                        "format": "online", "duration_minutes": 120, "cost_eur": 0, "roles": ["Sachbearbeitung Bauaufsicht"] }, "status": 201 },
            { "summary": "A format nobody knows", "request": "/api/v1/trainings", "token": "admin",
              "body": { "product": example::BAUANTRAG, "title": "Kurs", "provider": "Land NRW", "format": "fernstudium" }, "status": 400 }
        ])))
    )]
    pub async fn create_training(
        State(s): State<ApiState>,
        RawQuery(raw): RawQuery,
        headers: axum::http::HeaderMap,
        body: axum::body::Bytes,
    ) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
        post_record::<TrainingOffer>(&s, raw.as_deref(), &headers, &body, |_| record_key()).await
    }

    /// `POST /api/v1/training-ratings`.
    #[utoipa::path(
        post,
        path = "/api/v1/training-ratings",
        tag = "write",
        summary = "Set the token organisation's rating of a training offer",
        description = "One rating per organisation and offer, keyed `<org>/<offer>`: a second POST replaces the first. A publisher's rating of its own offer is stored but never counted.",
        params(("for" = Option<allmende_protocol::ids::OrgId>, Query, description = "With the admin token: write for this hosted member organisation")),
        request_body(content = TrainingRating, content_type = "application/json"),
        security(("bearer" = [])),
        responses(
            (status = 201, description = "Stored; the key is `<org>/<offer>`", body = doc::Stored),
            (status = 400, description = "Not JSON, or a field fails the schema", body = doc::ErrorBody),
            (status = 401, description = "No valid token", body = doc::ErrorBody), (status = 403, description = "The token may not write for this organisation, or the write is not authorised", body = doc::ErrorBody), (status = 500, description = "A storage error", body = doc::ErrorBody), (status = 503, description = "The node is shutting down", body = doc::ErrorBody),
        ),
        extensions(("x-example-requests" = json!([
            { "summary": "Rate Köln's training offer", "request": "/api/v1/training-ratings", "token": "admin",
              "body": { "org": example::KOELN, "offer": example::TRAINING_KEY, "score": 4, "recommend": true }, "status": 201 },
            { "summary": "A score out of range", "request": "/api/v1/training-ratings", "token": "admin",
              "body": { "org": example::KOELN, "offer": example::TRAINING_KEY, "score": 9 }, "status": 400 }
        ])))
    )]
    pub async fn set_training_rating(
        State(s): State<ApiState>,
        RawQuery(raw): RawQuery,
        headers: axum::http::HeaderMap,
        body: axum::body::Bytes,
    ) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
        post_record::<TrainingRating>(&s, raw.as_deref(), &headers, &body, |r| Ok(r.key())).await
    }
}
