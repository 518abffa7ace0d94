//! The operation table: what the runtime reads of each operation of a spec, recorded by
//! `cargo xtask codegen` (its names, whether its answer is a download, its parameter rules),
//! and the rules' checks. The media types a request carries are written into each
//! builder's `send()`, from the same spec, and nowhere else.
//!
//! Generated code calls [`Operation::check`] with the typed values its builder holds, before
//! it builds the request, so bad input fails with a message naming the parameter (by its
//! name on the wire), the rule and the value, and nothing is sent.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::Value;

/// What the runtime reads of one operation, recorded from the spec.
#[derive(Debug)]
pub struct Operation {
    /// The generated method's name, which each `send()` passes to [`Runtime::call`](crate::Runtime::call).
    pub id: &'static str,
    /// The official `operationId`, such as `getGroupProcess`: errors name it.
    pub operation_id: &'static str,
    /// Whether the success body is handed to the caller as a stream of bytes (a file
    /// download) rather than read whole and decoded.
    pub streamed: bool,
    /// Parameters that carry rules.
    pub params: &'static [Param],
}

/// Where a parameter travels in the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Location {
    /// A path segment.
    Path,
    /// A query-string pair.
    Query,
    /// A request header.
    Header,
}

/// An inclusive numeric bound, in the parameter's own type.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Bound {
    /// Bound of an `integer` parameter.
    Integer(i64),
    /// Bound of a `number` parameter.
    Number(f64),
}

/// The rules of one parameter, checked before a request is sent.
#[derive(Debug)]
pub struct Param {
    /// The parameter's name on the wire, such as `itemsPerPage`.
    pub name: &'static str,
    /// Where it travels.
    pub location: Location,
    /// ECMAScript regular expression the whole value must match.
    pub pattern: Option<&'static str>,
    /// Smallest allowed value.
    pub minimum: Option<Bound>,
    /// Largest allowed value.
    pub maximum: Option<Bound>,
    /// Fewest characters allowed.
    pub min_length: Option<usize>,
    /// Most characters allowed.
    pub max_length: Option<usize>,
    /// Parameters that must be present whenever this one is (`x-requires`).
    pub requires: &'static [&'static str],
    /// A parameter this one must not exceed when both are present (`x-not-after`).
    pub not_after: Option<&'static str>,
}

/// A parameter's value as the builder holds it, for [`Operation::check`]; `None` when the
/// caller did not set an optional parameter.
pub fn value<T: serde::Serialize>(value: &T) -> Option<Value> {
    match serde_json::to_value(value) {
        Ok(Value::Null) | Err(_) => None,
        Ok(v) => Some(v),
    }
}

impl Operation {
    /// Checks every rule against the values the builder holds, given as
    /// `(wire name, value)` pairs. Returns a message naming the parameter and the rule.
    ///
    /// # Errors
    ///
    /// The first rule broken, as one line.
    pub fn check(&self, values: &[(&str, Option<Value>)]) -> Result<(), String> {
        let find = |name: &str| {
            values
                .iter()
                .find(|(n, _)| *n == name)
                .and_then(|(_, v)| v.as_ref())
        };
        for param in self.params {
            let Some(value) = find(param.name) else {
                continue;
            };
            check_value(param, value)?;
            for other in param.requires {
                if find(other).is_none() {
                    return Err(format!(
                        "parameter `{}` requires `{other}`: give both or neither",
                        param.name
                    ));
                }
            }
            if let Some(other) = param.not_after
                && let Some(limit) = find(other)
                && compare(value, limit).is_some_and(Ordering::is_gt)
            {
                return Err(format!(
                    "parameter `{}` ({}) must not be after `{other}` ({})",
                    param.name,
                    plain(value),
                    plain(limit)
                ));
            }
        }
        Ok(())
    }
}

