//! A stream processing workspace's audit log, run after run, each line exactly once.
//!
//! Atlas hands the audit log out as a gzip file of the window asked for, in whole seconds,
//! and does not say how it reads the bounds (is an event of second `endDate` in?). An
//! [`AuditLogExport`] asks for one second more than it wants at the start, keeps the lines
//! of the wanted seconds only, and remembers the lines of its last seconds (the last one,
//! and `overlap_s` more) in its [`AuditCheckpoint`]: the next run reads those seconds
//! again and skips exactly the lines it remembers, so that it delivers what Atlas recorded
//! there late. Under every reading of the bounds, consecutive runs deliver each line once,
//! with no gap, for every line Atlas records within the overlap; a line outside the window
//! asked for, one without a readable time, or a remembered line Atlas no longer sends as it
//! did stops the export rather than be guessed about.
//!
//! ```no_run
//! use atlas_log_export::{AuditCheckpoint, AuditLogExport};
//!
//! # async fn run(client: atlas_client::Client) -> Result<(), Box<dyn std::error::Error>> {
//! let now_s = chrono::Utc::now().timestamp();
//! let mut out = Vec::new();
//! let export = AuditLogExport::builder(&client, "32b6e34b3d91647abb20e7b8", "workspace0")
//!     .start_s(now_s - 3600)
//!     .end_s(now_s)
//!     .build()?;
//! let report = export.write_to(&mut out).await?;
//! std::fs::write("checkpoint.json", report.checkpoint.to_json())?;
//!
//! // Next time: every line after those, up to now.
//! let checkpoint = AuditCheckpoint::from_json(&std::fs::read_to_string("checkpoint.json")?)?;
//! let later = chrono::Utc::now().timestamp();
//! let export = AuditLogExport::resume_builder(&client, &checkpoint).end_s(later).build()?;
//! export.write_to(&mut out).await?;
//! # Ok(()) }
//! ```

use std::io::Write;

use atlas_client::{AtlasError, Client, ErrorKind};
use futures::StreamExt;
use serde::{Deserialize, Serialize};

use crate::checkpoint::{CheckpointError, CheckpointFormat, read_checkpoint, required};
use crate::{MAX_REMEMBERED, thousands};

/// The version of the audit-log checkpoint format this crate writes and reads.
pub const AUDIT_CHECKPOINT_VERSION: u32 = 1;

/// Where an audit-log export stands: the last second it delivered, and the lines of that
/// second it delivered (their fingerprints), which the next run skips.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AuditCheckpoint {
    /// [`AUDIT_CHECKPOINT_VERSION`].
    pub version: u32,
    /// The project.
    pub group_id: String,
    /// The stream processing workspace.
    pub workspace: String,
    /// Only this stream processor's lines, when given.
    #[serde(deserialize_with = "required")]
    pub processor: Option<String>,
    /// Every line up to this second (epoch seconds) is delivered, but those Atlas had not
    /// recorded yet.
    pub through_s: i64,
    /// How many seconds before `through_s` the next run reads again, for lines Atlas
    /// records late.
    pub overlap_s: i64,
    /// The lines of seconds `through_s - overlap_s` to `through_s` delivered: 64-bit
    /// FNV-1a of each, 16 hexadecimal digits, one per line (a line twice is there twice).
    pub remembered: Vec<String>,
}

impl AuditCheckpoint {
    /// The checkpoint as JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
    }

    /// Reads a checkpoint, strictly.
    ///
    /// # Errors
    ///
    /// The text is not an audit-log checkpoint of this version.
    pub fn from_json(text: &str) -> Result<Self, CheckpointError> {
        read_checkpoint(text)
    }

    /// Checks that an export of `workspace` in `group_id` (of `processor`'s lines), ending
    /// at `end_s`, can resume from this checkpoint.
    ///
    /// # Errors
    ///
    /// It belongs to another export, or `end_s` is before its `through_s`.
    pub fn check_resume(
        &self,
        group_id: &str,
        workspace: &str,
        processor: Option<&str>,
        end_s: i64,
    ) -> Result<(), CheckpointError> {
        if self.group_id != group_id
            || self.workspace != workspace
            || self.processor.as_deref() != processor
        {
            // Said either way, so that a checkpoint differing only in its processor says so.
            let of = match self.processor.as_deref() {
                Some(p) => format!(" (stream processor {p})"),
                None => " (every stream processor)".to_string(),
            };
            return Err(CheckpointError::Mismatch {
                what: format!(
                    "audit log of workspace {}{of} in project {}",
                    self.workspace, self.group_id
                ),
            });
        }
        if end_s < self.through_s {
            return Err(CheckpointError::Behind {
                end_ms: end_s.saturating_mul(1000),
                through_ms: self.through_s.saturating_mul(1000),
            });
        }
        Ok(())
    }

    fn remembered(&self) -> Vec<u64> {
        self.remembered
            .iter()
            .filter_map(|f| u64::from_str_radix(f, 16).ok())
            .collect()
    }
}

