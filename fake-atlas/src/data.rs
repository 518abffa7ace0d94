//! The deterministic data set: one project, its clusters and their hosts, stream
//! workspaces, and access-log entries, all derived from a seed and a present.

use std::fmt::Write;

use chrono::{DateTime, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

/// Milliseconds in one day.
pub const DAY_MS: i64 = 86_400_000;
/// Milliseconds in one hour.
pub const HOUR_MS: i64 = 3_600_000;

/// What to generate.
#[derive(Clone, Debug)]
pub struct DataConfig {
    /// Everything derives from this.
    pub seed: u64,
    /// How many access-log entries, spread over the seven days before `now_ms`.
    pub entries: usize,
    /// The present, in epoch milliseconds.
    pub now_ms: i64,
    /// When non-zero, this many entries share one single millisecond (beyond what one
    /// request can return when over 20,000).
    pub same_ms_burst: usize,
    /// Entries beside `entries`, each batch on the hosts of one cluster only. A cluster
    /// named here that is not among the standard three is added to the project.
    pub cluster_entries: Vec<ClusterEntries>,
}

/// A batch of access-log entries on the hosts of one cluster, spread over the seven days
/// before the present like the others (a busy hour, runs sharing a millisecond), with
/// `same_ms_burst` of them in one single millisecond of their own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterEntries {
    /// The cluster's name.
    pub cluster: String,
    /// How many entries.
    pub entries: usize,
    /// How many of them share one single millisecond.
    pub same_ms_burst: usize,
}

/// The organisation of every project made from `seed`, as 24 lowercase hex digits.
pub fn org_id(seed: u64) -> String {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x6f72_6761_6e69_7361);
    (0..24)
        .map(|_| char::from(b"0123456789abcdef"[rng.random_range(0..16)]))
        .collect()
}

/// A fixed present, so that a seed alone pins the data: 2026-11-01T12:00:00Z. The library's
/// default; the `fake-atlas` binary serves the real present unless `--now` pins one.
pub const DEFAULT_NOW_MS: i64 = 1_793_534_400_000;

/// The clusters every project has, in the order `listClusters` returns them.
pub const STANDARD_CLUSTERS: [&str; 3] = ["Cluster0", "analytics-prod", "orders-eu-1"];

impl Default for DataConfig {
    fn default() -> Self {
        Self {
            seed: 1,
            entries: 50_000,
            now_ms: DEFAULT_NOW_MS,
            same_ms_burst: 0,
            cluster_entries: Vec::new(),
        }
    }
}

impl DataConfig {
    /// The demo's data, ending at `now_ms`: `Cluster0` holds about 61,000 entries over the
    /// seven days before it (three times what one access-history call returns), among them
    /// an hour of more than 25,000 and 3,000 that share one single millisecond (still
    /// fewer than one call returns, so an exact export gets them all); `analytics-prod`
    /// and `orders-eu-1` hold about 1,000 each.
    pub fn demo(now_ms: i64) -> Self {
        Self {
            seed: 1,
            entries: 3_000,
            now_ms,
            same_ms_burst: 0,
            cluster_entries: vec![ClusterEntries {
                cluster: "Cluster0".to_string(),
                entries: 60_000,
                same_ms_burst: 3_000,
            }],
        }
    }
}

/// A cluster, the `host:port` of each of its processes, and what `listClusters` says of it.
#[derive(Clone, Debug)]
pub struct Cluster {
    /// Its name, such as `Cluster0`.
    pub name: String,
    /// Its processes, such as `cluster0-shard-00-00.ab1cd.mongodb.net:27017`.
    pub hosts: Vec<String>,
    /// Its id, 24 lowercase hex digits.
    pub id: String,
    /// `REPLICASET` or `SHARDED`.
    pub cluster_type: &'static str,
    /// What Atlas is doing with it, such as `IDLE`.
    pub state_name: &'static str,
    /// The MongoDB version it runs, such as `8.0.4`.
    pub mongodb_version: &'static str,
    /// When it was created, epoch milliseconds.
    pub created_ms: i64,
    /// Whether it is paused.
    pub paused: bool,
}

/// A stream processing workspace and its stream processors.
#[derive(Clone, Debug)]
pub struct Tenant {
    /// The workspace's name.
    pub name: String,
    /// Its stream processors.
    pub processors: Vec<String>,
}

