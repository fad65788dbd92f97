//! The `allmende` binary as a user runs it: exit codes, messages, files.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::Command;

mod common;
use common::{allmende, ok};

/// Runs a command that must fail with bad input: exit code 2, nothing on stdout, and a
/// message on stderr containing every needle.
fn refused(dir: &Path, args: &[&str], needles: &[&str]) {
    let out = allmende(dir, args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{args:?} should be refused: {stderr}"
    );
    for n in needles {
        assert!(
            stderr.contains(n),
            "{args:?}: message {stderr:?} lacks {n:?}"
        );
    }
    assert!(!stderr.contains("panicked"), "{stderr}");
}

fn init(dir: &Path) {
    ok(
        dir,
        &[
            "init",
            "--name",
            "Gemeinde Musterhausen",
            "--kind",
            "kommune",
            "--ags",
            "09162000",
        ],
    );
}

#[test]
fn init_creates_a_private_identity_and_refuses_to_run_twice() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("node");
    let out = ok(
        &dir,
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
    assert!(out.contains("Organisation id:"), "{out}");
    let key = std::fs::read_to_string(dir.join("identity.key")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(dir.join("identity.key"))
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o600
        );
    }
    // The secret is never printed.
    let secret = key.lines().find_map(|l| l.strip_prefix("secret ")).unwrap();
    assert!(!out.contains(secret));
    let show = ok(&dir, &["org", "show"]);
    assert!(!show.contains(secret));
    assert!(show.contains("Nordrhein-Westfalen"), "{show}");

    refused(
        &dir,
        &["init", "--name", "Stadt Köln", "--kind", "kommune"],
        &["already holds an identity"],
    );
    // The first identity is untouched.
    assert_eq!(
        std::fs::read_to_string(dir.join("identity.key")).unwrap(),
        key
    );
}

#[test]
fn bad_init_input_is_refused_precisely_and_leaves_no_files() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("node");
    refused(
        &dir,
        &[
            "init", "--name", "X Stadt", "--kind", "kommune", "--ags", "1234",
        ],
        &["--ags", "8 digits"],
    );
    refused(
        &dir,
        &[
            "init", "--name", "X Stadt", "--kind", "kommune", "--ags", "17000000",
        ],
        &["--ags", "Land"],
    );
    refused(
        &dir,
        &["init", "--name", "X Stadt", "--kind", "dorf"],
        &["--kind", "dorf", "kommune"],
    );
    refused(
        &dir,
        &["init", "--name", "X", "--kind", "kommune"],
        &["name"],
    );
    assert!(!dir.join("identity.key").exists());
}

#[test]
fn bad_record_input_is_refused_and_nothing_is_stored() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    init(dir);
    let product = ok(
        dir,
        &[
            "product",
            "add",
            "--name",
            "OpenRathaus",
            "--vendor",
            "Stadt Ulm",
            "--licence",
            "EUPL-1.2",
        ],
    );
    let product = product.trim();
    let before = ok(dir, &["export"]);
    let before_catalog =
        serde_json::from_str::<serde_json::Value>(&before).unwrap()["documents"].clone();

    refused(
        dir,
        &["rating", "set", "--product", product, "--usability", "0"],
        &["--usability", "1 to 5"],
    );
    refused(
        dir,
        &["rating", "set", "--product", product, "--usability", "6"],
        &["--usability", "1 to 5"],
    );
    refused(
        dir,
        &[
            "product",
            "add",
            "--name",
            "A",
            "--vendor",
            "B",
            "--licence",
            "EUPL 1.2",
        ],
        &["--licence", "SPDX"],
    );
    refused(
        dir,
        &[
            "product",
            "add",
            "--name",
            "A",
            "--vendor",
            "B",
            "--licence",
            "GPL-9.0",
        ],
        &["--licence"],
    );
    refused(
        dir,
        &[
            "deployment",
            "add",
            "--product",
            product,
            "--status",
            "läuft",
        ],
        &["--status", "production"],
    );
    refused(
        dir,
        &[
            "deployment",
            "add",
            "--product",
            "abcdef99",
            "--status",
            "pilot",
        ],
        &["no product"],
    );
    refused(
        dir,
        &[
            "deployment",
            "add",
            "--product",
            product,
            "--status",
            "pilot",
            "--since",
            "2023-02-29",
        ],
        &["--since"],
    );
    refused(
        dir,
        &["reuse", "add", "--product", product, "--outcome", "great"],
        &["--outcome"],
    );
    refused(
        dir,
        &["rating", "set", "--product", product],
        &["at least one score"],
    );

    let after = ok(dir, &["export"]);
    let after_catalog =
        serde_json::from_str::<serde_json::Value>(&after).unwrap()["documents"].clone();
    assert_eq!(
        before_catalog, after_catalog,
        "a refused command stored something"
    );
}

