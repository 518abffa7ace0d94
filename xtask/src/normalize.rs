//! The normalisation pass: turns an Atlas-style OpenAPI document into one progenitor can
//! generate from, and records what the generated client needs to know at run time
//! (media types and parameter rules) in an [`Operation`] table.
//!
//! What it rewrites, and why:
//! - `x-xgen-operation-id-override` replaces the `operationId`, so methods carry the short
//!   names the Atlas SDK and CLI use.
//! - Versioned JSON media types (`application/vnd.atlas.<date>+json`) become
//!   `application/json`, the only type progenitor decodes or encodes; the original is
//!   recorded and sent by the runtime as `Accept`/`Content-Type`. When an operation offers
//!   several versions, the newest wins.
//! - Binary media types (`+gzip`, ...) become `application/octet-stream` (a byte stream).
//! - A media type without a schema means "no body" (Atlas writes its 204s that way).
//! - Inline schemas of shared parameters become named component schemas, so a shared
//!   parameter yields one type rather than one per operation.
//! - Parameter constraints (pattern, bounds, lengths, `x-requires`, `x-not-after`) move from
//!   the parameter schemas into the table: the runtime checks them before any request and
//!   names the parameter and the rule, which progenitor's builder cannot do.
//! - Error responses that mix a JSON body with no body keep only the JSON ones typed; the
//!   others arrive as unexpected responses, status intact.
//!
//! What it refuses, with the operation named: missing or duplicate ids, parameter styles
//! other than path/simple, query/form and header/simple, cookie parameters, several request
//! media types of different kinds, success responses of different kinds, error responses
//! with different schemas, patterns that do not compile, and OpenAPI other than 3.0.x.

use std::collections::BTreeMap;

use anyhow::{Context, Result, bail};
use heck::{ToPascalCase, ToSnakeCase};
use indexmap::IndexMap;
use openapiv3::{
    Components, MediaType, OpenAPI, Operation as SpecOperation, Parameter, ParameterData,
    ParameterSchemaOrContent, PathItem, QueryStyle, ReferenceOr, RequestBody, Response, Schema,
    SchemaKind, StatusCode, Type,
};
use serde_json::Value;

/// What the runtime needs to know about one operation.
#[derive(Clone, Debug, PartialEq)]
pub struct Operation {
    /// The method name progenitor generates (snake_case of the effective operation id); the
    /// runtime looks operations up by it.
    pub id: String,
    /// The `operationId` as written in the spec (the official Atlas name).
    pub operation_id: String,
    /// HTTP method, upper case.
    pub method: String,
    /// Path template, such as `/api/atlas/v2/groups/{groupId}`.
    pub path: String,
    /// The one media type sent as `Accept`.
    pub accept: String,
    /// The media type sent as `Content-Type` with the request body, if there is one.
    pub content_type: Option<String>,
    /// Parameters that carry rules the runtime enforces.
    pub params: Vec<ParamRule>,
    /// Every parameter's name on the wire, in the spec's order.
    pub param_names: Vec<String>,
    /// Parameters marked `x-ip-address: true`: sent in the one form Atlas stores.
    pub ip_params: Vec<String>,
    /// Whether the success body is binary, handed to the caller as a stream.
    pub streamed: bool,
    /// Whether the spec marks the operation deprecated.
    pub deprecated: bool,
}

/// Where a parameter travels.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Location {
    Path,
    Query,
    Header,
}

/// A numeric bound, kept in the parameter's own type.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Bound {
    Integer(i64),
    Number(f64),
}

/// The rules of one parameter.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamRule {
    pub name: String,
    pub location: Location,
    pub pattern: Option<String>,
    pub minimum: Option<Bound>,
    pub maximum: Option<Bound>,
    pub min_length: Option<usize>,
    pub max_length: Option<usize>,
    pub requires: Vec<String>,
    pub not_after: Option<String>,
}

