#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The OpenAPI description served at `/api/v1/openapi.json`: it is valid OpenAPI 3.1, every
//! example request it documents gets the documented status from a node that holds the
//! example catalog (and its answer fits the documented schema), every route is documented and
//! every documented route exists, and `docs/research-queries.md` uses the documented examples.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use allmende_node::datadir::DataDir;
use allmende_node::net::NetConfig;
use allmende_node::node::{Node, NodeConfig};
use allmende_node::openapi::example;
use allmende_protocol::doc::{DocHeader, DocKind, Record};
use allmende_protocol::identity::Keypair;
use allmende_protocol::ids::OrgId;
use allmende_protocol::schema::{
    Attestation, Deployment, OrgProfile, Product, Rating, ReuseReport, TrainingOffer,
    TrainingRating, UnixTime,
};
use serde_json::{Value, json};

/// The example catalog's organisations: fixed keys, so their ids are the documented ones.
fn key(seed: u8) -> Keypair {
    Keypair::from_secret_bytes(&[seed; 32]).unwrap()
}
const LAND: u8 = 0x11;
const KOELN: u8 = 0x22;
const MUSTERHAUSEN: u8 = 0x33;
const BAUANTRAG_NONCE: [u8; 16] = [0xb1; 16];
const MELDEWESEN_NONCE: [u8; 16] = [0xb2; 16];

fn org(seed: u8) -> OrgId {
    OrgId::from_root_key(key(seed).public())
}

fn ids() -> BTreeMap<&'static str, String> {
    BTreeMap::from([
        ("LAND", format!("{:#}", org(LAND))),
        ("KOELN", format!("{:#}", org(KOELN))),
        ("MUSTERHAUSEN", format!("{:#}", org(MUSTERHAUSEN))),
        (
            "BAUANTRAG",
            format!("{:#}", DocHeader::product(org(LAND), BAUANTRAG_NONCE).id()),
        ),
        (
            "MELDEWESEN",
            format!(
                "{:#}",
                DocHeader::product(org(KOELN), MELDEWESEN_NONCE).id()
            ),
        ),
    ])
}

/// One edit of the example catalog: who signs, which document, what to put where.
async fn put<T: Record + Send + 'static>(
    node: &Node,
    seed: u8,
    header: DocHeader,
    key_: Option<String>,
    record: Value,
) {
    let record: T = serde_json::from_value(record).unwrap();
    let signer = key(seed);
    node.repo
        .call(move |st| {
            st.edit(
                &signer,
                header,
                UnixTime(1_700_000_000),
                move |ed| match key_ {
                    Some(k) => ed.put(&k, &record),
                    None => ed.put_root(&record),
                },
            )
        })
        .await
        .unwrap()
        .unwrap();
}

