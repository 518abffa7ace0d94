//! [`AccessLogExport`]: one target's window listed by a task of its own, its entries handed
//! out exactly once, and the checkpoint to continue from.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use atlas_client::{AtlasError, Client};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::pages::AccessLogPages;
use crate::window::{Paging, Parallel, Tally, WindowError};
use crate::{
    AccessLogEntry, CHECKPOINT_VERSION, Checkpoint, CheckpointError, EARLIEST_MS, MAX_REMEMBERED,
    PAGE, Target,
};

/// How many access-history calls an export makes at once, unless told otherwise.
pub const DEFAULT_CONCURRENCY: usize = 3;

/// How many answers may wait for the caller (one more is held by the listing while it
/// waits to hand it over): bounds the memory of an export whose caller writes slower than
/// Atlas answers.
const BATCHES_AHEAD: usize = 2;

/// The export of one window of one target's access logs: each entry exactly once, in the
/// order the parallel sub-windows answer (within one answer, newest first).
///
/// It owns what it needs (a clone of the [`Client`], which shares its connections and
/// credentials) and is `Send + 'static`: it can be moved into a spawned task, and several
/// run side by side on a multi-threaded runtime. Its listing runs as a Tokio task of its
/// own from the first call to [`AccessLogExport::next_entry`] (which must run within a
/// Tokio runtime, as every call of the client does), at most three answers ahead of the
/// caller, and stops when the export is dropped. `next_entry` is cancel-safe: dropping its
/// future loses no entry and cannot pass a failed listing for a finished one.
///
/// ```no_run
/// use atlas_log_export::{AccessLogExport, Target};
/// use futures::TryStreamExt;
///
/// # async fn run(client: atlas_client::Client) -> Result<(), Box<dyn std::error::Error>> {
/// // One task per cluster, side by side.
/// let mut tasks = Vec::new();
/// for cluster in ["Cluster0", "Cluster1"] {
///     let export = AccessLogExport::builder(&client, "32b6e34b3d91647abb20e7b8", Target::Cluster(cluster.into()))
///         .start(1_790_000_000_000)
///         .end(1_790_600_000_000)
///         .build()?;
///     tasks.push(tokio::spawn(async move {
///         export.into_stream().try_collect::<Vec<_>>().await
///     }));
/// }
/// for task in tasks {
///     let entries = task.await??;
///     println!("{} entries", entries.len());
/// }
/// # Ok(()) }
/// ```
pub struct AccessLogExport {
    /// The listing, until it is handed to its task.
    window: Option<Parallel<'static, AccessLogPages>>,
    tally: Tally,
    batches: Option<mpsc::Receiver<Result<Vec<AccessLogEntry>, WindowError>>>,
    task: Option<JoinHandle<()>>,
    group_id: String,
    target: Target,
    auth_result: Option<bool>,
    ip_address: Option<String>,
    start_ms: i64,
    end_ms: i64,
    overlap_ms: i64,
    /// Entries exported by earlier runs that this run reads again.
    skip: BTreeSet<(i64, u64)>,
    /// This run's entries within the overlap of its end, for the next checkpoint.
    recent: BTreeMap<i64, Vec<u64>>,
    queue: VecDeque<AccessLogEntry>,
    emitted: u64,
    /// Every batch has been received and the listing's task ended well.
    complete: bool,
    /// The export failed; every later call says so.
    failed: bool,
}

/// Where an export stands: one snapshot of everything it counts.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Progress {
    /// Entries handed out so far by [`AccessLogExport::next_entry`].
    pub emitted: u64,
    /// Access-history calls sent so far, probes included.
    pub requests: u64,
    /// Of those, calls sent only to learn how Atlas pages or reads the window's bounds.
    pub probes: u64,
    /// How Atlas pages full answers, once learnt.
    pub paging: Option<Paging>,
    /// How much of the window has been listed, from 0 to 1, counted in time.
    pub done_fraction: f64,
    /// The window listed, `[start, end]` in epoch milliseconds: for a resumed export, from
    /// where the checkpoint (and any overlap) continues.
    pub window: (i64, i64),
}