impl CheckpointFormat for AuditCheckpoint {
    fn validate(&self) -> Result<(), CheckpointError> {
        if self.version != AUDIT_CHECKPOINT_VERSION {
            return Err(CheckpointError::Version(self.version));
        }
        if self.overlap_s < 0 || self.overlap_s > self.through_s {
            return Err(CheckpointError::Inconsistent);
        }
        let fingerprints_ok = self
            .remembered
            .iter()
            .all(|f| f.len() == 16 && f.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')));
        if !fingerprints_ok || self.remembered.len() > MAX_REMEMBERED || self.through_s < 0 {
            return Err(CheckpointError::Inconsistent);
        }
        Ok(())
    }
}

/// Why an audit-log export could not be built: the setting at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditBuildError {
    /// No `end_s`.
    #[error("end_s: an audit-log export needs the end of its window")]
    NoEnd,
    /// No `start_s` and no checkpoint.
    #[error("start_s: give the start of the window, or resume from a checkpoint")]
    NoStart,
    /// Both a start and a checkpoint.
    #[error("start_s: a resumed export starts where its checkpoint ends; give one or the other")]
    StartAndCheckpoint,
    /// The window ends before it starts.
    #[error("end_s: the window ends at {end_s}, before its start {start_s}")]
    Backwards {
        /// The start, epoch seconds.
        start_s: i64,
        /// The end, epoch seconds.
        end_s: i64,
    },
    /// A time too large for epoch seconds: milliseconds, most likely.
    #[error(
        "{parameter}: {value} is not epoch seconds (it is after the year 2286); milliseconds divided by 1,000 are"
    )]
    NotSeconds {
        /// `start_s` or `end_s`.
        parameter: &'static str,
        /// The value given.
        value: i64,
    },
    /// The checkpoint cannot be resumed with these settings.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
}

/// Epoch seconds from here on are the year 2286 and later: such a value is milliseconds.
const SECONDS_BELOW: i64 = 10_000_000_000;

impl From<AuditBuildError> for AtlasError {
    fn from(error: AuditBuildError) -> Self {
        AtlasError::invalid(error)
    }
}

/// Settings of an [`AuditLogExport`].
#[derive(Clone, Debug)]
pub struct AuditLogExportBuilder {
    client: Client,
    group_id: String,
    workspace: String,
    processor: Option<String>,
    start_s: Option<i64>,
    end_s: Option<i64>,
    overlap_s: i64,
    resume: Option<AuditCheckpoint>,
}

impl AuditLogExportBuilder {
    /// How many seconds before its end the next run reads again, for lines Atlas records
    /// late (default 0: the last second only).
    pub fn overlap_s(mut self, overlap_s: i64) -> Self {
        self.overlap_s = overlap_s.max(0);
        self
    }

    /// Only this stream processor's lines.
    pub fn processor(mut self, name: impl Into<String>) -> Self {
        self.processor = Some(name.into());
        self
    }

    /// The first second of the window, epoch seconds (not with a checkpoint).
    pub fn start_s(mut self, start_s: i64) -> Self {
        self.start_s = Some(start_s);
        self
    }

    /// The last second of the window, epoch seconds: now, for a run from cron.
    pub fn end_s(mut self, end_s: i64) -> Self {
        self.end_s = Some(end_s);
        self
    }

