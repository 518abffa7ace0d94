//! `atlas-logs` against Apache httpd's mod_auth_digest, an HTTP Digest server independent
//! of ours: an API key from the environment works, and a wrong one exits 3 without being
//! printed.

use std::process::{Output, Stdio};

use atlas_client_tests::{Apache, GROUP_ID};

const BIN: &str = env!("CARGO_BIN_EXE_atlas-logs");

const USER: &str = "pubkey01";
const PASSWORD: &str = "apache-private-key-3b7a";

/// `atlas-logs access` for `Cluster0` with an API key in its environment and no Atlas CLI
/// profile to find.
fn access(apache: &Apache, private_key: &str) -> Output {
    atlas_client_tests::isolated_command(BIN)
        .env("HOME", apache.dir())
        .env("XDG_CONFIG_HOME", apache.dir())
        .env("MONGODB_ATLAS_PUBLIC_API_KEY", USER)
        .env("MONGODB_ATLAS_PRIVATE_API_KEY", private_key)
        .args(["--base-url", &apache.base_url()])
        .args(["access", "--group-id", GROUP_ID, "--cluster", "Cluster0"])
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn printed(output: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}--- stderr\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn api_key_from_the_environment_against_apache() {
    let apache = Apache::start(USER, PASSWORD);
    let line =
        format!("GET /api/atlas/v2/groups/{GROUP_ID}/dbAccessHistory/clusters/Cluster0 HTTP/1.1");
    let challenged = (401, line.clone());
    let refused_answer = (401, line.clone());
    let answered = (200, line);

    let wrong_key = "wrong-private-key-40e2";
    let refused = access(&apache, wrong_key);
    let text = printed(&refused);
    assert_eq!(refused.status.code(), Some(3), "{text}");
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("HTTP 401"),
        "{text}"
    );
    assert!(!text.contains(wrong_key), "{text}");
    assert!(!text.contains(PASSWORD), "{text}");
    // The challenge, then one refused answer.
    assert_eq!(
        apache.requests(),
        [challenged.clone(), refused_answer.clone()]
    );

    let accepted = access(&apache, PASSWORD);
    let text = printed(&accepted);
    assert_eq!(accepted.status.code(), Some(0), "{text}");
    assert!(
        String::from_utf8_lossy(&accepted.stdout).ends_with("0 entries\n"),
        "{text}"
    );
    assert!(!text.contains(PASSWORD), "{text}");
    // A new process has no cached challenge: challenged, then answered.
    assert_eq!(
        apache.requests(),
        [challenged.clone(), refused_answer, challenged, answered]
    );
}
