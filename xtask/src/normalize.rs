//! The normalisation pass: turns an Atlas-style OpenAPI document into one progenitor can
//! generate from, and records what the generated client needs to know at run time
//! (media types and parameter rules) in an [`Operation`] table.
//!
//! What it rewrites, and why (the README's table "What the generator does with the spec"
//! says the same from the user's side):
//! - `x-xgen-operation-id-override` replaces the `operationId`, so methods carry the short
//!   names the Atlas SDK and CLI use. `x-sunset` is said in the method's documentation.
//!   Other extensions (`x-xgen-docs-url`, `x-xgen-method-verb-override`, ...) are hints for
//!   MongoDB's own tooling and are left alone.
//! - Versioned JSON media types (`application/vnd.atlas.<date>+json`) become
//!   `application/json`, the only type progenitor decodes or encodes; the original is
//!   recorded and sent as `Accept`/`Content-Type`. When an operation offers several
//!   versions, the newest wins; when a response offers JSON and another format (CSV) of
//!   one version, JSON wins.
//! - Binary media types (`+gzip`, ...) become `application/octet-stream` (a byte stream).
//! - A media type without a schema means "no body" (Atlas writes its 204s that way).
//! - 1xx responses are dropped: never a final answer. A typed success beside body-less
//!   ones (200 with JSON, 204 without) makes the operation return `Option<T>` (see
//!   [`Operation::bodiless_success`] and the glue); typed successes of different schemas
//!   decode as any JSON.
//! - Error responses keep one schema typed, the one most of them share; the others (a
//!   different schema, or no body) arrive as unexpected responses with status and body.
//! - Shared parameters with an enumeration become one component type, `<Name>Param`, so
//!   a shared parameter yields one type rather than one per operation, under a name typify
//!   never derives for anything else.
//! - Polymorphic schemas (a parent's discriminated `oneOf` of children that are `allOf`
//!   the parent) have the cycle broken and each child's discriminator pinned.
//! - Fields of bodies and answers are optional unless the caller must set them: a schema's
//!   `default` (what Atlas assumes when a field is absent) is dropped into the field's
//!   documentation, and `readOnly` / `writeOnly` fields are not required, so that a request
//!   carries only what the caller set ([`fields_as_the_caller_sets_them`]).
//! - Parameter constraints (pattern, bounds, lengths, `x-requires`, `x-not-after`) move from
//!   the parameter schemas into the table: the runtime checks them before any request and
//!   names the parameter and the rule, which progenitor's builder cannot do.
//!
//! What it refuses, with the operation named (every refusal of a run is collected, see
//! [`Normalized::refused`]): missing or duplicate ids, parameter styles other than
//! path/simple, query/form and header/simple, cookie parameters, several request media
//! types of different kinds, success responses with different media types or mixing JSON
//! and binary, patterns that do not compile, and (for the whole spec) OpenAPI other than
//! 3.0.x and composition cycles of other shapes.

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
    /// Parameters marked `x-epoch`: times since the Unix epoch, in the unit named. Their
    /// setters also take `SystemTime` and `chrono::DateTime<Utc>`.
    pub epoch_params: Vec<(String, Epoch)>,
    /// Every parameter's name on the wire, where it travels and its description, in the
    /// spec's order: the documentation of the builder's setters.
    pub param_docs: Vec<ParamDoc>,
    /// The description of the request body, if there is a body and it has one.
    pub body_doc: Option<String>,
    /// Whether the success body is binary, handed to the caller as a stream.
    pub streamed: bool,
    /// Whether the spec marks the operation deprecated.
    pub deprecated: bool,
    /// Success statuses that answer with no body beside others that carry one (a 204
    /// beside a 200 with JSON). The operation returns `Option<T>`: `None` for these.
    pub bodiless_success: Vec<u16>,
    /// Set when the operation pages its answer by offset (integer query parameters
    /// `pageNum` and `itemsPerPage`); the glue gives it `stream()` and `all()` when its
    /// answer also has the paginated shape (`results` and `totalCount`).
    pub paging: Option<Paging>,
}

/// What the page walk of an operation paged by `pageNum` and `itemsPerPage` needs.
#[derive(Clone, Debug, PartialEq)]
pub struct Paging {
    /// The default of `itemsPerPage` in the spec: the page size when the caller sets none.
    pub default_page_size: Option<i64>,
    /// Whether the operation takes a boolean `includeCount` (set to true by the walk, so
    /// that every page states `totalCount`).
    pub include_count: bool,
}

/// Where a parameter travels.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Location {
    Path,
    Query,
    Header,
}

/// The unit of a parameter marked `x-epoch`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Epoch {
    Milliseconds,
    Seconds,
}

/// What the builder's setter of one parameter says about it.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamDoc {
    pub name: String,
    pub location: Location,
    pub description: Option<String>,
    /// Whether the operation requires it.
    pub required: bool,
    /// A value of it for an example: the spec's `example`, else one of its type; `None`
    /// for types an example cannot write as a literal.
    pub example: Option<String>,
}

