//! What helps one body learn from another about a product: whom to ask (deployments marked
//! "ansprechbar für Erfahrungsaustausch", with their contact role), training offers with their
//! ratings, and "abgelöst durch" flows (deployments that ended and the product that replaced
//! them).
//!
//! Everything here reads the index only and is bounded: a product of a full catalog has some
//! 11,000 deployments, and any organisation in the trust scope may publish offers and
//! ratings. Counts and means take the statistics scope (the organisations a followed anchor
//! attests, or everyone when the node follows none), like [`crate::stats`]; lists carry each
//! author's `verified` flag, like the records on a product page.

use std::collections::{BTreeMap, HashMap, HashSet};

use allmende_protocol::ids::{DocId, OrgId};
use allmende_protocol::ozg::Catalogue;
use allmende_protocol::schema::{TrainingFormat, TrainingOffer};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use crate::query::{QueryError, verified_among};
pub use crate::stats::Scope;

/// At most this many contacts are listed for one product (verified organisations first).
pub const MAX_CONTACTS: usize = 50;
/// At most this many training offers are listed for one product or one overview.
pub const MAX_TRAININGS: usize = 200;
/// At most this many flows are listed in each direction.
pub const MAX_FLOWS: usize = 50;
/// At most this many distinct reasons are quoted per flow.
const MAX_REASONS: usize = 5;

/// (organisation, its name, contact role, status) of a deployment open to questions.
type ContactRow = (Vec<u8>, Option<String>, Option<String>, String);
/// (publisher, key, offer JSON, publisher's name, product's name).
type TrainingRow = (Vec<u8>, String, String, Option<String>, Option<String>);
/// (organisation, from product, to product (hex), reason) of a retired deployment.
type MoveRow = (Vec<u8>, Vec<u8>, String, Option<String>);
/// The organisations that made one move, and some of their reasons.
type Move = (HashSet<Vec<u8>>, Vec<String>);

/// Whether `org`'s records count in `scope`: the statistics' scope, where a node that follows
/// no anchor ("open mode") counts every organisation; `verified` are the attested ones.
fn counts(scope: &Scope, verified: &HashSet<Vec<u8>>, org: &[u8]) -> bool {
    scope.include_unverified || scope.anchors.is_empty() || verified.contains(org)
}

/// An organisation that others may ask about a product.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Contact {
    /// The organisation (64 hex).
    pub org: String,
    /// Its name, when its profile is known.
    pub name: Option<String>,
    /// The role or unit to ask.
    pub contact_role: Option<String>,
    /// The deployment's status (`planned`, `pilot`, `production`, `retired`).
    pub status: String,
    /// A followed anchor attests the organisation.
    pub verified: bool,
}

/// Organisations running (or having run) `product` that are open to questions about it, verified
/// first, then by name; at most [`MAX_CONTACTS`].
pub fn contacts(
    conn: &Connection,
    product: DocId,
    scope: &Scope,
) -> Result<Vec<Contact>, QueryError> {
    let mut stmt = conn.prepare_cached(
        "SELECT d.org, o.name, json_extract(d.json, '$.contact_role'), d.status
           FROM idx_deployment d LEFT JOIN idx_org o ON o.org = d.org
          WHERE d.product = ?1 AND json_extract(d.json, '$.exchange_ok') = 1",
    )?;
    let rows: Vec<ContactRow> = stmt
        .query_map([product.as_bytes().as_slice()], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?
        .collect::<Result<_, _>>()?;
    let orgs: Vec<Vec<u8>> = rows.iter().map(|r| r.0.clone()).collect();
    let verified = verified_among(conn, &scope.anchors, &orgs)?;
    let mut seen = HashSet::new();
    let mut out: Vec<Contact> = rows
        .into_iter()
        .filter(|(org, ..)| counts(scope, &verified, org))
        // One line per organisation (several deployments of one product: the first).
        .filter(|(org, ..)| seen.insert(org.clone()))
        .map(|(org, name, contact_role, status)| Contact {
            verified: verified.contains(&org),
            org: hex::encode(org),
            name,
            contact_role,
            status,
        })
        .collect();
    out.sort_by(|a, b| (!a.verified, &a.name, &a.org).cmp(&(!b.verified, &b.name, &b.org)));
    out.truncate(MAX_CONTACTS);
    Ok(out)
}

/// A training offer as listed: who publishes it, the offer, and what others think of it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Training {
    /// The publishing organisation (64 hex).
    pub org: String,
    /// Its name, when known.
    pub org_name: Option<String>,
    /// The offer's record key; a rating names `org` and `key`.
    pub key: String,
    /// A followed anchor attests the publisher.
    pub verified: bool,
    /// The product's name, when the product is known.
    pub product_name: Option<String>,
    /// The offer.
    pub offer: TrainingOffer,
    /// Ratings that count (the statistics scope).
    pub ratings: u64,
    /// Their mean score (1–5), when there are any.
    pub mean_score: Option<f64>,
    /// Share of those ratings that recommend it (0–1), among those that say.
    pub recommend_share: Option<f64>,
}

