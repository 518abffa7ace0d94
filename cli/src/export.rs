//! Exporting every access-log entry of a window, past Atlas's 20,000-entry cap.
//!
//! Atlas answers with the newest `nLogs` (at most 20,000) entries of a window, newest first,
//! with no paging. A full page's oldest millisecond `t` may hold more entries than the page
//! shows, so the entries strictly newer than `t` are emitted and the next request asks for
//! `[start, t]`: every entry of `t` comes back there, none is lost and none repeats. A full
//! page that holds a single millisecond is split by `authResult`; if a half is still full,
//! more than 20,000 entries share that millisecond and the export stops with an error
//! rather than pretend.
//!
//! With a checkpoint, a run starts at the previous run's newest millisecond and skips the
//! entries of that millisecond it already emitted, so runs every few minutes emit each entry
//! exactly once. The checkpoint moves only after the output is safely in place.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;

use atlas_client::types::MongoDbAccessLogs;
use atlas_client::{AtlasError, AtomicFile, Client};
use serde::{Deserialize, Serialize};

/// Most entries one access-history call returns.
pub const PAGE: usize = 20_000;

/// Which process or cluster to read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Target {
    /// Every process of a cluster.
    Cluster(String),
    /// One process, by hostname.
    Hostname(String),
}

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Atlas refused or failed.
    #[error(transparent)]
    Atlas(AtlasError),
    /// More than 20,000 entries share one millisecond.
    #[error(
        "more than 20,000 entries share the millisecond {at_ms} ({}); Atlas cannot return them all, so the export is incomplete",
        chrono::DateTime::from_timestamp_millis(*at_ms).map(|t| t.to_rfc3339()).unwrap_or_default()
    )]
    Unsplittable { at_ms: i64 },
    /// An entry without a readable time: the window cannot be narrowed safely.
    #[error("an entry has no readable time; the window cannot be narrowed safely")]
    NoTime,
    /// Output or checkpoint could not be written or read.
    #[error("{what}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    /// The checkpoint is not one this program wrote.
    #[error("the checkpoint {} is unreadable", path.display())]
    BadCheckpoint {
        path: std::path::PathBuf,
        #[source]
        source: serde_json::Error,
    },
    /// The checkpoint belongs to another project or target.
    #[error("{0}")]
    CheckpointMismatch(String),
}

impl ExportError {
    /// An I/O failure, saying what was being done.
    pub fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> Self {
        let what = what.into();
        move |source| Self::Io { what, source }
    }
}

/// Where an incremental export stopped.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Checkpoint {
    /// The project.
    pub group_id: String,
    /// The cluster or host.
    pub target: Option<Target>,
    /// The newest millisecond exported.
    pub watermark_ms: Option<i64>,
    /// Fingerprints of the entries of that millisecond already exported.
    pub seen_at_watermark: BTreeSet<String>,
}

impl Checkpoint {
    /// Reads a checkpoint; a missing file is an empty checkpoint.
    pub fn load(path: &Path) -> Result<Self, ExportError> {
        match std::fs::read_to_string(path) {
            Ok(text) => serde_json::from_str(&text).map_err(|source| ExportError::BadCheckpoint {
                path: path.to_path_buf(),
                source,
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(ExportError::io(format!(
                "cannot read the checkpoint {}",
                path.display()
            ))(e)),
        }
    }

    /// Writes the checkpoint atomically.
    pub fn save(&self, path: &Path) -> Result<(), ExportError> {
        let text = serde_json::to_string_pretty(self).expect("a checkpoint serialises");
        atomic_write(path, |out| out.write_all(text.as_bytes()))
    }
}

/// A stable fingerprint of an entry (64-bit FNV-1a of its JSON form).
pub fn fingerprint(entry: &MongoDbAccessLogs) -> String {
    let json = serde_json::to_string(entry).expect("an entry serialises");
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in json.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

/// What an export did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Entries written.
    pub entries: u64,
    /// Access-history requests made.
    pub requests: u64,
    /// The newest millisecond written.
    pub newest_ms: Option<i64>,
}

/// The filters of one access-history call.
#[derive(Clone, Debug, Default)]
pub struct Filters<'a> {
    /// `start` and `end`, epoch milliseconds.
    pub window: Option<(i64, i64)>,
    /// Only successes (`true`) or only failures.
    pub auth_result: Option<bool>,
    /// Only this client address.
    pub ip: Option<&'a str>,
    /// `nLogs`.
    pub limit: Option<i32>,
}

/// Applies filters to an access-history builder and sends it. The by-cluster and by-host
/// builders are two generated types with the same setters.
macro_rules! send_filtered {
    ($call:expr, $filters:expr) => {{
        let filters: &Filters<'_> = $filters;
        let mut call = $call;
        if let Some((start, end)) = filters.window {
            call = call.start(start).end(end);
        }
        if let Some(ok) = filters.auth_result {
            call = call.auth_result(ok);
        }
        if let Some(ip) = filters.ip {
            call = call.ip_address(ip);
        }
        if let Some(limit) = filters.limit {
            call = call.n_logs(limit);
        }
        call.send().await
    }};
}

/// One access-history call for a cluster or a host.
pub async fn fetch(
    client: &Client,
    group_id: &str,
    target: &Target,
    filters: &Filters<'_>,
) -> Result<atlas_client::types::MongoDbAccessLogsList, AtlasError> {
    let result = match target {
        Target::Cluster(name) => {
            send_filtered!(
                client
                    .get_access_history_cluster()
                    .group_id(group_id)
                    .cluster_name(name.as_str()),
                filters
            )
        }
        Target::Hostname(host) => {
            send_filtered!(
                client
                    .get_access_history_process()
                    .group_id(group_id)
                    .hostname(host.as_str()),
                filters
            )
        }
    };
    match result {
        Ok(page) => Ok(page.into_inner()),
        Err(e) => Err(AtlasError::from(e)),
    }
}

/// The access-history calls an export makes.
pub struct Source<'a> {
    pub client: &'a Client,
    pub group_id: &'a str,
    pub target: &'a Target,
}

