//! The inventory import (Bestandsaufnahme) end to end on a real SQLite store: the messy
//! 200-row XLSX fixture (preview counts, matches, errors with row and column), the import as
//! one batch, a re-import of the updated spreadsheet (updates, ends and adds without
//! duplicates), a batch that fails and writes nothing, and the CSV and ODS forms.
//!
//! The fixtures are written by `write_fixtures` (ignored; run it with `--ignored` after
//! changing `inventory_data`) from the invented inventory in `inventory_data/mod.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod inventory_data;

use std::path::{Path, PathBuf};

use allmende_api::inventory::{Options, batch_of, plan_import};
use allmende_formats::inventory::plan::{Action, Matched, Plan, RowChoice};
use allmende_formats::inventory::{Field, Severity};
use allmende_node::repo::Repo;
use allmende_node::store::{SqliteStore, Store};
use allmende_protocol::change::{MAX_CHANGE_BYTES, ReplicaId};
use allmende_protocol::doc::{DocHeader, DocKind};
use allmende_protocol::identity::Keypair;
use allmende_protocol::ids::{DocId, OrgId};
use allmende_protocol::schema::{Deployment, DeploymentStatus, Product, ProductKind, UnixTime};
use allmende_repo_thread::inventory::write_import;
use inventory_data::{GROUP, Line, SUB};

const NOW: UnixTime = UnixTime(1_780_000_000);

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/inventory")
}

fn kp(seed: u8) -> Keypair {
    Keypair::from_secret_bytes(&[seed; 32]).unwrap()
}

fn org_of(k: &Keypair) -> OrgId {
    OrgId::from_root_key(k.public())
}

/// A store holding the catalog entries of `inventory_data::CATALOG`, made by another
/// organisation; returns their ids by name.
fn catalog() -> (Repo<SqliteStore>, Vec<(String, DocId)>) {
    let mut repo = Repo::open(SqliteStore::open_in_memory().unwrap(), ReplicaId([7; 16])).unwrap();
    let other = kp(9);
    let mut ids = Vec::new();
    for (i, (name, vendor, url)) in inventory_data::CATALOG.iter().enumerate() {
        let mut p = Product::new(*name, *vendor, ProductKind::Fachverfahren);
        p.repository = url.map(|u| u.parse().unwrap());
        let header = DocHeader::product(org_of(&other), [i as u8 + 1; 16]);
        repo.edit(&other, header, NOW, |ed| ed.put_root(&p))
            .unwrap();
        ids.push(((*name).to_string(), header.id()));
    }
    (repo, ids)
}

fn plan(repo: &Repo<SqliteStore>, org: OrgId, bytes: &[u8], options: &Options) -> Plan {
    plan_import(repo.store().connection(), org, bytes, options).unwrap()
}

fn own(repo: &Repo<SqliteStore>, org: OrgId) -> Vec<(String, Deployment)> {
    allmende_formats::inventory::plan::own_deployments(repo.store().connection(), &org).unwrap()
}

fn id_of(ids: &[(String, DocId)], name: &str) -> DocId {
    ids.iter().find(|(n, _)| n == name).unwrap().1
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(fixtures().join(name)).unwrap()
}

