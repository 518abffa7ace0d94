//! Every entry of a time window, exactly once, from an operation that caps its answers at
//! `limit` entries and has no paging (Atlas's access history: 20,000 entries, no cursor).
//!
//! How the operation reads its window is undocumented, so nothing here assumes it. The engine
//! asks for a window a little wider than the one it wants and keeps only the entries inside
//! the wanted one, so that whatever the operation does at the bounds (inclusive, exclusive,
//! whole seconds), an answer holding fewer than `limit` entries holds them all. When an
//! answer is full it learns, with one extra request, whether full answers hold the newest or
//! the oldest entries, keeps the part of the answer that is certainly complete, and narrows
//! the window past it. Only when a single instant holds too many entries to narrow past does
//! it learn, with a few probe requests, how the bounds are read, and then splits that instant
//! by a partition of the entries (for access logs: successes and failures). Whatever does not
//! fit any reading it knows stops the export with an error naming what failed, never with a
//! silent loss or a duplicate.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use futures::StreamExt;
use futures::stream::FuturesUnordered;

use atlas_runtime::{AtlasError, ErrorKind};

/// What the engine needs of an entry.
pub trait Timed {
    /// The entry's time, epoch milliseconds, as the operation filters on it.
    fn time_ms(&self) -> i64;
    /// A fingerprint of the entry's content: equal for the same entry in two answers.
    fn fingerprint(&self) -> u64;
}

/// One call of the capped operation: entries whose time the operation places within
/// `[start, end]` (epoch milliseconds, read the operation's way), at most `limit`, only
/// those of `part` when given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Query<P> {
    /// Start of the window, as sent.
    pub start: i64,
    /// End of the window, as sent.
    pub end: i64,
    /// The most entries an answer may hold.
    pub limit: u32,
    /// Only the entries of this part of the partition.
    pub part: Option<P>,
}

/// A capped operation the engine can list. Its queries run on any thread (the listing is
/// `Send`), so that an export can be spawned.
pub trait Pages: Send + Sync {
    /// One entry.
    type Entry: Timed + Send + Sync;
    /// A value of a partition of the entries (every entry belongs to exactly one part).
    type Part: Clone + Send + Sync;
    /// The most entries one answer holds.
    fn limit(&self) -> u32;
    /// The earliest `start` the operation accepts.
    fn earliest(&self) -> i64;
    /// The parts of the partition used to split an instant holding too many entries.
    fn parts(&self) -> Vec<Self::Part>;
    /// Sends one query.
    fn fetch(
        &self,
        query: Query<Self::Part>,
    ) -> impl Future<Output = Result<Vec<Self::Entry>, AtlasError>> + Send;
}

/// Which entries a full answer holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Paging {
    /// The newest `limit` entries of the window, in any order.
    Newest,
    /// The oldest `limit` entries of the window, in any order.
    Oldest,
}

/// How far beyond the wanted window a query must reach for its answer to cover the wanted
/// window whatever the operation's reading of the bounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Margins {
    before: i64,
    after: i64,
}

/// Covers every reading: inclusive or exclusive bounds, milliseconds or whole seconds.
const WIDE: Margins = Margins {
    before: 1000,
    after: 1000,
};

/// Why a window could not be listed exactly.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WindowError {
    /// The operation failed.
    #[error(transparent)]
    Call(#[from] AtlasError),
    /// More entries share one instant, in one part of the partition, than one answer holds:
    /// they cannot all be had.
    #[error(
        "more than {} entries share the millisecond {at_ms} ({}) even split by outcome; Atlas cannot return them all, so the export stops rather than return some of them",
        crate::thousands(u64::from(*limit)),
        chrono::DateTime::from_timestamp_millis(*at_ms).map(|t| t.to_rfc3339()).unwrap_or_default()
    )]
    Unsplittable {
        /// The instant.
        at_ms: i64,
        /// The cap of one answer.
        limit: u32,
    },
    /// The operation answered in a way no known reading of its window explains; the export
    /// stops rather than guess.
    #[error(
        "the answers contradict the assumption that {assumption}; stopping rather than risk losing or repeating entries"
    )]
    Assumption {
        /// What was assumed.
        assumption: String,
    },
}

impl From<WindowError> for AtlasError {
    fn from(error: WindowError) -> Self {
        match error {
            WindowError::Call(e) => e,
            other => AtlasError::with_cause(ErrorKind::Incomplete, other),
        }
    }
}

/// What listing a window cost.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cost {
    /// Queries sent, probes included.
    pub requests: u64,
    /// Of those, queries sent only to learn how the operation pages or reads its bounds.
    pub probes: u64,
}

/// Lists `[start, end]` (epoch milliseconds, inclusive) of a capped operation, batch by
/// batch. Each entry of the window comes out exactly once. Batches come newest first when
/// full answers hold the newest entries (Atlas's behaviour), oldest first otherwise.
pub struct Window<S: Pages> {
    source: S,
    lo: i64,
    hi: i64,
    margins: Margins,
    margins_learnt: bool,
    learnt: Arc<Learnt>,
    done: bool,
    /// Entries per millisecond at the edge of the last full answer that the rest of the
    /// window continues from: where to cut when splitting.
    frontier_density: Option<f64>,
    /// Whether its next answer is expected to hold all that is left of it (fewer entries
    /// than an answer holds, at that density): a piece cut off a dense slice.
    piece: bool,
}

