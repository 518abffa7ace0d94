//! Authentication as Atlas does it: HTTP Digest (MD5, `qop=auth`, realm `MMS Public API`)
//! for API keys, and OAuth 2.0 client credentials with Bearer tokens for service accounts.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use md5::{Digest, Md5};
use rand::RngCore;

/// The realm Atlas names in its challenges.
pub const REALM: &str = "MMS Public API";

/// What checking a request's credentials concluded.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Authenticated.
    Allowed,
    /// Not authenticated: answer 401 with this `WWW-Authenticate` challenge (None when the
    /// request used a Bearer token, which gets no Digest challenge).
    Denied {
        challenge: Option<String>,
        reason: &'static str,
    },
}

struct Nonce {
    issued: Instant,
    /// Nonce counts already used: a count seen twice is a replay. Counts may arrive out of
    /// order when a client sends concurrent requests.
    seen: std::collections::HashSet<u32>,
}

struct Token {
    expires: Instant,
    revoked: bool,
}

/// Nonces and tokens handed out, shared by all connections.
pub struct AuthState {
    api_keys: Vec<(String, String)>,
    service_accounts: Vec<(String, String)>,
    nonce_lifetime: Duration,
    token_lifetime: Duration,
    nonces: Mutex<HashMap<String, Nonce>>,
    tokens: Mutex<HashMap<String, Token>>,
}

impl AuthState {
    /// Accepts these credentials, with these lifetimes.
    pub fn new(
        api_keys: Vec<(String, String)>,
        service_accounts: Vec<(String, String)>,
        nonce_lifetime: Duration,
        token_lifetime: Duration,
    ) -> Self {
        Self {
            api_keys,
            service_accounts,
            nonce_lifetime,
            token_lifetime,
            nonces: Mutex::default(),
            tokens: Mutex::default(),
        }
    }

    /// Checks the `Authorization` header of an API call.
    pub fn check(&self, authorization: Option<&str>, method: &str, uri: &str) -> Verdict {
        match authorization {
            Some(value) if value.len() > 7 && value[..7].eq_ignore_ascii_case("bearer ") => {
                self.check_bearer(value[7..].trim())
            }
            Some(value) if value.len() > 7 && value[..7].eq_ignore_ascii_case("digest ") => {
                self.check_digest(&value[7..], method, uri)
            }
            _ => self.deny("no credentials", false),
        }
    }

    fn deny(&self, reason: &'static str, stale: bool) -> Verdict {
        Verdict::Denied {
            challenge: Some(self.challenge(stale)),
            reason,
        }
    }

    /// A fresh Digest challenge, as Atlas words it.
    pub fn challenge(&self, stale: bool) -> String {
        let mut raw = [0u8; 30];
        rand::rng().fill_bytes(&mut raw);
        let nonce = STANDARD.encode(raw);
        self.nonces.lock().unwrap().insert(
            nonce.clone(),
            Nonce {
                issued: Instant::now(),
                seen: Default::default(),
            },
        );
        format!(
            "Digest realm=\"{REALM}\", domain=\"\", nonce=\"{nonce}\", algorithm=MD5, qop=\"auth\", stale={stale}"
        )
    }

    fn check_digest(&self, params: &str, method: &str, uri: &str) -> Verdict {
        let fields = parse_digest_params(params);
        let get = |name: &str| {
            fields
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        };
        let (Some(username), Some(nonce), Some(their_uri), Some(response), Some(nc), Some(cnonce)) = (
            get("username"),
            get("nonce"),
            get("uri"),
            get("response"),
            get("nc"),
            get("cnonce"),
        ) else {
            return self.deny("incomplete Digest credentials", false);
        };
        if get("qop") != Some("auth") || get("realm") != Some(REALM) {
            return self.deny("Digest credentials for another realm or qop", false);
        }
        if get("algorithm").is_some_and(|a| !a.eq_ignore_ascii_case("MD5")) {
            return self.deny("unsupported Digest algorithm", false);
        }
        if their_uri != uri {
            return self.deny("Digest uri does not match the request", false);
        }
        let Some((_, private)) = self.api_keys.iter().find(|(public, _)| public == username) else {
            return self.deny("unknown API key", false);
        };
        let ha1 = md5_hex(&format!("{username}:{REALM}:{private}"));
        let ha2 = md5_hex(&format!("{method}:{their_uri}"));
        let expected = md5_hex(&format!("{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}"));
        if !expected.eq_ignore_ascii_case(response) {
            return self.deny("wrong Digest response", false);
        }
        let Ok(count) = u32::from_str_radix(nc, 16) else {
            return self.deny("malformed nonce count", false);
        };
        let mut nonces = self.nonces.lock().unwrap();
        let Some(state) = nonces.get_mut(nonce) else {
            drop(nonces);
            // A correct answer to a nonce we no longer know: ask again, marked stale.
            return self.deny("unknown nonce", true);
        };
        if state.issued.elapsed() > self.nonce_lifetime {
            nonces.remove(nonce);
            drop(nonces);
            return self.deny("expired nonce", true);
        }
        if count == 0 || !state.seen.insert(count) {
            drop(nonces);
            return self.deny("replayed nonce count", false);
        }
        Verdict::Allowed
    }

