//! Service accounts: OAuth 2.0 client credentials. A token is fetched from
//! `{base}/api/oauth/token` with HTTP Basic on the raw `id:secret`, cached, and renewed
//! shortly before it expires; concurrent callers wait for the one fetch under way.

use std::fmt;
use std::time::{Duration, Instant};

use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderValue, USER_AGENT};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// Renew this long before expiry at most (or a tenth of the lifetime, whichever is less).
const RENEWAL_MARGIN: Duration = Duration::from_secs(60);

pub(crate) struct ServiceAccount {
    client_id: String,
    client_secret: SecretString,
    token: tokio::sync::Mutex<Option<Token>>,
}

struct Token {
    value: SecretString,
    renew_at: Instant,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    expires_in: u64,
}

#[derive(Deserialize)]
struct OAuthErrorBody {
    error: String,
    error_description: Option<String>,
}

/// A service-account token could not be had or given back.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthError {
    /// Atlas refused the request, with the OAuth error it gave (`invalid_client`, ...).
    Rejected {
        /// The HTTP status.
        status: u16,
        /// The OAuth error code.
        error: String,
        /// Atlas's explanation.
        description: Option<String>,
    },
    /// The token endpoint could not be reached or answered something unreadable.
    Transport(String),
    /// The client has no service account to get a token for.
    NoServiceAccount,
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Rejected {
                status,
                error,
                description,
            } => {
                write!(
                    f,
                    "Atlas refused the service-account credentials (HTTP {status}, {error})"
                )?;
                match description {
                    Some(d) => write!(f, ": {d}"),
                    None => Ok(()),
                }
            }
            Self::Transport(e) => write!(f, "service-account token request failed: {e}"),
            Self::NoServiceAccount => {
                f.write_str("the client is not configured with a service account")
            }
        }
    }
}

impl std::error::Error for AuthError {}

impl ServiceAccount {
    pub(crate) fn new(client_id: String, client_secret: SecretString) -> Self {
        Self {
            client_id,
            client_secret,
            token: tokio::sync::Mutex::new(None),
        }
    }

    /// A fresh token: the cached one, or a new one fetched by exactly one caller.
    pub(crate) async fn token(
        &self,
        http: &reqwest::Client,
        base_url: &str,
        user_agent: &HeaderValue,
    ) -> Result<SecretString, AuthError> {
        let mut cached = self.token.lock().await;
        if let Some(token) = cached.as_ref().filter(|t| Instant::now() < t.renew_at) {
            return Ok(token.value.clone());
        }
        let token = self.fetch(http, base_url, user_agent).await?;
        let value = token.value.clone();
        *cached = Some(token);
        Ok(value)
    }

    /// A token to retry with after Atlas refused `rejected`: a new one, unless another
    /// caller already replaced it.
    pub(crate) async fn renew(
        &self,
        http: &reqwest::Client,
        base_url: &str,
        user_agent: &HeaderValue,
        rejected: &str,
    ) -> Result<SecretString, AuthError> {
        {
            let mut cached = self.token.lock().await;
            if cached
                .as_ref()
                .is_some_and(|t| t.value.expose_secret() == rejected)
            {
                *cached = None;
            }
        }
        self.token(http, base_url, user_agent).await
    }

    async fn fetch(
        &self,
        http: &reqwest::Client,
        base_url: &str,
        user_agent: &HeaderValue,
    ) -> Result<Token, AuthError> {
        tracing::debug!(client_id = %self.client_id, "requesting a service-account token");
        let requested = Instant::now();
        let response = http
            .post(format!("{base_url}/api/oauth/token"))
            .basic_auth(&self.client_id, Some(self.client_secret.expose_secret()))
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(ACCEPT, "application/json")
            .header(USER_AGENT, user_agent.clone())
            .body("grant_type=client_credentials")
            .send()
            .await
            .map_err(|e| AuthError::Transport(e.without_url().to_string()))?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| AuthError::Transport(e.without_url().to_string()))?;
        if !status.is_success() {
            return Err(rejection(status.as_u16(), &body));
        }
        let answer: TokenAnswer = serde_json::from_slice(&body).map_err(|e| {
            AuthError::Transport(format!("unreadable token answer (HTTP {status}): {e}"))
        })?;
        let lifetime = Duration::from_secs(answer.expires_in);
        let margin = RENEWAL_MARGIN.min(lifetime / 10);
        tracing::debug!(
            expires_in = answer.expires_in,
            "service-account token received"
        );
        Ok(Token {
            value: SecretString::from(answer.access_token),
            renew_at: requested + lifetime - margin,
        })
    }

    /// Gives the cached token back (`/api/oauth/revoke`) and forgets it.
    pub(crate) async fn revoke(
        &self,
        http: &reqwest::Client,
        base_url: &str,
        user_agent: &HeaderValue,
    ) -> Result<(), AuthError> {
        let Some(token) = self.token.lock().await.take() else {
            return Ok(());
        };
        let body: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("token", token.value.expose_secret())
            .append_pair("token_type_hint", "access_token")
            .finish();
        let response = http
            .post(format!("{base_url}/api/oauth/revoke"))
            .basic_auth(&self.client_id, Some(self.client_secret.expose_secret()))
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(USER_AGENT, user_agent.clone())
            .body(body)
            .send()
            .await
            .map_err(|e| AuthError::Transport(e.without_url().to_string()))?;
        let status = response.status();
        if status.is_success() {
            tracing::debug!("service-account token revoked");
            return Ok(());
        }
        let body = response.bytes().await.unwrap_or_default();
        Err(rejection(status.as_u16(), &body))
    }
}

fn rejection(status: u16, body: &[u8]) -> AuthError {
    match serde_json::from_slice::<OAuthErrorBody>(body) {
        Ok(e) => AuthError::Rejected {
            status,
            error: e.error,
            description: e.error_description,
        },
        Err(_) => AuthError::Rejected {
            status,
            error: "unknown_error".into(),
            description: None,
        },
    }
}