#[test]
fn commands_need_an_identity() {
    let tmp = tempfile::tempdir().unwrap();
    let out = allmende(tmp.path(), &["org", "show"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("allmende init"));
}

#[test]
fn records_show_up_in_the_export() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    init(dir);
    let p = ok(
        dir,
        &[
            "product",
            "add",
            "--name",
            "XMeld-Gateway",
            "--vendor",
            "Dataport",
            "--kind",
            "basiskomponente",
            "--standard",
            "XMeld",
        ],
    );
    let q = ok(
        dir,
        &[
            "product",
            "add",
            "--name",
            "VOIS|MESO",
            "--vendor",
            "HSH",
            "--kind",
            "fachverfahren",
        ],
    );
    let (p, q) = (p.trim(), q.trim());
    let dep = ok(
        dir,
        &[
            "deployment",
            "add",
            "--product",
            &q[..8],
            "--status",
            "production",
            "--since",
            "2019-03-01",
            "--integration",
            &format!("{}:XMeld:works", &p[..10]),
            "--cost-yearly",
            "12000",
        ],
    );
    ok(
        dir,
        &[
            "rating",
            "set",
            "--product",
            q,
            "--usability",
            "4",
            "--stability",
            "5",
            "--recommend",
            "ja",
        ],
    );
    ok(dir, &["rating", "set", "--product", q, "--usability", "3"]);
    ok(
        dir,
        &[
            "reuse",
            "add",
            "--product",
            p,
            "--outcome",
            "production",
            "--efa",
            "--effort-days",
            "20",
            "--obstacle",
            "legal",
        ],
    );
    ok(
        dir,
        &[
            "product",
            "edit",
            &p[..8],
            "--description",
            "Vermittelt XMeld-Nachrichten",
        ],
    );

    let export: serde_json::Value =
        serde_json::from_str(&ok(dir, &["export", "--format", "json"])).unwrap();
    let catalog = &export["catalog"];
    assert_eq!(catalog["products"].as_array().unwrap().len(), 2);
    let deployment = &catalog["deployments"][0];
    assert_eq!(deployment["key"], dep.trim());
    assert_eq!(deployment["product"], q);
    assert_eq!(deployment["integrations"][0]["product"], p);
    let ratings = catalog["ratings"].as_array().unwrap();
    assert_eq!(ratings.len(), 1, "one rating per organisation and product");
    assert_eq!(
        ratings[0]["scores"],
        serde_json::json!({"usability": 3}),
        "the latest rating replaces the first"
    );
    assert_eq!(
        catalog["reuse_reports"][0]["obstacles"],
        serde_json::json!(["legal"])
    );
    let edited = catalog["products"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == p)
        .unwrap();
    assert_eq!(
        edited["product"]["description"],
        "Vermittelt XMeld-Nachrichten"
    );
    assert!(ok(dir, &["check"]).contains("Store OK"));
}

#[test]
fn export_round_trips_through_import() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("a");
    let b = tmp.path().join("b");
    // A fresh store: just the organisation's profile.
    init(&a);
    let file = tmp.path().join("export.json");
    ok(
        &a,
        &[
            "export",
            "--format",
            "json",
            "--out",
            file.to_str().unwrap(),
        ],
    );
    let imported = ok(&b, &["import", file.to_str().unwrap()]);
    assert!(imported.contains("1 new signed changes"), "{imported}");
    let ea: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let eb: serde_json::Value = serde_json::from_str(&ok(&b, &["export"])).unwrap();
    assert_eq!(ea["catalog"], eb["catalog"]);
    assert_eq!(ea["documents"], eb["documents"]);
    assert!(ea["catalog"]["organisations"][0]["profile"]["name"] == "Gemeinde Musterhausen");
    // Importing again changes nothing.
    let again = ok(&b, &["import", file.to_str().unwrap()]);
    assert!(again.contains("0 new signed changes"), "{again}");
    assert!(ok(&b, &["check"]).contains("Store OK"));
}

#[test]
fn hostile_import_files_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    init(dir);
    let exported: serde_json::Value = serde_json::from_str(&ok(dir, &["export"])).unwrap();
    let cases: Vec<(&str, String)> = vec![
        ("not json", "{{{".to_owned()),
        (
            "wrong format",
            serde_json::json!({"format": "x"}).to_string(),
        ),
        ("bad hex", {
            let mut e = exported.clone();
            e["documents"][0]["changes"][0] = "zz".into();
            e.to_string()
        }),
        ("truncated change", {
            let mut e = exported.clone();
            let c = e["documents"][0]["changes"][0].as_str().unwrap().to_owned();
            e["documents"][0]["changes"][0] = c[..c.len() - 10].into();
            e.to_string()
        }),
        ("version 2", {
            let mut e = exported.clone();
            e["version"] = 2.into();
            e.to_string()
        }),
    ];
    let other = tmp.path().join("other");
    for (name, content) in cases {
        let file = tmp.path().join("bad.json");
        std::fs::write(&file, content).unwrap();
        let out = allmende(&other, &["import", file.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {stderr}");
        assert!(stderr.contains("bad.json"), "{name}: {stderr}");
    }
    // Nothing was stored by any refused import.
    let out = ok(&other, &["export"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["documents"], serde_json::json!([]));
}

/// A plain HTTP/1.1 GET on loopback; returns status line and body.
fn http_get(addr: &str, path: &str) -> std::io::Result<String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr)?;
    s.set_read_timeout(Some(std::time::Duration::from_secs(10)))?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut body = String::new();
    s.read_to_string(&mut body)?;
    Ok(body)
}

