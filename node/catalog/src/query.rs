//! Read-side queries over the catalog index (SQLite only): search with facets, aggregates.
//!
//! Every query reads the `idx_*` tables that [`allmende_store::index`] keeps current; none loads an
//! Automerge document. Trust: an organisation is *verified* when a configured trust anchor
//! attested it; aggregates count verified organisations only unless asked otherwise.

use std::collections::BTreeMap;

use allmende_protocol::ids::OrgId;
use rusqlite::{Connection, params_from_iter, types::Value};
use serde::Serialize;

use allmende_store::store::StoreError;

/// Facets a product search can filter on (product side).
pub const PRODUCT_FACETS: &[&str] = &[
    "kind",
    "task",
    "ozg",
    "lebenslage",
    "themenfeld",
    "category",
    "standard",
    "licence",
    "open_source",
    "hosting",
    "efa",
    "efa_land",
];

/// Largest page.
pub const MAX_LIMIT: u32 = 200;

/// A product search.
#[derive(Debug, Clone, Default)]
pub struct SearchQuery {
    /// Free text (German-aware; see `search_text`).
    pub q: Option<String>,
    /// Product facet filters (facet, value); several values of one facet mean OR.
    pub facets: Vec<(String, String)>,
    /// Only products deployed in this Land (two-digit key).
    pub land: Option<String>,
    /// Only products deployed in this Kreis (five-digit key).
    pub kreis: Option<String>,
    /// Page size (at most [`MAX_LIMIT`]).
    pub limit: u32,
    /// Offset (the web UI's page numbers); the API pages with [`SearchQuery::after`].
    pub offset: u32,
    /// Continue after this cursor ([`SearchResult::next`] of the previous page).
    pub after: Option<String>,
    /// The trust anchors the node follows. With any, an entry with neither a verified steward
    /// (its creator or a co-steward, attested by one of them or one of them itself) nor
    /// verified evidence (a deployment, rating or Nachnutzung report by such an
    /// organisation) is left out and counted in [`SearchResult::hidden_unverified`].
    pub anchors: Vec<OrgId>,
    /// The node's own and hosted organisations: with anchors, they count like verified ones
    /// (a node lists what it publishes itself, attested yet or not).
    pub own: Vec<OrgId>,
    /// List the entries without verified steward or evidence too.
    pub unverified: bool,
}

/// One product in a result list.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct ProductHit {
    /// Product id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Vendor.
    pub vendor: String,
    /// Kind.
    pub kind: String,
    /// Licence.
    pub licence: Option<String>,
    /// Deployments in production or pilot.
    pub deployments: u64,
}

/// A search result.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct SearchResult {
    /// Matching products in total.
    pub total: u64,
    /// This page.
    pub hits: Vec<ProductHit>,
    /// Counts per facet value over all matches.
    pub facets: BTreeMap<String, BTreeMap<String, u64>>,
    /// The cursor of the next page (for [`SearchQuery::after`]), `None` on the last page.
    pub next: Option<String>,
    /// Matches left out because neither a steward nor any evidence of them is verified
    /// ([`SearchQuery::anchors`]); listed with `unverified`.
    pub hidden_unverified: u64,
}

/// A query that cannot run as given.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// Unknown facet.
    #[error("unknown facet {0:?}; known facets: {known}", known = PRODUCT_FACETS.join(", "))]
    UnknownFacet(String),
    /// A parameter is out of range.
    #[error("{0}")]
    Invalid(String),
    /// A cursor is no longer valid because the data it depends on changed.
    #[error("{0}")]
    Changed(String),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for QueryError {
    fn from(e: rusqlite::Error) -> Self {
        QueryError::Store(StoreError::Sqlite(e))
    }
}

/// Opaque paging cursors, shared by every list that pages with `limit`/`after`: fields
/// joined by `.`, each the lowercase hex of its bytes. A cursor names the last row of a page
/// by its sort key, so the next page starts after that row whatever was added or removed
/// meanwhile (keyset paging): rows that exist throughout are never repeated or skipped.
pub mod cursor {
    /// Longest cursor accepted.
    const MAX_CHARS: usize = 1_200;

