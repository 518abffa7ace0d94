//! Paginated lists through the generated client: `list_clusters()` walked to its end
//! against fake-atlas with every page size, and walks that stop with an error, never a
//! silent duplicate or gap, when the pages do not add up.

use atlas_client::{ErrorKind, types};
use atlas_client_tests::{GROUP_ID, fake, service_client};
use fake_atlas::ClusterEntries;
use futures::StreamExt;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const CLUSTERS: &str = "application/vnd.atlas.2024-08-05+json;charset=utf-8";

/// A project of seven clusters: the standard three and four more.
async fn seven_clusters() -> fake_atlas::FakeAtlas {
    fake(|c| {
        c.data.entries = 100;
        c.data.cluster_entries = (1..=4)
            .map(|i| ClusterEntries {
                cluster: format!("extra-{i}"),
                entries: 0,
                same_ms_burst: 0,
            })
            .collect();
    })
    .await
}

#[tokio::test]
async fn every_page_size_gives_every_cluster_once_in_as_few_calls_as_the_count_allows() {
    let atlas = seven_clusters().await;
    let client = service_client(&atlas);
    let group = atlas.data().group_id.clone();
    let names: Vec<String> = atlas
        .data()
        .cluster_names()
        .into_iter()
        .map(String::from)
        .collect();
    assert_eq!(names.len(), 7);
    for size in [1_u32, 2, 3, 6, 7, 8, 500] {
        let before = atlas.stats().list_clusters;
        let clusters: Vec<types::Cluster> = client
            .list_clusters()
            .group_id(&group)
            .items_per_page(size)
            .all()
            .await
            .unwrap();
        let listed: Vec<String> = clusters.iter().filter_map(|c| c.name.clone()).collect();
        assert_eq!(listed, names, "pages of {size}");
        assert_eq!(
            atlas.stats().list_clusters - before,
            u64::from(7_u32.div_ceil(size)),
            "pages of {size}: one call per page, none past the count"
        );
    }
    // No page size given: the operation's default (100), one call.
    let before = atlas.stats().list_clusters;
    let all = client.list_clusters().group_id(&group).all().await.unwrap();
    assert_eq!(all.len(), 7);
    assert_eq!(atlas.stats().list_clusters - before, 1);

    // The typed fields; fields the spec leaves out are ignored.
    let first = &all[0];
    let data = atlas.data();
    assert_eq!(first.id.as_deref(), Some(data.clusters[0].id.as_str()));
    assert_eq!(first.group_id.as_deref(), Some(group.as_str()));
    assert_eq!(first.cluster_type.as_deref(), Some("REPLICASET"));
    assert_eq!(first.state_name.as_deref(), Some("IDLE"));
    assert_eq!(first.mongo_db_version.as_deref(), Some("8.0.4"));
    assert_eq!(
        first.create_date.map(|t| t.timestamp_millis() / 1000),
        Some(data.clusters[0].created_ms / 1000)
    );
    let srv = first
        .connection_strings
        .as_ref()
        .unwrap()
        .standard_srv
        .as_deref();
    assert!(srv.unwrap().starts_with("mongodb+srv://cluster0."));
}

#[tokio::test]
async fn the_stream_hands_out_items_as_pages_arrive() {
    let atlas = seven_clusters().await;
    let client = service_client(&atlas);
    let mut stream = client
        .list_clusters()
        .group_id(&atlas.data().group_id)
        .items_per_page(3)
        .page_num(5) // the walk starts at page 1 whatever the builder holds
        .include_count(false) // and asks for the count
        .stream();
    assert_eq!(stream.total_count(), None, "nothing asked yet");
    let first = stream.next().await.unwrap().unwrap();
    assert_eq!(first.name.as_deref(), Some("Cluster0"));
    assert_eq!((stream.total_count(), stream.pages()), (Some(7), 1));
    assert_eq!(atlas.stats().list_clusters, 1, "one page at a time");
    let rest: Vec<_> = stream.by_ref().collect().await;
    assert_eq!(rest.len(), 6);
    assert!(rest.iter().all(Result::is_ok));
    assert_eq!(stream.pages(), 3);
    assert_eq!(atlas.stats().list_clusters, 3);
}

#[tokio::test]
async fn a_bad_page_size_is_refused_before_anything_is_sent() {
    let atlas = seven_clusters().await;
    let client = service_client(&atlas);
    for size in [0, 501] {
        let error = client
            .list_clusters()
            .group_id(&atlas.data().group_id)
            .items_per_page(size)
            .all()
            .await
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidRequest, "{error}");
        assert!(error.to_string().contains("itemsPerPage"), "{error}");
    }
    assert_eq!(atlas.stats().requests, 0);
}

