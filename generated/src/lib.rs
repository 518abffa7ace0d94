// Hand-written: the crate root (documentation and re-exports). The client itself is
// generated into `generated.rs` by `cargo xtask codegen`; never edit that file by hand.

//! A typed client for the MongoDB Atlas Administration API's access-tracking, streams
//! audit-log and cluster-listing operations.
//!
//! The operations and their types are generated from `spec/atlas.yaml` by
//! `cargo xtask codegen`; every request goes through the spec-agnostic [`atlas_runtime`]
//! (authentication, retries, parameter rules, errors, downloads), whose public items this
//! crate re-exports. The only hand-written code here is this file and `access_logs.rs`.
//!
//! | method | official operation | what it does |
//! |---|---|---|
//! | [`Client::get_access_history_cluster`] | `getGroupDbAccessHistoryCluster` | access history of a cluster |
//! | [`Client::get_access_history_process`] | `getGroupDbAccessHistoryProcess` | access history of one process, by hostname |
//! | [`Client::download_audit_logs`] | `downloadGroupStreamAuditLogs` | gzip audit log of a stream workspace |
//! | [`Client::list_access_logs_by_cluster_name`] | `listAccessLogsByClusterName` | legacy v1.0 access history |
//! | [`Client::list_clusters`] | `listGroupClusters` | the clusters of a project, paginated |
//! | [`Client::list_stream_workspaces`] | `listStreamWorkspaces` | the stream processing workspaces of a project, paginated |
//! | [`Client::list_groups`] | `listGroups` | every project the credentials see, paginated |
//! | [`Client::get_org_groups`] | `getOrgGroups` | the projects of an organisation, paginated |
//!
//! Calls run on [Tokio](https://tokio.rs) (through `reqwest`): await them within a Tokio
//! runtime. `Client::builder().build()` with no credentials makes an anonymous client,
//! which Atlas answers 401; `.discover()` finds credentials as the Atlas CLI does.
//!
//! # Access history of a cluster
//!
//! Times are epoch **milliseconds**; `start` and `end` go together. Both also take a
//! `std::time::SystemTime` or a `chrono::DateTime<Utc>`, sent in milliseconds.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = atlas_client::Client::builder().discover().build()?;
//! let page = client
//!     .get_access_history_cluster()
//!     .group_id("32b6e34b3d91647abb20e7b8")
//!     .cluster_name("Cluster0")
//!     .auth_result(false)
//!     .start(1_700_000_000_000_i64)
//!     .end(1_700_086_400_000_i64)
//!     .n_logs(500)
//!     .send()
//!     .await?;
//! for entry in &page.access_logs {
//!     println!("{:?} {:?} {:?}", entry.timestamp, entry.username, entry.failure_reason);
//! }
//! # Ok(()) }
//! ```
//!
//! # Access history of one process
//!
//! ```no_run
//! # async fn run(client: atlas_client::Client) -> Result<(), atlas_client::Error<atlas_client::types::ApiError>> {
//! let page = client
//!     .get_access_history_process()
//!     .group_id("32b6e34b3d91647abb20e7b8")
//!     .hostname("cluster0-shard-00-00.abcde.mongodb.net:27017")
//!     .ip_address("203.0.113.7")
//!     .send()
//!     .await?;
//! println!("{} attempts", page.access_logs.len());
//! # Ok(()) }
//! ```
//!
//! # Audit log of a stream processing workspace
//!
//! Times are epoch **seconds** here. The body is a gzip file, read chunk by chunk.
//!
//! ```no_run
//! use futures::TryStreamExt;
//!
//! # async fn run(client: atlas_client::Client) -> Result<(), Box<dyn std::error::Error>> {
//! let response = client
//!     .download_audit_logs()
//!     .group_id("32b6e34b3d91647abb20e7b8")
//!     .tenant_name("workspace0")
//!     .start_date(1_700_000_000_i64)
//!     .end_date(1_700_086_400_i64)
//!     .send()
//!     .await?;
//! let mut gzip = Vec::new();
//! let mut body = response.into_inner();
//! while let Some(chunk) = body.try_next().await? {
//!     gzip.extend_from_slice(&chunk);
//! }
//! # Ok(()) }
//! ```
//!
//! # Legacy v1.0 access history
//!
//! ```no_run
//! # async fn run(client: atlas_client::Client) -> Result<(), atlas_client::Error<atlas_client::types::ApiError>> {
//! #[allow(deprecated)]
//! let page = client
//!     .list_access_logs_by_cluster_name()
//!     .group_id("32b6e34b3d91647abb20e7b8")
//!     .cluster_name("Cluster0")
//!     .send()
//!     .await?;
//! for entry in &page.access_logs {
//!     println!("{:?} {:?}", entry.cluster_name, entry.username);
//! }
//! # Ok(()) }
//! ```
//!
//! # The clusters of a project, every page
//!
//! `listClusters` answers one page at a time (`pageNum`, `itemsPerPage` up to 500,
//! `totalCount`). `send()` gets one page; `stream()` hands out every cluster, page after
//! page, and `all()` collects them. The walk is exact or fails: a `totalCount` that changes
//! between pages, or pages that overlap or fall short of it, end it with an [`AtlasError`]
//! of kind [`ErrorKind::Incomplete`] rather than repeat or drop a cluster (see
//! [`runtime::paginate`]). Every paginated operation a spec adds gets the same two methods.
//!
//! ```no_run
//! use futures::StreamExt;
//!
//! # async fn run(client: atlas_client::Client) -> Result<(), atlas_client::AtlasError> {
//! let clusters = client
//!     .list_clusters()
//!     .group_id("32b6e34b3d91647abb20e7b8")
//!     .items_per_page(500)
//!     .all()
//!     .await?;
//! for cluster in &clusters {
//!     println!("{:?} {:?} {:?}", cluster.name, cluster.state_name, cluster.mongo_db_version);
//! }
//!
//! let mut stream = client.list_clusters().group_id("32b6e34b3d91647abb20e7b8").stream();
//! while let Some(cluster) = stream.next().await {
//!     println!("{:?}", cluster?.name);
//! }
//! # Ok(()) }
//! ```
//!
//! # Errors
//!
//! Every operation returns [`Error`]`<`[`types::ApiError`]`>`. Atlas's documented error
//! statuses arrive as [`Error::ErrorResponse`] with the decoded body; any other answer,
//! and one whose body does not decode, as [`Error::UnexpectedResponse`] with status and
//! body intact; a parameter that breaks its rule fails as [`Error::InvalidRequest`] before
//! anything is sent. `?` turns any of them, and every download, authentication and build
//! error, into one [`AtlasError`], which keeps the status, the body and the cause:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let client = atlas_client::Client::builder().build().unwrap();
//! let err = client
//!     .get_access_history_cluster()
//!     .group_id("not-a-project-id")
//!     .cluster_name("Cluster0")
//!     .send()
//!     .await
//!     .unwrap_err();
//! assert!(err.to_string().contains("parameter `groupId` must match the pattern"));
//! # }
//! ```
#![warn(missing_docs)]

mod access_logs;
#[allow(missing_docs, clippy::all, clippy::pedantic)]
#[rustfmt::skip]
mod generated;

pub use access_logs::{entry_time, log_line_time, log_line_time_escaped};
pub use atlas_runtime::{
    AtlasError, AtomicFile, AuthError, BuildError, ClientBuilder, Credentials, DEFAULT_BASE_URL,
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_READ_TIMEOUT, Download, DownloadError, ErrorBody, ErrorKind,
    Prepared, RateLimit, RetryPolicy, Runtime, Unrecognized, auth, finish_delivery, one_line,
    parse_timestamp,
};
pub use generated::{
    ByteStream, Client, ClientInfo, Error, ResponseValue, builder, prelude, types,
};

/// The runtime every generated client runs on, re-exported whole.
pub use atlas_runtime as runtime;
