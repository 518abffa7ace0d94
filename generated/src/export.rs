// Hand-written: the exact export of this spec's access-history operations, on the runtime's
// spec-agnostic window engine (`atlas_runtime::window`).

//! Every access-log entry of a window, exactly once, as Atlas sent it.
//!
//! Atlas returns at most 20,000 entries per access-history call and has no paging;
//! [`AccessLogExport`] lists a window of any size exactly (see [`atlas_runtime::window`] for
//! how, whatever Atlas's undocumented reading of the window), yields each entry with the
//! exact JSON object Atlas sent ([`AccessLogEntry::raw_json`]), and ends with a
//! [`Checkpoint`] from which the next run continues.
//!
//! ```no_run
//! use atlas_client::export::{AccessLogExport, Target};
//! use futures::TryStreamExt;
//!
//! # async fn run(client: atlas_client::Client) -> Result<(), atlas_client::AtlasError> {
//! let now = chrono::Utc::now().timestamp_millis();
//! let mut export = AccessLogExport::new(
//!     &client,
//!     "32b6e34b3d91647abb20e7b8",
//!     Target::Cluster("Cluster0".into()),
//!     now - 7 * 86_400_000,
//!     now,
//! );
//! while let Some(entry) = export.next_entry().await? {
//!     println!("{}", entry.raw_json()); // every field, nulls included
//! }
//! let checkpoint = export.checkpoint().expect("the window is done");
//! std::fs::write("checkpoint.json", checkpoint.to_json())?;
//!
//! // Next time: everything after the checkpoint, up to now.
//! let text = std::fs::read_to_string("checkpoint.json")?;
//! let checkpoint = atlas_client::export::Checkpoint::from_json(&text)?;
//! let later = chrono::Utc::now().timestamp_millis();
//! let export = AccessLogExport::resume(&client, &checkpoint, later)?;
//! let entries: Vec<_> = export.into_stream().try_collect().await?;
//! # Ok(()) }
//! ```

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;

use atlas_runtime::AtlasError;
use atlas_runtime::window::{Cost, Pages, Paging, Parallel, Query, Timed};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::Client;
use crate::types::MongoDbAccessLogs;

/// The most entries one access-history answer holds.
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

/// One access-log entry: the exact JSON object Atlas sent, its time, and its typed fields
/// on demand. The object's text is a slice of the answer's body, not a copy.
#[derive(Clone)]
pub struct AccessLogEntry {
    raw: bytes::Bytes,
    time_ms: i64,
    fingerprint: std::sync::OnceLock<u64>,
}

/// The two fields an entry's time comes from.
#[derive(Deserialize)]
struct Times<'a> {
    #[serde(borrow, rename = "logLine", default)]
    log_line: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow, default)]
    timestamp: Option<std::borrow::Cow<'a, str>>,
}

impl AccessLogEntry {
    /// Reads one entry as Atlas sent it.
    ///
    /// # Errors
    ///
    /// The object is not an access-log entry, or has no readable time (its log line's
    /// `t.$date`, else `timestamp`).
    pub fn from_raw(raw: Box<RawValue>) -> Result<Self, AtlasError> {
        let time_ms = Self::time_of(raw.get())?;
        let text: Box<str> = raw.into();
        Ok(Self::new(
            bytes::Bytes::from(text.into_boxed_bytes()),
            time_ms,
        ))
    }

    /// An entry from the text of its JSON object, `raw` being the same text as bytes: an
    /// object with a readable time; the typed fields are decoded when asked for
    /// ([`AccessLogEntry::fields`]).
    fn from_text(raw: bytes::Bytes, text: &str) -> Result<Self, AtlasError> {
        Ok(Self::new(raw, Self::time_of(text)?))
    }

    /// The time of an entry's JSON object: its log line's `t.$date`, else `timestamp`.
    fn time_of(text: &str) -> Result<i64, AtlasError> {
        let times: Times<'_> = atlas_runtime::strict::from_str(text)
            .map_err(|e| AtlasError::decode(format!("an access-log entry does not decode: {e}")))?;
        let time = atlas_runtime::entry_time(times.log_line.as_deref(), times.timestamp.as_deref())
            .ok_or_else(|| {
                AtlasError::decode(format!(
                    "an access-log entry has no readable time (logLine or timestamp): {}",
                    truncate(text, 200)
                ))
            })?;
        Ok(time.timestamp_millis())
    }