/// A server answering `pageNum=N` with `pages[N - 1]` (results, totalCount).
async fn pages(pages: Vec<(Vec<&str>, Option<i64>)>) -> (MockServer, atlas_client::Client) {
    let server = MockServer::start().await;
    for (i, (names, total)) in pages.into_iter().enumerate() {
        let results: Vec<_> = names
            .iter()
            .map(|n| serde_json::json!({ "name": n, "id": format!("{:0>24}", n.len()), "stateName": "IDLE" }))
            .collect();
        let mut body = serde_json::json!({ "links": [], "results": results });
        if let Some(total) = total {
            body["totalCount"] = total.into();
        }
        Mock::given(method("GET"))
            .and(path(format!("/api/atlas/v2/groups/{GROUP_ID}/clusters")))
            .and(query_param("pageNum", (i + 1).to_string()))
            .respond_with(
                ResponseTemplate::new(200).set_body_raw(body.to_string().into_bytes(), CLUSTERS),
            )
            .mount(&server)
            .await;
    }
    let client = atlas_client::Client::builder()
        .base_url(server.uri())
        .retry_policy(atlas_client::RetryPolicy::never())
        .build()
        .unwrap();
    (server, client)
}

async fn walk(client: &atlas_client::Client) -> Result<Vec<String>, atlas_client::AtlasError> {
    client
        .list_clusters()
        .group_id(GROUP_ID)
        .items_per_page(2)
        .all()
        .await
        .map(|all| all.into_iter().filter_map(|c| c.name).collect())
}

#[tokio::test]
async fn pages_that_do_not_add_up_are_an_error() {
    // Honest pages, and what went on the wire.
    let (server, client) = pages(vec![(vec!["a", "bb"], Some(3)), (vec!["ccc"], Some(3))]).await;
    assert_eq!(walk(&client).await.unwrap(), ["a", "bb", "ccc"]);
    let queries: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| r.url.query().unwrap_or_default().to_string())
        .collect();
    assert_eq!(
        queries,
        [
            "includeCount=true&itemsPerPage=2&pageNum=1",
            "includeCount=true&itemsPerPage=2&pageNum=2"
        ]
    );

    let cases = [
        // A cluster created during the walk: the count moves.
        (
            vec![(vec!["a", "bb"], Some(3)), (vec!["bb", "ccc"], Some(4))],
            "page 2 says the list holds 4 items, page 1 said 3 items",
        ),
        // A cluster deleted during the walk, the count kept: the pages overlap.
        (
            vec![(vec!["a", "bb"], Some(4)), (vec!["bb", "dddd"], Some(4))],
            "item 0 of page 2 repeats an item",
        ),
        // A count that promises more than the pages hold.
        (
            vec![(vec!["a", "bb"], Some(5)), (vec!["ccc"], Some(5))],
            "page 2 holds 1 item of a page size of 2, ending the list after 3 items, but totalCount is 5",
        ),
        // A count that promises fewer.
        (
            vec![(vec!["a", "bb"], Some(1))],
            "page 1 brings the items to 2, more than totalCount (1)",
        ),
        // More than asked for.
        (
            vec![(vec!["a", "bb", "ccc"], Some(3))],
            "page 1 holds 3 items, more than the 2 asked for",
        ),
    ];
    for (answers, message) in cases {
        let (_server, client) = pages(answers).await;
        let error = walk(&client).await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Incomplete, "{error}");
        assert!(
            error.to_string().starts_with(message),
            "{error}\nshould start with\n{message}"
        );
    }
}

#[tokio::test]
async fn an_error_answer_ends_the_walk_with_it() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(404).set_body_raw(
                br#"{"error":404,"errorCode":"GROUP_NOT_FOUND","detail":"No group.","reason":"Not Found","parameters":[]}"#
                    .to_vec(),
                "application/json",
            ),
        )
        .mount(&server)
        .await;
    let client = atlas_client::Client::builder()
        .base_url(server.uri())
        .retry_policy(atlas_client::RetryPolicy::never())
        .build()
        .unwrap();
    let error = walk(&client).await.unwrap_err();
    assert!(error.is_not_found(), "{error:?}");
    assert!(error.is_error_code("GROUP_NOT_FOUND"));
}

