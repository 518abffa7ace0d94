//! `atlas-logs`: MongoDB Atlas access logs and stream audit logs, from the command line.

mod export;
mod memory;
mod output;
mod time;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use atlas_client::{
    AtlasError, AtomicFile, BuildError, Client, DownloadError, ErrorKind, one_line,
};
use clap::{Args, Parser, Subcommand, ValueEnum};

use atlas_client::export::{AccessLogExport, Filters};

use crate::export::{ExportError, State, Target};

const EXIT_HELP: &str = "\
Exit codes:
  0  success
  1  other failure
  2  bad usage or input (nothing was sent, nothing was written)
  3  authentication or authorization failed
  4  not found (project, cluster, host or workspace)
  5  rate limit still exceeded after retrying
  6  export incomplete: more than 20,000 entries share one millisecond
  130 interrupted (Ctrl-C); no partial output is left";

/// Get MongoDB Atlas access logs out, every one of them, and download stream audit logs.
///
/// Credentials come from MONGODB_ATLAS_CLIENT_ID/MONGODB_ATLAS_CLIENT_SECRET (service
/// account), MONGODB_ATLAS_PUBLIC_API_KEY/MONGODB_ATLAS_PRIVATE_API_KEY (API key), or a
/// profile of the Atlas CLI's config file (--profile). Times accept RFC 3339, epoch
/// milliseconds, or a duration ago (90m, 24h, 7d).
#[derive(Parser)]
#[command(name = "atlas-logs", version, after_help = EXIT_HELP)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    #[command(flatten)]
    global: Global,
}

#[derive(Args)]
struct Global {
    /// Atlas base URL [default: https://cloud.mongodb.com, or MONGODB_ATLAS_OPS_MANAGER_URL].
    #[arg(long, global = true)]
    base_url: Option<String>,
    /// Atlas CLI profile to read credentials from [default: default].
    #[arg(long, short = 'P', global = true)]
    profile: Option<String>,
    /// Log what happens on stderr (-v: retries and auth, -vv: everything).
    #[arg(long, short, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// Run against a fake Atlas started in-process on loopback, with demo data and credentials.
    #[arg(long, global = true)]
    demo: bool,
}

#[derive(Subcommand)]
enum Command {
    /// One access-history call, like `atlas accessLogs list`.
    Access(AccessArgs),
    /// Every access-log entry of a window as NDJSON, however many there are.
    Export(ExportArgs),
    /// Download the audit log of a stream processing workspace (streamed, verified, atomic).
    AuditLogs(AuditArgs),
}

#[derive(Args)]
struct TargetArgs {
    /// The project (24 lowercase hex digits); with --demo, the demo project by default.
    #[arg(long)]
    group_id: Option<String>,
    /// The cluster, by name.
    #[arg(long, conflicts_with = "hostname")]
    cluster: Option<String>,
    /// One process, by hostname (with or without :port).
    #[arg(long)]
    hostname: Option<String>,
}

#[derive(Args)]
struct AccessArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Beginning of the window (with --end).
    #[arg(long, requires = "end", conflicts_with = "since")]
    start: Option<String>,
    /// End of the window (with --start).
    #[arg(long, requires = "start")]
    end: Option<String>,
    /// The window from this long ago until now (90m, 24h, 7d).
    #[arg(long)]
    since: Option<String>,
    /// Only successful or only failed attempts.
    #[arg(long, value_enum)]
    auth_result: Option<AuthResult>,
    /// Only attempts from this client IP address.
    #[arg(long)]
    ip: Option<String>,
    /// At most this many entries, the newest (0 to 20000).
    #[arg(long, value_parser = clap::value_parser!(i32).range(0..=20_000))]
    limit: Option<i32>,
    /// Output format.
    #[arg(long, short, value_enum, default_value = "table")]
    output: Format,
}

#[derive(Clone, Copy, ValueEnum)]
enum AuthResult {
    Success,
    Failure,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Table,
    Json,
    Ndjson,
}

#[derive(Args)]
struct ExportArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Beginning of the window [default: 7 days ago, or the checkpoint].
    #[arg(long)]
    start: Option<String>,
    /// End of the window [default: now].
    #[arg(long)]
    end: Option<String>,
    /// Resume from, and update, this checkpoint file: each entry comes out once across runs.
    #[arg(long)]
    checkpoint: Option<PathBuf>,
    /// With --checkpoint: read again this far back from where the last run ended (`10m`),
    /// and write only entries not written before, to catch entries Atlas records late.
    #[arg(long, requires = "checkpoint")]
    overlap: Option<String>,
    /// Write NDJSON here (atomically), or to standard output with `-`.
    #[arg(long, default_value = "-")]
    out: String,
    /// No summary line on standard error (for cron).
    #[arg(long, short)]
    quiet: bool,
    /// Access-history calls made at once (1: one after another).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..=16))]
    concurrency: u16,
}

