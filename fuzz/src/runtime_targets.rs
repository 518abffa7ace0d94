//! The runtime's parsers of outside bytes, each reached through the entry point the
//! runtime's own code path goes through, with seed inputs and the properties that must
//! hold whatever the input.

use std::io::Write as _;
use std::time::{Duration, Instant};

use atlas_client::{entry_time, log_line_time};
use atlas_runtime::Error;
use atlas_runtime::auth::{AuthError, Discovered, answer_digest_challenge, parse_token_answer};
use atlas_runtime::call::Undecodable;
use atlas_runtime::download::{DownloadError, disposition_file_name, verify_gzip};
use atlas_runtime::response::{Body, body_of, from_response};
use atlas_runtime::{AtlasError, ErrorKind, RateLimit, parse_timestamp, unwrap_envelope};
use bytes::Bytes;
use flate2::Compression;
use flate2::write::GzEncoder;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue, WWW_AUTHENTICATE};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};

use crate::Target;

/// The runtime's targets, in the order the reports list them.
pub fn all() -> Vec<Target> {
    vec![
        Target {
            name: "token_answer",
            what: "service-account token answers (status, JSON body)",
            seeds: token_seeds(),
            tokens: &[
                b"\"access_token\"",
                b"\"expires_in\"",
                b"\"error\"",
                b"\"error_description\"",
                b"\"token_type\":\"Bearer\"",
            ],
            run: token_answer,
        },
        Target {
            name: "digest",
            what: "WWW-Authenticate Digest challenges, parsed and answered",
            seeds: digest_seeds(),
            tokens: &[
                b"Digest ",
                b"digest ",
                b"realm=",
                b"nonce=",
                b"opaque=",
                b"qop=",
                b"\"auth\"",
                b"\"auth-int\"",
                b"\"auth,auth-int\"",
                b"algorithm=",
                b"MD5-sess",
                b"SHA-256",
                b"SHA-512-256-sess",
                b"stale=true",
                b"userhash=true",
                b"charset=UTF-8",
                b"domain=\"/ /api\"",
                b", ",
            ],
            run: digest,
        },
        Target {
            name: "headers",
            what: "Retry-After (seconds or HTTP date) and RateLimit-* headers",
            seeds: header_seeds(),
            tokens: &[
                b"GMT",
                b"UTC",
                b"+0000",
                b"-2359",
                b"+9999",
                b"Mon, ",
                b"31 Dec 9999 23:59:59",
                b"01 Jan 0000 00:00:00",
                b"29 Feb 2023",
                b"23:59:60",
                b"24:00:00",
            ],
            run: headers,
        },
        Target {
            name: "profile",
            what: "Atlas CLI configuration profiles (TOML)",
            seeds: profile_seeds(),
            tokens: &[
                b"[default]\n",
                b"[[default]]\n",
                b"[gov]\n",
                b"client_id = ",
                b"client_secret = ",
                b"public_api_key = ",
                b"private_api_key = ",
                b"ops_manager_url = ",
                b"default.",
                b"1979-05-27T07:32:00Z",
                b"\"\\u00e9\"",
            ],
            run: profile,
        },
        Target {
            name: "pages",
            what: "access-log pages and error bodies, decoded and turned into AtlasError",
            seeds: page_seeds(),
            tokens: &[
                b"\"accessLogs\"",
                b"\"authResult\"",
                b"\"logLine\"",
                b"\"timestamp\"",
                b"\"error\"",
                b"\"errorCode\"",
                b"\"detail\"",
                b"\"parameters\"",
                b"\"badRequestDetail\"",
                b"<html>",
            ],
            run: pages,
        },
        Target {
            name: "timestamps",
            what: "log-line times and access-log timestamps",
            seeds: timestamp_seeds(),
            tokens: &[
                b"{\"t\":{\"$date\":\"",
                b"\"$date\"",
                b"GMT",
                b"EDT",
                b"Wed Apr 26 ",
                b"+262143-12-31T23:59:59Z",
                b"-262144-01-01T00:00:00Z",
                b"9999-12-31T23:59:59.999999999+23:59",
                b".123456789123456789",
                b"+99:99",
                b"-0400",
                b"T",
                b"Z",
            ],
            run: timestamps,
        },
        Target {
            name: "gzip",
            what: "downloads: gzip verified, kept or decompressed",
            seeds: gzip_seeds(),
            tokens: &[
                b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff",
                b"\x1f\x8b\x08\x1f",
                b"\x1f\x8b",
                b"\x00\x00\xff\xff",
                b"\x03\x00",
                b"\xff\xff\xff\xff",
                b"\x00\x00\x00\x00",
            ],
            run: gzip,
        },
        Target {
            name: "envelope",
            what: "envelope=true answers unwrapped",
            seeds: envelope_seeds(),
            tokens: &[b"\"status\"", b"\"content\"", b"\"status\":200,"],
            run: envelope,
        },
        Target {
            name: "disposition",
            what: "Content-Disposition file names",
            seeds: disposition_seeds(),
            tokens: &[
                b"filename=",
                b"filename*=UTF-8''",
                b"attachment; ",
                b"../",
                b"..\\",
                b"/",
                b".",
                b";",
            ],
            run: disposition,
        },
        Target {
            name: "json_scan",
            what: "JSON text checked and walked in one pass (atlas_runtime::scan)",
            seeds: scan_seeds(),
            tokens: &[
                b"\\u00e9",
                b"\\ud800",
                b"\xc3\xa9",
                b"\xf0\x9f\xa6\x80",
                b"\xed\xa0\x80",
                b"\xff",
                b"\\\"",
                b"\\",
                b"-0.5e-7",
                b"1E+2",
                b"[]",
                b"{}",
                b",",
                b":",
                b"\"k\":",
                b"null",
                b"true",
                b"\t",
            ],
            run: json_scan,
        },
    ]
}

