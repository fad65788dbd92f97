//! The GV100AD reader: the real Destatis file (from `../shared/refdata`, when present), the
//! compiled-in directory made from it, and malformed files, which fail with line and columns
//! and give nothing back.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use allmende_protocol::gv100ad::{self, Gemeindeverzeichnis};

fn refdata() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/refdata/GV100AD_301121.ASC");
    if p.exists() {
        Some(p)
    } else {
        eprintln!("skipped: {} not found", p.display());
        None
    }
}

#[test]
fn the_real_file_reads_whole_and_the_shipped_directory_is_made_from_it() {
    let Some(path) = refdata() else { return };
    let text = std::fs::read_to_string(&path).unwrap();
    let v = gv100ad::parse(&text).unwrap();
    assert_eq!(v.status, "20211130");
    assert_eq!(v.laender.len(), 16);
    assert_eq!(v.kreise.len(), 400);
    assert_eq!(v.gemeinden.len(), 10_997);
    let total: u64 = v.gemeinden.values().map(|g| g.population).sum();
    assert_eq!(total, 83_155_031, "SOURCES.tsv gives this sum");
    let aachen = v.gemeinde("05334002").unwrap();
    assert_eq!(aachen.name, "Aachen, Stadt");
    assert_eq!(aachen.ars, "053340002002");
    assert_eq!(v.kreis_of("05334002").unwrap().name, "Städteregion Aachen");
    assert_eq!(v.laender["05"].name, "Nordrhein-Westfalen");
    let compact = v.to_compact();
    if std::env::var_os("ALLMENDE_WRITE_REFDATA").is_some() {
        std::fs::write(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("data/gv100ad_20211130.tsv"),
            &compact,
        )
        .unwrap();
    }
    assert!(
        compact == include_str!("../data/gv100ad_20211130.tsv"),
        "protocol/data/gv100ad_20211130.tsv differs from the Destatis file; write it again with ALLMENDE_WRITE_REFDATA=1"
    );
    assert_eq!(Gemeindeverzeichnis::from_compact(&compact).unwrap(), v);
}

#[test]
fn the_shipped_directory_answers_and_suggests() {
    let v = gv100ad::shipped();
    assert_eq!(v.gemeinden.len(), 10_997);
    assert_eq!(v.gemeinde("05315000").unwrap().name, "Köln, Stadt");
    // A wrong key with the right name finds the right Gemeinde first.
    let s = v.suggest(Some("05334001"), "Stadt Aachen", 3);
    assert_eq!(s[0].ags, "05334002", "{s:?}");
    let msg = v.unknown_ags_message("05334001", "Stadt Aachen");
    assert!(msg.contains("Meinten Sie 05334002 Aachen, Stadt"), "{msg}");
    assert!(msg.contains("30.11.2021"), "{msg}");
    // Without a useful name: the Gemeinden of the Kreis the key names, nearest first.
    let s = v.suggest(Some("05358007"), "", 2);
    assert_eq!(s.len(), 2);
    assert!(s.iter().all(|g| g.ags.starts_with("05358")), "{s:?}");
    assert!(v.suggest(Some("99999999"), "", 3).is_empty());
}

/// A valid little file: one Land, one Kreis, one Gemeindeverband, two Gemeinden.
fn line(kind: &str, ars: &str, name: &str, tail: &str) -> String {
    let mut l = format!("{kind}20211130{ars:<12}{name:<50}");
    while l.chars().count() < 122 {
        l.push(' ');
    }
    l.push_str(tail);
    l
}

fn gemeinde(ars: &str, name: &str, pop: &str) -> String {
    line(
        "60",
        ars,
        name,
        &format!("64    00000000100{pop:0>11}00000000001    52062"),
    )
}

fn small() -> Vec<String> {
    vec![
        line("10", "05", "Nordrhein-Westfalen", ""),
        line("40", "05334", "Städteregion Aachen", "43"),
        line("50", "053340002", "Aachen, Stadt", "50"),
        gemeinde("053340020002", "Aachen, Stadt", "248960"),
        gemeinde("053340080008", "Baesweiler, Stadt", "26920"),
    ]
}

#[test]
fn a_small_file_reads_with_crlf_and_a_byte_order_mark() {
    let text = format!("\u{feff}{}\r\n", small().join("\r\n"));
    let v = gv100ad::parse(&text).unwrap();
    assert_eq!(v.gemeinden.len(), 2);
    assert_eq!(v.gemeinde("05334008").unwrap().population, 26_920);
    assert_eq!(
        v.gemeinde("05334008").unwrap().postcode.as_deref(),
        Some("52062")
    );
}

fn refused(lines: Vec<String>) -> gv100ad::Gv100Error {
    gv100ad::parse(&lines.join("\n")).expect_err("a malformed file must be refused")
}

#[test]
fn malformed_lines_are_refused_with_line_and_columns() {
    let mut l = small();
    l[3] = l[3].replacen("60", "61", 1);
    let e = refused(l);
    assert_eq!((e.line, e.columns), (4, Some((1, 2))), "{e}");
    assert!(e.to_string().contains("unknown record type 61"), "{e}");

    let mut l = small();
    l[4] = gemeinde("053340080008", "Baesweiler, Stadt", "26x20");
    let e = refused(l);
    assert_eq!((e.line, e.columns), (5, Some((140, 150))), "{e}");
    assert!(e.to_string().contains("population"), "{e}");

    let mut l = small();
    l[4] = gemeinde("0533400800", "Baesweiler, Stadt", "1");
    let e = refused(l);
    assert_eq!((e.line, e.columns), (5, Some((11, 22))), "{e}");

    let mut l = small();
    l[4] = gemeinde("063350040004", "Nirgendwo", "1");
    let e = refused(l);
    assert!(e.to_string().contains("names no Land"), "{e}");

    let mut l = small();
    l.push(gemeinde("053340020002", "Aachen, Stadt", "1"));
    assert!(refused(l).to_string().contains("appears twice"));

    let mut l = small();
    l[2] = l[2].replacen("20211130", "20221231", 1);
    let e = refused(l);
    assert_eq!(e.columns, Some((3, 10)), "{e}");

    let mut l = small();
    l[4] = "60 too short".into();
    assert_eq!(refused(l).line, 5);

    let mut l = small();
    l[3] = gemeinde("053340020002", "", "1");
    assert!(refused(l).to_string().contains("name is empty"));

    assert!(gv100ad::parse("").is_err());
    assert!(
        gv100ad::parse(&small()[..3].join("\n"))
            .unwrap_err()
            .to_string()
            .contains("no Gemeinde")
    );
    assert!(gv100ad::parse("not a gv100ad file at all\n").is_err());
}

#[test]
fn kreise_and_laender_written_with_zeros_are_areas_with_their_population() {
    use allmende_protocol::gv100ad::Area;
    let v = gv100ad::shipped();
    let Some(Area::Kreis(k)) = v.area("05366000") else {
        panic!("Kreis Euskirchen")
    };
    assert_eq!(k.name, "Euskirchen");
    let Some(Area::Land(l)) = v.area("05000000") else {
        panic!("NRW")
    };
    assert_eq!(l.name, "Nordrhein-Westfalen");
    let nrw = v.population(Area::Land(l));
    assert!((17_000_000..19_000_000).contains(&nrw), "{nrw}");
    assert!(
        matches!(v.area("05315000"), Some(Area::Gemeinde(_))),
        "Köln is a Gemeinde first"
    );
    assert_eq!(v.area("05366999"), None);
}
