//! The import's shared types: formats, bounds, positions, the error of a file that cannot be
//! read.

use allmende_protocol::schema::Date;
use serde::Serialize;

/// The file formats read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Comma-, semicolon- or tab-separated text.
    Csv,
    /// Office Open XML workbook.
    Xlsx,
    /// OpenDocument spreadsheet.
    Ods,
}

/// Bounds on an uploaded file.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest file.
    pub max_bytes: usize,
    /// Most rows of a sheet (header included).
    pub max_rows: usize,
    /// Columns read (further columns are ignored).
    pub max_cols: usize,
    /// Most bytes an XLSX/ODS archive may inflate to, all entries together.
    pub max_unzipped: u64,
    /// Most entries of the archive.
    pub max_entries: usize,
    /// Sheets looked at for content.
    pub max_sheets: usize,
    /// Longest cell.
    pub max_cell_chars: usize,
}

impl Default for Limits {
    /// 4 MiB files, 2,000 rows, 40 columns, 40 MiB inflated, 1,000 characters per cell: a
    /// Kommune's inventory has 100–300 rows; a spreadsheet beyond these is not one.
    fn default() -> Self {
        Self {
            max_bytes: 4 * 1024 * 1024,
            max_rows: 2_000,
            max_cols: 40,
            max_unzipped: 40 * 1024 * 1024,
            max_entries: 200,
            max_sheets: 16,
            max_cell_chars: 1_000,
        }
    }
}

/// Where something is: sheet, row (1-based, as the spreadsheet shows it), column.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Position {
    /// The sheet ("CSV" for a CSV file).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sheet: Option<String>,
    /// Row number as the spreadsheet program shows it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub row: Option<usize>,
    /// Column letter and label, e.g. "C (Hersteller)".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
}

impl Position {
    /// A sheet.
    pub fn sheet(sheet: &str) -> Self {
        Self {
            sheet: Some(sheet.into()),
            ..Self::default()
        }
    }
    /// A row of a sheet (`row` 0-based).
    pub fn row(sheet: &str, row: usize) -> Self {
        Self {
            row: Some(row + 1),
            ..Self::sheet(sheet)
        }
    }
    /// A cell (0-based row and column).
    pub fn cell(sheet: &str, row: usize, col: usize) -> Self {
        Self {
            column: Some(column_letter(col)),
            ..Self::row(sheet, row)
        }
    }
}

impl std::fmt::Display for Position {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut parts = Vec::new();
        if let Some(s) = &self.sheet {
            parts.push(format!("Tabelle {s}"));
        }
        if let Some(r) = self.row {
            parts.push(format!("Zeile {r}"));
        }
        if let Some(c) = &self.column {
            parts.push(format!("Spalte {c}"));
        }
        f.write_str(&parts.join(", "))
    }
}

/// The file as a whole cannot be read.
#[derive(Debug, Clone, thiserror::Error, Serialize)]
#[error("{}{message}", if position.sheet.is_some() { format!("{position}: ") } else { String::new() })]
pub struct InventoryError {
    /// Where, as far as known.
    pub position: Position,
    /// What is wrong (German).
    pub message: String,
}

impl InventoryError {
    /// An error of the whole file.
    pub fn file(message: impl Into<String>) -> Self {
        Self {
            position: Position::default(),
            message: message.into(),
        }
    }
    /// An error at a position.
    pub fn at(position: Position, message: impl Into<String>) -> Self {
        Self {
            position,
            message: message.into(),
        }
    }
}

/// Spreadsheet letters of a 0-based column: 0 → A, 26 → AA.
pub fn column_letter(mut col: usize) -> String {
    let mut out = Vec::new();
    loop {
        out.push(b'A' + (col % 26) as u8);
        if col < 26 {
            break;
        }
        col = col / 26 - 1;
    }
    out.reverse();
    String::from_utf8_lossy(&out).into_owned()
}

/// One cell's value.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Cell {
    /// Nothing.
    #[default]
    Empty,
    /// Text, trimmed of surrounding white space.
    Text(String),
    /// A number.
    Number(f64),
    /// A date cell.
    Date(Date),
    /// A truth value.
    Bool(bool),
}

impl Cell {
    /// The cell as text (numbers without a trailing `.0`).
    pub fn text(&self) -> String {
        match self {
            Cell::Empty => String::new(),
            Cell::Text(t) => t.clone(),
            Cell::Number(n) if n.fract() == 0.0 && n.abs() < 1e15 => format!("{}", *n as i64),
            Cell::Number(n) => n.to_string(),
            Cell::Date(d) => d.as_str().to_string(),
            Cell::Bool(b) => if *b { "ja" } else { "nein" }.to_string(),
        }
    }

    /// Whether the cell holds nothing (or only white space).
    pub fn is_empty(&self) -> bool {
        match self {
            Cell::Empty => true,
            Cell::Text(t) => t.trim().is_empty(),
            _ => false,
        }
    }
}
