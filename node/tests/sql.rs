#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! `allmende query`: read-only SQL over the catalog index. Reads answer from the documented
//! views; every way of writing, attaching or reconfiguring is refused with what was refused
//! named, and the store's file stays byte for byte the same.

use std::path::Path;

mod common;
use common::{allmende, ok};

fn catalog(dir: &Path) -> String {
    ok(
        dir,
        &[
            "init",
            "--name",
            "Stadt Abfrage",
            "--kind",
            "kommune",
            "--ags",
            "05315000",
        ],
    );
    for name in ["Bauportal", "Hundesteuer"] {
        ok(
            dir,
            &[
                "product",
                "add",
                "--name",
                name,
                "--vendor",
                "Muster, \"GmbH\"",
                "--kind",
                "fachverfahren",
                "--new",
            ],
        );
    }
    let list = ok(dir, &["product", "list"]);
    let id = list
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
    id
}

/// What the store holds, table by table (the file's bytes change with WAL checkpoints).
fn snapshot(dir: &Path) -> Vec<String> {
    let conn = rusqlite::Connection::open_with_flags(
        dir.join("allmende.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let mut out = Vec::new();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for t in tables {
        let columns: Vec<String> = conn
            .prepare(&format!("SELECT name FROM pragma_table_info('{t}')"))
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let quoted: Vec<String> = columns.iter().map(|c| format!("quote(\"{c}\")")).collect();
        let rows: Vec<String> = conn
            .prepare(&format!(
                "SELECT {} FROM \"{t}\"",
                quoted.join(" || ',' || ")
            ))
            .unwrap()
            .query_map([], |r| r.get::<_, String>(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        out.push(format!("{t}: {}", rows.join("|")));
    }
    let schema: Vec<String> = conn
        .prepare("SELECT sql FROM sqlite_master ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get::<_, Option<String>>(0))
        .unwrap()
        .map(|r| r.unwrap().unwrap_or_default())
        .collect();
    out.extend(schema);
    out
}

#[test]
fn reads_answer_from_the_documented_views_in_every_format() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let id = catalog(dir);
    let json = ok(
        dir,
        &[
            "query",
            "SELECT p.id, p.name, d.status, d.cost_yearly_eur FROM deployments d JOIN products p ON p.id = d.product",
            "--format",
            "json",
        ],
    );
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        v["columns"],
        serde_json::json!(["id", "name", "status", "cost_yearly_eur"])
    );
    assert_eq!(
        v["rows"],
        serde_json::json!([[id, "Bauportal", "production", 4800]])
    );
    assert_eq!(v["truncated"], false);
    // CSV quotes what needs quoting; JSON Lines gives one object per row.
    let csv = ok(
        dir,
        &[
            "query",
            "SELECT name, vendor FROM products ORDER BY name",
            "--format",
            "csv",
        ],
    );
    assert_eq!(
        csv,
        "name,vendor\r\nBauportal,\"Muster, \"\"GmbH\"\"\"\r\nHundesteuer,\"Muster, \"\"GmbH\"\"\"\r\n"
    );
    let jsonl = ok(
        dir,
        &[
            "query",
            "SELECT name FROM products ORDER BY name",
            "--format",
            "jsonl",
        ],
    );
    assert_eq!(
        jsonl,
        "{\"name\":\"Bauportal\"}\n{\"name\":\"Hundesteuer\"}\n"
    );
    // Every documented view can be read.
    for view in allmende_node::sql::VIEWS
        .iter()
        .chain(allmende_node::sql::REFERENCE_VIEWS)
        .map(|(n, _, _)| n)
    {
        ok(dir, &["query", &format!("SELECT * FROM {view} LIMIT 1")]);
    }
    // The reference views: task names, official population.
    let task = ok(
        dir,
        &[
            "query",
            "SELECT name, kind, ozg FROM tasks WHERE task = '99012001000000'",
        ],
    );
    assert!(
        task.contains("Abbruchgenehmigung") && task.contains("10513"),
        "{task}"
    );
    let koeln = ok(
        dir,
        &[
            "query",
            "SELECT name, population FROM gemeinden WHERE ags = '05315000'",
        ],
    );
    assert!(koeln.contains("Köln, Stadt"), "{koeln}");
    let cov = ok(
        dir,
        &[
            "query",
            "SELECT 'k=' || gemeinden || '/' || gemeinden_published AS k FROM coverage_kreise \
             WHERE kreis IN ('05315', '05358') ORDER BY kreis",
        ],
    );
    // Köln (one Gemeinde) has published its deployment; none of Düren's 15 has.
    assert!(cov.contains("k=1/1") && cov.contains("k=15/0"), "{cov}");
    let orgs = ok(
        dir,
        &["query", "SELECT name, land, kreis FROM organisations"],
    );
    assert!(
        orgs.contains("Stadt Abfrage") && orgs.contains("05315"),
        "{orgs}"
    );
    // The row limit cuts and says so.
    let cut = allmende(
        dir,
        &[
            "query",
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < 50) SELECT x FROM c",
            "--format",
            "json",
            "--max-rows",
            "7",
        ],
    );
    let v: serde_json::Value = serde_json::from_slice(&cut.stdout).unwrap();
    assert_eq!(v["rows"].as_array().unwrap().len(), 7);
    assert_eq!(v["truncated"], true);
    assert!(String::from_utf8_lossy(&cut.stderr).contains("cut at 7 rows"));
}

#[test]
fn writes_attach_pragmas_and_long_queries_are_refused_and_nothing_changes() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    catalog(dir);
    let elsewhere = tmp.path().join("elsewhere.db");
    let before = snapshot(dir);
    for (sql, needle) in [
        (
            "INSERT INTO idx_product (doc, created_by, name, vendor, kind, json) VALUES (x'00', x'00', 'x', 'y', 'z', '{}')",
            "INSERT into idx_product",
        ),
        (
            "UPDATE idx_product SET name = 'gehackt'",
            "UPDATE of idx_product",
        ),
        ("DELETE FROM changes", "DELETE from changes"),
        ("DROP TABLE changes", "not allowed"),
        ("CREATE TABLE t (x)", "not allowed"),
        ("CREATE TEMP TABLE t (x)", "not allowed"),
        ("ALTER TABLE changes ADD COLUMN y", "not allowed"),
        (&format!("ATTACH '{}' AS x", elsewhere.display()), "ATTACH"),
        ("DETACH temp", "not allowed"),
        ("PRAGMA writable_schema = 1", "PRAGMA writable_schema"),
        ("PRAGMA query_only = 0", "PRAGMA query_only"),
        ("PRAGMA journal_mode = DELETE", "PRAGMA journal_mode"),
        ("VACUUM", "not allowed"),
        ("REINDEX", "not allowed"),
        ("BEGIN IMMEDIATE", "transaction"),
        ("SAVEPOINT a", "transaction"),
        ("SELECT 1; DELETE FROM changes", "DELETE from changes"),
        ("SELECT 1; SELECT 2", "one statement only"),
        (
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c",
            "longer than 1 s",
        ),
        ("SELEC 1", "syntax error"),
        ("   ", "empty"),
    ] {
        let out = allmende(dir, &["query", sql, "--timeout-secs", "1"]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{sql}: {err}");
        assert!(err.contains(needle), "{sql}: {err:?} lacks {needle:?}");
        assert!(out.stdout.is_empty(), "{sql}");
    }
    let too_long = "SELECT 1 -- ".to_owned() + &"x".repeat(70_000);
    let out = allmende(dir, &["query", &too_long]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("longer than 65536 bytes"));
    assert!(snapshot(dir) == before, "a refused query changed the store");
    assert!(!elsewhere.exists(), "ATTACH created a file");
    // Positive control: the same store still answers a read.
    assert!(ok(dir, &["query", "SELECT count(*) AS n FROM products"]).contains('2'));
}

/// Functions that build a whole value inside one call (`zeroblob`, `hex`, `printf`) cannot be
/// stopped by the time limit: a value limit refuses them, and an answer stops at its size
/// limit like at its row limit.
#[test]
fn values_and_answers_are_bounded_in_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    catalog(dir);
    for sql in [
        "SELECT hex(zeroblob(4e8)) FROM (VALUES(1),(2),(3))",
        "SELECT zeroblob(2000000)",
        "SELECT printf('%.*c', 500000000, 'x')",
        "SELECT group_concat(hex(zeroblob(100000))) FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 100) SELECT x FROM c)",
    ] {
        let out = allmende(dir, &["query", sql]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{sql}: {err}");
        assert!(err.contains("larger than 1 MiB"), "{sql}: {err:?}");
        assert!(out.stdout.is_empty(), "{sql}");
    }
    // 40 rows of 1 MiB (0.5 MiB blobs as hex) are cut before the 32 MiB answer limit.
    let many = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 40) \
                SELECT x, zeroblob(524288) AS b FROM c";
    let out: serde_json::Value =
        serde_json::from_str(&ok(dir, &["query", many, "--format", "json"])).unwrap();
    let rows = out["rows"].as_array().unwrap().len();
    assert!((1..40).contains(&rows), "{rows} rows of 1 MiB each");
    assert_eq!(out["truncated"], true);
    // Just under the value limit still answers.
    let out: serde_json::Value = serde_json::from_str(&ok(
        dir,
        &[
            "query",
            "SELECT length(zeroblob(1000000)) AS n",
            "--format",
            "json",
        ],
    ))
    .unwrap();
    assert_eq!(out["rows"][0][0], 1_000_000);
}

#[test]
fn every_example_in_docs_sql_md_runs_and_every_view_is_documented() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    catalog(dir);
    let doc = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/sql.md"))
        .unwrap();
    let mut examples = 0;
    for block in doc.split("```sql\n").skip(1) {
        let sql = block.split("```").next().unwrap();
        let out = allmende(dir, &["query", sql, "--format", "json"]);
        assert!(
            out.status.success(),
            "{sql}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        examples += 1;
    }
    assert!(examples >= 5, "only {examples} examples found");
    for (view, _, _) in allmende_node::sql::VIEWS
        .iter()
        .chain(allmende_node::sql::REFERENCE_VIEWS)
    {
        assert!(
            doc.contains(&format!("| `{view}` |")),
            "docs/sql.md lacks the view {view}"
        );
    }
    // One example checked for its answer: the product in production is counted once.
    let used = ok(
        dir,
        &[
            "query",
            doc.split("```sql\n")
                .nth(1)
                .unwrap()
                .split("```")
                .next()
                .unwrap(),
            "--format",
            "csv",
        ],
    );
    assert_eq!(
        used,
        "name,vendor,organisations\r\nBauportal,\"Muster, \"\"GmbH\"\"\",1\r\n"
    );
}