#[test]
fn the_messy_spreadsheet_previews_imports_and_reimports() {
    let (mut repo, ids) = catalog();
    let me = kp(1);
    let org = org_of(&me);
    let bytes = read("bestand-200.xlsx");
    assert!(bytes.len() < 100 * 1024, "fixture is {} bytes", bytes.len());
    let p = plan(&repo, org, &bytes, &Options::default());

    // Header: two rows with the merged group "Kosten"; data below.
    assert_eq!(p.header_row, 4);
    assert_eq!(p.columns["I"], "Kosten · einmalig");
    assert_eq!(p.mapping["I"], Field::CostOnce);
    assert_eq!(p.mapping["J"], Field::CostYearly);
    assert_eq!(p.mapping["A"], Field::Name);
    assert_eq!(p.counts.rows, 200);
    assert!(p.counts.empty_rows >= 8, "{:?}", p.counts);

    // Typos and vendor spellings found their catalog entries.
    let row = |name: &str| p.rows.iter().find(|r| r.name == name).unwrap();
    for (written, entry) in [
        ("OK.EWO", "OK.EWO"),
        ("VOIS MESO", "VOIS|MESO"),
        ("Sesion", "Session"),
        ("H&H pro Doppik", "H&H proDoppik"),
        ("KM Finanzen", "KM-Finanzen"),
        ("Formularserver", "OpenRathaus Formularserver"),
        ("ProBauG", "ProBauG"),
    ] {
        let r = row(written);
        assert_eq!(r.product, Some(id_of(&ids, entry)), "{written}: {r:?}");
        assert_eq!(r.matched, Matched::Auto, "{written}");
        assert!(r.candidates.iter().all(|c| c.score >= 0.8));
    }
    // The vendor written three ways: one new product, three deployments.
    let sitzung: Vec<_> = p
        .rows
        .iter()
        .filter(|r| r.name.eq_ignore_ascii_case("Sitzungsdienst Kompakt"))
        .collect();
    assert_eq!(sitzung.len(), 3);
    assert!(
        sitzung
            .iter()
            .all(|r| r.product == sitzung[0].product && r.matched == Matched::New)
    );
    let new_sitzung: Vec<_> = p
        .new_products
        .iter()
        .filter(|n| n.product.name == "Sitzungsdienst Kompakt")
        .collect();
    assert_eq!(new_sitzung.len(), 1);
    assert_eq!(new_sitzung[0].rows.len(), 3);

    // The malformed cells: errors naming sheet, row and column.
    let errors: Vec<_> = p
        .issues
        .iter()
        .filter(|i| i.severity == Severity::Error)
        .collect();
    assert_eq!(errors.len(), 3, "{errors:#?}");
    let date = errors
        .iter()
        .find(|e| e.field == Some(Field::Since))
        .unwrap();
    assert_eq!(date.position.sheet.as_deref(), Some("Bestand"));
    assert_eq!(date.position.column.as_deref(), Some("G (Im Einsatz seit)"));
    assert!(date.message.contains("demnächst"));
    assert_eq!(date.position.row, Some(row("Grünflächenkataster Pro").row));
    assert!(
        errors
            .iter()
            .any(|e| e.field == Some(Field::CostOnce) && e.message.contains("ca. 500"))
    );
    assert!(errors.iter().any(|e| e.field == Some(Field::Status)));
    assert!(!p.ready, "errors block the import");
    assert_eq!(p.counts.add, 197);
    assert_eq!(p.counts.skip, 3);
    assert_eq!(p.counts.end, 0);

    // Values: German amounts and dates, Excel date cells.
    let ewo = row("OK.EWO");
    let d = &p
        .writes
        .iter()
        .find(|(k, _)| Some(k) == ewo.key.as_ref())
        .unwrap()
        .1;
    assert_eq!(d.cost_yearly_eur, Some(1235));
    assert_eq!(d.cost_once_eur, Some(12_000));
    assert_eq!(d.since.as_ref().unwrap().as_str(), "2019-03-01");
    assert_eq!(d.version.as_deref(), Some("3.2"));

    // Without skipping errors nothing is written.
    let before = repo.store().headers().unwrap().len();
    // With errors skipped: one batch.
    let options =
        Options::from_pairs([("skip_errors".to_string(), "true".to_string())], &[]).unwrap();
    let p = plan(&repo, org, &bytes, &options);
    assert!(p.ready);
    let new_products = p.new_products.len();
    let (written, _) = write_import(&mut repo, &me, org, batch_of(&p, &org), NOW).unwrap();
    assert_eq!(written.deployments, 197);
    assert_eq!(written.products.len(), new_products);
    assert_eq!(
        repo.store().headers().unwrap().len(),
        before + new_products + 1
    );
    assert_eq!(own(&repo, org).len(), 197);

    // Importing the same file again changes nothing and duplicates nothing; the mapping was
    // remembered.
    let again = plan(&repo, org, &bytes, &options);
    assert_eq!(
        (
            again.counts.add,
            again.counts.update,
            again.counts.end,
            again.counts.new_products
        ),
        (0, 0, 0, 0),
        "{:?} {:#?}",
        again.counts,
        again
            .rows
            .iter()
            .filter(|r| !matches!(r.action, Action::Unchanged))
            .map(|r| (
                r.row,
                &r.name,
                r.action,
                &r.product_label,
                r.candidates
                    .iter()
                    .map(|c| (c.entry.name.clone(), c.entry.vendor.clone(), c.score))
                    .collect::<Vec<_>>()
            ))
            .collect::<Vec<_>>()
    );
    assert_eq!(again.counts.unchanged, 197);
    let remembered =
        allmende_formats::inventory::plan::remembered_mapping(repo.store().connection(), &org)
            .unwrap();
    assert_eq!(remembered.len(), p.mapping.len());

    // The updated spreadsheet: one update, one ended, one added.
    let v2 = read("bestand-200-v2.xlsx");
    let p2 = plan(&repo, org, &v2, &options);
    assert_eq!(
        (p2.counts.add, p2.counts.update, p2.counts.end),
        (1, 1, 1),
        "{:?}",
        p2.counts
    );
    assert_eq!(p2.ending[0].product, id_of(&ids, "Friedhofsverwaltung Pro"));
    // Keeping the ended one is a choice.
    let keep = Options::from_pairs(
        [
            ("skip_errors".to_string(), "true".to_string()),
            ("keep".to_string(), p2.ending[0].key.clone()),
        ],
        &[],
    )
    .unwrap();
    let kept = plan(&repo, org, &v2, &keep);
    assert_eq!((kept.counts.end, kept.counts.keep), (0, 1));
    write_import(
        &mut repo,
        &me,
        org,
        batch_of(&p2, &org),
        UnixTime(NOW.0 + 1),
    )
    .unwrap();
    let after = own(&repo, org);
    assert_eq!(after.len(), 198, "197 + 1 added, none duplicated");
    let friedhof = after
        .iter()
        .find(|(_, d)| d.product == id_of(&ids, "Friedhofsverwaltung Pro"))
        .unwrap();
    assert_eq!(friedhof.1.status, DeploymentStatus::Retired);
    let ewo = after
        .iter()
        .find(|(_, d)| d.product == id_of(&ids, "OK.EWO"))
        .unwrap();
    assert_eq!(ewo.1.version.as_deref(), Some("3.3"));
}

