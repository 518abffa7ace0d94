//! Times on the command line: RFC 3339, epoch seconds or milliseconds, a duration before
//! now (`90m`, `24h`, `7d`), or `now`. Everything becomes epoch milliseconds; the audit-log
//! command divides by 1,000 for Atlas's seconds.

use chrono::{DateTime, SecondsFormat, Utc};

/// 2008-01-01T00:00:00Z: Atlas keeps no access or audit logs from before it, and refuses
/// earlier times.
pub use atlas_log_export::EARLIEST_MS;

/// All-digit values below this are epoch seconds (up to the year 2286).
const SECONDS_BELOW: i64 = 10_000_000_000;
/// All-digit values from this on are epoch milliseconds (from March 1973).
const MILLIS_FROM: i64 = 100_000_000_000;

/// Parses a time given on the command line, relative to `now_ms`, and checks it is not
/// before 2008. All-digit values are read by magnitude: up to ten digits are seconds,
/// twelve or more milliseconds; eleven digits fit neither and are refused.
pub fn parse_time(value: &str, now_ms: i64) -> Result<i64, String> {
    let trimmed = value.trim();
    let ms = if trimmed.eq_ignore_ascii_case("now") {
        now_ms
    } else if !trimmed.is_empty() && trimmed.bytes().all(|b| b.is_ascii_digit()) {
        let n: i64 = trimmed
            .parse()
            .map_err(|_| format!("{value:?} is too large for a time"))?;
        if n < SECONDS_BELOW {
            n * 1_000
        } else if n >= MILLIS_FROM {
            n
        } else {
            return Err(format!(
                "{value:?} is ambiguous: as epoch seconds it is after the year 2286, as epoch milliseconds before 1974; give RFC 3339 (2026-11-01T12:00:00Z)"
            ));
        }
    } else if let Ok(t) = DateTime::parse_from_rfc3339(trimmed) {
        t.timestamp_millis()
    } else {
        match parse_duration(trimmed) {
            Ok(ago) => now_ms.saturating_sub(ago),
            Err(_) => {
                return Err(format!(
                    "{value:?} is not a time: give RFC 3339 (2026-11-01T12:00:00Z), epoch seconds or milliseconds, a duration ago (90m, 24h, 7d), or now"
                ));
            }
        }
    };
    not_before_2008(value, ms)?;
    Ok(ms)
}

/// The start of `--since value`: that long before `now_ms`, not before 2008.
pub fn since(value: &str, now_ms: i64) -> Result<i64, String> {
    let ago = parse_duration(value).map_err(|e| {
        if parse_time(value, now_ms).is_ok() {
            format!("{value:?} is a time; --since takes how long ago (90m, 24h, 7d): give a time with --start")
        } else {
            e
        }
    })?;
    let start = now_ms.saturating_sub(ago);
    not_before_2008(value, start)?;
    Ok(start)
}

/// Refuses a window whose start (given by `flag`) is after its end.
pub fn not_after(flag: &str, start: i64, end: i64) -> Result<(), String> {
    if start > end {
        return Err(format!(
            "{flag} ({}) must not be after --end ({})",
            show(start),
            show(end)
        ));
    }
    Ok(())
}

/// Refuses a time before 2008, showing what `value` was read as.
pub fn not_before_2008(value: &str, ms: i64) -> Result<(), String> {
    if ms < EARLIEST_MS {
        // A duration too long for any date is said as such, not as a number of ms.
        let is = match DateTime::<Utc>::from_timestamp_millis(ms) {
            Some(_) => format!(" is {},", show(ms)),
            None => " is".to_string(),
        };
        return Err(format!(
            "{value:?}{is} before 2008-01-01; Atlas keeps no logs from before then"
        ));
    }
    Ok(())
}

/// A time as RFC 3339 in UTC, to the second or, when it has them, the millisecond.
pub fn show(ms: i64) -> String {
    match DateTime::<Utc>::from_timestamp_millis(ms) {
        Some(t) if ms % 1_000 == 0 => t.to_rfc3339_opts(SecondsFormat::Secs, true),
        Some(t) => t.to_rfc3339_opts(SecondsFormat::Millis, true),
        None => format!("{ms} ms since 1970"),
    }
}

