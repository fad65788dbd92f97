#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Streaming exports: JSON Lines re-imports to the same catalog, the SQLite snapshot answers
//! the documented example queries exactly as `allmende query` does, CSV has one file per
//! table with the same rows, JSON-LD describes every product; every export states its
//! licence, exporter, time and verified organisations; bad imports are refused by line.

use std::path::Path;

mod common;
use common::{allmende, ok};

/// A small catalog: two products, a deployment, a rating, a Nachnutzung report, a delegation
/// and an attestation by the node itself acting as trust anchor.
fn catalog(dir: &Path) -> String {
    ok(
        dir,
        &[
            "init",
            "--name",
            "Stadt Export",
            "--kind",
            "kommune",
            "--ags",
            "05315000",
            "--population",
            "1000000",
        ],
    );
    ok(
        dir,
        &[
            "product",
            "add",
            "--name",
            "Bauportal",
            "--vendor",
            "Muster, \"GmbH\"",
            "--kind",
            "onlinedienst",
            "--licence",
            "EUPL-1.2",
            "--standard",
            "XBau",
            "--task",
            "99009001001000",
        ],
    );
    ok(
        dir,
        &[
            "product",
            "add",
            "--name",
            "Hundesteuer",
            "--vendor",
            "Y",
            "--kind",
            "fachverfahren",
            "--new",
        ],
    );
    let id = ok(dir, &["product", "list"])
        .lines()
        .find(|l| l.contains("Bauportal"))
        .and_then(|l| l.split_whitespace().next())
        .unwrap()
        .to_owned();
    ok(
        dir,
        &[
            "deployment",
            "add",
            "--product",
            &id,
            "--status",
            "production",
            "--cost-yearly",
            "4800",
        ],
    );
    ok(
        dir,
        &[
            "rating",
            "set",
            "--product",
            &id,
            "--functionality",
            "4",
            "--usability",
            "5",
            "--recommend",
            "ja",
        ],
    );
    ok(
        dir,
        &[
            "reuse",
            "add",
            "--product",
            &id,
            "--outcome",
            "production",
            "--efa",
            "--effort-days",
            "15",
        ],
    );
    ok(
        dir,
        &[
            "key",
            "delegate",
            "--to",
            "06e6ad7f6f775ddef8e0afec96d2693b95382fc407990bdfba905384648bef1b",
            "--days",
            "30",
        ],
    );
    let org = ok(dir, &["key", "export-public"])
        .lines()
        .nth(1)
        .unwrap()
        .trim_start_matches("org ")
        .to_owned();
    ok(
        dir,
        &[
            "trust",
            "attest",
            "--org",
            &org,
            "--name",
            "Stadt Export",
            "--kind",
            "kommune",
            "--ags",
            "05315000",
        ],
    );
    org
}

/// The readable catalog of a JSON export (everything but when and by whom).
fn catalog_of(dir: &Path) -> serde_json::Value {
    let v: serde_json::Value =
        serde_json::from_str(&ok(dir, &["export", "--format", "json"])).unwrap();
    v["catalog"].clone()
}

#[test]
fn jsonl_round_trips_to_the_same_catalog_and_states_its_provenance() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    let org = catalog(&src);
    let file = tmp.path().join("catalog.jsonl");
    let said = ok(
        &src,
        &[
            "export",
            "--format",
            "jsonl",
            "--out",
            file.to_str().unwrap(),
        ],
    );
    assert!(said.contains("Exported"), "{said}");
    let text = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["type"], "meta");
    assert!(
        lines[0]["licence"]
            .as_str()
            .unwrap()
            .contains("dl-de/zero-2-0")
    );
    assert_eq!(lines[0]["exported_by"], org.as_str());
    assert!(lines[0]["exported_at"].as_str().unwrap().ends_with('Z'));
    let count = |t: &str| lines.iter().filter(|l| l["type"] == t).count();
    assert_eq!(
        (
            count("product"),
            count("deployment"),
            count("rating"),
            count("reuse_report")
        ),
        (2, 1, 1, 1)
    );
    assert_eq!(count("certificate"), 1);
    assert!(count("document") >= 4);
    let product = lines
        .iter()
        .find(|l| l["type"] == "product" && l["name"] == "Bauportal")
        .unwrap();
    assert_eq!(product["licence"], "EUPL-1.2");
    // Re-import into an empty node: the same catalog.
    let dst = tmp.path().join("dst");
    let imported = ok(
        &dst,
        &["import", "--format", "jsonl", file.to_str().unwrap()],
    );
    assert!(imported.contains("1 new certificates"), "{imported}");
    assert_eq!(catalog_of(&dst), catalog_of(&src));
    // Importing again stores nothing new.
    assert!(
        ok(
            &dst,
            &["import", "--format", "jsonl", file.to_str().unwrap()]
        )
        .contains(" 0 new signed changes")
    );
}

