//! Production behaviour against fake-atlas's fault knobs: retries, rate limits, typed
//! errors, timeouts, and downloads that end in a complete file or in nothing at all.

use std::io::Read;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use atlas_client::{AtlasError, Client, DownloadError, ErrorKind, RateLimit, RetryPolicy};
use atlas_client_tests::{fake, service_client};
use fake_atlas::{FakeAtlas, Faults};

/// Everything `tracing` prints in this binary (installed once, for all tests).
fn logs() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let sink = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::WARN)
            .with_writer(move || Writer(sink.clone()))
            .finish();
        tracing::subscriber::set_global_default(subscriber).unwrap();
        buffer
    })
    .clone()
}

struct Writer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Writer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn quick_retries() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        base_delay: Duration::from_millis(20),
        max_delay: Duration::from_millis(200),
        ..RetryPolicy::default()
    }
}

fn client(atlas: &FakeAtlas, policy: RetryPolicy) -> Client {
    Client::builder()
        .base_url(atlas.base_url())
        .service_account(fake_atlas::DEMO_CLIENT_ID, fake_atlas::DEMO_CLIENT_SECRET)
        .retry_policy(policy)
        .build()
        .unwrap()
}

async fn call(client: &Client, atlas: &FakeAtlas) -> Result<usize, AtlasError> {
    match client
        .get_access_history_cluster()
        .group_id(&atlas.data().group_id)
        .cluster_name("Cluster0")
        .n_logs(5)
        .send()
        .await
    {
        Ok(page) => Ok(page.access_logs.len()),
        Err(e) => Err(AtlasError::from(e)),
    }
}

#[tokio::test]
async fn service_unavailable_is_retried_and_logged() {
    let logs = logs();
    let atlas = fake(|_| {}).await;
    atlas.set_faults(Faults {
        fail_next: 2,
        fail_status: 503,
        ..Faults::default()
    });
    assert_eq!(
        call(&client(&atlas, quick_retries()), &atlas)
            .await
            .unwrap(),
        5
    );
    assert_eq!((atlas.stats().faults, atlas.stats().access_cluster), (2, 3));
    let text = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
    assert!(
        text.matches("retrying").count() >= 2 && text.contains("HTTP 503"),
        "{text}"
    );
}

#[tokio::test]
async fn rate_limit_storm_honours_retry_after() {
    let atlas = fake(|_| {}).await;
    atlas.set_faults(Faults {
        fail_next: 2,
        fail_status: 429,
        fail_retry_after: Some(1),
        ..Faults::default()
    });
    let started = Instant::now();
    assert_eq!(
        call(&client(&atlas, quick_retries()), &atlas)
            .await
            .unwrap(),
        5
    );
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "waited at least Retry-After twice: {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn rate_limit_storm_without_retry_after_backs_off() {
    let atlas = fake(|_| {}).await;
    atlas.set_faults(Faults {
        fail_next: 3,
        fail_status: 429,
        ..Faults::default()
    });
    assert_eq!(
        call(&client(&atlas, quick_retries()), &atlas)
            .await
            .unwrap(),
        5
    );
    assert_eq!(atlas.stats().access_cluster, 4);
}

#[tokio::test]
async fn endless_rate_limiting_ends_in_a_typed_error() {
    let atlas = fake(|_| {}).await;
    atlas.set_faults(Faults {
        fail_next: 100,
        fail_status: 429,
        fail_retry_after: Some(0),
        ..Faults::default()
    });
    let err = call(&client(&atlas, quick_retries()), &atlas)
        .await
        .unwrap_err();
    assert!(err.is_rate_limited() && err.is_retryable(), "{err:?}");
    assert_eq!(err.error_code(), Some("RATE_LIMITED_TOKEN_BUCKET"));
    assert_eq!(err.retry_after(), Some(Duration::ZERO));
    assert_eq!(atlas.stats().access_cluster, 4, "max_attempts");
    assert_eq!(
        err.to_string(),
        "HTTP 429 RATE_LIMITED_TOKEN_BUCKET: Injected fault."
    );
}

#[tokio::test]
async fn retry_budget_is_respected() {
    let atlas = fake(|_| {}).await;
    atlas.set_faults(Faults {
        fail_next: 5,
        fail_status: 429,
        fail_retry_after: Some(30),
        ..Faults::default()
    });
    let policy = RetryPolicy {
        max_elapsed: Duration::from_secs(2),
        ..quick_retries()
    };
    let started = Instant::now();
    let err = call(&client(&atlas, policy), &atlas).await.unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "no 30 s wait past the budget"
    );
    assert_eq!(err.status().map(|s| s.as_u16()), Some(429));
    assert_eq!(err.retry_after(), Some(Duration::from_secs(30)));
}