impl ParamRule {
    fn is_empty(&self) -> bool {
        self.pattern.is_none()
            && self.minimum.is_none()
            && self.maximum.is_none()
            && self.min_length.is_none()
            && self.max_length.is_none()
            && self.requires.is_empty()
            && self.not_after.is_none()
    }
}

/// The spec as progenitor should see it, and the operation table.
pub struct Normalized {
    pub spec: OpenAPI,
    pub operations: Vec<Operation>,
}

/// The extension that names the short operation id Atlas's SDK and CLI use.
const ID_OVERRIDE: &str = "x-xgen-operation-id-override";

/// The extension that marks a string parameter as an IP address, parsed and sent in the
/// one form Atlas stores (dotted IPv4, or IPv6 with all eight groups, lower case).
const IP_ADDRESS: &str = "x-ip-address";

/// Runs the normalisation pass over a parsed spec.
pub fn normalize(mut spec: OpenAPI) -> Result<Normalized> {
    if !spec.openapi.starts_with("3.0.") {
        bail!(
            "the spec declares OpenAPI {}; the generator takes OpenAPI 3.0.x only",
            spec.openapi
        );
    }
    let mut components = spec.components.take().unwrap_or_default();
    hoist_parameter_schemas(&mut components)?;

    let mut operations = Vec::new();
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    for (path, item) in spec.paths.paths.iter_mut() {
        let ReferenceOr::Item(item) = item else {
            bail!("path {path}: path items given by $ref are not supported; write them inline");
        };
        let shared_params = std::mem::take(&mut item.parameters);
        for (method, slot) in operation_slots(item) {
            let Some(op) = slot else { continue };
            let where_ = format!("{} {path}", method.to_ascii_uppercase());
            let record = normalize_operation(op, &shared_params, &components, method, path)
                .with_context(|| match &op.operation_id {
                    Some(id) => format!("operation `{id}` ({where_})"),
                    None => where_.clone(),
                })?;
            if let Some(other) = seen.insert(record.id.clone(), record.operation_id.clone()) {
                bail!(
                    "operations `{other}` and `{}` would both generate the method `{}`; \
                     give one of them another operationId or {ID_OVERRIDE}",
                    record.operation_id,
                    record.id
                );
            }
            operations.push(record);
        }
    }
    strip_parameter_constraints(&mut components);
    spec.components = Some(components);
    Ok(Normalized { spec, operations })
}

