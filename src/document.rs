//! The document every stage works on, and the parsing of its date.

/// One article: an id, its text, and an optional headline and publication time.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Document {
    /// Unique id within a run or an index.
    pub id: String,
    /// The body.
    pub text: String,
    /// The headline, when the source has one apart from the body.
    pub title: Option<String>,
    /// Publication time in seconds since the Unix epoch (UTC).
    pub timestamp: Option<i64>,
}

impl Document {
    /// A document with an id and a body, no title and no time.
    pub fn new(id: impl Into<String>, text: impl Into<String>) -> Self {
        Document {
            id: id.into(),
            text: text.into(),
            title: None,
            timestamp: None,
        }
    }

    /// Sets the headline.
    #[must_use]
    pub fn with_title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// Sets the publication time (seconds since the Unix epoch).
    #[must_use]
    pub fn with_timestamp(mut self, timestamp: i64) -> Self {
        self.timestamp = Some(timestamp);
        self
    }
}

/// Parses a publication date into seconds since the Unix epoch (UTC).
///
/// Accepts ISO-8601 (`2026-03-01`, `2026-03-01T12:30:00Z`, `2026-03-01 12:30:00+02:00`,
/// fractions of a second ignored), the wire format `26-FEB-1987 15:01:01.79`, and
/// day-first dotted dates `01.12.14` / `01.12.2014` (two-digit years are 19xx from 70,
/// else 20xx). Returns `None` for anything else, and for dates not in the calendar
/// (`2026-02-30`, `2025-02-29`, `2026-04-31`) or times out of range (`25:00`): they are
/// refused rather than rolled over into the next month or day.
///
/// ```
/// use neardup::parse_date;
///
/// assert_eq!(parse_date("1970-01-02"), Some(86_400));
/// assert_eq!(parse_date("2024-02-29T00:00:00Z"), Some(1_709_164_800));
/// assert_eq!(parse_date("2026-02-30"), None);
/// ```
#[must_use]
pub fn parse_date(s: &str) -> Option<i64> {
    let s = s.trim();
    parse_iso(s)
        .or_else(|| parse_wire(s))
        .or_else(|| parse_dotted(s))
}

/// The UTC calendar date (`YYYY-MM-DD`) of a time in seconds since the Unix epoch.
#[must_use]
pub fn format_date(timestamp: i64) -> String {
    // Howard Hinnant's civil_from_days.
    let z = timestamp.div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

fn num(s: &str) -> Option<i64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Days in month `m` (1 to 12) of year `y` of the proleptic Gregorian calendar.
fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm);
/// `None` for a date that is not in the calendar (`2026-02-30`, `2026-13-01`).
fn days_from_civil(y: i64, m: i64, d: i64) -> Option<i64> {
    if !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
        return None;
    }
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

/// Parses `HH:MM[:SS[.fff]]` into seconds of the day.
fn parse_clock(s: &str) -> Option<i64> {
    let mut parts = s.split(':');
    let h = num(parts.next()?)?;
    let m = num(parts.next()?)?;
    let sec = match parts.next() {
        Some(p) => num(p.split('.').next()?)?,
        None => 0,
    };
    // 24:00:00 is midnight at the end of the day (ISO 8601); 60 s a leap second.
    let end_of_day = h == 24 && m == 0 && sec == 0;
    if parts.next().is_some() || (h > 23 && !end_of_day) || m > 59 || sec > 60 {
        return None;
    }
    Some(h * 3600 + m * 60 + sec)
}