/// Why an export could not be built: each names the builder parameter at fault.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// No `end` was given.
    #[error("end: an export needs the end of its window")]
    NoEnd,
    /// Neither `start` nor a checkpoint to resume from was given.
    #[error("start: an export needs the start of its window, or a checkpoint to resume from")]
    NoStart,
    /// Both `start` and a checkpoint were given.
    #[error("start: a resumed export starts where its checkpoint ends; give one or the other")]
    StartAndCheckpoint,
    /// The window ends before it starts.
    #[error("end: the window ends ({end_ms}) before it starts ({start_ms})")]
    Backwards {
        /// The start given.
        start_ms: i64,
        /// The end given.
        end_ms: i64,
    },
    /// The checkpoint given cannot be resumed with these settings.
    #[error("resume_from: {0}")]
    Checkpoint(#[from] CheckpointError),
}

impl From<BuildError> for AtlasError {
    fn from(error: BuildError) -> Self {
        AtlasError::invalid(error)
    }
}

/// The settings of an [`AccessLogExport`], from [`AccessLogExport::builder`].
#[derive(Clone, Debug)]
pub struct AccessLogExportBuilder {
    client: Client,
    group_id: String,
    target: Target,
    auth_result: Option<bool>,
    ip_address: Option<String>,
    start_ms: Option<i64>,
    end_ms: Option<i64>,
    page_size: u32,
    concurrency: usize,
    overlap_ms: Option<i64>,
    resume: Option<Checkpoint>,
}

impl AccessLogExportBuilder {
    /// The start of the window, epoch milliseconds, inclusive; a start before 2008
    /// ([`EARLIEST_MS`], the earliest Atlas accepts) is read as 2008.
    pub fn start(mut self, start_ms: i64) -> Self {
        self.start_ms = Some(start_ms);
        self
    }

    /// The end of the window, epoch milliseconds, inclusive.
    pub fn end(mut self, end_ms: i64) -> Self {
        self.end_ms = Some(end_ms);
        self
    }

    /// Only successes (`true`) or only failures.
    pub fn auth_result(mut self, ok: bool) -> Self {
        self.auth_result = Some(ok);
        self
    }

    /// Only the attempts from this client address.
    pub fn ip_address(mut self, address: impl Into<String>) -> Self {
        self.ip_address = Some(address.into());
        self
    }

    /// At most `entries` per call (1 to 20,000; default 20,000): more, lighter requests. The
    /// result is the same.
    pub fn page_size(mut self, entries: u32) -> Self {
        self.page_size = entries.clamp(1, PAGE);
        self
    }

    /// Up to `calls` access-history calls at once (default [`DEFAULT_CONCURRENCY`]; 1: one
    /// after another). Atlas's rate limit is shared by a project's calls: each call that
    /// meets it waits and tries again (see [`atlas_client::RetryPolicy`]).
    pub fn concurrency(mut self, calls: usize) -> Self {
        self.concurrency = calls.max(1);
        self
    }

    /// Re-read this much before the end in the next run (from the checkpoint), for entries
    /// Atlas records late. The checkpoint remembers at most [`MAX_REMEMBERED`] entries of it,
    /// and only from this run's start on: a run reads again at most what the runs before
    /// it read, so a new or longer overlap grows to its length run by run.
    pub fn overlap(mut self, overlap_ms: i64) -> Self {
        self.overlap_ms = Some(overlap_ms.max(0));
        self
    }

    /// Continue from `checkpoint`: re-read what it remembers (its overlap, or less when
    /// [`overlap`](Self::overlap) is shorter) and hand out only entries not exported before.
    /// The checkpoint's overlap is kept unless [`overlap`](Self::overlap) sets another.
    pub fn resume_from(mut self, checkpoint: Checkpoint) -> Self {
        self.resume = Some(checkpoint);
        self
    }

