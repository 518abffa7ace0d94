//! The HTTP surface: the five operations of `spec/atlas.yaml`, the OAuth endpoints, and
//! `/__fake/stats`. Every API call passes one gate, in Atlas's order: faults, credentials,
//! version, rate limit; then the operation checks its parameters and answers.

// Early answers are `Result<_, Response>`; boxing them would only add noise.
#![allow(clippy::result_large_err)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{OriginalUri, Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use futures::Stream;
use serde_json::{Value, json};

use crate::audit::{AuditLog, DEFAULT_WINDOW_S};
use crate::auth::{AuthState, Verdict};
use crate::config::{Config, Faults, PageOrder, Precision, WindowSemantics};
use crate::data::{DataSet, Entry};
use crate::faults::{Cut, cut};
use crate::ratelimit::{EndpointSet, RateLimiter, Take};
use crate::stats::Counters;

/// The media type of the access-history operations.
pub const ACCESS_MEDIA_TYPE: &str = "application/vnd.atlas.2023-01-01+json";
/// The media type of the audit-log download.
pub const AUDIT_MEDIA_TYPE: &str = "application/vnd.atlas.2023-02-01+gzip";
/// The media type of the cluster list.
pub const CLUSTERS_MEDIA_TYPE: &str = "application/vnd.atlas.2024-08-05+json";
/// The media type of `listStreamWorkspaces`.
pub const WORKSPACES_MEDIA_TYPE: &str = "application/vnd.atlas.2023-02-01+json";
/// The media type of `listGroups` and `getOrgGroups`.
pub const PROJECTS_MEDIA_TYPE: &str = "application/vnd.atlas.2023-01-01+json";
/// The most items one page of a paginated list holds.
pub const MAX_ITEMS_PER_PAGE: i64 = 500;
/// The items a page holds when `itemsPerPage` is absent.
pub const DEFAULT_ITEMS_PER_PAGE: i64 = 100;
/// The earliest time access history accepts, epoch milliseconds (2008-01-01).
pub const EARLIEST_MS: i64 = 1_199_145_600_000;
/// The most entries one access-history call returns.
pub const MAX_LOGS: i64 = 20_000;

/// Everything the handlers share.
pub struct Shared {
    pub(crate) config: Config,
    pub(crate) projects: Vec<DataSet>,
    pub(crate) auth: AuthState,
    pub(crate) limiter: RateLimiter,
    pub(crate) counters: Counters,
    pub(crate) faults: Mutex<Faults>,
}

/// Every API answer, `latency` (Atlas's query) and `round_trip` (the network's) after its
/// request: the fake builds it meanwhile, as Atlas does on its own machines, so that
/// building a 12 MB page does not add to the latency (it would, on a client's machine,
/// compete with the client under test). A 401 runs no query: it takes the round trip only.
async fn with_latency(
    State(shared): State<Arc<Shared>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let start = tokio::time::Instant::now();
    let (latency, round_trip) = {
        let faults = shared.faults.lock().unwrap();
        (faults.latency, faults.round_trip)
    };
    let response = next.run(request).await;
    let query = match response.status() {
        StatusCode::UNAUTHORIZED => Duration::ZERO,
        _ => latency,
    };
    tokio::time::sleep_until(start + round_trip + query).await;
    response
}

/// The OAuth endpoints' answers, `round_trip` after their request: no query runs.
async fn with_round_trip(
    State(shared): State<Arc<Shared>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let due = tokio::time::Instant::now() + shared.faults.lock().unwrap().round_trip;
    let response = next.run(request).await;
    tokio::time::sleep_until(due).await;
    response
}

/// The router of a fake Atlas.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route(
            "/api/atlas/v2/groups/{group_id}/dbAccessHistory/clusters/{cluster}",
            get(|s, p, m, u, h, q| access_route(Op::Cluster, s, p, m, u, h, q)),
        )
        .route(
            "/api/atlas/v2/groups/{group_id}/dbAccessHistory/processes/{hostname}",
            get(|s, p, m, u, h, q| access_route(Op::Process, s, p, m, u, h, q)),
        )
        .route(
            "/api/atlas/v1.0/groups/{group_id}/dbAccessHistory/clusters/{cluster}",
            get(|s, p, m, u, h, q| access_route(Op::Legacy, s, p, m, u, h, q)),
        )
        .route(
            "/api/atlas/v2/groups/{group_id}/streams/{tenant}/auditLogs",
            get(audit_logs),
        )
        .route(
            "/api/atlas/v2/groups/{group_id}/clusters",
            get(list_clusters),
        )
        .route("/api/atlas/v2/groups", get(list_groups))
        .route(
            "/api/atlas/v2/groups/{group_id}/streams",
            get(list_workspaces),
        )
        .route("/api/atlas/v2/orgs/{org_id}/groups", get(org_groups))
        .route_layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            with_latency,
        ))
        .merge(
            Router::new()
                .route("/api/oauth/token", post(token))
                .route("/api/oauth/revoke", post(revoke))
                .route_layer(axum::middleware::from_fn_with_state(
                    shared.clone(),
                    with_round_trip,
                )),
        )
        .route("/__fake/stats", get(stats))
        .fallback(not_found)
        .with_state(shared)
}