    /// The cursor of a row with these sort-key fields.
    pub fn encode(fields: &[&[u8]]) -> String {
        fields.iter().map(hex::encode).collect::<Vec<_>>().join(".")
    }

    /// The fields of a cursor with exactly `n` fields, or `None` if it is not one.
    pub fn decode(s: &str, n: usize) -> Option<Vec<Vec<u8>>> {
        if s.len() > MAX_CHARS {
            return None;
        }
        let fields = s
            .split('.')
            .map(|f| hex::decode(f).ok())
            .collect::<Option<Vec<_>>>()?;
        (fields.len() == n).then_some(fields)
    }
}

/// `n` SQL parameter marks for an `IN (...)` list: `?, ?, ?`.
pub fn placeholders(n: usize) -> String {
    vec!["?"; n].join(", ")
}

/// The shortest query term corrected when it matches nothing ("one-letter typos in words of
/// five or more letters").
const MIN_TYPO_CHARS: usize = 5;
/// The most corrections one term gets.
const MAX_CORRECTIONS: usize = 8;

/// The two `MATCH` expressions of a text search: for the word index (each term a word
/// prefix) and, when every term is long enough, for the trigram index (each term anywhere
/// inside the text, so parts of compounds are found). When neither finds anything, each term
/// of five or more characters that starts no indexed word is replaced by the indexed words it
/// is one edit away from (a letter wrong, missing, added or two swapped).
fn match_expressions(
    conn: &Connection,
    terms: &[String],
) -> Result<(String, Option<String>), QueryError> {
    use allmende_store::search_text::{fts_query_with, part_query};
    let plain: Vec<Vec<String>> = terms.iter().map(|t| vec![t.clone()]).collect();
    let words = fts_query_with(&plain).unwrap_or_default();
    let parts = part_query(terms);
    if any_match(conn, "idx_product_fts", &words)?
        || parts
            .as_deref()
            .map(|p| any_match(conn, "idx_product_tri", p))
            .transpose()?
            .unwrap_or(false)
    {
        return Ok((words, parts));
    }
    let mut corrected = Vec::with_capacity(terms.len());
    for t in terms {
        let n = t.chars().count();
        if n < MIN_TYPO_CHARS || any_match(conn, "idx_product_fts", &format!("\"{t}\"*"))? {
            corrected.push(vec![t.clone()]);
            continue;
        }
        let mut found = corrections(conn, t)?;
        if found.is_empty() {
            found.push(t.clone());
        }
        corrected.push(found);
    }
    Ok((fts_query_with(&corrected).unwrap_or(words), None))
}

/// Whether a `MATCH` expression finds any row of `table` (one of the two product indexes).
fn any_match(conn: &Connection, table: &str, expr: &str) -> Result<bool, QueryError> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT 1 FROM {table} WHERE {table} MATCH ?1 LIMIT 1"
        ))?
        .exists([expr])?)
}

/// Indexed words (or their beginnings) one edit away from `term`, most used first.
fn corrections(conn: &Connection, term: &str) -> Result<Vec<String>, QueryError> {
    let n = term.chars().count();
    let mut stmt = conn.prepare_cached(
        "SELECT term, doc FROM idx_product_vocab WHERE length(term) >= ?1 ORDER BY doc DESC",
    )?;
    let mut rows = stmt.query([n.saturating_sub(1) as i64])?;
    let mut out: Vec<String> = Vec::new();
    while let Some(r) = rows.next()? {
        let Ok(word) = r.get_ref(0)?.as_str() else {
            continue;
        };
        // The word itself, or its beginning of the term's length give or take one.
        let candidate = [n.saturating_sub(1), n, n + 1]
            .into_iter()
            .filter_map(|k| {
                let prefix: String = word.chars().take(k).collect();
                (prefix.chars().count() == k).then_some(prefix)
            })
            .find(|p| strsim::osa_distance(term, p) <= 1);
        if let Some(c) = candidate
            && !out.contains(&c)
        {
            out.push(c);
            if out.len() == MAX_CORRECTIONS {
                break;
            }
        }
    }
    Ok(out)
}