/// Entries per millisecond among the `k` entries of `times` (sorted) nearest one end.
fn edge_density(times: &mut [i64], newest_end: bool) -> Option<f64> {
    times.sort_unstable();
    let k = (times.len() / 10).clamp(2, 2_000).min(times.len());
    if k < 2 {
        return None;
    }
    let edge = if newest_end {
        &times[times.len() - k..]
    } else {
        &times[..k]
    };
    let span = (edge[k - 1] - edge[0]).max(1);
    Some(k as f64 / span as f64)
}

/// What the listings of one export learn and spend together, however many sub-windows run.
#[derive(Debug, Default)]
struct Learnt {
    paging: OnceLock<Paging>,
    /// A one-entry query of the whole window, sent beside the first slices: the time of the
    /// entry it gave (`None`: the window is empty), or `Err` when it failed.
    whole: OnceLock<Result<Option<i64>, ()>>,
    /// Whether that query was sent.
    whole_sent: std::sync::atomic::AtomicBool,
    /// Wakes the slices waiting for it.
    whole_ready: tokio::sync::Notify,
    /// Held while one sub-window learns the paging, so that the others wait for it.
    learning: tokio::sync::Mutex<()>,
    requests: AtomicU64,
    probes: AtomicU64,
    /// Milliseconds of the window listed so far, by every sub-window.
    listed_ms: AtomicU64,
    /// Milliseconds in the whole window.
    total_ms: AtomicU64,
}

impl Learnt {
    fn done_fraction(&self) -> f64 {
        let total = self.total_ms.load(Ordering::Relaxed);
        if total == 0 {
            return 1.0;
        }
        (self.listed_ms.load(Ordering::Relaxed) as f64 / total as f64).min(1.0)
    }
}

impl<S: Pages> Window<S> {
    /// A listing of `[start, end]`.
    pub fn new(source: S, start: i64, end: i64) -> Self {
        let learnt = Learnt::default();
        learnt
            .total_ms
            .store(span_ms(start, end), Ordering::Relaxed);
        Self {
            source,
            lo: start,
            hi: end,
            margins: WIDE,
            margins_learnt: false,
            learnt: Arc::new(learnt),
            done: start > end,
            frontier_density: None,
            piece: false,
        }
    }

    /// How many entries are left, by the density last seen at the frontier; `None` before
    /// a full answer showed it.
    fn expected_entries(&self) -> Option<f64> {
        self.frontier_density
            .map(|density| density * self.remaining_ms() as f64)
    }

    /// Marks whether the next answer is expected to hold all that is left.
    fn estimate_piece(&mut self) {
        let limit = f64::from(self.source.limit());
        self.piece = self.expected_entries().is_some_and(|n| n < limit);
    }

    /// How much of the window has been listed, from 0 to 1, counted in time (with its
    /// sub-windows, when split).
    pub fn done_fraction(&self) -> f64 {
        self.learnt.done_fraction()
    }

    /// Milliseconds not listed yet.
    fn remaining_ms(&self) -> u64 {
        if self.done {
            0
        } else {
            span_ms(self.lo, self.hi)
        }
    }

    /// What the listing has cost so far (with its sub-windows, when split).
    pub fn cost(&self) -> Cost {
        Cost {
            requests: self.learnt.requests.load(Ordering::Relaxed),
            probes: self.learnt.probes.load(Ordering::Relaxed),
        }
    }

    /// How full answers page, once learnt.
    pub fn paging(&self) -> Option<Paging> {
        self.learnt.paging.get().copied()
    }

    /// Whether every entry of the window has been listed.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Keeps the part of what remains next to where the last full answer stopped (about
    /// three quarters of an answer at the density seen there; half, when no density is
    /// known or that part would be under a second or all that remains) and hands the rest
    /// to a new window, which lists it independently (sharing what was learnt and the
    /// cost); `None` when less than two seconds remain.
    pub fn split(&mut self) -> Option<Self>
    where
        S: Clone,
    {
        if self.done || self.hi.saturating_sub(self.lo) < 2_000 {
            return None;
        }
        // This window keeps the part next to where its last full answer stopped, sized for
        // three quarters of an answer at the density seen there; the rest goes to the new
        // window. Without a density, halves.
        let half = (self.hi - self.lo) / 2;
        let span = self
            .frontier_density
            .map(|d| (0.75 * f64::from(self.source.limit()) / d) as i64)
            .filter(|span| (1_000..self.hi - self.lo).contains(span))
            .unwrap_or(half);
        let newest_first = self.paging() != Some(Paging::Oldest);
        let (kept, given) = if newest_first {
            ((self.hi - span, self.hi), (self.lo, self.hi - span - 1))
        } else {
            ((self.lo, self.lo + span), (self.lo + span + 1, self.hi))
        };
        let other = Self {
            source: self.source.clone(),
            lo: given.0,
            hi: given.1,
            margins: self.margins,
            margins_learnt: self.margins_learnt,
            learnt: self.learnt.clone(),
            done: false,
            // The new window's end next to the kept part is where the density was seen:
            // it can be cut there again, by the same measure.
            frontier_density: self.frontier_density,
            piece: false,
        };
        (self.lo, self.hi) = kept;
        let mut other = other;
        other.estimate_piece();
        self.estimate_piece();
        Some(other)
    }