    /// The export, ready to run.
    ///
    /// # Errors
    ///
    /// A setting is missing or contradicts another, naming the parameter.
    pub fn build(self) -> Result<AccessLogExport, BuildError> {
        let end_ms = self.end_ms.ok_or(BuildError::NoEnd)?;
        let (start_ms, skip, overlap_ms) = match (&self.resume, self.start_ms) {
            (Some(_), Some(_)) => return Err(BuildError::StartAndCheckpoint),
            (None, None) => return Err(BuildError::NoStart),
            (None, Some(start)) => (
                start.max(EARLIEST_MS),
                BTreeSet::new(),
                self.overlap_ms.unwrap_or(0),
            ),
            (Some(checkpoint), None) => {
                checkpoint.check_resume(
                    &self.group_id,
                    &self.target,
                    self.auth_result,
                    self.ip_address.as_deref(),
                    end_ms,
                )?;
                let overlap_ms = self.overlap_ms.unwrap_or(checkpoint.overlap_ms);
                // What the checkpoint remembers is read again, but not further back than
                // this run's overlap: a shorter overlap than the last run's reads less. The
                // entries remembered cover every millisecond from there on.
                let from = checkpoint
                    .remembered_from_ms
                    .max(checkpoint.through_ms.saturating_sub(overlap_ms))
                    .max(EARLIEST_MS);
                (from, checkpoint.remembered_set(), overlap_ms)
            }
        };
        if end_ms < start_ms && self.resume.is_none() {
            return Err(BuildError::Backwards { start_ms, end_ms });
        }
        let pages = AccessLogPages {
            client: self.client,
            page: self.page_size,
            group_id: self.group_id.clone(),
            target: self.target.clone(),
            auth_result: self.auth_result,
            ip_address: self.ip_address.clone(),
        };
        let window = Parallel::new(pages, start_ms, end_ms, self.concurrency);
        Ok(AccessLogExport {
            tally: window.tally(),
            window: Some(window),
            batches: None,
            task: None,
            group_id: self.group_id,
            target: self.target,
            auth_result: self.auth_result,
            ip_address: self.ip_address,
            start_ms,
            end_ms,
            overlap_ms,
            skip,
            recent: BTreeMap::new(),
            queue: VecDeque::new(),
            emitted: 0,
            complete: false,
            failed: false,
        })
    }
}

impl AccessLogExport {
    /// The settings of an export of `target` in project `group_id`, through a clone of
    /// `client` (clones share connections and credentials).
    pub fn builder(
        client: &Client,
        group_id: impl Into<String>,
        target: Target,
    ) -> AccessLogExportBuilder {
        AccessLogExportBuilder {
            client: client.clone(),
            group_id: group_id.into(),
            target,
            auth_result: None,
            ip_address: None,
            start_ms: None,
            end_ms: None,
            page_size: PAGE,
            concurrency: DEFAULT_CONCURRENCY,
            overlap_ms: None,
            resume: None,
        }
    }

    /// The settings of an export continuing from `checkpoint`: its project, target and
    /// filters; give the [`end`](AccessLogExportBuilder::end).
    pub fn resume_builder(client: &Client, checkpoint: &Checkpoint) -> AccessLogExportBuilder {
        let mut builder = Self::builder(client, &checkpoint.group_id, checkpoint.target.clone());
        builder.auth_result = checkpoint.auth_result;
        builder.ip_address = checkpoint.ip_address.clone();
        builder.resume_from(checkpoint.clone())
    }

    /// The next entry, `None` when the window is done.
    ///
    /// # Errors
    ///
    /// A call failed, or Atlas's answers did not allow an exact result; the export is over.
    pub async fn next_entry(&mut self) -> Result<Option<AccessLogEntry>, AtlasError> {
        loop {
            if let Some(entry) = self.queue.pop_front() {
                self.emitted += 1;
                return Ok(Some(entry));
            }
            if self.failed {
                return Err(AtlasError::with_cause(
                    atlas_client::ErrorKind::Incomplete,
                    Failed,
                ));
            }
            if self.complete {
                return Ok(None);
            }
            if self.window.is_some() && tokio::runtime::Handle::try_current().is_err() {
                return Err(AtlasError::with_cause(
                    atlas_client::ErrorKind::InvalidRequest,
                    NoRuntime,
                ));
            }
            let batches = self.start();
            match batches.recv().await {
                Some(Ok(batch)) => {
                    for entry in batch {
                        self.accept(entry);
                    }
                }
                Some(Err(e)) => {
                    self.failed = true;
                    return Err(e.into());
                }
                // The listing's task has ended: well, or by a panic, which must not pass
                // for the end of the window.
                None => {
                    // Awaited in place and only then let go: a caller that drops this
                    // future here finds the task again on its next call.
                    let ended = match self.task.as_mut() {
                        Some(task) => task.await,
                        None => Ok(()),
                    };
                    self.task = None;
                    if let Err(e) = ended {
                        self.failed = true;
                        return Err(AtlasError::with_cause(
                            atlas_client::ErrorKind::Incomplete,
                            e,
                        ));
                    }
                    self.complete = true;
                }
            }
        }
    }

