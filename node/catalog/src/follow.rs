//! What happened around a product, a task, an organisation or a region: the events behind the
//! Atom feeds, the watch list's "neu seit Ihrem letzten Besuch" and the notices for an
//! organisation's own products (`docs/feeds.md`).
//!
//! An event is an indexed record (a deployment, a rating, a Nachnutzung report, a product's
//! version and end of support, a product's other fields) at the time it last changed as this
//! node saw it (`follow_seen`, kept by the store with every index write). Its time is the
//! change's claimed time clamped to the node's clock, so a peer cannot pin its record to the
//! top of a feed by claiming a future time; "new" compares the node's own clock, so a peer
//! cannot hide a change by backdating it.
//!
//! Trust: on a node that follows anchors, records of organisations that no followed anchor
//! attests and that are not the node's own (or hosted) are left out, so an unattested key's
//! record never reaches a feed or a notice. In open mode every stored record counts, as on
//! the pages. Each answer is bounded ([`MAX_EVENTS`]).

use std::collections::{HashMap, HashSet};

use allmende_protocol::ids::{DocId, OrgId};
use rusqlite::{Connection, params_from_iter, types::Value};
use serde::Serialize;
use utoipa::ToSchema;

use crate::query::{QueryError, verified_orgs};

/// At most this many events in one answer (a feed, a watch entry, the notices).
pub const MAX_EVENTS: usize = 50;

/// What a feed is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// A product entry.
    Product(DocId),
    /// A task (canonical text).
    Task(String),
    /// An organisation.
    Org(OrgId),
    /// A Kreis (5-digit key).
    Kreis(String),
    /// A Land (2-digit key).
    Land(String),
}

/// One event.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Event {
    /// A stable id: the same record with the same reported content has the same id on every
    /// request (`tag:` URI, RFC 4151).
    pub id: String,
    /// `deployment`, `rating`, `reuse`, `release` (version or end of support) or `product`
    /// (other fields of the entry).
    pub kind: String,
    /// The product (64 hex).
    pub product: String,
    /// Its name, when indexed.
    pub product_name: Option<String>,
    /// The organisation whose record it is (64 hex); for product events the entry's creator.
    pub org: String,
    /// Its name, when known.
    pub org_name: Option<String>,
    /// When it changed (Unix seconds): claimed by the author, clamped to this node's clock.
    pub at: i64,
    /// When this node saw it (Unix seconds).
    pub noticed_at: i64,
    /// The record as indexed (for `release` and `product`: the product entry).
    #[schema(value_type = Object)]
    pub record: serde_json::Value,
}

/// Which organisations' records count: `None` for every one (open mode).
pub fn counted_orgs(
    conn: &Connection,
    anchors: &[OrgId],
    own: &[OrgId],
) -> Result<Option<HashSet<Vec<u8>>>, QueryError> {
    if anchors.is_empty() {
        return Ok(None);
    }
    let mut out: HashSet<Vec<u8>> = verified_orgs(conn, anchors)?
        .into_iter()
        .map(|o| o.as_bytes().to_vec())
        .collect();
    out.extend(anchors.iter().map(|o| o.as_bytes().to_vec()));
    out.extend(own.iter().map(|o| o.as_bytes().to_vec()));
    Ok(Some(out))
}

/// The condition on a record row `r` (with `product` and `org` columns) for `subject`, and its
/// parameter.
fn record_condition(subject: &Subject) -> (&'static str, Value) {
    match subject {
        Subject::Product(d) => ("r.product = ?1", Value::Blob(d.as_bytes().to_vec())),
        Subject::Org(o) => (
            "r.doc IN (SELECT id FROM documents WHERE owner = ?1) AND r.org = ?1",
            Value::Blob(o.as_bytes().to_vec()),
        ),
        Subject::Task(t) => (
            "r.product IN (SELECT doc FROM idx_product_facet WHERE facet = 'task' AND value = ?1)",
            Value::Text(t.clone()),
        ),
        Subject::Kreis(k) => (
            "r.org IN (SELECT org FROM idx_org WHERE kreis = ?1)",
            Value::Text(k.clone()),
        ),
        Subject::Land(l) => (
            "r.org IN (SELECT org FROM idx_org WHERE land = ?1)",
            Value::Text(l.clone()),
        ),
    }
}

