//! Authentication end to end against fake-atlas: both kinds of credentials, every
//! operation, round-trip counts, expiry, refusal, revocation, and secrets kept out of
//! everything printable.

use std::time::Duration;

use atlas_client::{AuthError, BuildError, Client, Error};
use atlas_client_tests::{digest_client, fake, service_client};
use fake_atlas::FakeAtlas;
use futures::TryStreamExt;

/// `n` concurrent one-entry calls, each of which must succeed.
async fn concurrent_calls(client: &Client, group: &str, n: usize) {
    let calls = (0..n).map(|_| {
        let (client, group) = (client.clone(), group.to_string());
        tokio::spawn(async move {
            client
                .get_access_history_cluster()
                .group_id(&group)
                .cluster_name("Cluster0")
                .n_logs(1)
                .send()
                .await
                .map(drop)
        })
    });
    for call in futures::future::join_all(calls).await {
        call.unwrap().unwrap();
    }
}

/// Calls every operation once; returns how many entries and gzip bytes came back.
#[allow(deprecated)]
async fn every_operation(client: &Client, atlas: &FakeAtlas) -> (usize, usize) {
    let group = &atlas.data().group_id;
    let host = &atlas.data().hosts[0];
    let a = client
        .get_access_history_cluster()
        .group_id(group)
        .cluster_name("Cluster0")
        .n_logs(10)
        .send()
        .await
        .unwrap();
    let b = client
        .get_access_history_process()
        .group_id(group)
        .hostname(host)
        .n_logs(10)
        .send()
        .await
        .unwrap();
    let c = client
        .list_access_logs_by_cluster_name()
        .group_id(group)
        .cluster_name("Cluster0")
        .n_logs(10)
        .send()
        .await
        .unwrap();
    let audit = client
        .download_audit_logs()
        .group_id(group)
        .tenant_name("workspace0")
        .send()
        .await
        .unwrap();
    let gzip: Vec<bytes::Bytes> = audit.into_inner().into_inner().try_collect().await.unwrap();
    (
        a.access_logs.len() + b.access_logs.len() + c.access_logs.len(),
        gzip.iter().map(|c| c.len()).sum(),
    )
}

#[tokio::test]
async fn every_operation_with_an_api_key() {
    let atlas = fake(|_| {}).await;
    let (entries, gzip) = every_operation(&digest_client(&atlas), &atlas).await;
    assert_eq!(entries, 30);
    assert!(gzip > 1_000);
    let stats = atlas.stats();
    assert_eq!(stats.unauthorized, 1, "one challenge for the whole session");
    assert_eq!(stats.requests, 5, "four calls, one extra round trip");
}

#[tokio::test]
async fn every_operation_with_a_service_account() {
    let atlas = fake(|_| {}).await;
    let (entries, gzip) = every_operation(&service_client(&atlas), &atlas).await;
    assert_eq!(entries, 30);
    assert!(gzip > 1_000);
    let stats = atlas.stats();
    assert_eq!(
        (stats.token_requests, stats.unauthorized, stats.requests),
        (1, 0, 5)
    );
}

