//! Streaming exports for researchers and other catalogs: CSV (one file per table), JSON
//! Lines, JSON-LD and a self-contained SQLite snapshot, and the JSON Lines import.
//!
//! Nothing here holds the catalog in memory: rows come from the index one at a time through
//! the read-only query connection ([`crate::sql`]), signed documents one document at a
//! time, and the SQLite snapshot is copied inside SQLite. Every export states its licence,
//! the exporting organisation, the time, the trust anchors used and which organisations they
//! verified ([`Meta`]). `progress` is called every few thousand records.
//!
//! The tables are the documented views of `docs/sql.md` ([`crate::sql::VIEWS`]), so the
//! snapshot answers the same queries as `allmende query`.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use allmende_protocol::ids::OrgId;
use allmende_protocol::schema::UnixTime;
use serde::{Deserialize, Serialize};

use crate::export::{ExportedCert, ExportedDoc, ImportError, ImportReport, LICENCE};
use crate::repo::{Repo, RepoError};
use crate::store::Store;

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
}

impl Meta {
    /// The meta data of an export of the store at `db` made now.
    pub fn new(
        db: &Path,
        exported_by: Option<OrgId>,
        anchors: &[OrgId],
        now: UnixTime,
    ) -> Result<Self, ExportError> {
        let conn = crate::sql::open(db)?;
        let verified = crate::query::verified_orgs(&conn, anchors)
            .map_err(|e| ExportError::Other(e.to_string()))?;
        Ok(Self {
            format: FORMAT.into(),
            version: VERSION,
            licence: LICENCE.into(),
            exported_at: crate::export::iso8601(now),
            exported_by,
            trust_anchors: anchors.to_vec(),
            verified_organisations: verified,
        })
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
    Sql(#[from] crate::sql::SqlError),
    /// Anything else.
    #[error("{0}")]
    Other(String),
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

/// JSON Lines: a `meta` line, then every `certificate` and `document` (the signed material,
/// which [`import_jsonl`] verifies and stores), then the readable records of every view, one
/// per line with its `type` (`organisation`, `product`, `deployment`, …). Returns the
/// number of lines after the meta line.
pub fn jsonl<S: Store>(
    repo: &Repo<S>,
    db: &Path,
    meta: &Meta,
    w: &mut dyn Write,
    progress: &mut dyn FnMut(u64),
) -> Result<u64, ExportError> {
    let mut c = Counter { n: 0, progress };
    line(w, "meta", meta)?;
    for cert in crate::export::exported_certs(repo)? {
        line(w, "certificate", &cert)?;
        c.tick();
    }
    for header in repo.store().headers().map_err(RepoError::from)? {
        line(w, "document", &crate::export::exported_doc(repo, &header)?)?;
        c.tick();
    }
    let conn = crate::sql::open(db)?;
    for (view, _, _) in crate::sql::VIEWS {
        each_row(&conn, view, |columns, r| {
            let mut obj = serde_json::Map::new();
            for (i, col) in columns.iter().enumerate() {
                let v = crate::sql::json_value(r.get_ref(i)?);
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
    let conn = crate::sql::open(db)?;
    let mut tables = Vec::new();
    for (view, about, _) in crate::sql::VIEWS {
        let path = dir.join(format!("{view}.csv"));
        let mut w = std::io::BufWriter::new(std::fs::File::create(&path)?);
        let mut header_done = false;
        let mut cols = Vec::new();
        each_row(&conn, view, |columns, r| {
            if !header_done {
                write_csv_header(&mut w, columns)?;
                header_done = true;
                cols = columns.to_vec();
            }
            let vals: Vec<serde_json::Value> = (0..columns.len())
                .map(|i| r.get_ref(i).map(crate::sql::json_value))
                .collect::<Result<_, _>>()?;
            w.write_all(crate::sql::csv_line(&vals).as_bytes())?;
            c.tick();
            Ok(())
        })?;
        if !header_done {
            // An empty table still gets its header line.
            let stmt = conn.prepare(&format!("SELECT * FROM {view}"))?;
            cols = stmt.column_names().map(str::to_owned).collect();
            write_csv_header(&mut w, &cols)?;
        }
        w.flush()?;
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

fn write_csv_header(w: &mut dyn Write, columns: &[String]) -> Result<(), ExportError> {
    let names: Vec<serde_json::Value> = columns.iter().map(|c| c.as_str().into()).collect();
    w.write_all(crate::sql::csv_line(&names).as_bytes())?;
    Ok(())
}

/// A self-contained SQLite snapshot at `out`: one table per view (same names and columns as
/// `docs/sql.md`), indexes on the id columns, and a `metadata` table (key, value). Written to
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
        for (view, _, select) in crate::sql::VIEWS {
            // The view's SELECT names idx_* tables; only the live database has them.
            tx.execute_batch(&format!("CREATE TABLE main.{view} AS {select}"))?;
            rows += tx.query_row(&format!("SELECT count(*) FROM main.{view}"), [], |r| {
                r.get::<_, i64>(0)
            })? as u64;
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
    let conn = crate::sql::open(db)?;
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