    /// An entry of UTF-8 bytes and their time.
    fn new(raw: bytes::Bytes, time_ms: i64) -> Self {
        Self {
            raw,
            time_ms,
            fingerprint: std::sync::OnceLock::new(),
        }
    }

    /// The JSON object exactly as Atlas sent it: every field, `null`s and fields this
    /// crate's types do not know included.
    pub fn raw_json(&self) -> &str {
        // Checked to be UTF-8 when the entry was made.
        std::str::from_utf8(&self.raw).unwrap_or_default()
    }

    /// The same object as bytes (UTF-8), for writing out without checking the text again.
    pub fn raw_bytes(&self) -> &[u8] {
        &self.raw
    }

    /// The typed fields, decoded from the object.
    ///
    /// # Errors
    ///
    /// A field has a type the spec does not allow.
    pub fn fields(&self) -> Result<MongoDbAccessLogs, AtlasError> {
        atlas_runtime::strict::from_slice(&self.raw)
            .map_err(|e| AtlasError::decode(format!("an access-log entry does not decode: {e}")))
    }

    /// When the attempt happened, epoch milliseconds.
    pub fn time_ms(&self) -> i64 {
        self.time_ms
    }

    /// A fingerprint of the object's content (64-bit FNV-1a of its canonical JSON: keys
    /// sorted, no spaces), the same for the same entry in any answer and with any version
    /// of this crate's types.
    pub fn fingerprint(&self) -> u64 {
        *self.fingerprint.get_or_init(|| {
            // The raw value is JSON by construction; a failure cannot happen and would only
            // make every such entry look alike.
            serde_json::from_slice(&self.raw)
                .map(|value| fingerprint(&value))
                .unwrap_or_default()
        })
    }
}

impl fmt::Debug for AccessLogEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessLogEntry")
            .field("time_ms", &self.time_ms)
            .field("raw", &self.raw_json())
            .finish()
    }
}

impl Timed for AccessLogEntry {
    fn time_ms(&self) -> i64 {
        self.time_ms
    }
    fn fingerprint(&self) -> u64 {
        AccessLogEntry::fingerprint(self)
    }
}

fn truncate(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((i, _)) => &text[..i],
        None => text,
    }
}

/// 64-bit FNV-1a of the canonical form of a JSON value: object keys sorted, no spaces.
/// Written out here because the form must not depend on `serde_json`'s map type, which a
/// cargo feature elsewhere in a build can switch to insertion order.
fn fingerprint(value: &serde_json::Value) -> u64 {
    struct Fnv(u64);
    impl Fnv {
        fn write(&mut self, bytes: &[u8]) {
            for byte in bytes {
                self.0 ^= u64::from(*byte);
                self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
            }
        }
    }
    fn walk(value: &serde_json::Value, hash: &mut Fnv) {
        match value {
            serde_json::Value::Object(map) => {
                hash.write(b"{");
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                for (i, key) in keys.into_iter().enumerate() {
                    if i > 0 {
                        hash.write(b",");
                    }
                    hash.write(serde_json::Value::from(key.as_str()).to_string().as_bytes());
                    hash.write(b":");
                    walk(&map[key], hash);
                }
                hash.write(b"}");
            }
            serde_json::Value::Array(items) => {
                hash.write(b"[");
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        hash.write(b",");
                    }
                    walk(item, hash);
                }
                hash.write(b"]");
            }
            other => hash.write(other.to_string().as_bytes()),
        }
    }
    let mut hash = Fnv(0xcbf2_9ce4_8422_2325);
    walk(value, &mut hash);
    hash.0
}

/// The access-history calls of one export.
#[derive(Clone)]
struct AccessLogPages<'c> {
    client: &'c Client,
    page: u32,
    group_id: String,
    target: Target,
    auth_result: Option<bool>,
    ip_address: Option<String>,
}

/// The filters of one access-history call.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filters {
    /// `start` and `end`, epoch milliseconds, inclusive as Atlas reads them.
    pub window: Option<(i64, i64)>,
    /// Only successes (`true`) or only failures.
    pub auth_result: Option<bool>,
    /// Only attempts from this client address.
    pub ip_address: Option<String>,
    /// At most this many entries (`nLogs`; Atlas's default and maximum is 20,000).
    pub n_logs: Option<u32>,
}

