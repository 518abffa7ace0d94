//! Helpers shared by the snapshot tests: a loopback mock of Atlas that records what it
//! receives, and a stable text rendering of recorded requests.

use std::fmt::Write;

use atlas_client::Client;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

/// A project id that follows Atlas's rule.
pub const GROUP_ID: &str = "32b6e34b3d91647abb20e7b8";

/// The media type of the access-history operations' success responses, as Atlas sends it.
pub const ATLAS_JSON: &str = "application/vnd.atlas.2023-01-01+json;charset=utf-8";

/// A mock server answering every request with `response`, and a client pointed at it.
pub async fn mock_answering(response: ResponseTemplate) -> (MockServer, Client) {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(response)
        .mount(&server)
        .await;
    // Retries have tests of their own; here one request means one answer.
    let client = Client::builder()
        .base_url(server.uri())
        .retry_policy(atlas_client::RetryPolicy::never())
        .build()
        .expect("client builds");
    (server, client)
}

/// A JSON answer with Atlas's versioned media type.
pub fn atlas_json(status: u16, body: serde_json::Value) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(body.to_string().into_bytes(), ATLAS_JSON)
}

/// An error answer: JSON `ApiError`, labelled `application/json` as Atlas does.
pub fn api_error(status: u16, error_code: &str, detail: &str) -> ResponseTemplate {
    let body = serde_json::json!({
        "detail": detail,
        "error": status,
        "errorCode": error_code,
        "parameters": [],
        "reason": reason_phrase(status),
    });
    ResponseTemplate::new(status).set_body_raw(body.to_string().into_bytes(), "application/json")
}

fn reason_phrase(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        409 => "Conflict",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        _ => "Unknown",
    }
}

/// The one request the server received.
pub async fn only_request(server: &MockServer) -> Request {
    let mut requests = server.received_requests().await.expect("recording is on");
    assert_eq!(
        requests.len(),
        1,
        "expected exactly one request, got {}",
        requests.len()
    );
    requests.remove(0)
}

/// Method, path and query as sent, then every header sorted by name, with the volatile
/// ones (host port, crate version) redacted.
pub fn render(request: &Request) -> String {
    let mut out = format!("{} {}", request.method, request.url.path());
    if let Some(query) = request.url.query() {
        write!(out, "?{query}").unwrap();
    }
    out.push('\n');
    let mut headers: Vec<(String, String)> = request
        .headers
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_string(),
                value.to_str().unwrap_or("<binary>").to_string(),
            )
        })
        .collect();
    headers.sort();
    for (name, value) in headers {
        let value = match name.as_str() {
            "host" => "[loopback]".to_string(),
            "user-agent" => value.replace(env!("CARGO_PKG_VERSION"), "[version]"),
            "authorization" => redact_authorization(&value),
            _ => value,
        };
        writeln!(out, "{name}: {value}").unwrap();
    }
    if !request.body.is_empty() {
        writeln!(out, "\n{}", String::from_utf8_lossy(&request.body)).unwrap();
    }
    out
}

/// Credentials in an `Authorization` header, with every secret or random part redacted:
/// Basic and Bearer values whole, and a Digest answer's nonce, cnonce and response.
pub fn redact_authorization(value: &str) -> String {
    if let Some(params) = value.strip_prefix("Digest ") {
        let params: Vec<String> = params
            .split(", ")
            .map(|pair| match pair.split_once('=') {
                Some((key @ ("nonce" | "cnonce" | "response"), _)) => format!("{key}=[redacted]"),
                _ => pair.to_string(),
            })
            .collect();
        return format!("Digest {}", params.join(", "));
    }
    match value.split_once(' ') {
        Some((scheme, _)) => format!("{scheme} [redacted]"),
        None => "[redacted]".to_string(),
    }
}

/// A fake Atlas with 2,000 entries and small audit logs, adjusted as asked.
pub async fn fake(adjust: impl FnOnce(&mut fake_atlas::Config)) -> fake_atlas::FakeAtlas {
    let mut config = fake_atlas::Config {
        data: fake_atlas::DataConfig {
            entries: 2_000,
            ..fake_atlas::DataConfig::default()
        },
        ..fake_atlas::Config::default()
    };
    config.audit_log_bytes = 64 << 10;
    adjust(&mut config);
    fake_atlas::FakeAtlas::start(config).await.unwrap()
}

/// A client of `atlas` with its demo API key.
pub fn digest_client(atlas: &fake_atlas::FakeAtlas) -> Client {
    Client::builder()
        .base_url(atlas.base_url())
        .api_key(fake_atlas::DEMO_PUBLIC_KEY, fake_atlas::DEMO_PRIVATE_KEY)
        .build()
        .unwrap()
}

/// A client of `atlas` with its demo service account.
pub fn service_client(atlas: &fake_atlas::FakeAtlas) -> Client {
    Client::builder()
        .base_url(atlas.base_url())
        .service_account(fake_atlas::DEMO_CLIENT_ID, fake_atlas::DEMO_CLIENT_SECRET)
        .build()
        .unwrap()
}