/// The operations, with what differs between them.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Cluster,
    Process,
    Legacy,
    AuditLogs,
    Clusters,
    Projects,
    Workspaces,
}

impl Op {
    fn media_type(self) -> Option<&'static str> {
        match self {
            Op::Cluster | Op::Process => Some(ACCESS_MEDIA_TYPE),
            Op::AuditLogs => Some(AUDIT_MEDIA_TYPE),
            Op::Clusters => Some(CLUSTERS_MEDIA_TYPE),
            Op::Projects => Some(PROJECTS_MEDIA_TYPE),
            Op::Workspaces => Some(WORKSPACES_MEDIA_TYPE),
            Op::Legacy => None,
        }
    }

    fn set(self) -> EndpointSet {
        match self {
            Op::AuditLogs | Op::Workspaces => EndpointSet::Streams,
            Op::Clusters => EndpointSet::Clusters,
            Op::Projects => EndpointSet::Projects,
            _ => EndpointSet::AccessTracking,
        }
    }
}

/// A request as the gate sees it.
struct Call<'a> {
    shared: &'a Shared,
    op: Op,
    method: &'a Method,
    uri: &'a OriginalUri,
    headers: &'a HeaderMap,
    group_id: &'a str,
}

/// An Atlas error answer.
pub(crate) fn api_error(
    status: StatusCode,
    code: &str,
    detail: &str,
    parameters: Vec<Value>,
) -> Response {
    api_error_with(
        status,
        code,
        detail,
        parameters,
        Value::Null,
        "application/json",
    )
}

fn api_error_with(
    status: StatusCode,
    code: &str,
    detail: &str,
    parameters: Vec<Value>,
    bad_request_detail: Value,
    content_type: &'static str,
) -> Response {
    let mut body = json!({
        "detail": detail,
        "error": status.as_u16(),
        "errorCode": code,
        "parameters": parameters,
        "reason": status.canonical_reason().unwrap_or("Unknown"),
    });
    if !bad_request_detail.is_null() {
        body["badRequestDetail"] = bad_request_detail;
    }
    (
        status,
        [(header::CONTENT_TYPE, content_type)],
        body.to_string(),
    )
        .into_response()
}

/// A 400 naming the offending parameter; the audit-log operation labels it `+gzip`, as
/// Atlas has been seen to.
fn bad_parameter(op: Op, field: &str, description: &str) -> Response {
    let content_type = if op == Op::AuditLogs {
        AUDIT_MEDIA_TYPE
    } else {
        "application/json"
    };
    api_error_with(
        StatusCode::BAD_REQUEST,
        "INVALID_PARAMETER",
        &format!("Invalid parameter {field}: {description}."),
        vec![json!(field)],
        json!({ "fields": [{ "field": field, "description": description }] }),
        content_type,
    )
}

