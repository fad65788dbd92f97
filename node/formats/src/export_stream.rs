//! Streaming exports for researchers and other catalogs: CSV (one file per table), JSON
//! Lines, JSON-LD and a self-contained SQLite snapshot, and the JSON Lines import.
//!
//! Nothing here holds the catalog in memory: rows come from the index one at a time through
//! the read-only query connection ([`allmende_catalog::sql`]), signed documents one document at a
//! time, and the SQLite snapshot is copied inside SQLite. Every export states its licence,
//! the exporting organisation, the time, the trust anchors used and which organisations they
//! verified ([`Meta`]). `progress` is called every few thousand records.
//!
//! The tables are the documented views of `docs/sql.md` ([`allmende_catalog::sql::VIEWS`]), so the
//! snapshot answers the same queries as `allmende query`.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use allmende_protocol::ids::OrgId;
use allmende_protocol::schema::UnixTime;
use serde::{Deserialize, Serialize};

use crate::export::{ExportedCert, ExportedDoc, ImportError, ImportReport, LICENCE};
use allmende_store::repo::{Repo, RepoError};
use allmende_store::store::Store;

/// Format name in the JSON Lines meta line and the metadata files.
pub const FORMAT: &str = "allmende-export-stream";
/// Version of these formats.
pub const VERSION: u32 = 1;
/// Longest JSON Lines line read on import.
pub const MAX_LINE_BYTES: usize = 256 * 1024 * 1024;
/// How many records between two progress calls.
const PROGRESS_EVERY: u64 = 5_000;

/// What every export says about itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Meta {
    /// [`FORMAT`].
    pub format: String,
    /// [`VERSION`].
    pub version: u32,
    /// Licence of the data.
    pub licence: String,
    /// When (UTC, ISO 8601).
    pub exported_at: String,
    /// The exporting node's organisation, if it has one.
    pub exported_by: Option<OrgId>,
    /// Trust anchors the exporting node follows.
    pub trust_anchors: Vec<OrgId>,
    /// Organisations those anchors attested (the "verified" ones).
    pub verified_organisations: Vec<OrgId>,
    /// The filter of a partial export ([`Filter`]); absent when the export holds the whole
    /// catalog. Older files have no such field and read as whole-catalog exports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<Filter>,
    /// The reference data the export's names and figures draw on, with the attribution its
    /// sources demand (Gemeindeverzeichnis, OZG/LeiKa catalogue; `docs/reference-data.md`).
    #[serde(default)]
    pub sources: Vec<String>,
}

impl Meta {
    /// The meta data of an export of the store at `db` made now.
    pub fn new(
        db: &Path,
        exported_by: Option<OrgId>,
        anchors: &[OrgId],
        now: UnixTime,
    ) -> Result<Self, ExportError> {
        let conn = allmende_catalog::sql::open(db)?;
        let verified = allmende_catalog::query::verified_orgs(&conn, anchors)
            .map_err(|e| ExportError::Other(e.to_string()))?;
        Ok(Self {
            format: FORMAT.into(),
            version: VERSION,
            licence: LICENCE.into(),
            exported_at: crate::export::iso8601(now),
            exported_by,
            trust_anchors: anchors.to_vec(),
            verified_organisations: verified,
            filter: None,
            sources: vec![
                allmende_protocol::gv100ad::ATTRIBUTION.to_owned(),
                allmende_protocol::ozg::SOURCE.to_owned(),
            ],
        })
    }

