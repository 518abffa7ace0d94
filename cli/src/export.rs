//! `atlas-logs export`: one target or many (`--all-clusters`, repeated `--cluster` and
//! `--hostname`, every cluster of every project with `--all-projects` or `--org-id`), each
//! through the library's exact export, written as NDJSON under the state-file protocol of
//! [`crate::state`], several at once within one budget of calls.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};

use atlas_client::{AtlasError, AtomicFile, Client};
use atlas_log_export::{AccessLogExport, Target};
use futures::StreamExt;

use crate::args::ExportArgs;
use atlas_log_export::thousands;

use crate::output::{Progress, Status, plural};
use crate::session::{self, Session};
use crate::state::{ExportError, Report, State};
use crate::validate::{self, ExportOut};
use crate::{Failure, STDOUT_ENTRIES, STDOUT_UNSAVED, time};

/// How far back an export without a checkpoint or `--start` begins: the seven days of
/// access history Atlas keeps.
const DEFAULT_SPAN_MS: i64 = 7 * 86_400_000;

/// Where checkpoints are kept.
#[derive(Clone, Debug)]
enum Checkpoints {
    None,
    File(PathBuf),
    Dir(PathBuf),
}

/// One target's export: where it resumes and where it writes.
struct Job {
    /// The project; `None` until connected when only the connection tells it (the demo).
    group: Option<String>,
    target: Target,
    /// The cluster's name or the hostname, as used in file names.
    name: String,
    state_path: Option<PathBuf>,
    state: Option<State>,
    /// The output file; standard output when `None`.
    out: Option<PathBuf>,
}

