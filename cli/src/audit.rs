//! `atlas-logs audit-logs --checkpoint FILE` (one workspace) or `--all-workspaces
//! --checkpoint-dir DIR` (every workspace of the project): a workspace's audit log, run
//! after run, each line once, through the library's [`AuditLogExport`] and the delivery
//! protocol of [`crate::state`] (the same as the access-log export's).

use std::path::{Path, PathBuf};

use atlas_client::{AtomicFile, Client};
use atlas_log_export::{AuditCheckpoint, AuditLogExport, CheckpointError, thousands};

use crate::args::{AuditArgs, Global};
use crate::state::{self, ExportError, State};
use crate::validate::{self, ExportOut};
use crate::{Failure, session, time};

/// How far back the first run of a checkpoint begins without `--since`.
const FIRST_SPAN_S: i64 = 24 * 3600;

/// What applies to every workspace.
struct Settings<'a> {
    processor: Option<&'a str>,
    /// `--overlap`, in seconds.
    overlap_s: Option<i64>,
    /// The first run's start, epoch seconds.
    first_s: i64,
    since_given: bool,
    end_s: i64,
    quiet: bool,
}

/// One workspace's run: its checkpoint and its output.
struct Job {
    workspace: String,
    checkpoint: PathBuf,
    flag: &'static str,
    out: PathBuf,
    saved: Option<State<AuditCheckpoint>>,
}

