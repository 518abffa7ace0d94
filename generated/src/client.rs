//! Building a [`Client`]: base URL, HTTP client (rustls), timeouts.

use std::fmt;
use std::time::Duration;

use crate::Client;
use crate::runtime::Runtime;

/// Where Atlas answers. Atlas for Government answers at `https://cloud.mongodbgov.com`.
pub const DEFAULT_BASE_URL: &str = "https://cloud.mongodb.com";

/// How long to wait for a TCP and TLS connection, unless told otherwise.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long one read may stall, unless told otherwise. There is no total timeout, so a long
/// download is never cut while data keeps arriving.
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(60);

/// Configures and builds a [`Client`].
///
/// ```
/// use std::time::Duration;
/// use atlas_client::ClientInfo;
///
/// let client = atlas_client::Client::builder()
///     .base_url("https://cloud.mongodbgov.com")
///     .read_timeout(Duration::from_secs(120))
///     .build()?;
/// assert_eq!(client.baseurl(), "https://cloud.mongodbgov.com");
/// # Ok::<(), atlas_client::BuildError>(())
/// ```
#[derive(Clone, Debug)]
pub struct ClientBuilder {
    base_url: String,
    connect_timeout: Duration,
    read_timeout: Duration,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        Self {
            base_url: DEFAULT_BASE_URL.to_string(),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            read_timeout: DEFAULT_READ_TIMEOUT,
        }
    }
}

impl ClientBuilder {
    /// A builder with the defaults: [`DEFAULT_BASE_URL`], [`DEFAULT_CONNECT_TIMEOUT`],
    /// [`DEFAULT_READ_TIMEOUT`].
    pub fn new() -> Self {
        Self::default()
    }

    /// The scheme, host, optional port and optional path prefix requests go to.
    pub fn base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = base_url.into();
        self
    }

    /// How long to wait for a connection to be established.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long a single read may stall before the request fails.
    pub fn read_timeout(mut self, timeout: Duration) -> Self {
        self.read_timeout = timeout;
        self
    }

    /// Builds the client.
    pub fn build(self) -> Result<Client, BuildError> {
        let base_url = parse_base_url(&self.base_url)?;
        let http = reqwest::Client::builder()
            .connect_timeout(self.connect_timeout)
            .read_timeout(self.read_timeout)
            .build()
            .map_err(|e| BuildError::Http(e.to_string()))?;
        Ok(Client::new_with_client(&base_url, http, Runtime::default()))
    }
}

/// The base URL without a trailing slash, after checking it is an absolute http(s) URL with
/// no query or fragment.
fn parse_base_url(raw: &str) -> Result<String, BuildError> {
    let invalid = |rule: &str| BuildError::BaseUrl {
        url: raw.to_string(),
        rule: rule.to_string(),
    };
    let url = reqwest::Url::parse(raw)
        .map_err(|e| invalid(&format!("it is not an absolute URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("its scheme must be http or https"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("it must not carry a query or a fragment"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("it must not carry credentials"));
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

/// Why a [`Client`] could not be built.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BuildError {
    /// The base URL is unusable.
    BaseUrl {
        /// The URL as given.
        url: String,
        /// The rule it breaks.
        rule: String,
    },
    /// The HTTP client could not be set up (TLS initialisation, for one).
    Http(String),
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BaseUrl { url, rule } => write!(f, "invalid base URL {url:?}: {rule}"),
            Self::Http(e) => write!(f, "cannot set up the HTTP client: {e}"),
        }
    }
}

impl std::error::Error for BuildError {}

impl Client {
    /// A [`ClientBuilder`] with the defaults.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }
}
