//! The access-history calls an export makes: one call's filters, its entries, and the
//! operation the window engine lists.

use atlas_client::{AtlasError, Client};
use atlas_runtime::call::{DecodeError, Undecodable};
use atlas_runtime::scan::Scanner;

use crate::entry::read_entry;
use crate::window::{Pages, Query};
use crate::{AccessLogEntry, EARLIEST_MS, Target};

/// The access-history calls of one export.
#[derive(Clone)]
pub(crate) struct AccessLogPages {
    pub(crate) client: Client,
    pub(crate) page: u32,
    pub(crate) group_id: String,
    pub(crate) target: Target,
    pub(crate) auth_result: Option<bool>,
    pub(crate) ip_address: Option<String>,
}

/// The filters of one access-history call.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filters {
    /// `start` and `end`, epoch milliseconds, inclusive as Atlas reads them.
    pub window: Option<(i64, i64)>,
    /// Only successes (`true`) or only failures.
    pub auth_result: Option<bool>,
    /// Only attempts from this client address.
    pub ip_address: Option<String>,
    /// At most this many entries (`nLogs`; Atlas's default and maximum is 20,000).
    pub n_logs: Option<u32>,
}

/// Applies filters to an access-history builder and sends it for the body as sent. The
/// by-cluster and by-host builders are two generated types with the same setters.
macro_rules! send {
    ($call:expr, $filters:expr) => {{
        let filters: &Filters = $filters;
        let mut call = $call;
        if let Some((start, end)) = filters.window {
            call = call.start(start).end(end);
        }
        if let Some(ok) = filters.auth_result {
            call = call.auth_result(ok);
        }
        if let Some(ip) = &filters.ip_address {
            call = call.ip_address(ip.as_str());
        }
        if let Some(n) = filters.n_logs {
            call = call.n_logs(i64::from(n));
        }
        // The body as sent, undecoded: the entries are slices of it.
        call.send_raw().await.map_err(AtlasError::from)
    }};
}

/// One access-history call: the entries Atlas returns, each as it sent it.
///
/// # Errors
///
/// The call failed, or its answer does not decode into entries with readable times.
pub async fn fetch_entries(
    client: &Client,
    group_id: &str,
    target: &Target,
    filters: &Filters,
) -> Result<Vec<AccessLogEntry>, AtlasError> {
    let operation = match target {
        Target::Cluster(_) => "getGroupDbAccessHistoryCluster",
        Target::Hostname(_) => "getGroupDbAccessHistoryProcess",
    };
    let body = match target {
        Target::Cluster(name) => send!(
            client
                .get_access_history_cluster()
                .group_id(group_id)
                .cluster_name(name.as_str()),
            filters
        ),
        Target::Hostname(host) => send!(
            client
                .get_access_history_process()
                .group_id(group_id)
                .hostname(host.as_str()),
            filters
        ),
    };
    let page = body?;
    // A full answer is about 12 MB of JSON: decoded on a blocking thread, so that answers
    // arriving together are decoded at once on several cores, and the calls under way
    // keep being served meanwhile.
    let (page, entries) = tokio::task::spawn_blocking(move || {
        let entries = entries_of_page(&page);
        (page, entries)
    })
    .await
    .map_err(|e| AtlasError::decode(format!("decoding the page stopped: {e}")))?;
    // An answer that does not decode is reported as the runtime reports one: with its
    // status, headers and body.
    entries.map_err(|e| {
        AtlasError::from(
            atlas_runtime::Error::<atlas_runtime::ErrorBody>::Undecodable(Undecodable {
                status: Some(page.status()),
                headers: page.headers().clone(),
                body: page.into_inner(),
                operation: Some(operation),
                reason: DecodeError(e.to_string()),
            }),
        )
    })
}

/// The entries of an access-history answer's body, each a slice of `body` (no copy): the
/// body checked to be JSON, an object whose `accessLogs` is an array of objects, each with
/// a readable time (its `logLine` and `timestamp` text or `null`, each named once at
/// most); the rest of each entry is kept as sent, undecoded. For a body received some
/// other way than through [`fetch_entries`] (from a proxy, a file, a test).
///
/// # Errors
///
/// The body is not such an object.
pub fn entries_of_page(body: &bytes::Bytes) -> Result<Vec<AccessLogEntry>, AtlasError> {
    let fail = |why: &dyn std::fmt::Display| {
        AtlasError::decode(format!("the page does not decode: {why}"))
    };
    // One pass over the page: checked to be JSON (UTF-8 throughout, so each entry's text,
    // a slice of it, is too), each entry's object found and its time read on the way.
    let mut scan = Scanner::new(body);
    scan.enter_object().map_err(|e| fail(&e))?;
    let mut entries = None;
    while let Some(key) = scan.next_key().map_err(|e| fail(&e))? {
        if !key.is(body, "accessLogs") {
            scan.skip_value().map_err(|e| fail(&e))?;
            continue;
        }
        if entries.is_some() {
            return Err(fail(&"`accessLogs` appears twice"));
        }
        scan.enter_array().map_err(|e| fail(&e))?;
        let mut list = Vec::new();
        while scan.next_element().map_err(|e| fail(&e))? {
            let (range, time_ms) = read_entry(&mut scan, body)?;
            list.push(AccessLogEntry::new(body.slice(range), time_ms));
        }
        entries = Some(list);
    }
    scan.end().map_err(|e| fail(&e))?;
    entries.ok_or_else(|| fail(&"it has no `accessLogs`"))
}

impl Pages for AccessLogPages {
    type Entry = AccessLogEntry;
    type Part = bool;

    fn limit(&self) -> u32 {
        self.page
    }

    fn earliest(&self) -> i64 {
        EARLIEST_MS
    }

    fn parts(&self) -> Vec<bool> {
        match self.auth_result {
            Some(only) => vec![only],
            None => vec![true, false],
        }
    }

    async fn fetch(&self, query: Query<bool>) -> Result<Vec<AccessLogEntry>, AtlasError> {
        let filters = Filters {
            window: Some((query.start, query.end)),
            auth_result: query.part.or(self.auth_result),
            ip_address: self.ip_address.clone(),
            n_logs: Some(query.limit),
        };
        fetch_entries(&self.client, &self.group_id, &self.target, &filters).await
    }
}