impl Call<'_> {
    /// The gate, then the project: what every API call of a project passes before its
    /// own work. `Ok` carries the tokens left in the rate-limit bucket, and the project.
    async fn gate(&self) -> Result<(u32, &DataSet), Response> {
        let remaining = self.admit().await?;
        let project = self.project()?;
        Ok((remaining, project))
    }

    /// The gate. `Ok` carries the tokens left in the rate-limit bucket.
    async fn admit(&self) -> Result<u32, Response> {
        let counters = &self.shared.counters;
        Counters::bump(&counters.requests);
        Counters::bump(match self.op {
            Op::Cluster => &counters.access_cluster,
            Op::Process => &counters.access_process,
            Op::Legacy => &counters.access_legacy,
            Op::AuditLogs => &counters.audit_logs,
            Op::Clusters => &counters.list_clusters,
            Op::Projects => &counters.list_projects,
            Op::Workspaces => &counters.list_workspaces,
        });
        let failure = {
            let mut faults = self.shared.faults.lock().unwrap();
            (faults.fail_next > 0).then(|| {
                faults.fail_next -= 1;
                (faults.fail_status, faults.fail_retry_after)
            })
        };
        if let Some((status, retry_after)) = failure {
            Counters::bump(&counters.faults);
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            let code = if status == StatusCode::TOO_MANY_REQUESTS {
                "RATE_LIMITED_TOKEN_BUCKET"
            } else {
                "SERVICE_UNAVAILABLE"
            };
            let mut response = api_error(status, code, "Injected fault.", vec![]);
            if let Some(seconds) = retry_after {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
            }
            return Err(response);
        }

        let uri = self
            .uri
            .0
            .path_and_query()
            .map_or(self.uri.0.path(), |pq| pq.as_str());
        let authorization = self
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        if let Verdict::Denied { challenge, reason } =
            self.shared
                .auth
                .check(authorization, self.method.as_str(), uri)
        {
            Counters::bump(&counters.unauthorized);
            let mut response = api_error(
                StatusCode::UNAUTHORIZED,
                "UNAUTHORIZED",
                &format!("You are not authorized for this resource ({reason})."),
                vec![],
            );
            if let Some(challenge) = challenge {
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_str(&challenge).unwrap(),
                );
            }
            return Err(response);
        }

        if let Some(expected) = self.op.media_type() {
            let accept: Vec<&str> = self
                .headers
                .get_all(header::ACCEPT)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .collect();
            let exact = matches!(accept.as_slice(), [one] if !one.contains(',') && essence(one) == expected);
            if !exact {
                return Err(api_error(
                    StatusCode::NOT_ACCEPTABLE,
                    "INVALID_VERSION_DATE",
                    &format!(
                        "Accept must be exactly {expected}; got {:?}.",
                        accept.join(", ")
                    ),
                    vec![json!(accept.join(", "))],
                ));
            }
        }

        match self.shared.limiter.take(self.group_id, self.op.set()) {
            Take::Allowed { remaining } => Ok(remaining),
            Take::Limited { retry_after } => {
                Counters::bump(&counters.rate_limited);
                let capacity = self.shared.limiter.capacity();
                let limit = self.shared.config.rate_limit;
                let mut response = api_error(
                    StatusCode::TOO_MANY_REQUESTS,
                    "RATE_LIMITED_TOKEN_BUCKET",
                    "You have exceeded the rate limit of this endpoint set. Retry after the time in Retry-After.",
                    vec![
                        json!(self.op.set().resource(self.group_id)),
                        json!(capacity),
                        json!(limit.refill),
                        json!(0),
                        json!(limit.period.as_secs()),
                    ],
                );
                let headers = response.headers_mut();
                headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
                headers.insert("RateLimit-Limit", HeaderValue::from(capacity));
                headers.insert("RateLimit-Remaining", HeaderValue::from(0));
                Err(response)
            }
        }
    }

    /// The project must be well-formed, known, and readable with these credentials.
    fn project(&self) -> Result<&DataSet, Response> {
        let well_formed = self.group_id.len() == 24
            && self
                .group_id
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if !well_formed {
            return Err(api_error(
                StatusCode::BAD_REQUEST,
                "INVALID_GROUP_ID",
                &format!("An invalid group ID {} was specified.", self.group_id),
                vec![json!(self.group_id)],
            ));
        }
        let Some(project) = self
            .shared
            .projects
            .iter()
            .find(|p| p.group_id == self.group_id)
        else {
            return Err(api_error(
                StatusCode::NOT_FOUND,
                "GROUP_NOT_FOUND",
                &format!("No group with ID {} exists.", self.group_id),
                vec![json!(self.group_id)],
            ));
        };
        let forbidden = self
            .shared
            .faults
            .lock()
            .unwrap()
            .forbidden_groups
            .iter()
            .any(|g| g == self.group_id);
        if forbidden {
            return Err(api_error(
                StatusCode::FORBIDDEN,
                "USER_UNAUTHORIZED",
                "Current user is not authorized to perform this action.",
                vec![],
            ));
        }
        Ok(project)
    }

    /// A success answer with the rate-limit headers and any body fault.
    fn answer(
        &self,
        remaining: u32,
        content_type: &str,
        body: impl Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static,
    ) -> Response {
        let faults = {
            let mut faults = self.shared.faults.lock().unwrap();
            let snapshot = faults.clone();
            if snapshot.close_after_bytes.is_some() && faults.close_next > 0 {
                faults.close_next -= 1;
                if faults.close_next == 0 {
                    faults.close_after_bytes = None;
                }
            }
            snapshot
        };
        let body = match (faults.close_after_bytes, faults.truncate_gzip_after) {
            (Some(after), _) => Body::from_stream(cut(body, Cut::Abort { after })),
            (None, Some(after)) if self.op == Op::AuditLogs => {
                Body::from_stream(cut(body, Cut::Truncate { after }))
            }
            _ => Body::from_stream(body),
        };
        let mut response = Response::new(body);
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_str(content_type).unwrap(),
        );
        headers.insert(
            "RateLimit-Limit",
            HeaderValue::from(self.shared.limiter.capacity()),
        );
        headers.insert("RateLimit-Remaining", HeaderValue::from(remaining));
        response
    }
}