#[tokio::test]
async fn a_cluster_decodes_whatever_else_atlas_says_of_it() {
    let cluster = serde_json::json!({
        "advancedConfiguration": { "minimumEnabledTlsProtocol": "TLS1_2", "tlsCipherConfigMode": "DEFAULT" },
        "backupEnabled": true,
        "biConnector": { "enabled": false, "readPreference": "secondary" },
        "clusterType": "GEOSHARDED",
        "configServerType": "EMBEDDED",
        "connectionStrings": {
            "awsPrivateLinkSrv": {},
            "privateEndpoint": [],
            "standard": "mongodb://a.example.net:27017,b.example.net:27017/?ssl=true",
            "standardSrv": "mongodb+srv://geo.example.net"
        },
        "createDate": "2024-02-29T08:30:00Z",
        "diskWarmingMode": "FULLY_WARMED",
        "encryptionAtRestProvider": "NONE",
        "featureCompatibilityVersion": "8.0",
        "groupId": GROUP_ID,
        "id": "65e0400c2b1c7a5d8e9f0a1b",
        "labels": [],
        "links": [{ "href": "https://cloud.mongodb.com/api/atlas/v2/groups/x/clusters/geo", "rel": "self" }],
        "mongoDBMajorVersion": "8.0",
        "mongoDBVersion": "8.0.5",
        "name": "geo",
        "paused": false,
        "pitEnabled": true,
        "replicationSpecs": [{
            "id": "65e0400c2b1c7a5d8e9f0a1c",
            "regionConfigs": [{
                "electableSpecs": { "diskSizeGB": 10.5, "instanceSize": "M30", "nodeCount": 3 },
                "priority": 7,
                "providerName": "AWS",
                "regionName": "EU_WEST_1"
            }],
            "zoneName": "Zone 1"
        }],
        "stateName": "REPAIRING",
        "tags": [{ "key": "team", "value": "payments" }],
        "terminationProtectionEnabled": true,
        "versionReleaseSystem": "LTS"
    });
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(
                serde_json::json!({ "links": [], "results": [cluster], "totalCount": 1 })
                    .to_string()
                    .into_bytes(),
                CLUSTERS,
            ),
        )
        .mount(&server)
        .await;
    let client = atlas_client::Client::builder()
        .base_url(server.uri())
        .build()
        .unwrap();
    let page = client
        .list_clusters()
        .group_id(GROUP_ID)
        .send()
        .await
        .unwrap();
    assert_eq!(page.total_count, Some(1));
    let geo = &page.results[0];
    assert_eq!(geo.name.as_deref(), Some("geo"));
    assert_eq!(geo.cluster_type.as_deref(), Some("GEOSHARDED"));
    assert_eq!(geo.state_name.as_deref(), Some("REPAIRING"));
    assert_eq!(geo.mongo_db_major_version.as_deref(), Some("8.0"));
    assert_eq!(
        geo.create_date.map(|t| t.to_rfc3339()),
        Some("2024-02-29T08:30:00+00:00".to_string())
    );
    assert_eq!(geo.paused, Some(false));
    // The whole answer, as sent, for what the typed value leaves out.
    let raw = client
        .list_clusters()
        .group_id(GROUP_ID)
        .send_raw()
        .await
        .unwrap();
    let raw: serde_json::Value = serde_json::from_slice(&raw.into_inner()).unwrap();
    assert_eq!(
        raw["results"][0]["replicationSpecs"][0]["zoneName"],
        "Zone 1"
    );
}

/// An organisation of several projects: `listGroups` and `getOrgGroups` walked page by
/// page give every project once, each with its own clusters; an unknown organisation is
/// a 404, and a project the credentials lost is a 403 for that project only.
#[tokio::test]
async fn every_project_of_an_organisation_once_and_each_its_own_clusters() {
    use atlas_log_export::{Projects, list_clusters, list_projects};
    let atlas = fake(|c| {
        c.data.entries = 100;
        c.projects = 7;
    })
    .await;
    let client = service_client(&atlas);
    let expected: Vec<(String, String)> = atlas
        .projects()
        .iter()
        .map(|p| (p.group_id.clone(), p.name.clone()))
        .collect();
    assert_eq!(expected.len(), 7);
    let org = atlas.data().org_id.clone();
    for scope in [Projects::All, Projects::Organisation(org.clone())] {
        let listed = list_projects(&client, &scope).await.unwrap();
        let got: Vec<(String, String)> = listed
            .iter()
            .map(|p| (p.id.clone(), p.name.clone()))
            .collect();
        assert_eq!(got, expected, "{scope:?}");
        assert!(listed.iter().all(|p| p.org_id == org));
    }
    // Pages of two: four pages, each project once.
    let paged: Vec<String> = client
        .get_org_groups()
        .org_id(&org)
        .items_per_page(2)
        .stream()
        .map(|p| p.unwrap().name.to_string())
        .collect()
        .await;
    assert_eq!(
        paged,
        expected.iter().map(|(_, n)| n.clone()).collect::<Vec<_>>()
    );
    // Each project's clusters are its own (hosts of its own domain).
    let first = list_clusters(&client, &expected[0].0).await.unwrap();
    let last = list_clusters(&client, &expected[6].0).await.unwrap();
    assert_eq!(first, atlas.projects()[0].cluster_names());
    assert_eq!(last, atlas.projects()[6].cluster_names());
    assert_ne!(atlas.projects()[0].domain, atlas.projects()[6].domain);

    let unknown = list_projects(
        &client,
        &Projects::Organisation("0123456789abcdef01234567".into()),
    )
    .await
    .unwrap_err();
    assert!(unknown.is_not_found(), "{unknown}");
    assert_eq!(unknown.error_code(), Some("ORG_NOT_FOUND"));

    atlas.set_faults(fake_atlas::Faults {
        forbidden_groups: vec![expected[3].0.clone()],
        ..fake_atlas::Faults::default()
    });
    let lost = list_clusters(&client, &expected[3].0).await.unwrap_err();
    assert!(lost.is_forbidden(), "{lost}");
    assert_eq!(
        list_clusters(&client, &expected[4].0).await.unwrap().len(),
        3
    );
}