    /// The export, ready to run.
    ///
    /// # Errors
    ///
    /// A setting is missing or contradicts another, naming it.
    pub fn build(self) -> Result<AuditLogExport, AuditBuildError> {
        let end_s = self.end_s.ok_or(AuditBuildError::NoEnd)?;
        for (parameter, value) in [("start_s", self.start_s), ("end_s", Some(end_s))] {
            if let Some(value) = value.filter(|v| *v >= SECONDS_BELOW) {
                return Err(AuditBuildError::NotSeconds { parameter, value });
            }
        }
        let (from_s, remembered) = match (&self.resume, self.start_s) {
            (Some(_), Some(_)) => return Err(AuditBuildError::StartAndCheckpoint),
            (None, None) => return Err(AuditBuildError::NoStart),
            (None, Some(start_s)) => {
                if end_s < start_s {
                    return Err(AuditBuildError::Backwards { start_s, end_s });
                }
                (start_s.max(0), Vec::new())
            }
            (Some(checkpoint), None) => {
                checkpoint.validate()?;
                checkpoint.check_resume(
                    &self.group_id,
                    &self.workspace,
                    self.processor.as_deref(),
                    end_s,
                )?;
                (
                    checkpoint.through_s - checkpoint.overlap_s,
                    checkpoint.remembered(),
                )
            }
        };
        Ok(AuditLogExport {
            client: self.client,
            group_id: self.group_id,
            workspace: self.workspace,
            processor: self.processor,
            from_s,
            end_s,
            overlap_s: self.overlap_s,
            remembered,
        })
    }
}

/// One run of a workspace's audit log: the lines of seconds `from` to `end` not delivered
/// before. Owns what it needs (`Send + 'static`).
pub struct AuditLogExport {
    client: Client,
    group_id: String,
    workspace: String,
    processor: Option<String>,
    from_s: i64,
    end_s: i64,
    overlap_s: i64,
    remembered: Vec<u64>,
}

/// What the export is; the lines it remembers counted, not listed.
impl std::fmt::Debug for AuditLogExport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLogExport")
            .field("group_id", &self.group_id)
            .field("workspace", &self.workspace)
            .field("processor", &self.processor)
            .field("window_s", &(self.from_s, self.end_s))
            .field("overlap_s", &self.overlap_s)
            .field("remembered", &self.remembered.len())
            .finish_non_exhaustive()
    }
}

/// What a run of an [`AuditLogExport`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditReport {
    /// Lines written.
    pub lines: u64,
    /// Lines of the answer not written: delivered by an earlier run, or outside the
    /// wanted window (the extra second asked for).
    pub skipped: u64,
    /// The window listed, `[from, end]` in epoch seconds.
    pub window: (i64, i64),
    /// Where the next run starts.
    pub checkpoint: AuditCheckpoint,
}

impl AuditLogExport {
    /// An export of `workspace`'s audit log in project `group_id`, from a cheap clone of
    /// `client`.
    pub fn builder(client: &Client, group_id: &str, workspace: &str) -> AuditLogExportBuilder {
        AuditLogExportBuilder {
            client: client.clone(),
            group_id: group_id.to_string(),
            workspace: workspace.to_string(),
            processor: None,
            start_s: None,
            end_s: None,
            overlap_s: 0,
            resume: None,
        }
    }

    /// An export continuing after `checkpoint`, of the same workspace and stream processor.
    pub fn resume_builder(client: &Client, checkpoint: &AuditCheckpoint) -> AuditLogExportBuilder {
        AuditLogExportBuilder {
            processor: checkpoint.processor.clone(),
            overlap_s: checkpoint.overlap_s,
            resume: Some(checkpoint.clone()),
            ..Self::builder(client, &checkpoint.group_id, &checkpoint.workspace)
        }
    }