/// Parses a duration such as `90m`, `24h`, `7d`, `30s`, `2w` into milliseconds.
pub fn parse_duration(value: &str) -> Result<i64, String> {
    let value = value.trim();
    let split = value
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(value.len());
    let (number, unit) = value.split_at(split);
    let number: i64 = number
        .parse()
        .map_err(|_| format!("{value:?} is not a duration such as 90m, 24h or 7d"))?;
    let unit_ms = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "w" => 7 * 86_400_000,
        "" => return Err(format!("{value:?} has no unit: use ms, s, m, h, d or w")),
        other => {
            return Err(format!(
                "unknown duration unit {other:?} in {value:?}: use ms, s, m, h, d or w"
            ));
        }
    };
    number
        .checked_mul(unit_ms)
        .ok_or_else(|| format!("{value:?} is too long"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_793_534_400_000;

    #[test]
    fn all_forms() {
        assert_eq!(parse_time("1793534400000", NOW), Ok(NOW));
        assert_eq!(parse_time("1793534400", NOW), Ok(NOW));
        assert_eq!(parse_time("2026-11-01T12:00:00Z", NOW), Ok(NOW));
        assert_eq!(parse_time("2026-11-01T13:00:00+01:00", NOW), Ok(NOW));
        assert_eq!(parse_time("90m", NOW), Ok(NOW - 90 * 60_000));
        assert_eq!(parse_time("7d", NOW), Ok(NOW - 7 * 86_400_000));
        assert_eq!(parse_time("now", NOW), Ok(NOW));
    }

    #[test]
    fn digits_are_read_by_magnitude_or_refused() {
        assert_eq!(parse_time("1199145600", NOW), Ok(EARLIEST_MS));
        assert_eq!(parse_time("9999999999", NOW), Ok(9_999_999_999_000));
        assert!(
            parse_time("10000000000", NOW)
                .unwrap_err()
                .contains("ambiguous")
        );
        assert!(
            parse_time("99999999999", NOW)
                .unwrap_err()
                .contains("ambiguous")
        );
        // Twelve digits are milliseconds, which are all before 2008.
        assert!(
            parse_time("931496932592", NOW)
                .unwrap_err()
                .contains("1999-07-09")
        );
        assert!(
            parse_time("99999999999999999999", NOW)
                .unwrap_err()
                .contains("too large")
        );
    }

    #[test]
    fn since_takes_a_duration_and_points_a_time_to_start() {
        assert_eq!(since("90m", NOW), Ok(NOW - 90 * 60_000));
        for time in ["2026-10-31T00:00:00Z", "1793534400", "now"] {
            let e = since(time, NOW).unwrap_err();
            assert!(e.contains("is a time") && e.contains("--start"), "{e}");
        }
        assert!(
            since("90y", NOW)
                .unwrap_err()
                .contains("unknown duration unit")
        );
    }

    #[test]
    fn nothing_before_2008() {
        assert_eq!(parse_time("2008-01-01T00:00:00Z", NOW), Ok(EARLIEST_MS));
        let e = parse_time("2007-12-31T23:59:59.999Z", NOW).unwrap_err();
        assert!(
            e.contains("2007-12-31T23:59:59.999Z, before 2008-01-01"),
            "{e}"
        );
        let e = parse_time("10000d", NOW).unwrap_err();
        assert!(e.contains("\"10000d\" is 1999-"), "{e}");
        // Too long for any date: said without a number of milliseconds.
        for long in ["99999999999d", "9223372036854775807ms"] {
            for e in [parse_time(long, NOW), since(long, NOW)].map(Result::unwrap_err) {
                assert_eq!(
                    e,
                    format!("{long:?} is before 2008-01-01; Atlas keeps no logs from before then")
                );
            }
        }
        assert!(
            parse_time("1000", NOW)
                .unwrap_err()
                .contains("1970-01-01T00:16:40Z")
        );
    }

    #[test]
    fn bad_units_are_named() {
        assert!(
            parse_duration("5y")
                .unwrap_err()
                .contains("unknown duration unit \"y\"")
        );
        assert!(parse_duration("5").unwrap_err().contains("no unit"));
        assert!(
            parse_time("yesterday", NOW)
                .unwrap_err()
                .contains("is not a time")
        );
    }
}