/// A Rust literal for a parameter in a doc example.
fn example_literal(data: &ParameterData, components: &Components) -> Option<String> {
    let ParameterSchemaOrContent::Schema(schema) = &data.format else {
        return None;
    };
    let schema = resolve_schema(schema, components).ok()?;
    let given = data
        .example
        .as_ref()
        .or(schema.schema_data.example.as_ref());
    match &schema.schema_kind {
        SchemaKind::Type(Type::String(s)) => {
            let text = match given {
                Some(Value::String(text)) => text.clone(),
                _ => s
                    .enumeration
                    .iter()
                    .flatten()
                    .next()
                    .cloned()
                    .unwrap_or_else(|| "example".to_string()),
            };
            Some(format!("{text:?}"))
        }
        SchemaKind::Type(Type::Integer(_)) => Some(match given {
            Some(Value::Number(n)) if n.is_i64() => n.to_string(),
            _ => "0".to_string(),
        }),
        SchemaKind::Type(Type::Boolean(_)) => Some("true".to_string()),
        _ => None,
    }
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

/// The spec as progenitor should see it, the operation table, and the operations refused.
pub struct Normalized {
    pub spec: OpenAPI,
    pub operations: Vec<Operation>,
    /// Operations the generator cannot express, each with the construct at fault. They are
    /// removed from `spec`, so the rest can still be checked; nothing is written while any
    /// remain.
    pub refused: Vec<Refusal>,
}

/// An operation the generator refuses, and why.
#[derive(Clone, Debug, PartialEq)]
pub struct Refusal {
    /// `` `operationId` (METHOD /path) ``, or what else is at fault.
    pub subject: String,
    /// The construct and what to do about it.
    pub reason: String,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.subject, self.reason)
    }
}

/// How an operation is named in messages: `` `operationId` (METHOD /path) ``.
pub fn label(operation_id: Option<&str>, method: &str, path: &str) -> String {
    let where_ = format!("{} {path}", method.to_ascii_uppercase());
    match operation_id {
        Some(id) => format!("operation `{id}` ({where_})"),
        None => where_,
    }
}

/// The extension that names the short operation id Atlas's SDK and CLI use.
const ID_OVERRIDE: &str = "x-xgen-operation-id-override";

/// The extension that gives the date Atlas retires an operation (its API version): said in
/// the method's documentation.
const SUNSET: &str = "x-sunset";

/// The extension that marks a string parameter as an IP address, parsed and sent in the
/// one form Atlas stores (dotted IPv4, or IPv6 with all eight groups, lower case).
const IP_ADDRESS: &str = "x-ip-address";
const EPOCH: &str = "x-epoch";

/// Runs the normalisation pass over a parsed spec. With `tags`, only the operations carrying
/// one of them are kept, and only the component schemas they reach.
pub fn normalize(mut spec: OpenAPI, tags: &[String]) -> Result<Normalized> {
    if !spec.openapi.starts_with("3.0.") {
        bail!(
            "the spec declares OpenAPI {}; the generator takes OpenAPI 3.0.x only",
            spec.openapi
        );
    }
    if !tags.is_empty() {
        keep_tags(&mut spec, tags)?;
    }
    let mut refused = unreadable_patterns(&mut spec);
    fields_as_the_caller_sets_them(&mut spec);
    let mut components = spec.components.take().unwrap_or_default();
    hoist_parameter_schemas(&mut components)?;
    break_composition_cycles(&mut components)?;

    let mut operations = Vec::new();
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    for (path, item) in spec.paths.paths.iter_mut() {
        let ReferenceOr::Item(item) = item else {
            bail!("path {path}: path items given by $ref are not supported; write them inline");
        };
        let shared_params = std::mem::take(&mut item.parameters);
        for (method, slot) in operation_slots(item) {
            let Some(op) = slot else { continue };
            let subject = label(op.operation_id.as_deref(), method, path);
            let outcome = normalize_operation(op, &shared_params, &components, method, path)
                .and_then(|record| match seen.get(&record.id) {
                    Some(other) => bail!(
                        "operations `{other}` and `{}` would both generate the method `{}`; \
                         give one of them another operationId or {ID_OVERRIDE}",
                        record.operation_id,
                        record.id
                    ),
                    None => Ok(record),
                });
            match outcome {
                Ok(record) => {
                    seen.insert(record.id.clone(), record.operation_id.clone());
                    operations.push(record);
                }
                Err(e) => {
                    refused.push(Refusal {
                        subject,
                        reason: format!("{e:#}"),
                    });
                    // Removed, so that the operations left can still be checked.
                    *slot = None;
                }
            }
        }
    }
    spec.paths.paths.retain(|_, item| {
        item.as_item()
            .is_none_or(|item| item.iter().next().is_some())
    });
    strip_parameter_constraints(&mut components);
    spec.components = Some(components);
    Ok(Normalized {
        spec,
        operations,
        refused,
    })
}

/// Makes every field of a body or an answer optional unless the caller must set it and
/// Atlas must send it, so that a request carries only what the caller set:
/// - A schema's `default` is what Atlas assumes when a field is absent, never a value to
///   send: it is dropped from every schema of bodies and answers (typify would make the
///   field a plain value, always sent, so that a partial update would switch off
///   everything the caller did not mention), and said in the field's documentation.
///   Parameter schemas keep theirs: the operation table reads them (page sizes).
/// - A `readOnly` field (set by Atlas) or a `writeOnly` one (a secret Atlas never
///   returns) is not required: one type serves both directions, and the field is left out
///   of a request, or missing from an answer, without an error. Its documentation says
///   which.
fn fields_as_the_caller_sets_them(spec: &mut OpenAPI) {
    let components: IndexMap<String, ReferenceOr<Schema>> = spec
        .components
        .as_ref()
        .map(|c| c.schemas.clone())
        .unwrap_or_default();
    let mut visit = |schema: &mut Schema| caller_sets(schema, &components);
    let in_content = |content: &mut IndexMap<String, MediaType>,
                      visit: &mut dyn FnMut(&mut Schema)| {
        for media in content.values_mut() {
            if let Some(ReferenceOr::Item(schema)) = &mut media.schema {
                each_schema(schema, 0, visit);
            }
        }
    };
    if let Some(c) = &mut spec.components {
        for schema in c.schemas.values_mut() {
            if let ReferenceOr::Item(schema) = schema {
                each_schema(schema, 0, &mut visit);
            }
        }
        for body in c.request_bodies.values_mut() {
            if let ReferenceOr::Item(body) = body {
                in_content(&mut body.content, &mut visit);
            }
        }
        for response in c.responses.values_mut() {
            if let ReferenceOr::Item(response) = response {
                in_content(&mut response.content, &mut visit);
            }
        }
    }
    for item in spec.paths.paths.values_mut() {
        let ReferenceOr::Item(item) = item else {
            continue;
        };
        for (_, op) in operation_slots(item) {
            let Some(op) = op else { continue };
            if let Some(ReferenceOr::Item(body)) = &mut op.request_body {
                in_content(&mut body.content, &mut visit);
            }
            let responses = op
                .responses
                .responses
                .values_mut()
                .chain(&mut op.responses.default);
            for response in responses {
                if let ReferenceOr::Item(response) = response {
                    in_content(&mut response.content, &mut visit);
                }
            }
        }
    }
}

