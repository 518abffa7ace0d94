//! The client's parsers of outside bytes: access-history pages as the export reads them,
//! error bodies, state files (checkpoint and delivery record), and the delivery record
//! acted on. Each result is judged by an oracle that calls none of the code under test:
//! the text read by [`crate::json`] and the rules written out again here. A result the
//! oracle calls wrong fails, whether it accepted too much or refused what it must take.

use std::path::{Path, PathBuf};

use atlas_client::types::ApiError;
use atlas_log_export::{StateFile, entries_of_page};
use atlas_runtime::Error;
use atlas_runtime::response::{Body, from_response};
use atlas_runtime::{AtlasError, ErrorKind};
use bytes::Bytes;
use chrono::DateTime;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue};

use crate::Target;
use crate::json::{Json, Read, read};

/// The client's targets, in the order the reports list them.
pub fn all() -> Vec<Target> {
    vec![
        Target {
            name: "export_pages",
            what: "access-history pages, as the export reads them (entries, times)",
            seeds: page_seeds(),
            tokens: &[
                b"\"accessLogs\"",
                b"\"logLine\"",
                b"\"timestamp\"",
                b"{\\\"t\\\":{\\\"$date\\\":\\\"2023-04-26T02:38:56.123Z\\\"}}",
                b"[[]]",
                b"null",
            ],
            run: export_pages,
        },
        Target {
            name: "error_bodies",
            what: "Atlas's error bodies under every error status",
            seeds: error_seeds(),
            tokens: &[
                b"\"error\"",
                b"\"errorCode\"",
                b"\"detail\"",
                b"\"parameters\"",
                b"\"badRequestDetail\"",
                b"[400,\"X\"]",
                b"2147483648",
            ],
            run: error_bodies,
        },
        Target {
            name: "state_files",
            what: "state files: checkpoint and delivery record",
            seeds: state_seeds(),
            tokens: &[
                b"\"throughMs\"",
                b"\"remembered\"",
                b"\"00000000000000ff\"",
                b"\"+0000000000000ff\"",
                b"\"1700000000002\"",
                b"\"delivery\"",
                b"{\"temp\":\"/tmp/.o.Ab12Cd.atlas-ready\",\"out\":\"/tmp/o\"}",
            ],
            run: state_files,
        },
        Target {
            name: "delivery_records",
            what: "delivery records acted on: which files may be moved",
            seeds: delivery_seeds(),
            tokens: &[b".atlas-ready", b".atlas-tmp", b".out.ndjson.", b"..", b"/"],
            run: delivery_records,
        },
    ]
}

fn seeds(texts: &[&str]) -> Vec<Vec<u8>> {
    texts.iter().map(|t| t.as_bytes().to_vec()).collect()
}

/// `items[(knobs >> shift) % len]`: a choice made by the knobs, not the input.
fn pick<T: Copy>(knobs: u64, shift: u32, items: &[T]) -> T {
    items[((knobs >> shift) % items.len() as u64) as usize]
}

// --- Pages, as the export reads them ----------------------------------------------------

fn page_seeds() -> Vec<Vec<u8>> {
    seeds(&[
        r#"{"accessLogs":[{"authResult":true,"authSource":"admin","groupId":"5f1a2b3c4d5e6f7a8b9c0d1e","hostname":"c0-shard-00-01.abcde.mongodb.net","ipAddress":"203.0.113.7","logLine":"{\"t\":{\"$date\":\"2023-04-26T02:38:56.123+00:00\"},\"s\":\"I\",\"c\":\"ACCESS\",\"id\":20250,\"msg\":\"Authentication succeeded\"}","timestamp":"Wed Apr 26 02:38:56 GMT 2023","username":"app"},{"authResult":false,"failureReason":null,"logLine":"{\"t\":{\"$date\":\"2023-04-26T02:38:55.001Z\"}}","username":"ghost"}]}"#,
        r#"{"accessLogs":[]}"#,
        r#"{"accessLogs":[{"logLine":"2019-07-25T09:14:42.137-0400 I  ACCESS   [conn41] Successfully authenticated"}],"links":[]}"#,
        r#"{"accessLogs":[{"timestamp":"Sun Jul 25 9:14:42 EDT 2019","newField":{"x":[1,2]}}]}"#,
        r#"{"accessLogs":[["{\"t\":{\"$date\":\"2026-10-31T00:00:00.123Z\"}}"]]}"#,
        r#"[[]]"#,
        r#"{"accessLogs":[{"logLine":"{\"t\":{\"$date\":\"00-11-01T00:00:00.123Z\"}}"}]}"#,
        r#"{"accessLogs":[{"logLine":"{\"t\":[\"2026-10-31T00:00:00.123Z\"]}"}]}"#,
        r#"{"accessLogs":[],"accessLogs":[{}]}"#,
    ])
}

