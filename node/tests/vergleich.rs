//! `allmende vergleich` (alias `compare`) as a user runs it: an IT-Dienstleister hosting two
//! Gemeinden of one Kreis compares one with the other, as a table and as JSON; groups that
//! cannot be formed and unknown organisations are refused with exit code 2 naming the flag.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

mod common;
use common::{allmende, ok};

fn member(dir: &Path, name: &str, ags: &str) -> String {
    let added = ok(
        dir,
        &[
            "member", "add", "--name", name, "--kind", "kommune", "--ags", ags,
        ],
    );
    added
        .lines()
        .find_map(|l| l.strip_prefix("Organisation id: "))
        .unwrap()
        .to_owned()
}

fn refused(dir: &Path, args: &[&str], needles: &[&str]) {
    let out = allmende(dir, args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    for n in needles {
        assert!(stderr.contains(n), "{args:?}: {stderr:?} lacks {n:?}");
    }
}

#[test]
fn a_member_compares_itself_with_its_kreis() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    ok(
        dir,
        &[
            "init",
            "--name",
            "Rechenzentrum",
            "--kind",
            "it-dienstleister",
        ],
    );
    let hellenthal = member(dir, "Gemeinde Hellenthal", "05366020");
    let nettersheim = member(dir, "Gemeinde Nettersheim", "05366032");
    let add = |by: &str, name: &str, task: &str| {
        ok(
            dir,
            &[
                "--member", by, "product", "add", "--name", name, "--vendor", "V", "--task", task,
            ],
        )
        .trim()
        .to_owned()
    };
    let melde = add(&hellenthal, "Melde A", "Meldewesen");
    let bau = add(&nettersheim, "Bau B", "Bauantrag");
    let deploy = |by: &str, product: &str, yearly: &str| {
        ok(
            dir,
            &[
                "--member",
                by,
                "deployment",
                "add",
                "--product",
                product,
                "--status",
                "production",
                "--cost-yearly",
                yearly,
            ],
        );
    };
    deploy(&hellenthal, &melde, "5000");
    deploy(&nettersheim, &melde, "7000");
    deploy(&nettersheim, &bau, "900");

    let text = ok(dir, &["--member", &hellenthal, "vergleich"]);
    assert!(
        text.contains("Nachbarvergleich: Gemeinde Hellenthal"),
        "{text}"
    );
    assert!(text.contains("Kreis Euskirchen (05366)"), "{text}");
    assert!(text.contains("Aufgaben ohne eigenes Produkt:"), "{text}");
    assert!(text.contains("Bauantrag: 1 Nachbarn"), "{text}");
    assert!(text.contains("Melde A"), "{text}");
    assert!(
        text.contains("7000 €"),
        "the neighbour's median cost: {text}"
    );

    let json: serde_json::Value = serde_json::from_str(&ok(
        dir,
        &[
            "compare",
            "--org",
            &hellenthal,
            "--gruppe",
            "groesse",
            "--json",
        ],
    ))
    .unwrap();
    assert_eq!(json["group"], "groesse");
    assert_eq!(json["size_class"]["key"], "5000-10000");
    assert_eq!(json["neighbours"], 1);
    assert_eq!(json["missing_tasks"][0], "Bauantrag");

    // The IT-Dienstleister has neither AGS nor Land: no group can be formed for it.
    refused(dir, &["vergleich"], &["--gruppe", "AGS"]);
    refused(
        dir,
        &["vergleich", "--gruppe", "groesse"],
        &["--gruppe", "amtliche"],
    );
    refused(
        dir,
        &["vergleich", "--gruppe", "gemeinde"],
        &["--gruppe", "kreis, land or groesse"],
    );
    refused(
        dir,
        // A valid key (the Ed25519 base point) of no organisation here.
        &["vergleich", "--org", &format!("58{}", "66".repeat(31))],
        &["--org", "neither a profile"],
    );
}
