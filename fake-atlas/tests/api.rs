//! The access-history operations behave as Atlas does: data, filters, errors, versioning,
//! envelope and pretty printing, rate limits, faults and request accounting.

mod common;

use std::time::Duration;

use common::{ACCESS, DigestClient, fake_with, path};
use fake_atlas::data::{DAY_MS, HOUR_MS};
use fake_atlas::{DataConfig, DataSet, Faults, RateLimit};
use serde_json::Value;

#[test]
fn data_is_deterministic_bursty_and_newest_first() {
    let config = DataConfig {
        seed: 7,
        entries: 50_000,
        ..DataConfig::default()
    };
    let (a, b) = (DataSet::generate(&config), DataSet::generate(&config));
    let (mut dump_a, mut dump_b) = (Vec::new(), Vec::new());
    a.write_ndjson(&mut dump_a).unwrap();
    b.write_ndjson(&mut dump_b).unwrap();
    assert!(dump_a == dump_b, "same seed, same data");
    assert_ne!(
        DataSet::generate(&DataConfig {
            seed: 8,
            ..config.clone()
        })
        .group_id,
        a.group_id
    );

    assert_eq!(a.entries.len(), 50_000);
    assert!(
        a.entries.windows(2).all(|w| w[0].ts_ms >= w[1].ts_ms),
        "newest first"
    );
    let now = config.now_ms;
    assert!(
        a.entries
            .iter()
            .all(|e| e.ts_ms < now && e.ts_ms >= now - 7 * DAY_MS),
        "within the last 7 days"
    );
    let busiest_hour = {
        let mut per_hour = std::collections::HashMap::<i64, usize>::new();
        for e in &a.entries {
            *per_hour.entry(e.ts_ms / HOUR_MS).or_default() += 1;
        }
        per_hour.into_values().max().unwrap()
    };
    assert!(
        busiest_hour > 20_000,
        "one hour holds more than one page: {busiest_hour}"
    );
    let shared_ms = a
        .entries
        .windows(2)
        .filter(|w| w[0].ts_ms == w[1].ts_ms)
        .count();
    assert!(shared_ms > 100, "entries share milliseconds: {shared_ms}");
    let failures = a.entries.iter().filter(|e| e.failure.is_some()).count();
    assert!(
        (5_000..15_000).contains(&failures),
        "a realistic share of failures: {failures}"
    );
    let v6 = a
        .entries
        .iter()
        .filter(|e| a.ips[e.ip as usize].contains(':'))
        .count();
    assert!(v6 > 0 && v6 < a.entries.len(), "IPv4 and IPv6 clients");

    let burst = DataSet::generate(&DataConfig {
        same_ms_burst: 25_000,
        entries: 30_000,
        ..config
    });
    let first = burst
        .entries
        .iter()
        .filter(|e| e.ts_ms == burst.config.now_ms - 2 * DAY_MS + 123)
        .count();
    assert_eq!(first, 25_000, "the single-millisecond burst");
}

#[test]
fn entries_have_atlas_shape() {
    let data = DataSet::generate(&DataConfig {
        entries: 2_000,
        ..DataConfig::default()
    });
    let ok = data.entries.iter().find(|e| e.failure.is_none()).unwrap();
    let bad = data.entries.iter().find(|e| e.failure.is_some()).unwrap();
    let ok = data.entry_json(ok, false);
    let bad = data.entry_json(bad, true);
    assert_eq!(
        ok["failureReason"],
        Value::Null,
        "null on the wire for successes"
    );
    assert!(ok.get("clusterName").is_none());
    assert!(
        bad["clusterName"].is_string(),
        "v1.0 entries name their cluster"
    );
    assert!(bad["failureReason"].as_str().unwrap().contains(':'));
    let timestamp = ok["timestamp"].as_str().unwrap();
    assert!(
        chrono::NaiveDateTime::parse_from_str(timestamp, "%a %b %d %H:%M:%S GMT %Y").is_ok(),
        "Java Date.toString(): {timestamp}"
    );
    let line: Value = serde_json::from_str(ok["logLine"].as_str().unwrap()).unwrap();
    let date = line["t"]["$date"].as_str().unwrap();
    assert_eq!(date.len(), "2023-04-26T02:38:56.123+00:00".len(), "{date}");
    assert!(
        ok["hostname"]
            .as_str()
            .unwrap()
            .ends_with(".mongodb.net:27017")
    );
}