/// Which offers the overview lists.
#[derive(Debug, Clone, Default)]
pub struct TrainingFilter {
    /// Offers for products of this task (LeiKa key or text).
    pub task: Option<String>,
    /// Offers for this product.
    pub product: Option<DocId>,
    /// Offers in this format.
    pub format: Option<TrainingFormat>,
}

/// The training offers that `filter` selects, best rated first; at most [`MAX_TRAININGS`].
pub fn trainings(
    conn: &Connection,
    filter: &TrainingFilter,
    scope: &Scope,
) -> Result<Vec<Training>, QueryError> {
    let mut sql = String::from(
        "SELECT t.org, t.key, t.json, o.name, p.name FROM idx_training t
           LEFT JOIN idx_org o ON o.org = t.org LEFT JOIN idx_product p ON p.doc = t.product
          WHERE 1",
    );
    let mut args: Vec<rusqlite::types::Value> = Vec::new();
    if let Some(product) = &filter.product {
        sql.push_str(" AND t.product = ?");
        args.push(product.as_bytes().to_vec().into());
    }
    if let Some(task) = &filter.task {
        sql.push_str(
            " AND t.product IN (SELECT doc FROM idx_product_facet WHERE facet = 'task' AND value = ?)",
        );
        args.push(task.clone().into());
    }
    if let Some(format) = &filter.format {
        sql.push_str(" AND t.format = ?");
        args.push(format.slug().to_owned().into());
    }
    // Bounded before the ratings are read: the scope filter below drops some, so read a
    // margin more than is shown.
    sql.push_str(&format!(
        " ORDER BY t.doc, t.key LIMIT {}",
        MAX_TRAININGS * 4
    ));
    let mut stmt = conn.prepare(&sql)?;
    let rows: Vec<TrainingRow> = stmt
        .query_map(rusqlite::params_from_iter(args), |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })?
        .collect::<Result<_, _>>()?;
    let orgs: Vec<Vec<u8>> = rows.iter().map(|r| r.0.clone()).collect();
    let verified = verified_among(conn, &scope.anchors, &orgs)?;
    let mut out = Vec::new();
    for (org, key, json, org_name, product_name) in rows {
        if !counts(scope, &verified, &org) {
            continue;
        }
        let Ok(offer) = serde_json::from_str::<TrainingOffer>(&json) else {
            continue;
        };
        let (ratings, mean_score, recommend_share) = offer_ratings(conn, &org, &key, scope)?;
        out.push(Training {
            verified: verified.contains(&org),
            org: hex::encode(&org),
            org_name,
            key,
            product_name,
            offer,
            ratings,
            mean_score,
            recommend_share,
        });
    }
    out.sort_by(|a, b| {
        b.mean_score
            .unwrap_or(0.0)
            .total_cmp(&a.mean_score.unwrap_or(0.0))
            .then(b.ratings.cmp(&a.ratings))
            .then_with(|| a.offer.title.cmp(&b.offer.title))
    });
    out.truncate(MAX_TRAININGS);
    Ok(out)
}

