//! Finding the header row and mapping columns to fields.
//!
//! The header is the row (among the first [`HEADER_SCAN`]) whose cells name the most fields;
//! the row above it, when it has cells, is a group header ("Kosten" merged over
//! "einmalig" / "jährlich"): a column's label is "group · cell". A label is compared with
//! German and English synonyms after the search normalisation (case, umlauts, stemming):
//! the cell's own text first, then the group and the cell together, then the group alone (a
//! label merged down over both header rows).

use std::collections::BTreeMap;

use allmende_store::search_text::normalise;

use super::read::{Cell, Table};
pub use super::types::column_letter;

/// How many rows from the top are looked at for the header.
pub const HEADER_SCAN: usize = 25;

/// A field of the inventory.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    /// Product name (required).
    Name,
    /// Vendor.
    Vendor,
    /// Source repository or website.
    Repository,
    /// Version in use.
    Version,
    /// Tasks: LeiKa keys or words, separated by `,` `;` or new lines.
    Tasks,
    /// Lifecycle status.
    Status,
    /// In use since.
    Since,
    /// Operator.
    Operator,
    /// One-off cost.
    CostOnce,
    /// Yearly cost.
    CostYearly,
    /// The contact role (a function, never a person's name).
    ContactRole,
}

impl Field {
    /// Every field, in the order of the preview.
    pub const ALL: [Field; 11] = [
        Field::Name,
        Field::Vendor,
        Field::Repository,
        Field::Version,
        Field::Tasks,
        Field::Status,
        Field::Since,
        Field::Operator,
        Field::CostOnce,
        Field::CostYearly,
        Field::ContactRole,
    ];

    /// The field's slug (as in JSON and CLI `--map`).
    pub fn slug(self) -> &'static str {
        match self {
            Field::Name => "name",
            Field::Vendor => "vendor",
            Field::Repository => "repository",
            Field::Version => "version",
            Field::Tasks => "tasks",
            Field::Status => "status",
            Field::Since => "since",
            Field::Operator => "operator",
            Field::CostOnce => "cost_once",
            Field::CostYearly => "cost_yearly",
            Field::ContactRole => "contact_role",
        }
    }

    /// The field of a slug.
    pub fn from_slug(s: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|f| f.slug() == s.trim())
    }

    /// The German label.
    pub fn label(self) -> &'static str {
        match self {
            Field::Name => "Produkt",
            Field::Vendor => "Hersteller",
            Field::Repository => "Repository / Website",
            Field::Version => "Version",
            Field::Tasks => "Aufgaben (LeiKa)",
            Field::Status => "Status",
            Field::Since => "Im Einsatz seit",
            Field::Operator => "Betrieb",
            Field::CostOnce => "Kosten einmalig",
            Field::CostYearly => "Kosten jährlich",
            Field::ContactRole => "Ansprechpartner (Rolle)",
        }
    }

    fn synonyms(self) -> &'static [&'static str] {
        match self {
            Field::Name => &[
                "produkt",
                "produktname",
                "software",
                "fachverfahren",
                "verfahren",
                "anwendung",
                "name",
                "product",
                "product name",
                "application",
                "bezeichnung",
                "programm",
                "softwareprodukt",
                "system",
            ],
            Field::Vendor => &[
                "hersteller",
                "anbieter",
                "vendor",
                "lieferant",
                "manufacturer",
                "supplier",
                "firma",
                "softwarehaus",
                "herstellerin",
            ],
            Field::Repository => &[
                "repository",
                "repo",
                "quellcode",
                "website",
                "webseite",
                "url",
                "link",
                "homepage",
                "internetseite",
                "internet",
                "source",
            ],
            Field::Version => &["version", "release", "versionsstand", "programmversion"],
            Field::Tasks => &[
                "aufgabe",
                "aufgaben",
                "leika",
                "leika schlüssel",
                "leistung",
                "leistungen",
                "task",
                "tasks",
                "aufgabenbereich",
                "einsatzbereich",
                "einsatzzweck",
            ],
            Field::Status => &["status", "zustand", "betriebsstatus", "lifecycle", "state"],
            Field::Since => &[
                "seit",
                "im einsatz seit",
                "einführung",
                "einführungsdatum",
                "inbetriebnahme",
                "since",
                "in use since",
                "einsatz seit",
                "produktiv seit",
                "start",
            ],
            Field::Operator => &[
                "betrieb",
                "betreiber",
                "betrieben durch",
                "betrieben von",
                "hosting",
                "operator",
                "operated by",
                "rechenzentrum",
                "betriebsart",
            ],
            Field::CostOnce => &[
                "einmalig",
                "einmalige kosten",
                "kosten einmalig",
                "anschaffung",
                "anschaffungskosten",
                "one off",
                "one off cost",
                "initial cost",
                "einführungskosten",
            ],
            Field::CostYearly => &[
                "jährlich",
                "jährliche kosten",
                "kosten jährlich",
                "laufende kosten",
                "pflege",
                "wartung",
                "pflegekosten",
                "yearly",
                "yearly cost",
                "annual cost",
                "kosten pro jahr",
                "kosten p a",
                "p a",
            ],
            Field::ContactRole => &[
                "ansprechpartner",
                "ansprechpartner rolle",
                "ansprechperson",
                "kontakt",
                "contact",
                "contact role",
                "zuständig",
                "zuständigkeit",
                "fachbereich",
                "verantwortlich",
                "produktverantwortlich",
            ],
        }
    }

    /// How well `label` names this field: 3 for a synonym, 2 for a label that starts with
    /// one, 1 for one that contains one as whole words, 0 otherwise.
    fn score(self, label: &str) -> u8 {
        let l = normalise(label);
        if l.is_empty() {
            return 0;
        }
        let mut best = 0;
        for s in self.synonyms() {
            let s = normalise(s);
            if l == s {
                return 3;
            }
            let padded = format!(" {l} ");
            if l.starts_with(&format!("{s} ")) {
                best = best.max(2);
            } else if padded.contains(&format!(" {s} ")) {
                best = best.max(1);
            }
        }
        best
    }
}

