//! One error to match on and to `?` into: [`AtlasError`], built from any generated
//! operation's error, a download's, an authentication call's or a client build's, keeping
//! the HTTP status, the headers, the body and the cause.
//!
//! ```
//! use atlas_runtime::{AtlasError, ErrorKind};
//!
//! // What a generated operation's `send()` returns, in short.
//! fn page() -> Result<u32, atlas_runtime::Error<()>> {
//!     Err(atlas_runtime::Error::InvalidRequest(
//!         "parameter `itemsPerPage` must be at most 500; got 501".into(),
//!     ))
//! }
//!
//! fn run() -> Result<u32, AtlasError> {
//!     match page().map_err(AtlasError::from) {
//!         Err(e) if e.is_not_found() => Ok(0),
//!         Err(e) if e.is_error_code("RATE_LIMITED_TOKEN_BUCKET") => Ok(0),
//!         other => other,
//!     }
//! }
//!
//! let err = run().unwrap_err();
//! assert_eq!(err.kind(), ErrorKind::InvalidRequest);
//! assert_eq!(err.to_string(), "parameter `itemsPerPage` must be at most 500; got 501");
//! ```

use std::error::Error as StdError;
use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde::{Deserialize, Serialize};

use crate::auth::AuthError;
use crate::call::{Error, Undecodable};
use crate::client::BuildError;
use crate::download::DownloadError;
use crate::response::body_of;
use crate::retry::{RateLimit, retryable_status, retryable_transport};

/// What kind of failure an [`AtlasError`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A parameter broke its rule, or the request must not be sent; nothing was sent.
    InvalidRequest,
    /// Atlas answered with an error status and its error body.
    Api,
    /// Atlas answered a status the operation does not declare, with a body that is not
    /// Atlas's error JSON.
    UnexpectedStatus,
    /// A success answer could not be decoded.
    Decode,
    /// The connection failed, timed out, or the answer broke off.
    Transport,
    /// Authentication or authorization failed: any 401 or 403, whatever its body, or a
    /// refused service-account token.
    Auth,
    /// A file could not be written.
    Io,
    /// A downloaded file is not what it claims to be (a truncated gzip, for one).
    Corrupt,
    /// The client could not be built.
    Config,
    /// Atlas's answers did not allow a complete, exact result (an export stopped rather
    /// than lose or repeat entries).
    Incomplete,
}

/// Atlas's error body, as every Atlas operation sends it: the type generated clients decode
/// Atlas's error schema into (`cargo xtask codegen` maps the schema onto it when their
/// fields agree), so that an error answer is decoded once. Fields other than these are kept in the body as
/// received ([`ErrorBody::received`], [`AtlasError::body`]).
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    /// The HTTP status, repeated.
    pub error: i64,
    /// Atlas's error code, such as `CLUSTER_NOT_FOUND`.
    pub error_code: String,
    /// A sentence about the error.
    #[serde(default)]
    pub detail: Option<String>,
    /// The HTTP reason phrase.
    #[serde(default)]
    pub reason: Option<String>,
    /// Values the message refers to (strings and numbers in practice).
    #[serde(default)]
    pub parameters: Option<Vec<serde_json::Value>>,
    /// Which request fields were wrong, for some 400s.
    #[serde(default)]
    pub bad_request_detail: Option<serde_json::Value>,
    /// The body this was decoded from, as received.
    #[serde(skip)]
    received: Option<Bytes>,
}

impl ErrorBody {
    /// An error body with its two required fields (to answer with, in a mock).
    pub fn new(error: i64, error_code: impl Into<String>) -> Self {
        Self {
            error,
            error_code: error_code.into(),
            detail: None,
            reason: None,
            parameters: None,
            bad_request_detail: None,
            received: None,
        }
    }

