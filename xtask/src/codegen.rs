//! `cargo xtask codegen`: spec -> normalisation -> progenitor -> prettyplease -> file.
//!
//! What is generated lives in `xtask/codegen.toml` (see [`Target`]), read at run time from
//! the workspace the command runs in. Every refusal of a run is collected before it ends:
//! operations the normalisation pass refuses, operations progenitor cannot generate, glue
//! that does not fit, crates the generated code needs that its crate does not declare.
//! Nothing is written unless every target generates.

use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::{Context, Result, anyhow, bail};
use openapiv3::{OpenAPI, ReferenceOr};
use proc_macro2::TokenStream;
use progenitor::{GenerationSettings, Generator, HooksMode, InterfaceStyle, TagStyle};

use crate::normalize::{self, Operation, Refusal};
use crate::{glue, mocks, table};

/// The file, relative to the workspace root, that lists what `cargo xtask codegen` writes.
pub const CONFIG: &str = "xtask/codegen.toml";

/// One generated client: which spec it comes from, where its code goes, and the path of
/// the runtime crate its calls and operation table use. Read from [`CONFIG`]:
///
/// ```toml
/// [[target]]
/// spec = "spec/atlas.yaml"                 # relative to the workspace root
/// output = "generated/src/generated.rs"
/// runtime = "::atlas_runtime"              # optional; this is the default
/// tags = ["Access Tracking"]               # optional; only operations with one of them
/// ```
#[derive(Clone, Debug, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// The spec, relative to the workspace root (or absolute).
    pub spec: PathBuf,
    /// The generated module, relative to the workspace root (or absolute).
    pub output: PathBuf,
    /// Rust path of the runtime crate, as seen from the generated crate.
    #[serde(default = "default_runtime")]
    pub runtime: String,
    /// When not empty, only the operations carrying one of these tags are generated, with
    /// the component schemas they reach.
    #[serde(default)]
    pub tags: Vec<String>,
    /// When set, the typed httpmock mocks of the operations are written to this file,
    /// relative to the workspace root (or absolute). They name the client by the package
    /// of the crate `output` lands in.
    #[serde(default)]
    pub mocks: Option<PathBuf>,
    /// Also generate `send_raw()` beside each typed JSON `send()` (the success body as
    /// sent). Off by default: it doubles each operation's `send` code.
    #[serde(default)]
    pub raw_sends: bool,
}

fn default_runtime() -> String {
    "::atlas_runtime".to_string()
}

