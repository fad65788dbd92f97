//! The invented inventory of "Gemeinde Beispielstadt" behind the test fixtures and the demo's
//! example spreadsheet: which catalog entries exist before the import, and the rows of the
//! spreadsheet with their deliberate mess (typos, a vendor written three ways, German dates
//! and amounts, empty rows, malformed cells). Real product and vendor names are facts; every
//! row, date and amount is made up.
#![allow(dead_code)]

/// A product already in the catalog: (name, vendor, repository).
pub const CATALOG: &[(&str, &str, Option<&str>)] = &[
    ("OK.EWO", "AKDB", None),
    ("VOIS|MESO", "HSH Soft- und Hardware Vertriebs GmbH", None),
    ("AUTISTA", "Dataport AöR", None),
    ("Session", "Somacos GmbH & Co. KG", None),
    ("ALLRIS", "CC e-gov GmbH", None),
    (
        "H&H proDoppik",
        "H&H Datenverarbeitungs- und Beratungsgesellschaft mbH",
        None,
    ),
    ("KM-Finanzen", "Komm.ONE", None),
    (
        "OpenRathaus Formularserver",
        "Stadt Ulm",
        Some("https://gitlab.opencode.de/beispiel/openrathaus"),
    ),
    ("ProBauG", "Prosoz Herten GmbH", None),
    ("Friedhofsverwaltung Pro", "Beispiel Software GmbH", None),
];

/// One spreadsheet row: product, vendor, website, version, tasks, status, since, operator,
/// one-off cost, yearly cost, contact role. `None` is an empty cell.
pub type Line = [Option<String>; 11];

/// Invented domains for the rest of the inventory (each becomes "<domain> <brand>").
const DOMAINS: &[&str] = &[
    "Gewerbe",
    "Hundesteuer",
    "Wohngeld",
    "Elterngeld",
    "Kita-Verwaltung",
    "Schulverwaltung",
    "Bibliothek",
    "Fundbüro",
    "Standesamt",
    "Ordnungswidrigkeiten",
    "Parkraum",
    "Baumkataster",
    "Geoinformation",
    "Vergabe",
    "Personalwesen",
    "Zeiterfassung",
    "Dokumentenmanagement",
    "Ratsinformation",
    "Kassenwesen",
    "Vollstreckung",
    "Grundsteuer",
    "Liegenschaften",
    "Gebäudemanagement",
    "Fuhrpark",
    "Feuerwehr",
    "Jugendhilfe",
    "Sozialhilfe",
    "Asyl",
    "Wahlen",
    "Statistik",
    "Veranstaltungen",
    "Tourismus",
    "Sportstätten",
    "Musikschule",
    "Volkshochschule",
    "Archiv",
    "Denkmalschutz",
    "Umweltamt",
    "Abfallwirtschaft",
    "Abwasser",
    "Straßenbau",
    "Winterdienst",
    "Beschwerdemanagement",
    "Bürgerservice",
    "Terminvergabe",
    "E-Rechnung",
    "Beihilfe",
    "Reisekosten",
    "Fortbildung",
    "Ausländerwesen",
];

const BRANDS: &[(&str, &str)] = &[
    ("Pro", "Musterdata GmbH"),
    ("Online", "Kommunalsoft AG"),
    ("Plus", "Verwaltungssysteme Nord GmbH"),
    ("Manager", "Südwest IT eG"),
];

const ROLES: &[&str] = &[
    "Fachbereich Bürgerdienste, Produktverantwortliche",
    "Hauptamt, IT-Koordination",
    "Kämmerei, Fachadministration",
    "Bauamt, Sachgebietsleitung",
];

fn s(v: &str) -> Option<String> {
    Some(v.to_string())
}

/// A small deterministic generator (no dependency, same rows on every machine).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

fn german(n: u64) -> String {
    // 12345 → "12.345,00 €"
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(c);
    }
    format!("{out},00 €")
}

