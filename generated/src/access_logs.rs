// Hand-written: the thin layer specific to this spec's types. Everything else in this
// crate is generated (`generated.rs`) or re-exported from `atlas-runtime`.

//! Each access-log entry's time as a real timestamp: from the log line's millisecond
//! `t.$date` when there is one, else from `timestamp` in any format Atlas has used.

use chrono::{DateTime, Utc};

use crate::types::{LegacyAccessLogs, MongoDbAccessLogs};

/// When an access-log entry's attempt happened: its log line's time when it has one, else
/// its `timestamp` (any format Atlas has used, [`atlas_runtime::parse_timestamp`]).
pub fn entry_time(log_line: Option<&str>, timestamp: Option<&str>) -> Option<DateTime<Utc>> {
    log_line
        .and_then(log_line_time)
        .or_else(|| timestamp.and_then(atlas_runtime::parse_timestamp))
}

/// The time of a MongoDB log line: the top-level `t.$date` of a structured (JSON) line (a
/// `$date` anywhere else in the line is never taken for it), or the leading ISO time of an
/// old text line. A line led by `{"t":{"$date":"..."}`, as MongoDB writes every structured
/// line, is read from that lead alone (the rest of the line is not this function's to
/// judge); any other structured line is read as JSON.
pub fn log_line_time(line: &str) -> Option<DateTime<Utc>> {
    let line = line.trim_start();
    if let Some((date, after)) = line
        .strip_prefix(r#"{"t":{"$date":""#)
        .and_then(|rest| rest.split_once('"'))
        && after.starts_with('}')
        && !date.contains('\\')
    {
        return iso_time(date);
    }
    if line.starts_with('{') {
        return json_line_time(line);
    }
    iso_time(line.split_whitespace().next()?)
}

/// [`log_line_time`] of a log line given as the text of its JSON string, escapes as
/// written (between the quotes, as [`atlas_runtime::scan`] finds it): a line led by
/// `{"t":{"$date":"..."}` is read from that lead without unescaping the rest (which is
/// not this function's to judge), any other line is unescaped first. `None` when it has
/// no readable time, or is not led so and does not unescape (an escaped lone surrogate).
pub fn log_line_time_escaped(raw: &[u8]) -> Option<DateTime<Utc>> {
    const LEAD: &[u8] = br#"{\"t\":{\"$date\":\""#;
    if let Some(rest) = raw.strip_prefix(LEAD)
        && let Some(end) = rest.iter().position(|&byte| byte == b'\\')
        && rest[end..].starts_with(br#"\"}"#)
    {
        // The date holds no escape, so its text is itself: what `log_line_time` reads
        // from the unescaped line's lead.
        return std::str::from_utf8(&rest[..end]).ok().and_then(iso_time);
    }
    log_line_time(&atlas_runtime::scan::unescape(raw).ok()?)
}

/// The top-level `t.$date` of a structured log line, read as JSON.
fn json_line_time(line: &str) -> Option<DateTime<Utc>> {
    #[derive(serde::Deserialize)]
    struct Line {
        t: Time,
    }
    #[derive(serde::Deserialize)]
    struct Time {
        #[serde(rename = "$date")]
        date: String,
    }
    let parsed: Line = atlas_runtime::strict::from_str(line).ok()?;
    iso_time(&parsed.t.date)
}

/// An ISO 8601 time: the only format a log line writes.
fn iso_time(text: &str) -> Option<DateTime<Utc>> {
    text.as_bytes()
        .first()
        .is_some_and(u8::is_ascii_digit)
        .then(|| atlas_runtime::parse_timestamp(text))
        .flatten()
}

impl MongoDbAccessLogs {
    /// When the attempt happened, to the millisecond when the log line says so.
    pub fn time(&self) -> Option<DateTime<Utc>> {
        entry_time(self.log_line.as_deref(), self.timestamp.as_deref())
    }
}

impl LegacyAccessLogs {
    /// When the attempt happened, to the millisecond when the log line says so.
    pub fn time(&self) -> Option<DateTime<Utc>> {
        entry_time(self.log_line.as_deref(), self.timestamp.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn a_log_line_as_json_text_has_the_time_of_the_line() {
        let lines = [
            r#"{"t":{"$date":"2026-10-28T23:59:56.307+00:00"},"s":"I","msg":"ok"}"#,
            r#"{"t":{"$date":"2026-10-28T23:59:56.307+02:00"}}"#,
            r#"{"t":{"$date":"2026-10-28T23:59:56Z"},"attr":{"t":{"$date":"2020-01-01T00:00:00Z"}}}"#,
            r#"{"t":{"$date":"2026-10-28T23:59:56.307+00:00","x":1},"s":"I"}"#,
            r#"{"s":"I","t":{"$date":"2026-10-28T23:59:56.307+00:00"}}"#,
            r#"  {"t":{"$date":"2026-10-28T23:59:56.307+00:00"}}"#,
            "\n{\"t\":{\"$date\":\"2026-10-28T23:59:56.307+00:00\"}}",
            r#"{"t":{"$date":"2026-10-28T23:59:56.3\"07+00:00"}}"#,
            r#"{"t":{"$date":"not a time"}}"#,
            r#"{"t":{"$date":"2026-10-28T23:59:56.307+00:00"}"#,
            r#"{"t":{"$date":""}}"#,
            "2026-10-28T23:59:56.307+0000 I ACCESS [conn1] Successfully authenticated",
            "",
        ];
        for line in lines {
            let quoted = serde_json::to_string(line).unwrap();
            let raw = &quoted.as_bytes()[1..quoted.len() - 1];
            assert_eq!(log_line_time_escaped(raw), log_line_time(line), "{line}");
        }
        // Escapes in the lead: read through the unescaped line, to the same time.
        let escaped = br#"{\"t\":{\"$d\u0061te\":\"2026-10-28T23:59:56.307+00:00\"}}"#;
        assert_eq!(
            log_line_time_escaped(escaped),
            Some(at("2026-10-28T23:59:56.307Z"))
        );
        // An escaped lone surrogate does not unescape: no time from the line.
        assert_eq!(log_line_time_escaped(br#"{\"t\":\"\ud800\"}"#), None);
    }

    #[test]
    fn a_year_is_four_digits_and_a_time_an_object() {
        for short in [
            "00-11-01T12:00:00Z",
            "202-11-01T12:00:00Z",
            "+2023-04-26T02:38:56Z",
        ] {
            let line = format!(r#"{{"t":{{"$date":"{short}"}}}}"#);
            assert_eq!(log_line_time(&line), None, "{line}");
        }
        assert_eq!(
            log_line_time(r#"{"t":["2023-04-26T02:38:56.123Z"]}"#),
            None,
            "t as an array is no time"
        );
        assert_eq!(
            log_line_time(r#"[{"$date":"2023-04-26T02:38:56.123Z"}]"#),
            None
        );
    }

    #[test]
    fn log_lines_give_milliseconds() {
        let json = r#"{"t":{"$date":"2023-04-26T02:38:56.123+00:00"},"s":"I","c":"ACCESS"}"#;
        assert_eq!(log_line_time(json), Some(at("2023-04-26T02:38:56.123Z")));
        let text = "2019-07-25T09:14:42.137-0400 I  ACCESS   [conn41] Successfully authenticated";
        assert_eq!(log_line_time(text), Some(at("2019-07-25T13:14:42.137Z")));
    }

    #[test]
    fn the_log_line_wins_and_nonsense_is_none() {
        assert_eq!(
            entry_time(
                Some(r#"{"t":{"$date":"2023-04-26T02:38:56.123+00:00"}}"#),
                Some("Wed Apr 26 02:38:56 GMT 2023")
            ),
            Some(at("2023-04-26T02:38:56.123Z"))
        );
        for nonsense in [
            "",
            "yesterday",
            "Wed Apr 26 02:38:56 GMT 2023",
            "{\"t\":{\"$date\":",
            "Thu Oct 29 22:18:49 GMT 202",
        ] {
            assert_eq!(log_line_time(nonsense), None, "{nonsense}");
        }
        assert_eq!(
            entry_time(Some("garbage"), Some("Wed Apr 26 02:38:56 GMT 2023")),
            Some(at("2023-04-26T02:38:56Z")),
            "falls back to timestamp"
        );
        assert_eq!(entry_time(None, None), None);
    }

    #[test]
    fn a_line_led_by_its_time_is_read_without_the_rest() {
        // What MongoDB writes: the date read at once, whatever follows.
        let line = r#"{"t":{"$date":"2023-04-26T02:38:56.123+00:00"},"s":"I","attr":{"x":"#;
        assert_eq!(log_line_time(line), Some(at("2023-04-26T02:38:56.123Z")));
        // Not a date, or not the shape: no time, or the line read as JSON.
        assert_eq!(log_line_time(r#"{"t":{"$date":"soon"},"s":"I"}"#), None);
        let spaced = r#"{ "t": { "$date": "2023-04-26T02:38:56.123Z" } }"#;
        assert_eq!(log_line_time(spaced), Some(at("2023-04-26T02:38:56.123Z")));
        let more = r#"{"t":{"$date":"2023-04-26T02:38:56.123Z","x":1},"s":"I"}"#;
        assert_eq!(log_line_time(more), Some(at("2023-04-26T02:38:56.123Z")));
    }

    /// A valid line read from its lead gives the time its JSON reading gives.
    #[test]
    fn the_lead_reads_a_valid_line_as_json_does() {
        let dates = [
            "2023-04-26T02:38:56.123+00:00",
            "2024-02-29T23:59:59.999Z",
            "2019-07-25T09:14:42.137-04:00",
            "2023-04-26T02:38:56Z",
            "not a date",
            "",
        ];
        let tails = [
            "}",
            r#","s":"I","c":"ACCESS","id":20250,"attr":{"t":{"$date":"2001-01-01T00:00:00Z"}}}"#,
            r#","msg":"a \"quoted\" }{ tail","attr":{"user":"app"}}"#,
        ];
        for date in dates {
            for tail in tails {
                let line = format!(r#"{{"t":{{"$date":"{date}"}}{tail}"#);
                assert_eq!(log_line_time(&line), json_line_time(&line), "{line}");
            }
        }
    }

    #[test]
    fn only_the_top_level_t_counts() {
        let line = r#"{"attr":{"t":{"$date":"2001-01-01T00:00:00.000+00:00"},"user":"\"$date\":\"1999"},"t":{"$date":"2023-04-26T02:38:56.123+00:00"}}"#;
        assert_eq!(log_line_time(line), Some(at("2023-04-26T02:38:56.123Z")));
    }
}
