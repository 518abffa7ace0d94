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

fn cluster_page() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(
        br#"{"links":[],"results":[],"totalCount":0}"#.to_vec(),
        "application/vnd.atlas.2024-08-05+json;charset=utf-8",
    )
}

#[tokio::test]
async fn list_clusters_without_optional_parameters() {
    let (server, client) = mock_answering(cluster_page()).await;
    let page = client
        .list_clusters()
        .group_id(GROUP_ID)
        .send()
        .await
        .unwrap();
    assert_eq!(page.total_count, Some(0));
    insta::assert_snapshot!(render(&only_request(&server).await));
}

#[tokio::test]
async fn list_clusters_with_every_parameter() {
    let (server, client) = mock_answering(cluster_page()).await;
    client
        .list_clusters()
        .group_id(GROUP_ID)
        .items_per_page(500)
        .page_num(3)
        .include_count(false)
        .include_deleted_with_retained_backups(true)
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

#[tokio::test]
async fn api_key_answers_the_digest_challenge_then_answers_ahead() {
    use wiremock::matchers::{any, header_exists};
    let server = wiremock::MockServer::start().await;
    wiremock::Mock::given(header_exists("authorization"))
        .respond_with(empty_list())
        .with_priority(1)
        .mount(&server)
        .await;
    let challenge = "Digest realm=\"MMS Public API\", domain=\"\", nonce=\"c2VydmVyIG5vbmNl+/=\", algorithm=MD5, qop=\"auth\", stale=false";
    wiremock::Mock::given(any())
        .respond_with(ResponseTemplate::new(401).insert_header("WWW-Authenticate", challenge))
        .with_priority(2)
        .mount(&server)
        .await;
    let client = atlas_client::Client::builder()
        .base_url(server.uri())
        .api_key("pubkey01", "private-key")
        .build()
        .unwrap();
    for n_logs in [1, 2] {
        client
            .get_access_history_cluster()
            .group_id(GROUP_ID)
            .cluster_name("Cluster0")
            .n_logs(n_logs)
            .send()
            .await
            .unwrap();
    }
    let requests = server.received_requests().await.unwrap();
    let rendered: Vec<String> = requests.iter().map(render).collect();
    insta::assert_snapshot!(rendered.join("\n"));
}

#[tokio::test]
async fn service_account_gets_a_token_then_sends_it() {
    use wiremock::matchers::{method, path};
    let server = wiremock::MockServer::start().await;
    let token = serde_json::json!({ "access_token": "eyJ-token", "expires_in": 3600, "token_type": "Bearer" });
    wiremock::Mock::given(method("POST"))
        .and(path("/api/oauth/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token))
        .mount(&server)
        .await;
    wiremock::Mock::given(method("GET"))
        .respond_with(empty_list())
        .mount(&server)
        .await;
    let client = atlas_client::Client::builder()
        .base_url(server.uri())
        .service_account("mdb_sa_id_0123456789abcdef01234567", "mdb_sa_sk_secret")
        .build()
        .unwrap();
    for _ in 0..2 {
        client
            .get_access_history_process()
            .group_id(GROUP_ID)
            .hostname("h:27017")
            .send()
            .await
            .unwrap();
    }
    let requests = server.received_requests().await.unwrap();
    // Basic over the raw `id:secret`, not URL-encoded first.
    let basic = requests[0].headers["authorization"]
        .to_str()
        .unwrap()
        .strip_prefix("Basic ")
        .unwrap()
        .to_string();
    assert_eq!(
        basic,
        "bWRiX3NhX2lkXzAxMjM0NTY3ODlhYmNkZWYwMTIzNDU2NzptZGJfc2Ffc2tfc2VjcmV0"
    );
    let rendered: Vec<String> = requests.iter().map(render).collect();
    insta::assert_snapshot!(rendered.join("\n"));
}

/// Times given as `SystemTime` or `chrono::DateTime<Utc>` are sent in the unit of the
/// parameter: milliseconds for the access history, seconds for the audit logs.
#[tokio::test]
async fn times_are_sent_in_the_unit_of_each_parameter() {
    use chrono::{TimeZone, Utc};
    use std::time::{Duration, SystemTime};

    let start = SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
    let end = Utc.timestamp_millis_opt(1_700_086_400_456).unwrap();
    let (server, client) = mock_answering(empty_list()).await;
    client
        .get_access_history_cluster()
        .group_id(GROUP_ID)
        .cluster_name("Cluster0")
        .start(start)
        .end(end)
        .send()
        .await
        .unwrap();
    let (audit, audit_client) = mock_answering(gzip_answer()).await;
    audit_client
        .download_audit_logs()
        .group_id(GROUP_ID)
        .tenant_name("workspace0")
        .start_date(Utc.timestamp_millis_opt(1_700_000_000_999).unwrap())
        .end_date(SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_086_400))
        .send()
        .await
        .unwrap();
    let cluster = render(&only_request(&server).await);
    let audit = render(&only_request(&audit).await);
    insta::assert_snapshot!(format!("{}\n{}", first_line(&cluster), first_line(&audit)));
}

/// An unsuffixed integer is still taken, in the parameter's unit.
#[tokio::test]
async fn integer_literals_are_still_taken() {
    let (server, client) = mock_answering(empty_list()).await;
    client
        .get_access_history_cluster()
        .group_id(GROUP_ID)
        .cluster_name("Cluster0")
        .start(1_700_000_000_000)
        .end(1_700_086_400_000)
        .send()
        .await
        .unwrap();
    let request = render(&only_request(&server).await);
    assert!(
        first_line(&request).ends_with("?end=1700086400000&start=1700000000000"),
        "{request}"
    );
}

/// A time before 1970 is refused before anything is sent, naming the parameter.
#[tokio::test]
async fn a_time_before_the_epoch_is_refused() {
    use std::time::{Duration, SystemTime};

    let (server, client) = mock_answering(empty_list()).await;
    let Err(error) = client
        .download_audit_logs()
        .group_id(GROUP_ID)
        .tenant_name("workspace0")
        .start_date(SystemTime::UNIX_EPOCH - Duration::from_secs(1))
        .send()
        .await
    else {
        panic!("a time before 1970 was sent");
    };
    assert!(
        error.to_string().contains("parameter `startDate`"),
        "{error}"
    );
    assert!(server.received_requests().await.unwrap().is_empty());
}

fn first_line(rendered: &str) -> &str {
    rendered.lines().next().unwrap_or_default()
}
