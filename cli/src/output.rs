//! How output looks: tables for people, progress on a terminal, plurals.

use std::io::Write;

use atlas_client::types::MongoDbAccessLogs;

/// How a table is laid out.
#[derive(Clone, Copy, Debug, Default)]
pub struct TableStyle {
    /// Every cell whole, however wide the rows get.
    pub wide: bool,
    /// Times in the local time zone instead of UTC.
    pub local: bool,
}

/// The width a table fits in unless it is wide.
pub const TABLE_COLUMNS: usize = 120;

/// Entries as a table: time, user, source, IP, host, result (with the failure's reason);
/// fitted to 120 columns unless `style.wide`, long cells cut with an ellipsis.
pub fn table(
    entries: &[MongoDbAccessLogs],
    style: TableStyle,
    out: &mut impl Write,
) -> std::io::Result<()> {
    let rows: Vec<[String; 6]> = entries
        .iter()
        .map(|e| {
            let text = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".to_string());
            let time = match e.time() {
                Some(t) if style.local => t
                    .with_timezone(&chrono::Local)
                    .format("%Y-%m-%d %H:%M:%S%.3f %:z")
                    .to_string(),
                Some(t) => t.format("%Y-%m-%d %H:%M:%S%.3f").to_string(),
                None => text(&e.timestamp),
            };
            let result = match (e.auth_result, &e.failure_reason) {
                (Some(true), _) => "ok".to_string(),
                (Some(false), Some(reason)) => format!("FAILED: {reason}"),
                (Some(false), None) => "FAILED".to_string(),
                (None, _) => "-".to_string(),
            };
            [
                time,
                text(&e.username),
                text(&e.auth_source),
                text(&e.ip_address),
                text(&e.hostname),
                result,
            ]
        })
        .collect();
    let header = [
        if style.local {
            "TIME (local)"
        } else {
            "TIME (UTC)"
        },
        "USER",
        "SOURCE",
        "IP",
        "HOST",
        "RESULT",
    ];
    let mut widths = header.map(|h| h.chars().count());
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    if !style.wide {
        fit(&mut widths, TABLE_COLUMNS);
    }
    let line = |cells: &[&str]| {
        let mut s = String::new();
        for (i, cell) in cells.iter().enumerate() {
            let cell = if i == HOST {
                cut_host(cell, widths[i])
            } else {
                cut(cell, widths[i])
            };
            if i + 1 == cells.len() {
                s.push_str(&cell);
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
    let n = rows.len() as u64;
    writeln!(out, "{n} {}", plural(n, "entry", "entries"))
}

const USER: usize = 1;
const SOURCE: usize = 2;
const IP: usize = 3;
const HOST: usize = 4;
const RESULT: usize = 5;

/// Narrows columns, in this order and down to these widths, until a row fits `total`
/// columns with two spaces between cells: the reason first, then the host (its first
/// label and port stay), the user, and so on; the time is never cut.
fn fit(widths: &mut [usize; 6], total: usize) {
    const STAGES: [(usize, usize); 9] = [
        (RESULT, 30),
        (HOST, 27),
        (RESULT, 16),
        (HOST, 21),
        (USER, 16),
        (SOURCE, 8),
        (RESULT, 8),
        (USER, 10),
        (IP, 15),
    ];
    let used = |w: &[usize; 6]| w.iter().sum::<usize>() + 2 * (w.len() - 1);
    for (column, floor) in STAGES {
        let excess = used(widths).saturating_sub(total);
        if excess == 0 {
            return;
        }
        let room = widths[column].saturating_sub(floor);
        widths[column] -= excess.min(room);
    }
}

/// `cell` in at most `width` characters, its end replaced by an ellipsis when cut.
fn cut(cell: &str, width: usize) -> String {
    if cell.chars().count() <= width {
        return cell.to_string();
    }
    let mut kept: String = cell.chars().take(width.saturating_sub(1)).collect();
    kept.push('…');
    kept
}

/// A hostname in at most `width` characters: when cut, its first label, an ellipsis for
/// the rest, and the port if that fits too (`cluster0-shard-00-01…:27017`).
fn cut_host(host: &str, width: usize) -> String {
    if host.chars().count() <= width {
        return host.to_string();
    }
    let (name, port) = match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => (name, port),
        _ => (host, ""),
    };
    let first = name.split('.').next().unwrap_or(name);
    [format!("{first}…:{port}"), format!("{first}…")]
        .into_iter()
        .filter(|short| !port.is_empty() || !short.ends_with(':'))
        .find(|short| short.chars().count() <= width)
        .unwrap_or_else(|| cut(host, width))
}

/// The singular or the plural, by count.
pub fn plural<'a>(n: u64, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}

/// Where an export stands, over all its targets.
#[derive(Clone, Copy, Debug, Default)]
pub struct Status {
    /// Entries written.
    pub entries: u64,
    /// Access-history requests made.
    pub requests: u64,
    /// How much of the window is listed, 0 to 1, averaged over the targets.
    pub done: f64,
    /// Targets finished.
    pub targets_done: usize,
    /// Targets in all.
    pub targets: usize,
}

/// The export's progress on stderr, when stderr is a terminal and output is not quiet;
/// its text is redrawn ten times a second, so updates between are dropped.
pub struct Progress {
    bar: Option<indicatif::ProgressBar>,
    last: std::sync::Mutex<Option<std::time::Instant>>,
}

/// How often the progress text changes at most.
const PROGRESS_EVERY: std::time::Duration = std::time::Duration::from_millis(100);

impl Progress {
    pub fn new(shown: bool) -> Self {
        let bar = shown.then(|| {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.set_style(
                indicatif::ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
                    .expect("a valid template"),
            );
            bar.enable_steady_tick(std::time::Duration::from_millis(120));
            bar
        });
        Self {
            bar,
            last: std::sync::Mutex::new(None),
        }
    }

    /// Whether there is a progress bar to update (standard error is a terminal).
    pub fn is_shown(&self) -> bool {
        self.bar.is_some()
    }

    /// Whether an update would be shown now: the bar is there and its text is due.
    pub fn is_due(&self) -> bool {
        self.bar.is_some()
            && self
                .last
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .is_none_or(|last| last.elapsed() >= PROGRESS_EVERY)
    }

    pub fn update(&self, status: &Status) {
        if let Some(bar) = &self.bar {
            *self
                .last
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) =
                Some(std::time::Instant::now());
            let seconds = bar.elapsed().as_secs_f64().max(0.001);
            let targets = if status.targets > 1 {
                format!(
                    ", {} of {} targets done",
                    status.targets_done, status.targets
                )
            } else {
                String::new()
            };
            bar.set_message(format!(
                "{:.0}% of the window, {} {}, {} {}, {:.0} entries/s{targets}",
                status.done * 100.0,
                status.entries,
                plural(status.entries, "entry", "entries"),
                status.requests,
                plural(status.requests, "request", "requests"),
                status.entries as f64 / seconds
            ));
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_cut_to_fit() {
        let mut widths = [23, 17, 9, 23, 44, 80];
        fit(&mut widths, TABLE_COLUMNS);
        assert!(widths.iter().sum::<usize>() + 10 <= TABLE_COLUMNS);
        assert_eq!(
            widths[..4],
            [23, 17, 9, 23],
            "time, user, source and IP stay whole"
        );
        assert!(widths[HOST] >= 21 && widths[RESULT] >= 16, "{widths:?}");
        let mut narrow = [23, 10, 5, 15, 20, 20];
        fit(&mut narrow, TABLE_COLUMNS);
        assert_eq!(narrow, [23, 10, 5, 15, 20, 20], "what fits is left alone");
        assert_eq!(cut("abcdef", 4), "abc…");
        assert_eq!(cut("abc", 4), "abc");
        assert_eq!(
            cut_host("cluster0-shard-00-01.4d9jq.mongodb.net:27017", 27),
            "cluster0-shard-00-01…:27017"
        );
        assert_eq!(
            cut_host("cluster0-shard-00-01.4d9jq.mongodb.net", 22),
            "cluster0-shard-00-01…"
        );
        assert_eq!(cut_host("averyveryverylonglabel.example", 10), "averyvery…");
    }

    #[test]
    fn plurals() {
        assert_eq!(plural(1, "entry", "entries"), "entry");
        assert_eq!(plural(0, "entry", "entries"), "entries");
        assert_eq!(plural(2, "entry", "entries"), "entries");
    }
}
