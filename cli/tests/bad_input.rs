//! Every plainly bad input, across all commands: each gets exit code 2, one line on stderr
//! that names what the user typed (the flag, variable or profile) and the rule, nothing on
//! stdout, no request to Atlas, and no file written, changed or removed. All messages are
//! snapshotted together.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use fake_atlas::{Config, DataConfig, FakeAtlas};

const BIN: &str = env!("CARGO_BIN_EXE_atlas-logs");

/// One bad input: what it is, the text its message must contain (what the user typed),
/// the arguments, and any environment of its own.
struct Case {
    label: &'static str,
    names: &'static str,
    args: Vec<String>,
    env: Vec<(&'static str, String)>,
    /// Leave out `--base-url <the fake>` (the case gives its own).
    own_base_url: bool,
}

fn case(label: &'static str, names: &'static str, args: &[&str]) -> Case {
    Case {
        label,
        names,
        args: args.iter().map(|a| a.to_string()).collect(),
        env: Vec::new(),
        own_base_url: false,
    }
}

impl Case {
    fn env(mut self, name: &'static str, value: &str) -> Self {
        self.env.push((name, value.to_string()));
        self
    }
    fn own_base_url(mut self) -> Self {
        self.own_base_url = true;
        self
    }
}

/// Every file under `dir` with its content (`None` for directories).
fn tree(dir: &Path) -> BTreeMap<PathBuf, Option<Vec<u8>>> {
    let mut all = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                all.insert(path.clone(), None);
                stack.push(path);
            } else {
                all.insert(path.clone(), Some(std::fs::read(&path).unwrap()));
            }
        }
    }
    all
}

/// A command with the fake's service account, no project variable, `home` as the home
/// and configuration directory, and the present pinned to the end of the fake's data
/// (`--now`, so that messages naming times computed from it are the same on any day),
/// run in `work`.
fn command(atlas: &FakeAtlas, home: &Path, work: &Path, case: &Case) -> Command {
    let mut command = atlas_client_tests::isolated_command(BIN);
    command
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home)
        .env("MONGODB_ATLAS_CLIENT_ID", fake_atlas::DEMO_CLIENT_ID)
        .env(
            "MONGODB_ATLAS_CLIENT_SECRET",
            fake_atlas::DEMO_CLIENT_SECRET,
        )
        .current_dir(work)
        .stdin(Stdio::null());
    if !case.own_base_url {
        command.args(["--base-url", &atlas.base_url()]);
    }
    if !case.args.iter().any(|a| a == "--now") {
        command.args(["--now", &atlas.data().config.now_ms.to_string()]);
    }
    for (name, value) in &case.env {
        command.env(name, value);
    }
    command.args(&case.args);
    command
}

