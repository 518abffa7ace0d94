//! Credentials, and where to find them: given explicitly, in the environment, or in a
//! profile of the Atlas CLI's configuration file.

use std::fmt;
use std::path::{Path, PathBuf};

use secrecy::SecretString;

/// Service-account client id (environment).
pub const ENV_CLIENT_ID: &str = "MONGODB_ATLAS_CLIENT_ID";
/// Service-account client secret (environment).
pub const ENV_CLIENT_SECRET: &str = "MONGODB_ATLAS_CLIENT_SECRET";
/// API key, public part (environment).
pub const ENV_PUBLIC_API_KEY: &str = "MONGODB_ATLAS_PUBLIC_API_KEY";
/// API key, private part (environment).
pub const ENV_PRIVATE_API_KEY: &str = "MONGODB_ATLAS_PRIVATE_API_KEY";
/// Base URL override (environment), as the Atlas CLI names it.
pub const ENV_BASE_URL: &str = "MONGODB_ATLAS_OPS_MANAGER_URL";
/// The project to work on (environment), as the Atlas CLI names it.
pub const ENV_PROJECT_ID: &str = "MONGODB_ATLAS_PROJECT_ID";
/// The organisation to work on (environment), as the Atlas CLI names it.
pub const ENV_ORG_ID: &str = "MONGODB_ATLAS_ORG_ID";

/// How to authenticate to Atlas. Secrets never appear in `Debug` output.
#[derive(Clone)]
pub enum Credentials {
    /// A programmatic API key, sent with HTTP Digest.
    ApiKey {
        /// The public part (the Digest user name).
        public_key: String,
        /// The private part (the Digest password).
        private_key: SecretString,
    },
    /// A service account, exchanged for one-hour Bearer tokens (OAuth 2.0 client credentials).
    ServiceAccount {
        /// The client id, `mdb_sa_id_...`.
        client_id: String,
        /// The client secret, `mdb_sa_sk_...`.
        client_secret: SecretString,
    },
}

impl Credentials {
    /// An API key.
    pub fn api_key(public_key: impl Into<String>, private_key: impl Into<String>) -> Self {
        Self::ApiKey {
            public_key: public_key.into(),
            private_key: SecretString::from(private_key.into()),
        }
    }

    /// A service account.
    pub fn service_account(client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        Self::ServiceAccount {
            client_id: client_id.into(),
            client_secret: SecretString::from(client_secret.into()),
        }
    }

    /// The non-secret half: the public key or the client id.
    pub fn id(&self) -> &str {
        match self {
            Self::ApiKey { public_key, .. } => public_key,
            Self::ServiceAccount { client_id, .. } => client_id,
        }
    }

    /// A service account when both of its values are set, else an API key when both of its
    /// values are set: a service account wins when both kinds are present.
    fn pick(
        client_id: Option<String>,
        client_secret: Option<String>,
        public: Option<String>,
        private: Option<String>,
    ) -> Option<Self> {
        let set = |v: Option<String>| v.filter(|s| !s.trim().is_empty());
        match (
            set(client_id),
            set(client_secret),
            set(public),
            set(private),
        ) {
            (Some(id), Some(secret), _, _) => Some(Self::service_account(id, secret)),
            (_, _, Some(public), Some(private)) => Some(Self::api_key(public, private)),
            _ => None,
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ApiKey { public_key, .. } => f
                .debug_struct("ApiKey")
                .field("public_key", public_key)
                .field("private_key", &"[redacted]")
                .finish(),
            Self::ServiceAccount { client_id, .. } => f
                .debug_struct("ServiceAccount")
                .field("client_id", client_id)
                .field("client_secret", &"[redacted]")
                .finish(),
        }
    }
}

/// What one source of configuration provides.
#[derive(Clone, Debug, Default)]
pub struct Discovered {
    /// Credentials, when the source holds a complete pair.
    pub credentials: Option<Credentials>,
    /// A base URL override.
    pub base_url: Option<String>,
    /// The project to work on (`MONGODB_ATLAS_PROJECT_ID`, a profile's `project_id`); the
    /// client never uses it, callers may.
    pub project_id: Option<String>,
}

impl Discovered {
    /// Reads the `MONGODB_ATLAS_*` environment variables.
    pub fn from_env() -> Self {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// Reads the same variables through `var`, for callers with their own environment.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Self {
        Self {
            credentials: Credentials::pick(
                var(ENV_CLIENT_ID),
                var(ENV_CLIENT_SECRET),
                var(ENV_PUBLIC_API_KEY),
                var(ENV_PRIVATE_API_KEY),
            ),
            base_url: var(ENV_BASE_URL).filter(|s| !s.trim().is_empty()),
            project_id: var(ENV_PROJECT_ID).filter(|s| !s.trim().is_empty()),
        }
    }

