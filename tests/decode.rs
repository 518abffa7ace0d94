//! How answers decode: realistic successes for each operation, every documented error
//! status, and the cases that must fail clearly rather than silently.

use atlas_client::{AtlasError, Error, ErrorKind, types::ApiError};
use atlas_client_tests::{GROUP_ID, api_error, atlas_json, mock_answering};
use futures::TryStreamExt;
use wiremock::ResponseTemplate;

/// Two entries as Atlas returns them: a success with `failureReason: null` and a failure.
fn realistic_page() -> serde_json::Value {
    serde_json::json!({
        "accessLogs": [
            {
                "authResult": false,
                "authSource": "admin",
                "failureReason": "UserNotFound: Could not find user \"reporting\" for db \"admin\"",
                "groupId": GROUP_ID,
                "hostname": "cluster0-shard-00-01.abcde.mongodb.net:27017",
                "ipAddress": "203.0.113.7",
                "logLine": "{\"t\":{\"$date\":\"2023-04-26T02:38:57.412+00:00\"},\"s\":\"I\",\"c\":\"ACCESS\",\"id\":20249,\"ctx\":\"conn1842\",\"msg\":\"Authentication failed\",\"attr\":{\"mechanism\":\"SCRAM-SHA-256\",\"speculative\":true,\"principalName\":\"reporting\",\"authenticationDatabase\":\"admin\",\"remote\":\"203.0.113.7:53122\",\"extraInfo\":{},\"error\":\"UserNotFound: Could not find user \\\"reporting\\\" for db \\\"admin\\\"\"}}",
                "timestamp": "Wed Apr 26 02:38:57 GMT 2023",
                "username": "reporting"
            },
            {
                "authResult": true,
                "authSource": "$external",
                "failureReason": null,
                "groupId": GROUP_ID,
                "hostname": "cluster0-shard-00-00.abcde.mongodb.net:27017",
                "ipAddress": "2001:db8:0:0:0:0:0:17",
                "logLine": "{\"t\":{\"$date\":\"2023-04-26T02:38:56.123+00:00\"},\"s\":\"I\",\"c\":\"ACCESS\",\"id\":20250,\"ctx\":\"conn1841\",\"msg\":\"Authentication succeeded\",\"attr\":{\"mechanism\":\"MONGODB-X509\",\"speculative\":false,\"principalName\":\"CN=etl\",\"authenticationDatabase\":\"$external\",\"remote\":\"[2001:db8::17]:40112\",\"extraInfo\":{}}}",
                "timestamp": "Wed Apr 26 02:38:56 GMT 2023",
                "username": "CN=etl"
            }
        ]
    })
}

#[tokio::test]
async fn cluster_page_decodes_with_charset_parameter_and_null_failure_reason() {
    let (_server, client) = mock_answering(atlas_json(200, realistic_page())).await;
    let page = client
        .get_access_history_cluster()
        .group_id(GROUP_ID)
        .cluster_name("Cluster0")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    insta::assert_debug_snapshot!(page.into_inner());
}

#[tokio::test]
async fn process_page_decodes() {
    let (_server, client) = mock_answering(atlas_json(200, realistic_page())).await;
    let page = client
        .get_access_history_process()
        .group_id(GROUP_ID)
        .hostname("cluster0-shard-00-00.abcde.mongodb.net:27017")
        .send()
        .await
        .unwrap();
    let entries = &page.access_logs;
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[1].failure_reason, None);
    assert_eq!(entries[0].username.as_deref(), Some("reporting"));
}

#[tokio::test]
async fn empty_page_is_an_empty_list() {
    let (_server, client) =
        mock_answering(atlas_json(200, serde_json::json!({ "accessLogs": [] }))).await;
    let page = client
        .get_access_history_cluster()
        .group_id(GROUP_ID)
        .cluster_name("Cluster0")
        .send()
        .await
        .unwrap();
    assert!(page.access_logs.is_empty());
}