#[test]
fn demo_serves_a_network_of_marked_demo_data_and_stops_on_ctrl_c() {
    use std::io::BufRead;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    let mut child = Command::new(env!("CARGO_BIN_EXE_allmende"))
        .arg("--data-dir")
        .arg(&dir)
        .args(["demo", "--http", "127.0.0.1:0"])
        .env_remove("RUST_LOG")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut printed = Vec::new();
    let url = loop {
        let line = lines
            .next()
            .expect("demo ended before printing its URL")
            .unwrap();
        printed.push(line.clone());
        if let Some(rest) = line.split("http://").nth(1) {
            break rest.trim_end_matches('/').to_owned();
        }
    };
    assert!(
        printed.iter().any(|l| l.contains("Demo-Daten angelegt")),
        "{printed:?}"
    );
    // The served node holds its own and its members' data at once, and receives the other
    // organisations' data from their nodes over loopback within seconds.
    let start = http_get(&url, "/").unwrap();
    assert!(start.starts_with("HTTP/1.1 200"), "{start}");
    assert!(
        start.contains("Demo-Daten:"),
        "the demo banner is missing: {start}"
    );
    // Documents of other nodes arrive one by one: wait until an organisation and a product
    // from other nodes are both here.
    let (mut orgs, mut products) = (String::new(), String::new());
    while started.elapsed() < std::time::Duration::from_secs(30) {
        orgs = http_get(&url, "/organisationen").unwrap_or_default();
        products = http_get(&url, "/produkte?q=Bauantrag").unwrap_or_default();
        if orgs.contains("Demo: Stadt Köln") && products.contains("Bauantrag Online") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
    assert!(
        orgs.contains("Demo: Gemeinde Hellenthal"),
        "a hosted member is missing: {orgs}"
    );
    assert!(
        orgs.contains("Demo: Stadt Köln"),
        "no data synced from other nodes: {orgs}"
    );
    assert!(products.contains("Bauantrag Online"), "{products}");
    // Ctrl-C stops every node and the process ends cleanly.
    let stopped = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(stopped.success());
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let status = child.wait().unwrap();
    assert!(status.success(), "demo exited with {status}: {rest:?}");
    assert!(rest.iter().any(|l| l.contains("Beendet")), "{rest:?}");
    assert!(
        http_get(&url, "/").is_err(),
        "the UI still answers after Ctrl-C"
    );
    // A second start reuses the data; a directory the demo did not make is refused.
    let foreign = tmp.path().join("foreign");
    std::fs::create_dir_all(&foreign).unwrap();
    std::fs::write(foreign.join("important.txt"), "keep me").unwrap();
    let out = allmende(&foreign, &["demo", "--http", "127.0.0.1:0"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not made by `allmende demo`"));
    assert_eq!(
        std::fs::read_to_string(foreign.join("important.txt")).unwrap(),
        "keep me"
    );
}

#[test]
fn an_it_dienstleister_publishes_for_a_member_until_the_delegation_is_revoked() {
    let tmp = tempfile::tempdir().unwrap();
    let member = tmp.path().join("member");
    let provider = tmp.path().join("provider");
    init(&member);
    ok(
        &provider,
        &[
            "init",
            "--name",
            "Kommunales Rechenzentrum",
            "--kind",
            "it-dienstleister",
        ],
    );
    let key_of = |dir: &Path| {
        let out = ok(dir, &["key", "export-public"]);
        let key = out
            .lines()
            .find_map(|l| l.strip_prefix("key "))
            .unwrap()
            .to_owned();
        let org = out
            .lines()
            .find_map(|l| l.strip_prefix("org "))
            .unwrap()
            .to_owned();
        (key, org)
    };
    let (provider_key, _) = key_of(&provider);
    let (_, member_org) = key_of(&member);
    // Without a delegation the provider may not publish for the member.
    let product = ok(
        &provider,
        &[
            "product",
            "add",
            "--name",
            "Fachverfahren X",
            "--vendor",
            "Y",
        ],
    );
    let product = product.trim();
    refused(
        &provider,
        &[
            "deployment",
            "add",
            "--product",
            product,
            "--status",
            "production",
            "--on-behalf-of",
            &member_org,
        ],
        &["may not write"],
    );
    // The member delegates; the provider learns of it (here: by importing the member's export).
    ok(
        &member,
        &["key", "delegate", "--to", &provider_key, "--days", "30"],
    );
    let file = tmp.path().join("member.json");
    ok(&member, &["export", "--out", file.to_str().unwrap()]);
    ok(&provider, &["import", file.to_str().unwrap()]);
    let dep = ok(
        &provider,
        &[
            "deployment",
            "add",
            "--product",
            product,
            "--status",
            "production",
            "--on-behalf-of",
            &member_org,
        ],
    );
    let export: serde_json::Value = serde_json::from_str(&ok(&provider, &["export"])).unwrap();
    let d = export["catalog"]["deployments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["key"] == dep.trim())
        .unwrap()
        .clone();
    assert_eq!(
        d["org"],
        member_org.as_str(),
        "the deployment belongs to the member"
    );
    // The member revokes; once the provider knows, it can no longer publish for the member.
    ok(
        &member,
        &[
            "key",
            "revoke",
            "--key",
            &provider_key,
            "--reason",
            "Vertrag beendet",
        ],
    );
    ok(&member, &["export", "--out", file.to_str().unwrap()]);
    ok(&provider, &["import", file.to_str().unwrap()]);
    refused(
        &provider,
        &[
            "deployment",
            "add",
            "--product",
            product,
            "--status",
            "pilot",
            "--on-behalf-of",
            &member_org,
        ],
        &["revoked"],
    );
}

#[test]
fn a_likely_duplicate_is_offered_and_entries_can_be_merged() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    init(dir);
    let first = ok(
        dir,
        &[
            "product",
            "add",
            "--name",
            "Bauantrag Online",
            "--vendor",
            "Land NRW",
            "--licence",
            "EUPL-1.2",
        ],
    );
    let first = first.trim().to_owned();
    // Same name in another spelling: offered the existing entry, nothing created.
    refused(
        dir,
        &[
            "product",
            "add",
            "--name",
            "BAUANTRAG online",
            "--vendor",
            "Dataport",
        ],
        &["likely exists", &first],
    );
    // Same vendor and every word of the name: offered too.
    refused(
        dir,
        &[
            "product",
            "add",
            "--name",
            "Bauantrag",
            "--vendor",
            "Land NRW",
        ],
        &["likely exists"],
    );
    // A deliberate separate entry.
    let second = ok(
        dir,
        &[
            "product",
            "add",
            "--name",
            "Bauantrag Online",
            "--vendor",
            "Dataport",
            "--new",
        ],
    );
    let second = second.trim().to_owned();
    assert_ne!(first, second);
    ok(
        dir,
        &[
            "deployment",
            "add",
            "--product",
            &second,
            "--status",
            "production",
        ],
    );
    // Merge: the second entry is the same as the first.
    ok(dir, &["product", "merge", &second, "--into", &first]);
    refused(
        dir,
        &["product", "merge", &first, "--into", &first],
        &["into itself"],
    );
    let export: serde_json::Value = serde_json::from_str(&ok(dir, &["export"])).unwrap();
    let merged = export["catalog"]["products"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == second.as_str())
        .unwrap()
        .clone();
    assert_eq!(merged["product"]["same_as"], first.as_str());
}

#[test]
fn an_it_dienstleister_hosts_members_that_publish_with_their_own_keys() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    ok(
        dir,
        &[
            "init",
            "--name",
            "Kommunales Rechenzentrum",
            "--kind",
            "it-dienstleister",
        ],
    );
    let added = ok(
        dir,
        &[
            "member",
            "add",
            "--name",
            "Gemeinde Klein",
            "--kind",
            "kommune",
            "--ags",
            "09162000",
        ],
    );
    let member = added
        .lines()
        .find_map(|l| l.strip_prefix("Organisation id: "))
        .unwrap()
        .to_owned();
    assert!(ok(dir, &["member", "list"]).contains("Gemeinde Klein"));
    let product = ok(
        dir,
        &[
            "--member",
            &member,
            "product",
            "add",
            "--name",
            "Kita-Portal",
            "--vendor",
            "Y",
        ],
    );
    ok(
        dir,
        &[
            "--member",
            &member,
            "deployment",
            "add",
            "--product",
            product.trim(),
            "--status",
            "production",
        ],
    );
    let export: serde_json::Value = serde_json::from_str(&ok(dir, &["export"])).unwrap();
    let c = &export["catalog"];
    assert_eq!(c["deployments"][0]["org"], member.as_str());
    let profile = c["organisations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["org"] == member.as_str())
        .unwrap()
        .clone();
    assert_eq!(profile["profile"]["name"], "Gemeinde Klein");
    assert!(
        profile["profile"]["it_dienstleister"].is_string(),
        "{profile}"
    );
    // An unknown member is an error, not a silent write as the host.
    let out = allmende(
        dir,
        &[
            "--member",
            &"ab".repeat(32),
            "deployment",
            "add",
            "--product",
            product.trim(),
            "--status",
            "pilot",
        ],
    );
    assert_ne!(out.status.code(), Some(0));
}

#[test]
fn config_check_names_the_bad_key_and_its_line_and_show_merges_file_env_and_flags() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "[network]\nmdns = true\nreconcile_sec = 5\n").unwrap();
    refused(
        dir,
        &["config", "check", bad.to_str().unwrap()],
        &["reconcile_sec", "line 3"],
    );
    let good = dir.join("allmende.toml");
    std::fs::write(
        &good,
        "[network]\nreconcile_secs = 5\nmdns = true\n[log]\nformat = \"json\"\n",
    )
    .unwrap();
    assert!(ok(dir, &["config", "check", good.to_str().unwrap()]).contains("OK"));
    // The file in the data directory is read; a flag wins over it.
    let shown = ok(dir, &["config", "show", "--reconcile-secs", "9"]);
    assert!(shown.contains("reconcile_secs = 9"), "{shown}");
    assert!(shown.contains("mdns = true"), "{shown}");
    assert!(shown.contains("format = \"json\""), "{shown}");
    // A bad file in the data directory stops every other command, naming the key.
    std::fs::write(&good, "[htp]\nlisten = \"127.0.0.1:1\"\n").unwrap();
    refused(dir, &["org", "show"], &["htp", "line 1"]);
    // The example parses and equals the documented file.
    let example = ok(dir, &["config", "example"]);
    let docs = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/config.example.toml"),
    )
    .unwrap();
    assert_eq!(example, docs);
}