    /// The same export restricted to `filter` (an empty filter means the whole catalog).
    pub fn with_filter(mut self, filter: Filter) -> Self {
        self.filter = (!filter.is_empty()).then_some(filter);
        self
    }
}

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Writing failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// Reading the store failed.
    #[error("{0}")]
    Repo(#[from] RepoError),
    /// SQLite failed.
    #[error("{0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The query connection failed.
    #[error("{0}")]
    Sql(#[from] allmende_catalog::sql::SqlError),
    /// Selecting the filtered view failed.
    #[error("{0}")]
    Query(#[from] allmende_catalog::query::QueryError),
    /// Anything else.
    #[error("{0}")]
    Other(String),
}

/// Longest filter value (free text and facet values).
const MAX_FILTER_VALUE: usize = 500;
/// Most filter values in one export.
const MAX_FILTER_VALUES: usize = 100;

/// The filter of a partial export: the product search's `q` and facets
/// ([`allmende_catalog::query::PRODUCT_FACETS`]) select products, and `land`, `kreis`, `org` and
/// `verified` (as in the organisation and record lists) select organisations. The parameter
/// names and values are those of the API (`docs/api.md`); `docs/exports.md` states what a
/// filtered export holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filter {
    /// Free text, as in product search.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub q: Option<String>,
    /// Product facets: facet → values (several values of one facet mean OR).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub facets: BTreeMap<String, Vec<String>>,
    /// Organisations in this Land (two-digit key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub land: Option<String>,
    /// Organisations in this Kreis (five digits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kreis: Option<String>,
    /// These organisations (several mean OR).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub org: Vec<OrgId>,
    /// Organisations a followed trust anchor attested (`true`) or did not (`false`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified: Option<bool>,
}

/// A filter parameter that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FilterError(pub String);

/// Every filter parameter name, for messages.
pub const FILTER_PARAMS: &str = "q, kind, task, themenfeld, category, standard, licence, \
                                 open_source, hosting, efa, efa_land, land, kreis, org, verified";

impl Filter {
    /// Whether nothing is filtered (the whole catalog).
    pub fn is_empty(&self) -> bool {
        !self.selects_products() && !self.selects_orgs()
    }

    /// Whether a product filter (`q` or a facet) is set.
    pub fn selects_products(&self) -> bool {
        self.q.is_some() || !self.facets.is_empty()
    }

    /// Whether an organisation filter (`land`, `kreis`, `org`, `verified`) is set.
    pub fn selects_orgs(&self) -> bool {
        self.land.is_some()
            || self.kreis.is_some()
            || !self.org.is_empty()
            || self.verified.is_some()
    }

    fn values(&self) -> usize {
        usize::from(self.q.is_some())
            + self.facets.values().map(Vec::len).sum::<usize>()
            + usize::from(self.land.is_some())
            + usize::from(self.kreis.is_some())
            + self.org.len()
            + usize::from(self.verified.is_some())
    }

    /// Adds one parameter (`key=value` of the API, `--key value` of the CLI). Returns
    /// `Ok(false)` when `key` is no filter parameter, so callers can accept others.
    pub fn add(&mut self, key: &str, value: &str) -> Result<bool, FilterError> {
        use allmende_protocol::schema::{HostingModel, Land, ProductKind};
        let bad = |m: String| FilterError(m);
        if value.len() > MAX_FILTER_VALUE {
            return Err(bad(format!(
                "{key} is longer than {MAX_FILTER_VALUE} bytes"
            )));
        }
        if value.trim().is_empty() {
            return Err(bad(format!("{key} is empty")));
        }
        if self.values() >= MAX_FILTER_VALUES {
            return Err(bad(format!("more than {MAX_FILTER_VALUES} filter values")));
        }
        let yes_no = |v: &str| match v {
            "yes" | "no" => Ok(v.to_owned()),
            _ => Err(bad(format!("{key} must be yes or no, not {v:?}"))),
        };
        let land = |v: &str| {
            v.parse::<Land>()
                .map(|l| l.code().to_owned())
                // The schema's message names the field `land` already.
                .map_err(|e| match key {
                    "land" => bad(e.to_string()),
                    _ => bad(format!("{key}: {e}")),
                })
        };
        let facet = |f: &mut Self, v: String| f.facets.entry(key.to_owned()).or_default().push(v);
        match key {
            "q" => {
                if self.q.is_some() {
                    return Err(bad("q given twice".into()));
                }
                self.q = Some(value.to_owned());
            }
            "kind" => {
                let k: ProductKind = value.parse().map_err(|e| bad(format!("{e}")))?;
                facet(self, k.slug().to_owned());
            }
            "hosting" => {
                let h: HostingModel = value.parse().map_err(|e| bad(format!("{e}")))?;
                facet(self, h.slug().to_owned());
            }
            "open_source" | "efa" => facet(self, yes_no(value)?),
            "efa_land" => facet(self, land(value)?),
            "task" | "themenfeld" | "category" | "standard" | "licence" => {
                facet(self, value.trim().to_owned())
            }
            "land" => {
                if self.land.is_some() {
                    return Err(bad("land given twice".into()));
                }
                self.land = Some(land(value)?);
            }
            "kreis" => {
                if self.kreis.is_some() {
                    return Err(bad("kreis given twice".into()));
                }
                if value.len() != 5 || !value.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(bad(format!("kreis must be five digits, not {value:?}")));
                }
                self.kreis = Some(value.to_owned());
            }
            "org" => {
                let o: OrgId = value.parse().map_err(|e| bad(format!("org: {e}")))?;
                self.org.push(o);
            }
            "verified" => {
                if self.verified.is_some() {
                    return Err(bad("verified given twice".into()));
                }
                self.verified = Some(match value {
                    "true" => true,
                    "false" => false,
                    _ => {
                        return Err(bad(format!(
                            "verified must be true or false, not {value:?}"
                        )));
                    }
                });
            }
            _ => return Ok(false),
        }
        Ok(true)
    }
}

/// The organisations condition of the records (deployments, ratings, reports) on `alias`:
/// about a selected product, and by a selected organisation when organisations are filtered.
fn records_where(alias: &str, f: &Filter) -> String {
    let orgs = if f.selects_orgs() {
        format!(" AND {alias}org IN (SELECT org FROM x_sel_org)")
    } else {
        String::new()
    };
    format!("{alias}product IN (SELECT doc FROM x_product){orgs}")
}