/// Runs `atlas-logs export`: checks every flag, then (for explicit targets) every
/// checkpoint and output, before connecting.
pub async fn command(
    global: &crate::args::Global,
    args: &ExportArgs,
    now: i64,
) -> Result<(), Failure> {
    // Checked here rather than by clap, whose message does not say which flag needs it.
    if !args.all_clusters {
        let scope = match (&args.org_id, args.all_projects) {
            (Some(_), _) => Some("--org-id"),
            (None, true) => Some("--all-projects"),
            (None, false) => None,
        };
        if let Some(flag) = scope {
            return Err(Failure::usage(format!(
                "{flag} exports every cluster of each project: give --all-clusters with it"
            )));
        }
    }
    let flag_time = |flag: &str, value: &Option<String>| {
        value
            .as_deref()
            .map(|v| time::parse_time(v, now).map_err(|e| Failure::usage(format!("{flag} {e}"))))
            .transpose()
    };
    let since = args
        .since
        .as_deref()
        .map(|v| time::since(v, now).map_err(|e| Failure::usage(format!("--since {e}"))))
        .transpose()?;
    let start = flag_time("--start", &args.start)?.or(since);
    let end = flag_time("--end", &args.end)?.unwrap_or(now);
    if end > now {
        return Err(Failure::usage(format!(
            "--end {} is in the future; an export ends by now at the latest",
            time::show(end)
        )));
    }
    if let Some(start) = start {
        let flag = if args.since.is_some() {
            "--since"
        } else {
            "--start"
        };
        time::not_after(flag, start, end).map_err(Failure::usage)?;
    }
    let overlap_ms = args
        .overlap
        .as_deref()
        .map(|v| time::parse_duration(v).map_err(|e| Failure::usage(format!("--overlap {e}"))))
        .transpose()?;
    if overlap_ms.is_some() && args.checkpoint.is_none() && args.checkpoint_dir.is_none() {
        return Err(Failure::usage(
            "--overlap re-reads behind where the last run ended: give --checkpoint or --checkpoint-dir",
        ));
    }
    let explicit = explicit_targets(args)?;
    let out =
        ExportOut::parse(&args.out, explicit.as_ref().map(Vec::len)).map_err(Failure::usage)?;
    let checkpoints = match (&args.checkpoint, &args.checkpoint_dir) {
        (Some(file), _) => {
            if explicit.as_ref().map(Vec::len) != Some(1) {
                return Err(Failure::usage(
                    "--checkpoint is one file for one target: give --checkpoint-dir for several",
                ));
            }
            validate::file("--checkpoint", file).map_err(Failure::usage)?;
            if let ExportOut::File(out) = &out
                && validate::same_file(out, file)
            {
                return Err(Failure::usage(
                    "--out and --checkpoint name the same file; give them different names",
                ));
            }
            Checkpoints::File(file.clone())
        }
        (None, Some(dir)) => {
            validate::directory("--checkpoint-dir", dir).map_err(Failure::usage)?;
            Checkpoints::Dir(dir.clone())
        }
        (None, None) => Checkpoints::None,
    };
    if let (Checkpoints::Dir(dir), ExportOut::PerTarget(template)) = (&checkpoints, &out) {
        validate::not_the_checkpoints(template, dir).map_err(Failure::usage)?;
    }
    let scope = session::projects(args.all_projects, args.org_id.as_deref())?;
    if let (Checkpoints::Dir(dir), None, None, Some(_)) = (&checkpoints, &scope, &explicit, start)
        && let Some(file) = validate::some_checkpoint(dir)
    {
        // The targets are known only once listed: a window given with checkpoints already
        // kept is refused now, before anything is sent, as it would be target by target.
        return Err(Failure::usage(format!(
            "--start/--since conflict with --checkpoint-dir {}, whose checkpoints ({file}) continue where the last run ended; drop them, or use another directory",
            dir.display()
        )));
    }
    if scope.is_some() {
        by_project_layout(&checkpoints, start.is_some())?;
    } else if let Checkpoints::Dir(dir) = &checkpoints
        && let Some(project) = project_dirs(dir).into_iter().next()
    {
        return Err(Failure::usage(format!(
            "--checkpoint-dir {} holds the checkpoints of an export of every project ({project}/): use another directory for one project's",
            dir.display()
        )));
    }
    let project = match scope {
        Some(_) => None,
        None => session::project(&args.project, global)?,
    };
    let settings = Settings {
        by_project: scope.is_some(),
        start,
        end,
        end_given: args.end.is_some(),
        overlap_ms,
        concurrency: usize::from(args.concurrency),
        quiet: global.quiet,
    };
    let layout = Layout {
        out: &out,
        checkpoints: &checkpoints,
        by_project: settings.by_project,
    };
    // Explicit targets: every checkpoint is read and every output checked before
    // connecting, and, when the project is known, checked against it: then deliveries a
    // killed run left half-done are completed.
    let prepared = match &explicit {
        Some(targets) => {
            let planned = targets.iter().map(|t| (project.clone(), t.clone()));
            let mut jobs = jobs(planned, &layout, &settings)?;
            if project.is_some() {
                finish_leftovers(&mut jobs, settings.quiet)?;
            }
            Some(jobs)
        }
        None => None,
    };
    let session = session::connect(global, now).await?;
    let mut failed = Vec::new();
    let jobs = match (prepared, scope) {
        (Some(mut jobs), _) => {
            // A project known only once connected (the demo's): the checkpoints are
            // checked against it now, before any export request.
            if project.is_none() {
                let group = session.group(None);
                for job in &mut jobs {
                    job.group = Some(group.clone());
                    check_checkpoint(job, &group, &checkpoints, &settings)?;
                }
                finish_leftovers(&mut jobs, settings.quiet)?;
            }
            jobs
        }
        (None, None) => {
            let group = session.group(project);
            let planned = all_clusters(&session, &group)
                .await?
                .into_iter()
                .map(|t| (Some(group.clone()), t));
            let mut jobs = jobs(planned, &layout, &settings)?;
            finish_leftovers(&mut jobs, settings.quiet)?;
            jobs
        }
        (None, Some(scope)) => {
            let (planned, unlisted) = every_cluster_of(&session, &scope, &settings).await?;
            failed = unlisted;
            let mut jobs = jobs(planned.into_iter(), &layout, &settings)?;
            finish_leftovers(&mut jobs, settings.quiet)?;
            jobs
        }
    };
    run(&session, jobs, failed, &settings).await
}