#[test]
fn a_rotated_key_publishes_and_the_retired_one_is_kept_aside() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    init(dir);
    let before = ok(dir, &["key", "export-public"]);
    ok(
        dir,
        &[
            "product",
            "add",
            "--name",
            "Gewerbeportal",
            "--vendor",
            "X",
            "--kind",
            "onlinedienst",
        ],
    );
    let rotated = ok(dir, &["key", "rotate", "--note", "Test"]);
    assert!(rotated.contains("New organisation key"), "{rotated}");
    let after = ok(dir, &["key", "export-public"]);
    // Same organisation, new key.
    assert_eq!(before.lines().nth(1), after.lines().nth(1));
    assert_ne!(before.lines().next(), after.lines().next());
    let retired: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("identity.key.retired-")
        })
        .collect();
    assert_eq!(retired.len(), 1);
    // The new key publishes; the store still verifies, the earlier product included.
    let id = ok(dir, &["product", "list"]);
    let pid = id.split_whitespace().next().unwrap().to_owned();
    ok(
        dir,
        &["deployment", "add", "--product", &pid, "--status", "pilot"],
    );
    let listed = ok(dir, &["key", "list"]);
    assert!(listed.contains("current"), "{listed}");
    assert!(listed.contains("handed over to"), "{listed}");
    let check = ok(dir, &["check"]);
    assert!(check.contains("3 signed changes"), "{check}");
    // The key can also live elsewhere (a secret store): the node finds it by path.
    let moved = dir.join("secret.key");
    std::fs::rename(dir.join("identity.key"), &moved).unwrap();
    let missing = allmende(dir, &["key", "export-public"]);
    assert!(String::from_utf8_lossy(&missing.stderr).contains("holds no identity"));
    let via_path = ok(
        dir,
        &[
            "--identity-file",
            moved.to_str().unwrap(),
            "key",
            "export-public",
        ],
    );
    assert_eq!(via_path, after);
}

