//! What every generated operation's request goes through: [`Runtime::call`].
//!
//! `cargo xtask codegen` makes each generated `send()` hand its request to its client's
//! [`Runtime`], which
//! - refuses to send credentials over plain HTTP to a host other than loopback (unless
//!   allowed) and sets the `User-Agent`;
//! - sends the request with the runtime's own HTTP client (its connect and read timeouts
//!   apply whatever client the generated `Client` was given), retrying as the
//!   [`RetryPolicy`] allows. Each attempt gets freshly computed credentials and answers one
//!   authentication challenge; an answer that is not a download is read whole inside the
//!   attempt, so one that breaks off mid-body is retried like a connection failure. A
//!   download's body is read after the attempt, by [`crate::download::save`], which sends
//!   the request again from the start when the body breaks off, within the same policy.
//!
//! The media types, the absence of `api-version` and the parameter rules are the generated
//! code's business: it sends exactly what the operation table records.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, HeaderValue, USER_AGENT};
use serde_json::value::RawValue;

use crate::auth::{self, Auth, AuthError, Credentials, Endpoint, Failure};
use crate::buffer;
use crate::call::Error;
use crate::client::{BuildError, DEFAULT_CONNECT_TIMEOUT, DEFAULT_READ_TIMEOUT};
use crate::operation::Operation;
use crate::response::{Body, body_of, rebuild};
use crate::retry::{self, RetryPolicy};

/// The `User-Agent` this crate sends: `atlas-runtime/<version>`.
pub const USER_AGENT_VALUE: &str = concat!(env!("CARGO_PKG_NAME"), "/", env!("CARGO_PKG_VERSION"));

/// Per-client state every call goes through: progenitor's "inner" value of a generated `Client`.
/// Clones share their HTTP connections and authentication state (cached challenge or
/// token).
#[derive(Clone, Debug)]
pub struct Runtime {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    http: reqwest::Client,
    user_agent: HeaderValue,
    auth: Auth,
    retry: RetryPolicy,
    allow_insecure_http: bool,
}

/// What a [`Runtime`] is made of; [`ClientBuilder`](crate::ClientBuilder) fills it in.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    pub(crate) credentials: Option<Credentials>,
    pub(crate) allow_insecure_http: bool,
    pub(crate) connect_timeout: Duration,
    pub(crate) read_timeout: Duration,
    pub(crate) retry: RetryPolicy,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            credentials: None,
            allow_insecure_http: false,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            read_timeout: DEFAULT_READ_TIMEOUT,
            retry: RetryPolicy::default(),
        }
    }
}

impl Runtime {
    /// A runtime authenticating with `credentials` (`None`: requests go unauthenticated),
    /// with the default timeouts and retry policy. Most callers want
    /// [`ClientBuilder`](crate::ClientBuilder) instead.
    ///
    /// # Errors
    ///
    /// The HTTP client could not be set up (TLS initialisation, for one).
    pub fn new(credentials: Option<Credentials>) -> Result<Self, BuildError> {
        Self::with(Settings {
            credentials,
            ..Settings::default()
        })
    }

    pub(crate) fn with(settings: Settings) -> Result<Self, BuildError> {
        let http = reqwest::Client::builder()
            .connect_timeout(settings.connect_timeout)
            .read_timeout(settings.read_timeout)
            .build()
            .map_err(BuildError::Http)?;
        Ok(Self {
            shared: Arc::new(Shared {
                http,
                user_agent: HeaderValue::from_static(USER_AGENT_VALUE),
                auth: Auth::new(settings.credentials),
                retry: settings.retry,
                allow_insecure_http: settings.allow_insecure_http,
            }),
        })
    }

    /// The HTTP client requests are sent with.
    pub fn http(&self) -> &reqwest::Client {
        &self.shared.http
    }

    /// The `User-Agent` sent with every request.
    pub fn user_agent(&self) -> &HeaderValue {
        &self.shared.user_agent
    }

