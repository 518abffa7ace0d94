//! The runtime serves any generated client: its source names no operation, no method and no
//! type of the project's spec, and nothing of the access-log domain the export crate serves.

use std::path::{Path, PathBuf};

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn snake(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push('_');
        }
        out.extend(c.to_lowercase());
    }
    out
}

#[test]
fn the_runtime_names_nothing_of_our_spec() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let spec: serde_norway::Value =
        serde_norway::from_str(&std::fs::read_to_string(root.join("../spec/atlas.yaml")).unwrap())
            .unwrap();
    let mut names = Vec::new();
    for (_, item) in spec["paths"].as_mapping().unwrap() {
        for (_, op) in item.as_mapping().unwrap() {
            for key in ["operationId", "x-xgen-operation-id-override"] {
                if let Some(id) = op.get(key).and_then(|v| v.as_str()) {
                    names.push(id.to_string());
                    names.push(snake(id));
                }
            }
        }
    }
    for (schema, _) in spec["components"]["schemas"].as_mapping().unwrap() {
        let schema = schema.as_str().unwrap();
        names.push(schema.to_string());
        // typify's spelling of the type, e.g. MongoDBAccessLogs -> MongoDbAccessLogs.
        names.push(schema.replace("DB", "Db"));
    }
    assert!(names.len() > 10, "the spec was read: {names:?}");
    let mut files = Vec::new();
    sources(&root.join("src"), &mut files);
    assert!(files.len() > 5);
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for name in &names {
            let found = text.match_indices(name.as_str()).any(|(at, _)| {
                let before = text[..at].chars().next_back();
                let after = text[at + name.len()..].chars().next();
                let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
                !word(before) && !word(after)
            });
            assert!(
                !found,
                "{} names `{name}` of spec/atlas.yaml",
                file.display()
            );
        }
    }
}

/// The words of the access-log domain: its parameters and fields, and what the export
/// crate (`atlas-log-export`) builds of them. The runtime knows none of them.
const DOMAIN: &[&str] = &[
    "nLogs",
    "n_logs",
    "logLine",
    "log_line",
    "accessLogs",
    "access_logs",
    "authResult",
    "auth_result",
    "access log",
    "access-log",
    "access history",
    "access-history",
    "AccessLog",
    "LogLine",
    "checkpoint",
    "Checkpoint",
    "20,000",
    "20_000",
];

#[test]
fn the_runtime_names_nothing_of_the_access_log_domain() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    sources(&root.join("src"), &mut files);
    assert!(files.len() > 5);
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for word in DOMAIN {
            let found = text.to_lowercase().contains(&word.to_lowercase());
            assert!(
                !found,
                "{} names `{word}` of the access-log domain",
                file.display()
            );
        }
    }
}