    /// The source.
    pub fn source(&self) -> &S {
        &self.source
    }

    async fn fetch(
        &mut self,
        lo: i64,
        hi: i64,
        part: Option<S::Part>,
        limit: u32,
    ) -> Result<Vec<S::Entry>, WindowError> {
        let start = lo
            .saturating_sub(self.margins.before)
            .max(self.source.earliest());
        let end = hi.saturating_add(self.margins.after).max(start);
        self.learnt.requests.fetch_add(1, Ordering::Relaxed);
        let answer = self
            .source
            .fetch(Query {
                start,
                end,
                limit,
                part,
            })
            .await?;
        if answer.len() > limit as usize {
            return Err(assumption(format!(
                "an answer holds at most nLogs entries (asked for {limit}, got {})",
                answer.len()
            )));
        }
        // Whatever the reading, nothing comes from further than a second outside the query.
        if let Some(e) = answer.iter().find(|e| {
            e.time_ms() < start.saturating_sub(1000) || e.time_ms() > end.saturating_add(1000)
        }) {
            return Err(assumption(format!(
                "answers stay within the window asked for (asked for {start}..={end}, got an entry at {})",
                e.time_ms()
            )));
        }
        Ok(answer)
    }

    /// The next batch, `None` when the window is done. A batch may be empty.
    ///
    /// # Errors
    ///
    /// A query failed, an instant holds more entries than can be had, or the answers fit no
    /// known reading. The listing is then over.
    pub async fn next_batch(&mut self) -> Option<Result<Vec<S::Entry>, WindowError>> {
        if self.done {
            return None;
        }
        let before = self.remaining_ms();
        let batch = self.step().await;
        if batch.is_err() {
            self.done = true;
        } else {
            let listed = before.saturating_sub(self.remaining_ms());
            self.learnt.listed_ms.fetch_add(listed, Ordering::Relaxed);
        }
        Some(batch)
    }

    async fn step(&mut self) -> Result<Vec<S::Entry>, WindowError> {
        let limit = self.source.limit();
        let (lo, hi) = (self.lo, self.hi);
        let answer = self.fetch(lo, hi, None, limit).await?;
        if answer.len() < limit as usize {
            self.done = true;
            return Ok(inside(answer, lo, hi));
        }
        let paging = match self.paging() {
            Some(paging) => paging,
            None => self.learn_paging(&answer).await?,
        };
        match paging {
            Paging::Newest => {
                let m = answer.iter().map(Timed::time_ms).min().unwrap_or(hi);
                if m < lo {
                    self.done = true;
                    return Ok(inside(answer, lo, hi));
                }
                if m < hi {
                    // Everything newer than m is in the answer; m itself may be cut.
                    self.hi = m;
                    let mut times: Vec<i64> = answer.iter().map(Timed::time_ms).collect();
                    self.frontier_density = edge_density(&mut times, false);
                    return Ok(inside(answer, m + 1, hi));
                }
                // At least `limit` entries at or after hi: narrow the query to the instant.
                self.split_instant(hi, Paging::Newest, m).await
            }
            Paging::Oldest => {
                let m = answer.iter().map(Timed::time_ms).max().unwrap_or(lo);
                if m > hi {
                    self.done = true;
                    return Ok(inside(answer, lo, hi));
                }
                if m > lo {
                    self.lo = m;
                    let mut times: Vec<i64> = answer.iter().map(Timed::time_ms).collect();
                    self.frontier_density = edge_density(&mut times, true);
                    return Ok(inside(answer, lo, m - 1));
                }
                self.split_instant(lo, Paging::Oldest, m).await
            }
        }
    }

    /// One extra query of the same window for a single entry: it is the newest of a full
    /// answer when full answers hold the newest entries, its oldest when they hold the oldest.
    async fn learn_paging(&mut self, full: &[S::Entry]) -> Result<Paging, WindowError> {
        let learnt = self.learnt.clone();
        let _learning = learnt.learning.lock().await;
        if let Some(paging) = learnt.paging.get() {
            return Ok(*paging);
        }
        let newest = full.iter().map(Timed::time_ms).max().unwrap_or_default();
        let oldest = full.iter().map(Timed::time_ms).min().unwrap_or_default();
        // The newest entry of the whole window is at least as new as any of this answer's,
        // its oldest at least as old: the one-entry query of the whole window, sent beside
        // the first slices, tells the paging unless this answer is a single instant.
        if let Some(Ok(Some(t))) = self.whole_window_entry().await
            && newest != oldest
        {
            let paging = if t >= newest {
                Paging::Newest
            } else if t <= oldest {
                Paging::Oldest
            } else {
                return Err(assumption(format!(
                    "a full answer holds the newest or the oldest entries of its window (a full answer spans {oldest}..={newest}; the whole window's single entry is {t})"
                )));
            };
            let _ = self.learnt.paging.set(paging);
            return Ok(paging);
        }
        self.learnt.probes.fetch_add(1, Ordering::Relaxed);
        let one = self.fetch(self.lo, self.hi, None, 1).await?;
        let paging = match one.first().map(Timed::time_ms) {
            Some(t) if t == newest => Paging::Newest,
            Some(t) if t == oldest => Paging::Oldest,
            Some(t) => {
                return Err(assumption(format!(
                    "a full answer holds the newest or the oldest entries of its window (a full answer spans {oldest}..={newest}; asking for one entry gave {t})"
                )));
            }
            None => {
                return Err(assumption(
                    "a window that gave a full answer still holds entries when asked for one"
                        .into(),
                ));
            }
        };
        let _ = self.learnt.paging.set(paging);
        Ok(paging)
    }