/// Checks every flag (and, for one workspace, its checkpoint) before connecting, then for
/// each workspace: completes a delivery a killed run left half-done, exports the lines
/// since its checkpoint up to now into its output and moves the checkpoint on, atomically.
/// With several workspaces, one failing is reported and the others delivered.
pub async fn incremental(global: &Global, args: &AuditArgs, now: i64) -> Result<(), Failure> {
    if let Some(tenant) = &args.tenant {
        validate::stream_name("--tenant", tenant).map_err(Failure::usage)?;
    }
    if let Some(sp) = &args.sp_name {
        validate::stream_name("--sp-name", sp).map_err(Failure::usage)?;
    }
    if args.decompress {
        return Err(Failure::usage(
            "--decompress: with a checkpoint, the lines are always written decompressed",
        ));
    }
    if args.window.end.is_some() {
        return Err(Failure::usage(
            "--end: with a checkpoint, each run ends now (--now moves the present)",
        ));
    }
    let end_s = now.div_euclid(1000);
    let since = args
        .window
        .since
        .as_deref()
        .map(|v| time::since(v, now).map_err(|e| Failure::usage(format!("--since {e}"))))
        .transpose()?;
    let overlap_s = args
        .overlap
        .as_deref()
        .map(|v| {
            time::parse_duration(v)
                .map(|ms| ms.div_euclid(1000))
                .map_err(|e| Failure::usage(format!("--overlap {e}")))
        })
        .transpose()?;
    let settings = Settings {
        processor: args.sp_name.as_deref(),
        overlap_s,
        first_s: since.map_or(end_s - FIRST_SPAN_S, |ms| ms.div_euclid(1000)),
        since_given: since.is_some(),
        end_s,
        quiet: global.quiet,
    };
    let out_text = args.out.to_string_lossy();
    if out_text == "-" {
        return Err(Failure::usage(
            "--out -: with a checkpoint, name a file (each run's lines are delivered into it whole)",
        ));
    }
    if args.out.is_dir() || out_text.ends_with('/') {
        return Err(Failure::usage(format!(
            "--out {}: with a checkpoint, name a file (each run's lines are delivered into it whole)",
            args.out.display()
        )));
    }
    let project = session::project(&args.project, global)?;
    let mut jobs = Vec::new();
    let out = match (&args.tenant, &args.checkpoint, &args.checkpoint_dir) {
        (Some(tenant), Some(checkpoint), _) => {
            let out = validate::out_for(&args.out, tenant).map_err(Failure::usage)?;
            validate::file("--out", &out).map_err(Failure::usage)?;
            validate::not_a_checkpoint(&out, None).map_err(Failure::usage)?;
            validate::file("--checkpoint", checkpoint).map_err(Failure::usage)?;
            jobs.push(job(
                tenant,
                checkpoint.clone(),
                "--checkpoint",
                out,
                &settings,
            )?);
            None
        }
        (None, None, Some(dir)) => {
            validate::directory("--checkpoint-dir", dir).map_err(Failure::usage)?;
            if !out_text.contains(validate::TARGET_PLACEHOLDER) {
                return Err(Failure::usage(format!(
                    "--out {out_text}: with --all-workspaces, put {} in the file name for one file per workspace",
                    validate::TARGET_PLACEHOLDER
                )));
            }
            let parsed = ExportOut::parse(&out_text, None).map_err(Failure::usage)?;
            validate::not_the_checkpoints(&out_text, dir).map_err(Failure::usage)?;
            // The workspaces are known only once listed: --since beside checkpoints already
            // kept is refused now, before anything is sent, as it would be one by one.
            if settings.since_given
                && let Some(file) = validate::some_checkpoint(dir)
            {
                return Err(Failure::usage(format!(
                    "--since conflicts with --checkpoint-dir {}, whose checkpoints ({file}) continue where the last run ended; drop it, or use another directory",
                    dir.display()
                )));
            }
            Some((parsed, dir.clone()))
        }
        _ => {
            return Err(Failure::usage(
                "give --tenant with --checkpoint, or --all-workspaces with --checkpoint-dir",
            ));
        }
    };
    distinct_files(&jobs)?;
    if let Some(group) = &project {
        for job in &jobs {
            check(job, group, &settings)?;
        }
    }
    let session = session::connect(global, now).await?;
    let group = session.group(project.clone());
    if let Some((template, dir)) = &out {
        let names = atlas_log_export::list_workspaces(&session.client, &group).await?;
        if names.is_empty() {
            return Err(Failure {
                code: crate::exit::NOT_FOUND,
                message: format!(
                    "--all-workspaces: project {group} has no stream processing workspace"
                ),
            });
        }
        for name in names {
            validate::stream_name("a workspace Atlas listed", &name).map_err(|e| Failure {
                code: crate::exit::FAILURE,
                message: e,
            })?;
            let file = template.file_for(&name).expect("one file per workspace");
            validate::file("--out", &file).map_err(Failure::usage)?;
            validate::not_a_checkpoint(&file, Some(dir)).map_err(Failure::usage)?;
            let checkpoint = dir.join(format!("{name}.json"));
            validate::file("--checkpoint-dir", &checkpoint).map_err(Failure::usage)?;
            jobs.push(job(&name, checkpoint, "--checkpoint-dir", file, &settings)?);
        }
    }
    distinct_files(&jobs)?;
    if project.is_none() || out.is_some() {
        for job in &jobs {
            check(job, &group, &settings)?;
        }
    }
    // Only now, every check passed: deliveries killed runs left half-done, then what
    // killed runs left half-written beside the outputs. A run does not replace the output
    // it has just delivered for a killed run: that workspace waits for the next run.
    let mut waiting = Vec::new();
    for job in &mut jobs {
        if let Some(saved) = &mut job.saved
            && let Some(delivered) = state::finish_delivery(saved, &job.checkpoint)?
        {
            if !settings.quiet {
                eprintln!(
                    "delivered {}, which the previous run had finished but not put in place",
                    delivered.display()
                );
            }
            if validate::same_file(&delivered, &job.out) {
                waiting.push(job.workspace.clone());
            }
        }
    }
    jobs.retain(|job| {
        let wait = waiting.contains(&job.workspace);
        if wait && !settings.quiet {
            eprintln!(
                "workspace {}: {} holds the previous run's lines now; the next run continues (give each run a file name of its own)",
                job.workspace,
                job.out.display()
            );
        }
        !wait
    });
    state::remove_stale(jobs.iter().map(|j| state::dir_of(&j.out)), settings.quiet);

    let several = jobs.len() > 1;
    let total = jobs.len();
    let mut failed = Vec::new();
    for job in jobs {
        let workspace = job.workspace.clone();
        if let Err(failure) = run(&session.client, &group, job, &settings).await {
            if !several {
                return Err(failure);
            }
            eprintln!("error: workspace {workspace}: {}", failure.message);
            failed.push(failure);
        }
    }
    let failures = failed.len();
    match failed.into_iter().next() {
        None => Ok(()),
        Some(first) => Err(Failure {
            code: first.code,
            message: format!(
                "the audit logs of {failures} of {total} workspaces failed (above); {}",
                if failures == total {
                    "nothing was delivered"
                } else {
                    "the others were delivered"
                }
            ),
        }),
    }
}

