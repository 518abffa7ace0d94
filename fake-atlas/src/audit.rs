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

use crate::data::{DAY_MS, Tenant, iso_millis};

/// The file Atlas sends when there is nothing to report: a gzip member holding one empty
/// stored block, 23 bytes.
pub const EMPTY_GZIP: [u8; 23] = [
    0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff, 1, 0, 0, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0,
];

/// The window Atlas uses when none is given, in seconds.
pub const DEFAULT_WINDOW_S: i64 = 30 * 86_400;

const CHUNK: usize = 64 * 1024;

/// One audit-log download to produce.
#[derive(Clone, Debug)]
pub struct AuditLog {
    /// Seed of the data set; with the other fields, it pins the file's content.
    pub seed: u64,
    /// The workspace.
    pub tenant: Tenant,
    /// Only this stream processor's events, when given.
    pub processor: Option<String>,
    /// Window start, epoch seconds.
    pub start_s: i64,
    /// Window end, epoch seconds.
    pub end_s: i64,
    /// Uncompressed bytes of events to produce.
    pub bytes: u64,
    /// gzip level, 0 to 9.
    pub level: u32,
}

impl AuditLog {
    /// How many uncompressed bytes a window holds, given the size of the default window
    /// ending at `now_ms`.
    pub fn budget(window_bytes: u64, now_ms: i64, start_s: i64, end_s: i64) -> u64 {
        let now_s = now_ms / 1000;
        let from = start_s.max(now_s - DEFAULT_WINDOW_S);
        let to = end_s.min(now_s);
        if to <= from {
            return 0;
        }
        (u128::from(window_bytes) * (to - from) as u128 / DEFAULT_WINDOW_S as u128) as u64
    }

    /// The file's file name, as in `Content-Disposition`.
    pub fn file_name(&self) -> String {
        format!(
            "{}_{}_{}_audit.log.gz",
            self.tenant.name, self.start_s, self.end_s
        )
    }

    /// The gzip file, as a stream of chunks produced on a blocking thread, at most a few
    /// chunks ahead of the reader.
    pub fn stream(self) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static {
        let processors: Vec<String> = match &self.processor {
            Some(p) if !p.is_empty() => self
                .tenant
                .processors
                .iter()
                .filter(|x| *x == p)
                .cloned()
                .collect(),
            _ => self.tenant.processors.clone(),
        };
        let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(4);
        if self.bytes == 0 || processors.is_empty() {
            let _ = tx.try_send(Bytes::from_static(&EMPTY_GZIP));
        } else {
            tokio::task::spawn_blocking(move || self.produce(&processors, &tx));
        }
        futures::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|chunk| (Ok(chunk), rx))
        })
    }

    fn produce(&self, processors: &[String], tx: &tokio::sync::mpsc::Sender<Bytes>) {
        let mut seed = self.seed ^ 0x5eed_a0d1_7000_0000;
        for b in self.tenant.name.bytes().chain(processors.concat().bytes()) {
            seed = seed.rotate_left(5) ^ u64::from(b);
        }
        seed ^= (self.start_s as u64).rotate_left(17) ^ self.end_s as u64;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut gz = GzEncoder::new(
            Vec::with_capacity(CHUNK * 2),
            Compression::new(self.level.min(9)),
        );
        let mut line = String::with_capacity(512);
        let estimated_events = (self.bytes / 330).max(1) as i64;
        let span_ms = ((self.end_s - self.start_s).max(1) * 1000).min(365 * DAY_MS);
        let (mut written, mut i) = (0u64, 0i64);
        while written < self.bytes {
            line.clear();
            let ts = self.start_s * 1000 + span_ms * i.min(estimated_events - 1) / estimated_events;
            write_event(
                &mut line,
                &mut rng,
                ts,
                &self.tenant.name,
                &processors[i as usize % processors.len()],
            );
            if gz.write_all(line.as_bytes()).is_err() {
                return;
            }
            written += line.len() as u64;
            i += 1;
            if gz.get_ref().len() >= CHUNK
                && tx
                    .blocking_send(Bytes::from(std::mem::take(gz.get_mut())))
                    .is_err()
            {
                return; // the reader went away
            }
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
