//! Bad input fails before any request, with a message naming the parameter and the rule.

use atlas_client::{Client, Error, types::ApiError};
use atlas_client_tests::{GROUP_ID, atlas_json, mock_answering};

/// Runs `call` against a mock and returns its error message, checking nothing was sent.
async fn rejected<F, Fut, T>(call: F) -> String
where
    F: FnOnce(Client) -> Fut,
    Fut: std::future::Future<Output = Result<T, Error<ApiError>>>,
{
    let (server, client) =
        mock_answering(atlas_json(200, serde_json::json!({ "accessLogs": [] }))).await;
    let err = call(client).await.map(drop).unwrap_err();
    let requests = server.received_requests().await.unwrap();
    assert!(
        requests.is_empty(),
        "bad input reached the server: {requests:?}"
    );
    let Error::InvalidRequest(message) = err else {
        panic!("expected an invalid request, got {err:?}")
    };
    message
}

const JAN_2024_MS: i64 = 1_704_067_200_000;
const FEB_2024_MS: i64 = 1_706_745_600_000;

#[tokio::test]
async fn every_rule_names_the_parameter_and_the_rule() {
    let mut report = String::new();
    macro_rules! case {
        ($label:expr, $call:expr) => {
            let message = rejected($call).await;
            report.push_str(&format!("{}\n  {}\n", $label, message));
        };
    }
    case!("groupId with upper case", |c: Client| async move {
        c.get_access_history_cluster()
            .group_id("32B6E34B3D91647ABB20E7B8")
            .cluster_name("Cluster0")
            .send()
            .await
    });
    case!("groupId too short", |c: Client| async move {
        c.get_access_history_process()
            .group_id("32b6e34b")
            .hostname("h")
            .send()
            .await
    });
    case!("groupId on the download", |c: Client| async move {
        c.download_audit_logs()
            .group_id("my-project")
            .tenant_name("w")
            .send()
            .await
    });
    case!("clusterName starting with a dash", |c: Client| async move {
        c.get_access_history_cluster()
            .group_id(GROUP_ID)
            .cluster_name("-prod")
            .send()
            .await
    });
    case!("clusterName with a space", |c: Client| async move {
        c.get_access_history_cluster()
            .group_id(GROUP_ID)
            .cluster_name("my cluster")
            .send()
            .await
    });
    case!("hostname empty", |c: Client| async move {
        c.get_access_history_process()
            .group_id(GROUP_ID)
            .hostname("")
            .send()
            .await
    });
    case!("hostname naming the parent", |c: Client| async move {
        c.get_access_history_process()
            .group_id(GROUP_ID)
            .hostname("..")
            .send()
            .await
    });
    case!("tenantName empty", |c: Client| async move {
        c.download_audit_logs()
            .group_id(GROUP_ID)
            .tenant_name("")
            .send()
            .await
    });
    case!("startDate in milliseconds", |c: Client| async move {
        c.download_audit_logs()
            .group_id(GROUP_ID)
            .tenant_name("w")
            .start_date(1_706_745_600_000_i64)
            .end_date(1_706_745_600_000_i64)
            .send()
            .await
    });
    case!("nLogs above 20000", |c: Client| async move {
        c.get_access_history_cluster()
            .group_id(GROUP_ID)
            .cluster_name("Cluster0")
            .n_logs(20_001)
            .send()
            .await
    });
    case!("nLogs negative", |c: Client| async move {
        c.get_access_history_process()
            .group_id(GROUP_ID)
            .hostname("h")
            .n_logs(-1)
            .send()
            .await
    });
    case!("start without end", |c: Client| async move {
        c.get_access_history_cluster()
            .group_id(GROUP_ID)
            .cluster_name("Cluster0")
            .start(JAN_2024_MS)
            .send()
            .await
    });
    case!("end without start", |c: Client| async move {
        c.get_access_history_process()
            .group_id(GROUP_ID)
            .hostname("h")
            .end(FEB_2024_MS)
            .send()
            .await
    });
    case!("start after end", |c: Client| async move {
        c.get_access_history_cluster()
            .group_id(GROUP_ID)
            .cluster_name("Cluster0")
            .start(FEB_2024_MS)
            .end(JAN_2024_MS)
            .send()
            .await
    });
    case!(
        "start before 2008-01-01 (seconds given where milliseconds are due)",
        |c: Client| async move {
            c.get_access_history_cluster()
                .group_id(GROUP_ID)
                .cluster_name("Cluster0")
                .start(1_704_067_200)
                .end(FEB_2024_MS)
                .send()
                .await
        }
    );
    case!("legacy v1.0 start after end", |c: Client| async move {
        #[allow(deprecated)]
        c.list_access_logs_by_cluster_name()
            .group_id(GROUP_ID)
            .cluster_name("Cluster0")
            .start(FEB_2024_MS)
            .end(JAN_2024_MS)
            .send()
            .await
    });
    case!(
        "audit-log startDate after endDate",
        |c: Client| async move {
            c.download_audit_logs()
                .group_id(GROUP_ID)
                .tenant_name("w")
                .start_date(1_706_745_600_i64)
                .end_date(1_704_067_200_i64)
                .send()
                .await
        }
    );
    for bad in ["not-an-ip", "999.1.1.1", "10.0.0.0/8", "", "2001:db8::1::2"] {
        case!(format!("ipAddress {bad:?}"), |c: Client| async move {
            c.get_access_history_cluster()
                .group_id(GROUP_ID)
                .cluster_name("Cluster0")
                .ip_address(bad)
                .send()
                .await
        });
    }
    case!("nLogs that does not fit its type", |c: Client| async move {
        c.get_access_history_cluster()
            .group_id(GROUP_ID)
            .cluster_name("Cluster0")
            .n_logs(5_000_000_000_i64)
            .send()
            .await
    });
    case!("missing required groupId", |c: Client| async move {
        c.get_access_history_cluster()
            .cluster_name("Cluster0")
            .send()
            .await
    });
    insta::assert_snapshot!(report);
}

#[tokio::test]
async fn boundary_values_are_accepted() {
    let (server, client) =
        mock_answering(atlas_json(200, serde_json::json!({ "accessLogs": [] }))).await;
    let first_allowed = 1_199_145_600_000_i64;
    client
        .get_access_history_cluster()
        .group_id(GROUP_ID)
        .cluster_name("a")
        .n_logs(20_000)
        .start(first_allowed)
        .end(first_allowed)
        .send()
        .await
        .unwrap();
    client
        .get_access_history_process()
        .group_id(GROUP_ID)
        .hostname("h")
        .n_logs(0)
        .ip_address(" 2001:DB8::A ")
        .send()
        .await
        .unwrap();
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 2);
    assert_eq!(
        requests[1].url.query(),
        Some("ipAddress=2001%3Adb8%3A0%3A0%3A0%3A0%3A0%3Aa&nLogs=0"),
        "IPv6 is sent in the one form Atlas stores"
    );
}
