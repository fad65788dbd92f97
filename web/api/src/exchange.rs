//! The routes of what helps one body learn from another about a product: whom to ask,
//! training offers and their ratings, and "abgelöst durch" flows
//! ([`allmende_catalog::exchange`]). Registered in [`crate::http`]'s router.

use allmende_catalog::exchange::{self, Contact, Flows, Scope, TaskTrainings, TrainingFilter};
use allmende_protocol::ids::DocId;
use allmende_protocol::schema::{Task, TrainingFormat, TrainingOffer, TrainingRating};
use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use serde::Serialize;

use crate::answers::{self as doc, example};
use crate::http::{ApiError, ApiState, post_record, record_key};

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
        Scope<'_>,
    ) -> Result<T, allmende_catalog::query::QueryError>,
) -> Result<Json<T>, ApiError> {
    let doc = product_id(id)?;
    let mut unverified = false;
    for (k, v) in read_params(raw, &["unverified"])? {
        unverified = flag(k, &v)?;
    }
    let anchors = s.anchors.clone();
    let answer = s
        .repo
        .call(move |st| {
            read(
                st.repo().store().connection(),
                doc,
                Scope {
                    anchors: &anchors,
                    include_unverified: unverified,
                },
            )
        })
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
    let anchors = s.anchors.clone();
    let tasks = s
        .repo
        .call(move |st| {
            exchange::trainings_by_task(
                st.repo().store().connection(),
                &filter,
                Scope {
                    anchors: &anchors,
                    include_unverified: unverified,
                },
            )
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