    /// Downloads the window (one second earlier than wanted, whatever Atlas's reading of
    /// the bounds), decompresses it as it arrives (CRC and length checked) and writes each
    /// line not delivered before to `out`, followed by `\n`.
    ///
    /// # Errors
    ///
    /// The download failed or broke off (it is not retried: run again), the file is not a
    /// complete gzip file, a line has no readable time, is longer than 16 MiB or lies
    /// outside the window asked for, a line delivered before is missing from the answer
    /// (Atlas sends it otherwise now, or no longer keeps it), more than [`MAX_REMEMBERED`]
    /// lines fall in the seconds to remember, or `out` could not be written. Nothing
    /// written to `out` counts as delivered then: keep the old checkpoint.
    pub async fn write_to(self, out: &mut (dyn Write + Send)) -> Result<AuditReport, AtlasError> {
        let asked_from = (self.from_s - 1).max(0);
        // The seconds to remember: the last one and `overlap_s` before it, none before the
        // window's start (what came before it was never this export's to deliver).
        let overlap_s = self.overlap_s.min(self.end_s - self.from_s).max(0);
        let mut call = self
            .client
            .download_audit_logs()
            .group_id(self.group_id.as_str())
            .tenant_name(self.workspace.as_str())
            .start_date(asked_from)
            .end_date(self.end_s);
        if let Some(processor) = &self.processor {
            call = call.sp_name(processor.as_str());
        }
        let mut body = call.send().await?.into_inner();
        let mut lines = Lines {
            out,
            asked: (asked_from, self.end_s),
            from_s: self.from_s,
            remember_from_s: self.end_s - overlap_s,
            remembered: self.remembered,
            last: Vec::new(),
            written: 0,
            skipped: 0,
            partial: Vec::new(),
        };
        {
            let mut gz = flate2::write::MultiGzDecoder::new(&mut lines);
            while let Some(chunk) = body.next().await {
                let chunk = chunk.map_err(|e| {
                    AtlasError::from(atlas_runtime::Error::<()>::CommunicationError(e))
                })?;
                if let Err(e) = gz.write_all(&chunk) {
                    return Err(decode_failure(e));
                }
            }
            gz.try_finish().map_err(decode_failure)?;
        }
        lines.end()?;
        if !lines.remembered.is_empty() {
            return Err(AtlasError::with_cause(
                ErrorKind::Incomplete,
                std::io::Error::other(format!(
                    "{} {} delivered before from second {} on {} missing from Atlas's answer (sent otherwise, or no longer kept): the run cannot tell what it delivered",
                    thousands(lines.remembered.len() as u64),
                    if lines.remembered.len() == 1 {
                        "line"
                    } else {
                        "lines"
                    },
                    self.from_s,
                    if lines.remembered.len() == 1 {
                        "is"
                    } else {
                        "are"
                    },
                )),
            ));
        }
        Ok(AuditReport {
            lines: lines.written,
            skipped: lines.skipped,
            window: (self.from_s, self.end_s),
            checkpoint: AuditCheckpoint {
                version: AUDIT_CHECKPOINT_VERSION,
                group_id: self.group_id,
                workspace: self.workspace,
                processor: self.processor,
                through_s: self.end_s,
                overlap_s,
                remembered: lines.last.iter().map(|f| format!("{f:016x}")).collect(),
            },
        })
    }
}

/// A failure while decompressing: the line handler's own, or a broken gzip file.
fn decode_failure(e: std::io::Error) -> AtlasError {
    if e.get_ref().is_some_and(|inner| inner.is::<LineFailure>()) {
        let inner = e.into_inner().expect("checked above");
        return inner
            .downcast::<LineFailure>()
            .map(|f| f.0)
            .unwrap_or_else(|other| AtlasError::decode(other.to_string()));
    }
    AtlasError::with_cause(
        ErrorKind::Corrupt,
        std::io::Error::other(format!("the audit log is not a complete gzip file: {e}")),
    )
}

/// A line handler's failure, carried through the decompressor's `io::Error`.
#[derive(Debug)]
struct LineFailure(AtlasError);

impl std::fmt::Display for LineFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for LineFailure {}

/// The decompressed text, cut into lines, each judged and written or skipped.
struct Lines<'a> {
    out: &'a mut (dyn Write + Send),
    /// The window asked for, epoch seconds.
    asked: (i64, i64),
    /// The first second wanted.
    from_s: i64,
    /// The first second whose lines the checkpoint remembers.
    remember_from_s: i64,
    /// Lines delivered before (of the seconds the last run remembered), to skip once each.
    remembered: Vec<u64>,
    /// Lines of the seconds to remember, delivered now or before.
    last: Vec<u64>,
    written: u64,
    skipped: u64,
    partial: Vec<u8>,
}

/// The longest line taken: a text without newlines is not an audit log.
const MAX_LINE: usize = 16 << 20;