pub(crate) fn operation_slots(
    item: &mut PathItem,
) -> [(&'static str, &mut Option<SpecOperation>); 8] {
    [
        ("get", &mut item.get),
        ("put", &mut item.put),
        ("post", &mut item.post),
        ("delete", &mut item.delete),
        ("options", &mut item.options),
        ("head", &mut item.head),
        ("patch", &mut item.patch),
        ("trace", &mut item.trace),
    ]
}

/// Shared parameters with a pattern or an enumeration get their schema moved to
/// `components/schemas` under the parameter's name, so every operation shares one type.
fn hoist_parameter_schemas(components: &mut Components) -> Result<()> {
    for (key, param) in components.parameters.iter_mut() {
        let ReferenceOr::Item(param) = param else {
            continue;
        };
        let data = parameter_data_mut(param);
        let ParameterSchemaOrContent::Schema(ReferenceOr::Item(schema)) = &data.format else {
            continue;
        };
        if !deserves_a_type(schema) {
            continue;
        }
        let name = data.name.to_pascal_case();
        let schema = ReferenceOr::Item(schema.clone());
        match components.schemas.get(&name) {
            Some(existing) if *existing != schema => bail!(
                "parameter `{key}`: its schema would become components/schemas/{name}, \
                 which already holds a different schema; reference one or rename the other"
            ),
            _ => {
                components.schemas.insert(name.clone(), schema);
            }
        }
        data.format = ParameterSchemaOrContent::Schema(ReferenceOr::ref_(&format!(
            "#/components/schemas/{name}"
        )));
    }
    Ok(())
}

fn deserves_a_type(schema: &Schema) -> bool {
    match &schema.schema_kind {
        SchemaKind::Type(Type::String(s)) => s.pattern.is_some() || !s.enumeration.is_empty(),
        SchemaKind::Type(Type::Integer(i)) => !i.enumeration.is_empty(),
        _ => false,
    }
}

fn normalize_operation(
    op: &mut SpecOperation,
    shared_params: &[ReferenceOr<Parameter>],
    components: &Components,
    method: &str,
    path: &str,
) -> Result<Operation> {
    let Some(official_id) = op.operation_id.clone() else {
        bail!("the operation has no operationId; every operation needs a unique one");
    };
    let effective_id = match op.extensions.get(ID_OVERRIDE) {
        None => official_id.clone(),
        Some(Value::String(short)) if !short.is_empty() => short.clone(),
        Some(other) => bail!("{ID_OVERRIDE} must be a non-empty string, found {other}"),
    };
    op.operation_id = Some(effective_id.clone());

    // Path-level parameters apply unless the operation redefines one of the same name.
    let own: Vec<String> = op
        .parameters
        .iter()
        .map(|p| resolve_parameter(p, components).map(|p| p.parameter_data_ref().name.clone()))
        .collect::<Result<_>>()?;
    for shared in shared_params.iter().rev() {
        let name = &resolve_parameter(shared, components)?
            .parameter_data_ref()
            .name;
        if !own.contains(name) {
            op.parameters.insert(0, shared.clone());
        }
    }
    let mut params = Vec::new();
    for param in op.parameters.iter_mut() {
        if let Some(rule) = normalize_parameter(param, components)? {
            params.push(rule);
        }
    }
    let names: Vec<String> = op
        .parameters
        .iter()
        .map(|p| resolve_parameter(p, components).map(|p| p.parameter_data_ref().name.clone()))
        .collect::<Result<_>>()?;
    for rule in &params {
        for other in rule.requires.iter().chain(&rule.not_after) {
            if !names.contains(other) {
                bail!(
                    "parameter `{}` refers to `{other}`, which the operation does not have",
                    rule.name
                );
            }
        }
    }

    let mut ip_params = Vec::new();
    for param in &op.parameters {
        let data = resolve_parameter(param, components)?.parameter_data_ref();
        match data.extensions.get(IP_ADDRESS) {
            None | Some(Value::Bool(false)) => {}
            Some(Value::Bool(true)) => ip_params.push(data.name.clone()),
            Some(other) => bail!(
                "parameter `{}`: {IP_ADDRESS} must be true or false, found {other}",
                data.name
            ),
        }
    }
    let (accept, version, streamed) = normalize_success(op, components, path)?;
    let content_type = match &mut op.request_body {
        None => None,
        Some(body) => normalize_request_body(body, components, version.as_deref())?,
    };
    normalize_errors(op, components)?;

    Ok(Operation {
        id: sanitize_snake(&effective_id),
        operation_id: official_id,
        method: method.to_ascii_uppercase(),
        path: path.to_string(),
        accept,
        content_type,
        params,
        param_names: names,
        ip_params,
        streamed,
        deprecated: op.deprecated,
    })
}

/// The method name progenitor derives from an operation id (its `sanitize` in snake case).
pub fn sanitize_snake(id: &str) -> String {
    let cleaned: String = id
        .replace('\'', "")
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let out = cleaned.to_snake_case();
    match out.chars().next() {
        None => "x".to_string(),
        Some(c) if c.is_alphabetic() || c == '_' => out,
        Some(_) => format!("_{out}"),
    }
}

fn parameter_data_mut(param: &mut Parameter) -> &mut ParameterData {
    match param {
        Parameter::Query { parameter_data, .. }
        | Parameter::Header { parameter_data, .. }
        | Parameter::Path { parameter_data, .. }
        | Parameter::Cookie { parameter_data, .. } => parameter_data,
    }
}

fn resolve_parameter<'a>(
    param: &'a ReferenceOr<Parameter>,
    components: &'a Components,
) -> Result<&'a Parameter> {
    match param {
        ReferenceOr::Item(p) => Ok(p),
        ReferenceOr::Reference { reference } => {
            let name = reference
                .strip_prefix("#/components/parameters/")
                .with_context(|| format!("unsupported parameter reference {reference}"))?;
            match components.parameters.get(name) {
                Some(ReferenceOr::Item(p)) => Ok(p),
                Some(ReferenceOr::Reference { .. }) => {
                    bail!("parameter reference {reference} points at another reference")
                }
                None => bail!("parameter reference {reference} points at nothing"),
            }
        }
    }
}

