//! Audit logs of stream processing workspaces: a gzip file of JSON audit events, generated
//! and compressed on the fly and streamed in bounded chunks, so that memory stays flat
//! whatever the size.

use std::fmt::Write as _;
use std::io::Write as _;

use bytes::Bytes;
use flate2::Compression;
use flate2::write::GzEncoder;
use futures::Stream;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::data::{Tenant, iso_millis};

/// The file Atlas sends when there is nothing to report: a gzip member holding one empty
/// stored block, 23 bytes.
pub const EMPTY_GZIP: [u8; 23] = [
    0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff, 1, 0, 0, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0,
];

/// The window Atlas uses when none is given, in seconds.
pub const DEFAULT_WINDOW_S: i64 = 30 * 86_400;

const CHUNK: usize = 64 * 1024;

/// How many uncompressed bytes an audit event takes, about: what sets the spacing of the
/// events from the size of the default window.
const EVENT_BYTES: u64 = 420;

/// How the audit-log operation reads its window's whole-second bounds: Atlas does not say.
/// The default: both bounds inclusive (an event of second `endDate` is in the window).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AuditWindow {
    /// An event in second `startDate` is in the window.
    pub start_inclusive: bool,
    /// An event in second `endDate` is in the window.
    pub end_inclusive: bool,
}

impl Default for AuditWindow {
    fn default() -> Self {
        Self {
            start_inclusive: true,
            end_inclusive: true,
        }
    }
}

/// One audit-log download to produce: the events of a workspace's fixed timeline that fall
/// in the window, so that overlapping windows agree on the events they share.
#[derive(Clone, Debug)]
pub struct AuditLog {
    /// Seed of the data set; with the workspace, it pins every event.
    pub seed: u64,
    /// The workspace.
    pub tenant: Tenant,
    /// Only this stream processor's events, when given.
    pub processor: Option<String>,
    /// Window start, epoch seconds.
    pub start_s: i64,
    /// Window end, epoch seconds.
    pub end_s: i64,
    /// The present: no event is later, and none is older than the default window (what
    /// Atlas keeps).
    pub now_ms: i64,
    /// Microseconds between two events of the timeline.
    pub step_us: i64,
    /// How the window's bounds are read.
    pub window: AuditWindow,
    /// gzip level, 0 to 9.
    pub level: u32,
}

impl AuditLog {
    /// The spacing of the events, in microseconds, that puts about `window_bytes`
    /// uncompressed bytes in the default window.
    pub fn step_us(window_bytes: u64) -> i64 {
        let events = (window_bytes / EVENT_BYTES).max(1);
        ((DEFAULT_WINDOW_S as u128 * 1_000_000 / u128::from(events)) as i64).max(1)
    }

    /// The time of event `k` of the timeline, epoch milliseconds.
    pub fn event_ms(k: i64, step_us: i64) -> i64 {
        (i128::from(k) * i128::from(step_us) / 1000) as i64
    }

    /// The events of the window: `[first, end)` of the timeline.
    fn events(&self) -> (i64, i64) {
        let lo_ms = self
            .start_s
            .saturating_add(i64::from(!self.window.start_inclusive))
            .saturating_mul(1000)
            .max(self.now_ms - DEFAULT_WINDOW_S * 1000);
        let hi_ms = self
            .end_s
            .saturating_add(i64::from(self.window.end_inclusive))
            .saturating_mul(1000)
            .min(self.now_ms + 1);
        // Event k is at floor(k * step / 1000) ms: the first at or after lo, the first at or
        // after hi.
        let first = |ms: i64| (i128::from(ms) * 1000).div_euclid(i128::from(self.step_us)) as i64;
        let mut from = first(lo_ms).max(0);
        while Self::event_ms(from, self.step_us) < lo_ms {
            from += 1;
        }
        let mut to = first(hi_ms).max(from);
        while Self::event_ms(to, self.step_us) < hi_ms {
            to += 1;
        }
        while to > from && Self::event_ms(to - 1, self.step_us) >= hi_ms {
            to -= 1;
        }
        (from, to)
    }

    /// The file's file name, as in `Content-Disposition`.
    pub fn file_name(&self) -> String {
        format!(
            "{}_{}_{}_audit.log.gz",
            self.tenant.name, self.start_s, self.end_s
        )
    }

    /// The lines the file holds, decompressed: the ground truth of a window.
    pub fn lines(&self) -> Vec<String> {
        let (from, to) = self.events();
        let mut lines = Vec::new();
        self.each_line(&self.processors(), from, to, |line| {
            lines.push(line.trim_end_matches('\n').to_string());
            true
        });
        lines
    }