/// Fills the temporary tables of a filtered export on `conn` (whose `idx_*` tables are the
/// store's): `x_product` (the selected product entries), `x_sel_org` (the organisations the
/// organisation filters select), `x_org` (the organisations the export lists) and `x_doc`
/// (the signed documents it carries). Everything stays in SQLite, so memory does not grow
/// with the catalog.
fn select(conn: &rusqlite::Connection, f: &Filter, anchors: &[OrgId]) -> Result<(), ExportError> {
    use rusqlite::types::Value;
    conn.execute_batch(
        "CREATE TEMP TABLE x_product (doc BLOB PRIMARY KEY) WITHOUT ROWID;
         CREATE TEMP TABLE x_sel_org (org BLOB PRIMARY KEY) WITHOUT ROWID;
         CREATE TEMP TABLE x_org (org BLOB PRIMARY KEY) WITHOUT ROWID;
         CREATE TEMP TABLE x_doc (doc BLOB PRIMARY KEY) WITHOUT ROWID;",
    )?;
    allmende_catalog::query::prepare_canon(conn)?;
    if f.selects_orgs() {
        // Every organisation the catalog names, with a profile or not.
        let mut sql = String::from(
            "INSERT INTO x_sel_org (org) SELECT org FROM (
               SELECT org FROM idx_org UNION SELECT org FROM idx_deployment
               UNION SELECT org FROM idx_rating UNION SELECT org FROM idx_reuse
               UNION SELECT created_by FROM idx_product) WHERE 1",
        );
        let mut args: Vec<Value> = Vec::new();
        for (column, value) in [("land", &f.land), ("kreis", &f.kreis)] {
            if let Some(v) = value {
                sql.push_str(&format!(
                    " AND org IN (SELECT org FROM idx_org WHERE {column} = ?)"
                ));
                args.push(Value::Text(v.clone()));
            }
        }
        if !f.org.is_empty() {
            sql.push_str(&format!(
                " AND org IN ({})",
                allmende_catalog::query::placeholders(f.org.len())
            ));
            args.extend(f.org.iter().map(|o| Value::Blob(o.as_bytes().to_vec())));
        }
        if let Some(v) = f.verified {
            let attested = if anchors.is_empty() {
                "0".to_owned()
            } else {
                format!(
                    "org IN (SELECT org FROM idx_attestation WHERE anchor IN ({}))",
                    allmende_catalog::query::placeholders(anchors.len())
                )
            };
            sql.push_str(&format!(" AND ({attested}) = ?"));
            args.extend(anchors.iter().map(|a| Value::Blob(a.as_bytes().to_vec())));
            args.push(Value::Integer(i64::from(v)));
        }
        conn.execute(&sql, rusqlite::params_from_iter(args))?;
    }
    // Products that selected organisations have a record about, as whole "same as" groups.
    let by_selected_orgs = "SELECT k.doc FROM canon k WHERE k.canonical IN (
           SELECT c.canonical FROM canon c WHERE c.doc IN (
             SELECT product FROM idx_deployment WHERE org IN (SELECT org FROM x_sel_org)
             UNION SELECT product FROM idx_rating WHERE org IN (SELECT org FROM x_sel_org)
             UNION SELECT product FROM idx_reuse WHERE org IN (SELECT org FROM x_sel_org)))";
    if f.selects_products() {
        let mut facets = Vec::new();
        for (facet, values) in &f.facets {
            facets.extend(values.iter().map(|v| (facet.clone(), v.clone())));
        }
        // The product search fills `search_hits` with all its matches (not just the page).
        let found = allmende_catalog::query::search(
            conn,
            &allmende_catalog::query::SearchQuery {
                q: f.q.clone(),
                facets,
                limit: 1,
                ..Default::default()
            },
        )?;
        if found.total > 0 {
            // Search lists each "same as" group once; the export carries the whole group.
            conn.execute_batch(
                "INSERT OR IGNORE INTO x_product (doc) SELECT k.doc FROM canon k
                   WHERE k.canonical IN (SELECT doc FROM temp.search_hits)",
            )?;
        }
        if f.selects_orgs() {
            conn.execute_batch(&format!(
                "DELETE FROM x_product WHERE doc NOT IN ({by_selected_orgs})"
            ))?;
        }
    } else {
        conn.execute_batch(&format!(
            "INSERT OR IGNORE INTO x_product (doc) {by_selected_orgs}"
        ))?;
    }
    let rec = records_where("", f);
    let rated = if f.selects_orgs() {
        "t.product IN (SELECT doc FROM x_product) AND r.org IN (SELECT org FROM x_sel_org)"
    } else {
        "t.product IN (SELECT doc FROM x_product)"
    };
    let listed_selected = if f.selects_products() {
        ""
    } else {
        " UNION SELECT org FROM x_sel_org"
    };
    conn.execute_batch(&format!(
        "INSERT OR IGNORE INTO x_org (org)
           SELECT org FROM idx_deployment WHERE {rec}
           UNION SELECT org FROM idx_rating WHERE {rec}
           UNION SELECT org FROM idx_reuse WHERE {rec}
           UNION SELECT provider FROM idx_reuse WHERE {rec} AND provider IS NOT NULL
           UNION SELECT org FROM idx_training WHERE {rec}
           UNION SELECT created_by FROM idx_product WHERE doc IN (SELECT doc FROM x_product)
           {listed_selected};
         INSERT OR IGNORE INTO x_doc (doc)
           SELECT doc FROM x_product
           UNION SELECT doc FROM idx_org WHERE org IN (SELECT org FROM x_org)
           UNION SELECT doc FROM idx_deployment WHERE {rec}
           UNION SELECT doc FROM idx_rating WHERE {rec}
           UNION SELECT doc FROM idx_reuse WHERE {rec}
           UNION SELECT doc FROM idx_training WHERE {rec}
           UNION SELECT r.doc FROM idx_training_rating r JOIN idx_training t
             ON t.org = r.offer_org AND t.key = r.offer WHERE {rated}
           UNION SELECT doc FROM idx_attestation WHERE org IN (SELECT org FROM x_org);"
    ))?;
    Ok(())
}

