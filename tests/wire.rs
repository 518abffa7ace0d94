//! What each operation puts on the wire: method, path, query string and every header,
//! recorded by a loopback mock and pinned by snapshots.

use atlas_client_tests::{GROUP_ID, atlas_json, mock_answering, only_request, render};
use wiremock::ResponseTemplate;

fn empty_list() -> ResponseTemplate {
    atlas_json(200, serde_json::json!({ "accessLogs": [] }))
}

#[tokio::test]
async fn cluster_without_optional_parameters() {
    let (server, client) = mock_answering(empty_list()).await;
    client
        .get_access_history_cluster()
        .group_id(GROUP_ID)
        .cluster_name("Cluster0")
        .send()
        .await
        .unwrap();
    insta::assert_snapshot!(render(&only_request(&server).await));
}

#[tokio::test]
async fn cluster_with_every_parameter() {
    let (server, client) = mock_answering(empty_list()).await;
    client
        .get_access_history_cluster()
        .group_id(GROUP_ID)
        .cluster_name("prod-analytics-2")
        .auth_result(true)
        .start(1_700_000_000_000_i64)
        .end(1_700_086_400_000_i64)
        .ip_address("203.0.113.7")
        .n_logs(20_000)
        .envelope(false)
        .pretty(true)
        .send()
        .await
        .unwrap();
    insta::assert_snapshot!(render(&only_request(&server).await));
}

#[tokio::test]
async fn process_with_port_in_hostname_and_failed_attempts_only() {
    let (server, client) = mock_answering(empty_list()).await;
    client
        .get_access_history_process()
        .group_id(GROUP_ID)
        .hostname("cluster0-shard-00-00.abcde.mongodb.net:27017")
        .auth_result(false)
        .ip_address("::1")
        .n_logs(0)
        .send()
        .await
        .unwrap();
    insta::assert_snapshot!(render(&only_request(&server).await));
}

#[tokio::test]
async fn process_without_optional_parameters() {
    let (server, client) = mock_answering(empty_list()).await;
    client
        .get_access_history_process()
        .group_id(GROUP_ID)
        .hostname("10.0.0.12")
        .send()
        .await
        .unwrap();
    insta::assert_snapshot!(render(&only_request(&server).await));
}

#[tokio::test]
async fn audit_logs_with_every_parameter() {
    let (server, client) = mock_answering(gzip_answer()).await;
    client
        .download_audit_logs()
        .group_id(GROUP_ID)
        .tenant_name("workspace-eu")
        .start_date(1_700_000_000_i64)
        .end_date(1_700_086_400_i64)
        .sp_name("orders-enricher")
        .envelope(false)
        .send()
        .await
        .unwrap();
    insta::assert_snapshot!(render(&only_request(&server).await));
}

#[tokio::test]
async fn audit_logs_without_optional_parameters() {
    let (server, client) = mock_answering(gzip_answer()).await;
    client
        .download_audit_logs()
        .group_id(GROUP_ID)
        .tenant_name("workspace0")
        .send()
        .await
        .unwrap();
    insta::assert_snapshot!(render(&only_request(&server).await));
}

#[tokio::test]
#[allow(deprecated)]
async fn legacy_v1_with_every_parameter() {
    let answer = ResponseTemplate::new(200)
        .set_body_raw(br#"{"accessLogs":[]}"#.to_vec(), "application/json");
    let (server, client) = mock_answering(answer).await;
    client
        .list_access_logs_by_cluster_name()
        .group_id(GROUP_ID)
        .cluster_name("Cluster0")
        .auth_result(false)
        .start(1_700_000_000_000_i64)
        .end(1_700_086_400_000_i64)
        .ip_address("198.51.100.23")
        .n_logs(100)
        .envelope(true)
        .pretty(false)
        .send()
        .await
        .unwrap();
    insta::assert_snapshot!(render(&only_request(&server).await));
}

#[tokio::test]
async fn base_url_with_path_prefix_and_trailing_slash() {
    let server = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::any())
        .respond_with(empty_list())
        .mount(&server)
        .await;
    let client = atlas_client::Client::builder()
        .base_url(format!("{}/proxy/atlas/", server.uri()))
        .build()
        .unwrap();
    client
        .get_access_history_cluster()
        .group_id(GROUP_ID)
        .cluster_name("Cluster0")
        .send()
        .await
        .unwrap();
    let request = only_request(&server).await;
    assert_eq!(
        request.url.path(),
        format!("/proxy/atlas/api/atlas/v2/groups/{GROUP_ID}/dbAccessHistory/clusters/Cluster0")
    );
}

fn gzip_answer() -> ResponseTemplate {
    // The smallest valid gzip file: what Atlas sends when there is nothing to report.
    const EMPTY_GZIP: [u8; 20] = [
        0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ];
    ResponseTemplate::new(200)
        .set_body_raw(EMPTY_GZIP.to_vec(), "application/vnd.atlas.2023-02-01+gzip")
}