/// Applies filters to an access-history builder and sends it for the body as sent. The
/// by-cluster and by-host builders are two generated types with the same setters.
macro_rules! send {
    ($call:expr, $filters:expr) => {{
        let filters: &Filters = $filters;
        let mut call = $call;
        if let Some((start, end)) = filters.window {
            call = call.start(start).end(end);
        }
        if let Some(ok) = filters.auth_result {
            call = call.auth_result(ok);
        }
        if let Some(ip) = &filters.ip_address {
            call = call.ip_address(ip.as_str());
        }
        if let Some(n) = filters.n_logs {
            call = call.n_logs(i64::from(n));
        }
        // The body as sent, undecoded: the entries are slices of it.
        call.send_raw()
            .await
            .map(|page| page.into_inner())
            .map_err(AtlasError::from)
    }};
}

/// One access-history call: the entries Atlas returns, each as it sent it.
///
/// # Errors
///
/// The call failed, or its answer does not decode into entries with readable times.
pub async fn fetch_entries(
    client: &Client,
    group_id: &str,
    target: &Target,
    filters: &Filters,
) -> Result<Vec<AccessLogEntry>, AtlasError> {
    let operation = match target {
        Target::Cluster(_) => "getGroupDbAccessHistoryCluster",
        Target::Hostname(_) => "getGroupDbAccessHistoryProcess",
    };
    let body = match target {
        Target::Cluster(name) => send!(
            client
                .get_access_history_cluster()
                .group_id(group_id)
                .cluster_name(name.as_str()),
            filters
        ),
        Target::Hostname(host) => send!(
            client
                .get_access_history_process()
                .group_id(group_id)
                .hostname(host.as_str()),
            filters
        ),
    };
    let body = body?;
    // A full answer is about 12 MB of JSON: decoded on a blocking thread, so that answers
    // arriving together are decoded at once on several cores, and the calls under way
    // keep being served meanwhile.
    tokio::task::spawn_blocking(move || entries_of_page(&body))
        .await
        .map_err(|e| AtlasError::decode(format!("decoding the page stopped: {e}")))?
        .map_err(|e| AtlasError::decode(format!("Atlas's answer to {operation}: {e}")))
}

/// The entries of an access-history answer's body, each a slice of `body` (no copy), read
/// as strictly as the typed `send()` reads it: an object whose `accessLogs` is an array of
/// objects, each with a readable time. For a body received some other way than through
/// [`fetch_entries`] (from a proxy, a file, a test).
///
/// # Errors
///
/// The body is not such an object.
pub fn entries_of_page(body: &bytes::Bytes) -> Result<Vec<AccessLogEntry>, AtlasError> {
    #[derive(Deserialize)]
    struct RawList<'a> {
        #[serde(borrow, rename = "accessLogs")]
        access_logs: Vec<&'a RawValue>,
    }
    let raw: RawList<'_> = atlas_runtime::strict::from_slice(body)
        .map_err(|e| AtlasError::decode(format!("the page does not decode: {e}")))?;
    raw.access_logs
        .into_iter()
        .map(|raw| {
            // A slice of the body: the object's text as sent (checked to be UTF-8 by the
            // parse above), without a copy.
            let text = raw.get();
            AccessLogEntry::from_text(body.slice_ref(text.as_bytes()), text)
        })
        .collect()
}

impl Pages for AccessLogPages<'_> {
    type Entry = AccessLogEntry;
    type Part = bool;

    fn limit(&self) -> u32 {
        self.page
    }

    fn earliest(&self) -> i64 {
        EARLIEST_MS
    }

    fn parts(&self) -> Vec<bool> {
        match self.auth_result {
            Some(only) => vec![only],
            None => vec![true, false],
        }
    }

    async fn fetch(&self, query: Query<bool>) -> Result<Vec<AccessLogEntry>, AtlasError> {
        let filters = Filters {
            window: Some((query.start, query.end)),
            auth_result: query.part.or(self.auth_result),
            ip_address: self.ip_address.clone(),
            n_logs: Some(query.limit),
        };
        fetch_entries(self.client, &self.group_id, &self.target, &filters).await
    }
}

/// Where an incremental export stands: what it lists, and up to when it has listed it.
/// Read strictly: every field is required, unknown fields and other versions are refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Checkpoint {
    /// The checkpoint format, [`CHECKPOINT_VERSION`].
    pub version: u32,
    /// The project.
    pub group_id: String,
    /// The cluster or host.
    pub target: Target,
    /// The `authResult` filter of every run, if any.
    #[serde(deserialize_with = "required")]
    pub auth_result: Option<bool>,
    /// The `ipAddress` filter of every run, if any.
    #[serde(deserialize_with = "required")]
    pub ip_address: Option<String>,
    /// Every entry up to and including this millisecond has been exported.
    pub through_ms: i64,
    /// How far back from `through_ms` the next run reads again, for entries Atlas records
    /// late; 0 for none.
    pub overlap_ms: i64,
    /// The entries already exported from `remembered_from_ms` to `through_ms`, by
    /// millisecond: fingerprints (16 hex digits). A run re-reads from `remembered_from_ms`
    /// and emits only what is not here.
    #[serde(deserialize_with = "remembered_as_written")]
    pub remembered: BTreeMap<i64, Vec<String>>,
    /// Where the remembered entries start: `through_ms + 1` when none are.
    pub remembered_from_ms: i64,
}