/// A version of the full-text index that changes whenever a product's text is written: the
/// hash of FTS5's structure record, which counts every write. Relevance scores (`bm25`)
/// depend on the whole index, so a ranked cursor is only valid at the version it was made at.
fn fts_version(conn: &Connection) -> Result<[u8; 8], QueryError> {
    let block: Option<Vec<u8>> = conn
        .query_row(
            "SELECT block FROM idx_product_fts_data WHERE id = 10",
            [],
            |r| r.get(0),
        )
        .map(Some)
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok(None),
            e => Err(e),
        })?;
    let digest = <sha2::Sha256 as sha2::Digest>::digest(block.unwrap_or_default());
    let mut out = [0u8; 8];
    out.copy_from_slice(&digest[..8]);
    Ok(out)
}

/// Where a product search continues: after this (score, name, id), in the search's order.
struct SearchAfter {
    score: f64,
    name: String,
    doc: Vec<u8>,
}

/// Reads a product-search cursor; `version` is the full-text index version for a ranked
/// search (with `q`), `None` for a search ordered by name.
fn parse_search_cursor(text: &str, version: Option<[u8; 8]>) -> Result<SearchAfter, QueryError> {
    let bad = || {
        QueryError::Invalid(format!(
            "after {text:?} is not a cursor of this search; take it from the Link header or `next`"
        ))
    };
    let f = match version {
        Some(_) => cursor::decode(text, 5),
        None => cursor::decode(text, 3),
    }
    .ok_or_else(bad)?;
    let name = String::from_utf8(f[f.len() - 2].clone()).map_err(|_| bad())?;
    let doc = f[f.len() - 1].clone();
    if doc.len() != 32 {
        return Err(bad());
    }
    match version {
        None if f[0] == b"n" => Ok(SearchAfter {
            score: 0.0,
            name,
            doc,
        }),
        Some(v) if f[0] == b"r" => {
            if f[1] != v {
                return Err(QueryError::Changed(
                    "the catalog's products changed since the first page of this ranked search, so relevance scores moved; start again from the first page, or page without q".into(),
                ));
            }
            let bits: [u8; 8] = f[2].clone().try_into().map_err(|_| bad())?;
            Ok(SearchAfter {
                score: f64::from_bits(u64::from_be_bytes(bits)),
                name,
                doc,
            })
        }
        _ => Err(bad()),
    }
}

