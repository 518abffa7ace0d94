// The driver of `cargo xtask official-check --wire`, copied into a scratch crate under
// target/official-check/wire/ beside the operations the xtask writes for it (`ops.rs`).
// It calls every operation through the generated client with the values of its case,
// against a Prism mock of the official spec whose validator reports, in `sl-violations`,
// what breaks the spec in the request and in the answer; and sends the same values as a
// plain reference request, so that a refusal of the sample itself is told apart from a
// defect of the client.
//
// usage: wire CASES.json REPORT.json NAME=BASE_URL...
#![allow(deprecated, clippy::all)]

use std::collections::BTreeMap;

use atlas_official_client::Client;
use atlas_runtime::Error;
use progenitor_client::ResponseValue;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

mod ops;

/// One operation and the values to call it with, as the xtask wrote them.
#[derive(serde::Deserialize)]
pub struct Case {
    pub id: String,
    pub operation_id: String,
    pub method: String,
    pub path: String,
    pub accept: String,
    pub content_type: Option<String>,
    /// Required parameters: name -> (location, value).
    pub params: BTreeMap<String, (String, Value)>,
    pub body: Option<Value>,
    /// Where the body came from: `example` (the spec's) or `sample` (made from its schema).
    pub body_source: Option<String>,
}

impl Case {
    /// The value of a parameter as the setter's type, read from the sample: a string
    /// sample is read as the JSON it spells when the type is not a string, and a scalar as
    /// its text when the type is one.
    pub fn arg<T: DeserializeOwned>(&self, name: &str) -> Result<T, String> {
        let (_, value) = self
            .params
            .get(name)
            .ok_or_else(|| format!("no value for parameter `{name}`"))?;
        let first = serde_json::from_value::<T>(value.clone());
        first.or_else(|e| {
            let other = match value {
                Value::String(s) => serde_json::from_str::<Value>(s).ok(),
                Value::Number(_) | Value::Bool(_) => Some(Value::String(value.to_string())),
                _ => None,
            };
            other
                .and_then(|v| serde_json::from_value::<T>(v).ok())
                .ok_or_else(|| format!("parameter `{name}`: {e}"))
        })
    }

    pub fn has(&self, name: &str) -> bool {
        self.params.contains_key(name)
    }

    /// The body as the setter's type.
    pub fn body<T: DeserializeOwned>(&self) -> Result<Option<T>, String> {
        match &self.body {
            None => Ok(None),
            Some(body) => serde_json::from_value::<T>(body.clone())
                .map(Some)
                .map_err(|e| format!("body: {e}")),
        }
    }
}

/// What one call came to.
#[derive(Default, serde::Serialize)]
pub struct Outcome {
    /// Why the client would not send the call, if it would not.
    pub unbuilt: Option<String>,
    /// Fields of the body sent that the case did not set (JSON pointers).
    pub unset_sent: Vec<String>,
    pub status: Option<u16>,
    /// Prism's findings on the request the client sent, and on the answer.
    pub request_violations: Vec<String>,
    pub answer_violations: Vec<String>,
    /// Why the answer did not decode, if it did not.
    pub undecoded: Option<String>,
    /// Prism's own failure to answer.
    pub mock_failed: Option<String>,
    /// A failure other than decoding (transport, credentials).
    pub failed: Option<String>,
}

impl Outcome {
    pub fn unbuilt(why: String) -> Self {
        Self {
            unbuilt: Some(why),
            ..Self::default()
        }
    }
}

/// Judges what `send()` returned.
pub fn judge<T, E: std::fmt::Debug + 'static>(
    result: Result<ResponseValue<T>, Error<E>>,
    sent: Option<Value>,
    case: &Case,
) -> Outcome {
    let mut outcome = Outcome::default();
    if let (Some(sent), Some(set)) = (&sent, &case.body) {
        unset(sent, set, String::new(), &mut outcome.unset_sent);
    }
    let answer = match &result {
        Ok(value) => Some((value.status(), value.headers().clone(), None)),
        Err(Error::ErrorResponse(value)) => Some((value.status(), value.headers().clone(), None)),
        Err(Error::UnexpectedResponse(response)) => Some((
            response.status(),
            response.headers().clone(),
            atlas_runtime::response::body_of(response).cloned(),
        )),
        Err(Error::Undecodable(undecodable)) => undecodable
            .status
            .map(|status| (status, undecodable.headers.clone(), Some(undecodable.body.clone()))),
        _ => None,
    };
    if let Some((status, headers, body)) = answer {
        outcome.status = Some(status.as_u16());
        let found = findings(&headers, body.as_deref());
        outcome.request_violations = found.request;
        outcome.answer_violations = found.answer;
        outcome.mock_failed = found.mock_failed;
    }
    match result {
        Ok(_) | Err(Error::ErrorResponse(_)) => {}
        Err(Error::Undecodable(undecodable)) => {
            outcome.undecoded = Some(undecodable.reason.0);
        }
        Err(Error::UnexpectedResponse(response)) => {
            outcome.undecoded = Some(format!(
                "status {} is not one the operation declares",
                response.status()
            ));
        }
        Err(Error::InvalidRequest(why)) => outcome.unbuilt = Some(why),
        Err(other) => outcome.failed = Some(other.to_string()),
    }
    outcome
}

/// What Prism said of a call.
#[derive(Default)]
struct Findings {
    request: Vec<String>,
    answer: Vec<String>,
    /// Prism could not make an answer (no schema for a dynamic one, say): its own failure.
    mock_failed: Option<String>,
}