impl Lines<'_> {
    fn line(&mut self, line: &[u8]) -> Result<(), AtlasError> {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            return Ok(());
        }
        let ms = line_time(line)?;
        let second = ms.div_euclid(1000);
        let (asked_from, end) = self.asked;
        if second < asked_from || second > end {
            return Err(AtlasError::with_cause(
                ErrorKind::Incomplete,
                std::io::Error::other(format!(
                    "Atlas's audit log holds a line of second {second}, outside the window asked for ({asked_from} to {end}): its reading of the window is not one this export knows"
                )),
            ));
        }
        if second < self.from_s {
            self.skipped += 1;
            return Ok(());
        }
        let fingerprint = fnv1a(line);
        let delivered_before = match self.remembered.iter().position(|f| *f == fingerprint) {
            Some(i) => {
                self.remembered.swap_remove(i);
                true
            }
            None => false,
        };
        if second >= self.remember_from_s {
            if self.last.len() == MAX_REMEMBERED {
                return Err(AtlasError::with_cause(
                    ErrorKind::Incomplete,
                    std::io::Error::other(format!(
                        "more than {} lines fall in the seconds a checkpoint remembers (from {} to {end}): use a shorter overlap",
                        thousands(MAX_REMEMBERED as u64),
                        self.remember_from_s
                    )),
                ));
            }
            self.last.push(fingerprint);
        }
        if delivered_before {
            self.skipped += 1;
            return Ok(());
        }
        self.out
            .write_all(line)
            .and_then(|()| self.out.write_all(b"\n"))
            .map_err(|e| AtlasError::with_cause(ErrorKind::Io, e))?;
        self.written += 1;
        Ok(())
    }

    /// The last line, if the text does not end with a newline.
    fn end(&mut self) -> Result<(), AtlasError> {
        let rest = std::mem::take(&mut self.partial);
        if !rest.is_empty() {
            self.line(&rest)?;
        }
        Ok(())
    }
}