/// The messy 200-row inventory; `None` entries are empty rows. `version` 2 is the updated
/// spreadsheet of a year later: some rows changed, some gone, some new.
pub fn messy(version: u8) -> Vec<Option<Line>> {
    let mut rng = Lcg(26);
    let mut out: Vec<Option<Line>> = Vec::new();
    // Catalog products, some with typos and the vendor spelt differently.
    let known: [Line; 12] = [
        [
            s("OK.EWO"),
            s("AKDB"),
            None,
            s("3.2"),
            s("99115005000000"),
            s("Wirkbetrieb"),
            s("01.03.2019"),
            s("selbst"),
            s("12.000"),
            s("1.234,50 €"),
            s(ROLES[0]),
        ],
        [
            s("VOIS MESO"),
            s("HSH GmbH"),
            None,
            s("2024.1"),
            None,
            s("Produktion"),
            s("15.01.2018"),
            s("SaaS"),
            None,
            s("8.400 €"),
            None,
        ],
        [
            s("Autista"),
            s("Dataport"),
            None,
            None,
            None,
            s("Wirkbetrieb"),
            s("2017"),
            s("Dataport AöR"),
            None,
            s("EUR 2.500,-"),
            None,
        ],
        [
            s("Sesion"),
            s("Somacos"),
            None,
            s("5.1"),
            None,
            s("aktiv"),
            s("01.06.2020"),
            s("selbst"),
            s("4.000"),
            s("1.200"),
            None,
        ],
        [
            s("ALLRIS net"),
            s("CC e-gov"),
            None,
            s("4.0"),
            None,
            s("Produktion"),
            s("1.9.21"),
            s("selbst"),
            None,
            s("3.000,00 €"),
            None,
        ],
        [
            s("H&H pro Doppik"),
            s("H&H Datenverarbeitung"),
            None,
            None,
            None,
            s("Wirkbetrieb"),
            s("01.01.2016"),
            s("selbst"),
            s("25.000"),
            s("9.800"),
            s(ROLES[2]),
        ],
        [
            s("KM Finanzen"),
            s("Komm.ONE"),
            None,
            None,
            None,
            s("Pilot"),
            s("03/2025"),
            s("Komm.ONE"),
            None,
            None,
            None,
        ],
        [
            s("Formularserver"),
            s("Stadt Ulm"),
            s("https://gitlab.opencode.de/beispiel/openrathaus/"),
            None,
            None,
            s("Produktion"),
            s("2022-05-01"),
            s("selbst"),
            None,
            s("0"),
            None,
        ],
        [
            s("ProBauG"),
            s("Prosoz Herten"),
            None,
            s("7"),
            None,
            s("Produktion"),
            s("01.02.2015"),
            s("selbst"),
            s("15.000"),
            s("4.500,00"),
            s(ROLES[3]),
        ],
        [
            s("Friedhofsverwaltung Pro"),
            s("Beispiel Software"),
            None,
            None,
            None,
            s("Produktion"),
            s("01.04.2012"),
            s("selbst"),
            None,
            s("900 €"),
            None,
        ],
        // The same new product three times, its vendor written three ways.
        [
            s("Sitzungsdienst Kompakt"),
            s("Ratsdata GmbH"),
            None,
            None,
            None,
            s("Produktion"),
            s("01.01.2023"),
            s("selbst"),
            None,
            s("600"),
            s(ROLES[1]),
        ],
        [
            s("Sitzungsdienst Kompakt"),
            s("RATSDATA G.m.b.H."),
            None,
            None,
            None,
            s("Produktion"),
            s("01.01.2023"),
            s("selbst"),
            None,
            s("600"),
            s(ROLES[0]),
        ],
    ];
    for l in known {
        out.push(Some(l));
    }
    out.push(None);
    out.push(Some([
        s("Sitzungsdienst kompakt"),
        s("ratsdata"),
        None,
        None,
        None,
        s("Pilot"),
        s("01.07.2024"),
        s("selbst"),
        None,
        None,
        None,
    ]));
    // Malformed cells: one each of date, amount, status.
    out.push(Some([
        s("Grünflächenkataster Pro"),
        s("Musterdata GmbH"),
        None,
        None,
        None,
        s("Produktion"),
        s("demnächst"),
        s("selbst"),
        None,
        None,
        None,
    ]));
    out.push(Some([
        s("Straßenbeleuchtung Plus"),
        s("Verwaltungssysteme Nord GmbH"),
        None,
        None,
        None,
        s("Produktion"),
        None,
        s("selbst"),
        s("ca. 500"),
        None,
        None,
    ]));
    out.push(Some([
        s("Spielplatzprüfung Online"),
        s("Kommunalsoft AG"),
        None,
        None,
        None,
        s("läuft irgendwie"),
        None,
        s("selbst"),
        None,
        None,
        None,
    ]));
    // The rest: invented products of invented vendors.
    let mut i = 0;
    while out.iter().flatten().count() < 200 {
        if i % 25 == 7 {
            out.push(None);
        }
        let d = DOMAINS[i % DOMAINS.len()];
        let (brand, vendor) = BRANDS[(i / DOMAINS.len()) % BRANDS.len()];
        let day = 1 + rng.next(28);
        let month = 1 + rng.next(12);
        let year = 2008 + rng.next(17);
        let yearly = 100 * (5 + rng.next(300));
        let status = [
            "Produktion",
            "Produktion",
            "Wirkbetrieb",
            "im Einsatz",
            "Pilot",
            "geplant",
        ][rng.next(6) as usize];
        let operator = [
            "selbst",
            "selbst",
            "SaaS",
            "Dataport",
            "Rechenzentrum Nirgendwo",
        ][rng.next(5) as usize];
        out.push(Some([
            s(&format!("{d} {brand}")),
            s(vendor),
            None,
            (rng.next(3) == 0).then(|| format!("{}.{}", 1 + rng.next(9), rng.next(10))),
            None,
            s(status),
            s(&format!("{day:02}.{month:02}.{year}")),
            s(operator),
            (rng.next(4) == 0).then(|| german(1000 * (1 + rng.next(50)))),
            s(&german(yearly)),
            None,
        ]));
        i += 1;
    }
    if version == 2 {
        // A year later: one version updated, one product given up (its row gone), one new.
        if let Some(Some(l)) = out.get_mut(0) {
            l[3] = s("3.3");
        }
        out.retain(|l| !matches!(l, Some(l) if l[0].as_deref() == Some("Friedhofsverwaltung Pro")));
        out.push(Some([
            s("Hallenbadkasse"),
            s("Aquatec Systeme GmbH"),
            None,
            None,
            None,
            s("Pilot"),
            s("01.09.2026"),
            s("selbst"),
            None,
            s("1.000"),
            None,
        ]));
    }
    out
}

