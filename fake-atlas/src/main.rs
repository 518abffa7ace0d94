//! `fake-atlas`: serve a fake Atlas on loopback, or dump its data set.

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use fake_atlas::{
    Config, DataConfig, DataSet, FakeAtlas, Faults, PageOrder, Precision, RateLimit,
    WindowSemantics,
};

/// A loopback stand-in for the MongoDB Atlas Admin API's access-tracking, cluster-listing
/// and streams audit-log operations, with Atlas's authentication, versioning, rate limits
/// and errors.
///
/// Prints `listening on http://ADDR` as its first line, then serves until killed.
#[derive(Parser)]
#[command(name = "fake-atlas", version)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    data: DataArgs,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Print every access-log entry of the data set as NDJSON, newest first (the ground
    /// truth to compare exports against), project after project. Takes the same data flags
    /// as serving; give the same --now as the server it is compared with.
    Dump {
        /// Only the entries of this cluster's hosts.
        #[arg(long)]
        cluster: Option<String>,
    },
}

#[derive(Args)]
struct DataArgs {
    /// Seed every generated value derives from.
    #[arg(long, default_value_t = 1, global = true)]
    seed: u64,
    /// Number of access-log entries of each project over the seven days before --now,
    /// spread over its clusters.
    #[arg(long, default_value_t = 50_000, global = true)]
    entries: usize,
    /// The present the data ends at: RFC 3339 or epoch milliseconds [default: the current
    /// time]. Pin it to serve the same data on every run.
    #[arg(long, value_parser = parse_now, global = true)]
    now: Option<i64>,
    /// Put this many entries in one single millisecond.
    #[arg(long, default_value_t = 0, global = true)]
    same_ms_burst: usize,
    /// Serve this many projects, all in one organisation (listGroups, getOrgGroups): each
    /// holds the data the other flags describe, from the seed moved on by the project's
    /// number (its own group id, hosts and entries), and has rate-limit buckets of its own.
    #[arg(long, default_value_t = 1, global = true, value_parser = clap::value_parser!(u16).range(1..=1000))]
    projects: u16,
    /// The demo's data instead: Cluster0 with about 61,000 entries (an hour of more than
    /// 25,000, and 3,000 in one single millisecond), two clusters of about 1,000.
    #[arg(long, global = true, conflicts_with_all = ["entries", "same_ms_burst"])]
    demo: bool,
}

