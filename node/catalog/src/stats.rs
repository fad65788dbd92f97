//! Aggregates over the catalog index: who uses what, ratings, interoperability, duplicate
//! developments, costs, coverage.
//!
//! Every aggregate about organisations' data counts *verified* organisations only (attested
//! by a configured trust anchor) unless `include_unverified` is set (duplicate developments
//! are about product entries and count all of them); ratings by the product's vendor organisation
//! never count (conflict of interest). All are SQL over the `idx_*` tables, so they follow the
//! incrementally maintained index and equal a recomputation from scratch.

use std::collections::BTreeMap;

use allmende_protocol::ids::OrgId;
use rusqlite::Connection;
use serde::Serialize;

use crate::query::{QueryError, verified_orgs};

/// Which organisations count.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// Trust anchors whose attestations verify organisations.
    pub anchors: Vec<OrgId>,
    /// Count unverified organisations too.
    pub include_unverified: bool,
}

/// Prepares the temporary table `counted(org)` with the organisations that count.
pub(crate) fn counted(conn: &Connection, scope: &Scope) -> Result<(), QueryError> {
    // Merged product entries count as their canonical entry.
    crate::query::prepare_canon(conn)?;
    conn.execute_batch("CREATE TEMP TABLE IF NOT EXISTS counted (org BLOB PRIMARY KEY) WITHOUT ROWID; DELETE FROM counted;")?;
    if scope.include_unverified {
        conn.execute(
            "INSERT OR IGNORE INTO counted (org)
             SELECT org FROM idx_org UNION SELECT org FROM idx_deployment UNION SELECT org FROM idx_rating
             UNION SELECT org FROM idx_reuse",
            [],
        )?;
    } else {
        let mut insert = conn.prepare("INSERT OR IGNORE INTO counted (org) VALUES (?1)")?;
        for org in verified_orgs(conn, &scope.anchors)? {
            insert.execute([org.as_bytes().as_slice()])?;
        }
    }
    Ok(())
}

/// Usage of one product.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Usage {
    /// Product id.
    pub product: String,
    /// Product name.
    pub name: String,
    /// Organisations running it (pilot or production).
    pub organisations: u64,
    /// Per Land key (`??` for organisations without a Land).
    pub by_land: BTreeMap<String, u64>,
    /// Per Kreis key (`?????` for organisations without an AGS).
    pub by_kreis: BTreeMap<String, u64>,
}

fn hex(b: Vec<u8>) -> String {
    hex::encode(b)
}

/// Who uses what: per product, the organisations running it in pilot or production.
pub fn usage(conn: &Connection, scope: &Scope) -> Result<Vec<Usage>, QueryError> {
    counted(conn, scope)?;
    let mut out: BTreeMap<Vec<u8>, Usage> = BTreeMap::new();
    let mut stmt = conn.prepare(
        "SELECT p.doc, p.name, coalesce(o.land, '??'), coalesce(o.kreis, '?????'), count(DISTINCT d.org)
         FROM idx_deployment d JOIN canon k ON k.doc = d.product JOIN idx_product p ON p.doc = k.canonical
         JOIN counted c ON c.org = d.org LEFT JOIN idx_org o ON o.org = d.org
         WHERE d.status IN ('pilot', 'production')
         GROUP BY p.doc, o.land, o.kreis ORDER BY p.doc",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, Vec<u8>>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, i64>(4)? as u64,
        ))
    })?;
    for row in rows {
        let (doc, name, land, kreis, n) = row?;
        let e = out.entry(doc.clone()).or_insert_with(|| Usage {
            product: hex(doc),
            name,
            organisations: 0,
            by_land: BTreeMap::new(),
            by_kreis: BTreeMap::new(),
        });
        *e.by_land.entry(land).or_default() += n;
        *e.by_kreis.entry(kreis).or_default() += n;
        // Each organisation has one (Land, Kreis), so it is counted in one group only: the
        // groups' counts add up to the distinct organisations of the product. (A query per
        // product for that total took most of a cold run: 3,000 products at full scale.)
        e.organisations += n;
    }
    let mut v: Vec<Usage> = out.into_values().collect();
    v.sort_by(|a, b| {
        b.organisations
            .cmp(&a.organisations)
            .then(a.name.cmp(&b.name))
    });
    Ok(v)
}