#[tokio::test]
async fn envelope_yields_the_same_typed_value() {
    let wrapped = serde_json::json!({ "status": 200, "content": realistic_page() });
    let (_server, client) = mock_answering(atlas_json(200, wrapped)).await;
    let page = client
        .get_access_history_cluster()
        .group_id(GROUP_ID)
        .cluster_name("Cluster0")
        .envelope(true)
        .send()
        .await
        .unwrap();
    let (_server, plain) = mock_answering(atlas_json(200, realistic_page())).await;
    let expected = plain
        .get_access_history_cluster()
        .group_id(GROUP_ID)
        .cluster_name("Cluster0")
        .send()
        .await
        .unwrap();
    assert_eq!(page.into_inner(), expected.into_inner());
}

#[tokio::test]
async fn a_body_without_access_logs_fails_instead_of_reading_as_empty() {
    let (_server, client) =
        mock_answering(atlas_json(200, serde_json::json!({ "status": 200 }))).await;
    let err = client
        .get_access_history_cluster()
        .group_id(GROUP_ID)
        .cluster_name("Cluster0")
        .send()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Undecodable(_)), "{err:?}");
    let err = AtlasError::from(err);
    assert_eq!(err.kind(), ErrorKind::Decode);
    assert_eq!(err.status().map(|s| s.as_u16()), Some(200));
    assert!(
        err.to_string().contains("missing field `accessLogs`"),
        "{err}"
    );
    assert_eq!(
        err.body(),
        Some(&br#"{"status":200}"#[..]),
        "the body is kept"
    );
}

#[tokio::test]
#[allow(deprecated)]
async fn legacy_v1_answer_with_old_timestamp_format_decodes() {
    let body = serde_json::json!({
        "accessLogs": [{
            "authResult": true,
            "authSource": "admin",
            "clusterName": "Cluster0",
            "failureReason": null,
            "groupId": GROUP_ID,
            "hostname": "cluster0-shard-00-02.abcde.mongodb.net",
            "ipAddress": "198.51.100.23",
            "logLine": "2019-07-25T09:14:42.137-0400 I  ACCESS   [conn41] Successfully authenticated as principal app on admin from client 198.51.100.23:50642",
            "timestamp": "Sun Jul 25 9:14:42 EDT 2019",
            "username": "app"
        }]
    });
    let answer =
        ResponseTemplate::new(200).set_body_raw(body.to_string().into_bytes(), "application/json");
    let (_server, client) = mock_answering(answer).await;
    let page = client
        .list_access_logs_by_cluster_name()
        .group_id(GROUP_ID)
        .cluster_name("Cluster0")
        .send()
        .await
        .unwrap();
    insta::assert_debug_snapshot!(page.into_inner());
}

