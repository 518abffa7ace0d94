//! The hand-written runtime every generated operation runs through.
//!
//! `cargo xtask codegen` records, for each operation of the spec, the media types to send
//! and the rules its parameters must follow, in a static table of [`Operation`]s. Before a
//! request leaves, the client's `pre` hook calls [`Runtime::prepare`], which
//! - sends exactly the operation's versioned `Accept` media type (and `Content-Type` for a
//!   body), never `application/json` or `*/*` for a v2 operation;
//! - drops the `api-version` header the generator adds, which Atlas does not use;
//! - sends `User-Agent: atlas-client/<version>`;
//! - checks every parameter rule, so that bad input fails before any request with an error
//!   naming the parameter and the rule.
//!
//! The types are public so that clients generated from other specs with the same xtask can
//! share this runtime.

use std::sync::Arc;

use progenitor_client::Error;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderName, HeaderValue, USER_AGENT};

use crate::auth::{Auth, Credentials};
use crate::retry::{self, RetryPolicy};
use crate::validate;

/// What the runtime knows of one operation, recorded from the spec.
#[derive(Debug)]
pub struct Operation {
    /// The generated method's name, which progenitor passes to the hooks.
    pub id: &'static str,
    /// The official `operationId`, such as `getGroupDbAccessHistoryCluster`.
    pub operation_id: &'static str,
    /// HTTP method, upper case.
    pub method: &'static str,
    /// Path template, such as `/api/atlas/v2/groups/{groupId}/...`.
    pub path: &'static str,
    /// The one media type sent as `Accept`.
    pub accept: &'static str,
    /// The media type sent as `Content-Type` with a request body.
    pub content_type: Option<&'static str>,
    /// Parameters that carry rules.
    pub params: &'static [Param],
}

/// Where a parameter travels in the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Location {
    /// A path segment.
    Path,
    /// A query-string pair.
    Query,
    /// A request header.
    Header,
}

/// An inclusive numeric bound, in the parameter's own type.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Bound {
    /// Bound of an `integer` parameter.
    Integer(i64),
    /// Bound of a `number` parameter.
    Number(f64),
}

/// The rules of one parameter, checked before a request is sent.
#[derive(Debug)]
pub struct Param {
    /// The parameter's name on the wire, such as `nLogs`.
    pub name: &'static str,
    /// Where it travels.
    pub location: Location,
    /// ECMAScript regular expression the whole value must match.
    pub pattern: Option<&'static str>,
    /// Smallest allowed value.
    pub minimum: Option<Bound>,
    /// Largest allowed value.
    pub maximum: Option<Bound>,
    /// Fewest characters allowed.
    pub min_length: Option<usize>,
    /// Most characters allowed.
    pub max_length: Option<usize>,
    /// Parameters that must be present whenever this one is (`x-requires`).
    pub requires: &'static [&'static str],
    /// A parameter this one must not exceed when both are present (`x-not-after`).
    pub not_after: Option<&'static str>,
}

/// Per-client state the hooks use: progenitor's "inner" value of the generated `Client`.
/// Clones share their authentication state (cached challenge or token).
#[derive(Clone, Debug)]
pub struct Runtime {
    user_agent: HeaderValue,
    pub(crate) auth: Arc<Auth>,
    retry: RetryPolicy,
}

/// The `User-Agent` this crate sends: `atlas-client/<version>`.
pub const USER_AGENT_VALUE: &str = concat!(env!("CARGO_PKG_NAME"), "/", env!("CARGO_PKG_VERSION"));

impl Default for Runtime {
    fn default() -> Self {
        Self::new(None)
    }
}

impl Runtime {
    /// A runtime authenticating with `credentials` (none: requests go unauthenticated).
    pub fn new(credentials: Option<Credentials>) -> Self {
        Self {
            user_agent: HeaderValue::from_static(USER_AGENT_VALUE),
            auth: Arc::new(Auth::new(credentials)),
            retry: RetryPolicy::default(),
        }
    }

    /// The same runtime with another retry policy.
    pub fn with_retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// The `pre` hook: media types, headers and parameter rules, then credentials.
    pub async fn pre<E>(
        &self,
        http: &reqwest::Client,
        base_url: &str,
        request: &mut reqwest::Request,
        operation_id: &str,
        table: &'static [Operation],
    ) -> Result<(), Error<E>> {
        self.prepare(request, operation_id, table)
            .map_err(Error::InvalidRequest)?;
        self.auth
            .authorize(http, base_url, &self.user_agent, request)
            .await
            .map_err(|e| Error::Custom(e.to_string()))
    }

    /// The `exec` hook: sends the request with retries, each attempt answering one
    /// authentication challenge, and unwraps an `envelope=true` answer.
    pub async fn exec(
        &self,
        http: &reqwest::Client,
        base_url: &str,
        request: reqwest::Request,
    ) -> reqwest::Result<reqwest::Response> {
        let enveloped = request
            .url()
            .query_pairs()
            .any(|(k, v)| k == "envelope" && v == "true");
        let response = retry::send(&self.retry, request, |r| {
            self.auth.send(http, base_url, &self.user_agent, r)
        })
        .await?;
        if enveloped {
            unwrap_envelope(response).await
        } else {
            Ok(response)
        }
    }

    /// The `User-Agent` sent with every request.
    pub fn user_agent(&self) -> &HeaderValue {
        &self.user_agent
    }

    /// Readies a built request for the wire: media types, headers and parameter rules.
    /// `table` is the operation table of the generated client that built the request.
    ///
    /// Returns an error message, naming the parameter and the rule, when the request must
    /// not be sent.
    pub fn prepare(
        &self,
        request: &mut reqwest::Request,
        operation_id: &str,
        table: &'static [Operation],
    ) -> Result<(), String> {
        let operation = table.iter().find(|op| op.id == operation_id).ok_or_else(|| {
            format!("operation `{operation_id}` is missing from the operation table; run `cargo xtask codegen`")
        })?;
        validate::check(operation, request)?;

        let headers = request.headers_mut();
        headers.remove(HeaderName::from_static("api-version"));
        headers.insert(ACCEPT, HeaderValue::from_static(operation.accept));
        if let Some(content_type) = operation.content_type
            && headers.contains_key(CONTENT_TYPE)
        {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
        }
        headers.insert(USER_AGENT, self.user_agent.clone());
        Ok(())
    }
}

/// With `envelope=true` Atlas wraps an entity as `{"status": ..., "content": entity}`;
/// hand the generated decoder the entity, so the typed value is the same as without it.
async fn unwrap_envelope(response: reqwest::Response) -> reqwest::Result<reqwest::Response> {
    let is_json = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(';').next().unwrap_or(v).trim().ends_with("json"));
    if !is_json {
        return Ok(response);
    }
    let status = response.status();
    let headers = response.headers().clone();
    let version = response.version();
    let body = response.bytes().await?;
    let content = match serde_json::from_slice::<serde_json::Value>(&body) {
        Ok(serde_json::Value::Object(mut wrapper))
            if wrapper.contains_key("status") && wrapper.contains_key("content") =>
        {
            serde_json::to_vec(&wrapper.remove("content").unwrap_or_default())
                .unwrap_or_default()
                .into()
        }
        _ => body,
    };
    let mut unwrapped = http::Response::new(content);
    *unwrapped.status_mut() = status;
    *unwrapped.headers_mut() = headers;
    *unwrapped.version_mut() = version;
    Ok(reqwest::Response::from(unwrapped))
}
