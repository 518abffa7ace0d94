//! Authentication, as Atlas does it: API keys over HTTP Digest, service accounts over
//! OAuth 2.0 client credentials. [`Credentials`] says which. Every attempt of a call,
//! retries included, gets a freshly computed `Authorization` (the next Digest nonce count,
//! or the current token), and answers at most one 401: a Digest challenge, or a refused
//! Bearer token renewed once.

mod credentials;
mod digest;
mod oauth;

use std::fmt;

use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, HeaderValue};
use secrecy::{ExposeSecret, SecretString};

pub use credentials::{
    Credentials, Discovered, ENV_BASE_URL, ENV_CLIENT_ID, ENV_CLIENT_SECRET, ENV_ORG_ID,
    ENV_PRIVATE_API_KEY, ENV_PROJECT_ID, ENV_PUBLIC_API_KEY, ProfileCause, ProfileError,
    atlas_cli_config_path,
};
pub use oauth::AuthError;
#[doc(hidden)]
pub use oauth::parse_token_answer;

use digest::Digest;
use oauth::ServiceAccount;

use crate::retry::{self, Retry, RetryPolicy};

/// Why an attempt of a call has no answer to hand over: told apart for the retry loop's
/// classifier and for the caller, never dressed as an answer.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The connection to Atlas failed, timed out, or the answer broke off.
    Transport(reqwest::Error),
    /// Credentials could not be used: a token could not be had, or a 401 not answered.
    Auth(AuthError),
}

impl Failure {
    /// What the retry loop retries: a retryable transport failure, Atlas's or the token
    /// endpoint's, and a token endpoint answering a retryable status (429, 503, ...).
    pub(crate) fn classify(&self) -> Option<Retry> {
        match self {
            Self::Transport(e) => retry::classify_transport(e),
            Self::Auth(e) => classify_auth(e),
        }
    }
}

pub(crate) fn classify_auth(error: &AuthError) -> Option<Retry> {
    match error {
        AuthError::Transport(e) => retry::classify_transport(e),
        AuthError::Rejected { status, .. } | AuthError::BadAnswer { status, .. } => {
            retry::retryable_status(*status).map(Retry::because)
        }
        _ => None,
    }
}

/// Whether an attempt's outcome is worth another attempt.
pub(crate) fn classify(outcome: &Result<reqwest::Response, Failure>) -> Option<Retry> {
    match outcome {
        Ok(answer) => retry::classify_answer(answer),
        Err(failure) => failure.classify(),
    }
}

/// The authentication state of one client, shared by its clones.
pub(crate) enum Auth {
    None,
    Digest(Digest),
    ServiceAccount(ServiceAccount),
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::None => "Auth::None",
            Self::Digest(_) => "Auth::Digest",
            Self::ServiceAccount(_) => "Auth::ServiceAccount",
        })
    }
}

/// What a caller needs to reach the token endpoint.
pub(crate) struct Endpoint<'a> {
    pub(crate) http: &'a reqwest::Client,
    pub(crate) base_url: &'a str,
    pub(crate) user_agent: &'a HeaderValue,
}

impl Auth {
    pub(crate) fn new(credentials: Option<Credentials>) -> Self {
        match credentials {
            None => Self::None,
            Some(Credentials::ApiKey {
                public_key,
                private_key,
            }) => Self::Digest(Digest::new(public_key, private_key)),
            Some(Credentials::ServiceAccount {
                client_id,
                client_secret,
            }) => Self::ServiceAccount(ServiceAccount::new(client_id, client_secret)),
        }
    }

    /// Whether requests carry credentials.
    pub(crate) fn is_some(&self) -> bool {
        !matches!(self, Self::None)
    }

