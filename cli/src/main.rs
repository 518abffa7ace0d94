//! `atlas-logs`: MongoDB Atlas access logs and stream audit logs, from the command line.

mod args;
mod audit;
mod clock;
mod exit;
mod export;
mod memory;
mod output;
mod session;
mod state;
mod time;
mod validate;

use std::io::Write;
use std::process::ExitCode;

use atlas_client::{AtlasError, DownloadError, ErrorKind, one_line};
use clap::Parser;
use tracing_subscriber::EnvFilter;

use crate::args::{AccessArgs, AuditArgs, AuthResult, Cli, Command, Format, Global, WindowArgs};
use crate::output::TableStyle;
use crate::state::ExportError;

/// A failure and the exit code it maps to.
pub struct Failure {
    pub code: u8,
    pub message: String,
}

impl Failure {
    /// Bad usage or input: exit code 2.
    pub fn usage(message: impl Into<String>) -> Self {
        Self {
            code: exit::USAGE,
            message: message.into(),
        }
    }
}

impl From<AtlasError> for Failure {
    fn from(e: AtlasError) -> Self {
        let code = if e.kind() == ErrorKind::InvalidRequest {
            exit::USAGE
        } else if e.kind() == ErrorKind::Incomplete {
            exit::INCOMPLETE
        } else if e.is_unauthorized() || e.is_forbidden() {
            exit::AUTH
        } else if e.is_not_found() {
            exit::NOT_FOUND
        } else if e.is_rate_limited() {
            exit::RATE_LIMITED
        } else {
            exit::FAILURE
        };
        Self {
            code,
            message: e.to_string(),
        }
    }
}

impl From<ExportError> for Failure {
    fn from(e: ExportError) -> Self {
        match e {
            ExportError::Atlas(e) => e.into(),
            ExportError::BadState { .. } => Self::usage(one_line(&e)),
            other => Self {
                code: exit::FAILURE,
                message: one_line(&other),
            },
        }
    }
}

impl From<DownloadError> for Failure {
    fn from(e: DownloadError) -> Self {
        AtlasError::from(e).into()
    }
}