/// Calls `f` on `schema` and on every schema written inside it (properties, items,
/// additional properties, compositions), parents first.
fn each_schema(schema: &mut Schema, depth: usize, f: &mut dyn FnMut(&mut Schema)) {
    if depth > 64 {
        return; // deeper than any real schema: left as written
    }
    f(schema);
    let mut nested: Vec<&mut Schema> = Vec::new();
    match &mut schema.schema_kind {
        SchemaKind::Type(Type::Object(o)) => {
            nested.extend(o.properties.values_mut().filter_map(item_of_box));
            if let Some(openapiv3::AdditionalProperties::Schema(extra)) =
                &mut o.additional_properties
                && let ReferenceOr::Item(extra) = extra.as_mut()
            {
                nested.push(extra);
            }
        }
        SchemaKind::Type(Type::Array(a)) => nested.extend(a.items.as_mut().and_then(item_of_box)),
        SchemaKind::AllOf { all_of: parts }
        | SchemaKind::OneOf { one_of: parts }
        | SchemaKind::AnyOf { any_of: parts } => {
            nested.extend(parts.iter_mut().filter_map(item_of))
        }
        SchemaKind::Not { not } => nested.extend(item_of(not)),
        SchemaKind::Any(a) => {
            nested.extend(a.properties.values_mut().filter_map(item_of_box));
            nested.extend(a.items.as_mut().and_then(item_of_box));
            if let Some(openapiv3::AdditionalProperties::Schema(extra)) =
                &mut a.additional_properties
                && let ReferenceOr::Item(extra) = extra.as_mut()
            {
                nested.push(extra);
            }
            for parts in [&mut a.all_of, &mut a.one_of, &mut a.any_of] {
                nested.extend(parts.iter_mut().filter_map(item_of));
            }
            if let Some(not) = &mut a.not {
                nested.extend(item_of(not));
            }
        }
        _ => {}
    }
    for schema in nested {
        each_schema(schema, depth + 1, f);
    }
}

fn item_of(schema: &mut ReferenceOr<Schema>) -> Option<&mut Schema> {
    match schema {
        ReferenceOr::Item(s) => Some(s),
        ReferenceOr::Reference { .. } => None,
    }
}

fn item_of_box(schema: &mut ReferenceOr<Box<Schema>>) -> Option<&mut Schema> {
    match schema {
        ReferenceOr::Item(s) => Some(s.as_mut()),
        ReferenceOr::Reference { .. } => None,
    }
}

/// The component a `$ref` names.
fn component<'a>(
    reference: &str,
    components: &'a IndexMap<String, ReferenceOr<Schema>>,
) -> Option<&'a Schema> {
    let name = reference.strip_prefix("#/components/schemas/")?;
    components.get(name)?.as_item()
}

/// The direction a schema is marked with (`"read-only"`, `"write-only"`): on the schema
/// itself, on the component it references, or on the one member of its `allOf`.
fn direction(
    schema: Option<&Schema>,
    reference: Option<&str>,
    components: &IndexMap<String, ReferenceOr<Schema>>,
    depth: usize,
) -> Option<&'static str> {
    if depth > 16 {
        return None;
    }
    let schema = match (schema, reference) {
        (Some(schema), _) => schema,
        (None, Some(reference)) => component(reference, components)?,
        (None, None) => return None,
    };
    if schema.schema_data.read_only {
        return Some("read-only");
    }
    if schema.schema_data.write_only {
        return Some("write-only");
    }
    match &schema.schema_kind {
        SchemaKind::AllOf { all_of } if all_of.len() == 1 => match &all_of[0] {
            ReferenceOr::Item(s) => direction(Some(s), None, components, depth + 1),
            ReferenceOr::Reference { reference } => {
                direction(None, Some(reference), components, depth + 1)
            }
        },
        _ => None,
    }
}

/// The properties of `schema` marked with a direction, its `allOf` members' included.
fn directed_properties(
    schema: &Schema,
    components: &IndexMap<String, ReferenceOr<Schema>>,
    depth: usize,
) -> Vec<String> {
    let mut names = Vec::new();
    if depth > 16 {
        return names;
    }
    let (properties, all_of) = match &schema.schema_kind {
        SchemaKind::Type(Type::Object(o)) => (Some(&o.properties), None),
        SchemaKind::Any(a) => (Some(&a.properties), Some(&a.all_of)),
        SchemaKind::AllOf { all_of } => (None, Some(all_of)),
        _ => (None, None),
    };
    for (name, property) in properties.into_iter().flatten() {
        let marked = match property {
            ReferenceOr::Item(s) => direction(Some(s), None, components, 0),
            ReferenceOr::Reference { reference } => direction(None, Some(reference), components, 0),
        };
        if marked.is_some() {
            names.push(name.clone());
        }
    }
    for part in all_of.into_iter().flatten() {
        let part = match part {
            ReferenceOr::Item(s) => Some(s),
            ReferenceOr::Reference { reference } => component(reference, components),
        };
        if let Some(part) = part {
            names.extend(directed_properties(part, components, depth + 1));
        }
    }
    names
}