impl Write for Lines<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut rest = buf;
        while let Some(at) = rest.iter().position(|&b| b == b'\n') {
            let (head, tail) = rest.split_at(at);
            let result = if self.partial.is_empty() {
                self.line(head)
            } else {
                let mut line = std::mem::take(&mut self.partial);
                line.extend_from_slice(head);
                self.line(&line)
            };
            if let Err(failure) = result {
                return Err(std::io::Error::other(LineFailure(failure)));
            }
            rest = &tail[1..];
        }
        self.partial.extend_from_slice(rest);
        if self.partial.len() > MAX_LINE {
            let failure = AtlasError::decode(format!(
                "an audit-log line is longer than {} bytes: the file is not an audit log",
                thousands(MAX_LINE as u64)
            ));
            return Err(std::io::Error::other(LineFailure(failure)));
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The time of an audit event, epoch milliseconds: its `ts.$date`, an ISO 8601 string,
/// a number of milliseconds, or `{"$numberLong": "..."}`.
fn line_time(line: &[u8]) -> Result<i64, AtlasError> {
    #[derive(Deserialize)]
    struct Event {
        ts: Ts,
    }
    #[derive(Deserialize)]
    struct Ts {
        #[serde(rename = "$date")]
        date: serde_json::Value,
    }
    let unreadable = || {
        AtlasError::decode(format!(
            "an audit-log line has no readable time (ts.$date): {}",
            String::from_utf8_lossy(&line[..line.len().min(200)])
        ))
    };
    let event: Event = atlas_runtime::strict::from_slice(line).map_err(|_| unreadable())?;
    let ms = match &event.ts.date {
        serde_json::Value::String(text) => {
            atlas_runtime::parse_timestamp(text).map(|t| t.timestamp_millis())
        }
        serde_json::Value::Number(n) => n.as_i64(),
        serde_json::Value::Object(o) => o
            .get("$numberLong")
            .and_then(serde_json::Value::as_str)
            .and_then(|s| s.parse().ok()),
        _ => None,
    };
    ms.ok_or_else(unreadable)
}

/// 64-bit FNV-1a of a line's bytes.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, b| {
        (hash ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(second: i64, n: u32) -> String {
        let iso = chrono::DateTime::from_timestamp(second, n * 1_000_000)
            .unwrap()
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        format!(r#"{{"atype":"authCheck","ts":{{"$date":"{iso}"}},"n":{n}}}"#)
    }

    /// Lines judged by their second: before the wanted window skipped, remembered ones
    /// skipped once, the last second's remembered; a line outside the window asked for
    /// stops the export.
    #[test]
    fn lines_are_kept_skipped_or_refused_by_their_second() {
        let mut out = Vec::new();
        let remembered = vec![fnv1a(event(100, 1).as_bytes())];
        let mut lines = Lines {
            out: &mut out,
            asked: (99, 102),
            from_s: 100,
            remember_from_s: 102,
            remembered,
            last: Vec::new(),
            written: 0,
            skipped: 0,
            partial: Vec::new(),
        };
        let text = [
            event(99, 0),
            event(100, 1),
            event(100, 2),
            event(101, 3),
            event(102, 4),
        ]
        .join("\n");
        lines.write_all(text.as_bytes()).unwrap();
        lines.end().unwrap();
        assert_eq!((lines.written, lines.skipped), (3, 2));
        assert_eq!(lines.last, vec![fnv1a(event(102, 4).as_bytes())]);
        let outside = lines.line(event(103, 5).as_bytes()).unwrap_err();
        assert_eq!(outside.kind(), ErrorKind::Incomplete);
        assert!(
            outside.to_string().contains("outside the window asked for"),
            "{outside}"
        );
        let early = lines.line(event(98, 6).as_bytes()).unwrap_err();
        assert_eq!(early.kind(), ErrorKind::Incomplete);
        let undated = lines.line(br#"{"atype":"authCheck"}"#).unwrap_err();
        assert_eq!(undated.kind(), ErrorKind::Decode);
        let written = String::from_utf8(out).unwrap();
        assert_eq!(
            written,
            [event(100, 2), event(101, 3), event(102, 4), String::new()].join("\n")
        );
    }

    fn lines_of<'a>(
        out: &'a mut Vec<u8>,
        from_s: i64,
        end_s: i64,
        remember_from_s: i64,
        remembered: Vec<u64>,
    ) -> Lines<'a> {
        Lines {
            out,
            asked: (from_s - 1, end_s),
            from_s,
            remember_from_s,
            remembered,
            last: Vec::new(),
            written: 0,
            skipped: 0,
            partial: Vec::new(),
        }
    }

    /// The same line twice in a second is two lines: one remembered is skipped once. A
    /// line Atlas recorded late in a remembered second is delivered.
    #[test]
    fn remembered_lines_are_a_multiset_and_late_ones_come_through() {
        let twice = event(100, 1);
        let late = event(101, 2);
        let mut out = Vec::new();
        let remembered = vec![fnv1a(twice.as_bytes()), fnv1a(event(101, 3).as_bytes())];
        let mut lines = lines_of(&mut out, 100, 102, 100, remembered);
        for line in [&twice, &twice, &late, &event(101, 3)] {
            lines.line(line.as_bytes()).unwrap();
        }
        assert!(lines.remembered.is_empty());
        assert_eq!((lines.written, lines.skipped), (2, 2));
        assert_eq!(lines.last.len(), 4, "every line of the remembered seconds");
        assert_eq!(
            String::from_utf8(out).unwrap(),
            format!("{twice}\n{late}\n")
        );
    }

    /// A line without end, or longer than any audit line, stops the export.
    #[test]
    fn a_text_without_newlines_is_refused() {
        let mut out = Vec::new();
        let mut lines = lines_of(&mut out, 100, 102, 102, Vec::new());
        let chunk = vec![b'x'; 1 << 20];
        let mut refused = false;
        for _ in 0..20 {
            if lines.write(&chunk).is_err() {
                refused = true;
                break;
            }
        }
        assert!(refused);
    }

    #[test]
    fn times_in_every_form_and_none_without() {
        let at = |line: &str| line_time(line.as_bytes()).ok();
        assert_eq!(
            at(r#"{"atype":"authenticate","ts":{"$date":"2026-11-01T12:00:00.123Z"}}"#),
            Some(1_793_534_400_123)
        );
        assert_eq!(
            at(r#"{"ts":{"$date":1793534400123}}"#),
            Some(1_793_534_400_123)
        );
        assert_eq!(
            at(r#"{"ts":{"$date":{"$numberLong":"1793534400123"}}}"#),
            Some(1_793_534_400_123)
        );
        for none in [
            r#"{"atype":"x"}"#,
            "not json",
            r#"{"ts":{"$date":"soon"}}"#,
            "[1]",
        ] {
            assert_eq!(at(none), None, "{none}");
        }
    }
}