#[tokio::test]
async fn audit_log_arrives_as_a_stream_of_chunks_with_its_filename() {
    // Incompressible bytes, so the body spans many reads.
    let file: Vec<u8> = (0..3_000_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let answer = ResponseTemplate::new(200)
        .insert_header(
            "Content-Disposition",
            "attachment; filename=\"workspace0_1700000000_1700086400_audit.log.gz\"",
        )
        .set_body_raw(file.clone(), "application/vnd.atlas.2023-02-01+gzip");
    let (_server, client) = mock_answering(answer).await;
    let response = client
        .download_audit_logs()
        .group_id(GROUP_ID)
        .tenant_name("workspace0")
        .send()
        .await
        .unwrap();
    let disposition = response.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(disposition.contains("workspace0_1700000000_1700086400_audit.log.gz"));
    let mut stream = response.into_inner();
    let (mut chunks, mut received) = (0, Vec::new());
    while let Some(chunk) = stream.try_next().await.unwrap() {
        chunks += 1;
        received.extend_from_slice(&chunk);
    }
    assert!(
        chunks > 1,
        "a 3 MB body arrives in more than one chunk, got {chunks}"
    );
    assert_eq!(received, file);
}

/// Each documented error status of each operation decodes into the typed `ApiError`.
#[tokio::test]
async fn every_declared_error_status_decodes_into_api_error() {
    let cases: &[(u16, &str, &str)] = &[
        (400, "INVALID_PARAMETER", "Invalid parameter nLogs."),
        (
            401,
            "NOT_ORG_GROUP_CREATOR",
            "Current user is not authorized to perform this action.",
        ),
        (
            403,
            "IP_ADDRESS_NOT_ON_ACCESS_LIST",
            "IP address 198.51.100.9 is not allowed to access this resource.",
        ),
        (
            404,
            "CLUSTER_NOT_FOUND",
            "No cluster named Cluster9 exists in group 32b6e34b3d91647abb20e7b8.",
        ),
        (
            409,
            "STREAM_TENANT_HAS_STREAM_PROCESSORS",
            "The workspace still has running stream processors.",
        ),
        (
            429,
            "RATE_LIMITED_TOKEN_BUCKET",
            "Resource /api/atlas/v2/groups is limited.",
        ),
        (500, "UNEXPECTED_ERROR", "Unexpected error."),
    ];
    let mut decoded = Vec::new();
    for &(status, code, detail) in cases {
        let (_server, client) = mock_answering(api_error(status, code, detail)).await;
        let cluster = client
            .get_access_history_cluster()
            .group_id(GROUP_ID)
            .cluster_name("Cluster9")
            .send()
            .await;
        let process = client
            .get_access_history_process()
            .group_id(GROUP_ID)
            .hostname("h:27017")
            .send()
            .await;
        let audit = client
            .download_audit_logs()
            .group_id(GROUP_ID)
            .tenant_name("w")
            .send()
            .await;
        #[allow(deprecated)]
        let legacy = client
            .list_access_logs_by_cluster_name()
            .group_id(GROUP_ID)
            .cluster_name("Cluster9")
            .send()
            .await;
        let results = [
            (
                "getAccessHistoryCluster",
                api_error_of(cluster.map(drop).unwrap_err()),
            ),
            (
                "getAccessHistoryProcess",
                api_error_of(process.map(drop).unwrap_err()),
            ),
            (
                "downloadAuditLogs",
                api_error_of(audit.map(drop).unwrap_err()),
            ),
            (
                "listAccessLogsByClusterName",
                api_error_of(legacy.map(drop).unwrap_err()),
            ),
        ];
        for (operation, outcome) in results {
            // Atlas documents no 400 for the hostname variant and 409 only for the download.
            let declared = match (operation, status) {
                ("getAccessHistoryProcess", 400) => false,
                ("downloadAuditLogs", _) => true,
                (_, 409) => false,
                _ => true,
            };
            match outcome {
                Ok(api) => {
                    assert!(declared, "{operation} {status} should be undeclared");
                    assert_eq!(
                        (api.error, api.error_code.as_str()),
                        (i64::from(status), code)
                    );
                    if operation == "getAccessHistoryCluster" || status == 409 {
                        decoded.push(api);
                    }
                }
                Err(unexpected) => {
                    assert!(!declared, "{operation} {status}: {unexpected}");
                    assert_eq!(unexpected, format!("unexpected {status}"));
                }
            }
        }
    }
    insta::assert_debug_snapshot!(decoded);
}

fn api_error_of(err: Error<ApiError>) -> Result<ApiError, String> {
    match err {
        Error::ErrorResponse(value) => Ok(value.into_inner()),
        Error::UnexpectedResponse(response) => {
            Err(format!("unexpected {}", response.status().as_u16()))
        }
        other => panic!("neither a typed error nor an unexpected response: {other:?}"),
    }
}

#[tokio::test]
async fn bad_request_detail_and_mixed_parameters_decode() {
    let body = serde_json::json!({
        "badRequestDetail": { "fields": [{ "field": "nLogs", "description": "must be less than or equal to 20000" }] },
        "detail": "Invalid parameter nLogs: 30000.",
        "error": 400,
        "errorCode": "INVALID_PARAMETER",
        "parameters": ["nLogs", 30000, null, true],
        "reason": "Bad Request"
    });
    let answer =
        ResponseTemplate::new(400).set_body_raw(body.to_string().into_bytes(), "application/json");
    let (_server, client) = mock_answering(answer).await;
    let err = client
        .get_access_history_cluster()
        .group_id(GROUP_ID)
        .cluster_name("c")
        .send()
        .await
        .unwrap_err();
    let api = api_error_of(err).unwrap();
    // Decoded once: the error body keeps the bytes Atlas sent, and so does `AtlasError`
    // (key order and spacing as sent, not the value written out again).
    let sent = body.to_string();
    assert_eq!(api.received().map(|b| b.as_ref()), Some(sent.as_bytes()));
    let value = atlas_client::ResponseValue::new(
        api.clone(),
        reqwest::StatusCode::BAD_REQUEST,
        Default::default(),
    );
    let atlas = AtlasError::from(Error::ErrorResponse(value));
    assert_eq!(atlas.body(), Some(sent.as_bytes()));
    assert_eq!(atlas.api(), Some(&api));
    insta::assert_debug_snapshot!(api);
}

#[tokio::test]
async fn json_error_labelled_gzip_still_decodes() {
    // Atlas has answered the gzip endpoint's 400 with a JSON body under a +gzip label.
    let body = serde_json::json!({
        "detail": "Invalid time range.", "error": 400, "errorCode": "INVALID_DATE_RANGE",
        "parameters": [], "reason": "Bad Request"
    });
    let answer = ResponseTemplate::new(400).set_body_raw(
        body.to_string().into_bytes(),
        "application/vnd.atlas.2023-02-01+gzip",
    );
    let (_server, client) = mock_answering(answer).await;
    let err = client
        .download_audit_logs()
        .group_id(GROUP_ID)
        .tenant_name("w")
        .send()
        .await
        .map(drop)
        .unwrap_err();
    let api = api_error_of(err).unwrap();
    assert_eq!(api.error_code, "INVALID_DATE_RANGE");
    assert_eq!(api.detail.as_deref(), Some("Invalid time range."));
}

#[tokio::test]
async fn undeclared_status_keeps_status_and_body() {
    let answer = ResponseTemplate::new(503)
        .insert_header("Retry-After", "7")
        .set_body_raw(b"upstream unavailable".to_vec(), "text/plain");
    let (_server, client) = mock_answering(answer).await;
    let err = client
        .get_access_history_cluster()
        .group_id(GROUP_ID)
        .cluster_name("c")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(503));
    assert!(err.is_retryable());
    let Error::UnexpectedResponse(response) = err else {
        panic!("expected an unexpected response")
    };
    assert_eq!(response.headers()["retry-after"], "7");
    assert_eq!(response.text().await.unwrap(), "upstream unavailable");
}