    fn check_bearer(&self, token: &str) -> Verdict {
        let tokens = self.tokens.lock().unwrap();
        match tokens.get(token) {
            Some(t) if t.revoked => Verdict::Denied {
                challenge: None,
                reason: "revoked token",
            },
            Some(t) if Instant::now() >= t.expires => Verdict::Denied {
                challenge: None,
                reason: "expired token",
            },
            Some(_) => Verdict::Allowed,
            None => Verdict::Denied {
                challenge: None,
                reason: "unknown token",
            },
        }
    }

    /// Checks HTTP Basic credentials of a service account (raw `id:secret`).
    pub fn check_client(&self, authorization: Option<&str>) -> bool {
        let Some(encoded) = authorization.and_then(|v| {
            v.strip_prefix("Basic ")
                .or_else(|| v.strip_prefix("basic "))
        }) else {
            return false;
        };
        let Ok(decoded) = STANDARD.decode(encoded.trim()) else {
            return false;
        };
        let Ok(decoded) = String::from_utf8(decoded) else {
            return false;
        };
        let Some((id, secret)) = decoded.split_once(':') else {
            return false;
        };
        self.service_accounts
            .iter()
            .any(|(i, s)| i == id && s == secret)
    }

    /// Issues a Bearer token; returns it with its lifetime in seconds.
    pub fn issue_token(&self) -> (String, u64) {
        let mut raw = [0u8; 32];
        rand::rng().fill_bytes(&mut raw);
        let token = format!(
            "eyJ{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
        );
        let expires = Instant::now() + self.token_lifetime;
        self.tokens.lock().unwrap().insert(
            token.clone(),
            Token {
                expires,
                revoked: false,
            },
        );
        (token, self.token_lifetime.as_secs())
    }

    /// Revokes every token handed out so far (a test knob: the clients' cached tokens stop
    /// working before they expire).
    pub fn revoke_all(&self) {
        for token in self.tokens.lock().unwrap().values_mut() {
            token.revoked = true;
        }
    }

    /// Revokes a token; unknown tokens are ignored, as RFC 7009 asks.
    pub fn revoke(&self, token: &str) {
        if let Some(t) = self.tokens.lock().unwrap().get_mut(token) {
            t.revoked = true;
        }
    }
}

fn md5_hex(input: &str) -> String {
    let digest = Md5::digest(input.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Splits `a="x, y", b=z` into pairs, honouring quotes and backslash escapes.
fn parse_digest_params(input: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut chars = input.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let key: String =
            std::iter::from_fn(|| chars.next_if(|c| *c != '=' && *c != ',')).collect();
        if key.is_empty() {
            break;
        }
        let mut value = String::new();
        if chars.next_if_eq(&'=').is_some() {
            if chars.next_if_eq(&'"').is_some() {
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => value.extend(chars.next()),
                        '"' => break,
                        c => value.push(c),
                    }
                }
            } else {
                value = std::iter::from_fn(|| chars.next_if(|c| *c != ','))
                    .collect::<String>()
                    .trim()
                    .to_string();
            }
        }
        out.push((key.trim().to_string(), value));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_quoted_and_bare_values() {
        let fields = parse_digest_params(
            r#"username="pub", realm="MMS Public API", nonce="a/b+c=", uri="/x?a=1,2", qop=auth, nc=00000001, cnonce="q\"z""#,
        );
        let get = |k: &str| {
            fields
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("uri"), Some("/x?a=1,2"));
        assert_eq!(get("qop"), Some("auth"));
        assert_eq!(get("nc"), Some("00000001"));
        assert_eq!(get("cnonce"), Some("q\"z"));
        assert_eq!(get("nonce"), Some("a/b+c="));
    }

    #[test]
    fn rfc_2617_example_response() {
        // RFC 2617 section 3.5 (qop=auth, MD5).
        let ha1 = md5_hex("Mufasa:testrealm@host.com:Circle Of Life");
        let ha2 = md5_hex("GET:/dir/index.html");
        let response = md5_hex(&format!(
            "{ha1}:dcd98b7102dd2f0e8b11d0f600bfb0c093:00000001:0a4f113b:auth:{ha2}"
        ));
        assert_eq!(response, "6629fae49393a05397450978507c4ef1");
    }
}