#[tokio::test]
async fn real_rate_limits_expose_remaining_tokens() {
    let atlas = fake(|c| {
        c.rate_limit = fake_atlas::RateLimit {
            capacity: 2,
            refill: 1,
            period: Duration::from_secs(600),
        }
    })
    .await;
    let client = client(&atlas, RetryPolicy::never());
    let group = atlas.data().group_id.clone();
    let page = client
        .get_access_history_cluster()
        .group_id(&group)
        .cluster_name("Cluster0")
        .n_logs(1)
        .send()
        .await
        .unwrap();
    assert_eq!(
        RateLimit::from_headers(page.headers()),
        RateLimit {
            limit: Some(2),
            remaining: Some(1)
        }
    );
    client
        .get_access_history_cluster()
        .group_id(&group)
        .cluster_name("Cluster0")
        .n_logs(1)
        .send()
        .await
        .unwrap();
    let err = AtlasError::from(
        client
            .get_access_history_cluster()
            .group_id(&group)
            .cluster_name("Cluster0")
            .send()
            .await
            .unwrap_err(),
    );
    assert!(err.is_rate_limited());
    assert_eq!(err.rate_limit_remaining(), Some(0));
    assert!(err.retry_after().is_some_and(|d| d > Duration::ZERO));
}

/// A generated call's error passed on with `?` as a `Box<dyn Error>` (or `anyhow::Error`)
/// still says what Atlas said: its `errorCode` and `detail`.
#[tokio::test]
async fn errors_passed_on_with_question_mark_keep_atlas_detail() {
    let atlas = fake(|_| {}).await;
    let client = service_client(&atlas);
    let call = async {
        client
            .get_access_history_cluster()
            .group_id(&atlas.data().group_id)
            .cluster_name("Nope")
            .send()
            .await?;
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
    };
    let line = call.await.unwrap_err().to_string();
    assert!(
        line.starts_with("Atlas answered HTTP 404 CLUSTER_NOT_FOUND: No cluster named Nope"),
        "{line}"
    );
}

#[tokio::test]
async fn typed_errors_are_one_readable_line() {
    let atlas = fake(|_| {}).await;
    let client = service_client(&atlas);
    let err = AtlasError::from(
        client
            .get_access_history_cluster()
            .group_id(&atlas.data().group_id)
            .cluster_name("Nope")
            .send()
            .await
            .unwrap_err(),
    );
    assert!(err.is_not_found() && err.is_error_code("CLUSTER_NOT_FOUND") && !err.is_retryable());
    assert_eq!(err.kind(), ErrorKind::Api);
    let line = err.to_string();
    assert!(
        line.starts_with("HTTP 404 CLUSTER_NOT_FOUND: No cluster named Nope exists in group"),
        "{line}"
    );
    assert!(
        !line.contains('\n') && !line.contains("127.0.0.1"),
        "{line}"
    );

    let err = AtlasError::from(
        client
            .get_access_history_cluster()
            .group_id("bad")
            .cluster_name("c")
            .send()
            .await
            .unwrap_err(),
    );
    assert!(err.is_invalid_request());
    assert!(
        err.to_string()
            .starts_with("parameter `groupId` must match"),
        "{err}"
    );

    let dead = Client::builder()
        .base_url("http://127.0.0.1:9")
        .retry_policy(RetryPolicy::never())
        .build()
        .unwrap();
    let err = AtlasError::from(
        dead.get_access_history_cluster()
            .group_id(&atlas.data().group_id)
            .cluster_name("c")
            .send()
            .await
            .unwrap_err(),
    );
    assert_eq!(err.kind(), ErrorKind::Transport);
    assert!(err.is_retryable());
    assert!(err.to_string().starts_with("could not connect"), "{err}");
    assert!(!err.to_string().contains("http://"), "no URL noise: {err}");
}