/// With several projects, each target is `<project id>/<target>` (the project's directory
/// is made in `--out`'s): the checkpoint directory must not hold one project's checkpoints
/// (`<target>.json`), which this layout would not find: the targets would start afresh
/// and deliver again.
fn by_project_layout(checkpoints: &Checkpoints, start_given: bool) -> Result<(), Failure> {
    if let Checkpoints::Dir(dir) = checkpoints {
        if let Some(file) = validate::some_checkpoint(dir) {
            return Err(Failure::usage(format!(
                "--checkpoint-dir {} holds the checkpoints of one project's export ({file}): with --all-projects or --org-id they are kept in a directory per project; use another directory, or move them into {}/<project id>/",
                dir.display(),
                dir.display()
            )));
        }
        // The targets are known only once listed: a window given with checkpoints already
        // kept is refused now, before anything is sent, as it would be target by target.
        if start_given && let Some(project) = project_dirs(dir).into_iter().next() {
            return Err(Failure::usage(format!(
                "--start/--since conflict with --checkpoint-dir {}, whose checkpoints ({project}/...) continue where the last run ended; drop them, or use another directory",
                dir.display()
            )));
        }
    }
    Ok(())
}

/// The project directories (24 hexadecimal digits) of an export of every project in a
/// checkpoint directory.
fn project_dirs(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| validate::project_id("", name).is_ok())
        .min()
        .into_iter()
        .collect()
}

/// Where each target's output and checkpoint go.
struct Layout<'a> {
    out: &'a ExportOut,
    checkpoints: &'a Checkpoints,
    /// Targets of several projects: named `<project id>/<target>`, in a directory per
    /// project.
    by_project: bool,
}

/// Every cluster of every project of `scope`: the projects listed once, then each
/// project's clusters, `concurrency` listings at once. Targets come interleaved across
/// projects (the first cluster of each, then the second of each...), so that the targets
/// running at once draw on different projects' rate limits. A project whose clusters
/// cannot be listed (no access any more, gone) is a failure of its own, reported with the
/// others' outcomes; the listing of the projects failing fails the run.
async fn every_cluster_of(
    session: &Session,
    scope: &atlas_log_export::Projects,
    settings: &Settings,
) -> Result<(Vec<(Option<String>, Target)>, Vec<(String, Failure)>), Failure> {
    let projects = atlas_log_export::list_projects(&session.client, scope).await?;
    if projects.is_empty() {
        return Err(Failure {
            code: crate::exit::NOT_FOUND,
            message: match scope {
                atlas_log_export::Projects::All => {
                    "--all-projects: the credentials see no project".to_string()
                }
                atlas_log_export::Projects::Organisation(org) => {
                    format!("organisation {org} has no project the credentials see")
                }
            },
        });
    }
    let listed: Vec<(String, Result<Vec<String>, AtlasError>)> = futures::stream::iter(projects)
        .map(|project| async move {
            let clusters = atlas_log_export::list_clusters(&session.client, &project.id).await;
            (project.id, clusters)
        })
        .buffered(settings.concurrency.max(1))
        .collect()
        .await;
    let mut per_project = Vec::new();
    let mut failed = Vec::new();
    for (group, clusters) in listed {
        match clusters {
            Ok(names) if names.is_empty() => {
                if !settings.quiet {
                    eprintln!("project {group} has no clusters: nothing to export there");
                }
            }
            Ok(names) => per_project.push((group, names)),
            Err(e) => failed.push((format!("project {group}"), Failure::from(e))),
        }
    }
    if per_project.is_empty() && failed.is_empty() {
        return Err(Failure {
            code: crate::exit::NOT_FOUND,
            message: "no project has a cluster: nothing to export".to_string(),
        });
    }
    let longest = per_project.iter().map(|(_, n)| n.len()).max().unwrap_or(0);
    let mut planned = Vec::new();
    for i in 0..longest {
        for (group, names) in &per_project {
            if let Some(name) = names.get(i) {
                planned.push((Some(group.clone()), Target::Cluster(name.clone())));
            }
        }
    }
    Ok((planned, failed))
}

/// What applies to every target.
#[derive(Clone)]
struct Settings {
    /// Targets of several projects (`--all-projects`, `--org-id`).
    by_project: bool,
    start: Option<i64>,
    end: i64,
    /// `--end` was given (else the window ends now).
    end_given: bool,
    overlap_ms: Option<i64>,
    concurrency: usize,
    quiet: bool,
}

