//! Reading an uploaded inventory file into a grid of cells, bounded.
//!
//! Threat: the file comes from a local user's upload (UI, API, CLI) and may be anything: a
//! renamed binary, a zip bomb (an XLSX or ODS is a zip archive of XML), a sheet that declares
//! a million rows, cells of megabytes. Bounds, checked before and while `calamine` reads:
//! the file's size ([`Limits::max_bytes`]); the archive's entries, counted and *decompressed*
//! up to [`Limits::max_unzipped`] bytes in total (measured while inflating, not trusted from
//! the archive's directory); the rows and columns kept ([`Limits::max_rows`],
//! [`Limits::max_cols`]); the characters of one cell. XLSX sheets are streamed cell by cell
//! (`calamine`'s cell reader), so a declared sheet size costs nothing; ODS repeats
//! (`table:number-rows-repeated`, `table:number-columns-repeated`), which `calamine` expands
//! into cells, are checked first with a streaming XML pass ([`ods_guard`]).

use std::io::{Cursor, Read};

use calamine::{Data, DataRef, Reader};

pub use super::types::Cell;
use super::types::{Format, InventoryError, Limits, Position};
use super::values::excel_serial_date;

/// A merged region of the header: rows and columns, 0-based, inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Merged {
    /// First row.
    pub row: usize,
    /// First column.
    pub col: usize,
    /// Last row.
    pub last_row: usize,
    /// Last column.
    pub last_col: usize,
}

/// The first sheet with content, as a grid (row 0 is the sheet's row 1).
#[derive(Debug, Clone)]
pub struct Table {
    /// The file's format.
    pub format: Format,
    /// The sheet's name ("CSV" for a CSV file).
    pub sheet: String,
    /// Rows of cells; rows may be shorter than others.
    pub rows: Vec<Vec<Cell>>,
    /// Merged cells (XLSX only; other formats leave the covered cells empty).
    pub merged: Vec<Merged>,
}

impl Table {
    /// The cell at (row, col), `Empty` outside the grid.
    pub fn cell(&self, row: usize, col: usize) -> &Cell {
        static EMPTY: Cell = Cell::Empty;
        self.rows
            .get(row)
            .and_then(|r| r.get(col))
            .unwrap_or(&EMPTY)
    }

    /// The widest row's length.
    pub fn width(&self) -> usize {
        self.rows.iter().map(Vec::len).max().unwrap_or(0)
    }
}

/// Which format `bytes` are in: a zip archive holding `xl/workbook.xml` is XLSX, one whose
/// `mimetype` names an OpenDocument spreadsheet is ODS, UTF-8 (or Windows-1252) text is CSV.
pub fn sniff(bytes: &[u8]) -> Result<Format, InventoryError> {
    if bytes.starts_with(b"PK\x03\x04") {
        let zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| {
            InventoryError::file(format!("die Datei ist ein beschädigtes ZIP-Archiv ({e})"))
        })?;
        let names: Vec<&str> = zip.file_names().collect();
        if names.contains(&"xl/workbook.xml") {
            return Ok(Format::Xlsx);
        }
        if names.contains(&"content.xml") && names.contains(&"mimetype") {
            return Ok(Format::Ods);
        }
        return Err(InventoryError::file(
            "die Datei ist ein ZIP-Archiv, aber keine XLSX- oder ODS-Tabelle",
        ));
    }
    if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        return Err(InventoryError::file(
            "das alte Excel-Format (.xls) wird nicht gelesen: bitte als XLSX, ODS oder CSV speichern",
        ));
    }
    let sample = &bytes[..bytes.len().min(4096)];
    let control = sample
        .iter()
        .filter(|b| **b < 0x20 && !matches!(**b, b'\t' | b'\n' | b'\r'))
        .count();
    if control > 0 {
        return Err(InventoryError::file(
            "die Datei ist keine Tabelle (erwartet CSV, XLSX oder ODS)",
        ));
    }
    Ok(Format::Csv)
}