#[tokio::test]
async fn connection_failures_are_retried_within_the_policy() {
    let dead = Client::builder()
        .base_url("http://127.0.0.1:9")
        .retry_policy(quick_retries())
        .build()
        .unwrap();
    let started = Instant::now();
    let err = dead
        .get_access_history_cluster()
        .group_id("32b6e34b3d91647abb20e7b8")
        .cluster_name("c")
        .send()
        .await
        .unwrap_err();
    assert!(AtlasError::from(err).kind() == ErrorKind::Transport);
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn slow_server_trips_the_read_timeout() {
    let atlas = fake(|_| {}).await;
    atlas.set_faults(Faults {
        latency: Duration::from_millis(800),
        ..Faults::default()
    });
    let client = Client::builder()
        .base_url(atlas.base_url())
        .service_account(fake_atlas::DEMO_CLIENT_ID, fake_atlas::DEMO_CLIENT_SECRET)
        .read_timeout(Duration::from_millis(200))
        .retry_policy(RetryPolicy {
            max_attempts: 2,
            ..quick_retries()
        })
        .build()
        .unwrap();
    let err = call(&client, &atlas).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transport);
    assert!(err.to_string().starts_with("timed out"), "{err}");
    assert_eq!(atlas.stats().access_cluster, 2, "retried once");
}