fn essence(media: &str) -> &str {
    media.split(';').next().unwrap_or(media).trim()
}

/// Parsed query string, each value decoded and typed.
struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    fn parse(raw: Option<&str>) -> Self {
        Self {
            pairs: form_urlencoded::parse(raw.unwrap_or("").as_bytes())
                .into_owned()
                .collect(),
        }
    }

    fn raw(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn bool(&self, op: Op, name: &str) -> Result<Option<bool>, Response> {
        match self.raw(name) {
            None => Ok(None),
            Some("true") => Ok(Some(true)),
            Some("false") => Ok(Some(false)),
            Some(_) => Err(bad_parameter(op, name, "must be true or false")),
        }
    }

    fn int(&self, op: Op, name: &str) -> Result<Option<i64>, Response> {
        match self.raw(name) {
            None => Ok(None),
            Some(v) => v
                .parse()
                .map(Some)
                .map_err(|_| bad_parameter(op, name, "must be an integer")),
        }
    }
}

/// The filters of an access-history call, checked as Atlas checks them.
struct AccessFilter {
    window: Option<(i64, i64)>,
    auth_result: Option<bool>,
    ip: Option<String>,
    n_logs: usize,
    envelope: bool,
    pretty: bool,
}

impl AccessFilter {
    fn parse(op: Op, query: &Query) -> Result<Self, Response> {
        let n_logs = query.int(op, "nLogs")?.unwrap_or(MAX_LOGS);
        if !(0..=MAX_LOGS).contains(&n_logs) {
            return Err(bad_parameter(op, "nLogs", "must be between 0 and 20000"));
        }
        let window = match (query.int(op, "start")?, query.int(op, "end")?) {
            (None, None) => None,
            (Some(_), None) => {
                return Err(bad_parameter(op, "end", "is required when start is given"));
            }
            (None, Some(_)) => {
                return Err(bad_parameter(op, "start", "is required when end is given"));
            }
            (Some(start), Some(end)) => {
                if start < EARLIEST_MS {
                    return Err(bad_parameter(
                        op,
                        "start",
                        "must be at least 1199145600000 (2008-01-01)",
                    ));
                }
                if end < EARLIEST_MS {
                    return Err(bad_parameter(
                        op,
                        "end",
                        "must be at least 1199145600000 (2008-01-01)",
                    ));
                }
                if start > end {
                    return Err(bad_parameter(op, "start", "must not be after end"));
                }
                Some((start, end))
            }
        };
        Ok(Self {
            window,
            auth_result: query.bool(op, "authResult")?,
            ip: query.raw("ipAddress").map(str::to_string),
            n_logs: n_logs as usize,
            envelope: query.bool(op, "envelope")?.unwrap_or(false),
            pretty: query.bool(op, "pretty")?.unwrap_or(false),
        })
    }

