//! One access-log entry as Atlas sent it, its time and its fingerprint.

use std::fmt;

use std::ops::Range;

use atlas_client::AtlasError;
use atlas_client::types::MongoDbAccessLogs;
use atlas_runtime::scan::{ScanError, Scanner};
use serde_json::value::RawValue;

use crate::window::Timed;

/// One access-log entry: the exact JSON object Atlas sent, its time, and its typed fields
/// on demand. The object's text is a slice of the answer's body, not a copy.
#[derive(Clone)]
pub struct AccessLogEntry {
    raw: bytes::Bytes,
    time_ms: i64,
    fingerprint: std::sync::OnceLock<u64>,
}

impl AccessLogEntry {
    /// Reads one entry as Atlas sent it.
    ///
    /// # Errors
    ///
    /// The object is not an access-log entry, or has no readable time (its log line's
    /// `t.$date`, else `timestamp`).
    pub fn from_raw(raw: Box<RawValue>) -> Result<Self, AtlasError> {
        let text: Box<str> = raw.into();
        let raw = bytes::Bytes::from(text.into_boxed_bytes());
        let mut scan = Scanner::new(&raw);
        let (_, time_ms) = read_entry(&mut scan, &raw)?;
        scan.end().map_err(malformed)?;
        Ok(Self::new(raw, time_ms))
    }

    /// An entry of UTF-8 bytes and their time.
    pub(crate) fn new(raw: bytes::Bytes, time_ms: i64) -> Self {
        Self {
            raw,
            time_ms,
            fingerprint: std::sync::OnceLock::new(),
        }
    }

    /// The JSON object exactly as Atlas sent it: every field, `null`s and fields this
    /// crate's types do not know included.
    pub fn raw_json(&self) -> &str {
        // Checked to be UTF-8 when the entry was made.
        std::str::from_utf8(&self.raw).unwrap_or_default()
    }

    /// The same object as bytes (UTF-8), for writing out without checking the text again.
    pub fn raw_bytes(&self) -> &[u8] {
        &self.raw
    }

    /// The typed fields, decoded from the object.
    ///
    /// # Errors
    ///
    /// A field has a type the spec does not allow.
    pub fn fields(&self) -> Result<MongoDbAccessLogs, AtlasError> {
        atlas_runtime::strict::from_slice(&self.raw)
            .map_err(|e| AtlasError::decode(format!("an access-log entry does not decode: {e}")))
    }

    /// When the attempt happened, epoch milliseconds.
    pub fn time_ms(&self) -> i64 {
        self.time_ms
    }

    /// A fingerprint of the object's content (64-bit FNV-1a of its canonical JSON: keys
    /// sorted, no spaces), the same for the same entry in any answer and with any version
    /// of this crate's types. An object that `serde_json` cannot hold as a value (one with
    /// an escaped lone surrogate, which Atlas's answers are taken with) is fingerprinted by
    /// its text as sent instead, so that two such entries never look alike.
    pub fn fingerprint(&self) -> u64 {
        *self.fingerprint.get_or_init(|| {
            serde_json::from_slice(&self.raw)
                .map(|value| fingerprint(&value))
                .unwrap_or_else(|_| {
                    let mut hash = Fnv::new();
                    hash.write(b"text:");
                    hash.write(&self.raw);
                    hash.0
                })
        })
    }
}

impl fmt::Debug for AccessLogEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessLogEntry")
            .field("time_ms", &self.time_ms)
            .field("raw", &self.raw_json())
            .finish()
    }
}

impl Timed for AccessLogEntry {
    fn time_ms(&self) -> i64 {
        self.time_ms
    }
    fn fingerprint(&self) -> u64 {
        AccessLogEntry::fingerprint(self)
    }
}