#[derive(Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Allow listening on an address other than loopback.
    #[arg(long)]
    allow_non_loopback: bool,
    /// API key, public part (HTTP Digest user).
    #[arg(long, default_value = fake_atlas::DEMO_PUBLIC_KEY)]
    public_key: String,
    /// API key, private part (HTTP Digest password).
    #[arg(long, default_value = fake_atlas::DEMO_PRIVATE_KEY)]
    private_key: String,
    /// Service account client id.
    #[arg(long, default_value = fake_atlas::DEMO_CLIENT_ID)]
    client_id: String,
    /// Service account client secret.
    #[arg(long, default_value = fake_atlas::DEMO_CLIENT_SECRET)]
    client_secret: String,
    /// Seconds a Digest nonce stays valid before answers get `stale=true`.
    #[arg(long, default_value_t = 300)]
    nonce_lifetime: u64,
    /// Seconds a service-account token lives.
    #[arg(long, default_value_t = 3600)]
    token_lifetime: u64,
    /// Rate-limit bucket capacity per project and endpoint set.
    #[arg(long, default_value_t = 1200)]
    rate_capacity: u32,
    /// Tokens added to a bucket each refill period.
    #[arg(long, default_value_t = 500)]
    rate_refill: u32,
    /// Refill period in seconds.
    #[arg(long, default_value_t = 60)]
    rate_period: u64,
    /// Uncompressed audit-log bytes per workspace over the default 30-day window.
    #[arg(long, default_value_t = 4 << 20)]
    audit_log_bytes: u64,
    /// gzip level of audit logs (0 = stored, fastest; 9 = smallest).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(0..=9))]
    audit_log_compression: u32,
    /// Fault: answer the next N API calls with --fail-status.
    #[arg(long, default_value_t = 0)]
    fail_next: u32,
    /// Fault: status of those answers.
    #[arg(long, default_value_t = 503)]
    fail_status: u16,
    /// Fault: Retry-After seconds sent with them.
    #[arg(long)]
    fail_retry_after: Option<u64>,
    /// Atlas's time to run a query: every API answer (an access-history page, a download, a
    /// listing) arrives this many milliseconds after its request, plus --round-trip-ms, the
    /// fake's time to build it included. A 401 challenge and a token run no query: they take
    /// --round-trip-ms only.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// The network's round trip, in milliseconds, added to every answer: queries, 401
    /// challenges, tokens.
    #[arg(long, default_value_t = 0)]
    round_trip_ms: u64,
    /// Fault: abort the connection after this many body bytes.
    #[arg(long)]
    close_after_bytes: Option<u64>,
    /// Fault: abort only the bodies of this many of the next answers (0: every answer's).
    #[arg(long, default_value_t = 0)]
    close_next: u32,
    /// Fault: end audit-log bodies after this many bytes (a truncated gzip).
    #[arg(long)]
    truncate_gzip_after: Option<u64>,
    /// Fault: every call on the Nth project (1: the first listed at start) is answered 403,
    /// as if the credentials had lost access to it; repeat for several.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    forbidden_project: Vec<u16>,
    /// Audit logs: an event in second startDate is not in the window (default: it is).
    #[arg(long)]
    audit_start_exclusive: bool,
    /// Audit logs: an event in second endDate is not in the window (default: it is).
    #[arg(long)]
    audit_end_exclusive: bool,
    /// Access history: an entry exactly at start does not match (default: it does).
    #[arg(long)]
    start_exclusive: bool,
    /// Access history: an entry exactly at end does not match (default: it does).
    #[arg(long)]
    end_exclusive: bool,
    /// Access history: compare entry times with start and end in milliseconds, or in whole
    /// seconds (each side divided by 1000, rounded down).
    #[arg(long, value_enum, default_value_t = PrecisionArg::Millis)]
    precision: PrecisionArg,
    /// Access history: which matching entries a page capped at nLogs holds, and in what
    /// order.
    #[arg(long, value_enum, default_value_t = PageArg::NewestFirst)]
    page: PageArg,
}

#[derive(Clone, Copy, ValueEnum)]
enum PrecisionArg {
    /// The entry's millisecond time against start and end.
    Millis,
    /// Whole seconds: floor(time / 1000) against floor(start / 1000) and floor(end / 1000).
    Seconds,
}

#[derive(Clone, Copy, ValueEnum)]
enum PageArg {
    /// The newest nLogs matching entries, newest first.
    NewestFirst,
    /// The newest nLogs matching entries, in a fixed scrambled order (not sorted by time).
    NewestAnyOrder,
    /// The oldest nLogs matching entries, oldest first.
    OldestFirst,
}

impl ServeArgs {
    fn semantics(&self) -> WindowSemantics {
        WindowSemantics {
            start_inclusive: !self.start_exclusive,
            end_inclusive: !self.end_exclusive,
            precision: match self.precision {
                PrecisionArg::Millis => Precision::Millis,
                PrecisionArg::Seconds => Precision::Seconds,
            },
            page: match self.page {
                PageArg::NewestFirst => PageOrder::NewestFirst,
                PageArg::NewestAnyOrder => PageOrder::NewestAnyOrder,
                PageArg::OldestFirst => PageOrder::OldestFirst,
            },
        }
    }
}

fn parse_now(value: &str) -> Result<i64, String> {
    if let Ok(ms) = value.parse::<i64>() {
        return Ok(ms);
    }
    chrono::DateTime::parse_from_rfc3339(value)
        .map(|t| t.timestamp_millis())
        .map_err(|e| format!("expected RFC 3339 or epoch milliseconds: {e}"))
}

