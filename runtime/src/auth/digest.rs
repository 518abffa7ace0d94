//! HTTP Digest for API keys (RFC 7616 as Atlas uses it: MD5, `qop=auth`). The challenge is
//! cached and answered pre-emptively with an increasing nonce count, so every call after
//! the first costs one round trip (concurrent first calls share the first challenge); a 401 carrying a new challenge (`stale=true` when the
//! nonce expired) replaces the cache.

use std::sync::Mutex;

use digest_auth::{AuthContext, HttpMethod, WwwAuthenticateHeader};
use reqwest::header::{HeaderValue, WWW_AUTHENTICATE};
use secrecy::{ExposeSecret, SecretString};

pub(crate) struct Digest {
    public_key: String,
    private_key: SecretString,
    challenge: Mutex<Option<WwwAuthenticateHeader>>,
    /// Held by the one caller learning the first challenge.
    learning: tokio::sync::Mutex<()>,
}

impl Digest {
    pub(crate) fn new(public_key: String, private_key: SecretString) -> Self {
        Self {
            public_key,
            private_key,
            challenge: Mutex::new(None),
            learning: tokio::sync::Mutex::new(()),
        }
    }

    fn has_challenge(&self) -> bool {
        self.challenge
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .is_some()
    }

    /// While no challenge is cached, the first caller learns it and the others wait: the
    /// returned guard, held across that caller's attempt, makes them. `None` once a
    /// challenge is known.
    pub(crate) async fn learning(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        if self.has_challenge() {
            return None;
        }
        let guard = self.learning.lock().await;
        (!self.has_challenge()).then_some(guard)
    }

    /// The `Authorization` value answering the cached challenge for this request, if a
    /// challenge is cached. Each answer uses the next nonce count.
    pub(crate) fn authorization(&self, request: &reqwest::Request) -> Option<HeaderValue> {
        let url = request.url();
        let uri = match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_string(),
        };
        let context = AuthContext::new_with_method(
            self.public_key.as_str(),
            self.private_key.expose_secret(),
            uri.as_str(),
            Option::<&[u8]>::None,
            HttpMethod::from(request.method().as_str()),
        );
        let answer = {
            let mut cached = self
                .challenge
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            cached.as_mut()?.respond(&context).ok()?
        };
        let mut value = HeaderValue::from_str(&answer.to_header_string()).ok()?;
        value.set_sensitive(true);
        Some(value)
    }

    /// Caches the Digest challenge of a 401; returns whether there was one.
    pub(crate) fn learn(&self, response: &reqwest::Response) -> bool {
        // `to_str` admits visible ASCII only. `digest_auth::parse` must never see more: it
        // slices names at character counts, and panics on text that is not ASCII.
        let challenge = response
            .headers()
            .get_all(WWW_AUTHENTICATE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.len() > 7 && v[..7].eq_ignore_ascii_case("digest "))
            .and_then(|v| digest_auth::parse(v).ok());
        let Some(challenge) = challenge else {
            return false;
        };
        tracing::debug!(stale = challenge.stale, "Digest challenge received");
        *self
            .challenge
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(challenge);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn challenged(value: &[u8]) -> reqwest::Response {
        let mut response = http::Response::new(bytes::Bytes::new());
        *response.status_mut() = reqwest::StatusCode::UNAUTHORIZED;
        response
            .headers_mut()
            .insert(WWW_AUTHENTICATE, HeaderValue::from_bytes(value).unwrap());
        reqwest::Response::from(response)
    }

    #[test]
    fn challenges_that_are_not_ascii_are_refused_not_parsed() {
        let digest = Digest::new("pub".into(), SecretString::from("priv"));
        let request = reqwest::Request::new(
            reqwest::Method::GET,
            "https://cloud.mongodb.com/api/atlas/v2".parse().unwrap(),
        );
        // A name right after a two-byte character: `digest_auth::parse` (0.3) would slice
        // inside the character and panic.
        let value = "Digest \u{bf}realm=\"x\", nonce=\"n\", qop=\"auth\"";
        assert!(!digest.learn(&challenged(value.as_bytes())));
        assert!(digest.authorization(&request).is_none());
        let value = b"Digest realm=\"x\", nonce=\"n\", qop=\"auth\"";
        assert!(digest.learn(&challenged(value)));
        assert!(digest.authorization(&request).is_some());
    }
}
