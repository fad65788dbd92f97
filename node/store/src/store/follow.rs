//! When each indexed record last changed, as this node saw it: the times behind the feeds,
//! the watch list's "neu seit Ihrem letzten Besuch" and the notices (`docs/feeds.md`).
//!
//! Every commit replaces a document's index rows; this keeps, per record, a digest of what the
//! feeds report of it (a deployment's product and status, a rating, a report, a product's
//! shown fields, its version and end of support) and two times, both written only when the
//! digest changes:
//! - `changed_at`: the time the document's newest change claims, **clamped to this node's
//!   clock** (a claim in the future counts as now, a missing one too). It orders the feeds,
//!   so a peer that claims a time far ahead does not stay on top: its record sits at the time
//!   this node received it and sinks like every other.
//! - `noticed_at`: this node's clock when it saw the change. "New since the last visit"
//!   compares it, so a peer that backdates a change cannot hide it from a watch list.
//!
//! Threat: a peer decides the claimed time and the content of its own records only. It can
//! backdate its own records (they sink in the feeds, and still count as new), and it can make
//! its records change often (each change is one row update; the trust scope and the network's
//! rate limits bound how often). It cannot move anyone else's record. The table is local
//! derived data like the `idx_*` tables: never sent, and rebuilt digests equal the old ones,
//! so an index rebuild changes no time.

use std::collections::HashMap;

use rusqlite::{Transaction, params};

use super::StoreError;
use crate::index::{DocIndex, Row};

/// 64-bit FNV-1a: a change detector for one record's reported content, stable across
/// releases (the standard library's hasher is not). Not a security boundary: a collision
/// only hides a change of the colliding organisation's own record.
fn fnv(bytes: &[u8]) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    i64::from_ne_bytes(h.to_ne_bytes())
}

fn digest<T: serde::Serialize>(v: &T) -> Result<i64, StoreError> {
    let text = serde_json::to_string(v)
        .map_err(|e| StoreError::Corrupt(format!("cannot serialise an index row: {e}")))?;
    Ok(fnv(text.as_bytes()))
}

/// What the feeds report of each row of `idx`: (kind, key, digest).
fn reported(idx: &DocIndex) -> Result<Vec<(&'static str, String, i64)>, StoreError> {
    let mut out = Vec::new();
    for row in &idx.rows {
        match row {
            Row::Product { product, .. } => {
                out.push(("product", String::new(), digest(product)?));
                out.push((
                    "release",
                    String::new(),
                    digest(&(&product.current_version, &product.support_ends))?,
                ));
            }
            Row::Deployment {
                key, deployment, ..
            } => out.push((
                "deployment",
                key.clone(),
                digest(&(&deployment.product, deployment.status.slug()))?,
            )),
            Row::Rating { key, rating, .. } => out.push(("rating", key.clone(), digest(rating)?)),
            Row::Reuse { key, report, .. } => out.push(("reuse", key.clone(), digest(report)?)),
            Row::Org { .. }
            | Row::Attestation { .. }
            | Row::Training { .. }
            | Row::TrainingRating { .. } => {}
        }
    }
    Ok(out)
}

/// Records the times of `idx`'s rows whose reported content changed (or that are new), and
/// forgets the rows the document no longer has. `now` is this node's clock (Unix seconds).
pub(super) fn observe(tx: &Transaction<'_>, idx: &DocIndex, now: i64) -> Result<(), StoreError> {
    let doc = idx.doc.as_bytes().as_slice();
    let mut old: HashMap<(String, String), i64> = HashMap::new();
    {
        let mut stmt =
            tx.prepare_cached("SELECT kind, key, digest FROM follow_seen WHERE doc = ?1")?;
        let rows = stmt.query_map([doc], |r| Ok(((r.get(0)?, r.get(1)?), r.get(2)?)))?;
        for r in rows {
            let (k, d) = r?;
            old.insert(k, d);
        }
    }
    let changed_at = match idx.claimed_at {
        Some(t) if t > 0 => t.min(now),
        _ => now,
    };
    for (kind, key, d) in reported(idx)? {
        match old.remove(&(kind.to_owned(), key.clone())) {
            Some(prev) if prev == d => {}
            _ => {
                tx.prepare_cached(
                    "INSERT INTO follow_seen (kind, doc, key, digest, changed_at, noticed_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                     ON CONFLICT (doc, kind, key) DO UPDATE SET
                       digest = excluded.digest, changed_at = excluded.changed_at,
                       noticed_at = excluded.noticed_at",
                )?
                .execute(params![kind, doc, key, d, changed_at, now])?;
            }
        }
    }
    for (kind, key) in old.into_keys() {
        tx.prepare_cached("DELETE FROM follow_seen WHERE kind = ?1 AND doc = ?2 AND key = ?3")?
            .execute(params![kind, doc, key])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::fnv;

    #[test]
    fn the_digest_is_fnv_1a() {
        // Published FNV-1a 64 test vectors.
        assert_eq!(fnv(b"") as u64, 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv(b"a") as u64, 0xaf63_dc4c_8601_ec8c);
    }
}