#[test]
fn backup_and_restore_through_the_cli() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("live");
    init(&dir);
    ok(
        &dir,
        &[
            "product",
            "add",
            "--name",
            "Hundesteuer",
            "--vendor",
            "Y",
            "--kind",
            "fachverfahren",
        ],
    );
    let backup = tmp.path().join("backup");
    let made = ok(&dir, &["backup", "--out", backup.to_str().unwrap()]);
    assert!(made.contains("2 documents"), "{made}");
    // Backing up into a non-empty directory is refused.
    let again = allmende(&dir, &["backup", "--out", backup.to_str().unwrap()]);
    assert!(!again.status.success());
    let restored = tmp.path().join("restored");
    ok(&restored, &["restore", "--from", backup.to_str().unwrap()]);
    assert_eq!(
        ok(&restored, &["key", "export-public"]),
        ok(&dir, &["key", "export-public"])
    );
    assert!(ok(&restored, &["product", "list"]).contains("Hundesteuer"));
    // A second restore over the restored store is refused and changes nothing ...
    let refused_restore = allmende(&restored, &["restore", "--from", backup.to_str().unwrap()]);
    assert!(!refused_restore.status.success());
    assert!(String::from_utf8_lossy(&refused_restore.stderr).contains("--force"));
    // ... and a damaged backup is refused before anything is written.
    let db = backup.join("allmende.db");
    let mut bytes = std::fs::read(&db).unwrap();
    let n = bytes.len() / 2;
    bytes[n] ^= 0xff;
    std::fs::write(&db, bytes).unwrap();
    let fresh = tmp.path().join("fresh");
    let damaged = allmende(&fresh, &["restore", "--from", backup.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&damaged.stderr).contains("SHA-256"));
    assert!(!fresh.join("allmende.db").exists());
}

