//! `allmende watch add|list|remove` and `allmende notices` as a user runs them, and the
//! product's version and end of support from `allmende product add`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::{allmende, ok};

#[test]
fn watch_and_notices_from_the_command_line() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    ok(
        dir,
        &[
            "init",
            "--name",
            "Stadt Köln",
            "--kind",
            "kommune",
            "--ags",
            "05315000",
        ],
    );
    let product = ok(
        dir,
        &[
            "product",
            "add",
            "--name",
            "Melde-Suite",
            "--vendor",
            "V GmbH",
            "--current-version",
            "4.1",
            "--support-ends",
            "2027-06-30",
        ],
    );
    let product = product.trim().to_owned();
    let shown = ok(dir, &["product", "show", &product]);
    assert!(
        shown.contains("4.1") && shown.contains("2027-06-30"),
        "{shown}"
    );
    let bad = allmende(
        dir,
        &[
            "product",
            "add",
            "--name",
            "X",
            "--vendor",
            "Y",
            "--support-ends",
            "2027-02-30",
        ],
    );
    assert!(!bad.status.success());
    ok(
        dir,
        &[
            "deployment",
            "add",
            "--product",
            &product,
            "--status",
            "production",
        ],
    );

    let out = ok(dir, &["watch", "add", "product", &product]);
    assert!(out.contains("watching product"), "{out}");
    let out = ok(dir, &["watch", "add", "kreis", "05315"]);
    assert!(out.contains("watching kreis 05315"), "{out}");
    let list = ok(dir, &["watch", "list"]);
    assert!(
        list.contains(&product) && list.contains("Stadt Köln nutzt Melde-Suite"),
        "{list}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&ok(dir, &["watch", "list", "--json"])).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 2);

    for (args, needle) in [
        (
            vec!["watch", "add", "product", &"e".repeat(64)],
            "knows no product",
        ),
        (vec!["watch", "add", "vendor", "x"], "kind"),
        (vec!["watch", "add", "kreis", "5315"], "Kreis key"),
        (
            vec!["watch", "remove", "land", "05"],
            "not on the watch list",
        ),
    ] {
        let out = allmende(dir, &args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    let out = ok(dir, &["watch", "remove", "kreis", "05315"]);
    assert!(out.contains("no longer watching"), "{out}");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&ok(dir, &["watch", "list", "--json"]))
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // The organisation runs the product: its version is a notice.
    let notices = ok(dir, &["notices"]);
    assert!(notices.contains("Support endet am 2027-06-30"), "{notices}");
}