/// Reads an `Option` field that must be present (as `null` or a value): serde otherwise
/// takes a missing one for `None`. For `#[serde(deserialize_with = ...)]` in files that
/// embed a [`Checkpoint`] and are read as strictly.
///
/// # Errors
///
/// The field's value is neither `null` nor a `T`.
pub fn required<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer)
}

/// Reads [`Checkpoint::remembered`], its milliseconds written as this crate writes them
/// (plain decimal: no sign but `-`, no leading zero, no space).
fn remembered_as_written<'de, D>(deserializer: D) -> Result<BTreeMap<i64, Vec<String>>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    BTreeMap::<String, Vec<String>>::deserialize(deserializer)?
        .into_iter()
        .map(|(key, fingerprints)| match key.parse::<i64>() {
            Ok(ms) if ms.to_string() == key => Ok((ms, fingerprints)),
            _ => Err(serde::de::Error::custom(format_args!(
                "the remembered millisecond {key:?} is not written as a checkpoint writes it"
            ))),
        })
        .collect()
}

impl Checkpoint {
    /// The checkpoint as JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
    }

    /// Reads a checkpoint, strictly.
    ///
    /// # Errors
    ///
    /// The text is not a checkpoint of this version: damaged, truncated, another format or
    /// version, a field missing or unknown.
    pub fn from_json(text: &str) -> Result<Self, CheckpointError> {
        atlas_runtime::strict::unique_keys(text.as_bytes()).map_err(CheckpointError::Malformed)?;
        let checkpoint: Self =
            atlas_runtime::strict::from_str(text).map_err(CheckpointError::Malformed)?;
        checkpoint.validate()?;
        Ok(checkpoint)
    }

    /// Checks the rules a checkpoint's fields must follow together, for a checkpoint read
    /// some other way than [`Checkpoint::from_json`] (embedded in a file of its own): this
    /// version; fingerprints exactly as written ([`Checkpoint::remembered`]), each once per
    /// millisecond; the remembered milliseconds within `[remembered_from_ms, through_ms]`.
    ///
    /// # Errors
    ///
    /// Another version, or fields that contradict each other.
    pub fn validate(&self) -> Result<(), CheckpointError> {
        let checkpoint = self;
        if checkpoint.version != CHECKPOINT_VERSION {
            return Err(CheckpointError::Version(checkpoint.version));
        }
        let fingerprints_ok = checkpoint.remembered.values().all(|fps| {
            fps.iter().all(|f| is_fingerprint(f))
                && fps.iter().collect::<BTreeSet<_>>().len() == fps.len()
        });
        if !fingerprints_ok
            || checkpoint.remembered_from_ms > checkpoint.through_ms.saturating_add(1)
            || checkpoint.overlap_ms < 0
            || checkpoint
                .remembered
                .keys()
                .any(|t| *t < checkpoint.remembered_from_ms || *t > checkpoint.through_ms)
        {
            return Err(CheckpointError::Inconsistent);
        }
        Ok(())
    }

    fn remembered_set(&self) -> BTreeSet<(i64, u64)> {
        self.remembered
            .iter()
            .flat_map(|(t, fps)| {
                fps.iter()
                    .filter_map(move |f| u64::from_str_radix(f, 16).ok().map(|f| (*t, f)))
            })
            .collect()
    }
}

/// The file that makes incremental exports deliver every entry exactly once across runs
/// killed at any instant: the [`Checkpoint`], and, between the two steps of a delivery,
/// the finished output still under its temporary name. A run completes a recorded
/// delivery (renames [`Delivery::temp`] over [`Delivery::out`]) before anything else;
/// see `atlas-logs`'s delivery protocol in the README.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StateFile {
    /// Where the export stands.
    pub checkpoint: Checkpoint,
    /// A finished output not yet renamed into place.
    #[serde(deserialize_with = "required")]
    pub delivery: Option<Delivery>,
}

