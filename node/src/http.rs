//! The HTTP API (`/api/v1`): all routes in [`router`]; handlers parse input, make one call on
//! the node, and map the result. Errors are JSON `{"error": CODE, "message": TEXT}` with a
//! stable code.

use std::collections::BTreeMap;
use std::sync::Arc;

use allmende_protocol::ids::{DocId, OrgId};
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use crate::net::NetHandle;
use crate::query::{self, QueryError, SearchQuery};
use crate::repo_actor::RepoHandle;

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
    source: crate::datadir::DataDir,
    loaded: std::sync::RwLock<(std::time::Instant, Arc<Vec<Tenant>>)>,
}

/// How long a loaded tenant list is used before the files are read again.
const TENANT_RELOAD: std::time::Duration = std::time::Duration::from_secs(1);

impl Tenants {
    /// The tenants of a data directory: its own organisation (if initialised) with the admin
    /// token, then its members with theirs.
    pub fn from_dir(dd: crate::datadir::DataDir) -> Result<Self, crate::datadir::DataDirError> {
        let list = Self::read(&dd)?;
        Ok(Self {
            source: dd,
            loaded: std::sync::RwLock::new((std::time::Instant::now(), Arc::new(list))),
        })
    }

    fn read(dd: &crate::datadir::DataDir) -> Result<Vec<Tenant>, crate::datadir::DataDirError> {
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
    fn bad_request(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code: "bad_request",
            message: message.into(),
        }
    }

    fn not_found(message: impl Into<String>) -> Self {
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

    fn forbidden(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::FORBIDDEN,
            code: "forbidden",
            message: message.into(),
        }
    }

    fn conflict(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::CONFLICT,
            code: "conflict",
            message: message.into(),
        }
    }

    fn internal(message: impl Into<String>) -> Self {
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
            QueryError::Store(e) => ApiError::internal(e.to_string()),
        }
    }
}

impl From<crate::repo_actor::RepoGone> for ApiError {
    fn from(e: crate::repo_actor::RepoGone) -> Self {
        ApiError::unavailable(e.to_string())
    }
}

/// All routes.
pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/api/v1/status", get(status))
        .route("/api/v1/query", axum::routing::post(sql_query))
        .route(
            "/api/v1/import/publiccode",
            axum::routing::post(import_publiccode_route),
        )
        .route(
            "/api/v1/products/{id}/publiccode.yml",
            get(product_publiccode),
        )
        .route("/api/v1/products", get(products).post(create_product))
        .route(
            "/api/v1/deployments",
            get(deployments).post(create_deployment),
        )
        .route("/api/v1/ratings", get(ratings).post(set_rating))
        .route(
            "/api/v1/reuse-reports",
            get(reuse_reports).post(create_reuse_report),
        )
        .route("/api/v1/organizations/{id}", get(organization))
        .route("/api/v1/products/{id}", get(product))
        .route("/api/v1/organizations", get(organizations))
        .route("/api/v1/stats", get(stats_index))
        .route("/api/v1/stats/{name}", get(stats))
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

async fn status(State(s): State<ApiState>) -> Result<Json<crate::node::Status>, ApiError> {
    crate::node::status(&s.net, &s.repo, s.organisation)
        .await
        .map(Json)
        .map_err(|e| ApiError::unavailable(e.to_string()))
}

/// Prometheus metrics ([`crate::metrics`]).
async fn metrics(State(s): State<ApiState>) -> Response {
    let status = match crate::node::status(&s.net, &s.repo, s.organisation).await {
        Ok(st) => st,
        Err(e) => return ApiError::unavailable(e.to_string()).into_response(),
    };
    let Ok(repo) = s.repo.call(|st| st.metrics().clone()).await else {
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
        crate::metrics::render(&status, &repo, &s.http_metrics, bytes),
    )
        .into_response()
}