    /// The matching entries of the given hosts that `semantics` puts in a page of at most
    /// `n_logs`, in its order.
    fn select<'d>(
        &self,
        data: &'d DataSet,
        hosts: &[u16],
        semantics: &WindowSemantics,
        late: Option<(i64, i64)>,
    ) -> Vec<&'d Entry> {
        let entries = &data.entries;
        // `entries` is newest first: the window is one contiguous run of it.
        let (from, to) = match self.window {
            None => (0, entries.len()),
            Some(window) => {
                let (lo, hi) = window_ms(window, semantics);
                let from = entries.partition_point(|e| i128::from(e.ts_ms) > hi);
                let to = entries.partition_point(|e| i128::from(e.ts_ms) >= lo);
                (from, to.max(from))
            }
        };
        let ip = self
            .ip
            .as_deref()
            .map(|ip| data.ips.iter().position(|x| x == ip));
        // Entries "recorded late": not served yet (every other one of a time range).
        let not_yet = |e: &Entry| {
            late.is_some_and(|(a, b)| (a..=b).contains(&e.ts_ms) && e.conn.is_multiple_of(2))
        };
        let matches = |e: &Entry| {
            !not_yet(e)
                && hosts.contains(&e.host)
                && self.auth_result.is_none_or(|ok| ok == e.failure.is_none())
                && match ip {
                    None => true,
                    Some(Some(i)) => e.ip as usize == i,
                    Some(None) => false,
                }
        };
        let window = &entries[from..to];
        match semantics.page {
            PageOrder::NewestFirst => window
                .iter()
                .filter(|e| matches(e))
                .take(self.n_logs)
                .collect(),
            PageOrder::OldestFirst => window
                .iter()
                .rev()
                .filter(|e| matches(e))
                .take(self.n_logs)
                .collect(),
            PageOrder::NewestAnyOrder => {
                let mut page: Vec<(usize, &Entry)> = window
                    .iter()
                    .enumerate()
                    .filter(|(_, e)| matches(e))
                    .take(self.n_logs)
                    .map(|(i, e)| (from + i, e))
                    .collect();
                page.sort_unstable_by_key(|&(i, _)| (scramble(i as u64), i));
                let mut page: Vec<&Entry> = page.into_iter().map(|(_, e)| e).collect();
                break_time_order(&mut page);
                page
            }
        }
    }
}

/// The inclusive range `[lo, hi]` of entry times, in milliseconds, that `semantics` matches
/// for the window `(start, end)`; empty when `lo > hi`. Whole-second comparisons become the
/// first and last millisecond of the seconds they admit. `i128`, so no bound overflows.
fn window_ms((start, end): (i64, i64), semantics: &WindowSemantics) -> (i128, i128) {
    let (start, end) = (i128::from(start), i128::from(end));
    let (lo, hi) = match semantics.precision {
        Precision::Millis => (start, end),
        Precision::Seconds => (start.div_euclid(1000), end.div_euclid(1000)),
    };
    let lo = if semantics.start_inclusive {
        lo
    } else {
        lo + 1
    };
    let hi = if semantics.end_inclusive { hi } else { hi - 1 };
    match semantics.precision {
        Precision::Millis => (lo, hi),
        Precision::Seconds => (lo * 1000, hi * 1000 + 999),
    }
}

