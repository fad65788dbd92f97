//! Civil dates (proleptic Gregorian, UTC) from days since 1970-01-01 and back, for the
//! timestamps the exports, feeds and pages print and the serial dates spreadsheets hold.
//! Howard Hinnant's public-domain algorithms, written out once: the formats need only these
//! two conversions, not a date library.

/// The (year, month, day) of `days` since 1970-01-01.
pub fn date_of_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Days since 1970-01-01 of the date `y`-`m`-`d` (month 1–12).
pub fn days_of_date(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `YYYY-MM-DD` of Unix seconds.
pub fn day_of_unix(secs: i64) -> String {
    let (y, m, d) = date_of_days(secs.div_euclid(86_400));
    format!("{y:04}-{m:02}-{d:02}")
}

/// `YYYY-MM-DDThh:mm:ssZ` of Unix seconds.
pub fn time_of_unix(secs: i64) -> String {
    let rem = secs.rem_euclid(86_400);
    format!(
        "{}T{:02}:{:02}:{:02}Z",
        day_of_unix(secs),
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_days_both_ways() {
        for (days, date) in [
            (0, (1970, 1, 1)),
            (-1, (1969, 12, 31)),
            (11_016, (2000, 2, 29)),
            (-25_569, (1899, 12, 30)),
            (20_793, (2026, 12, 6)),
            (47_540, (2100, 2, 28)),
        ] {
            assert_eq!(date_of_days(days), date, "{days}");
            assert_eq!(days_of_date(date.0, date.1, date.2), days, "{date:?}");
        }
        assert_eq!(time_of_unix(1_796_569_445), "2026-12-06T15:04:05Z");
        assert_eq!(day_of_unix(-1), "1969-12-31");
    }
}