impl Target {
    /// A target with the default runtime path and every operation.
    pub fn new(spec: impl Into<PathBuf>, output: impl Into<PathBuf>) -> Self {
        Self {
            spec: spec.into(),
            output: output.into(),
            runtime: default_runtime(),
            tags: Vec::new(),
            mocks: None,
            raw_sends: false,
        }
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    target: Vec<Target>,
}

/// The targets listed in [`CONFIG`] of the workspace at `root`.
pub fn targets(root: &Path) -> Result<Vec<Target>> {
    let path = root.join(CONFIG);
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {CONFIG}"))?;
    let config: Config = toml::from_str(&text).with_context(|| format!("reading {CONFIG}"))?;
    Ok(config.target)
}

/// The root of the workspace the command runs in: the nearest directory, from the current
/// one up, whose `Cargo.toml` has a `[workspace]` table.
pub fn workspace_root() -> Result<PathBuf> {
    let cwd = std::env::current_dir().context("reading the current directory")?;
    find_workspace(&cwd).with_context(|| {
        format!(
            "no Cargo workspace at or above {}; run the command inside the workspace",
            cwd.display()
        )
    })
}

fn find_workspace(from: &Path) -> Option<PathBuf> {
    from.ancestors()
        .find(|dir| {
            std::fs::read_to_string(dir.join("Cargo.toml"))
                .ok()
                .and_then(|text| text.parse::<toml::Table>().ok())
                .is_some_and(|manifest| manifest.contains_key("workspace"))
        })
        .map(Path::to_path_buf)
}

/// Everything a run refused, listed together.
#[derive(Debug)]
pub struct Refused {
    /// The spec, as the target names it.
    pub spec: String,
    pub refusals: Vec<Refusal>,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.refusals.len();
        write!(
            f,
            "{}: {n} {} cannot be generated:",
            self.spec,
            if n == 1 { "construct" } else { "constructs" }
        )?;
        for refusal in &self.refusals {
            write!(f, "\n  - {refusal}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Refused {}

/// What a target needs from the crate its code lands in, beyond progenitor's own needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dependency {
    /// The crate, as the generated code names it.
    pub name: &'static str,
    /// The features it needs.
    pub features: &'static [&'static str],
    /// What in the spec brings it in.
    pub because: &'static str,
    /// The line to add to `[dependencies]`.
    pub suggestion: &'static str,
}

/// The crates a generated file may use by the formats of its spec, beside those every
/// generated client uses (progenitor-client, reqwest, serde, serde_json, regress and the
/// runtime).
const FORMAT_CRATES: &[Dependency] = &[
    Dependency {
        name: "chrono",
        features: &["serde"],
        because: "`format: date-time` (chrono::DateTime<Utc>) or `format: date` (chrono::NaiveDate)",
        suggestion: r#"chrono = { version = "0.4", default-features = false, features = ["std", "serde"] }"#,
    },
    Dependency {
        name: "uuid",
        features: &["serde"],
        because: "`format: uuid` (uuid::Uuid)",
        suggestion: r#"uuid = { version = "1", default-features = false, features = ["std", "serde"] }"#,
    },
];

/// The format crates generated code uses.
pub fn dependencies(code: &str) -> Vec<Dependency> {
    FORMAT_CRATES
        .iter()
        .filter(|d| code.contains(&format!("::{}::", d.name)))
        .cloned()
        .collect()
}

/// Generated code and what it needs.
pub struct Generated {
    pub code: String,
    pub dependencies: Vec<Dependency>,
    /// How many operations it holds.
    pub operations: usize,
    /// The operations as the runtime's table describes them.
    pub table: Vec<normalize::Operation>,
    /// The mocks, when the target asks for them.
    pub mocks: Option<String>,
}

impl Generated {
    /// Each file of a target with its content: the client, then the mocks.
    pub fn files<'a>(&'a self, target: &Target) -> Vec<(Target, &'a str)> {
        let mut files = vec![(target.clone(), self.code.as_str())];
        if let (Some(path), Some(code)) = (&target.mocks, &self.mocks) {
            let mocks = Target {
                output: path.clone(),
                ..target.clone()
            };
            files.push((mocks, code.as_str()));
        }
        files
    }
}

/// Generates the code of one target from the spec on disk, and checks that the crate it
/// lands in (the nearest `Cargo.toml` above the output, if any) declares what it needs.
pub fn generate(root: &Path, target: &Target) -> Result<Generated> {
    let spec_name = target.spec.display().to_string();
    let text = std::fs::read_to_string(root.join(&target.spec))
        .with_context(|| format!("reading {spec_name}"))?;
    // The client crate's name: for the mocks (required) and the doc examples (when known).
    let client_crate = match &target.mocks {
        Some(_) => Some(client_crate(&root.join(&target.output))?),
        None => client_crate(&root.join(&target.output)).ok(),
    };
    // A refusal names the spec already.
    let generated =
        generate_from_str_with_mocks(&text, target, client_crate.as_deref()).map_err(|e| {
            match e.is::<Refused>() {
                true => e,
                false => e.context(format!("generating from {spec_name}")),
            }
        })?;
    if let Some(manifest) = crate_manifest(&root.join(&target.output)) {
        let missing = missing_dependencies(&manifest, &generated.dependencies)?;
        if !missing.is_empty() {
            let shown = manifest.strip_prefix(root).unwrap_or(&manifest).display();
            return Err(Refused {
                spec: spec_name,
                refusals: missing
                    .into_iter()
                    .map(|d| Refusal {
                        subject: format!("{shown}"),
                        reason: format!(
                            "the generated code uses `{}` for {}, but the crate does not \
                             declare it with the feature{} {}; add to [dependencies]: {}",
                            d.name,
                            d.because,
                            if d.features.len() == 1 { "" } else { "s" },
                            d.features.join(", "),
                            d.suggestion
                        ),
                    })
                    .collect(),
            }
            .into());
        }
    }
    Ok(generated)
}

/// Generates the code of one target from spec text (YAML or JSON). Runs on a thread of its
/// own with a large stack: typify recurses through `allOf` / `oneOf` nests as deep as the
/// spec's, and the main thread's 8 MiB do not hold the official spec's.
pub fn generate_from_str(text: &str, target: &Target) -> Result<Generated> {
    generate_from_str_with_mocks(text, target, None)
}

/// [`generate_from_str`], and with `client_crate`, the Rust name of the client crate,
/// compiling doc examples, and the mocks when the target asks for them.
pub fn generate_from_str_with_mocks(
    text: &str,
    target: &Target,
    client_crate: Option<&str>,
) -> Result<Generated> {
    std::thread::scope(|scope| {
        let worker = std::thread::Builder::new()
            .name("codegen".to_string())
            .stack_size(1 << 30)
            .spawn_scoped(scope, || generate_here(text, target, client_crate))
            .context("starting the generator thread")?;
        match worker.join() {
            Ok(outcome) => outcome,
            Err(payload) => panic::resume_unwind(payload),
        }
    })
}

fn generate_here(text: &str, target: &Target, client_crate: Option<&str>) -> Result<Generated> {
    let spec_name = target.spec.display().to_string();
    let phases = Phases::new();
    let spec: OpenAPI =
        serde_norway::from_str(text).context("the spec is not a valid OpenAPI 3.0 document")?;
    phases.done("parse");
    let normalized = normalize::normalize(spec, &target.tags)?;
    phases.done("normalise");
    let runtime = TokenStream::from_str(&target.runtime)
        .map_err(|e| anyhow!("runtime path `{}`: {e}", target.runtime))?;
    let mut refused = normalized.refused;
    let client = run_progenitor(&normalized.spec, &runtime, &mut refused);
    phases.done("progenitor");
    let client = match client {
        Some(client) if refused.is_empty() => client,
        _ => {
            return Err(Refused {
                spec: spec_name,
                refusals: refused,
            }
            .into());
        }
    };

    let mut file: syn::File =
        syn::parse2(client).context("progenitor produced code that does not parse")?;
    phases.done("syn");
    remove_timeout_constructor(&mut file);
    if is_atlas_error_body(&normalized.spec) {
        name_error_body(&mut file, &runtime);
    }
    polish_literals(&mut file, &normalized.spec);
    if let Err(refusals) = glue::rewrite(
        &mut file,
        &normalized.operations,
        &runtime,
        target.raw_sends,
    ) {
        return Err(Refused {
            spec: spec_name,
            refusals,
        }
        .into());
    }
    if let Some(name) = client_crate {
        glue::examples(&mut file, &normalized.operations, name);
    }
    let duplicates = duplicate_type_names(&file);
    if !duplicates.is_empty() {
        return Err(Refused {
            spec: spec_name,
            refusals: duplicates
                .into_iter()
                .map(|name| Refusal {
                    subject: format!("type `types::{name}`"),
                    reason: "two schemas of the spec would generate a type of this name; \
                             rename one of them"
                        .to_string(),
                })
                .collect(),
        }
        .into());
    }
    let table: syn::File = syn::parse2(table::tokens(&normalized.operations, &runtime))
        .context("the operation table does not parse")?;
    file.items.extend(table.items);
    let glue: syn::File =
        syn::parse2(glue::items(&runtime)).context("the runtime glue does not parse")?;
    file.items.extend(glue.items);
    phases.done("glue");
    let body = prettyplease::unparse(&file);
    phases.done("prettyplease");
    check_operation_ids(&body, &normalized.operations)?;

    let header = format!(
        "// Generated by `cargo xtask codegen` from {spec_name} with progenitor 0.15.1.\n\
         // Do not edit: change the spec or the xtask, then run `cargo xtask codegen`.\n\n"
    );
    let mocks = target
        .mocks
        .as_ref()
        .and(client_crate)
        .map(|name| {
            mocks::generate(
                &normalized.spec,
                &normalized.operations,
                &settings(&normalized.spec, &runtime),
                name,
                &runtime,
            )
        })
        .transpose()?
        .map(|body| format!("{header}{body}"));
    phases.done("mocks");
    let code = format!("{header}{body}");
    Ok(Generated {
        dependencies: dependencies(&code),
        operations: normalized.operations.len(),
        table: normalized.operations.clone(),
        code,
        mocks,
    })
}

/// With `XTASK_TIMINGS=1`, the time each phase of a generation takes, on stderr.
struct Phases {
    last: std::cell::Cell<std::time::Instant>,
    on: bool,
}

impl Phases {
    fn new() -> Self {
        Self {
            last: std::cell::Cell::new(std::time::Instant::now()),
            on: std::env::var_os("XTASK_TIMINGS").is_some_and(|v| v == "1"),
        }
    }

