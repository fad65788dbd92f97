//! The OpenAPI 3.1 description of the HTTP API, served at `GET /api/v1/openapi.json`.
//!
//! It is generated from the code: every route of [`crate::http::router`] is registered through
//! `utoipa_axum::routes!` from its handler's `#[utoipa::path]` annotation, so the router and
//! this document are built from the same list and cannot drift. Request and response schemas
//! come from the Rust types (the protocol's records with its `utoipa` feature, the answer
//! types of the catalog's `query`, `stats` and `sql`, and [`crate::status`]); the few answers
//! that handlers build as JSON values are described by the schema-only types of
//! [`crate::answers`], and `node/tests/openapi.rs` checks real answers against them.
//!
//! **Example requests.** Each operation carries `x-example-requests`, a list of
//! `{summary, request, status}` objects (plus `body` or `body_text` and `token: "admin"` for
//! writes). [`finish`] turns them into `x-codeSamples` (curl command lines, shown by Redoc and
//! repeated in `docs/research-queries.md`) and into the request bodies' `examples`. The ids in
//! them belong to the small example catalog in [`example`], which the tests build and run every
//! example against.
//!
//! [`finish`] also adds what applies to many operations alike, from the same code that
//! implements it: `If-None-Match`/`ETag`/`304` on every `GET` under `/api/v1/` (middleware
//! `etag`), `413` on every request with a body (the body limit), and the bearer scheme.

use serde_json::{Value, json};

pub use crate::answers::*;

/// The name of the bearer security scheme of the writes.
pub const TOKEN_SCHEME: &str = "bearer";

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
pub fn finish(api: utoipa::openapi::OpenApi) -> Value {
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