/// `items[knobs >> shift % len]`: a choice made by the knobs, not the input.
fn pick<T: Copy>(knobs: u64, shift: u32, items: &[T]) -> T {
    items[((knobs >> shift) % items.len() as u64) as usize]
}

/// A header value the way the wire can deliver it: the bytes a header cannot carry (control
/// characters other than tab) left out.
fn header_value(bytes: &[u8]) -> Option<HeaderValue> {
    let kept: Vec<u8> = bytes
        .iter()
        .copied()
        .filter(|&b| b == b'\t' || (b >= 0x20 && b != 0x7f))
        .collect();
    HeaderValue::from_bytes(&kept).ok()
}

fn lines(input: &[u8]) -> impl Iterator<Item = &[u8]> {
    input.split(|&b| b == b'\n')
}

fn seeds(texts: &[&str]) -> Vec<Vec<u8>> {
    texts.iter().map(|t| t.as_bytes().to_vec()).collect()
}

// --- 1. Service-account token answers ---------------------------------------------------

fn token_seeds() -> Vec<Vec<u8>> {
    seeds(&[
        r#"{"access_token":"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJtZGJfc2FfaWQifQ.c2ln","expires_in":3600,"token_type":"Bearer"}"#,
        r#"{"expires_in":0,"access_token":""}"#,
        r#"{"access_token":"t","expires_in":18446744073709551615}"#,
        r#"{"access_token":"\u00e9\ud83e\udd80","expires_in":1,"scope":["openid"],"extra":{"a":[1,2,{"b":null}]}}"#,
        r#"{"error":"invalid_client","error_description":"The client credentials are not valid."}"#,
        r#"{"error":"invalid_request"}"#,
        r#"{"error":"slow_down","error_description":null}"#,
        "<html><body><h1>502 Bad Gateway</h1></body></html>",
        "",
        "[]",
    ])
}

const TOKEN_STATUSES: &[u16] = &[200, 200, 200, 201, 204, 299, 400, 401, 403, 429, 500, 503];

fn token_answer(input: &[u8], knobs: u64) {
    let status = if knobs & 0xf == 0 {
        100 + ((knobs >> 8) % 500) as u16
    } else {
        pick(knobs, 4, TOKEN_STATUSES)
    };
    let success = (200..300).contains(&status);
    let body = Bytes::copy_from_slice(input);
    let requested = Instant::now();
    match parse_token_answer(status, body.clone(), requested) {
        Ok((token, renew_at)) => {
            assert!(success, "a token from HTTP {status}");
            assert!(
                renew_at >= requested && renew_at <= requested + Duration::from_secs(24 * 3600),
                "renewal {:?} after the request",
                renew_at.saturating_duration_since(requested)
            );
            let _ = token.expose_secret().len();
        }
        Err(e) => {
            // A refusal keeps its body; a success that is not a token keeps none (it may
            // hold a token).
            let kept = match &e {
                AuthError::Rejected {
                    status: s, body: b, ..
                } => {
                    assert!(!success, "HTTP {status} taken for a refusal");
                    assert_eq!((*s, b), (status, &body));
                    Some(input)
                }
                AuthError::BadAnswer { status: s, .. } => {
                    assert!(success, "HTTP {status} read as a token answer");
                    assert_eq!(*s, status);
                    None
                }
                other => panic!("unexpected error {other:?}"),
            };
            let _ = e.to_string();
            let e = AtlasError::from(e);
            assert_eq!(e.kind(), ErrorKind::Auth);
            assert_eq!(e.status().map(|s| s.as_u16()), Some(status));
            assert_eq!(e.body(), kept);
            let _ = e.to_string();
        }
    }
}