impl Source<'_> {
    async fn page(
        &self,
        start: i64,
        end: i64,
        auth_result: Option<bool>,
    ) -> Result<Vec<(i64, MongoDbAccessLogs)>, ExportError> {
        let filters = Filters {
            window: Some((start, end)),
            auth_result,
            ip: None,
            limit: Some(PAGE as i32),
        };
        let page = fetch(self.client, self.group_id, self.target, &filters)
            .await
            .map_err(ExportError::Atlas)?;
        let mut entries = page
            .access_logs
            .into_iter()
            .map(|e| {
                e.time()
                    .map(|t| (t.timestamp_millis(), e))
                    .ok_or(ExportError::NoTime)
            })
            .collect::<Result<Vec<_>, _>>()?;
        entries.sort_by_key(|e| std::cmp::Reverse(e.0));
        Ok(entries)
    }
}

/// Exports every entry of `[start, end]` to `out`, newest first, skipping the entries of
/// `skip_at` (a millisecond and fingerprints) already exported. `progress` hears of each page.
pub async fn export(
    source: &Source<'_>,
    start: i64,
    end: i64,
    skip: Option<(i64, &BTreeSet<String>)>,
    out: &mut dyn Write,
    mut progress: impl FnMut(&Report),
) -> Result<(Report, BTreeSet<String>), ExportError> {
    let mut report = Report::default();
    let mut newest_seen = BTreeSet::new();
    let mut upper = end;
    let mut emit = |entry: &MongoDbAccessLogs,
                    ts: i64,
                    report: &mut Report,
                    out: &mut dyn Write|
     -> Result<(), ExportError> {
        if let Some((at, seen)) = skip
            && ts == at
            && seen.contains(&fingerprint(entry))
        {
            return Ok(());
        }
        if report.newest_ms.is_none_or(|n| ts >= n) {
            if report.newest_ms != Some(ts) {
                newest_seen.clear();
            }
            report.newest_ms = Some(ts);
            newest_seen.insert(fingerprint(entry));
        }
        serde_json::to_writer(&mut *out, entry)
            .map_err(|e| ExportError::io("cannot write an entry")(e.into()))?;
        out.write_all(b"\n")
            .map_err(ExportError::io("cannot write an entry"))?;
        report.entries += 1;
        Ok(())
    };
    loop {
        let page = source.page(start, upper, None).await?;
        report.requests += 1;
        if page.len() < PAGE {
            for (ts, entry) in &page {
                emit(entry, *ts, &mut report, out)?;
            }
            progress(&report);
            break;
        }
        let oldest = page.last().map(|(ts, _)| *ts).expect("a full page");
        let newest = page.first().map(|(ts, _)| *ts).expect("a full page");
        if oldest < newest {
            for (ts, entry) in page.iter().take_while(|(ts, _)| *ts > oldest) {
                emit(entry, *ts, &mut report, out)?;
            }
            upper = oldest;
        } else {
            // One millisecond fills the page: split it by outcome.
            for ok in [true, false] {
                let half = source.page(oldest, oldest, Some(ok)).await?;
                report.requests += 1;
                if half.len() >= PAGE {
                    return Err(ExportError::Unsplittable { at_ms: oldest });
                }
                for (ts, entry) in &half {
                    emit(entry, *ts, &mut report, out)?;
                }
            }
            if oldest == start {
                progress(&report);
                break;
            }
            upper = oldest - 1;
        }
        progress(&report);
    }
    Ok((report, newest_seen))
}

/// Writes a file atomically ([`AtomicFile`]): the path holds the old content or the new,
/// never a part.
pub fn atomic_write(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<(), ExportError> {
    let result = (|| {
        let mut file = AtomicFile::create(path)?;
        let mut out = std::io::BufWriter::new(file.file());
        write(&mut out)?;
        out.into_inner().map_err(|e| e.into_error())?;
        file.commit()
    })();
    result.map_err(ExportError::io(format!("cannot write {}", path.display())))
}