/// The `SELECT` of a documented view restricted to the filtered export (after [`select`]).
fn filtered_view(view: &str, select: &str, f: &Filter) -> String {
    let cond = match view {
        "organisations" | "attestations" => "org IN (SELECT org FROM x_org)".to_owned(),
        "products" | "product_facets" => "doc IN (SELECT doc FROM x_product)".to_owned(),
        "deployment_tasks" | "integrations" => records_where("d.", f),
        // A rating of an offer is about the offer's product.
        "training_ratings" => {
            let orgs = if f.selects_orgs() {
                " AND r.org IN (SELECT org FROM x_sel_org)"
            } else {
                ""
            };
            format!("t.product IN (SELECT doc FROM x_product){orgs}")
        }
        _ => records_where("", f),
    };
    // Every view's SELECT ends with its FROM clause (no WHERE), see `allmende_catalog::sql::VIEWS`.
    format!("{select} WHERE {cond}")
}

/// The read connection of an export: read-only, one read transaction (so the export is one
/// consistent state of the store, even while a node writes), with the documented views as
/// temporary views, restricted to `meta.filter` if there is one.
fn open_read(db: &Path, meta: &Meta) -> Result<rusqlite::Connection, ExportError> {
    use rusqlite::OpenFlags;
    let conn = rusqlite::Connection::open_with_flags(
        db,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.execute_batch("BEGIN")?;
    // The first read starts the snapshot.
    conn.query_row("SELECT count(*) FROM documents", [], |_| Ok(()))?;
    match &meta.filter {
        Some(f) => {
            select(&conn, f, &meta.trust_anchors)?;
            for (name, _, sql) in allmende_catalog::sql::VIEWS {
                conn.execute_batch(&format!(
                    "CREATE TEMP VIEW {name} AS {}",
                    filtered_view(name, sql, f)
                ))?;
            }
        }
        None => {
            for (name, _, sql) in allmende_catalog::sql::VIEWS {
                conn.execute_batch(&format!("CREATE TEMP VIEW {name} AS {sql}"))?;
            }
        }
    }
    Ok(conn)
}

/// Counts progress and reports it every [`PROGRESS_EVERY`] records.
struct Counter<'a> {
    n: u64,
    progress: &'a mut dyn FnMut(u64),
}

impl Counter<'_> {
    fn tick(&mut self) {
        self.n += 1;
        if self.n.is_multiple_of(PROGRESS_EVERY) {
            (self.progress)(self.n);
        }
    }
}

/// Calls `row` with the column names and each row of `view`, one at a time.
fn each_row(
    conn: &rusqlite::Connection,
    view: &str,
    mut row: impl FnMut(&[String], &rusqlite::Row<'_>) -> Result<(), ExportError>,
) -> Result<(), ExportError> {
    let mut stmt = conn.prepare(&format!("SELECT * FROM {view}"))?;
    let columns: Vec<String> = stmt.column_names().map(str::to_owned).collect();
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        row(&columns, r)?;
    }
    Ok(())
}

/// The singular record type of a view, for JSON Lines (`products` → `product`).
fn record_type(view: &str) -> &str {
    match view {
        "organisations" => "organisation",
        "attestations" => "attestation",
        "products" => "product",
        "product_facets" => "product_facet",
        "deployments" => "deployment",
        "deployment_tasks" => "deployment_task",
        "integrations" => "integration",
        "ratings" => "rating",
        "rating_scores" => "rating_score",
        "reuse_reports" => "reuse_report",
        "replacements" => "replacement",
        "trainings" => "training",
        "training_ratings" => "training_rating",
        other => other,
    }
}

#[derive(Serialize)]
struct Tagged<'a, T: Serialize> {
    #[serde(rename = "type")]
    kind: &'a str,
    #[serde(flatten)]
    body: &'a T,
}

fn line<T: Serialize>(w: &mut dyn Write, kind: &str, body: &T) -> Result<(), ExportError> {
    serde_json::to_writer(&mut *w, &Tagged { kind, body }).map_err(std::io::Error::from)?;
    w.write_all(b"\n")?;
    Ok(())
}