#[derive(Args)]
struct AuditArgs {
    /// The project (24 lowercase hex digits); with --demo, the demo project by default.
    #[arg(long)]
    group_id: Option<String>,
    /// The stream processing workspace.
    #[arg(long)]
    tenant: String,
    /// Only this stream processor's events.
    #[arg(long)]
    sp_name: Option<String>,
    /// Beginning of the window (with --end) [default: 30 days ago, Atlas's default].
    #[arg(long, requires = "end")]
    start: Option<String>,
    /// End of the window (with --start).
    #[arg(long, requires = "start")]
    end: Option<String>,
    /// A file, or a directory to save Atlas's file name in.
    #[arg(long)]
    out: PathBuf,
    /// Write the decompressed text instead of the gzip file.
    #[arg(long)]
    decompress: bool,
}

/// A failure and the exit code it maps to.
struct Failure {
    code: u8,
    message: String,
}

impl Failure {
    fn usage(message: impl Into<String>) -> Self {
        Self {
            code: 2,
            message: message.into(),
        }
    }
}

impl From<AtlasError> for Failure {
    fn from(e: AtlasError) -> Self {
        let code = if e.kind() == ErrorKind::InvalidRequest {
            2
        } else if e.kind() == ErrorKind::Incomplete {
            6
        } else if e.is_unauthorized() || e.is_forbidden() {
            3
        } else if e.is_not_found() {
            4
        } else if e.is_rate_limited() {
            5
        } else {
            1
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
                code: 1,
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
    let cli = Cli::parse();
    let level = match cli.global.verbose {
        0 => tracing::Level::ERROR,
        1 => tracing::Level::DEBUG,
        _ => tracing::Level::TRACE,
    };
    tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .with_target(cli.global.verbose > 1)
        .init();
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime starts");
    let outcome = runtime.block_on(async {
        tokio::select! {
            outcome = run(cli) => outcome,
            signal = interrupted() => Err(Failure {
                code: 128 + signal,
                message: interruption_message(signal),
            }),
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

/// Entries written to standard output by the export under way: what an interruption
/// must own up to.
static STDOUT_ENTRIES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

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
    match STDOUT_ENTRIES.load(std::sync::atomic::Ordering::SeqCst) {
        0 => format!("{name}; no output file was written and the checkpoint is unchanged"),
        n => format!(
            "{name} after writing {n} {} to standard output, which cannot be taken back; the checkpoint is unchanged, so the next run writes {} again",
            plural(n, "entry", "entries"),
            if n == 1 { "it" } else { "them" }
        ),
    }
}

fn plural<'a>(n: u64, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}

/// The client, and the demo server it talks to when there is one.
struct Session {
    client: Client,
    demo_group: Option<String>,
    _demo: Option<fake_atlas::FakeAtlas>,
}

async fn connect(global: &Global) -> Result<Session, Failure> {
    if global.demo {
        let now = chrono::Utc::now().timestamp_millis();
        let config = fake_atlas::Config {
            data: fake_atlas::DataConfig {
                now_ms: now,
                ..fake_atlas::DataConfig::default()
            },
            ..fake_atlas::Config::default()
        };
        let atlas = fake_atlas::FakeAtlas::start(config)
            .await
            .map_err(|e| Failure {
                code: 1,
                message: format!("cannot start the demo: {e}"),
            })?;
        let group = atlas.data().group_id.clone();
        eprintln!(
            "demo: fake Atlas at {} with project {group}, clusters Cluster0, analytics-prod, orders-eu-1, workspaces workspace0, workspace-eu",
            atlas.base_url()
        );
        let client = Client::builder()
            .base_url(atlas.base_url())
            .service_account(fake_atlas::DEMO_CLIENT_ID, fake_atlas::DEMO_CLIENT_SECRET)
            .build()
            .map_err(|e| Failure::usage(e.to_string()))?;
        return Ok(Session {
            client,
            demo_group: Some(group),
            _demo: Some(atlas),
        });
    }
    let mut builder = Client::builder().discover();
    if let Some(url) = &global.base_url {
        builder = builder.base_url(url);
    }
    if let Some(profile) = &global.profile {
        builder = builder.profile(profile);
    }
    let client = builder.build().map_err(|e| match e {
        BuildError::NoCredentials { .. } => Failure {
            code: 3,
            message: format!("{e}; or try --demo"),
        },
        e => Failure::usage(format!("--base-url/--profile: {}", one_line(&e))),
    })?;
    Ok(Session {
        client,
        demo_group: None,
        _demo: None,
    })
}

fn group_id(given: &Option<String>, session: &Session) -> Result<String, Failure> {
    let group = match (given, &session.demo_group) {
        (Some(g), _) => g.clone(),
        (None, Some(demo)) => demo.clone(),
        (None, None) => return Err(Failure::usage("--group-id is required")),
    };
    if group.len() != 24
        || !group
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return Err(Failure::usage(format!(
            "--group-id must be 24 lowercase hexadecimal digits; got {group:?}"
        )));
    }
    Ok(group)
}

fn target(args: &TargetArgs) -> Result<Target, Failure> {
    match (&args.cluster, &args.hostname) {
        (Some(cluster), _) => Ok(Target::Cluster(cluster.clone())),
        (None, Some(host)) => Ok(Target::Hostname(host.clone())),
        (None, None) => Err(Failure::usage(
            "one of --cluster and --hostname is required",
        )),
    }
}

fn time_flag(flag: &str, value: &Option<String>, now: i64) -> Result<Option<i64>, Failure> {
    value
        .as_deref()
        .map(|v| time::parse_time(v, now).map_err(|e| Failure::usage(format!("{flag}: {e}"))))
        .transpose()
}

fn check_window(start: i64, end: i64, start_flag: &str) -> Result<(), Failure> {
    if start > end {
        return Err(Failure::usage(format!(
            "{start_flag} must not be after --end"
        )));
    }
    Ok(())
}

async fn run(cli: Cli) -> Result<(), Failure> {
    let now = chrono::Utc::now().timestamp_millis();
    // Check every flag before connecting: bad input sends nothing.
    match &cli.command {
        Command::Access(args) => {
            target(&args.target)?;
            let since = args
                .since
                .as_deref()
                .map(|v| {
                    time::parse_duration(v).map_err(|e| Failure::usage(format!("--since: {e}")))
                })
                .transpose()?;
            let start = time_flag("--start", &args.start, now)?;
            let end = time_flag("--end", &args.end, now)?;
            if let (Some(s), Some(e)) = (start, end) {
                check_window(s, e, "--start")?;
            }
            let session = connect(&cli.global).await?;
            let group = group_id(&args.target.group_id, &session)?;
            let window = match (start, end, since) {
                (Some(s), Some(e), _) => Some((s, e)),
                (_, _, Some(ago)) => Some((now - ago, now)),
                _ => None,
            };
            access(&session.client, &group, args, window).await
        }
        Command::Export(args) => {
            target(&args.target)?;
            let start = time_flag("--start", &args.start, now)?;
            let end = time_flag("--end", &args.end, now)?.unwrap_or(now);
            if let Some(s) = start {
                check_window(s, end, "--start")?;
            }
            let overlap_ms = args
                .overlap
                .as_deref()
                .map(|v| {
                    time::parse_duration(v).map_err(|e| Failure::usage(format!("--overlap: {e}")))
                })
                .transpose()?;
            let out = output::Destination::parse(&args.out).map_err(Failure::usage)?;
            let mut state = None;
            if let Some(path) = &args.checkpoint {
                export::check_state_writable(path).map_err(Failure::usage)?;
                state = State::load(path)?;
                if let Some(state) = &mut state {
                    if args.start.is_some() {
                        return Err(Failure::usage(format!(
                            "--start conflicts with --checkpoint {}, which continues after {}; drop --start, or use another checkpoint",
                            path.display(),
                            state.checkpoint.through_ms
                        )));
                    }
                    if let Some(delivered) = state.finish_delivery(path)? {
                        eprintln!(
                            "delivered {}, which the previous run had finished but not put in place",
                            delivered.display()
                        );
                    }
                }
            }
            let session = connect(&cli.global).await?;
            let group = group_id(&args.target.group_id, &session)?;
            run_export(
                &session.client,
                &group,
                args,
                start,
                end,
                now,
                overlap_ms,
                out,
                state,
            )
            .await
        }
        Command::AuditLogs(args) => {
            let start = time_flag("--start", &args.start, now)?;
            let end = time_flag("--end", &args.end, now)?;
            if let (Some(s), Some(e)) = (start, end) {
                check_window(s, e, "--start")?;
            }
            output::check_writable(&args.out).map_err(|e| Failure::usage(format!("--out: {e}")))?;
            let session = connect(&cli.global).await?;
            let group = group_id(&args.group_id, &session)?;
            audit_logs(&session.client, &group, args, start.zip(end)).await
        }
    }
}

async fn access(
    client: &Client,
    group: &str,
    args: &AccessArgs,
    window: Option<(i64, i64)>,
) -> Result<(), Failure> {
    let filters = Filters {
        window,
        auth_result: args.auth_result.map(|r| matches!(r, AuthResult::Success)),
        ip_address: args.ip.clone(),
        n_logs: args.limit.map(|n| n as u32),
    };
    let entries =
        atlas_client::export::fetch_entries(client, group, &target(&args.target)?, &filters)
            .await?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    // JSON and NDJSON carry each entry exactly as Atlas sent it.
    let written = match args.output {
        Format::Table => {
            let fields = entries
                .iter()
                .map(|e| e.fields())
                .collect::<Result<Vec<_>, _>>()?;
            output::table(&fields, &mut out)
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
        code: 1,
        message: format!("cannot write the output: {e}"),
    })
}

#[allow(clippy::too_many_arguments)]
async fn run_export(
    client: &Client,
    group: &str,
    args: &ExportArgs,
    start: Option<i64>,
    end: i64,
    now: i64,
    overlap_ms: Option<i64>,
    out: output::Destination,
    state: Option<State>,
) -> Result<(), Failure> {
    let target = target(&args.target)?;
    let state_path = args.checkpoint.as_deref();
    let mut export = match &state {
        Some(state) => {
            AccessLogExport::check_checkpoint(&state.checkpoint, group, &target, None, None)
                .map_err(|e| Failure::usage(format!("--checkpoint: {e}")))?;
            AccessLogExport::resume(client, &state.checkpoint, end)
                .map_err(|e| Failure::usage(format!("--checkpoint: {e}; give a later --end")))?
        }
        None => AccessLogExport::new(
            client,
            group,
            target.clone(),
            start.unwrap_or(now - 7 * 86_400_000),
            end,
        ),
    };
    if let Some(overlap) = overlap_ms {
        export = export.overlap(overlap);
    }
    export = export.concurrency(usize::from(args.concurrency));
    let progress = output::Progress::new(std::io::stderr().is_terminal());
    let report = match out {
        output::Destination::Stdout => {
            let stdout = std::io::stdout();
            let mut writer = std::io::BufWriter::new(stdout.lock());
            let result = export::write_entries(&mut export, &mut writer, |report| {
                STDOUT_ENTRIES.store(report.entries, std::sync::atomic::Ordering::SeqCst);
                progress.update(report)
            })
            .await;
            progress.finish();
            let report = result?;
            writer
                .flush()
                .map_err(ExportError::io("cannot write standard output"))?;
            if let (Some(path), Some(checkpoint)) = (state_path, export.checkpoint()) {
                State {
                    checkpoint,
                    delivery: None,
                }
                .save(path)?;
            }
            report
        }
        output::Destination::File(path) => {
            let io = || ExportError::io(format!("cannot write {}", path.display()));
            let mut file = AtomicFile::create(&path).map_err(io())?;
            let mut writer = std::io::BufWriter::new(file.file());
            let result =
                export::write_entries(&mut export, &mut writer, |report| progress.update(report))
                    .await;
            progress.finish();
            let report = result?;
            writer.into_inner().map_err(|e| io()(e.into_error()))?;
            let prepared = file.prepare().map_err(io())?;
            let checkpoint = export
                .checkpoint()
                .expect("a finished export has a checkpoint");
            export::deliver(prepared, checkpoint, state_path)?;
            report
        }
    };
    if !args.quiet {
        eprintln!(
            "exported {} {} in {} {} ({} to learn how Atlas reads the window)",
            report.entries,
            plural(report.entries, "entry", "entries"),
            report.requests,
            plural(report.requests, "request", "requests"),
            report.probes
        );
    }
    Ok(())
}

async fn audit_logs(
    client: &Client,
    group: &str,
    args: &AuditArgs,
    window: Option<(i64, i64)>,
) -> Result<(), Failure> {
    let mut call = client
        .download_audit_logs()
        .group_id(group)
        .tenant_name(args.tenant.as_str());
    if let Some((start, end)) = window {
        // Atlas takes seconds here.
        call = call.start_date(start / 1000).end_date(end / 1000);
    }
    if let Some(sp) = &args.sp_name {
        call = call.sp_name(sp.as_str());
    }
    let saved = if args.decompress {
        call.save_decompressed_to(&args.out).await
    } else {
        call.save_to(&args.out).await
    }?;
    eprintln!(
        "saved {} ({} bytes received, {} written)",
        saved.path.display(),
        saved.bytes_received,
        saved.bytes_written
    );
    Ok(())
}