/// The clean example for the demo (about 25 rows).
pub fn example() -> Vec<Option<Line>> {
    messy(1)
        .into_iter()
        .flatten()
        .filter(|l| {
            !matches!(
                l[0].as_deref(),
                Some(
                    "Grünflächenkataster Pro"
                        | "Straßenbeleuchtung Plus"
                        | "Spielplatzprüfung Online"
                )
            )
        })
        .take(25)
        .map(Some)
        .collect()
}

/// The header: the group row and the field row.
pub const GROUP: [&str; 11] = [
    "Fachverfahren",
    "Hersteller",
    "Website / Repository",
    "Version",
    "Aufgaben (LeiKa)",
    "Status",
    "Im Einsatz seit",
    "Betrieb",
    "Kosten",
    "",
    "Ansprechpartner (Rolle)",
];
/// The second header row: under "Kosten".
pub const SUB: [&str; 11] = ["", "", "", "", "", "", "", "", "einmalig", "jährlich", ""];

/// The CSV form (semicolon, as German Excel writes it), header in two rows.
pub fn csv(lines: &[Option<Line>]) -> String {
    let mut out = String::from("Bestandsaufnahme Fachverfahren Gemeinde Beispielstadt\n\n");
    out.push_str(&GROUP.join(";"));
    out.push('\n');
    out.push_str(&SUB.join(";"));
    out.push('\n');
    for l in lines {
        match l {
            None => out.push_str(";;;;;;;;;;\n"),
            Some(l) => {
                let cells: Vec<String> = l
                    .iter()
                    .map(|c| {
                        let c = c.clone().unwrap_or_default();
                        if c.contains([';', '"', '\n']) {
                            format!("\"{}\"", c.replace('"', "\"\""))
                        } else {
                            c
                        }
                    })
                    .collect();
                out.push_str(&cells.join(";"));
                out.push('\n');
            }
        }
    }
    out
}