// --- 2. Digest challenges -----------------------------------------------------------------

fn digest_seeds() -> Vec<Vec<u8>> {
    seeds(&[
        r#"Digest realm="MMS Public API", domain="", nonce="OBVn2e8sJWyhY7ZfzEm0lnj4j3hnqIFe", algorithm=MD5, qop="auth", stale=false"#,
        r#"Digest realm="MMS Public API", domain="", nonce="c2Vjb25kIG5vbmNl", algorithm=MD5, qop="auth", stale=true"#,
        r#"Digest realm="api", nonce="n", opaque="5ccc069c403ebaf9f0171e9517f40e41", qop="auth,auth-int", algorithm=SHA-256"#,
        r#"Digest realm="a \"quoted\" realm", nonce="n\\n", userhash=true, charset=UTF-8, algorithm=SHA-512-256-sess"#,
        "Digest realm=plain,nonce=plain,qop=auth",
        "Bearer realm=\"atlas\"\nDigest realm=\"MMS Public API\", nonce=\"abc\", qop=\"auth\"",
        "Basic realm=\"atlas\"",
        "digest realm=\"lower\", nonce=\"case\"",
        "Digest ",
        "Digest realm=\"r\", nonce=\"n\", qop=\"token\"",
    ])
}

const DIGEST_REQUESTS: &[(&str, &str)] = &[
    (
        "GET",
        "https://cloud.mongodb.com/api/atlas/v2/groups/5f1a/clusters/c0/logs/mongodb.gz?startDate=1700000000",
    ),
    (
        "GET",
        "https://cloud.mongodb.com/api/atlas/v2/groups/5f1a/dbAccessHistory/clusters/c0",
    ),
    ("POST", "https://cloud.mongodb.com/api/atlas/v2/groups"),
    ("DELETE", "http://127.0.0.1:8080/api/atlas/v2/groups/5f1a"),
];

fn digest(input: &[u8], knobs: u64) {
    let mut challenge = http::Response::builder().status(401);
    let mut offered = Vec::new();
    for line in lines(input) {
        if let Some(value) = header_value(line) {
            offered.push(value.clone());
            challenge = challenge.header(WWW_AUTHENTICATE, value);
        }
    }
    let challenge = reqwest::Response::from(challenge.body(Bytes::new()).unwrap());
    let (method, url) = pick(knobs, 0, DIGEST_REQUESTS);
    let request = reqwest::Request::new(method.parse().unwrap(), url.parse().unwrap());
    let Some(answer) = answer_digest_challenge("pubkey01", "priv-4f7a", &challenge, &request)
    else {
        return;
    };
    assert!(answer.is_sensitive(), "the answer is not marked sensitive");
    let text = answer.to_str().expect("an answer header in ASCII");
    assert!(text.starts_with("Digest "), "{text}");
    assert!(text.contains("username=\""), "{text}");
    assert!(
        !text.contains("priv-4f7a"),
        "the private key is in the answer"
    );
    // RFC 7235: a header value is a comma-separated list of challenges and parameters;
    // one of its elements must open a Digest challenge.
    let opens_digest = |v: &HeaderValue| {
        v.to_str().is_ok_and(|v| {
            v.split(',').any(|part| {
                // The scheme, then a space or the end of the element.
                let part = part.trim_start_matches([' ', '\t']).as_bytes();
                part.len() >= 6
                    && part[..6].eq_ignore_ascii_case(b"digest")
                    && part.get(6).is_none_or(|&b| b == b' ')
            })
        })
    };
    assert!(
        offered.iter().any(opens_digest),
        "answered without a Digest challenge"
    );
}