    /// Reads profile `name` of an Atlas CLI configuration file; `Ok(None)` when the file or
    /// the profile does not exist.
    ///
    /// # Errors
    ///
    /// The file exists but cannot be read, or is not valid TOML.
    pub fn from_profile_file(path: &Path, name: &str) -> Result<Option<Self>, ProfileError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(ProfileError {
                    path: path.to_path_buf(),
                    source: e.into(),
                });
            }
        };
        Self::from_profile_text(&text, name).map_err(|source| ProfileError {
            path: path.to_path_buf(),
            source,
        })
    }

    /// Reads profile `name` of the text of an Atlas CLI configuration file; `Ok(None)` when
    /// the profile does not exist, `Err` with the reason when the text is not TOML.
    #[doc(hidden)]
    pub fn from_profile_text(text: &str, name: &str) -> Result<Option<Self>, ProfileCause> {
        if nesting_bound(text) > MAX_NESTING {
            return Err(ProfileCause::TooDeep);
        }
        let table: toml::Table = text.parse().map_err(ProfileCause::Toml)?;
        let Some(profile) = table.get(name).and_then(toml::Value::as_table) else {
            return Ok(None);
        };
        let get = |key: &str| {
            profile
                .get(key)
                .and_then(toml::Value::as_str)
                .map(str::to_string)
        };
        Ok(Some(Self {
            credentials: Credentials::pick(
                get("client_id"),
                get("client_secret"),
                get("public_api_key"),
                get("private_api_key"),
            ),
            base_url: get("ops_manager_url").filter(|s| !s.trim().is_empty()),
            project_id: get("project_id").filter(|s| !s.trim().is_empty()),
        }))
    }
}

/// The most arrays and inline tables a profile text may have. Some malformed texts drive
/// `toml` (1.x) past its own recursion limit until the stack overflows; nesting cannot
/// exceed this bound, and an Atlas CLI configuration has no arrays or inline tables at all.
const MAX_NESTING: usize = 64;

/// An upper bound on how deeply the TOML parser can nest into `text`: every `[` and `{`,
/// save those of table-header lines (`[name]`, `[[name]]`), which open at most two levels
/// and close them on the same line.
fn nesting_bound(text: &str) -> usize {
    let opening = text
        .split('\n')
        .map(|line| line.strip_suffix('\r').unwrap_or(line))
        .map(|line| line.trim_matches([' ', '\t']))
        .filter(|line| !is_table_header(line))
        .map(|line| line.bytes().filter(|b| matches!(b, b'[' | b'{')).count())
        .sum::<usize>();
    opening + 2
}

/// `[name]` or `[[name]]` with a bare (dotted) name: no quotes, comments or brackets inside.
fn is_table_header(line: &str) -> bool {
    let brackets = if line.starts_with("[[") && line.ends_with("]]") {
        2
    } else if line.starts_with('[') && line.ends_with(']') {
        1
    } else {
        return false;
    };
    line.len() >= 2 * brackets
        && line.as_bytes()[brackets..line.len() - brackets]
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b' ' | b'\t'))
}

/// Where the Atlas CLI keeps its configuration: `$XDG_CONFIG_HOME/atlascli/config.toml`,
/// else `$HOME/.config/atlascli/config.toml` (on macOS,
/// `~/Library/Application Support/atlascli/config.toml`).
pub fn atlas_cli_config_path() -> Option<PathBuf> {
    let base = match std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => {
            let home = PathBuf::from(std::env::var_os("HOME")?);
            if cfg!(target_os = "macos") {
                home.join("Library/Application Support")
            } else {
                home.join(".config")
            }
        }
    };
    Some(base.join("atlascli").join("config.toml"))
}

/// The Atlas CLI configuration file could not be read.
#[derive(Debug, thiserror::Error)]
#[error("cannot read the Atlas CLI configuration {}", path.display())]
pub struct ProfileError {
    /// The file.
    pub path: PathBuf,
    /// What went wrong.
    #[source]
    pub source: ProfileCause,
}

/// Why the Atlas CLI configuration could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProfileCause {
    /// The file could not be read.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The file is not TOML.
    #[error("{}", toml_one_line(.0))]
    Toml(#[from] toml::de::Error),
    /// The file nests arrays and inline tables deeper than any configuration does.
    #[error(
        "more than {MAX_NESTING} arrays and inline tables (`[` and `{{` outside table headers)"
    )]
    TooDeep,
}

