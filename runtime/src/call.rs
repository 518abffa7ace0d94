//! What a generated operation's `send()` fails with: [`Error`], progenitor's error with the
//! failures the runtime tells apart as values of their own.
//!
//! Progenitor's `exec` hook can only fail with a `reqwest::Error`, which no one outside
//! reqwest can build: a refused service-account token or an unanswerable Digest challenge
//! would have to travel as a made-up HTTP answer. So the generated code calls the runtime
//! directly ([`Runtime::call`](crate::Runtime::call)) and fails with this type, which has
//! progenitor's variants (its generated code builds them unchanged) and
//! [`Error::Auth`] and [`Error::Undecodable`] beside them.

use std::error::Error as StdError;
use std::fmt;

use bytes::Bytes;
use progenitor_client::ResponseValue;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;

use crate::auth::AuthError;
use crate::error::ErrorBody;
use crate::response::body_of;

/// Why a call of a generated operation failed. Convert it into an
/// [`AtlasError`](crate::AtlasError) with `?` or `From` for one error to match on.
#[non_exhaustive]
pub enum Error<E = ()> {
    /// A parameter broke its rule, or the request must not be sent; nothing was sent.
    InvalidRequest(String),
    /// The connection failed, timed out, or the answer broke off.
    CommunicationError(reqwest::Error),
    /// Credentials could not be used: no service-account token could be had, or Atlas's
    /// HTTP Digest challenge could not be answered.
    Auth(AuthError),
    /// An error status the operation declares, its body decoded.
    ErrorResponse(ResponseValue<E>),
    /// A status the operation declares, with a body that is not what it declares: the
    /// answer's status, headers and body, and why it could not be decoded.
    Undecodable(Undecodable),
    /// A status the operation does not declare; its body is kept (see [`body_of`]).
    UnexpectedResponse(reqwest::Response),
}

/// An answer whose body could not be decoded into the type its status declares.
#[derive(Debug)]
pub struct Undecodable {
    /// The answer's status; `None` only when converted from progenitor's own error, which
    /// does not keep it.
    pub status: Option<StatusCode>,
    /// The answer's headers.
    pub headers: HeaderMap,
    /// The body, as received.
    pub body: Bytes,
    /// The operation (`operationId`) it answers, when known.
    pub operation: Option<&'static str>,
    /// Why it could not be decoded.
    pub reason: DecodeError,
}

/// Why a body could not be decoded: serde's message, or the shape found instead of the
/// one expected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DecodeError(pub String);

impl<E> Error<E> {
    /// The HTTP status, when Atlas (or the token endpoint) answered.
    pub fn status(&self) -> Option<reqwest::StatusCode> {
        match self {
            Self::InvalidRequest(_) => None,
            Self::CommunicationError(e) => e.status(),
            Self::Auth(e) => e
                .status()
                .and_then(|s| reqwest::StatusCode::from_u16(s).ok()),
            Self::ErrorResponse(value) => Some(value.status()),
            Self::Undecodable(u) => u.status,
            Self::UnexpectedResponse(r) => Some(r.status()),
        }
    }

    /// Whether trying again later could succeed: exactly what the retry policy retries
    /// (408, 429, 502, 503, 504, connection failures, answers broken off mid-body, a token
    /// endpoint answering one of those statuses).
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::CommunicationError(e) => crate::retry::retryable_transport(e),
            Self::Auth(e) => crate::auth::classify_auth(e).is_some(),
            _ => self
                .status()
                .is_some_and(|s| crate::retry::retryable_status(s.as_u16()).is_some()),
        }
    }

    /// The body of the answer, for the variants that keep one undecoded.
    pub fn body(&self) -> Option<&[u8]> {
        match self {
            Self::Undecodable(u) => Some(&u.body),
            Self::UnexpectedResponse(r) => body_of(r).map(|b| b.as_ref()),
            _ => None,
        }
    }
}