/// A fixed bijective mix of a position (SplitMix64's finaliser), for a scrambled order
/// that is the same on every call.
fn scramble(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// If `page` is sorted by time either way, swaps the first two neighbours of different
/// times. With at least three entries that leaves it sorted neither way: the swapped pair
/// runs against the old order, and the pair it forms with a third neighbour runs with it.
/// A page of one time throughout stays as it is.
fn break_time_order(page: &mut [&Entry]) {
    if page.len() < 3 {
        return;
    }
    let descending = page.windows(2).all(|w| w[0].ts_ms >= w[1].ts_ms);
    let ascending = page.windows(2).all(|w| w[0].ts_ms <= w[1].ts_ms);
    if (descending || ascending)
        && let Some(i) = page.windows(2).position(|w| w[0].ts_ms != w[1].ts_ms)
    {
        page.swap(i, i + 1);
    }
}

/// The three access-history operations: the same extractors, a different operation.
async fn access_route(
    op: Op,
    State(shared): State<Arc<Shared>>,
    Path((group_id, target)): Path<(String, String)>,
    method: Method,
    uri: OriginalUri,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let call = Call {
        shared: &shared,
        op,
        method: &method,
        uri: &uri,
        headers: &headers,
        group_id: &group_id,
    };
    let target = if op == Op::Process {
        Target::Host(&target)
    } else {
        Target::Cluster(&target)
    };
    access(call, target, query.as_deref()).await
}

enum Target<'a> {
    Cluster(&'a str),
    Host(&'a str),
}

async fn access(call: Call<'_>, target: Target<'_>, query: Option<&str>) -> Response {
    let (remaining, data) = match call.gate().await {
        Ok(admitted) => admitted,
        Err(response) => return response,
    };
    let filter = match AccessFilter::parse(call.op, &Query::parse(query)) {
        Ok(filter) => filter,
        Err(response) => return response,
    };
    let hosts: Vec<u16> = match target {
        Target::Cluster(name) => match data.cluster(name) {
            Some(cluster) => cluster
                .hosts
                .iter()
                .filter_map(|h| data.host_index(h))
                .collect(),
            None => {
                return api_error(
                    StatusCode::NOT_FOUND,
                    "CLUSTER_NOT_FOUND",
                    &format!("No cluster named {name} exists in group {}.", data.group_id),
                    vec![json!(name), json!(data.group_id)],
                );
            }
        },
        Target::Host(name) => match data.host_index(name) {
            Some(i) => vec![i],
            None => {
                return api_error(
                    StatusCode::NOT_FOUND,
                    "HOST_NOT_FOUND",
                    &format!(
                        "No host with hostname {name} exists in group {}.",
                        data.group_id
                    ),
                    vec![json!(name), json!(data.group_id)],
                );
            }
        },
    };
    let legacy = call.op == Op::Legacy;
    let late = call.shared.faults.lock().unwrap().late;
    let entries: Vec<Value> = filter
        .select(data, &hosts, &call.shared.config.semantics, late)
        .into_iter()
        .map(|e| data.entry_json(e, legacy))
        .collect();
    let mut body = json!({ "accessLogs": entries });
    if filter.envelope {
        body = json!({ "status": 200, "content": body });
    }
    let bytes = if filter.pretty {
        serde_json::to_vec_pretty(&body)
    } else {
        serde_json::to_vec(&body)
    }
    .expect("JSON serialises");
    let content_type = if legacy {
        "application/json"
    } else {
        "application/vnd.atlas.2023-01-01+json;charset=utf-8"
    };
    call.answer(
        remaining,
        content_type,
        futures::stream::iter([Ok(Bytes::from(bytes))]),
    )
}

async fn audit_logs(
    State(shared): State<Arc<Shared>>,
    Path((group_id, tenant)): Path<(String, String)>,
    method: Method,
    uri: OriginalUri,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let call = Call {
        shared: &shared,
        op: Op::AuditLogs,
        method: &method,
        uri: &uri,
        headers: &headers,
        group_id: &group_id,
    };
    let (remaining, data) = match call.gate().await {
        Ok(admitted) => admitted,
        Err(response) => return response,
    };
    let query = Query::parse(query.as_deref());
    let now_s = data.config.now_ms / 1000;
    let (start_s, end_s) = match (
        query.int(Op::AuditLogs, "startDate"),
        query.int(Op::AuditLogs, "endDate"),
    ) {
        (Err(response), _) | (_, Err(response)) => return response,
        (Ok(start), Ok(end)) => {
            let end = end.unwrap_or(now_s);
            (start.unwrap_or(end.saturating_sub(DEFAULT_WINDOW_S)), end)
        }
    };
    if start_s > end_s {
        return bad_parameter(Op::AuditLogs, "startDate", "must not be after endDate");
    }
    let Some(found) = data.tenant(&tenant) else {
        return api_error(
            StatusCode::NOT_FOUND,
            "STREAM_TENANT_NOT_FOUND",
            &format!("No stream workspace named {tenant} exists in group {group_id}."),
            vec![json!(tenant), json!(group_id)],
        );
    };
    let log = AuditLog {
        seed: data.config.seed,
        tenant: found.clone(),
        processor: query.raw("spName").map(str::to_string),
        start_s,
        end_s,
        now_ms: data.config.now_ms,
        step_us: AuditLog::step_us(shared.config.audit_log_bytes),
        window: shared.config.audit_window,
        level: shared.config.audit_log_compression,
    };
    let disposition = format!("attachment; filename=\"{}\"", log.file_name());
    let mut response = call.answer(remaining, AUDIT_MEDIA_TYPE, log.stream());
    response.headers_mut().insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&disposition).unwrap(),
    );
    response
}

/// `listClusters`: every cluster of the project, paged by `pageNum` and `itemsPerPage`, in
/// a stable order, with `totalCount` unless `includeCount=false`.
async fn list_clusters(
    State(shared): State<Arc<Shared>>,
    Path(group_id): Path<String>,
    method: Method,
    uri: OriginalUri,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let call = Call {
        shared: &shared,
        op: Op::Clusters,
        method: &method,
        uri: &uri,
        headers: &headers,
        group_id: &group_id,
    };
    let (remaining, data) = match call.gate().await {
        Ok(admitted) => admitted,
        Err(response) => return response,
    };
    let query = Query::parse(query.as_deref());
    let paging = match Paging::parse(Op::Clusters, &query, &["includeDeletedWithRetainedBackups"]) {
        Ok(paging) => paging,
        Err(response) => return response,
    };
    let clusters: Vec<Value> = data.clusters.iter().map(|c| data.cluster_json(c)).collect();
    let path = format!("/api/atlas/v2/groups/{group_id}/clusters");
    paging.answer(
        &call,
        remaining,
        clusters,
        &path,
        "application/vnd.atlas.2024-08-05+json;charset=utf-8",
    )
}

