//! Token buckets per project and endpoint set, refilled continuously.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use crate::config::RateLimit;

/// The endpoint sets Atlas meters separately.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EndpointSet {
    /// Both access-history operations (and the v1.0 one).
    AccessTracking,
    /// The streams operations, the audit-log download among them.
    Streams,
    /// The cluster operations, `listClusters` among them.
    Clusters,
    /// The listings of projects (`listGroups`, `getOrgGroups`), keyed by organisation.
    Projects,
}

impl EndpointSet {
    /// The resource path Atlas names in a 429's `parameters`.
    pub fn resource(self, group_id: &str) -> String {
        match self {
            Self::AccessTracking => format!("api/atlas/v2/groups/{group_id}/dbAccessHistory"),
            Self::Streams => format!("api/atlas/v2/groups/{group_id}/streams"),
            Self::Clusters => format!("api/atlas/v2/groups/{group_id}/clusters"),
            Self::Projects => "api/atlas/v2/groups".to_string(),
        }
    }
}

/// The outcome of taking one token.
#[derive(Debug, PartialEq, Eq)]
pub enum Take {
    /// Allowed; this many tokens remain.
    Allowed { remaining: u32 },
    /// Refused; a token will be there in this many seconds.
    Limited { retry_after: u64 },
}

/// All buckets.
pub struct RateLimiter {
    limit: RateLimit,
    buckets: Mutex<HashMap<(String, EndpointSet), (f64, Instant)>>,
}

impl RateLimiter {
    /// Buckets of this shape.
    pub fn new(limit: RateLimit) -> Self {
        Self {
            limit,
            buckets: Mutex::default(),
        }
    }

    /// Bucket capacity, for `RateLimit-Limit`.
    pub fn capacity(&self) -> u32 {
        self.limit.capacity
    }

    /// Takes one token from the bucket of a project and endpoint set.
    pub fn take(&self, group_id: &str, set: EndpointSet) -> Take {
        let per_second = f64::from(self.limit.refill) / self.limit.period.as_secs_f64().max(1e-9);
        let capacity = f64::from(self.limit.capacity);
        let mut buckets = self.buckets.lock().unwrap();
        let now = Instant::now();
        let (tokens, last) = buckets
            .entry((group_id.to_string(), set))
            .or_insert((capacity, now));
        *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * per_second).min(capacity);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Take::Allowed {
                remaining: *tokens as u32,
            }
        } else {
            let wait = ((1.0 - *tokens) / per_second).ceil().max(1.0);
            Take::Limited {
                retry_after: wait as u64,
            }
        }
    }
}
