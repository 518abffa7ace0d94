//! Times as Atlas writes them in answers, in any format it has used: ISO 8601 (RFC 3339),
//! or Java's `Date.toString()` with a zone name, such as `Wed Apr 26 02:38:56 GMT 2023`.
//! An unparseable time is `None`, never a panic.

use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeZone, Utc};

/// A time as Atlas writes it, in any of the formats it has used.
pub fn parse_timestamp(value: &str) -> Option<DateTime<Utc>> {
    let value = value.trim();
    iso(value).or_else(|| java_date(value))
}

fn iso(value: &str) -> Option<DateTime<Utc>> {
    // Four digits of year, as RFC 3339 and ISO 8601 write it: chrono's `%Y` also takes
    // `00-11-01`, the year 0.
    let year = value.as_bytes().get(..5)?;
    if !(year[..4].iter().all(u8::is_ascii_digit) && year[4] == b'-') {
        return None;
    }
    DateTime::parse_from_rfc3339(value)
        .or_else(|_| DateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S%.f%z"))
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// `EEE MMM d HH:mm:ss zzz yyyy`, Java's `Date.toString()`.
fn java_date(value: &str) -> Option<DateTime<Utc>> {
    let parts: Vec<&str> = value.split_whitespace().collect();
    let [_weekday, month, day, time, zone, year] = parts.as_slice() else {
        return None;
    };
    if year.len() != 4 || !year.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let naive =
        NaiveDateTime::parse_from_str(&format!("{month} {day} {year} {time}"), "%b %d %Y %H:%M:%S")
            .ok()?;
    let offset = FixedOffset::east_opt(zone_offset_hours(zone)? * 3600)?;
    offset
        .from_local_datetime(&naive)
        .single()
        .map(|t| t.with_timezone(&Utc))
}

/// UTC offsets of the zone names Java prints for the zones Atlas has used.
fn zone_offset_hours(zone: &str) -> Option<i32> {
    Some(match zone {
        "GMT" | "UTC" | "Z" | "WET" => 0,
        "BST" | "CET" | "WEST" => 1,
        "CEST" | "EET" => 2,
        "EEST" => 3,
        "EST" => -5,
        "EDT" | "AST" => -4,
        "CST" => -6,
        "CDT" => -5,
        "MST" => -7,
        "MDT" => -6,
        "PST" => -8,
        "PDT" => -7,
        "JST" | "KST" => 9,
        "AEST" => 10,
        "AEDT" => 11,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn every_format_atlas_has_used() {
        let cases = [
            ("Wed Apr 26 02:38:56 GMT 2023", "2023-04-26T02:38:56Z"),
            ("Wed Apr 26 02:38:56 UTC 2023", "2023-04-26T02:38:56Z"),
            ("Sun Jul 25 9:14:42 EDT 2019", "2019-07-25T13:14:42Z"),
            ("Tue Jan 02 23:59:59 PST 2024", "2024-01-03T07:59:59Z"),
            ("2023-04-26T02:38:56Z", "2023-04-26T02:38:56Z"),
            ("2023-04-26T02:38:56.123+02:00", "2023-04-26T00:38:56.123Z"),
        ];
        for (input, expected) in cases {
            assert_eq!(parse_timestamp(input), Some(at(expected)), "{input}");
        }
    }

    #[test]
    fn a_year_is_four_digits() {
        for short in [
            "00-11-01T12:00:00Z",
            "202-11-01T12:00:00Z",
            "+2023-04-26T02:38:56Z",
        ] {
            assert_eq!(parse_timestamp(short), None, "{short}");
        }
    }

    #[test]
    fn nonsense_is_none() {
        for nonsense in [
            "",
            "yesterday",
            "Wed Apr 26 02:38:56 XYZ 2023",
            "Wed Foo 99 99:99:99 GMT 2023",
            "{\"t\":{\"$date\":",
            "Thu Oct 29 22:18:49 GMT 202",
        ] {
            assert_eq!(parse_timestamp(nonsense), None, "{nonsense}");
        }
    }
}
