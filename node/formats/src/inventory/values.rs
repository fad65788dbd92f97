//! Cell values as Kommunen type them: German dates ("01.03.2019"), Excel serial dates,
//! German amounts ("1.234,50 €"), status and operator words.

use allmende_protocol::schema::{Date, DeploymentStatus};

use super::types::Cell;

/// The date of an Excel serial number (days since 1899-12-30, the 1900 system with its leap
/// year bug already folded in for dates after February 1900). Only 1950–2100 is accepted:
/// an inventory's "since" outside that is a typing error, not a date.
pub fn excel_serial_date(serial: f64) -> Option<Date> {
    if !serial.is_finite() || !(18_264.0..=73_051.0).contains(&serial) {
        return None;
    }
    let base = crate::civil::days_of_date(1899, 12, 30);
    let (y, m, d) = crate::civil::date_of_days(base + serial.floor() as i64);
    ymd(y, m, d)
}

fn ymd(y: i64, m: i64, d: i64) -> Option<Date> {
    format!("{y:04}-{m:02}-{d:02}").parse().ok()
}

/// What a date cell said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DateValue {
    /// A full date.
    Day(Date),
    /// Only a month or a year was given; the date is its first day.
    Partial(Date),
}

/// Reads a date: a date cell, an Excel serial number, `TT.MM.JJJJ` (also `T.M.JJ`),
/// `JJJJ-MM-TT` (also with a time after it), `MM/JJJJ`, `MM.JJJJ` or a year alone.
pub fn date(cell: &Cell) -> Result<Option<DateValue>, String> {
    let text = match cell {
        Cell::Empty => return Ok(None),
        Cell::Date(d) => return Ok(Some(DateValue::Day(d.clone()))),
        Cell::Number(n) => {
            if (1950.0..=2100.0).contains(n) && n.fract() == 0.0 {
                return Ok(ymd(*n as i64, 1, 1).map(DateValue::Partial));
            }
            return excel_serial_date(*n)
                .map(|d| Some(DateValue::Day(d)))
                .ok_or_else(|| format!("{n} ist kein Datum"));
        }
        Cell::Bool(_) => return Err("ein Wahrheitswert ist kein Datum".into()),
        Cell::Text(t) => t.trim(),
    };
    if text.is_empty() {
        return Ok(None);
    }
    let bad = || format!("{:?} ist kein Datum (erwartet z. B. 01.03.2019)", cut(text));
    let year = |s: &str| -> Option<i64> {
        let v: i64 = s.parse().ok()?;
        match s.len() {
            4 => Some(v),
            // Two-digit years in an inventory are this century.
            2 => Some(2000 + v),
            _ => None,
        }
    };
    let num = |s: &str| -> Option<i64> {
        (!s.is_empty() && s.len() <= 2 && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let iso = text
        .get(..10)
        .filter(|p| p.as_bytes().get(4) == Some(&b'-'));
    if let Some(p) = iso {
        return p
            .parse::<Date>()
            .map(|d| Some(DateValue::Day(d)))
            .map_err(|_| bad());
    }
    let parts: Vec<&str> = text.split(['.', '/']).map(str::trim).collect();
    let found = match parts.as_slice() {
        [d, m, y] => {
            let y = if y.is_empty() { None } else { year(y) };
            match (num(d), num(m), y) {
                (Some(d), Some(m), Some(y)) => ymd(y, m, d).map(DateValue::Day),
                _ => None,
            }
        }
        [m, y] if y.len() == 4 => match (num(m), year(y)) {
            (Some(m), Some(y)) => ymd(y, m, 1).map(DateValue::Partial),
            _ => None,
        },
        [y] if y.len() == 4 => year(y).and_then(|y| ymd(y, 1, 1)).map(DateValue::Partial),
        _ => None,
    };
    match found {
        Some(d) => {
            let year: i64 = d_year(&d);
            if !(1950..=2100).contains(&year) {
                return Err(format!(
                    "{:?}: das Jahr liegt außerhalb 1950–2100",
                    cut(text)
                ));
            }
            Ok(Some(d))
        }
        None => Err(bad()),
    }
}

fn d_year(d: &DateValue) -> i64 {
    let (DateValue::Day(d) | DateValue::Partial(d)) = d;
    d.as_str()
        .get(..4)
        .and_then(|y| y.parse().ok())
        .unwrap_or(0)
}

/// Reads an amount in euros, rounded to whole euros: a number cell, or text such as
/// `1.234,50 €`, `1234.50`, `EUR 12.000`, `12 000 €`. German notation wins where the text is
/// ambiguous (`1,5` is one and a half, `1.500` is fifteen hundred). Negative amounts and
/// amounts over ten billion euros are refused.
pub fn euros(cell: &Cell) -> Result<Option<u64>, String> {
    let value = match cell {
        Cell::Empty => return Ok(None),
        Cell::Number(n) => *n,
        Cell::Date(_) | Cell::Bool(_) => return Err("kein Betrag".into()),
        Cell::Text(t) => {
            let t = t.trim();
            if t.is_empty() || t == "-" || t == "–" {
                return Ok(None);
            }
            parse_amount(t).ok_or_else(|| {
                format!("{:?} ist kein Betrag (erwartet z. B. 1.234,50 €)", cut(t))
            })?
        }
    };
    if !value.is_finite() || value < 0.0 {
        return Err(format!("{value} ist kein zulässiger Betrag"));
    }
    if value > 10_000_000_000.0 {
        return Err(format!("{value} € ist unplausibel groß"));
    }
    Ok(Some(value.round() as u64))
}

fn parse_amount(t: &str) -> Option<f64> {
    let mut s: String = t
        .replace("EUR", "")
        .replace("Euro", "")
        .replace("euro", "")
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '€' && *c != '\u{a0}' && *c != '\'')
        .collect();
    if s.is_empty() || s.len() > 24 {
        return None;
    }
    if let Some(rest) = s.strip_suffix(",-").or_else(|| s.strip_suffix(",--")) {
        s = rest.to_string();
    }
    if !s
        .bytes()
        .all(|b| b.is_ascii_digit() || b == b'.' || b == b',')
    {
        return None;
    }
    let last_dot = s.rfind('.');
    let last_comma = s.rfind(',');
    let normalised = match (last_dot, last_comma) {
        (Some(d), Some(c)) if c > d => s.replace('.', "").replace(',', "."),
        (Some(_), Some(_)) => s.replace(',', ""),
        (None, Some(_)) => {
            if s.matches(',').count() > 1 {
                return None;
            }
            s.replace(',', ".")
        }
        (Some(_), None) => {
            // "12.000" and "1.234.567" are thousands; "1234.5" is a decimal point.
            let groups: Vec<&str> = s.split('.').collect();
            if groups.len() > 1 && groups[1..].iter().all(|g| g.len() == 3) && !groups[0].is_empty()
            {
                s.replace('.', "")
            } else if groups.len() == 2 {
                s
            } else {
                return None;
            }
        }
        (None, None) => s,
    };
    normalised.parse().ok()
}

/// The lifecycle a status word names; `None` for a word not understood.
pub fn status(text: &str) -> Option<DeploymentStatus> {
    let n = allmende_store::search_text::normalise(text);
    if n.is_empty() {
        return None;
    }
    if let Ok(s) = text.trim().parse::<DeploymentStatus>() {
        return Some(s);
    }
    let has = |words: &[&str]| {
        words
            .iter()
            .any(|w| n.contains(&allmende_store::search_text::normalise(w)))
    };
    if has(&[
        "abgelöst",
        "abgeschaltet",
        "außer betrieb",
        "eingestellt",
        "retired",
        "stillgelegt",
        "ausgelaufen",
        "beendet",
    ]) {
        Some(DeploymentStatus::Retired)
    } else if has(&["pilot", "test", "erprobung"]) {
        Some(DeploymentStatus::Pilot)
    } else if has(&[
        "geplant",
        "planung",
        "ausschreibung",
        "planned",
        "einführung",
    ]) {
        Some(DeploymentStatus::Planned)
    } else if has(&[
        "produktiv",
        "produktion",
        "wirkbetrieb",
        "betrieb",
        "aktiv",
        "einsatz",
        "production",
        "live",
    ]) {
        Some(DeploymentStatus::Production)
    } else {
        None
    }
}

/// Who operates it, as the sheet says it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "by", content = "name", rename_all = "snake_case")]
pub enum OperatorText {
    /// The organisation itself.
    Itself,
    /// The vendor, as a service.
    Saas,
    /// A named IT-Dienstleister, to be found among the organisations the node knows.
    Named(String),
}

/// Reads the operator column: "selbst", "eigener Betrieb", "SaaS", "Hersteller", or the name
/// of an IT-Dienstleister.
pub fn operator(text: &str) -> Option<OperatorText> {
    let t = text.trim();
    if t.is_empty() {
        return None;
    }
    let n = allmende_store::search_text::normalise(t);
    let is = |words: &[&str]| {
        words.iter().any(|w| {
            n == allmende_store::search_text::normalise(w)
                || n.starts_with(&allmende_store::search_text::normalise(w))
        })
    };
    if is(&[
        "selbst",
        "self",
        "eigenbetrieb",
        "eigener betrieb",
        "intern",
        "inhouse",
        "eigene it",
        "vor ort",
    ]) {
        Some(OperatorText::Itself)
    } else if is(&["saas", "hersteller", "anbieter", "cloud", "vendor"]) {
        Some(OperatorText::Saas)
    } else {
        Some(OperatorText::Named(cut(t).to_string()))
    }
}

/// The first 80 characters of `s`, for messages.
pub fn cut(s: &str) -> &str {
    match s.char_indices().nth(80) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Cell {
        Cell::Text(s.into())
    }

    fn day(s: &str) -> Option<DateValue> {
        Some(DateValue::Day(s.parse().unwrap()))
    }

    #[test]
    fn german_and_iso_dates_and_serials() {
        assert_eq!(date(&text("01.03.2019")).unwrap(), day("2019-03-01"));
        assert_eq!(date(&text("1.3.19")).unwrap(), day("2019-03-01"));
        assert_eq!(
            date(&text("2019-03-01T00:00:00")).unwrap(),
            day("2019-03-01")
        );
        assert_eq!(date(&Cell::Number(43525.0)).unwrap(), day("2019-03-01"));
        assert_eq!(
            date(&text("03/2019")).unwrap(),
            Some(DateValue::Partial("2019-03-01".parse().unwrap()))
        );
        assert_eq!(
            date(&Cell::Number(2015.0)).unwrap(),
            Some(DateValue::Partial("2015-01-01".parse().unwrap()))
        );
        assert_eq!(date(&text(" ")).unwrap(), None);
        assert!(date(&text("31.02.2019")).is_err());
        assert!(date(&text("demnächst")).unwrap_err().contains("demnächst"));
        assert!(date(&text("01.01.1800")).is_err());
        assert!(date(&Cell::Number(1e300)).is_err());
    }

    #[test]
    fn german_amounts() {
        assert_eq!(euros(&text("1.234,50 €")).unwrap(), Some(1235));
        assert_eq!(euros(&text("1.234,49 €")).unwrap(), Some(1234));
        assert_eq!(euros(&text("12.000")).unwrap(), Some(12_000));
        assert_eq!(euros(&text("EUR 2.500,-")).unwrap(), Some(2_500));
        assert_eq!(euros(&text("1234.5")).unwrap(), Some(1235));
        assert_eq!(euros(&text("1,5")).unwrap(), Some(2));
        assert_eq!(euros(&text("12 000 €")).unwrap(), Some(12_000));
        assert_eq!(euros(&text("1,234.50")).unwrap(), Some(1235));
        assert_eq!(euros(&Cell::Number(99.4)).unwrap(), Some(99));
        assert_eq!(euros(&text("-")).unwrap(), None);
        assert!(euros(&text("ca. 500")).is_err());
        assert!(euros(&text("-5")).is_err());
        assert!(euros(&Cell::Number(f64::NAN)).is_err());
        assert!(euros(&Cell::Number(2e10)).is_err());
        assert!(euros(&text(&"9".repeat(400))).is_err());
    }

    #[test]
    fn status_and_operator_words() {
        assert_eq!(status("Wirkbetrieb"), Some(DeploymentStatus::Production));
        assert_eq!(status("im Einsatz"), Some(DeploymentStatus::Production));
        assert_eq!(status("abgelöst"), Some(DeploymentStatus::Retired));
        assert_eq!(status("Testbetrieb"), Some(DeploymentStatus::Pilot));
        assert_eq!(status("in Planung"), Some(DeploymentStatus::Planned));
        assert_eq!(status("???"), None);
        assert_eq!(operator("Eigenbetrieb"), Some(OperatorText::Itself));
        assert_eq!(operator("SaaS (Hersteller)"), Some(OperatorText::Saas));
        assert_eq!(
            operator("Dataport"),
            Some(OperatorText::Named("Dataport".into()))
        );
        assert_eq!(operator(""), None);
    }
}