/// A finished output under its temporary name, and where it goes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Delivery {
    /// The temporary file, as [`atlas_runtime::AtomicFile::prepare`] names it.
    pub temp: std::path::PathBuf,
    /// The output.
    pub out: std::path::PathBuf,
}

impl StateFile {
    /// The state file as JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
    }

    /// Reads a state file exactly as written: no key twice, every object an object, the
    /// checkpoint's rules ([`Checkpoint::validate`]), and a delivery record only for a
    /// finished temporary file of ours beside its output
    /// ([`atlas_runtime::check_delivery`]), so that acting on it can never move a file
    /// that is not ours.
    ///
    /// # Errors
    ///
    /// Any of these does not hold.
    pub fn from_json(text: &str) -> Result<Self, StateFileError> {
        atlas_runtime::strict::unique_keys(text.as_bytes()).map_err(StateFileError::Malformed)?;
        let state: Self =
            atlas_runtime::strict::from_str(text).map_err(StateFileError::Malformed)?;
        state.checkpoint.validate()?;
        if let Some(delivery) = &state.delivery {
            atlas_runtime::check_delivery(&delivery.temp, &delivery.out)
                .map_err(StateFileError::Delivery)?;
        }
        Ok(state)
    }
}

/// Why a state file cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StateFileError {
    /// Not a state file: damaged, truncated, a key twice, a field missing or unknown.
    #[error("it is not a checkpoint of this program (damaged, truncated, or another format)")]
    Malformed(#[source] serde_json::Error),
    /// Its checkpoint cannot be used.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// Its delivery record names something other than a finished file of ours.
    #[error("its delivery record cannot be trusted: {0}")]
    Delivery(#[source] atlas_runtime::NotOurs),
}

/// A fingerprint as a checkpoint writes it: 16 lowercase hexadecimal digits, no sign.
fn is_fingerprint(text: &str) -> bool {
    text.len() == 16 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// A checkpoint that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointError {
    /// Not a checkpoint: damaged, truncated, a field missing or unknown.
    #[error("it is not a checkpoint of this program")]
    Malformed(#[source] serde_json::Error),
    /// A checkpoint of another version.
    #[error("it is a checkpoint of version {0}; this program reads version {CHECKPOINT_VERSION}")]
    Version(u32),
    /// Its fields contradict each other.
    #[error("its fields contradict each other")]
    Inconsistent,
    /// It belongs to another export.
    #[error("it belongs to the export of {what}, not this one")]
    Mismatch {
        /// What the checkpoint exports.
        what: String,
    },
    /// The window asked for ends before the checkpoint.
    #[error("the window ends at {end_ms}, before the checkpoint ({through_ms})")]
    Behind {
        /// The window's end.
        end_ms: i64,
        /// The checkpoint's `through_ms`.
        through_ms: i64,
    },
}

impl From<CheckpointError> for AtlasError {
    fn from(error: CheckpointError) -> Self {
        AtlasError::invalid(error)
    }
}

/// How many access-history calls an export makes at once, unless told otherwise.
pub const DEFAULT_CONCURRENCY: usize = 3;

/// The export of one window of one target's access logs: each entry exactly once, in the
/// order the parallel sub-windows answer (within one answer, newest first).
pub struct AccessLogExport<'c> {
    window: Parallel<'c, AccessLogPages<'c>>,
    start_ms: i64,
    concurrency: usize,
    end_ms: i64,
    overlap_ms: i64,
    /// Entries exported by earlier runs that this run reads again.
    skip: BTreeSet<(i64, u64)>,
    /// This run's entries within the overlap of its end, for the next checkpoint.
    recent: BTreeMap<i64, Vec<u64>>,
    queue: VecDeque<AccessLogEntry>,
    emitted: u64,
    /// The window has given its last batch.
    finished: bool,
    /// The listing failed while earlier entries were still being handed out.
    failed: Option<atlas_runtime::window::WindowError>,
}

impl<'c> AccessLogExport<'c> {
    /// The export of `[start_ms, end_ms]` (epoch milliseconds, inclusive) of `target`.
    pub fn new(
        client: &'c Client,
        group_id: impl Into<String>,
        target: Target,
        start_ms: i64,
        end_ms: i64,
    ) -> Self {
        Self::with_filters(client, group_id, target, None, None, start_ms, end_ms)
    }

    /// The same, keeping only successes or failures (`auth_result`) and one client address
    /// (`ip_address`).
    pub fn with_filters(
        client: &'c Client,
        group_id: impl Into<String>,
        target: Target,
        auth_result: Option<bool>,
        ip_address: Option<String>,
        start_ms: i64,
        end_ms: i64,
    ) -> Self {
        let pages = AccessLogPages {
            client,
            page: PAGE,
            group_id: group_id.into(),
            target,
            auth_result,
            ip_address,
        };
        Self {
            window: Parallel::new(
                pages,
                start_ms.max(EARLIEST_MS),
                end_ms,
                DEFAULT_CONCURRENCY,
            ),
            start_ms: start_ms.max(EARLIEST_MS),
            concurrency: DEFAULT_CONCURRENCY,
            end_ms,
            overlap_ms: 0,
            skip: BTreeSet::new(),
            recent: BTreeMap::new(),
            queue: VecDeque::new(),
            emitted: 0,
            finished: false,
            failed: None,
        }
    }

    /// Continues from a checkpoint up to `end_ms`: re-reads what it remembers (its
    /// overlap) and emits only entries not exported before.
    ///
    /// # Errors
    ///
    /// The window ends before the checkpoint.
    pub fn resume(
        client: &'c Client,
        checkpoint: &Checkpoint,
        end_ms: i64,
    ) -> Result<Self, CheckpointError> {
        if end_ms < checkpoint.through_ms {
            return Err(CheckpointError::Behind {
                end_ms,
                through_ms: checkpoint.through_ms,
            });
        }
        let mut export = Self::with_filters(
            client,
            checkpoint.group_id.clone(),
            checkpoint.target.clone(),
            checkpoint.auth_result,
            checkpoint.ip_address.clone(),
            checkpoint.remembered_from_ms,
            end_ms,
        );
        export.skip = checkpoint.remembered_set();
        export.overlap_ms = checkpoint.overlap_ms;
        Ok(export)
    }

    /// Asks for at most `entries` per call (1 to 20,000; default 20,000): more, lighter
    /// requests. The result is the same.
    pub fn page_size(mut self, entries: u32) -> Self {
        let mut pages = self.window.source().clone();
        pages.page = entries.clamp(1, PAGE);
        self.window = Parallel::new(pages, self.start_ms, self.end_ms, self.concurrency);
        self
    }

    /// Makes up to `calls` access-history calls at once (default [`DEFAULT_CONCURRENCY`]; 1:
    /// one after another). Atlas's rate limit is shared by a project's calls: each call that
    /// meets it waits and tries again (see [`atlas_runtime::RetryPolicy`]).
    pub fn concurrency(mut self, calls: usize) -> Self {
        self.concurrency = calls.max(1);
        let pages = self.window.source().clone();
        self.window = Parallel::new(pages, self.start_ms, self.end_ms, self.concurrency);
        self
    }

    /// Re-read this much before the end in the next run (from the checkpoint), for entries
    /// Atlas records late. The checkpoint remembers at most [`MAX_REMEMBERED`] entries of it.
    pub fn overlap(mut self, overlap_ms: i64) -> Self {
        self.overlap_ms = overlap_ms.max(0);
        self
    }

    /// The next entry, `None` when the window is done.
    ///
    /// # Errors
    ///
    /// A call failed, or Atlas's answers did not allow an exact result; the export is over.
    pub async fn next_entry(&mut self) -> Result<Option<AccessLogEntry>, AtlasError> {
        loop {
            if let Some(entry) = self.queue.pop_front() {
                // While the caller works through a batch, keep the calls under way moving
                // (and start the next ones): a look at the window every so often.
                if self.queue.len().is_multiple_of(1_024) && !self.finished {
                    use futures::FutureExt;
                    match self.window.next_batch().now_or_never() {
                        None => {}
                        Some(None) => self.finished = true,
                        Some(Some(Ok(batch))) => batch.into_iter().for_each(|e| self.accept(e)),
                        Some(Some(Err(e))) => {
                            self.failed = Some(e);
                            self.finished = true;
                        }
                    }
                }
                return Ok(Some(entry));
            }
            if let Some(e) = self.failed.take() {
                return Err(e.into());
            }
            if self.finished {
                return Ok(None);
            }
            match self.window.next_batch().await {
                None => self.finished = true,
                Some(batch) => {
                    for entry in batch? {
                        self.accept(entry);
                    }
                }
            }
        }
    }

    fn accept(&mut self, entry: AccessLogEntry) {
        // Every entry of the overlap, new or exported before, is remembered for the next run.
        if self.overlap_ms > 0 && entry.time_ms >= self.end_ms.saturating_sub(self.overlap_ms) {
            self.recent
                .entry(entry.time_ms)
                .or_default()
                .push(entry.fingerprint());
        }
        // Only an entry of a millisecond exported before can be one of those entries: its
        // fingerprint is computed for those only.
        let t = entry.time_ms;
        if self.skip.range((t, 0)..=(t, u64::MAX)).next().is_some()
            && self.skip.contains(&(t, entry.fingerprint()))
        {
            return;
        }
        self.emitted += 1;
        self.queue.push_back(entry);
    }

    /// The entries as a stream.
    pub fn into_stream(
        self,
    ) -> impl futures::Stream<Item = Result<AccessLogEntry, AtlasError>> + use<'c> {
        futures::stream::try_unfold(self, |mut export| async move {
            Ok(export.next_entry().await?.map(|entry| (entry, export)))
        })
    }

    /// Entries emitted so far.
    pub fn emitted(&self) -> u64 {
        self.emitted
    }

    /// What the export has cost so far: requests, probes among them.
    pub fn cost(&self) -> Cost {
        self.window.cost()
    }

    /// How Atlas pages full answers, once learnt.
    pub fn paging(&self) -> Option<Paging> {
        self.window.paging()
    }

    /// The window listed, `[start, end]` in epoch milliseconds: for a resumed export, from
    /// where the checkpoint (and any overlap) continues.
    pub fn window(&self) -> (i64, i64) {
        (self.start_ms, self.end_ms)
    }

    /// How much of the window has been listed, from 0 to 1, counted in time: the progress
    /// to show while the export runs.
    pub fn done_fraction(&self) -> f64 {
        self.window.done_fraction()
    }

    /// The checkpoint to continue from, once every entry of the window has been taken.
    pub fn checkpoint(&self) -> Option<Checkpoint> {
        if !self.window.is_done() || !self.queue.is_empty() {
            return None;
        }
        let pages = self.window.source();
        // Remember the newest entries of the overlap, at most MAX_REMEMBERED, whole
        // milliseconds only: the next run re-reads from the oldest one remembered.
        let mut remembered = BTreeMap::new();
        let mut from = self.end_ms.saturating_add(1);
        if self.overlap_ms > 0 {
            // Every entry from the overlap's start on is in `recent`.
            from = self.end_ms.saturating_sub(self.overlap_ms).max(EARLIEST_MS);
            let mut count = 0;
            for (t, fps) in self.recent.iter().rev() {
                if count + fps.len() > MAX_REMEMBERED {
                    // Remember whole milliseconds only, from the newest: the next run reads
                    // again from the oldest one remembered.
                    from = t.saturating_add(1);
                    break;
                }
                count += fps.len();
                let mut hex: Vec<String> = fps.iter().map(|f| format!("{f:016x}")).collect();
                hex.sort();
                hex.dedup();
                remembered.insert(*t, hex);
            }
        }
        Some(Checkpoint {
            version: CHECKPOINT_VERSION,
            group_id: pages.group_id.clone(),
            target: pages.target.clone(),
            auth_result: pages.auth_result,
            ip_address: pages.ip_address.clone(),
            through_ms: self.end_ms,
            overlap_ms: self.overlap_ms,
            remembered,
            remembered_from_ms: from,
        })
    }
}

