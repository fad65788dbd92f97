//! The inventory import (Bestandsaufnahme): a Kommune's spreadsheet of the software it runs,
//! as CSV, XLSX or ODS, read into deployment rows.
//!
//! ```text
//!   bytes ──read──▶ Table (first sheet with content, bounded)      read.rs
//!         ──find_header / guess / recall──▶ Header + Mapping        mapping.rs
//!         ──parse_rows──▶ Row per data row + Issues (sheet, row, column)   this file, values.rs
//!         ──plan (catalog matching, own deployments)──▶ Plan        plan.rs
//! ```
//!
//! Nothing here writes: the plan is turned into one signed batch by the repository thread
//! (`allmende_repo_thread::inventory`). The file is reread on confirmation, so nothing from
//! a preview has to be kept between requests.
//!
//! `calamine` reads XLSX and ODS, the `csv` crate CSV; this module only bounds them (see
//! [`read`]) and interprets the cells.

pub mod mapping;
pub mod plan;
pub mod read;
pub mod types;
pub mod values;

use allmende_protocol::schema::{Date, DeploymentStatus, Task, WebUrl};
use serde::Serialize;

pub use mapping::{Field, Header, Mapping, Remembered};
use read::{Cell, Table};
pub use types::{Format, InventoryError, Limits, Position};
use values::{DateValue, OperatorText};

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The row cannot be imported as it is.
    Error,
    /// The row is imported; something was assumed or left out.
    Warning,
}

/// A finding about a row or cell.
#[derive(Debug, Clone, Serialize)]
pub struct Issue {
    /// Error or warning.
    pub severity: Severity,
    /// Where.
    pub position: Position,
    /// The field concerned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<Field>,
    /// What (German).
    pub message: String,
}

/// One data row, read.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// The row number as the spreadsheet shows it.
    pub row: usize,
    /// Product name as written.
    pub name: String,
    /// Vendor as written.
    pub vendor: Option<String>,
    /// Repository or website.
    pub repository: Option<WebUrl>,
    /// Version.
    pub version: Option<String>,
    /// Tasks.
    pub tasks: Vec<Task>,
    /// Status (production when the column is absent or empty).
    pub status: DeploymentStatus,
    /// Whether the status column said anything.
    pub status_given: bool,
    /// In use since.
    pub since: Option<Date>,
    /// Operator as written.
    pub operator: Option<OperatorText>,
    /// One-off cost in euros.
    pub cost_once_eur: Option<u64>,
    /// Yearly cost in euros.
    pub cost_yearly_eur: Option<u64>,
    /// Contact role.
    pub contact_role: Option<String>,
    /// Whether the row has an error (it is not imported).
    pub has_error: bool,
}

/// A sheet read and mapped.
#[derive(Debug, Clone, Serialize)]
pub struct Parsed {
    /// The format.
    pub format: Format,
    /// The sheet read.
    pub sheet: String,
    /// The header found.
    pub header: Header,
    /// The mapping used.
    #[serde(serialize_with = "ser_mapping")]
    pub mapping: Mapping,
    /// The data rows (empty rows skipped).
    pub rows: Vec<Row>,
    /// Empty rows skipped.
    pub empty_rows: usize,
    /// Findings.
    pub issues: Vec<Issue>,
}

fn ser_mapping<S: serde::Serializer>(m: &Mapping, s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut map = s.serialize_map(Some(m.len()))?;
    for (c, f) in m {
        map.serialize_entry(&mapping::column_letter(*c), f)?;
    }
    map.end()
}

/// How the columns are to be mapped: guessed, then what was remembered, then the user's
/// explicit choices (column letter → field, or to nothing).
#[derive(Debug, Clone, Default)]
pub struct MappingChoice {
    /// The mapping remembered for this organisation.
    pub remembered: Remembered,
    /// Explicit choices: column index → field (`None`: ignore the column).
    pub explicit: Vec<(usize, Option<Field>)>,
}

/// Parses a column letter ("C", "AB") into a 0-based index.
pub fn column_index(letters: &str) -> Option<usize> {
    let l = letters.trim();
    if l.is_empty() || l.len() > 3 || !l.bytes().all(|b| b.is_ascii_alphabetic()) {
        return None;
    }
    Some(
        l.bytes().fold(0usize, |acc, b| {
            acc * 26 + usize::from(b.to_ascii_uppercase() - b'A') + 1
        }) - 1,
    )
}

/// Longest text kept for names, vendors, versions, roles.
const MAX_TEXT: usize = 200;
/// Most tasks of one row.
const MAX_TASKS: usize = 20;