    /// Sends one attempt: attaches fresh credentials, sends, and answers one 401 it can
    /// answer. The first attempt of a cold API-key client learns the Digest challenge for
    /// every caller: concurrent first calls wait for that challenge (one round trip, the
    /// 401), not for the answer to the call that learns it, and then go out together, each
    /// answer with the next nonce count. No 401 storm: one challenge per cold client.
    pub(crate) async fn send(
        &self,
        endpoint: &Endpoint<'_>,
        mut request: reqwest::Request,
    ) -> Result<reqwest::Response, Failure> {
        let learning = match self {
            Self::Digest(digest) => digest.learning().await,
            _ => None,
        };
        let retry = match self {
            Self::None => None,
            _ => request.try_clone(),
        };
        self.attach(endpoint, &mut request)
            .await
            .map_err(Failure::Auth)?;
        let used = request.headers().get(AUTHORIZATION).cloned();
        let response = endpoint
            .http
            .execute(request)
            .await
            .map_err(Failure::Transport)?;
        let (Some(mut retry), StatusCode::UNAUTHORIZED) = (retry, response.status()) else {
            return Ok(response);
        };
        let value = match self {
            Self::None => None,
            Self::Digest(digest) => match digest.learn(&response) {
                // The challenge is known: the callers waiting for it go now, beside this
                // one's answered request.
                Ok(()) => {
                    drop(learning);
                    digest.authorization(&retry)
                }
                Err(digest::NoAnswer::NoChallenge) => None,
                Err(why) => {
                    // Atlas's own 401, with the reason it cannot be answered.
                    tracing::warn!("not answering the 401 with the API key: {why}");
                    // Read whole, like any answer: one that breaks off is retried.
                    let body = response.bytes().await.map_err(Failure::Transport)?;
                    return Err(Failure::Auth(AuthError::DigestChallenge {
                        reason: why.to_string(),
                        body,
                    }));
                }
            },
            Self::ServiceAccount(account) => {
                let rejected = used
                    .as_ref()
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.strip_prefix("Bearer "))
                    .unwrap_or("");
                match account.renew(endpoint, rejected).await {
                    Ok(token) => Some(bearer(&token)),
                    Err(e) => {
                        tracing::debug!(error = %e, "could not renew the refused token");
                        None
                    }
                }
            }
        };
        let Some(value) = value else {
            return Ok(response);
        };
        tracing::debug!("answering a 401 and sending again");
        retry.headers_mut().insert(AUTHORIZATION, value);
        endpoint
            .http
            .execute(retry)
            .await
            .map_err(Failure::Transport)
    }

    /// Attaches what is known in advance: the answer to the cached Digest challenge, or a
    /// Bearer token (fetched if none is fresh).
    async fn attach(
        &self,
        endpoint: &Endpoint<'_>,
        request: &mut reqwest::Request,
    ) -> Result<(), AuthError> {
        let value = match self {
            Self::None => None,
            Self::Digest(digest) => digest.authorization(request),
            Self::ServiceAccount(account) => Some(bearer(&account.token(endpoint).await?)),
        };
        if let Some(value) = value {
            request.headers_mut().insert(AUTHORIZATION, value);
        }
        Ok(())
    }

    /// Makes sure a token can be had now, retrying as `policy` allows.
    pub(crate) async fn check(
        &self,
        endpoint: &Endpoint<'_>,
        policy: &RetryPolicy,
    ) -> Result<(), AuthError> {
        let Self::ServiceAccount(account) = self else {
            return Err(AuthError::NoServiceAccount);
        };
        retry::run(
            policy,
            true,
            "service-account token",
            || async { account.token(endpoint).await.map(drop) },
            |outcome| outcome.as_ref().err().and_then(classify_auth),
        )
        .await
    }

    /// Revokes the cached service-account token.
    pub(crate) async fn revoke(&self, endpoint: &Endpoint<'_>) -> Result<(), AuthError> {
        match self {
            Self::ServiceAccount(account) => account.revoke(endpoint).await,
            _ => Err(AuthError::NoServiceAccount),
        }
    }
}

/// The `Authorization` an API key sends for `request` after the 401 `challenge`, as a call
/// answers it: `None` when the 401 carries no Digest challenge that can be answered.
#[doc(hidden)]
pub fn answer_digest_challenge(
    public_key: &str,
    private_key: &str,
    challenge: &reqwest::Response,
    request: &reqwest::Request,
) -> Option<HeaderValue> {
    let digest = Digest::new(public_key.to_string(), SecretString::from(private_key));
    digest.learn(challenge).ok()?;
    digest.authorization(request)
}

fn bearer(token: &SecretString) -> HeaderValue {
    let mut value = HeaderValue::from_str(&format!("Bearer {}", token.expose_secret()))
        .unwrap_or_else(|_| HeaderValue::from_static("Bearer invalid-token"));
    value.set_sensitive(true);
    value
}
