//! The OZG/LeiKa catalogue: made from the KDN's CSV files in `../shared/refdata` (when
//! present) and compiled in; the shipped copy must equal what the sources give.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use allmende_protocol::ozg::{
    Catalogue, Lebenslage, LeikaLeistung, OzgLeistung, TaskRef, Themenfeld,
};

fn refdata() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/refdata");
    if p.join("kdn_leika_leistungen.csv").exists() {
        Some(p)
    } else {
        eprintln!("skipped: {} not found", p.display());
        None
    }
}

fn rows(dir: &Path, file: &str) -> Vec<BTreeMap<String, String>> {
    let mut r = csv::Reader::from_path(dir.join(file)).unwrap();
    r.deserialize().map(|row| row.unwrap()).collect()
}

/// The catalogue as the KDN's files give it: LeiKa rows without a key and the source's
/// developer test rows left out, names trimmed.
fn from_sources(dir: &Path) -> Catalogue {
    let mut c = Catalogue::default();
    for r in rows(dir, "kdn_ozg_themenfelder.csv") {
        let id = r["id"].parse().unwrap();
        c.themenfelder.insert(
            id,
            Themenfeld {
                id,
                name: r["name"].trim().into(),
            },
        );
    }
    for r in rows(dir, "kdn_ozg_lebenslagen.csv") {
        let id = r["id"].parse().unwrap();
        c.lebenslagen.insert(
            id,
            Lebenslage {
                id,
                themenfeld: r["themenfeld_id"].parse().unwrap(),
                name: r["name"].trim().into(),
            },
        );
    }
    for r in rows(dir, "kdn_ozg_leistungen.csv") {
        let id = r["ozg_id"].parse().unwrap();
        c.ozg.insert(
            id,
            OzgLeistung {
                id,
                name: r["name"].trim().into(),
                lebenslage: r["lebenslage_id"].trim().parse().ok(),
                themenfeld: r["themenfeld"].trim().into(),
            },
        );
    }
    for r in rows(dir, "kdn_leika_leistungen.csv") {
        let key = r["leika_schluessel"].trim();
        let name = r["name"].trim();
        if key.len() != 14 || !key.bytes().all(|b| b.is_ascii_digit()) || name.starts_with("Test ")
        {
            continue;
        }
        c.leika.insert(
            key.into(),
            LeikaLeistung {
                key: key.into(),
                name: name.into(),
                typ: r["leika_typ"].trim().into(),
                ozg: r["ozg_id"].trim().parse().ok(),
            },
        );
    }
    c
}

#[test]
fn the_shipped_catalogue_is_made_from_the_kdn_files() {
    let Some(dir) = refdata() else { return };
    let c = from_sources(&dir);
    assert_eq!(c.themenfelder.len(), 14);
    assert_eq!(c.lebenslagen.len(), 55);
    assert_eq!(c.ozg.len(), 557);
    assert_eq!(c.leika.len(), 4_813);
    let compact = c.to_compact();
    if std::env::var_os("ALLMENDE_WRITE_REFDATA").is_some() {
        std::fs::write(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("data/ozg_leika_2019.tsv"),
            &compact,
        )
        .unwrap();
    }
    assert!(
        compact == include_str!("../data/ozg_leika_2019.tsv"),
        "protocol/data/ozg_leika_2019.tsv differs from the KDN files; write it again with ALLMENDE_WRITE_REFDATA=1"
    );
    assert_eq!(Catalogue::from_compact(&compact).unwrap(), c);
}

#[test]
fn tasks_get_names_and_their_place_in_the_ozg() {
    let c = Catalogue::shipped();
    assert_eq!(c.leika.len(), 4_813);
    let TaskRef::Leika(l) = c.task("99012001000000") else {
        panic!("a known LeiKa key")
    };
    assert_eq!(l.name, "Abbruchgenehmigung");
    let o = c.ozg_of("99012001000000").unwrap();
    assert_eq!(
        (o.id, o.name.as_str(), o.themenfeld.as_str()),
        (10513, "Abbruchgenehmigung", "Bauen & Wohnen")
    );
    assert!(c.lebenslage_of("99012001000000").is_some());
    assert_eq!(c.task_name("ozg:10513"), "Abbruchgenehmigung");
    assert_eq!(c.task("99999999999999"), TaskRef::UnknownLeika);
    assert_eq!(c.task("ozg:1"), TaskRef::UnknownOzg);
    assert_eq!(c.task("Bauantrag"), TaskRef::Free);
    assert_eq!(c.task_name("Bauantrag"), "Bauantrag");
    assert!(Catalogue::from_compact("something else").is_err());
    assert!(Catalogue::from_compact("allmende-ozg-leika v1\t2019-12\nX\t1").is_err());
}