/// A value as it goes on the wire: strings without quotes.
fn plain(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn check_value(param: &Param, value: &Value) -> Result<(), String> {
    let name = param.name;
    // A path segment `.` or `..` is resolved away when the URL is built, and an empty one
    // leaves `//` or a trailing `/`: the request would name another resource (the parent,
    // for `..`; the collection, for an empty last segment).
    if param.location == Location::Path
        && let Value::String(text) = value
    {
        if text.is_empty() {
            return Err(format!(
                "parameter `{name}` cannot be empty: as a path segment it would name another resource"
            ));
        }
        if text == "." || text == ".." {
            return Err(format!(
                "parameter `{name}` cannot be `{text}`: as a path segment it would name another resource"
            ));
        }
    }
    if let Value::String(text) = value {
        if let Some(pattern) = param.pattern {
            // JSON Schema patterns are searched for, not implicitly anchored.
            let regex = compiled(pattern).map_err(|e| {
                format!("parameter `{name}`: its pattern {pattern} does not compile: {e}")
            })?;
            if regex.find(text).is_none() {
                return Err(format!(
                    "parameter `{name}` must match the pattern {pattern}; got {text:?}"
                ));
            }
        }
        let chars = text.chars().count();
        if let Some(min) = param.min_length.filter(|min| chars < *min) {
            return Err(format!(
                "parameter `{name}` must be at least {min} characters long; got {text:?}"
            ));
        }
        if let Some(max) = param.max_length.filter(|max| chars > *max) {
            return Err(format!(
                "parameter `{name}` must be at most {max} characters long; got {} characters",
                chars
            ));
        }
    }
    if let Some(min) = param.minimum
        && against(value, min).is_some_and(Ordering::is_lt)
    {
        return Err(format!(
            "parameter `{name}` must be at least {}; got {}",
            show(min),
            plain(value)
        ));
    }
    if let Some(max) = param.maximum
        && against(value, max).is_some_and(Ordering::is_gt)
    {
        return Err(format!(
            "parameter `{name}` must be at most {}; got {}",
            show(max),
            plain(value)
        ));
    }
    Ok(())
}

/// What stays raw in a path segment: RFC 3986's unreserved characters and the delimiters
/// Atlas's own SDK leaves raw (Go's `url.PathEscape`: `$ & + : = @`), so `host:27017`
/// travels as Atlas is used to.
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b':')
    .remove(b'=')
    .remove(b'@');

/// A path parameter's value as one path segment: every byte percent-encoded but RFC
/// 3986's unreserved characters and `$ & + : = @` (as Go's `url.PathEscape` does, which
/// Atlas's own SDK uses). No value can end the segment (`/`), start the query (`?`), or
/// be split by a server that reads `,` or `;` as separators; characters no URI may hold
/// (`[`, `|`, `^`, space) never go raw. Generated clients build paths with it; the values
/// `.` and `..`, which URL resolution would remove, are refused before by
/// [`Operation::check`].
///
/// ```
/// assert_eq!(
///     atlas_runtime::operation::encode_path("host:27017/a b,c;d?e"),
///     "host:27017%2Fa%20b%2Cc%3Bd%3Fe"
/// );
/// ```
pub fn encode_path(value: &str) -> String {
    percent_encoding::utf8_percent_encode(value, SEGMENT).to_string()
}

/// A pattern as OpenAPI reads it: ECMA-262 in Unicode mode, where `\p{L}` is any letter
/// (without it, `\p` is the letter `p`). A pattern that is not valid in Unicode mode (an
/// identity escape such as `\:`, which only the plain reading allows) is read plainly, as
/// its author's tools did.
///
/// # Errors
///
/// The pattern is valid ECMA-262 under neither reading.
pub fn pattern(pattern: &str) -> Result<regress::Regex, regress::Error> {
    regress::Regex::with_flags(pattern, "u").or_else(|_| regress::Regex::new(pattern))
}

/// The compiled form of a pattern of the operation table ([`pattern`]), compiled once per
/// process.
fn compiled(pattern: &'static str) -> Result<Arc<regress::Regex>, regress::Error> {
    static CACHE: OnceLock<Mutex<HashMap<&'static str, Arc<regress::Regex>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Mutex::default);
    if let Some(regex) = cache.lock().unwrap_or_else(|p| p.into_inner()).get(pattern) {
        return Ok(regex.clone());
    }
    let regex = Arc::new(self::pattern(pattern)?);
    cache
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(pattern, regex.clone());
    Ok(regex)
}

fn show(bound: Bound) -> String {
    match bound {
        Bound::Integer(i) => i.to_string(),
        Bound::Number(n) => n.to_string(),
    }
}

/// Orders a numeric value against a bound, in the bound's type.
fn against(value: &Value, bound: Bound) -> Option<Ordering> {
    match bound {
        Bound::Integer(b) => match value.as_i64() {
            Some(v) => Some(v.cmp(&b)),
            // Larger than any i64.
            None if value.as_u64().is_some() => Some(Ordering::Greater),
            None => value.as_f64()?.partial_cmp(&(b as f64)),
        },
        Bound::Number(b) => value.as_f64()?.partial_cmp(&b),
    }
}

/// Orders two parameter values numerically when both are numbers.
fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    match (a.as_i64(), b.as_i64()) {
        (Some(a), Some(b)) => Some(a.cmp(&b)),
        _ => a.as_f64()?.partial_cmp(&b.as_f64()?),
    }
}

