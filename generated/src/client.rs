//! Building a [`Client`]: base URL, credentials, HTTP client (rustls), timeouts.

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use progenitor_client::ClientInfo;

use crate::Client;
use crate::auth::{AuthError, Credentials, Discovered, ProfileError, atlas_cli_config_path};
use crate::retry::RetryPolicy;
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
///
/// Credentials, explicit or discovered:
///
/// ```no_run
/// // An API key (HTTP Digest) or a service account (OAuth 2.0), given explicitly:
/// let client = atlas_client::Client::builder().api_key("abcdefgh", "private-key").build()?;
/// let client = atlas_client::Client::builder().service_account("mdb_sa_id_...", "mdb_sa_sk_...").build()?;
///
/// // Or found the way the Atlas CLI finds them: MONGODB_ATLAS_CLIENT_ID/_SECRET,
/// // MONGODB_ATLAS_PUBLIC_API_KEY/_PRIVATE_API_KEY, then a profile of its config file.
/// let client = atlas_client::Client::builder().discover().profile("prod").build()?;
/// # Ok::<(), atlas_client::BuildError>(())
/// ```
#[derive(Clone, Debug)]
pub struct ClientBuilder {
    base_url: Option<String>,
    credentials: Option<Credentials>,
    discover: bool,
    profile: Option<String>,
    allow_insecure_http: bool,
    connect_timeout: Duration,
    read_timeout: Duration,
    retry: RetryPolicy,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        Self {
            base_url: None,
            credentials: None,
            discover: false,
            profile: None,
            allow_insecure_http: false,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            read_timeout: DEFAULT_READ_TIMEOUT,
            retry: RetryPolicy::default(),
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
        self.base_url = Some(base_url.into());
        self
    }

    /// Authenticate with an API key (HTTP Digest).
    pub fn api_key(self, public_key: impl Into<String>, private_key: impl Into<String>) -> Self {
        self.credentials(Credentials::api_key(public_key, private_key))
    }

    /// Authenticate with a service account (OAuth 2.0 client credentials).
    pub fn service_account(
        self,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Self {
        self.credentials(Credentials::service_account(client_id, client_secret))
    }

    /// Authenticate with these credentials.
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// Find what is not given explicitly where the Atlas CLI looks: the environment
    /// (`MONGODB_ATLAS_CLIENT_ID`/`MONGODB_ATLAS_CLIENT_SECRET`,
    /// `MONGODB_ATLAS_PUBLIC_API_KEY`/`MONGODB_ATLAS_PRIVATE_API_KEY`,
    /// `MONGODB_ATLAS_OPS_MANAGER_URL`), then a profile of its configuration file (see
    /// [`ClientBuilder::profile`]). Within one source a service account wins over an API key.
    pub fn discover(mut self) -> Self {
        self.discover = true;
        self
    }

    /// The Atlas CLI profile to read when discovering (default: `default`). Naming a
    /// profile that does not exist is an error.
    pub fn profile(mut self, name: impl Into<String>) -> Self {
        self.profile = Some(name.into());
        self
    }

    /// Allow credentials over plain `http://` to a host other than loopback. Off by default:
    /// Digest answers and Bearer tokens would travel in the clear.
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.allow_insecure_http = allow;
        self
    }

    /// How long to wait for a connection to be established.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// When to retry: see [`RetryPolicy`] (default: four attempts within a minute).
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// How long a single read may stall before the request fails.
    pub fn read_timeout(mut self, timeout: Duration) -> Self {
        self.read_timeout = timeout;
        self
    }

    /// Builds the client.
    pub fn build(self) -> Result<Client, BuildError> {
        let (credentials, base_url) = self.resolve()?;
        let url = parse_base_url(&base_url)?;
        if credentials.is_some()
            && url.scheme() == "http"
            && !is_loopback(&url)
            && !self.allow_insecure_http
        {
            return Err(BuildError::InsecureUrl { url: base_url });
        }
        let http = reqwest::Client::builder()
            .connect_timeout(self.connect_timeout)
            .read_timeout(self.read_timeout)
            .build()
            .map_err(|e| BuildError::Http(e.to_string()))?;
        let base = url.as_str().trim_end_matches('/');
        Ok(Client::new_with_client(
            base,
            http,
            Runtime::new(credentials).with_retry_policy(self.retry),
        ))
    }

    /// Credentials and base URL: explicit first, then (when discovering) the environment,
    /// then the Atlas CLI profile.
    fn resolve(&self) -> Result<(Option<Credentials>, String), BuildError> {
        let mut credentials = self.credentials.clone();
        let mut base_url = self.base_url.clone();
        if self.discover {
            let env = Discovered::from_env();
            credentials = credentials.or(env.credentials);
            base_url = base_url.or(env.base_url);
            if credentials.is_none() || base_url.is_none() || self.profile.is_some() {
                let name = self.profile.as_deref().unwrap_or("default");
                let found = match atlas_cli_config_path() {
                    Some(path) => {
                        Discovered::from_profile_file(&path, name).map_err(BuildError::Profile)?
                    }
                    None => None,
                };
                match found {
                    Some(profile) => {
                        credentials = credentials.or(profile.credentials);
                        base_url = base_url.or(profile.base_url);
                    }
                    None if self.profile.is_some() => {
                        return Err(BuildError::UnknownProfile(name.to_string()));
                    }
                    None => {}
                }
            }
        }
        Ok((
            credentials,
            base_url.unwrap_or_else(|| DEFAULT_BASE_URL.to_string()),
        ))
    }
}

fn is_loopback(url: &reqwest::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

/// The base URL, after checking it is an absolute http(s) URL with no query, fragment or
/// credentials.
fn parse_base_url(raw: &str) -> Result<reqwest::Url, BuildError> {
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
    Ok(url)
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
    /// Credentials would travel over plain HTTP to a host other than loopback.
    InsecureUrl {
        /// The URL as given.
        url: String,
    },
    /// The Atlas CLI configuration file could not be read.
    Profile(ProfileError),
    /// The named Atlas CLI profile does not exist.
    UnknownProfile(String),
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BaseUrl { url, rule } => write!(f, "invalid base URL {url:?}: {rule}"),
            Self::Http(e) => write!(f, "cannot set up the HTTP client: {e}"),
            Self::InsecureUrl { url } => write!(
                f,
                "refusing to send credentials over plain HTTP to {url}; use https, or allow it with allow_insecure_http(true)"
            ),
            Self::Profile(e) => e.fmt(f),
            Self::UnknownProfile(name) => match atlas_cli_config_path() {
                Some(path) => write!(
                    f,
                    "no Atlas CLI profile named {name:?} in {}",
                    path.display()
                ),
                None => write!(
                    f,
                    "no Atlas CLI profile named {name:?} (no configuration directory)"
                ),
            },
        }
    }
}

impl std::error::Error for BuildError {}

impl Client {
    /// A [`ClientBuilder`] with the defaults.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }

    /// Gets a service-account token now, to check the credentials before the first call.
    /// Calls fetch tokens by themselves; this is never required.
    pub async fn authenticate(&self) -> Result<(), AuthError> {
        self.inner
            .auth
            .check(self.client(), self.baseurl(), self.inner.user_agent())
            .await
    }

    /// Revokes the service-account token in use (`/api/oauth/revoke`); the next call fetches
    /// a new one.
    pub async fn revoke_token(&self) -> Result<(), AuthError> {
        self.inner
            .auth
            .revoke(self.client(), self.baseurl(), self.inner.user_agent())
            .await
    }
}