/// One schema, as [`fields_as_the_caller_sets_them`] says.
fn caller_sets(schema: &mut Schema, components: &IndexMap<String, ReferenceOr<Schema>>) {
    let data = &mut schema.schema_data;
    let mut notes = Vec::new();
    if let Some(default) = data.default.take() {
        notes.push(format!("When it is not sent, Atlas takes `{default}`."));
    }
    if data.read_only {
        notes.push("Set by Atlas (read-only): left out of requests unless set.".to_string());
    }
    if data.write_only {
        notes.push("Never returned by Atlas (write-only): absent from answers.".to_string());
    }
    if !notes.is_empty() {
        let note = notes.join(" ");
        data.description = Some(match data.description.as_deref().map(str::trim_end) {
            Some(d) if !d.trim().is_empty() => format!("{d}\n\n{note}"),
            _ => note,
        });
    }
    let directed = directed_properties(schema, components, 0);
    if directed.is_empty() {
        return;
    }
    // The object's own `required`, and those of its inline `allOf` members, which may name
    // properties another member declares.
    let not_directed = |required: &mut Vec<String>| required.retain(|n| !directed.contains(n));
    match &mut schema.schema_kind {
        SchemaKind::Type(Type::Object(o)) => not_directed(&mut o.required),
        SchemaKind::Any(a) => {
            not_directed(&mut a.required);
            for part in a.all_of.iter_mut().filter_map(item_of) {
                required_of(part).map(not_directed);
            }
        }
        SchemaKind::AllOf { all_of } => {
            for part in all_of.iter_mut().filter_map(item_of) {
                required_of(part).map(not_directed);
            }
        }
        _ => {}
    }
}

/// The `required` list of an object schema.
fn required_of(schema: &mut Schema) -> Option<&mut Vec<String>> {
    match &mut schema.schema_kind {
        SchemaKind::Type(Type::Object(o)) => Some(&mut o.required),
        SchemaKind::Any(a) => Some(&mut a.required),
        _ => None,
    }
}

/// Every `pattern` of a schema (a component, or a body or answer written inline) that is
/// valid ECMA-262 neither in Unicode mode nor plainly, each refusal naming the schema or
/// the operation, and the property (`a.b[].c`; `additionalProperties` as `*`).
/// Parameters' patterns are checked with their rules. The patterns refused are taken out
/// of `spec`, so that the rest of the run can still name what else it refuses.
fn unreadable_patterns(spec: &mut OpenAPI) -> Vec<Refusal> {
    let Ok(mut value) = serde_json::to_value(&*spec) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if let Some(schemas) = value["components"]["schemas"].as_object_mut() {
        for (name, schema) in schemas {
            unreadable_patterns_in(schema, &format!("schema `{name}`"), "", &mut out);
        }
    }
    for (path, item) in value["paths"].as_object_mut().into_iter().flatten() {
        for (method, op) in item.as_object_mut().into_iter().flatten() {
            if !op.is_object() || method == "parameters" {
                continue;
            }
            let subject = label(op["operationId"].as_str(), &method.to_uppercase(), path);
            let bodies = op["requestBody"]["content"]
                .as_object_mut()
                .into_iter()
                .flatten();
            for (media, content) in bodies {
                let at = format!("request body ({media})");
                unreadable_patterns_in(&mut content["schema"], &subject, &at, &mut out);
            }
            let responses = op["responses"].as_object_mut().into_iter().flatten();
            for (status, response) in responses {
                let contents = response["content"].as_object_mut().into_iter().flatten();
                for (media, content) in contents {
                    let at = format!("answer {status} ({media})");
                    unreadable_patterns_in(&mut content["schema"], &subject, &at, &mut out);
                }
            }
        }
    }
    if !out.is_empty()
        && let Ok(cleaned) = serde_json::from_value(value)
    {
        *spec = cleaned;
    }
    out
}

fn unreadable_patterns_in(schema: &mut Value, subject: &str, at: &str, out: &mut Vec<Refusal>) {
    let join = |child: &str| match at {
        "" => child.to_string(),
        _ if child.starts_with('[') => format!("{at}{child}"),
        _ => format!("{at}.{child}"),
    };
    if let Some(pattern) = schema.get("pattern").and_then(Value::as_str)
        && let Err(e) = ecma_pattern(pattern)
    {
        let place = match at {
            "" => "the schema itself".to_string(),
            _ => format!("property `{at}`"),
        };
        out.push(Refusal {
            subject: subject.to_string(),
            reason: format!(
                "{place}: pattern `{pattern}` is valid ECMA-262 neither in Unicode mode nor plainly ({e}); correct it in the spec"
            ),
        });
        if let Some(map) = schema.as_object_mut() {
            map.remove("pattern");
        }
    }
    let Some(map) = schema.as_object_mut() else {
        return;
    };
    if let Some(properties) = map.get_mut("properties").and_then(Value::as_object_mut) {
        for (name, property) in properties {
            unreadable_patterns_in(property, subject, &join(name), out);
        }
    }
    for (key, child) in [("items", "[]"), ("additionalProperties", "*")] {
        if let Some(inner) = map.get_mut(key).filter(|v| v.is_object()) {
            unreadable_patterns_in(inner, subject, &join(child), out);
        }
    }
    for key in ["allOf", "oneOf", "anyOf"] {
        for part in map
            .get_mut(key)
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            unreadable_patterns_in(part, subject, at, out);
        }
    }
}

