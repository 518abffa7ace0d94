//! Request accounting, so tests can assert how many round trips a client made.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

/// Counters of what the server answered.
#[derive(Debug, Default)]
pub struct Counters {
    /// Every request, of any kind.
    pub requests: AtomicU64,
    /// Access-history calls by cluster name (v2), authenticated or not.
    pub access_cluster: AtomicU64,
    /// Access-history calls by hostname.
    pub access_process: AtomicU64,
    /// Legacy v1.0 access-history calls.
    pub access_legacy: AtomicU64,
    /// Audit-log downloads.
    pub audit_logs: AtomicU64,
    /// `listClusters` calls (each page is one).
    pub list_clusters: AtomicU64,
    /// `listGroups` and `getOrgGroups` calls (each page is one).
    pub list_projects: AtomicU64,
    /// `listStreamWorkspaces` calls (each page is one).
    pub list_workspaces: AtomicU64,
    /// `POST /api/oauth/token` calls.
    pub token_requests: AtomicU64,
    /// `POST /api/oauth/revoke` calls.
    pub revocations: AtomicU64,
    /// 401 answers (challenges and refusals).
    pub unauthorized: AtomicU64,
    /// 429 answers from the rate limiter.
    pub rate_limited: AtomicU64,
    /// Answers replaced by an injected fault.
    pub faults: AtomicU64,
}

/// A snapshot of the counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    /// Every request, of any kind.
    pub requests: u64,
    /// Access-history calls by cluster name (v2).
    pub access_cluster: u64,
    /// Access-history calls by hostname.
    pub access_process: u64,
    /// Legacy v1.0 access-history calls.
    pub access_legacy: u64,
    /// Audit-log downloads.
    pub audit_logs: u64,
    /// `listClusters` calls (each page is one).
    pub list_clusters: u64,
    /// `listGroups` and `getOrgGroups` calls (each page is one).
    pub list_projects: u64,
    /// `listStreamWorkspaces` calls (each page is one).
    pub list_workspaces: u64,
    /// Token requests.
    pub token_requests: u64,
    /// Token revocations.
    pub revocations: u64,
    /// 401 answers.
    pub unauthorized: u64,
    /// 429 answers from the rate limiter.
    pub rate_limited: u64,
    /// Injected faults.
    pub faults: u64,
}

impl Counters {
    /// Adds one to a counter.
    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// The current values.
    pub fn snapshot(&self) -> Stats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        Stats {
            requests: get(&self.requests),
            access_cluster: get(&self.access_cluster),
            access_process: get(&self.access_process),
            access_legacy: get(&self.access_legacy),
            audit_logs: get(&self.audit_logs),
            list_clusters: get(&self.list_clusters),
            list_projects: get(&self.list_projects),
            list_workspaces: get(&self.list_workspaces),
            token_requests: get(&self.token_requests),
            revocations: get(&self.revocations),
            unauthorized: get(&self.unauthorized),
            rate_limited: get(&self.rate_limited),
            faults: get(&self.faults),
        }
    }
}