#[tokio::test]
async fn malformed_json_keeps_the_body() {
    let answer = ResponseTemplate::new(200).set_body_raw(
        b"{\"accessLogs\": [".to_vec(),
        "application/vnd.atlas.2023-01-01+json",
    );
    let (_server, client) = mock_answering(answer).await;
    let err = client
        .get_access_history_cluster()
        .group_id(GROUP_ID)
        .cluster_name("c")
        .send()
        .await
        .unwrap_err();
    let err = AtlasError::from(err);
    assert_eq!(err.kind(), ErrorKind::Decode);
    assert_eq!(err.status().map(|s| s.as_u16()), Some(200));
    assert_eq!(err.body(), Some(&b"{\"accessLogs\": ["[..]));
    assert!(err.to_string().contains("EOF"), "{err}");
}

#[tokio::test]
async fn send_raw_hands_back_the_body_as_sent() {
    let body = r#"{"accessLogs":[{"failureReason":null,"newField":{"x":1},"username":"alice"}],"extra":true}"#;
    let answer = ResponseTemplate::new(200)
        .set_body_raw(body.as_bytes().to_vec(), atlas_client_tests::ATLAS_JSON);
    let (_server, client) = mock_answering(answer).await;
    let raw = client
        .get_access_history_cluster()
        .group_id(GROUP_ID)
        .cluster_name("Cluster0")
        .send_raw()
        .await
        .unwrap();
    assert_eq!(raw.status(), 200);
    assert_eq!(raw.into_inner().as_ref(), body.as_bytes());

    // Undecoded means unchecked too: what is not JSON is the caller's to refuse, and the
    // export refuses it as the typed `send()` does, status, headers and body kept.
    let answer = ResponseTemplate::new(200)
        .insert_header("x-request-id", "r-1")
        .set_body_raw(b"<html>".to_vec(), atlas_client_tests::ATLAS_JSON);
    let (_server, client) = mock_answering(answer).await;
    let raw = client
        .get_access_history_cluster()
        .group_id(GROUP_ID)
        .cluster_name("Cluster0")
        .send_raw()
        .await
        .unwrap();
    assert_eq!(raw.into_inner().as_ref(), b"<html>");
    let err = atlas_log_export::fetch_entries(
        &client,
        GROUP_ID,
        &atlas_log_export::Target::Cluster("Cluster0".into()),
        &atlas_log_export::Filters::default(),
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Decode);
    assert_eq!(err.status().map(|s| s.as_u16()), Some(200));
    assert_eq!(err.headers()["x-request-id"], "r-1");
    assert_eq!(err.body(), Some(&b"<html>"[..]));
    assert!(
        err.to_string().contains("getGroupDbAccessHistoryCluster"),
        "{err}"
    );
}

