//! Authentication, as Atlas does it: API keys over HTTP Digest, service accounts over
//! OAuth 2.0 client credentials. [`Credentials`] says which. Every attempt of a call,
//! retries included, gets a freshly computed `Authorization` (the next Digest nonce count,
//! or the current token), and answers at most one 401: a Digest challenge, or a refused
//! Bearer token renewed once.

mod credentials;
mod digest;
mod oauth;

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, HeaderValue};
use secrecy::{ExposeSecret, SecretString};

pub use credentials::{
    Credentials, Discovered, ENV_BASE_URL, ENV_CLIENT_ID, ENV_CLIENT_SECRET, ENV_PRIVATE_API_KEY,
    ENV_PROJECT_ID, ENV_PUBLIC_API_KEY, ProfileCause, ProfileError, atlas_cli_config_path,
};
pub use oauth::AuthError;
use oauth::Fetch;
#[doc(hidden)]
pub use oauth::parse_token_answer;

use digest::Digest;
use oauth::ServiceAccount;

use crate::response::rebuild;
use crate::retry::{self, RetryPolicy};

/// Why a call could not authenticate, kept in the extensions of the answer the runtime
/// hands to the generated code (HTTP 401, or the token endpoint's own retryable status,
/// with the token endpoint's body).
#[derive(Clone, Debug)]
pub struct AuthFailure(pub Arc<AuthError>);

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

/// Why credentials could not be attached to an attempt.
pub(crate) enum Unattached {
    /// The token endpoint could not be reached: a transport failure, retried as one.
    Transport(reqwest::Error),
    /// The token endpoint refused or answered nonsense: this answer stands for the call's.
    Answer(reqwest::Response),
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
    ) -> reqwest::Result<reqwest::Response> {
        let learning = match self {
            Self::Digest(digest) => digest.learning().await,
            _ => None,
        };
        let retry = match self {
            Self::None => None,
            _ => request.try_clone(),
        };
        if let Err(unattached) = self.attach(endpoint, &mut request).await {
            return match unattached {
                Unattached::Transport(e) => Err(e),
                Unattached::Answer(answer) => Ok(answer),
            };
        }
        let used = request.headers().get(AUTHORIZATION).cloned();
        let response = endpoint.http.execute(request).await?;
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
                    let mut response = response;
                    let failure = AuthError::DigestChallenge(why.to_string());
                    response
                        .extensions_mut()
                        .insert(AuthFailure(Arc::new(failure)));
                    return Ok(response);
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
        endpoint.http.execute(retry).await
    }

    /// Attaches what is known in advance: the answer to the cached Digest challenge, or a
    /// Bearer token (fetched if none is fresh).
    async fn attach(
        &self,
        endpoint: &Endpoint<'_>,
        request: &mut reqwest::Request,
    ) -> Result<(), Unattached> {
        let value = match self {
            Self::None => None,
            Self::Digest(digest) => digest.authorization(request),
            Self::ServiceAccount(account) => match account.token(endpoint).await {
                Ok(token) => Some(bearer(&token)),
                Err(Fetch::Transport(e)) => return Err(Unattached::Transport(e)),
                Err(Fetch::Refused(e)) => return Err(Unattached::Answer(failure_answer(e))),
            },
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
        let outcome = retry::run(policy, true, "service-account token", || async {
            match account.token(endpoint).await {
                Ok(_) => Ok(reqwest::Response::from(http::Response::new(Bytes::new()))),
                Err(Fetch::Transport(e)) => Err(e),
                Err(Fetch::Refused(e)) => Ok(failure_answer(e)),
            }
        })
        .await;
        match outcome {
            Err(e) => Err(AuthError::Transport(Arc::new(e))),
            Ok(answer) => match answer.extensions().get::<AuthFailure>() {
                Some(failure) => Err((*failure.0).clone()),
                None => Ok(()),
            },
        }
    }

    /// Revokes the cached service-account token.
    pub(crate) async fn revoke(&self, endpoint: &Endpoint<'_>) -> Result<(), AuthError> {
        match self {
            Self::ServiceAccount(account) => account.revoke(endpoint).await,
            _ => Err(AuthError::NoServiceAccount),
        }
    }
}

/// The answer that stands for a call that could not get a token: the token endpoint's own
/// status when it is worth retrying (429, 503, ...), else 401; its body; the reason in the
/// extensions.
fn failure_answer(error: AuthError) -> reqwest::Response {
    let (status, body) = match &error {
        AuthError::Rejected { status, body, .. } | AuthError::BadAnswer { status, body, .. } => {
            let status = StatusCode::from_u16(*status).unwrap_or(StatusCode::UNAUTHORIZED);
            let status = if retry::retryable_status(status.as_u16()).is_some() {
                status
            } else {
                StatusCode::UNAUTHORIZED
            };
            (status, body.clone())
        }
        _ => (StatusCode::UNAUTHORIZED, Bytes::new()),
    };
    let mut extensions = http::Extensions::new();
    extensions.insert(AuthFailure(Arc::new(error)));
    rebuild(
        status,
        &reqwest::header::HeaderMap::new(),
        http::Version::HTTP_11,
        extensions,
        body,
    )
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