/// The condition on a product row `p` for `subject` (regions have no product events).
fn product_condition(subject: &Subject) -> Option<(&'static str, Value)> {
    match subject {
        Subject::Product(d) => Some(("p.doc = ?1", Value::Blob(d.as_bytes().to_vec()))),
        Subject::Org(o) => Some(("p.created_by = ?1", Value::Blob(o.as_bytes().to_vec()))),
        Subject::Task(t) => Some((
            "p.doc IN (SELECT doc FROM idx_product_facet WHERE facet = 'task' AND value = ?1)",
            Value::Text(t.clone()),
        )),
        Subject::Kreis(_) | Subject::Land(_) => None,
    }
}

struct Raw {
    kind: &'static str,
    doc: Vec<u8>,
    key: String,
    org: Vec<u8>,
    product: Vec<u8>,
    json: String,
    at: i64,
    noticed_at: i64,
    digest: i64,
}

const RECORD_TABLES: &[(&str, &str)] = &[
    ("deployment", "idx_deployment"),
    ("rating", "idx_rating"),
    ("reuse", "idx_reuse"),
];

/// Reads raw events: records under `cond` (on `r`) and products under `pcond` (on `p`), each
/// kind's newest `limit`, with `param` as `?1`.
fn raw_events(
    conn: &Connection,
    cond: &str,
    pcond: Option<&str>,
    param: &Value,
    limit: usize,
    counted: Option<&HashSet<Vec<u8>>>,
) -> Result<Vec<Raw>, QueryError> {
    let mut out = Vec::new();
    // The trust filter runs after the read: read more than needed so that a flood of
    // unattested records does not push the counted ones out of the window.
    let window = i64::try_from(limit.saturating_mul(if counted.is_some() { 8 } else { 1 }))
        .unwrap_or(i64::MAX);
    for &(kind, table) in RECORD_TABLES {
        let sql = format!(
            "SELECT r.doc, r.key, r.org, r.product, r.json, f.changed_at, f.noticed_at, f.digest
               FROM {table} r JOIN follow_seen f ON f.doc = r.doc AND f.kind = '{kind}' AND f.key = r.key
              WHERE {cond}
              ORDER BY f.changed_at DESC, f.noticed_at DESC LIMIT ?2"
        );
        let mut stmt = conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(rusqlite::params![param, window], |r| {
            Ok(Raw {
                kind,
                doc: r.get(0)?,
                key: r.get(1)?,
                org: r.get(2)?,
                product: r.get(3)?,
                json: r.get(4)?,
                at: r.get(5)?,
                noticed_at: r.get(6)?,
                digest: r.get(7)?,
            })
        })?;
        let mut n = 0;
        for r in rows {
            let r = r?;
            if counted.is_some_and(|c| !c.contains(&r.org)) {
                continue;
            }
            n += 1;
            out.push(r);
            if n >= limit {
                break;
            }
        }
    }
    if let Some(pcond) = pcond {
        let sql = format!(
            "SELECT f.kind, p.doc, p.created_by, p.json, f.changed_at, f.noticed_at, f.digest
               FROM idx_product p JOIN follow_seen f ON f.doc = p.doc AND f.kind IN ('product', 'release') AND f.key = ''
              WHERE {pcond}
              ORDER BY f.changed_at DESC LIMIT ?2"
        );
        let mut stmt = conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(
            rusqlite::params![param, i64::try_from(limit * 2).unwrap_or(i64::MAX)],
            |r| {
                let kind: String = r.get(0)?;
                let doc: Vec<u8> = r.get(1)?;
                Ok(Raw {
                    kind: if kind == "release" {
                        "release"
                    } else {
                        "product"
                    },
                    product: doc.clone(),
                    doc,
                    key: String::new(),
                    org: r.get(2)?,
                    json: r.get(3)?,
                    at: r.get(4)?,
                    noticed_at: r.get(5)?,
                    digest: r.get(6)?,
                })
            },
        )?;
        let mut products = Vec::new();
        for r in rows {
            products.push(r?);
        }
        // A change of the version or end of support is reported as such, not a second time
        // as a change of the entry; a release without either value reports nothing.
        let releases: HashSet<(Vec<u8>, i64)> = products
            .iter()
            .filter(|r| r.kind == "release")
            .map(|r| (r.doc.clone(), r.at))
            .collect();
        for r in products {
            let keep = if r.kind == "release" {
                let v: serde_json::Value = serde_json::from_str(&r.json).unwrap_or_default();
                v.get("current_version").is_some_and(|x| !x.is_null())
                    || v.get("support_ends").is_some_and(|x| !x.is_null())
            } else {
                !releases.contains(&(r.doc.clone(), r.at))
            };
            if keep {
                out.push(r);
            }
        }
    }
    Ok(out)
}