/// No output is a checkpoint or another workspace's output: one would overwrite the other.
fn distinct_files(jobs: &[Job]) -> Result<(), Failure> {
    let files: Vec<(&Path, String)> = jobs
        .iter()
        .flat_map(|j| {
            [
                (
                    j.out.as_path(),
                    format!("--out for workspace {}", j.workspace),
                ),
                (
                    j.checkpoint.as_path(),
                    format!("{} for workspace {}", j.flag, j.workspace),
                ),
            ]
        })
        .collect();
    for (i, (a, what_a)) in files.iter().enumerate() {
        for (b, what_b) in &files[i + 1..] {
            if validate::same_file(a, b) {
                return Err(Failure::usage(format!(
                    "{what_a} and {what_b} name the same file {}; give them different names",
                    a.display()
                )));
            }
        }
    }
    Ok(())
}

/// A workspace's job, its checkpoint read strictly and consistent with the flags.
fn job(
    workspace: &str,
    checkpoint: PathBuf,
    flag: &'static str,
    out: PathBuf,
    settings: &Settings<'_>,
) -> Result<Job, Failure> {
    let saved = state::load::<AuditCheckpoint>(&checkpoint, flag)?;
    if let Some(saved) = &saved
        && settings.since_given
    {
        return Err(Failure::usage(format!(
            "--since conflicts with {flag} {}, which continues after {}; drop it, or use another checkpoint",
            checkpoint.display(),
            time::show(saved.checkpoint.through_s.saturating_mul(1000))
        )));
    }
    Ok(Job {
        workspace: workspace.to_string(),
        checkpoint,
        flag,
        out,
        saved,
    })
}

/// The checkpoint is this workspace's (and stream processor's) in `group`, and now is not
/// before it.
fn check(job: &Job, group: &str, settings: &Settings<'_>) -> Result<(), Failure> {
    let Some(saved) = &job.saved else {
        return Ok(());
    };
    let path = job.checkpoint.display();
    let flag = job.flag;
    saved
        .checkpoint
        .check_resume(group, &job.workspace, settings.processor, settings.end_s)
        .map_err(|e| match e {
            CheckpointError::Behind { through_ms, .. } => Failure::usage(format!(
                "{flag} {path} ends at {}, after now ({}); move --now on",
                time::show(through_ms),
                time::show(settings.end_s.saturating_mul(1000))
            )),
            e => Failure::usage(format!("{flag} {path}: {e}")),
        })
}

/// One workspace: export, write, deliver, move its checkpoint on.
async fn run(
    client: &Client,
    group: &str,
    job: Job,
    settings: &Settings<'_>,
) -> Result<(), Failure> {
    let builder = match &job.saved {
        Some(saved) => AuditLogExport::resume_builder(client, &saved.checkpoint),
        None => {
            let builder = AuditLogExport::builder(client, group, &job.workspace);
            let builder = match settings.processor {
                Some(sp) => builder.processor(sp),
                None => builder,
            };
            builder.start_s(settings.first_s)
        }
    };
    let builder = match settings.overlap_s {
        Some(overlap_s) => builder.overlap_s(overlap_s),
        None => builder,
    };
    let export = builder
        .end_s(settings.end_s)
        .build()
        .map_err(|e| Failure::usage(e.to_string()))?;
    let out: &Path = &job.out;
    let io = || ExportError::io(format!("cannot write {}", out.display()));
    let mut file = AtomicFile::create(out).map_err(io())?;
    let mut writer = std::io::BufWriter::with_capacity(crate::state::WRITE_BUFFER, file.file());
    let report = export
        .write_to(&mut writer)
        .await
        .map_err(ExportError::Atlas)?;
    writer.into_inner().map_err(|e| io()(e.into_error()))?;
    let prepared = file.prepare().map_err(io())?;
    // Delivered whole under the commit gate, or not at all once an interruption reports
    // (the prepared file is then removed, the checkpoint unchanged).
    let _gate = crate::commit_gate().ok_or(ExportError::Stopped)?;
    state::deliver(prepared, report.checkpoint, Some(&job.checkpoint))?;
    if !settings.quiet {
        eprintln!(
            "delivered {} {} of workspace {} logged from {} to {} into {}",
            thousands(report.lines),
            crate::output::plural(report.lines, "line", "lines"),
            job.workspace,
            time::show(report.window.0.saturating_mul(1000)),
            time::show(report.window.1.saturating_mul(1000)),
            out.display()
        );
    }
    Ok(())
}