/// Reads the first sheet with content of an inventory file, within `limits`.
pub fn read(bytes: &[u8], limits: &Limits) -> Result<Table, InventoryError> {
    if bytes.is_empty() {
        return Err(InventoryError::file("die Datei ist leer"));
    }
    if bytes.len() > limits.max_bytes {
        return Err(InventoryError::file(format!(
            "die Datei ist mit {} Bytes größer als die erlaubten {} Bytes",
            bytes.len(),
            limits.max_bytes
        )));
    }
    let format = sniff(bytes)?;
    let mut table = match format {
        Format::Csv => read_csv(bytes, limits)?,
        Format::Xlsx => {
            zip_guard(bytes, limits)?;
            read_xlsx(bytes, limits)?
        }
        Format::Ods => {
            zip_guard(bytes, limits)?;
            read_ods(bytes, limits)?
        }
    };
    // Trailing empty rows say nothing.
    while table
        .rows
        .last()
        .is_some_and(|r| r.iter().all(Cell::is_empty))
    {
        table.rows.pop();
    }
    if table.rows.is_empty() {
        return Err(InventoryError::file("die Tabelle enthält keine Daten"));
    }
    Ok(table)
}

/// Inflates every entry of the archive, counting bytes, and refuses the file once the total
/// passes the limit: the decompressed size is measured, never taken from the archive.
fn zip_guard(bytes: &[u8], limits: &Limits) -> Result<(), InventoryError> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| InventoryError::file(format!("beschädigtes ZIP-Archiv ({e})")))?;
    if zip.len() > limits.max_entries {
        return Err(InventoryError::file(format!(
            "das Archiv hat {} Einträge, höchstens {} sind erlaubt",
            zip.len(),
            limits.max_entries
        )));
    }
    let mut total: u64 = 0;
    let mut sink = [0u8; 16 * 1024];
    for i in 0..zip.len() {
        let mut entry = zip
            .by_index(i)
            .map_err(|e| InventoryError::file(format!("beschädigtes ZIP-Archiv ({e})")))?;
        loop {
            let n = entry
                .read(&mut sink)
                .map_err(|e| InventoryError::file(format!("beschädigtes ZIP-Archiv ({e})")))?;
            if n == 0 {
                break;
            }
            total += n as u64;
            if total > limits.max_unzipped {
                return Err(InventoryError::file(format!(
                    "entpackt ist die Datei größer als {} Bytes (ZIP-Bombe?)",
                    limits.max_unzipped
                )));
            }
        }
    }
    Ok(())
}

/// A cell's text, cut to the limit (an over-long cell is an error with its position).
fn bounded_text(
    s: &str,
    limits: &Limits,
    sheet: &str,
    row: usize,
    col: usize,
) -> Result<Cell, InventoryError> {
    let t = s.trim();
    if t.chars().count() > limits.max_cell_chars {
        return Err(InventoryError::at(
            Position::cell(sheet, row, col),
            format!("die Zelle ist länger als {} Zeichen", limits.max_cell_chars),
        ));
    }
    Ok(if t.is_empty() {
        Cell::Empty
    } else {
        Cell::Text(t.to_string())
    })
}

fn too_many_rows(sheet: &str, limits: &Limits) -> InventoryError {
    InventoryError::at(
        Position::sheet(sheet),
        format!(
            "die Tabelle hat mehr als {} Zeilen; bitte aufteilen",
            limits.max_rows
        ),
    )
}

fn put(rows: &mut Vec<Vec<Cell>>, row: usize, col: usize, cell: Cell) {
    if rows.len() <= row {
        rows.resize_with(row + 1, Vec::new);
    }
    let r = &mut rows[row];
    if r.len() <= col {
        r.resize(col + 1, Cell::Empty);
    }
    r[col] = cell;
}

fn read_csv(bytes: &[u8], limits: &Limits) -> Result<Table, InventoryError> {
    let sheet = "CSV";
    let text = decode_text(bytes);
    // The separator that occurs most in the first lines (a title line above the table has
    // none); `;` on a tie, as German Excel writes it.
    let head: Vec<&str> = text.lines().take(20).collect();
    let count = |d: u8| {
        head.iter()
            .map(|l| l.bytes().filter(|b| *b == d).count())
            .sum::<usize>()
    };
    let delimiter = [b'\t', b',', b';']
        .into_iter()
        .max_by_key(|d| count(*d))
        .unwrap_or(b';');
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        if i >= limits.max_rows {
            return Err(too_many_rows(sheet, limits));
        }
        let record = record.map_err(|e| {
            InventoryError::at(
                Position::row(sheet, e.position().map_or(i, |p| p.line() as usize - 1)),
                format!("die CSV-Zeile ist fehlerhaft ({e})"),
            )
        })?;
        let mut cells = Vec::new();
        for (col, field) in record.iter().enumerate().take(limits.max_cols) {
            cells.push(bounded_text(field, limits, sheet, i, col)?);
        }
        rows.push(cells);
    }
    Ok(Table {
        format: Format::Csv,
        sheet: sheet.into(),
        rows,
        merged: Vec::new(),
    })
}

