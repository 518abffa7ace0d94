//! Retries: 408, 429, 502, 503, 504, connection failures and answers that break off
//! mid-body, for idempotent requests only, within a time budget. The delay is
//! `Retry-After` (when sent) plus exponential backoff with full jitter, so that callers
//! sharing a rate limit spread out. Every retry is logged with `tracing` at WARN.

use std::future::Future;
use std::time::{Duration, Instant};

use rand::Rng;
use reqwest::Method;
use reqwest::header::{HeaderMap, RETRY_AFTER};

/// How hard to try. The time budget decides when to stop; the attempt count is a ceiling.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1: never retry).
    pub max_attempts: u32,
    /// No retry starts if it would begin later than this after the first attempt.
    pub max_elapsed: Duration,
    /// The first backoff's ceiling; each retry doubles it.
    pub base_delay: Duration,
    /// The largest backoff ceiling.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    /// Up to twelve attempts within a minute, backing off from 0.5 s up to 16 s with full
    /// jitter, so that callers sharing a rate limit spread out instead of retrying in step.
    fn default() -> Self {
        Self {
            max_attempts: 12,
            max_elapsed: Duration::from_secs(60),
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(16),
        }
    }
}

impl RetryPolicy {
    /// Never retry.
    pub fn never() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// A random delay in `[0, min(max_delay, base_delay * 2^(attempt-1))]` ("full jitter").
    pub(crate) fn backoff(&self, attempt: u32) -> Duration {
        let ceiling = self
            .base_delay
            .saturating_mul(1u32 << (attempt.max(1) - 1).min(20))
            .min(self.max_delay);
        ceiling.mul_f64(rand::rng().random::<f64>())
    }
}

/// Atlas's rate-limit headers, when it sends them (it does not always).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RateLimit {
    /// `RateLimit-Limit`: the bucket's capacity.
    pub limit: Option<u64>,
    /// `RateLimit-Remaining`: tokens left.
    pub remaining: Option<u64>,
}

impl RateLimit {
    /// Reads the headers of a response (`ResponseValue::headers()`, say).
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let number = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse().ok())
        };
        Self {
            limit: number("ratelimit-limit"),
            remaining: number("ratelimit-remaining"),
        }
    }
}

/// `Retry-After`, in seconds or as an HTTP date.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let when = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    Some(
        (when.with_timezone(&chrono::Utc) - chrono::Utc::now())
            .to_std()
            .unwrap_or_default(),
    )
}

/// Whether a request with this method may be sent twice.
pub(crate) fn idempotent(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::PUT | Method::DELETE
    )
}

/// Why an outcome is worth another attempt, if it is: what [`run`] retries, and what
/// [`AtlasError::is_retryable`](crate::AtlasError::is_retryable) reports.
pub(crate) fn retryable_status(status: u16) -> Option<&'static str> {
    match status {
        408 => Some("HTTP 408"),
        429 => Some("HTTP 429"),
        502 => Some("HTTP 502"),
        503 => Some("HTTP 503"),
        504 => Some("HTTP 504"),
        _ => None,
    }
}

/// Whether a transport failure is worth another attempt: the connection failed, timed out,
/// or the answer broke off mid-body (reqwest reports a body that fails while it is read as
/// a body or a decode error; the runtime reads bytes, never decodes with reqwest).
pub(crate) fn retryable_transport(error: &reqwest::Error) -> bool {
    error.is_connect()
        || error.is_timeout()
        || error.is_request()
        || error.is_body()
        || error.is_decode()
}

/// Why an outcome is worth another attempt: what a classifier says of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Retry {
    /// What the server asked to wait (`Retry-After`); the backoff comes on top.
    pub(crate) asked: Duration,
    /// The reason, as logged.
    pub(crate) why: &'static str,
}

impl Retry {
    pub(crate) fn because(why: &'static str) -> Self {
        Self {
            asked: Duration::ZERO,
            why,
        }
    }
}