impl AccessLogExport<'_> {
    /// Checks that `checkpoint` belongs to an export of `target` in `group_id` with these
    /// filters.
    ///
    /// # Errors
    ///
    /// It belongs to another export.
    pub fn check_checkpoint(
        checkpoint: &Checkpoint,
        group_id: &str,
        target: &Target,
        auth_result: Option<bool>,
        ip_address: Option<&str>,
    ) -> Result<(), CheckpointError> {
        if checkpoint.group_id != group_id
            || checkpoint.target != *target
            || checkpoint.auth_result != auth_result
            || checkpoint.ip_address.as_deref() != ip_address
        {
            let filters = match (checkpoint.auth_result, &checkpoint.ip_address) {
                (None, None) => String::new(),
                (ok, ip) => format!(
                    " with{}{}",
                    ok.map(|ok| format!(" authResult={ok}")).unwrap_or_default(),
                    ip.as_deref()
                        .map(|ip| format!(" ipAddress={ip}"))
                        .unwrap_or_default()
                ),
            };
            return Err(CheckpointError::Mismatch {
                what: format!(
                    "{} in project {}{filters}",
                    checkpoint.target, checkpoint.group_id
                ),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_ignore_key_order_and_spacing_but_not_nulls() {
        let a: serde_json::Value =
            serde_json::from_str(r#"{"b":1,"a":null,"c":{"y":[1,2],"x":"s"}}"#).unwrap();
        let b: serde_json::Value =
            serde_json::from_str(r#"{ "c": {"x":"s","y":[1, 2]}, "a": null, "b": 1 }"#).unwrap();
        let c: serde_json::Value =
            serde_json::from_str(r#"{"b":1,"c":{"y":[1,2],"x":"s"}}"#).unwrap();
        assert_eq!(fingerprint(&a), fingerprint(&b));
        assert_ne!(fingerprint(&a), fingerprint(&c));
    }

    fn checkpoint() -> Checkpoint {
        Checkpoint {
            version: 1,
            group_id: "32b6e34b3d91647abb20e7b8".into(),
            target: Target::Cluster("Cluster0".into()),
            auth_result: None,
            ip_address: None,
            through_ms: 1_700_000_000_000,
            overlap_ms: 0,
            remembered: BTreeMap::new(),
            remembered_from_ms: 1_700_000_000_001,
        }
    }

    #[test]
    fn checkpoints_are_read_strictly() {
        let good = checkpoint().to_json();
        assert_eq!(Checkpoint::from_json(&good).unwrap(), checkpoint());
        let value: serde_json::Value = serde_json::from_str(&good).unwrap();
        let object = value.as_object().unwrap();
        // Every field is required: dropping any one is refused, the optional ones too.
        for key in object.keys() {
            let mut damaged = object.clone();
            damaged.remove(key);
            let text = serde_json::Value::Object(damaged).to_string();
            assert!(Checkpoint::from_json(&text).is_err(), "without {key}");
        }
        // A damaged key is an unknown field plus a missing one.
        let renamed = good.replace("\"target\"", "\"targte\"");
        assert!(Checkpoint::from_json(&renamed).is_err());
        for bad in ["", "[]", "{}", "null", &good[..good.len() / 2]] {
            assert!(Checkpoint::from_json(bad).is_err(), "{bad:?}");
        }
        let other_version = good.replace("\"version\": 1", "\"version\": 2");
        assert!(matches!(
            Checkpoint::from_json(&other_version),
            Err(CheckpointError::Version(2))
        ));
        let mut inconsistent = checkpoint();
        inconsistent
            .remembered
            .insert(1_600_000_000_000, vec!["00000000000000ff".into()]);
        assert!(matches!(
            Checkpoint::from_json(&inconsistent.to_json()),
            Err(CheckpointError::Inconsistent)
        ));
    }

    /// A checkpoint is taken exactly as written or not at all: no key twice, no array
    /// for an object, fingerprints as this crate writes them, each once.
    #[test]
    fn damaged_checkpoints_are_refused() {
        let mut remembering = checkpoint();
        remembering.through_ms = 1_700_000_000_005;
        remembering.remembered_from_ms = 1_700_000_000_000;
        remembering.remembered.insert(
            1_700_000_000_002,
            vec!["00000000000000ff".into(), "0123456789abcdef".into()],
        );
        let good = remembering.to_json();
        assert_eq!(Checkpoint::from_json(&good).unwrap(), remembering);
        let twice_key = good.replace(
            "\"overlapMs\": 0,",
            "\"overlapMs\": 0,\n  \"overlapMs\": 0,",
        );
        assert!(twice_key.matches("overlapMs").count() == 2);
        let twice_inner = good.replace(
            "\"1700000000002\": [",
            "\"1700000000002\": [],\n    \"1700000000002\": [",
        );
        assert!(twice_inner.matches("1700000000002").count() == 2);
        let swap = |old: &str, new: &str| {
            assert!(good.contains(old), "{old}");
            good.replace(old, new)
        };
        for bad in [
            twice_key,
            twice_inner,
            swap("{\n    \"cluster\": \"Cluster0\"\n  }", "[\"Cluster0\"]"),
            swap("\"00000000000000ff\"", "\"+0000000000000ff\""),
            swap("\"00000000000000ff\"", "\"00000000000000FF\""),
            swap("\"00000000000000ff\"", "\"00000000000000f\""),
            swap("\"00000000000000ff\"", "\"0123456789abcdef\""),
            swap("\"1700000000002\"", "\"+1700000000002\""),
            swap("\"1700000000002\"", "\"01700000000002\""),
            swap("\"1700000000002\"", "\" 1700000000002\""),
            swap("\"1700000000002\"", "\"1700000000002.0\""),
        ] {
            assert!(Checkpoint::from_json(&bad).is_err(), "{bad}");
        }
    }
}