fn main() -> ExitCode {
    memory::return_large_buffers();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => e.exit(),
        Err(e) => {
            eprintln!("{}", clap_one_line(&e.render().to_string()));
            return ExitCode::from(exit::USAGE);
        }
    };
    log_to_stderr(cli.global.verbose);
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime starts");
    let outcome = runtime.block_on(async {
        tokio::select! {
            outcome = run(cli) => outcome,
            signal = interrupted() => {
                // Targets run on other threads: stop them writing or moving checkpoints,
                // and wait for what is under way, so that the message stays true.
                STOPPING.store(true, std::sync::atomic::Ordering::SeqCst);
                let _all = COMMITS.write().unwrap_or_else(std::sync::PoisonError::into_inner);
                Err(Failure {
                    code: exit::signalled(signal),
                    message: interruption_message(signal),
                })
            }
        }
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("error: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}

/// clap's error as one line: its first paragraph (what is wrong, and the arguments it
/// names), then its tip, without the usage block.
fn clap_one_line(rendered: &str) -> String {
    let mut paragraphs = rendered.split("\n\n");
    let mut line = paragraphs
        .next()
        .unwrap_or_default()
        .lines()
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ");
    for paragraph in paragraphs {
        if let Some(tip) = paragraph.trim().strip_prefix("tip:") {
            line.push_str(&format!(" ({})", tip.trim()));
        }
    }
    line
}

/// Events on stderr: `-v` the client's own (requests, retries, auth), `-vv` every
/// library's; `RUST_LOG`, when set, decides instead.
fn log_to_stderr(verbose: u8) {
    let filter = match std::env::var("RUST_LOG") {
        Ok(directives) if !directives.trim().is_empty() => EnvFilter::new(directives),
        _ => EnvFilter::new(match verbose {
            0 => "error",
            1 => "error,atlas_runtime=debug,atlas_client=debug,atlas_logs=debug",
            _ => "trace",
        }),
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(verbose > 1)
        .init();
}

/// Set when an interruption is being reported: targets write no more and move no
/// checkpoint from then on.
pub static STOPPING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Held shared by a target while it writes an entry or moves a checkpoint (and counts it
/// below); held whole by an interruption while it reads the counts. What the interruption
/// reports is then what happened: nothing is written or moved after it.
pub static COMMITS: std::sync::RwLock<()> = std::sync::RwLock::new(());

/// A target's share of [`COMMITS`], or `None` once an interruption is reported.
pub fn commit_gate() -> Option<std::sync::RwLockReadGuard<'static, ()>> {
    let guard = COMMITS
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    (!STOPPING.load(std::sync::atomic::Ordering::SeqCst)).then_some(guard)
}

/// Entries written to standard output by the export under way: what an interruption
/// must own up to.
pub static STDOUT_ENTRIES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Of those, entries of targets not finished, whose checkpoints have not moved on: the next
/// run writes them again.
pub static STDOUT_UNSAVED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Waits for SIGINT or SIGTERM (systemd's stop, `timeout`); returns its number.
async fn interrupted() -> u8 {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut int), Ok(mut term)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) else {
            return std::future::pending().await;
        };
        tokio::select! {
            _ = int.recv() => 2,
            _ = term.recv() => 15,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        2
    }
}

fn interruption_message(signal: u8) -> String {
    let name = if signal == 15 {
        "terminated"
    } else {
        "interrupted"
    };
    let written = STDOUT_ENTRIES.load(std::sync::atomic::Ordering::SeqCst);
    let unsaved = STDOUT_UNSAVED.load(std::sync::atomic::Ordering::SeqCst);
    let entries = |n| output::plural(n, "entry", "entries");
    match (written, unsaved) {
        (0, _) => format!(
            "{name}; no partial file was left, and no checkpoint of an unfinished target moved"
        ),
        (n, u) if n == u => format!(
            "{name} after writing {n} {} to standard output, which cannot be taken back; the checkpoint is unchanged, so the next run writes {} again",
            entries(n),
            if n == 1 { "it" } else { "them" }
        ),
        (n, u) => format!(
            "{name} after writing {n} {} to standard output, which cannot be taken back; {u} of them belong to unfinished targets, whose checkpoints are unchanged, so the next run writes those again",
            entries(n),
        ),
    }
}

async fn run(cli: Cli) -> Result<(), Failure> {
    let now = clock::now_ms(&cli.global)?;
    match &cli.command {
        Command::Access(args) => access(&cli.global, args, now).await,
        Command::Export(args) => export::command(&cli.global, args, now).await,
        Command::AuditLogs(args) => audit_logs(&cli.global, args, now).await,
    }
}

/// `--start`/`--end` or `--since`, checked: not before 2008, start not after end.
fn window(args: &WindowArgs, now: i64) -> Result<Option<(i64, i64)>, Failure> {
    let WindowArgs { start, end, since } = args;
    let at = |flag: &str, value: &str| {
        time::parse_time(value, now).map_err(|e| Failure::usage(format!("{flag} {e}")))
    };
    let window = match (start, end, since) {
        (Some(s), Some(e), _) => (at("--start", s)?, at("--end", e)?),
        (_, _, Some(ago)) => (
            time::since(ago, now).map_err(|e| Failure::usage(format!("--since {e}")))?,
            now,
        ),
        _ => return Ok(None),
    };
    time::not_after("--start", window.0, window.1).map_err(Failure::usage)?;
    Ok(Some(window))
}

async fn access(global: &Global, args: &AccessArgs, now: i64) -> Result<(), Failure> {
    // Every flag is checked before connecting: bad input sends nothing.
    let target = match (&args.cluster, &args.hostname) {
        (Some(cluster), _) => {
            validate::cluster(cluster).map_err(Failure::usage)?;
            atlas_log_export::Target::Cluster(cluster.clone())
        }
        (None, Some(host)) => {
            validate::hostname(host).map_err(Failure::usage)?;
            atlas_log_export::Target::Hostname(host.clone())
        }
        (None, None) => return Err(Failure::usage("give --cluster or --hostname")),
    };
    if let Some(ip) = &args.ip {
        validate::ip(ip).map_err(Failure::usage)?;
    }
    if args.output != Format::Table {
        for (given, flag) in [(args.wide, "--wide"), (args.local, "--local")] {
            if given {
                return Err(Failure::usage(format!(
                    "{flag} shapes the table: it does nothing with -o json or ndjson, which carry each entry as Atlas sent it"
                )));
            }
        }
    }
    let window = window(&args.window, now)?;
    let project = session::project(&args.project, global)?;
    let session = session::connect(global, now).await?;
    let group = session.group(project);
    let filters = atlas_log_export::Filters {
        window,
        auth_result: args.auth_result.map(|r| matches!(r, AuthResult::Success)),
        ip_address: args.ip.clone(),
        n_logs: args.limit.map(|n| n as u32),
    };
    let entries =
        atlas_log_export::fetch_entries(&session.client, &group, &target, &filters).await?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    // JSON and NDJSON carry each entry exactly as Atlas sent it.
    let written = match args.output {
        Format::Table => {
            let fields = entries
                .iter()
                .map(|e| e.fields())
                .collect::<Result<Vec<_>, _>>()?;
            let style = TableStyle {
                wide: args.wide,
                local: args.local,
            };
            output::table(&fields, style, &mut out)
        }
        Format::Json => {
            let raw: Vec<&str> = entries.iter().map(|e| e.raw_json()).collect();
            writeln!(out, "{{\"accessLogs\":[{}]}}", raw.join(","))
        }
        Format::Ndjson => entries
            .iter()
            .try_for_each(|e| writeln!(out, "{}", e.raw_json())),
    };
    written.map_err(|e| Failure {
        code: exit::FAILURE,
        message: format!("cannot write the output: {e}"),
    })
}

async fn audit_logs(global: &Global, args: &AuditArgs, now: i64) -> Result<(), Failure> {
    if args.checkpoint.is_some() || args.all_workspaces {
        return audit::incremental(global, args, now).await;
    }
    // Every flag is checked before connecting: bad input sends nothing.
    if args.overlap.is_some() {
        return Err(Failure::usage(
            "--overlap re-reads behind where the last run ended: give --checkpoint or --all-workspaces",
        ));
    }
    let tenant = args.tenant.as_deref().expect("clap requires --tenant here");
    validate::stream_name("--tenant", tenant).map_err(Failure::usage)?;
    if let Some(sp) = &args.sp_name {
        validate::stream_name("--sp-name", sp).map_err(Failure::usage)?;
    }
    let window = window(&args.window, now)?;
    if args.out.as_os_str() == "-" {
        return Err(Failure::usage(
            "--out -: audit-logs saves a file (verified whole before it appears); name a file, or an existing directory for Atlas's file name",
        ));
    }
    let out = validate::out_for(&args.out, tenant).map_err(Failure::usage)?;
    validate::audit_out(&out).map_err(Failure::usage)?;
    validate::not_a_checkpoint(&out, None).map_err(Failure::usage)?;
    let project = session::project(&args.project, global)?;
    // What killed downloads left half-written where this one writes: into `--out` itself
    // when it is a directory, else beside it.
    let into_dir = out.is_dir() || out.as_os_str().to_string_lossy().ends_with('/');
    let dir = if into_dir {
        out.as_path()
    } else {
        state::dir_of(&out)
    };
    state::remove_stale([dir], global.quiet);
    let session = session::connect(global, now).await?;
    let group = session.group(project);
    let mut call = session
        .client
        .download_audit_logs()
        .group_id(group.as_str())
        .tenant_name(tenant);
    if let Some((start, end)) = window {
        // Atlas takes seconds here: the start rounded down, the end up, so the window
        // asked for is covered.
        call = call
            .start_date(start.div_euclid(1000))
            .end_date(end.div_euclid(1000) + i64::from(end.rem_euclid(1000) != 0));
    }
    if let Some(sp) = &args.sp_name {
        call = call.sp_name(sp.as_str());
    }
    let saved = if args.decompress {
        call.save_decompressed_to(&out).await
    } else {
        call.save_to(&out).await
    }?;
    if !global.quiet {
        eprintln!(
            "saved {} ({} bytes received, {} written)",
            saved.path.display(),
            atlas_log_export::thousands(saved.bytes_received),
            atlas_log_export::thousands(saved.bytes_written)
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clap_errors_become_one_line() {
        let rendered = "error: unexpected argument '--clustr' found\n\n  tip: a similar argument exists: '--cluster'\n\nUsage: atlas-logs access --cluster <CLUSTER>\n\nFor more information, try '--help'.\n";
        assert_eq!(
            clap_one_line(rendered),
            "error: unexpected argument '--clustr' found (a similar argument exists: '--cluster')"
        );
        let rendered = "error: the following required arguments were not provided:\n  --tenant <TENANT>\n  --out <OUT>\n\nUsage: x\n";
        assert_eq!(
            clap_one_line(rendered),
            "error: the following required arguments were not provided: --tenant <TENANT> --out <OUT>"
        );
    }
}