/// The targets named on the command line, checked; `None` for `--all-clusters`.
fn explicit_targets(args: &ExportArgs) -> Result<Option<Vec<Target>>, Failure> {
    if args.all_clusters {
        return Ok(None);
    }
    if args.cluster.is_empty() && args.hostname.is_empty() {
        return Err(Failure::usage(
            "give --cluster or --hostname (each may be repeated), or --all-clusters",
        ));
    }
    let mut targets = Vec::new();
    for cluster in &args.cluster {
        validate::cluster(cluster).map_err(Failure::usage)?;
        targets.push(Target::Cluster(cluster.clone()));
    }
    for host in &args.hostname {
        validate::hostname(host).map_err(Failure::usage)?;
        targets.push(Target::Hostname(host.clone()));
    }
    Ok(Some(targets))
}

/// A target's name in file names: the cluster's name, or the hostname with `:` as `_`.
fn file_name(target: &Target) -> String {
    match target {
        Target::Cluster(name) => name.clone(),
        Target::Hostname(host) => host.replace(':', "_"),
    }
}

/// One job per target (in its project, when known): names distinct, outputs writable,
/// checkpoints read strictly and consistent with the flags and, when the project is known,
/// with it. Nothing is delivered yet: see [`finish_leftovers`].
fn jobs(
    targets: impl Iterator<Item = (Option<String>, Target)>,
    layout: &Layout<'_>,
    settings: &Settings,
) -> Result<Vec<Job>, Failure> {
    let Layout {
        out, checkpoints, ..
    } = *layout;
    let mut jobs: Vec<Job> = Vec::new();
    for (group, target) in targets {
        let target = &target;
        let name = match (&group, layout.by_project) {
            (Some(group), true) => format!("{group}/{}", file_name(target)),
            _ => file_name(target),
        };
        if let Some(other) = jobs.iter().find(|j| j.name == name) {
            return Err(Failure::usage(if other.target == *target {
                format!("{} is given twice", describe(target))
            } else {
                format!(
                    "{} and {} have the same file name {name:?}: export them in separate runs",
                    describe(&other.target),
                    describe(target)
                )
            }));
        }
        let out_file = out.file_for(&name);
        // A project's directory not made yet (its parent was checked when the flags were
        // read): its files are checked once it is made, after every check has passed.
        let unmade =
            |file: &Path| layout.by_project && file.parent().is_some_and(|dir| !dir.exists());
        if let (ExportOut::PerTarget(_), Some(file)) = (out, &out_file)
            && !unmade(file)
        {
            validate::file("--out", file).map_err(Failure::usage)?;
        }
        let (state_path, flag) = match checkpoints {
            Checkpoints::None => (None, ""),
            Checkpoints::File(file) => (Some(file.clone()), "--checkpoint"),
            Checkpoints::Dir(dir) => (Some(dir.join(format!("{name}.json"))), "--checkpoint-dir"),
        };
        if let Some(file) = &out_file {
            // Where this target's checkpoint is kept (a project's directory, with several),
            // other targets' are too.
            let kept_in = match checkpoints {
                Checkpoints::Dir(_) => state_path.as_deref().map(crate::state::dir_of),
                _ => None,
            };
            validate::not_a_checkpoint(file, kept_in).map_err(Failure::usage)?;
        }
        let state = match &state_path {
            Some(path) => {
                if let Checkpoints::Dir(_) = checkpoints
                    && !unmade(path)
                {
                    validate::file("--checkpoint-dir", path).map_err(Failure::usage)?;
                }
                if out_file
                    .as_deref()
                    .is_some_and(|out| validate::same_file(out, path))
                {
                    return Err(Failure::usage(format!(
                        "--out and {flag} name the same file {}; give them different names",
                        path.display()
                    )));
                }
                crate::state::load::<atlas_log_export::Checkpoint>(path, flag)?
            }
            None => None,
        };
        if let (Some(state), Some(path)) = (&state, &state_path)
            && settings.start.is_some()
        {
            return Err(Failure::usage(format!(
                "--start/--since conflict with {flag} {}, which continues after {}; drop them, or use another checkpoint",
                path.display(),
                time::show(state.checkpoint.through_ms)
            )));
        }
        let job = Job {
            group,
            target: target.clone(),
            name,
            state_path,
            state,
            out: out_file,
        };
        if let Some(group) = &job.group {
            check_checkpoint(&job, group, checkpoints, settings)?;
        }
        jobs.push(job);
    }
    if layout.by_project {
        // Every check passed: a directory per project, for its files and checkpoints.
        for job in &jobs {
            let files = [("--out", &job.out), ("--checkpoint-dir", &job.state_path)];
            for (flag, file) in files {
                let Some((file, dir)) = file.as_deref().and_then(|f| Some((f, f.parent()?))) else {
                    continue;
                };
                if !dir.exists() {
                    std::fs::create_dir_all(dir).map_err(|e| Failure {
                        code: crate::exit::FAILURE,
                        message: format!("cannot make the directory {}: {e}", dir.display()),
                    })?;
                    validate::file(flag, file).map_err(Failure::usage)?;
                }
            }
        }
    }
    Ok(jobs)
}

