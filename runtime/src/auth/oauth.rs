//! Service accounts: OAuth 2.0 client credentials. A token is fetched from
//! `{base}/api/oauth/token` with HTTP Basic on the raw `id:secret`, cached, and renewed
//! shortly before it expires; concurrent callers wait for the one fetch under way.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::header::{ACCEPT, CONTENT_TYPE, USER_AGENT};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::Endpoint;

/// Renew this long before expiry at most (or a tenth of the lifetime, whichever is less).
const RENEWAL_MARGIN: Duration = Duration::from_secs(60);

/// The longest lifetime a token is trusted for, whatever the answer says: Atlas's tokens
/// live one hour.
const LONGEST_LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);

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

/// Credentials could not be used: a service-account token could not be had or given back,
/// or credentials would have travelled in the clear.
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// Atlas refused the request, with the OAuth error it gave (`invalid_client`, ...).
    #[error("Atlas refused the service-account credentials (HTTP {status}, {error}){}", description.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    Rejected {
        /// The HTTP status.
        status: u16,
        /// The OAuth error code.
        error: String,
        /// Atlas's explanation.
        description: Option<String>,
        /// The body of Atlas's answer.
        body: Bytes,
    },
    /// The token endpoint answered a success that is not a token. Its body is not kept:
    /// it may hold a token.
    #[error("the service-account token answer (HTTP {status}) is unreadable")]
    BadAnswer {
        /// The HTTP status.
        status: u16,
        /// Why it could not be read.
        #[source]
        source: Arc<serde_json::Error>,
    },
    /// The token endpoint could not be reached.
    #[error("the service-account token request failed")]
    Transport(#[source] Arc<reqwest::Error>),
    /// The client has no service account to get a token for.
    #[error("the client is not configured with a service account")]
    NoServiceAccount,
    /// Atlas answered HTTP 401 with a Digest challenge the API key cannot answer (it
    /// offers only `qop=auth-int`, an unknown algorithm, or is malformed).
    #[error("cannot answer the HTTP Digest challenge with the API key: {reason}")]
    DigestChallenge {
        /// Why the challenge cannot be answered.
        reason: String,
        /// The body of Atlas's 401.
        body: Bytes,
    },
}

impl AuthError {
    /// The HTTP status of the answer that refused the credentials, when one did.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Rejected { status, .. } | Self::BadAnswer { status, .. } => Some(*status),
            Self::DigestChallenge { .. } => Some(401),
            Self::Transport(_) | Self::NoServiceAccount => None,
        }
    }

    /// The body of the answer that refused the credentials, when one did.
    pub fn body(&self) -> Option<&Bytes> {
        match self {
            Self::Rejected { body, .. } | Self::DigestChallenge { body, .. } => Some(body),
            Self::BadAnswer { .. } | Self::Transport(_) | Self::NoServiceAccount => None,
        }
    }
}

impl ServiceAccount {
    pub(crate) fn new(client_id: String, client_secret: SecretString) -> Self {
        Self {
            client_id,
            client_secret,
            token: tokio::sync::Mutex::new(None),
        }
    }

    /// A fresh token: the cached one, or a new one fetched by exactly one caller.
    pub(crate) async fn token(&self, endpoint: &Endpoint<'_>) -> Result<SecretString, AuthError> {
        let mut cached = self.token.lock().await;
        if let Some(token) = cached.as_ref().filter(|t| Instant::now() < t.renew_at) {
            return Ok(token.value.clone());
        }
        let token = self.fetch(endpoint).await?;
        let value = token.value.clone();
        *cached = Some(token);
        Ok(value)
    }

    /// A token to retry with after Atlas refused `rejected`: a new one, unless another
    /// caller already replaced it.
    pub(crate) async fn renew(
        &self,
        endpoint: &Endpoint<'_>,
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
        self.token(endpoint).await
    }

    async fn fetch(&self, endpoint: &Endpoint<'_>) -> Result<Token, AuthError> {
        tracing::debug!(client_id = %self.client_id, "requesting a service-account token");
        let requested = Instant::now();
        let response = endpoint
            .http
            .post(format!("{}/api/oauth/token", endpoint.base_url))
            .basic_auth(&self.client_id, Some(self.client_secret.expose_secret()))
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(ACCEPT, "application/json")
            .header(USER_AGENT, endpoint.user_agent.clone())
            .body("grant_type=client_credentials")
            .send()
            .await
            .map_err(|e| AuthError::Transport(Arc::new(e.without_url())))?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| AuthError::Transport(Arc::new(e.without_url())))?;
        let (value, renew_at) = parse_token_answer(status.as_u16(), body, requested)?;
        Ok(Token { value, renew_at })
    }

    /// Gives the cached token back (`/api/oauth/revoke`) and forgets it.
    pub(crate) async fn revoke(&self, endpoint: &Endpoint<'_>) -> Result<(), AuthError> {
        let Some(token) = self.token.lock().await.take() else {
            return Ok(());
        };
        let body: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("token", token.value.expose_secret())
            .append_pair("token_type_hint", "access_token")
            .finish();
        let response = endpoint
            .http
            .post(format!("{}/api/oauth/revoke", endpoint.base_url))
            .basic_auth(&self.client_id, Some(self.client_secret.expose_secret()))
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(USER_AGENT, endpoint.user_agent.clone())
            .body(body)
            .send()
            .await
            .map_err(|e| AuthError::Transport(Arc::new(e.without_url())))?;
        let status = response.status();
        if status.is_success() {
            tracing::debug!("service-account token revoked");
            return Ok(());
        }
        let body = response.bytes().await.unwrap_or_default();
        Err(rejection(status.as_u16(), body))
    }
}

/// Reads the token endpoint's answer to a request sent at `requested`: the token and when
/// to renew it, or why there is none.
#[doc(hidden)]
pub fn parse_token_answer(
    status: u16,
    body: Bytes,
    requested: Instant,
) -> Result<(SecretString, Instant), AuthError> {
    if !(200..300).contains(&status) {
        return Err(rejection(status, body));
    }
    match crate::strict::from_slice::<TokenAnswer>(&body) {
        Ok(answer) => Ok((
            SecretString::from(answer.access_token),
            renewal_time(requested, answer.expires_in),
        )),
        Err(e) => Err(AuthError::BadAnswer {
            status,
            source: Arc::new(e),
        }),
    }
}

/// When to renew a token that lives `expires_in` seconds from `requested`: shortly before
/// it expires. Any number is taken, none can overflow: lifetimes past a day count as a day.
fn renewal_time(requested: Instant, expires_in: u64) -> Instant {
    let lifetime = Duration::from_secs(expires_in).min(LONGEST_LIFETIME);
    let margin = RENEWAL_MARGIN.min(lifetime / 10);
    tracing::debug!(expires_in, "service-account token received");
    requested + (lifetime - margin)
}

fn rejection(status: u16, body: Bytes) -> AuthError {
    let (error, description) = match crate::strict::from_slice::<OAuthErrorBody>(&body) {
        Ok(e) => (e.error, e.error_description),
        Err(_) => ("unknown_error".into(), None),
    };
    AuthError::Rejected {
        status,
        error,
        description,
        body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_lifetime_is_taken_without_overflow() {
        let now = Instant::now();
        for expires_in in [0, 1, 3600, u64::from(u32::MAX), u64::MAX] {
            let at = renewal_time(now, expires_in);
            assert!(at >= now && at <= now + LONGEST_LIFETIME, "{expires_in}");
        }
        assert_eq!(renewal_time(now, 3600), now + Duration::from_secs(3540));
    }
}