fn resolve_schema<'a>(
    schema: &'a ReferenceOr<Schema>,
    components: &'a Components,
) -> Result<&'a Schema> {
    let mut current = schema;
    for _ in 0..16 {
        match current {
            ReferenceOr::Item(s) => return Ok(s),
            ReferenceOr::Reference { reference } => {
                let name = reference
                    .strip_prefix("#/components/schemas/")
                    .with_context(|| format!("unsupported schema reference {reference}"))?;
                current = components
                    .schemas
                    .get(name)
                    .with_context(|| format!("schema reference {reference} points at nothing"))?;
            }
        }
    }
    bail!("schema references nest too deeply")
}

/// Checks a parameter's style and records its rules. Constraints of inline schemas are
/// stripped here; those of shared parameters after every operation has read them.
fn normalize_parameter(
    param: &mut ReferenceOr<Parameter>,
    components: &Components,
) -> Result<Option<ParamRule>> {
    let resolved = resolve_parameter(param, components)?;
    let location = match resolved {
        Parameter::Path {
            style: openapiv3::PathStyle::Simple,
            ..
        } => Location::Path,
        Parameter::Query {
            style: QueryStyle::Form,
            ..
        } => Location::Query,
        Parameter::Header { .. } => Location::Header,
        Parameter::Path {
            parameter_data,
            style,
        } => bail!(
            "path parameter `{}` uses style `{}`; only `simple` is supported",
            parameter_data.name,
            spec_name(style)
        ),
        Parameter::Query {
            parameter_data,
            style,
            ..
        } => bail!(
            "query parameter `{}` uses style `{}`; only `form` is supported",
            parameter_data.name,
            spec_name(style)
        ),
        Parameter::Cookie { parameter_data, .. } => {
            bail!(
                "cookie parameter `{}`: cookie parameters are not supported",
                parameter_data.name
            )
        }
    };
    let data = resolved.parameter_data_ref();
    if let Parameter::Query { parameter_data, .. } = resolved
        && parameter_data.explode == Some(false)
    {
        bail!(
            "query parameter `{}` sets `explode: false`, which the generated client would \
                 silently ignore",
            parameter_data.name
        );
    }
    let schema = match &data.format {
        ParameterSchemaOrContent::Schema(schema) => resolve_schema(schema, components)?,
        ParameterSchemaOrContent::Content(_) => {
            bail!(
                "parameter `{}` uses `content`; give it a `schema` instead",
                data.name
            )
        }
    };
    let mut rule = ParamRule {
        name: data.name.clone(),
        location,
        pattern: None,
        minimum: None,
        maximum: None,
        min_length: None,
        max_length: None,
        requires: string_list(data.extensions.get("x-requires"), &data.name, "x-requires")?,
        not_after: match data.extensions.get("x-not-after") {
            None => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => bail!(
                "parameter `{}`: x-not-after must name one parameter, found {other}",
                data.name
            ),
        },
    };
    match &schema.schema_kind {
        SchemaKind::Type(Type::String(s)) => {
            if let Some(pattern) = &s.pattern {
                regress::Regex::new(pattern).map_err(|e| {
                    anyhow::anyhow!("parameter `{}`: pattern `{pattern}` does not compile as an ECMAScript regular expression: {e}", data.name)
                })?;
                rule.pattern = Some(pattern.clone());
            }
            rule.min_length = s.min_length;
            rule.max_length = s.max_length;
        }
        SchemaKind::Type(Type::Integer(i)) => {
            if i.exclusive_minimum || i.exclusive_maximum {
                bail!(
                    "parameter `{}`: exclusive bounds are not supported; use inclusive ones",
                    data.name
                );
            }
            rule.minimum = i.minimum.map(Bound::Integer);
            rule.maximum = i.maximum.map(Bound::Integer);
        }
        SchemaKind::Type(Type::Number(n)) => {
            if n.exclusive_minimum || n.exclusive_maximum {
                bail!(
                    "parameter `{}`: exclusive bounds are not supported; use inclusive ones",
                    data.name
                );
            }
            rule.minimum = n.minimum.map(Bound::Number);
            rule.maximum = n.maximum.map(Bound::Number);
        }
        _ => {}
    }
    if let ReferenceOr::Item(param) = param {
        strip_schema_constraints(parameter_data_mut(param), components);
    }
    Ok((!rule.is_empty()).then_some(rule))
}

