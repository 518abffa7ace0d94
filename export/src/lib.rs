//! Every access-log entry of a window, exactly once, as Atlas sent it.
//!
//! Atlas returns at most 20,000 entries per access-history call and has no paging;
//! [`AccessLogExport`] lists a window of any size exactly (see [`window`] for how, whatever
//! Atlas's undocumented reading of the window), yields each entry with the exact JSON
//! object Atlas sent ([`AccessLogEntry::raw_json`]), and ends with a [`Checkpoint`] from
//! which the next run continues. An export owns what it needs and is `Send + 'static`:
//! spawn it, or run several side by side. [`list_projects`] and [`list_clusters`] find what
//! there is to export, across an organisation. [`AuditLogExport`] does the same for a stream
//! processing workspace's audit log: run after run, each line once.
//!
//! ```no_run
//! use atlas_log_export::{AccessLogExport, Checkpoint, Target};
//! use futures::TryStreamExt;
//!
//! # async fn run(client: atlas_client::Client) -> Result<(), Box<dyn std::error::Error>> {
//! let now = chrono::Utc::now().timestamp_millis();
//! let mut export = AccessLogExport::builder(&client, "32b6e34b3d91647abb20e7b8", Target::Cluster("Cluster0".into()))
//!     .start(now - 7 * 86_400_000)
//!     .end(now)
//!     .build()?;
//! while let Some(entry) = export.next_entry().await? {
//!     println!("{}", entry.raw_json()); // every field, nulls included
//! }
//! let checkpoint = export.checkpoint().expect("the window is done");
//! std::fs::write("checkpoint.json", checkpoint.to_json())?;
//!
//! // Next time: everything after the checkpoint, up to now.
//! let checkpoint = Checkpoint::from_json(&std::fs::read_to_string("checkpoint.json")?)?;
//! let later = chrono::Utc::now().timestamp_millis();
//! let export = AccessLogExport::resume_builder(&client, &checkpoint).end(later).build()?;
//! let entries: Vec<_> = export.into_stream().try_collect().await?;
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

use std::fmt;

use serde::{Deserialize, Serialize};

mod audit;
mod checkpoint;
mod discover;
mod entry;
mod export;
mod pages;
pub mod window;

pub use audit::{
    AUDIT_CHECKPOINT_VERSION, AuditBuildError, AuditCheckpoint, AuditLogExport,
    AuditLogExportBuilder, AuditReport,
};
pub use checkpoint::{
    Checkpoint, CheckpointError, CheckpointFormat, Delivery, StateFile, StateFileError,
};
pub use discover::{Project, Projects, list_clusters, list_projects, list_workspaces};
pub use entry::AccessLogEntry;
pub use export::{
    AccessLogExport, AccessLogExportBuilder, BuildError, DEFAULT_CONCURRENCY, Progress,
};
pub use pages::{Filters, entries_of_page, fetch_entries};
pub use window::Paging;

/// The most entries one access-history answer holds (Atlas's cap, and the most `nLogs`
/// takes).
pub const PAGE: u32 = 20_000;

/// The earliest `start` Atlas accepts: 2008-01-01.
pub const EARLIEST_MS: i64 = 1_199_145_600_000;

/// The most entries a checkpoint remembers for `overlap`: bounds its size (about 30 bytes
/// an entry, so under 130 KB) whatever happened in the overlap, a burst included.
pub const MAX_REMEMBERED: usize = 4_096;

/// The version of the checkpoint format this crate writes and reads.
pub const CHECKPOINT_VERSION: u32 = 1;

/// What an export lists: a cluster, or one process by hostname.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub enum Target {
    /// A cluster, by name.
    Cluster(String),
    /// A `mongod` or `mongos` process, by hostname (and port).
    Hostname(String),
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Cluster(name) => write!(f, "cluster {name}"),
            Self::Hostname(host) => write!(f, "host {host}"),
        }
    }
}

/// A count as messages show it, thousands separated: `20000` as `20,000`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_shown_with_thousands_separated() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(20_000), "20,000");
        assert_eq!(thousands(1_000_000), "1,000,000");
    }
}