/// Runs a product search.
///
/// Order: with `q` by relevance (`bm25`, smaller is better), then name (ASCII
/// case-insensitive), then id; without `q` by name, then id. [`SearchResult::next`] names the
/// last hit as (score, name, id) when more follow. A ranked cursor also holds the full-text
/// index version: scores are relative to the whole catalog, so after a product change the
/// cursor is refused ([`QueryError::Changed`]) instead of silently repeating or skipping hits.
pub fn search(conn: &Connection, q: &SearchQuery) -> Result<SearchResult, QueryError> {
    if q.limit > MAX_LIMIT {
        return Err(QueryError::Invalid(format!(
            "limit {} exceeds {MAX_LIMIT}",
            q.limit
        )));
    }
    if q.after.is_some() && q.offset > 0 {
        return Err(QueryError::Invalid(
            "use either after (cursor) or offset, not both".into(),
        ));
    }
    prepare_canon(conn)?;
    let filtering = !q.anchors.is_empty() && !q.unverified;
    let mut sql = String::from("SELECT p.doc AS doc, p.name AS name, ");
    if filtering {
        prepare_verified(conn, &q.anchors, &q.own)?;
        sql.push_str(VERIFIED_ENTRY);
    } else {
        sql.push_str("1 AS verified, ");
    }
    let mut args: Vec<Value> = Vec::new();
    let mut ranked = false;
    let text = q.q.as_deref().filter(|t| !t.trim().is_empty());
    let terms = text.map(allmende_store::search_text::query_terms);
    match terms {
        Some(terms) if !terms.is_empty() => {
            let (words, parts) = match_expressions(conn, &terms)?;
            // Whole words and word prefixes first (tier 0, bm25 of the word index); then
            // parts of compounds (tier 1, after every tier-0 entry). Relevance is raised by
            // up to half again for entries in use (bm25 is negative, smaller is better):
            // x / (x + 10) of the deployments in production or pilot.
            let mut matches = String::from(
                "SELECT rowid AS id, bm25(idx_product_fts) AS s FROM idx_product_fts WHERE idx_product_fts MATCH ?",
            );
            args.push(Value::Text(words));
            if let Some(parts) = parts {
                // An entry found both ways counts as a word match (the smaller score).
                matches = format!(
                    "SELECT id, min(s) AS s FROM ({matches} UNION ALL SELECT rowid, 1000.0 FROM idx_product_tri WHERE idx_product_tri MATCH ?) GROUP BY id"
                );
                args.push(Value::Text(parts));
            }
            sql.push_str(&format!(
                "CASE WHEN m.s < 500.0 THEN m.s * (1.0 + coalesce(u.in_use, 0) / (coalesce(u.in_use, 0) + 10.0) / 2.0)
                   ELSE m.s - coalesce(u.in_use, 0) / (coalesce(u.in_use, 0) + 10.0) END
                   AS score FROM idx_product p
                 JOIN ({matches}) m ON m.id = p.id
                 LEFT JOIN idx_usage u ON u.product = p.doc"
            ));
            ranked = true;
        }
        Some(_) => {
            return Ok(SearchResult {
                total: 0,
                hits: vec![],
                facets: BTreeMap::new(),
                next: None,
                hidden_unverified: 0,
            });
        }
        None => sql.push_str("0.0 AS score FROM idx_product p"),
    }
    let version = if ranked {
        Some(fts_version(conn)?)
    } else {
        None
    };
    let after = q
        .after
        .as_deref()
        .map(|c| parse_search_cursor(c, version))
        .transpose()?;
    // Entries merged into another ("same as") are listed under their canonical entry.
    sql.push_str(
        " WHERE EXISTS (SELECT 1 FROM canon k WHERE k.doc = p.doc AND k.canonical = p.doc)",
    );
    let mut by_facet: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (f, v) in &q.facets {
        let Some(known) = PRODUCT_FACETS.iter().find(|k| **k == f.as_str()) else {
            return Err(QueryError::UnknownFacet(f.clone()));
        };
        // Standards are indexed under their canonical names ("X Meld" → "XMeld").
        let value = if *known == "standard" {
            allmende_protocol::reference::normalise_standard(v)
        } else {
            v.clone()
        };
        by_facet.entry(known).or_default().push(value);
    }
    for (facet, values) in &by_facet {
        let marks = placeholders(values.len());
        sql.push_str(&format!(
            " AND p.doc IN (SELECT x.doc FROM idx_product_facet x WHERE x.facet = ? AND x.value IN ({marks}))"
        ));
        args.push(Value::Text((*facet).to_owned()));
        args.extend(values.iter().map(|v| Value::Text(v.clone())));
    }
    // Deployment counts per product and region, kept by triggers (store schema 4).
    for (level, value) in [("land", &q.land), ("kreis", &q.kreis)] {
        if let Some(v) = value {
            sql.push_str(
                " AND EXISTS (SELECT 1 FROM idx_usage_region r
                   WHERE r.level = ? AND r.region = ? AND r.product = p.doc AND r.deployments > 0)",
            );
            args.push(Value::Text(level.to_owned()));
            args.push(Value::Text(v.clone()));
        }
    }
    // The matches are found once; the count, the page and the facet counts read them.
    conn.execute_batch(
        "CREATE TEMP TABLE IF NOT EXISTS search_hits
           (doc BLOB PRIMARY KEY, name TEXT NOT NULL, score REAL NOT NULL, verified INTEGER NOT NULL)
           WITHOUT ROWID;
         DELETE FROM search_hits;",
    )?;
    let matched = conn.execute(
        &format!(
            "INSERT INTO search_hits (doc, name, score, verified)
             SELECT doc, name, score, verified FROM ({sql})"
        ),
        params_from_iter(args.iter()),
    )? as u64;
    let hidden_unverified = if filtering {
        conn.execute("DELETE FROM search_hits WHERE verified = 0", [])? as u64
    } else {
        0
    };
    let total = matched - hidden_unverified;
    let limit = if q.limit == 0 { 20 } else { q.limit };
    let mut page_args: Vec<Value> = Vec::new();
    let mut keyset = String::new();
    if let Some(a) = &after {
        let (s, n, d) = (1, 2, 3);
        keyset = format!(
            " WHERE (m.score > ?{s} OR (m.score = ?{s} AND (m.name > ?{n} COLLATE NOCASE
                 OR (m.name = ?{n} COLLATE NOCASE AND m.doc > ?{d}))))"
        );
        page_args.push(Value::Real(a.score));
        page_args.push(Value::Text(a.name.clone()));
        page_args.push(Value::Blob(a.doc.clone()));
    }
    // One row more than the page tells whether another page follows.
    let (l, o) = (page_args.len() + 1, page_args.len() + 2);
    page_args.push(Value::Integer(i64::from(limit) + 1));
    page_args.push(Value::Integer(i64::from(q.offset)));
    let page_sql = format!(
        "SELECT m.doc, p.name, p.vendor, p.kind, p.licence,
           (SELECT coalesce(sum(u.in_use), 0) FROM idx_usage u JOIN canon k ON k.doc = u.product
             WHERE k.canonical = p.doc),
           m.score
         FROM search_hits m CROSS JOIN idx_product p ON p.doc = m.doc{keyset}
         ORDER BY m.score, m.name COLLATE NOCASE, m.doc LIMIT ?{l} OFFSET ?{o}"
    );
    let mut stmt = conn.prepare(&page_sql)?;
    let mut hits = Vec::new();
    let mut last: Option<(f64, Vec<u8>)> = None;
    let mut more = false;
    let mut rows = stmt.query(params_from_iter(page_args.iter()))?;
    while let Some(r) = rows.next()? {
        if hits.len() == limit as usize {
            more = true;
            break;
        }
        let doc: Vec<u8> = r.get(0)?;
        hits.push(ProductHit {
            id: hex::encode(&doc),
            name: r.get(1)?,
            vendor: r.get(2)?,
            kind: r.get(3)?,
            licence: r.get(4)?,
            deployments: r.get::<_, i64>(5)? as u64,
        });
        last = Some((r.get(6)?, doc));
    }
    let next = match (more, last, hits.last()) {
        (true, Some((score, doc)), Some(hit)) => Some(match version {
            Some(v) => cursor::encode(&[
                b"r",
                &v,
                &score.to_bits().to_be_bytes(),
                hit.name.as_bytes(),
                &doc,
            ]),
            None => cursor::encode(&[b"n", hit.name.as_bytes(), &doc]),
        }),
        _ => None,
    };
    let mut facets: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    // Counted here rather than with GROUP BY: sorting some 6,000 (facet, value) rows for a
    // broad filter at full scale cost more than the rest of the search. CROSS JOIN keeps the
    // hits as the outer loop: the temporary table has no statistics, and SQLite otherwise
    // walks every facet row of the catalog (a quarter of a broad search's time at full
    // scale); the same for the page's product rows.
    let mut stmt = conn.prepare_cached(
        "SELECT f.facet, f.value FROM search_hits h CROSS JOIN idx_product_facet f ON f.doc = h.doc",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let (Ok(f), Ok(v)) = (r.get_ref(0)?.as_str(), r.get_ref(1)?.as_str()) else {
            continue;
        };
        if !facets.contains_key(f) {
            facets.insert(f.to_owned(), BTreeMap::new());
        }
        let Some(values) = facets.get_mut(f) else {
            continue;
        };
        match values.get_mut(v) {
            Some(n) => *n += 1,
            None => {
                values.insert(v.to_owned(), 1);
            }
        }
    }
    Ok(SearchResult {
        total,
        hits,
        facets,
        next,
        hidden_unverified,
    })
}

