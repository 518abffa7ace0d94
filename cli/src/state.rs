//! The state file that makes `atlas-logs export` runs from cron deliver every entry exactly
//! once, and the writing of the library's exact export ([`atlas_log_export`]) as NDJSON.
//!
//! The state file holds the library's [`Checkpoint`] and, between two steps of a delivery,
//! the name of the finished output still under its temporary name. A run:
//! 1. reads the state file strictly; if it names a delivery in progress (the previous run
//!    died between steps 4 and 6), finishes it: renames the temporary file into place if it
//!    is still there, then clears the record;
//! 2. checks that the output and the state file can be written, before any request;
//! 3. exports the window into a uniquely named temporary file beside the output, synced;
//! 4. writes the state file: the new checkpoint, and the temporary file's name;
//! 5. renames the temporary file over the output (the delivery);
//! 6. writes the state file without the record.
//!
//! Killed anywhere, the next run delivers each entry exactly once across the outputs: before
//! step 4 nothing was delivered and the old checkpoint stands; from step 4 on the new
//! checkpoint stands and the delivery is completed by whichever run gets there. Each file
//! write is atomic ([`AtomicFile`]). Output to standard output cannot be taken back: an
//! interrupted run says how many entries it wrote, and the unchanged checkpoint makes the
//! next run write them again.

use std::io::Write;
use std::path::{Path, PathBuf};

use atlas_client::{AtlasError, AtomicFile, Prepared};
use atlas_log_export::{AccessLogEntry, AccessLogExport, CheckpointFormat, StateFileError};

/// The state file: the checkpoint, and a delivery between its two steps (its format is
/// the library's).
pub use atlas_log_export::{Delivery, StateFile as State};

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Atlas refused or failed, or its answers did not allow an exact result.
    #[error(transparent)]
    Atlas(#[from] AtlasError),
    /// Output or state could not be written or read.
    #[error("{what}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    /// The run is being interrupted: nothing more is written or moved.
    #[error("interrupted")]
    Stopped,
    /// The state file cannot be used.
    #[error("{flag}: {}", path.display())]
    BadState {
        flag: &'static str,
        path: PathBuf,
        #[source]
        source: StateError,
    },
}

/// What is wrong with a state file.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("it cannot be read")]
    Read(#[source] std::io::Error),
    #[error(transparent)]
    Content(#[from] StateFileError),
}

impl ExportError {
    /// An I/O failure, saying what was being done.
    pub fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> Self {
        let what = what.into();
        move |source| Self::Io { what, source }
    }
}

/// Reads a state file strictly ([`State::from_json`]); `Ok(None)` when there is none yet.
/// `flag` names the flag that gave it.
pub fn load<C: CheckpointFormat>(
    path: &Path,
    flag: &'static str,
) -> Result<Option<State<C>>, ExportError> {
    let bad = |source: StateError| ExportError::BadState {
        flag,
        path: path.to_path_buf(),
        source,
    };
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(bad(StateError::Read(e))),
    };
    State::from_json(&text)
        .map(Some)
        .map_err(|e| bad(StateError::Content(e)))
}

/// Whether `path` holds a state file of this program (of either export), damaged fields
/// and all: a JSON object whose `checkpoint` has a `version`. Large files are outputs.
pub fn is_state_file(path: &Path) -> bool {
    const LARGEST: u64 = 4 << 20;
    let small = std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.len() <= LARGEST);
    small
        && std::fs::read(path)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
            .is_some_and(|v| v["checkpoint"]["version"].is_number())
}

/// Writes the state file atomically.
pub fn save<C: CheckpointFormat>(state: &State<C>, path: &Path) -> Result<(), ExportError> {
    let text = state.to_json();
    let write = || -> std::io::Result<()> {
        let mut file = AtomicFile::create(path)?;
        file.file().write_all(text.as_bytes())?;
        file.commit()
    };
    write().map_err(ExportError::io(format!(
        "cannot write the checkpoint {}",
        path.display()
    )))
}

/// Step 1: completes a delivery the previous run prepared but did not finish. Returns the
/// output it delivered, if it did.
pub fn finish_delivery<C: CheckpointFormat>(
    state: &mut State<C>,
    path: &Path,
) -> Result<Option<PathBuf>, ExportError> {
    let Some(delivery) = state.delivery.take() else {
        return Ok(None);
    };
    let delivered = atlas_client::finish_delivery(&delivery.temp, &delivery.out).map_err(
        ExportError::io(format!("cannot deliver {}", delivery.out.display())),
    )?;
    save(state, path)?;
    Ok(delivered.then_some(delivery.out))
}

