//! Every JSON body the fake sends validates against the schemas of `spec/atlas.yaml`, so
//! the fake cannot drift from the spec.

mod common;

use common::{ACCESS, AUDIT, DigestClient, fake_with, path};
use fake_atlas::{Faults, RateLimit};
use serde_json::{Map, Value, json};

/// OpenAPI 3.0 schemas as JSON Schema: `nullable` becomes a `null` alternative, references
/// point into `definitions`, OpenAPI-only keywords go.
fn to_json_schema(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut out = Map::new();
            for (key, v) in map {
                match key.as_str() {
                    "nullable" | "example" | "deprecated" | "readOnly" | "writeOnly" => {}
                    k if k.starts_with("x-") => {}
                    "$ref" => {
                        let target = v
                            .as_str()
                            .unwrap()
                            .replace("#/components/schemas/", "#/definitions/");
                        out.insert(key.clone(), Value::String(target));
                    }
                    _ => {
                        out.insert(key.clone(), to_json_schema(v));
                    }
                }
            }
            if map.get("nullable") == Some(&Value::Bool(true)) {
                return json!({ "anyOf": [{ "type": "null" }, Value::Object(out)] });
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(to_json_schema).collect()),
        other => other.clone(),
    }
}

fn validator(name: &str) -> jsonschema::Validator {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../spec/atlas.yaml"))
        .unwrap();
    let spec: Value = serde_norway::from_str(&text).unwrap();
    let definitions = to_json_schema(&spec["components"]["schemas"]);
    let schema = json!({ "$ref": format!("#/definitions/{name}"), "definitions": definitions });
    jsonschema::validator_for(&schema).expect("the spec's schemas compile")
}

fn assert_valid(validator: &jsonschema::Validator, body: &Value, what: &str) {
    let errors: Vec<String> = validator
        .iter_errors(body)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{what}: {errors:?}");
}

#[tokio::test]
async fn every_body_matches_the_spec() {
    let fake = fake_with(6_000, |c| {
        c.rate_limit = RateLimit {
            capacity: 40,
            refill: 1,
            period: std::time::Duration::from_secs(3600),
        }
    })
    .await;
    let mut client = DigestClient::demo(&fake.base_url());
    let list = validator("MongoDBAccessLogsList");
    let legacy = validator("LegacyAccessLogsList");
    let error = validator("ApiError");

    let group = fake.data().group_id.clone();
    let host = fake.data().hosts[4].clone();
    let successes = [
        path(&fake, "/dbAccessHistory/clusters/Cluster0"),
        path(
            &fake,
            "/dbAccessHistory/clusters/analytics-prod?authResult=false&nLogs=300",
        ),
        path(
            &fake,
            &format!("/dbAccessHistory/processes/{host}?authResult=true"),
        ),
        path(
            &fake,
            "/dbAccessHistory/clusters/Cluster0?ipAddress=192.0.2.1",
        ),
    ];
    for uri in &successes {
        let response = client.get(uri, ACCESS).await;
        assert_eq!(response.status(), 200, "{uri}");
        let body: Value = response.json().await.unwrap();
        assert_valid(&list, &body, uri);
    }
    let body: Value = client
        .get(
            &format!(
                "/api/atlas/v1.0/groups/{group}/dbAccessHistory/clusters/orders-eu-1?nLogs=500"
            ),
            "application/json",
        )
        .await
        .json()
        .await
        .unwrap();
    assert!(!body["accessLogs"].as_array().unwrap().is_empty());
    assert_valid(&legacy, &body, "v1.0");

    let failures = [
        (path(&fake, "/dbAccessHistory/clusters/Nope"), ACCESS),
        (
            path(&fake, "/dbAccessHistory/clusters/Cluster0?nLogs=99999"),
            ACCESS,
        ),
        (
            path(&fake, "/dbAccessHistory/clusters/Cluster0"),
            "application/json",
        ),
        (
            "/api/atlas/v2/groups/zzz/dbAccessHistory/clusters/Cluster0".to_string(),
            ACCESS,
        ),
        (path(&fake, "/streams/nope/auditLogs"), AUDIT),
        (
            path(&fake, "/streams/workspace0/auditLogs?startDate=9&endDate=1"),
            AUDIT,
        ),
    ];
    for (uri, accept) in &failures {
        let response = client.get(uri, accept).await;
        assert!(response.status().is_client_error(), "{uri}");
        let body: Value = response.json().await.unwrap();
        assert_valid(&error, &body, uri);
    }

    // 401, 429 and injected 503 bodies too.
    let unauthorized: Value = reqwest::get(format!("{}{}", fake.base_url(), successes[0]))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_valid(&error, &unauthorized, "401");
    fake.set_faults(Faults {
        fail_next: 1,
        fail_status: 503,
        ..Faults::default()
    });
    let injected: Value = client
        .get(&successes[0], ACCESS)
        .await
        .json()
        .await
        .unwrap();
    assert_valid(&error, &injected, "503");
    let mut limited = None;
    for _ in 0..50 {
        let response = client.get(&successes[0], ACCESS).await;
        if response.status() == 429 {
            limited = Some(response.json::<Value>().await.unwrap());
            break;
        }
    }
    let limited = limited.expect("the 40-token bucket runs dry within 50 calls");
    assert_valid(&error, &limited, "429");
}

#[test]
fn the_validator_rejects_what_the_spec_forbids() {
    let list = validator("MongoDBAccessLogsList");
    assert!(
        list.validate(&json!({ "accessLogs": [{ "authResult": "yes" }] }))
            .is_err()
    );
    assert!(
        list.validate(&json!({ "status": 200, "content": {} }))
            .is_err(),
        "accessLogs is required"
    );
    assert!(
        list.validate(&json!({ "accessLogs": [{ "failureReason": null }] }))
            .is_ok(),
        "failureReason is nullable"
    );
    let error = validator("ApiError");
    assert!(
        error.validate(&json!({ "error": 400 })).is_err(),
        "errorCode is required"
    );
    assert!(
        error
            .validate(&json!({ "error": 400, "errorCode": "X", "parameters": ["a", 1, null] }))
            .is_ok()
    );
}

#[tokio::test]
async fn cluster_pages_match_the_spec() {
    let fake = fake_with(100, |_| {}).await;
    let mut client = DigestClient::demo(&fake.base_url());
    let page = validator("PaginatedClusters");
    let error = validator("ApiError");
    const CLUSTERS: &str = "application/vnd.atlas.2024-08-05+json";
    for query in [
        "",
        "?itemsPerPage=2",
        "?itemsPerPage=2&pageNum=2",
        "?pageNum=9",
        "?includeCount=false",
    ] {
        let uri = path(&fake, &format!("/clusters{query}"));
        let response = client.get(&uri, CLUSTERS).await;
        assert_eq!(response.status(), 200, "{uri}");
        let body: Value = response.json().await.unwrap();
        assert_valid(&page, &body, &uri);
    }
    let response = client
        .get(&path(&fake, "/clusters?itemsPerPage=0"), CLUSTERS)
        .await;
    assert_eq!(response.status(), 400);
    assert_valid(&error, &response.json().await.unwrap(), "400");
    assert!(
        page.validate(&json!({ "totalCount": 1 })).is_err(),
        "results is required"
    );
    assert!(
        page.validate(&json!({ "results": [{ "name": 7 }] }))
            .is_err()
    );
}