    /// The same body with `detail` set.
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// The same body with `reason` set.
    pub fn with_reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }

    /// The body this was decoded from, as received, when the runtime decoded it from an
    /// answer.
    pub fn received(&self) -> Option<&Bytes> {
        self.received.as_ref()
    }

    /// Decodes Atlas's error body from the bytes of an answer, keeping them.
    pub(crate) fn decode(bytes: &Bytes) -> Option<Self> {
        let mut body = crate::strict::from_slice::<Self>(bytes).ok()?;
        body.received = Some(bytes.clone());
        Some(body)
    }

    /// Keeps `bytes` as the body `value` was decoded from, if `value` is an `ErrorBody`:
    /// how the runtime's decoder gives a generated client's error the bytes it came from.
    pub(crate) fn keep_received<T: 'static>(value: &mut T, bytes: &Bytes) {
        if let Some(body) = (value as &mut dyn std::any::Any).downcast_mut::<Self>() {
            body.received = Some(bytes.clone());
        }
    }
}

/// The fields, without the bytes received.
impl fmt::Debug for ErrorBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ErrorBody")
            .field("error", &self.error)
            .field("error_code", &self.error_code)
            .field("detail", &self.detail)
            .field("reason", &self.reason)
            .field("parameters", &self.parameters)
            .field("bad_request_detail", &self.bad_request_detail)
            .finish_non_exhaustive()
    }
}

/// Two error bodies are equal when their fields are, however they were written.
impl PartialEq for ErrorBody {
    fn eq(&self, other: &Self) -> bool {
        self.error == other.error
            && self.error_code == other.error_code
            && self.detail == other.detail
            && self.reason == other.reason
            && self.parameters == other.parameters
            && self.bad_request_detail == other.bad_request_detail
    }
}

/// A failure of an Atlas call, with Atlas's error fields when there were some. One pointer
/// wide, so `Result<T, AtlasError>` stays small.
pub struct AtlasError(Box<Inner>);

struct Inner {
    kind: ErrorKind,
    status: Option<StatusCode>,
    headers: HeaderMap,
    body: Option<Bytes>,
    api: Option<ErrorBody>,
    message: String,
    retryable_transport: bool,
    timeout: bool,
    connect: bool,
    source: Option<Box<dyn StdError + Send + Sync>>,
}

