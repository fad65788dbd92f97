//! The OpenAPI 3.1 description of the HTTP API, served at `GET /api/v1/openapi.json`.
//!
//! It is generated from the code: every route of [`crate::http::router`] is registered through
//! `utoipa_axum::routes!` from its handler's `#[utoipa::path]` annotation, so the router and
//! this document are built from the same list and cannot drift. Request and response schemas
//! come from the Rust types (the protocol's records with its `utoipa` feature, the answer
//! types of `query.rs`, `stats.rs`, `sql.rs`, `node.rs`); the few answers that handlers build
//! as JSON values are described by the schema-only types below, and `node/tests/openapi.rs`
//! checks real answers against them.
//!
//! **Example requests.** Each operation carries `x-example-requests`, a list of
//! `{summary, request, status}` objects (plus `body` or `body_text` and `token: "admin"` for
//! writes). [`document`] turns them into `x-codeSamples` (curl command lines, shown by Redoc and
//! repeated in `docs/research-queries.md`) and into the request bodies' `examples`. The ids in
//! them belong to the small example catalog in [`example`], which the tests build and run every
//! example against.
//!
//! [`document`] also adds what applies to many operations alike, from the same code that
//! implements it: `If-None-Match`/`ETag`/`304` on every `GET` under `/api/v1/` (middleware
//! `etag`), `413` on every request with a body (the body limit), and the bearer scheme.

use std::sync::OnceLock;

use allmende_protocol::ids::OrgId;
use allmende_protocol::schema::{Deployment, OrgProfile, Rating, ReuseReport};
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

/// The ids of the example catalog that the example requests use. `node/tests/openapi.rs`
/// builds this catalog from fixed keys and nonces (and fails if these ids do not match), then
/// runs every example request against a node that holds it.
pub mod example {
    /// "Land Nordrhein-Westfalen (Beispiel)", the trust anchor that attests the other two.
    pub const LAND: &str = "d04ab232742bb4ab3a1368bd4615e4e6d0224ab71a016baf8520a332c9778737";
    /// "Stadt Köln (Beispiel)", AGS 05315000.
    pub const KOELN: &str = "a09aa5f47a6759802ff955f8dc2d2a14a5c99d23be97f864127ff9383455a4f0";
    /// "Gemeinde Musterhausen (Beispiel)", AGS 05358008 (Kreis Düren).
    pub const MUSTERHAUSEN: &str =
        "17cb79fb2b4120f2b1ec65e4198d6e08b28e813feb01e4a400839b85e18080ce";
    /// "Bauantrag Online", an EfA online service of NRW (EUPL-1.2, XBau, FIT-Connect).
    pub const BAUANTRAG: &str = "5e417df97a58a25135e422cf4c08d229c0969d770d89866460c23ab14d9bc030";
    /// "Meldewesen Plus", a proprietary Fachverfahren (XMeld).
    pub const MELDEWESEN: &str = "8b6e2473230b8a0d28939f8e456027965f6c3496eb4109660b48dfc449688279";
    /// Köln's deployment of Bauantrag Online.
    pub const DEPLOYMENT_KEY: &str = "0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e01";
    /// Musterhausen's Nachnutzung report about Bauantrag Online.
    pub const REUSE_KEY: &str = "0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e04";

    /// The cursor that a name-ordered product search's `Link` names after the product `id`
    /// called `name` (for the paging example; clients never build cursors).
    pub fn name_cursor(name: &str, id: &str) -> String {
        crate::query::cursor::encode(&[b"n", name.as_bytes(), &hex::decode(id).unwrap_or_default()])
    }
}

/// The error body of every API error (`ApiError` in `http.rs`).
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The stable code.
    pub error: ErrorCode,
    /// For people; may change.
    #[schema(example = "limit must be 1–200")]
    pub message: String,
}

/// The stable error codes (`api.md` §2).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// A malformed or out-of-range parameter or body.
    BadRequest,
    /// A write without a valid token.
    Unauthorized,
    /// Signed but not authorised, or a token writing for another organisation.
    Forbidden,
    /// Unknown path, product, organisation or statistic.
    NotFound,
    /// A likely duplicate, or a ranked search cursor after the products changed.
    Conflict,
    /// A storage error.
    Internal,
    /// The node is shutting down.
    Unavailable,
}

macro_rules! record_types {
    ($($record:ident: $on_page:ident, $item:ident, $own:ident;)+) => {$(
        #[doc = concat!("A ", stringify!($record), " on a product page: who, under which key, the record.")]
        #[derive(Debug, Serialize, ToSchema)]
        pub struct $on_page {
            /// The organisation.
            pub org: OrgId,
            /// The record key (32 hex, for ratings the product id).
            pub key: String,
            /// The record.
            pub record: $record,
        }

        #[doc = concat!("One entry of a ", stringify!($record), " list.")]
        #[derive(Debug, Serialize, ToSchema)]
        pub struct $item {
            /// The organisation.
            pub org: OrgId,
            /// The record key.
            pub key: String,
            /// The product the record is about.
            pub product: String,
            /// The record.
            pub record: $record,
        }

        #[doc = concat!("A ", stringify!($record), " on its organisation's page.")]
        #[derive(Debug, Serialize, ToSchema)]
        pub struct $own {
            /// The record key.
            pub key: String,
            /// The record.
            pub record: $record,
        }
    )+};
}