#[test]
fn a_failing_batch_writes_nothing() {
    let (mut repo, _) = catalog();
    let me = kp(1);
    let org = org_of(&me);
    let options =
        Options::from_pairs([("skip_errors".to_string(), "true".to_string())], &[]).unwrap();
    let p = plan(&repo, org, &read("bestand-200.xlsx"), &options);
    let headers = repo.store().headers().unwrap().len();
    // One deployment names a product that exists nowhere: the whole batch is refused.
    let mut batch = batch_of(&p, &org);
    batch.deployments.last_mut().unwrap().1.product = DocId::from_bytes([0xee; 32]);
    let e = write_import(&mut repo, &me, org, batch, NOW).unwrap_err();
    assert!(e.to_string().contains("neither in the catalog"), "{e}");
    // A deployment that fails the schema deep inside the batch: refused too.
    let mut batch = batch_of(&p, &org);
    batch.deployments[150].1.cost_yearly_eur = Some(u64::MAX);
    assert!(write_import(&mut repo, &me, org, batch, NOW).is_err());
    // A signer that may not write for the organisation: refused at authorisation, after the
    // products were already made in memory; still nothing stored.
    let stranger = kp(3);
    assert!(write_import(&mut repo, &stranger, org, batch_of(&p, &org), NOW).is_err());
    assert_eq!(repo.store().headers().unwrap().len(), headers);
    assert!(own(&repo, org).is_empty());
    assert!(
        allmende_formats::inventory::plan::remembered_mapping(repo.store().connection(), &org)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn csv_and_ods_forms_read_alike() {
    let (repo, _) = catalog();
    let org = org_of(&kp(1));
    let csv = plan(&repo, org, &read("bestand-klein.csv"), &Options::default());
    let ods = plan(&repo, org, &read("bestand-klein.ods"), &Options::default());
    for p in [&csv, &ods] {
        assert_eq!(p.counts.rows, 25, "{:?}", p.counts);
        assert_eq!(p.counts.errors, 0, "{:#?}", p.issues);
        assert_eq!(p.mapping["J"], Field::CostYearly);
        assert!(p.ready);
    }
    let names = |p: &Plan| {
        p.rows
            .iter()
            .map(|r| (r.name.clone(), r.product.is_some(), r.action))
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&csv), names(&ods));
    let yearly = |p: &Plan| {
        p.writes
            .iter()
            .map(|(_, d)| (d.cost_yearly_eur, d.since.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(yearly(&csv), yearly(&ods));
}

#[test]
fn choices_override_matches() {
    let (repo, ids) = catalog();
    let org = org_of(&kp(1));
    let text = "Produkt;Hersteller\nRatsinfo;\nSession;Somacos\n";
    let p = plan(&repo, org, text.as_bytes(), &Options::default());
    // A name without a vendor that matches nothing is an error (a new entry needs a vendor).
    assert!(!p.ready);
    let session = id_of(&ids, "Session");
    let o = Options::from_pairs(
        [
            ("choose".to_string(), format!("2:{session:#}")),
            ("choose".to_string(), "3:skip".to_string()),
        ],
        &[],
    )
    .unwrap();
    let p = plan(&repo, org, text.as_bytes(), &o);
    assert_eq!(p.rows[0].product, Some(session));
    assert_eq!(p.rows[0].matched, Matched::Chosen);
    assert_eq!(p.rows[1].action, Action::Skip);
    assert!(p.ready, "{:#?}", p.issues);
    assert!(Options::from_pairs([("choose".to_string(), "x:new".to_string())], &[]).is_err());
    assert!(
        Options::from_pairs([("map".to_string(), "C:preis".to_string())], &[])
            .unwrap_err()
            .contains("preis")
    );
    let _ = RowChoice::New;
}

fn write_xlsx(lines: &[Option<Line>], path: &Path) {
    use rust_xlsxwriter::{ExcelDateTime, Format, FormatAlign, Workbook};
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("Bestand").unwrap();
    let bold = Format::new().set_bold().set_align(FormatAlign::Center);
    let date = Format::new().set_num_format("dd.mm.yyyy");
    ws.write_string(
        0,
        0,
        "Bestandsaufnahme Fachverfahren Gemeinde Beispielstadt",
    )
    .unwrap();
    for (c, g) in GROUP.iter().enumerate() {
        let c = c as u16;
        if *g == "Kosten" {
            ws.merge_range(2, c, 2, c + 1, g, &bold).unwrap();
        } else if !g.is_empty() {
            ws.merge_range(2, c, 3, c, g, &bold).unwrap();
        }
    }
    for (c, s) in SUB.iter().enumerate() {
        if !s.is_empty() {
            ws.write_string_with_format(3, c as u16, *s, &bold).unwrap();
        }
    }
    for (i, l) in lines.iter().enumerate() {
        let r = 4 + i as u32;
        let Some(l) = l else { continue };
        for (c, v) in l.iter().enumerate() {
            let Some(v) = v else { continue };
            let c16 = c as u16;
            // Every third date as a real date cell, every fourth plain amount as a number.
            let parts: Vec<&str> = v.split('.').collect();
            if c == 6 && i.is_multiple_of(3) && parts.len() == 3 && parts[2].len() == 4 {
                let dt = ExcelDateTime::from_ymd(
                    parts[2].parse().unwrap(),
                    parts[1].parse().unwrap(),
                    parts[0].parse().unwrap(),
                )
                .unwrap();
                ws.write_datetime_with_format(r, c16, &dt, &date).unwrap();
            } else if (c == 8 || c == 9)
                && i.is_multiple_of(4)
                && v.bytes().all(|b| b.is_ascii_digit())
            {
                ws.write_number(r, c16, v.parse::<f64>().unwrap()).unwrap();
            } else {
                ws.write_string(r, c16, v).unwrap();
            }
        }
    }
    wb.save(path).unwrap();
}

/// A minimal ODS (what LibreOffice reads): mimetype stored first, then content and manifest.
fn write_ods(lines: &[Option<Line>], path: &Path) {
    use std::io::Write;
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    let cell = |s: &str| {
        format!(
            "<table:table-cell office:value-type=\"string\"><text:p>{}</text:p></table:table-cell>",
            esc(s)
        )
    };
    let row = |cells: Vec<String>| format!("<table:table-row>{}</table:table-row>", cells.join(""));
    let mut rows = vec![
        row(vec![cell(
            "Bestandsaufnahme Fachverfahren Gemeinde Beispielstadt",
        )]),
        "<table:table-row><table:table-cell/></table:table-row>".to_string(),
        row(GROUP
            .iter()
            .map(|g| {
                if g.is_empty() {
                    "<table:table-cell/>".into()
                } else {
                    cell(g)
                }
            })
            .collect()),
        row(SUB
            .iter()
            .map(|g| {
                if g.is_empty() {
                    "<table:table-cell/>".into()
                } else {
                    cell(g)
                }
            })
            .collect()),
    ];
    for l in lines {
        match l {
            None => rows.push("<table:table-row><table:table-cell table:number-columns-repeated=\"11\"/></table:table-row>".into()),
            Some(l) => rows.push(row(l.iter().map(|c| c.as_deref().map_or("<table:table-cell/>".into(), cell)).collect())),
        }
    }
    // The filler an office program writes after the data.
    rows.push("<table:table-row table:number-rows-repeated=\"1048000\"><table:table-cell table:number-columns-repeated=\"1024\"/></table:table-row>".into());
    let content = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><office:document-content xmlns:office=\"urn:oasis:names:tc:opendocument:xmlns:office:1.0\" xmlns:table=\"urn:oasis:names:tc:opendocument:xmlns:table:1.0\" xmlns:text=\"urn:oasis:names:tc:opendocument:xmlns:text:1.0\" office:version=\"1.2\"><office:body><office:spreadsheet><table:table table:name=\"Bestand\">{}</table:table></office:spreadsheet></office:body></office:document-content>",
        rows.join("")
    );
    let manifest = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><manifest:manifest xmlns:manifest=\"urn:oasis:names:tc:opendocument:xmlns:manifest:1.0\" manifest:version=\"1.2\"><manifest:file-entry manifest:full-path=\"/\" manifest:media-type=\"application/vnd.oasis.opendocument.spreadsheet\"/><manifest:file-entry manifest:full-path=\"content.xml\" manifest:media-type=\"text/xml\"/></manifest:manifest>";
    let mut zip = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    let stored =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let deflated = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    zip.start_file("mimetype", stored).unwrap();
    zip.write_all(b"application/vnd.oasis.opendocument.spreadsheet")
        .unwrap();
    zip.start_file("content.xml", deflated).unwrap();
    zip.write_all(content.as_bytes()).unwrap();
    zip.start_file("META-INF/manifest.xml", deflated).unwrap();
    zip.write_all(manifest.as_bytes()).unwrap();
    zip.finish().unwrap();
}

/// Writes the fixtures (run with `--ignored` after changing `inventory_data`).
#[test]
#[ignore = "writes the committed fixtures"]
fn write_fixtures() {
    let dir = fixtures();
    std::fs::create_dir_all(&dir).unwrap();
    write_xlsx(&inventory_data::messy(1), &dir.join("bestand-200.xlsx"));
    write_xlsx(&inventory_data::messy(2), &dir.join("bestand-200-v2.xlsx"));
    let example = inventory_data::example();
    std::fs::write(dir.join("bestand-klein.csv"), inventory_data::csv(&example)).unwrap();
    write_ods(&example, &dir.join("bestand-klein.ods"));
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("demo");
    std::fs::create_dir_all(&demo).unwrap();
    write_xlsx(
        &inventory_data::demo_example(),
        &demo.join("bestand-beispiel.xlsx"),
    );
}

/// The demo's example spreadsheet reads without errors.
#[test]
fn the_demo_example_reads_cleanly() {
    let bytes =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("demo/bestand-beispiel.xlsx"))
            .unwrap();
    assert_eq!(bytes, allmende_node::demo_inventory::EXAMPLE_XLSX);
    let (repo, _) = catalog();
    let p = plan(&repo, org_of(&kp(1)), &bytes, &Options::default());
    assert_eq!(p.counts.rows, 24);
    assert_eq!(p.counts.errors, 0, "{:#?}", p.issues);
    // "Friedhofsverwaltung Pro" of another vendor than the catalog's: a choice, not a guess.
    assert_eq!(p.counts.choose, 1, "{:?}", p.counts);
}

mod common;

/// `allmende import bestand`: the preview on the command line, a refused import (errors) that
/// writes nothing, the import with `--skip-errors`, and a second run that changes nothing.
#[test]
fn the_command_line_previews_refuses_and_imports() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    common::ok(
        d,
        &[
            "init",
            "--name",
            "Gemeinde Beispielstadt",
            "--kind",
            "kommune",
        ],
    );
    let file = fixtures().join("bestand-200.xlsx");
    let f = file.to_str().unwrap();
    let preview = common::ok(d, &["import", "bestand", f, "--dry-run"]);
    assert!(preview.contains("Tabelle Bestand"), "{preview}");
    assert!(preview.contains("200 Zeilen"), "{preview}");
    assert!(
        preview.contains("Fehler: Tabelle Bestand, Zeile"),
        "{preview}"
    );
    assert!(preview.contains("Spalte G (Im Einsatz seit)"), "{preview}");
    assert!(preview.contains("nichts geschrieben"), "{preview}");
    // Errors: refused with exit code 2, nothing written.
    let refused = common::allmende(d, &["import", "bestand", f]);
    assert_eq!(
        refused.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    assert!(String::from_utf8_lossy(&refused.stderr).contains("nicht importiert"));
    let json = common::ok(
        d,
        &[
            "import",
            "bestand",
            f,
            "--dry-run",
            "--json",
            "--skip-errors",
        ],
    );
    let plan: serde_json::Value =
        serde_json::from_str(&json[..json.rfind('}').unwrap() + 1]).unwrap();
    assert_eq!(
        plan["counts"]["add"], 197,
        "nothing was written by the refused run"
    );
    assert_eq!(plan["ready"], true);
    let done = common::ok(d, &["import", "bestand", f, "--skip-errors"]);
    assert!(done.contains("197 Einsätze geschrieben"), "{done}");
    let again = common::ok(d, &["import", "bestand", f, "--skip-errors", "--dry-run"]);
    assert!(
        again.contains("0 neu, 0 geändert, 197 unverändert, 0 beendet"),
        "{again}"
    );
    // Bad input: a file that is no table, an unknown field.
    let not = d.join("x.xlsx");
    std::fs::write(&not, b"\x00\x01binary").unwrap();
    let e = common::allmende(d, &["import", "bestand", not.to_str().unwrap()]);
    assert_eq!(e.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&e.stderr).contains("keine Tabelle"));
    let e = common::allmende(d, &["import", "bestand", f, "--map", "C:preis"]);
    assert_eq!(e.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&e.stderr).contains("preis"));
}