async fn get_json(client: &mut DigestClient, path_and_query: &str) -> (u16, Value) {
    let response = client.get(path_and_query, ACCESS).await;
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn filters_match_the_data_set() {
    let fake = fake_with(30_000, |_| {}).await;
    let data = fake.data().clone();
    let mut client = DigestClient::demo(&fake.base_url());
    let cluster = &data.clusters[1];
    let hosts: Vec<u16> = cluster
        .hosts
        .iter()
        .map(|h| data.host_index(h).unwrap())
        .collect();
    let expected =
        |start: i64, end: i64, ok: Option<bool>, ip: Option<&str>, n: usize| -> Vec<Value> {
            data.entries
                .iter()
                .filter(|e| hosts.contains(&e.host) && e.ts_ms >= start && e.ts_ms <= end)
                .filter(|e| ok.is_none_or(|ok| ok == e.failure.is_none()))
                .filter(|e| ip.is_none_or(|ip| data.ips[e.ip as usize] == ip))
                .take(n)
                .map(|e| data.entry_json(e, false))
                .collect()
        };
    let now = data.config.now_ms;
    let (start, end) = (now - 2 * DAY_MS, now - DAY_MS);
    let base = path(
        &fake,
        &format!("/dbAccessHistory/clusters/{}", cluster.name),
    );

    let (status, body) = get_json(
        &mut client,
        &format!("{base}?start={start}&end={end}&nLogs=500"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        body["accessLogs"].as_array().unwrap(),
        &expected(start, end, None, None, 500)
    );

    let (_, body) = get_json(
        &mut client,
        &format!("{base}?start={start}&end={end}&authResult=false"),
    )
    .await;
    let failed = expected(start, end, Some(false), None, 20_000);
    assert!(!failed.is_empty());
    assert_eq!(body["accessLogs"].as_array().unwrap(), &failed);

    let ip = data.entry_json(
        data.entries
            .iter()
            .find(|e| hosts.contains(&e.host))
            .unwrap(),
        false,
    )["ipAddress"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, body) = get_json(
        &mut client,
        &format!("{base}?ipAddress={}", ip.replace(':', "%3A")),
    )
    .await;
    assert_eq!(
        body["accessLogs"].as_array().unwrap(),
        &expected(i64::MIN, i64::MAX, None, Some(&ip), 20_000)
    );

    // No nLogs: at most 20,000, the newest.
    let (_, body) = get_json(&mut client, &base).await;
    assert_eq!(
        body["accessLogs"].as_array().unwrap().len(),
        expected(i64::MIN, i64::MAX, None, None, 20_000).len()
    );

    // By hostname, with or without the port.
    let host = &cluster.hosts[0];
    let one = data.host_index(host).unwrap();
    let by_host: Vec<Value> = data
        .entries
        .iter()
        .filter(|e| e.host == one)
        .take(50)
        .map(|e| data.entry_json(e, false))
        .collect();
    for name in [host.as_str(), host.strip_suffix(":27017").unwrap()] {
        let (status, body) = get_json(
            &mut client,
            &path(
                &fake,
                &format!("/dbAccessHistory/processes/{name}?nLogs=50"),
            ),
        )
        .await;
        assert_eq!(status, 200, "{name}");
        assert_eq!(body["accessLogs"].as_array().unwrap(), &by_host);
    }

    // v1.0 answers plain JSON, entries with clusterName.
    let legacy = format!(
        "/api/atlas/v1.0/groups/{}/dbAccessHistory/clusters/{}?nLogs=3",
        data.group_id, cluster.name
    );
    let response = client.get(&legacy, "application/json").await;
    assert_eq!(response.headers()["content-type"], "application/json");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["accessLogs"][0]["clusterName"], cluster.name.as_str());
}

#[tokio::test]
async fn errors_look_like_atlas() {
    let fake = fake_with(1_000, |_| {}).await;
    let mut client = DigestClient::demo(&fake.base_url());
    let group = fake.data().group_id.clone();
    let cases = [
        (
            format!("/api/atlas/v2/groups/{group}/dbAccessHistory/clusters/Nope"),
            404,
            "CLUSTER_NOT_FOUND",
        ),
        (
            format!("/api/atlas/v2/groups/{group}/dbAccessHistory/processes/nope.example.net"),
            404,
            "HOST_NOT_FOUND",
        ),
        (
            "/api/atlas/v2/groups/aaaaaaaaaaaaaaaaaaaaaaaa/dbAccessHistory/clusters/Cluster0"
                .to_string(),
            404,
            "GROUP_NOT_FOUND",
        ),
        (
            "/api/atlas/v2/groups/not-hex/dbAccessHistory/clusters/Cluster0".to_string(),
            400,
            "INVALID_GROUP_ID",
        ),
        (
            format!("/api/atlas/v2/groups/{group}/dbAccessHistory/clusters/Cluster0?nLogs=20001"),
            400,
            "INVALID_PARAMETER",
        ),
        (
            format!(
                "/api/atlas/v2/groups/{group}/dbAccessHistory/clusters/Cluster0?start=1700000000000"
            ),
            400,
            "INVALID_PARAMETER",
        ),
        (
            format!("/api/atlas/v2/groups/{group}/dbAccessHistory/clusters/Cluster0?start=5&end=6"),
            400,
            "INVALID_PARAMETER",
        ),
        (
            format!(
                "/api/atlas/v2/groups/{group}/dbAccessHistory/clusters/Cluster0?authResult=yes"
            ),
            400,
            "INVALID_PARAMETER",
        ),
    ];
    for (uri, status, code) in cases {
        let (got, body) = get_json(&mut client, &uri).await;
        assert_eq!(
            (got, body["errorCode"].as_str().unwrap()),
            (status, code),
            "{uri}: {body}"
        );
        assert_eq!(body["error"], status);
        if status == 400 && code == "INVALID_PARAMETER" {
            assert!(
                body["badRequestDetail"]["fields"][0]["field"].is_string(),
                "{body}"
            );
        }
    }
}

#[tokio::test]
async fn versioned_media_type_is_required() {
    let fake = fake_with(100, |_| {}).await;
    let mut client = DigestClient::demo(&fake.base_url());
    let uri = path(&fake, "/dbAccessHistory/clusters/Cluster0?nLogs=1");
    for accept in [
        "application/json",
        "*/*",
        "application/vnd.atlas.2024-05-30+json",
        "application/vnd.atlas.2023-01-01+json, application/json",
    ] {
        let response = client.get(&uri, accept).await;
        assert_eq!(response.status(), 406, "{accept}");
    }
    let response = client.get(&uri, ACCESS).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "application/vnd.atlas.2023-01-01+json;charset=utf-8"
    );
}