/// The `verified` column of a match ([`SearchQuery::anchors`]), over `verified_org`.
const VERIFIED_ENTRY: &str = "(p.created_by IN (SELECT org FROM verified_org)
     OR EXISTS (SELECT 1 FROM json_each(p.json, '$.co_stewards') c
                WHERE unhex(c.value) IN (SELECT org FROM verified_org))
     OR EXISTS (SELECT 1 FROM idx_deployment d WHERE d.product = p.doc
                AND d.org IN (SELECT org FROM verified_org))
     OR EXISTS (SELECT 1 FROM idx_rating r WHERE r.product = p.doc
                AND r.org IN (SELECT org FROM verified_org))
     OR EXISTS (SELECT 1 FROM idx_reuse x WHERE x.product = p.doc
                AND x.org IN (SELECT org FROM verified_org))) AS verified, ";

/// Fills the temporary table `verified_org(org)`: `anchors`, the organisations they attest,
/// and `own`. Rebuilt only when these or the stored changes changed since the last build on
/// this connection.
fn prepare_verified(conn: &Connection, anchors: &[OrgId], own: &[OrgId]) -> Result<(), QueryError> {
    conn.execute_batch(
        "CREATE TEMP TABLE IF NOT EXISTS verified_org (org BLOB PRIMARY KEY) WITHOUT ROWID;
         CREATE TEMP TABLE IF NOT EXISTS verified_built (version TEXT NOT NULL);",
    )?;
    let mut version: String = conn.query_row(
        "SELECT (SELECT coalesce(max(seq), 0) FROM changes) || '/' || (SELECT count(*) FROM idx_attestation)",
        [],
        |r| r.get(0),
    )?;
    for a in anchors {
        version.push_str(&format!("/{a:#}"));
    }
    version.push_str("/own");
    for o in own {
        version.push_str(&format!("/{o:#}"));
    }
    let built: Option<String> = conn
        .query_row("SELECT version FROM verified_built", [], |r| r.get(0))
        .ok();
    if built.as_deref() == Some(version.as_str()) {
        return Ok(());
    }
    let tx = conn.unchecked_transaction()?;
    tx.execute_batch("DELETE FROM verified_org; DELETE FROM verified_built;")?;
    {
        let mut put = tx.prepare("INSERT OR IGNORE INTO verified_org (org) VALUES (?1)")?;
        let listed = anchors.iter().chain(own).copied();
        for org in listed.chain(verified_orgs(&tx, anchors)?) {
            put.execute([org.as_bytes().as_slice()])?;
        }
    }
    tx.execute(
        "INSERT INTO verified_built (version) VALUES (?1)",
        [version],
    )?;
    tx.commit()?;
    Ok(())
}