#[test]
fn publiccode_files_import_one_by_one_and_a_product_exports_as_publiccode() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    init(dir);
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/publiccode");
    let good = fixtures.join("complete.yml");
    let tab = fixtures.join("tab-indent.yml");
    let out = allmende(
        dir,
        &[
            "import",
            "publiccode",
            good.to_str().unwrap(),
            tab.to_str().unwrap(),
        ],
    );
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stdout.contains("complete.yml: created"), "{stdout}");
    assert!(
        stderr.contains("tab-indent.yml: refused: YAML error at line"),
        "{stderr}"
    );
    assert!(stderr.contains("1 of 2 files refused"), "{stderr}");
    // Again: the same product, unchanged.
    let again = ok(dir, &["import", "publiccode", good.to_str().unwrap()]);
    assert!(again.contains("unchanged"), "{again}");
    let list = ok(dir, &["product", "list"]);
    assert_eq!(list.lines().count(), 1, "{list}");
    let id = list.split_whitespace().next().unwrap().to_owned();
    let yaml = ok(dir, &["product", "publiccode", &id]);
    assert!(yaml.contains("publiccodeYmlVersion: \"0.4\""), "{yaml}");
    // The export imports back into another node as the same entry content.
    let other = tmp.path().join("other");
    init(&other);
    let file = tmp.path().join("export.yml");
    std::fs::write(&file, &yaml).unwrap();
    assert!(ok(&other, &["import", "publiccode", file.to_str().unwrap()]).contains("created"));
    // The JSON export import still works next to the subcommand.
    let exported = tmp.path().join("catalog.json");
    ok(dir, &["export", "--out", exported.to_str().unwrap()]);
    assert!(ok(&other, &["import", exported.to_str().unwrap()]).contains("Imported"));
}

/// A delegation grants what its scope names. By default that is everything a delegate
/// publishes for an organisation except its profile, so an IT-Dienstleister cannot rename the
/// member or change its AGS or kind; `--scope all` grants the profile as well.
#[test]
fn a_default_delegation_cannot_change_the_profile() {
    use allmende_node::datadir::DataDir;
    use allmende_protocol::doc::{DocHeader, DocKind};
    use allmende_protocol::identity::Keypair;
    use allmende_protocol::schema::{OrgKind, OrgProfile};
    let tmp = tempfile::tempdir().unwrap();
    let member = tmp.path().join("member");
    init(&member);
    let org: allmende_protocol::ids::OrgId = ok(&member, &["key", "export-public"])
        .lines()
        .find_map(|l| l.strip_prefix("org "))
        .unwrap()
        .parse()
        .unwrap();
    let delegate = Keypair::from_secret_bytes(&[7; 32]).unwrap();
    let full = Keypair::from_secret_bytes(&[8; 32]).unwrap();
    let hex = |k: &Keypair| format!("{:#}", k.public());

    ok(
        &member,
        &["key", "delegate", "--to", &hex(&delegate), "--days", "30"],
    );
    let mut repo = DataDir::new(member.clone()).open_repo().unwrap();
    let profile = DocHeader::singleton(DocKind::Profile, org);
    let renamed = OrgProfile::new("Übernommene Gemeinde", OrgKind::Kreis);
    let r = renamed.clone();
    let refused_edit = repo.edit(&delegate, profile, allmende_node::now(), move |ed| {
        ed.put_root(&r)
    });
    assert!(
        matches!(
            refused_edit,
            Err(allmende_node::repo::RepoError::Auth { .. })
        ),
        "{refused_edit:?}"
    );
    // The delegate still publishes deployments for the member.
    let product = DocHeader::product(org, [1; 16]).id();
    let dep = allmende_protocol::schema::Deployment::new(
        product,
        allmende_protocol::schema::DeploymentStatus::Production,
        allmende_protocol::schema::OperatedBy::Itself,
    );
    let deployments = DocHeader::singleton(DocKind::Deployments, org);
    repo.edit(&delegate, deployments, allmende_node::now(), move |ed| {
        ed.put("d1", &dep)
    })
    .unwrap();
    drop(repo);
    let shown = ok(&member, &["org", "show", "--json"]);
    assert!(shown.contains("Gemeinde Musterhausen"), "{shown}");
    assert!(!shown.contains("Übernommene"), "{shown}");
    refused(
        &member,
        &[
            "key",
            "delegate",
            "--to",
            &hex(&delegate),
            "--scope",
            "deployments,ratingz",
        ],
        &["ratingz", "profile", "deployments", "experience", "product"],
    );
    ok(
        &member,
        &["key", "delegate", "--to", &hex(&full), "--scope", "all"],
    );
    let list = ok(&member, &["key", "list"]);
    let line_of = |k: &Keypair| {
        list.lines()
            .find(|l| l.contains(&hex(k)))
            .unwrap_or_else(|| panic!("{list}"))
            .to_owned()
    };
    assert!(
        line_of(&delegate).contains("(deployments, experience, product)"),
        "{list}"
    );
    assert!(
        line_of(&full).contains("(profile, deployments, experience, product)"),
        "{list}"
    );

    // Positive control: the delegation with --scope all may change the profile.
    let mut repo = DataDir::new(member.clone()).open_repo().unwrap();
    repo.edit(&full, profile, allmende_node::now(), move |ed| {
        ed.put_root(&renamed)
    })
    .unwrap();
    drop(repo);
    assert!(ok(&member, &["org", "show", "--json"]).contains("Übernommene"));
}

