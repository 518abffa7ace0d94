//! `atlas-logs` end to end against fake-atlas: help, table output, every bad input, and
//! exports that are complete, exact, incremental and resumable.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use fake_atlas::{Config, DataConfig, DataSet, FakeAtlas, Faults};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_atlas-logs");

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("atlas-logs-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The CLI with the fake's service account in its environment, no Atlas CLI profile, and
/// the present pinned to the end of the fake's data (`--now`), whatever the day.
fn cli(atlas: &FakeAtlas, home: &Path) -> Command {
    cli_at(atlas, home, atlas.data().config.now_ms)
}

/// [`cli`] with the present at `now_ms`.
fn cli_at(atlas: &FakeAtlas, home: &Path, now_ms: i64) -> Command {
    let mut command = atlas_client_tests::isolated_command(BIN);
    command
        .env("XDG_CONFIG_HOME", home)
        .env("HOME", home)
        .env("MONGODB_ATLAS_CLIENT_ID", fake_atlas::DEMO_CLIENT_ID)
        .env(
            "MONGODB_ATLAS_CLIENT_SECRET",
            fake_atlas::DEMO_CLIENT_SECRET,
        )
        .args(["--base-url", &atlas.base_url()])
        .args(["--now", &now_ms.to_string()])
        .stdin(Stdio::null());
    command
}

async fn run(mut command: Command) -> Output {
    tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap()
}

async fn fake(entries: usize, same_ms_burst: usize) -> FakeAtlas {
    FakeAtlas::start(Config {
        data: DataConfig {
            entries,
            same_ms_burst,
            ..DataConfig::default()
        },
        ..Config::default()
    })
    .await
    .unwrap()
}

/// The entries of a cluster in `[start, end]`, as fake-atlas sends them (nulls included).
fn truth(data: &DataSet, cluster: &str, start: i64, end: i64) -> Vec<Value> {
    let hosts: Vec<u16> = data
        .cluster(cluster)
        .unwrap()
        .hosts
        .iter()
        .map(|h| data.host_index(h).unwrap())
        .collect();
    data.entries
        .iter()
        .filter(|e| hosts.contains(&e.host) && e.ts_ms >= start && e.ts_ms <= end)
        .map(|e| data.entry_json(e, false))
        .collect()
}

/// The NDJSON lines of a file, parsed; `null`s are kept, so they must match exactly.
fn lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn as_set(values: &[Value]) -> BTreeSet<String> {
    values.iter().map(Value::to_string).collect()
}

#[test]
fn help_documents_commands_flags_and_exit_codes() {
    let help = Command::new(BIN).arg("--help").output().unwrap();
    assert!(help.status.success());
    insta::assert_snapshot!("help", String::from_utf8(help.stdout).unwrap());
    for command in ["access", "export", "audit-logs"] {
        let help = Command::new(BIN)
            .args([command, "--help"])
            .output()
            .unwrap();
        assert!(help.status.success());
        let name = format!("{}_help", command.replace('-', "_"));
        insta::assert_snapshot!(name, String::from_utf8(help.stdout).unwrap());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn access_prints_a_table() {
    let atlas = fake(2_000, 0).await;
    let home = scratch("table");
    let now = atlas.data().config.now_ms;
    let mut command = cli(&atlas, &home);
    command.args([
        "access",
        "--group-id",
        &atlas.data().group_id.clone(),
        "--cluster",
        "Cluster0",
        "--limit",
        "6",
    ]);
    command.args([
        "--start",
        &(now - 86_400_000).to_string(),
        "--end",
        &now.to_string(),
    ]);
    let output = run(command).await;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let table = String::from_utf8(output.stdout).unwrap();
    assert!(
        table.lines().all(|l| l.chars().count() <= 120),
        "fits 120 columns:\n{table}"
    );
    insta::assert_snapshot!(table);

    // Whole cells with --wide; local time with --local.
    let table_args = [
        "access",
        "--group-id",
        &atlas.data().group_id.clone(),
        "--cluster",
        "Cluster0",
        "--limit",
        "6",
    ];
    let mut command = cli(&atlas, &home);
    command.env("TZ", "Asia/Kolkata").args(table_args);
    command.args(["--since", "30d", "--wide", "--local"]);
    let output = run(command).await;
    let wide = String::from_utf8(output.stdout).unwrap();
    assert!(wide.lines().any(|l| l.chars().count() > 120), "{wide}");
    assert!(
        wide.contains(".mongodb.net:27017") && !wide.contains('…'),
        "{wide}"
    );
    assert!(
        wide.starts_with("TIME (local)") && wide.contains(" +05:30  "),
        "{wide}"
    );
    assert!(wide.ends_with("6 entries\n"), "{wide}");
    let mut command = cli(&atlas, &home);
    command
        .args(&table_args[..5])
        .args(["--since", "30d", "--limit", "1"]);
    let output = run(command).await;
    let one = String::from_utf8(output.stdout).unwrap();
    assert!(one.ends_with("\n1 entry\n"), "{one}");

    let mut command = cli(&atlas, &home);
    command.args([
        "access",
        "--group-id",
        &atlas.data().group_id.clone(),
        "--hostname",
        &atlas.data().hosts[1].clone(),
    ]);
    command.args(["--auth-result", "failure", "--limit", "3", "-o", "ndjson"]);
    let output = run(command).await;
    let entries: Vec<Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(entries.len(), 3);
    assert!(
        entries
            .iter()
            .all(|e| e["authResult"] == false && e["hostname"] == atlas.data().hosts[1].as_str())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn failures_map_to_documented_exit_codes() {
    let atlas = fake(100, 0).await;
    let home = scratch("codes");
    let group = atlas.data().group_id.clone();
    let mut command = cli(&atlas, &home);
    command.args(["access", "--group-id", &group, "--cluster", "Nope"]);
    let output = run(command).await;
    assert_eq!(output.status.code(), Some(4));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr)
            .lines()
            .last()
            .unwrap_or_default()
            .split(": No")
            .next(),
        Some("error: HTTP 404 CLUSTER_NOT_FOUND")
    );

    let mut command = cli(&atlas, &home);
    command
        .env("MONGODB_ATLAS_CLIENT_SECRET", "mdb_sa_sk_wrong")
        .args(["access", "--group-id", &group, "--cluster", "Cluster0"]);
    let output = run(command).await;
    assert_eq!(
        output.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stderr).contains("invalid_client"));
}

#[tokio::test(flavor = "multi_thread")]
async fn export_is_complete_exact_and_within_budget() {
    let atlas = fake(200_000, 0).await;
    let data = atlas.data().clone();
    let (start, end) = (data.config.now_ms - 7 * 86_400_000, data.config.now_ms);
    let expected = truth(&data, "Cluster0", start, end);
    let home = scratch("export");
    let out = home.join("all.ndjson");
    let mut command = cli(&atlas, &home);
    command.args([
        "export",
        "--group-id",
        &data.group_id,
        "--cluster",
        "Cluster0",
    ]);
    command.args([
        "--start",
        &start.to_string(),
        "--end",
        &end.to_string(),
        "--out",
        &out.display().to_string(),
    ]);
    let output = run(command).await;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let got = lines(&out);
    assert_eq!(got.len(), expected.len(), "same count");
    assert_eq!(as_set(&got).len(), got.len(), "no duplicates");
    assert!(as_set(&got) == as_set(&expected), "same set");
    // Byte for byte what Atlas sent: fake-atlas writes compact JSON, `null`s included.
    let raw: BTreeSet<String> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert!(raw == as_set(&expected), "each line is the object as sent");
    assert!(raw.iter().any(|l| l.contains("\"failureReason\":null")));
    let budget = (1.5 * (expected.len() as f64 / 20_000.0).ceil()).floor() as u64 + 3;
    let requests = atlas.stats().access_cluster;
    assert!(
        requests <= budget,
        "{requests} requests for {} entries (budget {budget})",
        expected.len()
    );
    assert!(expected.len() > 60_000, "several pages: {}", expected.len());
}

#[tokio::test(flavor = "multi_thread")]
async fn checkpointed_slices_emit_each_entry_exactly_once() {
    let atlas = fake(60_000, 0).await;
    let data = atlas.data().clone();
    let now = data.config.now_ms;
    let start = now - 7 * 86_400_000;
    let home = scratch("slices");
    let checkpoint = home.join("checkpoint.json");
    let mut all = Vec::new();
    for (i, end) in [
        now - 5 * 86_400_000,
        now - 3 * 86_400_000 - 5 * 3_600_000 + 1_800_000,
        now - 86_400_000,
        now,
    ]
    .iter()
    .enumerate()
    {
        let out = home.join(format!("slice-{i}.ndjson"));
        let mut command = cli(&atlas, &home);
        command.args([
            "export",
            "--group-id",
            &data.group_id,
            "--cluster",
            "analytics-prod",
            "--checkpoint",
            &checkpoint.display().to_string(),
        ]);
        // The first run starts the checkpoint; later ones continue from it (an explicit
        // --start beside an existing checkpoint is refused).
        if i == 0 {
            command.args(["--start", &start.to_string()]);
        }
        command.args([
            "--end",
            &end.to_string(),
            "--out",
            &out.display().to_string(),
        ]);
        let output = run(command).await;
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        all.extend(lines(&out));
    }
    let expected = truth(&data, "analytics-prod", start, now);
    assert_eq!(all.len(), expected.len(), "exactly once across runs");
    assert!(as_set(&all) == as_set(&expected));

    // Once more at the same end: nothing left, said as such, no request, an empty file.
    let out = home.join("again.ndjson");
    let mut command = cli(&atlas, &home);
    command
        .args(["export", "--group-id", &data.group_id])
        .args(["--cluster", "analytics-prod", "--end", &now.to_string()])
        .args(["--checkpoint", &checkpoint.display().to_string()])
        .args(["--out", &out.display().to_string()]);
    let output = run(command).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("exported 0 entries (the checkpoint already reaches ")
            && stderr.contains(" in 0 requests"),
        "{stderr}"
    );
    assert_eq!(std::fs::read(&out).unwrap(), b"");
}

/// A run killed between recording its delivery and making it leaves the finished file
/// under its temporary name. The next run, given the same `--out` and started from another
/// directory, completes that delivery and stops there for that target rather than replace
/// the file it has just delivered; the run after it continues. Every entry once.
#[tokio::test(flavor = "multi_thread")]
async fn a_delivery_completed_into_the_same_name_is_not_replaced() {
    let atlas = fake(6_000, 0).await;
    let data = atlas.data().clone();
    let now = data.config.now_ms;
    let (start, t1, t2) = (now - 3 * 86_400_000, now - 2 * 86_400_000, now - 86_400_000);
    let home = scratch("same-name");
    let elsewhere = home.join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let checkpoint = home.join("cp.json");
    let export = |end: i64, out: &str, from: &Path| {
        let mut command = cli(&atlas, &home);
        command
            .current_dir(from)
            .args([
                "export",
                "--group-id",
                &data.group_id,
                "--cluster",
                "Cluster0",
            ])
            .args(["--checkpoint", &checkpoint.display().to_string()])
            .args(["--end", &end.to_string(), "--out", out]);
        if end == t1 {
            command.args(["--start", &start.to_string()]);
        }
        command
    };
    for (end, out) in [(t1, "a.ndjson"), (t2, "b.ndjson")] {
        let output = run(export(end, out, &home)).await;
        assert!(output.status.success(), "{output:?}");
    }
    // As a run killed after step 4 leaves it: the state names the finished file, which is
    // still under its temporary name beside the output; the paths as the run records them.
    let finished = home.join(".b.ndjson.Kil1ed.atlas-ready");
    std::fs::rename(home.join("b.ndjson"), &finished).unwrap();
    let mut state: Value = serde_json::from_slice(&std::fs::read(&checkpoint).unwrap()).unwrap();
    state["delivery"] = serde_json::json!({
        "temp": finished.display().to_string(),
        "out": home.join("b.ndjson").display().to_string(),
    });
    std::fs::write(&checkpoint, serde_json::to_vec_pretty(&state).unwrap()).unwrap();

    let b = home.join("b.ndjson").display().to_string();
    let output = run(export(now, &b, &elsewhere)).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("holds the previous run's entries now"),
        "{stderr}"
    );
    assert!(!finished.exists());
    let waited: Value = serde_json::from_slice(&std::fs::read(&checkpoint).unwrap()).unwrap();
    assert_eq!(waited["delivery"], Value::Null);
    assert_eq!(
        waited["checkpoint"], state["checkpoint"],
        "the checkpoint waits too"
    );

    let output = run(export(now, "c.ndjson", &home)).await;
    assert!(output.status.success(), "{output:?}");
    let mut all = Vec::new();
    for name in ["a.ndjson", "b.ndjson", "c.ndjson"] {
        all.extend(lines(&home.join(name)));
    }
    let expected = truth(&data, "Cluster0", start, now);
    assert_eq!(all.len(), expected.len(), "exactly once");
    assert!(as_set(&all) == as_set(&expected));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_export_leaves_nothing_and_resumes() {
    let atlas = fake(60_000, 0).await;
    let data = atlas.data().clone();
    let now = data.config.now_ms;
    let start = now - 7 * 86_400_000;
    let home = scratch("killed");
    let checkpoint = home.join("checkpoint.json");
    let out = home.join("out.ndjson");
    let args = |command: &mut Command| {
        command.args([
            "export",
            "--group-id",
            &data.group_id,
            "--cluster",
            "Cluster0",
            "--checkpoint",
            &checkpoint.display().to_string(),
        ]);
        command.args([
            "--start",
            &start.to_string(),
            "--end",
            &now.to_string(),
            "--out",
            &out.display().to_string(),
        ]);
    };
    // Atlas holds its answers for a minute, so the run is surely under way and surely not
    // finished when it is killed: its output is open and its first call is out.
    atlas.set_faults(Faults {
        latency: std::time::Duration::from_secs(60),
        ..Faults::default()
    });
    let mut command = cli(&atlas, &home);
    args(&mut command);
    let mut child = command
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while atlas.stats().access_cluster == 0 || std::fs::read_dir(&home).unwrap().count() == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the run neither opened its output nor called Atlas within 30 s"
        );
        assert!(child.try_wait().unwrap().is_none(), "the run ended early");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        !out.exists() && !checkpoint.exists(),
        "no output and no checkpoint after a kill"
    );

    atlas.set_faults(Faults::default());
    let mut command = cli(&atlas, &home);
    args(&mut command);
    let output = run(command).await;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let expected = truth(&data, "Cluster0", start, now);
    let got = lines(&out);
    assert_eq!(got.len(), expected.len());
    assert!(as_set(&got) == as_set(&expected));
    let names: Vec<String> = std::fs::read_dir(&home)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(
        names.len(),
        2,
        "only the output and the checkpoint: {names:?}"
    );
    // SIGKILL gives no chance to clean up: the killed run left its own uniquely named,
    // hidden temporary file, which the next run removed, and said so.
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!(
            "removed 1 temporary file that interrupted runs left in {}",
            home.display()
        )),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn one_crowded_millisecond_is_split_or_refused() {
    // About 23,000 of the burst land on Cluster0: more than a page, less than two halves.
    let atlas = fake(75_000, 70_000).await;
    let data = atlas.data().clone();
    let (start, end) = (data.config.now_ms - 7 * 86_400_000, data.config.now_ms);
    let home = scratch("crowded");
    let out = home.join("out.ndjson");
    let mut command = cli(&atlas, &home);
    command.args([
        "export",
        "--group-id",
        &data.group_id,
        "--cluster",
        "Cluster0",
        "--start",
        &start.to_string(),
        "--end",
        &end.to_string(),
    ]);
    command.args(["--out", &out.display().to_string()]);
    let output = run(command).await;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let expected = truth(&data, "Cluster0", start, end);
    assert!(as_set(&lines(&out)) == as_set(&expected) && lines(&out).len() == expected.len());

    // About 24,000 successes in one millisecond on one cluster: no window can split them.
    let atlas = fake(95_000, 90_000).await;
    let data = atlas.data().clone();
    let out = home.join("refused.ndjson");
    let mut command = cli(&atlas, &home);
    command.args([
        "export",
        "--group-id",
        &data.group_id,
        "--cluster",
        "Cluster0",
        "--start",
        &start.to_string(),
        "--end",
        &end.to_string(),
    ]);
    command.args(["--out", &out.display().to_string()]);
    let output = run(command).await;
    assert_eq!(
        output.status.code(),
        Some(6),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        String::from_utf8_lossy(&output.stderr)
            .contains("more than 20,000 entries share the millisecond")
    );
    assert!(!out.exists(), "no pretend output");
}

