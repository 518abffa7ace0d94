//! Parameter rules, checked on the built request before it is sent.
//!
//! The rules come from the spec (pattern, bounds, lengths, `x-requires`, `x-not-after`);
//! every message names the parameter, the rule and the offending value.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use percent_encoding::percent_decode_str;

use crate::runtime::{Bound, Location, Operation, Param};

/// Checks every rule of `operation` against the request.
pub(crate) fn check(operation: &Operation, request: &reqwest::Request) -> Result<(), String> {
    if operation.params.is_empty() {
        return Ok(());
    }
    let values = Values::of(operation, request);
    for param in operation.params {
        let Some(value) = values.get(param.name, param.location) else {
            continue;
        };
        check_value(param, &value)?;
        for other in param.requires {
            if values.find(other).is_none() {
                return Err(format!(
                    "parameter `{}` requires `{other}`: give both or neither",
                    param.name
                ));
            }
        }
        if let Some(other) = param.not_after
            && let Some(limit) = values.find(other)
            && compare(&value, &limit).is_some_and(|o| o.is_gt())
        {
            return Err(format!(
                "parameter `{}` ({value}) must not be after `{other}` ({limit})",
                param.name
            ));
        }
    }
    Ok(())
}

fn check_value(param: &Param, value: &str) -> Result<(), String> {
    let name = param.name;
    if let Some(pattern) = param.pattern {
        // JSON Schema patterns are searched for, not implicitly anchored.
        let regex = compiled(pattern).map_err(|e| {
            format!("parameter `{name}`: its pattern {pattern} does not compile: {e}")
        })?;
        if regex.find(value).is_none() {
            return Err(format!(
                "parameter `{name}` must match the pattern {pattern}; got {value:?}"
            ));
        }
    }
    let chars = value.chars().count();
    if let Some(min) = param.min_length.filter(|min| chars < *min) {
        return Err(format!(
            "parameter `{name}` must be at least {min} characters long; got {value:?}"
        ));
    }
    if let Some(max) = param.max_length.filter(|max| chars > *max) {
        return Err(format!(
            "parameter `{name}` must be at most {max} characters long; got {value:?}"
        ));
    }
    if let Some(min) = param.minimum
        && against(value, min)?.is_lt()
    {
        return Err(format!(
            "parameter `{name}` must be at least {}; got {value}",
            show(min)
        ));
    }
    if let Some(max) = param.maximum
        && against(value, max)?.is_gt()
    {
        return Err(format!(
            "parameter `{name}` must be at most {}; got {value}",
            show(max)
        ));
    }
    Ok(())
}

/// The compiled form of a pattern of the operation table, compiled once per process.
fn compiled(pattern: &'static str) -> Result<Arc<regress::Regex>, regress::Error> {
    static CACHE: OnceLock<Mutex<HashMap<&'static str, Arc<regress::Regex>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Mutex::default);
    if let Some(regex) = cache.lock().unwrap_or_else(|p| p.into_inner()).get(pattern) {
        return Ok(regex.clone());
    }
    let regex = Arc::new(regress::Regex::new(pattern)?);
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

/// Orders a value against a bound, in the bound's type.
fn against(value: &str, bound: Bound) -> Result<Ordering, String> {
    match bound {
        Bound::Integer(b) => Ok(parse_i64(value)?.cmp(&b)),
        Bound::Number(b) => parse_f64(value)?
            .partial_cmp(&b)
            .ok_or_else(|| format!("{value:?} is not a comparable number")),
    }
}

fn parse_i64(value: &str) -> Result<i64, String> {
    value
        .parse()
        .map_err(|_| format!("{value:?} is not an integer"))
}

fn parse_f64(value: &str) -> Result<f64, String> {
    value
        .parse()
        .map_err(|_| format!("{value:?} is not a number"))
}

/// Orders two parameter values numerically when both are numbers.
fn compare(a: &str, b: &str) -> Option<Ordering> {
    match (a.parse::<i64>(), b.parse::<i64>()) {
        (Ok(a), Ok(b)) => Some(a.cmp(&b)),
        _ => a.parse::<f64>().ok()?.partial_cmp(&b.parse::<f64>().ok()?),
    }
}

/// The parameter values of a built request, decoded.
struct Values<'r> {
    path: Vec<(&'static str, Cow<'r, str>)>,
    query: Vec<(Cow<'r, str>, Cow<'r, str>)>,
    request: &'r reqwest::Request,
}

impl<'r> Values<'r> {
    fn of(operation: &Operation, request: &'r reqwest::Request) -> Self {
        // The template's segments match the last segments of the URL path (the base URL
        // may carry a path prefix of its own).
        let template: Vec<&'static str> = operation.path.split('/').skip(1).collect();
        let actual: Vec<&'r str> = request.url().path().split('/').skip(1).collect();
        let offset = actual.len().saturating_sub(template.len());
        let path = template
            .iter()
            .zip(&actual[offset..])
            .filter_map(|(t, a)| {
                let name = t.strip_prefix('{')?.strip_suffix('}')?;
                Some((name, percent_decode_str(a).decode_utf8_lossy()))
            })
            .collect();
        let query = request.url().query_pairs().collect();
        Self {
            path,
            query,
            request,
        }
    }

    fn get(&self, name: &str, location: Location) -> Option<Cow<'r, str>> {
        match location {
            Location::Path => self
                .path
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.clone()),
            Location::Query => self
                .query
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone()),
            Location::Header => self
                .request
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(|v| Cow::Owned(v.to_string())),
        }
    }

    fn find(&self, name: &str) -> Option<Cow<'r, str>> {
        [Location::Query, Location::Path, Location::Header]
            .into_iter()
            .find_map(|location| self.get(name, location))
    }
}
