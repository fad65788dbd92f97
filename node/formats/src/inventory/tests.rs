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