/// Atlas's time format as RFC 3339 or ISO 8601 with a four-digit year, in milliseconds.
fn iso_ms(value: &str) -> Option<i64> {
    let year = value.as_bytes().get(..5)?;
    if !(year[..4].iter().all(u8::is_ascii_digit) && year[4] == b'-') {
        return None;
    }
    DateTime::parse_from_rfc3339(value)
        .or_else(|_| DateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S%.f%z"))
        .ok()
        .map(|t| t.timestamp_millis())
}

/// The time of a log line when it certainly has one: a JSON line whose top-level `t` is an
/// object naming `$date` once, as a string with a time; or a text line opening with one.
fn log_line_ms(line: &str) -> Option<i64> {
    let line = line.trim_start();
    if line.starts_with('{') {
        let Read::Value(value) = read(line.as_bytes()) else {
            return None;
        };
        let t = value.field("t")?;
        if !matches!(t, Json::Object(_)) {
            return None;
        }
        return iso_ms(t.field("$date")?.str()?);
    }
    iso_ms(line.split_whitespace().next()?)
}

/// What the oracle expects of one entry: the object, and its time when certain.
struct Expected {
    object: Json,
    time_ms: Option<i64>,
}

/// The entries a page must give, or why it is no page. An entry's time is certain only
/// when its log line gives one; otherwise (a `timestamp` alone) the oracle says nothing of
/// it.
fn expected_page(page: &Json) -> Result<Vec<Expected>, &'static str> {
    if !matches!(page, Json::Object(_)) {
        return Err("the page is not an object");
    }
    if page.count("accessLogs") != 1 {
        return Err("accessLogs is not named exactly once");
    }
    let Some(Json::Array(entries)) = page.field("accessLogs") else {
        return Err("accessLogs is not an array");
    };
    let mut expected = Vec::new();
    for entry in entries {
        if !matches!(entry, Json::Object(_)) {
            return Err("an entry is not an object");
        }
        for key in ["logLine", "timestamp"] {
            match entry.count(key) {
                0 => {}
                1 if matches!(entry.field(key), Some(Json::Null | Json::String(_))) => {}
                _ => return Err("an entry's logLine or timestamp is named twice or not text"),
            }
        }
        let time_ms = entry
            .field("logLine")
            .and_then(Json::str)
            .and_then(log_line_ms);
        expected.push(Expected {
            object: entry.clone(),
            time_ms,
        });
    }
    Ok(expected)
}

fn export_pages(input: &[u8], _knobs: u64) {
    let body = Bytes::copy_from_slice(input);
    let result = entries_of_page(&body);
    // Whatever the input: an entry read is text, and its text is what was sent.
    if let Ok(entries) = &result {
        for entry in entries {
            let text = std::str::from_utf8(entry.raw_bytes()).expect("an entry that is not UTF-8");
            assert_eq!(entry.raw_json(), text);
            assert!(input.windows(text.len()).any(|w| w == text.as_bytes()));
        }
    }
    let page = match read(input) {
        Read::Value(page) => page,
        Read::Invalid => {
            assert!(result.is_err(), "entries read from a text that is not JSON");
            return;
        }
        Read::Doubtful => return,
    };
    match (result, expected_page(&page)) {
        (Ok(entries), Ok(expected)) => {
            assert_eq!(entries.len(), expected.len(), "entries lost or added");
            for (entry, expected) in entries.iter().zip(&expected) {
                let Read::Value(object) = read(entry.raw_bytes()) else {
                    panic!("an entry is not JSON: {}", entry.raw_json());
                };
                assert_eq!(object, expected.object, "an entry is not as Atlas sent it");
                if let Some(ms) = expected.time_ms {
                    assert_eq!(entry.time_ms(), ms, "an entry's time");
                }
            }
        }
        (Ok(entries), Err(why)) => {
            panic!("{} entries read from what is no page: {why}", entries.len())
        }
        (Err(e), Ok(expected)) => {
            assert!(
                !expected.iter().all(|x| x.time_ms.is_some()),
                "a page whose every entry has a time was refused: {e}"
            );
            assert_eq!(e.kind(), ErrorKind::Decode);
        }
        (Err(e), Err(_)) => assert_eq!(e.kind(), ErrorKind::Decode),
    }
}

