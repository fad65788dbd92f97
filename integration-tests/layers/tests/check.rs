//! The layering checker finds what it must: upward dependencies, forbidden crates reached
//! through others, crates without a rule, and module circles; and it lets a clean layout pass.
#![allow(clippy::expect_used)]

use std::collections::BTreeMap;

use allmende_layers::{check_crates, check_modules, parse_metadata, rules};

/// `cargo metadata` of a three-crate workspace: `low`, `mid` (uses `low` and `ext`), `top`
/// (uses `mid`, and `ext2` through `ext`); `low` uses `top` when `upward` is set.
fn metadata(layers: &str, upward: bool) -> String {
    let dep = |name: &str, path: bool| {
        format!(
            r#"{{"name":"{name}","kind":null,"path":{}}}"#,
            if path {
                format!("\"/w/{name}\"")
            } else {
                "null".into()
            }
        )
    };
    let pkg = |name: &str, deps: Vec<String>| {
        format!(
            r#"{{"id":"{name} 0.1","name":"{name}","dependencies":[{}],"targets":[{{"kind":["lib"],"src_path":"/w/{name}/src/lib.rs"}}]}}"#,
            deps.join(",")
        )
    };
    let node = |name: &str, deps: &[&str]| {
        let deps: Vec<String> = deps
            .iter()
            .map(|d| format!(r#"{{"pkg":"{d} 0.1","dep_kinds":[{{"kind":null}}]}}"#))
            .collect();
        format!(r#"{{"id":"{name} 0.1","deps":[{}]}}"#, deps.join(","))
    };
    let low_deps = if upward {
        vec![dep("top", true)]
    } else {
        vec![]
    };
    let packages = [
        pkg("low", low_deps),
        pkg("mid", vec![dep("low", true), dep("ext", false)]),
        pkg("top", vec![dep("mid", true)]),
        pkg("ext", vec![dep("ext2", false)]),
        pkg("ext2", vec![]),
    ];
    let low_node: &[&str] = if upward { &["top"] } else { &[] };
    let nodes = [
        node("low", low_node),
        node("mid", &["low", "ext"]),
        node("top", &["mid"]),
        node("ext", &["ext2"]),
        node("ext2", &[]),
    ];
    format!(
        r#"{{"packages":[{}],"workspace_members":["low 0.1","mid 0.1","top 0.1"],"resolve":{{"nodes":[{}]}},"metadata":{{"layers":{layers}}}}}"#,
        packages.join(","),
        nodes.join(",")
    )
}

const CLEAN: &str =
    r#"{"low":{"may_use":[]},"mid":{"may_use":["low"]},"top":{"may_use":["mid","low"]}}"#;

fn violations(layers: &str, upward: bool) -> Vec<String> {
    let meta = parse_metadata(&metadata(layers, upward)).expect("metadata parses");
    let rules = rules(&meta).expect("rules parse");
    check_crates(&meta, &rules)
        .into_iter()
        .map(|v| v.0)
        .collect()
}

#[test]
fn a_clean_layering_passes() {
    assert_eq!(violations(CLEAN, false), Vec::<String>::new());
}

#[test]
fn an_upward_dependency_is_named() {
    let v = violations(CLEAN, true);
    assert_eq!(v.len(), 1, "{v:?}");
    assert!(v[0].contains("`low` depends on `top`"), "{v:?}");
}

#[test]
fn a_forbidden_crate_reached_through_others_is_shown_with_its_path() {
    let layers =
        r#"{"low":{},"mid":{"may_use":["low"]},"top":{"may_use":["mid"],"never":["ext2"]}}"#;
    let v = violations(layers, false);
    assert_eq!(v.len(), 1, "{v:?}");
    assert!(v[0].contains("`top` must never use `ext2`"), "{v:?}");
    assert!(v[0].contains("top → mid → ext → ext2"), "{v:?}");
}

#[test]
fn a_crate_without_rule_and_a_rule_without_crate_are_errors() {
    let layers = r#"{"low":{},"mid":{"may_use":["low"]},"gone":{}}"#;
    let v = violations(layers, false);
    assert!(v.iter().any(|m| m.contains("`top` has no entry")), "{v:?}");
    assert!(v.iter().any(|m| m.contains("names `gone`")), "{v:?}");
}

#[test]
fn a_misspelt_rule_field_is_an_error_naming_it() {
    let meta = parse_metadata(&metadata(r#"{"low":{"may_uze":[]}}"#, false)).expect("metadata");
    let e = rules(&meta).expect_err("misspelt field");
    assert!(e.contains("may_uze"), "{e}");
}

/// Writes a crate's `src/` from (file, text) pairs and checks its modules.
fn circles(files: &[(&str, &str)]) -> Vec<String> {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, text) in files {
        let path = dir.path().join("src").join(name);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, text).expect("write");
    }
    check_modules("demo", &dir.path().join("src/lib.rs"))
        .expect("readable")
        .into_iter()
        .map(|v| v.0)
        .collect()
}

#[test]
fn modules_naming_each_other_form_a_circle() {
    let v = circles(&[
        ("lib.rs", "pub mod a;\npub mod b;\n"),
        ("a.rs", "use crate::b::Thing;\npub struct Other;\n"),
        (
            "b.rs",
            "pub struct Thing;\nfn f() -> crate::a::Other { crate::a::Other }\n",
        ),
    ]);
    assert_eq!(v.len(), 1, "{v:?}");
    assert!(v[0].contains("a → b → a"), "{v:?}");
}

#[test]
fn a_child_using_its_parent_that_calls_it_is_a_circle_through_super_and_groups() {
    let v = circles(&[
        ("lib.rs", "pub mod ui;\n"),
        (
            "ui/mod.rs",
            "mod pages;\npub struct Ctx;\npub fn router() { pages::home(); }\n",
        ),
        (
            "ui/pages.rs",
            "use super::{Ctx, other::{self}};\npub fn home() {}\n",
        ),
    ]);
    assert_eq!(v.len(), 1, "{v:?}");
    assert!(v[0].contains("ui → ui::pages → ui"), "{v:?}");
}

#[test]
fn reexports_tests_comments_and_strings_are_no_edges() {
    let v = circles(&[
        ("lib.rs", "pub mod store;\npub fn now() {}\n"),
        (
            "store/mod.rs",
            "mod sqlite;\npub use sqlite::Sqlite;\npub trait Store {}\n// sqlite::Sqlite named in a comment\n",
        ),
        (
            "store/sqlite.rs",
            "use super::Store;\npub struct Sqlite;\nconst S: &str = \"crate::store::x {\";\n#[cfg(test)]\nmod tests {\n    use super::*;\n    fn f() { crate::now(); }\n}\n",
        ),
    ]);
    assert_eq!(v, Vec::<String>::new());
}

#[test]
fn a_dag_of_modules_passes_and_the_edges_are_seen() {
    let mut files = BTreeMap::new();
    files.insert(
        String::new(),
        "pub mod a; pub mod b; pub mod c;".to_string(),
    );
    files.insert("a".into(), "use crate::{b::X, c};".to_string());
    files.insert("b".into(), "use crate::c::Y; pub struct X;".to_string());
    files.insert("c".into(), "pub struct Y;".to_string());
    let edges = allmende_layers::module_edges(&files);
    assert_eq!(
        edges["a"].iter().collect::<Vec<_>>(),
        ["b", "c"],
        "{edges:?}"
    );
    assert_eq!(edges["b"].iter().collect::<Vec<_>>(), ["c"]);
    assert!(allmende_layers::cycles(&edges).is_empty());
}

#[test]
fn test_modules_may_use_any_module_but_other_inline_modules_count() {
    let files = |inline: &str| {
        circles(&[
            ("lib.rs", "pub mod a;\npub mod b;\n"),
            ("a.rs", "use crate::b::B;\npub struct A;\n"),
            ("b.rs", &format!("pub struct B;\n{inline}\n")),
        ])
    };
    assert_eq!(
        files("#[cfg(test)]\nmod tests {\n    use crate::a::A;\n}"),
        Vec::<String>::new()
    );
    let v = files("mod helpers {\n    use crate::a::A;\n}");
    assert_eq!(v.len(), 1, "{v:?}");
}
