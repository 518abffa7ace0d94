// Hand-written: the crate root (documentation and re-exports). The mocks themselves are
// generated into `generated.rs` by `cargo xtask codegen`; never edit that file by hand.

//! Typed [httpmock] mocks of the [`atlas_client`] operations, for testing your own code
//! against a mocked Atlas.
//!
//! [`MockServerExt`] adds one method per operation to [`MockServer`], named like the
//! client's method. Its closure receives a typed `When` (one method per parameter of the
//! operation) and a typed `Then` (one method per response of the spec, taking the
//! response's type). The mocks answer the way Atlas does:
//!
//! - a mock matches only the operation's path, method and versioned `Accept` media type
//!   (`application/vnd.atlas.2023-01-01+json`), the one the client sends;
//! - a path parameter matches its value literally (`.` in a hostname is a dot), within
//!   one path segment;
//! - success responses carry the operation's versioned media type as `Content-Type`;
//!   error responses `application/json`, as Atlas answers them; the body of a download
//!   is given as bytes.
//!
//! Every `When` and `Then` converts to httpmock's own with `into_inner()`, to match or
//! answer anything else.
//!
//! # Testing your code against a mocked Atlas
//!
//! ```
//! use atlas_client::types::{MongoDbAccessLogs, MongoDbAccessLogsList};
//! use atlas_client_mocks::{MockServer, MockServerExt};
//!
//! /// Your code: the users that failed to authenticate to a cluster.
//! async fn failed_users(
//!     client: &atlas_client::Client,
//!     group: &str,
//!     cluster: &str,
//! ) -> Result<Vec<String>, atlas_client::Error<atlas_client::types::ApiError>> {
//!     let page = client
//!         .get_access_history_cluster()
//!         .group_id(group)
//!         .cluster_name(cluster)
//!         .auth_result(false)
//!         .send()
//!         .await?;
//!     Ok(page
//!         .into_inner()
//!         .access_logs
//!         .into_iter()
//!         .filter_map(|entry| entry.username)
//!         .collect())
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! // Its test.
//! let server = MockServer::start_async().await;
//! let mock = server.get_access_history_cluster(|when, then| {
//!     when.group_id("32b6e34b3d91647abb20e7b8")
//!         .cluster_name("Cluster0")
//!         .auth_result(false);
//!     then.ok(&MongoDbAccessLogsList {
//!         access_logs: vec![MongoDbAccessLogs {
//!             username: Some("alice".to_string()),
//!             auth_result: Some(false),
//!             ..Default::default()
//!         }],
//!     });
//! });
//! let client = atlas_client::Client::builder()
//!     .base_url(server.base_url())
//!     .build()
//!     .unwrap();
//!
//! let users = failed_users(&client, "32b6e34b3d91647abb20e7b8", "Cluster0")
//!     .await
//!     .unwrap();
//! assert_eq!(users, ["alice"]);
//! mock.assert_async().await;
//! # }
//! ```

#[allow(missing_docs, clippy::all, clippy::pedantic)]
#[rustfmt::skip]
mod generated;

pub use generated::{MockServerExt, operations};
pub use httpmock::{self, Mock, MockServer};
