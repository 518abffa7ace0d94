//! Retries: 429 (after `Retry-After`, else exponential backoff with full jitter), 502, 503,
//! 504 and connection failures, for idempotent requests only, within a number of attempts
//! and a total time. Every retry is logged with `tracing` at WARN.

use std::future::Future;
use std::time::{Duration, Instant};

use rand::Rng;
use reqwest::Method;
use reqwest::header::{HeaderMap, RETRY_AFTER};

/// How hard to try.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1: never retry).
    pub max_attempts: u32,
    /// No retry starts after this much time since the first attempt.
    pub max_elapsed: Duration,
    /// The first backoff's ceiling; each retry doubles it.
    pub base_delay: Duration,
    /// The largest backoff ceiling.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    /// Four attempts within a minute, backing off from 0.5 s up to 30 s.
    fn default() -> Self {
        Self {
            max_attempts: 4,
            max_elapsed: Duration::from_secs(60),
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
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
    fn backoff(&self, attempt: u32) -> Duration {
        let ceiling = self
            .base_delay
            .saturating_mul(1u32 << (attempt - 1).min(20))
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

fn idempotent(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::PUT | Method::DELETE
    )
}

/// Sends `request` through `send`, retrying as `policy` allows.
pub(crate) async fn send<F, Fut>(
    policy: &RetryPolicy,
    mut request: reqwest::Request,
    send: F,
) -> reqwest::Result<reqwest::Response>
where
    F: Fn(reqwest::Request) -> Fut,
    Fut: Future<Output = reqwest::Result<reqwest::Response>>,
{
    let started = Instant::now();
    let retryable_method = idempotent(request.method());
    let mut attempt = 1;
    loop {
        let next = (retryable_method && attempt < policy.max_attempts)
            .then(|| request.try_clone())
            .flatten();
        let path = request.url().path().to_string();
        let result = send(request).await;
        let Some(next) = next else { return result };
        let (delay, why) = match &result {
            Ok(response) => match response.status().as_u16() {
                429 => {
                    let backoff = policy.backoff(attempt);
                    (
                        retry_after(response.headers()).map_or(backoff, |wait| wait.max(backoff)),
                        "HTTP 429",
                    )
                }
                502..=504 => {
                    let backoff = policy.backoff(attempt);
                    let why = if response.status().as_u16() == 503 {
                        "HTTP 503"
                    } else {
                        "HTTP 502/504"
                    };
                    (
                        retry_after(response.headers()).map_or(backoff, |wait| wait.max(backoff)),
                        why,
                    )
                }
                _ => return result,
            },
            Err(e) if e.is_connect() || e.is_timeout() || e.is_request() => {
                (policy.backoff(attempt), "connection failure")
            }
            Err(_) => return result,
        };
        if started.elapsed() + delay > policy.max_elapsed {
            tracing::warn!(
                attempt,
                reason = why,
                "not retrying: the retry time budget is spent"
            );
            return result;
        }
        tracing::warn!(attempt, reason = why, delay_ms = delay.as_millis() as u64, path = %path, "retrying");
        tokio::time::sleep(delay).await;
        request = next;
        attempt += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_stays_under_its_ceiling() {
        let policy = RetryPolicy::default();
        for attempt in 1..10 {
            let ceiling =
                (Duration::from_millis(500) * (1 << (attempt - 1))).min(Duration::from_secs(30));
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