/// The example catalog the documented example requests refer to.
async fn build_example_catalog(node: &Node) {
    let ids = ids();
    let (bauantrag, meldewesen) = (ids["BAUANTRAG"].clone(), ids["MELDEWESEN"].clone());
    for (seed, profile) in [
        (
            LAND,
            json!({"name": "Land Nordrhein-Westfalen (Beispiel)", "kind": "land", "land": "05"}),
        ),
        (
            KOELN,
            json!({"name": "Stadt Köln (Beispiel)", "kind": "kommune", "ags": "05315000", "land": "05", "population": 1_084_000}),
        ),
        (
            MUSTERHAUSEN,
            json!({"name": "Gemeinde Musterhausen (Beispiel)", "kind": "kommune", "ags": "05358008", "land": "05", "population": 12_000}),
        ),
    ] {
        put::<OrgProfile>(
            node,
            seed,
            DocHeader::singleton(DocKind::Profile, org(seed)),
            None,
            profile,
        )
        .await;
    }
    for seed in [KOELN, MUSTERHAUSEN] {
        let o = org(seed);
        put::<Attestation>(
            node,
            LAND,
            DocHeader::singleton(DocKind::Trust, org(LAND)),
            Some(format!("{o:#}")),
            json!({"org": o, "name": if seed == KOELN { "Stadt Köln (Beispiel)" } else { "Gemeinde Musterhausen (Beispiel)" },
                   "kind": "kommune", "attested_at": 1_700_000_000}),
        )
        .await;
    }
    put::<Product>(
        node,
        LAND,
        DocHeader::product(org(LAND), BAUANTRAG_NONCE),
        None,
        json!({
            "name": "Bauantrag Online", "vendor": "Land NRW", "kind": "onlinedienst",
            "description": "Bauanträge digital einreichen, prüfen und bescheiden",
            "categories": ["Bauen & Wohnen"], "tasks": ["99009001001000"], "licence": "EUPL-1.2",
            "repository": "https://gitlab.opencode.de/beispiel/bauantrag-online",
            "standards": ["XBau", "FIT-Connect"], "hosting": ["saas", "it-dienstleister"],
            "efa": {"providing_land": "05", "reuse_route": "FITKO-Marktplatz"}
        }),
    )
    .await;
    put::<Product>(node, KOELN, DocHeader::product(org(KOELN), MELDEWESEN_NONCE), None, json!({
        "name": "Meldewesen Plus", "vendor": "Beispiel Software GmbH", "kind": "fachverfahren",
        "description": "Fachverfahren für das Einwohnermeldewesen", "tasks": ["99115001001000"],
        "licence": "LicenseRef-proprietary", "standards": ["XMeld", "OSCI-Transport"], "hosting": ["on-premise"]
    })).await;
    let deployments = |seed| DocHeader::singleton(DocKind::Deployments, org(seed));
    put::<Deployment>(node, KOELN, deployments(KOELN), Some(example::DEPLOYMENT_KEY.into()), json!({
        "product": bauantrag, "status": "production", "since": "2023-04-01", "operated_by": {"by": "saas"},
        "tasks": ["99009001001000"], "cost_yearly_eur": 48_000,
        "integrations": [{"product": meldewesen, "standard": "FIT-Connect", "status": "works"}],
        "contact_role": "Bauaufsichtsamt, Produktverantwortliche", "exchange_ok": true
    })).await;
    put::<Deployment>(node, MUSTERHAUSEN, deployments(MUSTERHAUSEN), Some("0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e06".into()), json!({
        "product": meldewesen, "status": "retired", "operated_by": {"by": "self"}, "since": "2015-01-01",
        "until": "2023-03-31", "replaced_by": bauantrag, "end_reason": "Antragsstrecke jetzt online über das Land"
    })).await;
    put::<TrainingOffer>(node, KOELN, DocHeader::singleton(DocKind::Experience, org(KOELN)), Some(example::TRAINING_KEY.into()), json!({
        "product": meldewesen, "title": "Meldewesen Plus für Einsteiger", "provider": "Stadt Köln, Amt für Informationsverarbeitung",
        "format": "in-person", "duration_minutes": 420, "cost_eur": 250, "roles": ["Sachbearbeitung Bürgeramt"],
        "link": "https://www.stadt-koeln.example/schulungen/meldewesen"
    })).await;
    put::<TrainingRating>(
        node,
        MUSTERHAUSEN,
        DocHeader::singleton(DocKind::Experience, org(MUSTERHAUSEN)),
        Some(format!("{}/{}", ids["KOELN"], example::TRAINING_KEY)),
        json!({
            "org": ids["KOELN"], "offer": example::TRAINING_KEY, "score": 5, "recommend": true
        }),
    )
    .await;
    put::<Deployment>(
        node,
        KOELN,
        deployments(KOELN),
        Some("0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e02".into()),
        json!({
            "product": meldewesen, "status": "production", "operated_by": {"by": "self"},
            "cost_once_eur": 120_000, "cost_yearly_eur": 250_000
        }),
    )
    .await;
    put::<Deployment>(node, MUSTERHAUSEN, deployments(MUSTERHAUSEN), Some("0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e03".into()), json!({
        "product": bauantrag, "status": "pilot", "operated_by": {"by": "saas"}, "cost_yearly_eur": 1_200
    })).await;
    put::<Rating>(
        node,
        KOELN,
        DocHeader::singleton(DocKind::Experience, org(KOELN)),
        Some(bauantrag.clone()),
        json!({
            "product": bauantrag, "scores": {"functionality": 4, "usability": 5}, "recommend": true,
            "text": "Läuft stabil; die XBau-Anbindung musste nachgebessert werden."
        }),
    )
    .await;
    put::<ReuseReport>(node, MUSTERHAUSEN, DocHeader::singleton(DocKind::Experience, org(MUSTERHAUSEN)), Some(example::REUSE_KEY.into()), json!({
        "product": bauantrag, "provider": ids["LAND"], "efa": true, "effort_person_days": 15,
        "weeks_to_production": 10, "obstacles": ["organisational"], "outcome": "production", "recommend": true
    })).await;
}

