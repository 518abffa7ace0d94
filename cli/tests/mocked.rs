//! `atlas-logs` against a mocked Atlas: the exact answer of one request, printed as
//! NDJSON entry for entry.

use std::process::Stdio;

use atlas_client::types::{MongoDbAccessLogs, MongoDbAccessLogsList};
use atlas_client_mocks::{MockServer, MockServerExt};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_atlas-logs");
const GROUP: &str = "32b6e34b3d91647abb20e7b8";
const HOST: &str = "cluster0-shard-00-00.abcde.mongodb.net:27017";

fn entry(username: &str, ms: i64) -> MongoDbAccessLogs {
    MongoDbAccessLogs {
        auth_result: Some(false),
        auth_source: Some("admin".to_string()),
        failure_reason: Some("UserNotFound".to_string()),
        group_id: Some(GROUP.to_string()),
        hostname: Some(HOST.to_string()),
        ip_address: Some("203.0.113.7".to_string()),
        log_line: Some(format!(
            r#"{{"t":{{"$date":{ms}}},"msg":"Authentication failed"}}"#
        )),
        timestamp: Some("Wed Apr 26 02:38:56 GMT 2023".to_string()),
        username: Some(username.to_string()),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn access_prints_the_mocked_page_as_ndjson() {
    let server = MockServer::start_async().await;
    let page = MongoDbAccessLogsList {
        access_logs: vec![
            entry("alice", 1_682_476_736_000),
            entry("bob", 1_682_476_735_000),
        ],
    };
    let mock = server.get_access_history_process(|when, then| {
        when.group_id(GROUP).hostname(HOST).auth_result(false);
        then.ok(&page);
    });

    let home = std::env::temp_dir().join(format!("atlas-logs-mocked-{}", std::process::id()));
    std::fs::create_dir_all(&home).unwrap();
    let mut command = atlas_client_tests::isolated_command(BIN);
    command
        .env("XDG_CONFIG_HOME", &home)
        .env("HOME", &home)
        .env("MONGODB_ATLAS_PUBLIC_API_KEY", "abcdefgh")
        .env("MONGODB_ATLAS_PRIVATE_API_KEY", "private-key")
        .args(["--base-url", &server.base_url()])
        .args(["access", "--group-id", GROUP, "--hostname", HOST])
        .args(["--auth-result", "failure", "-o", "ndjson"])
        .stdin(Stdio::null());
    let output = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    let _ = std::fs::remove_dir_all(&home);

    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let printed: Vec<Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let sent: Vec<Value> = page
        .access_logs
        .iter()
        .map(|e| serde_json::to_value(e).unwrap())
        .collect();
    assert_eq!(printed, sent);
    assert_eq!(printed[0]["username"], json!("alice"));
    mock.assert_async().await;
}

/// Answers that are not access-history pages, however close, fail every command loudly:
/// a non-zero exit, nothing on standard output, no output file.
#[tokio::test(flavor = "multi_thread")]
async fn answers_of_the_wrong_shape_fail_loudly() {
    let entry = r#"{\"t\":{\"$date\":\"2026-10-31T00:00:00.123Z\"}}"#;
    for body in [
        "[[]]".to_string(),
        format!(r#"{{"accessLogs":[["{entry}"]]}}"#),
        format!(r#"[["{entry}"]]"#),
    ] {
        let server = MockServer::start_async().await;
        server.mock(|when, then| {
            when.any_request();
            then.status(200)
                .header("content-type", "application/vnd.atlas.2023-01-01+json")
                .body(body.clone());
        });
        let home = std::env::temp_dir().join(format!(
            "atlas-logs-misshapen-{}-{}",
            std::process::id(),
            body.len()
        ));
        std::fs::create_dir_all(&home).unwrap();
        let out = home.join("out.ndjson");
        let commands: [&[&str]; 2] = [
            &["access", "--cluster", "Cluster0", "-o", "ndjson"],
            &[
                "export",
                "--cluster",
                "Cluster0",
                "--start",
                "2026-10-30T00:00:00Z",
                "--end",
                "2026-11-01T00:00:00Z",
                "--out",
                out.to_str().unwrap(),
            ],
        ];
        for args in commands {
            let mut command = atlas_client_tests::isolated_command(BIN);
            command
                .env("XDG_CONFIG_HOME", &home)
                .env("HOME", &home)
                .env("MONGODB_ATLAS_PUBLIC_API_KEY", "abcdefgh")
                .env("MONGODB_ATLAS_PRIVATE_API_KEY", "private-key")
                .args(["--base-url", &server.base_url()])
                .args(args)
                .args(["--group-id", GROUP])
                .stdin(Stdio::null());
            let output = tokio::task::spawn_blocking(move || command.output().unwrap())
                .await
                .unwrap();
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert_eq!(output.status.code(), Some(1), "{body} {args:?}: {stderr}");
            assert!(output.stdout.is_empty(), "{body} {args:?}");
            assert!(
                stderr.contains("getGroupDbAccessHistoryCluster") && stderr.contains("decode"),
                "{stderr}"
            );
        }
        assert!(!out.exists(), "nothing delivered");
        let left: Vec<_> = std::fs::read_dir(&home).unwrap().collect();
        assert!(left.is_empty(), "{left:?}");
        let _ = std::fs::remove_dir_all(&home);
    }
}