/// Reads the access-log entry `scan` stands before, in `text` (the whole text scanned): the
/// range of its object and its time, the log line's `t.$date`, else `timestamp`. The
/// object is checked to be JSON; of its members only `logLine` and `timestamp` are read,
/// each a string or `null`, named once at most.
///
/// # Errors
///
/// The entry is not such an object, or has no readable time.
pub(crate) fn read_entry(
    scan: &mut Scanner<'_>,
    text: &[u8],
) -> Result<(Range<usize>, i64), AtlasError> {
    let start = scan.value_start().map_err(malformed)?;
    scan.enter_object().map_err(malformed)?;
    let mut log_line: Option<Option<Range<usize>>> = None;
    let mut timestamp: Option<Option<Range<usize>>> = None;
    while let Some(key) = scan.next_key().map_err(malformed)? {
        let (name, slot) = if key.is(text, "logLine") {
            ("logLine", &mut log_line)
        } else if key.is(text, "timestamp") {
            ("timestamp", &mut timestamp)
        } else {
            scan.skip_value().map_err(malformed)?;
            continue;
        };
        if slot.is_some() {
            return Err(AtlasError::decode(format!(
                "an access-log entry does not decode: `{name}` appears twice"
            )));
        }
        let value = if scan.null().map_err(malformed)? {
            None
        } else {
            Some(scan.string().map_err(|e| {
                AtlasError::decode(format!(
                    "an access-log entry does not decode: `{name}` is neither text nor null ({e})"
                ))
            })?)
        };
        *slot = Some(value);
    }
    let range = start..scan.position();
    let log_line = log_line.flatten().map(|r| &text[r]);
    let timestamp = timestamp.flatten().map(|r| &text[r]);
    let time = log_line
        .and_then(atlas_client::log_line_time_escaped)
        .or_else(|| {
            let timestamp = atlas_runtime::scan::unescape(timestamp?).ok()?;
            atlas_runtime::parse_timestamp(&timestamp)
        })
        .ok_or_else(|| {
            AtlasError::decode(format!(
                "an access-log entry has no readable time (logLine or timestamp): {}",
                truncate(&String::from_utf8_lossy(&text[range.clone()]), 200)
            ))
        })?;
    Ok((range, time.timestamp_millis()))
}

fn malformed(error: ScanError) -> AtlasError {
    AtlasError::decode(format!("an access-log entry does not decode: {error}"))
}

fn truncate(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((i, _)) => &text[..i],
        None => text,
    }
}

/// 64-bit FNV-1a of the canonical form of a JSON value: object keys sorted, no spaces.
/// Written out here because the form must not depend on `serde_json`'s map type, which a
/// cargo feature elsewhere in a build can switch to insertion order.
fn fingerprint(value: &serde_json::Value) -> u64 {
    fn walk(value: &serde_json::Value, hash: &mut Fnv) {
        match value {
            serde_json::Value::Object(map) => {
                hash.write(b"{");
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                for (i, key) in keys.into_iter().enumerate() {
                    if i > 0 {
                        hash.write(b",");
                    }
                    hash.write(serde_json::Value::from(key.as_str()).to_string().as_bytes());
                    hash.write(b":");
                    walk(&map[key], hash);
                }
                hash.write(b"}");
            }
            serde_json::Value::Array(items) => {
                hash.write(b"[");
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        hash.write(b",");
                    }
                    walk(item, hash);
                }
                hash.write(b"]");
            }
            other => hash.write(other.to_string().as_bytes()),
        }
    }
    let mut hash = Fnv::new();
    walk(value, &mut hash);
    hash.0
}

/// 64-bit FNV-1a.
struct Fnv(u64);

impl Fnv {
    fn new() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }

    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 ^= u64::from(*byte);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_ignore_key_order_and_spacing_but_not_nulls() {
        let a: serde_json::Value =
            serde_json::from_str(r#"{"b":1,"a":null,"c":{"y":[1,2],"x":"s"}}"#).unwrap();
        let b: serde_json::Value =
            serde_json::from_str(r#"{ "c": {"x":"s","y":[1, 2]}, "a": null, "b": 1 }"#).unwrap();
        let c: serde_json::Value =
            serde_json::from_str(r#"{"b":1,"c":{"y":[1,2],"x":"s"}}"#).unwrap();
        assert_eq!(fingerprint(&a), fingerprint(&b));
        assert_ne!(fingerprint(&a), fingerprint(&c));
    }

    #[test]
    fn entries_serde_cannot_hold_still_differ() {
        let entry = |text: &str| {
            let body = bytes::Bytes::copy_from_slice(text.as_bytes());
            let mut scan = Scanner::new(&body);
            let (range, time_ms) = read_entry(&mut scan, &body).unwrap();
            AccessLogEntry::new(body.slice(range), time_ms)
        };
        let line = r#""logLine":"{\"t\":{\"$date\":\"2026-10-28T23:59:56.307+00:00\"}}""#;
        let a = entry(&format!(r#"{{{line},"username":"\ud800a"}}"#));
        let b = entry(&format!(r#"{{{line},"username":"\ud800b"}}"#));
        assert_eq!(a.time_ms(), b.time_ms());
        assert_ne!(a.fingerprint(), b.fingerprint());
        assert_eq!(a.fingerprint(), entry(a.raw_json()).fingerprint());
    }
}