// --- 3. Retry-After and RateLimit headers ----------------------------------------------------

fn header_seeds() -> Vec<Vec<u8>> {
    seeds(&[
        "120\n1200\n17",
        "0\n100\n0",
        "Wed, 21 Oct 2015 07:28:00 GMT\n1200\n1199",
        "Fri, 31 Dec 9999 23:59:59 GMT",
        "Thu, 01 Jan 1970 00:00:00 +0000\n\n",
        "Tue, 1 Jul 2003 10:52:37 +0200\n 60 \n 59 ",
        " 18446744073709551615 \n18446744073709551615\n18446744073709551616",
        "-1\n-1\n-1",
        "soon",
    ])
}

const HEADER_NAMES: &[&str] = &["retry-after", "ratelimit-limit", "ratelimit-remaining"];

fn headers(input: &[u8], knobs: u64) {
    let mut headers = HeaderMap::new();
    for (i, line) in lines(input).enumerate() {
        let Some(value) = header_value(line) else {
            continue;
        };
        // Lines past the third repeat the headers: the first value is the one read.
        let name = HeaderName::from_static(HEADER_NAMES[i % HEADER_NAMES.len()]);
        headers.append(name, value);
    }
    let rate = RateLimit::from_headers(&headers);
    let seconds = headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let status = pick(knobs, 0, &[429u16, 503, 502, 200]);
    let mut response = http::Response::builder().status(status);
    *response.headers_mut().unwrap() = headers;
    let response = reqwest::Response::from(response.body(Bytes::new()).unwrap());
    let e = AtlasError::from(Error::<()>::UnexpectedResponse(response));
    assert_eq!(e.status().map(|s| s.as_u16()), Some(status));
    assert_eq!(e.rate_limit_remaining(), rate.remaining);
    let wait = e.retry_after();
    if let Some(seconds) = seconds {
        assert_eq!(wait, Some(Duration::from_secs(seconds)));
    }
}

// --- 4. Atlas CLI configuration profiles -----------------------------------------------------

fn profile_seeds() -> Vec<Vec<u8>> {
    // Malformed nesting that once overflowed the parser's stack.
    let deep = format!("x = {{{}\"\n{}", "[]".repeat(300), "[".repeat(300));
    let mut all = seeds(&[
        "[default]\n  org_id = \"5f1a2b3c4d5e6f7a8b9c0d1e\"\n  output = \"json\"\n  public_api_key = \"abcdefgh\"\n  private_api_key = \"01234567-89ab-cdef-0123-456789abcdef\"\n  service = \"cloud\"\n\n[gov]\n  client_id = \"mdb_sa_id_0123456789abcdef01234567\"\n  client_secret = \"mdb_sa_sk_abcdefabcdefabcdefabcdefabcdefab\"\n  ops_manager_url = \"https://cloud.mongodbgov.com/\"\n  service = \"cloudgov\"\n",
        "default = { public_api_key = 'a', private_api_key = \"b\" }\ngov.client_id = \"id\"\ngov.client_secret = \"\"\"multi\nline\"\"\"\n",
        "[[default]]\npublic_api_key = \"a\"\n[default.nested]\nx = [1, 2.5, -0x7f, inf, nan, 1979-05-27T07:32:00Z, { y = true }]\n",
        "# comment\n\"a.b\" = { client_id = \"\\u00e9\", client_secret = \"\\U0001F980\" }\n[\"日本\"]\npublic_api_key = \"k\"\nprivate_api_key = \"  \"\n",
        "[default]\nops_manager_url = \"   \"\ntelemetry_enabled = false\nupdated = 2024-01-01\n",
        "[default\n",
        "",
    ]);
    all.push(deep.into_bytes());
    all
}

const PROFILE_NAMES: &[&str] = &[
    "default",
    "gov",
    "",
    "missing",
    "a.b",
    "日本",
    "default.nested",
];

fn profile(input: &[u8], knobs: u64) {
    let text = String::from_utf8_lossy(input);
    let name = pick(knobs, 0, PROFILE_NAMES);
    match Discovered::from_profile_text(&text, name) {
        Ok(Some(found)) => {
            if let Some(credentials) = &found.credentials {
                assert!(!credentials.id().trim().is_empty(), "a blank id was taken");
            }
            if let Some(url) = &found.base_url {
                assert!(!url.trim().is_empty(), "a blank base URL was taken");
            }
            let _ = format!("{found:?}");
        }
        Ok(None) => {}
        Err(reason) => assert!(!reason.to_string().is_empty(), "an error without a reason"),
    }
}

