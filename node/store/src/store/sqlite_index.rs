//! Writing the catalog index rows of one document (see [`crate::index`]) into SQLite.

use rusqlite::{Transaction, params};

use super::StoreError;
use crate::index::{DocIndex, Row};

/// Tables holding rows of one document, keyed by its `doc` column.
const DOC_TABLES: &[&str] = &[
    "idx_org",
    "idx_product_facet",
    "idx_product_same",
    "idx_deployment",
    "idx_deployment_task",
    "idx_integration",
    "idx_rating",
    "idx_rating_score",
    "idx_reuse",
    "idx_training",
    "idx_training_rating",
    "idx_attestation",
];

fn json<T: serde::Serialize>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v)
        .map_err(|e| StoreError::Corrupt(format!("cannot serialise an index row: {e}")))
}

fn b(bytes: &[u8; 32]) -> &[u8] {
    bytes.as_slice()
}

/// Removes every index row.
pub(super) fn clear(tx: &Transaction<'_>) -> Result<(), StoreError> {
    // Kept by triggers on the tables below: emptied first, so that the deletes below find
    // nothing to adjust.
    tx.execute("DELETE FROM idx_usage", [])?;
    tx.execute("DELETE FROM idx_usage_region", [])?;
    for t in DOC_TABLES {
        tx.execute(&format!("DELETE FROM {t}"), [])?;
    }
    tx.execute("DELETE FROM idx_product_fts", [])?;
    tx.execute("DELETE FROM idx_product_tri", [])?;
    tx.execute("DELETE FROM idx_product", [])?;
    Ok(())
}

/// Replaces the rows of `idx.doc` with `idx.rows`.
pub(super) fn replace(tx: &Transaction<'_>, idx: &DocIndex) -> Result<(), StoreError> {
    let doc = b(idx.doc.as_bytes());
    for t in DOC_TABLES {
        tx.prepare_cached(&format!("DELETE FROM {t} WHERE doc = ?1"))?
            .execute([doc])?;
    }
    let old: Option<i64> = tx
        .prepare_cached("SELECT id FROM idx_product WHERE doc = ?1")?
        .query_row([doc], |r| r.get(0))
        .ok();
    if let Some(id) = old {
        tx.prepare_cached("DELETE FROM idx_product_fts WHERE rowid = ?1")?
            .execute([id])?;
        tx.prepare_cached("DELETE FROM idx_product_tri WHERE rowid = ?1")?
            .execute([id])?;
        tx.prepare_cached("DELETE FROM idx_product WHERE id = ?1")?
            .execute([id])?;
    }
    for row in &idx.rows {
        insert(tx, doc, row)?;
    }
    super::follow::observe(tx, idx, crate::now().0)
}