/// One offer by publisher and key, with its ratings.
pub fn training(
    conn: &Connection,
    org: &OrgId,
    key: &str,
    scope: &Scope,
) -> Result<Option<Training>, QueryError> {
    let row: Option<(String, Option<String>, Option<String>)> = conn
        .query_row(
            "SELECT t.json, o.name, p.name FROM idx_training t
               LEFT JOIN idx_org o ON o.org = t.org LEFT JOIN idx_product p ON p.doc = t.product
              WHERE t.org = ?1 AND t.key = ?2
                AND t.doc IN (SELECT id FROM documents WHERE owner = ?1)",
            params![org.as_bytes().as_slice(), key],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let Some((json, org_name, product_name)) = row else {
        return Ok(None);
    };
    let Ok(offer) = serde_json::from_str::<TrainingOffer>(&json) else {
        return Ok(None);
    };
    let raw = org.as_bytes().to_vec();
    let verified = verified_among(conn, &scope.anchors, std::slice::from_ref(&raw))?;
    let (ratings, mean_score, recommend_share) = offer_ratings(conn, &raw, key, scope)?;
    Ok(Some(Training {
        verified: verified.contains(&raw),
        org: hex::encode(&raw),
        org_name,
        key: key.to_owned(),
        product_name,
        offer,
        ratings,
        mean_score,
        recommend_share,
    }))
}

/// Ratings of one offer that count: how many, mean score, recommendation share. The publisher's
/// own rating of its offer never counts (conflict of interest).
fn offer_ratings(
    conn: &Connection,
    org: &[u8],
    key: &str,
    scope: &Scope,
) -> Result<(u64, Option<f64>, Option<f64>), QueryError> {
    let mut stmt = conn.prepare_cached(
        "SELECT org, score, recommend FROM idx_training_rating
          WHERE offer_org = ?1 AND offer = ?2 AND org != ?1",
    )?;
    let rows: Vec<(Vec<u8>, i64, Option<bool>)> = stmt
        .query_map(params![org, key], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<_, _>>()?;
    let raters: Vec<Vec<u8>> = rows.iter().map(|r| r.0.clone()).collect();
    let verified = verified_among(conn, &scope.anchors, &raters)?;
    let (mut n, mut sum, mut said, mut yes) = (0u64, 0i64, 0u64, 0u64);
    for (rater, score, recommend) in rows {
        if !counts(scope, &verified, &rater) {
            continue;
        }
        n += 1;
        sum += score;
        if let Some(r) = recommend {
            said += 1;
            yes += u64::from(r);
        }
    }
    let mean = (n > 0).then(|| sum as f64 / n as f64);
    let share = (said > 0).then(|| yes as f64 / said as f64);
    Ok((n, mean, share))
}

/// Training offers grouped by the tasks of their products (the training overview).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TaskTrainings {
    /// The task (LeiKa key or text); empty for products filed under no task.
    pub task: String,
    /// Its name (from the OZG/LeiKa catalogue where known).
    pub name: String,
    /// The offers.
    pub trainings: Vec<Training>,
}

/// [`trainings`] grouped by task, groups by name; an offer for a product of several tasks is
/// listed under each.
pub fn trainings_by_task(
    conn: &Connection,
    filter: &TrainingFilter,
    scope: &Scope,
) -> Result<Vec<TaskTrainings>, QueryError> {
    let list = trainings(conn, filter, scope)?;
    let mut groups: BTreeMap<String, Vec<Training>> = BTreeMap::new();
    let ozg = Catalogue::shipped();
    let mut stmt = conn.prepare_cached(
        "SELECT value FROM idx_product_facet WHERE doc = ?1 AND facet = 'task' ORDER BY value",
    )?;
    for t in list {
        let product: DocId = t.offer.product;
        let tasks: Vec<String> = stmt
            .query_map([product.as_bytes().as_slice()], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let tasks: Vec<String> = match &filter.task {
            Some(only) => vec![only.clone()],
            None if tasks.is_empty() => vec![String::new()],
            None => tasks,
        };
        for task in tasks {
            groups.entry(task).or_default().push(t.clone());
        }
    }
    let mut out: Vec<TaskTrainings> = groups
        .into_iter()
        .map(|(task, trainings)| TaskTrainings {
            name: ozg.task_name(&task).to_owned(),
            task,
            trainings,
        })
        .collect();
    out.sort_by(|a, b| (a.task.is_empty(), &a.name).cmp(&(b.task.is_empty(), &b.name)));
    Ok(out)
}

/// Organisations that moved from one product to another.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Flow {
    /// The product that was replaced (64 hex).
    pub from: String,
    /// Its name, when known.
    pub from_name: Option<String>,
    /// The product that replaced it (64 hex).
    pub to: String,
    /// Its name, when known.
    pub to_name: Option<String>,
    /// Organisations that made the move (the statistics scope).
    pub organisations: u64,
    /// Some of their reasons, as they wrote them.
    pub reasons: Vec<String>,
}

/// The "abgelöst durch" flows of a product in both directions.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Flows {
    /// From this product to others, most organisations first.
    pub replaced_by: Vec<Flow>,
    /// From other products to this one.
    pub replaced: Vec<Flow>,
}