// --- 5. Pages and error bodies --------------------------------------------------------------

/// A page shaped like Atlas's database access history.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct AccessLogs {
    access_logs: Vec<AccessLogEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct AccessLogEntry {
    auth_result: Option<bool>,
    auth_source: Option<String>,
    failure_reason: Option<String>,
    group_id: Option<String>,
    hostname: Option<String>,
    ip_address: Option<String>,
    log_line: Option<String>,
    timestamp: Option<String>,
    username: Option<String>,
}

/// An error body shaped like Atlas's, as an operation declares it.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ApiError {
    #[serde(skip_serializing_if = "Option::is_none")]
    bad_request_detail: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<String>,
    error: i32,
    error_code: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    parameters: Vec<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

fn page_seeds() -> Vec<Vec<u8>> {
    seeds(&[
        r#"{"accessLogs":[{"authResult":true,"authSource":"admin","groupId":"5f1a2b3c4d5e6f7a8b9c0d1e","hostname":"c0-shard-00-01.abcde.mongodb.net","ipAddress":"203.0.113.7","logLine":"{\"t\":{\"$date\":\"2023-04-26T02:38:56.123+00:00\"},\"s\":\"I\",\"c\":\"ACCESS\",\"id\":20250,\"msg\":\"Authentication succeeded\"}","timestamp":"Wed Apr 26 02:38:56 GMT 2023","username":"app"},{"authResult":false,"failureReason":"UserNotFound","ipAddress":"::1","username":"ghost"}]}"#,
        r#"{"accessLogs":[]}"#,
        r#"  {"accessLogs":[{}], "links":[{"href":"https://cloud.mongodb.com/api","rel":"self"}], "totalCount": 1}"#,
        r#"{"detail":"No cluster named c1 exists in group 5f1a.","error":404,"errorCode":"CLUSTER_NOT_FOUND","parameters":["c1","5f1a"],"reason":"Not Found"}"#,
        r#"{"detail":"Invalid attribute nLogs specified.","error":400,"errorCode":"INVALID_ATTRIBUTE","parameters":["nLogs"],"reason":"Bad Request","badRequestDetail":{"fields":[{"description":"must be at most 20000","field":"nLogs"}]}}"#,
        r#"{"error":429,"errorCode":"RATE_LIMITED_TOKEN_BUCKET","detail":"Too many requests.","reason":"Too Many Requests"}"#,
        r#"{"error":401,"reason":"Unauthorized","errorCode":"NOT_IN_GROUP"}"#,
        "<html><head><title>503 Service Temporarily Unavailable</title></head><body>nginx</body></html>",
        "",
        "[]",
        "null",
        "[{\"accessLogs\":[]}]",
    ])
}

const PAGE_STATUSES: &[u16] = &[200, 400, 401, 403, 404, 429, 500, 503];

/// An answer as the runtime hands it to generated code: read whole, the body kept in its
/// extensions (or, with `kept` false, still in the response).
fn answer(status: u16, headers: HeaderMap, body: Bytes, kept: bool) -> reqwest::Response {
    let mut response = http::Response::new(body.clone());
    *response.status_mut() = http::StatusCode::from_u16(status).unwrap();
    *response.headers_mut() = headers;
    if kept {
        response.extensions_mut().insert(Body(body));
    }
    reqwest::Response::from(response)
}

/// Checks a decoding failure: the answer is kept whole, and says why.
fn check_undecoded<E: std::fmt::Debug>(error: &Error<E>, status: u16, body: &[u8]) {
    let Error::Undecodable(Undecodable {
        status: kept_status,
        body: kept,
        reason,
        ..
    }) = error
    else {
        panic!("a decoding failure of another kind: {error:?}");
    };
    assert_eq!(kept_status.map(|s| s.as_u16()), Some(status));
    assert_eq!(kept.as_ref(), body);
    assert!(!reason.0.is_empty());
}