/// Completes the deliveries killed runs left half-done, then removes what they left
/// half-written: only once every job's checkpoint has been checked.
fn finish_leftovers(jobs: &mut Vec<Job>, quiet: bool) -> Result<(), Failure> {
    // A run does not replace the output it has just delivered for a killed run: that
    // target waits for the next run.
    let mut waiting = Vec::new();
    for job in jobs.iter_mut() {
        if let (Some(state), Some(path)) = (&mut job.state, &job.state_path)
            && let Some(delivered) = crate::state::finish_delivery(state, path)?
        {
            if !quiet {
                eprintln!(
                    "delivered {}, which the previous run had finished but not put in place",
                    delivered.display()
                );
            }
            if job
                .out
                .as_deref()
                .is_some_and(|out| validate::same_file(&delivered, out))
            {
                waiting.push(job.name.clone());
            }
        }
    }
    // Only now, with every recorded delivery done: what killed runs left half-written.
    let dirs = jobs
        .iter()
        .filter_map(|j| j.out.as_deref())
        .map(crate::state::dir_of);
    crate::state::remove_stale(dirs, quiet);
    jobs.retain(|job| {
        let wait = waiting.contains(&job.name);
        if wait && !quiet {
            eprintln!(
                "{}: {} holds the previous run's entries now; the next run continues (give each run a file name of its own)",
                job.name,
                job.out.as_deref().unwrap_or(Path::new("-")).display()
            );
        }
        !wait
    });
    Ok(())
}

/// Checks, once per run and before any export request, that a job's checkpoint resumes
/// an export of its target in `group` that `--end` does not end before: the export
/// crate's own check ([`atlas_log_export::Checkpoint::check_resume`]), with the flags named.
fn check_checkpoint(
    job: &Job,
    group: &str,
    checkpoints: &Checkpoints,
    settings: &Settings,
) -> Result<(), Failure> {
    let end = settings.end;
    let (Some(state), Some(path)) = (&job.state, &job.state_path) else {
        return Ok(());
    };
    let flag = match checkpoints {
        Checkpoints::File(_) => "--checkpoint",
        _ => "--checkpoint-dir",
    };
    state
        .checkpoint
        .check_resume(group, &job.target, None, None, end)
        .map_err(|e| match e {
            atlas_log_export::CheckpointError::Behind { through_ms, .. } => {
                Failure::usage(if settings.end_given {
                    format!(
                        "--end {} is before the end of {flag} {} ({}); give a later --end",
                        time::show(end),
                        path.display(),
                        time::show(through_ms)
                    )
                } else {
                    format!(
                        "{flag} {} ends at {}, after now ({}): it was made with a clock or --now ahead of this one; move --now on",
                        path.display(),
                        time::show(through_ms),
                        time::show(end)
                    )
                })
            }
            e => Failure::usage(format!("{flag}: {}: {e}", path.display())),
        })
}

fn describe(target: &Target) -> String {
    match target {
        Target::Cluster(name) => format!("--cluster {name}"),
        Target::Hostname(host) => format!("--hostname {host}"),
    }
}

/// Every cluster of the project, by Atlas's listClusters.
async fn all_clusters(session: &Session, group: &str) -> Result<Vec<Target>, Failure> {
    let names = atlas_log_export::list_clusters(&session.client, group).await?;
    if names.is_empty() {
        return Err(Failure {
            code: crate::exit::NOT_FOUND,
            message: format!("--all-clusters: project {group} has no clusters"),
        });
    }
    Ok(names.into_iter().map(Target::Cluster).collect())
}