    fn processors(&self) -> Vec<String> {
        match &self.processor {
            Some(p) if !p.is_empty() => self
                .tenant
                .processors
                .iter()
                .filter(|x| *x == p)
                .cloned()
                .collect(),
            _ => self.tenant.processors.clone(),
        }
    }

    /// The gzip file, as a stream of chunks produced on a blocking thread, at most a few
    /// chunks ahead of the reader.
    pub fn stream(self) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static {
        let processors = self.processors();
        let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(4);
        let (from, to) = self.events();
        if from >= to || processors.is_empty() {
            let _ = tx.try_send(Bytes::from_static(&EMPTY_GZIP));
        } else {
            tokio::task::spawn_blocking(move || self.produce(&processors, from, to, &tx));
        }
        futures::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|chunk| (Ok(chunk), rx))
        })
    }

    /// Hands each line of events `[from, to)` of `processors` to `f`, until it says stop.
    fn each_line(
        &self,
        processors: &[String],
        from: i64,
        to: i64,
        mut f: impl FnMut(&str) -> bool,
    ) {
        let mut seed = self.seed ^ 0x5eed_a0d1_7000_0000;
        for b in self.tenant.name.bytes() {
            seed = seed.rotate_left(5) ^ u64::from(b);
        }
        let all = &self.tenant.processors;
        let mut line = String::with_capacity(512);
        for k in from..to {
            // Event k belongs to one processor of the workspace, the same in every window.
            let processor = &all[k.rem_euclid(all.len() as i64) as usize];
            if !processors.contains(processor) {
                continue;
            }
            line.clear();
            let mut rng =
                ChaCha8Rng::seed_from_u64(seed ^ (k as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
            let ts = Self::event_ms(k, self.step_us);
            write_event(&mut line, &mut rng, ts, &self.tenant.name, processor);
            if !f(&line) {
                return;
            }
        }
    }

    fn produce(
        &self,
        processors: &[String],
        from: i64,
        to: i64,
        tx: &tokio::sync::mpsc::Sender<Bytes>,
    ) {
        let mut gz = GzEncoder::new(
            Vec::with_capacity(CHUNK * 2),
            Compression::new(self.level.min(9)),
        );
        let mut any = false;
        let mut gone = false;
        self.each_line(processors, from, to, |line| {
            if gz.write_all(line.as_bytes()).is_err() {
                gone = true;
                return false;
            }
            any = true;
            if gz.get_ref().len() >= CHUNK
                && tx
                    .blocking_send(Bytes::from(std::mem::take(gz.get_mut())))
                    .is_err()
            {
                gone = true; // the reader went away
                return false;
            }
            true
        });
        if gone {
            return;
        }
        if !any {
            let _ = tx.blocking_send(Bytes::from_static(&EMPTY_GZIP));
            return;
        }
        if let Ok(rest) = gz.finish() {
            let _ = tx.blocking_send(Bytes::from(rest));
        }
    }
}

const ACTIONS: &[&str] = &[
    "authenticate",
    "authCheck",
    "startStreamProcessor",
    "stopStreamProcessor",
    "createStreamProcessor",
    "modifyStreamProcessor",
    "sampleStreamProcessor",
];
const USERS: &[&str] = &["app", "ops-admin", "ci-deployer", "analytics-svc"];

fn write_event(line: &mut String, rng: &mut ChaCha8Rng, ts_ms: i64, tenant: &str, processor: &str) {
    let action = ACTIONS[rng.random_range(0..ACTIONS.len())];
    let user = USERS[rng.random_range(0..USERS.len())];
    let result = if rng.random_bool(0.93) { 0 } else { 13 };
    let _ = writeln!(
        line,
        "{{\"atype\":\"{action}\",\"ts\":{{\"$date\":\"{}\"}},\"uuid\":{{\"$binary\":\"{:016x}{:016x}\",\"$type\":\"04\"}},\
         \"local\":{{\"ip\":\"10.8.{}.{}\",\"port\":27017}},\"remote\":{{\"ip\":\"203.0.113.{}\",\"port\":{}}},\
         \"users\":[{{\"user\":\"{user}\",\"db\":\"admin\"}}],\"roles\":[{{\"role\":\"atlasAdmin\",\"db\":\"admin\"}}],\
         \"param\":{{\"tenant\":\"{tenant}\",\"processor\":\"{processor}\",\"mechanism\":\"SCRAM-SHA-256\"}},\"result\":{result}}}",
        iso_millis(ts_ms),
        rng.random::<u64>(),
        rng.random::<u64>(),
        rng.random_range(0..255),
        rng.random_range(1..255),
        rng.random_range(1..255),
        rng.random_range(32_768..61_000),
    );
}