fn pages(input: &[u8], knobs: u64) {
    let status = pick(knobs, 0, PAGE_STATUSES);
    // `from_response` reads a body the runtime did not keep; an undeclared status reaches
    // `AtlasError` straight from the runtime, which keeps every body it does not stream.
    let kept = knobs & 0x100 != 0 || !(200..=500).contains(&status);
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    let response = answer(status, headers, Bytes::copy_from_slice(input), kept);
    let first = input.iter().copied().find(|b| !b.is_ascii_whitespace());
    let e = match status {
        200 => match futures::executor::block_on(from_response::<AccessLogs, ApiError>(response)) {
            Ok(page) => {
                assert_eq!(first, Some(b'{'), "a page decoded from something else");
                assert_eq!(page.status().as_u16(), 200);
                return;
            }
            Err(e) => {
                check_undecoded(&e, status, input);
                AtlasError::from(e)
            }
        },
        // The statuses the operation declares, decoded into its error type.
        400..=500 => {
            match futures::executor::block_on(from_response::<ApiError, ApiError>(response)) {
                Ok(value) => {
                    assert_eq!(first, Some(b'{'), "an error decoded from something else");
                    AtlasError::from(Error::ErrorResponse(value))
                }
                Err(e) => {
                    check_undecoded(&e, status, input);
                    AtlasError::from(e)
                }
            }
        }
        _ => AtlasError::from(Error::<ApiError>::UnexpectedResponse(response)),
    };
    assert_eq!(e.status().map(|s| s.as_u16()), Some(status));
    let expected = match status {
        401 | 403 => ErrorKind::Auth,
        200 => ErrorKind::Decode,
        _ if e.api().is_some() => ErrorKind::Api,
        _ => ErrorKind::UnexpectedStatus,
    };
    assert_eq!(e.kind(), expected);
    assert!(e.body().is_some(), "the body is lost");
    assert_eq!(e.is_retryable(), matches!(status, 429 | 503));
    let _ = (
        e.to_string(),
        e.error_code(),
        e.detail(),
        e.is_rate_limited(),
    );
}

// --- 6. Timestamps (the runtime's; log lines are read by the client's access_logs) --------------------------------------------------------------------------

fn timestamp_seeds() -> Vec<Vec<u8>> {
    seeds(&[
        "{\"t\":{\"$date\":\"2023-04-26T02:38:56.123+00:00\"},\"s\":\"I\",\"c\":\"ACCESS\",\"id\":20250,\"ctx\":\"conn41\",\"msg\":\"Authentication succeeded\",\"attr\":{\"user\":\"app\",\"db\":\"admin\"}}\nWed Apr 26 02:38:56 GMT 2023",
        "2019-07-25T09:14:42.137-0400 I  ACCESS   [conn41] Successfully authenticated as principal app on admin\n2019-07-25T13:14:42Z",
        "{\"attr\":{\"t\":{\"$date\":\"2001-01-01T00:00:00Z\"}},\"t\":{\"$date\":\"2024-02-29T23:59:59.999999999+14:00\"}}\nSun Jul 25 9:14:42 EDT 2019",
        "garbage\nTue Jan 02 23:59:59 PST 2024",
        "9999-12-31T23:59:59.999Z\n+262143-12-31T23:59:59Z",
        "{\"t\":{\"$date\":1682476736123}}\nThu Oct 29 22:18:49 GMT 202",
        "\n",
    ])
}

fn timestamps(input: &[u8], _knobs: u64) {
    let text = String::from_utf8_lossy(input);
    let text: &str = &text;
    let (line, stamp) = text.split_once('\n').unwrap_or((text, text));
    let from_line = log_line_time(line);
    let from_stamp = parse_timestamp(stamp);
    assert_eq!(
        entry_time(Some(line), Some(stamp)),
        from_line.or(from_stamp),
        "the log line's time first, else the timestamp"
    );
    let _ = (parse_timestamp(line), log_line_time(stamp));
}

// --- 7. Downloads: gzip verification -----------------------------------------------------------

fn gzipped(level: u32, parts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for part in parts {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::new(level));
        encoder.write_all(part).unwrap();
        out.extend(encoder.finish().unwrap());
    }
    out
}