/// Rating means of one product.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct RatingStats {
    /// Product id.
    pub product: String,
    /// Per dimension: (mean, count).
    pub dimensions: BTreeMap<String, (f64, u64)>,
    /// Ratings that recommend it / ratings with a recommendation.
    pub recommend: (u64, u64),
}

/// Rating means and counts per dimension, one rating per organisation and product, vendor
/// self-ratings excluded.
pub fn ratings(conn: &Connection, scope: &Scope) -> Result<Vec<RatingStats>, QueryError> {
    counted(conn, scope)?;
    ratings_among(conn, Among::Counted)
}

/// Which organisations an aggregate reads: a temporary table `(org BLOB PRIMARY KEY)`
/// prepared before, never a name from outside.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Among {
    /// `counted`, the trust scope ([`counted`]).
    Counted,
    /// `compare_group`, a comparison group within the trust scope (`crate::compare`).
    CompareGroup,
}

impl Among {
    fn table(self) -> &'static str {
        match self {
            Among::Counted => "counted",
            Among::CompareGroup => "compare_group",
        }
    }
}

/// [`ratings`] of the organisations in `among` (prepared by the caller, as is `canon`).
pub(crate) fn ratings_among(
    conn: &Connection,
    among: Among,
) -> Result<Vec<RatingStats>, QueryError> {
    // A rating by the organisation named as the product's vendor does not count.
    let filter = format!(
        "JOIN {table} c ON c.org = s.org JOIN idx_product p ON p.doc = s.product
         JOIN canon k ON k.doc = s.product
         WHERE (json_extract(p.json, '$.vendor_org') IS NULL OR json_extract(p.json, '$.vendor_org') != lower(hex(s.org)))",
        table = among.table()
    );
    let mut out: BTreeMap<Vec<u8>, RatingStats> = BTreeMap::new();
    let mut stmt = conn.prepare(&format!(
        "SELECT k.canonical, s.dimension, avg(s.score), count(*) FROM idx_rating_score s {filter}
         GROUP BY k.canonical, s.dimension"
    ))?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, Vec<u8>>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, f64>(2)?,
            r.get::<_, i64>(3)? as u64,
        ))
    })?;
    for row in rows {
        let (doc, dim, mean, n) = row?;
        out.entry(doc.clone())
            .or_insert_with(|| RatingStats {
                product: hex(doc),
                dimensions: BTreeMap::new(),
                recommend: (0, 0),
            })
            .dimensions
            .insert(dim, (mean, n));
    }
    let mut stmt = conn.prepare(&format!(
        "SELECT k.canonical, sum(s.recommend = 1), count(s.recommend) FROM idx_rating s {filter}
         GROUP BY k.canonical"
    ))?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, Vec<u8>>(0)?,
            r.get::<_, Option<i64>>(1)?.unwrap_or(0) as u64,
            r.get::<_, i64>(2)? as u64,
        ))
    })?;
    for row in rows {
        let (doc, yes, n) = row?;
        out.entry(doc.clone())
            .or_insert_with(|| RatingStats {
                product: hex(doc),
                dimensions: BTreeMap::new(),
                recommend: (0, 0),
            })
            .recommend = (yes, n);
    }
    Ok(out.into_values().collect())
}

/// One cell of the interoperability matrix.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Interop {
    /// The deployed product.
    pub product: String,
    /// The product it talks to.
    pub other: String,
    /// Standard or interface.
    pub standard: String,
    /// Deployments reporting it works.
    pub works: u64,
    /// … partly works.
    pub partly: u64,
    /// … fails.
    pub fails: u64,
}

