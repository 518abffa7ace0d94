//! The command line: commands, flags and their help. Values are only parsed here; what they
//! must be is checked in `validate`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// The exit codes, as `--help` lists them (the numbers are `crate::exit`'s).
pub const EXIT_HELP: &str = "\
Exit codes:
  0    success
  1    other failure
  2    bad usage or input (nothing was sent, nothing was written)
  3    authentication or authorization failed
  4    not found (project, cluster, host or workspace)
  5    rate limit still exceeded after retrying
  6    export incomplete: more than 20,000 entries share one millisecond, or Atlas's
       answers fit no known reading of the window
  130  interrupted (Ctrl-C), 143 terminated (SIGTERM); no partial file is left";

/// Get MongoDB Atlas access logs out, every one of them, and download stream audit logs.
///
/// Credentials come from MONGODB_ATLAS_CLIENT_ID/MONGODB_ATLAS_CLIENT_SECRET (service
/// account), MONGODB_ATLAS_PUBLIC_API_KEY/MONGODB_ATLAS_PRIVATE_API_KEY (API key), or a
/// profile of the Atlas CLI's config file (--profile); the project from --group-id (or
/// --project-id), MONGODB_ATLAS_PROJECT_ID, or the profile's project_id. Times accept RFC
/// 3339, epoch seconds or milliseconds, a duration ago (90m, 24h, 7d), or now.
#[derive(Parser)]
#[command(name = "atlas-logs", version, after_help = EXIT_HELP)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    #[command(flatten)]
    pub global: Global,
}

#[derive(Args)]
#[command(next_help_heading = "Global options")]
pub struct Global {
    /// Atlas base URL [default: https://cloud.mongodb.com, or MONGODB_ATLAS_OPS_MANAGER_URL].
    #[arg(long, global = true)]
    pub base_url: Option<String>,
    /// Atlas CLI profile to read credentials and project from [default: default].
    #[arg(long, short = 'P', global = true)]
    pub profile: Option<String>,
    /// Log what happens on stderr (-v: requests, retries and auth; -vv: everything;
    /// RUST_LOG overrides both).
    #[arg(long, short, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only errors on stderr: no summary, progress or notices (for cron).
    #[arg(long, short, global = true)]
    pub quiet: bool,
    /// Run against a fake Atlas started in-process on loopback, with demo data and credentials
    /// (in builds with the `demo` feature).
    #[arg(long, global = true, conflicts_with_all = ["base_url", "profile"])]
    pub demo: bool,
    /// Take this time as the present: durations, `now` and --since count back from it, an
    /// export ends by it, the demo's data ends at it [default: the system clock].
    #[arg(long, global = true, allow_hyphen_values = true, value_name = "TIME")]
    pub now: Option<String>,
}

#[derive(Subcommand)]
pub enum Command {
    /// One access-history call, like `atlas accessLogs list`.
    Access(AccessArgs),
    /// Every access-log entry of a window as NDJSON, however many there are.
    Export(ExportArgs),
    /// Download the audit log of a stream processing workspace (streamed, verified, atomic);
    /// without a window, Atlas's default: the last 30 days.
    AuditLogs(AuditArgs),
}

#[derive(Args)]
pub struct ProjectArgs {
    /// The project (24 hexadecimal digits) [default: MONGODB_ATLAS_PROJECT_ID, the
    /// profile's project_id, or with --demo the demo project].
    #[arg(
        long,
        allow_hyphen_values = true,
        visible_alias = "project-id",
        value_name = "ID"
    )]
    pub group_id: Option<String>,
}

/// A window given as `--start` and `--end`, or `--since`.
#[derive(Args)]
pub struct WindowArgs {
    /// Beginning of the window (with --end).
    #[arg(
        long,
        allow_hyphen_values = true,
        requires = "end",
        conflicts_with = "since"
    )]
    pub start: Option<String>,
    /// End of the window (with --start).
    #[arg(
        long,
        allow_hyphen_values = true,
        requires = "start",
        conflicts_with = "since"
    )]
    pub end: Option<String>,
    /// The window from this long ago until now (90m, 24h, 7d).
    #[arg(long, allow_hyphen_values = true)]
    pub since: Option<String>,
}