/// Reads `bytes`, finds the header, maps the columns and reads every data row.
pub fn parse(
    bytes: &[u8],
    limits: &Limits,
    choice: &MappingChoice,
) -> Result<Parsed, InventoryError> {
    let table = read::read(bytes, limits)?;
    let header = mapping::find_header(&table).ok_or_else(|| {
        InventoryError::at(
            Position::sheet(&table.sheet),
            format!(
                "keine Kopfzeile gefunden: in den ersten {} Zeilen nennt keine Zeile mindestens zwei Spalten wie „Produkt“, „Hersteller“, „Version“, „Status“",
                mapping::HEADER_SCAN
            ),
        )
    })?;
    let mut mapping = mapping::recall(
        &header,
        &mapping::guess(&table, &header),
        &choice.remembered,
    );
    for (c, f) in &choice.explicit {
        if let Some(f) = f {
            mapping.retain(|_, x| x != f);
            mapping.insert(*c, *f);
        } else {
            mapping.remove(c);
        }
    }
    if !mapping.values().any(|f| *f == Field::Name) {
        return Err(InventoryError::at(
            Position::row(&table.sheet, header.row),
            "keine Spalte für den Produktnamen: bitte eine Spalte „Produkt“ zuordnen",
        ));
    }
    let mut rows = Vec::new();
    let mut issues = Vec::new();
    let mut empty_rows = 0;
    for r in header.row + 1..table.rows.len() {
        let cells = &table.rows[r];
        if mapping::is_empty_row(cells) {
            empty_rows += 1;
            continue;
        }
        let mut mapped_empty = true;
        for c in mapping.keys() {
            if !table.cell(r, *c).is_empty() {
                mapped_empty = false;
            }
        }
        if mapped_empty {
            empty_rows += 1;
            continue;
        }
        rows.push(parse_row(&table, &header, &mapping, r, &mut issues));
    }
    if rows.is_empty() {
        return Err(InventoryError::at(
            Position::sheet(&table.sheet),
            "unter der Kopfzeile stehen keine Daten",
        ));
    }
    Ok(Parsed {
        format: table.format,
        sheet: table.sheet,
        header,
        mapping,
        rows,
        empty_rows,
        issues,
    })
}

fn text_of(cell: &Cell) -> Option<String> {
    let t = cell.text();
    let t = t.trim();
    (!t.is_empty()).then(|| values::cut(t).chars().take(MAX_TEXT).collect())
}

fn parse_row(
    table: &Table,
    header: &Header,
    mapping: &Mapping,
    r: usize,
    issues: &mut Vec<Issue>,
) -> Row {
    let mut row = Row {
        row: r + 1,
        name: String::new(),
        vendor: None,
        repository: None,
        version: None,
        tasks: Vec::new(),
        status: DeploymentStatus::Production,
        status_given: false,
        since: None,
        operator: None,
        cost_once_eur: None,
        cost_yearly_eur: None,
        contact_role: None,
        has_error: false,
    };
    let mut say = |severity: Severity, c: usize, f: Field, message: String| {
        issues.push(Issue {
            severity,
            position: Position {
                column: Some(mapping::column_name(header, c)),
                ..Position::row(&table.sheet, r)
            },
            field: Some(f),
            message,
        });
        severity == Severity::Error
    };
    let mut error = false;
    for (&c, &f) in mapping {
        let cell = table.cell(r, c);
        match f {
            Field::Name => match text_of(cell) {
                Some(t) => row.name = t,
                None => error |= say(Severity::Error, c, f, "der Produktname fehlt".into()),
            },
            Field::Vendor => row.vendor = text_of(cell),
            Field::Version => row.version = text_of(cell),
            Field::ContactRole => row.contact_role = text_of(cell),
            Field::Repository => {
                if let Some(t) = text_of(cell) {
                    let url = if t.contains("://") {
                        t.clone()
                    } else {
                        format!("https://{t}")
                    };
                    match url.parse::<WebUrl>() {
                        Ok(u) => row.repository = Some(u),
                        Err(_) => {
                            say(
                                Severity::Warning,
                                c,
                                f,
                                format!("{t:?} ist keine Web-Adresse; weggelassen"),
                            );
                        }
                    }
                }
            }
            Field::Tasks => {
                let text = cell.text();
                for part in text
                    .split([',', ';', '\n', '|'])
                    .map(str::trim)
                    .filter(|p| !p.is_empty())
                {
                    if row.tasks.len() >= MAX_TASKS {
                        say(
                            Severity::Warning,
                            c,
                            f,
                            format!("mehr als {MAX_TASKS} Aufgaben; der Rest ist weggelassen"),
                        );
                        break;
                    }
                    match part.parse::<Task>() {
                        Ok(t) if !row.tasks.contains(&t) => row.tasks.push(t),
                        Ok(_) => {}
                        Err(e) => {
                            say(
                                Severity::Warning,
                                c,
                                f,
                                format!(
                                    "Aufgabe {:?} weggelassen: {}",
                                    values::cut(part),
                                    e.message
                                ),
                            );
                        }
                    }
                }
            }
            Field::Status => {
                if let Some(t) = text_of(cell) {
                    match values::status(&t) {
                        Some(s) => {
                            row.status = s;
                            row.status_given = true;
                        }
                        None => {
                            error |= say(
                                Severity::Error,
                                c,
                                f,
                                format!(
                                    "unbekannter Status {t:?} (erwartet z. B. Produktion, Pilot, geplant, abgelöst)"
                                ),
                            )
                        }
                    }
                }
            }
            Field::Since => match values::date(cell) {
                Ok(Some(DateValue::Day(d))) => row.since = Some(d),
                Ok(Some(DateValue::Partial(d))) => {
                    say(
                        Severity::Warning,
                        c,
                        f,
                        format!(
                            "nur Monat oder Jahr angegeben; als {} übernommen",
                            d.as_str()
                        ),
                    );
                    row.since = Some(d);
                }
                Ok(None) => {}
                Err(m) => error |= say(Severity::Error, c, f, m),
            },
            Field::Operator => row.operator = values::operator(&cell.text()),
            Field::CostOnce | Field::CostYearly => match values::euros(cell) {
                Ok(v) => {
                    if f == Field::CostOnce {
                        row.cost_once_eur = v;
                    } else {
                        row.cost_yearly_eur = v;
                    }
                }
                Err(m) => error |= say(Severity::Error, c, f, m),
            },
        }
    }
    row.has_error = error;
    row
}

#[cfg(test)]
mod tests;