/// A node with its own organisation (for the admin token), following the example Land as
/// trust anchor, serving HTTP on 127.0.0.1, holding the example catalog.
async fn example_node(dir: &Path) -> (Node, String) {
    let dd = DataDir::new(dir.to_owned());
    dd.create_identity().unwrap();
    let node = Node::spawn(NodeConfig {
        data_dir: dir.to_owned(),
        identity_file: None,
        net: NetConfig {
            listen: vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
            mdns: false,
            ..NetConfig::default()
        },
        http: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
        trust_anchors: vec![org(LAND)],
        quarantine: Default::default(),
        demo: false,
    })
    .await
    .unwrap();
    build_example_catalog(&node).await;
    (node, dd.admin_token().unwrap())
}

/// One HTTP/1.1 request; returns status, lowercase header lines and body.
fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<(&str, &str)>,
) -> (u16, String, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let (ctype, body) = body.unwrap_or(("application/json", ""));
    write!(
        s,
        "{} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: {ctype}\r\n{auth}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        method.to_uppercase(),
        body.len()
    )
    .unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let code = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (code, head.to_lowercase(), body.to_owned())
}

async fn fetch_doc(addr: SocketAddr) -> (String, Value) {
    let (code, _, body) = tokio::task::spawn_blocking(move || {
        request(addr, "get", "/api/v1/openapi.json", None, None)
    })
    .await
    .unwrap();
    assert_eq!(code, 200, "{body}");
    let doc = serde_json::from_str(&body).unwrap();
    (body, doc)
}

const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Every (path, method, operation) of the document.
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if METHODS.contains(&method.as_str()) {
                out.push((path.clone(), method.clone(), op.clone()));
            }
        }
    }
    out
}

/// Whether a concrete request path (without query) fits a path template.
fn fits(template: &str, path: &str) -> bool {
    let (t, p): (Vec<&str>, Vec<&str>) = (template.split('/').collect(), path.split('/').collect());
    t.len() == p.len()
        && t.iter()
            .zip(&p)
            .all(|(t, p)| (t.starts_with('{') && t.ends_with('}') && !p.is_empty()) || t == p)
}

/// Follows a local `$ref`.
fn resolve<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    match v.get("$ref").and_then(Value::as_str) {
        Some(r) => resolve(
            doc,
            doc.pointer(r.trim_start_matches('#'))
                .unwrap_or(&Value::Null),
        ),
        None => v,
    }
}

/// Checks `value` against `schema` for the JSON Schema keywords utoipa emits. Stricter than
/// JSON Schema in one way, on purpose: an object schema with `properties` is treated as closed,
/// so an answer field the description does not name is reported (drift between a handler's
/// JSON and the schema-only types in `openapi.rs`).
fn check(doc: &Value, schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
    let schema = resolve(doc, schema);
    if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
        for s in all {
            check(doc, s, value, at, errors);
        }
    }
    for (key, exactly_one) in [("oneOf", true), ("anyOf", false)] {
        if let Some(options) = schema.get(key).and_then(Value::as_array) {
            let fitting = options
                .iter()
                .filter(|s| {
                    let mut e = Vec::new();
                    check(doc, s, value, at, &mut e);
                    e.is_empty()
                })
                .count();
            if fitting == 0 || (exactly_one && fitting > 1) {
                errors.push(format!("{at}: {fitting} alternatives of {key} fit {value}"));
            }
        }
    }
    if let Some(t) = schema.get("type") {
        let types: Vec<&str> = match t {
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        let ok = types.iter().any(|t| match *t {
            "null" => value.is_null(),
            "boolean" => value.is_boolean(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            "string" => value.is_string(),
            "array" => value.is_array(),
            "object" => value.is_object(),
            _ => false,
        });
        if !ok {
            errors.push(format!("{at}: {value} is not of type {t}"));
            return;
        }
    }
    if let Some(options) = schema.get("enum").and_then(Value::as_array)
        && !options.contains(value)
    {
        errors.push(format!("{at}: {value} is not one of {options:?}"));
    }
    if let (Some(min), Some(n)) = (
        schema.get("minimum").and_then(Value::as_f64),
        value.as_f64(),
    ) && n < min
    {
        errors.push(format!("{at}: {n} < minimum {min}"));
    }
    if let (Some(max), Some(n)) = (
        schema.get("maximum").and_then(Value::as_f64),
        value.as_f64(),
    ) && n > max
    {
        errors.push(format!("{at}: {n} > maximum {max}"));
    }
    if let Some(items) = schema.get("items")
        && let Some(a) = value.as_array()
    {
        for (i, v) in a.iter().enumerate() {
            check(doc, items, v, &format!("{at}[{i}]"), errors);
        }
    }
    if let Some(obj) = value.as_object() {
        let props = schema.get("properties").and_then(Value::as_object);
        for r in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(r) = r.as_str()
                && !obj.contains_key(r)
            {
                errors.push(format!("{at}: required field {r} is missing"));
            }
        }
        for (k, v) in obj {
            match (
                props.and_then(|p| p.get(k)),
                schema.get("additionalProperties"),
            ) {
                (Some(s), _) => check(doc, s, v, &format!("{at}.{k}"), errors),
                (None, Some(Value::Bool(false))) => {
                    errors.push(format!("{at}: field {k} is not allowed"))
                }
                (None, Some(s)) if s.is_object() => check(doc, s, v, &format!("{at}.{k}"), errors),
                (None, _) if props.is_some() => {
                    errors.push(format!("{at}: field {k} is not in the schema"))
                }
                _ => {}
            }
        }
    }
}