/// Names by raw id.
type Names = HashMap<Vec<u8>, String>;

/// Names of products and organisations, for the events' titles.
fn names(conn: &Connection, raws: &[Raw]) -> Result<(Names, Names), QueryError> {
    let mut products = HashMap::new();
    let mut orgs = HashMap::new();
    let mut pstmt = conn.prepare_cached("SELECT name FROM idx_product WHERE doc = ?1")?;
    let mut ostmt = conn.prepare_cached("SELECT name FROM idx_org WHERE org = ?1 LIMIT 1")?;
    for r in raws {
        if !products.contains_key(&r.product) {
            let n: Option<String> = pstmt
                .query_row([&r.product], |x| x.get(0))
                .map(Some)
                .or_else(|e| match e {
                    rusqlite::Error::QueryReturnedNoRows => Ok(None),
                    e => Err(e),
                })?;
            if let Some(n) = n {
                products.insert(r.product.clone(), n);
            }
        }
        if !orgs.contains_key(&r.org) {
            let n: Option<String> =
                ostmt
                    .query_row([&r.org], |x| x.get(0))
                    .map(Some)
                    .or_else(|e| match e {
                        rusqlite::Error::QueryReturnedNoRows => Ok(None),
                        e => Err(e),
                    })?;
            if let Some(n) = n {
                orgs.insert(r.org.clone(), n);
            }
        }
    }
    Ok((products, orgs))
}