// --- Error bodies ------------------------------------------------------------------------

fn error_seeds() -> Vec<Vec<u8>> {
    seeds(&[
        r#"{"detail":"No cluster named c1 exists in group 5f1a.","error":404,"errorCode":"CLUSTER_NOT_FOUND","parameters":["c1","5f1a"],"reason":"Not Found"}"#,
        r#"{"detail":"Invalid attribute nLogs specified.","error":400,"errorCode":"INVALID_ATTRIBUTE","parameters":["nLogs"],"reason":"Bad Request","badRequestDetail":{"fields":[{"description":"must be at most 20000","field":"nLogs"}]}}"#,
        r#"{"error":429,"errorCode":"RATE_LIMITED","detail":null,"reason":null,"parameters":null}"#,
        r#"{"error":3000000000,"errorCode":"BIG","badRequestDetail":[1]}"#,
        r#"[400,"X"]"#,
        r#"[404,"CLUSTER_NOT_FOUND","detail"]"#,
        r#"{"error":[400],"errorCode":"X"}"#,
        r#"{"error":400,"errorCode":"X","errorCode":"Y"}"#,
        "<html><body>502 Bad Gateway</body></html>",
        "",
    ])
}

const ERROR_STATUSES: &[u16] = &[400, 401, 403, 404, 409, 429, 500, 502, 503];

/// Atlas's error fields the oracle expects of a body: `(error, errorCode, detail)`, when
/// the body is Atlas's error JSON; `None` when it is not.
fn expected_error(body: &Json) -> Option<(i64, String, Option<String>)> {
    if !matches!(body, Json::Object(_)) {
        return None;
    }
    let known = [
        "error",
        "errorCode",
        "detail",
        "reason",
        "parameters",
        "badRequestDetail",
    ];
    if known.iter().any(|k| body.count(k) > 1) {
        return None;
    }
    let text_or_null =
        |key: &str| matches!(body.field(key), None | Some(Json::Null | Json::String(_)));
    let list_or_null = matches!(
        body.field("parameters"),
        None | Some(Json::Null | Json::Array(_))
    );
    if !(text_or_null("detail") && text_or_null("reason") && list_or_null) {
        return None;
    }
    let error = body.field("error")?.integer()?;
    let code = body.field("errorCode")?.str()?.to_string();
    let detail = body.field("detail").and_then(Json::str).map(str::to_string);
    Some((error, code, detail))
}