impl AtlasError {
    fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self(Box::new(Inner {
            kind,
            status: None,
            headers: HeaderMap::new(),
            body: None,
            api: None,
            message: message.into(),
            retryable_transport: false,
            timeout: false,
            connect: false,
            source: None,
        }))
    }

    /// An answer that could not be decoded, for the reason given.
    pub fn decode(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Decode, message)
    }

    /// Input that must not be sent, for the reason given (kept as the cause).
    pub fn invalid(source: impl StdError + Send + Sync + 'static) -> Self {
        Self::with_cause(ErrorKind::InvalidRequest, source)
    }

    /// An error of `kind` whose message is `source`'s, kept as the cause: for libraries
    /// built on the runtime whose own errors end up as an [`AtlasError`].
    pub fn with_cause(kind: ErrorKind, source: impl StdError + Send + Sync + 'static) -> Self {
        Self::new(kind, one_line(&source)).with_source(source)
    }

    fn with_source(mut self, source: impl StdError + Send + Sync + 'static) -> Self {
        self.0.source = Some(Box::new(source));
        self
    }

    /// A transport failure, keeping the reqwest error as the cause.
    pub(crate) fn transport(error: reqwest::Error) -> Self {
        let mut e = Self::new(ErrorKind::Transport, transport_message(&error));
        e.0.retryable_transport = retryable_transport(&error);
        e.0.timeout = error.is_timeout();
        e.0.connect = error.is_connect();
        e.0.status = error.status();
        e.with_source(error.without_url())
    }

    /// An answer, status first: 401 and 403 are authentication failures whatever their
    /// body; an error status with Atlas's error JSON (`api`, decoded from `body`) is an
    /// API error; a success that did not decode is a decoding error.
    fn answer(
        status: StatusCode,
        headers: HeaderMap,
        body: Option<Bytes>,
        api: Option<ErrorBody>,
    ) -> Self {
        let kind = match status.as_u16() {
            401 | 403 => ErrorKind::Auth,
            _ if status.is_success() => ErrorKind::Decode,
            _ if api.is_some() => ErrorKind::Api,
            _ => ErrorKind::UnexpectedStatus,
        };
        let message = match &api {
            Some(api) => api_message(status, api),
            None => format!("HTTP {status}"),
        };
        let mut e = Self::new(kind, message);
        e.0.status = Some(status);
        e.0.headers = headers;
        e.0.body = body;
        e.0.api = api;
        e
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.0.kind
    }

    /// The HTTP status, when Atlas answered.
    pub fn status(&self) -> Option<StatusCode> {
        self.0.status
    }

    /// Atlas's error body, when the answer carried one.
    pub fn api(&self) -> Option<&ErrorBody> {
        self.0.api.as_ref()
    }

    /// Atlas's `errorCode`, such as `CLUSTER_NOT_FOUND`.
    pub fn error_code(&self) -> Option<&str> {
        self.0.api.as_ref().map(|a| a.error_code.as_str())
    }

    /// Atlas's `detail`.
    pub fn detail(&self) -> Option<&str> {
        self.0.api.as_ref().and_then(|a| a.detail.as_deref())
    }

    /// The body of the answer as received, whatever it was (HTML from a proxy, JSON of
    /// another shape, the error JSON). For a declared error status decoded into an error
    /// type other than [`ErrorBody`], the body is that value as JSON.
    pub fn body(&self) -> Option<&[u8]> {
        self.0.body.as_deref()
    }

    /// The response headers, when Atlas answered.
    pub fn headers(&self) -> &HeaderMap {
        &self.0.headers
    }

    /// Whether `errorCode` is `code`, the way the Go SDK's `IsErrorCode` works.
    pub fn is_error_code(&self, code: &str) -> bool {
        self.error_code() == Some(code)
    }

    /// A 429, or an Atlas rate-limit error code.
    pub fn is_rate_limited(&self) -> bool {
        self.0.status == Some(StatusCode::TOO_MANY_REQUESTS)
            || self
                .error_code()
                .is_some_and(|c| c.starts_with("RATE_LIMITED"))
    }

    /// A 404.
    pub fn is_not_found(&self) -> bool {
        self.0.status == Some(StatusCode::NOT_FOUND)
    }

    /// A 401, or credentials that could not be used.
    pub fn is_unauthorized(&self) -> bool {
        self.0.kind == ErrorKind::Auth && self.0.status != Some(StatusCode::FORBIDDEN)
    }

    /// A 403.
    pub fn is_forbidden(&self) -> bool {
        self.0.status == Some(StatusCode::FORBIDDEN)
    }

    /// Nothing was sent: a parameter broke its rule, or the request must not be sent.
    pub fn is_invalid_request(&self) -> bool {
        self.0.kind == ErrorKind::InvalidRequest
    }

    /// The connection or a read timed out.
    pub fn is_timeout(&self) -> bool {
        self.0.timeout
    }

    /// The connection could not be made (refused, no route, DNS).
    pub fn is_connect(&self) -> bool {
        self.0.connect
    }

    /// Whether trying again later could succeed: exactly what the retry policy retries
    /// (408, 429, 502, 503, 504, connection failures, answers broken off mid-body).
    pub fn is_retryable(&self) -> bool {
        self.0.retryable_transport
            || self
                .0
                .status
                .is_some_and(|s| retryable_status(s.as_u16()).is_some())
    }

    /// `Retry-After`, when Atlas sent one.
    pub fn retry_after(&self) -> Option<Duration> {
        crate::retry::retry_after(&self.0.headers)
    }

    /// `RateLimit-Remaining`, when Atlas sent one.
    pub fn rate_limit_remaining(&self) -> Option<u64> {
        RateLimit::from_headers(&self.0.headers).remaining
    }
}

pub(crate) fn api_message(status: StatusCode, api: &ErrorBody) -> String {
    let mut message = format!("HTTP {} {}", status.as_u16(), api.error_code);
    if let Some(detail) = api.detail.as_deref().filter(|d| !d.is_empty()) {
        message.push_str(": ");
        message.push_str(detail);
    }
    message
}