/// JSON Lines: a `meta` line, then the `certificate`s and `document`s (the signed material,
/// which [`import_jsonl`] verifies and stores), then the readable records of every view, one
/// per line with its `type` (`organisation`, `product`, `deployment`, …). Returns the
/// number of lines after the meta line.
///
/// Everything is read from the store file at `db` in one read transaction, so a running node
/// can export while it writes. A filtered export ([`Meta::filter`]) carries the documents
/// its records come from (whole documents: a signature covers a whole document) and the
/// certificates of the keys that signed them.
pub fn jsonl(
    db: &Path,
    meta: &Meta,
    w: &mut dyn Write,
    progress: &mut dyn FnMut(u64),
) -> Result<u64, ExportError> {
    let mut c = Counter { n: 0, progress };
    let conn = open_read(db, meta)?;
    line(w, "meta", meta)?;
    for cert in certificates(&conn, meta.filter.is_some())? {
        line(w, "certificate", &cert)?;
        c.tick();
    }
    let docs = if meta.filter.is_some() {
        "SELECT header FROM documents WHERE id IN (SELECT doc FROM x_doc) ORDER BY id"
    } else {
        "SELECT header FROM documents ORDER BY id"
    };
    let mut stmt = conn.prepare(docs)?;
    let mut changes = conn.prepare("SELECT encoded FROM changes WHERE doc = ?1 ORDER BY seq")?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let bytes: Vec<u8> = r.get(0)?;
        let header = allmende_protocol::doc::DocHeader::decode(&bytes)
            .map_err(|e| ExportError::Other(format!("a stored document header: {e}")))?;
        let id = header.id();
        let mut encoded = Vec::new();
        let mut ch = changes.query([id.as_bytes().as_slice()])?;
        while let Some(r) = ch.next()? {
            let change: Vec<u8> = r.get(0)?;
            encoded.push(hex::encode(change));
        }
        let doc = ExportedDoc {
            id: format!("{id:#}"),
            kind: header.kind.slug().to_owned(),
            header: hex::encode(&bytes),
            changes: encoded,
        };
        line(w, "document", &doc)?;
        c.tick();
    }
    for (view, _, _) in allmende_catalog::sql::VIEWS {
        each_row(&conn, view, |columns, r| {
            let mut obj = serde_json::Map::new();
            for (i, col) in columns.iter().enumerate() {
                let v = allmende_catalog::sql::json_value(r.get_ref(i)?);
                // The `json` column is the record itself: nest it rather than quote it.
                let v = match (col.as_str(), &v) {
                    ("json", serde_json::Value::String(s)) => serde_json::from_str(s).unwrap_or(v),
                    _ => v,
                };
                obj.insert(col.clone(), v);
            }
            line(w, record_type(view), &obj)?;
            c.tick();
            Ok(())
        })?;
    }
    w.flush()?;
    Ok(c.n)
}

/// The certificates (delegations, revocations) of the export on `conn`: all of them, or for
/// a filtered export those that name a key that signed a change of an included document, and
/// then, until nothing is added, those that name a key of a certificate already included (a
/// delegation's issuer, a rotated key's predecessor). Certificates are few (a handful per
/// organisation), so they are held in memory.
fn certificates(
    conn: &rusqlite::Connection,
    filtered: bool,
) -> Result<Vec<ExportedCert>, ExportError> {
    use allmende_protocol::identity::{SignedDelegation, SignedRevocation};
    use std::collections::BTreeSet;
    let mut stmt = conn.prepare("SELECT kind, encoded FROM certificates ORDER BY kind, encoded")?;
    let all: Vec<(String, Vec<u8>)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let export = |(kind, bytes): &(String, Vec<u8>)| ExportedCert {
        kind: kind.clone(),
        bytes: hex::encode(bytes),
    };
    if !filtered {
        return Ok(all.iter().map(export).collect());
    }
    // The keys each certificate names.
    let mut named: Vec<Vec<[u8; 32]>> = Vec::with_capacity(all.len());
    for (kind, bytes) in &all {
        let bad = |e: &dyn std::fmt::Display| ExportError::Other(format!("a stored {kind}: {e}"));
        named.push(match kind.as_str() {
            "delegation" => {
                let d = SignedDelegation::decode(bytes).map_err(|e| bad(&e))?;
                vec![
                    *d.body.issuer.root_key().as_bytes(),
                    *d.body.delegate.as_bytes(),
                ]
            }
            "equivocation" => {
                let p = allmende_protocol::equivocation::EquivocationProof::decode(bytes)
                    .map_err(|e| bad(&e))?;
                vec![*p.signer().as_bytes()]
            }
            _ => {
                let r = SignedRevocation::decode(bytes).map_err(|e| bad(&e))?;
                let mut keys = vec![*r.body.issuer.as_bytes(), *r.body.subject.as_bytes()];
                keys.extend(r.succession().map(|s| *s.next.as_bytes()));
                keys
            }
        });
    }
    let mut keys: BTreeSet<[u8; 32]> = BTreeSet::new();
    let mut stmt =
        conn.prepare("SELECT DISTINCT signer FROM changes WHERE doc IN (SELECT doc FROM x_doc)")?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let signer: Vec<u8> = r.get(0)?;
        if let Ok(k) = <[u8; 32]>::try_from(signer.as_slice()) {
            keys.insert(k);
        }
    }
    let mut take = vec![false; all.len()];
    loop {
        let mut grew = false;
        for (i, ks) in named.iter().enumerate() {
            if !take[i] && ks.iter().any(|k| keys.contains(k)) {
                take[i] = true;
                grew = true;
                keys.extend(ks.iter().copied());
            }
        }
        if !grew {
            break;
        }
    }
    Ok(all
        .iter()
        .zip(take)
        .filter(|(_, t)| *t)
        .map(|(c, _)| export(c))
        .collect())
}

#[derive(Deserialize)]
struct Kind {
    #[serde(rename = "type")]
    kind: String,
}