#[tokio::test]
async fn a_hundred_digest_calls_cost_at_most_a_hundred_and_one_requests() {
    let atlas = fake(|_| {}).await;
    let client = digest_client(&atlas);
    let group = atlas.data().group_id.clone();
    for _ in 0..100 {
        client
            .get_access_history_cluster()
            .group_id(&group)
            .cluster_name("Cluster0")
            .n_logs(1)
            .send()
            .await
            .unwrap();
    }
    let stats = atlas.stats();
    assert!(
        stats.requests <= 101,
        "{} requests for 100 calls",
        stats.requests
    );
    assert_eq!(stats.access_cluster, stats.requests);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_concurrent_service_account_calls_fetch_one_token() {
    let atlas = fake(|_| {}).await;
    let client = service_client(&atlas);
    let group = atlas.data().group_id.clone();
    concurrent_calls(&client, &group, 100).await;
    let stats = atlas.stats();
    assert_eq!(stats.token_requests, 1, "single flight");
    assert_eq!(stats.access_cluster, 100);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_digest_calls_share_the_challenge() {
    let atlas = fake(|_| {}).await;
    let client = digest_client(&atlas);
    let group = atlas.data().group_id.clone();
    client
        .get_access_history_cluster()
        .group_id(&group)
        .cluster_name("Cluster0")
        .n_logs(1)
        .send()
        .await
        .unwrap();
    concurrent_calls(&client, &group, 50).await;
    assert_eq!(
        atlas.stats().requests,
        52,
        "one challenge, then one request per call"
    );
}

#[tokio::test]
async fn expired_nonce_is_answered_again_transparently() {
    let atlas = fake(|c| c.nonce_lifetime = Duration::from_millis(300)).await;
    let client = digest_client(&atlas);
    let group = atlas.data().group_id.clone();
    let call = || {
        client
            .get_access_history_cluster()
            .group_id(&group)
            .cluster_name("Cluster0")
            .n_logs(1)
            .send()
    };
    call().await.unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    call().await.unwrap();
    let stats = atlas.stats();
    assert_eq!(
        stats.unauthorized, 2,
        "the first challenge, then the stale one"
    );
    assert_eq!(stats.requests, 4);
}

#[tokio::test]
async fn tokens_are_renewed_before_they_expire_and_after_a_refusal() {
    let atlas = fake(|c| c.token_lifetime = Duration::from_secs(1)).await;
    let client = service_client(&atlas);
    let group = atlas.data().group_id.clone();
    let call = || {
        client
            .get_access_history_cluster()
            .group_id(&group)
            .cluster_name("Cluster0")
            .n_logs(1)
            .send()
    };
    call().await.unwrap();
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    call().await.unwrap();
    let stats = atlas.stats();
    assert_eq!(
        (stats.token_requests, stats.unauthorized),
        (2, 0),
        "renewed ahead of expiry, never refused"
    );

    atlas.revoke_all_tokens();
    call().await.unwrap();
    let stats = atlas.stats();
    assert_eq!(
        (stats.token_requests, stats.unauthorized),
        (3, 1),
        "one refusal, one renewal, one retry"
    );
}

#[tokio::test]
async fn wrong_api_key_ends_in_one_typed_401() {
    let atlas = fake(|_| {}).await;
    let client = Client::builder()
        .base_url(atlas.base_url())
        .api_key(fake_atlas::DEMO_PUBLIC_KEY, "wrong")
        .build()
        .unwrap();
    let err = client
        .get_access_history_cluster()
        .group_id(&atlas.data().group_id)
        .cluster_name("Cluster0")
        .send()
        .await
        .unwrap_err();
    let Error::ErrorResponse(api) = err else {
        panic!("expected a typed 401, got {err:?}")
    };
    assert_eq!(
        (api.status().as_u16(), api.error_code.as_str()),
        (401, "UNAUTHORIZED")
    );
    assert_eq!(atlas.stats().requests, 2, "at most one retry");
}

#[tokio::test]
async fn wrong_service_account_is_a_clear_error() {
    let atlas = fake(|_| {}).await;
    let client = Client::builder()
        .base_url(atlas.base_url())
        .service_account(fake_atlas::DEMO_CLIENT_ID, "mdb_sa_sk_wrong")
        .build()
        .unwrap();
    match client.authenticate().await {
        Err(AuthError::Rejected {
            status: 401, error, ..
        }) => assert_eq!(error, "invalid_client"),
        other => panic!("expected invalid_client, got {other:?}"),
    }
    let err = client
        .get_access_history_cluster()
        .group_id(&atlas.data().group_id)
        .cluster_name("Cluster0")
        .send()
        .await
        .unwrap_err();
    // The refused token is an error of its own, not an answer of the operation's.
    assert!(
        matches!(&err, Error::Auth(AuthError::Rejected { status: 401, error, .. }) if error == "invalid_client"),
        "{err:?}"
    );
    let err = atlas_client::AtlasError::from(err);
    assert_eq!(err.kind(), atlas_client::ErrorKind::Auth);
    assert_eq!(err.status().map(|s| s.as_u16()), Some(401));
    let message = err.to_string();
    assert!(
        message.contains("invalid_client") && message.contains("HTTP 401"),
        "{message}"
    );
    assert!(
        std::error::Error::source(&err).is_some(),
        "the AuthError is kept as the cause"
    );
    assert_eq!(
        atlas.stats().access_cluster,
        0,
        "no API call without a token"
    );
}

#[tokio::test]
async fn revoked_token_is_replaced_on_the_next_call() {
    let atlas = fake(|_| {}).await;
    let client = service_client(&atlas);
    let group = atlas.data().group_id.clone();
    let call = || {
        client
            .get_access_history_cluster()
            .group_id(&group)
            .cluster_name("Cluster0")
            .n_logs(1)
            .send()
    };
    call().await.unwrap();
    client.revoke_token().await.unwrap();
    call().await.unwrap();
    let stats = atlas.stats();
    assert_eq!(
        (stats.revocations, stats.token_requests, stats.unauthorized),
        (1, 2, 0)
    );
    assert!(matches!(
        digest_client(&atlas).revoke_token().await,
        Err(AuthError::NoServiceAccount)
    ));
}

#[test]
fn credentials_never_travel_over_plain_http_to_another_host() {
    let insecure = Client::builder()
        .base_url("http://atlas.example.com")
        .api_key("pub", "priv")
        .build();
    assert!(
        matches!(insecure, Err(BuildError::InsecureUrl { .. })),
        "{insecure:?}"
    );
    let message = insecure.unwrap_err().to_string();
    assert!(message.contains("allow_insecure_http"), "{message}");
    for ok in [
        "https://atlas.example.com",
        "http://127.0.0.1:8080",
        "http://localhost:1",
        "http://[::1]:9",
    ] {
        assert!(
            Client::builder()
                .base_url(ok)
                .service_account("id", "secret")
                .build()
                .is_ok(),
            "{ok}"
        );
    }
    assert!(
        Client::builder()
            .base_url("http://atlas.example.com")
            .allow_insecure_http(true)
            .api_key("p", "s")
            .build()
            .is_ok()
    );
    assert!(
        Client::builder()
            .base_url("http://atlas.example.com")
            .build()
            .is_ok(),
        "no credentials, nothing to leak"
    );
}

#[tokio::test]
async fn digest_interoperates_with_an_independent_server() {
    use std::io::{BufRead, BufReader};
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/digest_server.py");
    /// Kills the server however the test ends.
    struct Server(std::process::Child);
    impl Drop for Server {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let python = atlas_client_tests::python();
    let hint = atlas_client_tests::PYTHON_HINT;
    let mut server = Server(
        std::process::Command::new(&python)
            .args([script, "pubkey01", "independent-private-key"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{} does not run ({e}); {hint}", python.display())),
    );
    let mut line = String::new();
    BufReader::new(server.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| {
            panic!(
                "the Flask-HTTPAuth server did not start under {} ({line:?}); {hint}",
                python.display()
            )
        });
    let base = format!("http://127.0.0.1:{port}");
    let client = Client::builder()
        .base_url(&base)
        .api_key("pubkey01", "independent-private-key")
        .build()
        .unwrap();
    for n in 1..=3 {
        let page = client
            .get_access_history_cluster()
            .group_id("32b6e34b3d91647abb20e7b8")
            .cluster_name("Cluster0")
            .n_logs(n)
            .send()
            .await
            .unwrap();
        assert!(page.access_logs.is_empty());
    }
    let wrong = Client::builder()
        .base_url(&base)
        .api_key("pubkey01", "wrong")
        .build()
        .unwrap();
    let err = wrong
        .get_access_history_cluster()
        .group_id("32b6e34b3d91647abb20e7b8")
        .cluster_name("c")
        .send()
        .await
        .unwrap_err();
    // This server's 401 body is not Atlas JSON: the declared 401 does not decode, and,
    // status first, it is an authentication failure all the same, with the body kept.
    assert!(matches!(err, Error::Undecodable(..)), "{err:?}");
    let err = atlas_client::AtlasError::from(err);
    assert_eq!(err.kind(), atlas_client::ErrorKind::Auth);
    assert_eq!(err.status().map(|s| s.as_u16()), Some(401));
    assert!(err.body().is_some_and(|b| !b.is_empty()), "{err:?}");
    let count: serde_json::Value = reqwest_get(&format!("{base}/count")).await;
    drop(server);
    assert_eq!(
        count["requests"], 6,
        "three calls in four requests, then a refused key in two"
    );
}

async fn reqwest_get(url: &str) -> serde_json::Value {
    let client = Client::builder().base_url(url).build().unwrap();
    atlas_client::ClientInfo::client(&client)
        .get(url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cold_concurrent_digest_calls_learn_one_challenge() {
    let atlas = fake(|_| {}).await;
    let client = digest_client(&atlas);
    let group = atlas.data().group_id.clone();
    concurrent_calls(&client, &group, 50).await;
    let stats = atlas.stats();
    assert_eq!(
        (stats.requests, stats.unauthorized),
        (51, 1),
        "one challenge shared by 50 first calls"
    );
}

/// Cold concurrent first calls with an API key wait for the challenge only (one round
/// trip, the 401), not for the answer to the call that learnt it: they go out together, so
/// all of them are answered about one query's time after they start, not two. Still one
/// challenge for all of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cold_concurrent_digest_calls_wait_for_the_challenge_only() {
    let atlas = fake(|c| {
        c.faults.latency = Duration::from_millis(1_000);
        c.faults.round_trip = Duration::from_millis(20);
    })
    .await;
    let client = digest_client(&atlas);
    let group = atlas.data().group_id.clone();
    let started = std::time::Instant::now();
    concurrent_calls(&client, &group, 20).await;
    let took = started.elapsed();
    let stats = atlas.stats();
    assert_eq!(
        (stats.requests, stats.unauthorized),
        (21, 1),
        "one challenge"
    );
    // Holding the first call's answer back would take two queries' time (2 s and more);
    // waiting for the challenge only takes one query and two round trips.
    assert!(
        took < Duration::from_millis(1_800),
        "20 cold calls took {took:?}: the others waited for the first one's answer"
    );
}

/// One call, after the client has learnt what it needs (challenge or token).
async fn warm_call(client: &Client, atlas: &FakeAtlas) {
    client
        .get_access_history_cluster()
        .group_id(&atlas.data().group_id)
        .cluster_name("Cluster0")
        .n_logs(1)
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn retries_authenticate_afresh_without_extra_round_trips() {
    for status in [429, 503] {
        // API key: each retry answers the cached challenge with the next nonce count; a
        // replayed count would cost a 401 (fake-atlas refuses replays).
        let atlas = fake(|_| {}).await;
        let client = digest_client(&atlas);
        warm_call(&client, &atlas).await;
        let before = atlas.stats();
        atlas.set_faults(fake_atlas::Faults {
            fail_next: 2,
            fail_status: status,
            fail_retry_after: Some(0),
            ..fake_atlas::Faults::default()
        });
        warm_call(&client, &atlas).await;
        let after = atlas.stats();
        assert_eq!(
            (
                after.requests - before.requests,
                after.unauthorized - before.unauthorized
            ),
            (3, 0),
            "HTTP {status}: two refusals and a success, no 401"
        );

        // Service account: the same token for every attempt, no new token request.
        let atlas = fake(|_| {}).await;
        let client = service_client(&atlas);
        warm_call(&client, &atlas).await;
        atlas.set_faults(fake_atlas::Faults {
            fail_next: 2,
            fail_status: status,
            fail_retry_after: Some(0),
            ..fake_atlas::Faults::default()
        });
        warm_call(&client, &atlas).await;
        let stats = atlas.stats();
        assert_eq!(
            (
                stats.token_requests,
                stats.access_cluster,
                stats.unauthorized
            ),
            (1, 4, 0),
            "HTTP {status}"
        );
    }
}

#[tokio::test]
async fn an_unreachable_token_endpoint_is_a_transport_error() {
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = Client::builder()
        .base_url(format!("http://127.0.0.1:{port}"))
        .service_account(fake_atlas::DEMO_CLIENT_ID, fake_atlas::DEMO_CLIENT_SECRET)
        .retry_policy(atlas_client::RetryPolicy {
            max_attempts: 2,
            base_delay: Duration::from_millis(10),
            ..atlas_client::RetryPolicy::default()
        })
        .build()
        .unwrap();
    let err = client
        .get_access_history_cluster()
        .group_id("32b6e34b3d91647abb20e7b8")
        .cluster_name("Cluster0")
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Auth(AuthError::Transport(cause)) if cause.is_connect()),
        "{err:?}"
    );
    assert!(err.is_retryable());
    let err = atlas_client::AtlasError::from(err);
    assert_eq!(err.kind(), atlas_client::ErrorKind::Transport, "{err:?}");
    assert!(err.is_connect() && !err.is_timeout() && err.is_retryable());
    assert!(
        err.to_string().to_lowercase().contains("refused"),
        "the cause is in the message: {err}"
    );
    assert!(std::error::Error::source(&err).is_some());
    match client.authenticate().await {
        Err(AuthError::Transport(cause)) => assert!(cause.is_connect()),
        other => panic!("expected a transport error, got {other:?}"),
    }
}

#[tokio::test]
async fn no_constructor_sends_credentials_in_the_clear() {
    // progenitor's public constructor with a runtime holding credentials: the runtime
    // refuses at send time, before any connection (192.0.2.2 is a documentation address
    // that is never contacted).
    let runtime = atlas_client::Runtime::new(Some(atlas_client::Credentials::service_account(
        "mdb_sa_id_x",
        "mdb_sa_sk_secret",
    )))
    .unwrap();
    let client = Client::new_with_client("http://192.0.2.2", reqwest::Client::new(), runtime);
    let started = std::time::Instant::now();
    let err = client
        .get_access_history_cluster()
        .group_id("32b6e34b3d91647abb20e7b8")
        .cluster_name("Cluster0")
        .send()
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "nothing was sent"
    );
    let Error::InvalidRequest(message) = &err else {
        panic!("{err:?}")
    };
    assert!(
        message.contains("refusing to send credentials over plain HTTP to 192.0.2.2"),
        "{message}"
    );
    assert!(!format!("{err:?}").contains("mdb_sa_sk_secret"));
}

#[tokio::test]
async fn digest_challenges_are_read_as_rfc_7235_writes_them() {
    use std::sync::{Arc, Mutex};
    use wiremock::{Mock, MockServer, matchers::any};

    /// Everything `tracing` prints on this thread.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// One call of an API-key client to a server that answers every request with a 401
    /// carrying `challenge`: the requests sent, the error, and what was logged.
    async fn call(challenge: &str) -> (Vec<wiremock::Request>, atlas_client::AtlasError, String) {
        let server = MockServer::start().await;
        Mock::given(any())
            .respond_with(
                atlas_client_tests::api_error(
                    401,
                    "UNAUTHORIZED",
                    "Current user is not authorized.",
                )
                .insert_header("WWW-Authenticate", challenge),
            )
            .mount(&server)
            .await;
        let client = Client::builder()
            .base_url(server.uri())
            .api_key("pubkey01", "private-key")
            .retry_policy(atlas_client::RetryPolicy::never())
            .build()
            .unwrap();
        let captured = Captured::default();
        let sink = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::WARN)
            .with_writer(move || sink.clone())
            .finish();
        let guard = tracing::subscriber::set_default(subscriber);
        let err = client
            .get_access_history_cluster()
            .group_id(atlas_client_tests::GROUP_ID)
            .cluster_name("Cluster0")
            .send()
            .await
            .unwrap_err();
        drop(guard);
        let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        let requests = server.received_requests().await.unwrap();
        if requests.len() == 1 {
            // An unanswerable challenge is an error of its own, keeping Atlas's body.
            assert!(
                matches!(&err, Error::Auth(AuthError::DigestChallenge { body, .. }) if body.starts_with(b"{")),
                "{err:?}"
            );
        }
        (requests, atlas_client::AtlasError::from(err), logs)
    }

    // After another scheme, names in any case, spaces around `=`: answered, once.
    let (requests, err, _) = call(
        r#"Bearer realm="atlas", dIGEST Realm = "MMS Public API", NONCE="n", QoP="auth", Algorithm=md5"#,
    )
    .await;
    assert_eq!(requests.len(), 2, "one answer to the challenge");
    let answer = requests[1].headers.get("authorization").unwrap();
    let answer = answer.to_str().unwrap();
    assert!(
        answer.starts_with(r#"Digest username="pubkey01", realm="MMS Public API", nonce="n", uri="/api/atlas/v2/groups/"#),
        "{answer}"
    );
    assert!(
        answer.contains(" qop=auth, ") && answer.ends_with("algorithm=MD5"),
        "{answer}"
    );
    assert!(err.is_unauthorized() && err.status().is_some_and(|s| s.as_u16() == 401));

    // Only `auth-int` offered: not answered with a `qop=auth` the server would refuse;
    // the 401 stands, and the reason is logged.
    let (requests, err, logs) =
        call(r#"Digest realm="MMS Public API", nonce="n", qop="auth-int""#).await;
    assert_eq!(requests.len(), 1, "no answer sent");
    assert!(requests[0].headers.get("authorization").is_none());
    assert!(err.is_unauthorized() && err.status().is_some_and(|s| s.as_u16() == 401));
    assert!(
        logs.contains(r#"not answering the 401 with the API key: the Digest challenge offers qop "auth-int" but not "auth""#),
        "{logs}"
    );
    // The error itself says why, keeping Atlas's status and body.
    assert_eq!(err.kind(), atlas_client::ErrorKind::Auth);
    assert!(
        err.to_string().contains(
            r#"cannot answer the HTTP Digest challenge with the API key: the Digest challenge offers qop "auth-int" but not "auth""#
        ),
        "{err}"
    );
    assert!(err.body().is_some_and(|b| b.starts_with(b"{")), "{err:?}");
    let (_, err, _) = call(r#"Digest realm="MMS Public API", nonce="n", algorithm=SHA-1"#).await;
    assert!(err.to_string().contains(r#"algorithm "SHA-1""#), "{err}");
}

/// Cluster0's access history from `base`, with a service account and `policy`.
async fn cluster0_with_a_token(
    base: &str,
    policy: &atlas_client::RetryPolicy,
) -> Result<(), Error<atlas_client::types::ApiError>> {
    let client = Client::builder()
        .base_url(base)
        .service_account("mdb_sa_id_0123456789abcdef01234567", "mdb_sa_sk_secret")
        .retry_policy(policy.clone())
        .build()
        .unwrap();
    client
        .get_access_history_cluster()
        .group_id(atlas_client_tests::GROUP_ID)
        .cluster_name("Cluster0")
        .send()
        .await
        .map(drop)
}

/// A token endpoint answering a retryable status is retried like any call, as the retry
/// classifier says; when it keeps refusing, the call fails with the token endpoint's
/// refusal, an error of its own.
#[tokio::test]
async fn a_busy_token_endpoint_is_retried_then_reported_as_itself() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer};
    let policy = atlas_client::RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(1),
        ..atlas_client::RetryPolicy::default()
    };
    let token = serde_json::json!({ "access_token": "eyJ-token", "expires_in": 3600 });
    let busy = wiremock::ResponseTemplate::new(503)
        .set_body_json(serde_json::json!({ "error": "temporarily_unavailable" }));
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/oauth/token"))
        .respond_with(busy.clone())
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/oauth/token"))
        .respond_with(wiremock::ResponseTemplate::new(200).set_body_json(token))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(atlas_client_tests::atlas_json(
            200,
            serde_json::json!({ "accessLogs": [] }),
        ))
        .mount(&server)
        .await;
    cluster0_with_a_token(&server.uri(), &policy).await.unwrap();
    let paths: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| r.url.path().to_string())
        .collect();
    assert_eq!(paths.len(), 3, "{paths:?}");
    assert!(
        paths[..2].iter().all(|p| p == "/api/oauth/token"),
        "{paths:?}"
    );

    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/oauth/token"))
        .respond_with(busy)
        .mount(&server)
        .await;
    let err = cluster0_with_a_token(&server.uri(), &policy)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Auth(AuthError::Rejected { status: 503, .. })),
        "{err:?}"
    );
    assert!(err.is_retryable());
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
    let err = atlas_client::AtlasError::from(err);
    assert_eq!(err.status().map(|s| s.as_u16()), Some(503));
    assert!(err.is_retryable() && err.body().is_some());
}