    /// The retry policy.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.shared.retry
    }

    fn endpoint<'a>(&'a self, base_url: &'a str) -> Endpoint<'a> {
        Endpoint {
            http: &self.shared.http,
            base_url,
            user_agent: &self.shared.user_agent,
        }
    }

    /// Refuses to send credentials over plain `http://` to a host other than loopback.
    pub(crate) fn check_cleartext(&self, url: &reqwest::Url) -> Result<(), String> {
        if self.shared.auth.is_some()
            && url.scheme() == "http"
            && !is_loopback(url)
            && !self.shared.allow_insecure_http
        {
            return Err(format!(
                "refusing to send credentials over plain HTTP to {}; use https, or allow it with allow_insecure_http(true)",
                url.host_str().unwrap_or_default()
            ));
        }
        Ok(())
    }

    /// Sends a generated operation's request, retrying as the policy allows; each attempt
    /// authenticates afresh and, unless the operation is a download, reads the answer
    /// whole. Unwraps an `envelope=true` answer. What progenitor's `exec` hook would do,
    /// but failing with values of their own: see [`crate::call`].
    ///
    /// # Errors
    ///
    /// [`Error::InvalidRequest`] when credentials would travel over plain HTTP to a host
    /// other than loopback, or the operation is missing from `table` (nothing is sent);
    /// else the last attempt's failure: [`Error::CommunicationError`] (Atlas could not be
    /// reached, or the answer broke off) or [`Error::Auth`] (credentials could not be used).
    pub async fn call<E>(
        &self,
        base_url: &str,
        request: reqwest::Request,
        operation_id: &str,
        table: &'static [Operation],
    ) -> Result<reqwest::Response, Error<E>> {
        let operation = find(table, operation_id).map_err(Error::InvalidRequest)?;
        let mut request = request;
        self.check_cleartext(request.url())
            .map_err(Error::InvalidRequest)?;
        request
            .headers_mut()
            .insert(USER_AGENT, self.shared.user_agent.clone());
        let streamed = operation.streamed;
        let enveloped = request
            .url()
            .query_pairs()
            .any(|(k, v)| k == "envelope" && v == "true");
        let repeatable = retry::idempotent(request.method()) && request.try_clone().is_some();
        let endpoint = self.endpoint(base_url);
        let mut template = Some(request);
        let attempt = || {
            let request = if repeatable {
                template.as_ref().and_then(reqwest::Request::try_clone)
            } else {
                template.take()
            };
            let endpoint = &endpoint;
            async move {
                // `repeatable` promises a clone; a request without one runs once.
                let Some(request) = request else {
                    unreachable!("a request that cannot be cloned is sent once")
                };
                let method = request.method().clone();
                let path = request.url().path().to_string();
                let started = std::time::Instant::now();
                let response = self.shared.auth.send(endpoint, request).await?;
                let status = response.status().as_u16();
                let answer = if streamed && response.status().is_success() {
                    Ok(response)
                } else {
                    read_whole(response).await.map_err(Failure::Transport)
                };
                tracing::debug!(
                    operation = operation_id,
                    %method,
                    path,
                    status,
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    bytes = answer.as_ref().ok().and_then(body_of).map(bytes::Bytes::len),
                    "answer"
                );
                answer
            }
        };
        let retries = &self.shared.retry;
        let response = retry::run(retries, repeatable, operation_id, attempt, auth::classify)
            .await
            .map_err(|failure| match failure {
                Failure::Transport(e) => Error::CommunicationError(e),
                Failure::Auth(e) => Error::Auth(e),
            })?;
        let mut response = if enveloped {
            unwrap_envelope(response)
        } else {
            response
        };
        response
            .extensions_mut()
            .insert(crate::response::AnswerOf(operation.operation_id));
        Ok(response)
    }

    /// Gets a service-account token now, retrying as the policy allows.
    ///
    /// # Errors
    ///
    /// The token was refused or could not be fetched, or there is no service account.
    pub async fn authenticate(&self, base_url: &str) -> Result<(), AuthError> {
        self.shared
            .auth
            .check(&self.endpoint(base_url), &self.shared.retry)
            .await
    }

    /// Revokes the service-account token in use; the next call fetches a new one.
    ///
    /// # Errors
    ///
    /// Atlas refused, or there is no service account.
    pub async fn revoke_token(&self, base_url: &str) -> Result<(), AuthError> {
        self.shared.auth.revoke(&self.endpoint(base_url)).await
    }
}