/// Standard output, shared by every target writing to it.
type SharedStdout = Arc<Mutex<std::io::BufWriter<std::io::Stdout>>>;

/// One target's writes into the shared standard output, whole lines at a time: targets run
/// on several threads, and a line of one must never be cut by a line of another.
struct StdoutWriter {
    shared: SharedStdout,
    pending: Vec<u8>,
}

/// How much a target gathers before handing its complete lines to standard output.
const STDOUT_CHUNK: usize = 64 * 1024;

impl StdoutWriter {
    fn new(shared: SharedStdout) -> Self {
        Self {
            shared,
            pending: Vec::with_capacity(STDOUT_CHUNK),
        }
    }

    /// Writes the first `n` pending bytes under the lock.
    fn hand_over(&mut self, n: usize) -> std::io::Result<()> {
        let mut out = self.shared.lock().unwrap_or_else(PoisonError::into_inner);
        out.write_all(&self.pending[..n])?;
        self.pending.drain(..n);
        Ok(())
    }
}

/// Complete lines still gathered go out when the target ends, however it ends: they were
/// counted as written.
impl Drop for StdoutWriter {
    fn drop(&mut self) {
        if let Some(last) = self.pending.iter().rposition(|&b| b == b'\n') {
            let _ = self.hand_over(last + 1);
        }
        let _ = self
            .shared
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .flush();
    }
}

impl Write for StdoutWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.pending.extend_from_slice(buf);
        if self.pending.len() >= STDOUT_CHUNK
            && let Some(last) = self.pending.iter().rposition(|&b| b == b'\n')
        {
            self.hand_over(last + 1)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.hand_over(self.pending.len())?;
        self.shared
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .flush()
    }
}

/// A spawned task, aborted when dropped (an interrupted run stops its targets).
struct Aborting<T>(tokio::task::JoinHandle<T>);

impl<T> std::future::Future for Aborting<T> {
    type Output = Result<T, tokio::task::JoinError>;
    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        std::pin::Pin::new(&mut self.0).poll(cx)
    }
}

impl<T> Drop for Aborting<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// What every target's task reports into: its latest report and whether it is over.
struct Board {
    reports: Mutex<Vec<(Report, bool)>>,
    progress: Progress,
}

impl Board {
    fn set(&self, i: usize, report: Option<&Report>) {
        // Without a bar there is nothing to tally for: a run from cron pays nothing per
        // entry here.
        if !self.progress.is_shown() {
            return;
        }
        let mut reports = self.reports.lock().unwrap_or_else(PoisonError::into_inner);
        match report {
            Some(report) => reports[i].0 = *report,
            None => reports[i].1 = true,
        }
        if !self.progress.is_due() {
            return;
        }
        let targets = reports.len();
        self.progress.update(&Status {
            entries: reports.iter().map(|(r, _)| r.entries).sum(),
            requests: reports.iter().map(|(r, _)| r.requests).sum(),
            done: reports.iter().map(|(r, _)| r.done).sum::<f64>() / targets as f64,
            targets_done: reports.iter().filter(|(_, done)| *done).count(),
            targets,
        });
    }
}