#[test]
fn the_sqlite_snapshot_answers_the_documented_queries_like_allmende_query() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    let org = catalog(&src);
    let snap = tmp.path().join("catalog.sqlite");
    ok(
        &src,
        &[
            "--config",
            "/dev/null",
            "export",
            "--format",
            "sqlite",
            "--out",
            snap.to_str().unwrap(),
        ],
    );
    assert!(!Path::new(&format!("{}.partial", snap.display())).exists());
    // Exporting over an existing file is refused.
    assert!(
        !allmende(
            &src,
            &[
                "export",
                "--format",
                "sqlite",
                "--out",
                snap.to_str().unwrap()
            ]
        )
        .status
        .success()
    );
    let conn =
        rusqlite::Connection::open_with_flags(&snap, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let doc = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/sql.md"))
        .unwrap();
    let mut checked = 0;
    for block in doc.split("```sql\n").skip(1) {
        let sql = block.split("```").next().unwrap();
        let live: serde_json::Value =
            serde_json::from_str(&ok(&src, &["query", sql, "--format", "json"])).unwrap();
        let mut stmt = conn.prepare(sql).unwrap();
        let n = stmt.column_count();
        let rows: Vec<Vec<serde_json::Value>> = stmt
            .query_map([], |r| {
                (0..n)
                    .map(|i| {
                        Ok(match r.get_ref(i)? {
                            rusqlite::types::ValueRef::Null => serde_json::Value::Null,
                            rusqlite::types::ValueRef::Integer(v) => v.into(),
                            rusqlite::types::ValueRef::Real(v) => v.into(),
                            rusqlite::types::ValueRef::Text(t) => {
                                String::from_utf8_lossy(t).into_owned().into()
                            }
                            rusqlite::types::ValueRef::Blob(b) => hex::encode(b).into(),
                        })
                    })
                    .collect()
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(serde_json::json!(rows), live["rows"], "{sql}");
        checked += 1;
    }
    assert!(checked >= 5);
    let meta: String = conn
        .query_row(
            "SELECT value FROM metadata WHERE key = 'licence'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(meta.contains("dl-de/zero-2-0"));
    let by: String = conn
        .query_row(
            "SELECT value FROM metadata WHERE key = 'exported_by'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(by, org);
    // Without a followed anchor nobody is verified; with this node as anchor, it is.
    let none: i64 = conn
        .query_row("SELECT count(*) FROM verified_organisations", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(none, 0);
    let snap2 = tmp.path().join("anchored.sqlite");
    let cfg = tmp.path().join("allmende.toml");
    std::fs::write(&cfg, format!("[trust]\nanchors = [\"{org}\"]\n")).unwrap();
    ok(
        &src,
        &[
            "--config",
            cfg.to_str().unwrap(),
            "export",
            "--format",
            "sqlite",
            "--out",
            snap2.to_str().unwrap(),
        ],
    );
    let conn2 = rusqlite::Connection::open(&snap2).unwrap();
    let verified: String = conn2
        .query_row("SELECT org FROM verified_organisations", [], |r| r.get(0))
        .unwrap();
    assert_eq!(verified, org);
}

#[test]
fn csv_and_jsonld_describe_the_same_catalog() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    catalog(&src);
    let dir = tmp.path().join("csv");
    ok(
        &src,
        &["export", "--format", "csv", "--out", dir.to_str().unwrap()],
    );
    for (view, _, _) in allmende_node::sql::VIEWS {
        let text = std::fs::read_to_string(dir.join(format!("{view}.csv"))).unwrap();
        let rows = text.split("\r\n").filter(|l| !l.is_empty()).count() - 1;
        let live: serde_json::Value = serde_json::from_str(&ok(
            &src,
            &[
                "query",
                &format!("SELECT count(*) FROM {view}"),
                "--format",
                "json",
            ],
        ))
        .unwrap();
        assert_eq!(serde_json::json!(rows), live["rows"][0][0], "{view}");
    }
    let products = std::fs::read_to_string(dir.join("products.csv")).unwrap();
    assert!(
        products.starts_with("id,name,vendor,kind,licence,open_source,created_by,same_as\r\n"),
        "{products}"
    );
    assert!(products.contains("\"Muster, \"\"GmbH\"\"\""), "{products}");
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("metadata.json")).unwrap()).unwrap();
    assert!(meta["meta"]["licence"].as_str().unwrap().contains("Zero"));
    // Into a non-empty directory: refused.
    let again = allmende(
        &src,
        &["export", "--format", "csv", "--out", dir.to_str().unwrap()],
    );
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("not empty"));

    let ld: serde_json::Value =
        serde_json::from_str(&ok(&src, &["export", "--format", "jsonld"])).unwrap();
    assert_eq!(ld["@type"], "dcat:Catalog");
    assert_eq!(
        ld["dct:license"]["@id"],
        "https://www.govdata.de/dl-de/zero-2-0"
    );
    let set = ld["dcat:dataset"].as_array().unwrap();
    assert_eq!(set.len(), 2);
    let bau = set
        .iter()
        .find(|p| p["schema:name"] == "Bauportal")
        .unwrap();
    assert_eq!(
        bau["@type"],
        serde_json::json!(["schema:SoftwareApplication", "adms:Asset"])
    );
    assert_eq!(
        bau["schema:license"]["@id"],
        "https://spdx.org/licenses/EUPL-1.2"
    );
    assert_eq!(bau["allmende:deployments"], 1);
    assert_eq!(bau["allmende:reuseReports"], 1);
    assert_eq!(bau["schema:aggregateRating"]["schema:ratingValue"], 4.5);
}

#[test]
fn bad_jsonl_imports_are_refused_with_the_line() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    catalog(&src);
    let good = ok(&src, &["export", "--format", "jsonl"]);
    let meta = good.lines().next().unwrap().to_owned();
    let doc_line = good
        .lines()
        .find(|l| l.contains("\"type\":\"document\""))
        .unwrap()
        .to_owned();
    let cases: Vec<(String, &str)> = vec![
        (String::new(), "empty"),
        (doc_line.clone(), "meta line"),
        (format!("{meta}\nnot json\n"), "line 2"),
        (
            meta.replace("allmende-export-stream", "etwas-anderes"),
            "etwas-anderes",
        ),
        (
            format!(
                "{meta}\n{}\n",
                doc_line.replace("\"changes\":[\"", "\"changes\":[\"zz")
            ),
            "line 2",
        ),
        (
            format!(
                "{meta}\n{}\n",
                doc_line.replace("\"header\":\"", "\"header\":\"00")
            ),
            "line 2",
        ),
    ];
    for (i, (text, needle)) in cases.iter().enumerate() {
        let file = tmp.path().join(format!("bad{i}.jsonl"));
        std::fs::write(&file, text).unwrap();
        let dst = tmp.path().join(format!("dst{i}"));
        let out = allmende(
            &dst,
            &["import", "--format", "jsonl", file.to_str().unwrap()],
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "case {i}: {err}");
        assert!(err.contains(needle), "case {i}: {err:?} lacks {needle:?}");
    }
}