fn error_bodies(input: &[u8], knobs: u64) {
    let status = pick(knobs, 0, ERROR_STATUSES);
    let body = Bytes::copy_from_slice(input);
    let mut response = http::Response::new(body.clone());
    *response.status_mut() = http::StatusCode::from_u16(status).unwrap();
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    *response.headers_mut() = headers;
    response.extensions_mut().insert(Body(body));
    // As a generated operation reads an error status: into its error type, else kept whole.
    let response = reqwest::Response::from(response);
    let error = match futures::executor::block_on(from_response::<ApiError, ApiError>(response)) {
        Ok(value) => AtlasError::from(Error::ErrorResponse(value)),
        Err(e) => AtlasError::from(e),
    };
    assert_eq!(error.status().map(|s| s.as_u16()), Some(status));
    assert!(error.body().is_some(), "the body is lost");
    let judged = match read(input) {
        Read::Value(value) => value,
        Read::Doubtful => return,
        Read::Invalid => {
            assert!(
                error.api().is_none(),
                "Atlas's error read from a text that is not JSON"
            );
            return;
        }
    };
    match (error.api(), expected_error(&judged)) {
        (Some(api), Some((code, error_code, detail))) => {
            assert_eq!(api.error, code, "error");
            assert_eq!(api.error_code, error_code, "errorCode");
            assert_eq!(api.detail, detail, "detail");
        }
        (Some(api), None) => panic!("Atlas's error read from a body that is not one: {api:?}"),
        (None, Some(expected)) => panic!("Atlas's error {expected:?} not read"),
        (None, None) => {}
    }
    let expected_kind = match status {
        401 | 403 => ErrorKind::Auth,
        _ if error.api().is_some() => ErrorKind::Api,
        _ => ErrorKind::UnexpectedStatus,
    };
    assert_eq!(error.kind(), expected_kind);
}

// --- State files --------------------------------------------------------------------------