/// Runs every job, `concurrency` calls at once in all, each target in a task of its own,
/// and reports, with the targets that `failed` before they could start (a project whose
/// clusters could not be listed).
async fn run(
    session: &Session,
    jobs: Vec<Job>,
    failed: Vec<(String, Failure)>,
    settings: &Settings,
) -> Result<(), Failure> {
    // A new or longer overlap than the checkpoint's: said once, while it grows.
    if let Some(overlap) = settings.overlap_ms
        && !settings.quiet
        && jobs.iter().any(|job| {
            job.state.as_ref().is_some_and(|s| {
                overlap > s.checkpoint.overlap_ms
                    && s.checkpoint.through_ms.saturating_sub(overlap)
                        < s.checkpoint.remembered_from_ms
            })
        })
    {
        eprintln!(
            "--overlap: this run reads again only what earlier runs read; the overlap grows to its length run by run"
        );
    }
    if jobs.is_empty() && failed.is_empty() {
        // Every target waits for the next run (said above).
        return Ok(());
    }
    let targets = jobs.len();
    let at_once = targets.min(settings.concurrency).max(1);
    let per_job = (settings.concurrency / at_once).max(1);
    let board = Arc::new(Board {
        reports: Mutex::new(vec![(Report::default(), false); targets]),
        progress: Progress::new(!settings.quiet && std::io::stderr().is_terminal()),
    });
    let stdout: SharedStdout = Arc::new(Mutex::new(std::io::BufWriter::new(std::io::stdout())));
    let outcomes: Vec<(String, Result<Report, Failure>)> =
        futures::stream::iter(jobs.into_iter().enumerate())
            .map(|(i, job)| {
                let name = match &job.group {
                    Some(group) if settings.by_project => {
                        format!("{} in project {group}", job.target)
                    }
                    _ => job.target.to_string(),
                };
                let group = job
                    .group
                    .clone()
                    .expect("every job's project is known by now");
                let client = session.client.clone();
                let (settings, stdout, board) = (settings.clone(), stdout.clone(), board.clone());
                let task = Aborting(tokio::spawn(async move {
                    let result = run_job(&client, &group, job, &settings, per_job, stdout, |r| {
                        board.set(i, Some(r));
                    })
                    .await;
                    board.set(i, None);
                    result
                }));
                async move {
                    let result = task.await.unwrap_or_else(|e| {
                        Err(Failure {
                            code: crate::exit::FAILURE,
                            message: format!("the export of {name} stopped: {e}"),
                        })
                    });
                    (name, result)
                }
            })
            .buffer_unordered(at_once)
            .collect()
            .await;
    board.progress.finish();
    // Projects whose clusters could not be listed first, then the targets as they ended.
    let unlisted = failed.len();
    let outcomes = failed
        .into_iter()
        .map(|(name, failure)| (name, Err(failure)))
        .chain(outcomes);
    let mut total = Report::default();
    let mut window = None;
    let mut first_failure = None;
    let mut failures = 0;
    let several = targets + unlisted > 1 || settings.by_project;
    for (name, outcome) in outcomes {
        match outcome {
            Ok(report) => {
                window.get_or_insert(report.window);
                total.entries += report.entries;
                total.requests += report.requests;
                total.probes += report.probes;
                if several && !settings.quiet {
                    eprintln!(
                        "{name}: {} {}{} in {} {}",
                        thousands(report.entries),
                        plural(report.entries, "entry", "entries"),
                        span(report.window),
                        thousands(report.requests),
                        plural(report.requests, "request", "requests")
                    );
                }
            }
            Err(failure) => {
                if several {
                    eprintln!("error: {name}: {}", failure.message);
                }
                failures += 1;
                first_failure.get_or_insert(failure);
            }
        }
    }
    if let Some(failure) = first_failure {
        if !several {
            return Err(failure);
        }
        let failed_targets = failures - unlisted;
        let mut what = Vec::new();
        if unlisted > 0 {
            what.push(format!(
                "{unlisted} {} could not be listed",
                plural(unlisted as u64, "project", "projects")
            ));
        }
        if failed_targets > 0 {
            what.push(format!("{failed_targets} of {targets} targets failed"));
        }
        let others = if failed_targets == targets {
            "nothing was delivered".to_string()
        } else if failed_targets == 0 {
            format!("the {targets} targets found were exported and delivered")
        } else {
            "the other targets were exported and delivered".to_string()
        };
        return Err(Failure {
            code: failure.code,
            message: format!("{} (above); {others}", what.join(" and ")),
        });
    }
    if !settings.quiet {
        let of = match window {
            Some(window) if !several => span(window),
            _ => format!(" from {targets} targets"),
        };
        eprintln!("exported {}", summary(&total, &of));
    }
    Ok(())
}

/// A target's window in its report line. A checkpoint that already reaches `--end`
/// leaves an empty window: the run begins one millisecond after the end.
fn span((start, end): (i64, i64)) -> String {
    if start > end {
        format!(
            " (the checkpoint already reaches {}, the window's end)",
            time::show(end)
        )
    } else {
        format!(" from {} to {}", time::show(start), time::show(end))
    }
}

