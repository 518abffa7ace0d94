//! Standard, independent tools against the fake: `curl --digest` authenticates and
//! `gzip -t` accepts the audit log. And the binary: its first line, `dump`, its refusals.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::{fake_with, spawn_binary};
use fake_atlas::{DataConfig, DataSet};

fn curl(args: &[&str]) -> (String, String) {
    let output = Command::new("curl")
        .args(["--silent", "--show-error"])
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("curl does not run ({e}); install it: apt-get install curl"));
    assert!(
        output.status.success(),
        "curl failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn curl_digest_and_gzip_accept_the_fake() {
    let fake = fake_with(1_000, |_| {}).await;
    let base = fake.base_url();
    let group = fake.data().group_id.clone();
    let key = format!(
        "{}:{}",
        fake_atlas::DEMO_PUBLIC_KEY,
        fake_atlas::DEMO_PRIVATE_KEY
    );
    let url =
        format!("{base}/api/atlas/v2/groups/{group}/dbAccessHistory/clusters/Cluster0?nLogs=3");
    let run = |args: Vec<String>| {
        tokio::task::spawn_blocking(move || {
            curl(&args.iter().map(String::as_str).collect::<Vec<_>>())
        })
    };

    let (out, _) = run(vec![
        "--digest".into(),
        "--user".into(),
        key.clone(),
        "--header".into(),
        "Accept: application/vnd.atlas.2023-01-01+json".into(),
        "--write-out".into(),
        "\n%{http_code} %{content_type}".into(),
        url.clone(),
    ])
    .await
    .unwrap();
    let (body, status) = out.rsplit_once('\n').unwrap();
    assert_eq!(
        status,
        "200 application/vnd.atlas.2023-01-01+json;charset=utf-8"
    );
    let body: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(body["accessLogs"].as_array().unwrap().len(), 3);

    let wrong = format!("{}:not-the-key", fake_atlas::DEMO_PUBLIC_KEY);
    let (out, _) = run(vec![
        "--digest".into(),
        "--user".into(),
        wrong,
        "--header".into(),
        "Accept: application/vnd.atlas.2023-01-01+json".into(),
        "--output".into(),
        "/dev/null".into(),
        "--write-out".into(),
        "%{http_code}".into(),
        url,
    ])
    .await
    .unwrap();
    assert_eq!(out, "401");

    let dir = std::env::temp_dir().join(format!("fake-atlas-curl-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("audit.log.gz");
    let (out, _) = run(vec![
        "--digest".into(),
        "--user".into(),
        key,
        "--header".into(),
        "Accept: application/vnd.atlas.2023-02-01+gzip".into(),
        "--output".into(),
        file.display().to_string(),
        "--write-out".into(),
        "%{http_code}".into(),
        format!("{base}/api/atlas/v2/groups/{group}/streams/workspace0/auditLogs"),
    ])
    .await
    .unwrap();
    assert_eq!(out, "200");
    let gzip = Command::new("gzip")
        .arg("-t")
        .arg(&file)
        .status()
        .unwrap_or_else(|e| panic!("gzip does not run ({e}); install it: apt-get install gzip"));
    assert!(gzip.success(), "gzip -t rejects the audit log");
    assert!(std::fs::metadata(&file).unwrap().len() > 1_000);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn binary_prints_its_address_first_and_serves() {
    let (mut child, url) = spawn_binary(
        &["--listen", "127.0.0.1:0", "--entries", "200"],
        Stdio::null(),
    );
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let (out, _) = curl(&[
        "--write-out",
        "%{http_code}",
        "--output",
        "/dev/null",
        &format!("{url}/__fake/stats"),
    ]);
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(out, "200");
}

/// `--forbidden-project 2`: the second project answers 403 to `curl --digest`, the first
/// 200; the start lines say which is forbidden; a project beyond `--projects` is refused.
#[test]
fn binary_forbids_the_projects_it_is_told_to() {
    let (mut child, url) = spawn_binary(
        &[
            "--entries",
            "200",
            "--projects",
            "2",
            "--forbidden-project",
            "2",
        ],
        Stdio::piped(),
    );
    let mut starts = BufReader::new(child.stderr.take().unwrap()).lines();
    let config = DataConfig {
        entries: 200,
        ..DataConfig::default()
    };
    let key = format!(
        "{}:{}",
        fake_atlas::DEMO_PUBLIC_KEY,
        fake_atlas::DEMO_PRIVATE_KEY
    );
    let mut statuses = Vec::new();
    for k in 0..2 {
        let group = DataSet::generate_project(&config, k).group_id;
        let line = starts.next().unwrap().unwrap();
        assert!(line.starts_with(&format!("project {group}")), "{line}");
        assert_eq!(line.contains("forbidden"), k == 1, "{line}");
        let (out, _) = curl(&[
            "--digest",
            "--user",
            &key,
            "--header",
            "Accept: application/vnd.atlas.2023-01-01+json",
            "--output",
            "/dev/null",
            "--write-out",
            "%{http_code}",
            &format!("{url}/api/atlas/v2/groups/{group}/dbAccessHistory/clusters/Cluster0?nLogs=3"),
        ]);
        statuses.push(out);
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(statuses, ["200", "403"]);

    let output = Command::new(env!("CARGO_BIN_EXE_fake-atlas"))
        .args(["--projects", "2", "--forbidden-project", "3"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--forbidden-project 3"));
}

#[test]
fn binary_refuses_non_loopback_addresses() {
    let output = Command::new(env!("CARGO_BIN_EXE_fake-atlas"))
        .args(["--listen", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--allow-non-loopback"));
}

#[test]
fn dump_is_the_ground_truth() {
    let output = Command::new(env!("CARGO_BIN_EXE_fake-atlas"))
        .args([
            "dump",
            "--seed",
            "3",
            "--entries",
            "1500",
            "--now",
            "1793534400000",
        ])
        .output()
        .unwrap();
    assert!(output.status.success());
    let data = DataSet::generate(&DataConfig {
        seed: 3,
        entries: 1_500,
        ..DataConfig::default()
    });
    let mut expected = Vec::new();
    data.write_ndjson(&mut expected).unwrap();
    assert!(
        output.stdout == expected,
        "dump matches the library's data set"
    );
    let lines: Vec<serde_json::Value> = output
        .stdout
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1_500);
    assert_eq!(lines[0]["groupId"], data.group_id.as_str());
}