/// `POST /api/v1/query`: one read-only SQL statement ([`crate::sql`]), for the node's own
/// admin token only (members' tokens get 403).
async fn sql_query(
    State(s): State<ApiState>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<crate::sql::QueryResult>, ApiError> {
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
        .unwrap_or(crate::sql::DEFAULT_TIMEOUT.as_secs());
    if !(1..=crate::sql::MAX_TIMEOUT.as_secs()).contains(&timeout) {
        return Err(ApiError::bad_request("timeout_secs must be 1–300"));
    }
    let rows = b.max_rows.unwrap_or(crate::sql::DEFAULT_ROWS);
    if !(1..=crate::sql::MAX_ROWS).contains(&rows) {
        return Err(ApiError::bad_request("max_rows must be 1–1000000"));
    }
    let limits = crate::sql::Limits {
        timeout: std::time::Duration::from_secs(timeout),
        rows,
    };
    let db = s.store_path.clone();
    tokio::task::spawn_blocking(move || {
        let mut conn = crate::sql::open(&db)?;
        crate::sql::run(&mut conn, &b.sql, limits)
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))?
    .map(Json)
    .map_err(|e| ApiError::bad_request(e.to_string()))
}

/// Imports a `publiccode.yml` as `tenant`'s product through the announcing write path: the
/// product document is the one its repository URL (else its name) names, so importing again
/// updates it ([`crate::publiccode`]).
pub(crate) async fn import_publiccode(
    s: &ApiState,
    tenant: &Tenant,
    parsed: crate::publiccode::Parsed,
) -> Result<crate::publiccode::ImportOutcome, ApiError> {
    let header = allmende_protocol::doc::DocHeader::product(
        tenant.org,
        crate::publiccode::nonce_for(&parsed),
    );
    let id = header.id();
    let previous = s
        .repo
        .call(move |st| {
            st.repo()
                .document(&id)
                .map(|d| d.and_then(|d| d.root::<allmende_protocol::schema::Product>()))
        })
        .await?
        .map_err(map_repo)?;
    let created = previous.is_none();
    let product = match previous.and_then(Result::ok) {
        Some(old) => crate::publiccode::merge(old, parsed.product),
        None => parsed.product,
    };
    allmende_protocol::schema::Validate::validate(&product)
        .map_err(|e| ApiError::bad_request(format!("invalid {e}")))?;
    let stored = product.clone();
    let changed = write(s, tenant, header, move |ed| ed.put_root(&stored)).await?;
    Ok(crate::publiccode::ImportOutcome {
        id,
        created,
        changed,
        product,
        warnings: parsed.warnings,
        used_by: parsed.used_by,
    })
}

/// `POST /api/v1/import/publiccode` (body: the YAML text; `?for=` as for every write).
async fn import_publiccode_route(
    State(s): State<ApiState>,
    RawQuery(raw): RawQuery,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let tenant = require_token(&headers, raw.as_deref(), &s)?;
    let parsed = crate::publiccode::parse_bytes(&body)
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
        .call(move |st| {
            st.repo()
                .document(&doc)
                .map(|d| d.and_then(|d| d.root::<allmende_protocol::schema::Product>()))
        })
        .await?
        .map_err(map_repo)?
        .and_then(Result::ok)
        .ok_or_else(|| ApiError::not_found(format!("no product {id}")))?;
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "application/yaml; charset=utf-8",
        )],
        crate::publiccode::export(&product, &doc),
    )
        .into_response())
}

/// Liveness: the process serves HTTP.
async fn healthz() -> &'static str {
    "ok\n"
}

/// Readiness: the store and the network actor answer, and the node listens for peers.
async fn readyz(State(s): State<ApiState>) -> Response {
    let store = s
        .repo
        .call(|st| crate::store::Store::counts(st.repo().store()).is_ok())
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
    if !is_get || resp.status() != StatusCode::OK {
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

fn parse_search(raw: Option<String>) -> Result<SearchQuery, ApiError> {
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
            "land" => q.land = Some(v.into_owned()),
            "kreis" => q.kreis = Some(v.into_owned()),
            facet if query::PRODUCT_FACETS.contains(&facet) => {
                q.facets.push((facet.to_owned(), v.into_owned()))
            }
            other => {
                return Err(ApiError::bad_request(format!(
                    "unknown parameter {other:?}; use q, limit, offset, land, kreis or a facet: {}",
                    query::PRODUCT_FACETS.join(", ")
                )));
            }
        }
    }
    Ok(q)
}