/// One authentication attempt. Strings are indices into the data set's tables, so that
/// millions of entries stay small.
#[derive(Clone, Copy, Debug)]
pub struct Entry {
    /// When, in epoch milliseconds.
    pub ts_ms: i64,
    /// Index into [`DataSet::hosts`].
    pub host: u16,
    /// Index into [`USERS`].
    pub user: u8,
    /// Index into [`DataSet::ips`].
    pub ip: u16,
    /// Index into [`FAILURES`], or `None` for a success.
    pub failure: Option<u8>,
    /// Connection number, for the log line.
    pub conn: u32,
    /// Client port, for the log line.
    pub port: u16,
}

/// A user, the database it authenticates against and its mechanism.
pub struct User {
    /// The name presented.
    pub name: &'static str,
    /// `admin` or `$external`.
    pub source: &'static str,
    /// The authentication mechanism.
    pub mechanism: &'static str,
}

/// The users that appear in the logs.
pub const USERS: &[User] = &[
    User {
        name: "app",
        source: "admin",
        mechanism: "SCRAM-SHA-256",
    },
    User {
        name: "reporting",
        source: "admin",
        mechanism: "SCRAM-SHA-256",
    },
    User {
        name: "etl-loader",
        source: "admin",
        mechanism: "SCRAM-SHA-1",
    },
    User {
        name: "analytics-svc",
        source: "admin",
        mechanism: "SCRAM-SHA-256",
    },
    User {
        name: "backup-agent",
        source: "admin",
        mechanism: "SCRAM-SHA-256",
    },
    User {
        name: "CN=etl,OU=data,O=Example Corp",
        source: "$external",
        mechanism: "MONGODB-X509",
    },
    User {
        name: "alice@example.com",
        source: "$external",
        mechanism: "PLAIN",
    },
    User {
        name: "arn:aws:iam::123456789012:role/orders-api",
        source: "$external",
        mechanism: "MONGODB-AWS",
    },
];

/// Why an attempt failed, as MongoDB words it (`{user}` stands for the user name).
pub const FAILURES: &[&str] = &[
    "UserNotFound: Could not find user \"{user}\" for db \"admin\"",
    "AuthenticationFailed: SCRAM authentication failed, storedKey mismatch",
    "AuthenticationFailed: Unable to verify the certificate chain",
    "AuthenticationFailed: LDAP bind failed: Invalid credentials",
    "AuthenticationFailed: The security token included in the request is expired",
];

/// The whole generated world.
#[derive(Clone, Debug)]
pub struct DataSet {
    /// The configuration it came from.
    pub config: DataConfig,
    /// The project, as 24 lowercase hex digits.
    pub group_id: String,
    /// The project's name: `project-00`, `project-01`, ...
    pub name: String,
    /// The organisation it belongs to, as 24 lowercase hex digits (the same for every
    /// project of one seed).
    pub org_id: String,
    /// The DNS label of the project's hosts (`<cluster>-shard-00-0N.<domain>.mongodb.net`).
    pub domain: String,
    /// The clusters of the project.
    pub clusters: Vec<Cluster>,
    /// Every host of every cluster, in cluster order.
    pub hosts: Vec<String>,
    /// Client addresses: IPv4, and IPv6 as Java prints it.
    pub ips: Vec<String>,
    /// Stream processing workspaces.
    pub tenants: Vec<Tenant>,
    /// Access-log entries, newest first.
    pub entries: Vec<Entry>,
}