/// UTF-8 (with or without BOM), else Windows-1252 as Excel writes German CSV: Latin-1 with
/// the euro sign at 0x80.
fn decode_text(bytes: &[u8]) -> String {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => bytes
            .iter()
            .map(|b| if *b == 0x80 { '€' } else { char::from(*b) })
            .collect(),
    }
}

fn spreadsheet_error(e: impl std::fmt::Display) -> InventoryError {
    InventoryError::file(format!("die Tabelle lässt sich nicht lesen ({e})"))
}

fn read_xlsx(bytes: &[u8], limits: &Limits) -> Result<Table, InventoryError> {
    let mut book: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(Cursor::new(bytes)).map_err(spreadsheet_error)?;
    let names = book.sheet_names();
    for name in names.iter().take(limits.max_sheets) {
        let merged = match book.worksheet_merge_cells(name) {
            Some(Ok(m)) => m
                .into_iter()
                .take(1000)
                .map(|d| Merged {
                    row: d.start.0 as usize,
                    col: d.start.1 as usize,
                    last_row: d.end.0 as usize,
                    last_col: d.end.1 as usize,
                })
                .collect(),
            _ => Vec::new(),
        };
        let mut reader = book
            .worksheet_cells_reader(name)
            .map_err(spreadsheet_error)?;
        let mut rows: Vec<Vec<Cell>> = Vec::new();
        let mut cells = 0usize;
        while let Some(c) = reader.next_cell().map_err(|e| {
            InventoryError::at(
                Position::sheet(name),
                format!("die Tabelle ist fehlerhaft ({e})"),
            )
        })? {
            let (row, col) = c.get_position();
            let (row, col) = (row as usize, col as usize);
            if col >= limits.max_cols {
                continue;
            }
            let cell = match c.get_value() {
                DataRef::Empty => continue,
                DataRef::String(s) => bounded_text(s, limits, name, row, col)?,
                DataRef::SharedString(s) => bounded_text(s, limits, name, row, col)?,
                DataRef::Int(i) => Cell::Number(*i as f64),
                DataRef::Float(f) => Cell::Number(*f),
                DataRef::Bool(b) => Cell::Bool(*b),
                DataRef::DateTime(d) => match excel_serial_date(d.as_f64()) {
                    Some(d) => Cell::Date(d),
                    None => Cell::Number(d.as_f64()),
                },
                DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => {
                    bounded_text(s, limits, name, row, col)?
                }
                DataRef::Error(e) => Cell::Text(format!("#{e:?}")),
            };
            if cell.is_empty() {
                continue;
            }
            if row >= limits.max_rows {
                return Err(too_many_rows(name, limits));
            }
            cells += 1;
            if cells > limits.max_rows * limits.max_cols {
                return Err(too_many_rows(name, limits));
            }
            put(&mut rows, row, col, cell);
        }
        if rows.iter().any(|r| r.iter().any(|c| !c.is_empty())) {
            return Ok(Table {
                format: Format::Xlsx,
                sheet: name.clone(),
                rows,
                merged,
            });
        }
    }
    Err(InventoryError::file("die Tabelle enthält keine Daten"))
}

fn read_ods(bytes: &[u8], limits: &Limits) -> Result<Table, InventoryError> {
    ods_guard(bytes, limits)?;
    let mut book: calamine::Ods<_> =
        calamine::open_workbook_from_rs(Cursor::new(bytes)).map_err(spreadsheet_error)?;
    let names = book.sheet_names();
    for name in names.iter().take(limits.max_sheets) {
        let range = book.worksheet_range(name).map_err(spreadsheet_error)?;
        let (r0, c0) = range.start().unwrap_or((0, 0));
        let mut rows: Vec<Vec<Cell>> = Vec::new();
        for (r, row) in range.rows().enumerate() {
            let r = r + r0 as usize;
            if r >= limits.max_rows {
                return Err(too_many_rows(name, limits));
            }
            for (c, v) in row.iter().enumerate() {
                let c = c + c0 as usize;
                if c >= limits.max_cols {
                    break;
                }
                let cell = match v {
                    Data::Empty => continue,
                    Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => {
                        bounded_text(s, limits, name, r, c)?
                    }
                    Data::Int(i) => Cell::Number(*i as f64),
                    Data::Float(f) => Cell::Number(*f),
                    Data::Bool(b) => Cell::Bool(*b),
                    Data::DateTime(d) => match excel_serial_date(d.as_f64()) {
                        Some(d) => Cell::Date(d),
                        None => Cell::Number(d.as_f64()),
                    },
                    Data::Error(e) => Cell::Text(format!("#{e:?}")),
                };
                if !cell.is_empty() {
                    put(&mut rows, r, c, cell);
                }
            }
        }
        if !rows.is_empty() {
            return Ok(Table {
                format: Format::Ods,
                sheet: name.clone(),
                rows,
                merged: Vec::new(),
            });
        }
    }
    Err(InventoryError::file("die Tabelle enthält keine Daten"))
}