fn gzip_seeds() -> Vec<Vec<u8>> {
    let log: &[u8] = b"{\"t\":{\"$date\":\"2023-04-26T02:38:56.123+00:00\"},\"s\":\"I\",\"c\":\"ACCESS\",\"msg\":\"Authentication succeeded\"}\n";
    let named = {
        let mut encoder = flate2::GzBuilder::new()
            .filename("audit.log")
            .comment("atlas")
            .extra(b"ex".to_vec())
            .mtime(1_700_000_000)
            .write(Vec::new(), Compression::best());
        encoder.write_all(&log.repeat(3)).unwrap();
        encoder.finish().unwrap()
    };
    let whole = gzipped(6, &[&log.repeat(4)]);
    vec![
        gzipped(6, &[&log.repeat(4)]),
        gzipped(0, &[log]),
        gzipped(1, &[b""]),
        gzipped(9, &[log, b"second member\n"]),
        gzipped(6, &[&vec![0u8; 256 * 1024]]),
        named,
        whole[..whole.len() - 5].to_vec(),
        [whole.as_slice(), b"trailing"].concat(),
        log.to_vec(),
    ]
}

fn gzip(input: &[u8], knobs: u64) {
    // Split where the knobs say, into up to four chunks, as the network would.
    let mut cuts: Vec<usize> = (0..(knobs & 3))
        .map(|i| ((knobs >> (8 + 16 * i)) & 0xffff) as usize % (input.len() + 1))
        .collect();
    cuts.sort_unstable();
    let mut chunks = Vec::new();
    let mut from = 0;
    for cut in cuts.into_iter().chain([input.len()]) {
        chunks.push(&input[from..cut]);
        from = cut;
    }
    let kept = verify_gzip(&chunks, false);
    let text = verify_gzip(&chunks, true);
    let limited = |r: &Result<u64, DownloadError>| match r {
        Err(DownloadError::Io { source, .. }) => {
            assert_eq!(source.kind(), std::io::ErrorKind::FileTooLarge, "{source}");
            true
        }
        Err(DownloadError::Corrupt(e)) => {
            assert!(
                matches!(
                    e.kind(),
                    std::io::ErrorKind::InvalidData
                        | std::io::ErrorKind::InvalidInput
                        | std::io::ErrorKind::UnexpectedEof
                ),
                "bad data reported as {:?}: {e}",
                e.kind()
            );
            false
        }
        Err(other) => panic!("unexpected error {other:?}"),
        Ok(_) => false,
    };
    assert!(
        !limited(&kept),
        "the limit applies to decompressed output only"
    );
    if let Ok(n) = kept {
        assert_eq!(n, input.len() as u64, "the gzip is written as received");
    }
    if !limited(&text) {
        assert_eq!(
            kept.is_ok(),
            text.is_ok(),
            "verified differently when decompressing: {kept:?} / {text:?}"
        );
    }
    if chunks.len() > 1 {
        assert_eq!(
            verify_gzip(&[input], false).is_ok(),
            kept.is_ok(),
            "verified differently in one chunk"
        );
    }
}

// --- 8. Envelopes -----------------------------------------------------------------------------

fn envelope_seeds() -> Vec<Vec<u8>> {
    seeds(&[
        r#"{"status":200,"content":{"accessLogs":[{"username":"app","authResult":true}]}}"#,
        r#"{"status":404,"content":{"error":404,"errorCode":"CLUSTER_NOT_FOUND"}}"#,
        r#"{"content":null,"status":null}"#,
        r#"{"status":200}"#,
        r#"{"accessLogs":[]}"#,
        "[1,2,3]",
        "not json",
    ])
}

const CONTENT_TYPES: &[&str] = &[
    "application/json",
    "application/vnd.atlas.2023-01-01+json;charset=utf-8",
    "application/vnd.atlas.2023-02-01+gzip",
    " application/json ; q=1",
    "text/plain",
    "json",
    "",
];

fn envelope(input: &[u8], knobs: u64) {
    let status = pick(knobs, 0, &[200u16, 404, 500]);
    let content_type = pick(knobs, 8, CONTENT_TYPES);
    let mut headers = HeaderMap::new();
    if !content_type.is_empty() {
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    }
    let body = Bytes::copy_from_slice(input);
    let unwrapped = unwrap_envelope(answer(status, headers, body.clone(), true));
    assert_eq!(unwrapped.status().as_u16(), status);
    let out = body_of(&unwrapped).expect("the body is kept");
    if out.len() == input.len() {
        assert_eq!(out.as_ref(), input, "the body was changed, not unwrapped");
        return;
    }
    assert!(
        content_type.contains("json"),
        "unwrapped a {content_type:?} answer"
    );
    assert_eq!(
        input.iter().find(|b| !b.is_ascii_whitespace()),
        Some(&b'{'),
        "unwrapped something other than an object"
    );
    assert!(
        serde_json::from_slice::<serde::de::IgnoredAny>(input).is_ok(),
        "unwrapped text that is not JSON"
    );
    // The entity is handed over as written: a part of the body, not a rewriting of it.
    let (start, end) = (body.as_ptr() as usize, body.as_ptr() as usize + body.len());
    let at = out.as_ptr() as usize;
    assert!(
        at >= start && at + out.len() <= end,
        "the content is not the body's own"
    );
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(input) {
        assert!(value.get("status").is_some(), "unwrapped without status");
        let original = value.get("content").expect("unwrapped without content");
        let content: serde_json::Value = serde_json::from_slice(out).expect("content as JSON");
        assert_eq!(&content, original);
    }
}