/// The directory a file output is written in.
pub fn dir_of(out: &Path) -> &Path {
    match out.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// Removes the temporary files that killed runs left half-written in `dirs` (only files
/// of ours that no live process holds: [`atlas_client::runtime::remove_stale_temporaries`])
/// and says so unless `quiet`. A directory that cannot be read is left to the write that
/// follows, which names it.
pub fn remove_stale<'a>(dirs: impl IntoIterator<Item = &'a Path>, quiet: bool) {
    let mut dirs: Vec<&Path> = dirs.into_iter().collect();
    dirs.sort();
    dirs.dedup();
    for dir in dirs {
        let Ok(removed) = atlas_client::runtime::remove_stale_temporaries(dir) else {
            continue;
        };
        if !removed.is_empty() && !quiet {
            let n = removed.len() as u64;
            eprintln!(
                "removed {n} {} that interrupted runs left in {}",
                crate::output::plural(n, "temporary file", "temporary files"),
                dir.display()
            );
        }
    }
}

/// What an export did.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Report {
    /// Entries written.
    pub entries: u64,
    /// Access-history requests made, probes included.
    pub requests: u64,
    /// Of those, requests made to learn how Atlas pages or reads the window.
    pub probes: u64,
    /// How much of the window is listed, 0 to 1.
    pub done: f64,
    /// The window, `[start, end]` in epoch milliseconds.
    pub window: (i64, i64),
}

/// The buffer between an export and its output file: a megabyte, so that the tens of
/// megabytes of an export go to the file in tens of writes, not thousands.
pub const WRITE_BUFFER: usize = 1 << 20;

/// Step 3: writes every entry of the export to `out` as NDJSON (each line the object Atlas
/// sent). `progress` hears of each entry.
pub async fn write_entries(
    export: &mut AccessLogExport,
    out: &mut (dyn Write + Send),
    mut progress: impl FnMut(&Report),
) -> Result<Report, ExportError> {
    let mut report = Report {
        window: export.progress().window,
        ..Report::default()
    };
    while let Some(entry) = export.next_entry().await? {
        // Written and counted under the commit gate: an interruption reports exactly this.
        let _gate = crate::commit_gate().ok_or(ExportError::Stopped)?;
        write_entry(&entry, out)?;
        report.entries += 1;
        let now = export.progress();
        report.requests = now.requests;
        report.probes = now.probes;
        report.done = now.done_fraction;
        progress(&report);
    }
    let now = export.progress();
    report.requests = now.requests;
    report.probes = now.probes;
    report.done = 1.0;
    Ok(report)
}

fn write_entry(entry: &AccessLogEntry, out: &mut dyn Write) -> Result<(), ExportError> {
    out.write_all(entry.raw_bytes())
        .and_then(|()| out.write_all(b"\n"))
        .map_err(ExportError::io("cannot write an entry"))
}

/// `path` from the root, as far as the working directory can be known.
fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Steps 4 to 6 for a file output: record, deliver, clear. Runs without awaiting, so an
/// interruption of the program's future cannot fall between the steps.
pub fn deliver<C: CheckpointFormat>(
    prepared: Prepared,
    checkpoint: C,
    state_path: Option<&Path>,
) -> Result<(), ExportError> {
    let out = prepared.destination().to_path_buf();
    let Some(state_path) = state_path else {
        return prepared
            .commit()
            .map_err(ExportError::io(format!("cannot write {}", out.display())));
    };
    let mut state = State {
        checkpoint,
        // Absolute, so that a run from another working directory can complete it.
        delivery: Some(Delivery {
            temp: absolute(prepared.temp()),
            out: absolute(&out),
        }),
    };
    // Step 4: if this fails, nothing is delivered and the old checkpoint stands.
    save(&state, state_path)?;
    // Step 5. From here on the delivery is recorded: keep the temporary file whatever
    // happens, so a later run can complete it.
    let temp = prepared.keep();
    atlas_client::finish_delivery(&temp, &out)
        .map_err(ExportError::io(format!("cannot write {}", out.display())))?;
    // Step 6.
    state.delivery = None;
    save(&state, state_path)
}
