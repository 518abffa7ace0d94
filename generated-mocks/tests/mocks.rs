//! The mocks against the real client: typed pages, the versioned media type both ways,
//! and path parameters matched literally.

use atlas_client::types::{ApiError, MongoDbAccessLogs, MongoDbAccessLogsList};
use atlas_client_mocks::{MockServer, MockServerExt};

const GROUP: &str = "32b6e34b3d91647abb20e7b8";
const HOST: &str = "cluster0-shard-00-00.abcde.mongodb.net:27017";
const MEDIA_TYPE: &str = "application/vnd.atlas.2023-01-01+json";

fn page(username: &str) -> MongoDbAccessLogsList {
    MongoDbAccessLogsList {
        access_logs: vec![MongoDbAccessLogs {
            username: Some(username.to_string()),
            hostname: Some(HOST.to_string()),
            auth_result: Some(true),
            ip_address: Some("203.0.113.7".to_string()),
            timestamp: Some("Wed Apr 26 02:38:56 GMT 2023".to_string()),
            ..Default::default()
        }],
    }
}

fn client(server: &MockServer) -> atlas_client::Client {
    atlas_client::Client::builder()
        .base_url(server.base_url())
        .build()
        .unwrap()
}

#[tokio::test]
async fn cluster_history_is_a_typed_page() {
    let server = MockServer::start_async().await;
    let mock = server.get_access_history_cluster(|when, then| {
        when.group_id(GROUP).cluster_name("Cluster0").n_logs(500);
        then.ok(&page("alice"));
    });

    let answer = client(&server)
        .get_access_history_cluster()
        .group_id(GROUP)
        .cluster_name("Cluster0")
        .n_logs(500)
        .send()
        .await
        .unwrap();

    assert_eq!(answer.headers()["content-type"], MEDIA_TYPE);
    assert_eq!(answer.into_inner(), page("alice"));
    mock.assert_async().await;
}

#[tokio::test]
async fn a_hostname_matches_literally() {
    let server = MockServer::start_async().await;
    let mock = server.get_access_history_process(|when, then| {
        when.group_id(GROUP).hostname(HOST);
        then.ok(&page("bob"));
    });
    let client = client(&server);

    // Any character in place of a dot would match an unescaped `.`.
    let lookalike = HOST.replace('.', "X");
    let missed = client
        .get_access_history_process()
        .group_id(GROUP)
        .hostname(lookalike.as_str())
        .send()
        .await;
    // Sent, and answered by the server's no-match 404.
    let status = missed.as_ref().err().and_then(|e| e.status());
    assert_eq!(status.map(|s| s.as_u16()), Some(404), "{missed:?}");
    mock.assert_calls_async(0).await;

    let answer = client
        .get_access_history_process()
        .group_id(GROUP)
        .hostname(HOST)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.into_inner(), page("bob"));
    mock.assert_calls_async(1).await;
}

#[tokio::test]
async fn a_mock_wants_the_versioned_accept_and_answers_with_it() {
    let server = MockServer::start_async().await;
    let mock = server.get_access_history_cluster(|when, then| {
        when.group_id(GROUP).cluster_name("Cluster0");
        then.ok(&page("carol"));
    });
    let url = server.url(format!(
        "/api/atlas/v2/groups/{GROUP}/dbAccessHistory/clusters/Cluster0"
    ));
    let http = reqwest::Client::new();

    let plain = http
        .get(&url)
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(plain.status(), 404);
    mock.assert_calls_async(0).await;

    let versioned = http
        .get(&url)
        .header("accept", MEDIA_TYPE)
        .send()
        .await
        .unwrap();
    assert_eq!(versioned.status(), 200);
    assert_eq!(versioned.headers()["content-type"], MEDIA_TYPE);
    mock.assert_calls_async(1).await;
}

#[tokio::test]
async fn an_error_answer_is_typed_too() {
    let server = MockServer::start_async().await;
    server.get_access_history_cluster(|when, then| {
        when.cluster_name("Nope");
        then.not_found(
            &ApiError::new(404, "CLUSTER_NOT_FOUND")
                .with_detail("No cluster named Nope exists in group.")
                .with_reason("Not Found"),
        );
    });

    let error = client(&server)
        .get_access_history_cluster()
        .group_id(GROUP)
        .cluster_name("Nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(error.status().map(|s| s.as_u16()), Some(404), "{error:?}");
    let atlas_client::Error::ErrorResponse(answer) = error else {
        panic!("not the declared 404: {error:?}")
    };
    assert_eq!(answer.error_code, "CLUSTER_NOT_FOUND");
    assert_eq!(
        answer.detail.as_deref(),
        Some("No cluster named Nope exists in group.")
    );
}
