//! `listClusters` as Atlas answers it (every cluster, paged by `pageNum` and
//! `itemsPerPage`, `totalCount` unless `includeCount=false`), the demo's data, and the
//! binary's present: the real one unless `--now` pins it.

mod common;

use std::process::Command;

use common::{DigestClient, fake_with, path};
use fake_atlas::data::{DAY_MS, DEFAULT_NOW_MS, HOUR_MS};
use fake_atlas::{ClusterEntries, DataConfig, DataSet};
use serde_json::Value;

const CLUSTERS: &str = "application/vnd.atlas.2024-08-05+json";

/// Four clusters beside the standard three, without entries of their own.
fn seven_clusters() -> Vec<ClusterEntries> {
    (1..=4)
        .map(|i| ClusterEntries {
            cluster: format!("extra-{i}"),
            entries: 0,
            same_ms_burst: 0,
        })
        .collect()
}

#[tokio::test]
async fn every_cluster_page_by_page() {
    let fake = fake_with(300, |c| c.data.cluster_entries = seven_clusters()).await;
    let names = fake.data().cluster_names();
    assert_eq!(
        names[..4],
        ["Cluster0", "analytics-prod", "orders-eu-1", "extra-1"]
    );
    assert_eq!(names.len(), 7);
    let mut client = DigestClient::demo(&fake.base_url());

    let mut listed = Vec::new();
    for page in 1..=4 {
        let uri = path(&fake, &format!("/clusters?itemsPerPage=3&pageNum={page}"));
        let response = client.get(&uri, CLUSTERS).await;
        assert_eq!(response.status(), 200, "{uri}");
        assert_eq!(
            response.headers()["content-type"],
            "application/vnd.atlas.2024-08-05+json;charset=utf-8"
        );
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["totalCount"], 7, "{body}");
        let results = body["results"].as_array().unwrap();
        assert_eq!(results.len(), [3, 3, 1, 0][page - 1], "page {page}");
        let rels: Vec<&str> = body["links"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["rel"].as_str().unwrap())
            .collect();
        let expected_rels: &[&str] = match page {
            1 => &["self", "next"],
            2 => &["self", "previous", "next"],
            _ => &["self", "previous"],
        };
        assert_eq!(rels, expected_rels, "page {page}");
        listed.extend(
            results
                .iter()
                .map(|c| c["name"].as_str().unwrap().to_string()),
        );
    }
    assert_eq!(listed, names);

    // Atlas's defaults: page 1 of 100, counted.
    let body: Value = client
        .get(&path(&fake, "/clusters"), CLUSTERS)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["results"].as_array().unwrap().len(), 7);
    assert_eq!(body["totalCount"], 7);
    let cluster = &body["results"][0];
    let data = fake.data();
    assert_eq!(cluster["id"], data.clusters[0].id.as_str());
    assert_eq!(cluster["groupId"], data.group_id.as_str());
    assert_eq!(cluster["clusterType"], "REPLICASET");
    assert_eq!(cluster["stateName"], "IDLE");
    assert_eq!(cluster["mongoDBVersion"], "8.0.4");
    assert_eq!(cluster["mongoDBMajorVersion"], "8.0");
    let srv = cluster["connectionStrings"]["standardSrv"]
        .as_str()
        .unwrap();
    assert!(srv.starts_with("mongodb+srv://cluster0."), "{srv}");
    let standard = cluster["connectionStrings"]["standard"].as_str().unwrap();
    for host in &data.clusters[0].hosts {
        assert!(standard.contains(host.as_str()), "{standard} names {host}");
    }
    assert_eq!(body["results"][1]["clusterType"], "SHARDED");

    // Not counted when told so.
    let body: Value = client
        .get(
            &path(&fake, "/clusters?includeCount=false&itemsPerPage=2"),
            CLUSTERS,
        )
        .await
        .json()
        .await
        .unwrap();
    assert!(body.get("totalCount").is_none(), "{body}");
    assert_eq!(body["results"].as_array().unwrap().len(), 2);

    // Each page is one call of its own operation; a challenge counts as one too.
    let stats = fake.stats();
    assert_eq!(stats.list_clusters, 7);
    assert_eq!(stats.access_cluster, 0);
}