/// A style as the spec spells it (`deepObject`, `matrix`, ...).
fn spec_name(style: &impl serde::Serialize) -> String {
    match serde_json::to_value(style) {
        Ok(Value::String(s)) => s,
        _ => "unknown".to_string(),
    }
}

fn string_list(value: Option<&Value>, param: &str, ext: &str) -> Result<Vec<String>> {
    match value {
        None => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.clone()),
                other => {
                    bail!("parameter `{param}`: {ext} must list parameter names, found {other}")
                }
            })
            .collect(),
        Some(other) => bail!("parameter `{param}`: {ext} must list parameter names, found {other}"),
    }
}

fn strip_parameter_constraints(components: &mut Components) {
    let snapshot = components.clone();
    for param in components.parameters.values_mut() {
        if let ReferenceOr::Item(param) = param {
            strip_schema_constraints(parameter_data_mut(param), &snapshot);
        }
    }
}

/// Replaces a constrained parameter schema (pattern, bounds, lengths) with its bare type:
/// the runtime enforces the constraints with messages that name the rule. Enumerations
/// stay typed.
fn strip_schema_constraints(data: &mut ParameterData, components: &Components) {
    let ParameterSchemaOrContent::Schema(schema) = &mut data.format else {
        return;
    };
    let Ok(resolved) = resolve_schema(schema, components) else {
        return;
    };
    let mut bare = resolved.clone();
    let constrained = match &mut bare.schema_kind {
        SchemaKind::Type(Type::String(s)) if s.enumeration.is_empty() => {
            let had = s.pattern.is_some() || s.min_length.is_some() || s.max_length.is_some();
            s.pattern = None;
            s.min_length = None;
            s.max_length = None;
            had
        }
        SchemaKind::Type(Type::Integer(i)) if i.enumeration.is_empty() => {
            let had = i.minimum.is_some() || i.maximum.is_some();
            i.minimum = None;
            i.maximum = None;
            had
        }
        SchemaKind::Type(Type::Number(n)) if n.enumeration.is_empty() => {
            let had = n.minimum.is_some() || n.maximum.is_some();
            n.minimum = None;
            n.maximum = None;
            had
        }
        _ => false,
    };
    if constrained {
        bare.schema_data.default = None;
        *schema = ReferenceOr::Item(bare);
    }
}

/// The kind of body a response or request carries, as progenitor sees it.
#[derive(Debug, PartialEq)]
enum BodyKind {
    Json(Box<ReferenceOr<Schema>>),
    Binary,
    Empty,
}

/// A media type is versioned when it reads `application/vnd.atlas.<YYYY-MM-DD>+<suffix>`.
fn media_version(media: &str) -> Option<&str> {
    let rest = media.strip_prefix("application/vnd.atlas.")?;
    let (date, _) = rest.split_once('+')?;
    Some(date)
}

fn is_json(media: &str) -> bool {
    let essence = media.split(';').next().unwrap_or(media).trim();
    essence == "application/json" || essence.ends_with("+json")
}