fn find(table: &'static [Operation], id: &str) -> Result<&'static Operation, String> {
    table.iter().find(|op| op.id == id).ok_or_else(|| {
        format!("operation `{id}` is missing from the operation table; run `cargo xtask codegen`")
    })
}

pub(crate) fn is_loopback(url: &reqwest::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

/// The most a `Content-Length` reserves up front (a claim, not yet bytes received).
const MAX_PRESIZE: u64 = 64 << 20;

/// Reads an answer whole, within the read timeout, and keeps its body as [`Body`].
async fn read_whole(mut response: reqwest::Response) -> reqwest::Result<reqwest::Response> {
    if body_of(&response).is_some() {
        return Ok(response);
    }
    let status = response.status();
    let headers = response.headers().clone();
    let version = response.version();
    // Chunks are appended to one buffer as they arrive, rather than kept and then copied
    // into one: a large answer is held once, not twice, while it is read.
    let expected = response.content_length().unwrap_or(0).min(MAX_PRESIZE) as usize;
    let mut body = Vec::with_capacity(expected);
    while let Some(chunk) = response.chunk().await? {
        buffer::append(&mut body, &chunk);
    }
    let body = bytes::Bytes::from(body);
    Ok(rebuild(
        status,
        &headers,
        version,
        http::Extensions::new(),
        body,
    ))
}

/// With `envelope=true` Atlas wraps an entity as `{"status": ..., "content": entity}`;
/// hand the generated decoder the entity, so the typed value is the same as without it.
#[doc(hidden)]
pub fn unwrap_envelope(response: reqwest::Response) -> reqwest::Response {
    let is_json = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(';').next().unwrap_or(v).trim().ends_with("json"));
    let Some(body) = body_of(&response).filter(|_| is_json) else {
        return response;
    };
    // The entity is handed over as Atlas wrote it: decoding it into a `serde_json::Value`
    // and writing it again would round its numbers (integers past 64 bits, long decimals).
    let content = match serde_json::from_slice::<BTreeMap<String, &RawValue>>(body) {
        Ok(wrapper) if wrapper.contains_key("status") => match wrapper.get("content") {
            Some(content) => body.slice_ref(content.get().as_bytes()),
            None => return response,
        },
        _ => return response,
    };
    let mut extensions = response.extensions().clone();
    extensions.remove::<Body>();
    rebuild(
        response.status(),
        response.headers(),
        response.version(),
        extensions,
        content,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enveloped(body: &str) -> reqwest::Response {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        rebuild(
            reqwest::StatusCode::OK,
            &headers,
            http::Version::HTTP_11,
            http::Extensions::new(),
            bytes::Bytes::copy_from_slice(body.as_bytes()),
        )
    }

    #[test]
    fn an_envelope_gives_its_content_as_written() {
        let content = r#"{"n":-9979460919294666310164749889919448,"f":3.1958752925610357e39,"big":18446744073709551616, "s":"\u00e9"}"#;
        let body = format!(r#"{{"status":200,"content":{content}}}"#);
        let unwrapped = unwrap_envelope(enveloped(&body));
        assert_eq!(body_of(&unwrapped).unwrap().as_ref(), content.as_bytes());
        let unwrapped = unwrap_envelope(enveloped(r#"{"content":null,"status":null}"#));
        assert_eq!(body_of(&unwrapped).unwrap().as_ref(), b"null");
        for not_an_envelope in [r#"[200,{"a":1}]"#, r#"{"status":200}"#, r#"{"content":1}"#] {
            let kept = unwrap_envelope(enveloped(not_an_envelope));
            assert_eq!(body_of(&kept).unwrap().as_ref(), not_an_envelope.as_bytes());
        }
    }
}