#[tokio::test]
async fn list_clusters_checks_like_atlas() {
    let fake = fake_with(100, |_| {}).await;
    let mut client = DigestClient::demo(&fake.base_url());
    for (query, field) in [
        ("itemsPerPage=0", "itemsPerPage"),
        ("itemsPerPage=501", "itemsPerPage"),
        ("itemsPerPage=ten", "itemsPerPage"),
        ("pageNum=0", "pageNum"),
        ("includeCount=maybe", "includeCount"),
    ] {
        let response = client
            .get(&path(&fake, &format!("/clusters?{query}")), CLUSTERS)
            .await;
        assert_eq!(response.status(), 400, "{query}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["errorCode"], "INVALID_PARAMETER", "{query}");
        assert_eq!(body["badRequestDetail"]["fields"][0]["field"], field);
    }
    for accept in [
        "application/json",
        "application/vnd.atlas.2023-01-01+json",
        "*/*",
    ] {
        let response = client.get(&path(&fake, "/clusters"), accept).await;
        assert_eq!(response.status(), 406, "{accept}");
    }
    let response = client
        .get(
            "/api/atlas/v2/groups/0123456789abcdef01234567/clusters",
            CLUSTERS,
        )
        .await;
    assert_eq!(response.status(), 404);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["errorCode"], "GROUP_NOT_FOUND");
    let anonymous = reqwest::Client::new()
        .get(format!("{}{}", fake.base_url(), path(&fake, "/clusters")))
        .header("Accept", CLUSTERS)
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    // A service-account token works as well.
    let token: Value = reqwest::Client::new()
        .post(format!("{}/api/oauth/token", fake.base_url()))
        .basic_auth(
            fake_atlas::DEMO_CLIENT_ID,
            Some(fake_atlas::DEMO_CLIENT_SECRET),
        )
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let response = reqwest::Client::new()
        .get(format!("{}{}", fake.base_url(), path(&fake, "/clusters")))
        .header("Accept", CLUSTERS)
        .bearer_auth(token["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    // Its own rate-limit bucket.
    assert!(response.headers().contains_key("ratelimit-remaining"));
}

#[test]
fn the_demo_has_one_cluster_past_the_cap_and_two_small_ones() {
    let now = 1_800_000_000_000;
    let data = DataSet::generate(&DataConfig::demo(now));
    assert_eq!(
        data.cluster_names(),
        ["Cluster0", "analytics-prod", "orders-eu-1"]
    );
    assert_eq!(data.tenant_names(), ["workspace0", "workspace-eu"]);
    let big = data.entries_of("Cluster0");
    assert!((60_000..63_000).contains(&big), "{big}");
    for small in ["analytics-prod", "orders-eu-1"] {
        let n = data.entries_of(small);
        assert!((500..2_000).contains(&n), "{small}: {n}");
    }
    assert_eq!(
        data.entries.len(),
        data.cluster_names()
            .iter()
            .map(|c| data.entries_of(c))
            .sum::<usize>()
    );
    assert!(
        data.entries
            .iter()
            .all(|e| e.ts_ms < now && e.ts_ms >= now - 7 * DAY_MS),
        "the seven days before the present"
    );
    assert!(
        data.entries.windows(2).all(|w| w[0].ts_ms >= w[1].ts_ms),
        "newest first"
    );
    let hosts = data.cluster_hosts("Cluster0");
    let mut per_ms = std::collections::HashMap::<i64, usize>::new();
    let mut per_hour = std::collections::HashMap::<i64, usize>::new();
    for e in data.entries.iter().filter(|e| hosts.contains(&e.host)) {
        *per_ms.entry(e.ts_ms).or_default() += 1;
        *per_hour.entry(e.ts_ms / HOUR_MS).or_default() += 1;
    }
    let densest = per_ms.into_values().max().unwrap();
    assert!(
        (3_000..20_000).contains(&densest),
        "a same-millisecond burst one call can still return: {densest}"
    );
    let busiest = per_hour.into_values().max().unwrap();
    assert!(busiest > 20_000, "an hour past the cap: {busiest}");
    // The same present, the same data.
    let again = DataSet::generate(&DataConfig::demo(now));
    let (mut a, mut b) = (Vec::new(), Vec::new());
    data.write_ndjson(&mut a).unwrap();
    again.write_ndjson(&mut b).unwrap();
    assert!(a == b);
}

#[test]
fn cluster_entries_land_on_their_cluster_only() {
    let data = DataSet::generate(&DataConfig {
        entries: 900,
        cluster_entries: vec![
            ClusterEntries {
                cluster: "orders-eu-1".into(),
                entries: 2_000,
                same_ms_burst: 50,
            },
            ClusterEntries {
                cluster: "reporting".into(),
                entries: 400,
                same_ms_burst: 0,
            },
        ],
        ..DataConfig::default()
    });
    assert_eq!(data.entries.len(), 3_300);
    assert_eq!(data.cluster_names().len(), 4);
    assert_eq!(data.cluster("reporting").unwrap().hosts.len(), 3);
    let orders = data.entries_of("orders-eu-1");
    assert!(orders >= 2_000, "{orders}");
    assert!(data.entries_of("reporting") >= 400);
    let ids: std::collections::BTreeSet<&str> =
        data.clusters.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids.len(), 4, "every cluster has an id of its own");

    // Cluster details leave the entries of a data set as they were.
    let plain = DataConfig {
        entries: 900,
        ..DataConfig::default()
    };
    let (mut a, mut b) = (Vec::new(), Vec::new());
    DataSet::generate(&plain).write_ndjson(&mut a).unwrap();
    let with_one_more = DataSet::generate(&DataConfig {
        cluster_entries: vec![ClusterEntries {
            cluster: "Cluster0".into(),
            entries: 0,
            same_ms_burst: 0,
        }],
        ..plain
    });
    with_one_more.write_ndjson(&mut b).unwrap();
    assert!(a == b);
}

fn fake_atlas(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_fake-atlas"))
        .args(args)
        .output()
        .unwrap()
}

fn lines(output: &[u8]) -> Vec<Value> {
    output
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect()
}

#[test]
fn the_binary_serves_the_present_unless_now_pins_one() {
    let before = chrono::Utc::now().timestamp_millis();
    let output = fake_atlas(&["dump", "--entries", "2000"]);
    let after = chrono::Utc::now().timestamp_millis();
    assert!(output.status.success());
    let newest = lines(&output.stdout)[0]["logLine"]
        .as_str()
        .unwrap()
        .to_string();
    let log: Value = serde_json::from_str(&newest).unwrap();
    let newest_ms = chrono::DateTime::parse_from_rfc3339(log["t"]["$date"].as_str().unwrap())
        .unwrap()
        .timestamp_millis();
    assert!(
        newest_ms < after && newest_ms > before - 6 * HOUR_MS,
        "the newest of 2,000 entries over a week is recent: {newest_ms} vs {before}"
    );

    for now in ["1793534400000", "2026-11-01T12:00:00Z"] {
        let output = fake_atlas(&["dump", "--entries", "2000", "--now", now]);
        let mut expected = Vec::new();
        DataSet::generate(&DataConfig {
            entries: 2_000,
            now_ms: DEFAULT_NOW_MS,
            ..DataConfig::default()
        })
        .write_ndjson(&mut expected)
        .unwrap();
        assert!(output.stdout == expected, "--now {now}");
    }
    let refused = fake_atlas(&["dump", "--now", "yesterday"]);
    assert_eq!(refused.status.code(), Some(2));
}

#[test]
fn dump_covers_every_cluster_and_one_on_demand() {
    let now = "1800000000000";
    let data = DataSet::generate(&DataConfig::demo(1_800_000_000_000));
    let all = fake_atlas(&["dump", "--demo", "--now", now]);
    assert!(all.status.success());
    let mut expected = Vec::new();
    data.write_ndjson(&mut expected).unwrap();
    assert!(all.stdout == expected, "--demo dumps the demo's data");
    for cluster in data.cluster_names() {
        let one = fake_atlas(&["dump", "--demo", "--now", now, "--cluster", cluster]);
        assert!(one.status.success());
        let mut expected = Vec::new();
        data.write_ndjson_of(Some(cluster), &mut expected).unwrap();
        assert!(one.stdout == expected, "{cluster}");
        let got = lines(&one.stdout);
        assert_eq!(got.len(), data.entries_of(cluster), "{cluster}");
        let prefix = format!("{}-shard-", cluster.to_ascii_lowercase());
        assert!(
            got.iter()
                .all(|e| e["hostname"].as_str().unwrap().starts_with(&prefix)),
            "{cluster}"
        );
    }
    let unknown = fake_atlas(&["dump", "--cluster", "nope"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("Cluster0, analytics-prod"));
    let conflicting = fake_atlas(&["dump", "--demo", "--entries", "5"]);
    assert_eq!(conflicting.status.code(), Some(2));
}