// --- 9. Content-Disposition -------------------------------------------------------------------

fn disposition_seeds() -> Vec<Vec<u8>> {
    seeds(&[
        "attachment; filename=\"cluster0-shard-00-00.abcde.mongodb.net_2023-04-26T00_00_00_2023-04-26T01_00_00_AUDIT_LOG.log.gz\"",
        "attachment; filename=mongodb.gz",
        "attachment; filename=\"../../etc/passwd\"",
        "attachment; filename=\"C:\\\\Windows\\\\x.gz\"",
        "attachment; filename=\"...\"",
        "inline",
        "attachment; filename*=UTF-8''%e2%82%ac%20rates.gz; filename=\"rates.gz\"",
    ])
}

fn disposition(input: &[u8], _knobs: u64) {
    let value = String::from_utf8_lossy(input);
    if let Some(name) = disposition_file_name(&value) {
        assert!(!name.is_empty(), "an empty file name");
        assert!(!name.contains(['/', '\\']), "a path, not a name: {name:?}");
        assert!(
            !name.starts_with('.'),
            "a hidden or relative name: {name:?}"
        );
    }
}

// --- JSON text walked in one pass -------------------------------------------------------

fn scan_seeds() -> Vec<Vec<u8>> {
    seeds(&[
        r#"{"accessLogs":[{"logLine":"{\"t\":{\"$date\":\"2026-10-28T23:59:56.307+00:00\"}}","timestamp":null,"n":-1.5e3}]}"#,
        r#"[1, [2, [3, {"a": [true, false, null]}]], "x\u00e9\ud83e\udd80", 0, -0.0, 1e-9]"#,
        r#" { "k" : "v" , "e" : { } , "l" : [ ] } "#,
        r#""\"\\\/\b\f\n\r\t""#,
        "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
        "123456789012345678901234567890.123456789e-123456",
        r#"{"a":1,}"#,
        "[01]",
        "",
    ])
}

/// `scan::check` accepts exactly what `serde_json` accepts when it steps over a value, of
/// the texts that are UTF-8, and no other, and agrees with the oracle; an array's
/// elements, walked one by one, are the oracle's.
fn json_scan(input: &[u8], _knobs: u64) {
    use atlas_runtime::scan::{Scanner, check};
    let checked = check(input);
    let serde = serde_json::from_slice::<serde::de::IgnoredAny>(input);
    let utf8 = std::str::from_utf8(input).is_ok();
    assert_eq!(
        checked.is_ok(),
        serde.is_ok() && utf8,
        "scan says {checked:?}, serde_json says {serde:?}, UTF-8: {utf8}"
    );
    let value = match crate::json::read(input) {
        crate::json::Read::Value(value) => value,
        crate::json::Read::Invalid => {
            assert!(checked.is_err(), "accepted what is not JSON");
            return;
        }
        crate::json::Read::Doubtful => return,
    };
    assert!(checked.is_ok(), "refused JSON: {checked:?}");
    if let crate::json::Json::Array(items) = value {
        let mut scan = Scanner::new(input);
        scan.enter_array().expect("an array");
        let mut walked = Vec::new();
        while scan.next_element().expect("an element or the end") {
            let range = scan.skip_value().expect("an element");
            walked.push(crate::json::read(&input[range]));
        }
        scan.end().expect("nothing after the array");
        assert_eq!(walked.len(), items.len(), "elements lost or added");
        for (walked, item) in walked.into_iter().zip(items) {
            match walked {
                crate::json::Read::Value(walked) => assert_eq!(walked, item),
                other => panic!("an element's text is not its value: {other:?}"),
            }
        }
    }
}