#[tokio::test(flavor = "multi_thread")]
async fn audit_logs_download_into_a_directory() {
    let atlas = fake(100, 0).await;
    let home = scratch("audit");
    let mut command = cli(&atlas, &home);
    command.args([
        "audit-logs",
        "--group-id",
        &atlas.data().group_id.clone(),
        "--tenant",
        "workspace-eu",
        "--out",
        &home.display().to_string(),
    ]);
    let output = run(command).await;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let files: Vec<String> = std::fs::read_dir(&home)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(files.len(), 1);
    assert!(
        files[0].starts_with("workspace-eu_") && files[0].ends_with("_audit.log.gz"),
        "{files:?}"
    );
}

/// `{target}` in `--out` stands for the workspace's name with one `--tenant` too, as it
/// does with `--all-workspaces` and in `export`: in a download and in a checkpointed run.
#[tokio::test(flavor = "multi_thread")]
async fn one_workspace_is_the_target_in_out() {
    let atlas = fake(100, 0).await;
    let home = scratch("audit-target");
    let group = atlas.data().group_id.clone();
    let template = home.join("{target}.log").display().to_string();
    let checkpoint = home.join("cp.json").display().to_string();
    let runs: [&[&str]; 2] = [
        &["--decompress", "--since", "1h"],
        &["--checkpoint", &checkpoint, "--since", "1h"],
    ];
    for extra in runs {
        let file = home.join("workspace-eu.log");
        let _ = std::fs::remove_file(&file);
        let mut command = cli(&atlas, &home);
        command
            .args(["audit-logs", "--group-id", &group])
            .args(["--tenant", "workspace-eu", "--out", &template])
            .args(extra);
        let output = run(command).await;
        assert!(
            output.status.success(),
            "{extra:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(text.lines().count() > 0, "{extra:?}: no line in {file:?}");
        assert!(!home.join("{target}.log").exists(), "{extra:?}");
    }
}

/// `fake-atlas --close-after-bytes 100000 --close-next 1`: the download breaks off once
/// mid-body, is sent again from the start, and the CLI succeeds with the whole file.
#[tokio::test(flavor = "multi_thread")]
async fn audit_logs_download_broken_off_once_is_retried() {
    let atlas = fake(100, 0).await;
    let home = scratch("audit-broken");
    let out = home.join("audit.log.gz");
    let download = |out: &Path| {
        let mut command = cli(&atlas, &home);
        command.args([
            "audit-logs",
            "--group-id",
            &atlas.data().group_id.clone(),
            "--tenant",
            "workspace0",
            "--out",
            &out.display().to_string(),
        ]);
        command
    };
    let output = run(download(&home.join("whole.gz"))).await;
    assert!(output.status.success());
    atlas.set_faults(Faults {
        close_after_bytes: Some(100_000),
        close_next: 1,
        ..Faults::default()
    });
    // What a killed download left half-written beside its output goes; a look-alike of
    // the user's stays.
    std::fs::write(home.join(".audit.log.gz.Kq3x9Z.atlas-tmp"), "half").unwrap();
    std::fs::write(home.join(".audit.log.gz.tmp"), "the user's").unwrap();
    let before = atlas.stats().audit_logs;
    let output = run(download(&out)).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("removed 1 temporary file that interrupted runs left in"),
        "{stderr}"
    );
    std::fs::remove_file(home.join(".audit.log.gz.tmp")).unwrap();
    assert_eq!(
        atlas.stats().audit_logs - before,
        2,
        "broken once, then whole"
    );
    let whole = std::fs::read(home.join("whole.gz")).unwrap();
    assert!(whole.len() > 100_000, "{} bytes", whole.len());
    assert_eq!(std::fs::read(&out).unwrap(), whole);
    let mut files: Vec<String> = std::fs::read_dir(&home)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".gz") || name.starts_with('.'))
        .collect();
    files.sort();
    assert_eq!(
        files,
        ["audit.log.gz", "whole.gz"],
        "no temporary file left"
    );
}