fn insert(tx: &Transaction<'_>, doc: &[u8], row: &Row) -> Result<(), StoreError> {
    match row {
        Row::Org { org, profile } => {
            tx.prepare_cached(
                "INSERT INTO idx_org (doc, org, name, kind, ags, land, kreis, population, it_dienstleister, json)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?
            .execute(params![
                doc,
                b(org.as_bytes()),
                profile.name,
                profile.kind.slug(),
                profile.ags.as_ref().map(|a| a.as_str().to_owned()),
                profile.land.map(|l| l.code()),
                profile.ags.as_ref().map(|a| a.kreis().to_owned()),
                profile.population,
                profile.it_dienstleister.as_ref().map(|o| o.as_bytes().to_vec()),
                json(profile)?,
            ])?;
        }
        Row::Product {
            created_by,
            product,
            text,
            facets,
        } => {
            tx.prepare_cached(
                "INSERT INTO idx_product (doc, created_by, name, vendor, kind, licence, open_source, json)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![
                doc,
                b(created_by.as_bytes()),
                product.name,
                product.vendor,
                product.kind.slug(),
                product.licence.as_ref().map(|l| l.as_str().to_owned()),
                product.licence.as_ref().map(|l| l.is_open_source()),
                json(product)?,
            ])?;
            let id = tx.last_insert_rowid();
            if let Some(same) = &product.same_as {
                tx.prepare_cached("INSERT INTO idx_product_same (doc, same) VALUES (?1, ?2)")?
                    .execute(params![doc, b(same.as_bytes())])?;
            }
            tx.prepare_cached("INSERT INTO idx_product_fts (rowid, text) VALUES (?1, ?2)")?
                .execute(params![id, text])?;
            tx.prepare_cached("INSERT INTO idx_product_tri (rowid, text) VALUES (?1, ?2)")?
                .execute(params![id, text])?;
            let mut facet = tx.prepare_cached(
                "INSERT OR IGNORE INTO idx_product_facet (doc, facet, value) VALUES (?1, ?2, ?3)",
            )?;
            for (f, v) in facets {
                facet.execute(params![doc, f, v])?;
            }
        }
        Row::Deployment {
            org,
            key,
            deployment: d,
        } => {
            tx.prepare_cached(
                "INSERT INTO idx_deployment (doc, key, org, product, status, operated_by, end_to_end, cost_once,
                 cost_yearly, json) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?
            .execute(params![
                doc,
                key,
                b(org.as_bytes()),
                b(d.product.as_bytes()),
                d.status.slug(),
                json(&d.operated_by)?,
                d.end_to_end,
                d.cost_once_eur.map(|v| v as i64),
                d.cost_yearly_eur.map(|v| v as i64),
                json(d)?,
            ])?;
            let mut task = tx.prepare_cached(
                "INSERT OR IGNORE INTO idx_deployment_task (doc, key, task) VALUES (?1, ?2, ?3)",
            )?;
            for t in &d.tasks {
                task.execute(params![doc, key, t.as_str()])?;
            }
            let mut integration = tx.prepare_cached(
                "INSERT OR REPLACE INTO idx_integration (doc, key, product, other, standard, status)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            for i in &d.integrations {
                integration.execute(params![
                    doc,
                    key,
                    b(d.product.as_bytes()),
                    b(i.product.as_bytes()),
                    allmende_protocol::reference::normalise_standard(&i.standard),
                    i.status.slug(),
                ])?;
            }
        }
        Row::Rating { org, key, rating } => {
            tx.prepare_cached(
                "INSERT INTO idx_rating (doc, key, org, product, recommend, json) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![doc, key, b(org.as_bytes()), b(rating.product.as_bytes()), rating.recommend, json(rating)?])?;
            let mut score = tx.prepare_cached(
                "INSERT INTO idx_rating_score (doc, key, org, product, dimension, score) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            for (dim, s) in &rating.scores {
                score.execute(params![
                    doc,
                    key,
                    b(org.as_bytes()),
                    b(rating.product.as_bytes()),
                    dim.slug(),
                    s.get()
                ])?;
            }
        }
        Row::Reuse {
            org,
            key,
            report: r,
        } => {
            tx.prepare_cached(
                "INSERT INTO idx_reuse (doc, key, org, product, provider, efa, effort_person_days, cost_once,
                 cost_yearly, weeks, outcome, recommend, json)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            )?
            .execute(params![
                doc,
                key,
                b(org.as_bytes()),
                b(r.product.as_bytes()),
                r.provider.as_ref().map(|p| p.as_bytes().to_vec()),
                r.efa,
                r.effort_person_days,
                r.cost_once_eur.map(|v| v as i64),
                r.cost_yearly_eur.map(|v| v as i64),
                r.weeks_to_production,
                r.outcome.slug(),
                r.recommend,
                json(r)?,
            ])?;
        }
        Row::Training { org, key, offer } => {
            tx.prepare_cached(
                "INSERT INTO idx_training (doc, key, org, product, format, json) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                doc,
                key,
                b(org.as_bytes()),
                b(offer.product.as_bytes()),
                offer.format.slug(),
                json(offer)?,
            ])?;
        }
        Row::TrainingRating { org, key, rating } => {
            tx.prepare_cached(
                "INSERT INTO idx_training_rating (doc, key, org, offer_org, offer, score, recommend, json)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![
                doc,
                key,
                b(org.as_bytes()),
                b(rating.org.as_bytes()),
                rating.offer,
                rating.score.get(),
                rating.recommend,
                json(rating)?,
            ])?;
        }
        Row::Attestation {
            anchor,
            attestation: a,
        } => {
            tx.prepare_cached(
                "INSERT OR REPLACE INTO idx_attestation (doc, anchor, org, name, kind, ags, json)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                doc,
                b(anchor.as_bytes()),
                b(a.org.as_bytes()),
                a.name,
                a.kind.slug(),
                a.ags.as_ref().map(|x| x.as_str().to_owned()),
                json(a)?,
            ])?;
        }
    }
    Ok(())
}