/// A value the spec marks as an IP address (`x-ip-address`), in the one form Atlas stores
/// and its own pattern accepts: dotted IPv4, or IPv6 with all eight groups in lower case
/// and without leading zeros (`2001:db8:0:0:0:0:0:1`). Anything that is not an IP address
/// fails, naming the parameter.
///
/// # Errors
///
/// The value is not an IPv4 or IPv6 address.
pub fn ip_address(name: &str, value: &str) -> Result<String, String> {
    match value.trim().parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => Ok(v4.to_string()),
        Ok(IpAddr::V6(v6)) => Ok(v6
            .segments()
            .iter()
            .map(|s| format!("{s:x}"))
            .collect::<Vec<_>>()
            .join(":")),
        Err(_) => Err(format!(
            "parameter `{name}` must be an IPv4 or IPv6 address (a single address, no prefix length); got {value:?}"
        )),
    }
}

/// What [`ip_address`] applies to: a required or an optional builder value.
pub trait IpParam: Sized {
    /// The value in Atlas's form.
    ///
    /// # Errors
    ///
    /// The value is not an IP address.
    fn normalize_ip(self, name: &str) -> Result<Self, String>;
}

impl IpParam for String {
    fn normalize_ip(self, name: &str) -> Result<Self, String> {
        ip_address(name, &self)
    }
}

impl IpParam for Option<String> {
    fn normalize_ip(self, name: &str) -> Result<Self, String> {
        self.map(|v| ip_address(name, &v)).transpose()
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn patterns_are_read_in_unicode_mode_where_they_can_be() {
        let names = pattern(r"^[\p{L}\p{N}\-_.(),:&@+']{1,64}$").unwrap();
        for name in ["Project0", "Team-Prod", "Projét", "集群-1"] {
            assert!(names.find(name).is_some(), "{name}");
        }
        assert!(names.find("p{L}").is_none());
        // `\:` is no escape in Unicode mode: read plainly, as its authors' tools did.
        let cidr = pattern(r"^([0-9a-f]{1,4}\:){7}[0-9a-f]{1,4}$").unwrap();
        assert!(cidr.find("2001:db8:0:0:0:0:0:1").is_some());
        assert!(pattern("(").is_err());
    }

    use super::*;

    #[test]
    fn ip_addresses_take_atlas_form() {
        let ok = |v: &str| ip_address("ipAddress", v).unwrap();
        assert_eq!(ok("2001:db8::1"), "2001:db8:0:0:0:0:0:1");
        assert_eq!(ok("2001:DB8::1"), "2001:db8:0:0:0:0:0:1");
        assert_eq!(ok("::1"), "0:0:0:0:0:0:0:1");
        assert_eq!(ok("203.0.113.7"), "203.0.113.7");
        for bad in ["not-an-ip", "999.1.1.1", "10.0.0.0/8", "", "1.2.3"] {
            let e = ip_address("ipAddress", bad).unwrap_err();
            assert!(
                e.starts_with("parameter `ipAddress` must be an IPv4 or IPv6"),
                "{e}"
            );
        }
    }

    static OP: Operation = Operation {
        id: "op",
        operation_id: "op",
        streamed: false,
        params: &[
            Param {
                name: "start",
                location: Location::Query,
                pattern: None,
                minimum: Some(Bound::Integer(10)),
                maximum: None,
                min_length: None,
                max_length: None,
                requires: &["end"],
                not_after: Some("end"),
            },
            Param {
                name: "name",
                location: Location::Path,
                pattern: Some("^[a-z]+$"),
                minimum: None,
                maximum: None,
                min_length: None,
                max_length: Some(5),
                requires: &[],
                not_after: None,
            },
        ],
    };

    #[test]
    fn rules_are_checked_on_typed_values() {
        let check = |start: Option<i64>, end: Option<i64>, name: &str| {
            OP.check(&[
                ("start", value(&start)),
                ("end", value(&end)),
                ("name", value(&name.to_string())),
            ])
        };
        assert_eq!(check(Some(11), Some(12), "abc"), Ok(()));
        assert_eq!(check(None, None, "abc"), Ok(()));
        assert_eq!(
            check(Some(9), Some(12), "abc").unwrap_err(),
            "parameter `start` must be at least 10; got 9"
        );
        assert_eq!(
            check(Some(11), None, "abc").unwrap_err(),
            "parameter `start` requires `end`: give both or neither"
        );
        assert_eq!(
            check(Some(13), Some(12), "abc").unwrap_err(),
            "parameter `start` (13) must not be after `end` (12)"
        );
        assert_eq!(
            check(None, None, "ABC").unwrap_err(),
            "parameter `name` must match the pattern ^[a-z]+$; got \"ABC\""
        );
        assert_eq!(
            check(None, None, "abcdef").unwrap_err(),
            "parameter `name` must be at most 5 characters long; got 6 characters"
        );
    }
}
