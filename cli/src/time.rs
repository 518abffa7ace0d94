//! Times on the command line: RFC 3339, epoch milliseconds, or a duration before now
//! (`90m`, `24h`, `7d`). Everything becomes epoch milliseconds; the audit-log command
//! divides by 1,000 for Atlas's seconds.

use chrono::DateTime;

/// Parses a time given on the command line, relative to `now_ms`.
pub fn parse_time(value: &str, now_ms: i64) -> Result<i64, String> {
    let value = value.trim();
    if let Ok(ms) = value.parse::<i64>() {
        return Ok(ms);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(value) {
        return Ok(t.timestamp_millis());
    }
    match parse_duration(value) {
        Ok(ms) => Ok(now_ms - ms),
        Err(_) => Err(format!(
            "{value:?} is not a time: give RFC 3339 (2026-11-01T12:00:00Z), epoch milliseconds, or a duration ago (90m, 24h, 7d)"
        )),
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
    fn all_three_forms() {
        assert_eq!(parse_time("1793534400000", NOW), Ok(NOW));
        assert_eq!(parse_time("2026-11-01T12:00:00Z", NOW), Ok(NOW));
        assert_eq!(parse_time("2026-11-01T13:00:00+01:00", NOW), Ok(NOW));
        assert_eq!(parse_time("90m", NOW), Ok(NOW - 90 * 60_000));
        assert_eq!(parse_time("7d", NOW), Ok(NOW - 7 * 86_400_000));
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