impl DataArgs {
    fn config(&self) -> DataConfig {
        let now_ms = self
            .now
            .unwrap_or_else(|| chrono::Utc::now().timestamp_millis());
        if self.demo {
            return DataConfig {
                seed: self.seed,
                ..DataConfig::demo(now_ms)
            };
        }
        DataConfig {
            seed: self.seed,
            entries: self.entries,
            now_ms,
            same_ms_burst: self.same_ms_burst,
            cluster_entries: Vec::new(),
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match &cli.command {
        Some(Command::Dump { cluster }) => dump(&cli.data, cluster.as_deref()),
        None => serve(cli),
    }
}

fn dump(args: &DataArgs, cluster: Option<&str>) -> ExitCode {
    let config = args.config();
    let first = DataSet::generate_project(&config, 0);
    if let Some(name) = cluster
        && first.cluster(name).is_none()
    {
        eprintln!(
            "fake-atlas: no cluster named {name:?}; the data set has {}",
            first.cluster_names().join(", ")
        );
        return ExitCode::from(2);
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let written = first.write_ndjson_of(cluster, &mut out).and_then(|()| {
        for k in 1..usize::from(args.projects) {
            DataSet::generate_project(&config, k).write_ndjson_of(cluster, &mut out)?;
        }
        out.flush()
    });
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fake-atlas: {e}");
            ExitCode::FAILURE
        }
    }
}

fn serve(cli: Cli) -> ExitCode {
    let s = cli.serve;
    if !s.listen.ip().is_loopback() && !s.allow_non_loopback {
        eprintln!(
            "fake-atlas: refusing to listen on {} (not loopback); pass --allow-non-loopback to insist",
            s.listen
        );
        return ExitCode::from(2);
    }
    if let Some(n) = s.forbidden_project.iter().find(|&&n| n > cli.data.projects) {
        eprintln!(
            "fake-atlas: --forbidden-project {n}: there are {} projects (--projects)",
            cli.data.projects
        );
        return ExitCode::from(2);
    }
    let faults = Faults {
        fail_next: s.fail_next,
        fail_status: s.fail_status,
        fail_retry_after: s.fail_retry_after,
        latency: Duration::from_millis(s.latency_ms),
        round_trip: Duration::from_millis(s.round_trip_ms),
        close_after_bytes: s.close_after_bytes,
        close_next: s.close_next,
        truncate_gzip_after: s.truncate_gzip_after,
        forbidden_groups: Vec::new(),
        late: None,
    };
    let config = Config {
        data: cli.data.config(),
        projects: usize::from(cli.data.projects),
        semantics: s.semantics(),
        api_keys: vec![(s.public_key, s.private_key)],
        service_accounts: vec![(s.client_id, s.client_secret)],
        nonce_lifetime: Duration::from_secs(s.nonce_lifetime),
        token_lifetime: Duration::from_secs(s.token_lifetime),
        rate_limit: RateLimit {
            capacity: s.rate_capacity,
            refill: s.rate_refill,
            period: Duration::from_secs(s.rate_period),
        },
        audit_log_bytes: s.audit_log_bytes,
        audit_window: fake_atlas::audit::AuditWindow {
            start_inclusive: !s.audit_start_exclusive,
            end_inclusive: !s.audit_end_exclusive,
        },
        audit_log_compression: s.audit_log_compression,
        faults: faults.clone(),
    };
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime starts");
    runtime.block_on(async move {
        let atlas = match FakeAtlas::start_on(config, s.listen).await {
            Ok(atlas) => atlas,
            Err(e) => {
                eprintln!("fake-atlas: cannot listen on {}: {e}", s.listen);
                return ExitCode::FAILURE;
            }
        };
        if !s.forbidden_project.is_empty() {
            let projects = atlas.projects();
            let forbidden_groups = s
                .forbidden_project
                .iter()
                .map(|&n| projects[usize::from(n) - 1].group_id.clone())
                .collect();
            atlas.set_faults(Faults {
                forbidden_groups,
                ..faults
            });
        }
        println!("listening on {}", atlas.base_url());
        let _ = std::io::stdout().flush();
        for (n, data) in (1..).zip(atlas.projects()) {
            let forbidden = if s.forbidden_project.contains(&n) {
                " (forbidden: every call is answered 403)"
            } else {
                ""
            };
            eprintln!(
                "project {}{forbidden} ({}, organisation {}) with {} access-log entries up to {}, clusters {}",
                data.group_id,
                data.name,
                data.org_id,
                data.entries.len(),
                chrono::DateTime::from_timestamp_millis(data.config.now_ms)
                    .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
                    .unwrap_or_default(),
                data.clusters
                    .iter()
                    .map(|c| format!("{} ({})", c.name, data.entries_of(&c.name)))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        wait_for_termination().await;
        ExitCode::SUCCESS
    })
}

async fn wait_for_termination() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