/// Fills the temporary table `canon(doc, canonical)`: every product and the entry it resolves
/// to. Entries joined by "same as" (in either direction, transitively) form one product whose
/// canonical entry is the one with the smallest id, so every node resolves a merge alike.
/// Links to entries this node does not hold are ignored until they arrive.
pub fn prepare_canon(conn: &Connection) -> Result<(), QueryError> {
    // Rebuilt only when the products may have changed since the last build on this connection
    // (a new change, or a rebuilt index with another number of entries).
    conn.execute_batch(
        "CREATE TEMP TABLE IF NOT EXISTS canon (doc BLOB PRIMARY KEY, canonical BLOB NOT NULL) WITHOUT ROWID;
         CREATE INDEX IF NOT EXISTS temp.canon_canonical ON canon (canonical);
         CREATE TEMP TABLE IF NOT EXISTS canon_built (version TEXT NOT NULL);",
    )?;
    let version: String = conn.query_row(
        "SELECT (SELECT coalesce(max(seq), 0) FROM changes) || '/' || (SELECT count(*) FROM idx_product)
           || '/' || (SELECT count(*) FROM idx_product_same)",
        [],
        |r| r.get(0),
    )?;
    let built: Option<String> = conn
        .query_row("SELECT version FROM canon_built", [], |r| r.get(0))
        .ok();
    if built.as_deref() == Some(version.as_str()) {
        return Ok(());
    }
    conn.execute_batch(
        "DELETE FROM canon;
         INSERT INTO canon (doc, canonical)
         WITH RECURSIVE
           edges(a, b) AS (
             SELECT doc, same FROM idx_product_same WHERE same IN (SELECT doc FROM idx_product)
             UNION SELECT same, doc FROM idx_product_same WHERE same IN (SELECT doc FROM idx_product)),
           reach(start, node) AS (
             SELECT doc, doc FROM idx_product
             UNION SELECT r.start, e.b FROM reach r JOIN edges e ON e.a = r.node)
         SELECT start, min(node) FROM reach GROUP BY start;",
    )?;
    conn.execute("DELETE FROM canon_built", [])?;
    conn.execute("INSERT INTO canon_built (version) VALUES (?1)", [version])?;
    Ok(())
}