    /// The answer of the one-entry query of the whole window, waiting for it if it is under
    /// way; `None` when none was sent.
    async fn whole_window_entry(&self) -> Option<Result<Option<i64>, ()>> {
        loop {
            let ready = self.learnt.whole_ready.notified();
            if let Some(answer) = self.learnt.whole.get() {
                return Some(*answer);
            }
            if !self.learnt.whole_sent.load(Ordering::SeqCst) {
                return None;
            }
            ready.await;
        }
    }

    /// Lists, part by part, the instant `at` and what else the queries certainly cover on
    /// the side not yet listed, then moves past it. With the wide margins a query around
    /// `at` covers its whole second under every reading, so the rest of that second comes
    /// too; with margins learnt to be exact, the instant alone.
    async fn split_instant(
        &mut self,
        at: i64,
        paging: Paging,
        witness: i64,
    ) -> Result<Vec<S::Entry>, WindowError> {
        if !self.margins_learnt {
            // Learnt from an entry known to exist: the nearest one of the full answer.
            self.learn_margins(witness).await?;
            if self.margins != WIDE {
                // Narrower queries may now make progress without splitting.
                return Ok(Vec::new());
            }
        }
        let limit = self.source.limit();
        let mut got = Vec::new();
        for part in self.source.parts() {
            let answer = self.fetch(at, at, Some(part), limit).await?;
            if answer.len() >= limit as usize {
                return Err(WindowError::Unsplittable { at_ms: at, limit });
            }
            got.extend(answer);
        }
        // With the wide margins a query around `at` covers its whole second under every
        // reading. With margins learnt exact, an answer holding other milliseconds of the
        // second shows that the operation reads whole seconds: `[at, at]` then covered the
        // whole second too, and only the wide margins cover whole seconds from here on.
        let second = at.div_euclid(1000) * 1000;
        let whole_second = if self.margins == WIDE {
            true
        } else if got
            .iter()
            .any(|e| e.time_ms() != at && e.time_ms().div_euclid(1000) * 1000 == second)
        {
            if self.margins
                != (Margins {
                    before: 0,
                    after: 0,
                })
            {
                return Err(assumption(format!(
                    "the window is read to the millisecond (a query of {at} alone returned other milliseconds of its second)"
                )));
            }
            self.margins = WIDE;
            true
        } else {
            false
        };
        let (from, to) = match (whole_second, paging) {
            (false, _) => (at, at),
            (true, Paging::Newest) => (second.max(self.lo), at),
            (true, Paging::Oldest) => (at, (second + 999).min(self.hi)),
        };
        let mut batch: Vec<S::Entry> = got
            .into_iter()
            .filter(|e| (from..=to).contains(&e.time_ms()))
            .collect();
        batch.sort_by_key(|e| std::cmp::Reverse(e.time_ms()));
        match paging {
            Paging::Newest => {
                self.hi = from - 1;
                self.done = self.hi < self.lo;
            }
            Paging::Oldest => {
                self.lo = to + 1;
                self.done = self.lo > self.hi;
            }
        }
        Ok(batch)
    }

    /// Learns how tightly queries can be drawn around an instant, from an entry at `at`:
    /// asks for `[at, at]`, then the neighbouring readings. Keeps the wide margins when no
    /// narrower query is known to cover the entry, or when `[at, at]` brings other
    /// milliseconds: the operation then reads whole seconds, and only the wide margins let
    /// a query cover a whole second at once.
    async fn learn_margins(&mut self, at: i64) -> Result<(), WindowError> {
        self.margins_learnt = true;
        let covers = |answer: &[S::Entry]| answer.iter().any(|e| e.time_ms() == at);
        let exact = self.probe_instant(at, 0, 0).await?;
        let margins = if covers(&exact) && exact.iter().all(|e| e.time_ms() == at) {
            Margins {
                before: 0,
                after: 0,
            }
        } else if covers(&self.probe_instant(at, 1, 1).await?) {
            let before = if covers(&self.probe_instant(at, 0, 1).await?) {
                0
            } else {
                1
            };
            let after = if covers(&self.probe_instant(at, 1, 0).await?) {
                0
            } else {
                1
            };
            Margins { before, after }
        } else {
            WIDE
        };
        self.margins = margins;
        Ok(())
    }