/// The demo's example spreadsheet (`allmende demo` writes it into its data directory): the
/// Kommunales Rechenzentrum West's inventory, 24 rows naming the demo catalog's products
/// (some with typos or the vendor written otherwise) and a few products the catalog lacks.
pub fn demo_example() -> Vec<Option<Line>> {
    let rows: &[(&str, &str, &str, &str, &str, &str, &str)] = &[
        (
            "Meldewesen Plus",
            "Beispiel Software GmbH",
            "Produktion",
            "01.03.2019",
            "selbst",
            "12.000",
            "1.234,50 €",
        ),
        (
            "Meldewesen plus",
            "Beispiel Software",
            "Pilot",
            "01.09.2025",
            "selbst",
            "",
            "600 €",
        ),
        (
            "Bauantrag Online",
            "Land NRW",
            "Produktion",
            "15.01.2022",
            "SaaS",
            "",
            "0",
        ),
        (
            "Baugenehmigung Digitel",
            "Muster-IT AG",
            "Produktion",
            "01.06.2018",
            "selbst",
            "18.500,00 €",
            "4.200,00 €",
        ),
        (
            "Ratsinfo Offen",
            "Beispiel-Genossenschaft",
            "Produktion",
            "01.02.2021",
            "selbst",
            "",
            "1.800",
        ),
        (
            "Sitzungsdienst Kommunal",
            "Kommunal-Soft GmbH",
            "abgelöst",
            "01.01.2012",
            "selbst",
            "",
            "",
        ),
        (
            "ePayBL Anbindung",
            "Kommunales Rechenzentrum West",
            "Produktion",
            "01.07.2020",
            "selbst",
            "2.500",
            "900",
        ),
        (
            "Hundesteuer Online",
            "Freistaat Bayern",
            "Produktion",
            "01.04.2023",
            "SaaS",
            "",
            "450 €",
        ),
        (
            "Kita-Navigator Offen",
            "Beispiel-Genossenschaft eG",
            "Pilot",
            "03/2026",
            "selbst",
            "",
            "",
        ),
        (
            "E-Akte Kommunal",
            "Aktenwerk",
            "Produktion",
            "01.10.2019",
            "selbst",
            "40.000",
            "11.000",
        ),
        (
            "Wohngeld-Antrag",
            "Land Schleswig-Holstein",
            "geplant",
            "",
            "SaaS",
            "",
            "",
        ),
        (
            "Kita Portal Kommunal",
            "KOMMUNAL-SOFT G.m.b.H.",
            "Produktion",
            "01.08.2017",
            "selbst",
            "",
            "2.400",
        ),
        (
            "Gewerbeanzeige Kompakt",
            "Musterdata GmbH",
            "Produktion",
            "01.05.2016",
            "selbst",
            "3.000",
            "1.100",
        ),
        (
            "Gewerbeanzeige kompakt",
            "MUSTERDATA",
            "Produktion",
            "01.05.2016",
            "selbst",
            "",
            "300",
        ),
        (
            "Friedhofsverwaltung Pro",
            "Musterdata G.m.b.H.",
            "Produktion",
            "01.01.2014",
            "selbst",
            "",
            "750",
        ),
        (
            "Standesamt Kompakt",
            "Verwaltungssysteme Nord GmbH",
            "Produktion",
            "01.01.2015",
            "selbst",
            "",
            "2.100",
        ),
        (
            "Wahlen Manager",
            "Südwest IT eG",
            "Produktion",
            "2017",
            "selbst",
            "",
            "500",
        ),
        (
            "Zeiterfassung Plus",
            "Verwaltungssysteme Nord GmbH",
            "Produktion",
            "01.11.2020",
            "SaaS",
            "",
            "3.600",
        ),
        (
            "Vergabe Online",
            "Kommunalsoft AG",
            "Produktion",
            "01.03.2021",
            "SaaS",
            "",
            "1.500",
        ),
        (
            "Bibliothek Pro",
            "Musterdata GmbH",
            "Produktion",
            "01.09.2013",
            "selbst",
            "",
            "1.250",
        ),
        (
            "Fundbüro Online",
            "Kommunalsoft AG",
            "Pilot",
            "01.02.2026",
            "SaaS",
            "",
            "",
        ),
        (
            "Archiv Manager",
            "Südwest IT eG",
            "Produktion",
            "01.06.2011",
            "selbst",
            "8.000",
            "950",
        ),
        (
            "Personalwesen Plus",
            "Verwaltungssysteme Nord GmbH",
            "Produktion",
            "01.01.2010",
            "selbst",
            "",
            "7.800",
        ),
        (
            "Geoinformation Pro",
            "Musterdata GmbH",
            "Produktion",
            "01.04.2019",
            "selbst",
            "",
            "2.900",
        ),
    ];
    let o = |v: &str| (!v.is_empty()).then(|| v.to_string());
    rows.iter()
        .map(|(n, v, st, since, op, once, yearly)| {
            Some([
                o(n),
                o(v),
                None,
                None,
                None,
                o(st),
                o(since),
                o(op),
                o(once),
                o(yearly),
                None,
            ])
        })
        .collect()
}