async fn products(
    State(s): State<ApiState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<query::SearchResult>, ApiError> {
    let q = parse_search(raw)?;
    let result = s
        .repo
        .call(move |st| query::search(st.repo().store().connection(), &q))
        .await??;
    Ok(Json(result))
}

/// A product with what the network knows about it.
#[derive(Debug, Serialize)]
pub struct ProductPage {
    /// Id.
    pub id: String,
    /// The entry.
    pub product: serde_json::Value,
    /// Who created the entry.
    pub created_by: String,
    /// Deployments (organisation, record).
    pub deployments: Vec<serde_json::Value>,
    /// Ratings (organisation, record).
    pub ratings: Vec<serde_json::Value>,
    /// Nachnutzung reports.
    pub reuse_reports: Vec<serde_json::Value>,
    /// Mean score per dimension over all ratings.
    pub rating_means: BTreeMap<String, f64>,
    /// The canonical entry when this one was merged into another ("same as").
    pub merged_into: Option<String>,
    /// Integrations reported by deployments, in either direction, with evidence counts.
    pub integrations: Vec<serde_json::Value>,
}

async fn product(
    State(s): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Json<ProductPage>, ApiError> {
    let doc: DocId = id
        .parse()
        .map_err(|e| ApiError::bad_request(format!("product id: {e}")))?;
    let page = s
        .repo
        .call(move |st| product_page(st.repo().store().connection(), doc))
        .await??;
    page.map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no product {id}")))
}

pub(crate) fn product_page(
    conn: &rusqlite::Connection,
    doc: DocId,
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
        let mut stmt = conn.prepare(sql)?;
        let rows = stmt.query_map([id], |r| {
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
    let mut integrations = Vec::new();
    let mut stmt = conn.prepare(
        "SELECT product, other, standard, sum(status = 'works'), sum(status = 'partly'), sum(status = 'fails')
         FROM idx_integration WHERE product = ?1 OR other = ?1 GROUP BY product, other, standard
         ORDER BY product, other, standard",
    )?;
    let rows = stmt.query_map([id], |r| {
        Ok(serde_json::json!({
            "product": hex::encode(r.get::<_, Vec<u8>>(0)?),
            "other": hex::encode(r.get::<_, Vec<u8>>(1)?),
            "standard": r.get::<_, String>(2)?,
            "works": r.get::<_, i64>(3)?,
            "partly": r.get::<_, i64>(4)?,
            "fails": r.get::<_, i64>(5)?,
        }))
    })?;
    for r in rows {
        integrations.push(r?);
    }
    query::prepare_canon(conn)?;
    let canonical: Vec<u8> =
        conn.query_row("SELECT canonical FROM canon WHERE doc = ?1", [id], |r| {
            r.get(0)
        })?;
    let merged_into = (canonical.as_slice() != id).then(|| hex::encode(&canonical));
    let mut rating_means = BTreeMap::new();
    let mut stmt = conn.prepare(
        "SELECT dimension, avg(score) FROM idx_rating_score WHERE product = ?1 GROUP BY dimension",
    )?;
    for r in stmt.query_map([id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, f64>(1)?)))? {
        let (d, m) = r?;
        rating_means.insert(d, m);
    }
    Ok(Some(ProductPage {
        id: format!("{doc:#}"),
        product: serde_json::from_str(&json).unwrap_or(serde_json::Value::Null),
        created_by: hex::encode(created_by),
        deployments: records(
            "SELECT org, key, json FROM idx_deployment WHERE product = ?1 ORDER BY org, key",
        )?,
        ratings: records(
            "SELECT org, key, json FROM idx_rating WHERE product = ?1 ORDER BY org, key",
        )?,
        reuse_reports: records(
            "SELECT org, key, json FROM idx_reuse WHERE product = ?1 ORDER BY org, key",
        )?,
        rating_means,
        merged_into,
        integrations,
    }))
}

async fn organizations(
    State(s): State<ApiState>,
) -> Result<Json<Vec<serde_json::Value>>, ApiError> {
    let anchors = s.anchors.clone();
    let orgs = s
        .repo
        .call(move |st| -> Result<Vec<serde_json::Value>, QueryError> {
            let conn = st.repo().store().connection();
            let verified = query::verified_orgs(conn, &anchors)?;
            let mut stmt = conn.prepare("SELECT org, json FROM idx_org ORDER BY name, org")?;
            let rows = stmt.query_map([], |r| {
                Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, String>(1)?))
            })?;
            let mut out = Vec::new();
            for r in rows {
                let (org, json) = r?;
                let id = hex::encode(&org);
                let is_verified = verified
                    .iter()
                    .any(|v| v.as_bytes().as_slice() == org.as_slice());
                let profile: serde_json::Value =
                    serde_json::from_str(&json).unwrap_or(serde_json::Value::Null);
                out.push(
                    serde_json::json!({ "id": id, "verified": is_verified, "profile": profile }),
                );
            }
            Ok(out)
        })
        .await??;
    Ok(Json(orgs))
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
        "tasks with a deployed product per Land (by=land) or Kreis (by=kreis)",
    ),
];

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
    let mut scope = crate::stats::Scope {
        anchors: s.anchors.to_vec(),
        include_unverified: false,
    };
    let mut by = "land".to_owned();
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
            (other, _) => {
                return Err(ApiError::bad_request(format!(
                    "unknown parameter {other:?} for stats/{name}"
                )));
            }
        }
    }
    let key = format!("api {name} {} {by}", scope.include_unverified);
    let value = crate::aggregates::cached(&s.repo, &s.aggregates, key, move |conn| {
        use crate::stats;
        let to = |v: Result<serde_json::Value, serde_json::Error>| {
            v.map_err(|e| QueryError::Invalid(e.to_string()))
        };
        match name.as_str() {
            "usage" => to(serde_json::to_value(stats::usage(conn, &scope)?)),
            "ratings" => to(serde_json::to_value(stats::ratings(conn, &scope)?)),
            "interop" => to(serde_json::to_value(stats::interop(conn, &scope)?)),
            "duplicates" => to(serde_json::to_value(stats::duplicates(conn)?)),
            "costs" => to(serde_json::to_value(stats::costs(conn, &scope)?)),
            _ => to(serde_json::to_value(stats::coverage(conn, &scope, &by)?)),
        }
    })
    .await??;
    Ok(Json(value.as_ref().clone()))
}