    /// One query of the instant `at` with the margins given, counted as a probe.
    async fn probe_instant(
        &mut self,
        at: i64,
        before: i64,
        after: i64,
    ) -> Result<Vec<S::Entry>, WindowError> {
        let saved = std::mem::replace(&mut self.margins, Margins { before, after });
        self.learnt.probes.fetch_add(1, Ordering::Relaxed);
        let limit = self.source.limit();
        let answer = self.fetch(at, at, None, limit).await;
        self.margins = saved;
        answer
    }
}

/// What a [`Parallel`] listing has learnt and spent so far, shared with it.
#[derive(Clone, Debug)]
pub struct Tally(Arc<Learnt>);

impl Tally {
    /// What the listing has cost so far.
    pub fn cost(&self) -> Cost {
        Cost {
            requests: self.0.requests.load(Ordering::Relaxed),
            probes: self.0.probes.load(Ordering::Relaxed),
        }
    }

    /// How full answers page, once learnt.
    pub fn paging(&self) -> Option<Paging> {
        self.0.paging.get().copied()
    }

    /// How much of the window has been listed, from 0 to 1, counted in time.
    pub fn done_fraction(&self) -> f64 {
        self.0.done_fraction()
    }
}

/// A sub-window's next batch, handing the sub-window back; `None` for the one-entry query
/// of the whole window.
type Driven<'a, S> = Pin<
    Box<
        dyn Future<
                Output = Option<(
                    Window<S>,
                    Option<Result<Vec<<S as Pages>::Entry>, WindowError>>,
                )>,
            > + Send
            + 'a,
    >,
>;

/// A window listed by up to `concurrency` sub-windows at once: it starts as a few slices of
/// equal time, and a slice that turns out dense has pieces cut off it, each about three
/// quarters of an answer at the density its last answer showed, whenever a slot would
/// otherwise have nothing to do once the answers under way are in. Each entry still comes out exactly
/// once; batches come in the order the slices answer.
pub struct Parallel<'a, S: Pages + Clone + 'a> {
    idle: Vec<Window<S>>,
    running: FuturesUnordered<Driven<'a, S>>,
    concurrency: usize,
    learnt: Arc<Learnt>,
    source: S,
    /// Whether the one-entry query of the whole window is among `running`.
    probing: bool,
    /// How many of `running` are pieces expected to end with their answer.
    pieces_running: usize,
}

/// How many slices a parallel listing starts with at most; beside them goes one query of the
/// whole window for a single entry, which tells how full answers page without a round of
/// its own. An empty window costs three requests.
const FIRST_SLICES: usize = 2;

impl<'a, S: Pages + Clone + 'a> Parallel<'a, S> {
    /// A listing of `[start, end]` by up to `concurrency` queries at once (1: one after
    /// another).
    pub fn new(source: S, start: i64, end: i64, concurrency: usize) -> Self {
        let concurrency = concurrency.max(1);
        let mut first = Window::new(source.clone(), start, end);
        let learnt = first.learnt.clone();
        let mut idle = Vec::new();
        let slices = concurrency.min(FIRST_SLICES);
        // Split the youngest remainder off repeatedly: slices of about equal time.
        for n in (1..slices).rev() {
            let span = first.hi.saturating_sub(first.lo);
            if span < 2_000 * n as i64 {
                break;
            }
            let cut = first.hi - span / (n as i64 + 1);
            let mut newer = Window::new(source.clone(), cut + 1, first.hi);
            newer.learnt = learnt.clone();
            first.hi = cut;
            idle.push(newer);
        }
        idle.push(first);
        let running: FuturesUnordered<Driven<'a, S>> = FuturesUnordered::new();
        let probing = concurrency > 1 && start <= end;
        if probing {
            learnt.whole_sent.store(true, Ordering::SeqCst);
            let mut probe = Window::new(source.clone(), start, end);
            probe.learnt = learnt.clone();
            running.push(Box::pin(async move {
                probe.learnt.probes.fetch_add(1, Ordering::Relaxed);
                let answer = probe.fetch(start, end, None, 1).await;
                let found = match &answer {
                    Ok(one) => Ok(one.first().map(Timed::time_ms)),
                    Err(_) => Err(()),
                };
                let _ = probe.learnt.whole.set(found);
                probe.learnt.whole_ready.notify_waiters();
                None
            }));
        }
        Self {
            idle,
            running,
            concurrency,
            learnt,
            source,
            probing,
            pieces_running: 0,
        }
    }

    /// A handle on what the listing learns and spends, readable while the listing runs
    /// elsewhere (another task, another thread).
    pub fn tally(&self) -> Tally {
        Tally(self.learnt.clone())
    }

    /// Whether every entry has been listed.
    pub fn is_done(&self) -> bool {
        self.idle.is_empty() && self.running.is_empty()
    }

    /// The source.
    pub fn source(&self) -> &S {
        &self.source
    }

    /// The next batch, `None` when the window is done.
    ///
    /// # Errors
    ///
    /// As [`Window::next_batch`]; the listing is then over.
    pub async fn next_batch(&mut self) -> Option<Result<Vec<S::Entry>, WindowError>> {
        loop {
            while self.running.len() < self.concurrency {
                let Some(mut window) = self.idle.pop() else {
                    break;
                };
                self.pieces_running += usize::from(window.piece);
                self.running.push(Box::pin(async move {
                    let batch = window.next_batch().await;
                    Some((window, batch))
                }));
            }
            // `None` from a finished one-entry query of the whole window.
            let Some((mut window, batch)) = self.running.next().await? else {
                self.probing = false;
                continue;
            };
            self.pieces_running -= usize::from(window.piece);
            match batch {
                None => continue,
                Some(Err(e)) => {
                    self.idle.clear();
                    self.running = FuturesUnordered::new();
                    self.pieces_running = 0;
                    self.probing = false;
                    return Some(Err(e));
                }
                Some(Ok(batch)) => {
                    if !window.is_done() {
                        // A dense slice. Count what will still need a slot once the
                        // answers under way are in: what waits, the slice, and every
                        // window running that is not a piece expected to end with its
                        // answer. While that leaves a slot without work, and the slice
                        // needs more than one more answer, cut a piece off it (about three
                        // quarters of an answer at the density its answer showed), so that
                        // no slot waits a round for the slice's next answer. The rest of
                        // the slice goes on first.
                        window.estimate_piece();
                        let limit = f64::from(self.source.limit());
                        let mut busy =
                            self.running.len() - usize::from(self.probing) - self.pieces_running
                                + self.idle.len()
                                + 1;
                        let mut rest = window;
                        while busy < self.concurrency
                            && rest.expected_entries().is_none_or(|n| n > limit)
                        {
                            let Some(older) = rest.split() else { break };
                            self.idle.push(rest);
                            rest = older;
                            busy += 1;
                        }
                        self.idle.push(rest);
                    }
                    return Some(Ok(batch));
                }
            }
        }
    }
}