/// `listStreamWorkspaces`: the stream processing workspaces of the project, paged like
/// `listClusters`.
async fn list_workspaces(
    State(shared): State<Arc<Shared>>,
    Path(group_id): Path<String>,
    method: Method,
    uri: OriginalUri,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let call = Call {
        shared: &shared,
        op: Op::Workspaces,
        method: &method,
        uri: &uri,
        headers: &headers,
        group_id: &group_id,
    };
    let (remaining, data) = match call.gate().await {
        Ok(admitted) => admitted,
        Err(response) => return response,
    };
    let query = Query::parse(query.as_deref());
    let paging = match Paging::parse(Op::Workspaces, &query, &[]) {
        Ok(paging) => paging,
        Err(response) => return response,
    };
    let workspaces: Vec<Value> = data
        .tenants
        .iter()
        .map(|t| {
            json!({
                "_id": format!("{:0>24}", t.name.len()),
                "groupId": data.group_id,
                "name": t.name,
                "dataProcessRegion": { "cloudProvider": "AWS", "region": "VIRGINIA_USA" },
                "hostnames": [format!("atlas-stream-{}.virginia-usa.a.query.mongodb.net", t.name)],
            })
        })
        .collect();
    let path = format!("/api/atlas/v2/groups/{group_id}/streams");
    paging.answer(
        &call,
        remaining,
        workspaces,
        &path,
        "application/vnd.atlas.2023-02-01+json;charset=utf-8",
    )
}

/// `listGroups`: every project the credentials see (all of the fake's), paged like
/// `listClusters`.
async fn list_groups(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: OriginalUri,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    list_projects(&shared, None, &method, &uri, &headers, query.as_deref()).await
}

/// `getOrgGroups`: the projects of one organisation, optionally only the one named `name`.
async fn org_groups(
    State(shared): State<Arc<Shared>>,
    Path(org_id): Path<String>,
    method: Method,
    uri: OriginalUri,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    list_projects(
        &shared,
        Some(&org_id),
        &method,
        &uri,
        &headers,
        query.as_deref(),
    )
    .await
}