#[tokio::test]
async fn envelope_and_pretty() {
    let fake = fake_with(500, |_| {}).await;
    let mut client = DigestClient::demo(&fake.base_url());
    let uri = path(&fake, "/dbAccessHistory/clusters/Cluster0?nLogs=2");
    let plain = client.get(&uri, ACCESS).await.text().await.unwrap();
    let wrapped: Value = client
        .get(&format!("{uri}&envelope=true"), ACCESS)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(wrapped["status"], 200);
    assert_eq!(
        wrapped["content"],
        serde_json::from_str::<Value>(&plain).unwrap()
    );
    let pretty = client
        .get(&format!("{uri}&pretty=true"), ACCESS)
        .await
        .text()
        .await
        .unwrap();
    assert!(pretty.contains("\n  \"accessLogs\""), "{pretty}");
    assert!(!plain.contains('\n'));
    assert_eq!(
        serde_json::from_str::<Value>(&pretty).unwrap(),
        serde_json::from_str::<Value>(&plain).unwrap()
    );
}

#[tokio::test]
async fn rate_limits_per_project_and_endpoint_set() {
    let fake = fake_with(100, |c| {
        c.rate_limit = RateLimit {
            capacity: 3,
            refill: 1,
            period: Duration::from_secs(60),
        }
    })
    .await;
    let mut client = DigestClient::demo(&fake.base_url());
    let uri = path(&fake, "/dbAccessHistory/clusters/Cluster0?nLogs=1");
    let mut remaining = Vec::new();
    for _ in 0..3 {
        let response = client.get(&uri, ACCESS).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["ratelimit-limit"], "3");
        remaining.push(
            response.headers()["ratelimit-remaining"]
                .to_str()
                .unwrap()
                .to_string(),
        );
    }
    assert_eq!(remaining, ["2", "1", "0"]);
    // The process variant shares the bucket.
    let response = client
        .get(&path(&fake, "/dbAccessHistory/processes/x?nLogs=1"), ACCESS)
        .await;
    assert_eq!(response.status(), 429);
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["errorCode"], "RATE_LIMITED_TOKEN_BUCKET");
    assert!(
        body["parameters"][0]
            .as_str()
            .unwrap()
            .contains("dbAccessHistory")
    );
    // The streams bucket is separate.
    let response = client
        .get(&path(&fake, "/streams/workspace0/auditLogs"), common::AUDIT)
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(fake.stats().rate_limited, 1);
}