/// The one documented way from a generated call's error to an [`AtlasError`]; it never
/// loses the body: the runtime reads every answer that is not a download before the
/// generated code sees it, and keeps the bytes.
impl<E: Serialize + 'static> From<Error<E>> for AtlasError {
    fn from(error: Error<E>) -> Self {
        match error {
            Error::InvalidRequest(message) => Self::new(ErrorKind::InvalidRequest, message),
            Error::CommunicationError(e) => Self::transport(e),
            Error::Auth(e) => Self::from(e),
            Error::ErrorResponse(value) => {
                let status = value.status();
                let headers = value.headers().clone();
                // Atlas's error schema is decoded into `ErrorBody`, which keeps the bytes
                // received; an error type of another shape is written out again.
                let mut value = Some(value.into_inner());
                let (body, api) = match (&mut value as &mut dyn std::any::Any)
                    .downcast_mut::<Option<ErrorBody>>()
                    .and_then(Option::take)
                {
                    Some(api) => {
                        // A body built rather than received (a mock's) is written out.
                        let body = api
                            .received
                            .clone()
                            .or_else(|| serde_json::to_vec(&api).ok().map(Bytes::from));
                        (body, Some(api))
                    }
                    None => {
                        let body = serde_json::to_vec(&value).ok().map(Bytes::from);
                        let api = body.as_ref().and_then(ErrorBody::decode);
                        (body, api)
                    }
                };
                Self::answer(status, headers, body, api)
            }
            Error::Undecodable(Undecodable {
                status,
                headers,
                body,
                operation,
                reason,
            }) => {
                let of = operation.map(|id| format!(" to {id}")).unwrap_or_default();
                let Some(status) = status else {
                    let mut e = Self::new(
                        ErrorKind::Decode,
                        format!("Atlas's answer{of} could not be decoded: {reason}"),
                    );
                    e.0.body = Some(body);
                    return e.with_source(reason);
                };
                let api = ErrorBody::decode(&body);
                let mut e = Self::answer(status, headers, Some(body), api);
                e.0.message = if status.is_success() {
                    format!("Atlas's answer{of} (HTTP {status}) could not be decoded: {reason}")
                } else {
                    format!(
                        "{}; the body is not the declared error JSON ({reason})",
                        e.0.message
                    )
                };
                e.with_source(reason)
            }
            Error::UnexpectedResponse(response) => {
                let body = body_of(&response).cloned();
                let api = body.as_ref().and_then(ErrorBody::decode);
                Self::answer(response.status(), response.headers().clone(), body, api)
            }
        }
    }
}

/// An error of a client generated by progenitor alone, with no runtime of its own.
impl<E: Serialize + 'static> From<progenitor_client::Error<E>> for AtlasError {
    fn from(error: progenitor_client::Error<E>) -> Self {
        Self::from(Error::from(error))
    }
}

impl From<AuthError> for AtlasError {
    fn from(error: AuthError) -> Self {
        if let AuthError::Transport(cause) = &error {
            let mut e = Self::new(
                ErrorKind::Transport,
                format!("{error}: {}", transport_message(cause)),
            );
            e.0.retryable_transport = retryable_transport(cause);
            e.0.timeout = cause.is_timeout();
            e.0.connect = cause.is_connect();
            return e.with_source(error);
        }
        let mut e = Self::new(ErrorKind::Auth, one_line(&error));
        e.0.status = error.status().and_then(|s| StatusCode::from_u16(s).ok());
        e.0.body = error.body().cloned();
        e.with_source(error)
    }
}

/// A file could not be read or written (an output, a state file).
impl From<std::io::Error> for AtlasError {
    fn from(error: std::io::Error) -> Self {
        Self::with_cause(ErrorKind::Io, error)
    }
}

impl From<BuildError> for AtlasError {
    fn from(error: BuildError) -> Self {
        Self::new(ErrorKind::Config, one_line(&error)).with_source(error)
    }
}

impl From<DownloadError> for AtlasError {
    fn from(error: DownloadError) -> Self {
        match error {
            DownloadError::Request(e) => e,
            DownloadError::Io { .. } => {
                Self::new(ErrorKind::Io, one_line(&error)).with_source(error)
            }
            DownloadError::Interrupted(cause) => {
                let mut e = Self::transport(cause);
                e.0.message = format!("the download broke off: {}", e.0.message);
                e
            }
            DownloadError::Corrupt(_) => {
                Self::new(ErrorKind::Corrupt, one_line(&error)).with_source(error)
            }
        }
    }
}