fn gunzip(path: &Path) -> std::io::Result<String> {
    let mut text = String::new();
    flate2::read::MultiGzDecoder::new(std::fs::File::open(path)?).read_to_string(&mut text)?;
    Ok(text)
}

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("atlas-download-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn downloads_are_verified_and_atomic() {
    let atlas = fake(|c| c.audit_log_bytes = 2 << 20).await;
    let client = service_client(&atlas);
    let group = atlas.data().group_id.clone();
    let dir = scratch("ok");

    // Into a directory: Atlas's file name.
    let saved = client
        .download_audit_logs()
        .group_id(&group)
        .tenant_name("workspace0")
        .save_to(&dir)
        .await
        .unwrap();
    let name = saved.server_file_name.clone().unwrap();
    assert!(
        name.starts_with("workspace0_") && name.ends_with("_audit.log.gz"),
        "{name}"
    );
    assert_eq!(saved.path, dir.join(&name));
    assert_eq!(saved.bytes_received, saved.bytes_written);
    let text = gunzip(&saved.path).unwrap();
    assert!(text.len() > 1 << 20);

    // Decompressed, to a path.
    let plain = dir.join("audit.log");
    let saved = client
        .download_audit_logs()
        .group_id(&group)
        .tenant_name("workspace0")
        .save_decompressed_to(&plain)
        .await
        .unwrap();
    assert_eq!(std::fs::read_to_string(&plain).unwrap(), text);
    assert_eq!(saved.bytes_written as usize, text.len());

    // An empty window: the 23-byte gzip is a valid, empty result.
    let empty = dir.join("empty.log.gz");
    let now_s = atlas.data().config.now_ms / 1000;
    let saved = client
        .download_audit_logs()
        .group_id(&group)
        .tenant_name("workspace0")
        .start_date(now_s + 60)
        .end_date(now_s + 120)
        .save_to(&empty)
        .await
        .unwrap();
    assert_eq!(
        (saved.bytes_received, gunzip(&empty).unwrap().len()),
        (23, 0)
    );
    assert!(
        !entries(&dir)
            .iter()
            .any(|n| n.starts_with('.') || n.ends_with(".part")),
        "{:?}",
        entries(&dir)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn broken_downloads_leave_nothing_behind() {
    let atlas = fake(|c| c.audit_log_bytes = 4 << 20).await;
    let client = client(&atlas, quick_retries());
    let group = atlas.data().group_id.clone();
    let dir = scratch("broken");
    let target = dir.join("audit.log.gz");
    std::fs::write(dir.join("keep.txt"), "untouched").unwrap();

    type Expected = fn(&DownloadError) -> bool;
    let cases: Vec<(Faults, Expected)> = vec![
        (
            Faults {
                close_after_bytes: Some(300_000),
                ..Faults::default()
            },
            |e| matches!(e, DownloadError::Interrupted(_)),
        ),
        (
            Faults {
                truncate_gzip_after: Some(300_000),
                ..Faults::default()
            },
            |e| matches!(e, DownloadError::Corrupt(_)),
        ),
        (
            Faults {
                fail_next: 10,
                fail_status: 503,
                ..Faults::default()
            },
            |e| matches!(e, DownloadError::Request(r) if r.status().map(|s| s.as_u16()) == Some(503)),
        ),
    ];
    for (faults, expected) in cases {
        atlas.set_faults(faults.clone());
        let err = client
            .download_audit_logs()
            .group_id(&group)
            .tenant_name("workspace0")
            .save_to(&target)
            .await
            .unwrap_err();
        assert!(expected(&err), "{faults:?}: {err:?}");
        assert_eq!(
            entries(&dir),
            ["keep.txt"],
            "{faults:?}: nothing left behind after {err}"
        );
        let err = client
            .download_audit_logs()
            .group_id(&group)
            .tenant_name("workspace0")
            .save_decompressed_to(&target)
            .await
            .unwrap_err();
        assert!(
            expected(&err) || matches!(err, DownloadError::Corrupt(_)),
            "{faults:?}: {err:?}"
        );
        assert_eq!(entries(&dir), ["keep.txt"]);
    }
    atlas.set_faults(Faults::default());

    // A bad destination fails before any request.
    let before = atlas.stats().audit_logs;
    let err = client
        .download_audit_logs()
        .group_id(&group)
        .tenant_name("workspace0")
        .save_to(dir.join("missing/sub/a.gz"))
        .await
        .unwrap_err();
    assert!(matches!(err, DownloadError::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("missing/sub/a.gz"), "{err}");
    assert!(
        std::error::Error::source(&err).is_some(),
        "the I/O error is the cause"
    );
    assert_eq!(atlas.stats().audit_logs, before, "nothing was sent");

    // Dropping the future midway leaves no temporary file either.
    atlas.set_faults(Faults {
        latency: Duration::from_millis(300),
        ..Faults::default()
    });
    let download = client
        .download_audit_logs()
        .group_id(&group)
        .tenant_name("workspace0")
        .save_to(&target);
    assert!(
        tokio::time::timeout(Duration::from_millis(100), download)
            .await
            .is_err()
    );
    assert_eq!(entries(&dir), ["keep.txt"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_body_cut_off_mid_transfer_is_retried() {
    let atlas = fake(|_| {}).await;
    atlas.set_faults(Faults {
        close_after_bytes: Some(200),
        close_next: 1,
        ..Faults::default()
    });
    let client = client(&atlas, quick_retries());
    let page = client
        .get_access_history_cluster()
        .group_id(&atlas.data().group_id)
        .cluster_name("Cluster0")
        .n_logs(500)
        .send()
        .await
        .unwrap();
    assert_eq!(page.access_logs.len(), 500);
    assert_eq!(
        atlas.stats().access_cluster,
        2,
        "the broken answer, then a whole one"
    );
}

/// A download cut off once mid-body (past its first 100,000 bytes, as
/// `fake-atlas --close-after-bytes 100000 --close-next 1` does) is sent again from the start
/// and saved whole: the same bytes as a download that never broke, logged at WARN.
#[tokio::test]
async fn a_download_broken_off_once_is_sent_again_and_saved_whole() {
    let logs = logs();
    let atlas = fake(|c| c.audit_log_bytes = 4 << 20).await;
    let client = client(&atlas, quick_retries());
    let group = atlas.data().group_id.clone();
    let download = || {
        client
            .download_audit_logs()
            .group_id(&group)
            .tenant_name("workspace0")
    };
    let dir = scratch("retried");
    let whole = download().save_to(dir.join("whole.gz")).await.unwrap();
    assert!(whole.bytes_received > 100_000, "{whole:?}");
    let text = gunzip(&whole.path).unwrap();

    for (decompress, name) in [(false, "again.gz"), (true, "again.log")] {
        let before = atlas.stats().audit_logs;
        atlas.set_faults(Faults {
            close_after_bytes: Some(100_000),
            close_next: 1,
            ..Faults::default()
        });
        let target = dir.join(name);
        let saved = if decompress {
            download().save_decompressed_to(&target).await
        } else {
            download().save_to(&target).await
        }
        .unwrap();
        assert_eq!(
            atlas.stats().audit_logs - before,
            2,
            "the broken answer, then a whole one"
        );
        assert_eq!(saved.path, target);
        assert_eq!(saved.bytes_received, whole.bytes_received);
        if decompress {
            assert_eq!(std::fs::read_to_string(&target).unwrap(), text);
        } else {
            assert_eq!(
                std::fs::read(&target).unwrap(),
                std::fs::read(&whole.path).unwrap()
            );
            assert_eq!(gunzip(&target).unwrap(), text);
        }
    }
    assert_eq!(entries(&dir), ["again.gz", "again.log", "whole.gz"]);
    let logged = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
    assert!(
        logged.contains("WARN")
            && logged.contains("retrying")
            && logged.contains("the download broke off"),
        "{logged}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Broken off on every attempt: the download ends as the policy says, by its attempts or
/// by its time budget, with nothing left in the directory.
#[tokio::test]
async fn a_download_broken_off_every_time_fails_within_the_policy() {
    let logs = logs();
    let atlas = fake(|c| c.audit_log_bytes = 4 << 20).await;
    let group = atlas.data().group_id.clone();
    let dir = scratch("always-broken");
    atlas.set_faults(Faults {
        close_after_bytes: Some(100_000),
        ..Faults::default()
    });

    // By attempts.
    let client_3 = client(
        &atlas,
        RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(50),
            max_elapsed: Duration::from_secs(30),
        },
    );
    let err = client_3
        .download_audit_logs()
        .group_id(&group)
        .tenant_name("workspace0")
        .save_to(&dir)
        .await
        .unwrap_err();
    assert!(matches!(err, DownloadError::Interrupted(_)), "{err:?}");
    assert!(AtlasError::from(err).is_retryable());
    assert_eq!(atlas.stats().audit_logs, 3);
    assert_eq!(
        entries(&dir),
        Vec::<String>::new(),
        "no temporary file left"
    );

    // By time: attempts take 100 ms or more each (the fault waits before it cuts).
    let budget = Duration::from_millis(400);
    let client_t = client(
        &atlas,
        RetryPolicy {
            max_attempts: 100,
            base_delay: Duration::from_millis(50),
            max_delay: Duration::from_millis(50),
            max_elapsed: budget,
        },
    );
    let before = atlas.stats().audit_logs;
    let started = Instant::now();
    let err = client_t
        .download_audit_logs()
        .group_id(&group)
        .tenant_name("workspace0")
        .save_decompressed_to(dir.join("audit.log"))
        .await
        .unwrap_err();
    let elapsed = started.elapsed();
    assert!(matches!(err, DownloadError::Interrupted(_)), "{err:?}");
    // Each attempt takes 100 ms or more, however loaded the machine: the budget, not the
    // attempt ceiling, ended it.
    let attempts = atlas.stats().audit_logs - before;
    assert!((1..=5).contains(&attempts), "{attempts} attempts");
    let logged = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
    assert!(
        logged.contains("not retrying: the retry time budget is spent"),
        "{logged}"
    );
    assert!(
        elapsed < budget + Duration::from_secs(5),
        "no retry starts past the budget: {elapsed:?}"
    );
    assert_eq!(
        entries(&dir),
        Vec::<String>::new(),
        "no temporary file left"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// What breaking off again would not mend is not sent again: a 404, and a gzip that arrived
/// whole (by its chunked framing) but is truncated.
#[tokio::test]
async fn downloads_that_would_fail_the_same_again_are_not_retried() {
    let atlas = fake(|c| c.audit_log_bytes = 4 << 20).await;
    let client = client(&atlas, quick_retries());
    let group = atlas.data().group_id.clone();
    let dir = scratch("not-retried");

    let err = client
        .download_audit_logs()
        .group_id(&group)
        .tenant_name("no-such-workspace")
        .save_to(&dir)
        .await
        .unwrap_err();
    let DownloadError::Request(e) = &err else {
        panic!("{err:?}");
    };
    assert_eq!(e.status().map(|s| s.as_u16()), Some(404), "{e}");
    assert_eq!(atlas.stats().audit_logs, 1, "a 404 is not retried");

    atlas.set_faults(Faults {
        truncate_gzip_after: Some(100_000),
        ..Faults::default()
    });
    let err = client
        .download_audit_logs()
        .group_id(&group)
        .tenant_name("workspace0")
        .save_to(&dir)
        .await
        .unwrap_err();
    assert!(matches!(err, DownloadError::Corrupt(_)), "{err:?}");
    assert_eq!(
        atlas.stats().audit_logs,
        2,
        "a whole, corrupt file is not retried"
    );
    assert_eq!(entries(&dir), Vec::<String>::new());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_callers_under_a_shared_rate_limit_all_succeed() {
    // Ten tokens, five more a second: 50 concurrent calls must spread their retries out
    // and keep going until the time budget, not give up after a few quick attempts.
    let atlas = Arc::new(
        fake(|c| {
            c.rate_limit = fake_atlas::RateLimit {
                capacity: 10,
                refill: 10,
                period: Duration::from_secs(2),
            }
        })
        .await,
    );
    let client = service_client(&atlas);
    let started = Instant::now();
    let calls = (0..50).map(|_| {
        let (client, atlas) = (client.clone(), atlas.clone());
        tokio::spawn(async move { call(&client, &atlas).await })
    });
    let results = futures::future::join_all(calls).await;
    let failed: Vec<String> = results
        .into_iter()
        .filter_map(|r| r.unwrap().err().map(|e| e.to_string()))
        .collect();
    assert!(
        failed.is_empty(),
        "{} of 50 failed: {failed:?}",
        failed.len()
    );
    let stats = atlas.stats();
    assert_eq!(stats.access_cluster - stats.rate_limited, 50);
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "within the retry budget: {:?}",
        started.elapsed()
    );
}