/// A TOML error on one line: where, then what (its own rendering draws the line with a
/// caret over several).
fn toml_one_line(e: &toml::de::Error) -> String {
    let rendered = e.to_string();
    let place = rendered.lines().next().unwrap_or_default();
    let what = e
        .message()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(", ");
    format!("{place}: {what}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_account_wins_over_api_key() {
        let vars = |name: &str| {
            Some(
                match name {
                    ENV_CLIENT_ID => "mdb_sa_id_x",
                    ENV_CLIENT_SECRET => "mdb_sa_sk_y",
                    ENV_PUBLIC_API_KEY => "pub",
                    ENV_PRIVATE_API_KEY => "priv",
                    _ => return None,
                }
                .to_string(),
            )
        };
        let found = Discovered::from_vars(vars);
        assert!(matches!(
            found.credentials,
            Some(Credentials::ServiceAccount { .. })
        ));
        assert_eq!(found.base_url, None);
    }

    #[test]
    fn half_a_pair_is_nothing() {
        let found =
            Discovered::from_vars(|name| (name == ENV_PUBLIC_API_KEY).then(|| "pub".to_string()));
        assert!(found.credentials.is_none());
    }

    #[test]
    fn reads_named_profiles_of_the_cli_file() {
        let dir = std::env::temp_dir().join(format!("atlas-client-profile-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("config.toml");
        std::fs::write(
            &path,
            "[default]\n  public_api_key = \"pub\"\n  private_api_key = \"priv\"\n  org_id = \"5f\"\n\n\
             [gov]\n  client_id = \"mdb_sa_id_1\"\n  client_secret = \"mdb_sa_sk_2\"\n  ops_manager_url = \"https://cloud.mongodbgov.com/\"\n",
        )
        .unwrap();
        let default = Discovered::from_profile_file(&path, "default")
            .unwrap()
            .unwrap();
        assert_eq!(default.credentials.unwrap().id(), "pub");
        let gov = Discovered::from_profile_file(&path, "gov")
            .unwrap()
            .unwrap();
        assert!(matches!(
            gov.credentials,
            Some(Credentials::ServiceAccount { .. })
        ));
        assert_eq!(
            gov.base_url.as_deref(),
            Some("https://cloud.mongodbgov.com/")
        );
        assert!(
            Discovered::from_profile_file(&path, "missing")
                .unwrap()
                .is_none()
        );
        assert!(
            Discovered::from_profile_file(&dir.join("nope.toml"), "default")
                .unwrap()
                .is_none()
        );
        std::fs::write(&path, "[default\n").unwrap();
        let err = Discovered::from_profile_file(&path, "default").unwrap_err();
        assert!(err.to_string().contains("config.toml"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_text_that_is_not_toml_is_one_line_saying_where() {
        let e = Discovered::from_profile_text("[default]\nproject_id = [\n", "default")
            .unwrap_err()
            .to_string();
        assert!(!e.contains('\n'), "{e}");
        assert!(
            e.starts_with("TOML parse error at line 2, column 15: "),
            "{e}"
        );
    }

    #[test]
    fn texts_that_could_nest_deeply_are_refused_before_parsing() {
        // Empty arrays where an inline table expects a key each lower `toml`'s depth count,
        // so that the arrays after them nest past its limit: on a small stack, parsing this
        // would overflow it.
        let hostile = format!("={{{}\"\n{}", "[]".repeat(5_000), "[".repeat(5_000));
        let refused = std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(move || Discovered::from_profile_text(&hostile, "default"))
            .unwrap()
            .join()
            .unwrap();
        assert!(matches!(refused, Err(ProfileCause::TooDeep)));
        // Table headers, however many, are not nesting.
        let profiles: String = (0..500)
            .map(|i| {
                format!("[p{i}]\n  public_api_key = \"k{i}\"\n  private_api_key = \"s\"\n[[x.y]]\n")
            })
            .collect();
        let found = Discovered::from_profile_text(&profiles, "p499")
            .unwrap()
            .unwrap();
        assert_eq!(found.credentials.unwrap().id(), "k499");
        assert!(nesting_bound("a = [[1], {b = [2]}]") >= 4);
        assert_eq!(nesting_bound("[default]\r\n[[a.b-c_d]]\n"), 2);
        assert_eq!(nesting_bound("[\"q\"]\n[a]]\n[[a]\n"), 6);
    }

    #[test]
    fn debug_redacts_secrets() {
        let shown = format!(
            "{:?} {:?}",
            Credentials::api_key("pub", "s3cr3t-priv"),
            Credentials::service_account("id", "s3cr3t-sa")
        );
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(shown.contains("pub") && shown.contains("[redacted]"));
    }
}