/// A build without the `demo` feature refuses `--demo` with one line saying how to get it,
/// before anything else happens.
#[cfg(not(feature = "demo"))]
#[test]
fn without_the_demo_feature_demo_is_refused_naming_the_feature() {
    let dir = scratch("no-demo");
    let out = dir.join("demo.ndjson");
    let output = Command::new(BIN)
        .args(["--demo", "export", "--cluster", "Cluster0", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("--demo") && stderr.contains("--features demo"),
        "{stderr}"
    );
    assert!(!out.exists());
}

#[cfg(feature = "demo")]
#[test]
fn demo_runs_without_an_account() {
    let output = Command::new(BIN)
        .args([
            "--demo",
            "access",
            "--cluster",
            "Cluster0",
            "--since",
            "24h",
            "--limit",
            "3",
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let table = String::from_utf8(output.stdout).unwrap();
    assert!(
        table.starts_with("TIME (UTC)") && table.trim_end().ends_with("3 entries"),
        "{table}"
    );
    assert!(
        String::from_utf8_lossy(&output.stderr)
            .starts_with("demo: fake Atlas at http://127.0.0.1:")
    );
}

#[cfg(feature = "demo")]
#[test]
fn the_demo_export_goes_past_the_cap_and_through_the_burst() {
    let dir = scratch("demo-export");
    let out = dir.join("demo.ndjson");
    let output = Command::new(BIN)
        .args(["--demo", "export", "--cluster", "Cluster0", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let got = lines(&out);
    assert!(got.len() > 50_000, "well past the cap: {}", got.len());
    assert_eq!(as_set(&got).len(), got.len(), "no entry twice");
    let mut per_ms = std::collections::BTreeMap::<String, usize>::new();
    for entry in &got {
        let line: Value = serde_json::from_str(entry["logLine"].as_str().unwrap()).unwrap();
        *per_ms.entry(line["t"]["$date"].to_string()).or_default() += 1;
    }
    assert!(
        per_ms.values().any(|&n| n >= 3_000),
        "the burst is there whole"
    );
    let summary = stderr.lines().last().unwrap_or_default();
    assert!(
        summary.starts_with(&format!(
            "exported {} entries from ",
            atlas_log_export::thousands(got.len() as u64)
        )),
        "{summary}"
    );
    assert!(
        stderr.contains("Cluster0 ("),
        "the banner names the clusters: {stderr}"
    );
}

/// Runs of `export` killed at random instants (SIGKILL, SIGTERM, SIGINT), each followed by
/// another run, deliver every entry exactly once across the outputs they delivered.
#[tokio::test(flavor = "multi_thread")]
async fn runs_killed_at_random_points_deliver_each_entry_exactly_once() {
    let atlas = fake(60_000, 0).await;
    // Slow answers, so that kills land during requests, between them and while writing.
    atlas.set_faults(Faults {
        latency: std::time::Duration::from_millis(150),
        ..Faults::default()
    });
    let data = atlas.data().clone();
    let now = data.config.now_ms;
    let start = now - 7 * 86_400_000;
    let home = scratch("kills");
    let checkpoint = home.join("state.json");
    let mut killer = Killer::new();
    let seed = killer.seed;
    let ends = [
        now - 5 * 86_400_000,
        now - 3 * 86_400_000,
        now - 86_400_000,
        now,
    ];
    let mut runs = 0;
    let mut kills = 0;
    for (i, end) in ends.iter().enumerate() {
        loop {
            runs += 1;
            let out = home.join(format!("out-{runs:03}.ndjson"));
            let mut command = cli(&atlas, &home);
            command.args([
                "export",
                "--group-id",
                &data.group_id,
                "--cluster",
                "Cluster0",
                "--checkpoint",
                &checkpoint.display().to_string(),
                "--end",
                &end.to_string(),
                "--out",
                &out.display().to_string(),
            ]);
            if i == 0 && !checkpoint.exists() {
                command.args(["--start", &start.to_string()]);
            }
            // Three kills at most per slice, then a run to completion.
            let killed = kills < 3 * (i + 1);
            kills += usize::from(killed);
            if killer.run(command, killed.then_some(1_500)) {
                break;
            }
        }
    }
    let mut delivered = Vec::new();
    for entry in std::fs::read_dir(&home).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("out-") && name.ends_with(".ndjson") {
            delivered.extend(lines(&path));
        }
    }
    let expected = truth(&data, "Cluster0", start, now);
    assert_eq!(
        delivered.len(),
        expected.len(),
        "exactly once across {runs} runs, {kills} of them killed (seed {seed})"
    );
    // What killed runs left half-written, the runs after them removed.
    let left: Vec<String> = std::fs::read_dir(&home)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".atlas-tmp"))
        .collect();
    assert!(left.is_empty(), "{left:?} (seed {seed})");
    assert!(as_set(&delivered) == as_set(&expected), "seed {seed}");
    assert!(kills >= 1);
}

/// The NDJSON lines of a text, parsed.
fn parsed(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_cluster_of_a_project_exactly_once_across_runs() {
    let atlas = fake(30_000, 0).await;
    let data = atlas.data().clone();
    let now = data.config.now_ms;
    let start = now - 7 * 86_400_000;
    let middle = now - 2 * 86_400_000;
    let home = scratch("project");
    let checkpoints = home.join("checkpoints");
    std::fs::create_dir_all(&checkpoints).unwrap();
    let names: Vec<String> = data.clusters.iter().map(|c| c.name.clone()).collect();
    assert!(names.len() >= 3, "{names:?}");
    for (round, end) in [(1, middle), (2, now)] {
        let mut command = cli(&atlas, &home);
        command.args(["export", "--group-id", &data.group_id, "--all-clusters"]);
        command.args([
            "--checkpoint-dir",
            &checkpoints.display().to_string(),
            "--out",
            &home
                .join(format!("run{round}-{{target}}.ndjson"))
                .display()
                .to_string(),
            "--end",
            &end.to_string(),
        ]);
        if round == 1 {
            command.args(["--start", &start.to_string()]);
        }
        let output = run(command).await;
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "run {round}: {stderr}");
        assert!(
            stderr.contains(&format!(" entries from {} targets in ", names.len())),
            "{stderr}"
        );
    }
    for name in &names {
        // The two runs' files together are the cluster's `fake-atlas dump`, line for line
        // and byte for byte (the data lies within the seven days exported).
        let mut got: Vec<String> = ["run1", "run2"]
            .iter()
            .flat_map(|run| {
                std::fs::read_to_string(home.join(format!("{run}-{name}.ndjson")))
                    .unwrap()
                    .lines()
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            })
            .collect();
        let mut dump = Vec::new();
        data.write_ndjson_of(Some(name), &mut dump).unwrap();
        let mut expected: Vec<String> = String::from_utf8(dump)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect();
        got.sort();
        expected.sort();
        assert!(!expected.is_empty());
        assert_eq!(
            got.len(),
            expected.len(),
            "{name}: no entry twice or missing"
        );
        assert!(got == expected, "{name}: the dump's lines, byte for byte");
        assert!(checkpoints.join(format!("{name}.json")).is_file());
    }
    assert_eq!(atlas.stats().list_clusters, 2, "one listing per run");
}

#[tokio::test(flavor = "multi_thread")]
async fn several_targets_merge_into_one_stream() {
    let atlas = fake(30_000, 0).await;
    let data = atlas.data().clone();
    let now = data.config.now_ms;
    let start = now - 3 * 86_400_000;
    let home = scratch("merged");
    let host = data.cluster("orders-eu-1").unwrap().hosts[0].clone();
    let mut command = cli(&atlas, &home);
    command.args(["export", "--group-id", &data.group_id]);
    command.args(["--cluster", "Cluster0", "--cluster", "analytics-prod"]);
    command.args(["--hostname", &host, "--concurrency", "4"]);
    command.args(["--start", &start.to_string(), "--end", &now.to_string()]);
    let output = run(command).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let got = parsed(&String::from_utf8(output.stdout).unwrap());
    let mut expected = truth(&data, "Cluster0", start, now);
    expected.extend(truth(&data, "analytics-prod", start, now));
    expected.extend(
        data.entries
            .iter()
            .filter(|e| data.hosts[usize::from(e.host)] == host && (start..=now).contains(&e.ts_ms))
            .map(|e| data.entry_json(e, false)),
    );
    assert_eq!(got.len(), expected.len(), "no entry twice or missing");
    assert!(as_set(&got) == as_set(&expected));
    assert_eq!(
        atlas.stats().list_clusters,
        0,
        "named targets need no listing"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_project_comes_as_the_atlas_cli_finds_it() {
    let atlas = fake(500, 0).await;
    let group = atlas.data().group_id.clone();
    let home = scratch("project-id");
    let access = [
        "access",
        "--cluster",
        "Cluster0",
        "--since",
        "30d",
        "--limit",
        "1",
    ];
    let ok = |output: &Output| {
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(String::from_utf8_lossy(&output.stdout).ends_with("1 entry\n"));
    };

    // The variable, with the organisation's beside it (not needed, ignored).
    let mut command = cli(&atlas, &home);
    command
        .env("MONGODB_ATLAS_PROJECT_ID", &group)
        .env("MONGODB_ATLAS_ORG_ID", "5f0a0a0a0a0a0a0a0a0a0a0a")
        .args(access);
    ok(&run(command).await);

    // The flag wins over the variable; --project-id is the Atlas CLI's name for it.
    let mut command = cli(&atlas, &home);
    command
        .env("MONGODB_ATLAS_PROJECT_ID", "not-a-project")
        .args(access)
        .args(["--project-id", &group]);
    ok(&run(command).await);

    // The profile's project_id, from the Atlas CLI's configuration file.
    std::fs::create_dir_all(home.join("atlascli")).unwrap();
    std::fs::write(
        home.join("atlascli/config.toml"),
        format!("[work]\nproject_id = \"{group}\"\n"),
    )
    .unwrap();
    let mut command = cli(&atlas, &home);
    command.args(["--profile", "work"]).args(access);
    ok(&run(command).await);

    // A base URL copied with the API's prefix is the same site.
    let mut command = atlas_client_tests::isolated_command(BIN);
    command
        .env("XDG_CONFIG_HOME", &home)
        .env("MONGODB_ATLAS_CLIENT_ID", fake_atlas::DEMO_CLIENT_ID)
        .env(
            "MONGODB_ATLAS_CLIENT_SECRET",
            fake_atlas::DEMO_CLIENT_SECRET,
        )
        .env(
            "MONGODB_ATLAS_OPS_MANAGER_URL",
            format!("{}/api/atlas/v2", atlas.base_url()),
        )
        .args(["--now", &atlas.data().config.now_ms.to_string()])
        .args(["--profile", "work"])
        .args(access);
    ok(&run(command).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn one_failing_target_takes_nothing_from_the_others() {
    let atlas = fake(5_000, 0).await;
    let data = atlas.data().clone();
    let now = data.config.now_ms;
    let start = now - 86_400_000;
    let home = scratch("one-fails");
    let checkpoints = home.join("cp");
    std::fs::create_dir_all(&checkpoints).unwrap();
    let mut command = cli(&atlas, &home);
    command.args(["export", "--group-id", &data.group_id]);
    command.args(["--cluster", "Cluster0", "--cluster", "Gone"]);
    command.args(["--start", &start.to_string(), "--end", &now.to_string()]);
    command.args(["--checkpoint-dir", &checkpoints.display().to_string()]);
    command.args(["--out", &home.join("{target}.ndjson").display().to_string()]);
    let output = run(command).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(4), "{stderr}");
    assert!(stderr.contains("error: cluster Gone: HTTP 404"), "{stderr}");
    assert!(
        stderr.trim_end().ends_with(
            "1 of 2 targets failed (above); the other targets were exported and delivered"
        ),
        "{stderr}"
    );
    let got = lines(&home.join("Cluster0.ndjson"));
    let expected = truth(&data, "Cluster0", start, now);
    assert!(got.len() == expected.len() && as_set(&got) == as_set(&expected));
    assert!(checkpoints.join("Cluster0.json").is_file());
    assert!(!home.join("Gone.ndjson").exists() && !checkpoints.join("Gone.json").exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn verbose_shows_our_events_and_rust_log_decides_when_set() {
    let atlas = fake(500, 0).await;
    let group = atlas.data().group_id.clone();
    let home = scratch("verbose");
    let access = [
        "access",
        "--group-id",
        &group,
        "--cluster",
        "Cluster0",
        "--since",
        "30d",
        "--limit",
        "1",
    ];
    let stderr = |flags: &[&str], rust_log: Option<&str>| {
        let mut command = cli(&atlas, &home);
        if let Some(directives) = rust_log {
            command.env("RUST_LOG", directives);
        }
        command.args(flags).args(access);
        async move {
            let output = run(command).await;
            assert!(output.status.success());
            String::from_utf8(output.stderr).unwrap()
        }
    };
    assert_eq!(stderr(&[], None).await, "", "quiet by default");
    let ours = stderr(&["-v"], None).await;
    assert!(ours.contains("service-account token received"), "{ours}");
    assert!(
        ours.contains("answer") && ours.contains("status=200") && ours.contains("elapsed_ms="),
        "{ours}"
    );
    assert!(
        !ours.contains("hyper") && !ours.contains("pooling"),
        "{ours}"
    );
    let everything = stderr(&["-vv"], None).await;
    assert!(everything.contains("hyper"), "{everything}");
    assert_eq!(stderr(&["-v"], Some("off")).await, "", "RUST_LOG wins");
    let runtime_only = stderr(&[], Some("atlas_runtime=debug")).await;
    assert!(runtime_only.contains("status=200"), "{runtime_only}");
}

/// Every cluster of every project of an organisation, across two runs, equals
/// fake-atlas's dump of every project line for line; a project the credentials lost is
/// reported and the others delivered, and the next run picks it up from the start.
#[tokio::test(flavor = "multi_thread")]
async fn every_project_of_an_organisation_exactly_once_across_runs() {
    let atlas = FakeAtlas::start(Config {
        data: DataConfig {
            entries: 3_000,
            ..DataConfig::default()
        },
        projects: 4,
        ..Config::default()
    })
    .await
    .unwrap();
    let projects: Vec<DataSet> = atlas.projects().to_vec();
    let org = projects[0].org_id.clone();
    let now = projects[0].config.now_ms;
    let start = now - 7 * 86_400_000;
    let middle = now - 2 * 86_400_000;
    let lost = projects[2].group_id.clone();
    let home = scratch("organisation");
    let checkpoints = home.join("cp");
    std::fs::create_dir_all(&checkpoints).unwrap();
    let out = |round: u32| home.join(format!("run{round}")).join("{target}.ndjson");
    for round in [1, 2] {
        std::fs::create_dir_all(home.join(format!("run{round}"))).unwrap();
        atlas.set_faults(Faults {
            forbidden_groups: if round == 1 {
                vec![lost.clone()]
            } else {
                vec![]
            },
            ..Faults::default()
        });
        let mut command = cli(&atlas, &home);
        command.args(["export", "--all-clusters"]);
        if round == 1 {
            command.args(["--all-projects", "--start", &start.to_string()]);
            command.args(["--end", &middle.to_string()]);
        } else {
            // The organisation from the environment, as the Atlas CLI reads it; a project
            // without a checkpoint starts at the default seven days back.
            command
                .env("MONGODB_ATLAS_ORG_ID", &org)
                .arg("--all-projects");
        }
        command.args(["--checkpoint-dir", &checkpoints.display().to_string()]);
        command.args(["--out", &out(round).display().to_string()]);
        let output = run(command).await;
        let stderr = String::from_utf8_lossy(&output.stderr);
        if round == 1 {
            assert_eq!(output.status.code(), Some(3), "{stderr}");
            assert!(
                stderr.contains(&format!(
                    "error: project {lost}: HTTP 403 USER_UNAUTHORIZED"
                )),
                "{stderr}"
            );
            assert!(
                stderr.trim_end().ends_with(
                    "1 project could not be listed (above); the 9 targets found were exported and delivered"
                ),
                "{stderr}"
            );
        } else {
            assert!(output.status.success(), "{stderr}");
            assert!(stderr.contains(" entries from 12 targets in "), "{stderr}");
        }
    }
    let mut got: Vec<String> = Vec::new();
    let mut expected: Vec<String> = Vec::new();
    for project in &projects {
        for cluster in project.cluster_names() {
            for round in [1, 2] {
                let file = home
                    .join(format!("run{round}"))
                    .join(&project.group_id)
                    .join(format!("{cluster}.ndjson"));
                let skipped = round == 1 && project.group_id == lost;
                assert_eq!(file.is_file(), !skipped, "{}", file.display());
                if !skipped {
                    got.extend(
                        std::fs::read_to_string(file)
                            .unwrap()
                            .lines()
                            .map(String::from),
                    );
                }
            }
            let checkpoint = checkpoints
                .join(&project.group_id)
                .join(format!("{cluster}.json"));
            assert!(checkpoint.is_file(), "{}", checkpoint.display());
        }
        let mut dump = Vec::new();
        project.write_ndjson_of(None, &mut dump).unwrap();
        expected.extend(String::from_utf8(dump).unwrap().lines().map(String::from));
    }
    // A window given with checkpoints kept: refused before anything is sent (the projects
    // are not even listed), nothing made.
    let run3 = home.join("run3");
    std::fs::create_dir_all(&run3).unwrap();
    let mut command = cli(&atlas, &home);
    command.args([
        "export",
        "--all-clusters",
        "--all-projects",
        "--since",
        "1h",
    ]);
    command.args(["--checkpoint-dir", &checkpoints.display().to_string()]);
    command.args(["--out", &run3.join("{target}.ndjson").display().to_string()]);
    let output = run(command).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--start/--since conflict with --checkpoint-dir"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_dir(&run3).unwrap().count(), 0, "nothing made");
    assert_eq!(atlas.stats().list_projects, 2, "nothing sent");
    // One project's export does not take the organisation's checkpoints for its own.
    let mut command = cli(&atlas, &home);
    command.args([
        "export",
        "--group-id",
        &projects[0].group_id,
        "--all-clusters",
    ]);
    command.args(["--checkpoint-dir", &checkpoints.display().to_string()]);
    let output = run(command).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("holds the checkpoints of an export of every project"),
        "{stderr}"
    );

    got.sort();
    expected.sort();
    assert_eq!(expected.len(), 4 * 3_000);
    assert_eq!(got.len(), expected.len(), "no entry twice or missing");
    assert!(got == expected, "every project's dump, line for line");
    assert_eq!(
        atlas.stats().list_projects,
        2,
        "one listing of the projects per run"
    );
}

/// `audit-logs --checkpoint`, run from "cron" as the present moves on, its runs killed at
/// random instants (SIGKILL, SIGTERM, SIGINT) and followed by others: the files delivered
/// hold every line of the workspace's audit log exactly once, in order.
#[tokio::test(flavor = "multi_thread")]
async fn audit_log_runs_killed_at_random_points_deliver_each_line_exactly_once() {
    let atlas = FakeAtlas::start(Config {
        data: DataConfig {
            entries: 100,
            ..DataConfig::default()
        },
        // Several events a second; slow answers, so that kills land during the download.
        audit_log_bytes: 2_000_000_000,
        faults: Faults {
            latency: std::time::Duration::from_millis(200),
            ..Faults::default()
        },
        ..Config::default()
    })
    .await
    .unwrap();
    let data = atlas.data().clone();
    let now_s = data.config.now_ms / 1000;
    let home = scratch("audit-kills");
    let checkpoint = home.join("audit.json");
    let mut killer = Killer::new();
    let seed = killer.seed;
    let first_s = now_s - 900;
    let presents = [now_s - 600, now_s - 599, now_s - 300, now_s];
    let (mut runs, mut kills) = (0, 0);
    for (i, present) in presents.iter().enumerate() {
        loop {
            runs += 1;
            let out = home.join(format!("audit-{runs:03}.log"));
            let mut command = cli_at(&atlas, &home, present * 1000);
            command
                .args([
                    "audit-logs",
                    "--group-id",
                    &data.group_id,
                    "--tenant",
                    "workspace0",
                ])
                .args(["--checkpoint", &checkpoint.display().to_string()])
                .args(["--out", &out.display().to_string()])
                .args(["--overlap", "2m"]);
            if i == 0 && !checkpoint.exists() {
                command.args(["--since", &format!("{}s", present - first_s)]);
            }
            let killed = kills < 3 * (i + 1);
            kills += usize::from(killed);
            if killer.run(command, killed.then_some(600)) {
                break;
            }
        }
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(&home)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.starts_with("audit-") && name.ends_with(".log")
        })
        .collect();
    files.sort();
    let delivered: Vec<String> = files
        .iter()
        .flat_map(|f| {
            std::fs::read_to_string(f)
                .unwrap()
                .lines()
                .map(String::from)
                .collect::<Vec<_>>()
        })
        .collect();
    let expected = atlas.audit_lines("workspace0", first_s, now_s);
    assert!(expected.len() > 1_000);
    assert_eq!(
        delivered.len(),
        expected.len(),
        "exactly once across {runs} runs, {kills} of them killed (seed {seed})"
    );
    assert!(delivered == expected, "in order (seed {seed})");
    let left: Vec<String> = std::fs::read_dir(&home)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".atlas-tmp"))
        .collect();
    assert!(left.is_empty(), "{left:?} (seed {seed})");
    assert!(kills >= 1);
}

/// `audit-logs --all-workspaces --checkpoint-dir`: every workspace of the project (Atlas's
/// listStreamWorkspaces), each with its own checkpoint and files, across two runs, each
/// line of each workspace's audit log exactly once.
#[tokio::test(flavor = "multi_thread")]
async fn every_workspace_of_a_project_run_after_run() {
    let atlas = FakeAtlas::start(Config {
        data: DataConfig {
            entries: 100,
            ..DataConfig::default()
        },
        audit_log_bytes: 2_000_000_000,
        ..Config::default()
    })
    .await
    .unwrap();
    let data = atlas.data().clone();
    let now_s = data.config.now_ms / 1000;
    let home = scratch("workspaces");
    let checkpoints = home.join("cp");
    std::fs::create_dir_all(&checkpoints).unwrap();
    let first_s = now_s - 1200;
    for (round, present) in [(1, now_s - 600), (2, now_s)] {
        let mut command = cli_at(&atlas, &home, present * 1000);
        command
            .args([
                "audit-logs",
                "--group-id",
                &data.group_id,
                "--all-workspaces",
            ])
            .args(["--checkpoint-dir", &checkpoints.display().to_string()])
            .args([
                "--out",
                &home
                    .join(format!("{{target}}-{round}.log"))
                    .display()
                    .to_string(),
            ]);
        if round == 1 {
            command.args(["--since", "600s"]);
        }
        let output = run(command).await;
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "run {round}: {stderr}");
    }
    let names = data.tenant_names();
    assert_eq!(names.len(), 2);
    for name in names {
        let delivered: Vec<String> = [1, 2]
            .iter()
            .flat_map(|run| {
                std::fs::read_to_string(home.join(format!("{name}-{run}.log")))
                    .unwrap()
                    .lines()
                    .map(String::from)
                    .collect::<Vec<_>>()
            })
            .collect();
        let expected = atlas.audit_lines(name, first_s, now_s);
        assert!(expected.len() > 1_000);
        assert!(delivered == expected, "{name}: every line once, in order");
        assert!(checkpoints.join(format!("{name}.json")).is_file());
    }
    assert_eq!(atlas.stats().list_workspaces, 2, "one listing per run");
}

/// Runs a command, killed (SIGKILL, SIGTERM or SIGINT, at random) within a random time
/// when asked; a seeded generator of its own, the seed in every message.
struct Killer {
    seed: u64,
    state: u64,
}

impl Killer {
    fn new() -> Self {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos() as u64;
        Self {
            seed,
            state: seed | 1,
        }
    }

    fn next(&mut self, n: u64) -> u64 {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        self.state % n
    }

    /// Whether the run succeeded; a run that fails must have been killed, and end by its
    /// signal (130 for SIGINT, 143 for SIGTERM, none for SIGKILL).
    fn run(&mut self, mut command: Command, kill_within_ms: Option<u64>) -> bool {
        let seed = self.seed;
        let child = command
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        if let Some(within) = kill_within_ms {
            std::thread::sleep(std::time::Duration::from_millis(self.next(within)));
            let signal = ["KILL", "TERM", "INT"][self.next(3) as usize];
            // The run may have ended already, so kill's own status is not checked; that it
            // runs at all is.
            Command::new("kill")
                .args([&format!("-{signal}"), &child.id().to_string()])
                .status()
                .expect("kill(1) runs; install it: apt-get install procps");
        }
        let output = child.wait_with_output().unwrap();
        if output.status.success() {
            return true;
        }
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            kill_within_ms.is_some(),
            "an unkilled run failed (seed {seed}): {stderr}"
        );
        assert!(
            output.status.code().is_none_or(|c| c == 130 || c == 143),
            "a killed run ends by its signal (seed {seed}): {:?} {stderr}",
            output.status
        );
        false
    }
}