/// The contact role column fills `contact_role`; a person's address there is left out with a
/// warning at its row, and the row is still imported.
#[test]
fn the_contact_role_column_keeps_roles_and_leaves_out_persons() {
    let (repo, _) = catalog();
    let org = org_of(&kp(1));
    let csv = "Fachverfahren;Hersteller;Ansprechpartner (Rolle)\n\
               OK.EWO;AKDB;Bürgerbüro, Fachverfahrensbetreuung\n\
               Session;Somacos GmbH;erika.muster@stadt.example\n";
    let p = plan(&repo, org, csv.as_bytes(), &Options::default());
    assert_eq!(p.mapping["C"], Field::ContactRole, "{:?}", p.mapping);
    let roles: Vec<Option<&str>> = p
        .writes
        .iter()
        .map(|(_, d)| d.contact_role.as_deref())
        .collect();
    assert_eq!(
        roles,
        [Some("Bürgerbüro, Fachverfahrensbetreuung"), None],
        "{:#?}",
        p.issues
    );
    assert!(p.writes.iter().all(|(_, d)| d.exchange_ok.is_none()));
    let warning = p
        .issues
        .iter()
        .find(|i| i.field == Some(Field::ContactRole))
        .expect("no warning about the address");
    assert_eq!(warning.severity, Severity::Warning);
    assert_eq!(warning.position.row, Some(3));
    assert!(warning.message.contains("e-mail"), "{}", warning.message);
}

