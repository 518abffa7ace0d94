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
    /// The data of each project it serves.
    pub data: DataConfig,
    /// How many projects, all in one organisation: project `k` holds the data of `data`
    /// with the seed moved on by `k` (its own group id, hosts and entries), and has a
    /// rate-limit bucket of its own. At least one.
    pub projects: usize,
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
    /// The audit log of each workspace: uncompressed size over the default 30-day window
    /// (its events are evenly spaced on a fixed timeline).
    pub audit_log_bytes: u64,
    /// How the audit-log operation reads its window's whole-second bounds.
    pub audit_window: crate::audit::AuditWindow,
    /// gzip level of audit logs, 0 (stored) to 9.
    pub audit_log_compression: u32,
    /// Faults to inject from the start.
    pub faults: Faults,
    /// How access history reads `start`/`end` and which matching entries a page holds.
    pub semantics: WindowSemantics,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data: DataConfig::default(),
            projects: 1,
            api_keys: vec![(DEMO_PUBLIC_KEY.into(), DEMO_PRIVATE_KEY.into())],
            service_accounts: vec![(DEMO_CLIENT_ID.into(), DEMO_CLIENT_SECRET.into())],
            nonce_lifetime: Duration::from_secs(300),
            token_lifetime: Duration::from_secs(3600),
            rate_limit: RateLimit::default(),
            audit_log_bytes: 4 << 20,
            audit_window: crate::audit::AuditWindow::default(),
            audit_log_compression: 1,
            faults: Faults::default(),
            semantics: WindowSemantics::default(),
        }
    }
}

/// One reading of the access-history time window (`start`, `end`) and of which matching
/// entries a page capped at `nLogs` holds. Atlas does not document these; the default is:
/// both bounds inclusive, compared with each entry's millisecond time, the newest `nLogs`
/// matching entries, newest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WindowSemantics {
    /// Whether an entry at `start` matches (`true`: `>= start`; `false`: `> start`).
    pub start_inclusive: bool,
    /// Whether an entry at `end` matches (`true`: `<= end`; `false`: `< end`).
    pub end_inclusive: bool,
    /// The unit in which entry times are compared with `start` and `end`.
    pub precision: Precision,
    /// Which matching entries a page holds, and in what order.
    pub page: PageOrder,
}

impl Default for WindowSemantics {
    /// Inclusive bounds, millisecond comparison, newest first.
    fn default() -> Self {
        Self {
            start_inclusive: true,
            end_inclusive: true,
            precision: Precision::Millis,
            page: PageOrder::NewestFirst,
        }
    }
}

/// The unit in which entry times are compared with the window's bounds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Precision {
    /// The entry's millisecond time against `start` and `end` as given.
    #[default]
    Millis,
    /// Whole seconds: `ts_ms.div_euclid(1000)` against `start.div_euclid(1000)` and
    /// `end.div_euclid(1000)`, so a window matches every entry of each second it touches
    /// (subject to the inclusive/exclusive rules, applied to those seconds).
    Seconds,
}

/// Which matching entries a page capped at `nLogs` holds, and in what order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PageOrder {
    /// The newest `nLogs` matching entries, newest first.
    #[default]
    NewestFirst,
    /// The newest `nLogs` matching entries in a deterministic scrambled order: sorted by a
    /// hash of each entry's position in the data set, and, when that comes out sorted by
    /// time either way while the page holds at least three entries of two or more times,
    /// with one pair of neighbours of different times swapped. Never monotonic in time
    /// then.
    NewestAnyOrder,
    /// The oldest `nLogs` matching entries, oldest first: the exact reverse of the whole
    /// match in `NewestFirst` order, cut after `nLogs`.
    OldestFirst,
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
    /// How long Atlas takes to answer a query (an access-history call, a download, a
    /// listing): the answer is built meanwhile and sent when this, and `round_trip`, are
    /// over. A 401 and the OAuth endpoints run no query and take `round_trip` only.
    pub latency: Duration,
    /// The network's round trip, added to every answer: queries, 401 challenges, tokens.
    pub round_trip: Duration,
    /// Abort the connection after this many body bytes.
    pub close_after_bytes: Option<u64>,
    /// With `close_after_bytes`: abort only the bodies of this many of the next answers
    /// (0: every answer's).
    pub close_next: u32,
    /// End audit-log bodies cleanly after this many bytes (an invalid, truncated gzip).
    pub truncate_gzip_after: Option<u64>,
    /// Projects whose calls Atlas answers 403, as if the credentials had lost access.
    pub forbidden_groups: Vec<String>,
    /// Entries Atlas records late: those of this time range (epoch ms, inclusive) with an
    /// even connection number are not served while set. The ground truth holds them.
    pub late: Option<(i64, i64)>,
}
