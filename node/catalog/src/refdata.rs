//! The reference data a node holds: the Gemeindeverzeichnis in the store (`ref_*` tables,
//! the compiled-in edition unless `allmende import gv100ad` put a newer one there) and the
//! compiled-in OZG/LeiKa catalogue ([`allmende_protocol::ozg`]).
//!
//! Where a record is written locally, an AGS must exist in the node's directory
//! ([`check_ags`]); records from peers are never judged by it (nodes may hold different
//! editions).

use std::sync::{Arc, Mutex, OnceLock};

use allmende_protocol::gv100ad::{self, Gemeinde, Gemeindeverzeichnis, Kreis, Land};
use rusqlite::{Connection, OptionalExtension};

use crate::query::QueryError;

/// The node's Gemeindeverzeichnis: the compiled-in one when the store holds that edition,
/// else the store's, read once per edition.
pub fn directory(conn: &Connection) -> Result<Arc<Gemeindeverzeichnis>, QueryError> {
    static LOADED: Mutex<Option<Arc<Gemeindeverzeichnis>>> = Mutex::new(None);
    let status: Option<String> = conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'gv100ad_status'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    let shipped = gv100ad::shipped();
    match status {
        None => return Ok(shipped.clone()),
        Some(s) if s == shipped.status => return Ok(shipped.clone()),
        Some(_) => {}
    }
    let status = status.unwrap_or_default();
    if let Ok(guard) = LOADED.lock()
        && let Some(v) = guard.as_ref()
        && v.status == status
    {
        return Ok(v.clone());
    }
    let v = Arc::new(load(conn, status)?);
    if let Ok(mut guard) = LOADED.lock() {
        *guard = Some(v.clone());
    }
    Ok(v)
}

fn load(conn: &Connection, status: String) -> Result<Gemeindeverzeichnis, QueryError> {
    let mut v = Gemeindeverzeichnis {
        status,
        laender: Default::default(),
        kreise: Default::default(),
        gemeinden: Default::default(),
    };
    let mut st = conn.prepare("SELECT key, name FROM ref_land")?;
    for r in st.query_map([], |r| {
        Ok(Land {
            key: r.get(0)?,
            name: r.get(1)?,
        })
    })? {
        let l = r?;
        v.laender.insert(l.key.clone(), l);
    }
    let mut st = conn.prepare("SELECT key, name, textkennzeichen FROM ref_kreis")?;
    for r in st.query_map([], |r| {
        Ok(Kreis {
            key: r.get(0)?,
            name: r.get(1)?,
            textkennzeichen: r.get(2)?,
        })
    })? {
        let k = r?;
        v.kreise.insert(k.key.clone(), k);
    }
    let mut st = conn.prepare(
        "SELECT ags, ars, name, textkennzeichen, area_ha, population, postcode FROM ref_gemeinde",
    )?;
    for r in st.query_map([], |r| {
        Ok(Gemeinde {
            ags: r.get(0)?,
            ars: r.get(1)?,
            name: r.get(2)?,
            textkennzeichen: r.get(3)?,
            area_ha: r.get::<_, i64>(4)?.max(0).unsigned_abs(),
            population: r.get::<_, i64>(5)?.max(0).unsigned_abs(),
            postcode: r.get(6)?,
        })
    })? {
        let g = r?;
        v.gemeinden.insert(g.ags.clone(), g);
    }
    Ok(v)
}

/// `Ok` when `ags` names a Gemeinde, Kreis or Land of `directory`, else the German sentence
/// that refuses it with suggestions by `name` ("… Meinten Sie 05334002 Aachen, Stadt?").
pub fn check_ags(directory: &Gemeindeverzeichnis, ags: &str, name: &str) -> Result<(), String> {
    if directory.area(ags).is_some() {
        return Ok(());
    }
    Err(directory.unknown_ags_message(ags, name))
}

/// One entry of the OZG/LeiKa catalogue found by [`search_tasks`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct TaskHit {
    /// The task as a record writes it: a LeiKa key or `ozg:<id>`.
    pub task: String,
    /// Its name.
    pub name: String,
    /// `leika` or `ozg`.
    pub kind: &'static str,
    /// The OZG-Leistung it belongs to (for a LeiKa Leistung), by name.
    pub ozg: Option<String>,
    /// The Themenfeld of its OZG-Leistung.
    pub themenfeld: Option<String>,
}

/// The most hits [`search_tasks`] returns.
pub const MAX_TASK_HITS: usize = 100;

/// Searches the names of the shipped OZG-Leistungen and LeiKa Leistungen (the task picker of
/// the forms, `GET /api/v1/tasks/catalogue`): every term of `q`, normalised and stemmed as
/// the product search does, must occur inside the name (so `genehmigung` finds
/// "Abbruchgenehmigung"), and one term must have three or more letters; a 14-digit key or
/// `ozg:<id>` finds its entry. OZG-Leistungen come
/// first, then names that start with the first term, then shorter names.
pub fn search_tasks(q: &str, limit: usize) -> Vec<TaskHit> {
    use allmende_protocol::ozg::Catalogue;
    static NAMES: OnceLock<Vec<(String, String)>> = OnceLock::new();
    let c = Catalogue::shipped();
    let names = NAMES.get_or_init(|| {
        let mut v: Vec<(String, String)> = c
            .ozg
            .values()
            .map(|o| {
                (
                    format!("ozg:{}", o.id),
                    allmende_store::search_text::normalise(&o.name),
                )
            })
            .collect();
        v.extend(c.leika.values().map(|l| {
            (
                l.key.clone(),
                allmende_store::search_text::normalise(&l.name),
            )
        }));
        v
    });
    let hit = |task: &str| -> Option<TaskHit> {
        use allmende_protocol::ozg::TaskRef;
        match c.task(task) {
            TaskRef::Leika(l) => {
                let o = l.ozg.and_then(|id| c.ozg.get(&id));
                Some(TaskHit {
                    task: l.key.clone(),
                    name: l.name.clone(),
                    kind: "leika",
                    ozg: o.map(|o| o.name.clone()),
                    themenfeld: o.map(|o| o.themenfeld.trim().to_owned()),
                })
            }
            TaskRef::Ozg(o) => Some(TaskHit {
                task: format!("ozg:{}", o.id),
                name: o.name.clone(),
                kind: "ozg",
                ozg: None,
                themenfeld: Some(o.themenfeld.trim().to_owned()),
            }),
            _ => None,
        }
    };
    let limit = limit.clamp(1, MAX_TASK_HITS);
    let q = q.trim();
    if let Some(h) = hit(q) {
        return vec![h];
    }
    let terms = allmende_store::search_text::query_terms(q);
    // Terms of one or two letters occur in nearly every name: they narrow only beside a
    // longer one.
    if terms.iter().all(|t| t.chars().count() < 3) {
        return vec![];
    }
    let mut found: Vec<(bool, bool, usize, &str)> = names
        .iter()
        .filter(|(_, n)| terms.iter().all(|t| n.contains(t.as_str())))
        .map(|(task, n)| {
            (
                !task.starts_with("ozg:"),
                !n.starts_with(terms[0].as_str()),
                n.len(),
                task.as_str(),
            )
        })
        .collect();
    found.sort();
    found
        .into_iter()
        .take(limit)
        .filter_map(|(_, _, _, task)| hit(task))
        .collect()
}
