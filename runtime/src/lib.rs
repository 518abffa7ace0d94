//! The runtime of clients generated from Atlas OpenAPI specs by `cargo xtask codegen`, the
//! way `progenitor-client` serves progenitor's output. It names no operation and no type
//! of any spec: the xtask emits, into each generated client, `send()` methods that hand
//! every request to a [`Runtime`] and fail with [`Error`], an operation table of
//! [`Operation`]s, and the parameter checks that call [`Operation::check`].
//!
//! What it does for every generated client:
//! - [`auth`]: API keys over HTTP Digest (one round trip per call once the challenge is
//!   known), service accounts over OAuth 2.0 (single-flight tokens), credential discovery
//!   the way the Atlas CLI does it;
//! - [`retry`]: 408/429/502/503/504, connection failures and answers broken off mid-body,
//!   for idempotent requests, within a time budget, with fresh credentials per attempt;
//! - [`operation`]: parameter rules, checked on typed values before anything is sent;
//! - [`response`]: answers read whole and decoded strictly, status first;
//! - [`scan`]: JSON text walked in one pass, checked and not decoded;
//! - [`strict`]: JSON read as its schema shapes it (a struct from an object only), and
//!   files checked for keys named twice;
//! - [`paginate`]: every item of a paginated list, exactly once or an error;
//! - [`Error`]: what a generated call fails with, each failure a value of its own;
//! - [`AtlasError`]: one error for every call, keeping status, body and cause;
//! - [`download`] and [`AtomicFile`]: verified downloads that appear whole or not at all;
//! - [`timestamps`]: times as Atlas writes them, in every format it has used;
//! - [`Unrecognized`]: enumeration values Atlas sends that a spec does not list.

#![warn(missing_docs)]

mod atomic;
pub mod auth;
mod buffer;
pub mod call;
mod client;
pub mod download;
pub mod epoch;
mod error;
pub mod operation;
pub mod paginate;
pub mod response;
pub mod retry;
mod runtime;
pub mod scan;
pub mod strict;
pub mod timestamps;
mod unrecognized;

pub use atomic::{
    AtomicFile, NotOurs, Prepared, check_delivery, finish as finish_delivery,
    remove_stale as remove_stale_temporaries,
};
pub use auth::{AuthError, Credentials};
pub use call::Error;
pub use client::{
    BuildError, ClientBuilder, DEFAULT_BASE_URL, DEFAULT_CONNECT_TIMEOUT, DEFAULT_READ_TIMEOUT,
    FromRuntime,
};
pub use download::{Download, DownloadError};
pub use error::{AtlasError, ErrorBody, ErrorKind, one_line};
pub use operation::{Bound, Location, Operation, Param};
pub use retry::{RateLimit, RetryPolicy};
#[doc(hidden)]
pub use runtime::unwrap_envelope;
pub use runtime::{Runtime, USER_AGENT_VALUE};
pub use timestamps::parse_timestamp;
pub use unrecognized::Unrecognized;