/// Picks one media type out of several: the newest Atlas version, then the first listed.
fn pick_media<'a>(
    content: &'a IndexMap<String, MediaType>,
    version: Option<&str>,
) -> Option<(&'a String, &'a MediaType)> {
    if let Some(version) = version
        && let Some(found) = content
            .iter()
            .find(|(m, _)| media_version(m) == Some(version))
    {
        return Some(found);
    }
    content
        .iter()
        .filter(|(m, _)| media_version(m).is_some())
        .max_by(|a, b| media_version(a.0).cmp(&media_version(b.0)))
        .or_else(|| content.first())
}

/// Rewrites one response or request content map to the single media type progenitor
/// understands, returning the media type actually chosen and the body kind.
fn rewrite_content(
    content: &mut IndexMap<String, MediaType>,
    version: Option<&str>,
) -> Option<(String, BodyKind)> {
    let (media, chosen) = pick_media(content, version)?;
    let media = media.clone();
    let mut chosen = chosen.clone();
    chosen.extensions.clear();
    content.clear();
    let kind = match &chosen.schema {
        None => BodyKind::Empty,
        Some(schema) if is_json(&media) => {
            let kind = BodyKind::Json(Box::new(schema.clone()));
            content.insert("application/json".to_string(), chosen);
            kind
        }
        Some(_) => {
            chosen.schema = Some(ReferenceOr::Item(binary_schema()));
            content.insert("application/octet-stream".to_string(), chosen);
            BodyKind::Binary
        }
    };
    Some((media, kind))
}

fn binary_schema() -> Schema {
    serde_json::from_value(serde_json::json!({"type": "string", "format": "binary"}))
        .expect("a literal schema deserialises")
}

fn resolve_response<'a>(
    response: &'a mut ReferenceOr<Response>,
    components: &Components,
) -> Result<&'a mut Response> {
    if let ReferenceOr::Reference { reference } = response {
        let name = reference
            .strip_prefix("#/components/responses/")
            .with_context(|| format!("unsupported response reference {reference}"))?;
        let resolved = components
            .responses
            .get(name)
            .with_context(|| format!("response reference {reference} points at nothing"))?;
        let ReferenceOr::Item(resolved) = resolved else {
            bail!("response reference {reference} points at another reference");
        };
        *response = ReferenceOr::Item(resolved.clone());
    }
    match response {
        ReferenceOr::Item(r) => Ok(r),
        ReferenceOr::Reference { .. } => unreachable!("resolved above"),
    }
}

fn is_success(status: &StatusCode) -> bool {
    match status {
        StatusCode::Code(code) => (100..400).contains(code),
        StatusCode::Range(range) => *range < 4,
    }
}

fn status_label(status: &StatusCode) -> String {
    match status {
        StatusCode::Code(code) => code.to_string(),
        StatusCode::Range(range) => format!("{range}XX"),
    }
}

/// Normalises the success responses; returns the `Accept` media type and its Atlas version.
fn normalize_success(
    op: &mut SpecOperation,
    components: &Components,
    path: &str,
) -> Result<(String, Option<String>, bool)> {
    // The version the operation speaks: the newest one any success response offers.
    let mut version: Option<String> = None;
    for (status, response) in op.responses.responses.iter_mut() {
        if !is_success(status) {
            continue;
        }
        let response = resolve_response(response, components)?;
        for media in response.content.keys() {
            if let Some(v) = media_version(media)
                && version.as_deref().is_none_or(|current| v > current)
            {
                version = Some(v.to_string());
            }
        }
    }

    let mut accept: Option<String> = None;
    let mut kinds: Vec<(String, BodyKind)> = Vec::new();
    for (status, response) in op.responses.responses.iter_mut() {
        if !is_success(status) {
            continue;
        }
        let response = resolve_response(response, components)?;
        match rewrite_content(&mut response.content, version.as_deref()) {
            Some((media, kind)) => {
                if accept.as_ref().is_some_and(|a| *a != media) {
                    bail!(
                        "success responses declare different media types ({} and {media}); \
                         one Accept header cannot ask for both",
                        accept.unwrap_or_default()
                    );
                }
                accept = Some(media);
                kinds.push((status_label(status), kind));
            }
            None => kinds.push((status_label(status), BodyKind::Empty)),
        }
    }
    if let Some(((first_status, first), rest)) = kinds.split_first()
        && let Some((status, _)) = rest.iter().find(|(_, kind)| kind != first)
    {
        bail!(
            "success responses {first_status} and {status} carry different kinds of body \
                 (typed JSON, binary or none); the generated client can return only one kind \
                 per operation, so declare one success response"
        );
    }
    let accept = match accept {
        Some(a) => a,
        None if path.starts_with("/api/atlas/v2") => bail!(
            "no success response declares a versioned media type \
             (application/vnd.atlas.<date>+json); Atlas answers 406 without one. \
             Declare it, without a schema if the response has no body"
        ),
        None => "application/json".to_string(),
    };
    let streamed = matches!(kinds.first(), Some((_, BodyKind::Binary)));
    Ok((accept, version, streamed))
}