/// The header that was found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Header {
    /// The (last) header row, 0-based; data starts below it.
    pub row: usize,
    /// Whether the row above is a group header.
    pub grouped: bool,
    /// Per column: its label ("Kosten · einmalig" for a grouped column).
    pub labels: Vec<String>,
}

/// Column index → field.
pub type Mapping = BTreeMap<usize, Field>;

/// The label of a column for messages: "C (Hersteller)".
pub fn column_name(header: &Header, col: usize) -> String {
    let label = header.labels.get(col).map(String::as_str).unwrap_or("");
    if label.is_empty() {
        column_letter(col)
    } else {
        format!("{} ({label})", column_letter(col))
    }
}

/// The field a column names: its own text (a synonym or starting with one), the group and
/// the cell together (exactly a synonym, "Kosten" + "einmalig"), or the group alone when the
/// cell is empty (a label merged down over both rows).
fn named(own: &str, group: &str) -> Option<(u8, Field)> {
    let best = |label: &str, min: u8| {
        Field::ALL
            .into_iter()
            .map(|f| (f.score(label), f))
            .filter(|(s, _)| *s >= min)
            .max_by_key(|(s, _)| *s)
    };
    if own.trim().is_empty() {
        return best(group, 2);
    }
    if let Some(hit) = best(own, 2) {
        return Some((hit.0 + 3, hit.1));
    }
    if group.is_empty() {
        return None;
    }
    best(&format!("{group} {own}"), 3)
}

fn labels(table: &Table, row: usize, above: Option<usize>, width: usize) -> Vec<(String, String)> {
    (0..width)
        .map(|c| {
            let group = above.map(|a| group_label(table, a, c)).unwrap_or_default();
            (group, table.cell(row, c).text())
        })
        .collect()
}

fn count_fields(cols: &[(String, String)]) -> usize {
    let mut found: Vec<Field> = Vec::new();
    for (group, own) in cols {
        if let Some((_, f)) = named(own, group)
            && !found.contains(&f)
        {
            found.push(f);
        }
    }
    found.len()
}

/// Whether row `a` may be a group header: at least two cells, or a merged one.
fn may_group(table: &Table, a: usize) -> bool {
    let cells = table
        .rows
        .get(a)
        .map_or(0, |r| r.iter().filter(|c| !c.is_empty()).count());
    cells >= 2 || (cells == 1 && has_merge(table, a))
}

/// Finds the header: the row among the first [`HEADER_SCAN`] whose cells (with the group
/// row above, where there is one) name the most fields, at least two. `None` when no row
/// does.
pub fn find_header(table: &Table) -> Option<Header> {
    let scan = table.rows.len().min(HEADER_SCAN);
    let width = table.width();
    let mut best: Option<(usize, usize, Option<usize>)> = None;
    for r in 0..scan {
        let above = r.checked_sub(1).filter(|a| may_group(table, *a));
        let mut n = count_fields(&labels(table, r, None, width));
        let mut group = None;
        if above.is_some() {
            let with = count_fields(&labels(table, r, above, width));
            if with > n {
                (n, group) = (with, above);
            }
        }
        if best.is_none_or(|(bn, _, _)| n > bn) {
            best = Some((n, r, group));
        }
    }
    let (n, row, above) = best?;
    if n < 2 {
        return None;
    }
    let labels = labels(table, row, above, width)
        .into_iter()
        .map(|(group, cell)| match (group.is_empty(), cell.is_empty()) {
            (false, false) if group != cell => format!("{group} · {cell}"),
            (false, _) => group,
            (true, _) => cell,
        })
        .collect();
    Some(Header {
        row,
        grouped: above.is_some(),
        labels,
    })
}

fn has_merge(table: &Table, row: usize) -> bool {
    table.merged.iter().any(|m| m.row == row)
}

/// The group label over column `c` in row `a`: the cell itself, or the merged region that
/// covers it.
fn group_label(table: &Table, a: usize, c: usize) -> String {
    let own = table.cell(a, c).text();
    if !own.is_empty() {
        return own;
    }
    table
        .merged
        .iter()
        .find(|m| m.row <= a && a <= m.last_row && m.col <= c && c <= m.last_col)
        .map(|m| table.cell(m.row, m.col).text())
        .unwrap_or_default()
}

