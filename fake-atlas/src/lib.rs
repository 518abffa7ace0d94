//! A faithful loopback stand-in for the parts of the MongoDB Atlas Administration API
//! that `atlas-client` speaks: access history (by cluster, by hostname, legacy v1.0),
//! the paginated lists of projects and clusters and stream audit-log downloads, for one
//! project or an organisation of several, with Atlas's authentication,
//! versioning, rate limits and error shapes, plus faults on demand and request accounting
//! for tests.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let atlas = fake_atlas::FakeAtlas::start(fake_atlas::Config::default()).await?;
//! println!("serving {} at {}", atlas.data().group_id, atlas.base_url());
//! let stats = atlas.stats();
//! assert_eq!(stats.requests, 0);
//! # Ok(()) }
//! ```

pub mod audit;
pub mod auth;
pub mod config;
pub mod data;
pub mod faults;
pub mod ratelimit;
pub mod server;
pub mod stats;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

pub use config::{
    Config, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_PRIVATE_KEY, DEMO_PUBLIC_KEY, Faults,
    PageOrder, Precision, RateLimit, WindowSemantics,
};
pub use data::{ClusterEntries, DataConfig, DataSet};
pub use stats::Stats;

use auth::AuthState;
use ratelimit::RateLimiter;
use server::Shared;

/// A running fake Atlas. It stops when dropped.
pub struct FakeAtlas {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl FakeAtlas {
    /// Generates the data and serves it on an ephemeral loopback port.
    pub async fn start(config: Config) -> std::io::Result<Self> {
        Self::start_on(config, SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// Generates the data and serves it on `addr`.
    pub async fn start_on(config: Config, addr: SocketAddr) -> std::io::Result<Self> {
        let projects = (0..config.projects.max(1))
            .map(|k| DataSet::generate_project(&config.data, k))
            .collect();
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            auth: AuthState::new(
                config.api_keys.clone(),
                config.service_accounts.clone(),
                config.nonce_lifetime,
                config.token_lifetime,
            ),
            limiter: RateLimiter::new(config.rate_limit),
            counters: Default::default(),
            faults: Mutex::new(config.faults.clone()),
            projects,
            config,
        });
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let app = server::router(shared.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        Ok(Self {
            addr,
            shared,
            shutdown: Some(tx),
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The data of its first project (of its only one, unless `Config::projects` says
    /// otherwise).
    pub fn data(&self) -> &DataSet {
        &self.shared.projects[0]
    }

    /// The data of every project it serves, in the order `listGroups` lists them.
    pub fn projects(&self) -> &[DataSet] {
        &self.shared.projects
    }

    /// The audit-log lines of a workspace of the first project whose time is in seconds
    /// `start_s` to `end_s`, both included, in the order a download gives them: the ground
    /// truth of audit-log exports.
    pub fn audit_lines(&self, tenant: &str, start_s: i64, end_s: i64) -> Vec<String> {
        let data = self.data();
        let Some(tenant) = data.tenant(tenant) else {
            return Vec::new();
        };
        audit::AuditLog {
            seed: data.config.seed,
            tenant: tenant.clone(),
            processor: None,
            start_s,
            end_s,
            now_ms: data.config.now_ms,
            step_us: audit::AuditLog::step_us(self.shared.config.audit_log_bytes),
            window: audit::AuditWindow::default(),
            level: 0,
        }
        .lines()
    }

    /// What it has answered so far.
    pub fn stats(&self) -> Stats {
        self.shared.counters.snapshot()
    }

    /// Revokes every service-account token handed out so far.
    pub fn revoke_all_tokens(&self) {
        self.shared.auth.revoke_all();
    }

    /// Replaces the faults in force.
    pub fn set_faults(&self, faults: Faults) {
        *self.shared.faults.lock().unwrap() = faults;
    }
}

impl Drop for FakeAtlas {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}