/// Counts the cells an ODS would expand to before `calamine` expands them: repeated rows and
/// columns that hold a value count in full, and so do empty rows repeated *between* rows with
/// values; only the empty filler at the end of a sheet and of a row (which office programs
/// write with repeat counts near a million) is free.
pub fn ods_guard(bytes: &[u8], limits: &Limits) -> Result<(), InventoryError> {
    use quick_xml::events::Event;
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| InventoryError::file(format!("beschädigtes ZIP-Archiv ({e})")))?;
    let mut content = Vec::new();
    zip.by_name("content.xml")
        .map_err(|e| InventoryError::file(format!("beschädigte ODS-Datei ({e})")))?
        .take(limits.max_unzipped)
        .read_to_end(&mut content)
        .map_err(|e| InventoryError::file(format!("beschädigte ODS-Datei ({e})")))?;
    let mut reader = quick_xml::Reader::from_reader(content.as_slice());
    let mut buf = Vec::new();
    let budget = (limits.max_rows as u64) * (limits.max_cols as u64);
    let repeat = |e: &quick_xml::events::BytesStart<'_>, key: &[u8]| -> u64 {
        e.attributes()
            .flatten()
            .find(|a| a.key.as_ref() == key)
            .and_then(|a| std::str::from_utf8(&a.value).ok()?.parse().ok())
            .unwrap_or(1)
    };
    let has_value = |e: &quick_xml::events::BytesStart<'_>| {
        e.attributes()
            .flatten()
            .any(|a| a.key.as_ref() == b"office:value-type")
    };
    // Per table: rows expanded so far, empty rows pending (count only if a row with a value
    // follows), cells of the current row.
    let (mut rows, mut pending_rows, mut row_repeat) = (0u64, 0u64, 1u64);
    let (mut row_cells, mut pending_cols, mut row_has_value) = (0u64, 0u64, false);
    let mut tables = 0usize;
    let too_big = || {
        InventoryError::file(format!(
            "die ODS-Tabelle ist größer als {} Zeilen × {} Spalten",
            limits.max_rows, limits.max_cols
        ))
    };
    loop {
        let ev = reader
            .read_event_into(&mut buf)
            .map_err(|e| InventoryError::file(format!("beschädigte ODS-Datei ({e})")))?;
        match ev {
            Event::Start(e) | Event::Empty(e)
                if matches!(
                    e.name().as_ref(),
                    b"table:table-cell" | b"table:covered-table-cell"
                ) =>
            {
                let n = repeat(&e, b"table:number-columns-repeated");
                if has_value(&e) {
                    row_cells = row_cells.saturating_add(pending_cols).saturating_add(n);
                    pending_cols = 0;
                    row_has_value = true;
                    if row_cells > limits.max_cols as u64 * 4 {
                        return Err(too_big());
                    }
                } else {
                    pending_cols = pending_cols.saturating_add(n);
                }
            }
            Event::Start(e) if e.name().as_ref() == b"table:table-row" => {
                row_repeat = repeat(&e, b"table:number-rows-repeated");
                (row_cells, pending_cols, row_has_value) = (0, 0, false);
            }
            Event::End(e) if e.name().as_ref() == b"table:table-row" => {
                if row_has_value {
                    rows = rows.saturating_add(pending_rows).saturating_add(row_repeat);
                    pending_rows = 0;
                    if rows > limits.max_rows as u64
                        || rows.saturating_mul(row_cells.max(1)) > budget * 4
                    {
                        return Err(too_big());
                    }
                } else {
                    pending_rows = pending_rows.saturating_add(row_repeat);
                }
            }
            Event::Start(e) if e.name().as_ref() == b"table:table" => {
                (rows, pending_rows) = (0, 0);
                tables += 1;
                if tables > limits.max_sheets * 4 {
                    return Err(InventoryError::file("die ODS-Datei hat zu viele Tabellen"));
                }
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    Ok(())
}
