//! The Nachbarvergleich: what comparable bodies run, per task, next to one organisation's own
//! stack (`docs/nachbarvergleich.md`).
//!
//! An organisation (the subject) is compared with one **group** of other organisations:
//! - [`Group::Kreis`]: every organisation whose AGS lies in the subject's Kreis (the Gemeinden
//!   and the Kreisverwaltung itself);
//! - [`Group::Land`]: every organisation of the subject's Land (from its AGS, or the Land its
//!   profile names);
//! - [`Group::Groesse`]: organisations of the same kind (Kommune, Kreis, …) in the same
//!   [`SizeClass`] of **official** population (the Gemeindeverzeichnis of the node, summed
//!   over a Kreis's or Land's Gemeinden for an AGS ending in `000`); the population a profile
//!   claims is never used here.
//!
//! What counts is exactly what the statistics count ([`crate::stats`]): the same trust scope
//! (organisations a followed anchor attested, or every organisation with
//! `include_unverified`), the same "same as" merges of product entries, the same rating rule
//! (one rating per organisation and product, vendor self-ratings left out, computed by
//! `stats::ratings_among`) and the same cost per inhabitant (`stats::costs_among`). Each
//! organisation counts once per product however many deployments it reports. In use means
//! pilot or production; an organisation **left** a product when it reports a retired
//! deployment of it and runs it nowhere any more.
//!
//! Threat: anyone can make keys and profiles that claim an AGS in the subject's Kreis. On a
//! node that follows anchors, such organisations do not count unless an anchor attested
//! them (the group is drawn from `counted`, the trust scope of the statistics); a scoped node
//! does not even index them. In open mode (or with `include_unverified`) they count, and the
//! page says so. Whatever the data, the work is bounded: at most [`MAX_GROUP`] organisations
//! (lowest ids first, `group_truncated` says so), [`MAX_ROWS`] deployment rows read,
//! [`MAX_TASKS`] tasks, [`MAX_PRODUCTS_PER_TASK`] products per task and [`MAX_LEFT`]
//! left products listed; every query walks indexes from the group's organisations.

use std::collections::{BTreeMap, BTreeSet};

use allmende_protocol::ids::OrgId;
use allmende_protocol::ozg::Catalogue;
use rusqlite::{Connection, OptionalExtension};
use serde::Serialize;

use crate::query::QueryError;
use crate::stats::{self, Among, Costs, RatingStats, Scope};

/// Most organisations in one comparison group (more than any Land has Gemeinden).
pub const MAX_GROUP: usize = 5_000;
/// Most deployment rows (deployment × task) read for one comparison.
pub const MAX_ROWS: usize = 100_000;
/// Most tasks listed.
pub const MAX_TASKS: usize = 150;
/// Most products listed per task (the subject's own are always listed besides).
pub const MAX_PRODUCTS_PER_TASK: usize = 8;
/// Most products listed as left by neighbours.
pub const MAX_LEFT: usize = 20;
/// A product the subject runs is "rare" among its neighbours when fewer than this share (in
/// percent) of the neighbours that run anything for the task run it.
pub const RARE_PERCENT: u64 = 25;

/// A comparison group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Group {
    /// Same Kreis.
    Kreis,
    /// Same Land.
    Land,
    /// Same kind and size class of official population.
    Groesse,
}

impl Group {
    /// Every group, in the order the switchers show them.
    pub const ALL: [Group; 3] = [Group::Kreis, Group::Land, Group::Groesse];

    /// The key used in URLs, the CLI and JSON.
    pub fn key(self) -> &'static str {
        match self {
            Group::Kreis => "kreis",
            Group::Land => "land",
            Group::Groesse => "groesse",
        }
    }

    /// Its German name.
    pub fn label(self) -> &'static str {
        match self {
            Group::Kreis => "Gleicher Kreis",
            Group::Land => "Gleiches Land",
            Group::Groesse => "Gleiche Größenklasse",
        }
    }
}

impl std::fmt::Display for Group {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.key())
    }
}