    /// The channel of batches, the listing's task started on the first call.
    fn start(&mut self) -> &mut mpsc::Receiver<Result<Vec<AccessLogEntry>, WindowError>> {
        if let Some(mut window) = self.window.take() {
            let (sender, receiver) = mpsc::channel(BATCHES_AHEAD);
            self.task = Some(tokio::spawn(async move {
                while let Some(batch) = window.next_batch().await {
                    let failed = batch.is_err();
                    // The export was dropped, or the listing failed: nothing more to list.
                    if sender.send(batch).await.is_err() || failed {
                        return;
                    }
                }
            }));
            self.batches = Some(receiver);
        }
        self.batches
            .as_mut()
            .expect("the listing is started before its batches are read")
    }

    fn accept(&mut self, entry: AccessLogEntry) {
        // Every entry of the overlap, new or exported before, is remembered for the next run.
        if self.overlap_ms > 0 && entry.time_ms() >= self.end_ms.saturating_sub(self.overlap_ms) {
            self.recent
                .entry(entry.time_ms())
                .or_default()
                .push(entry.fingerprint());
        }
        // Only an entry of a millisecond exported before can be one of those entries: its
        // fingerprint is computed for those only.
        let t = entry.time_ms();
        if self.skip.range((t, 0)..=(t, u64::MAX)).next().is_some()
            && self.skip.contains(&(t, entry.fingerprint()))
        {
            return;
        }
        self.queue.push_back(entry);
    }

    /// The entries as a stream (`Send + 'static`, like the export).
    pub fn into_stream(
        self,
    ) -> impl futures::Stream<Item = Result<AccessLogEntry, AtlasError>> + Send + 'static {
        futures::stream::try_unfold(self, |mut export| async move {
            Ok(export.next_entry().await?.map(|entry| (entry, export)))
        })
    }

    /// Where the export stands.
    pub fn progress(&self) -> Progress {
        let cost = self.tally.cost();
        Progress {
            emitted: self.emitted,
            requests: cost.requests,
            probes: cost.probes,
            paging: self.tally.paging(),
            done_fraction: self.tally.done_fraction(),
            window: (self.start_ms, self.end_ms),
        }
    }

    /// The checkpoint to continue from, once every entry of the window has been taken.
    pub fn checkpoint(&self) -> Option<Checkpoint> {
        if !self.complete || !self.queue.is_empty() {
            return None;
        }
        // Remember the newest entries of the overlap, at most MAX_REMEMBERED, whole
        // milliseconds only: the next run re-reads from the oldest one remembered.
        let mut remembered = BTreeMap::new();
        let mut from = self.end_ms.saturating_add(1);
        if self.overlap_ms > 0 {
            // Every entry from the overlap's start on is in `recent`, unless the overlap
            // reaches before this run's window: what came before it is not remembered (an
            // empty window remembers nothing), so the next run does not read it again.
            from = self
                .end_ms
                .saturating_sub(self.overlap_ms)
                .max(self.start_ms)
                .max(EARLIEST_MS);
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
            group_id: self.group_id.clone(),
            target: self.target.clone(),
            auth_result: self.auth_result,
            ip_address: self.ip_address.clone(),
            through_ms: self.end_ms,
            overlap_ms: self.overlap_ms,
            remembered,
            remembered_from_ms: from,
        })
    }
}

/// What the export is and where it stands; not the entries it holds.
impl std::fmt::Debug for AccessLogExport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessLogExport")
            .field("group_id", &self.group_id)
            .field("target", &self.target)
            .field("auth_result", &self.auth_result)
            .field("ip_address", &self.ip_address)
            .field("window", &(self.start_ms, self.end_ms))
            .field("overlap_ms", &self.overlap_ms)
            .field("remembered", &self.skip.len())
            .field("emitted", &self.emitted)
            .field("complete", &self.complete)
            .field("failed", &self.failed)
            .finish_non_exhaustive()
    }
}

/// An export asked for more after it failed.
#[derive(Debug, thiserror::Error)]
#[error("the export failed earlier (see that error); it hands out nothing more")]
struct Failed;

/// An export started outside a Tokio runtime.
#[derive(Debug, thiserror::Error)]
#[error("an export runs its listing as a Tokio task: call it within a Tokio runtime")]
struct NoRuntime;

impl Drop for AccessLogExport {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}
