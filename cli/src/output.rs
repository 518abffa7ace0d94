//! Where output goes and how it looks: tables for people, atomic files, progress on a
//! terminal.

use std::io::Write;
use std::path::{Path, PathBuf};

use atlas_client::types::MongoDbAccessLogs;

use atlas_client::AtomicFile;

use crate::export::Report;

/// Entries as a table: time, user, source, IP, host, result, reason.
pub fn table(entries: &[MongoDbAccessLogs], out: &mut impl Write) -> std::io::Result<()> {
    let rows: Vec<[String; 7]> = entries
        .iter()
        .map(|e| {
            let text = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".to_string());
            [
                e.time()
                    .map(|t| t.format("%Y-%m-%d %H:%M:%S%.3f").to_string())
                    .unwrap_or_else(|| text(&e.timestamp)),
                text(&e.username),
                text(&e.auth_source),
                text(&e.ip_address),
                text(&e.hostname),
                match e.auth_result {
                    Some(true) => "ok".to_string(),
                    Some(false) => "FAILED".to_string(),
                    None => "-".to_string(),
                },
                e.failure_reason.clone().unwrap_or_default(),
            ]
        })
        .collect();
    let header = [
        "TIME (UTC)",
        "USER",
        "SOURCE",
        "IP",
        "HOST",
        "RESULT",
        "REASON",
    ];
    let mut widths = header.map(str::len);
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: &[&str]| {
        let mut s = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                s.push_str(cell);
            } else {
                s.push_str(&format!("{cell:<w$}  ", w = widths[i]));
            }
        }
        s.trim_end().to_string()
    };
    writeln!(out, "{}", line(&header))?;
    for row in &rows {
        let cells: Vec<&str> = row.iter().map(String::as_str).collect();
        writeln!(out, "{}", line(&cells))?;
    }
    writeln!(out, "{} entries", rows.len())
}

/// Where NDJSON goes.
pub enum Destination {
    Stdout,
    File(PathBuf),
}

impl Destination {
    /// `-` for standard output, else a file whose directory must be writable now.
    pub fn parse(value: &str) -> Result<Self, String> {
        if value == "-" {
            return Ok(Self::Stdout);
        }
        let path = PathBuf::from(value);
        if path.is_dir() {
            return Err(format!(
                "--out: {} is a directory; name a file",
                path.display()
            ));
        }
        AtomicFile::create(&path)
            .map_err(|e| format!("--out: cannot write {}: {e}", path.display()))?;
        Ok(Self::File(path))
    }
}

/// Fails unless `--out` of the audit-log command can be written: an existing directory, or
/// a file in one.
pub fn check_writable(out: &Path) -> Result<(), String> {
    let cannot = |e: std::io::Error| format!("cannot write {}: {e}", out.display());
    if out.is_dir() {
        AtomicFile::create_in(out).map_err(cannot)?;
    } else {
        AtomicFile::create(out).map_err(cannot)?;
    }
    Ok(())
}

/// Pages, entries and rate on stderr, when stderr is a terminal.
pub struct Progress(Option<indicatif::ProgressBar>);

impl Progress {
    pub fn new(terminal: bool) -> Self {
        Self(terminal.then(|| {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.set_style(
                indicatif::ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
                    .expect("a valid template"),
            );
            bar.enable_steady_tick(std::time::Duration::from_millis(120));
            bar
        }))
    }

    pub fn update(&self, report: &Report) {
        if let Some(bar) = &self.0 {
            let seconds = bar.elapsed().as_secs_f64().max(0.001);
            bar.set_message(format!(
                "{} requests, {} entries, {:.0} entries/s",
                report.requests,
                report.entries,
                report.entries as f64 / seconds
            ));
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}