/// `s` with every byte but ASCII letters, digits, `-`, `.` and `_` percent-encoded, for the
/// last segment of an event id (record keys come from peers).
fn uri_part(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn finish(conn: &Connection, mut raws: Vec<Raw>, limit: usize) -> Result<Vec<Event>, QueryError> {
    raws.sort_by(|a, b| {
        (b.at, b.noticed_at, &b.doc, &b.key).cmp(&(a.at, a.noticed_at, &a.doc, &a.key))
    });
    raws.truncate(limit);
    let (pnames, onames) = names(conn, &raws)?;
    Ok(raws
        .into_iter()
        .map(|r| {
            let key = uri_part(&r.key);
            Event {
                id: format!(
                    "tag:allmende.invalid,2026:{}/{}/{}/{:016x}",
                    r.kind,
                    hex::encode(&r.doc),
                    key,
                    r.digest
                ),
                kind: r.kind.to_owned(),
                product_name: pnames.get(&r.product).cloned(),
                product: hex::encode(&r.product),
                org_name: onames.get(&r.org).cloned(),
                org: hex::encode(&r.org),
                at: r.at,
                noticed_at: r.noticed_at,
                record: serde_json::from_str(&r.json).unwrap_or_default(),
            }
        })
        .collect())
}

/// What happened around `subject`, newest first, at most `limit` (≤ [`MAX_EVENTS`]) events.
/// `counted` is [`counted_orgs`]: the organisations whose records count.
pub fn events(
    conn: &Connection,
    subject: &Subject,
    counted: Option<&HashSet<Vec<u8>>>,
    limit: usize,
) -> Result<Vec<Event>, QueryError> {
    let limit = limit.min(MAX_EVENTS);
    let (cond, param) = record_condition(subject);
    let pcond = product_condition(subject).map(|(c, _)| c);
    let raws = raw_events(conn, cond, pcond, &param, limit, counted)?;
    finish(conn, raws, limit)
}

/// The products `org` runs (deployments in production or pilot), at most `max`.
pub fn products_run_by(
    conn: &Connection,
    org: &OrgId,
    max: usize,
) -> Result<Vec<DocId>, QueryError> {
    let mut stmt = conn.prepare_cached(
        "SELECT DISTINCT product FROM idx_deployment
          WHERE doc IN (SELECT id FROM documents WHERE owner = ?1) AND org = ?1
            AND status IN ('production', 'pilot')
          ORDER BY product LIMIT ?2",
    )?;
    let rows = stmt.query_map(
        rusqlite::params![
            org.as_bytes().as_slice(),
            i64::try_from(max).unwrap_or(i64::MAX)
        ],
        |r| r.get::<_, Vec<u8>>(0),
    )?;
    let mut out = Vec::new();
    for r in rows {
        let b: [u8; 32] = r?
            .try_into()
            .map_err(|_| QueryError::Invalid("stored product id is not 32 bytes".into()))?;
        out.push(DocId::from_bytes(b));
    }
    Ok(out)
}

/// Notices for `org`: what others did around the products it runs (new ratings, Nachnutzung
/// reports) and what changed of them (version, end of support), newest first, at most
/// `limit` (≤ [`MAX_EVENTS`]). Its own records are no news to it.
pub fn notices(
    conn: &Connection,
    org: &OrgId,
    counted: Option<&HashSet<Vec<u8>>>,
    limit: usize,
) -> Result<Vec<Event>, QueryError> {
    let limit = limit.min(MAX_EVENTS);
    let mine = "(SELECT product FROM idx_deployment
                  WHERE doc IN (SELECT id FROM documents WHERE owner = ?1) AND org = ?1
                    AND status IN ('production', 'pilot'))";
    let param = Value::Blob(org.as_bytes().to_vec());
    let cond = format!("r.product IN {mine} AND r.org != ?1");
    let pcond = format!("p.doc IN {mine}");
    let raws = raw_events(conn, &cond, Some(&pcond), &param, limit, counted)?;
    let raws = raws
        .into_iter()
        .filter(|r| r.kind != "deployment" && r.kind != "product")
        .collect();
    finish(conn, raws, limit)
}

/// Whether a watched `kind`/`target` (canonical form, `allmende_store::watch`) names something
/// this node knows: an indexed product or organisation, a Kreis or Land of the
/// Gemeindeverzeichnis, or a task of the OZG/LeiKa catalogue or of some product.
pub fn known(conn: &Connection, kind: &str, target: &str) -> Result<bool, QueryError> {
    let (sql, arg): (&str, Value) = match kind {
        "product" => (
            "SELECT EXISTS (SELECT 1 FROM idx_product WHERE doc = ?1)",
            Value::Blob(hex::decode(target).unwrap_or_default()),
        ),
        "org" => (
            "SELECT EXISTS (SELECT 1 FROM idx_org WHERE org = ?1)",
            Value::Blob(hex::decode(target).unwrap_or_default()),
        ),
        "kreis" => (
            "SELECT EXISTS (SELECT 1 FROM ref_kreis WHERE key = ?1)",
            Value::Text(target.to_owned()),
        ),
        "land" => (
            "SELECT EXISTS (SELECT 1 FROM ref_land WHERE key = ?1)",
            Value::Text(target.to_owned()),
        ),
        "task" => (
            "SELECT EXISTS (SELECT 1 FROM ref_task WHERE task = ?1)
                 OR EXISTS (SELECT 1 FROM idx_product_facet WHERE facet = 'task' AND value = ?1)",
            Value::Text(target.to_owned()),
        ),
        _ => return Ok(false),
    };
    Ok(conn.query_row(sql, params_from_iter([arg]), |r| r.get(0))?)
}