/// Bodies whose JSON shape the spec does not allow: serde alone would fill a struct from
/// an array, field by field.
const MISSHAPEN: &[&str] = &[
    "[[]]",
    r#"[["{\"t\":{\"$date\":\"2026-10-31T00:00:00.123Z\"}}"]]"#,
    r#"{"accessLogs":[["{\"t\":{\"$date\":\"2026-10-31T00:00:00.123Z\"}}"]]}"#,
    r#"{"accessLogs":[[true,"admin",null,"32b6e34b3d91647abb20e7b8"]]}"#,
    r#"{"accessLogs":[{"logLine":"{\"t\":[\"2026-10-31T00:00:00.123Z\"]}"}]}"#,
    r#"{"accessLogs":[{"logLine":"{\"t\":{\"$date\":\"00-11-01T00:00:00.123Z\"}}"}]}"#,
];

/// Every path that reads an access-history answer refuses a misshapen one, loudly: the
/// typed `send()`, the entries of `fetch_entries` (what `atlas-logs access -o ndjson`
/// prints), and the exact export.
#[tokio::test]
async fn an_answer_of_the_wrong_shape_fails_on_every_path() {
    use atlas_log_export::{AccessLogExport, Filters, Target, fetch_entries};
    for body in MISSHAPEN {
        let answer = ResponseTemplate::new(200)
            .set_body_raw(body.as_bytes().to_vec(), atlas_client_tests::ATLAS_JSON);
        let (_server, client) = mock_answering(answer).await;
        let target = Target::Cluster("Cluster0".into());
        let typed = client
            .get_access_history_cluster()
            .group_id(GROUP_ID)
            .cluster_name("Cluster0")
            .send()
            .await;
        // The last two are of the right shape for the typed call: only their times are
        // unreadable, which the typed entries do not read.
        if !body.contains("logLine") {
            let err = AtlasError::from(typed.unwrap_err());
            assert_eq!(err.kind(), ErrorKind::Decode, "{body}: {err}");
            assert!(
                err.to_string().contains("getGroupDbAccessHistoryCluster"),
                "{err}"
            );
        }
        let err = fetch_entries(&client, GROUP_ID, &target, &Filters::default())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Decode, "{body}: {err}");
        assert!(
            err.to_string().contains("getGroupDbAccessHistoryCluster"),
            "{err}"
        );
        let mut export = AccessLogExport::builder(&client, GROUP_ID, target)
            .start(1_790_000_000_000)
            .end(1_790_000_100_000)
            .build()
            .unwrap();
        let err = export.next_entry().await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Decode, "{body}: {err}");
        // A failed export never passes for a finished one afterwards.
        let again = export.next_entry().await.unwrap_err();
        assert_eq!(again.kind(), ErrorKind::Incomplete, "{body}: {again}");
        assert!(export.checkpoint().is_none());
    }
}

/// An error body is Atlas's only when it is an object: `[400, "X"]` under a 404 is a 404
/// with an unknown body, not `{error: 400, errorCode: "X"}`.
#[tokio::test]
async fn an_error_body_is_read_from_an_object_only() {
    for body in [
        r#"[400,"X"]"#,
        r#"[400,"X","detail"]"#,
        r#"{"error":[400],"errorCode":"X"}"#,
    ] {
        let answer =
            ResponseTemplate::new(404).set_body_raw(body.as_bytes().to_vec(), "application/json");
        let (_server, client) = mock_answering(answer).await;
        let err = client
            .get_access_history_cluster()
            .group_id(GROUP_ID)
            .cluster_name("Cluster0")
            .send()
            .await
            .unwrap_err();
        let err = AtlasError::from(err);
        assert!(err.api().is_none(), "{body}: {:?}", err.api());
        assert!(err.is_not_found(), "{body}");
        assert_eq!(err.status().map(|s| s.as_u16()), Some(404));
        assert_eq!(err.body(), Some(body.as_bytes()));
    }
}
