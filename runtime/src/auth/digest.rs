//! HTTP Digest for API keys (RFC 7616 as Atlas uses it: MD5, `qop=auth`). The challenge is
//! cached and answered pre-emptively with an increasing nonce count, so every call after
//! the first costs one round trip (concurrent first calls share the first challenge); a 401 carrying a new challenge (`stale=true` when the
//! nonce expired) replaces the cache.
//!
//! The challenge is read by this module's parser of RFC 7235 challenges; `digest_auth`
//! computes the answer. A challenge that cannot be answered (`qop` without `auth`, an
//! algorithm `digest_auth` does not compute) is refused with the reason ([`NoAnswer`])
//! rather than answered wrongly.

use std::borrow::Cow;
use std::sync::Mutex;

use digest_auth::{
    Algorithm, AlgorithmType, AuthContext, Charset, HttpMethod, Qop, WwwAuthenticateHeader,
};
use reqwest::header::{HeaderValue, WWW_AUTHENTICATE};
use secrecy::{ExposeSecret, SecretString};

pub(crate) struct Digest {
    public_key: String,
    private_key: SecretString,
    challenge: Mutex<Option<WwwAuthenticateHeader>>,
    /// Held by the one caller learning the first challenge.
    learning: tokio::sync::Mutex<()>,
}

/// Why a 401 is not answered with a Digest `Authorization`: each a sentence of one line.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum NoAnswer {
    /// No `WWW-Authenticate` value (of visible ASCII) names the Digest scheme.
    #[error("the 401 carries no Digest challenge")]
    NoChallenge,
    /// A `WWW-Authenticate` value does not follow RFC 7235's grammar.
    #[error("the WWW-Authenticate header is malformed: {0}")]
    Malformed(String),
    /// The Digest challenge lacks a parameter the answer needs.
    #[error("the Digest challenge has no {0}")]
    Missing(&'static str),
    /// The Digest challenge names a parameter twice (RFC 7235 section 2.1 forbids it).
    #[error("the Digest challenge names {0} more than once")]
    Repeated(&'static str),
    /// `qop` is offered, but not `auth`: `auth-int` alone would sign request bodies.
    #[error(
        "the Digest challenge offers qop {0:?} but not \"auth\", the only quality of protection this client answers with"
    )]
    Qop(String),
    /// An algorithm `digest_auth` does not compute.
    #[error(
        "the Digest challenge asks for algorithm {0:?}; this client computes MD5, SHA-256 and SHA-512-256, and their -sess variants"
    )]
    Algorithm(String),
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
        self.answer(request, None)
    }

    /// [`Self::authorization`], with the client nonce `cnonce` when given (a test's), else
    /// a random one.
    fn answer(&self, request: &reqwest::Request, cnonce: Option<&str>) -> Option<HeaderValue> {
        let url = request.url();
        let uri = match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_string(),
        };
        let mut context = AuthContext::new_with_method(
            self.public_key.as_str(),
            self.private_key.expose_secret(),
            uri.as_str(),
            Option::<&[u8]>::None,
            HttpMethod::from(request.method().as_str()),
        );
        if let Some(cnonce) = cnonce {
            context.set_custom_cnonce(cnonce);
        }
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

    /// Caches the first Digest challenge of a 401 that this client can answer.
    ///
    /// # Errors
    ///
    /// [`NoAnswer`]: there is no Digest challenge, or none that can be answered (the
    /// reason is the first challenge's, or the first malformed value's).
    pub(crate) fn learn(&self, response: &reqwest::Response) -> Result<(), NoAnswer> {
        // `to_str` admits visible ASCII (and tabs) only: a value with other bytes is no
        // challenge this client reads.
        let values = response
            .headers()
            .get_all(WWW_AUTHENTICATE)
            .iter()
            .filter_map(|v| v.to_str().ok());
        let challenge = digest_challenge(values)?;
        tracing::debug!(
            stale = challenge.stale,
            algorithm = %challenge.algorithm,
            "Digest challenge received"
        );
        *self
            .challenge
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(challenge);
        Ok(())
    }
}

// Why the challenge is parsed here: `digest_auth::parse` (0.3) matches the scheme and the
// parameter names case-sensitively (`digest`, `Realm=`, `qoP=` go unread, though RFC 7235
// section 2.1 makes them case-insensitive), misreads whitespace around `=` (the grammar's
// BWS), slices names at character counts (a panic on text that is not ASCII), and answers
// a challenge offering only `qop="auth-int"` with `qop=auth`, which the server refuses.
// `http-auth` (0.1.10, 2024) reads challenge lists by RFC 7235's grammar, but comes with
// its own Digest answer; we keep `digest_auth` for computing the answer (its
// `WwwAuthenticateHeader` has public fields) and read the challenge with the parser below.