/// Reads a JSON Lines export and stores its signed material (verified and authorised like
/// changes from a peer), one line at a time. Readable lines are skipped. The meta line must
/// come first; a bad line is refused with its number.
pub fn import_jsonl<S: Store>(
    repo: &mut Repo<S>,
    r: &mut dyn BufRead,
    now: UnixTime,
    progress: &mut dyn FnMut(u64),
) -> Result<ImportReport, ImportError> {
    let mut report = ImportReport::default();
    let mut proofs = Vec::new();
    let mut buf = Vec::new();
    let mut n = 0usize;
    let bad = |n: usize, reason: String| ImportError::Line { line: n, reason };
    let at = |n: usize| {
        move |e: ImportError| match e {
            ImportError::Hex { what, .. } => bad(n, format!("{what} is not valid hex")),
            ImportError::Decode { reason, .. } => bad(n, reason),
            ImportError::Repo { source, .. } => bad(n, source.to_string()),
            other => other,
        }
    };
    loop {
        buf.clear();
        let read = std::io::Read::take(&mut *r, MAX_LINE_BYTES as u64 + 1)
            .read_until(b'\n', &mut buf)
            .map_err(|e| bad(n + 1, e.to_string()))?;
        if read == 0 {
            break;
        }
        n += 1;
        if buf.len() > MAX_LINE_BYTES {
            return Err(bad(n, format!("longer than {MAX_LINE_BYTES} bytes")));
        }
        let text = std::str::from_utf8(&buf)
            .map_err(|e| bad(n, e.to_string()))?
            .trim();
        if text.is_empty() {
            continue;
        }
        let kind: Kind = serde_json::from_str(text).map_err(|e| bad(n, e.to_string()))?;
        match (n, kind.kind.as_str()) {
            (1, "meta") => {
                let meta: Tagged2<Meta> =
                    serde_json::from_str(text).map_err(|e| bad(n, e.to_string()))?;
                if meta.body.format != FORMAT || meta.body.version != VERSION {
                    return Err(ImportError::Format {
                        format: meta.body.format,
                        version: meta.body.version,
                    });
                }
            }
            (1, other) => {
                return Err(bad(
                    n,
                    format!("the first line must be the meta line, not {other:?}"),
                ));
            }
            (_, "certificate") => {
                let c: Tagged2<ExportedCert> =
                    serde_json::from_str(text).map_err(|e| bad(n, e.to_string()))?;
                if c.body.kind == crate::export::PROOF_KIND {
                    // After the documents: a proof is stored only about a document held.
                    proofs.push((n, c.body));
                    continue;
                }
                report.new_certs +=
                    usize::from(crate::export::import_cert(repo, n, &c.body).map_err(at(n))?);
            }
            (_, "document") => {
                let d: Tagged2<ExportedDoc> =
                    serde_json::from_str(text).map_err(|e| bad(n, e.to_string()))?;
                let (new, dup) = crate::export::import_doc(repo, n, &d.body, now).map_err(at(n))?;
                report.new_changes += new;
                report.duplicates += dup;
                report.documents += 1;
                if (report.documents as u64).is_multiple_of(PROGRESS_EVERY) {
                    progress(report.documents as u64);
                }
            }
            _ => {} // readable records: derived from the documents, not imported
        }
    }
    if n == 0 {
        return Err(bad(0, "the file is empty".into()));
    }
    for (line, c) in proofs {
        report.new_certs +=
            usize::from(crate::export::import_cert(repo, line, &c).map_err(at(line))?);
    }
    Ok(report)
}

/// A tagged line read back: the `type` field dropped, the rest into `T`.
#[derive(Deserialize)]
struct Tagged2<T> {
    #[serde(rename = "type")]
    _kind: String,
    #[serde(flatten)]
    body: T,
}

/// CSV: `dir/<view>.csv` for every view (RFC 4180, header line, UTF-8) and
/// `dir/metadata.json`. `dir` must not exist or be empty. Returns the rows written.
pub fn csv(
    db: &Path,
    meta: &Meta,
    dir: &Path,
    progress: &mut dyn FnMut(u64),
) -> Result<u64, ExportError> {
    if dir.exists() && std::fs::read_dir(dir)?.next().is_some() {
        return Err(ExportError::Other(format!(
            "{} exists and is not empty; choose a new directory",
            dir.display()
        )));
    }
    std::fs::create_dir_all(dir)?;
    let mut c = Counter { n: 0, progress };
    let conn = open_read(db, meta)?;
    let mut tables = Vec::new();
    for (view, about, _) in allmende_catalog::sql::VIEWS {
        let path = dir.join(format!("{view}.csv"));
        let mut w = std::io::BufWriter::new(std::fs::File::create(&path)?);
        let cols = csv_rows(&conn, view, &mut w, &mut c)?;
        tables.push(
            serde_json::json!({ "file": format!("{view}.csv"), "row": about, "columns": cols }),
        );
    }
    let metadata = serde_json::json!({
        "meta": meta,
        "tables": tables,
        "documentation": "docs/sql.md of Allmende describes every column",
    });
    std::fs::write(
        dir.join("metadata.json"),
        serde_json::to_vec_pretty(&metadata).map_err(std::io::Error::from)?,
    )?;
    Ok(c.n)
}