impl std::str::FromStr for Group {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_lowercase().as_str() {
            "kreis" => Ok(Group::Kreis),
            "land" => Ok(Group::Land),
            "groesse" | "größe" | "size" | "groessenklasse" | "größenklasse" => {
                Ok(Group::Groesse)
            }
            other => Err(format!(
                "unknown group {other:?}: use kreis, land or groesse"
            )),
        }
    }
}

/// A size class of official population, after the Gemeindegrößenklassen of the official
/// statistics (Destatis), with its smallest classes joined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SizeClass {
    /// Key (`5000-10000`).
    pub key: &'static str,
    /// German name.
    pub label: &'static str,
    /// Smallest population in the class.
    pub from: u64,
    /// Population from which the next class starts (none for the largest).
    pub below: Option<u64>,
}

/// The size classes, smallest first.
pub const SIZE_CLASSES: [SizeClass; 9] = [
    class("unter-2000", "unter 2.000 Einwohner", 0, Some(2_000)),
    class(
        "2000-5000",
        "2.000 bis unter 5.000 Einwohner",
        2_000,
        Some(5_000),
    ),
    class(
        "5000-10000",
        "5.000 bis unter 10.000 Einwohner",
        5_000,
        Some(10_000),
    ),
    class(
        "10000-20000",
        "10.000 bis unter 20.000 Einwohner",
        10_000,
        Some(20_000),
    ),
    class(
        "20000-50000",
        "20.000 bis unter 50.000 Einwohner",
        20_000,
        Some(50_000),
    ),
    class(
        "50000-100000",
        "50.000 bis unter 100.000 Einwohner",
        50_000,
        Some(100_000),
    ),
    class(
        "100000-200000",
        "100.000 bis unter 200.000 Einwohner",
        100_000,
        Some(200_000),
    ),
    class(
        "200000-500000",
        "200.000 bis unter 500.000 Einwohner",
        200_000,
        Some(500_000),
    ),
    class("ab-500000", "500.000 Einwohner und mehr", 500_000, None),
];

const fn class(key: &'static str, label: &'static str, from: u64, below: Option<u64>) -> SizeClass {
    SizeClass {
        key,
        label,
        from,
        below,
    }
}

impl SizeClass {
    /// The class of `population`.
    pub fn of(population: u64) -> SizeClass {
        SIZE_CLASSES
            .iter()
            .rev()
            .find(|c| population >= c.from)
            .copied()
            .unwrap_or(SIZE_CLASSES[0])
    }
}

/// Whether a group can be formed for the subject, and why not.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct GroupChoice {
    /// The group.
    pub group: Group,
    /// Its German name.
    pub label: String,
    /// Whether it can be formed.
    pub available: bool,
    /// Why not (German), when it cannot.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A product as the group runs it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ProductComparison {
    /// Product id (the canonical entry of "same as" merges).
    pub product: String,
    /// Product name.
    pub name: String,
    /// Whether the subject runs it (pilot or production).
    pub mine: bool,
    /// Organisations of the group running it for this task (pilot or production), each once.
    pub organisations: u64,
    /// Organisations of the group that left it: a retired deployment and none in use.
    pub left: u64,
    /// The group's ratings of it (`stats::ratings` rules, the group's organisations only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ratings: Option<RatingStats>,
    /// Mean of the dimension means (1–5), when rated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    /// What it costs the group.
    pub costs: CostSummary,
}

/// Costs of a product in the group: per organisation the sum of its deployments in use.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CostSummary {
    /// Organisations reporting a yearly cost.
    pub reporting_yearly: u64,
    /// Median yearly cost (euros) of those organisations.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub median_yearly_eur: Option<u64>,
    /// Organisations reporting a one-off cost.
    pub reporting_once: u64,
    /// Median one-off cost (euros) of those organisations.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub median_once_eur: Option<u64>,
    /// Yearly euros per inhabitant (`stats::costs` of the group).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per_inhabitant_eur: Option<f64>,
}