/// An error and its causes (`source()` after `source()`), in one line: what a program
/// prints for an error whose `Display` is its own part only.
pub fn one_line(error: &dyn StdError) -> String {
    let mut message = error.to_string();
    push_causes(&mut message, error);
    message
}

/// Appends `: cause` for each cause of `error`, on the same line; a cause whose first
/// line is already told (an error that shows its cause in its own words) is not repeated.
fn push_causes(message: &mut String, error: &dyn StdError) {
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        let first = text.lines().next().unwrap_or_default().trim();
        if first.is_empty() || !message.contains(first) {
            message.push_str(": ");
            let lines: Vec<&str> = text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect();
            message.push_str(&lines.join(" "));
        }
        source = cause.source();
    }
}

/// A reqwest error in one line, without the URL (which may name a loopback test server)
/// and with its causes.
pub(crate) fn transport_message(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_body() || e.is_decode() {
        "the answer broke off"
    } else {
        "request failed"
    };
    // reqwest's own text names the URL; its causes say what happened.
    let mut message = kind.to_string();
    push_causes(&mut message, e);
    message
}

impl fmt::Debug for AtlasError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AtlasError")
            .field("kind", &self.0.kind)
            .field("status", &self.0.status)
            .field("message", &self.0.message)
            .field("api", &self.0.api)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for AtlasError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.message)
    }
}

impl StdError for AtlasError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.0
            .source
            .as_deref()
            .map(|s| s as &(dyn StdError + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unexpected(status: u16, body: &'static str) -> AtlasError {
        let response = crate::response::rebuild(
            StatusCode::from_u16(status).unwrap(),
            &HeaderMap::new(),
            http::Version::HTTP_11,
            http::Extensions::new(),
            Bytes::from_static(body.as_bytes()),
        );
        AtlasError::from(Error::<()>::UnexpectedResponse(response))
    }

    #[test]
    fn one_line_is_one_line_and_tells_each_cause_once() {
        #[derive(Debug, thiserror::Error)]
        #[error("outer")]
        struct Outer(#[source] Middle);
        #[derive(Debug, thiserror::Error)]
        #[error("middle, at line 2: what went wrong")]
        struct Middle(#[source] Inner);
        #[derive(Debug, thiserror::Error)]
        #[error("at line 2\n  |\n2 | x = [\n  |     ^\nwhat went wrong")]
        struct Inner;
        assert_eq!(
            one_line(&Outer(Middle(Inner))),
            "outer: middle, at line 2: what went wrong"
        );
        #[derive(Debug, thiserror::Error)]
        #[error("plain")]
        struct Plain(#[source] Inner);
        assert_eq!(
            one_line(&Plain(Inner)),
            "plain: at line 2 | 2 | x = [ |     ^ what went wrong"
        );
    }

    #[test]
    fn status_comes_first_whatever_the_body() {
        for body in ["<html>nope</html>", "", "{\"foo\":1}", "[1]"] {
            let e = unexpected(401, body);
            assert_eq!(e.kind(), ErrorKind::Auth, "{body}");
            assert_eq!(e.status(), Some(StatusCode::UNAUTHORIZED));
            assert_eq!(e.body(), Some(body.as_bytes()));
            assert!(e.is_unauthorized());
            let e = unexpected(403, body);
            assert_eq!(e.kind(), ErrorKind::Auth);
            assert!(e.is_forbidden() && !e.is_unauthorized());
            let e = unexpected(503, body);
            assert_eq!(e.kind(), ErrorKind::UnexpectedStatus);
            assert_eq!(e.status().map(|s| s.as_u16()), Some(503));
            assert!(e.is_retryable());
        }
        let e = unexpected(503, r#"{"error":503,"errorCode":"SERVICE_UNAVAILABLE"}"#);
        assert_eq!(e.kind(), ErrorKind::Api);
        assert_eq!(e.error_code(), Some("SERVICE_UNAVAILABLE"));
        assert_eq!(e.to_string(), "HTTP 503 SERVICE_UNAVAILABLE");
    }

    #[test]
    fn one_pointer_wide() {
        assert_eq!(
            std::mem::size_of::<AtlasError>(),
            std::mem::size_of::<usize>()
        );
    }
}
