//! `atlas-logs audit-logs --checkpoint FILE`: a workspace's audit log, run after run, each
//! line once, through the library's [`AuditLogExport`] and the delivery protocol of
//! [`crate::state`] (the same as the access-log export's).

use std::path::Path;

use atlas_client::AtomicFile;
use atlas_log_export::{AuditCheckpoint, AuditLogExport, CheckpointError, thousands};

use crate::args::{AuditArgs, Global};
use crate::state::{self, ExportError};
use crate::{Failure, session, time, validate};

/// How far back the first run of a checkpoint begins without `--since`.
const FIRST_SPAN_S: i64 = 24 * 3600;

/// Checks every flag and the checkpoint before connecting, completes a delivery a killed
/// run left half-done, then exports the lines since the checkpoint up to now into `--out`
/// and moves the checkpoint on, atomically.
pub async fn incremental(global: &Global, args: &AuditArgs, now: i64) -> Result<(), Failure> {
    let checkpoint = args
        .checkpoint
        .as_deref()
        .expect("called with --checkpoint");
    validate::stream_name("--tenant", &args.tenant).map_err(Failure::usage)?;
    if let Some(sp) = &args.sp_name {
        validate::stream_name("--sp-name", sp).map_err(Failure::usage)?;
    }
    if args.window.end.is_some() {
        return Err(Failure::usage(
            "--end: with --checkpoint, each run ends now (--now moves the present)",
        ));
    }
    let end_s = now.div_euclid(1000);
    let since = args
        .window
        .since
        .as_deref()
        .map(|v| time::since(v, now).map_err(|e| Failure::usage(format!("--since {e}"))))
        .transpose()?;
    let out = args.out.as_path();
    if out.is_dir() || out.as_os_str().to_string_lossy().ends_with('/') {
        return Err(Failure::usage(format!(
            "--out {}: with --checkpoint, name a file (each run's lines are delivered into it whole)",
            out.display()
        )));
    }
    validate::file("--out", out).map_err(Failure::usage)?;
    validate::file("--checkpoint", checkpoint).map_err(Failure::usage)?;
    if out == checkpoint {
        return Err(Failure::usage(
            "--out and --checkpoint name the same file; give them different names",
        ));
    }
    let project = session::project(&args.project, global)?;
    let mut saved = state::load::<AuditCheckpoint>(checkpoint, "--checkpoint")?;
    if let (Some(saved), Some(_)) = (&saved, since) {
        return Err(Failure::usage(format!(
            "--since conflicts with --checkpoint {}, which continues after {}; drop it, or use another checkpoint",
            checkpoint.display(),
            time::show(saved.checkpoint.through_s.saturating_mul(1000))
        )));
    }
    let check = |saved: &state::State<AuditCheckpoint>, group: &str| {
        check_checkpoint(&saved.checkpoint, group, args, end_s, checkpoint)
    };
    if let (Some(saved), Some(group)) = (&saved, &project) {
        check(saved, group)?;
    }
    let session = session::connect(global, now).await?;
    let group = session.group(project.clone());
    if let (Some(saved), None) = (&saved, &project) {
        check(saved, &group)?;
    }
    // Only now, every check passed: a delivery a killed run left half-done, then what
    // killed runs left half-written beside the output.
    if let Some(saved) = &mut saved
        && let Some(delivered) = state::finish_delivery(saved, checkpoint)?
        && !global.quiet
    {
        eprintln!(
            "delivered {}, which the previous run had finished but not put in place",
            delivered.display()
        );
    }
    state::remove_stale([state::dir_of(out)], global.quiet);

    let builder = match &saved {
        Some(saved) => AuditLogExport::resume_builder(&session.client, &saved.checkpoint),
        None => {
            let start_s = since
                .map(|ms| ms.div_euclid(1000))
                .unwrap_or(end_s - FIRST_SPAN_S);
            let builder = AuditLogExport::builder(&session.client, &group, &args.tenant);
            let builder = match &args.sp_name {
                Some(sp) => builder.processor(sp.as_str()),
                None => builder,
            };
            builder.start_s(start_s)
        }
    };
    let export = builder
        .end_s(end_s)
        .build()
        .map_err(|e| Failure::usage(e.to_string()))?;
    let io = || ExportError::io(format!("cannot write {}", out.display()));
    let mut file = AtomicFile::create(out).map_err(io())?;
    let mut writer = std::io::BufWriter::new(file.file());
    let report = export
        .write_to(&mut writer)
        .await
        .map_err(ExportError::Atlas)?;
    writer.into_inner().map_err(|e| io()(e.into_error()))?;
    let prepared = file.prepare().map_err(io())?;
    // Delivered whole under the commit gate, or not at all once an interruption reports
    // (the prepared file is then removed, the checkpoint unchanged).
    let _gate = crate::commit_gate().ok_or(ExportError::Stopped)?;
    state::deliver(prepared, report.checkpoint, Some(checkpoint))?;
    if !global.quiet {
        eprintln!(
            "delivered {} {} logged from {} to {} into {}",
            thousands(report.lines),
            crate::output::plural(report.lines, "line", "lines"),
            time::show(report.window.0.saturating_mul(1000)),
            time::show(report.window.1.saturating_mul(1000)),
            out.display()
        );
    }
    Ok(())
}

/// The checkpoint is this workspace's (and stream processor's) in `group`, and now is not
/// before it.
fn check_checkpoint(
    saved: &AuditCheckpoint,
    group: &str,
    args: &AuditArgs,
    end_s: i64,
    path: &Path,
) -> Result<(), Failure> {
    saved
        .check_resume(group, &args.tenant, args.sp_name.as_deref(), end_s)
        .map_err(|e| match e {
            CheckpointError::Behind { through_ms, .. } => Failure::usage(format!(
                "--checkpoint {} ends at {}, after now ({}); move --now on",
                path.display(),
                time::show(through_ms),
                time::show(end_s.saturating_mul(1000))
            )),
            e => Failure::usage(format!("--checkpoint {}: {e}", path.display())),
        })
}