#[derive(Args)]
pub struct AccessArgs {
    #[command(flatten)]
    pub project: ProjectArgs,
    /// The cluster, by name.
    #[arg(long, allow_hyphen_values = true, conflicts_with = "hostname")]
    pub cluster: Option<String>,
    /// One process, by hostname (with or without :port).
    #[arg(long, allow_hyphen_values = true)]
    pub hostname: Option<String>,
    #[command(flatten)]
    pub window: WindowArgs,
    /// Only successful or only failed attempts.
    #[arg(long, value_enum)]
    pub auth_result: Option<AuthResult>,
    /// Only attempts from this client IP address.
    #[arg(long, allow_hyphen_values = true)]
    pub ip: Option<String>,
    /// At most this many entries, the newest (0 to 20000).
    #[arg(long, allow_hyphen_values = true, value_parser = clap::value_parser!(i32).range(0..=i64::from(atlas_log_export::PAGE)))]
    pub limit: Option<i32>,
    /// Output format.
    #[arg(long, short, value_enum, default_value = "table")]
    pub output: Format,
    /// Table: show every cell whole instead of fitting 120 columns.
    #[arg(long)]
    pub wide: bool,
    /// Table: times in the local time zone instead of UTC.
    #[arg(long)]
    pub local: bool,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum AuthResult {
    Success,
    Failure,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
    Ndjson,
}

#[derive(Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub project: ProjectArgs,
    /// A cluster, by name; repeat for several.
    #[arg(long, allow_hyphen_values = true)]
    pub cluster: Vec<String>,
    /// A process, by hostname (with or without :port); repeat for several.
    #[arg(long, allow_hyphen_values = true)]
    pub hostname: Vec<String>,
    /// Every cluster of the project (listed with Atlas's listClusters).
    #[arg(long, conflicts_with_all = ["cluster", "hostname"])]
    pub all_clusters: bool,
    /// With --all-clusters: every cluster of every project the credentials see (Atlas's
    /// listGroups), or of one organisation's with --org-id or MONGODB_ATLAS_ORG_ID. Each
    /// target is named <project id>/<cluster> in --out's {target} and in --checkpoint-dir
    /// (a directory per project, made as needed). A project that fails is reported; the
    /// others are delivered.
    // Needs --all-clusters (checked by the command, naming this flag).
    #[arg(
        long,
        conflicts_with_all = ["group_id", "checkpoint", "cluster", "hostname"]
    )]
    pub all_projects: bool,
    /// With --all-clusters: every cluster of every project of this organisation (24
    /// hexadecimal digits; Atlas's getOrgGroups), as --all-projects does [default with
    /// --all-projects: MONGODB_ATLAS_ORG_ID].
    #[arg(
        long,
        value_name = "ID",
        allow_hyphen_values = true,
        conflicts_with_all = ["group_id", "checkpoint", "cluster", "hostname"]
    )]
    pub org_id: Option<String>,
    /// Beginning of the window [default: 7 days ago, or where the checkpoint ends].
    #[arg(long, allow_hyphen_values = true, conflicts_with = "since")]
    pub start: Option<String>,
    /// The window from this long ago until --end (90m, 24h, 7d).
    #[arg(long, allow_hyphen_values = true)]
    pub since: Option<String>,
    /// End of the window [default: now].
    #[arg(long, allow_hyphen_values = true)]
    pub end: Option<String>,
    /// Resume from, and update, this checkpoint file (one target): each entry comes out
    /// once across runs.
    #[arg(long, conflicts_with = "checkpoint_dir")]
    pub checkpoint: Option<PathBuf>,
    /// Resume from, and update, one checkpoint per target in this existing directory
    /// (<target>.json).
    #[arg(long, value_name = "DIR")]
    pub checkpoint_dir: Option<PathBuf>,
    /// With a checkpoint: read again this far back from where the last run ended (`10m`),
    /// and write only entries not written before, to catch entries Atlas records late.
    /// Kept in the checkpoint for later runs. A run reads again at most what the runs
    /// before it read, so a new or longer overlap grows to its length run by run.
    #[arg(long, allow_hyphen_values = true)]
    pub overlap: Option<String>,
    /// Write NDJSON here (atomically), or to standard output with `-`. With several
    /// targets, `{target}` in the name gives one file per target (the cluster's name, or
    /// the hostname); `-` merges them into one stream. With checkpoints, give each run's
    /// files names of their own: a file of the same name is replaced.
    #[arg(long, default_value = "-")]
    pub out: String,
    /// Access-history calls made at once, across all targets: 1 (one after another) to 16.
    #[arg(
        long,
        default_value_t = 3,
        allow_negative_numbers = true,
        value_parser = clap::value_parser!(u16).range(1..=16)
    )]
    pub concurrency: u16,
}

#[derive(Args)]
pub struct AuditArgs {
    #[command(flatten)]
    pub project: ProjectArgs,
    /// The stream processing workspace.
    #[arg(
        long,
        allow_hyphen_values = true,
        required_unless_present = "all_workspaces"
    )]
    pub tenant: Option<String>,
    /// With --checkpoint-dir: every stream processing workspace of the project (Atlas's
    /// listStreamWorkspaces), run after run, each with its checkpoint DIR/<workspace>.json
    /// and its file, `{target}` in --out standing for the workspace's name.
    #[arg(long, conflicts_with_all = ["tenant", "checkpoint"], requires = "checkpoint_dir")]
    pub all_workspaces: bool,
    /// With --all-workspaces: the directory (existing) of the workspaces' checkpoints.
    #[arg(
        long,
        value_name = "DIR",
        requires = "all_workspaces",
        conflicts_with_all = ["tenant", "checkpoint"]
    )]
    pub checkpoint_dir: Option<PathBuf>,
    /// Only this stream processor's events.
    #[arg(long, allow_hyphen_values = true)]
    pub sp_name: Option<String>,
    #[command(flatten)]
    pub window: WindowArgs,
    /// A file, or an existing directory to save Atlas's file name in; `{target}` in the
    /// name stands for the workspace's name.
    #[arg(long)]
    pub out: PathBuf,
    /// Without a checkpoint: write the decompressed text instead of the gzip file (runs
    /// with a checkpoint always write text).
    #[arg(long)]
    pub decompress: bool,
    /// Resume from, and update, this checkpoint file: each run writes to --out (a file;
    /// give each run a name of its own) the decompressed lines logged since the last run,
    /// up to now, each line once across runs, whatever Atlas's reading of the window's
    /// bounds. The first run starts at --since [default: 24 hours ago].
    #[arg(long, value_name = "FILE", conflicts_with = "start")]
    pub checkpoint: Option<PathBuf>,
    /// With a checkpoint: read again this far back from where the last run ended (`10m`),
    /// and write only lines not written before, to catch lines Atlas records late.
    #[arg(long, allow_hyphen_values = true)]
    pub overlap: Option<String>,
}