record_types! {
    Deployment: DeploymentOfProduct, DeploymentItem, OwnDeployment;
    Rating: RatingOfProduct, RatingItem, OwnRating;
    ReuseReport: ReuseReportOfProduct, ReuseReportItem, OwnReuseReport;
}

/// Deployments reporting an integration, by outcome.
#[derive(Debug, Serialize, ToSchema)]
pub struct IntegrationCount {
    /// The deployed product.
    pub product: String,
    /// The product it is integrated with.
    pub other: String,
    /// The standard or interface.
    pub standard: String,
    /// Deployments reporting `works`.
    pub works: u64,
    /// … `partly`.
    pub partly: u64,
    /// … `fails`.
    pub fails: u64,
}

/// An organisation with its own records (`GET /api/v1/organizations/{id}`).
#[derive(Debug, Serialize, ToSchema)]
pub struct OrgPage {
    /// The organisation id.
    pub id: OrgId,
    /// Attested by a trust anchor this node follows.
    pub verified: bool,
    /// Its profile, `null` when it has records but no profile.
    pub profile: Option<OrgProfile>,
    /// Its deployments.
    pub deployments: Vec<OwnDeployment>,
    /// Its ratings.
    pub ratings: Vec<OwnRating>,
    /// Its Nachnutzung reports.
    pub reuse_reports: Vec<OwnReuseReport>,
}

/// `GET /readyz`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness {
    /// Store and network answer, and the node listens for peers.
    pub ready: bool,
    /// `ok` or `not answering`.
    pub store: String,
    /// e.g. `listening on 2 addresses`.
    pub network: String,
}

/// One aggregate in `GET /api/v1/stats`.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatsEntry {
    /// Its name.
    pub name: String,
    /// Where to get it.
    pub href: String,
    /// What it counts.
    pub description: String,
}

/// `GET /api/v1/stats`.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatsIndex {
    /// The aggregates.
    pub stats: Vec<StatsEntry>,
    /// The parameters they take, described.
    pub parameters: std::collections::BTreeMap<String, String>,
}

/// One aggregate (`GET /api/v1/stats/{name}`): the shape depends on the name. Described as
/// `anyOf` the six arrays (an empty array is each of them, so `oneOf` would be wrong).
#[derive(Debug)]
pub struct StatsAnswer;

impl utoipa::PartialSchema for StatsAnswer {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use crate::stats::{Costs, Coverage, Duplicate, Interop, RatingStats, Usage};
        use utoipa::openapi::schema::{AnyOfBuilder, ArrayBuilder, Ref};
        let array = |name: std::borrow::Cow<'static, str>, what: &str| {
            ArrayBuilder::new()
                .items(Ref::from_schema_name(name))
                .description(Some(what))
                .build()
        };
        AnyOfBuilder::new()
            .item(array(Usage::name(), "usage"))
            .item(array(RatingStats::name(), "ratings"))
            .item(array(Interop::name(), "interop"))
            .item(array(Duplicate::name(), "duplicates"))
            .item(array(Costs::name(), "costs"))
            .item(array(Coverage::name(), "coverage"))
            .into()
    }
}

impl ToSchema for StatsAnswer {
    fn schemas(
        schemas: &mut Vec<(
            String,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        )>,
    ) {
        use crate::stats::{Costs, Coverage, Duplicate, Interop, RatingStats, Usage};
        use utoipa::PartialSchema;
        schemas.extend([
            (Usage::name().into_owned(), Usage::schema()),
            (RatingStats::name().into_owned(), RatingStats::schema()),
            (Interop::name().into_owned(), Interop::schema()),
            (Duplicate::name().into_owned(), Duplicate::schema()),
            (Costs::name().into_owned(), Costs::schema()),
            (Coverage::name().into_owned(), Coverage::schema()),
        ]);
    }
}

/// The body of `POST /api/v1/query`.
#[derive(Debug, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SqlBody {
    /// One read-only SQL statement over the documented views (`docs/sql.md`).
    pub sql: String,
    /// 1–300 seconds, default 10.
    pub timeout_secs: Option<u64>,
    /// 1–1,000,000 rows, default 10,000.
    pub max_rows: Option<usize>,
}

/// `POST /api/v1/products` answers the new product's id.
#[derive(Debug, Serialize, ToSchema)]
pub struct Created {
    /// The new product id.
    pub id: String,
}

/// Record writes answer the record key.
#[derive(Debug, Serialize, ToSchema)]
pub struct Stored {
    /// The record key (for ratings the product id).
    pub key: String,
}