/// Most rows [`interop`] returns by default, and at most.
pub const INTEROP_LIMIT: (usize, usize) = (1_000, 10_000);

/// Product × product × standard with evidence from deployments: the `limit` best-evidenced
/// rows (most reports first, then by ids and standard). A full-scale catalog has over a
/// million such rows, too many to hold or send at once.
pub fn interop(conn: &Connection, scope: &Scope, limit: usize) -> Result<Vec<Interop>, QueryError> {
    counted(conn, scope)?;
    let mut stmt = conn.prepare(
        "SELECT coalesce(k1.canonical, i.product) AS a, coalesce(k2.canonical, i.other) AS b, i.standard,
           sum(i.status = 'works'), sum(i.status = 'partly'), sum(i.status = 'fails')
         FROM idx_integration i JOIN idx_deployment d ON d.doc = i.doc AND d.key = i.key
         JOIN counted c ON c.org = d.org
         LEFT JOIN canon k1 ON k1.doc = i.product LEFT JOIN canon k2 ON k2.doc = i.other
         GROUP BY a, b, i.standard ORDER BY count(*) DESC, a, b, i.standard LIMIT ?1",
    )?;
    let rows = stmt.query_map([limit as i64], |r| {
        Ok(Interop {
            product: hex(r.get(0)?),
            other: hex(r.get(1)?),
            standard: r.get(2)?,
            works: r.get::<_, i64>(3)? as u64,
            partly: r.get::<_, i64>(4)? as u64,
            fails: r.get::<_, i64>(5)? as u64,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Several publicly funded products for one task.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Duplicate {
    /// The task.
    pub task: String,
    /// The products (ids) serving it that are open source or EfA (developed with public money).
    pub products: Vec<String>,
}

/// Duplicate developments: tasks served by two or more open-source or EfA products.
pub fn duplicates(conn: &Connection) -> Result<Vec<Duplicate>, QueryError> {
    // Entries merged as "same as" are one product, not a duplicate development.
    crate::query::prepare_canon(conn)?;
    let mut stmt = conn.prepare(
        "SELECT t.value, group_concat(lower(hex(t.doc)), ',')
         FROM idx_product_facet t
         WHERE t.facet = 'task' AND t.doc IN (SELECT doc FROM canon WHERE canonical = doc) AND EXISTS (
             SELECT 1 FROM idx_product_facet x WHERE x.doc = t.doc
             AND ((x.facet = 'open_source' AND x.value = 'yes') OR x.facet = 'efa'))
         GROUP BY t.value HAVING count(DISTINCT t.doc) >= 2 ORDER BY t.value",
    )?;
    let rows = stmt.query_map([], |r| {
        let mut products: Vec<String> = r
            .get::<_, String>(1)?
            .split(',')
            .map(str::to_owned)
            .collect();
        products.sort();
        Ok(Duplicate {
            task: r.get(0)?,
            products,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Fills the temporary table `org_population (org, population)`: each organisation's
/// official population where its AGS names a Gemeinde, Kreis (`KKKKK000`) or Land
/// (`LL000000`) of the Gemeindeverzeichnis, else the population its profile claims.
pub fn official_population(conn: &Connection) -> Result<(), QueryError> {
    population_table(conn, "org_population", true)
}

/// Fills the temporary table `table (org, population)` as [`official_population`] does; with
/// `claimed` false, organisations whose AGS the Gemeindeverzeichnis does not name get none
/// (the population their profile claims is not taken).
pub(crate) fn population_table(
    conn: &Connection,
    table: &'static str,
    claimed: bool,
) -> Result<(), QueryError> {
    let fallback = if claimed { "o.population" } else { "NULL" };
    conn.execute_batch(&format!(
        "CREATE TEMP TABLE IF NOT EXISTS {table} (org BLOB PRIMARY KEY, population INTEGER)
           WITHOUT ROWID;
         DELETE FROM {table};
         INSERT OR REPLACE INTO {table} (org, population)
           SELECT o.org, coalesce(
             (SELECT g.population FROM ref_gemeinde g WHERE g.ags = o.ags),
             CASE WHEN substr(o.ags, 6) = '000'
               THEN (SELECT sum(g.population) FROM ref_gemeinde g WHERE g.kreis = substr(o.ags, 1, 5)) END,
             CASE WHEN substr(o.ags, 3) = '000000'
               THEN (SELECT sum(g.population) FROM ref_gemeinde g WHERE g.land = substr(o.ags, 1, 2)) END,
             {fallback})
           FROM idx_org o;"
    ))?;
    Ok(())
}

/// Costs of one product.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Costs {
    /// Product id.
    pub product: String,
    /// Deployments reporting a yearly cost.
    pub deployments: u64,
    /// Sum of yearly costs (euros).
    pub yearly_eur: u64,
    /// Inhabitants of the organisations reporting them (official where the AGS is known).
    pub population: u64,
    /// Yearly euros per inhabitant.
    pub per_inhabitant_eur: Option<f64>,
}

/// Yearly cost per inhabitant, from deployments that report a cost and organisations with a
/// population: the official one of their AGS (a Gemeinde's, or the sum of a Kreis's or
/// Land's Gemeinden, from the Gemeindeverzeichnis), else the one their profile claims.
pub fn costs(conn: &Connection, scope: &Scope) -> Result<Vec<Costs>, QueryError> {
    counted(conn, scope)?;
    costs_among(conn, Among::Counted)
}

/// [`costs`] of the organisations in `among` (prepared by the caller, as is `canon`).
pub(crate) fn costs_among(conn: &Connection, among: Among) -> Result<Vec<Costs>, QueryError> {
    official_population(conn)?;
    let mut stmt = conn.prepare(&format!(
        // Per product: deployments in use that report a yearly cost; each organisation's
        // population counts once however many such deployments it reports.
        // First per product and organisation, then per product: a population subquery per
        // product over all such deployments took more than two minutes at full scale.
        "SELECT prod, sum(n), sum(yearly), sum(population) FROM (
           SELECT coalesce(k.canonical, d.product) AS prod, d.org, count(*) AS n,
             sum(d.cost_yearly) AS yearly, max(o.population) AS population
           FROM idx_deployment d JOIN {table} c ON c.org = d.org JOIN org_population o ON o.org = d.org
           LEFT JOIN canon k ON k.doc = d.product
           WHERE d.cost_yearly IS NOT NULL AND o.population IS NOT NULL
             AND d.status IN ('pilot', 'production')
           GROUP BY prod, d.org)
         GROUP BY prod ORDER BY prod",
        table = among.table()
    ))?;
    let rows = stmt.query_map([], |r| {
        let yearly = r.get::<_, i64>(2)? as u64;
        let population = r.get::<_, i64>(3)? as u64;
        Ok(Costs {
            product: hex(r.get(0)?),
            deployments: r.get::<_, i64>(1)? as u64,
            yearly_eur: yearly,
            population,
            per_inhabitant_eur: (population > 0).then(|| yearly as f64 / population as f64),
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Coverage of one region, with the Gemeindeverzeichnis as denominator.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Coverage {
    /// Land key or Kreis key.
    pub region: String,
    /// Its official name (Gemeindeverzeichnis; empty for a key the directory does not know).
    pub name: String,
    /// Tasks with at least one product in pilot or production there.
    pub tasks_covered: Vec<String>,
    /// Gemeinden of the region in the Gemeindeverzeichnis.
    pub gemeinden: u64,
    /// Of these, Gemeinden whose organisation (counted in this scope) has published at least
    /// one deployment.
    pub gemeinden_published: u64,
    /// Official population of the region.
    pub population: u64,
    /// Official population of the Gemeinden that have published.
    pub population_published: u64,
    /// For a Kreis (`by=kreis`): the AGS of its Gemeinden that have not published, in key
    /// order. Empty for a Land (see its Kreise).
    pub gemeinden_missing: Vec<String>,
}

/// Which tasks have a deployed product, per Land (`by = "land"`) or Kreis (`by = "kreis"`),
/// and how many of the region's Gemeinden (and what share of its population) have published:
/// every region of the Gemeindeverzeichnis, also those without any publication, and regions
/// with deployments the directory does not know.
pub fn coverage(conn: &Connection, scope: &Scope, by: &str) -> Result<Vec<Coverage>, QueryError> {
    let (column, table) = match by {
        "land" => ("land", "ref_land"),
        "kreis" => ("kreis", "ref_kreis"),
        other => {
            return Err(QueryError::Invalid(format!(
                "coverage by {other:?}: use land or kreis"
            )));
        }
    };
    counted(conn, scope)?;
    let mut out: BTreeMap<String, Coverage> = BTreeMap::new();
    let empty = |region: String| Coverage {
        region,
        name: String::new(),
        tasks_covered: vec![],
        gemeinden: 0,
        gemeinden_published: 0,
        population: 0,
        population_published: 0,
        gemeinden_missing: vec![],
    };
    // Gemeinden (by AGS) whose counted organisation has published a deployment.
    conn.execute_batch(
        "CREATE TEMP TABLE IF NOT EXISTS published_ags (ags TEXT PRIMARY KEY) WITHOUT ROWID;
         DELETE FROM published_ags;
         INSERT OR IGNORE INTO published_ags (ags)
           SELECT o.ags FROM idx_org o JOIN counted c ON c.org = o.org
           WHERE o.ags IS NOT NULL AND EXISTS (SELECT 1 FROM idx_deployment d WHERE d.org = o.org);",
    )?;
    let mut stmt = conn.prepare(&format!(
        "SELECT r.key, r.name, count(g.ags), coalesce(sum(g.population), 0), count(p.ags),
                coalesce(sum(CASE WHEN p.ags IS NOT NULL THEN g.population END), 0)
         FROM {table} r LEFT JOIN ref_gemeinde g ON g.{column} = r.key
         LEFT JOIN published_ags p ON p.ags = g.ags
         GROUP BY r.key"
    ))?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let region: String = r.get(0)?;
        let mut c = empty(region.clone());
        c.name = r.get(1)?;
        c.gemeinden = r.get::<_, i64>(2)?.max(0).unsigned_abs();
        c.population = r.get::<_, i64>(3)?.max(0).unsigned_abs();
        c.gemeinden_published = r.get::<_, i64>(4)?.max(0).unsigned_abs();
        c.population_published = r.get::<_, i64>(5)?.max(0).unsigned_abs();
        out.insert(region, c);
    }
    if column == "kreis" {
        let mut stmt = conn.prepare(
            "SELECT g.kreis, g.ags FROM ref_gemeinde g
             WHERE NOT EXISTS (SELECT 1 FROM published_ags p WHERE p.ags = g.ags) ORDER BY g.ags",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let kreis: String = r.get(0)?;
            if let Some(c) = out.get_mut(&kreis) {
                c.gemeinden_missing.push(r.get(1)?);
            }
        }
    }
    let mut stmt = conn.prepare(&format!(
        "SELECT o.{column}, group_concat(t.task, char(31))
         FROM idx_deployment d JOIN counted c ON c.org = d.org JOIN idx_org o ON o.org = d.org
         JOIN (SELECT doc, key, task FROM idx_deployment_task
               UNION SELECT d2.doc, d2.key, f.value FROM idx_deployment d2
               JOIN idx_product_facet f ON f.doc = d2.product AND f.facet = 'task') t
           ON t.doc = d.doc AND t.key = d.key
         WHERE d.status IN ('pilot', 'production') AND o.{column} IS NOT NULL
         GROUP BY o.{column} ORDER BY o.{column}"
    ))?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let region: String = r.get(0)?;
        let mut tasks: Vec<String> = r
            .get::<_, String>(1)?
            .split('\u{1f}')
            .map(str::to_owned)
            .collect();
        tasks.sort();
        tasks.dedup();
        out.entry(region.clone())
            .or_insert_with(|| empty(region))
            .tasks_covered = tasks;
    }
    Ok(out.into_values().collect())
}

/// One OZG-Leistung with products in production.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct OzgUse {
    /// The OZG-Leistung's id (`10513`).
    pub ozg: u32,
    /// Its name.
    pub name: String,
    /// Its Themenfeld.
    pub themenfeld: String,
    /// Products in production for it (canonical entries).
    pub products: Vec<String>,
    /// Organisations running one of them in production.
    pub organisations: u64,
    /// Organisations per Land key (`??` for organisations without a Land).
    pub by_land: BTreeMap<String, u64>,
}

/// Which OZG-Leistungen have a product in production where: deployments in production whose
/// product (or the deployment itself) names a LeiKa task or OZG-Leistung of the shipped
/// catalogue, most organisations first.
pub fn ozg(conn: &Connection, scope: &Scope) -> Result<Vec<OzgUse>, QueryError> {
    use allmende_protocol::ozg::Catalogue;
    use std::collections::BTreeSet;
    counted(conn, scope)?;
    let catalogue = Catalogue::shipped();
    // (ozg id) -> (products, organisations, land -> organisations)
    type Acc = (
        BTreeSet<Vec<u8>>,
        BTreeSet<Vec<u8>>,
        BTreeMap<String, BTreeSet<Vec<u8>>>,
    );
    let mut acc: BTreeMap<u32, Acc> = BTreeMap::new();
    let mut add = |id: u32, product: Vec<u8>, org: Vec<u8>, land: Option<String>| {
        let e = acc.entry(id).or_default();
        e.0.insert(product);
        e.1.insert(org.clone());
        e.2.entry(land.unwrap_or_else(|| "??".into()))
            .or_default()
            .insert(org);
    };
    let mut stmt = conn.prepare(
        "SELECT f.value, coalesce(k.canonical, d.product), d.org, o.land
         FROM idx_deployment d JOIN counted c ON c.org = d.org
         LEFT JOIN idx_org o ON o.org = d.org
         LEFT JOIN canon k ON k.doc = d.product
         JOIN idx_product_facet f ON f.doc = d.product AND f.facet = 'ozg'
         WHERE d.status = 'production'",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        if let Ok(id) = r.get::<_, String>(0)?.parse::<u32>() {
            add(id, r.get(1)?, r.get(2)?, r.get(3)?);
        }
    }
    let mut stmt = conn.prepare(
        "SELECT t.task, coalesce(k.canonical, d.product), d.org, o.land
         FROM idx_deployment_task t JOIN idx_deployment d ON d.doc = t.doc AND d.key = t.key
         JOIN counted c ON c.org = d.org
         LEFT JOIN idx_org o ON o.org = d.org
         LEFT JOIN canon k ON k.doc = d.product
         WHERE d.status = 'production'",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let task: String = r.get(0)?;
        if let Some(o) = catalogue.ozg_of(&task) {
            add(o.id, r.get(1)?, r.get(2)?, r.get(3)?);
        }
    }
    let mut out: Vec<OzgUse> = acc
        .into_iter()
        .filter_map(|(id, (products, orgs, lands))| {
            let o = catalogue.ozg.get(&id)?;
            Some(OzgUse {
                ozg: id,
                name: o.name.clone(),
                themenfeld: o.themenfeld.trim().to_owned(),
                products: products.into_iter().map(hex).collect(),
                organisations: orgs.len() as u64,
                by_land: lands
                    .into_iter()
                    .map(|(l, s)| (l, s.len() as u64))
                    .collect(),
            })
        })
        .collect();
    out.sort_by(|a, b| {
        b.organisations
            .cmp(&a.organisations)
            .then(a.ozg.cmp(&b.ozg))
    });
    Ok(out)
}