/// One task: the subject's products and the group's.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TaskComparison {
    /// The task as records name it (free text, LeiKa key or `ozg:ID`).
    pub task: String,
    /// Its name (the LeiKa or OZG name, or the text itself).
    pub name: String,
    /// Products the subject runs for it (ids).
    pub mine: Vec<String>,
    /// Organisations of the group running any product for it.
    pub neighbours: u64,
    /// The products, most organisations first (at most [`MAX_PRODUCTS_PER_TASK`] besides the
    /// subject's own).
    pub products: Vec<ProductComparison>,
    /// Products not listed.
    pub products_omitted: u64,
}

/// A product the subject runs that few of its neighbours run.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct RareProduct {
    /// Product id.
    pub product: String,
    /// Product name.
    pub name: String,
    /// The task.
    pub task: String,
    /// Neighbours running it.
    pub organisations: u64,
    /// Neighbours running anything for the task.
    pub neighbours: u64,
}

/// A product neighbours left.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct LeftProduct {
    /// Product id.
    pub product: String,
    /// Product name.
    pub name: String,
    /// Neighbours that left it.
    pub left: u64,
    /// Neighbours still running it.
    pub organisations: u64,
    /// Whether the subject runs it.
    pub mine: bool,
}

/// The answer of [`compare`].
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Comparison {
    /// The subject's id.
    pub organisation: String,
    /// Its name (empty when it has no profile).
    pub name: String,
    /// The group compared with.
    pub group: Group,
    /// The group in words ("Kreis Euskirchen (05366)").
    pub group_label: String,
    /// The subject's official population, when its AGS names one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub population: Option<u64>,
    /// The subject's size class, when it has an official population.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size_class: Option<SizeClass>,
    /// Organisations in the group (in the trust scope, without the subject).
    pub neighbours: u64,
    /// Of these, organisations running anything for a task.
    pub neighbours_with_deployments: u64,
    /// More organisations than [`MAX_GROUP`] or rows than [`MAX_ROWS`]: the lowest ids were taken.
    pub group_truncated: bool,
    /// Unattested organisations counted too (open mode or `include_unverified`).
    pub include_unverified: bool,
    /// Per task, most neighbours first.
    pub tasks: Vec<TaskComparison>,
    /// Tasks not listed.
    pub tasks_omitted: u64,
    /// Tasks for which neighbours run something and the subject nothing.
    pub missing_tasks: Vec<String>,
    /// Products the subject runs that few neighbours run (see [`RARE_PERCENT`]).
    pub rare: Vec<RareProduct>,
    /// Products neighbours left, most first.
    pub left: Vec<LeftProduct>,
    /// The three groups and whether each can be formed for the subject.
    pub groups: Vec<GroupChoice>,
}

/// Why a comparison cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    /// The organisation is not known to this node.
    #[error("organisation {0}: this node knows neither a profile nor any record of it")]
    UnknownOrg(String),
    /// The group cannot be formed for the organisation.
    #[error("group {group}: {reason}")]
    GroupUnavailable {
        /// The group asked for.
        group: Group,
        /// Why (German, for the UI too).
        reason: String,
    },
    /// Storage failed.
    #[error(transparent)]
    Query(#[from] QueryError),
}

impl From<rusqlite::Error> for CompareError {
    fn from(e: rusqlite::Error) -> Self {
        CompareError::Query(e.into())
    }
}

/// The subject as the index knows it.
struct Subject {
    name: String,
    kind: Option<String>,
    land: Option<String>,
    kreis: Option<String>,
    population: Option<u64>,
}