#[tokio::test(flavor = "multi_thread")]
async fn every_bad_input_is_one_line_exit_two_no_request_nothing_written() {
    let atlas = FakeAtlas::start(Config {
        data: DataConfig {
            entries: 2_000,
            ..DataConfig::default()
        },
        ..Config::default()
    })
    .await
    .unwrap();
    let group = atlas.data().group_id.clone();
    let fake_now = atlas.data().config.now_ms;
    let root = std::env::temp_dir().join(format!("atlas-logs-bad-input-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let home = root.join("home");
    let work = root.join("work");
    std::fs::create_dir_all(home.join("atlascli")).unwrap();
    std::fs::create_dir_all(work.join("adir")).unwrap();
    std::fs::create_dir_all(work.join("cpdir")).unwrap();
    std::fs::create_dir_all(work.join("badcpdir")).unwrap();
    std::fs::write(work.join("existing.ndjson"), "keep me\n").unwrap();
    std::os::unix::fs::symlink("existing.ndjson", work.join("link.ndjson")).unwrap();
    std::fs::write(work.join("regular.txt"), "a file\n").unwrap();
    std::fs::write(work.join("corrupt.json"), "{nope").unwrap();
    std::fs::write(work.join("empty.json"), "").unwrap();
    std::fs::write(work.join("array.json"), "[]").unwrap();
    std::fs::write(work.join("badcpdir/Cluster0.json"), "{\"checkpoint\":").unwrap();
    std::fs::write(
        home.join("atlascli/config.toml"),
        "[default]\nproject_id = \"not-a-project\"\n",
    )
    .unwrap();
    let broken_home = root.join("broken-home");
    std::fs::create_dir_all(broken_home.join("atlascli")).unwrap();
    std::fs::write(
        broken_home.join("atlascli/config.toml"),
        "[default]\nproject_id = [\n",
    )
    .unwrap();
    let broken_home = broken_home.display().to_string();

    // Two real checkpoints, made by real exports before anything is watched.
    for (cluster, file) in [("Cluster0", "state.json"), ("orders-eu-1", "other.json")] {
        let setup = case("setup", "", &[]);
        let mut export = command(&atlas, &home, &work, &setup);
        export.args([
            "export",
            "--group-id",
            &group,
            "--cluster",
            cluster,
            "--start",
            &(fake_now - 3_600_000).to_string(),
            "--end",
            &fake_now.to_string(),
            "--checkpoint",
            file,
            "--out",
            &format!("{file}.ndjson"),
        ]);
        let output = export.output().unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    // Damaged copies of a real state file, and one whose delivery record names a file of
    // the user's: each refused with nothing moved.
    let real = std::fs::read_to_string(work.join("state.json")).unwrap();
    let damage = |name: &str, from: &str, to: &str| {
        assert!(real.contains(from), "{from} in {real}");
        std::fs::write(work.join(name), real.replacen(from, to, 1)).unwrap();
    };
    damage(
        "twice.json",
        "\"throughMs\":",
        "\"throughMs\": 0,\n    \"throughMs\":",
    );
    // The checkpoint as an array of its fields in order, which serde alone would read.
    let mut state: serde_json::Value = serde_json::from_str(&real).unwrap();
    let fields = [
        "version",
        "groupId",
        "target",
        "authResult",
        "ipAddress",
        "throughMs",
        "overlapMs",
        "remembered",
        "rememberedFromMs",
    ];
    let checkpoint = &state["checkpoint"];
    assert_eq!(checkpoint.as_object().unwrap().len(), fields.len());
    state["checkpoint"] = fields.iter().map(|f| checkpoint[*f].clone()).collect();
    std::fs::write(work.join("arrayed.json"), state.to_string()).unwrap();
    std::fs::create_dir_all(work.join("elsewhere")).unwrap();
    std::fs::create_dir_all(work.join("logs")).unwrap();
    std::fs::write(work.join("elsewhere/notes.txt"), "my notes\n").unwrap();
    let record = format!(
        "\"delivery\": {{\"temp\": {:?}, \"out\": {:?}}}",
        work.join("elsewhere/notes.txt"),
        work.join("logs/notes-moved.txt")
    );
    damage("foreign.json", "\"delivery\": null", &record);
    let beside = format!(
        "\"delivery\": {{\"temp\": {:?}, \"out\": {:?}}}",
        work.join("regular.txt"),
        work.join("regular-moved.txt")
    );
    damage("beside.json", "\"delivery\": null", &beside);
    let before_checkpoint = (fake_now - 7_200_000).to_string();
    let g = group.as_str();
    let long_cluster = "c".repeat(5_000);
    let c = ["--group-id", g, "--cluster", "Cluster0"];
    let with = |head: &[&str], tail: &[&str]| -> Vec<String> {
        head.iter().chain(tail).map(|s| s.to_string()).collect()
    };
    let access = |tail: &[&str]| with(&["access"], &[&c[..], tail].concat());
    let export = |tail: &[&str]| with(&["export"], &[&c[..], tail].concat());
    let audit = |tail: &[&str]| {
        with(
            &["audit-logs", "--group-id", g, "--tenant", "workspace0"],
            tail,
        )
    };
    let args = |label, names, args: Vec<String>| Case {
        label,
        names,
        args,
        env: Vec::new(),
        own_base_url: false,
    };

    let cases = vec![
        // The project.
        case(
            "group id too short",
            "--group-id",
            &["access", "--group-id", "ABC", "--cluster", "c"],
        ),
        case(
            "group id of 23 digits",
            "--group-id",
            &[
                "access",
                "--group-id",
                "32b6e34b3d91647abb20e7b",
                "--cluster",
                "c",
            ],
        ),
        case(
            "group id not hexadecimal",
            "--group-id",
            &[
                "access",
                "--group-id",
                "zzb6e34b3d91647abb20e7b8",
                "--cluster",
                "c",
            ],
        ),
        case(
            "project id alias, bad",
            "--group-id",
            &["access", "--project-id", "nope", "--cluster", "c"],
        ),
        case(
            "project from the environment, bad",
            "MONGODB_ATLAS_PROJECT_ID",
            &["access", "--cluster", "c"],
        )
        .env("MONGODB_ATLAS_PROJECT_ID", "12345"),
        case(
            "project from the profile, bad",
            "project_id of profile \"default\"",
            &["access", "--cluster", "c"],
        ),
        case(
            "no project anywhere",
            "--group-id",
            &["--profile", "absent", "access", "--cluster", "c"],
        ),
        case(
            "profile that is not TOML",
            "--profile",
            &["access", "--cluster", "c"],
        )
        .env("XDG_CONFIG_HOME", &broken_home),
        case(
            "group id given twice",
            "--group-id",
            &["access", "--group-id", g, "--group-id", g, "--cluster", "c"],
        ),
        // Targets of access.
        case(
            "cluster and hostname",
            "--cluster",
            &[
                "access",
                "--group-id",
                g,
                "--cluster",
                "c",
                "--hostname",
                "h",
            ],
        ),
        case("no target", "--cluster", &["access", "--group-id", g]),
        case(
            "empty cluster",
            "--cluster",
            &["access", "--group-id", g, "--cluster", ""],
        ),
        case(
            "cluster starting with a hyphen",
            "--cluster",
            &["access", "--group-id", g, "--cluster", "-abc"],
        ),
        case(
            "cluster with an underscore",
            "--cluster",
            &["access", "--group-id", g, "--cluster", "a_b"],
        ),
        case(
            "cluster with a slash",
            "--cluster",
            &["access", "--group-id", g, "--cluster", "a/b"],
        ),
        args(
            "cluster of 5,000 characters",
            "--cluster",
            vec![
                "access".into(),
                "--group-id".into(),
                group.clone(),
                "--cluster".into(),
                long_cluster.clone(),
            ],
        ),
        case(
            "empty hostname",
            "--hostname",
            &["access", "--group-id", g, "--hostname", ""],
        ),
        case(
            "hostname with a space",
            "--hostname",
            &["access", "--group-id", g, "--hostname", "a b"],
        ),
        case(
            "hostname with a path",
            "--hostname",
            &["access", "--group-id", g, "--hostname", "a/../b"],
        ),
        case(
            "hostname with port 99999",
            "--hostname",
            &["access", "--group-id", g, "--hostname", "host:99999"],
        ),
        case(
            "hostname with an empty port",
            "--hostname",
            &["access", "--group-id", g, "--hostname", "host:"],
        ),
        case(
            "hostname with a query",
            "--hostname",
            &["access", "--group-id", g, "--hostname", "h?x=1"],
        ),
        // Times of access.
        args("start without end", "--end", access(&["--start", "1h"])),
        args("end without start", "--start", access(&["--end", "1h"])),
        args(
            "start after end",
            "--start",
            access(&[
                "--start",
                "2026-01-02T00:00:00Z",
                "--end",
                "2026-01-01T00:00:00Z",
            ]),
        ),
        args(
            "since with an unknown unit",
            "--since",
            access(&["--since", "3y"]),
        ),
        args("since without a unit", "--since", access(&["--since", "5"])),
        args(
            "since reaching before 2008",
            "--since",
            access(&["--since", "10000d"]),
        ),
        args(
            "since and start",
            "--since",
            access(&["--since", "1h", "--start", "2h", "--end", "1h"]),
        ),
        args(
            "start that is not a time",
            "--start",
            access(&["--start", "yesterday", "--end", "1h"]),
        ),
        args(
            "start in milliseconds before 2008",
            "--start",
            access(&["--start", "931496932592", "--end", "1h"]),
        ),
        args(
            "start of eleven digits",
            "--start",
            access(&["--start", "10000000000", "--end", "1h"]),
        ),
        args(
            "end before 2008 in RFC 3339",
            "--start",
            access(&[
                "--start",
                "2001-01-01T00:00:00Z",
                "--end",
                "2001-02-01T00:00:00Z",
            ]),
        ),
        args(
            "start of twenty digits",
            "--start",
            access(&["--start", "99999999999999999999", "--end", "1h"]),
        ),
        args(
            "negative start",
            "--start",
            access(&["--start", "-5", "--end", "1h"]),
        ),
        // Filters and format of access.
        args("limit too large", "--limit", access(&["--limit", "20001"])),
        args("negative limit", "--limit", access(&["--limit", "-1"])),
        args("limit not a number", "--limit", access(&["--limit", "ten"])),
        args(
            "auth result maybe",
            "--auth-result",
            access(&["--auth-result", "maybe"]),
        ),
        args("ip out of range", "--ip", access(&["--ip", "999.1.1.1"])),
        args(
            "ip with a prefix length",
            "--ip",
            access(&["--ip", "10.0.0.0/8"]),
        ),
        args("empty ip", "--ip", access(&["--ip", ""])),
        args(
            "ip that is a hostname",
            "--ip",
            access(&["--ip", "example.com"]),
        ),
        args("output format xml", "--output", access(&["-o", "xml"])),
        args(
            "wide without a table",
            "--wide",
            access(&["-o", "json", "--wide"]),
        ),
        args(
            "local time without a table",
            "--local",
            access(&["-o", "ndjson", "--local"]),
        ),
        case(
            "the demo and a base url",
            "--demo",
            &["--demo", "access", "--cluster", "Cluster0"],
        ),
        case(
            "the demo and a profile",
            "--demo",
            &[
                "--demo",
                "--profile",
                "p",
                "access",
                "--cluster",
                "Cluster0",
            ],
        )
        .own_base_url(),
        args(
            "since given a time",
            "--start",
            access(&["--since", "2026-10-31T00:00:00Z"]),
        ),
        args(
            "since too long for any date",
            "--since",
            access(&["--since", "99999999999d"]),
        ),
        args(
            "misspelt flag",
            "--clustr",
            with(&["access", "--group-id", g], &["--clustr", "c"]),
        ),
        // Global flags.
        case(
            "base url with ftp",
            "--base-url",
            &[
                "--base-url",
                "ftp://example.com",
                "access",
                "--group-id",
                g,
                "--cluster",
                "c",
            ],
        )
        .own_base_url(),
        case(
            "base url that is not a url",
            "--base-url",
            &[
                "--base-url",
                "not a url",
                "access",
                "--group-id",
                g,
                "--cluster",
                "c",
            ],
        )
        .own_base_url(),
        case(
            "base url with credentials",
            "--base-url",
            &[
                "--base-url",
                "https://user:pw@example.com",
                "access",
                "--group-id",
                g,
                "--cluster",
                "c",
            ],
        )
        .own_base_url(),
        case(
            "base url with a query",
            "--base-url",
            &[
                "--base-url",
                "https://example.com/?q=1",
                "access",
                "--group-id",
                g,
                "--cluster",
                "c",
            ],
        )
        .own_base_url(),
        case(
            "base url over plain http",
            "--base-url",
            &[
                "--base-url",
                "http://example.com",
                "access",
                "--group-id",
                g,
                "--cluster",
                "c",
            ],
        )
        .own_base_url(),
        case(
            "unknown profile",
            "--profile",
            &[
                "--profile",
                "nobody",
                "access",
                "--group-id",
                g,
                "--cluster",
                "c",
            ],
        ),
        case("misspelt command", "acces", &["acces", "--group-id", g]),
        args(
            "now not a time",
            "--now",
            with(&["--now", "yesterday", "access"], &[&c[..]].concat()),
        ),
        args(
            "now in the future",
            "--now",
            with(
                &["--now", "2099-01-01T00:00:00Z", "access"],
                &[&c[..]].concat(),
            ),
        ),
        case(
            "verbose with a value",
            "--verbose",
            &["--verbose=3", "access", "--group-id", g, "--cluster", "c"],
        ),
        // Targets of export.
        case(
            "export without a target",
            "--cluster",
            &["export", "--group-id", g],
        ),
        case(
            "export of a bad cluster",
            "--cluster",
            &["export", "--group-id", g, "--cluster", "a b"],
        ),
        case(
            "export of a bad hostname",
            "--hostname",
            &["export", "--group-id", g, "--hostname", "a/../b"],
        ),
        case(
            "export of one bad cluster among good ones",
            "--cluster",
            &[
                "export",
                "--group-id",
                g,
                "--cluster",
                "Cluster0",
                "--cluster",
                "x_y",
            ],
        ),
        case(
            "all clusters and one cluster",
            "--all-clusters",
            &[
                "export",
                "--group-id",
                g,
                "--all-clusters",
                "--cluster",
                "Cluster0",
            ],
        ),
        case(
            "the same cluster twice",
            "--cluster Cluster0",
            &[
                "export",
                "--group-id",
                g,
                "--cluster",
                "Cluster0",
                "--cluster",
                "Cluster0",
            ],
        ),
        // Times of export.
        args(
            "export start that is not a time",
            "--start",
            export(&["--start", "yesterday"]),
        ),
        args(
            "export since with an unknown unit",
            "--since",
            export(&["--since", "3y"]),
        ),
        args(
            "export since reaching before 2008",
            "--since",
            export(&["--since", "10000d"]),
        ),
        args(
            "export start and since",
            "--since",
            export(&["--start", "2h", "--since", "1h"]),
        ),
        args(
            "export end in the future",
            "--end",
            export(&["--end", "2099-01-01T00:00:00Z"]),
        ),
        args(
            "export start after end",
            "--start",
            export(&[
                "--start",
                "2026-01-02T00:00:00Z",
                "--end",
                "2026-01-01T00:00:00Z",
            ]),
        ),
        args(
            "export start in 1970 seconds",
            "--start",
            export(&["--start", "1000"]),
        ),
        args(
            "export end of eleven digits",
            "--end",
            export(&["--end", "12345678901"]),
        ),
        // Overlap and concurrency.
        args(
            "overlap without a checkpoint",
            "--overlap",
            export(&["--overlap", "10m"]),
        ),
        args(
            "overlap with an unknown unit",
            "--overlap",
            export(&["--overlap", "5y", "--checkpoint", "new.json"]),
        ),
        args(
            "concurrency zero",
            "--concurrency",
            export(&["--concurrency", "0"]),
        ),
        args(
            "concurrency negative",
            "--concurrency",
            export(&["--concurrency", "-1"]),
        ),
        args(
            "concurrency seventeen",
            "--concurrency",
            export(&["--concurrency", "17"]),
        ),
        // Outputs of export.
        args("empty out", "--out", export(&["--out", ""])),
        args("out a device", "--out", export(&["--out", "/dev/null"])),
        args(
            "out and checkpoint the same file written two ways",
            "--out",
            export(&["--checkpoint", "state.json", "--out", "./state.json"]),
        ),
        args(
            "out another target's checkpoint",
            "--out",
            export(&["--checkpoint", "state.json", "--out", "other.json"]),
        ),
        args(
            "out a checkpoint without one",
            "--out",
            export(&["--out", "other.json"]),
        ),
        args(
            "out with a checkpoint's name in the checkpoint directory",
            "--out",
            export(&["--checkpoint-dir", "cpdir", "--out", "cpdir/later.json"]),
        ),
        args(
            "out a symbolic link",
            "--out",
            export(&["--out", "link.ndjson"]),
        ),
        args(
            "checkpoint a symbolic link",
            "--checkpoint",
            export(&["--checkpoint", "link.ndjson"]),
        ),
        args(
            "out naming a new directory",
            "--out",
            export(&["--out", "newdir/"]),
        ),
        args(
            "out naming an existing directory",
            "--out",
            export(&["--out", "adir"]),
        ),
        args(
            "out in a missing directory",
            "--out",
            export(&["--out", "missing/x.ndjson"]),
        ),
        args(
            "out under a regular file",
            "--out",
            export(&["--out", "regular.txt/x.ndjson"]),
        ),
        case(
            "one out file for two clusters",
            "--out",
            &[
                "export",
                "--group-id",
                g,
                "--cluster",
                "Cluster0",
                "--cluster",
                "orders-eu-1",
                "--out",
                "both.ndjson",
            ],
        ),
        case(
            "one out file for all clusters",
            "--out",
            &[
                "export",
                "--group-id",
                g,
                "--all-clusters",
                "--out",
                "all.ndjson",
            ],
        ),
        case(
            "per-target out in a missing directory",
            "--out",
            &[
                "export",
                "--group-id",
                g,
                "--cluster",
                "Cluster0",
                "--cluster",
                "orders-eu-1",
                "--out",
                "missing/{target}.ndjson",
            ],
        ),
        args(
            "out and checkpoint the same file",
            "--checkpoint",
            export(&["--out", "same.json", "--checkpoint", "same.json"]),
        ),
        // Checkpoints of export.
        args(
            "empty checkpoint name",
            "--checkpoint",
            export(&["--checkpoint", ""]),
        ),
        args(
            "checkpoint naming a directory",
            "--checkpoint",
            export(&["--checkpoint", "adir"]),
        ),
        args(
            "checkpoint in a missing directory",
            "--checkpoint",
            export(&["--checkpoint", "missing/state.json"]),
        ),
        args(
            "corrupt checkpoint",
            "--checkpoint",
            export(&["--checkpoint", "corrupt.json"]),
        ),
        args(
            "empty checkpoint file",
            "--checkpoint",
            export(&["--checkpoint", "empty.json"]),
        ),
        args(
            "checkpoint holding []",
            "--checkpoint",
            export(&["--checkpoint", "array.json"]),
        ),
        args(
            "checkpoint and an explicit start",
            "--checkpoint",
            export(&["--checkpoint", "state.json", "--start", "1h"]),
        ),
        args(
            "checkpoint and an explicit since",
            "--checkpoint",
            export(&["--checkpoint", "state.json", "--since", "1h"]),
        ),
        args(
            "checkpoint with a key twice",
            "--checkpoint",
            export(&["--checkpoint", "twice.json"]),
        ),
        args(
            "checkpoint with an array for an object",
            "--checkpoint",
            export(&["--checkpoint", "arrayed.json"]),
        ),
        args(
            "checkpoint whose delivery names a file elsewhere",
            "--checkpoint",
            export(&["--checkpoint", "foreign.json"]),
        ),
        args(
            "checkpoint whose delivery names a user's file beside",
            "--checkpoint",
            export(&["--checkpoint", "beside.json"]),
        ),
        args(
            "checkpoint of another cluster",
            "--checkpoint",
            export(&["--checkpoint", "other.json"]),
        ),
        // Audit logs, run after run.
        args(
            "audit checkpoint into a directory",
            "--out",
            audit(&["--checkpoint", "a.json", "--out", "adir"]),
        ),
        args(
            "audit checkpoint with an end",
            "--end",
            audit(&[
                "--checkpoint",
                "a.json",
                "--out",
                "a.log",
                "--since",
                "1h",
                "--end",
                "now",
            ]),
        ),
        args(
            "audit checkpoint with a start",
            "--start",
            audit(&[
                "--checkpoint",
                "a.json",
                "--out",
                "a.log",
                "--start",
                "1h",
                "--end",
                "now",
            ]),
        ),
        args(
            "audit checkpoint of the access-log export",
            "--checkpoint",
            audit(&["--checkpoint", "state.json", "--out", "a.log"]),
        ),
        args(
            "audit checkpoint and out the same file",
            "--checkpoint",
            audit(&["--checkpoint", "a.log", "--out", "a.log"]),
        ),
        args(
            "audit checkpoint directory for one workspace",
            "--checkpoint-dir",
            audit(&["--checkpoint-dir", "cpdir", "--out", "a.log"]),
        ),
        args(
            "audit checkpoint directory beside a checkpoint file",
            "--checkpoint-dir",
            audit(&[
                "--checkpoint",
                "a.json",
                "--checkpoint-dir",
                "cpdir",
                "--out",
                "a.log",
            ]),
        ),
        args(
            "audit target named twice in out",
            "--out",
            audit(&["--out", "{target}-{target}.gz"]),
        ),
        args(
            "audit checkpointed target named twice in out",
            "--out",
            audit(&["--checkpoint", "a.json", "--out", "{target}{target}.log"]),
        ),
        args(
            "audit since and end",
            "--end",
            audit(&["--since", "1h", "--end", "1767225600", "--out", "x.gz"]),
        ),
        args(
            "every workspace into one file",
            "--out",
            with(
                &["audit-logs", "--group-id", g, "--all-workspaces"],
                &["--checkpoint-dir", "cpdir", "--out", "a.log"],
            ),
        ),
        // Every project.
        case(
            "org id that is not one",
            "--org-id",
            &["export", "--org-id", "acme", "--all-clusters"],
        ),
        case(
            "org id from the environment that is not one",
            "MONGODB_ATLAS_ORG_ID",
            &["export", "--all-projects", "--all-clusters"],
        )
        .env("MONGODB_ATLAS_ORG_ID", "acme"),
        case(
            "every project without every cluster",
            "--all-clusters",
            &["export", "--all-projects"],
        ),
        case(
            "an organisation without every cluster",
            "--org-id",
            &["export", "--org-id", "0123456789abcdef01234567"],
        ),
        case(
            "every cluster with the target in a directory name",
            "--out",
            &[
                "export",
                "--group-id",
                g,
                "--all-clusters",
                "--out",
                "adir/{target}/x.ndjson",
            ],
        ),
        case(
            "every cluster's output over its checkpoints",
            "--out",
            &[
                "export",
                "--group-id",
                g,
                "--all-clusters",
                "--checkpoint-dir",
                "cpdir",
                "--out",
                "cpdir/{target}.json",
            ],
        ),
        case(
            "every cluster from a start beside kept checkpoints",
            "--checkpoint-dir",
            &[
                "export",
                "--group-id",
                g,
                "--all-clusters",
                "--checkpoint-dir",
                "badcpdir",
                "--since",
                "1h",
            ],
        ),
        case(
            "every workspace's output over its checkpoints",
            "--out",
            &[
                "audit-logs",
                "--group-id",
                g,
                "--all-workspaces",
                "--checkpoint-dir",
                "cpdir",
                "--out",
                "./cpdir/{target}.json",
            ],
        ),
        case(
            "every workspace from a start beside kept checkpoints",
            "--checkpoint-dir",
            &[
                "audit-logs",
                "--group-id",
                g,
                "--all-workspaces",
                "--checkpoint-dir",
                "badcpdir",
                "--since",
                "1h",
                "--out",
                "{target}.log",
            ],
        ),
        case(
            "every workspace decompressed",
            "--decompress",
            &[
                "audit-logs",
                "--group-id",
                g,
                "--all-workspaces",
                "--checkpoint-dir",
                "cpdir",
                "--decompress",
                "--out",
                "{target}.log",
            ],
        ),
        case(
            "every project and one cluster",
            "--cluster",
            &["export", "--all-projects", "--cluster", "Cluster0"],
        ),
        case(
            "every project and one cluster with the project configured",
            "--cluster",
            &["export", "--all-projects", "--cluster", "Cluster0"],
        )
        .env("MONGODB_ATLAS_PROJECT_ID", g),
        case(
            "every project and one host",
            "--hostname",
            &["export", "--all-projects", "--hostname", "h0:27017"],
        ),
        case(
            "an organisation and one cluster",
            "--cluster",
            &[
                "export",
                "--org-id",
                "0123456789abcdef01234567",
                "--cluster",
                "Cluster0",
                "--cluster",
                "Cluster1",
            ],
        ),
        case(
            "an organisation and one host",
            "--hostname",
            &[
                "export",
                "--org-id",
                "0123456789abcdef01234567",
                "--hostname",
                "h0:27017",
            ],
        ),
        case(
            "target named twice in out",
            "--out",
            &[
                "export",
                "--group-id",
                g,
                "--all-clusters",
                "--out",
                "{target}{target}.ndjson",
            ],
        ),
        case(
            "every project of one project",
            "--all-projects",
            &[
                "export",
                "--all-projects",
                "--all-clusters",
                "--group-id",
                g,
            ],
        ),
        case(
            "every project with the target in a directory name",
            "--out",
            &[
                "export",
                "--all-projects",
                "--all-clusters",
                "--out",
                "adir/{target}/x.ndjson",
            ],
        ),
        case(
            "every project into one project's checkpoints",
            "--checkpoint-dir",
            &[
                "export",
                "--all-projects",
                "--all-clusters",
                "--checkpoint-dir",
                ".",
            ],
        ),
        case(
            "an organisation and one checkpoint file",
            "--checkpoint",
            &[
                "export",
                "--org-id",
                "0123456789abcdef01234567",
                "--all-clusters",
                "--checkpoint",
                "x.json",
            ],
        ),
        args(
            "an end before the checkpoint's",
            "--end",
            export(&["--checkpoint", "state.json", "--end", &before_checkpoint]),
        ),
        case(
            "one checkpoint file for two clusters",
            "--checkpoint",
            &[
                "export",
                "--group-id",
                g,
                "--cluster",
                "Cluster0",
                "--cluster",
                "orders-eu-1",
                "--checkpoint",
                "x.json",
            ],
        ),
        args(
            "checkpoint file and directory",
            "--checkpoint-dir",
            export(&["--checkpoint", "x.json", "--checkpoint-dir", "cpdir"]),
        ),
        args(
            "checkpoint directory missing",
            "--checkpoint-dir",
            export(&["--checkpoint-dir", "nodir"]),
        ),
        args(
            "checkpoint directory that is a file",
            "--checkpoint-dir",
            export(&["--checkpoint-dir", "regular.txt"]),
        ),
        args(
            "corrupt checkpoint in the directory",
            "--checkpoint-dir",
            export(&["--checkpoint-dir", "badcpdir"]),
        ),
        // audit-logs.
        case(
            "audit logs without a workspace",
            "--tenant",
            &["audit-logs", "--group-id", g, "--out", "x.gz"],
        ),
        case(
            "audit logs without out",
            "--out",
            &["audit-logs", "--group-id", g, "--tenant", "workspace0"],
        ),
        case(
            "empty workspace",
            "--tenant",
            &[
                "audit-logs",
                "--group-id",
                g,
                "--tenant",
                "",
                "--out",
                "x.gz",
            ],
        ),
        case(
            "workspace with a slash",
            "--tenant",
            &[
                "audit-logs",
                "--group-id",
                g,
                "--tenant",
                "a/b",
                "--out",
                "x.gz",
            ],
        ),
        case(
            "workspace with a space",
            "--tenant",
            &[
                "audit-logs",
                "--group-id",
                g,
                "--tenant",
                "a b",
                "--out",
                "x.gz",
            ],
        ),
        args(
            "processor with a slash",
            "--sp-name",
            audit(&["--sp-name", "x/y", "--out", "x.gz"]),
        ),
        args(
            "audit window in 1970 seconds",
            "--start",
            audit(&["--start", "1000", "--end", "2000", "--out", "x.gz"]),
        ),
        args(
            "audit window in 2001",
            "--start",
            audit(&[
                "--start",
                "2001-01-01T00:00:00Z",
                "--end",
                "2001-02-01T00:00:00Z",
                "--out",
                "x.gz",
            ]),
        ),
        args(
            "audit start without end",
            "--end",
            audit(&["--start", "1h", "--out", "x.gz"]),
        ),
        args(
            "audit start after end",
            "--start",
            audit(&[
                "--start",
                "1767312000",
                "--end",
                "1767225600",
                "--out",
                "x.gz",
            ]),
        ),
        args(
            "audit since with an unknown unit",
            "--since",
            audit(&["--since", "1y", "--out", "x.gz"]),
        ),
        args("audit empty out", "--out", audit(&["--out", ""])),
        args(
            "audit out a device",
            "--out",
            audit(&["--out", "/dev/null"]),
        ),
        args("audit out standard output", "--out", audit(&["--out", "-"])),
        args(
            "audit target in a directory name",
            "--out",
            audit(&["--out", "adir/{target}/x.gz"]),
        ),
        args(
            "audit out a checkpoint",
            "--out",
            audit(&["--since", "1h", "--out", "other.json"]),
        ),
        args(
            "audit checkpointed out a checkpoint",
            "--out",
            audit(&["--checkpoint", "a.json", "--out", "other.json"]),
        ),
        args(
            "audit out naming a new directory",
            "--out",
            audit(&["--out", "newdir/"]),
        ),
        args(
            "audit out in a missing directory",
            "--out",
            audit(&["--out", "missing/x.gz"]),
        ),
        args(
            "audit decompress with a value",
            "--decompress",
            audit(&["--decompress=yes", "--out", "x.gz"]),
        ),
        case(
            "audit logs with a bad group id",
            "--group-id",
            &[
                "audit-logs",
                "--group-id",
                "XYZ",
                "--tenant",
                "workspace0",
                "--out",
                "x.gz",
            ],
        ),
    ];

    let mut labels = std::collections::BTreeSet::new();
    let mut report = String::new();
    let before = tree(&root);
    let requests = atlas.stats().requests;
    for case in &cases {
        assert!(labels.insert(case.label), "{} is listed twice", case.label);
        let output = command(&atlas, &home, &work, case).output().unwrap();
        let stderr = String::from_utf8(output.stderr).unwrap();
        let label = case.label;
        assert_eq!(output.status.code(), Some(2), "{label}: {stderr}");
        assert!(output.stdout.is_empty(), "{label}: wrote to stdout");
        assert_eq!(
            stderr.lines().count(),
            1,
            "{label}: one line, not\n{stderr}"
        );
        let line = stderr.trim_end();
        assert!(line.starts_with("error: "), "{label}: {line}");
        assert!(
            line.contains(case.names),
            "{label}: the message names {:?}: {line}",
            case.names
        );
        assert!(line.chars().count() < 400, "{label}: a short line: {line}");
        assert_eq!(atlas.stats().requests, requests, "{label}: sent a request");
        assert!(tree(&root) == before, "{label}: touched a file");
        report.push_str(&format!("{label}\n  {line}\n"));
    }
    assert!(cases.len() >= 80, "{} cases", cases.len());
    // Messages may quote the fake's project; everything else in them is stable.
    insta::assert_snapshot!(
        report
            .replace(&group, "<group>")
            .replace(&root.display().to_string(), "<root>")
    );
    let _ = std::fs::remove_dir_all(&root);
}