fn parse_iso(s: &str) -> Option<i64> {
    let (date, rest) = match s.find(['T', ' ']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let mut dp = date.split('-');
    let y = dp.next()?;
    if y.len() != 4 {
        return None;
    }
    let (y, m, d) = (num(y)?, num(dp.next()?)?, num(dp.next()?)?);
    if dp.next().is_some() {
        return None;
    }
    let days = days_from_civil(y, m, d)?;
    let Some(rest) = rest else {
        return Some(days * 86_400);
    };
    // Split off a zone: Z, +HH:MM, -HH:MM, +HHMM.
    let (clock, offset) = if let Some(c) = rest.strip_suffix(['Z', 'z']) {
        (c, 0)
    } else if let Some(i) = rest.rfind(['+', '-']) {
        let (c, z) = rest.split_at(i);
        let sign = if z.starts_with('-') { -1 } else { 1 };
        let z = z[1..].replace(':', "");
        if z.len() != 4 {
            return None;
        }
        (c, sign * (num(&z[..2])? * 3600 + num(&z[2..])? * 60))
    } else {
        (rest, 0)
    };
    Some(days * 86_400 + parse_clock(clock.trim())? - offset)
}

fn parse_wire(s: &str) -> Option<i64> {
    const MONTHS: [&str; 12] = [
        "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
    ];
    let (date, clock) = match s.split_once(' ') {
        Some((d, c)) => (d, Some(c.trim())),
        None => (s, None),
    };
    let mut dp = date.split('-');
    let d = num(dp.next()?)?;
    let mon = dp.next()?.to_ascii_uppercase();
    let m = MONTHS.iter().position(|x| *x == mon)? as i64 + 1;
    let y = num(dp.next()?)?;
    if dp.next().is_some() {
        return None;
    }
    let days = days_from_civil(y, m, d)?;
    Some(days * 86_400 + clock.map_or(Some(0), parse_clock)?)
}

fn parse_dotted(s: &str) -> Option<i64> {
    let mut dp = s.split('.');
    let d = num(dp.next()?)?;
    let m = num(dp.next()?)?;
    let y_str = dp.next()?;
    if dp.next().is_some() {
        return None;
    }
    let y = num(y_str)?;
    let y = match y_str.len() {
        2 if y >= 70 => 1900 + y,
        2 => 2000 + y,
        4 => y,
        _ => return None,
    };
    Some(days_from_civil(y, m, d)? * 86_400)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_format_back() {
        for s in [
            "1970-01-01",
            "1987-02-26",
            "2000-02-29",
            "2026-12-31",
            "1969-07-20",
        ] {
            assert_eq!(format_date(parse_date(s).unwrap()), s);
        }
        assert_eq!(
            format_date(parse_date("2026-03-01T23:59:59Z").unwrap()),
            "2026-03-01"
        );
    }

    #[test]
    fn iso_dates() {
        assert_eq!(parse_date("1970-01-01"), Some(0));
        assert_eq!(parse_date("1970-01-02T00:00:01Z"), Some(86_401));
        assert_eq!(parse_date("2000-03-01"), Some(951_868_800));
        assert_eq!(parse_date("1970-01-01T02:00:00+02:00"), Some(0));
        assert_eq!(parse_date("1970-01-01 00:00:00.999"), Some(0));
        assert_eq!(parse_date("2026-13-01"), None);
    }

    #[test]
    fn calendar_dates_only() {
        for bad in [
            "2026-02-30",
            "2025-02-29",
            "1900-02-29",
            "2026-04-31",
            "2026-00-10",
            "2026-01-00",
            "2026-01-32",
            "31-APR-1987",
            "29-FEB-1987 10:00:00",
            "31.06.2014",
            "30.02.14",
            "2026-03-01T25:00:00Z",
            "2026-03-01T24:30:00Z",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
        for good in ["2024-02-29", "2000-02-29", "31-DEC-1987", "29.02.2016"] {
            assert!(parse_date(good).is_some(), "{good}");
        }
    }

    #[test]
    fn wire_and_dotted_dates() {
        assert_eq!(
            parse_date("26-FEB-1987 15:01:01.79"),
            Some(days_from_civil(1987, 2, 26).unwrap() * 86_400 + 15 * 3600 + 61)
        );
        assert_eq!(
            parse_date("01.12.14"),
            Some(days_from_civil(2014, 12, 1).unwrap() * 86_400)
        );
        assert_eq!(parse_date("yesterday"), None);
        assert_eq!(parse_date(""), None);
    }
}