fn subject(conn: &Connection, org: &OrgId) -> Result<Subject, CompareError> {
    let key = org.as_bytes().as_slice();
    let row = conn
        .query_row(
            "SELECT name, kind, land, kreis FROM idx_org WHERE org = ?1 ORDER BY doc LIMIT 1",
            [key],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, Option<String>>(3)?,
                ))
            },
        )
        .optional()?;
    let Some((name, kind, land, kreis)) = row else {
        let any: Option<i64> = conn
            .query_row(
                "SELECT 1 FROM idx_deployment WHERE org = ?1 LIMIT 1",
                [key],
                |r| r.get(0),
            )
            .optional()?;
        if any.is_none() {
            return Err(CompareError::UnknownOrg(format!("{org:#}")));
        }
        return Ok(Subject {
            name: String::new(),
            kind: None,
            land: None,
            kreis: None,
            population: None,
        });
    };
    let population: Option<i64> = conn
        .query_row(
            "SELECT population FROM compare_population WHERE org = ?1",
            [key],
            |r| r.get(0),
        )
        .optional()?
        .flatten();
    Ok(Subject {
        name,
        kind: Some(kind),
        land,
        kreis,
        population: population.and_then(|p| u64::try_from(p).ok()),
    })
}

fn choices(s: &Subject) -> Vec<GroupChoice> {
    Group::ALL
        .iter()
        .map(|&group| {
            let reason = match group {
                Group::Kreis if s.kreis.is_none() => Some(
                    "Die Organisation hat keinen Amtlichen Gemeindeschlüssel (AGS) im Profil; ohne ihn ist der Kreis unbekannt.",
                ),
                Group::Land if s.land.is_none() => Some(
                    "Die Organisation nennt weder einen AGS noch ein Land im Profil.",
                ),
                Group::Groesse if s.population.is_none() => Some(
                    "Für die Größenklasse zählt die amtliche Einwohnerzahl: Die Organisation hat keinen AGS, den das Gemeindeverzeichnis dieses Knotens kennt.",
                ),
                _ => None,
            };
            GroupChoice {
                group,
                label: group.label().into(),
                available: reason.is_none(),
                reason: reason.map(str::to_owned),
            }
        })
        .collect()
}

/// The three groups and whether each can be formed for `org` (for switchers), and its name.
pub fn groups(conn: &Connection, org: &OrgId) -> Result<(String, Vec<GroupChoice>), CompareError> {
    stats::population_table(conn, "compare_population", false)?;
    let me = subject(conn, org)?;
    let choices = choices(&me);
    Ok((me.name, choices))
}

/// One deployment of the group or the subject, for one of its tasks.
struct Row {
    deployment: (Vec<u8>, String),
    org: Vec<u8>,
    product: Vec<u8>,
    in_use: bool,
    yearly: Option<u64>,
    once: Option<u64>,
    task: String,
}

/// Deployments (in use or retired) of the organisations in the temporary table `table`, once
/// per task (the deployment's own tasks and its product entry's), at most `max` rows.
fn rows(conn: &Connection, table: &str, max: usize) -> Result<Vec<Row>, CompareError> {
    let select = |task_join: &str, task_col: &str| {
        format!(
            "SELECT d.doc, d.key, d.org, coalesce(k.canonical, d.product), d.status, d.cost_yearly,
                    d.cost_once, {task_col}
             FROM {table} g JOIN idx_deployment d ON d.org = g.org
             LEFT JOIN canon k ON k.doc = d.product
             {task_join}
             WHERE d.status IN ('pilot', 'production', 'retired')"
        )
    };
    let sql = format!(
        "{} UNION ALL {} LIMIT ?1",
        select(
            "JOIN idx_deployment_task t ON t.doc = d.doc AND t.key = d.key",
            "t.task"
        ),
        select(
            "JOIN idx_product_facet f ON f.doc = d.product AND f.facet = 'task'",
            "f.value"
        )
    );
    let mut stmt = conn.prepare(&sql)?;
    let limit = i64::try_from(max).unwrap_or(i64::MAX);
    let mapped = stmt.query_map([limit], |r| {
        let eur = |v: Option<i64>| v.and_then(|v| u64::try_from(v).ok());
        Ok(Row {
            deployment: (r.get(0)?, r.get(1)?),
            org: r.get(2)?,
            product: r.get(3)?,
            in_use: r.get::<_, String>(4)? != "retired",
            yearly: eur(r.get(5)?),
            once: eur(r.get(6)?),
            task: r.get::<_, String>(7)?,
        })
    })?;
    Ok(mapped.collect::<Result<_, _>>()?)
}