/// The first answerable Digest challenge among the `WWW-Authenticate` values.
fn digest_challenge<'a>(
    values: impl IntoIterator<Item = &'a str>,
) -> Result<WwwAuthenticateHeader, NoAnswer> {
    let mut refusal = None;
    for value in values {
        let found = match challenges(value) {
            Ok(found) => found,
            Err(e) => {
                refusal.get_or_insert(e);
                continue;
            }
        };
        for challenge in found
            .iter()
            .filter(|c| c.scheme.eq_ignore_ascii_case("Digest"))
        {
            match answerable(challenge) {
                Ok(header) => return Ok(header),
                Err(e) => {
                    refusal.get_or_insert(e);
                }
            }
        }
    }
    Err(refusal.unwrap_or(NoAnswer::NoChallenge))
}

/// The parameters of a Digest challenge this module reads; others are ignored.
const PARAMETERS: [&str; 9] = [
    "realm",
    "nonce",
    "opaque",
    "stale",
    "algorithm",
    "qop",
    "userhash",
    "charset",
    "domain",
];

/// A Digest challenge as `digest_auth` answers it: `qop` reduced to `auth` (the answer
/// has no body to sign), or refused when it offers no `auth`.
fn answerable(challenge: &Challenge<'_>) -> Result<WwwAuthenticateHeader, NoAnswer> {
    if challenge.token68.is_some() {
        return Err(NoAnswer::Malformed(
            "the Digest challenge carries a token68 instead of parameters".into(),
        ));
    }
    let mut found: [Option<&str>; PARAMETERS.len()] = [None; PARAMETERS.len()];
    for (name, value) in &challenge.params {
        let Some(i) = PARAMETERS.iter().position(|p| p.eq_ignore_ascii_case(name)) else {
            continue;
        };
        if found[i].replace(value).is_some() {
            return Err(NoAnswer::Repeated(PARAMETERS[i]));
        }
    }
    let [
        realm,
        nonce,
        opaque,
        stale,
        algorithm,
        qop,
        userhash,
        charset,
        domain,
    ] = found;
    let is_true = |value: Option<&str>| value.is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let realm = realm.ok_or(NoAnswer::Missing("realm"))?;
    let nonce = nonce.ok_or(NoAnswer::Missing("nonce"))?;
    let algorithm = match algorithm {
        None => Algorithm::default(),
        Some(name) => algorithm_named(name).ok_or_else(|| NoAnswer::Algorithm(shown(name)))?,
    };
    let qop = match qop {
        None => None,
        Some(offered) => {
            let mut qops = offered.split(',').map(|q| q.trim_matches([' ', '\t']));
            if !qops.any(|q| q.eq_ignore_ascii_case("auth")) {
                return Err(NoAnswer::Qop(shown(offered)));
            }
            Some(vec![Qop::AUTH])
        }
    };
    Ok(WwwAuthenticateHeader {
        domain: domain.map(|d| d.split_ascii_whitespace().map(str::to_owned).collect()),
        realm: realm.to_owned(),
        nonce: nonce.to_owned(),
        opaque: opaque.map(str::to_owned),
        stale: is_true(stale),
        algorithm,
        qop,
        userhash: is_true(userhash),
        charset: match charset {
            Some(c) if c.eq_ignore_ascii_case("UTF-8") => Charset::UTF8,
            _ => Charset::ASCII,
        },
        nc: 0,
    })
}

/// The algorithms `digest_auth` computes, by their names (case-insensitive).
fn algorithm_named(name: &str) -> Option<Algorithm> {
    let (base, sess) = match name
        .len()
        .checked_sub(5)
        .and_then(|at| name.split_at_checked(at))
    {
        Some((base, suffix)) if suffix.eq_ignore_ascii_case("-sess") => (base, true),
        _ => (name, false),
    };
    let algo = [
        ("MD5", AlgorithmType::MD5),
        ("SHA-256", AlgorithmType::SHA2_256),
        ("SHA-512-256", AlgorithmType::SHA2_512_256),
    ]
    .into_iter()
    .find(|(n, _)| n.eq_ignore_ascii_case(base))?
    .1;
    Some(Algorithm::new(algo, sess))
}

/// A value from the server, as an error shows it: at most 40 characters.
fn shown(value: &str) -> String {
    const LONGEST: usize = 40;
    match value.get(..LONGEST) {
        Some(head) if value.len() > LONGEST => format!("{head}..."),
        _ => value.to_string(),
    }
}

/// One challenge of a `WWW-Authenticate` value (RFC 7235 section 2.1): its scheme, and its
/// auth-params (names as sent, values unquoted) or its token68.
#[derive(Debug, PartialEq)]
struct Challenge<'a> {
    scheme: &'a str,
    params: Vec<(&'a str, Cow<'a, str>)>,
    token68: Option<&'a str>,
}