/// One CSV file of the export, for a single table (the API's `format=csv&table=…`): the
/// same bytes as `<table>.csv` of [`csv()`]. Returns the rows written.
pub fn csv_table(
    db: &Path,
    meta: &Meta,
    table: &str,
    w: &mut dyn Write,
    progress: &mut dyn FnMut(u64),
) -> Result<u64, ExportError> {
    if !allmende_catalog::sql::VIEWS
        .iter()
        .any(|(v, _, _)| *v == table)
    {
        return Err(ExportError::Other(format!(
            "no table {table:?}; the tables are {}",
            table_names()
        )));
    }
    let mut c = Counter { n: 0, progress };
    let conn = open_read(db, meta)?;
    csv_rows(&conn, table, w, &mut c)?;
    Ok(c.n)
}

/// The tables of the CSV export, comma-separated.
pub fn table_names() -> String {
    allmende_catalog::sql::VIEWS
        .iter()
        .map(|(v, _, _)| *v)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Writes the header line and every row of `view`; returns the column names.
fn csv_rows(
    conn: &rusqlite::Connection,
    view: &str,
    w: &mut dyn Write,
    c: &mut Counter<'_>,
) -> Result<Vec<String>, ExportError> {
    // The header comes from the statement, so an empty table still gets one.
    let stmt = conn.prepare(&format!("SELECT * FROM {view}"))?;
    let cols: Vec<String> = stmt.column_names().map(str::to_owned).collect();
    drop(stmt);
    write_csv_header(w, &cols)?;
    each_row(conn, view, |columns, r| {
        let vals: Vec<serde_json::Value> = (0..columns.len())
            .map(|i| r.get_ref(i).map(allmende_catalog::sql::json_value))
            .collect::<Result<_, _>>()?;
        w.write_all(allmende_catalog::sql::csv_line(&vals).as_bytes())?;
        c.tick();
        Ok(())
    })?;
    w.flush()?;
    Ok(cols)
}

fn write_csv_header(w: &mut dyn Write, columns: &[String]) -> Result<(), ExportError> {
    let names: Vec<serde_json::Value> = columns.iter().map(|c| c.as_str().into()).collect();
    w.write_all(allmende_catalog::sql::csv_line(&names).as_bytes())?;
    Ok(())
}

/// A self-contained SQLite snapshot at `out`: one table per view (same names and columns as
/// `docs/sql.md`, the reference views whole), indexes on the id columns, and a `metadata`
/// table (key, value). Written to
/// `<out>.partial` and renamed when complete. Returns the rows copied.
pub fn sqlite(db: &Path, meta: &Meta, out: &Path) -> Result<u64, ExportError> {
    if out.exists() {
        return Err(ExportError::Other(format!(
            "{} exists; choose a new file name",
            out.display()
        )));
    }
    let partial = PathBuf::from(format!("{}.partial", out.display()));
    let _ = std::fs::remove_file(&partial);
    let live = url::Url::from_file_path(std::fs::canonicalize(db)?)
        .map_err(|()| ExportError::Other(format!("{} is no file path", db.display())))?;
    let mut rows = 0u64;
    {
        let conn = rusqlite::Connection::open(&partial)?;
        conn.execute("ATTACH DATABASE ?1 AS live", [format!("{live}?mode=ro")])?;
        let tx = conn.unchecked_transaction()?;
        if let Some(f) = &meta.filter {
            // Unqualified names resolve to the live store: the new file is still empty.
            select(&tx, f, &meta.trust_anchors)?;
        }
        for (view, _, select) in allmende_catalog::sql::VIEWS {
            // The view's SELECT names idx_* tables; only the live database has them.
            let select = match &meta.filter {
                Some(f) => filtered_view(view, select, f),
                None => (*select).to_owned(),
            };
            tx.execute_batch(&format!("CREATE TABLE main.{view} AS {select}"))?;
            rows += tx.query_row(&format!("SELECT count(*) FROM main.{view}"), [], |r| {
                r.get::<_, i64>(0)
            })? as u64;
        }
        // The Gemeindeverzeichnis, whole, for joins on AGS (coverage, population).
        for (view, _, select) in allmende_catalog::sql::REFERENCE_VIEWS {
            tx.execute_batch(&format!("CREATE TABLE main.{view} AS {select}"))?;
        }
        tx.execute_batch(
            "CREATE INDEX products_id ON products (id);
             CREATE INDEX organisations_id ON organisations (id);
             CREATE INDEX deployments_product ON deployments (product);
             CREATE INDEX deployments_org ON deployments (org);
             CREATE INDEX ratings_product ON ratings (product);
             CREATE INDEX rating_scores_product ON rating_scores (product);
             CREATE INDEX reuse_reports_product ON reuse_reports (product);
             CREATE INDEX product_facets_product ON product_facets (product);
             CREATE TABLE metadata (key TEXT PRIMARY KEY, value TEXT NOT NULL);
             CREATE TABLE verified_organisations (org TEXT PRIMARY KEY);",
        )?;
        let m = serde_json::to_value(meta).map_err(std::io::Error::from)?;
        if let Some(obj) = m.as_object() {
            for (k, v) in obj {
                let text = match v {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                tx.execute(
                    "INSERT INTO metadata (key, value) VALUES (?1, ?2)",
                    [k, &text],
                )?;
            }
        }
        for org in &meta.verified_organisations {
            tx.execute(
                "INSERT INTO verified_organisations (org) VALUES (?1)",
                [format!("{org:#}")],
            )?;
        }
        tx.commit()?;
        // The selection's temporary tables go with the connection; VACUUM leaves them out.
        conn.execute_batch("DETACH DATABASE live; VACUUM;")?;
    }
    std::fs::rename(&partial, out)?;
    Ok(rows)
}

/// JSON-LD: a `dcat:Catalog` whose `dcat:dataset` lists every product as a
/// `schema:SoftwareApplication` and `adms:Asset`, with its licence (SPDX URI), vendor,
/// repository, categories, tasks, standards, and what Allmende adds: the number of
/// deployments and Nachnutzung reports and the mean rating. Returns the products written.
pub fn jsonld(
    db: &Path,
    meta: &Meta,
    w: &mut dyn Write,
    progress: &mut dyn FnMut(u64),
) -> Result<u64, ExportError> {
    let mut c = Counter { n: 0, progress };
    let head = serde_json::json!({
        "@context": {
            "schema": "https://schema.org/",
            "dcat": "http://www.w3.org/ns/dcat#",
            "dct": "http://purl.org/dc/terms/",
            "adms": "http://www.w3.org/ns/adms#",
            "foaf": "http://xmlns.com/foaf/0.1/",
            "allmende": "urn:allmende:vocab:"
        },
        "@id": "urn:allmende:catalog",
        "@type": "dcat:Catalog",
        "dct:title": "Allmende Referenzkatalog",
        "dct:license": { "@id": "https://www.govdata.de/dl-de/zero-2-0" },
        "dct:issued": meta.exported_at,
        "dct:publisher": meta.exported_by.map(|o| serde_json::json!({ "@id": format!("urn:allmende:org:{o:#}") })),
        "allmende:trustAnchors": meta.trust_anchors.iter().map(|o| format!("urn:allmende:org:{o:#}")).collect::<Vec<_>>(),
        "allmende:verifiedOrganisations": meta.verified_organisations.iter().map(|o| format!("urn:allmende:org:{o:#}")).collect::<Vec<_>>(),
    });
    let head = serde_json::to_string_pretty(&head).map_err(std::io::Error::from)?;
    // Open the object, add the dataset list, stream the products into it.
    let head = head.trim_end().trim_end_matches('}').trim_end();
    write!(w, "{head},\n  \"dcat:dataset\": [")?;
    let conn = open_read(db, meta)?;
    let mut stmt = conn.prepare(
        "SELECT p.id, i.json,
                (SELECT count(*) FROM deployments d WHERE d.product = p.id),
                (SELECT count(*) FROM reuse_reports r WHERE r.product = p.id),
                (SELECT avg(score) FROM rating_scores s WHERE s.product = p.id),
                (SELECT count(DISTINCT org) FROM rating_scores s WHERE s.product = p.id)
         FROM products p JOIN idx_product i ON lower(hex(i.doc)) = p.id ORDER BY p.id",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let id: String = r.get(0)?;
        let json: String = r.get(1)?;
        let p: serde_json::Value = serde_json::from_str(&json).unwrap_or_default();
        let text = |k: &str| p.get(k).and_then(|v| v.as_str()).map(str::to_owned);
        let list = |k: &str| {
            p.get(k)
                .cloned()
                .unwrap_or(serde_json::Value::Array(vec![]))
        };
        let mut item = serde_json::json!({
            "@id": format!("urn:allmende:product:{id}"),
            "@type": ["schema:SoftwareApplication", "adms:Asset"],
            "schema:name": text("name"),
            "dct:title": text("name"),
            "schema:description": text("description"),
            "dct:description": text("description"),
            "schema:author": { "@type": "schema:Organization", "schema:name": text("vendor") },
            "dct:publisher": { "@type": "foaf:Agent", "foaf:name": text("vendor") },
            "schema:applicationCategory": text("kind"),
            "schema:keywords": list("categories"),
            "dct:subject": list("tasks"),
            "allmende:standards": list("standards"),
            "schema:codeRepository": text("repository"),
            "schema:url": text("website"),
            "allmende:deployments": r.get::<_, i64>(2)?,
            "allmende:reuseReports": r.get::<_, i64>(3)?,
        });
        if let (Some(obj), Some(l)) = (item.as_object_mut(), text("licence")) {
            let uri = serde_json::json!({ "@id": format!("https://spdx.org/licenses/{l}") });
            obj.insert("schema:license".into(), uri.clone());
            obj.insert("dct:license".into(), uri);
        }
        if let (Some(obj), Some(mean)) = (item.as_object_mut(), r.get::<_, Option<f64>>(4)?) {
            obj.insert(
                "schema:aggregateRating".into(),
                serde_json::json!({
                    "@type": "schema:AggregateRating",
                    "schema:ratingValue": (mean * 100.0).round() / 100.0,
                    "schema:ratingCount": r.get::<_, i64>(5)?,
                    "schema:bestRating": 5,
                    "schema:worstRating": 1,
                }),
            );
        }
        // Drop empty fields rather than writing nulls.
        if let Some(obj) = item.as_object_mut() {
            obj.retain(|_, v| !v.is_null());
        }
        let sep = if c.n == 0 { "\n    " } else { ",\n    " };
        write!(w, "{sep}")?;
        serde_json::to_writer(&mut *w, &item).map_err(std::io::Error::from)?;
        c.tick();
    }
    writeln!(w, "\n  ]\n}}")?;
    w.flush()?;
    Ok(c.n)
}
