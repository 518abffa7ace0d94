//! `cargo xtask official-check --wire`: every operation of the generated official client
//! called against Stoplight Prism's mock of the spec, and judged by Prism's validator.
//!
//! After `official-check` has generated and built the client (see [`crate::official`]):
//! 1. **Cases.** For each operation, values for its required parameters and its body: the
//!    spec's `example`s where it has them, else a sample made from the schema (required
//!    properties only; a `default` or an `example` where the schema has one).
//! 2. **Driver.** A scratch crate, `target/official-check/wire/`, holds a program that sets
//!    each case's values through the operation's typed builder (the setter's own type,
//!    read from the generated code) and calls `send()`. What it judges, per call:
//!    - *built*: the builder took the values (a body is decoded into the body's type);
//!    - *unset fields sent*: the body as sent, against the case's body;
//!    - *request accepted*: Prism's validator found no error in the request; where it
//!      found one, the same values are sent as a plain request built from the spec, so a
//!      sample Prism refuses is told apart from a client defect;
//!    - *answer decoded*: `send()` decoded the answer; Prism's validator says whether that
//!      answer keeps the spec, so an answer breaking the spec itself is told apart.
//! 3. **Mocks.** Prism (`@stoplight/prism-cli`, pinned) serves the spec twice: static
//!    answers (the spec's examples) and `--dynamic` ones (generated from the schemas).
//!
//! Everything made from the official spec stays under `target/official-check/`.

use std::collections::BTreeMap;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use quote::ToTokens;
use serde_json::{Map, Value, json};

use crate::normalize::{Operation, sanitize_snake};

/// The Prism release the check runs against.
pub const PRISM_VERSION: &str = "5.16.0";

/// The driver's fixed part; `ops.rs` beside it is written per spec.
const DRIVER: &str = include_str!("wire/driver.rs");

/// What one run of the wire check found, over every operation and both mocks.
#[derive(Debug, Default)]
pub struct Totals {
    pub calls: usize,
    pub sent: usize,
    /// Requests Prism found an error in while the same values as a plain request kept the
    /// spec: the client's defects.
    pub client_request_violations: usize,
    /// Requests whose values Prism refuses however they are sent: the sample's fault.
    pub sample_request_violations: usize,
    pub answers_valid: usize,
    pub answers_valid_decoded: usize,
    pub answers_invalid: usize,
    pub answers_invalid_decoded: usize,
    pub example_bodies_valid: usize,
    pub example_bodies_valid_built: usize,
    pub sampled_bodies_valid: usize,
    pub sampled_bodies_valid_built: usize,
    /// Calls the builder refused although the values keep the spec.
    pub valid_values_refused: usize,
    pub unset_fields_sent: usize,
    /// Calls Prism could not answer (a dynamic answer without a schema): not judged.
    pub mock_failed: usize,
    pub failed: usize,
}