#[tokio::test]
async fn faults_and_accounting() {
    let fake = fake_with(2_000, |_| {}).await;
    let mut client = DigestClient::demo(&fake.base_url());
    let uri = path(&fake, "/dbAccessHistory/clusters/Cluster0");
    assert_eq!(client.get(&uri, ACCESS).await.status(), 200);
    let before = fake.stats();
    assert_eq!(
        (before.access_cluster, before.unauthorized),
        (2, 1),
        "one challenge, one answered call"
    );

    fake.set_faults(Faults {
        fail_next: 2,
        fail_status: 503,
        fail_retry_after: Some(3),
        ..Faults::default()
    });
    for _ in 0..2 {
        let response = client.get(&uri, ACCESS).await;
        assert_eq!(response.status(), 503);
        assert_eq!(response.headers()["retry-after"], "3");
    }
    assert_eq!(
        client.get(&uri, ACCESS).await.status(),
        200,
        "only the next two fail"
    );
    assert_eq!(fake.stats().faults, 2);

    fake.set_faults(Faults {
        latency: Duration::from_millis(300),
        round_trip: Duration::from_millis(50),
        ..Faults::default()
    });
    let started = std::time::Instant::now();
    assert_eq!(client.get(&uri, ACCESS).await.status(), 200);
    assert!(
        started.elapsed() >= Duration::from_millis(350),
        "an answer takes the query's time and the round trip"
    );
    // A 401 runs no query: the round trip only.
    let started = std::time::Instant::now();
    let challenge = reqwest::Client::new()
        .get(format!("{}{uri}", fake.base_url()))
        .header("Accept", ACCESS)
        .send()
        .await
        .unwrap();
    let took = started.elapsed();
    assert_eq!(challenge.status(), 401);
    assert!(
        took >= Duration::from_millis(50) && took < Duration::from_millis(300),
        "a challenge took {took:?}"
    );

    fake.set_faults(Faults {
        close_after_bytes: Some(1_000),
        ..Faults::default()
    });
    let response = client.get(&uri, ACCESS).await;
    assert_eq!(response.status(), 200);
    assert!(
        response.bytes().await.is_err(),
        "the connection dies mid-body"
    );
}