/// Building the request failed (a header or URL reqwest refuses).
impl<E> From<reqwest::Error> for Error<E> {
    fn from(error: reqwest::Error) -> Self {
        Self::CommunicationError(error)
    }
}

impl<E> From<std::convert::Infallible> for Error<E> {
    fn from(never: std::convert::Infallible) -> Self {
        match never {}
    }
}

impl<E> From<reqwest::header::InvalidHeaderValue> for Error<E> {
    fn from(e: reqwest::header::InvalidHeaderValue) -> Self {
        Self::InvalidRequest(e.to_string())
    }
}

/// What progenitor's own code and hooks fail with.
impl<E> From<progenitor_client::Error<E>> for Error<E> {
    fn from(error: progenitor_client::Error<E>) -> Self {
        use progenitor_client::Error as P;
        match error {
            P::InvalidRequest(message) | P::Custom(message) => Self::InvalidRequest(message),
            P::CommunicationError(e) | P::InvalidUpgrade(e) | P::ResponseBodyError(e) => {
                Self::CommunicationError(e)
            }
            P::ErrorResponse(value) => Self::ErrorResponse(value),
            P::UnexpectedResponse(response) => Self::UnexpectedResponse(response),
            P::InvalidResponsePayload(body, cause) => Self::Undecodable(Undecodable {
                status: None,
                headers: HeaderMap::new(),
                body,
                operation: None,
                reason: DecodeError(cause.to_string()),
            }),
        }
    }
}

impl<E: fmt::Debug> fmt::Debug for Error<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidRequest(m) => f.debug_tuple("InvalidRequest").field(m).finish(),
            Self::CommunicationError(e) => f.debug_tuple("CommunicationError").field(e).finish(),
            Self::Auth(e) => f.debug_tuple("Auth").field(e).finish(),
            Self::ErrorResponse(v) => f
                .debug_struct("ErrorResponse")
                .field("status", &v.status())
                .field("value", v.as_ref())
                .finish(),
            Self::Undecodable(u) => f.debug_tuple("Undecodable").field(u).finish(),
            Self::UnexpectedResponse(r) => f.debug_tuple("UnexpectedResponse").field(r).finish(),
        }
    }
}

/// Atlas's error fields, when the body is Atlas's error schema: `HTTP 404 CODE: detail`.
fn api_summary(status: StatusCode, body: Option<&ErrorBody>) -> String {
    match body {
        Some(api) => crate::error::api_message(status, api),
        None => format!("HTTP {status}"),
    }
}

/// With Atlas's `errorCode` and `detail` when it sent them, so that an error passed on with
/// `?` as a `Box<dyn Error>` or `anyhow::Error` still says what Atlas said.
impl<E: 'static> fmt::Display for Error<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidRequest(m) => f.write_str(m),
            Self::CommunicationError(_) => f.write_str("the request failed"),
            Self::Auth(_) => f.write_str("credentials could not be used"),
            Self::ErrorResponse(v) => {
                let body = (v.as_ref() as &dyn std::any::Any).downcast_ref::<ErrorBody>();
                write!(f, "Atlas answered {}", api_summary(v.status(), body))
            }
            Self::Undecodable(u) => match u.status {
                Some(status) => write!(f, "Atlas's answer (HTTP {status}) could not be decoded"),
                None => f.write_str("Atlas's answer could not be decoded"),
            },
            Self::UnexpectedResponse(r) => {
                let body = body_of(r).and_then(ErrorBody::decode);
                let summary = api_summary(r.status(), body.as_ref());
                write!(f, "Atlas answered an undeclared {summary}")
            }
        }
    }
}

impl<E: fmt::Debug + 'static> StdError for Error<E> {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            Self::CommunicationError(e) => Some(e),
            Self::Auth(e) => Some(e),
            Self::Undecodable(u) => Some(&u.reason),
            _ => None,
        }
    }
}