async fn list_projects(
    shared: &Shared,
    org_id: Option<&str>,
    method: &Method,
    uri: &OriginalUri,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Response {
    let org = &shared.projects[0].org_id;
    // The organisation's bucket.
    let call = Call {
        shared,
        op: Op::Projects,
        method,
        uri,
        headers,
        group_id: org,
    };
    let remaining = match call.admit().await {
        Ok(remaining) => remaining,
        Err(response) => return response,
    };
    let query = Query::parse(query);
    let paging = match Paging::parse(Op::Projects, &query, &[]) {
        Ok(paging) => paging,
        Err(response) => return response,
    };
    let path = match org_id {
        None => "/api/atlas/v2/groups".to_string(),
        Some(id) if id == org => format!("/api/atlas/v2/orgs/{id}/groups"),
        Some(id) => {
            return api_error(
                StatusCode::NOT_FOUND,
                "ORG_NOT_FOUND",
                &format!("No organization with ID {id} exists."),
                vec![json!(id)],
            );
        }
    };
    let name = if org_id.is_some() {
        query.raw("name")
    } else {
        None
    };
    let projects: Vec<Value> = shared
        .projects
        .iter()
        .filter(|p| name.is_none_or(|n| n == p.name))
        .map(DataSet::project_json)
        .collect();
    paging.answer(
        &call,
        remaining,
        projects,
        &path,
        "application/vnd.atlas.2023-01-01+json;charset=utf-8",
    )
}

/// The query of a paged list: `itemsPerPage` (1 to 500), `pageNum` (from 1),
/// `includeCount`, `envelope`, `pretty`.
struct Paging {
    items_per_page: i64,
    page_num: i64,
    include_count: bool,
    envelope: bool,
    pretty: bool,
}

impl Paging {
    /// Reads the paging parameters, and checks the operation's other booleans (`flags`).
    fn parse(op: Op, query: &Query, flags: &[&str]) -> Result<Self, Response> {
        let items_per_page = query
            .int(op, "itemsPerPage")?
            .unwrap_or(DEFAULT_ITEMS_PER_PAGE);
        if !(1..=MAX_ITEMS_PER_PAGE).contains(&items_per_page) {
            return Err(bad_parameter(
                op,
                "itemsPerPage",
                "must be between 1 and 500",
            ));
        }
        let page_num = query.int(op, "pageNum")?.unwrap_or(1);
        if page_num < 1 {
            return Err(bad_parameter(op, "pageNum", "must be at least 1"));
        }
        for flag in flags {
            query.bool(op, flag)?;
        }
        Ok(Self {
            items_per_page,
            page_num,
            include_count: query.bool(op, "includeCount")?.unwrap_or(true),
            envelope: query.bool(op, "envelope")?.unwrap_or(false),
            pretty: query.bool(op, "pretty")?.unwrap_or(false),
        })
    }

    /// This page of `items` (the whole list, in a stable order), with the links to it and
    /// its neighbours at `path`, and `totalCount` unless `includeCount=false`.
    fn answer(
        &self,
        call: &Call<'_>,
        remaining: u32,
        items: Vec<Value>,
        path: &str,
        content_type: &str,
    ) -> Response {
        let Self {
            items_per_page,
            page_num,
            ..
        } = *self;
        let total = items.len() as i64;
        let skip = (page_num - 1).saturating_mul(items_per_page);
        let results: Vec<Value> = items
            .into_iter()
            .skip(usize::try_from(skip).unwrap_or(usize::MAX))
            .take(items_per_page as usize)
            .collect();
        let host = call
            .headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("127.0.0.1");
        let page_link = |n: i64, rel: &str| {
            json!({
                "href": format!("http://{host}{path}?pageNum={n}&itemsPerPage={items_per_page}"),
                "rel": rel,
            })
        };
        let mut links = vec![page_link(page_num, "self")];
        if page_num > 1 {
            links.push(page_link(page_num - 1, "previous"));
        }
        if skip.saturating_add(items_per_page) < total {
            links.push(page_link(page_num + 1, "next"));
        }
        let mut body = json!({ "links": links, "results": results });
        if self.include_count {
            body["totalCount"] = json!(total);
        }
        if self.envelope {
            // A list is already wrapped: it only gains the status.
            body["status"] = json!(200);
        }
        let bytes = if self.pretty {
            serde_json::to_vec_pretty(&body)
        } else {
            serde_json::to_vec(&body)
        }
        .expect("JSON serialises");
        call.answer(
            remaining,
            content_type,
            futures::stream::iter([Ok(Bytes::from(bytes))]),
        )
    }
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    json_response(
        status,
        &json!({ "error": error, "error_description": description }),
    )
}

/// What every OAuth call does first: count it, check the client's HTTP Basic credentials,
/// and parse its form body.
fn oauth_call(
    shared: &Shared,
    counter: &std::sync::atomic::AtomicU64,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Vec<(String, String)>, Response> {
    Counters::bump(&shared.counters.requests);
    Counters::bump(counter);
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if !shared.auth.check_client(authorization) {
        return Err(oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client authentication failed.",
        ));
    }
    Ok(form_urlencoded::parse(body).into_owned().collect())
}

async fn token(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let form = match oauth_call(&shared, &shared.counters.token_requests, &headers, &body) {
        Ok(form) => form,
        Err(response) => return response,
    };
    if !form
        .iter()
        .any(|(k, v)| k == "grant_type" && v == "client_credentials")
    {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "Only client_credentials is supported.",
        );
    }
    let (access_token, expires_in) = shared.auth.issue_token();
    json_response(
        StatusCode::OK,
        &json!({ "access_token": access_token, "expires_in": expires_in, "token_type": "Bearer" }),
    )
}

async fn revoke(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let form = match oauth_call(&shared, &shared.counters.revocations, &headers, &body) {
        Ok(form) => form,
        Err(response) => return response,
    };
    match form.iter().find(|(k, _)| k == "token") {
        Some((_, token)) => {
            shared.auth.revoke(token);
            StatusCode::OK.into_response()
        }
        None => oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The token parameter is missing.",
        ),
    }
}

async fn stats(State(shared): State<Arc<Shared>>) -> Response {
    let body = serde_json::to_value(shared.counters.snapshot()).expect("stats serialise");
    json_response(StatusCode::OK, &body)
}

async fn not_found(State(shared): State<Arc<Shared>>, uri: OriginalUri) -> Response {
    Counters::bump(&shared.counters.requests);
    api_error(
        StatusCode::NOT_FOUND,
        "RESOURCE_NOT_FOUND",
        &format!("Cannot find resource {}.", uri.0.path()),
        vec![],
    )
}