    fn done(&self, phase: &str) {
        if self.on {
            let now = std::time::Instant::now();
            eprintln!("  {phase}: {:.2?}", now - self.last.get());
            self.last.set(now);
        }
    }
}

/// Names defined twice in the generated `types` module (which would not compile).
fn duplicate_type_names(file: &syn::File) -> Vec<String> {
    let mut seen = std::collections::BTreeSet::new();
    let mut twice = std::collections::BTreeSet::new();
    for item in crate::glue::module_items(file, "types") {
        let name = match item {
            syn::Item::Struct(s) => &s.ident,
            syn::Item::Enum(e) => &e.ident,
            syn::Item::Type(t) => &t.ident,
            _ => continue,
        };
        if !seen.insert(name.to_string()) {
            twice.insert(name.to_string());
        }
    }
    twice.into_iter().collect()
}

/// The Rust name (`atlas_client`) of the crate a file belongs to.
fn client_crate(file: &Path) -> Result<String> {
    let manifest = crate_manifest(file)
        .with_context(|| format!("no crate around {} to name in the mocks", file.display()))?;
    let table: toml::Table = std::fs::read_to_string(&manifest)?.parse()?;
    let name = table
        .get("package")
        .and_then(|p| p.get("name"))
        .and_then(|n| n.as_str())
        .with_context(|| format!("{} names no package", manifest.display()))?;
    Ok(name.replace('-', "_"))
}

/// The manifest of the crate a file belongs to: the nearest `Cargo.toml` above it that
/// has a `[package]`.
pub fn crate_manifest(file: &Path) -> Option<PathBuf> {
    file.ancestors().skip(1).find_map(|dir| {
        let path = dir.join("Cargo.toml");
        let manifest: toml::Table = std::fs::read_to_string(&path).ok()?.parse().ok()?;
        manifest.contains_key("package").then_some(path)
    })
}

/// The dependencies a crate's manifest lacks, or declares without a needed feature.
/// Workspace-inherited dependencies (`workspace = true`) are looked up in the workspace's
/// manifest; their features add up.
pub fn missing_dependencies(manifest: &Path, needed: &[Dependency]) -> Result<Vec<Dependency>> {
    let read = |path: &Path| -> Result<toml::Table> {
        std::fs::read_to_string(path)
            .with_context(|| format!("reading {}", path.display()))?
            .parse()
            .with_context(|| format!("reading {}", path.display()))
    };
    let own = read(manifest)?;
    let workspace = match own.contains_key("workspace") {
        true => Some(own.clone()),
        false => manifest
            .parent()
            .and_then(|dir| dir.parent())
            .and_then(find_workspace)
            .map(|root| read(&root.join("Cargo.toml")))
            .transpose()?,
    };
    let section = |table: &toml::Table, path: &[&str]| -> Option<toml::Table> {
        let mut current = table;
        for key in path {
            current = current.get(*key)?.as_table()?;
        }
        Some(current.clone())
    };
    let deps = section(&own, &["dependencies"]).unwrap_or_default();
    let shared = workspace
        .as_ref()
        .and_then(|w| section(w, &["workspace", "dependencies"]))
        .unwrap_or_default();
    let features_of = |value: &toml::Value| -> (bool, Vec<String>) {
        let Some(table) = value.as_table() else {
            // `name = "version"`: default features only.
            return (false, Vec::new());
        };
        let features = table
            .get("features")
            .and_then(toml::Value::as_array)
            .map(|list| {
                list.iter()
                    .filter_map(|f| f.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        (
            table.get("workspace").and_then(toml::Value::as_bool) == Some(true),
            features,
        )
    };
    let mut missing = Vec::new();
    for need in needed {
        let Some(declared) = deps.get(need.name) else {
            missing.push(need.clone());
            continue;
        };
        let (inherited, mut features) = features_of(declared);
        if inherited && let Some(base) = shared.get(need.name) {
            features.extend(features_of(base).1);
        }
        if !need
            .features
            .iter()
            .all(|f| features.iter().any(|g| g == f))
        {
            missing.push(need.clone());
        }
    }
    Ok(missing)
}

fn settings(spec: &OpenAPI, runtime: &TokenStream) -> GenerationSettings {
    let mut settings = GenerationSettings::default();
    settings
        .with_interface(InterfaceStyle::Builder)
        .with_tag(TagStyle::Merged)
        // Nothing calls progenitor's hooks: the glue hands each request to the runtime.
        .with_hooks(HooksMode::Optional)
        .with_derive("PartialEq")
        .with_inner_type(quote::quote!(#runtime::Runtime));
    if is_atlas_error_body(spec) {
        settings.with_replacement(
            ATLAS_ERROR_SCHEMA,
            format!("{runtime}::ErrorBody").replace(' ', ""),
            std::iter::empty(),
        );
    }
    settings
}

/// The schema of Atlas's error body, as Atlas's specs name it.
const ATLAS_ERROR_SCHEMA: &str = "ApiError";

/// Whether the spec's `ApiError` is Atlas's error body as the runtime's `ErrorBody` reads
/// it, so that generated code decodes error answers into that one type: `error` (integer)
/// and `errorCode` (string) required, and no property `ErrorBody` lacks or reads as
/// another type. Any other `ApiError` is generated from the spec as it stands, so that no
/// answer the spec allows fails to decode.
fn is_atlas_error_body(spec: &OpenAPI) -> bool {
    use openapiv3::{ReferenceOr, SchemaKind, Type};
    let Some(ReferenceOr::Item(schema)) = spec
        .components
        .as_ref()
        .and_then(|c| c.schemas.get(ATLAS_ERROR_SCHEMA))
    else {
        return false;
    };
    let SchemaKind::Type(Type::Object(object)) = &schema.schema_kind else {
        return false;
    };
    // Required, and never null: `ErrorBody` holds them as an integer and a string.
    let required = ["error", "errorCode"].iter().all(|name| {
        object.required.iter().any(|r| r == name)
            && matches!(object.properties.get(*name), Some(ReferenceOr::Item(p)) if !p.schema_data.nullable)
    });
    let type_of = |name: &str| match object.properties.get(name) {
        Some(ReferenceOr::Item(p)) => match &p.schema_kind {
            SchemaKind::Type(Type::Integer(_)) => Some("integer"),
            SchemaKind::Type(Type::String(_)) => Some("string"),
            SchemaKind::Type(Type::Array(_)) => Some("array"),
            _ => Some("other"),
        },
        Some(ReferenceOr::Reference { .. }) => Some("other"),
        None => None,
    };
    let readable = object.properties.keys().all(|name| match name.as_str() {
        "error" => type_of(name) == Some("integer"),
        "errorCode" | "detail" | "reason" => type_of(name) == Some("string"),
        "parameters" => type_of(name) == Some("array"),
        // Read as any JSON value.
        "badRequestDetail" => true,
        _ => false,
    });
    required && readable && !object.properties.is_empty()
}

/// `types::ApiError`, the name Atlas's spec gives its error body, for the runtime's
/// `ErrorBody` that progenitor was told to use in its place.
fn name_error_body(file: &mut syn::File, runtime: &TokenStream) {
    let name = quote::format_ident!("{ATLAS_ERROR_SCHEMA}");
    for item in &mut file.items {
        if let syn::Item::Mod(module) = item
            && module.ident == "types"
            && let Some((_, items)) = &mut module.content
        {
            items.insert(
                0,
                syn::parse_quote! {
                    /// Atlas's error body, as every Atlas operation sends it: the runtime's
                    /// `ErrorBody`, which keeps the bytes received.
                    pub use #runtime::ErrorBody as #name;
                },
            );
        }
    }
}

/// Runs progenitor. When it fails, finds every operation at fault (halving the set of
/// operations until each failing one stands alone) and adds each to `refused`.
fn run_progenitor(
    spec: &OpenAPI,
    runtime: &TokenStream,
    refused: &mut Vec<Refusal>,
) -> Option<TokenStream> {
    let settings = settings(spec, runtime);
    let whole = match attempt(spec, &settings) {
        Ok(tokens) => return Some(tokens),
        Err(whole) => whole,
    };
    let operations = operation_keys(spec);
    // The component schemas alone; when they fail, each one at fault, by name.
    let schemas_only = with_operations(spec, &[]);
    if let Err(reason) = attempt(&schemas_only, &settings) {
        let names: Vec<String> = schemas_only
            .components
            .as_ref()
            .map(|c| c.schemas.keys().cloned().collect())
            .unwrap_or_default();
        let before = refused.len();
        isolate_schemas(&schemas_only, &settings, &names, refused);
        if refused.len() == before {
            refused.push(Refusal {
                subject: "the component schemas".to_string(),
                reason: format!("progenitor cannot generate them: {}", first_line(&reason)),
            });
        }
        return None;
    }
    let before = refused.len();
    isolate(spec, &settings, &operations, refused);
    if refused.len() == before {
        refused.push(Refusal {
            subject: "the spec".to_string(),
            reason: format!(
                "progenitor cannot generate it, though it can each operation alone: {}",
                first_line(&whole)
            ),
        });
    }
    None
}

/// `(path, method)` of every operation.
fn operation_keys(spec: &OpenAPI) -> Vec<(String, &'static str)> {
    let mut keys = Vec::new();
    for (path, item) in &spec.paths.paths {
        let ReferenceOr::Item(item) = item else {
            continue;
        };
        let mut item = item.clone();
        for (method, slot) in normalize::operation_slots(&mut item) {
            if slot.is_some() {
                keys.push((path.clone(), method));
            }
        }
    }
    keys
}

/// Bisects `operations` for the ones progenitor cannot generate. Attempts keep only the
/// components the operations reach, which makes them cheap.
fn isolate(
    spec: &OpenAPI,
    settings: &GenerationSettings,
    operations: &[(String, &'static str)],
    refused: &mut Vec<Refusal>,
) {
    let mut part = with_operations(spec, operations);
    normalize::prune_components(&mut part);
    let Err(reason) = attempt(&part, settings) else {
        return;
    };
    if let [(path, method)] = operations {
        let id = spec
            .paths
            .paths
            .get(path)
            .and_then(|item| item.as_item())
            .and_then(|item| {
                item.iter()
                    .find(|(m, _)| m == method)
                    .and_then(|(_, op)| op.operation_id.clone())
            });
        refused.push(Refusal {
            subject: normalize::label(id.as_deref(), method, path),
            reason: format!("progenitor cannot generate it: {}", first_line(&reason)),
        });
        return;
    }
    let (left, right) = operations.split_at(operations.len() / 2);
    isolate(spec, settings, left, refused);
    isolate(spec, settings, right, refused);
}

/// Bisects the component schemas `names` of `spec` (which holds no operation) for the ones
/// progenitor cannot generate, each tried with the schemas it reaches.
fn isolate_schemas(
    spec: &OpenAPI,
    settings: &GenerationSettings,
    names: &[String],
    refused: &mut Vec<Refusal>,
) {
    if names.is_empty() {
        return;
    }
    let mut part = spec.clone();
    normalize::prune_components_from(&mut part, names);
    let Err(reason) = attempt(&part, settings) else {
        return;
    };
    if let [name] = names {
        let place = match property_at_fault(&part, settings, name) {
            Some(property) => format!("property `{property}`: "),
            None => String::new(),
        };
        refused.push(Refusal {
            subject: format!("schema `{name}`"),
            reason: format!(
                "{place}progenitor cannot generate it (or a schema it refers to): {}",
                first_line(&reason)
            ),
        });
        return;
    }
    let (left, right) = names.split_at(names.len() / 2);
    isolate_schemas(spec, settings, left, refused);
    isolate_schemas(spec, settings, right, refused);
}

/// The property of the component schema `name` without which `spec` generates, if one is.
fn property_at_fault(spec: &OpenAPI, settings: &GenerationSettings, name: &str) -> Option<String> {
    let schema = serde_json::to_value(spec.components.as_ref()?.schemas.get(name)?).ok()?;
    let properties = schema.get("properties")?.as_object()?;
    properties.keys().find_map(|property| {
        let mut without = schema.clone();
        without["properties"].as_object_mut()?.remove(property);
        let mut part = spec.clone();
        part.components
            .as_mut()?
            .schemas
            .insert(name.to_string(), serde_json::from_value(without).ok()?);
        attempt(&part, settings).is_ok().then(|| property.clone())
    })
}

/// A copy of the spec holding only the given operations.
fn with_operations(spec: &OpenAPI, operations: &[(String, &'static str)]) -> OpenAPI {
    let mut part = spec.clone();
    part.paths
        .paths
        .retain(|path, _| operations.iter().any(|(p, _)| p == path));
    for (path, item) in part.paths.paths.iter_mut() {
        let ReferenceOr::Item(item) = item else {
            continue;
        };
        for (method, slot) in normalize::operation_slots(item) {
            if !operations.iter().any(|(p, m)| p == path && *m == method) {
                *slot = None;
            }
        }
    }
    part
}

thread_local! {
    /// Set while progenitor runs on this thread: its panics are refusals, not crashes, so
    /// their default message is not printed.
    static QUIET: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs progenitor, turning its panics into errors.
fn attempt(
    spec: &OpenAPI,
    settings: &GenerationSettings,
) -> std::result::Result<TokenStream, String> {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !QUIET.with(std::cell::Cell::get) {
                previous(info);
            }
        }));
    });
    QUIET.with(|q| q.set(true));
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
        Generator::new(settings).generate_tokens(spec)
    }));
    QUIET.with(|q| q.set(false));
    match outcome {
        Ok(Ok(tokens)) => Ok(tokens),
        Ok(Err(e)) => Err(e.to_string()),
        Err(payload) => Err(payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "it panicked".to_string())),
    }
}

/// The gist of a panic message: its first line, without a trailing `Debug` dump.
fn first_line(message: &str) -> &str {
    let line = message.lines().next().unwrap_or_default();
    match line.strip_suffix('{') {
        Some(open) => open.rsplit_once(": ").map_or(line, |(gist, _)| gist),
        None => line,
    }
}

/// progenitor's `Client::new` builds a reqwest client with a 15 s *total* timeout, which
/// cuts long downloads mid-stream. The crate's own builder replaces it.
fn remove_timeout_constructor(file: &mut syn::File) {
    for item in &mut file.items {
        let syn::Item::Impl(imp) = item else { continue };
        let is_client = imp.trait_.is_none()
            && matches!(&*imp.self_ty, syn::Type::Path(p) if p.path.is_ident("Client"));
        if is_client {
            imp.items
                .retain(|i| !matches!(i, syn::ImplItem::Fn(f) if f.sig.ident == "new"));
        }
    }
}

/// Three rewrites of progenitor's string literals:
/// - it reports a missing required parameter as "group_id was not initialized"; say
///   instead which parameter, by its name on the wire, and that it is required;
/// - it reports a value of the wrong type as ``conversion to `i64` for n_logs failed``;
///   say which parameter, by its name on the wire, and what it must be;
/// - its doc examples are sketches with unbound variables, marked `ignore`; mark them
///   `text`, so they read the same and are not counted as ignored tests.
fn polish_literals(file: &mut syn::File, spec: &OpenAPI) {
    use syn::visit_mut::VisitMut;

    struct Rewrite(std::collections::BTreeMap<String, String>);
    impl VisitMut for Rewrite {
        fn visit_lit_str_mut(&mut self, lit: &mut syn::LitStr) {
            let value = lit.value();
            if let Some(rust_name) = value.strip_suffix(" was not initialized")
                && let Some(wire) = self.0.get(rust_name)
            {
                *lit = syn::LitStr::new(&format!("parameter `{wire}` is required"), lit.span());
            } else if let Some(message) = glue::conversion_message(&value, &self.0) {
                *lit = syn::LitStr::new(&message, lit.span());
            } else if value.contains("```ignore") {
                *lit = syn::LitStr::new(&value.replace("```ignore", "```text"), lit.span());
            }
        }
    }

    let mut names = std::collections::BTreeMap::new();
    let component_params = spec.components.as_ref().map(|c| &c.parameters);
    let params = spec
        .paths
        .paths
        .values()
        .filter_map(|item| item.as_item())
        .flat_map(|item| item.iter().flat_map(|(_, op)| op.parameters.iter()))
        .chain(component_params.into_iter().flat_map(|p| p.values()));
    for param in params {
        let resolved = match param {
            ReferenceOr::Item(p) => Some(p),
            ReferenceOr::Reference { reference } => reference
                .strip_prefix("#/components/parameters/")
                .and_then(|name| component_params?.get(name))
                .and_then(|p| p.as_item()),
        };
        if let Some(p) = resolved {
            let wire = &p.parameter_data_ref().name;
            let rust = normalize::sanitize_snake(wire);
            // A keyword gets a trailing underscore (`type` -> `type_`).
            names.insert(format!("{rust}_"), wire.clone());
            names.insert(rust, wire.clone());
        }
    }
    Rewrite(names).visit_file_mut(file);
}

/// The runtime finds an operation by the id each `send()` passes to `Runtime::call`; make
/// sure the table uses the same ids, and that no `send()` still calls progenitor's hooks
/// (whose default `exec` would send without credentials or retries).
fn check_operation_ids(code: &str, operations: &[Operation]) -> Result<()> {
    for hook in [".exec(request", ".pre(&mut request", ".post(&result"] {
        if code.contains(hook) {
            bail!(
                "the generated code still calls a progenitor hook (`{hook}`): the glue must route every send() through the runtime"
            );
        }
    }
    let marker = "operation_id: \"";
    let named: std::collections::BTreeSet<&str> = code
        .match_indices(marker)
        .filter_map(|(at, _)| code[at + marker.len()..].split('"').next())
        .collect();
    for op in operations {
        if !named.contains(op.id.as_str()) {
            bail!(
                "operation `{}`: progenitor names it differently from `{}`; the runtime would \
                 not find its media type. Choose an operationId made of letters and digits",
                op.operation_id,
                op.id
            );
        }
    }
    Ok(())
}

/// How a committed file compares with what the spec produces.
pub enum Freshness {
    UpToDate,
    Stale { diff: String },
}

/// Compares the committed output of a target with generated code.
pub fn compare(root: &Path, target: &Target, fresh: &str) -> Freshness {
    let output = target.output.display().to_string();
    let committed = std::fs::read_to_string(root.join(&target.output)).unwrap_or_default();
    if committed == fresh {
        return Freshness::UpToDate;
    }
    let diff = similar::TextDiff::from_lines(committed.as_str(), fresh)
        .unified_diff()
        .context_radius(2)
        .header(
            &format!("{output} (committed)"),
            &format!("{output} (from {})", target.spec.display()),
        )
        .to_string();
    Freshness::Stale { diff }
}

/// Compares the committed output of a target with freshly generated code.
pub fn check(root: &Path, target: &Target) -> Result<Freshness> {
    let fresh = generate(root, target)?;
    for (file, code) in fresh.files(target) {
        if let Freshness::Stale { diff } = compare(root, &file, code) {
            return Ok(Freshness::Stale { diff });
        }
    }
    Ok(Freshness::UpToDate)
}

/// Writes generated code, touching the file only when it changes.
pub fn write(root: &Path, target: &Target, code: &str) -> Result<bool> {
    let path = root.join(&target.output);
    if std::fs::read_to_string(&path).ok().as_deref() == Some(code) {
        return Ok(false);
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(&path, code).with_context(|| format!("writing {}", target.output.display()))?;
    Ok(true)
}