/// Collects every `$ref` in the document.
fn refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                match (k.as_str(), v) {
                    ("$ref", Value::String(r)) => out.push(r.clone()),
                    _ => refs(v, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[test]
fn the_documented_example_ids_are_those_of_the_example_catalog() {
    let ids = ids();
    let documented = BTreeMap::from([
        ("LAND", example::LAND),
        ("KOELN", example::KOELN),
        ("MUSTERHAUSEN", example::MUSTERHAUSEN),
        ("BAUANTRAG", example::BAUANTRAG),
        ("MELDEWESEN", example::MELDEWESEN),
    ]);
    for (name, id) in &ids {
        assert_eq!(
            documented[name], id,
            "allmende_node::openapi::example::{name} must be the id the example catalog gives it: {ids:#?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_served_document_is_valid_openapi_3_1() {
    let tmp = tempfile::tempdir().unwrap();
    let (node, _) = example_node(tmp.path()).await;
    let (text, doc) = fetch_doc(node.http_addr.unwrap()).await;
    node.shutdown().await;

    // `ALLMENDE_OPENAPI_OUT=FILE` keeps a copy, e.g. for scripts/schemathesis.sh.
    if let Some(out) = std::env::var_os("ALLMENDE_OPENAPI_OUT") {
        std::fs::write(out, &text).unwrap();
    }
    // Typed reading of the whole document as OpenAPI 3.1.
    let spec = oas3::from_json(&text).unwrap_or_else(|e| panic!("not OpenAPI 3.1: {e}"));
    assert!(spec.openapi.starts_with("3.1."), "{}", spec.openapi);
    assert!(!spec.info.title.is_empty() && !spec.info.version.is_empty());

    let mut problems = Vec::new();
    // Every reference resolves.
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(!all.is_empty());
    for r in &all {
        if !r.starts_with("#/") || doc.pointer(&r[1..]).is_none() {
            problems.push(format!("$ref {r} does not resolve"));
        }
    }
    let mut operation_ids = BTreeSet::new();
    for (path, method, op) in operations(&doc) {
        let at = format!("{} {path}", method.to_uppercase());
        if let Some(id) = op.get("operationId").and_then(Value::as_str)
            && !operation_ids.insert(id.to_owned())
        {
            problems.push(format!("{at}: operationId {id} twice"));
        }
        let params: Vec<&Value> = op["parameters"]
            .as_array()
            .map(|a| a.iter().map(|p| resolve(&doc, p)).collect())
            .unwrap_or_default();
        // Every path parameter is declared, required, and every declared one is in the path.
        let in_path: BTreeSet<&str> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .collect();
        let declared: BTreeSet<&str> = params
            .iter()
            .filter(|p| p["in"] == "path")
            .map(|p| {
                if p["required"] != true {
                    problems.push(format!(
                        "{at}: path parameter {} is not required",
                        p["name"]
                    ));
                }
                p["name"].as_str().unwrap_or("")
            })
            .collect();
        if in_path != declared {
            problems.push(format!(
                "{at}: path parameters {in_path:?}, declared {declared:?}"
            ));
        }
        for p in &params {
            if p.get("schema").is_none() {
                problems.push(format!("{at}: parameter {} has no schema", p["name"]));
            }
        }
        // Responses: a success, and the JSON error body for every API error.
        let responses = op["responses"].as_object().unwrap();
        if !responses.keys().any(|k| k.starts_with('2')) {
            problems.push(format!("{at}: no success response"));
        }
        for (code, r) in responses {
            let r = resolve(&doc, r);
            if r.get("description")
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
            {
                problems.push(format!("{at} {code}: no description"));
            }
            let is_api_error = (code.starts_with('4') || code.starts_with('5'))
                && code != "413"
                && path.starts_with("/api/v1/");
            if is_api_error
                && r["content"]["application/json"]["schema"]["$ref"]
                    != "#/components/schemas/ErrorBody"
            {
                problems.push(format!("{at} {code}: not the JSON error body"));
            }
        }
        // Writes need the bearer token, and say 401.
        if method == "post" {
            if op["security"] != json!([{"bearer": []}]) {
                problems.push(format!("{at}: no bearer security"));
            }
            if responses.get("401").is_none() {
                problems.push(format!("{at}: no 401"));
            }
        }
        // At least one example request, each fitting the operation.
        let examples = op["x-example-requests"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if examples.is_empty() {
            problems.push(format!("{at}: no example request"));
        }
        if op["x-codeSamples"].as_array().map(Vec::len) != Some(examples.len()) {
            problems.push(format!("{at}: x-codeSamples do not match the examples"));
        }
        let query_params: BTreeSet<&str> = params
            .iter()
            .filter(|p| p["in"] == "query")
            .filter_map(|p| p["name"].as_str())
            .collect();
        for ex in &examples {
            let request = ex["request"].as_str().unwrap_or("");
            let (p, q) = request.split_once('?').unwrap_or((request, ""));
            if !fits(&path, p) {
                problems.push(format!("{at}: example {request} is another path"));
            }
            let status = ex["status"].as_u64().unwrap_or(0).to_string();
            // Examples of refusals may use unknown parameters on purpose.
            for (k, _) in url::form_urlencoded::parse(q.as_bytes()) {
                if status.starts_with('2') && !query_params.contains(k.as_ref()) {
                    problems.push(format!(
                        "{at}: example {request} uses undeclared parameter {k}"
                    ));
                }
            }
            if !responses.contains_key(&status) {
                problems.push(format!(
                    "{at}: example {request} expects undocumented status {status}"
                ));
            }
            // A body meant to succeed fits the request schema.
            if let Some(body) = ex.get("body")
                && status.starts_with('2')
            {
                let schema = &op["requestBody"]["content"]["application/json"]["schema"];
                let mut e = Vec::new();
                check(&doc, schema, body, &format!("{at} example body"), &mut e);
                // Request bodies may leave out fields the server defaults.
                problems.extend(e.into_iter().filter(|e| !e.contains("is missing")));
            }
        }
    }
    assert!(operation_ids.len() >= 20, "{operation_ids:?}");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_example_request_gets_its_documented_status_and_shape() {
    let tmp = tempfile::tempdir().unwrap();
    let (node, token) = example_node(tmp.path()).await;
    let addr = node.http_addr.unwrap();
    let (_, doc) = fetch_doc(addr).await;
    let failures = tokio::task::spawn_blocking(move || {
        let mut failures = Vec::new();
        let mut ran = 0;
        for (path, method, op) in operations(&doc) {
            for ex in op["x-example-requests"].as_array().into_iter().flatten() {
                let path_q = ex["request"].as_str().unwrap();
                let token = ex.get("token").map(|_| token.as_str());
                let json_body = ex.get("body").map(Value::to_string);
                let body = match (&json_body, ex.get("body_text").and_then(Value::as_str)) {
                    (Some(b), _) => Some(("application/json", b.as_str())),
                    (None, Some(t)) => Some(("application/yaml", t)),
                    _ => None,
                };
                let (code, _, answer) = request(addr, &method, path_q, token, body);
                ran += 1;
                let want = ex["status"].as_u64().unwrap();
                let at = format!("{} {path_q} ({})", method.to_uppercase(), ex["summary"]);
                if u64::from(code) != want {
                    failures.push(format!("{at}: {code}, documented {want}: {answer}"));
                    continue;
                }
                let documented = &op["responses"][code.to_string()];
                let Some(schema) = documented["content"]
                    .get("application/json")
                    .map(|c| &c["schema"])
                else {
                    continue;
                };
                let Ok(value) = serde_json::from_str::<Value>(&answer) else {
                    failures.push(format!("{at}: answer is not JSON: {answer}"));
                    continue;
                };
                let mut errors = Vec::new();
                check(&doc, schema, &value, &format!("{at} answer"), &mut errors);
                failures.extend(errors);
                let _ = &path;
            }
        }
        assert!(ran >= 40, "only {ran} examples");
        failures
    })
    .await
    .unwrap();
    node.shutdown().await;
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_is_documented_and_every_documented_route_exists() {
    // Router → description: every route of `http::router` is registered through `routes!`
    // from its `#[utoipa::path]`; the only plain `.route(…)` calls are the JSON fallbacks for
    // unknown API paths. A route added any other way fails here.
    let source = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../web/api/src/http.rs"),
    )
    .unwrap();
    let mut plain: Vec<&str> = source
        .match_indices(".route(")
        .map(|(i, _)| {
            let rest = &source[i..];
            let start = rest.find('"').unwrap() + 1;
            let end = start + rest[start..].find('"').unwrap();
            &rest[start..end]
        })
        .collect();
    plain.sort();
    assert_eq!(
        plain,
        ["/api/v1", "/api/v1/{*rest}"],
        "routes outside routes!(…)"
    );
    for forbidden in [".nest(", ".merge(", ".nest_service(", ".route_service("] {
        assert!(
            !source.contains(forbidden),
            "http.rs uses {forbidden}: document the routes instead"
        );
    }
    let registered: BTreeSet<String> = source
        .match_indices("routes!(")
        .flat_map(|(i, _)| {
            let rest = &source[i + "routes!(".len()..];
            rest[..rest.find(')').unwrap()]
                .split(',')
                .map(|h| h.trim().to_owned())
                .filter(|h| !h.is_empty())
                .collect::<Vec<_>>()
        })
        .collect();

    // Description → router: every documented operation is answered by its handler, not by
    // the fallback, and with its method.
    let tmp = tempfile::tempdir().unwrap();
    let (node, _) = example_node(tmp.path()).await;
    let addr = node.http_addr.unwrap();
    let (_, doc) = fetch_doc(addr).await;
    let ops = operations(&doc);
    let documented: BTreeSet<String> = ops
        .iter()
        .map(|(_, _, op)| op["operationId"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        registered, documented,
        "handlers in routes!(…) vs operations in the description"
    );
    let failures = tokio::task::spawn_blocking(move || {
        let mut failures = Vec::new();
        for (path, method, op) in ops {
            let concrete: String = path
                .split('/')
                .map(
                    |seg| match seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                        Some(name) => op["parameters"]
                            .as_array()
                            .and_then(|ps| ps.iter().find(|p| p["name"] == name))
                            .and_then(|p| {
                                p["example"]
                                    .as_str()
                                    .or(p["schema"]["examples"][0].as_str())
                            })
                            .unwrap_or("x")
                            .to_owned(),
                        None => seg.to_owned(),
                    },
                )
                .collect::<Vec<_>>()
                .join("/");
            let (code, _, body) = request(
                addr,
                &method,
                &concrete,
                None,
                Some(("application/json", "{}")),
            );
            if code == 405 || body.contains("no such endpoint") {
                failures.push(format!(
                    "{} {path} ({concrete}): {code} {body}",
                    method.to_uppercase()
                ));
            }
        }
        failures
    })
    .await
    .unwrap();
    node.shutdown().await;
    assert!(
        failures.is_empty(),
        "documented but not routed:\n{}",
        failures.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_research_queries_page_uses_the_documented_examples() {
    let tmp = tempfile::tempdir().unwrap();
    let (node, _) = example_node(tmp.path()).await;
    let (_, doc) = fetch_doc(node.http_addr.unwrap()).await;
    node.shutdown().await;
    let samples: BTreeSet<String> = operations(&doc)
        .iter()
        .flat_map(|(_, _, op)| {
            op["x-codeSamples"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|s| s["source"].as_str().map(str::to_owned))
                .collect::<Vec<_>>()
        })
        .collect();
    let page = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/research-queries.md"),
    )
    .unwrap();
    let curls: Vec<&str> = page
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("curl -s \"$API") || l.starts_with("curl -s -X "))
        .collect();
    assert!(curls.len() >= 10, "{curls:?}");
    let unknown: Vec<&&str> = curls.iter().filter(|c| !samples.contains(**c)).collect();
    assert!(
        unknown.is_empty(),
        "curl lines in docs/research-queries.md that are not documented examples: {unknown:#?}\nthe examples are:\n{}",
        samples.iter().cloned().collect::<Vec<_>>().join("\n")
    );
}

/// Follows `Link: <…>; rel="next"` from `first`; returns every page's body.
fn walk(addr: SocketAddr, first: &str) -> Vec<Value> {
    let mut pages = Vec::new();
    let mut next = Some(first.to_owned());
    while let Some(path) = next.take() {
        let (code, head, body) = request(addr, "get", &path, None, None);
        assert_eq!(code, 200, "{path}: {body}");
        pages.push(serde_json::from_str(&body).unwrap());
        next = head
            .lines()
            .find_map(|l| l.strip_prefix("link: <"))
            .map(|l| l.split('>').next().unwrap().to_owned());
        assert!(pages.len() < 50, "endless paging");
    }
    pages
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn products_and_organisations_page_with_a_cursor() {
    let tmp = tempfile::tempdir().unwrap();
    let (node, token) = example_node(tmp.path()).await;
    let addr = node.http_addr.unwrap();
    tokio::task::spawn_blocking(move || {
        for name in [
            "Bauhof digital",
            "Abfallportal",
            "bauleitplanung XPlan",
            "Zulassung Kfz",
        ] {
            let body =
                json!({"name": name, "vendor": format!("Hersteller {name}"), "kind": "software"})
                    .to_string();
            let (code, _, answer) = request(
                addr,
                "post",
                "/api/v1/products?new=true",
                Some(&token),
                Some(("application/json", &body)),
            );
            assert_eq!(code, 201, "{answer}");
        }
        // By name (ASCII case-insensitive), then id: every product once, in order.
        let pages = walk(addr, "/api/v1/products?limit=2&standard=XBau&limit=2");
        assert_eq!(pages.len(), 1, "one XBau product: {pages:?}");
        let pages = walk(addr, "/api/v1/products?limit=2");
        assert_eq!(pages.len(), 3);
        let names: Vec<String> = pages
            .iter()
            .flat_map(|p| {
                p["hits"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|h| h["name"].as_str().unwrap().to_owned())
            })
            .collect();
        assert_eq!(
            names,
            [
                "Abfallportal",
                "Bauantrag Online",
                "Bauhof digital",
                "bauleitplanung XPlan",
                "Meldewesen Plus",
                "Zulassung Kfz"
            ]
        );
        assert!(pages.iter().all(|p| p["total"] == 6));
        assert!(pages[2]["next"].is_null() && pages[0]["next"].is_string());
        // Keyset: a product added before the cursor does not shift the next page.
        let (_, head, _) = request(addr, "get", "/api/v1/products?limit=3", None, None);
        let next = head
            .lines()
            .find_map(|l| l.strip_prefix("link: <"))
            .unwrap()
            .split('>')
            .next()
            .unwrap()
            .to_owned();
        let body = json!({"name": "Aaa Archiv", "vendor": "A", "kind": "software"}).to_string();
        assert_eq!(
            request(
                addr,
                "post",
                "/api/v1/products?new=true",
                Some(&token),
                Some(("application/json", &body))
            )
            .0,
            201
        );
        let (code, _, page) = request(addr, "get", &next, None, None);
        assert_eq!(code, 200);
        let page: Value = serde_json::from_str(&page).unwrap();
        assert_eq!(page["hits"][0]["name"], "bauleitplanung XPlan", "{page}");

        // Ranked: the walk works while nothing changes, and a product change makes the
        // cursor stale (409) instead of repeating or skipping hits.
        let pages = walk(addr, "/api/v1/products?q=bau&limit=1");
        let ranked: BTreeSet<String> = pages
            .iter()
            .map(|p| p["hits"][0]["id"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(ranked.len(), 3, "{pages:?}");
        let (_, head, _) = request(addr, "get", "/api/v1/products?q=bau&limit=1", None, None);
        let next = head
            .lines()
            .find_map(|l| l.strip_prefix("link: <"))
            .unwrap()
            .split('>')
            .next()
            .unwrap()
            .to_owned();
        let body = json!({"name": "Baumkataster", "vendor": "B", "kind": "software"}).to_string();
        assert_eq!(
            request(
                addr,
                "post",
                "/api/v1/products?new=true",
                Some(&token),
                Some(("application/json", &body))
            )
            .0,
            201
        );
        let (code, _, answer) = request(addr, "get", &next, None, None);
        assert_eq!(code, 409, "{answer}");
        // A name-ordered cursor is no cursor of a ranked search, and the reverse.
        let (code, _, _) = request(
            addr,
            "get",
            &format!(
                "/api/v1/products?q=bau&after={}",
                example::name_cursor("Abfallportal", example::BAUANTRAG)
            ),
            None,
            None,
        );
        assert_eq!(code, 400);
        for bad in [
            "after=zz",
            "after=6e.00",
            "offset=1&after=6e.00.00",
            "limit=201",
        ] {
            let (code, _, answer) =
                request(addr, "get", &format!("/api/v1/products?{bad}"), None, None);
            assert_eq!(code, 400, "{bad}: {answer}");
        }

        // Organisations: by name, filtered, a page at a time.
        let pages = walk(addr, "/api/v1/organizations?limit=1");
        let orgs: Vec<String> = pages
            .iter()
            .flat_map(|p| {
                p.as_array()
                    .unwrap()
                    .iter()
                    .map(|o| o["profile"]["name"].as_str().unwrap().to_owned())
            })
            .collect();
        assert_eq!(
            orgs.len(),
            3,
            "the node's own organisation has no profile: {orgs:?}"
        );
        let mut sorted = orgs.clone();
        sorted.sort();
        assert_eq!(orgs, sorted);
        let verified = walk(addr, "/api/v1/organizations?verified=true&limit=1");
        assert_eq!(verified.len(), 2);
        assert!(verified.iter().all(|p| p[0]["verified"] == true));
        // One organisation's page says the same as the list, either way.
        for listed in walk(addr, "/api/v1/organizations?limit=1") {
            let id = listed[0]["id"].as_str().unwrap();
            let (code, _, body) = request(
                addr,
                "get",
                &format!("/api/v1/organizations/{id}"),
                None,
                None,
            );
            assert_eq!(code, 200, "{body}");
            let page: Value = serde_json::from_str(&body).unwrap();
            assert_eq!(page["verified"], listed[0]["verified"], "{id}");
        }
        let (_, _, body) = request(
            addr,
            "get",
            "/api/v1/organizations?verified=false&kind=land",
            None,
            None,
        );
        let land: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(land.as_array().unwrap().len(), 1, "{land}");
        let (_, _, body) = request(addr, "get", "/api/v1/organizations?kreis=05358", None, None);
        assert_eq!(
            serde_json::from_str::<Value>(&body).unwrap()[0]["profile"]["ags"],
            "05358008"
        );
        for bad in [
            "kind=planet",
            "verified=yes",
            "after=xyz",
            "limit=0",
            "colour=red",
        ] {
            let (code, _, answer) = request(
                addr,
                "get",
                &format!("/api/v1/organizations?{bad}"),
                None,
                None,
            );
            assert_eq!(code, 400, "{bad}: {answer}");
        }

        // Record lists: the new filters.
        let (_, _, body) = request(addr, "get", "/api/v1/deployments?kreis=05358", None, None);
        // Musterhausen's pilot of Bauantrag Online and its retired Meldewesen Plus.
        assert_eq!(
            serde_json::from_str::<Value>(&body)
                .unwrap()
                .as_array()
                .unwrap()
                .len(),
            2
        );
        let (_, _, body) = request(
            addr,
            "get",
            "/api/v1/deployments?land=05&status=pilot",
            None,
            None,
        );
        assert_eq!(
            serde_json::from_str::<Value>(&body).unwrap()[0]["record"]["status"],
            "pilot"
        );
        let (_, _, body) = request(
            addr,
            "get",
            "/api/v1/reuse-reports?outcome=laufend",
            None,
            None,
        );
        assert_eq!(body, "[]");
        for bad in [
            "/api/v1/deployments?outcome=production",
            "/api/v1/ratings?status=pilot",
            "/api/v1/deployments?status=running",
        ] {
            assert_eq!(request(addr, "get", bad, None, None).0, 400, "{bad}");
        }
    })
    .await
    .unwrap();
    node.shutdown().await;
}
