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
    static SHIPPED: OnceLock<Arc<Gemeindeverzeichnis>> = OnceLock::new();
    let shipped = SHIPPED.get_or_init(|| Arc::new(gv100ad::shipped().clone()));
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
