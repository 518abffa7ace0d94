//! Authentication, as Atlas does it: API keys over HTTP Digest, service accounts over
//! OAuth 2.0 client credentials. [`Credentials`] says which; this module attaches them to
//! each request (`pre` hook) and answers at most one 401 per call (`exec` hook): a Digest
//! challenge, or a refused Bearer token renewed once.

mod credentials;
mod digest;
mod oauth;

use std::fmt;

use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, HeaderValue};
use secrecy::{ExposeSecret, SecretString};

pub use credentials::{
    Credentials, Discovered, ENV_BASE_URL, ENV_CLIENT_ID, ENV_CLIENT_SECRET, ENV_PRIVATE_API_KEY,
    ENV_PUBLIC_API_KEY, ProfileError, atlas_cli_config_path,
};
pub use oauth::AuthError;

use digest::Digest;
use oauth::ServiceAccount;

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

    /// Attaches what is known in advance: the answer to a cached Digest challenge, or a
    /// Bearer token (fetched if none is fresh).
    pub(crate) async fn authorize(
        &self,
        http: &reqwest::Client,
        base_url: &str,
        user_agent: &HeaderValue,
        request: &mut reqwest::Request,
    ) -> Result<(), AuthError> {
        let value = match self {
            Self::None => return Ok(()),
            Self::Digest(digest) => digest.authorization(request),
            Self::ServiceAccount(account) => {
                Some(bearer(&account.token(http, base_url, user_agent).await?))
            }
        };
        if let Some(value) = value {
            request.headers_mut().insert(AUTHORIZATION, value);
        }
        Ok(())
    }

    /// Sends a request; on a 401 it can answer, resends once.
    pub(crate) async fn send(
        &self,
        http: &reqwest::Client,
        base_url: &str,
        user_agent: &HeaderValue,
        request: reqwest::Request,
    ) -> reqwest::Result<reqwest::Response> {
        let used = request.headers().get(AUTHORIZATION).cloned();
        let retry = match self {
            Self::None => None,
            _ => request.try_clone(),
        };
        let response = http.execute(request).await?;
        let (Some(mut retry), StatusCode::UNAUTHORIZED) = (retry, response.status()) else {
            return Ok(response);
        };
        let value = match self {
            Self::None => None,
            Self::Digest(digest) => digest
                .learn(&response)
                .then(|| digest.authorization(&retry))
                .flatten(),
            Self::ServiceAccount(account) => {
                let rejected = used
                    .as_ref()
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.strip_prefix("Bearer "))
                    .unwrap_or("");
                match account.renew(http, base_url, user_agent, rejected).await {
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
        tracing::debug!("answering 401 and resending once");
        retry.headers_mut().insert(AUTHORIZATION, value);
        http.execute(retry).await
    }

    /// Revokes the cached service-account token.
    pub(crate) async fn revoke(
        &self,
        http: &reqwest::Client,
        base_url: &str,
        user_agent: &HeaderValue,
    ) -> Result<(), AuthError> {
        match self {
            Self::ServiceAccount(account) => account.revoke(http, base_url, user_agent).await,
            _ => Err(AuthError::NoServiceAccount),
        }
    }

    /// Makes sure a token can be had now.
    pub(crate) async fn check(
        &self,
        http: &reqwest::Client,
        base_url: &str,
        user_agent: &HeaderValue,
    ) -> Result<(), AuthError> {
        match self {
            Self::ServiceAccount(account) => {
                account.token(http, base_url, user_agent).await.map(drop)
            }
            _ => Err(AuthError::NoServiceAccount),
        }
    }
}

fn bearer(token: &SecretString) -> HeaderValue {
    let mut value = HeaderValue::from_str(&format!("Bearer {}", token.expose_secret()))
        .unwrap_or_else(|_| HeaderValue::from_static("Bearer invalid-token"));
    value.set_sensitive(true);
    value
}