#[test]
fn an_ags_that_does_not_exist_is_refused_with_a_suggestion_and_the_official_figures_are_shown() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("node");
    // 05334001 has the right format but names no Gemeinde; Aachen is 05334002.
    refused(
        &dir,
        &[
            "init",
            "--name",
            "Stadt Aachen",
            "--kind",
            "kommune",
            "--ags",
            "05334001",
        ],
        &["--ags", "05334001", "Meinten Sie 05334002 Aachen, Stadt"],
    );
    assert!(
        !dir.join("identity.key").exists(),
        "a refused init leaves no files"
    );
    // A Kreis writes its key with three zeros.
    ok(
        &dir,
        &[
            "init",
            "--name",
            "Kreis Euskirchen",
            "--kind",
            "kreis",
            "--ags",
            "05366000",
        ],
    );
    let shown = ok(&dir, &["org", "show"]);
    assert!(shown.contains("Amtlich:          Euskirchen ("), "{shown}");
    assert!(shown.contains("Stand 30.11.2021"), "{shown}");
    refused(
        &dir,
        &["org", "edit", "--ags", "05366999"],
        &["05366999", "Meinten Sie"],
    );
    let kept = ok(&dir, &["org", "show"]);
    assert!(
        kept.contains("05366000"),
        "the refused edit changed nothing: {kept}"
    );
    refused(
        &dir,
        &[
            "trust",
            "attest",
            "--org",
            "a09aa5f47a6759802ff955f8dc2d2a14a5c99d23be97f864127ff9383455a4f0",
            "--name",
            "Stadt Köln",
            "--kind",
            "kommune",
            "--ags",
            "05315999",
        ],
        &["05315999", "Meinten Sie 05315000 Köln, Stadt"],
    );
}

#[test]
fn a_gv100ad_file_replaces_the_directory_and_a_malformed_one_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("node");
    init(&dir);
    // A newer edition (here: the 2021 file's lines, with another territorial status), and a
    // Gemeinde that did not exist before.
    let land = format!("{:<122}", "1020221231 05          Nordrhein-Westfalen");
    let land = land.replacen("1020221231 05", "102022123105", 1);
    let kreis = format!("{:<122}43", "402022123105334       Städteregion Aachen");
    let neu = format!(
        "{:<122}64    00000000100{:0>11}00000000001    52000",
        "6020221231053349990999Neustadt am Test", "1234"
    );
    let good = tmp.path().join("GV100AD_311222.ASC");
    std::fs::write(&good, format!("{land}\r\n{kreis}\r\n{neu}\r\n")).unwrap();
    let bad = tmp.path().join("bad.ASC");
    std::fs::write(
        &bad,
        format!(
            "{land}\n{kreis}\n{}\n",
            neu.replacen("00000001234", "0000000x234", 1)
        ),
    )
    .unwrap();
    refused(
        &dir,
        &["import", "gv100ad", bad.to_str().unwrap()],
        &["bad.ASC", "line 3", "columns 140-150", "population"],
    );
    refused(&dir, &["org", "edit", "--ags", "05334999"], &["05334999"]);
    let said = ok(&dir, &["import", "gv100ad", good.to_str().unwrap()]);
    assert!(said.contains("Stand 31.12.2022"), "{said}");
    assert!(said.contains("1 Gemeinden"), "{said}");
    assert!(said.contains("ersetzt Stand 20211130"), "{said}");
    ok(&dir, &["org", "edit", "--ags", "05334999"]);
    let shown = ok(&dir, &["org", "show"]);
    assert!(
        shown.contains("Neustadt am Test (1234 Einwohner"),
        "{shown}"
    );
}