/// The flows from and to `product`, each at most [`MAX_FLOWS`].
pub fn flows(conn: &Connection, product: DocId, scope: &Scope) -> Result<Flows, QueryError> {
    let id = product.as_bytes().to_vec();
    let hex_id = format!("{product:#}");
    // Away from it: its retired deployments (index on product, status). Towards it: every
    // retired deployment naming it, read from the JSON (no index; retired deployments with a
    // successor are few against those in use).
    let mut stmt = conn.prepare_cached(
        "SELECT org, product, json_extract(json, '$.replaced_by'), json_extract(json, '$.end_reason')
           FROM idx_deployment WHERE product = ?1 AND status = 'retired'
            AND json_extract(json, '$.replaced_by') IS NOT NULL
         UNION ALL
         SELECT org, product, json_extract(json, '$.replaced_by'), json_extract(json, '$.end_reason')
           FROM idx_deployment WHERE status = 'retired' AND json_extract(json, '$.replaced_by') = ?2",
    )?;
    let rows: Vec<MoveRow> = stmt
        .query_map(params![id, hex_id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?
        .collect::<Result<_, _>>()?;
    let orgs: Vec<Vec<u8>> = rows.iter().map(|r| r.0.clone()).collect();
    let verified = verified_among(conn, &scope.anchors, &orgs)?;
    // (from, to) → organisations, reasons
    let mut moves: HashMap<(String, String), Move> = HashMap::new();
    for (org, from, to, reason) in rows {
        if !counts(scope, &verified, &org) {
            continue;
        }
        let e = moves.entry((hex::encode(from), to)).or_default();
        e.0.insert(org);
        if let Some(r) = reason
            && e.1.len() < MAX_REASONS
            && !e.1.contains(&r)
        {
            e.1.push(r);
        }
    }
    let mut names: HashMap<String, Option<String>> = HashMap::new();
    let mut name_of = |hex_id: &str| -> Result<Option<String>, QueryError> {
        if let Some(n) = names.get(hex_id) {
            return Ok(n.clone());
        }
        let n = match hex::decode(hex_id) {
            Ok(raw) => conn
                .query_row("SELECT name FROM idx_product WHERE doc = ?1", [raw], |r| {
                    r.get(0)
                })
                .optional()?,
            Err(_) => None,
        };
        names.insert(hex_id.to_owned(), n.clone());
        Ok(n)
    };
    let mut out = Flows::default();
    for ((from, to), (orgs, reasons)) in moves {
        let flow = Flow {
            from_name: name_of(&from)?,
            to_name: name_of(&to)?,
            organisations: orgs.len() as u64,
            reasons,
            from,
            to,
        };
        if flow.from == hex_id {
            out.replaced_by.push(flow);
        } else {
            out.replaced.push(flow);
        }
    }
    for list in [&mut out.replaced_by, &mut out.replaced] {
        list.sort_by(|a, b| {
            b.organisations
                .cmp(&a.organisations)
                .then_with(|| (&a.from, &a.to).cmp(&(&b.from, &b.to)))
        });
        list.truncate(MAX_FLOWS);
    }
    Ok(out)
}