/// Guesses the mapping from the labels: each field goes to the column that names it best
/// (the cell's own word before the group's), each column to one field.
pub fn guess(table: &Table, header: &Header) -> Mapping {
    let above = header.grouped.then(|| header.row - 1);
    let mut scored: Vec<(u8, usize, Field)> = Vec::new();
    for (c, (group, own)) in labels(table, header.row, above, header.labels.len())
        .into_iter()
        .enumerate()
    {
        if let Some((s, f)) = named(&own, &group) {
            scored.push((s, c, f));
        }
    }
    scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut mapping = Mapping::new();
    for (_, c, f) in scored {
        if !mapping.contains_key(&c) && !mapping.values().any(|x| *x == f) {
            mapping.insert(c, f);
        }
    }
    mapping
}

/// A mapping remembered by labels (normalised label → field), so that it applies again when
/// the columns move.
pub type Remembered = BTreeMap<String, Field>;

/// The remembered form of a mapping.
pub fn remember(header: &Header, mapping: &Mapping) -> Remembered {
    mapping
        .iter()
        .filter_map(|(c, f)| {
            let l = normalise(header.labels.get(*c)?);
            (!l.is_empty()).then_some((l, *f))
        })
        .collect()
}

/// Applies a remembered mapping over a guessed one: a remembered label moves its field to
/// that column (and takes the column from whatever the guess put there).
pub fn recall(header: &Header, guessed: &Mapping, remembered: &Remembered) -> Mapping {
    let mut mapping = guessed.clone();
    for (c, label) in header.labels.iter().enumerate() {
        if let Some(f) = remembered.get(&normalise(label)) {
            mapping.retain(|_, x| x != f);
            mapping.insert(c, *f);
        }
    }
    mapping
}

/// Whether a row holds nothing.
pub fn is_empty_row(cells: &[Cell]) -> bool {
    cells.iter().all(Cell::is_empty)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::types::Format;

    fn table(rows: &[&[&str]]) -> Table {
        Table {
            format: Format::Csv,
            sheet: "CSV".into(),
            rows: rows
                .iter()
                .map(|r| {
                    r.iter()
                        .map(|c| {
                            if c.is_empty() {
                                Cell::Empty
                            } else {
                                Cell::Text((*c).into())
                            }
                        })
                        .collect()
                })
                .collect(),
            merged: vec![],
        }
    }

    #[test]
    fn two_row_header_with_group() {
        let t = table(&[
            &["Bestandsaufnahme Fachverfahren 2026"],
            &[],
            &["Fachverfahren", "Hersteller", "Kosten", "", "Betrieb"],
            &["", "", "einmalig", "jährlich", ""],
            &["OK.EWO", "AKDB", "1.000", "2.000,50 €", "selbst"],
        ]);
        let h = find_header(&t).unwrap();
        assert_eq!(h.row, 3);
        assert!(h.grouped);
        assert_eq!(h.labels[0], "Fachverfahren");
        assert_eq!(h.labels[2], "Kosten · einmalig");
        let m = guess(&t, &h);
        assert_eq!(m.get(&0), Some(&Field::Name));
        assert_eq!(m.get(&1), Some(&Field::Vendor));
        assert_eq!(m.get(&2), Some(&Field::CostOnce));
        assert_eq!(m.get(&3), Some(&Field::CostYearly));
        assert_eq!(m.get(&4), Some(&Field::Operator));
    }

    #[test]
    fn english_headers_and_no_header() {
        let t = table(&[
            &["Product name", "Vendor", "In use since", "Annual cost"],
            &["x", "y", "", ""],
        ]);
        let h = find_header(&t).unwrap();
        assert_eq!(h.row, 0);
        let m = guess(&t, &h);
        assert_eq!(
            m.values().copied().collect::<Vec<_>>(),
            vec![Field::Name, Field::Vendor, Field::Since, Field::CostYearly]
        );
        assert!(find_header(&table(&[&["a", "b"], &["1", "2"]])).is_none());
    }

    #[test]
    fn remembered_mapping_follows_the_label() {
        let t = table(&[&["Produkt", "Hersteller", "Bemerkung"], &["a", "b", "c"]]);
        let h = find_header(&t).unwrap();
        let mut m = guess(&t, &h);
        assert!(!m.contains_key(&2));
        m.insert(2, Field::ContactRole);
        let r = remember(&h, &m);
        let t2 = table(&[&["Bemerkung", "Produkt", "Hersteller"], &["c", "a", "b"]]);
        let h2 = find_header(&t2).unwrap();
        let m2 = recall(&h2, &guess(&t2, &h2), &r);
        assert_eq!(m2.get(&0), Some(&Field::ContactRole));
        assert_eq!(m2.get(&1), Some(&Field::Name));
        assert_eq!(column_letter(27), "AB");
        assert_eq!(column_name(&h2, 0), "A (Bemerkung)");
    }
}