/// Largest request body.
const MAX_BODY_BYTES: usize = 256 * 1024;

/// The index of the tenant whose token is `given`, compared in constant time.
pub(crate) fn tenant_index(tenants: &[Tenant], given: &[u8]) -> Option<usize> {
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
fn require_token(
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

fn parse_body<T: serde::de::DeserializeOwned + allmende_protocol::schema::Validate>(
    body: &[u8],
) -> Result<T, ApiError> {
    let v: T = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))?;
    v.validate()
        .map_err(|e| ApiError::bad_request(format!("invalid {e}")))?;
    Ok(v)
}

fn map_repo(e: crate::repo::RepoError) -> ApiError {
    use crate::repo::RepoError;
    match e {
        RepoError::Document(allmende_protocol::doc::DocError::Schema(e)) => {
            ApiError::bad_request(format!("invalid {e}"))
        }
        RepoError::Document(e @ allmende_protocol::doc::DocError::TooLarge { .. }) => {
            ApiError::bad_request(e.to_string())
        }
        RepoError::Auth { error, .. } => ApiError::forbidden(error.to_string()),
        other => ApiError::internal(other.to_string()),
    }
}

/// Runs a local edit of `header` signed by the tenant's key; returns whether it changed anything.
pub(crate) async fn write(
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
    let now = crate::now();
    let r = s
        .repo
        .call(move |st| st.edit(&signer, header, now, f))
        .await?;
    r.map(|h| h.is_some()).map_err(map_repo)
}

pub(crate) fn record_key() -> Result<String, ApiError> {
    let bytes =
        crate::datadir::random_bytes::<16>().map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(format!(
        "{:#}",
        allmende_protocol::ids::RecordId::from_bytes(bytes)
    ))
}

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
    let nonce =
        crate::datadir::random_bytes::<16>().map_err(|e| ApiError::internal(e.to_string()))?;
    let header = allmende_protocol::doc::DocHeader::product(tenant.org, nonce);
    write(&s, &tenant, header, move |ed| ed.put_root(&product)).await?;
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({ "id": format!("{:#}", header.id()) })),
    ))
}