impl DataSet {
    /// Generates the data set of a configuration; the same configuration gives the same
    /// data, byte for byte.
    pub fn generate(config: &DataConfig) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
        let group_id: String = (0..24)
            .map(|_| char::from(b"0123456789abcdef"[rng.random_range(0..16)]))
            .collect();
        let domain: String = (0..5)
            .map(|_| char::from(b"abcdefghijklmnopqrstuvwxyz0123456789"[rng.random_range(0..36)]))
            .collect();
        let mut names: Vec<&str> = STANDARD_CLUSTERS.to_vec();
        for batch in &config.cluster_entries {
            if !names.contains(&batch.cluster.as_str()) {
                names.push(&batch.cluster);
            }
        }
        // Cluster details come from a generator of their own, so that the entries stay
        // what they were before clusters had details.
        let mut details = ChaCha8Rng::seed_from_u64(config.seed ^ 0x636c_7573_7465_7273);
        let clusters: Vec<Cluster> = names
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let (cluster_type, state_name, mongodb_version) = match i {
                    0 => ("REPLICASET", "IDLE", "8.0.4"),
                    1 => ("SHARDED", "IDLE", "7.0.16"),
                    2 => ("REPLICASET", "UPDATING", "8.0.4"),
                    _ => ("REPLICASET", "IDLE", "8.0.4"),
                };
                Cluster {
                    name: name.to_string(),
                    hosts: (0..3)
                        .map(|i| {
                            format!(
                                "{}-shard-00-0{i}.{domain}.mongodb.net:27017",
                                name.to_ascii_lowercase()
                            )
                        })
                        .collect(),
                    id: (0..24)
                        .map(|_| char::from(b"0123456789abcdef"[details.random_range(0..16)]))
                        .collect(),
                    cluster_type,
                    state_name,
                    mongodb_version,
                    created_ms: config.now_ms - details.random_range(30..900) * DAY_MS
                        + details.random_range(0..DAY_MS),
                    paused: false,
                }
            })
            .collect();
        let hosts: Vec<String> = clusters.iter().flat_map(|c| c.hosts.clone()).collect();
        let mut ips: Vec<String> = (0..48)
            .map(|_| match rng.random_range(0..4) {
                0 => format!("203.0.113.{}", rng.random_range(1..255)),
                1 => format!("198.51.100.{}", rng.random_range(1..255)),
                2 => format!(
                    "10.{}.{}.{}",
                    rng.random_range(0..8),
                    rng.random_range(0..255),
                    rng.random_range(1..255)
                ),
                _ => format!(
                    "2001:db8:0:{:x}:0:0:0:{:x}",
                    rng.random_range(0..16),
                    rng.random_range(1..0xffff)
                ),
            })
            .collect();
        ips.sort();
        ips.dedup();
        let tenants = vec![
            Tenant {
                name: "workspace0".into(),
                processors: vec!["orders-enricher".into(), "fraud-scorer".into()],
            },
            Tenant {
                name: "workspace-eu".into(),
                processors: vec!["clickstream-rollup".into()],
            },
        ];

        let every_host: Vec<u16> = (0..hosts.len() as u16).collect();
        let single_ms = config.now_ms - 2 * DAY_MS + 123;
        let mut entries = generate_entries(
            &mut rng,
            config.entries,
            config.same_ms_burst,
            config.now_ms,
            single_ms,
            &every_host,
            ips.len(),
        );
        for (i, batch) in config.cluster_entries.iter().enumerate() {
            let cluster = names
                .iter()
                .position(|n| *n == batch.cluster)
                .expect("every batch's cluster was added");
            let own: Vec<u16> = (0..3).map(|h| (cluster * 3 + h) as u16).collect();
            // Each batch's single millisecond is its own, a day and a few hours ago.
            let single_ms = config.now_ms - DAY_MS - 3 * HOUR_MS + 456 + 7 * i as i64;
            entries.extend(generate_entries(
                &mut rng,
                batch.entries,
                batch.same_ms_burst,
                config.now_ms,
                single_ms,
                &own,
                ips.len(),
            ));
        }
        if !config.cluster_entries.is_empty() {
            // Stable: entries of one millisecond keep the order they were made in.
            entries.sort_by_key(|e| std::cmp::Reverse(e.ts_ms));
        }
        Self {
            config: config.clone(),
            group_id,
            name: "project-00".to_string(),
            org_id: org_id(config.seed),
            domain,
            clusters,
            hosts,
            ips,
            tenants,
            entries,
        }
    }

    /// Project `k` of an organisation of several: the data of `config` with the seed moved
    /// on by `k` (so project 0 is [`DataSet::generate`]'s), named `project-{k:02}`, in the
    /// organisation of `config`'s seed.
    pub fn generate_project(config: &DataConfig, k: usize) -> Self {
        let mut own = config.clone();
        own.seed = config.seed.wrapping_add(k as u64);
        let mut data = Self::generate(&own);
        data.name = format!("project-{k:02}");
        data.org_id = org_id(config.seed);
        data
    }

    /// The project as `listGroups` describes it: the fields of `spec/atlas.yaml`, and some
    /// Atlas sends that the spec leaves out.
    pub fn project_json(&self) -> Value {
        let created = self
            .clusters
            .iter()
            .map(|c| c.created_ms)
            .min()
            .unwrap_or(0)
            - DAY_MS;
        json!({
            "clusterCount": self.clusters.len(),
            "created": utc(created).format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            "id": self.group_id,
            "links": [],
            "name": self.name,
            "orgId": self.org_id,
            "regionUsageRestrictions": "COMMERCIAL_FEDRAMP_REGIONS_ONLY",
            "tags": [],
            "withDefaultAlertsSettings": true,
        })
    }

    /// The hosts of a cluster, by name.
    pub fn cluster(&self, name: &str) -> Option<&Cluster> {
        self.clusters.iter().find(|c| c.name == name)
    }

    /// The names of the project's clusters, in the order `listClusters` returns them.
    pub fn cluster_names(&self) -> Vec<&str> {
        self.clusters.iter().map(|c| c.name.as_str()).collect()
    }

    /// The names of the project's stream processing workspaces.
    pub fn tenant_names(&self) -> Vec<&str> {
        self.tenants.iter().map(|t| t.name.as_str()).collect()
    }

    /// How many access-log entries the hosts of a cluster hold (0 for an unknown name).
    pub fn entries_of(&self, cluster: &str) -> usize {
        let hosts = self.cluster_hosts(cluster);
        self.entries
            .iter()
            .filter(|e| hosts.contains(&e.host))
            .count()
    }

    /// The indices of a cluster's hosts in [`DataSet::hosts`] (none for an unknown name).
    pub fn cluster_hosts(&self, cluster: &str) -> Vec<u16> {
        self.cluster(cluster)
            .map(|c| c.hosts.iter().filter_map(|h| self.host_index(h)).collect())
            .unwrap_or_default()
    }

    /// A cluster as `listClusters` describes it: the fields of `spec/atlas.yaml`, and some
    /// Atlas sends that the spec leaves out.
    pub fn cluster_json(&self, cluster: &Cluster) -> Value {
        let label = cluster.name.to_ascii_lowercase();
        let hosts: Vec<&str> = cluster.hosts.iter().map(String::as_str).collect();
        let major: String = cluster
            .mongodb_version
            .splitn(3, '.')
            .take(2)
            .collect::<Vec<_>>()
            .join(".");
        json!({
            "backupEnabled": false,
            "clusterType": cluster.cluster_type,
            "connectionStrings": {
                "standard": format!(
                    "mongodb://{}/?ssl=true&authSource=admin&replicaSet=atlas-{}-shard-0",
                    hosts.join(","),
                    &cluster.id[18..]
                ),
                "standardSrv": format!("mongodb+srv://{label}.{}.mongodb.net", self.domain),
            },
            "createDate": utc(cluster.created_ms).format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            "groupId": self.group_id,
            "id": cluster.id,
            "mongoDBMajorVersion": major,
            "mongoDBVersion": cluster.mongodb_version,
            "name": cluster.name,
            "paused": cluster.paused,
            "pitEnabled": false,
            "stateName": cluster.state_name,
            "terminationProtectionEnabled": false,
            "versionReleaseSystem": "LTS",
        })
    }

    /// The index of a host, given with or without its port.
    pub fn host_index(&self, hostname: &str) -> Option<u16> {
        self.hosts
            .iter()
            .position(|h| h == hostname || h.strip_suffix(":27017") == Some(hostname))
            .map(|i| i as u16)
    }

    /// The cluster a host belongs to.
    pub fn cluster_of(&self, host: u16) -> &Cluster {
        let name = &self.hosts[host as usize];
        self.clusters
            .iter()
            .find(|c| c.hosts.contains(name))
            .expect("every host has a cluster")
    }

    /// A stream processing workspace, by name.
    pub fn tenant(&self, name: &str) -> Option<&Tenant> {
        self.tenants.iter().find(|t| t.name == name)
    }

    /// An entry in the API's shape; `with_cluster_name` adds the v1.0 `clusterName`.
    pub fn entry_json(&self, entry: &Entry, with_cluster_name: bool) -> Value {
        let user = &USERS[entry.user as usize];
        let ip = &self.ips[entry.ip as usize];
        let failure = entry
            .failure
            .map(|f| FAILURES[f as usize].replace("{user}", user.name));
        let mut value = json!({
            "authResult": failure.is_none(),
            "authSource": user.source,
            "failureReason": failure,
            "groupId": self.group_id,
            "hostname": self.hosts[entry.host as usize],
            "ipAddress": ip,
            "logLine": self.log_line(entry, failure.as_deref()),
            "timestamp": java_date(entry.ts_ms),
            "username": user.name,
        });
        if with_cluster_name {
            value["clusterName"] = json!(self.cluster_of(entry.host).name);
        }
        value
    }

    /// MongoDB's structured JSON log line for an attempt, keys in the server's order.
    fn log_line(&self, entry: &Entry, failure: Option<&str>) -> String {
        let user = &USERS[entry.user as usize];
        let ip = &self.ips[entry.ip as usize];
        let remote = if ip.contains(':') {
            format!("[{ip}]:{}", entry.port)
        } else {
            format!("{ip}:{}", entry.port)
        };
        let (id, msg) = if failure.is_some() {
            (20249, "Authentication failed")
        } else {
            (20250, "Authentication succeeded")
        };
        let quote = |s: &str| Value::from(s).to_string();
        let error = failure
            .map(|reason| format!(",\"error\":{}", quote(reason)))
            .unwrap_or_default();
        format!(
            "{{\"t\":{{\"$date\":\"{}\"}},\"s\":\"I\",\"c\":\"ACCESS\",\"id\":{id},\"ctx\":\"conn{}\",\"msg\":\"{msg}\",\
             \"attr\":{{\"mechanism\":\"{}\",\"speculative\":{},\"principalName\":{},\"authenticationDatabase\":\"{}\",\
             \"remote\":\"{remote}\",\"extraInfo\":{{}}{error}}}}}",
            iso_millis(entry.ts_ms),
            entry.conn,
            user.mechanism,
            entry.conn.is_multiple_of(3),
            quote(user.name),
            user.source,
        )
    }

    /// Every entry as NDJSON, newest first: the ground truth of `fake-atlas dump`.
    pub fn write_ndjson(&self, out: &mut impl std::io::Write) -> std::io::Result<()> {
        self.write_ndjson_of(None, out)
    }

    /// The entries of one cluster's hosts (all entries with `None`) as NDJSON, newest
    /// first, each line exactly as the API sends the entry.
    pub fn write_ndjson_of(
        &self,
        cluster: Option<&str>,
        out: &mut impl std::io::Write,
    ) -> std::io::Result<()> {
        let hosts = cluster.map(|c| self.cluster_hosts(c));
        let mut line = String::new();
        for entry in self
            .entries
            .iter()
            .filter(|e| hosts.as_ref().is_none_or(|h| h.contains(&e.host)))
        {
            line.clear();
            write!(line, "{}", self.entry_json(entry, false)).expect("writing to a String");
            line.push('\n');
            out.write_all(line.as_bytes())?;
        }
        Ok(())
    }
}

