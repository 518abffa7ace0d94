//! Everything a fake Atlas can be told: data, credentials, limits and faults.

use std::time::Duration;

use crate::data::DataConfig;

/// Demo API key (Digest): public part.
pub const DEMO_PUBLIC_KEY: &str = "demopubl";
/// Demo API key (Digest): private part.
pub const DEMO_PRIVATE_KEY: &str = "00000000-demo-4000-8000-000000000000";
/// Demo service account: client id.
pub const DEMO_CLIENT_ID: &str = "mdb_sa_id_0123456789abcdef01234567";
/// Demo service account: client secret.
pub const DEMO_CLIENT_SECRET: &str = "mdb_sa_sk_demo0000000000000000000000000000";

/// The server's configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// The data it serves.
    pub data: DataConfig,
    /// The API keys it accepts (public, private).
    pub api_keys: Vec<(String, String)>,
    /// The service accounts it accepts (client id, secret).
    pub service_accounts: Vec<(String, String)>,
    /// How long a Digest nonce stays valid; after that a correct answer gets `stale=true`.
    pub nonce_lifetime: Duration,
    /// How long a service-account token lives (Atlas: one hour).
    pub token_lifetime: Duration,
    /// Token buckets per project and endpoint set.
    pub rate_limit: RateLimit,
    /// The audit log of each workspace: uncompressed size over the default 30-day window.
    pub audit_log_bytes: u64,
    /// gzip level of audit logs, 0 (stored) to 9.
    pub audit_log_compression: u32,
    /// Faults to inject from the start.
    pub faults: Faults,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data: DataConfig::default(),
            api_keys: vec![(DEMO_PUBLIC_KEY.into(), DEMO_PRIVATE_KEY.into())],
            service_accounts: vec![(DEMO_CLIENT_ID.into(), DEMO_CLIENT_SECRET.into())],
            nonce_lifetime: Duration::from_secs(300),
            token_lifetime: Duration::from_secs(3600),
            rate_limit: RateLimit::default(),
            audit_log_bytes: 4 << 20,
            audit_log_compression: 1,
            faults: Faults::default(),
        }
    }
}

/// A token bucket: `capacity` tokens, `refill` more every `period`.
#[derive(Clone, Copy, Debug)]
pub struct RateLimit {
    /// Bucket size (Atlas: 1200).
    pub capacity: u32,
    /// Tokens added per period (Atlas: 500).
    pub refill: u32,
    /// The refill period (Atlas: 60 s).
    pub period: Duration,
}

impl Default for RateLimit {
    fn default() -> Self {
        Self {
            capacity: 1200,
            refill: 500,
            period: Duration::from_secs(60),
        }
    }
}

/// Faults injected into API calls (not into the OAuth endpoints).
#[derive(Clone, Debug, Default)]
pub struct Faults {
    /// Answer this many of the next API calls with `fail_status`.
    pub fail_next: u32,
    /// The status of those answers (e.g. 503, 429, 500).
    pub fail_status: u16,
    /// `Retry-After` seconds sent with them, if any.
    pub fail_retry_after: Option<u64>,
    /// Delay before answering each API call.
    pub latency: Duration,
    /// Abort the connection after this many body bytes.
    pub close_after_bytes: Option<u64>,
    /// With `close_after_bytes`: abort only the bodies of this many of the next answers
    /// (0: every answer's).
    pub close_next: u32,
    /// End audit-log bodies cleanly after this many bytes (an invalid, truncated gzip).
    pub truncate_gzip_after: Option<u64>,
}