/// A pattern read as the runtime reads it (`atlas_runtime::operation::pattern`):
/// ECMA-262 in Unicode mode, else plain ECMA-262 when it is not valid in Unicode mode.
pub(crate) fn ecma_pattern(pattern: &str) -> std::result::Result<regress::Regex, regress::Error> {
    regress::Regex::with_flags(pattern, "u").or_else(|_| regress::Regex::new(pattern))
}

/// Keeps the operations tagged with one of `tags`, and the component schemas, parameters,
/// responses and request bodies they reach (progenitor generates a type for every component
/// schema, reached or not, so this is what makes a partial client smaller).
fn keep_tags(spec: &mut OpenAPI, tags: &[String]) -> Result<()> {
    let known: std::collections::BTreeSet<&str> = spec
        .paths
        .paths
        .values()
        .filter_map(|item| item.as_item())
        .flat_map(|item| {
            item.iter()
                .flat_map(|(_, op)| op.tags.iter().map(String::as_str))
        })
        .collect();
    for tag in tags {
        if !known.contains(tag.as_str()) {
            bail!(
                "no operation carries the tag `{tag}`; the spec's tags are: {}",
                known.iter().copied().collect::<Vec<_>>().join(", ")
            );
        }
    }
    for item in spec.paths.paths.values_mut() {
        let ReferenceOr::Item(item) = item else {
            continue;
        };
        for (_, slot) in operation_slots(item) {
            if slot
                .as_ref()
                .is_some_and(|op| !op.tags.iter().any(|t| tags.contains(t)))
            {
                *slot = None;
            }
        }
    }
    spec.paths.paths.retain(|_, item| {
        item.as_item()
            .is_none_or(|item| item.iter().next().is_some())
    });
    prune_components(spec);
    Ok(())
}

/// Drops the component schemas, parameters, responses and request bodies nothing in the
/// paths reaches.
pub(crate) fn prune_components(spec: &mut OpenAPI) {
    prune_components_from(spec, &[]);
}

/// [`prune_components`], keeping also what the component schemas named in `schemas` reach.
pub(crate) fn prune_components_from(spec: &mut OpenAPI, schemas: &[String]) {
    let Some(components) = spec.components.as_mut() else {
        return;
    };
    let whole = serde_json::to_value(&*components).unwrap_or(Value::Null);
    let mut reached: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
    let mut todo: Vec<String> = schemas
        .iter()
        .map(|name| format!("#/components/schemas/{name}"))
        .collect();
    let paths = serde_json::to_value(&spec.paths).unwrap_or(Value::Null);
    collect_refs(&paths, &mut todo);
    while let Some(reference) = todo.pop() {
        if !reached.insert(reference.clone()) {
            continue;
        }
        let Some(pointer) = reference.strip_prefix('#') else {
            continue;
        };
        if let Some(target) = whole.pointer(pointer.trim_start_matches("/components")) {
            collect_refs(target, &mut todo);
        }
    }
    let keep = |kind: &str, name: &str| reached.contains(&format!("#/components/{kind}/{name}"));
    components.schemas.retain(|name, _| keep("schemas", name));
    components
        .parameters
        .retain(|name, _| keep("parameters", name));
    components
        .responses
        .retain(|name, _| keep("responses", name));
    components
        .request_bodies
        .retain(|name, _| keep("requestBodies", name));
}