/// A warning of the `publiccode.yml` import.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportWarning {
    /// The key it is about.
    pub key: String,
    /// Its line in the file.
    pub line: usize,
    /// What was wrong and what was done.
    pub message: String,
}

/// The answer of `POST /api/v1/import/publiccode`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportAnswer {
    /// The product id.
    pub id: String,
    /// A new entry was created.
    pub created: bool,
    /// The entry changed.
    pub changed: bool,
    /// What was skipped or repaired, with key and line.
    pub warnings: Vec<ImportWarning>,
    /// `usedBy` of the file: hints, not deployments.
    pub used_by: Vec<String>,
}

/// The name of the bearer security scheme of the writes.
pub const TOKEN_SCHEME: &str = "bearer";

/// The finished document as JSON (built once).
pub fn document() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| finish(crate::http::openapi()))
}

/// The base of the example `curl` lines: `API=http://127.0.0.1:8080/api/v1`.
pub const CURL_API: &str = "$API";

/// The curl command line of an example request (also used by `docs/research-queries.md`).
pub fn curl(method: &str, request: &str, ex: &Value) -> String {
    let url = match request.strip_prefix("/api/v1") {
        Some(rest) => format!("{CURL_API}{rest}"),
        None => format!("http://127.0.0.1:8080{request}"),
    };
    let mut line = if method == "get" {
        format!("curl -s \"{url}\"")
    } else {
        format!("curl -s -X {} \"{url}\"", method.to_uppercase())
    };
    if ex.get("token").is_some() {
        line.push_str(" -H \"Authorization: Bearer $TOKEN\"");
    }
    if let Some(body) = ex.get("body") {
        line.push_str(&format!(" -d '{body}'"));
    }
    if ex.get("body_text").is_some() {
        line.push_str(" -H 'Content-Type: application/yaml' --data-binary @publiccode.yml");
    }
    line
}

/// Adds what many operations share and turns the example requests into code samples and body
/// examples (see the module docs).
fn finish(api: utoipa::openapi::OpenApi) -> Value {
    let mut doc = serde_json::to_value(&api).unwrap_or(Value::Null);
    doc["components"]["securitySchemes"] = json!({
        TOKEN_SCHEME: {
            "type": "http", "scheme": "bearer",
            "description": "The node's admin token (`<data dir>/admin.token`) or a hosted member's token (`members/<org id>.token`), compared in constant time (api.md §3)."
        }
    });
    doc["components"]["headers"] = json!({
        "ETag": { "description": "A hash of the answer; send it back in If-None-Match.", "schema": { "type": "string" } },
        "Link": { "description": "RFC 8288 link to the next page: `</api/v1/…&after=CURSOR>; rel=\"next\"`, absent on the last page.", "schema": { "type": "string" } }
    });
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return doc;
    };
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for (method, op) in item.iter_mut() {
            // Exports are streamed, so they carry no ETag (see `http::etag`).
            let cached =
                method == "get" && path.starts_with("/api/v1/") && path != "/api/v1/export";
            if cached {
                let params = op["parameters"].as_array().cloned().unwrap_or_default();
                let mut params = params;
                params.push(json!({
                    "name": "If-None-Match", "in": "header", "required": false,
                    "description": "An ETag of an earlier answer: 304 with no body while the answer is unchanged.",
                    "schema": { "type": "string" }
                }));
                op["parameters"] = Value::Array(params);
                op["responses"]["304"] = json!({ "description": "Not modified: the answer still has the ETag given in If-None-Match." });
                if let Some(ok) = op["responses"].get_mut("200") {
                    ok["headers"]["ETag"] = json!({ "$ref": "#/components/headers/ETag" });
                }
            }
            if op.get("requestBody").is_some() {
                op["responses"]["413"] = json!({
                    "description": "The body exceeds 256 KiB (plain text from the HTTP framework, not the JSON error body).",
                    "content": { "text/plain": { "schema": { "type": "string" } } }
                });
            }
            let examples = op
                .get("x-example-requests")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let samples: Vec<Value> = examples
                .iter()
                .map(|ex| {
                    json!({
                        "lang": "Shell",
                        "label": ex["summary"].as_str().unwrap_or("curl"),
                        "source": curl(method, ex["request"].as_str().unwrap_or(path), ex),
                    })
                })
                .collect();
            if !samples.is_empty() {
                op["x-codeSamples"] = Value::Array(samples);
            }
            if let Some(content) = op
                .get_mut("requestBody")
                .and_then(|b| b.get_mut("content"))
                .and_then(Value::as_object_mut)
            {
                for (_, media) in content.iter_mut() {
                    let named: serde_json::Map<String, Value> = examples
                        .iter()
                        .enumerate()
                        .filter_map(|(i, ex)| {
                            let value = ex.get("body").or_else(|| ex.get("body_text"))?;
                            Some((
                                format!("example{}", i + 1),
                                json!({ "summary": ex["summary"], "value": value }),
                            ))
                        })
                        .collect();
                    if !named.is_empty() {
                        media["examples"] = Value::Object(named);
                    }
                }
            }
        }
    }
    doc
}