/// Stores one record of the local organisation's own documents under the key `key_of` picks.
async fn post_record<T>(
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

/// Raw id bytes to filter a list by, if given.
type IdFilter = Option<Vec<u8>>;

/// Default and largest page of the record lists.
const LIST_PAGE: u32 = 1_000;
const LIST_MAX: u32 = 10_000;

/// Filters and paging of the record lists.
#[derive(Debug, Default)]
struct ListQuery {
    product: IdFilter,
    org: IdFilter,
    limit: u32,
    /// Continue after this (org, key), from the previous page's `next` cursor.
    after: Option<(Vec<u8>, String)>,
}

/// A cursor names the last record of a page: `<org hex>.<record key>`.
fn cursor(org: &[u8], key: &str) -> String {
    format!("{}.{key}", hex::encode(org))
}

fn parse_cursor(v: &str) -> Result<(Vec<u8>, String), ApiError> {
    let bad = || ApiError::bad_request(format!("after {v:?} is not a cursor from a Link header"));
    let (org, key) = v.split_once('.').ok_or_else(bad)?;
    let org = hex::decode(org).map_err(|_| bad())?;
    if org.len() != 32 || key.is_empty() || key.len() > 200 {
        return Err(bad());
    }
    Ok((org, key.to_owned()))
}

/// Filters (`product`, `org`) and paging (`limit`, `after`) of the record lists.
fn parse_filters(raw: Option<&str>) -> Result<ListQuery, ApiError> {
    let raw = raw.unwrap_or_default();
    if raw.len() > MAX_QUERY_BYTES {
        return Err(ApiError::bad_request(format!(
            "query string longer than {MAX_QUERY_BYTES} bytes"
        )));
    }
    let mut q = ListQuery {
        limit: LIST_PAGE,
        ..ListQuery::default()
    };
    for (k, v) in url::form_urlencoded::parse(raw.as_bytes()) {
        match k.as_ref() {
            "product" => {
                let id: DocId = v
                    .parse()
                    .map_err(|e| ApiError::bad_request(format!("product: {e}")))?;
                q.product = Some(id.as_bytes().to_vec());
            }
            "org" => {
                let id: OrgId = v
                    .parse()
                    .map_err(|e| ApiError::bad_request(format!("org: {e}")))?;
                q.org = Some(id.as_bytes().to_vec());
            }
            "limit" => {
                q.limit = v
                    .parse()
                    .ok()
                    .filter(|n| (1..=LIST_MAX).contains(n))
                    .ok_or_else(|| ApiError::bad_request(format!("limit must be 1–{LIST_MAX}")))?;
            }
            "after" => q.after = Some(parse_cursor(&v)?),
            other => {
                return Err(ApiError::bad_request(format!(
                    "unknown parameter {other:?}; use product, org, limit or after"
                )));
            }
        }
    }
    Ok(q)
}

/// A record list, ordered by organisation and record key, one page at a time. When more
/// records follow, the answer carries `Link: <…&after=CURSOR>; rel="next"` (RFC 8288).
async fn list(
    s: &ApiState,
    table: &'static str,
    path: &'static str,
    raw: Option<String>,
) -> Result<Response, ApiError> {
    let q = parse_filters(raw.as_deref())?;
    let limit = q.limit;
    let (product, org) = (q.product.clone(), q.org.clone());
    let (after_org, after_key) = q.after.clone().unzip();
    let (rows, last) = s
        .repo
        .call(move |st| -> Result<(Vec<serde_json::Value>, Option<String>), QueryError> {
            let conn = st.repo().store().connection();
            let mut stmt = conn.prepare(&format!(
                "SELECT org, key, product, json FROM {table}
                 WHERE (?1 IS NULL OR product = ?1) AND (?2 IS NULL OR org = ?2)
                   AND (?3 IS NULL OR (org, key) > (?3, ?4))
                 ORDER BY org, key LIMIT ?5"
            ))?;
            let rows = stmt.query_map(
                rusqlite::params![product, org, after_org, after_key, i64::from(limit) + 1],
                |r| Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, String>(1)?, r.get::<_, Vec<u8>>(2)?, r.get::<_, String>(3)?)),
            )?;
            let mut out = Vec::new();
            let mut last = None;
            let mut more = false;
            for r in rows {
                let (org, key, product, json) = r?;
                // A (limit + 1)-th row means another page follows.
                if out.len() == limit as usize {
                    more = true;
                    break;
                }
                last = Some(cursor(&org, &key));
                let record: serde_json::Value = serde_json::from_str(&json).unwrap_or(serde_json::Value::Null);
                out.push(serde_json::json!({
                    "org": hex::encode(org), "key": key, "product": hex::encode(product), "record": record
                }));
            }
            Ok((out, if more { last } else { None }))
        })
        .await??;
    let mut resp = Json(rows).into_response();
    if let Some(c) = last {
        let mut next: Vec<(String, String)> =
            url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
                .filter(|(k, _)| k != "after")
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
        next.push(("after".into(), c));
        let query = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(next)
            .finish();
        if let Ok(v) = axum::http::HeaderValue::from_str(&format!("<{path}?{query}>; rel=\"next\""))
        {
            resp.headers_mut().insert(axum::http::header::LINK, v);
        }
    }
    Ok(resp)
}

async fn deployments(
    State(s): State<ApiState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    list(&s, "idx_deployment", "/api/v1/deployments", raw).await
}

async fn ratings(State(s): State<ApiState>, RawQuery(raw): RawQuery) -> Result<Response, ApiError> {
    list(&s, "idx_rating", "/api/v1/ratings", raw).await
}

async fn reuse_reports(
    State(s): State<ApiState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    list(&s, "idx_reuse", "/api/v1/reuse-reports", raw).await
}

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
            let deployments = stack("SELECT key, json FROM idx_deployment WHERE org = ?1 ORDER BY key")?;
            let ratings = stack("SELECT key, json FROM idx_rating WHERE org = ?1 ORDER BY key")?;
            let reports = stack("SELECT key, json FROM idx_reuse WHERE org = ?1 ORDER BY key")?;
            if profile.is_none() && deployments.is_empty() && ratings.is_empty() && reports.is_empty() {
                return Ok(None);
            }
            let verified = query::verified_orgs(conn, &anchors)?.contains(&org);
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