fn collect_refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v) {
                    ("$ref", Value::String(r)) => out.push(r.clone()),
                    _ => collect_refs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
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

/// Breaks the cycles of schema composition that typify would follow forever (it overflows
/// the stack, which no error handling can catch). Atlas writes polymorphic schemas as a
/// parent whose `oneOf` (with a `discriminator`) lists children that are each
/// `allOf: [parent, own properties]`: parent -> child -> parent. Each child's reference to
/// its parent becomes an inline copy of the parent without its `oneOf`, `anyOf` and
/// `discriminator`, i.e. the fields every child shares, which is what the child meant.
/// A composition cycle of any other shape is refused, naming its schemas.
fn break_composition_cycles(components: &mut Components) -> Result<()> {
    let mut schemas: BTreeMap<String, Value> = components
        .schemas
        .iter()
        .map(|(name, schema)| Ok((name.clone(), serde_json::to_value(schema)?)))
        .collect::<Result<_>>()?;
    let reference = |name: &str| format!("#/components/schemas/{name}");
    let mut changed = Vec::new();
    let parents: Vec<String> = schemas.keys().cloned().collect();
    for parent in &parents {
        let children: Vec<String> = ["oneOf", "anyOf"]
            .iter()
            .filter_map(|key| schemas[parent].get(*key)?.as_array())
            .flatten()
            .filter_map(|child| child.get("$ref")?.as_str())
            .filter_map(|r| r.strip_prefix("#/components/schemas/"))
            .map(str::to_string)
            .collect();
        let mut base = schemas[parent].clone();
        if let Value::Object(map) = &mut base {
            for key in ["oneOf", "anyOf", "discriminator"] {
                map.remove(key);
            }
        }
        for child in children {
            let Some(Value::Array(all_of)) =
                schemas.get_mut(&child).and_then(|c| c.get_mut("allOf"))
            else {
                continue;
            };
            for part in all_of.iter_mut() {
                if part.get("$ref").and_then(Value::as_str) == Some(reference(parent).as_str()) {
                    *part = base.clone();
                    changed.push(child.clone());
                }
            }
        }
    }
    changed.extend(pin_discriminators(&mut schemas));
    if let Some(cycle) = composition_cycle(&schemas) {
        bail!(
            "the schemas {} compose each other in a cycle (through allOf, oneOf or anyOf); \
             the type generator cannot follow it. Reference the shared fields through a \
             schema of their own",
            cycle.join(" -> ")
        );
    }
    for name in changed {
        components.schemas.insert(
            name.clone(),
            serde_json::from_value(schemas[&name].clone())
                .with_context(|| format!("schema {name}"))?,
        );
    }
    Ok(())
}

/// typify ignores `discriminator`: a `oneOf` becomes an untagged enum whose first variant
/// that fits wins, so a child whose fields are all optional would take every answer. Each
/// child named by a parent's discriminator (through `mapping`, else by its schema name)
/// gets its discriminating property pinned to its own value(s) and required; typify then
/// tells the children apart by that property (an internally tagged enum where it can).
/// Returns the children changed.
fn pin_discriminators(schemas: &mut BTreeMap<String, Value>) -> Vec<String> {
    let mut pins: BTreeMap<String, (String, Vec<String>)> = BTreeMap::new();
    for parent in schemas.values() {
        let Some(discriminator) = parent.get("discriminator") else {
            continue;
        };
        let Some(property) = discriminator.get("propertyName").and_then(Value::as_str) else {
            continue;
        };
        let children: Vec<&str> = ["oneOf", "anyOf"]
            .iter()
            .filter_map(|key| parent.get(*key)?.as_array())
            .flatten()
            .filter_map(|child| child.get("$ref")?.as_str())
            .filter_map(|r| r.strip_prefix("#/components/schemas/"))
            .collect();
        let mapping = discriminator.get("mapping").and_then(Value::as_object);
        for child in children {
            let values: Vec<String> = match mapping {
                Some(mapping) => mapping
                    .iter()
                    .filter(|(_, target)| {
                        target
                            .as_str()
                            .and_then(|t| t.strip_prefix("#/components/schemas/"))
                            == Some(child)
                    })
                    .map(|(value, _)| value.clone())
                    .collect(),
                None => vec![child.to_string()],
            };
            if !values.is_empty() {
                pins.insert(child.to_string(), (property.to_string(), values));
            }
        }
    }
    let mut changed = Vec::new();
    for (child, (property, values)) in pins {
        let Some(schema) = schemas.get_mut(&child) else {
            continue;
        };
        let pin = serde_json::json!({
            "type": "object",
            "required": [property],
            "properties": { property: { "type": "string", "enum": values } }
        });
        match schema.get_mut("allOf") {
            Some(Value::Array(parts)) => parts.push(pin),
            _ => {
                let mut own = schema.clone();
                let description = own.as_object_mut().and_then(|o| o.remove("description"));
                let mut wrapped = serde_json::json!({ "allOf": [own, pin] });
                if let Some(description) = description {
                    wrapped["description"] = description;
                }
                *schema = wrapped;
            }
        }
        changed.push(child);
    }
    changed
}

/// A cycle of component schemas that reach each other through the `$ref`s directly under
/// `allOf`, `oneOf` or `anyOf` (references under `properties` or `items` are fine: they
/// become boxed fields).
fn composition_cycle(schemas: &BTreeMap<String, Value>) -> Option<Vec<String>> {
    fn composed(schema: &Value) -> Vec<&str> {
        ["allOf", "oneOf", "anyOf"]
            .iter()
            .filter_map(|key| schema.get(*key)?.as_array())
            .flatten()
            .filter_map(|part| part.get("$ref")?.as_str())
            .filter_map(|r| r.strip_prefix("#/components/schemas/"))
            .collect()
    }
    fn visit<'a>(
        name: &'a str,
        schemas: &'a BTreeMap<String, Value>,
        path: &mut Vec<&'a str>,
        done: &mut std::collections::BTreeSet<&'a str>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| *n == name) {
            let mut cycle: Vec<String> = path[at..].iter().map(|n| n.to_string()).collect();
            cycle.push(name.to_string());
            return Some(cycle);
        }
        if done.contains(name) {
            return None;
        }
        let schema = schemas.get(name)?;
        path.push(name);
        for next in composed(schema) {
            if let Some(cycle) = visit(next, schemas, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(name);
        None
    }
    let mut done = std::collections::BTreeSet::new();
    for name in schemas.keys() {
        if let Some(cycle) = visit(name, schemas, &mut Vec::new(), &mut done) {
            return Some(cycle);
        }
    }
    None
}

/// The suffix of the types hoisted from shared parameters. typify names a component schema
/// after its key and an inline schema after its parents (`Group` + `id` -> `GroupId`), so a
/// hoisted type named after the parameter alone (`groupId` -> `GroupId`) could take a name
/// typify derives for something else. Every hoisted name ends in this suffix, and
/// [`crate::codegen`] refuses output whose `types` module defines a name twice.
pub const HOISTED_SUFFIX: &str = "Param";

/// Shared parameters with an enumeration get their schema moved to `components/schemas`
/// as `<Parameter>Param`, so every operation shares one type. Patterns and bounds are not
/// hoisted: they become rules of the operation table and the parameter a plain string or
/// number (see [`strip_parameter_constraints`]), so a type would be dead weight.
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
        let name = format!("{}{HOISTED_SUFFIX}", data.name.to_pascal_case());
        let schema = ReferenceOr::Item(schema.clone());
        match components.schemas.get(&name) {
            Some(existing) if *existing != schema => bail!(
                "parameter `{key}`: its enumeration would become components/schemas/{name}, \
                 which already holds a different schema; rename that schema"
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
        SchemaKind::Type(Type::String(s)) => !s.enumeration.is_empty(),
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
    if let Some(sunset) = op.extensions.get(SUNSET) {
        let date = match sunset {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let note = format!("Atlas retires this operation on {date} (`{SUNSET}`).");
        op.description = Some(match op.description.take() {
            Some(text) => format!("{}\n\n{note}", text.trim_end()),
            None => note,
        });
    }

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
    // Read before the parameters lose their defaults to the operation table.
    let paging = paging(&op.parameters, components)?;
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
    let mut epoch_params = Vec::new();
    let mut param_docs = Vec::new();
    for param in &op.parameters {
        let resolved = resolve_parameter(param, components)?;
        let data = resolved.parameter_data_ref();
        match data.extensions.get(EPOCH) {
            None => {}
            Some(Value::String(unit)) if unit == "milliseconds" => {
                epoch_params.push((data.name.clone(), Epoch::Milliseconds));
            }
            Some(Value::String(unit)) if unit == "seconds" => {
                epoch_params.push((data.name.clone(), Epoch::Seconds));
            }
            Some(other) => bail!(
                "parameter `{}`: {EPOCH} must be milliseconds or seconds, found {other}",
                data.name
            ),
        }
        let example = example_literal(data, components);
        param_docs.push(ParamDoc {
            required: data.required,
            example,
            name: data.name.clone(),
            location: match resolved {
                Parameter::Path { .. } => Location::Path,
                Parameter::Header { .. } => Location::Header,
                _ => Location::Query,
            },
            description: data
                .description
                .as_deref()
                .map(str::trim)
                .filter(|d| !d.is_empty())
                .map(str::to_string),
        });
    }
    let body_doc = match &op.request_body {
        Some(ReferenceOr::Item(body)) => body.description.clone(),
        Some(ReferenceOr::Reference { reference }) => reference
            .strip_prefix("#/components/requestBodies/")
            .and_then(|name| components.request_bodies.get(name))
            .and_then(|b| b.as_item())
            .and_then(|b| b.description.clone()),
        None => None,
    }
    .map(|d| d.trim().to_string())
    .filter(|d| !d.is_empty());
    let success = normalize_success(op, components, path)?;
    let version = success.version;
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
        accept: success.accept,
        content_type,
        params,
        param_names: names,
        ip_params,
        epoch_params,
        param_docs,
        body_doc,
        streamed: success.streamed,
        deprecated: op.deprecated,
        bodiless_success: success.bodiless,
        paging,
    })
}

/// The paging of an operation with integer query parameters `pageNum` and `itemsPerPage`.
fn paging(params: &[ReferenceOr<Parameter>], components: &Components) -> Result<Option<Paging>> {
    let mut page_num = false;
    let mut items_per_page: Option<Option<i64>> = None;
    let mut include_count = false;
    for param in params {
        let resolved = resolve_parameter(param, components)?;
        let Parameter::Query { parameter_data, .. } = resolved else {
            continue;
        };
        let ParameterSchemaOrContent::Schema(schema) = &parameter_data.format else {
            continue;
        };
        let schema = resolve_schema(schema, components)?;
        match (parameter_data.name.as_str(), &schema.schema_kind) {
            ("pageNum", SchemaKind::Type(Type::Integer(_))) => page_num = true,
            ("itemsPerPage", SchemaKind::Type(Type::Integer(_))) => {
                items_per_page = Some(schema.schema_data.default.as_ref().and_then(Value::as_i64));
            }
            ("includeCount", SchemaKind::Type(Type::Boolean(_))) => include_count = true,
            _ => {}
        }
    }
    Ok(match (page_num, items_per_page) {
        (true, Some(default_page_size)) => Some(Paging {
            default_page_size,
            include_count,
        }),
        _ => None,
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
                ecma_pattern(pattern).map_err(|e| {
                    anyhow::anyhow!("parameter `{}`: pattern `{pattern}` does not compile as an ECMAScript regular expression, with or without Unicode mode: {e}", data.name)
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
    // Every path parameter has an entry: the runtime refuses `.` and `..` there.
    Ok((!rule.is_empty() || rule.location == Location::Path).then_some(rule))
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

/// Picks one media type out of several: those of the wanted Atlas version (else of the
/// newest version, else all), and among them the first JSON one with a schema (a report
/// offered as JSON and as CSV is read as JSON, typed), else the first listed.
fn pick_media<'a>(
    content: &'a IndexMap<String, MediaType>,
    version: Option<&str>,
) -> Option<(&'a String, &'a MediaType)> {
    let newest = content.keys().filter_map(|m| media_version(m)).max();
    let wanted = version
        .filter(|v| content.keys().any(|m| media_version(m) == Some(*v)))
        .or(newest);
    let candidates: Vec<(&String, &MediaType)> = content
        .iter()
        .filter(|(m, _)| wanted.is_none() || media_version(m) == wanted)
        .collect();
    candidates
        .iter()
        .find(|(m, t)| is_json(m) && t.schema.is_some())
        .or_else(|| candidates.first())
        .copied()
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

/// 1xx answers (`102 Processing`, ...) are never the final answer to a request: reqwest
/// hands the caller the final one, so a 1xx response in the spec can never reach the client.
fn is_informational(status: &StatusCode) -> bool {
    match status {
        StatusCode::Code(code) => (100..200).contains(code),
        StatusCode::Range(range) => *range == 1,
    }
}

fn status_label(status: &StatusCode) -> String {
    match status {
        StatusCode::Code(code) => code.to_string(),
        StatusCode::Range(range) => format!("{range}XX"),
    }
}

/// What the success responses of an operation come to.
struct Success {
    /// The one media type sent as `Accept`.
    accept: String,
    /// Its Atlas version, which the request body follows.
    version: Option<String>,
    /// Whether the typed success is a byte stream.
    streamed: bool,
    /// Body-less success statuses beside typed ones (see [`Operation::bodiless_success`]).
    bodiless: Vec<u16>,
}

/// Normalises the success responses:
/// - 1xx responses are dropped (never a final answer);
/// - typed JSON successes whose schemas differ (a 200 and a 201 of different shapes) are
///   decoded as any JSON (`serde_json::Value`): the status tells them apart, and no
///   success is turned into an error;
/// - body-less successes beside typed ones are removed from what progenitor sees and
///   recorded: the glue makes the operation return `Option<T>`, `None` for them;
/// - JSON beside binary successes on different statuses is refused.
fn normalize_success(
    op: &mut SpecOperation,
    components: &Components,
    path: &str,
) -> Result<Success> {
    op.responses
        .responses
        .retain(|status, _| !is_informational(status));
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
    let mut kinds: Vec<(StatusCode, BodyKind)> = Vec::new();
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
                kinds.push((status.clone(), kind));
            }
            None => kinds.push((status.clone(), BodyKind::Empty)),
        }
    }

    let typed: Vec<&(StatusCode, BodyKind)> = kinds
        .iter()
        .filter(|(_, kind)| *kind != BodyKind::Empty)
        .collect();
    let mut bodiless = Vec::new();
    if let Some((first_status, first)) = typed.first() {
        if let Some((status, _)) = typed
            .iter()
            .find(|(_, kind)| matches!(kind, BodyKind::Binary) != matches!(first, BodyKind::Binary))
        {
            bail!(
                "success responses {} and {} carry different kinds of body (typed JSON and \
                 binary); the generated client returns one kind per operation, so declare \
                 both as JSON or both as binary",
                status_label(first_status),
                status_label(status)
            );
        }
        if typed.iter().any(|(_, kind)| kind != first) {
            // Different JSON shapes: every one decodes as any JSON value.
            for (status, response) in op.responses.responses.iter_mut() {
                if !is_success(status) {
                    continue;
                }
                if let ReferenceOr::Item(response) = response
                    && let Some(media) = response.content.get_mut("application/json")
                {
                    media.schema = Some(ReferenceOr::Item(any_json_schema()));
                }
            }
        }
        for (status, kind) in &kinds {
            if *kind != BodyKind::Empty {
                continue;
            }
            let StatusCode::Code(code) = status else {
                bail!(
                    "success response {} has no body beside typed ones; the generated client \
                     answers `None` for exact statuses only, so name the status",
                    status_label(status)
                );
            };
            bodiless.push(*code);
            op.responses.responses.shift_remove(status);
        }
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
    let streamed = typed
        .first()
        .is_some_and(|(_, kind)| matches!(kind, BodyKind::Binary));
    Ok(Success {
        accept,
        version,
        streamed,
        bodiless,
    })
}

fn any_json_schema() -> Schema {
    serde_json::from_value(serde_json::json!({})).expect("a literal schema deserialises")
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

/// Error responses: JSON media types become `application/json`, and one error type per
/// operation is kept. The generated client has one error type per operation (progenitor's
/// `Error<E>`), so when error responses carry different bodies, the schema most of them
/// share (Atlas's `ApiError`, in practice; on a tie, the one listed first) stays typed and
/// every other error response (a different schema, or no body) is removed from what
/// progenitor sees: it arrives as `Error::UnexpectedResponse`, its status and its whole
/// body kept by the runtime (`atlas_runtime::response::body_of`), never dropped. The same
/// holds for a `default` response.
fn normalize_errors(op: &mut SpecOperation, components: &Components) -> Result<()> {
    let mut kinds: Vec<(Option<StatusCode>, BodyKind)> = Vec::new();
    for (status, response) in op.responses.responses.iter_mut() {
        if is_success(status) {
            continue;
        }
        let response = resolve_response(response, components)?;
        let kind = rewrite_content(&mut response.content, None).map_or(BodyKind::Empty, |(_, k)| k);
        kinds.push((Some(status.clone()), kind));
    }
    if let Some(default) = &mut op.responses.default {
        let response = resolve_response(default, components)?;
        let kind = rewrite_content(&mut response.content, None).map_or(BodyKind::Empty, |(_, k)| k);
        kinds.push((None, kind));
    }
    // The body most error responses share; the first listed on a tie.
    let mut chosen: Option<(&BodyKind, usize)> = None;
    for (_, kind) in kinds.iter().filter(|(_, k)| *k != BodyKind::Empty) {
        let count = kinds.iter().filter(|(_, k)| k == kind).count();
        if chosen.is_none_or(|(_, best)| count > best) {
            chosen = Some((kind, count));
        }
    }
    let Some((chosen, _)) = chosen else {
        return Ok(());
    };
    let dropped: Vec<Option<StatusCode>> = kinds
        .iter()
        .filter(|(_, kind)| kind != chosen)
        .map(|(status, _)| status.clone())
        .collect();
    for status in dropped {
        match status {
            Some(status) => {
                op.responses.responses.shift_remove(&status);
            }
            None => op.responses.default = None,
        }
    }
    Ok(())
}
