//! The audit-log download: a valid gzip of audit events, streamed, filtered and sized as
//! asked, with Atlas's file name and empty file.

mod common;

use std::io::Read;

use common::{AUDIT, DigestClient, fake_with, path};
use fake_atlas::Faults;
use fake_atlas::audit::EMPTY_GZIP;
use serde_json::Value;

fn gunzip(bytes: &[u8]) -> std::io::Result<String> {
    let mut text = String::new();
    flate2::read::GzDecoder::new(bytes).read_to_string(&mut text)?;
    Ok(text)
}

#[tokio::test]
async fn a_window_of_audit_events_as_gzip() {
    let fake = fake_with(100, |c| c.audit_log_bytes = 3 << 20).await;
    let mut client = DigestClient::demo(&fake.base_url());
    let now_s = fake.data().config.now_ms / 1000;
    let (start, end) = (now_s - 10 * 86_400, now_s - 86_400);
    let uri = path(
        &fake,
        &format!("/streams/workspace0/auditLogs?startDate={start}&endDate={end}"),
    );
    let response = client.get(&uri, AUDIT).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], AUDIT);
    assert_eq!(
        response.headers()["content-disposition"],
        format!("attachment; filename=\"workspace0_{start}_{end}_audit.log.gz\"").as_str()
    );
    let gzip = response.bytes().await.unwrap();
    let text = gunzip(&gzip).unwrap();
    // Nine of the thirty days: about 0.9 MiB of events.
    let expected = (3u64 << 20) * 9 / 30;
    assert!(
        (text.len() as u64).abs_diff(expected) < 2_000,
        "{} vs {expected}",
        text.len()
    );
    let mut processors = std::collections::BTreeSet::new();
    for line in text.lines() {
        let event: Value = serde_json::from_str(line).unwrap();
        assert_eq!(event["param"]["tenant"], "workspace0");
        let date = event["ts"]["$date"].as_str().unwrap();
        let ms = chrono::DateTime::parse_from_str(date, "%Y-%m-%dT%H:%M:%S%.3f%:z")
            .unwrap()
            .timestamp_millis();
        assert!((start * 1000..=end * 1000).contains(&ms), "{date}");
        processors.insert(event["param"]["processor"].as_str().unwrap().to_string());
    }
    assert_eq!(processors.len(), 2, "both stream processors");

    let again = client.get(&uri, AUDIT).await.bytes().await.unwrap();
    assert_eq!(again, gzip, "the same request gives the same file");
}

#[tokio::test]
async fn stream_processor_filter_and_empty_files() {
    let fake = fake_with(100, |_| {}).await;
    let mut client = DigestClient::demo(&fake.base_url());
    let text = gunzip(
        &client
            .get(
                &path(&fake, "/streams/workspace0/auditLogs?spName=fraud-scorer"),
                AUDIT,
            )
            .await
            .bytes()
            .await
            .unwrap(),
    )
    .unwrap();
    assert!(!text.is_empty());
    assert!(
        text.lines()
            .all(|l| l.contains("\"processor\":\"fraud-scorer\""))
    );

    let now_s = fake.data().config.now_ms / 1000;
    for query in [
        "spName=no-such-processor".to_string(),
        format!("startDate={}&endDate={}", now_s + 10, now_s + 20),
    ] {
        let body = client
            .get(
                &path(&fake, &format!("/streams/workspace0/auditLogs?{query}")),
                AUDIT,
            )
            .await
            .bytes()
            .await
            .unwrap();
        assert_eq!(&body[..], &EMPTY_GZIP, "{query}");
        assert_eq!(body.len(), 23);
        assert_eq!(gunzip(&body).unwrap(), "");
    }
}

#[tokio::test]
async fn audit_log_errors() {
    let fake = fake_with(100, |_| {}).await;
    let mut client = DigestClient::demo(&fake.base_url());
    let missing = client
        .get(&path(&fake, "/streams/nope/auditLogs"), AUDIT)
        .await;
    assert_eq!(missing.status(), 404);
    assert_eq!(
        missing.json::<Value>().await.unwrap()["errorCode"],
        "STREAM_TENANT_NOT_FOUND"
    );

    let backwards = client
        .get(
            &path(
                &fake,
                "/streams/workspace0/auditLogs?startDate=20&endDate=10",
            ),
            AUDIT,
        )
        .await;
    assert_eq!(backwards.status(), 400);
    // Atlas labels this JSON error with the gzip media type.
    assert_eq!(backwards.headers()["content-type"], AUDIT);
    assert_eq!(
        backwards.json::<Value>().await.unwrap()["errorCode"],
        "INVALID_PARAMETER"
    );

    let wrong_version = client
        .get(
            &path(&fake, "/streams/workspace0/auditLogs"),
            "application/vnd.atlas.2023-01-01+json",
        )
        .await;
    assert_eq!(wrong_version.status(), 406);
}

#[tokio::test]
async fn truncated_gzip_fault_breaks_the_file() {
    let fake = fake_with(100, |_| {}).await;
    let mut client = DigestClient::demo(&fake.base_url());
    fake.set_faults(Faults {
        truncate_gzip_after: Some(10_000),
        ..Faults::default()
    });
    let response = client
        .get(&path(&fake, "/streams/workspace0/auditLogs"), AUDIT)
        .await;
    assert_eq!(response.status(), 200);
    let body = response
        .bytes()
        .await
        .expect("the HTTP message itself is complete");
    assert_eq!(body.len(), 10_000);
    assert!(gunzip(&body).is_err(), "the gzip is cut short");
}
