//! publiccode.yml import and export: the project's own fixtures (one per kind of mess), the real
//! files of the shared corpus (read where they are, never copied), imports into a real SQLite
//! store, and export → import round trips.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use allmende_node::publiccode::{
    FACTS_MARKER, MAX_BYTES, Parsed, PubliccodeError, Warning, export, import, parse, parse_bytes,
    product_nonce,
};
use allmende_node::repo::Repo;
use allmende_node::store::{SqliteStore, Store};
use allmende_protocol::change::ReplicaId;
use allmende_protocol::doc::{DocHeader, DocKind};
use allmende_protocol::identity::Keypair;
use allmende_protocol::ids::{DocId, OrgId};
use allmende_protocol::schema::{HostingModel, Product, ProductKind, UnixTime, Validate};

const NOW: UnixTime = UnixTime(1_750_000_000);

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/publiccode")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn parsed(name: &str) -> Parsed {
    parse(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The warnings as (key, line), in order.
fn keys(warnings: &[Warning]) -> Vec<(&str, usize)> {
    warnings.iter().map(|w| (w.key.as_str(), w.line)).collect()
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

fn tasks(p: &Product) -> Vec<&str> {
    p.tasks.iter().map(|t| t.as_str()).collect()
}

fn kp(seed: u8) -> Keypair {
    Keypair::from_secret_bytes(&[seed; 32]).unwrap()
}

fn org_of(k: &Keypair) -> OrgId {
    OrgId::from_root_key(k.public())
}

fn repo() -> Repo<SqliteStore> {
    Repo::open(SqliteStore::open_in_memory().unwrap(), ReplicaId([7; 16])).unwrap()
}

fn product_docs(repo: &Repo<SqliteStore>) -> Vec<DocHeader> {
    repo.store()
        .headers()
        .unwrap()
        .into_iter()
        .filter(|h| h.kind == DocKind::Product)
        .collect()
}

fn stored(repo: &Repo<SqliteStore>, id: &DocId) -> Product {
    repo.document(id)
        .unwrap()
        .unwrap()
        .root::<Product>()
        .unwrap()
        .unwrap()
}

// ---------------------------------------------------------------------------------------------
// The project's own fixtures

#[test]
fn a_complete_file_maps_every_field_without_warnings() {
    let p = parsed("complete.yml");
    assert_eq!(p.warnings, vec![]);
    assert_eq!(p.version.as_deref(), Some("0.4"));
    assert_eq!(
        p.language.as_deref(),
        Some("de"),
        "German is preferred over English"
    );
    let pr = &p.product;
    assert_eq!(pr.name, "Bauportal Nord");
    assert_eq!(
        pr.vendor, "Kreis Nord IT",
        "repoOwner before mainCopyrightOwner"
    );
    assert_eq!(pr.kind, ProductKind::Software);
    assert_eq!(
        pr.description.as_deref(),
        Some(
            "Das Bauportal Nord nimmt Bauanträge digital entgegen, prüft sie auf Vollständigkeit \
             und leitet sie per XBau an das Fachverfahren der Bauaufsicht weiter. Antragsteller \
             verfolgen den Stand online."
        )
    );
    assert_eq!(
        pr.categories,
        strings(&[
            "document-management",
            "workflow-management",
            "Bauen & Wohnen"
        ])
    );
    assert_eq!(tasks(pr), ["99108001000000", "ozg:10062"]);
    assert_eq!(pr.licence.as_ref().unwrap().as_str(), "EUPL-1.2");
    assert_eq!(
        pr.repository.as_ref().unwrap().as_str(),
        "https://gitlab.opencode.de/kreis-nord/bauportal.git"
    );
    assert_eq!(
        pr.website.as_ref().unwrap().as_str(),
        "https://bauportal.kreis-nord.example/"
    );
    assert_eq!(pr.hosting, vec![HostingModel::Saas]);
    assert_eq!(
        pr.standards,
        strings(&["XBau"]),
        "a dependency that is a standard"
    );
    assert_eq!(
        pr.prerequisites.as_deref(),
        Some(
            "Plattformen: web\n\
             Abhängigkeiten (Open Source): PostgreSQL ≥ 14; XBau 2.4\n\
             Abhängigkeiten (proprietär): Oracle Database 19–23 (optional)\n\
             Hardware: Kartenleser (optional)"
        )
    );
    assert_eq!(
        pr.sla.as_deref(),
        Some("Wartung: per Vertrag mit Beispiel GmbH (bis 2027-12-31)")
    );
    assert!(
        !format!("{pr:?}").contains("Mustermann"),
        "contacts are people and are never stored"
    );
    assert_eq!(
        p.used_by,
        strings(&["Stadt Nordhausen", "Gemeinde Beispiel"])
    );
    assert_eq!(
        p.url.as_deref(),
        Some("https://gitlab.opencode.de/kreis-nord/bauportal.git")
    );
    pr.validate().unwrap();
}

#[test]
fn unknown_keys_are_named_with_their_lines() {
    let p = parsed("unknown-keys.yml");
    assert_eq!(
        keys(&p.warnings),
        [
            ("landingUrl", 4),
            ("colour", 5),
            ("legal.lawyer", 9),
            ("description.de.summary", 13),
        ]
    );
    assert_eq!(
        p.warnings[0].message,
        "unknown key (did you mean landingURL?); ignored"
    );
    assert_eq!(p.warnings[1].message, "unknown key; ignored");
    // The valid parts are imported.
    assert_eq!(p.product.name, "Ratsinfo");
    assert_eq!(p.product.vendor, "Stadt Beispiel");
    assert_eq!(p.product.licence.as_ref().unwrap().as_str(), "MIT");
    assert_eq!(p.product.website, None, "a misspelt key is not guessed");
    assert_eq!(
        p.product.description.as_deref(),
        Some("Sitzungen und Beschlüsse.")
    );
}

#[test]
fn an_unquoted_version_is_read_with_a_warning() {
    let p = parsed("unquoted-version.yml");
    assert_eq!(p.version.as_deref(), Some("0.4"));
    assert_eq!(keys(&p.warnings), [("publiccodeYmlVersion", 1)]);
    assert!(p.warnings[0].message.contains("written as a number"));
    assert_eq!(
        p.product.licence.as_ref().unwrap().as_str(),
        "AGPL-3.0-or-later"
    );
}

#[test]
fn versions_0_2_to_0_7_are_accepted_and_others_warned_about() {
    let body = "name: X\nurl: https://example.org/x\nlegal:\n  repoOwner: Y\n";
    for v in [
        "\"0.2\"",
        "'0.2.1'",
        "0.3",
        "\"0.4.0\"",
        "0.5.0",
        "0.6",
        "\"0.7.0\"",
        "0.7",
    ] {
        let p = parse(&format!("publiccodeYmlVersion: {v}\n{body}")).unwrap();
        assert!(
            p.warnings
                .iter()
                .all(|w| !w.message.contains("not a version")),
            "{v}: {:?}",
            p.warnings
        );
    }
    for v in ["\"1.0\"", "\"0.1\"", "0.8", "banana"] {
        let p = parse(&format!("publiccodeYmlVersion: {v}\n{body}")).unwrap();
        assert_eq!(keys(&p.warnings), [("publiccodeYmlVersion", 1)], "{v}");
        assert!(p.warnings[0].message.contains("not a version"), "{v}");
        assert_eq!(p.product.name, "X");
    }
    let p = parse(body).unwrap();
    assert_eq!(keys(&p.warnings), [("publiccodeYmlVersion", 1)]);
    assert!(p.warnings[0].message.starts_with("missing"));
}

#[test]
fn wrong_enumerations_name_key_value_and_line_and_are_left_out() {
    let p = parsed("bad-enums.yml");
    assert_eq!(
        keys(&p.warnings),
        [
            ("developmentStatus", 4),
            ("softwareType", 5),
            ("categories[0]", 7),
            ("intendedAudience.scope[1]", 12),
            ("maintenance.type", 14),
        ]
    );
    assert!(
        p.warnings[0]
            .message
            .starts_with("\"fertig\" is not one of: concept,")
    );
    assert!(p.warnings[1].message.starts_with("\"app\" is not one of:"));
    assert!(p.warnings[2].message.contains("\"government\""));
    assert!(p.warnings[3].message.contains("\"verwaltung\""));
    assert!(
        p.warnings[4]
            .message
            .starts_with("\"commercial\" is not one of: internal,")
    );
    assert_eq!(p.product.categories, strings(&["crm"]));
    assert_eq!(p.product.sla, None);
    assert_eq!(p.product.licence.as_ref().unwrap().as_str(), "GPL-3.0-only");
}

#[test]
fn a_tab_in_the_indentation_is_a_yaml_error_with_its_line() {
    match parse(&fixture("tab-indent.yml")) {
        Err(PubliccodeError::Yaml {
            line,
            column,
            message,
        }) => {
            assert_eq!((line, column), (5, 2));
            assert!(message.contains("tab"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn mis_indentation_is_a_yaml_error_or_a_warning_with_its_line() {
    // A key indented one space too far: not YAML.
    match parse(&fixture("mis-indented.yml")) {
        Err(e @ PubliccodeError::Yaml { .. }) => {
            assert_eq!(
                e.to_string(),
                "YAML error at line 6, column 13: mapping values are not allowed in this context"
            );
        }
        other => panic!("{other:?}"),
    }
    // A description key one level too far left: YAML, but not a language.
    let p = parsed("mis-indented-description.yml");
    assert_eq!(keys(&p.warnings), [("description.shortDescription", 6)]);
    assert!(p.warnings[0].message.contains("not a language tag"));
    assert_eq!(p.product.description, None);
    assert_eq!(p.product.licence.as_ref().unwrap().as_str(), "MIT");
}

#[test]
fn a_file_without_a_name_is_refused() {
    match parse(&fixture("missing-name.yml")) {
        Err(e @ PubliccodeError::NoName { line: 1, .. }) => {
            assert_eq!(
                e.to_string(),
                "line 1: no usable name: the key name is missing"
            );
        }
        other => panic!("{other:?}"),
    }
    for (text, reason) in [
        (
            "name: \"\"\nurl: https://example.org/x\n",
            "name is text (\"\")",
        ),
        ("name: [a, b]\n", "name is a list"),
        ("name: ~\n", "name is empty"),
    ] {
        match parse(text) {
            Err(PubliccodeError::NoName { line: 1, reason: r }) => {
                assert!(r.starts_with(reason), "{text:?}: {r}");
            }
            other => panic!("{text:?}: {other:?}"),
        }
    }
    let long = format!("name: {}\n", "x".repeat(201));
    assert!(matches!(parse(&long), Err(PubliccodeError::NoName { .. })));
    // A localised name stands in for a missing name, with a warning.
    let p =
        parse("url: https://example.org/x\ndescription:\n  de:\n    localisedName: Ersatzname\n")
            .unwrap();
    assert_eq!(p.product.name, "Ersatzname");
    assert!(p.warnings.iter().any(|w| w.key == "name" && w.line == 1));
}

#[test]
fn an_invalid_spdx_licence_is_a_warning_and_left_empty() {
    let p = parsed("bad-licence.yml");
    assert_eq!(keys(&p.warnings), [("legal.license", 5)]);
    assert!(
        p.warnings[0]
            .message
            .contains("\"EUPL 1.2\" is not a valid SPDX"),
        "{}",
        p.warnings[0].message
    );
    assert_eq!(p.product.licence, None);
    p.product.validate().unwrap();
}

#[test]
fn the_german_extension_gives_leika_tasks_and_themenfelder() {
    let p = parsed("german-leika.yml");
    assert_eq!(
        tasks(&p.product),
        [
            "77000000000316",
            "ozg:10110",
            "77000000000317",
            "77000000000318"
        ]
    );
    assert_eq!(p.product.categories, strings(&["Bauen & Wohnen"]));
    assert_eq!(
        keys(&p.warnings),
        [("de.leika[2].leika-id", 16), ("de.leika[3].themenfeld", 17)]
    );
    assert!(p.warnings[0].message.contains("not a LeiKa key"));
    assert!(p.warnings[1].message.contains("Themenfelder"));
    assert_eq!(p.product.tasks[0].leika(), Some("77000000000316"));
}

#[test]
fn used_by_is_returned_as_hints() {
    let p = parsed("used-by.yml");
    assert_eq!(p.used_by, strings(&["Stadt Köln", "Kreis Lippe"]));
    assert_eq!(p.warnings, vec![]);
}

#[test]
fn values_of_the_wrong_type_are_warned_about_and_left_out() {
    let text = "\
publiccodeYmlVersion: \"0.4\"
name: Typfehler
url: https://example.org/typfehler
categories: crm
legal:
  license: [MIT]
  repoOwner: Stadt
maintenance: internal
localisation:
  localisationReady: no
dependsOn:
  open:
    - versionMin: \"1\"
de:
  leika: 99108001000000
";
    let p = parse(text).unwrap();
    assert_eq!(
        keys(&p.warnings),
        [
            ("legal.license", 6),
            ("maintenance", 8),
            ("localisation.localisationReady", 10),
            ("dependsOn.open[0]", 13),
            ("de.leika", 15),
        ],
        "{:#?}",
        p.warnings
    );
    // A single category instead of a list is read.
    assert_eq!(p.product.categories, strings(&["crm"]));
    assert_eq!(p.product.licence, None);
    assert!(p.warnings[2].message.contains("YAML 1.1"));
}

#[test]
fn oversized_and_non_mapping_input_is_refused_clearly() {
    let big = format!("name: x\n# {}\n", "a".repeat(MAX_BYTES));
    assert!(matches!(
        parse(&big),
        Err(PubliccodeError::TooLarge { max: MAX_BYTES, .. })
    ));
    assert!(matches!(
        parse_bytes(big.as_bytes()),
        Err(PubliccodeError::TooLarge { .. })
    ));
    match parse_bytes(b"name: a\nurl: \xff\n") {
        Err(e @ PubliccodeError::NotUtf8 { line: 2 }) => assert!(e.to_string().contains("UTF-8")),
        other => panic!("{other:?}"),
    }
    let cases = [
        (
            "- name: a\n- name: b\n",
            1,
            1,
            "the top level is a list, not a mapping",
        ),
        (
            "just some text\n",
            1,
            1,
            "the top level is text (\"just some text\")",
        ),
        ("\n\n  42\n", 3, 3, "the top level is a number (42)"),
        ("", 1, 1, "the file holds no YAML document"),
        (
            "# only a comment\n",
            1,
            1,
            "the file holds no YAML document",
        ),
        ("---\n", 2, 1, "the top level is empty, not a mapping"),
        ("name: x\nname: y\n", 2, 1, "the key \"name\" appears twice"),
        ("a: [unclosed\n", 2, 1, ""),
    ];
    for (text, line, column, start) in cases {
        match parse(text) {
            Err(PubliccodeError::Yaml {
                line: l,
                column: c,
                message,
            }) => {
                assert_eq!((l, c), (line, column), "{text:?}: {message}");
                assert!(message.starts_with(start), "{text:?}: {message}");
            }
            other => panic!("{text:?}: {other:?}"),
        }
    }
    // A byte-order mark is not content; several documents are read as the first, with a warning.
    let p =
        parse("\u{feff}name: BOM\nurl: https://example.org/amt/bom\n---\nname: zweites\n").unwrap();
    assert_eq!(p.product.name, "BOM");
    assert_eq!(
        p.product.vendor, "amt",
        "the repository owner, for want of a legal section"
    );
    assert_eq!(
        keys(&p.warnings),
        [("publiccodeYmlVersion", 1), ("legal.repoOwner", 1), ("", 4)]
    );
    assert!(p.warnings[2].message.contains("2 YAML documents"));
}

// ---------------------------------------------------------------------------------------------
// The real files of the shared corpus

enum Expected {
    Imported {
        name: &'static str,
        vendor: &'static str,
        licence: &'static str,
        language: &'static str,
        categories: &'static [&'static str],
        repository: &'static str,
        website: Option<&'static str>,
        prerequisites: &'static str,
        sla: Option<&'static str>,
        description_starts: &'static str,
        used_by: usize,
        warnings: &'static [(&'static str, usize)],
    },
    Refused {
        line: usize,
        column: usize,
        message: &'static str,
    },
}

fn expected(file: &str) -> Expected {
    use Expected::{Imported, Refused};
    match file {
        "AUSL-ReggioEmilia__DocSuitePA.publiccode.yml" => Imported {
            name: "Docsuite PA",
            vendor: "AUSL Reggio Emilia",
            licence: "EUPL-1.2",
            language: "it",
            categories: &["document-management", "collaboration"],
            repository: "https://github.com/AUSL-ReggioEmilia/DocSuitePA.git",
            website: Some("https://github.com/AUSL-ReggioEmilia/DocSuitePA"),
            prerequisites: "Plattformen: windows\nAbhängigkeiten (proprietär): Microsoft SQL Server 2014–2022; \
                            LimiLabs Mail.dll (developer) 3.x; Dynamic Web Twain 8–17 (optional); \
                            ITextSharp (developer) 7; Comped DigitaL Sign 5.x (optional); \
                            Dgroove Signer App 1.x–2.x (optional)\nHardware: Smart Card Reader (optional); \
                            Scanner Twain (optional); Zebra Label Printer (optional)",
            sla: Some("Wartung: per Vertrag mit Dgroove Srl (bis 2025-12-31)"),
            description_starts: "Docsuite è la soluzione per la gestione documentale",
            used_by: 16,
            warnings: &[("intendedAudience.scope[0]", 49)],
        },
        "AgID__wai-portal.publiccode.yml" => Imported {
            name: "Web Analytics Italia - Portale",
            vendor: "Agenzia per l'Italia Digitale",
            licence: "AGPL-3.0-or-later",
            language: "it",
            categories: &[
                "data-analytics",
                "data-collection",
                "data-visualization",
                "seo",
                "marketing",
            ],
            repository: "https://github.com/agid/wai-portal",
            website: Some("https://webanalytics.italia.it/"),
            prerequisites: "Plattformen: web",
            sla: Some("Wartung: per Vertrag mit Indra Italia (bis 2021-10-18)"),
            description_starts: "**Web analytics Italia (WAI)** è una piattaforma nazionale",
            used_by: 1,
            warnings: &[],
        },
        "Aitema-gmbh__ratsinformationssystem.publiccode.yml" => Imported {
            name: "aitema|Rats RIS",
            vendor: "aitema GmbH",
            licence: "AGPL-3.0-only",
            language: "de",
            categories: &["document-management", "collaboration"],
            repository: "https://github.com/Aitema-gmbh/ratsinformationssystem",
            website: None,
            prerequisites: "Plattformen: web\nAbhängigkeiten (Open Source): Next.js ≥ 14; PostgreSQL ≥ 14; Docker",
            sla: None,
            description_starts: "aitema|Rats RIS ist ein modernes, AGPL-lizenziertes Ratsinformationssystem",
            used_by: 0,
            warnings: &[
                ("publiccodeYmlVersion", 1),
                ("categories[0]", 12),
                ("maintenance.type", 69),
            ],
        },
        "digitalservicebund__elterngeldrechner.publiccode.yml" => Imported {
            name: "Elterngeldrechner und Planer",
            vendor: "DigitalService GmbH des Bundes",
            licence: "EUPL-1.2",
            language: "de",
            categories: &["digital-citizenship", "educational-content"],
            repository: "https://gitlab.opencode.de/digitalservicebund/elterngeldrechner.git",
            website: Some("https://gitlab.opencode.de/digitalservicebund/elterngeldrechner"),
            prerequisites: "Plattformen: web",
            sla: Some("Wartung: per Vertrag mit DigitalService GmbH des Bundes (bis 2025-02-28)"),
            description_starts: "Elterngeldrechner und Planer zur unverbindlichen Berechnung",
            used_by: 0,
            warnings: &[],
        },
        "foodcoops__foodsoft.publiccode.yml" => Imported {
            name: "Foodsoft",
            vendor: "foodcoops",
            licence: "AGPL-3.0-or-later",
            language: "en",
            categories: &[
                "e-commerce",
                "business-process-management",
                "project-collaboration",
                "warehouse-management",
            ],
            repository: "https://github.com/foodcoops/foodsoft.git",
            website: Some("https://foodcoops.net/"),
            prerequisites: "Plattformen: web",
            sla: Some("Wartung: durch eine Community"),
            description_starts: "Foodsoft is a web-based software designed to help food cooperatives",
            used_by: 0,
            warnings: &[("legal.repoOwner", 22)],
        },
        "it-at-m__mucgpt.publiccode.yml" => Imported {
            name: "MUCGPT",
            vendor: "Landeshauptstadt München",
            licence: "MIT",
            language: "de",
            categories: &["office", "productivity-suite"],
            repository: "https://github.com/it-at-m/mucgpt",
            website: Some("https://it-at-m.github.io/mucgpt/"),
            prerequisites: "Plattformen: web\nAbhängigkeiten (Open Source): Keycloak; \
                            Container Runtime, i.e. Docker, Podman; Kubernetes Runtime (optional)",
            sla: Some("Wartung: intern (durch den Herausgeber)"),
            description_starts: "# MUCGPT 2.0 - Assistenten im Mittelpunkt\n\nMUCGPT ist eine",
            used_by: 1,
            warnings: &[("intendedAudience.scope[1]", 24)],
        },
        "italia__publiccode-parser-go.publiccode.yml" => Imported {
            name: "publiccode-parser-go",
            vendor: "italia",
            licence: "EUPL-1.2",
            language: "en",
            categories: &["it-development"],
            repository: "https://github.com/italia/publiccode-parser-go",
            website: None,
            prerequisites: "Plattformen: linux, windows, mac",
            sla: Some("Wartung: intern (durch den Herausgeber)"),
            description_starts: "publiccode-parser-go is a Go library and command-line tool",
            used_by: 0,
            warnings: &[("legal.repoOwner", 32)],
        },
        // A tab before the indentation of a literal block (the German longDescription).
        "reedu-reengineering-education__smart-city-dashboard.publiccode.yml" => Refused {
            line: 67,
            column: 6,
            message: "tabs disallowed within this context (block indentation)",
        },
        "stadtulm__vima.publiccode.yml" => Imported {
            name: "vima",
            vendor: "stadtulm",
            licence: "MIT",
            language: "en",
            categories: &[
                "communications",
                "collaboration",
                "digital-citizenship",
                "instant-messaging",
                "web-collaboration",
            ],
            repository: "https://github.com/stadtulm/vima.git",
            website: None,
            prerequisites: "Plattformen: web",
            sla: Some("Wartung: per Vertrag"),
            description_starts: "**ViMA** is an open, multifunctional online platform",
            used_by: 0,
            warnings: &[("legal.repoOwner", 21)],
        },
        "xwiki__xwiki-platform.publiccode.yml" => Imported {
            name: "XWiki",
            vendor: "xwiki",
            licence: "LGPL-2.1-or-later",
            language: "en",
            categories: &[
                "knowledge-management",
                "collaboration",
                "web-collaboration",
                "content-management",
                "document-management",
                "online-community",
                "blog",
            ],
            repository: "https://github.com/xwiki/xwiki-platform",
            website: Some("https://www.xwiki.org/"),
            prerequisites: "Plattformen: web",
            sla: Some("Wartung: durch eine Community"),
            description_starts: "XWiki is a second-generation wiki.",
            used_by: 0,
            warnings: &[("legal.repoOwner", 91)],
        },
        other => panic!("{other} is listed in SOURCES.tsv but has no expected outcome here"),
    }
}

fn corpus_dir() -> Option<PathBuf> {
    let dir = match std::env::var_os("ALLMENDE_PUBLICCODE_CORPUS") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus/publiccode"),
    };
    if dir.join("SOURCES.tsv").is_file() {
        Some(dir)
    } else {
        println!(
            "skipped: corpus folder not found at {} (set ALLMENDE_PUBLICCODE_CORPUS)",
            dir.display()
        );
        None
    }
}

#[test]
fn every_corpus_file_is_imported_or_refused_as_expected() {
    let Some(dir) = corpus_dir() else {
        return;
    };
    let sources = std::fs::read_to_string(dir.join("SOURCES.tsv")).unwrap();
    let mut repo = repo();
    let key = kp(1);
    let mut checked = 0;
    for row in sources.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        let cols: Vec<&str> = row.split('\t').collect();
        let file = format!("{}.{}", cols[0].replace('/', "__"), cols[1]);
        let text = std::fs::read_to_string(dir.join(&file))
            .unwrap_or_else(|e| panic!("{file} (listed in SOURCES.tsv): {e}"));
        match (expected(&file), parse(&text)) {
            (
                Expected::Imported {
                    name,
                    vendor,
                    licence,
                    language,
                    categories,
                    repository,
                    website,
                    prerequisites,
                    sla,
                    description_starts,
                    used_by,
                    warnings,
                },
                Ok(p),
            ) => {
                let pr = &p.product;
                assert_eq!(pr.name, name, "{file}");
                assert_eq!(pr.vendor, vendor, "{file}");
                assert_eq!(
                    pr.licence.as_ref().map(|l| l.as_str()),
                    Some(licence),
                    "{file}"
                );
                assert_eq!(p.language.as_deref(), Some(language), "{file}");
                assert_eq!(pr.categories, strings(categories), "{file}");
                assert_eq!(
                    pr.repository.as_ref().map(|u| u.as_str()),
                    Some(repository),
                    "{file}"
                );
                assert_eq!(pr.website.as_ref().map(|u| u.as_str()), website, "{file}");
                assert_eq!(pr.prerequisites.as_deref(), Some(prerequisites), "{file}");
                assert_eq!(pr.sla.as_deref(), sla, "{file}");
                let d = pr.description.as_deref().unwrap_or_default();
                assert!(d.starts_with(description_starts), "{file}: {d}");
                assert_eq!(p.used_by.len(), used_by, "{file}");
                assert_eq!(keys(&p.warnings), warnings, "{file}: {:#?}", p.warnings);
                assert!(pr.tasks.is_empty(), "{file}");
                pr.validate().unwrap();
                // And the import stores it.
                let out = import(&mut repo, &key, org_of(&key), &text, NOW).unwrap();
                assert!(out.created && out.changed, "{file}");
                assert_eq!(stored(&repo, &out.id), *pr, "{file}");
            }
            (
                Expected::Refused {
                    line,
                    column,
                    message,
                },
                Err(e),
            ) => {
                match &e {
                    PubliccodeError::Yaml {
                        line: l,
                        column: c,
                        message: m,
                    } => assert_eq!((*l, *c, m.as_str()), (line, column, message), "{file}"),
                    other => panic!("{file}: {other:?}"),
                }
                let before = repo.store().headers().unwrap().len();
                assert!(import(&mut repo, &key, org_of(&key), &text, NOW).is_err());
                assert_eq!(repo.store().headers().unwrap().len(), before, "{file}");
            }
            (Expected::Imported { .. }, Err(e)) => panic!("{file}: refused: {e}"),
            (Expected::Refused { .. }, Ok(p)) => panic!("{file}: imported: {:?}", p.product),
        }
        checked += 1;
    }
    assert_eq!(checked, 10, "SOURCES.tsv lists ten files");
    assert_eq!(product_docs(&repo).len(), 9);
}

// ---------------------------------------------------------------------------------------------
// Importing into a real store

#[test]
fn importing_the_same_file_twice_updates_the_same_product() {
    let mut repo = repo();
    let key = kp(1);
    let org = org_of(&key);
    let text = fixture("complete.yml");
    let first = import(&mut repo, &key, org, &text, NOW).unwrap();
    assert!(first.created && first.changed);
    assert_eq!(
        first.used_by,
        strings(&["Stadt Nordhausen", "Gemeinde Beispiel"])
    );
    assert_eq!(
        first.id,
        DocHeader::product(
            org,
            product_nonce("https://gitlab.opencode.de/kreis-nord/bauportal")
        )
        .id()
    );
    let changes = repo.signed_changes(&first.id).unwrap().len();

    let again = import(&mut repo, &key, org, &text, UnixTime(NOW.0 + 60)).unwrap();
    assert_eq!(again.id, first.id);
    assert!(!again.created);
    assert!(!again.changed, "the same file changes nothing");
    assert_eq!(repo.signed_changes(&first.id).unwrap().len(), changes);
    assert_eq!(product_docs(&repo).len(), 1);
    // usedBy are hints: no deployments were written.
    assert!(
        repo.store()
            .headers()
            .unwrap()
            .iter()
            .all(|h| h.kind == DocKind::Product)
    );

    // A changed file (another name, the URL written differently) changes the same product.
    let changed = text
        .replace("name: Bauportal Nord", "name: Bauportal Nord 2")
        .replace("bauportal.git\"", "bauportal/\"")
        .replace("license: EUPL-1.2", "license: MIT");
    let third = import(&mut repo, &key, org, &changed, UnixTime(NOW.0 + 120)).unwrap();
    assert_eq!(third.id, first.id);
    assert!(!third.created && third.changed);
    assert_eq!(product_docs(&repo).len(), 1);
    let p = stored(&repo, &first.id);
    assert_eq!(p.name, "Bauportal Nord 2");
    assert_eq!(p.licence.unwrap().as_str(), "MIT");

    // Another organisation importing the same file gets its own entry.
    let other = kp(2);
    let theirs = import(&mut repo, &other, org_of(&other), &text, NOW).unwrap();
    assert!(theirs.created);
    assert_ne!(theirs.id, first.id);
}

#[test]
fn a_file_without_url_is_identified_by_its_name() {
    let mut repo = repo();
    let key = kp(1);
    let text = "name: Ohne URL\nlegal:\n  repoOwner: Amt\n";
    let a = import(&mut repo, &key, org_of(&key), text, NOW).unwrap();
    let b = import(
        &mut repo,
        &key,
        org_of(&key),
        "name: \"ohne   url\"\nlegal:\n  repoOwner: Amt\n  license: MIT\n",
        NOW,
    )
    .unwrap();
    assert_eq!(a.id, b.id);
    assert!(a.created && !b.created && b.changed);
    assert!(a.warnings.iter().any(|w| w.key == "url"));
}

#[test]
fn an_update_keeps_what_a_publiccode_file_cannot_say() {
    let mut repo = repo();
    let key = kp(1);
    let org = org_of(&key);
    let text = fixture("german-leika.yml");
    let first = import(&mut repo, &key, org, &text, NOW).unwrap();
    // Someone edits the entry in the catalog: kind, costs, a standard, a hosting model.
    let mut edited = stored(&repo, &first.id);
    edited.kind = ProductKind::Fachverfahren;
    edited.cost_model = Some("Lizenzfrei, Betrieb nach Aufwand".into());
    edited.standards = strings(&["XMeld"]);
    edited.hosting = vec![HostingModel::ItDienstleister];
    edited.test_instance = Some(true);
    let header = DocHeader::product(
        org,
        product_nonce("https://gitlab.opencode.de/example/abfallportal"),
    );
    repo.edit(&key, header, NOW, |ed| ed.put_root(&edited))
        .unwrap()
        .unwrap();

    let again = import(&mut repo, &key, org, &text, UnixTime(NOW.0 + 1)).unwrap();
    assert!(!again.created);
    assert!(!again.changed, "the file says nothing new");
    let p = stored(&repo, &first.id);
    assert_eq!(p.kind, ProductKind::Fachverfahren);
    assert_eq!(
        p.cost_model.as_deref(),
        Some("Lizenzfrei, Betrieb nach Aufwand")
    );
    assert_eq!(p.standards, strings(&["XMeld"]));
    assert_eq!(p.hosting, vec![HostingModel::ItDienstleister]);
    assert_eq!(p.test_instance, Some(true));
    assert_eq!(p.tasks.len(), 4);
}

#[test]
fn a_refused_file_writes_nothing() {
    let mut repo = repo();
    let key = kp(1);
    for name in ["tab-indent.yml", "mis-indented.yml", "missing-name.yml"] {
        assert!(import(&mut repo, &key, org_of(&key), &fixture(name), NOW).is_err());
    }
    assert!(repo.store().headers().unwrap().is_empty());
}

#[test]
fn a_delegate_imports_for_its_organisation() {
    use allmende_protocol::identity::{Delegation, Scope};
    let mut repo = repo();
    let root = kp(1);
    let delegate = kp(9);
    let d = Delegation {
        issuer: org_of(&root),
        delegate: delegate.public(),
        scope: Scope::all(),
        not_before: UnixTime(0),
        not_after: UnixTime(NOW.0 + 1_000_000),
    }
    .sign(&root)
    .unwrap();
    repo.add_delegation(d).unwrap();
    let out = import(
        &mut repo,
        &delegate,
        org_of(&root),
        &fixture("used-by.yml"),
        NOW,
    )
    .unwrap();
    assert!(out.created);
    assert_eq!(product_docs(&repo)[0].owner, org_of(&root));
}

// ---------------------------------------------------------------------------------------------
// Export

fn catalog_product() -> Product {
    Product {
        description: Some(
            "Das Fachverfahren verwaltet Meldedaten der Einwohner, erteilt Auskünfte und \
             tauscht Daten per XMeld mit anderen Meldebehörden aus.\n\n- Anmeldung\n- Ummeldung\n\
             - Abmeldung\n\n# Betrieb\nIm Rechenzentrum oder vor Ort."
                .into(),
        ),
        categories: strings(&["document-management", "Bauen & Wohnen", "crm"]),
        tasks: [
            "99115001000000",
            "99115002000000",
            "ozg:10110",
            "Meldewesen",
        ]
        .iter()
        .map(|t| t.parse().unwrap())
        .collect(),
        licence: Some("EUPL-1.2".parse().unwrap()),
        repository: Some("https://gitlab.opencode.de/amt/melde".parse().unwrap()),
        website: Some("https://melde.example/".parse().unwrap()),
        standards: strings(&["XMeld", "OSCI-Transport"]),
        hosting: vec![HostingModel::OnPremise, HostingModel::Saas],
        ..Product::new(
            "Meldewesen Plus",
            "Amt für Digitales",
            ProductKind::Fachverfahren,
        )
    }
}

fn doc_id() -> DocId {
    DocHeader::product(org_of(&kp(1)), [3; 16]).id()
}

#[test]
fn export_then_import_gives_back_the_product() {
    let p = catalog_product();
    let yaml = export(&p, &doc_id());
    assert!(yaml.contains("publiccodeYmlVersion: \"0.4\"\n"), "{yaml}");
    assert!(yaml.contains(&format!("{:#}", doc_id())));
    assert_eq!(
        value_of(&yaml, "    shortDescription: "),
        "Das Fachverfahren verwaltet Meldedaten der Einwohner, erteilt Auskünfte und tauscht \
         Daten per XMeld mit anderen Meldebehörden aus.",
        "the first line"
    );
    let back = parse(&yaml).unwrap_or_else(|e| panic!("{e}\n{yaml}"));
    assert_eq!(back.warnings, vec![], "{yaml}");
    assert_eq!(back.version.as_deref(), Some("0.4"));
    assert_eq!(back.language.as_deref(), Some("de"));
    let q = back.product;
    assert_eq!(q.name, p.name);
    assert_eq!(q.vendor, p.vendor);
    assert_eq!(q.description, p.description);
    assert_eq!(q.licence, p.licence);
    assert_eq!(q.repository, p.repository);
    assert_eq!(q.website, p.website);
    // The categories of the standard's list and the LeiKa tasks come back; a Themenfeld, an
    // OZG id and a free task have no place in publiccode.yml 0.4 (they become features).
    assert_eq!(q.categories, strings(&["document-management", "crm"]));
    assert_eq!(tasks(&q), ["99115001000000", "99115002000000"]);
    assert!(yaml.contains("      - \"OZG-Leistung 10110\"\n"), "{yaml}");
    assert!(yaml.contains("      - \"Aufgabe: Meldewesen\"\n"), "{yaml}");
    assert!(
        yaml.contains("      - \"Schnittstelle: XMeld\"\n"),
        "{yaml}"
    );
    assert!(
        yaml.contains("softwareType: \"standalone/web\"\n"),
        "{yaml}"
    );
    assert!(
        yaml.contains("  type: \"internal\"\n  contacts:\n    - name: \"Amt für Digitales\"\n")
    );

    // Exporting an imported entry keeps its platforms and maintenance; importing that export
    // gives the same record again.
    let imported = parsed("complete.yml").product;
    let yaml = export(&imported, &doc_id());
    assert!(yaml.contains("platforms:\n  - \"web\"\n"), "{yaml}");
    assert!(
        yaml.contains(
            "  type: \"contract\"\n  contractors:\n    - name: \"Beispiel GmbH\"\n      until: \"2027-12-31\"\n"
        ),
        "{yaml}"
    );
    let again = parse(&yaml).unwrap();
    assert_eq!(again.warnings, vec![], "{yaml}");
    let mut expected = imported.clone();
    // Lost on the way: the OZG id, the Themenfeld, the dependencies and the hosting model.
    expected.tasks.retain(|t| t.leika().is_some());
    expected.categories.retain(|c| c != "Bauen & Wohnen");
    expected.prerequisites = Some("Plattformen: web".into());
    expected.standards.clear();
    expected.hosting.clear();
    assert_eq!(again.product, expected);
}

#[test]
fn export_meets_the_lengths_and_keys_of_the_standard() {
    // A short description is padded to 150 characters; the padding is not read back.
    let mut p = Product::new("Kurz", "Amt", ProductKind::Onlinedienst);
    p.description = Some("Ein kurzer Text.".into());
    let yaml = export(&p, &doc_id());
    let long = value_of(&yaml, "    longDescription: ");
    assert!(long.chars().count() >= 150, "{long}");
    assert!(long.contains(FACTS_MARKER));
    let back = parse(&yaml).unwrap();
    assert_eq!(
        back.product.description.as_deref(),
        Some("Ein kurzer Text.")
    );
    assert!(yaml.contains("softwareType: \"standalone/web\"\n"));
    // Without description the padding alone fills longDescription, and none comes back.
    p.description = None;
    let yaml = export(&p, &doc_id());
    assert_eq!(parse(&yaml).unwrap().product.description, None);
    // A long description: shortDescription is cut to 150 characters at a word.
    p.description = Some("Wörter über Wörter ".repeat(30).trim().to_owned());
    let yaml = export(&p, &doc_id());
    let short = value_of(&yaml, "    shortDescription: ");
    assert!(
        short.chars().count() <= 150 && short.ends_with('…'),
        "{short}"
    );
    assert_eq!(parse(&yaml).unwrap().product.description, p.description);
    // The mandatory keys of 0.4 are all there (url and licence as notes when unknown).
    for key in [
        "publiccodeYmlVersion:",
        "name:",
        "platforms:",
        "developmentStatus: \"stable\"",
        "softwareType:",
        "description:\n  de:\n    shortDescription:",
        "    longDescription:",
        "    features:\n      - ",
        "legal:\n",
        "maintenance:\n  type:",
        "localisation:\n  localisationReady: false\n  availableLanguages:\n    - \"de\"",
    ] {
        assert!(yaml.contains(key), "{key}\n{yaml}");
    }
    assert!(yaml.contains("# url is mandatory"), "{yaml}");
    assert!(yaml.contains("# license is mandatory"), "{yaml}");
    assert!(
        !yaml.contains("\nde:"),
        "no German extension without LeiKa keys"
    );
}

/// The text of a value written on one line (double-quoted) or as a literal block (`|-`,
/// indented by six spaces), unescaped enough for the checks here.
fn value_of(yaml: &str, prefix: &str) -> String {
    let mut lines = yaml.lines();
    let first = lines
        .by_ref()
        .find_map(|l| l.strip_prefix(prefix))
        .unwrap_or_else(|| panic!("{prefix}\n{yaml}"));
    if first != "|-" {
        return first.trim_matches('"').replace("\\n", "\n");
    }
    lines
        .take_while(|l| l.is_empty() || l.starts_with("      "))
        .map(|l| l.get(6..).unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn hostile_strings_survive_export_and_import() {
    let names = [
        "\"Bau: Portal\" #1",
        "- führender Strich",
        "? Frage: Antwort",
        "Name mit\nZeilenumbruch und \ttab",
        "'einfach' & *stern !tag %prozent @at `back`",
        "{ flow: [map] } | > ~ null",
        "---",
        "...",
        "0.4",
        "true",
        "Backslash \\ und \\n wörtlich",
        "Ümläut ß – “typografisch” 🙂 \u{2028} Trenner",
        "#Kommentar",
        "key: value",
    ];
    for name in names {
        let mut p = Product::new(name, format!("Hersteller {name}"), ProductKind::Software);
        p.description = Some(format!(
            "{name}\n\n# Überschrift\n- Punkt: eins\n---\n...\n  eingerückt\n\"zitiert\" 'auch' #hash\nEnde {name}"
        ));
        p.licence = Some("MIT".parse().unwrap());
        p.repository = Some("https://example.org/hostile".parse().unwrap());
        p.validate().unwrap();
        let yaml = export(&p, &doc_id());
        let back = parse(&yaml).unwrap_or_else(|e| panic!("{name:?}: {e}\n{yaml}"));
        assert_eq!(back.warnings, vec![], "{name:?}\n{yaml}");
        assert_eq!(back.product.name, name, "{yaml}");
        assert_eq!(back.product.vendor, format!("Hersteller {name}"));
        assert_eq!(back.product.description, p.description, "{yaml}");
    }
}

#[test]
fn exported_descriptions_use_a_literal_block_when_it_is_exact() {
    let mut p = catalog_product();
    p.description = Some(format!(
        "Erste Zeile.\n\nZweite Zeile: mit Doppelpunkt.\n{}",
        "x".repeat(200)
    ));
    let yaml = export(&p, &doc_id());
    assert!(
        yaml.contains(
            "    longDescription: |-\n      Erste Zeile.\n\n      Zweite Zeile: mit Doppelpunkt.\n"
        ),
        "{yaml}"
    );
    assert_eq!(parse(&yaml).unwrap().product.description, p.description);
}