#[test]
fn the_real_gv100ad_file_imports() {
    let file =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/refdata/GV100AD_301121.ASC");
    if !file.exists() {
        eprintln!("skipped: {} not found", file.display());
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("node");
    init(&dir);
    let said = ok(&dir, &["import", "gv100ad", file.to_str().unwrap()]);
    assert!(
        said.contains("16 Länder, 400 Kreise, 10997 Gemeinden, 83155031 Einwohner"),
        "{said}"
    );
}

/// A deployment says whom to ask and, when it ends, what replaced it; training offers are
/// published, rated and listed by task; bad input is refused naming the field.
#[test]
fn deployments_end_with_their_successor_and_training_is_offered_and_rated() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    init(dir);
    let add = |name: &str| {
        ok(
            dir,
            &[
                "product",
                "add",
                "--name",
                name,
                "--vendor",
                "Beispiel GmbH",
                "--kind",
                "fachverfahren",
                "--task",
                "99001001002000",
                "--new",
            ],
        )
        .trim()
        .to_owned()
    };
    let old = add("Abfallgebühren Alt");
    let new = add("Abfallgebühren Neu");
    refused(
        dir,
        &[
            "deployment",
            "add",
            "--product",
            &old,
            "--status",
            "production",
            "--contact-role",
            "m.muster@gemeinde.example",
        ],
        &["contact_role", "e-mail"],
    );
    refused(
        dir,
        &[
            "deployment",
            "add",
            "--product",
            &old,
            "--status",
            "production",
            "--replaced-by",
            &new,
        ],
        &["replaced_by", "retired"],
    );
    let key = ok(
        dir,
        &[
            "deployment",
            "add",
            "--product",
            &old,
            "--status",
            "production",
            "--since",
            "2015-01-01",
            "--contact-role",
            "Steueramt, Produktverantwortliche",
            "--exchange",
            "ja",
        ],
    )
    .trim()
    .to_owned();
    refused(
        dir,
        &["deployment", "end", &key, "--until", "2010-01-01"],
        &["until", "before since"],
    );
    refused(dir, &["deployment", "end", "feedfeed"], &["no deployment"]);
    let ended = ok(
        dir,
        &[
            "deployment",
            "end",
            &key,
            "--until",
            "2024-06-30",
            "--replaced-by",
            &new[..8],
            "--reason",
            "Umstieg auf die Landeslösung",
        ],
    );
    assert!(ended.contains("Deployment ended."), "{ended}");
    let sql = ok(
        dir,
        &[
            "query",
            "SELECT product, replaced_by, until, end_reason FROM replacements",
        ],
    );
    assert!(sql.contains(&new), "{sql}");
    assert!(sql.contains("Umstieg auf die Landeslösung"), "{sql}");

    refused(
        dir,
        &[
            "training",
            "add",
            "--product",
            &new,
            "--title",
            "Kurs",
            "--provider",
            "X",
            "--format",
            "fernstudium",
        ],
        &["fernstudium"],
    );
    let offer = ok(
        dir,
        &[
            "schulung",
            "add",
            "--product",
            &new,
            "--title",
            "Abfallgebühren Neu kompakt",
            "--provider",
            "Kommunales Studieninstitut",
            "--format",
            "präsenz",
            "--minutes",
            "420",
            "--cost",
            "290",
            "--role",
            "Sachbearbeitung Steueramt",
        ],
    )
    .trim()
    .to_owned();
    assert_eq!(offer.len(), 32, "{offer}");
    let me = ok(dir, &["key", "export-public"]);
    let me = me
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .last()
        .unwrap()
        .to_owned();
    refused(
        dir,
        &[
            "training",
            "rate",
            "--org",
            &me,
            "--offer",
            &"e".repeat(32),
            "--score",
            "4",
        ],
        &["no training offer"],
    );
    refused(
        dir,
        &[
            "training", "rate", "--org", &me, "--offer", &offer, "--score", "7",
        ],
        &["score"],
    );
    let rated = ok(
        dir,
        &[
            "training", "rate", "--org", &me, "--offer", &offer, "--score", "4",
        ],
    );
    assert!(rated.contains("Training rating saved."), "{rated}");
    let list = ok(dir, &["training", "list", "--unverified"]);
    assert!(list.contains("Abfallgebühren Neu kompakt"), "{list}");
    assert!(list.contains("99001001002000"), "{list}");
    assert!(list.contains(&offer), "{list}");
    // The publisher's own rating does not count.
    assert!(list.contains("not rated"), "{list}");
    let json = ok(dir, &["training", "list", "--unverified", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        v["tasks"][0]["trainings"][0]["offer"]["duration_minutes"],
        420
    );
    let none = ok(
        dir,
        &["training", "list", "--unverified", "--format", "online"],
    );
    assert!(none.contains("No training offers."), "{none}");
}