/// Existing (canonical) entries that are likely the product `name` by `vendor`: the same
/// name after German normalisation, or every word of the name plus the same vendor.
pub fn similar(conn: &Connection, name: &str, vendor: &str) -> Result<Vec<ProductHit>, QueryError> {
    if allmende_store::search_text::fts_query(name).is_none() {
        return Ok(Vec::new());
    }
    let (want_name, want_vendor) = (
        allmende_store::search_text::normalise(name),
        allmende_store::search_text::normalise(vendor),
    );
    let result = search(
        conn,
        &SearchQuery {
            q: Some(name.to_owned()),
            limit: MAX_LIMIT,
            ..SearchQuery::default()
        },
    )?;
    Ok(result
        .hits
        .into_iter()
        .filter(|h| {
            allmende_store::search_text::normalise(&h.name) == want_name
                || allmende_store::search_text::normalise(&h.vendor) == want_vendor
        })
        .collect())
}

/// The condition selecting the index rows of the records organisation `?1` published, in
/// `idx_deployment`, `idx_rating` or `idx_reuse`. The index takes a row's `org` from the owner
/// of its document, so the rows are those of the documents `?1` owns, found through
/// `documents_owner`; `idx_rating` and `idx_reuse` have no index on `org`, and filtering on it
/// alone read all 336,000 ratings at full scale.
pub const OWN_ROWS: &str = "doc IN (SELECT id FROM documents WHERE owner = ?1) AND org = ?1";

/// `(key, json)` of every record organisation `?1` published in `table` ([`OWN_ROWS`]), by key.
pub fn own_records_sql(table: &str) -> String {
    format!("SELECT key, json FROM {table} WHERE {OWN_ROWS} ORDER BY key")
}

/// Whether `org` is attested by one of `anchors` (one organisation; [`verified_orgs`] lists
/// them all).
pub fn is_verified(conn: &Connection, org: &OrgId, anchors: &[OrgId]) -> Result<bool, QueryError> {
    if anchors.is_empty() {
        return Ok(false);
    }
    let sql = format!(
        "SELECT EXISTS (SELECT 1 FROM idx_attestation WHERE org = ? AND anchor IN ({}))",
        placeholders(anchors.len())
    );
    let args = std::iter::once(org.as_bytes().to_vec())
        .chain(anchors.iter().map(|a| a.as_bytes().to_vec()));
    Ok(conn.query_row(&sql, params_from_iter(args), |r| r.get(0))?)
}

/// Which of `orgs` (raw ids) one of `anchors` attests, in one pass over the attestations.
pub fn verified_among(
    conn: &Connection,
    anchors: &[OrgId],
    orgs: &[Vec<u8>],
) -> Result<std::collections::HashSet<Vec<u8>>, QueryError> {
    let mut out = std::collections::HashSet::new();
    if anchors.is_empty() || orgs.is_empty() {
        return Ok(out);
    }
    let sql = format!(
        "SELECT DISTINCT org FROM idx_attestation WHERE anchor IN ({}) AND org IN ({})",
        placeholders(anchors.len()),
        placeholders(orgs.len())
    );
    let args = anchors
        .iter()
        .map(|a| a.as_bytes().to_vec())
        .chain(orgs.iter().cloned());
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(params_from_iter(args), |r| r.get::<_, Vec<u8>>(0))?;
    for r in rows {
        out.insert(r?);
    }
    Ok(out)
}