/// The median of `v` (the mean of the two middle values for an even count, rounded down).
fn median(mut v: Vec<u64>) -> Option<u64> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable();
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        // Without overflow: a/2 + b/2 + the carry of both halves.
        let (a, b) = (v[n / 2 - 1], v[n / 2]);
        a / 2 + b / 2 + (a % 2 + b % 2) / 2
    })
}

/// One organisation's yearly and one-off costs of a product (sums over its deployments in use).
type OrgCosts = (Option<u64>, Option<u64>);

/// Per (task, product): organisations in use and organisations with a retired deployment.
#[derive(Default)]
struct Tally {
    in_use: BTreeSet<Vec<u8>>,
    retired: BTreeSet<Vec<u8>>,
}

/// Compares `org` with `group` as the statistics of `scope` count (module documentation);
/// without a group, with the first of [`Group::ALL`] that can be formed for it.
pub fn compare(
    conn: &Connection,
    scope: &Scope,
    org: &OrgId,
    group: Option<Group>,
) -> Result<Comparison, CompareError> {
    stats::population_table(conn, "compare_population", false)?;
    let me = subject(conn, org)?;
    let groups = choices(&me);
    let group = match group {
        Some(g) => g,
        None => groups
            .iter()
            .find(|c| c.available)
            .map_or(Group::Kreis, |c| c.group),
    };
    if let Some(c) = groups.iter().find(|c| c.group == group && !c.available) {
        return Err(CompareError::GroupUnavailable {
            group,
            reason: c.reason.clone().unwrap_or_default(),
        });
    }
    // The trust scope of the statistics (also prepares `canon`).
    stats::counted(conn, scope)?;
    let dir = crate::refdata::directory(conn)?;
    let key = org.as_bytes().to_vec();
    conn.execute_batch(
        "CREATE TEMP TABLE IF NOT EXISTS compare_group (org BLOB PRIMARY KEY) WITHOUT ROWID;
         DELETE FROM compare_group;
         CREATE TEMP TABLE IF NOT EXISTS compare_self (org BLOB PRIMARY KEY) WITHOUT ROWID;
         DELETE FROM compare_self;",
    )?;
    conn.execute("INSERT INTO compare_self (org) VALUES (?1)", [&key])?;
    let limit = i64::try_from(MAX_GROUP + 1).unwrap_or(i64::MAX);
    let (size_class, group_label, inserted) = match group {
        Group::Kreis => {
            let kreis = me.kreis.clone().unwrap_or_default();
            let name = dir
                .kreise
                .get(&kreis)
                .map(|k| k.name.clone())
                .unwrap_or_default();
            let n = conn.execute(
                "INSERT OR IGNORE INTO compare_group (org)
                 SELECT DISTINCT o.org FROM idx_org o JOIN counted c ON c.org = o.org
                 WHERE o.kreis = ?1 AND o.org != ?2 ORDER BY o.org LIMIT ?3",
                rusqlite::params![kreis, key, limit],
            )?;
            let label = if name.is_empty() {
                format!("Kreis {kreis}")
            } else {
                format!("Kreis {name} ({kreis})")
            };
            (None, label, n)
        }
        Group::Land => {
            let land = me.land.clone().unwrap_or_default();
            let name = dir
                .laender
                .get(&land)
                .map(|l| l.name.clone())
                .unwrap_or_default();
            let n = conn.execute(
                "INSERT OR IGNORE INTO compare_group (org)
                 SELECT DISTINCT o.org FROM idx_org o JOIN counted c ON c.org = o.org
                 WHERE o.land = ?1 AND o.org != ?2 ORDER BY o.org LIMIT ?3",
                rusqlite::params![land, key, limit],
            )?;
            let label = if name.is_empty() {
                format!("Land {land}")
            } else {
                format!("{name} ({land})")
            };
            (None, label, n)
        }
        Group::Groesse => {
            let class = SizeClass::of(me.population.unwrap_or(0));
            let below = class
                .below
                .and_then(|b| i64::try_from(b).ok())
                .unwrap_or(i64::MAX);
            let from = i64::try_from(class.from).unwrap_or(i64::MAX);
            let kind = me.kind.clone().unwrap_or_default();
            let n = conn.execute(
                "INSERT OR IGNORE INTO compare_group (org)
                 SELECT DISTINCT o.org FROM idx_org o JOIN counted c ON c.org = o.org
                 JOIN compare_population p ON p.org = o.org
                 WHERE o.kind = ?1 AND p.population >= ?2 AND p.population < ?3 AND o.org != ?4
                 ORDER BY o.org LIMIT ?5",
                rusqlite::params![kind, from, below, key, limit],
            )?;
            let kind_label = match kind.as_str() {
                "kommune" => "Kommunen",
                "kreis" => "Kreise",
                "land" => "Länder",
                "it-dienstleister" => "IT-Dienstleister",
                _ => "Organisationen",
            };
            (
                Some(class),
                format!("{kind_label} der Größenklasse {}", class.label),
                n,
            )
        }
    };
    let mut group_truncated = inserted > MAX_GROUP;
    if group_truncated {
        // The one beyond the bound only told that there are more.
        conn.execute(
            "DELETE FROM compare_group WHERE org = (SELECT max(org) FROM compare_group)",
            [],
        )?;
    }
    let neighbours = inserted.min(MAX_GROUP) as u64;
    let theirs = rows(conn, "compare_group", MAX_ROWS + 1)?;
    if theirs.len() > MAX_ROWS {
        group_truncated = true;
    }
    let theirs = &theirs[..theirs.len().min(MAX_ROWS)];
    let mine_rows = rows(conn, "compare_self", MAX_ROWS)?;

    // The subject's products in use, per task.
    let mut mine: BTreeMap<String, BTreeSet<Vec<u8>>> = BTreeMap::new();
    let mut mine_all: BTreeSet<Vec<u8>> = BTreeSet::new();
    for r in mine_rows.iter().filter(|r| r.in_use) {
        mine.entry(r.task.clone())
            .or_default()
            .insert(r.product.clone());
        mine_all.insert(r.product.clone());
    }
    // The group's, per task and product; per product who runs it anywhere; per product and
    // organisation the costs of its deployments in use (each deployment once).
    let mut tally: BTreeMap<String, BTreeMap<Vec<u8>, Tally>> = BTreeMap::new();
    let mut running: BTreeMap<Vec<u8>, BTreeSet<Vec<u8>>> = BTreeMap::new();
    let mut costs: BTreeMap<Vec<u8>, BTreeMap<Vec<u8>, OrgCosts>> = BTreeMap::new();
    let mut seen: BTreeSet<&(Vec<u8>, String)> = BTreeSet::new();
    let mut active: BTreeSet<&[u8]> = BTreeSet::new();
    for r in theirs {
        let t = tally
            .entry(r.task.clone())
            .or_default()
            .entry(r.product.clone())
            .or_default();
        if r.in_use {
            t.in_use.insert(r.org.clone());
            running
                .entry(r.product.clone())
                .or_default()
                .insert(r.org.clone());
            active.insert(&r.org);
            if seen.insert(&r.deployment) {
                let c = costs
                    .entry(r.product.clone())
                    .or_default()
                    .entry(r.org.clone())
                    .or_default();
                let add = |acc: &mut Option<u64>, v: Option<u64>| {
                    if let Some(v) = v {
                        *acc = Some(acc.unwrap_or(0).saturating_add(v));
                    }
                };
                add(&mut c.0, r.yearly);
                add(&mut c.1, r.once);
            }
        } else {
            t.retired.insert(r.org.clone());
        }
    }
    let left_of = |product: &[u8], retired: &BTreeSet<Vec<u8>>| -> u64 {
        let run = running.get(product);
        retired
            .iter()
            .filter(|o| !run.is_some_and(|r| r.contains(*o)))
            .count() as u64
    };

    let ratings: BTreeMap<String, RatingStats> = stats::ratings_among(conn, Among::CompareGroup)?
        .into_iter()
        .map(|r| (r.product.clone(), r))
        .collect();
    let per_inhabitant: BTreeMap<String, Costs> = stats::costs_among(conn, Among::CompareGroup)?
        .into_iter()
        .map(|c| (c.product.clone(), c))
        .collect();
    let mut names = Names::default();
    let catalogue = Catalogue::shipped();

    let summary = |product: &[u8], organisations: u64, left: u64, names: &mut Names| {
        let id = hex::encode(product);
        let r = ratings.get(&id).cloned();
        let score = r.as_ref().and_then(|r| {
            let n = r.dimensions.len();
            (n > 0).then(|| r.dimensions.values().map(|(m, _)| m).sum::<f64>() / n as f64)
        });
        let by_org = costs.get(product);
        let yearly: Vec<u64> = by_org
            .map(|m| m.values().filter_map(|c| c.0).collect())
            .unwrap_or_default();
        let once: Vec<u64> = by_org
            .map(|m| m.values().filter_map(|c| c.1).collect())
            .unwrap_or_default();
        Ok::<_, CompareError>(ProductComparison {
            name: names.get(conn, product)?,
            mine: mine_all.contains(product),
            organisations,
            left,
            ratings: r,
            score,
            costs: CostSummary {
                reporting_yearly: yearly.len() as u64,
                median_yearly_eur: median(yearly),
                reporting_once: once.len() as u64,
                median_once_eur: median(once),
                per_inhabitant_eur: per_inhabitant.get(&id).and_then(|c| c.per_inhabitant_eur),
            },
            product: id,
        })
    };

    // Every task the subject or a neighbour runs something for, most neighbours first.
    let all_tasks: BTreeSet<&String> = mine
        .keys()
        .chain(
            tally
                .iter()
                .filter(|(_, p)| p.values().any(|t| !t.in_use.is_empty()))
                .map(|(k, _)| k),
        )
        .collect();
    let mut ranked: Vec<(&String, u64)> = all_tasks
        .into_iter()
        .map(|t| {
            let n = tally.get(t).map_or(0, |p| {
                p.values()
                    .flat_map(|x| x.in_use.iter())
                    .collect::<BTreeSet<_>>()
                    .len() as u64
            });
            (t, n)
        })
        .collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let tasks_omitted = ranked.len().saturating_sub(MAX_TASKS) as u64;
    let mut tasks = Vec::new();
    let mut missing_tasks = Vec::new();
    let mut rare = Vec::new();
    for (task, neighbours_in_task) in ranked.into_iter().take(MAX_TASKS) {
        let my = mine.get(task).cloned().unwrap_or_default();
        let empty = BTreeMap::new();
        let products = tally.get(task).unwrap_or(&empty);
        let mut listed: Vec<(&Vec<u8>, u64, u64)> = products
            .iter()
            .map(|(p, t)| (p, t.in_use.len() as u64, left_of(p, &t.retired)))
            .filter(|(p, n, l)| *n > 0 || *l > 0 || my.contains(*p))
            .collect();
        for p in &my {
            if !products.contains_key(p) {
                listed.push((p, 0, 0));
            }
        }
        listed.sort_by(|a, b| b.1.cmp(&a.1).then(b.2.cmp(&a.2)).then(a.0.cmp(b.0)));
        let total = listed.len();
        let mut shown = Vec::new();
        let mut others = 0;
        for (p, n, l) in listed {
            if my.contains(p) || others < MAX_PRODUCTS_PER_TASK {
                if !my.contains(p) {
                    others += 1;
                }
                shown.push(summary(p, n, l, &mut names)?);
            }
        }
        if my.is_empty() && neighbours_in_task > 0 {
            missing_tasks.push(task.clone());
        }
        for p in shown.iter().filter(|p| p.mine) {
            if p.organisations * 100 < RARE_PERCENT * neighbours_in_task.max(1) {
                rare.push(RareProduct {
                    product: p.product.clone(),
                    name: p.name.clone(),
                    task: task.clone(),
                    organisations: p.organisations,
                    neighbours: neighbours_in_task,
                });
            }
        }
        tasks.push(TaskComparison {
            task: task.clone(),
            name: catalogue.task_name(task).to_owned(),
            mine: my.iter().map(hex::encode).collect(),
            neighbours: neighbours_in_task,
            products_omitted: (total - shown.len()) as u64,
            products: shown,
        });
    }

    // Products neighbours left, over all tasks.
    let mut retired_by: BTreeMap<&Vec<u8>, BTreeSet<Vec<u8>>> = BTreeMap::new();
    for per_task in tally.values() {
        for (p, t) in per_task {
            retired_by
                .entry(p)
                .or_default()
                .extend(t.retired.iter().cloned());
        }
    }
    let mut left: Vec<(&Vec<u8>, u64)> = retired_by
        .iter()
        .map(|(p, r)| (*p, left_of(p, r)))
        .filter(|(_, n)| *n > 0)
        .collect();
    left.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let left = left
        .into_iter()
        .take(MAX_LEFT)
        .map(|(p, n)| {
            Ok::<_, CompareError>(LeftProduct {
                product: hex::encode(p),
                name: names.get(conn, p)?,
                left: n,
                organisations: running.get(p).map_or(0, |r| r.len() as u64),
                mine: mine_all.contains(p),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;

    Ok(Comparison {
        organisation: hex::encode(&key),
        name: me.name,
        group,
        group_label,
        population: me.population,
        size_class: size_class.or(me.population.map(SizeClass::of)),
        neighbours,
        neighbours_with_deployments: active.len() as u64,
        group_truncated,
        include_unverified: scope.include_unverified,
        tasks,
        tasks_omitted,
        missing_tasks,
        rare,
        left,
        groups,
    })
}

/// Product names read as needed (a comparison names at most a few thousand).
#[derive(Default)]
struct Names(BTreeMap<Vec<u8>, String>);

impl Names {
    fn get(&mut self, conn: &Connection, product: &[u8]) -> Result<String, CompareError> {
        if let Some(n) = self.0.get(product) {
            return Ok(n.clone());
        }
        let name: Option<String> = conn
            .prepare_cached("SELECT name FROM idx_product WHERE doc = ?1")?
            .query_row([product], |r| r.get(0))
            .optional()?;
        let name = name.unwrap_or_else(|| {
            format!("doc:{}", &hex::encode(product)[..12.min(product.len() * 2)])
        });
        self.0.insert(product.to_vec(), name.clone());
        Ok(name)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn size_classes_cover_every_population_without_gaps() {
        assert_eq!(SizeClass::of(0).key, "unter-2000");
        assert_eq!(SizeClass::of(1_999).key, "unter-2000");
        assert_eq!(SizeClass::of(2_000).key, "2000-5000");
        assert_eq!(SizeClass::of(7_797).key, "5000-10000");
        assert_eq!(SizeClass::of(499_999).key, "200000-500000");
        assert_eq!(SizeClass::of(3_700_000).key, "ab-500000");
        for w in SIZE_CLASSES.windows(2) {
            assert_eq!(w[0].below, Some(w[1].from));
        }
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(vec![]), None);
        assert_eq!(median(vec![5, 1, 3]), Some(3));
        assert_eq!(median(vec![4, 1, 3, 10]), Some(3));
        assert_eq!(median(vec![u64::MAX, u64::MAX]), Some(u64::MAX));
    }

    #[test]
    fn groups_parse_from_german_and_english_keys() {
        assert_eq!("Kreis".parse::<Group>().unwrap(), Group::Kreis);
        assert_eq!("größe".parse::<Group>().unwrap(), Group::Groesse);
        assert_eq!("size".parse::<Group>().unwrap(), Group::Groesse);
        assert!("gemeinde".parse::<Group>().is_err());
    }
}
