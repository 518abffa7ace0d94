//! HTTP Digest against an independent server, Apache httpd's mod_auth_digest: the cached
//! challenge answered ahead with a rising nonce count, the opaque echoed, and a refused key
//! classified as an authentication failure without being printed.

use atlas_client::{AtlasError, Client, ErrorKind};
use atlas_client_tests::{Apache, GROUP_ID};

const USER: &str = "pubkey01";
const PASSWORD: &str = "apache-private-key-5f0c";

/// The path and query of the access-history call for `Cluster0` with `nLogs=n`.
fn request_line(n: u32) -> String {
    format!(
        "GET /api/atlas/v2/groups/{GROUP_ID}/dbAccessHistory/clusters/Cluster0?nLogs={n} HTTP/1.1"
    )
}

#[tokio::test]
async fn three_calls_cost_one_challenge_and_three_answers() {
    let apache = Apache::start(USER, PASSWORD);
    let client = Client::builder()
        .base_url(apache.base_url())
        .api_key(USER, PASSWORD)
        .build()
        .unwrap();
    for n in 1..=3 {
        let page = client
            .get_access_history_cluster()
            .group_id(GROUP_ID)
            .cluster_name("Cluster0")
            .n_logs(n)
            .send()
            .await
            .unwrap_or_else(|e| panic!("call {n}: {e:?}"));
        assert!(page.access_logs.is_empty(), "call {n}: {page:?}");
    }
    // The first call is challenged and answered; the next two answer the cached challenge
    // ahead with nonce counts 2 and 3. Apache checks the count and keeps nonces for an
    // hour (see `Apache::start`), so no answer is refused as a replay or as stale: exactly
    // four requests.
    assert_eq!(
        apache.requests(),
        vec![
            (401, request_line(1)),
            (200, request_line(1)),
            (200, request_line(2)),
            (200, request_line(3)),
        ]
    );
}

#[tokio::test]
async fn a_wrong_private_key_is_an_authentication_error_that_keeps_the_key_secret() {
    let apache = Apache::start(USER, PASSWORD);
    let wrong_key = "wrong-private-key-9d1e";
    let client = Client::builder()
        .base_url(apache.base_url())
        .api_key(USER, wrong_key)
        .build()
        .unwrap();
    let err = client
        .get_access_history_cluster()
        .group_id(GROUP_ID)
        .cluster_name("Cluster0")
        .n_logs(1)
        .send()
        .await
        .unwrap_err();
    // Apache's 401 body is an HTML page, not Atlas's JSON error: the status alone makes it
    // an authentication failure.
    let err = AtlasError::from(err);
    assert_eq!(err.kind(), ErrorKind::Auth, "{err:?}");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(401), "{err:?}");
    let body = String::from_utf8_lossy(err.body().expect("the body is kept"));
    assert!(body.contains("<title>401 Unauthorized</title>"), "{body}");
    for printed in [err.to_string(), format!("{err:?}"), format!("{err:#?}")] {
        assert!(!printed.contains(wrong_key), "{printed}");
        assert!(!printed.contains(PASSWORD), "{printed}");
    }
    // The challenge, then one answer with the wrong key, refused: no further retry.
    assert_eq!(
        apache.requests(),
        vec![(401, request_line(1)), (401, request_line(1))]
    );
}
