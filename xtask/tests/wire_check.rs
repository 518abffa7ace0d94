//! The wire check's judgement and its samples, on made-up reports and schemas: each kind
//! of client defect is counted and named, and what is the sample's or Prism's own fault is
//! not.

use serde_json::{Value, json};
use xtask::wire::{judge, sample};

fn call(operation: &str, outcome: Value, reference: Value, source: Option<&str>) -> Value {
    let mut full = json!({
        "unbuilt": null, "unset_sent": [], "status": 200, "request_violations": [],
        "answer_violations": [], "undecoded": null, "mock_failed": null, "failed": null
    });
    for (key, value) in outcome.as_object().unwrap() {
        full[key] = value.clone();
    }
    json!({
        "id": operation, "operation_id": operation, "body_source": source,
        "outcome": full, "reference_violations": reference,
    })
}

#[test]
fn a_clean_run_has_no_defect() {
    let (totals, defects) = judge(&[
        call("getGroup", json!({}), Value::Null, None),
        call(
            "createGroup",
            json!({"status": 201}),
            Value::Null,
            Some("example"),
        ),
    ]);
    assert!(defects.is_empty(), "{defects:?}");
    assert_eq!((totals.calls, totals.sent), (2, 2));
    assert_eq!((totals.answers_valid, totals.answers_valid_decoded), (2, 2));
    assert_eq!(
        (
            totals.example_bodies_valid,
            totals.example_bodies_valid_built
        ),
        (1, 1)
    );
}

#[test]
fn each_client_defect_is_counted_and_named() {
    let (totals, defects) = judge(&[
        // Fields the caller did not set.
        call(
            "updateCluster",
            json!({"unset_sent": ["/backupEnabled", "/retainBackups"]}),
            Value::Null,
            Some("sample"),
        ),
        // A request the validator refuses although its values, sent plainly, pass.
        call(
            "getUser",
            json!({"request_violations": ["request.path.userId: must match pattern"]}),
            json!({"Ok": []}),
            None,
        ),
        // A spec-valid answer that does not decode.
        call(
            "getGroup",
            json!({"undecoded": "invalid value: string \"Projét\""}),
            Value::Null,
            None,
        ),
        // Values that keep the spec refused by the builder.
        call(
            "createOrg",
            json!({"unbuilt": "parameter `name` must match the pattern"}),
            json!({"Ok": []}),
            None,
        ),
        // A spec-valid example body that does not build.
        call(
            "updateAuditLog",
            json!({"unbuilt": "body: missing field `groupId`"}),
            json!({"Ok": []}),
            Some("example"),
        ),
    ]);
    assert_eq!(totals.unset_fields_sent, 2);
    assert_eq!(totals.client_request_violations, 1);
    assert_eq!(
        (totals.answers_valid, totals.answers_valid_decoded),
        (2, 1),
        "{totals:?}"
    );
    assert_eq!(totals.valid_values_refused, 1);
    assert_eq!(
        (
            totals.example_bodies_valid,
            totals.example_bodies_valid_built
        ),
        (1, 0)
    );
    let named: Vec<&str> = defects
        .iter()
        .map(|d| d.split(':').next().unwrap())
        .collect();
    assert_eq!(
        named,
        [
            "updateCluster",
            "getUser",
            "getGroup",
            "createOrg",
            "updateAuditLog"
        ]
    );
}

#[test]
fn what_is_not_the_clients_fault_is_not_a_defect() {
    let (totals, defects) = judge(&[
        // The sample breaks the spec however it is sent.
        call(
            "createGroupPeer",
            json!({"request_violations": ["request.body.cidr: must match pattern"]}),
            json!({"Ok": ["request.body.cidr: must match pattern"]}),
            Some("sample"),
        ),
        // An answer that breaks the spec itself and does not decode.
        call(
            "listOrgs",
            json!({"answer_violations": ["response.body.results: must be array"], "undecoded": "expected a sequence"}),
            Value::Null,
            None,
        ),
        // Prism could not make a dynamic answer.
        call(
            "deleteRoleMapping",
            json!({"status": 500, "mock_failed": "prism UNKNOWN: schema is not defined"}),
            Value::Null,
            None,
        ),
    ]);
    assert!(defects.is_empty(), "{defects:?}");
    assert_eq!(totals.sample_request_violations, 1);
    assert_eq!(
        (totals.answers_invalid, totals.answers_invalid_decoded),
        (1, 0)
    );
    assert_eq!(totals.mock_failed, 1);
    assert_eq!(totals.answers_valid, 0);
}

#[test]
fn samples_keep_patterns_lengths_and_leave_read_only_fields_out() {
    let spec = json!({"components": {"schemas": {
        "Id": {"type": "string", "pattern": "^([a-f0-9]{24})$"},
        "Name": {"type": "string", "pattern": "^[\\p{L}\\p{N}\\-_.(),:&@+']{1,64}$"},
        "Group": {
            "type": "object",
            "required": ["name", "id"],
            "properties": {
                "id": {"$ref": "#/components/schemas/Id", "readOnly": true},
                "orgId": {"$ref": "#/components/schemas/Id"},
                "name": {"$ref": "#/components/schemas/Name"},
                "tags": {"type": "array", "items": {"type": "string", "minLength": 3}},
                "paused": {"type": "boolean", "default": false}
            }
        }
    }}});
    let group = sample(&spec, &json!({"$ref": "#/components/schemas/Group"}), 0);
    let object = group.as_object().expect("an object");
    assert!(!object.contains_key("id"), "read-only: {group}");
    let org = object["orgId"].as_str().unwrap();
    assert!(
        org.len() == 24
            && org
                .chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()),
        "{org}"
    );
    let name = object["name"].as_str().unwrap();
    let unicode_name =
        regress::Regex::with_flags("^[\\p{L}\\p{N}\\-_.(),:&@+']{1,64}$", "u").unwrap();
    assert!(unicode_name.find(name).is_some(), "{name:?}");
    assert!(object["tags"][0].as_str().unwrap().len() >= 3, "{group}");
    assert_eq!(object["paused"], json!(false), "a default is a valid value");
}