/// The challenges of one `WWW-Authenticate` value, as RFC 7235 section 4.1 writes them:
///
/// ```text
/// WWW-Authenticate = 1#challenge
/// challenge   = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
/// auth-param  = token BWS "=" BWS ( token / quoted-string )
/// ```
///
/// A list element that is `token BWS "="` is a parameter of the challenge under way (one
/// whose scheme a space followed); any other starts a challenge. Empty list elements are
/// allowed (RFC 7230 section 7).
fn challenges(text: &str) -> Result<Vec<Challenge<'_>>, NoAnswer> {
    if !text.is_ascii() {
        // Every index below is then a character boundary.
        return Err(NoAnswer::Malformed("it is not ASCII".into()));
    }
    let mut c = Cursor { text, at: 0 };
    let mut found: Vec<Challenge<'_>> = Vec::new();
    // Whether the challenge under way takes parameters: its scheme was followed by spaces
    // (`1*SP`), and not by a token68.
    let mut open = false;
    loop {
        c.skip_ows();
        match c.peek() {
            None => return Ok(found),
            Some(b',') => {
                c.at += 1;
                continue;
            }
            Some(_) => {}
        }
        let start = c.at;
        let name = c.token();
        if name.is_empty() {
            return Err(c.malformed("a token"));
        }
        let after_name = c.at;
        c.skip_ows();
        if c.peek() == Some(b'=') {
            c.at += 1;
            c.skip_ows();
            let value = c.value()?;
            match found.last_mut() {
                Some(challenge) if open => challenge.params.push((name, value)),
                _ => {
                    return Err(NoAnswer::Malformed(format!(
                        "the parameter at byte {start} belongs to no challenge (parameters follow a scheme and a space)"
                    )));
                }
            }
        } else {
            c.at = after_name;
            let mut challenge = Challenge {
                scheme: name,
                params: Vec::new(),
                token68: None,
            };
            open = false;
            if c.peek() == Some(b' ') {
                while c.peek() == Some(b' ') {
                    c.at += 1;
                }
                c.first_of(&mut challenge)?;
                open = challenge.token68.is_none();
            }
            found.push(challenge);
        }
        c.skip_ows();
        match c.peek() {
            None => return Ok(found),
            Some(b',') => c.at += 1,
            Some(_) => return Err(c.malformed("`,`")),
        }
    }
}

/// A position in an ASCII `WWW-Authenticate` value.
struct Cursor<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.at).copied()
    }

    /// OWS: spaces and tabs.
    fn skip_ows(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.at += 1;
        }
    }

    /// `*tchar` (RFC 7230 section 3.2.6), possibly empty.
    fn token(&mut self) -> &'a str {
        let start = self.at;
        while self.peek().is_some_and(is_tchar) {
            self.at += 1;
        }
        &self.text[start..self.at]
    }

    /// `token / quoted-string`, unquoted.
    fn value(&mut self) -> Result<Cow<'a, str>, NoAnswer> {
        if self.peek() == Some(b'"') {
            return self.quoted().map(Cow::Owned);
        }
        let token = self.token();
        if token.is_empty() {
            return Err(self.malformed("a token or a quoted string"));
        }
        Ok(Cow::Borrowed(token))
    }

    /// `quoted-string`, at its opening quote: `\` escapes the next character.
    fn quoted(&mut self) -> Result<String, NoAnswer> {
        let open = self.at;
        let unclosed =
            || NoAnswer::Malformed(format!("the quoted string at byte {open} is not closed"));
        let mut value = String::new();
        self.at += 1;
        loop {
            let byte = match self.peek().ok_or_else(unclosed)? {
                b'"' => {
                    self.at += 1;
                    return Ok(value);
                }
                b'\\' => {
                    self.at += 1;
                    self.peek().ok_or_else(unclosed)?
                }
                byte => byte,
            };
            if !(byte == b'\t' || (0x20..0x7f).contains(&byte)) {
                return Err(self.malformed("a visible character"));
            }
            value.push(char::from(byte));
            self.at += 1;
        }
    }

    /// What follows a scheme and its spaces: its first auth-param, else a token68, else
    /// nothing (the end, or `,`).
    fn first_of(&mut self, challenge: &mut Challenge<'a>) -> Result<(), NoAnswer> {
        let start = self.at;
        let name = self.token();
        self.skip_ows();
        if !name.is_empty() && self.peek() == Some(b'=') {
            self.at += 1;
            self.skip_ows();
            match self.peek() {
                Some(b'"') => {
                    let value = self.quoted()?;
                    challenge.params.push((name, Cow::Owned(value)));
                    return Ok(());
                }
                Some(b) if is_tchar(b) => {
                    let value = self.token();
                    challenge.params.push((name, Cow::Borrowed(value)));
                    return Ok(());
                }
                // `name=` then `=`, `,` or the end: a token68 such as `YWJj=`.
                _ => {}
            }
        }
        self.at = start;
        while self.peek().is_some_and(is_token68_char) {
            self.at += 1;
        }
        if self.at > start {
            while self.peek() == Some(b'=') {
                self.at += 1;
            }
            challenge.token68 = Some(&self.text[start..self.at]);
        }
        Ok(())
    }

    fn malformed(&self, expected: &str) -> NoAnswer {
        NoAnswer::Malformed(format!("expected {expected} at byte {}", self.at))
    }
}