/// Runs the wire check on the client `official-check` generated into `scratch/client`.
pub fn run(
    root: &Path,
    scratch: &Path,
    spec: &Value,
    generated: &crate::codegen::Generated,
) -> Result<()> {
    let (operations, code) = (&generated.table, &generated.code);
    let prism = install_prism(root)?;
    let cases = cases(spec, operations)?;
    let setters = setters(code)?;
    let dir = scratch.join("wire");
    std::fs::create_dir_all(dir.join("src"))?;
    std::fs::write(dir.join("src/main.rs"), DRIVER)?;
    std::fs::write(dir.join("src/ops.rs"), ops_source(operations, &setters))?;
    write_manifest(root, &dir, &generated.dependencies)?;
    let cases_path = dir.join("cases.json");
    std::fs::write(&cases_path, serde_json::to_vec_pretty(&cases)?)?;
    let mock_spec = dir.join("mock-spec.json");
    std::fs::write(
        &mock_spec,
        serde_json::to_vec(&with_token_endpoint(spec.clone()))?,
    )?;

    let started = Instant::now();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let status = Command::new(&cargo)
        .args(["build", "--quiet", "--manifest-path"])
        .arg(dir.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", root.join("target"))
        .status()
        .context("building the wire driver")?;
    if !status.success() {
        bail!("the wire driver does not compile");
    }
    println!(
        "wire driver: built in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let started = Instant::now();
    let mut mocks = Vec::new();
    for (name, extra) in [("static", None), ("dynamic", Some("--dynamic"))] {
        mocks.push((
            name,
            Mock::start(
                &prism,
                &mock_spec,
                extra,
                &dir.join(format!("prism-{name}.log")),
            )?,
        ));
    }
    for (name, mock) in &mocks {
        mock.wait_ready().with_context(|| {
            format!(
                "Prism ({name}) did not start; see its log under {}",
                dir.display()
            )
        })?;
    }
    println!(
        "prism {PRISM_VERSION}: both mocks up in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let report_path = dir.join("report.json");
    let started = Instant::now();
    let status = Command::new(root.join("target/debug/atlas-official-wire"))
        .arg(&cases_path)
        .arg(&report_path)
        .args(
            mocks
                .iter()
                .map(|(name, mock)| format!("{name}=http://127.0.0.1:{}", mock.port)),
        )
        .status()
        .context("running the wire driver")?;
    drop(mocks);
    if !status.success() {
        bail!("the wire driver failed");
    }
    let report: Value = serde_json::from_slice(&std::fs::read(&report_path)?)?;
    println!(
        "calls: {} operations x 2 mocks in {:.1} s (report: {})",
        cases.len(),
        started.elapsed().as_secs_f64(),
        report_path
            .strip_prefix(root)
            .unwrap_or(&report_path)
            .display()
    );
    let mut failures = Vec::new();
    for (mode, results) in report.as_object().context("the report is not a mapping")? {
        let (totals, found) = judge(results.as_array().context("a run is not a list")?);
        print_totals(mode, &totals);
        failures.extend(found.into_iter().map(|f| format!("{mode}: {f}")));
    }
    if !failures.is_empty() {
        for failure in &failures {
            eprintln!("  {failure}");
        }
        bail!(
            "{} client defects on the wire (listed above)",
            failures.len()
        );
    }
    Ok(())
}

fn print_totals(mode: &str, t: &Totals) {
    println!(
        "{mode}: {} calls, {} sent; client request violations {} (sample's own {}); \
         spec-valid answers decoded {}/{} (answers breaking the spec decoded anyway {}/{}); \
         spec-valid example bodies built {}/{}, sampled ones {}/{}; \
         valid values refused {}; unset fields sent {}; Prism could not answer {}; other failures {}",
        t.calls,
        t.sent,
        t.client_request_violations,
        t.sample_request_violations,
        t.answers_valid_decoded,
        t.answers_valid,
        t.answers_invalid_decoded,
        t.answers_invalid,
        t.example_bodies_valid_built,
        t.example_bodies_valid,
        t.sampled_bodies_valid_built,
        t.sampled_bodies_valid,
        t.valid_values_refused,
        t.unset_fields_sent,
        t.mock_failed,
        t.failed,
    );
}

/// The totals of one mock's run, and each client defect in a line.
pub fn judge(results: &[Value]) -> (Totals, Vec<String>) {
    let mut t = Totals::default();
    let mut defects = Vec::new();
    for result in results {
        t.calls += 1;
        let id = result["operation_id"].as_str().unwrap_or("?");
        let outcome = &result["outcome"];
        let list = |key: &str| -> Vec<String> {
            outcome[key]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default()
        };
        // Prism's errors on the same values sent plainly: `None` when not asked (the
        // client's request had none), `Some(Err)` when the plain request failed.
        let reference: Option<Result<Vec<String>, String>> = match &result["reference_violations"] {
            Value::Null => None,
            Value::Object(o) if o.contains_key("Ok") => Some(Ok(o["Ok"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default())),
            other => Some(Err(other.to_string())),
        };
        let sample_valid = match &reference {
            None => true,
            Some(Ok(v)) => v.is_empty(),
            Some(Err(_)) => false,
        };
        let body_valid = match &reference {
            None => true,
            Some(Ok(v)) => !v.iter().any(|v| v.starts_with("request.body")),
            Some(Err(_)) => false,
        };
        let unbuilt = outcome["unbuilt"].as_str();
        let unset = list("unset_sent");
        t.unset_fields_sent += unset.len();
        if !unset.is_empty() {
            defects.push(format!(
                "{id}: sent fields the caller did not set: {}",
                unset.join(", ")
            ));
        }
        let bodies = match result["body_source"].as_str() {
            Some("example") => Some((
                "example",
                &mut t.example_bodies_valid,
                &mut t.example_bodies_valid_built,
            )),
            Some("sample") => Some((
                "sampled",
                &mut t.sampled_bodies_valid,
                &mut t.sampled_bodies_valid_built,
            )),
            _ => None,
        };
        if let Some((kind, valid, built)) = bodies.filter(|_| body_valid) {
            *valid += 1;
            if !unbuilt.is_some_and(|u| u.starts_with("body:")) {
                *built += 1;
            } else {
                defects.push(format!(
                    "{id}: a spec-valid {kind} body does not build: {}",
                    unbuilt.unwrap_or("")
                ));
            }
        }
        if let Some(why) = unbuilt {
            if sample_valid && !why.starts_with("body:") {
                t.valid_values_refused += 1;
                defects.push(format!("{id}: values that keep the spec refused: {why}"));
            }
            continue;
        }
        if let Some(why) = outcome["failed"].as_str() {
            t.failed += 1;
            defects.push(format!("{id}: {why}"));
            continue;
        }
        t.sent += 1;
        let request = list("request_violations");
        if !request.is_empty() {
            if sample_valid {
                t.client_request_violations += 1;
                defects.push(format!(
                    "{id}: request refused by the spec's validator: {}",
                    request.join("; ")
                ));
            } else {
                t.sample_request_violations += 1;
            }
            // The answer to a refused request is Prism's refusal, not the operation's.
            continue;
        }
        if !outcome["mock_failed"].is_null() {
            t.mock_failed += 1;
            continue;
        }
        let decoded = outcome["undecoded"].is_null();
        if list("answer_violations").is_empty() {
            t.answers_valid += 1;
            if decoded {
                t.answers_valid_decoded += 1;
            } else {
                defects.push(format!(
                    "{id}: a spec-valid answer (status {}) does not decode: {}",
                    outcome["status"],
                    outcome["undecoded"].as_str().unwrap_or("")
                ));
            }
        } else {
            t.answers_invalid += 1;
            t.answers_invalid_decoded += usize::from(decoded);
        }
    }
    (t, defects)
}

/// Installs Prism under `target/ci-tools` unless the pinned release is there.
fn install_prism(root: &Path) -> Result<PathBuf> {
    let tools = root.join("target/ci-tools");
    let prism = tools.join("node_modules/.bin/prism");
    let version = Command::new(&prism)
        .arg("--version")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    if version.as_deref() != Some(PRISM_VERSION) {
        println!("installing @stoplight/prism-cli@{PRISM_VERSION} into target/ci-tools");
        let status = Command::new("npm")
            .args([
                "install",
                "--no-audit",
                "--no-fund",
                "--loglevel=error",
                "--prefix",
            ])
            .arg(&tools)
            .arg(format!("@stoplight/prism-cli@{PRISM_VERSION}"))
            .stdout(Stdio::null())
            .status()
            .context("running npm (Node.js and npm are needed for Prism)")?;
        if !status.success() {
            bail!("npm could not install @stoplight/prism-cli@{PRISM_VERSION}");
        }
    }
    Ok(prism)
}

/// A Prism mock server, stopped when dropped.
struct Mock {
    child: Child,
    port: u16,
}

impl Mock {
    fn start(prism: &Path, spec: &Path, extra: Option<&str>, log: &Path) -> Result<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let log = std::fs::File::create(log)?;
        let mut command = Command::new(prism);
        command
            .args(["mock", "--host", "127.0.0.1", "--port", &port.to_string()])
            .args(extra)
            .arg(spec)
            .stdout(log.try_clone()?)
            .stderr(log);
        Ok(Self {
            child: command.spawn().context("starting Prism")?,
            port,
        })
    }

    fn wait_ready(&self) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(300);
        while Instant::now() < deadline {
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        bail!("nothing listens on port {} after 300 s", self.port)
    }
}

impl Drop for Mock {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The spec Prism serves: ours, plus the token endpoint the runtime fetches service-account
/// tokens from (the official spec describes it in prose only), so that every call carries
/// a Bearer token as the spec's security requires.
fn with_token_endpoint(mut spec: Value) -> Value {
    let fixed = |value: &str| json!({"type": "string", "enum": [value]});
    let token = json!({
        "post": {
            "operationId": "wireToken",
            "security": [],
            "requestBody": {"content": {"application/x-www-form-urlencoded": {"schema": {"type": "object"}}}},
            "responses": {"200": {"description": "A token.", "content": {"application/json": {"schema": {
                "type": "object",
                "required": ["access_token", "expires_in", "token_type"],
                "properties": {
                    "access_token": fixed("wire-token"),
                    "token_type": fixed("Bearer"),
                    "expires_in": {"type": "integer", "minimum": 3600, "maximum": 3600}
                }
            }}}}}
        }
    });
    if let Some(paths) = spec.get_mut("paths").and_then(Value::as_object_mut) {
        paths.insert("/api/oauth/token".to_string(), token);
    }
    spec
}

/// The scratch driver crate's manifest: the client, the runtime, and what the driver uses,
/// at our workspace's versions.
fn write_manifest(
    root: &Path,
    dir: &Path,
    format_crates: &[crate::codegen::Dependency],
) -> Result<()> {
    let sections = crate::official::scratch_sections(
        root,
        "atlas-official-client = { path = \"../client\" }\nurl = \"2\"\n",
        &[
            "progenitor-client",
            "reqwest",
            "serde",
            "serde_json",
            "tokio",
        ],
        format_crates,
    )?;
    std::fs::write(
        dir.join("Cargo.toml"),
        format!(
            "# Written by `cargo xtask official-check --wire`; not part of the repository.\n\
             [package]\nname = \"atlas-official-wire\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n\
             {sections}"
        ),
    )?;
    std::fs::copy(root.join("Cargo.lock"), dir.join("Cargo.lock")).context("seeding Cargo.lock")?;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Cases: values for every operation, from the spec.

/// The values each operation is called with.
pub fn cases(spec: &Value, operations: &[Operation]) -> Result<Vec<Value>> {
    let mut out = Vec::new();
    for op in operations {
        let item = &spec["paths"][&op.path];
        let operation = &item[op.method.to_ascii_lowercase()];
        if !operation.is_object() {
            bail!("{} {}: not in the spec", op.method, op.path);
        }
        let mut params = BTreeMap::new();
        for list in [&item["parameters"], &operation["parameters"]] {
            for param in list.as_array().into_iter().flatten() {
                let param = resolve(spec, param);
                let (Some(name), Some(location)) = (param["name"].as_str(), param["in"].as_str())
                else {
                    continue;
                };
                if location == "path" || param["required"] == Value::Bool(true) {
                    params.insert(
                        name.to_string(),
                        json!([location, param_value(spec, param)]),
                    );
                } else {
                    params.remove(name);
                }
            }
        }
        let (body, source) = match &op.content_type {
            Some(media) => match body_value(spec, &operation["requestBody"], media) {
                Some((value, source)) => (value, Value::from(source)),
                None => (Value::Null, Value::Null),
            },
            None => (Value::Null, Value::Null),
        };
        out.push(json!({
            "id": op.id,
            "operation_id": op.operation_id,
            "method": op.method,
            "path": op.path,
            "accept": op.accept,
            "content_type": op.content_type,
            "params": params,
            "body": body,
            "body_source": source,
        }));
    }
    Ok(out)
}

/// Follows `$ref`s within the document.
fn resolve<'a>(spec: &'a Value, mut value: &'a Value) -> &'a Value {
    for _ in 0..32 {
        let Some(reference) = value.get("$ref").and_then(Value::as_str) else {
            return value;
        };
        let Some(pointer) = reference.strip_prefix('#') else {
            return value;
        };
        match spec.pointer(pointer) {
            Some(target) => value = target,
            None => return value,
        }
    }
    value
}

fn first_example<'a>(spec: &'a Value, examples: &'a Value) -> Option<&'a Value> {
    examples
        .as_object()?
        .values()
        .find_map(|e| resolve(spec, e).get("value"))
}

fn param_value(spec: &Value, param: &Value) -> Value {
    if let Some(example) = param.get("example") {
        return example.clone();
    }
    if let Some(example) = first_example(spec, &param["examples"]) {
        return example.clone();
    }
    sample(spec, &param["schema"], 0)
}

/// The body to send and where it came from: the spec's example, or a sample of the schema.
fn body_value(spec: &Value, body: &Value, media: &str) -> Option<(Value, &'static str)> {
    let body = resolve(spec, body);
    let content = &body["content"][media];
    if !content.is_object() {
        return None;
    }
    if let Some(example) = content.get("example") {
        return Some((example.clone(), "example"));
    }
    if let Some(example) = first_example(spec, &content["examples"]) {
        return Some((example.clone(), "example"));
    }
    let schema = resolve(spec, &content["schema"]);
    if let Some(example) = schema.get("example") {
        return Some((example.clone(), "example"));
    }
    Some((sample(spec, schema, 0), "sample"))
}

/// Depth past which a sample stops adding properties (the official spec's schemas nest
/// recursively).
const SAMPLE_DEPTH: usize = 6;

/// A value of a schema: its example, default or first enum value where it has one; else
/// every writable property of an object (the required ones only past [`SAMPLE_DEPTH`]),
/// one item of an array (or as few as it allows), and a value of a scalar's pattern,
/// format or type.
pub fn sample(spec: &Value, schema: &Value, depth: usize) -> Value {
    let schema = resolve(spec, schema);
    if depth > 4 * SAMPLE_DEPTH {
        return json!({});
    }
    for key in ["example", "default"] {
        if let Some(value) = schema.get(key) {
            return value.clone();
        }
    }
    if let Some(first) = schema["enum"].as_array().and_then(|e| e.first()) {
        return first.clone();
    }
    if let Some(parts) = schema["allOf"].as_array() {
        let mut merged = Map::new();
        for part in parts {
            match sample(spec, part, depth + 1) {
                Value::Object(map) => merged.extend(map),
                other => return other,
            }
        }
        if let Value::Object(own) = object_sample(spec, schema, depth) {
            merged.extend(own);
        }
        return Value::Object(merged);
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(first) = schema[key].as_array().and_then(|o| o.first()) {
            return sample(spec, first, depth + 1);
        }
    }
    match schema["type"].as_str() {
        Some("array") => {
            let least = schema["minItems"].as_u64().unwrap_or(0) as usize;
            let n = if depth < SAMPLE_DEPTH {
                least.max(1)
            } else {
                least
            };
            Value::Array(
                (0..n)
                    .map(|_| sample(spec, &schema["items"], depth + 1))
                    .collect(),
            )
        }
        Some("string") => Value::String(string_sample(schema)),
        Some("integer") => json!(number_bound(schema).round() as i64),
        Some("number") => json!(number_bound(schema)),
        Some("boolean") => Value::Bool(true),
        _ => object_sample(spec, schema, depth),
    }
}

fn object_sample(spec: &Value, schema: &Value, depth: usize) -> Value {
    let required: Vec<&str> = schema["required"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let mut map = Map::new();
    for (name, written) in schema["properties"].as_object().into_iter().flatten() {
        // `readOnly` may sit beside a `$ref`, or on what it points to.
        let property = resolve(spec, written);
        if written["readOnly"] == Value::Bool(true)
            || property["readOnly"] == Value::Bool(true)
            || (depth >= SAMPLE_DEPTH && !required.contains(&name.as_str()))
        {
            continue;
        }
        map.insert(name.clone(), sample(spec, property, depth + 1));
    }
    Value::Object(map)
}

fn number_bound(schema: &Value) -> f64 {
    match (schema["minimum"].as_f64(), schema["maximum"].as_f64()) {
        (Some(min), _) => min,
        (None, Some(max)) if max < 1.0 => max,
        _ => 1.0,
    }
}

fn string_sample(schema: &Value) -> String {
    if let Some(text) = schema["pattern"]
        .as_str()
        .and_then(|p| pattern_sample(p, schema))
    {
        return text;
    }
    let text = match schema["format"].as_str() {
        Some("date-time") => "2024-01-01T00:00:00Z",
        Some("date") => "2024-01-01",
        Some("email") => "user@example.com",
        Some("uri" | "url") => "https://example.com",
        Some("uuid") => "123e4567-e89b-12d3-a456-426614174000",
        Some("ipv4") => "192.0.2.1",
        _ => "string",
    };
    let mut text = text.to_string();
    let min = schema["minLength"].as_u64().unwrap_or(0) as usize;
    while text.chars().count() < min {
        text.push('x');
    }
    if let Some(max) = schema["maxLength"].as_u64() {
        text = text.chars().take(max as usize).collect();
    }
    text
}

/// A string matching `pattern` as OpenAPI reads it (the runtime's rule) and keeping the
/// schema's lengths: generated from the pattern, checked with the reading the client uses.
fn pattern_sample(pattern: &str, schema: &Value) -> Option<String> {
    use rand::SeedableRng;
    use rand::distr::Distribution;
    let check = crate::normalize::ecma_pattern(pattern).ok()?;
    let bare = pattern.trim_start_matches('^').trim_end_matches('$');
    let generator = rand_regex::Regex::compile(pattern, 8)
        .or_else(|_| rand_regex::Regex::compile(bare, 8))
        .ok()?;
    let min = schema["minLength"].as_u64().unwrap_or(0) as usize;
    let max = schema["maxLength"]
        .as_u64()
        .map_or(usize::MAX, |m| m as usize);
    let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(2024);
    (0..200).find_map(|_| {
        let text: String = generator.sample(&mut rng);
        let n = text.chars().count();
        (n >= min && n <= max && check.find(&text).is_some()).then_some(text)
    })
}

// ---------------------------------------------------------------------------------------
// The driver's operations, from the generated code.

/// A builder's setter: its name, the wire name it sets, and the type it takes.
#[derive(Debug, Clone)]
pub struct Setter {
    pub method: String,
    pub wire: Option<String>,
    pub ty: String,
}

/// Every builder's setters, by builder type name.
pub fn setters(code: &str) -> Result<BTreeMap<String, Vec<Setter>>> {
    let file = syn::parse_file(code).context("the generated code does not parse")?;
    let mut out: BTreeMap<String, Vec<Setter>> = BTreeMap::new();
    let Some(builder) = file.items.iter().find_map(|item| match item {
        syn::Item::Mod(m) if m.ident == "builder" => m.content.as_ref().map(|(_, items)| items),
        _ => None,
    }) else {
        bail!("the generated code has no `builder` module");
    };
    for item in builder {
        let syn::Item::Impl(imp) = item else { continue };
        if imp.trait_.is_some() {
            continue;
        }
        let syn::Type::Path(path) = imp.self_ty.as_ref() else {
            continue;
        };
        let Some(name) = path.path.segments.last().map(|s| s.ident.to_string()) else {
            continue;
        };
        for item in &imp.items {
            let syn::ImplItem::Fn(f) = item else { continue };
            let Some(ty) = f.sig.generics.where_clause.as_ref().and_then(|w| {
                w.predicates.iter().find_map(|p| match p {
                    syn::WherePredicate::Type(t) => t.bounds.iter().find_map(|b| match b {
                        syn::TypeParamBound::Trait(tb) => {
                            let last = tb.path.segments.last()?;
                            if last.ident != "TryInto" {
                                return None;
                            }
                            match &last.arguments {
                                syn::PathArguments::AngleBracketed(a) => {
                                    a.args.first().map(|a| a.to_token_stream().to_string())
                                }
                                _ => None,
                            }
                        }
                        _ => None,
                    }),
                    _ => None,
                })
            }) else {
                continue;
            };
            let doc = crate::glue::doc_text(&f.attrs).unwrap_or_default();
            let wire = doc
                .split_once("Sets `")
                .and_then(|(_, rest)| rest.split_once('`'))
                .map(|(wire, _)| wire.to_string());
            out.entry(name.clone()).or_default().push(Setter {
                method: f.sig.ident.to_string(),
                wire,
                ty,
            });
        }
    }
    Ok(out)
}

/// `ops.rs`: a function per operation setting its case's values through the typed
/// builder, and `call` choosing it.
pub fn ops_source(operations: &[Operation], setters: &BTreeMap<String, Vec<Setter>>) -> String {
    let mut source = String::from(
        "// Written by `cargo xtask official-check --wire`; not part of the repository.\n\
         #![allow(unused_imports)]\n\
         use atlas_official_client::{types, Client};\n\
         use crate::{judge, Case, Outcome};\n\n",
    );
    let mut arms = String::new();
    for op in operations {
        let builder = heck::ToPascalCase::to_pascal_case(op.id.as_str());
        let mut body = format!("    let mut b = client.{}();\n", op.id);
        let mut has_body = false;
        for setter in setters.get(&builder).into_iter().flatten() {
            let ty = setter.ty.replace(' ', "");
            if setter.method == "body" {
                has_body = true;
                body.push_str(&format!(
                    "    let mut sent = None;\n    match case.body::<{ty}>() {{\n        Ok(Some(v)) => {{ sent = serde_json::to_value(&v).ok(); b = b.body(v); }}\n        Ok(None) => {{}}\n        Err(e) => return Outcome::unbuilt(e),\n    }}\n"
                ));
                continue;
            }
            let Some(wire) = op.param_names.iter().find(|n| {
                setter.wire.as_deref() == Some(n.as_str()) || sanitize_snake(n) == setter.method
            }) else {
                continue;
            };
            body.push_str(&format!(
                "    if case.has({wire:?}) {{\n        match case.arg::<{ty}>({wire:?}) {{\n            Ok(v) => b = b.{}(v),\n            Err(e) => return Outcome::unbuilt(e),\n        }}\n    }}\n",
                setter.method
            ));
        }
        if !has_body {
            body.push_str("    let sent = None;\n");
        }
        body.push_str("    judge(b.send().await, sent, case)\n");
        source.push_str(&format!(
            "#[allow(unused_mut, unused_variables)]\nasync fn op_{}(client: &Client, case: &Case) -> Outcome {{\n{body}}}\n\n",
            op.id
        ));
        arms.push_str(&format!(
            "        {:?} => op_{}(client, case).await,\n",
            op.id, op.id
        ));
    }
    source.push_str(&format!(
        "pub async fn call(client: &Client, case: &Case) -> Outcome {{\n    match case.id.as_str() {{\n{arms}        other => Outcome::unbuilt(format!(\"no operation `{{other}}`\")),\n    }}\n}}\n"
    ));
    source
}