/// The largest inventory the import takes (2,000 rows: a header and 1,999 lines, every column
/// filled with long values; 1,000 rows name products in the catalog, 999 new ones) is
/// written, all of it: the deployments document gets as many changes as keep each within a
/// third of the protocol's limit of [`MAX_CHANGE_BYTES`] (one change of them all took 838 KB).
#[test]
fn the_largest_inventory_is_written_in_changes_within_the_limit() {
    use std::fmt::Write as _;
    const ROWS: u32 = 1_999;
    const KNOWN: u32 = 1_000;
    // Invented names that differ as real product names do (three made-up words each).
    let word = |seed: u32, n: u32| {
        let mut x = seed
            .wrapping_mul(2_654_435_761)
            .wrapping_add(n.wrapping_mul(40_503))
            | 1;
        let len = 5 + x % 6;
        (0..len)
            .map(|k| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                let c = char::from(b'a' + (x % 26) as u8);
                if k == 0 { c.to_ascii_uppercase() } else { c }
            })
            .collect::<String>()
    };
    let name = |i: u32| format!("{} {} {}", word(i, 1), word(i, 2), word(i, 3));
    let vendor = |i: u32| format!("{} {} GmbH & Co. KG", word(i % 300, 4), word(i % 300, 5));
    let mut repo = Repo::open(SqliteStore::open_in_memory().unwrap(), ReplicaId([7; 16])).unwrap();
    let other = kp(9);
    let catalog: Vec<(DocHeader, allmende_node::repo::ManyEdit)> = (0..KNOWN)
        .map(|i| {
            let p = Product::new(name(i), vendor(i), ProductKind::Fachverfahren);
            let mut nonce = [0u8; 16];
            nonce[..4].copy_from_slice(&i.to_be_bytes());
            let edit: allmende_node::repo::ManyEdit = Box::new(move |ed| ed.put_root(&p));
            (DocHeader::product(org_of(&other), nonce), edit)
        })
        .collect();
    repo.edit_many(&other, NOW, catalog, Vec::new()).unwrap();
    let me = kp(1);
    let org = org_of(&me);
    let mut text = String::from(
        "Fachverfahren;Hersteller;Website / Repository;Version;Aufgaben (LeiKa);Status;\
         Im Einsatz seit;Betrieb;Kosten einmalig;Kosten jährlich;Ansprechpartner (Rolle)\n",
    );
    for i in 0..ROWS {
        writeln!(
            text,
            "{};{};https://code.example.org/kommunal/fachverfahren-{i:04};\
             {}.{}.{i};99115005000000, 99115001000000;Wirkbetrieb;{:02}.{:02}.20{:02};\
             Kommunales Rechenzentrum Musterland;{}.{:03},50 €;{}.{:03},00 €;\
             Fachbereich Bürgerdienste, Sachgebiet Meldewesen und Personenstandswesen {i}",
            name(i),
            vendor(i),
            i % 17,
            i % 9,
            i % 28 + 1,
            i % 12 + 1,
            i % 25,
            i % 90 + 10,
            i % 1000,
            i % 40 + 1,
            (i * 7) % 1000,
        )
        .unwrap();
    }
    let planning = std::time::Instant::now();
    let p = plan(&repo, org, text.as_bytes(), &Options::default());
    eprintln!(
        "plan of {ROWS} rows against {KNOWN} entries: {:?}",
        planning.elapsed()
    );
    assert_eq!(p.counts.rows, ROWS as usize, "{:?}", p.counts);
    assert_eq!(
        p.counts.errors,
        0,
        "{:#?}",
        &p.issues[..p.issues.len().min(5)]
    );
    assert!(
        p.ready,
        "{:?} {:#?}",
        p.counts,
        &p.issues[..p.issues.len().min(3)]
    );
    let batch = batch_of(&p, &org);
    assert_eq!(batch.deployments.len(), ROWS as usize);
    assert_eq!(
        batch.products.len(),
        (ROWS - KNOWN) as usize,
        "{:?}",
        p.counts
    );
    assert!(
        batch
            .deployments
            .iter()
            .all(|(_, d)| d.contact_role.is_some()
                && d.cost_yearly_eur.is_some()
                && d.since.is_some())
    );
    let json: usize = batch
        .deployments
        .iter()
        .map(|(k, d)| k.len() + serde_json::to_vec(d).unwrap().len())
        .sum();
    let (written, _) = write_import(&mut repo, &me, org, batch.clone(), NOW).unwrap();
    assert_eq!(written.deployments, ROWS as usize);
    let sorted = |mut d: Vec<(String, Deployment)>| {
        d.sort_by(|a, b| a.0.cmp(&b.0));
        d
    };
    assert!(sorted(own(&repo, org)) == sorted(batch.deployments));
    let doc = DocHeader::singleton(DocKind::Deployments, org).id();
    let sizes: Vec<usize> = repo
        .store()
        .changes(&doc)
        .unwrap()
        .iter()
        .map(|c| c.encoded.len())
        .collect();
    let total: usize = sizes.iter().sum();
    eprintln!(
        "{ROWS} deployments ({json} bytes of JSON): {} changes of {sizes:?} bytes, {total} in all \
         ({:.2}x the JSON; limit {MAX_CHANGE_BYTES} per change)",
        sizes.len(),
        total as f64 / json as f64
    );
    assert!(sizes.len() > 1, "{sizes:?}");
    assert!(
        sizes.iter().all(|&b| b < MAX_CHANGE_BYTES / 3),
        "a change of the deployments takes more than a third of {MAX_CHANGE_BYTES} bytes: {sizes:?}"
    );
    // A second import of the same file changes nothing.
    let again = plan(&repo, org, text.as_bytes(), &Options::default());
    assert_eq!(again.counts.unchanged, ROWS as usize, "{:?}", again.counts);
}