/// `tchar` (RFC 7230 section 3.2.6).
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// A character of a `token68` other than its trailing `=` (RFC 7235 section 2.1).
fn is_token68_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~+/".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7616 section 3.9.1: the challenge (one algorithm at a time), the credentials and
    /// the client nonce of the example.
    const RFC_REALM: &str = "http-auth@example.org";
    const RFC_NONCE: &str = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
    const RFC_OPAQUE: &str = "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS";
    const RFC_CNONCE: &str = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";

    fn rfc_challenge(algorithm: &str) -> String {
        format!(
            r#"Digest realm="{RFC_REALM}", qop="auth, auth-int", algorithm={algorithm}, nonce="{RFC_NONCE}", opaque="{RFC_OPAQUE}""#
        )
    }

    /// The answer RFC 7616 section 3.9.1 gives, with `response` and `algorithm`.
    fn rfc_answer(response: &str, algorithm: &str) -> String {
        format!(
            r#"Digest username="Mufasa", realm="{RFC_REALM}", nonce="{RFC_NONCE}", uri="/dir/index.html", qop=auth, nc=00000001, cnonce="{RFC_CNONCE}", response="{response}", opaque="{RFC_OPAQUE}", algorithm={algorithm}"#
        )
    }

    /// A 401 with one `WWW-Authenticate` header per value.
    fn challenged_by(values: &[&[u8]]) -> reqwest::Response {
        let mut response = http::Response::new(bytes::Bytes::new());
        *response.status_mut() = reqwest::StatusCode::UNAUTHORIZED;
        for value in values {
            response
                .headers_mut()
                .append(WWW_AUTHENTICATE, HeaderValue::from_bytes(value).unwrap());
        }
        reqwest::Response::from(response)
    }

    fn challenged(value: &[u8]) -> reqwest::Response {
        challenged_by(&[value])
    }

    fn get(url: &str) -> reqwest::Request {
        reqwest::Request::new(reqwest::Method::GET, url.parse().unwrap())
    }

    fn atlas_request() -> reqwest::Request {
        get("https://cloud.mongodb.com/api/atlas/v2")
    }

    /// The challenge read from these header values.
    fn read(values: &[&str]) -> Result<WwwAuthenticateHeader, NoAnswer> {
        digest_challenge(values.iter().copied())
    }

    fn mufasa() -> Digest {
        Digest::new("Mufasa".into(), SecretString::from("Circle of Life"))
    }

    /// The answer of a client that learnt `values`, with the RFC's client nonce.
    fn rfc_answered(values: &[&str]) -> String {
        let digest = mufasa();
        let values: Vec<&[u8]> = values.iter().map(|v| v.as_bytes()).collect();
        digest.learn(&challenged_by(&values)).unwrap();
        let request = get("http://www.example.org/dir/index.html");
        let answer = digest.answer(&request, Some(RFC_CNONCE)).unwrap();
        assert!(answer.is_sensitive());
        answer.to_str().unwrap().to_string()
    }

    #[test]
    fn challenges_that_are_not_ascii_are_refused_not_parsed() {
        let digest = Digest::new("pub".into(), SecretString::from("priv"));
        let request = atlas_request();
        // A name right after a two-byte character: `digest_auth::parse` (0.3) would slice
        // inside the character and panic.
        let value = "Digest \u{bf}realm=\"x\", nonce=\"n\", qop=\"auth\"";
        assert_eq!(
            digest.learn(&challenged(value.as_bytes())),
            Err(NoAnswer::NoChallenge)
        );
        assert!(digest.authorization(&request).is_none());
        assert!(matches!(read(&[value]), Err(NoAnswer::Malformed(_))));
        let value = b"Digest realm=\"x\", nonce=\"n\", qop=\"auth\"";
        assert_eq!(digest.learn(&challenged(value)), Ok(()));
        assert!(digest.authorization(&request).is_some());
    }

    #[test]
    fn rfc_7616_md5_example_is_answered_exactly() {
        assert_eq!(
            rfc_answered(&[&rfc_challenge("MD5")]),
            rfc_answer("8ca523f5e9506fed4657c9700eebdbec", "MD5")
        );
    }

    #[test]
    fn rfc_7616_sha_256_example_is_answered_exactly() {
        let sha256 = rfc_answer(
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
            "SHA-256",
        );
        assert_eq!(rfc_answered(&[&rfc_challenge("SHA-256")]), sha256);
        // As the RFC sends them: two headers, SHA-256 first; the first is answered.
        let (sha, md5) = (rfc_challenge("SHA-256"), rfc_challenge("MD5"));
        assert_eq!(rfc_answered(&[&sha, &md5]), sha256);
        // The same two challenges in one header value.
        assert_eq!(rfc_answered(&[&format!("{sha}, {md5}")]), sha256);
        // The MD5 one first: MD5.
        assert_eq!(
            rfc_answered(&[&format!("{md5},{sha}")]),
            rfc_answer("8ca523f5e9506fed4657c9700eebdbec", "MD5")
        );
    }

    #[test]
    fn the_nonce_count_increases_with_each_answer() {
        let digest = mufasa();
        digest
            .learn(&challenged(rfc_challenge("MD5").as_bytes()))
            .unwrap();
        let request = get("http://www.example.org/dir/index.html");
        let first = digest.answer(&request, Some(RFC_CNONCE)).unwrap();
        let second = digest.answer(&request, Some(RFC_CNONCE)).unwrap();
        assert!(first.to_str().unwrap().contains("nc=00000001"));
        // digest_auth's own documentation gives this second answer.
        assert!(
            second
                .to_str()
                .unwrap()
                .contains(r#"nc=00000002, cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", response="4b5d595ecf2db9df612ea5b45cd97101""#)
        );
    }

    #[test]
    fn atlas_challenge_is_read() {
        let value = r#"Digest realm="MMS Public API", domain="", nonce="OBVn2e8sJWyhY7ZfzEm0lnj4j3hnqIFe", algorithm=MD5, qop="auth", stale=false"#;
        assert_eq!(
            read(&[value]),
            Ok(WwwAuthenticateHeader {
                domain: Some(vec![]),
                realm: "MMS Public API".into(),
                nonce: "OBVn2e8sJWyhY7ZfzEm0lnj4j3hnqIFe".into(),
                opaque: None,
                stale: false,
                algorithm: Algorithm::new(AlgorithmType::MD5, false),
                qop: Some(vec![Qop::AUTH]),
                userhash: false,
                charset: Charset::ASCII,
                nc: 0,
            })
        );
        let digest = Digest::new("abcdefgh".into(), SecretString::from("private"));
        digest.learn(&challenged(value.as_bytes())).unwrap();
        let answer = digest
            .authorization(&get(
                "https://cloud.mongodb.com/api/atlas/v2/groups/5f1a/clusters?pageNum=2",
            ))
            .unwrap();
        let answer = answer.to_str().unwrap();
        assert!(
            answer.starts_with(r#"Digest username="abcdefgh", realm="MMS Public API", nonce="OBVn2e8sJWyhY7ZfzEm0lnj4j3hnqIFe", uri="/api/atlas/v2/groups/5f1a/clusters?pageNum=2", qop=auth, nc=00000001, cnonce=""#),
            "{answer}"
        );
        assert!(answer.ends_with("algorithm=MD5"), "{answer}");
    }

    #[test]
    fn names_scheme_and_tokens_are_case_insensitive() {
        let mixed = r#"dIGEST Realm="r", NONCE="n", qoP="AUTH", algorIthm=sha-256-SESS, Opaque="o", STALE=TRUE, UserHash=True, CharSet=utf-8"#;
        let header = read(&[mixed]).unwrap();
        assert_eq!(
            (
                header.realm.as_str(),
                header.nonce.as_str(),
                header.opaque.as_deref()
            ),
            ("r", "n", Some("o"))
        );
        assert_eq!(
            header.algorithm,
            Algorithm::new(AlgorithmType::SHA2_256, true)
        );
        assert_eq!(header.qop, Some(vec![Qop::AUTH]));
        assert!(header.stale && header.userhash);
        assert_eq!(header.charset, Charset::UTF8);
        let digest = mufasa();
        digest.learn(&challenged(mixed.as_bytes())).unwrap();
        let answer = digest.authorization(&atlas_request()).unwrap();
        let answer = answer.to_str().unwrap();
        assert!(answer.contains("qop=auth,"), "{answer}");
        assert!(answer.contains("algorithm=SHA-256-sess"), "{answer}");
        assert!(answer.contains("userhash=true"), "{answer}");
    }

    #[test]
    fn whitespace_around_equals_and_commas_is_allowed() {
        let spaced =
            "Digest realm = \"r\" ,nonce=\t\"n\",qop =auth ,  algorithm\t=\tMD5-sess , opaque= o,";
        let header = read(&[spaced]).unwrap();
        assert_eq!(
            (
                header.realm.as_str(),
                header.nonce.as_str(),
                header.opaque.as_deref()
            ),
            ("r", "n", Some("o"))
        );
        assert_eq!(header.algorithm, Algorithm::new(AlgorithmType::MD5, true));
        assert_eq!(header.qop, Some(vec![Qop::AUTH]));
        // Empty list elements, before, between and after.
        let sparse = r#" , Digest realm="r",, ,nonce="n" , "#;
        assert_eq!(read(&[sparse]).map(|h| h.nonce), Ok("n".into()));
        let sparse = r#"Digest , realm="r", nonce="n""#;
        assert_eq!(read(&[sparse]).map(|h| h.nonce), Ok("n".into()));
    }

    #[test]
    fn quoted_strings_keep_escaped_quotes_and_backslashes() {
        let value =
            r#"Digest realm="a \"quoted\" realm \\ with, a comma", nonce="n\\n\x", opaque="""#;
        let header = read(&[value]).unwrap();
        assert_eq!(header.realm, r#"a "quoted" realm \ with, a comma"#);
        assert_eq!(header.nonce, r"n\nx");
        assert_eq!(header.opaque.as_deref(), Some(""));
        // The answer quotes them again.
        let digest = mufasa();
        digest.learn(&challenged(value.as_bytes())).unwrap();
        let answer = digest.authorization(&atlas_request()).unwrap();
        assert!(
            answer
                .to_str()
                .unwrap()
                .contains(r#"realm="a \"quoted\" realm \\ with, a comma", nonce="n\\nx""#)
        );
    }

    #[test]
    fn stale_is_true_in_any_case_and_form() {
        for (stale, expected) in [
            ("stale=TRUE", true),
            ("stale=true", true),
            ("Stale=True", true),
            ("stale=\"true\"", true),
            ("stale=false", false),
            ("stale=FALSE", false),
            ("stale=yes", false),
            ("", false),
        ] {
            let value = format!(r#"Digest realm="r", nonce="n", qop="auth", {stale}"#);
            assert_eq!(read(&[&value]).map(|h| h.stale), Ok(expected), "{value}");
        }
    }

    #[test]
    fn qop_lists_are_answered_with_auth() {
        for qop in [
            r#"qop="auth""#,
            r#"qop="auth,auth-int""#,
            r#"qop="auth-int, auth""#,
            r#"qop=" auth-int ,	auth , token""#,
            "qop=auth",
        ] {
            let value = format!(r#"Digest realm="r", nonce="n", {qop}"#);
            assert_eq!(
                read(&[&value]).map(|h| h.qop),
                Ok(Some(vec![Qop::AUTH])),
                "{value}"
            );
            let digest = mufasa();
            digest.learn(&challenged(value.as_bytes())).unwrap();
            let answer = digest.authorization(&atlas_request()).unwrap();
            assert!(answer.to_str().unwrap().contains(" qop=auth, "), "{value}");
        }
        // No qop: RFC 2069's answer, without qop.
        let answer = rfc_answered(&[r#"Digest realm="r", nonce="n""#]);
        assert!(!answer.contains("qop"), "{answer}");
    }

    #[test]
    fn auth_int_only_is_refused_with_the_reason() {
        let digest = mufasa();
        let value = r#"Digest realm="r", nonce="n", qop="auth-int""#;
        let refused = digest.learn(&challenged(value.as_bytes())).unwrap_err();
        assert_eq!(refused, NoAnswer::Qop("auth-int".into()));
        assert_eq!(
            refused.to_string(),
            r#"the Digest challenge offers qop "auth-int" but not "auth", the only quality of protection this client answers with"#
        );
        assert!(digest.authorization(&atlas_request()).is_none());
        for qop in [r#"qop="""#, r#"qop="token""#, r#"qop="auth-conf, authx""#] {
            let value = format!(r#"Digest realm="r", nonce="n", {qop}"#);
            assert!(matches!(read(&[&value]), Err(NoAnswer::Qop(_))), "{value}");
        }
        // An answerable challenge after it is answered.
        let answerable = r#"Digest realm="r", nonce="n2", qop="auth""#;
        assert_eq!(read(&[value, answerable]).map(|h| h.nonce), Ok("n2".into()));
    }

    #[test]
    fn unknown_algorithms_are_refused_with_the_reason() {
        for algorithm in [
            "SHA-512",
            "SHA-1",
            "MD5-SESSION",
            "-sess",
            "sess",
            "\"\"",
            "MD4",
        ] {
            let value =
                format!(r#"Digest realm="r", nonce="n", qop="auth", algorithm={algorithm}"#);
            let refused = read(&[&value]).unwrap_err();
            assert!(
                matches!(refused, NoAnswer::Algorithm(_)),
                "{value}: {refused:?}"
            );
            let message = refused.to_string();
            assert!(
                message.contains("algorithm") && !message.contains('\n'),
                "{message}"
            );
        }
        assert_eq!(
            read(&[r#"Digest realm="r", nonce="n", algorithm=SHA-512"#])
                .unwrap_err()
                .to_string(),
            r#"the Digest challenge asks for algorithm "SHA-512"; this client computes MD5, SHA-256 and SHA-512-256, and their -sess variants"#
        );
        // A long name is cut.
        let long = format!(
            r#"Digest realm="r", nonce="n", algorithm={}"#,
            "X".repeat(500)
        );
        assert!(read(&[&long]).unwrap_err().to_string().len() < 200);
        for (name, algo, sess) in [
            ("MD5", AlgorithmType::MD5, false),
            ("md5-SESS", AlgorithmType::MD5, true),
            ("SHA-256", AlgorithmType::SHA2_256, false),
            ("SHA-256-sess", AlgorithmType::SHA2_256, true),
            ("SHA-512-256", AlgorithmType::SHA2_512_256, false),
            ("\"SHA-512-256-sess\"", AlgorithmType::SHA2_512_256, true),
        ] {
            let value = format!(r#"Digest realm="r", nonce="n", qop="auth", algorithm={name}"#);
            assert_eq!(
                read(&[&value]).map(|h| h.algorithm),
                Ok(Algorithm::new(algo, sess)),
                "{value}"
            );
        }
    }

    #[test]
    fn other_schemes_and_unknown_parameters_are_skipped() {
        for values in [
            &[r#"Basic realm="atlas", Digest realm="r", nonce="n""#][..],
            &[
                r#"Bearer realm="atlas", error="invalid_token""#,
                r#"Digest realm="r", nonce="n""#,
            ],
            &[r#"Negotiate YWJj==, Digest realm="r", nonce="n", Basic realm="b""#],
            &[
                "NTLM",
                r#"Newauth realm="apps", type=1, title="Login to \"apps\"", Digest realm="r", nonce="n""#,
            ],
            &[r#"Digest realm="r", foo=bar, nonce="n", x="y, z", domain="/ /api", charset=latin1"#],
        ] {
            let header = read(values).unwrap();
            assert_eq!(
                (header.realm.as_str(), header.nonce.as_str()),
                ("r", "n"),
                "{values:?}"
            );
        }
        for values in [
            &[][..],
            &["Basic realm=\"atlas\""],
            &["Bearer", "Negotiate YWJj=="],
            &["Digestive realm=\"r\", nonce=\"n\""],
        ] {
            assert_eq!(read(values), Err(NoAnswer::NoChallenge), "{values:?}");
        }
    }

    #[test]
    fn challenges_are_split_as_rfc_7235_shows() {
        // RFC 7235 section 4.1's example.
        let value =
            r#"Newauth realm="apps", type=1, title="Login to \"apps\"", Basic realm="simple""#;
        let found = challenges(value).unwrap();
        assert_eq!(
            found,
            [
                Challenge {
                    scheme: "Newauth",
                    params: vec![
                        ("realm", "apps".into()),
                        ("type", "1".into()),
                        ("title", "Login to \"apps\"".into())
                    ],
                    token68: None,
                },
                Challenge {
                    scheme: "Basic",
                    params: vec![("realm", "simple".into())],
                    token68: None,
                },
            ]
        );
        let found = challenges("Negotiate a/b+c==, Basic YWJj=,NTLM, Bearer x=y").unwrap();
        let token68: Vec<_> = found.iter().map(|c| (c.scheme, c.token68)).collect();
        assert_eq!(
            token68,
            [
                ("Negotiate", Some("a/b+c==")),
                ("Basic", Some("YWJj=")),
                ("NTLM", None),
                ("Bearer", None)
            ]
        );
        assert_eq!(found[3].params, [("x", "y".into())]);
    }

    #[test]
    fn incomplete_and_repeated_parameters_are_refused() {
        let cases = [
            (r#"Digest nonce="n""#, NoAnswer::Missing("realm")),
            (r#"Digest realm="r""#, NoAnswer::Missing("nonce")),
            ("Digest", NoAnswer::Missing("realm")),
            ("Digest ", NoAnswer::Missing("realm")),
            // `nonce` alone is a challenge of the scheme "nonce" (RFC 7235 section 2.1).
            (r#"Digest realm="r", nonce"#, NoAnswer::Missing("nonce")),
            (
                r#"Digest realm="r", nonce="n", Realm="s""#,
                NoAnswer::Repeated("realm"),
            ),
            (
                r#"Digest realm="r", nonce="n", qop=auth, QOP=auth"#,
                NoAnswer::Repeated("qop"),
            ),
        ];
        for (value, expected) in cases {
            assert_eq!(read(&[value]), Err(expected), "{value}");
        }
    }

    #[test]
    fn malformed_values_are_refused_with_the_place() {
        for value in [
            r#"Digest realm="unclosed, nonce="n""#,
            r#"Digest realm="r" nonce="n""#,
            r#"Digest realm=, nonce="n""#,
            r#"Digest realm="r", nonce="n\"#,
            r#"Digest realm="r", ="n""#,
            "Digest\trealm=\"r\", nonce=\"n\"",
            r#"Digest realm="a"b", nonce="n""#,
            r#"realm="r", Digest nonce="n""#,
            r#"Digest YWJj==, realm="r", nonce="n""#,
            r#"digest,realm="r", nonce="n""#,
            r#"Basic, Digest, realm="r", nonce="n""#,
            "Digest realm=\"r\u{1}\", nonce=\"n\"",
            "Digest realm=\"r\", nonce=\"n\"\r\n",
            r#"Digest realm=r=, nonce="n""#,
            "Digest r\u{e9}alm=\"r\", nonce=\"n\"",
        ] {
            let refused = read(&[value]).unwrap_err();
            assert!(
                matches!(refused, NoAnswer::Malformed(_)),
                "{value:?}: {refused:?}"
            );
            assert!(!refused.to_string().contains('\n'));
        }
        assert_eq!(
            read(&[r#"Digest realm="r" nonce="n""#]),
            Err(NoAnswer::Malformed("expected `,` at byte 17".into()))
        );
        assert_eq!(
            read(&[r#"Digest realm="r", nonce="n"#]),
            Err(NoAnswer::Malformed(
                "the quoted string at byte 24 is not closed".into()
            ))
        );
        // A malformed value does not hide a good one.
        assert_eq!(
            read(&[
                r#"Digest realm="r" nonce="n""#,
                r#"Digest realm="r", nonce="m""#
            ])
            .map(|h| h.nonce),
            Ok("m".into())
        );
    }

    #[test]
    fn no_input_makes_the_parser_panic() {
        let valid = [
            r#"Digest realm="MMS Public API", domain="", nonce="OBVn2e8sJWyhY7ZfzEm0lnj4j3hnqIFe", algorithm=MD5, qop="auth", stale=false"#,
            r#"Digest realm="a \"q\" \\", nonce="n", opaque="o", qop="auth,auth-int", algorithm=SHA-512-256-sess, userhash=true, charset=UTF-8"#,
            r#"Basic realm="b", Digest realm = r ,nonce= n, Negotiate YWJj==, NTLM"#,
        ];
        let mut inputs: Vec<String> = [
            "",
            " ",
            ",",
            ",,,",
            "=",
            "==",
            "\"",
            "\\",
            "Digest",
            "Digest =",
            "Digest ==",
            "Digest \"",
            "Digest \\",
            "Digest realm",
            "Digest realm=",
            "Digest realm=\"",
            "Digest realm=\"\\",
            "Digest realm=\"\\\"",
            "Digest ,",
            "Digest , ,",
            "Digest a=b=c",
            "Digest realm=\"r\",nonce=\"n\",qop=\",,,\"",
            "Digest realm=\"r\",nonce=\"n\",qop",
            "\u{0}",
            "Digest \u{7f}",
            "\u{bf}",
            "Digest realm=\"\u{bf}\"",
            "\u{10ffff}=\u{10ffff}",
        ]
        .into_iter()
        .map(String::from)
        .collect();
        let long = format!("Digest realm=\"{}\", nonce=\"n\"", "\\\"".repeat(30_000));
        inputs.push(long);
        inputs.push(", ".repeat(30_000));
        inputs.push("Digest ".repeat(10_000));
        for value in valid {
            for end in 0..=value.len() {
                inputs.push(value[..end].to_string());
                inputs.push(value[end..].to_string());
            }
            for at in 0..value.len() {
                for replacement in [
                    "\"", "\\", ",", "=", " ", "\t", "\u{0}", "\u{7f}", "\u{e9}", "",
                ] {
                    let mut mutated = value.to_string();
                    mutated.replace_range(at..=at, replacement);
                    inputs.push(mutated);
                }
            }
        }
        let request = atlas_request();
        let mut answered = 0;
        for input in &inputs {
            let _ = challenges(input);
            if let Ok(mut header) = read(&[input]) {
                // What is read can always be answered.
                let context = AuthContext::new("pub", "priv", "/api/atlas/v2");
                header.respond(&context).unwrap();
                answered += 1;
            }
            if let Ok(value) = HeaderValue::from_str(input) {
                let digest = mufasa();
                if digest.learn(&challenged(value.as_bytes())).is_ok() {
                    assert!(digest.authorization(&request).is_some(), "{input:?}");
                }
            }
        }
        assert!(
            answered > 100,
            "{answered} of {} inputs answered",
            inputs.len()
        );
    }
}
