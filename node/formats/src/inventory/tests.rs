use super::*;

fn csv(text: &str) -> Result<Parsed, InventoryError> {
    parse(
        text.as_bytes(),
        &Limits::default(),
        &MappingChoice::default(),
    )
}

#[test]
fn csv_with_german_values_and_cell_errors() {
    let p = csv("Produkt;Hersteller;Seit;Kosten jährlich;Status\nOK.EWO;AKDB;01.03.2019;\"1.234,50 €\";Wirkbetrieb\n;;;;\nMESO;HSH;bald;12;aktiv\n").unwrap();
    assert_eq!(p.rows.len(), 2);
    assert_eq!(p.empty_rows, 1);
    assert_eq!(p.rows[0].cost_yearly_eur, Some(1235));
    assert_eq!(
        p.rows[0].since.as_ref().map(|d| d.as_str().to_string()),
        Some("2019-03-01".into())
    );
    let e = &p.issues[0];
    assert_eq!(e.severity, Severity::Error);
    assert_eq!(e.position.row, Some(4));
    assert_eq!(e.position.column.as_deref(), Some("C (Seit)"));
    assert!(p.rows[1].has_error);
}

#[test]
fn bad_files_are_refused_with_a_reason() {
    let l = Limits::default();
    let m = MappingChoice::default();
    assert!(parse(b"", &l, &m).unwrap_err().message.contains("leer"));
    assert!(
        parse(b"\x00\x01\x02binary", &l, &m)
            .unwrap_err()
            .message
            .contains("keine Tabelle")
    );
    assert!(
        parse(b"PK\x03\x04garbage", &l, &m)
            .unwrap_err()
            .message
            .contains("ZIP")
    );
    assert!(
        parse(b"a;b\n1;2\n", &l, &m)
            .unwrap_err()
            .message
            .contains("Kopfzeile")
    );
    let small = Limits { max_bytes: 10, ..l };
    assert!(
        parse(b"Produkt;Hersteller\nx;y\n", &small, &m)
            .unwrap_err()
            .message
            .contains("größer")
    );
    let few = Limits { max_rows: 3, ..l };
    let e = parse(b"Produkt;Hersteller\nx;y\nx;y\nx;y\n", &few, &m).unwrap_err();
    assert!(e.message.contains("mehr als 3 Zeilen"), "{e}");
    let long = format!("Produkt;Hersteller\n{};y\n", "x".repeat(2000));
    let e = parse(long.as_bytes(), &l, &m).unwrap_err();
    assert_eq!(e.position.row, Some(2));
    assert_eq!(e.position.column.as_deref(), Some("A"));
    assert!(
        parse(b"Produkt;Hersteller\n", &l, &m)
            .unwrap_err()
            .message
            .contains("keine Daten")
    );
}

#[test]
fn explicit_mapping_overrides_the_guess() {
    let text = "Produkt;Hersteller;Bemerkung\nA;B;C\n";
    let choice = MappingChoice {
        explicit: vec![(2, Some(Field::Version)), (1, None)],
        ..MappingChoice::default()
    };
    let p = parse(text.as_bytes(), &Limits::default(), &choice).unwrap();
    assert_eq!(p.rows[0].version.as_deref(), Some("C"));
    assert_eq!(p.rows[0].vendor, None);
    assert_eq!(column_index("AB"), Some(27));
    assert_eq!(column_index("1"), None);
}

#[test]
fn windows_1252_csv_is_read() {
    let mut bytes = b"Produkt;Hersteller;J\xe4hrlich\nOK.EWO;AKDB;1.000 ".to_vec();
    bytes.push(0x80);
    bytes.push(b'\n');
    let p = parse(&bytes, &Limits::default(), &MappingChoice::default()).unwrap();
    assert_eq!(p.rows[0].cost_yearly_eur, Some(1000));
}

fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    use std::io::Write;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let deflated = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in entries {
        zip.start_file(*name, deflated).unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

fn ods(table: &str) -> Vec<u8> {
    let content = format!(
        "<?xml version=\"1.0\"?><office:document-content xmlns:office=\"urn:oasis:names:tc:opendocument:xmlns:office:1.0\" xmlns:table=\"urn:oasis:names:tc:opendocument:xmlns:table:1.0\" xmlns:text=\"urn:oasis:names:tc:opendocument:xmlns:text:1.0\"><office:body><office:spreadsheet><table:table table:name=\"T\">{table}</table:table></office:spreadsheet></office:body></office:document-content>"
    );
    zip_of(&[
        (
            "mimetype",
            b"application/vnd.oasis.opendocument.spreadsheet",
        ),
        ("content.xml", content.as_bytes()),
        ("META-INF/manifest.xml", b"<?xml version=\"1.0\"?><manifest:manifest xmlns:manifest=\"urn:oasis:names:tc:opendocument:xmlns:manifest:1.0\"/>"),
    ])
}

fn cell(s: &str) -> String {
    format!(
        "<table:table-cell office:value-type=\"string\"><text:p>{s}</text:p></table:table-cell>"
    )
}

#[test]
fn zip_bombs_stop_at_the_decompressed_limit() {
    // 8 MiB of zeros deflate to a few KiB; the limit is measured while inflating.
    let zeros = vec![0u8; 8 * 1024 * 1024];
    let bomb = zip_of(&[
        ("xl/workbook.xml", b"<workbook/>"),
        ("xl/worksheets/sheet1.xml", &zeros),
    ]);
    assert!(bomb.len() < 64 * 1024);
    let limits = Limits {
        max_unzipped: 1024 * 1024,
        ..Limits::default()
    };
    let e = parse(&bomb, &limits, &MappingChoice::default()).unwrap_err();
    assert!(e.message.contains("ZIP-Bombe"), "{e}");
    let many: Vec<(String, Vec<u8>)> = (0..300).map(|i| (format!("f{i}"), vec![])).collect();
    let refs: Vec<(&str, &[u8])> = many
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    let mut with_workbook = vec![("xl/workbook.xml", b"<workbook/>".as_slice())];
    with_workbook.extend(refs);
    let e = parse(
        &zip_of(&with_workbook),
        &Limits::default(),
        &MappingChoice::default(),
    )
    .unwrap_err();
    assert!(e.message.contains("Einträge"), "{e}");
}

#[test]
fn ods_repeats_are_counted_before_they_are_expanded() {
    let header = format!(
        "<table:table-row>{}{}</table:table-row>",
        cell("Produkt"),
        cell("Hersteller")
    );
    let row = format!(
        "<table:table-row>{}{}</table:table-row>",
        cell("OK.EWO"),
        cell("AKDB")
    );
    // A good file, with the filler office programs write at the end.
    let good = ods(&format!(
        "{header}{row}<table:table-row table:number-rows-repeated=\"1048574\"><table:table-cell table:number-columns-repeated=\"1024\"/></table:table-row>"
    ));
    let p = parse(&good, &Limits::default(), &MappingChoice::default()).unwrap();
    assert_eq!(p.rows.len(), 1);
    assert_eq!(p.rows[0].vendor.as_deref(), Some("AKDB"));
    // A value repeated across a billion columns, or a row with values a billion times, or
    // empty rows repeated between rows with values: refused before calamine expands them.
    let wide = ods(&format!(
        "{header}<table:table-row><table:table-cell office:value-type=\"string\" table:number-columns-repeated=\"1000000000\"><text:p>x</text:p></table:table-cell></table:table-row>"
    ));
    let tall = ods(&format!(
        "{header}<table:table-row table:number-rows-repeated=\"1000000000\">{}{}</table:table-row>",
        cell("a"),
        cell("b")
    ));
    let gap = ods(&format!(
        "{header}<table:table-row table:number-rows-repeated=\"1000000000\"><table:table-cell/></table:table-row>{row}"
    ));
    for bad in [wide, tall, gap] {
        let e = parse(&bad, &Limits::default(), &MappingChoice::default()).unwrap_err();
        assert!(e.message.contains("größer als"), "{e}");
    }
}