/// Prism's errors (not warnings) on the request and on the answer: its validator's, in
/// `sl-violations`, and its own refusals, answered as `application/problem+json`.
fn findings(headers: &reqwest::header::HeaderMap, body: Option<&[u8]>) -> Findings {
    let mut found = Findings::default();
    if let Some(value) = headers.get("sl-violations").and_then(|v| v.to_str().ok()) {
        match serde_json::from_str::<Value>(value) {
            Ok(Value::Array(list)) => {
                for v in list {
                    if v.get("severity").and_then(Value::as_str) != Some("Error") {
                        continue;
                    }
                    let location: Vec<String> = v
                        .get("location")
                        .and_then(Value::as_array)
                        .map(|l| {
                            l.iter()
                                .map(|p| p.as_str().map_or_else(|| p.to_string(), str::to_string))
                                .collect()
                        })
                        .unwrap_or_default();
                    let text = format!(
                        "{}: {}",
                        location.join("."),
                        v.get("message").and_then(Value::as_str).unwrap_or("")
                    );
                    match location.first().map(String::as_str) {
                        Some("response") => found.answer.push(text),
                        _ => found.request.push(text),
                    }
                }
            }
            // Cut short by Prism ("Too many violations! [..."): where each list begins shows
            // which side the errors are on.
            _ => {
                let text: String = value.chars().take(300).collect();
                if value.contains(r#""location":["request""#) {
                    found.request.push(text.clone());
                }
                if value.contains(r#""location":["response""#) {
                    found.answer.push(text);
                }
            }
        }
    }
    let problem = headers
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/problem+json"));
    if problem {
        let body: Value = body
            .and_then(|b| serde_json::from_slice(b).ok())
            .unwrap_or(Value::Null);
        let kind = body["type"]
            .as_str()
            .unwrap_or("")
            .rsplit('#')
            .next()
            .unwrap_or("")
            .to_string();
        let text = format!(
            "prism {kind}: {} {}",
            body["title"].as_str().unwrap_or(""),
            body["detail"]
        );
        match kind.as_str() {
            "NO_RESPONSE_DEFINED" | "UNKNOWN" | "VIOLATIONS" => found.mock_failed = Some(text),
            _ => found.request.push(text),
        }
    }
    found
}

/// Paths of `sent` that `set` lacks.
fn unset(sent: &Value, set: &Value, at: String, out: &mut Vec<String>) {
    match (sent, set) {
        (Value::Object(sent), Value::Object(set)) => {
            for (key, value) in sent {
                let here = format!("{at}/{key}");
                match set.get(key) {
                    Some(theirs) => unset(value, theirs, here, out),
                    None => out.push(here),
                }
            }
        }
        (Value::Array(sent), Value::Array(set)) => {
            for (i, (a, b)) in sent.iter().zip(set).enumerate() {
                unset(a, b, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

/// The case's values sent as a plain request, as the spec describes it: Prism's errors on it.
async fn reference(http: &reqwest::Client, base: &str, case: &Case) -> Result<Vec<String>, String> {
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let mut path = case.path.clone();
    let mut query = Vec::new();
    let mut request_headers = Vec::new();
    for (name, (location, value)) in &case.params {
        match location.as_str() {
            "path" => {
                let encoded: String =
                    url::form_urlencoded::byte_serialize(text(value).as_bytes()).collect();
                path = path.replace(&format!("{{{name}}}"), &encoded.replace('+', "%20"));
            }
            "query" => match value {
                Value::Array(items) => query.extend(items.iter().map(|i| (name.clone(), text(i)))),
                _ => query.push((name.clone(), text(value))),
            },
            "header" => request_headers.push((name.clone(), text(value))),
            _ => {}
        }
    }
    let method = reqwest::Method::from_bytes(case.method.as_bytes()).map_err(|e| e.to_string())?;
    let mut request = http
        .request(method, format!("{base}{path}"))
        .query(&query)
        .header("Accept", &case.accept)
        .header("Authorization", "Bearer reference");
    for (name, value) in request_headers {
        request = request.header(name, value);
    }
    if let (Some(body), Some(content_type)) = (&case.body, &case.content_type) {
        request = request
            .header("Content-Type", content_type)
            .body(serde_json::to_vec(body).map_err(|e| e.to_string())?);
    }
    let response = request.send().await.map_err(|e| e.to_string())?;
    let headers = response.headers().clone();
    let body = response.bytes().await.map_err(|e| e.to_string())?;
    Ok(findings(&headers, Some(&body)).request)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [cases, report, mocks @ ..] = args.as_slice() else {
        eprintln!("usage: wire CASES.json REPORT.json NAME=BASE_URL...");
        std::process::exit(2);
    };
    let cases: Vec<Case> =
        serde_json::from_slice(&std::fs::read(cases).expect("reading the cases"))
            .expect("decoding the cases");
    let http = reqwest::Client::new();
    let mut runs = Map::new();
    for mock in mocks {
        let (name, base) = mock.split_once('=').expect("NAME=BASE_URL");
        let client = Client::builder()
            .base_url(base)
            .service_account("mdb_sa_id_wire", "mdb_sa_sk_wire")
            .allow_insecure_http(true)
            .retry_policy(atlas_runtime::RetryPolicy::never())
            .build()
            .expect("building the client");
        let mut results = Vec::new();
        for case in &cases {
            let outcome = ops::call(&client, case).await;
            let reference = match outcome.request_violations.is_empty() && outcome.unbuilt.is_none()
            {
                true => None,
                false => Some(reference(&http, base, case).await),
            };
            results.push(json!({
                "id": case.id,
                "operation_id": case.operation_id,
                "body_source": case.body_source,
                "outcome": outcome,
                "reference_violations": reference,
            }));
        }
        runs.insert(name.to_string(), Value::Array(results));
    }
    std::fs::write(
        report,
        serde_json::to_vec_pretty(&Value::Object(runs)).unwrap(),
    )
    .expect("writing the report");
}