fn normalize_request_body(
    body: &mut ReferenceOr<RequestBody>,
    components: &Components,
    version: Option<&str>,
) -> Result<Option<String>> {
    if let ReferenceOr::Reference { reference } = body {
        let name = reference
            .strip_prefix("#/components/requestBodies/")
            .with_context(|| format!("unsupported request body reference {reference}"))?;
        let Some(ReferenceOr::Item(resolved)) = components.request_bodies.get(name) else {
            bail!("request body reference {reference} does not resolve to a body");
        };
        *body = ReferenceOr::Item(resolved.clone());
    }
    let ReferenceOr::Item(body) = body else {
        unreachable!("resolved above")
    };
    let kinds: Vec<bool> = body.content.keys().map(|m| is_json(m)).collect();
    if kinds.windows(2).any(|w| w[0] != w[1]) {
        bail!(
            "the request body offers media types of different kinds ({}); declare JSON or \
             another kind, not both",
            body.content.keys().cloned().collect::<Vec<_>>().join(", ")
        );
    }
    let Some((media, kind)) = rewrite_content(&mut body.content, version) else {
        return Ok(None);
    };
    match kind {
        BodyKind::Json(_) => Ok(Some(media)),
        BodyKind::Empty => bail!("the request body media type {media} has no schema"),
        BodyKind::Binary => {
            // progenitor sends raw bodies as application/octet-stream; the runtime restores
            // the declared type.
            Ok(Some(media))
        }
    }
}

/// Error responses: JSON media types become `application/json`; when typed and body-less
/// errors mix, the body-less ones are dropped (they surface as unexpected responses).
fn normalize_errors(op: &mut SpecOperation, components: &Components) -> Result<()> {
    let mut kinds: Vec<(StatusCode, BodyKind)> = Vec::new();
    for (status, response) in op.responses.responses.iter_mut() {
        if is_success(status) {
            continue;
        }
        let response = resolve_response(response, components)?;
        let kind = rewrite_content(&mut response.content, None).map_or(BodyKind::Empty, |(_, k)| k);
        kinds.push((status.clone(), kind));
    }
    if let Some(default) = &mut op.responses.default {
        let response = resolve_response(default, components)?;
        if let Some((_, kind)) = rewrite_content(&mut response.content, None)
            && kind != BodyKind::Empty
            && kinds.iter().any(|(_, k)| *k != kind)
        {
            bail!("the default response and the error responses carry different bodies");
        }
    }
    let typed: Vec<&(StatusCode, BodyKind)> = kinds
        .iter()
        .filter(|(_, k)| *k != BodyKind::Empty)
        .collect();
    if let Some((first_status, first)) = typed.first() {
        if let Some((status, _)) = typed.iter().find(|(_, k)| k != first) {
            bail!(
                "error responses {} and {} carry different bodies; the generated client has \
                 one error type per operation, so give them one schema",
                status_label(first_status),
                status_label(status)
            );
        }
        for (status, kind) in &kinds {
            if *kind == BodyKind::Empty {
                op.responses.responses.shift_remove(status);
            }
        }
    }
    Ok(())
}