fn summary(report: &Report, from: &str) -> String {
    format!(
        "{} {}{from} in {} {} (Atlas answers at most {} per request; {} to learn how it reads the window)",
        thousands(report.entries),
        plural(report.entries, "entry", "entries"),
        thousands(report.requests),
        plural(report.requests, "request", "requests"),
        thousands(u64::from(atlas_log_export::PAGE)),
        report.probes
    )
}

/// One target: export, write, deliver, move its checkpoint on.
async fn run_job(
    client: &Client,
    group: &str,
    job: Job,
    settings: &Settings,
    concurrency: usize,
    stdout: SharedStdout,
    mut progress: impl FnMut(&Report),
) -> Result<Report, Failure> {
    let builder = match &job.state {
        // Checked once already, before any export request (`check_checkpoint`).
        Some(state) => AccessLogExport::resume_builder(client, &state.checkpoint),
        None => AccessLogExport::builder(client, group, job.target.clone()).start(
            settings
                .start
                .unwrap_or(settings.end.saturating_sub(DEFAULT_SPAN_MS)),
        ),
    };
    let mut builder = builder.end(settings.end).concurrency(concurrency);
    if let Some(overlap) = settings.overlap_ms {
        builder = builder.overlap(overlap);
    }
    // Every setting was checked from the flags before connecting: a refusal here is a
    // settings error all the same.
    let mut export = builder
        .build()
        .map_err(|e| Failure::usage(format!("{}: {e}", job.name)))?;
    let state_path = job.state_path.as_deref();
    match &job.out {
        None => {
            let mut writer = StdoutWriter::new(stdout);
            let mut written = 0;
            let result = crate::state::write_entries(&mut export, &mut writer, |report| {
                STDOUT_ENTRIES.fetch_add(report.entries - written, Ordering::SeqCst);
                STDOUT_UNSAVED.fetch_add(report.entries - written, Ordering::SeqCst);
                written = report.entries;
                progress(report);
            })
            .await;
            let taken_back = |e: Failure| Failure {
                code: e.code,
                message: if written == 0 {
                    e.message
                } else {
                    let again = if state_path.is_some() {
                        format!(
                            "; the checkpoint is unchanged, so the next run writes {} again",
                            if written == 1 { "it" } else { "them" }
                        )
                    } else {
                        String::new()
                    };
                    format!(
                        "{} ({written} {} of it went to standard output and cannot be taken back{again})",
                        e.message,
                        plural(written, "entry", "entries"),
                    )
                },
            };
            let report = result.map_err(|e| taken_back(e.into()))?;
            // Flushed, the checkpoint moved and the count settled under the commit gate:
            // all of it, or none of it, before an interruption reports.
            let _gate = crate::commit_gate()
                .ok_or(ExportError::Stopped)
                .map_err(|e| taken_back(e.into()))?;
            writer
                .flush()
                .map_err(ExportError::io("cannot write standard output"))
                .map_err(|e| taken_back(e.into()))?;
            if let (Some(path), Some(checkpoint)) = (state_path, export.checkpoint()) {
                let state = State {
                    checkpoint,
                    delivery: None,
                };
                crate::state::save(&state, path)?;
            }
            STDOUT_UNSAVED.fetch_sub(written, Ordering::SeqCst);
            Ok(report)
        }
        Some(path) => {
            let io = || ExportError::io(format!("cannot write {}", path.display()));
            let mut file = AtomicFile::create(path).map_err(io())?;
            let mut writer =
                std::io::BufWriter::with_capacity(crate::state::WRITE_BUFFER, file.file());
            let report = crate::state::write_entries(&mut export, &mut writer, progress).await?;
            writer.into_inner().map_err(|e| io()(e.into_error()))?;
            let prepared = file.prepare().map_err(io())?;
            let checkpoint = export
                .checkpoint()
                .expect("a finished export has a checkpoint");
            // Delivered whole under the commit gate, or not at all once an interruption
            // reports (the prepared file is then removed, the checkpoint unchanged).
            let _gate = crate::commit_gate().ok_or(ExportError::Stopped)?;
            crate::state::deliver(prepared, checkpoint, state_path)?;
            Ok(report)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_of_targets() {
        assert_eq!(file_name(&Target::Cluster("Cluster0".into())), "Cluster0");
        assert_eq!(
            file_name(&Target::Hostname("a.b.mongodb.net:27017".into())),
            "a.b.mongodb.net_27017"
        );
    }
}