/// `n` entries on the given hosts, newest first, with times from [`entry_times`].
fn generate_entries(
    rng: &mut ChaCha8Rng,
    n: usize,
    same_ms_burst: usize,
    now_ms: i64,
    single_ms: i64,
    hosts: &[u16],
    ips: usize,
) -> Vec<Entry> {
    let mut times = entry_times(rng, n, same_ms_burst, now_ms, single_ms);
    times.sort_unstable_by(|a, b| b.cmp(a));
    times
        .into_iter()
        .map(|ts_ms| {
            let user = rng.random_range(0..USERS.len()) as u8;
            let failed = rng.random_bool(0.2);
            Entry {
                ts_ms,
                host: hosts[rng.random_range(0..hosts.len())],
                user,
                ip: rng.random_range(0..ips) as u16,
                failure: failed.then(|| rng.random_range(0..FAILURES.len()) as u8),
                conn: rng.random_range(1..60_000),
                port: rng.random_range(32_768..61_000),
            }
        })
        .collect()
}

/// The entry times: a uniform background over the seven days before `now_ms`, a burst
/// hour holding more than 20,000 entries when the count allows, runs of entries sharing
/// one millisecond, and `same_ms_burst` entries at `single_ms`.
fn entry_times(
    rng: &mut ChaCha8Rng,
    n: usize,
    same_ms_burst: usize,
    now_ms: i64,
    single_ms: i64,
) -> Vec<i64> {
    let start = now_ms - 7 * DAY_MS;
    let single = same_ms_burst.min(n);
    let burst = if n - single >= 45_000 {
        ((n - single) * 45 / 100).max(20_001)
    } else {
        (n - single) * 45 / 100
    };
    let burst_start = now_ms - 3 * DAY_MS - 5 * HOUR_MS;
    let mut times = Vec::with_capacity(n);
    times.extend(std::iter::repeat_n(single_ms, single));
    for _ in 0..burst {
        times.push(burst_start + rng.random_range(0..HOUR_MS));
    }
    while times.len() < n {
        let t = start + rng.random_range(0..7 * DAY_MS);
        // About one entry in twenty-five starts a run sharing its millisecond.
        let run = if rng.random_bool(0.04) {
            rng.random_range(2..6)
        } else {
            1
        };
        for _ in 0..run.min(n - times.len()) {
            times.push(t);
        }
    }
    times
}

/// `Wed Apr 26 02:38:56 GMT 2023`, as Java's `Date.toString()` prints it in GMT.
pub fn java_date(ts_ms: i64) -> String {
    utc(ts_ms).format("%a %b %d %H:%M:%S GMT %Y").to_string()
}

/// `2023-04-26T02:38:56.123+00:00`, MongoDB's log time.
pub fn iso_millis(ts_ms: i64) -> String {
    utc(ts_ms).format("%Y-%m-%dT%H:%M:%S%.3f+00:00").to_string()
}

fn utc(ts_ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ts_ms).unwrap_or_default()
}