/// The organisations attested by one of `anchors`.
pub fn verified_orgs(conn: &Connection, anchors: &[OrgId]) -> Result<Vec<OrgId>, QueryError> {
    let mut out = Vec::new();
    if anchors.is_empty() {
        return Ok(out);
    }
    // One pass for all anchors: the table has no index on `anchor`, and a query per anchor
    // read all attestations again for each (16 Land anchors at full scale: most of the
    // organisation list's time).
    let marks = placeholders(anchors.len());
    let mut stmt = conn.prepare(&format!(
        "SELECT DISTINCT org FROM idx_attestation WHERE anchor IN ({marks})"
    ))?;
    let rows = stmt.query_map(
        params_from_iter(anchors.iter().map(|a| a.as_bytes().to_vec())),
        |r| r.get::<_, Vec<u8>>(0),
    )?;
    for r in rows {
        let bytes: [u8; 32] = r?
            .try_into()
            .map_err(|_| QueryError::Invalid("stored org id is not 32 bytes".into()))?;
        if let Ok(key) = allmende_protocol::ids::PublicKey::from_bytes(bytes) {
            out.push(OrgId::from_root_key(key));
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// Every row of every index table, as text, for comparing two indexes (tests, integrity).
pub fn dump_index(conn: &Connection) -> Result<Vec<String>, QueryError> {
    let mut out = Vec::new();
    for (table, cols) in [
        (
            "idx_org",
            "doc, org, name, kind, ags, land, kreis, population, it_dienstleister, json",
        ),
        (
            "idx_product",
            "doc, created_by, name, vendor, kind, licence, open_source, json",
        ),
        ("idx_product_facet", "doc, facet, value"),
        ("idx_product_same", "doc, same"),
        (
            "idx_deployment",
            "doc, key, org, product, status, operated_by, end_to_end, cost_once, cost_yearly, json",
        ),
        ("idx_deployment_task", "doc, key, task"),
        (
            "idx_integration",
            "doc, key, product, other, standard, status",
        ),
        ("idx_rating", "doc, key, org, product, recommend, json"),
        (
            "idx_rating_score",
            "doc, key, org, product, dimension, score",
        ),
        (
            "idx_reuse",
            "doc, key, org, product, provider, efa, effort_person_days, cost_once, cost_yearly, weeks, outcome, recommend, json",
        ),
        ("idx_training", "doc, key, org, product, format, json"),
        (
            "idx_training_rating",
            "doc, key, org, offer_org, offer, score, recommend, json",
        ),
        ("idx_attestation", "doc, anchor, org, name, kind, ags, json"),
        ("idx_usage", "product, deployments, in_use"),
        ("idx_usage_region", "level, region, product, deployments"),
    ] {
        // The trigger-kept counts may keep rows that dropped to zero; a rebuild has none.
        let filter = if table.starts_with("idx_usage") {
            " WHERE deployments > 0"
        } else {
            ""
        };
        let mut stmt = conn.prepare(&format!("SELECT {cols} FROM {table}{filter}"))?;
        let n = stmt.column_count();
        let rows = stmt.query_map([], |r| {
            let mut s = format!("{table}:");
            for i in 0..n {
                let v: Value = r.get(i)?;
                s.push_str(&format!(" {v:?}"));
            }
            Ok(s)
        })?;
        for r in rows {
            out.push(r?);
        }
    }
    // Full-text rows, joined to their product so row ids do not matter.
    let mut stmt = conn.prepare(
        "SELECT p.doc, f.text FROM idx_product_fts f JOIN idx_product p ON p.id = f.rowid",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(format!(
            "fts: {:?} {:?}",
            r.get::<_, Vec<u8>>(0)?,
            r.get::<_, String>(1)?
        ))
    })?;
    for r in rows {
        out.push(r?);
    }
    out.sort();
    Ok(out)
}
