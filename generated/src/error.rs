//! One error type to match on: [`AtlasError`], built from any operation's error.
//!
//! ```no_run
//! use atlas_client::AtlasError;
//!
//! # async fn run(client: atlas_client::Client) -> Result<(), AtlasError> {
//! let result = client.get_access_history_cluster().group_id("32b6e34b3d91647abb20e7b8").cluster_name("Cluster0").send().await;
//! match result.map_err(AtlasError::from) {
//!     Ok(page) => println!("{} entries", page.access_logs.len()),
//!     Err(e) if e.is_not_found() => println!("no such cluster: {e}"),
//!     Err(e) if e.error_code() == Some("RATE_LIMITED_TOKEN_BUCKET") => println!("slow down: {e}"),
//!     Err(e) => return Err(e),
//! }
//! # Ok(()) }
//! ```

use std::fmt;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::HeaderMap;

use crate::types::ApiError;

/// What kind of failure an [`AtlasError`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A parameter broke its rule; nothing was sent.
    InvalidRequest,
    /// Atlas answered with an error status and an `ApiError` body.
    Api,
    /// Atlas answered a status the operation does not declare.
    UnexpectedStatus,
    /// The answer could not be decoded.
    Decode,
    /// The connection failed or timed out.
    Transport,
    /// Credentials could not be used (service-account token refused, for one).
    Auth,
}

/// An operation's failure, with Atlas's `ApiError` fields when there were some. One
/// pointer wide, so `Result<T, AtlasError>` stays small.
#[derive(Debug)]
pub struct AtlasError(Box<Inner>);

#[derive(Debug)]
struct Inner {
    kind: ErrorKind,
    status: Option<StatusCode>,
    api: Option<ApiError>,
    headers: HeaderMap,
    message: String,
    body: Option<bytes::Bytes>,
}

impl AtlasError {
    fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self(Box::new(Inner {
            kind,
            status: None,
            api: None,
            headers: HeaderMap::new(),
            message: message.into(),
            body: None,
        }))
    }

    /// Like `From`, but reads the body of an undeclared status and decodes it as an
    /// `ApiError` when it is one (Atlas's 503s are, for one).
    pub async fn read(error: progenitor_client::Error<ApiError>) -> Self {
        let progenitor_client::Error::UnexpectedResponse(response) = error else {
            return Self::from(error);
        };
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.bytes().await.unwrap_or_default();
        let mut error = Self::unexpected(status, headers);
        if let Ok(api) = serde_json::from_slice::<ApiError>(&body) {
            error.0.kind = ErrorKind::Api;
            error.0.message = api_message(&api);
            error.0.api = Some(api);
        }
        error.0.body = Some(body);
        error
    }

    fn unexpected(status: StatusCode, headers: HeaderMap) -> Self {
        let mut error = Self::new(
            ErrorKind::UnexpectedStatus,
            format!("unexpected HTTP {status}"),
        );
        error.0.status = Some(status);
        error.0.headers = headers;
        error
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.0.kind
    }

    /// The HTTP status, when Atlas answered.
    pub fn status(&self) -> Option<StatusCode> {
        self.0.status
    }

    /// Atlas's error body, when there was one.
    pub fn api(&self) -> Option<&ApiError> {
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

    /// The raw body of an answer that could not be decoded, or of an undeclared status
    /// read with [`AtlasError::read`].
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

    /// A 401 or a refused service-account token.
    pub fn is_unauthorized(&self) -> bool {
        self.0.status == Some(StatusCode::UNAUTHORIZED) || self.0.kind == ErrorKind::Auth
    }

    /// A 403.
    pub fn is_forbidden(&self) -> bool {
        self.0.status == Some(StatusCode::FORBIDDEN)
    }

    /// A parameter broke its rule before anything was sent.
    pub fn is_invalid_request(&self) -> bool {
        self.0.kind == ErrorKind::InvalidRequest
    }

    /// Whether trying again later could succeed: connection failures, 429, 502, 503, 504.
    pub fn is_retryable(&self) -> bool {
        self.0.kind == ErrorKind::Transport
            || matches!(
                self.0.status.map(|s| s.as_u16()),
                Some(408 | 429 | 502 | 503 | 504)
            )
    }

    /// `Retry-After`, when Atlas sent one.
    pub fn retry_after(&self) -> Option<Duration> {
        crate::retry::retry_after(&self.0.headers)
    }

    /// `RateLimit-Remaining`, when Atlas sent one.
    pub fn rate_limit_remaining(&self) -> Option<u64> {
        crate::retry::RateLimit::from_headers(&self.0.headers).remaining
    }
}

fn api_message(api: &ApiError) -> String {
    let mut message = format!("HTTP {} {}", api.error, api.error_code);
    if let Some(detail) = api.detail.as_deref().filter(|d| !d.is_empty()) {
        message.push_str(": ");
        message.push_str(detail);
    }
    message
}

impl From<progenitor_client::Error<ApiError>> for AtlasError {
    fn from(error: progenitor_client::Error<ApiError>) -> Self {
        use progenitor_client::Error as E;
        match error {
            E::InvalidRequest(message) => Self::new(ErrorKind::InvalidRequest, message),
            E::Custom(message) => Self::new(ErrorKind::Auth, message),
            E::ErrorResponse(value) => {
                let status = value.status();
                let headers = value.headers().clone();
                let api = value.into_inner();
                let mut error = Self::new(ErrorKind::Api, api_message(&api));
                error.0.status = Some(status);
                error.0.headers = headers;
                error.0.api = Some(api);
                error
            }
            E::UnexpectedResponse(response) => {
                Self::unexpected(response.status(), response.headers().clone())
            }
            E::InvalidResponsePayload(body, cause) => {
                let mut error = Self::new(
                    ErrorKind::Decode,
                    format!("Atlas's answer could not be decoded: {cause}"),
                );
                error.0.body = Some(body);
                error
            }
            E::CommunicationError(e) | E::InvalidUpgrade(e) | E::ResponseBodyError(e) => {
                let mut error = Self::new(ErrorKind::Transport, transport_message(&e));
                error.0.status = e.status();
                error
            }
        }
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
    let mut message = kind.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

impl fmt::Display for AtlasError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.message)
    }
}

impl std::error::Error for AtlasError {}