/// Milliseconds in `[lo, hi]`.
fn span_ms(lo: i64, hi: i64) -> u64 {
    if hi < lo {
        0
    } else {
        (hi as i128 - lo as i128 + 1).min(u64::MAX as i128) as u64
    }
}

/// The entries of an answer within `[lo, hi]`.
fn inside<E: Timed>(answer: Vec<E>, lo: i64, hi: i64) -> Vec<E> {
    let mut kept: Vec<E> = answer
        .into_iter()
        .filter(|e| (lo..=hi).contains(&e.time_ms()))
        .collect();
    kept.sort_by_key(|e| std::cmp::Reverse(e.time_ms()));
    kept
}

fn assumption(assumption: String) -> WindowError {
    WindowError::Assumption { assumption }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::sync::atomic::AtomicU64;

    /// An entry of the simulated operation.
    #[derive(Clone, Debug, PartialEq, Eq)]
    struct E {
        t: i64,
        id: u64,
        ok: bool,
    }

    impl Timed for E {
        fn time_ms(&self) -> i64 {
            self.t
        }
        fn fingerprint(&self) -> u64 {
            self.id
        }
    }

    /// Every reading of the window the engine must be exact or loud under.
    #[derive(Clone, Copy, Debug)]
    struct Reading {
        start_inclusive: bool,
        end_inclusive: bool,
        seconds: bool,
        oldest: bool,
        scrambled: bool,
    }

    fn readings() -> Vec<Reading> {
        let mut all = Vec::new();
        for bits in 0..32u8 {
            let r = Reading {
                start_inclusive: bits & 1 != 0,
                end_inclusive: bits & 2 != 0,
                seconds: bits & 4 != 0,
                oldest: bits & 8 != 0,
                scrambled: bits & 16 != 0,
            };
            all.push(r);
        }
        all
    }

    struct Sim {
        entries: Vec<E>,
        reading: Reading,
        limit: u32,
        calls: AtomicU64,
    }

    impl Pages for &Sim {
        type Entry = E;
        type Part = bool;
        fn limit(&self) -> u32 {
            self.limit
        }
        fn earliest(&self) -> i64 {
            0
        }
        fn parts(&self) -> Vec<bool> {
            vec![true, false]
        }
        async fn fetch(&self, q: Query<bool>) -> Result<Vec<E>, AtlasError> {
            self.calls.fetch_add(1, Ordering::Relaxed);
            let r = self.reading;
            let key = |t: i64| if r.seconds { t.div_euclid(1000) } else { t };
            let (s, e) = (key(q.start), key(q.end));
            let mut matched: Vec<E> = self
                .entries
                .iter()
                .filter(|x| {
                    let k = key(x.t);
                    (if r.start_inclusive { k >= s } else { k > s })
                        && (if r.end_inclusive { k <= e } else { k < e })
                        && q.part.is_none_or(|ok| ok == x.ok)
                })
                .cloned()
                .collect();
            matched.sort_by_key(|x| (std::cmp::Reverse(x.t), x.id));
            if r.oldest {
                matched.reverse();
            }
            matched.truncate(q.limit as usize);
            if r.scrambled {
                matched.sort_by_key(|x| x.id.wrapping_mul(0x9e37_79b9_7f4a_7c15));
            }
            Ok(matched)
        }
    }

    fn data(seed: u64, n: usize, burst: usize) -> Vec<E> {
        let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
        let mut next = || {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            x >> 33
        };
        let mut entries: Vec<E> = (0..n as u64)
            .map(|id| E {
                t: 1_000_000 + (next() % 60_000) as i64,
                id,
                ok: next() % 3 != 0,
            })
            .collect();
        for i in 0..burst as u64 {
            entries.push(E {
                t: 1_030_500,
                id: n as u64 + i,
                ok: i % 2 == 0,
            });
        }
        entries
    }

    fn list(sim: &Sim, start: i64, end: i64) -> Result<Vec<E>, WindowError> {
        let mut window = Window::new(sim, start, end);
        let mut out = Vec::new();
        futures::executor::block_on(async {
            while let Some(batch) = window.next_batch().await {
                out.extend(batch?);
            }
            Ok(out)
        })
    }

    fn truth(entries: &[E], start: i64, end: i64) -> BTreeMap<u64, i64> {
        entries
            .iter()
            .filter(|e| (start..=end).contains(&e.t))
            .map(|e| (e.id, e.t))
            .collect()
    }

    #[test]
    fn exact_under_every_reading() {
        for reading in readings() {
            for (seed, n, burst, limit) in [
                (1, 300, 0, 50),
                (2, 2_000, 0, 97),
                (3, 500, 40, 30),
                (4, 50, 0, 100),
            ] {
                let sim = Sim {
                    entries: data(seed, n, burst),
                    reading,
                    limit,
                    calls: AtomicU64::new(0),
                };
                // Bounds on entries, inside seconds, and around the burst.
                for (start, end) in [
                    (1_000_000, 1_060_000),
                    (1_010_123, 1_030_500),
                    (1_030_500, 1_030_500),
                    (1_020_000, 1_041_999),
                ] {
                    let expected = truth(&sim.entries, start, end);
                    match list(&sim, start, end) {
                        Ok(got) => {
                            let ids: BTreeMap<u64, i64> = got.iter().map(|e| (e.id, e.t)).collect();
                            assert_eq!(
                                ids.len(),
                                got.len(),
                                "{reading:?} {start}..{end}: a duplicate"
                            );
                            assert_eq!(ids, expected, "{reading:?} {start}..{end}: wrong set");
                        }
                        // Loud is allowed only where exact is impossible: a burst of one
                        // part larger than an answer, or whole seconds too dense to split.
                        Err(WindowError::Unsplittable { .. }) => {
                            assert!(
                                burst > 0 || reading.seconds,
                                "{reading:?} {start}..{end} seed {seed}"
                            );
                        }
                        Err(e) => panic!("{reading:?} {start}..{end} seed {seed}: {e}"),
                    }
                }
            }
        }
    }

    fn list_parallel(
        sim: &Sim,
        start: i64,
        end: i64,
        concurrency: usize,
    ) -> Result<Vec<E>, WindowError> {
        let mut window = Parallel::new(sim, start, end, concurrency);
        let mut out = Vec::new();
        let mut progress = window.tally().done_fraction();
        assert_eq!(progress, 0.0, "nothing is listed before the first answer");
        futures::executor::block_on(async {
            while let Some(batch) = window.next_batch().await {
                out.extend(batch?);
                let now = window.tally().done_fraction();
                assert!(
                    now >= progress && now <= 1.0,
                    "progress {progress} then {now}"
                );
                progress = now;
            }
            assert_eq!(
                window.tally().done_fraction(),
                1.0,
                "a finished listing is all done"
            );
            Ok(out)
        })
    }

    #[test]
    fn parallel_listing_is_exact_under_every_reading() {
        for reading in readings() {
            for concurrency in [2, 3, 5] {
                let sim = Sim {
                    entries: data(9, 3_000, 60),
                    reading,
                    limit: 97,
                    calls: AtomicU64::new(0),
                };
                for (start, end) in [
                    (1_000_000, 1_060_000),
                    (1_010_123, 1_030_500),
                    (1_030_000, 1_031_000),
                ] {
                    let expected = truth(&sim.entries, start, end);
                    let got = match list_parallel(&sim, start, end, concurrency) {
                        Ok(got) => got,
                        // Whole seconds of this dense data hold more than an answer.
                        Err(WindowError::Unsplittable { .. }) if reading.seconds => continue,
                        Err(e) => panic!("{reading:?} x{concurrency} {start}..{end}: {e}"),
                    };
                    let ids: BTreeMap<u64, i64> = got.iter().map(|e| (e.id, e.t)).collect();
                    assert_eq!(
                        ids.len(),
                        got.len(),
                        "{reading:?} x{concurrency}: a duplicate"
                    );
                    assert_eq!(ids, expected, "{reading:?} x{concurrency} {start}..{end}");
                }
            }
        }
    }

    /// The simulated operation, answering after a second, and up to a tenth more or less
    /// the fuller its answer (`full_later`: more, as a larger answer takes longer to send;
    /// else less).
    #[derive(Clone, Copy)]
    struct Slow<'a>(&'a Sim, bool);

    impl Pages for Slow<'_> {
        type Entry = E;
        type Part = bool;
        fn limit(&self) -> u32 {
            self.0.limit
        }
        fn earliest(&self) -> i64 {
            0
        }
        fn parts(&self) -> Vec<bool> {
            vec![true, false]
        }
        async fn fetch(&self, q: Query<bool>) -> Result<Vec<E>, AtlasError> {
            let answer = self.0.fetch(q).await?;
            let fullness = answer.len() as f64 / f64::from(self.0.limit);
            let extra = if self.1 { fullness } else { 1.0 - fullness };
            tokio::time::sleep(std::time::Duration::from_secs_f64(1.0 + 0.1 * extra)).await;
            Ok(answer)
        }
    }

    /// A window of fifty answers' worth, listed three queries at a time, each answering in
    /// 1 to 1.1 seconds (of the test's own clock): the listing takes no longer than its
    /// requests, three at a time, at the slowest answer's time, so no slot waits while
    /// there is work, whichever answers of a round come first. (Cutting a dense slice only
    /// when it answers while slots are free takes 10% longer here.)
    #[tokio::test(start_paused = true)]
    async fn a_dense_window_keeps_every_slot_busy() {
        for (seed, oldest, full_later) in [
            (5, false, true),
            (6, false, false),
            (7, true, true),
            (8, true, false),
        ] {
            // Spread over 100 minutes, as access logs are: an answer holds two minutes.
            let entries = data(seed, 40_000, 0)
                .into_iter()
                .map(|e| E {
                    t: 1_000_000 + (e.t - 1_000_000) * 100,
                    ..e
                })
                .collect();
            let sim = Sim {
                entries,
                reading: Reading {
                    start_inclusive: true,
                    end_inclusive: true,
                    seconds: false,
                    oldest,
                    scrambled: false,
                },
                limit: 800,
                calls: AtomicU64::new(0),
            };
            let began = tokio::time::Instant::now();
            let mut window = Parallel::new(Slow(&sim, full_later), 1_000_000, 7_000_000, 3);
            let mut ids = std::collections::BTreeSet::new();
            let mut listed = 0;
            while let Some(batch) = window.next_batch().await {
                let batch = batch.unwrap();
                listed += batch.len();
                ids.extend(batch.into_iter().map(|e| e.id));
            }
            assert_eq!(ids.len(), 40_000, "seed {seed}: entries lost");
            assert_eq!(listed, 40_000, "seed {seed}: entries listed twice");
            let seconds = began.elapsed().as_secs_f64();
            let requests = sim.calls.load(Ordering::Relaxed);
            let floor = 1.1 * requests.div_ceil(3) as f64;
            assert!(
                seconds <= floor,
                "seed {seed}: {seconds} s for {requests} requests (floor {floor} s)"
            );
            assert!(
                requests as f64 <= 1.5 * 50.0 + 3.0,
                "seed {seed}: {requests} requests"
            );
        }
    }

    #[test]
    fn an_empty_window_costs_at_most_three_requests() {
        let sim = Sim {
            entries: Vec::new(),
            reading: readings()[3],
            limit: 100,
            calls: AtomicU64::new(0),
        };
        assert!(
            list_parallel(&sim, 1_000_000, 2_000_000, 8)
                .unwrap()
                .is_empty()
        );
        assert_eq!(sim.calls.load(Ordering::Relaxed), 3);
    }

    #[test]
    fn default_reading_costs_pages_plus_one() {
        let sim = Sim {
            entries: data(7, 1_000, 0),
            reading: Reading {
                start_inclusive: true,
                end_inclusive: true,
                seconds: false,
                oldest: false,
                scrambled: false,
            },
            limit: 100,
            calls: AtomicU64::new(0),
        };
        let mut window = Window::new(&sim, 1_000_000, 1_060_000);
        let n = futures::executor::block_on(async {
            let mut n = 0;
            while let Some(batch) = window.next_batch().await {
                n += batch.unwrap().len();
            }
            n
        });
        assert_eq!(n, 1_000);
        let cost = window.cost();
        assert_eq!(cost.probes, 1, "{cost:?}");
        assert!(cost.requests <= 10 + 1 + 2, "{cost:?}");
    }

    #[test]
    fn a_page_of_neither_end_is_refused() {
        struct Middle;
        impl Pages for Middle {
            type Entry = E;
            type Part = bool;
            fn limit(&self) -> u32 {
                3
            }
            fn earliest(&self) -> i64 {
                0
            }
            fn parts(&self) -> Vec<bool> {
                vec![true, false]
            }
            async fn fetch(&self, q: Query<bool>) -> Result<Vec<E>, AtlasError> {
                // Full answers span 13..=15; one entry is 14: neither end.
                let e = |t: i64| E {
                    t,
                    id: t as u64,
                    ok: true,
                };
                Ok(if q.limit == 1 {
                    vec![e(14)]
                } else {
                    vec![e(13), e(14), e(15)]
                })
            }
        }
        let mut window = Window::new(Middle, 0, 100);
        let err = futures::executor::block_on(async {
            loop {
                match window.next_batch().await {
                    Some(Err(e)) => break e,
                    Some(Ok(_)) => continue,
                    None => panic!("a contradicting source must not list quietly"),
                }
            }
        });
        assert!(matches!(err, WindowError::Assumption { .. }), "{err}");
    }
}