fn state_seeds() -> Vec<Vec<u8>> {
    let checkpoint = r#"{"version":1,"groupId":"32b6e34b3d91647abb20e7b8","target":{"cluster":"Cluster0"},"authResult":null,"ipAddress":null,"throughMs":1700000000005,"overlapMs":600000,"remembered":{"1700000000002":["00000000000000ff","0123456789abcdef"],"1700000000005":["fedcba9876543210"]},"rememberedFromMs":1700000000000}"#;
    let host = r#"{"version":1,"groupId":"g","target":{"hostname":"h:27017"},"authResult":false,"ipAddress":"203.0.113.7","throughMs":5,"overlapMs":0,"remembered":{},"rememberedFromMs":6}"#;
    [
        format!(r#"{{"checkpoint":{checkpoint},"delivery":null}}"#),
        format!(r#"{{"delivery":null,"checkpoint":{host}}}"#),
        format!(
            r#"{{"checkpoint":{checkpoint},"delivery":{{"temp":"/tmp/.out.ndjson.Ab12Cd.atlas-ready","out":"/tmp/out.ndjson"}}}}"#
        ),
        format!(r#"{{"checkpoint":{checkpoint},"delivery":null,"delivery":null}}"#),
        format!(r#"{{"checkpoint":[{checkpoint}],"delivery":null}}"#),
        // Near misses serde alone would read: a millisecond twice (the last one winning),
        // a signed fingerprint.
        format!(r#"{{"checkpoint":{},"delivery":null}}"#, checkpoint.replace(
            r#""1700000000005":["fedcba9876543210"]"#,
            r#""1700000000005":["fedcba9876543210"],"1700000000005":[]"#,
        )),
        format!(r#"{{"checkpoint":{},"delivery":null}}"#, checkpoint.replace("00000000000000ff", "+0000000000000ff")),
        String::from("[]"),
    ]
    .into_iter()
    .map(String::into_bytes)
    .collect()
}

/// Whether a file name is one a finished delivery of `out` carries:
/// `.OUT.XXXXXX.atlas-ready`, six ASCII letters or digits.
fn finished_name_for(name: &str, out: &str) -> bool {
    let Some(rest) = name
        .strip_prefix('.')
        .and_then(|r| r.strip_prefix(out))
        .and_then(|r| r.strip_prefix('.'))
        .and_then(|r| r.strip_suffix(".atlas-ready"))
    else {
        return false;
    };
    rest.len() == 6 && rest.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Whether a checkpoint object follows every rule, written out again.
fn checkpoint_ok(c: &Json) -> bool {
    let keys = [
        "version",
        "groupId",
        "target",
        "authResult",
        "ipAddress",
        "throughMs",
        "overlapMs",
        "remembered",
        "rememberedFromMs",
    ];
    let mut present = c.keys();
    present.sort_unstable();
    let mut wanted = keys.to_vec();
    wanted.sort_unstable();
    if present != wanted {
        return false;
    }
    let int = |k: &str| c.field(k).and_then(Json::integer);
    let target_ok = match c.field("target") {
        Some(t @ Json::Object(members)) => {
            members.len() == 1
                && matches!(members[0].0.as_str(), "cluster" | "hostname")
                && t.field(&members[0].0).and_then(Json::str).is_some()
        }
        _ => false,
    };
    let (Some(through), Some(overlap), Some(from)) =
        (int("throughMs"), int("overlapMs"), int("rememberedFromMs"))
    else {
        return false;
    };
    let remembered_ok = match c.field("remembered") {
        Some(Json::Object(members)) => members.iter().all(|(key, fps)| {
            let ms_ok = key
                .parse::<i64>()
                .is_ok_and(|ms| ms.to_string() == *key && ms >= from && ms <= through);
            let Json::Array(fps) = fps else {
                return false;
            };
            let mut texts: Vec<&str> = Vec::new();
            for fp in fps {
                match fp.str() {
                    Some(t)
                        if t.len() == 16
                            && t.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) =>
                    {
                        texts.push(t)
                    }
                    _ => return false,
                }
            }
            texts.sort_unstable();
            ms_ok && texts.windows(2).all(|w| w[0] != w[1])
        }),
        _ => false,
    };
    int("version") == Some(1)
        && c.field("groupId").and_then(Json::str).is_some()
        && target_ok
        && matches!(c.field("authResult"), Some(Json::Null | Json::Bool(_)))
        && matches!(c.field("ipAddress"), Some(Json::Null | Json::String(_)))
        && overlap >= 0
        && from <= through.saturating_add(1)
        && remembered_ok
}

fn state_files(input: &[u8], _knobs: u64) {
    // A state file is read as text: what is not UTF-8 never reaches the parser.
    let Ok(text) = std::str::from_utf8(input) else {
        return;
    };
    let result = StateFile::<atlas_log_export::Checkpoint>::from_json(text);
    let state = match read(input) {
        Read::Value(value) => value,
        Read::Doubtful => return,
        Read::Invalid => {
            assert!(
                result.is_err(),
                "a state file read from a text that is not JSON"
            );
            return;
        }
    };
    let shape_ok = !state.repeats_a_key()
        && {
            let mut keys = state.keys();
            keys.sort_unstable();
            keys == ["checkpoint", "delivery"]
        }
        && state.field("checkpoint").is_some_and(checkpoint_ok);
    let delivery = state.field("delivery");
    match (&result, delivery) {
        (Ok(parsed), Some(delivery)) => {
            assert!(
                shape_ok,
                "a state file that breaks the rules was read: {text}"
            );
            let c = state.field("checkpoint").unwrap();
            assert_eq!(
                Some(parsed.checkpoint.through_ms),
                c.field("throughMs").and_then(Json::integer)
            );
            assert_eq!(
                parsed
                    .checkpoint
                    .remembered
                    .values()
                    .map(Vec::len)
                    .sum::<usize>(),
                match c.field("remembered") {
                    Some(Json::Object(m)) => m
                        .iter()
                        .map(|(_, v)| match v {
                            Json::Array(a) => a.len(),
                            _ => 0,
                        })
                        .sum(),
                    _ => usize::MAX,
                },
                "fingerprints lost or added"
            );
            match (delivery, &parsed.delivery) {
                (Json::Null, None) => {}
                (Json::Object(_), Some(record)) => {
                    let name = |p: &Path| p.file_name().map(|n| n.to_string_lossy().into_owned());
                    let (Some(temp), Some(out)) = (name(&record.temp), name(&record.out)) else {
                        panic!("a delivery record without file names was trusted: {record:?}");
                    };
                    assert!(
                        finished_name_for(&temp, &out)
                            && delivery.keys().len() == 2
                            && delivery.field("temp").and_then(Json::str).is_some()
                            && delivery.field("out").and_then(Json::str).is_some(),
                        "a delivery record naming what is not ours was trusted: {record:?}"
                    );
                }
                other => panic!("the delivery record was read as something else: {other:?}"),
            }
        }
        (Ok(_), None) => panic!("a state file without its delivery field was read"),
        (Err(e), Some(Json::Null)) => {
            assert!(
                !shape_ok,
                "a state file that keeps every rule was refused: {e}\n{text}"
            )
        }
        (Err(_), _) => {}
    }
}

// --- Delivery records acted on ------------------------------------------------------------

fn delivery_seeds() -> Vec<Vec<u8>> {
    seeds(&[
        ".out.ndjson.Ab12Cd.atlas-ready",
        ".x.000000.atlas-ready",
        ".é log.txt.zZ9yY8.atlas-ready",
        ".out.ndjson.Ab12Cd.atlas-tmp",
        ".out.ndjson.Ab12C.atlas-ready",
        ".out.ndjson.Ab12Cd!.atlas-ready",
        "notes.txt",
        "user.txt",
        "..",
    ])
}

const OUT_NAMES: &[&str] = &["out.ndjson", "x", "é log.txt"];

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Regular,
    Directory,
    Link,
    Missing,
}

thread_local! {
    /// A scratch directory for this thread's delivery records, removed at exit.
    static SCRATCH: tempfile::TempDir = tempfile::tempdir().expect("a scratch directory");
}

/// Every path under `dir` with what it is: a file's content, a link's target, a directory.
fn snapshot(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut all = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let what = if meta.file_type().is_symlink() {
                format!("link to {:?}", std::fs::read_link(&path).unwrap())
            } else if meta.is_dir() {
                stack.push(path.clone());
                "directory".to_string()
            } else {
                format!("file {:?}", std::fs::read(&path).unwrap())
            };
            all.push((path, what));
        }
    }
    all.sort();
    all
}

fn delivery_records(input: &[u8], knobs: u64) {
    SCRATCH.with(|scratch| {
        let root = scratch.path();
        let (here, there) = (root.join("here"), root.join("there"));
        for dir in [&here, &there] {
            let _ = std::fs::remove_dir_all(dir);
            std::fs::create_dir_all(dir).unwrap();
        }
        std::fs::write(here.join("user.txt"), "the user's").unwrap();
        let out_name = pick(knobs, 0, OUT_NAMES);
        let out = here.join(out_name);
        // The recorded temporary file: a name from the input, in this directory or another.
        let mut name: String = String::from_utf8_lossy(input)
            .chars()
            .filter(|&c| c != '/' && c != '\0')
            .collect();
        if name.is_empty() || name == "." || name == ".." || name.len() > 200 {
            name = "x".to_string();
        }
        let beside = knobs & 0x100 == 0;
        let temp = if beside { &here } else { &there }.join(&name);
        let mut kind = pick(
            knobs,
            12,
            &[
                Kind::Regular,
                Kind::Regular,
                Kind::Directory,
                Kind::Link,
                Kind::Missing,
            ],
        );
        if temp.exists() || temp == out {
            kind = Kind::Missing; // a name the scratch uses already: leave it as it is
        }
        let made = match kind {
            Kind::Regular => std::fs::write(&temp, "finished entries"),
            Kind::Directory => std::fs::create_dir(&temp),
            Kind::Link => std::os::unix::fs::symlink(here.join("user.txt"), &temp),
            Kind::Missing => Ok(()),
        };
        if made.is_err() {
            kind = Kind::Missing;
        }
        let before = snapshot(root);
        let result = atlas_runtime::finish_delivery(&temp, &out);
        let after = snapshot(root);
        let ours = beside && finished_name_for(&name, out_name);
        match (kind, ours) {
            (Kind::Regular, true) => {
                assert!(matches!(result, Ok(true)), "{result:?}");
                let mut expected: Vec<(PathBuf, String)> =
                    before.into_iter().filter(|(p, _)| *p != temp).collect();
                expected.push((
                    out.clone(),
                    format!("file {:?}", b"finished entries".to_vec()),
                ));
                expected.sort();
                assert_eq!(after, expected, "the delivery moved something else");
            }
            (Kind::Missing, true) => {
                assert!(matches!(result, Ok(false)), "{result:?}");
                assert_eq!(after, before);
            }
            _ => {
                let e = result.expect_err("a record naming what is not ours was acted on");
                assert_eq!(e.kind(), std::io::ErrorKind::InvalidData, "{e}");
                assert_eq!(after, before, "a refused record moved a file");
            }
        }
    });
}