/// What [`run`] retries of an answer: a retryable status, after its `Retry-After`.
pub(crate) fn classify_answer(response: &reqwest::Response) -> Option<Retry> {
    retryable_status(response.status().as_u16()).map(|why| Retry {
        asked: retry_after(response.headers()).unwrap_or_default(),
        why,
    })
}

/// What [`run`] retries of a transport failure: see [`retryable_transport`].
pub(crate) fn classify_transport(error: &reqwest::Error) -> Option<Retry> {
    retryable_transport(error).then(|| {
        Retry::because(if error.is_body() || error.is_decode() {
            "the answer broke off"
        } else {
            "connection failure"
        })
    })
}

/// Runs `attempt` until `classify` finds nothing to retry in its outcome, as `policy`
/// allows. Each call of `attempt` builds and sends a request of its own (fresh
/// credentials included). `repeatable` is false for requests that must not be sent twice:
/// those run once. The outcome is any value: an answer, a transport failure, a refused
/// token are each told apart by the classifier, never dressed as one another.
pub(crate) async fn run<T, F, Fut, C>(
    policy: &RetryPolicy,
    repeatable: bool,
    what: &str,
    mut attempt: F,
    classify: C,
) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = T>,
    C: Fn(&T) -> Option<Retry>,
{
    let started = Instant::now();
    let mut n = 1;
    loop {
        let outcome = attempt().await;
        if !repeatable || n >= policy.max_attempts {
            return outcome;
        }
        let Some(retry) = classify(&outcome) else {
            return outcome;
        };
        // Wait what Atlas asks, plus a random share of the backoff so that callers told
        // the same Retry-After do not come back at the same instant.
        let delay = retry.asked.saturating_add(policy.backoff(n));
        if !another(policy, started, n, delay, retry.why, what) {
            return outcome;
        }
        tokio::time::sleep(delay).await;
        n += 1;
    }
}

/// Whether attempt `n` of `what` (the first of which began at `started`), which failed
/// for the reason `why`, is followed by another after `delay`, as `policy` allows: not
/// past `max_attempts`, and not if it would begin later than `max_elapsed` after the
/// first. A retry, or a retry refused for the time budget, is logged at WARN.
pub(crate) fn another(
    policy: &RetryPolicy,
    started: Instant,
    n: u32,
    delay: Duration,
    why: &str,
    what: &str,
) -> bool {
    if n >= policy.max_attempts {
        return false;
    }
    if started.elapsed().saturating_add(delay) > policy.max_elapsed {
        tracing::warn!(attempt = n, reason = why, %what, "not retrying: the retry time budget is spent");
        return false;
    }
    tracing::warn!(attempt = n, reason = why, delay_ms = delay.as_millis() as u64, %what, "retrying");
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_stays_under_its_ceiling() {
        let policy = RetryPolicy::default();
        for attempt in 1..10 {
            let ceiling =
                (Duration::from_millis(500) * (1 << (attempt - 1))).min(Duration::from_secs(16));
            for _ in 0..50 {
                assert!(policy.backoff(attempt) <= ceiling);
            }
        }
    }

    #[test]
    fn retry_after_in_seconds_or_as_a_date() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
        let later = (chrono::Utc::now() + chrono::Duration::seconds(30)).to_rfc2822();
        headers.insert(RETRY_AFTER, later.parse().unwrap());
        let wait = retry_after(&headers).unwrap();
        assert!(
            wait > Duration::from_secs(25) && wait <= Duration::from_secs(30),
            "{wait:?}"
        );
        headers.insert(RETRY_AFTER, "soon".parse().unwrap());
        assert_eq!(retry_after(&headers), None);
    }

    #[test]
    fn rate_limit_headers_are_optional() {
        let mut headers = HeaderMap::new();
        assert_eq!(RateLimit::from_headers(&headers), RateLimit::default());
        headers.insert("RateLimit-Limit", "1200".parse().unwrap());
        headers.insert("RateLimit-Remaining", "17".parse().unwrap());
        assert_eq!(
            RateLimit::from_headers(&headers),
            RateLimit {
                limit: Some(1200),
                remaining: Some(17)
            }
        );
    }
}
