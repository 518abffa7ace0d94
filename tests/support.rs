//! Helpers shared by the snapshot tests: a loopback mock of Atlas that records what it
//! receives, a stable text rendering of recorded requests, and Apache httpd as an
//! independent HTTP Digest server.

use std::fmt::Write;

use atlas_client::Client;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

/// A project id that follows Atlas's rule.
pub const GROUP_ID: &str = "32b6e34b3d91647abb20e7b8";

/// The media type of the access-history operations' success responses, as Atlas sends it.
pub const ATLAS_JSON: &str = "application/vnd.atlas.2023-01-01+json;charset=utf-8";

/// A mock server answering every request with `response`, and a client pointed at it.
pub async fn mock_answering(response: ResponseTemplate) -> (MockServer, Client) {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(response)
        .mount(&server)
        .await;
    // Retries have tests of their own; here one request means one answer.
    let client = Client::builder()
        .base_url(server.uri())
        .retry_policy(atlas_client::RetryPolicy::never())
        .build()
        .expect("client builds");
    (server, client)
}

/// A JSON answer with Atlas's versioned media type.
pub fn atlas_json(status: u16, body: serde_json::Value) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(body.to_string().into_bytes(), ATLAS_JSON)
}

/// An error answer: JSON `ApiError`, labelled `application/json` as Atlas does.
pub fn api_error(status: u16, error_code: &str, detail: &str) -> ResponseTemplate {
    let body = serde_json::json!({
        "detail": detail,
        "error": status,
        "errorCode": error_code,
        "parameters": [],
        "reason": reason_phrase(status),
    });
    ResponseTemplate::new(status).set_body_raw(body.to_string().into_bytes(), "application/json")
}

fn reason_phrase(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        409 => "Conflict",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        _ => "Unknown",
    }
}

/// The one request the server received.
pub async fn only_request(server: &MockServer) -> Request {
    let mut requests = server.received_requests().await.expect("recording is on");
    assert_eq!(
        requests.len(),
        1,
        "expected exactly one request, got {}",
        requests.len()
    );
    requests.remove(0)
}

/// Method, path and query as sent, then every header sorted by name, with the volatile
/// ones (host port, crate version) redacted.
pub fn render(request: &Request) -> String {
    let mut out = format!("{} {}", request.method, request.url.path());
    if let Some(query) = request.url.query() {
        write!(out, "?{query}").unwrap();
    }
    out.push('\n');
    let mut headers: Vec<(String, String)> = request
        .headers
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_string(),
                value.to_str().unwrap_or("<binary>").to_string(),
            )
        })
        .collect();
    headers.sort();
    for (name, value) in headers {
        let value = match name.as_str() {
            "host" => "[loopback]".to_string(),
            "user-agent" => value.replace(env!("CARGO_PKG_VERSION"), "[version]"),
            "authorization" => redact_authorization(&value),
            _ => value,
        };
        writeln!(out, "{name}: {value}").unwrap();
    }
    if !request.body.is_empty() {
        writeln!(out, "\n{}", String::from_utf8_lossy(&request.body)).unwrap();
    }
    out
}

/// Credentials in an `Authorization` header, with every secret or random part redacted:
/// Basic and Bearer values whole, and a Digest answer's nonce, cnonce and response.
pub fn redact_authorization(value: &str) -> String {
    if let Some(params) = value.strip_prefix("Digest ") {
        let params: Vec<String> = params
            .split(", ")
            .map(|pair| match pair.split_once('=') {
                Some((key @ ("nonce" | "cnonce" | "response"), _)) => format!("{key}=[redacted]"),
                _ => pair.to_string(),
            })
            .collect();
        return format!("Digest {}", params.join(", "));
    }
    match value.split_once(' ') {
        Some((scheme, _)) => format!("{scheme} [redacted]"),
        None => "[redacted]".to_string(),
    }
}

/// A fake Atlas with 2,000 entries and small audit logs, adjusted as asked.
pub async fn fake(adjust: impl FnOnce(&mut fake_atlas::Config)) -> fake_atlas::FakeAtlas {
    let mut config = fake_atlas::Config {
        data: fake_atlas::DataConfig {
            entries: 2_000,
            ..fake_atlas::DataConfig::default()
        },
        ..fake_atlas::Config::default()
    };
    config.audit_log_bytes = 64 << 10;
    adjust(&mut config);
    fake_atlas::FakeAtlas::start(config).await.unwrap()
}

/// A client of `atlas` with its demo API key.
pub fn digest_client(atlas: &fake_atlas::FakeAtlas) -> Client {
    Client::builder()
        .base_url(atlas.base_url())
        .api_key(fake_atlas::DEMO_PUBLIC_KEY, fake_atlas::DEMO_PRIVATE_KEY)
        .build()
        .unwrap()
}

/// A client of `atlas` with its demo service account.
pub fn service_client(atlas: &fake_atlas::FakeAtlas) -> Client {
    Client::builder()
        .base_url(atlas.base_url())
        .service_account(fake_atlas::DEMO_CLIENT_ID, fake_atlas::DEMO_CLIENT_SECRET)
        .build()
        .unwrap()
}

/// A program under test with an empty environment but for `PATH` and what sets its clock
/// and time zone: `TZ`, and libfaketime's `LD_PRELOAD` and `FAKETIME*`, through which
/// `cargo xtask test --shifted-clock` moves the present of everything the suite runs. The
/// program sees what the test sets, on the same day and in the same zone as the test.
pub fn isolated_command(program: impl AsRef<std::ffi::OsStr>) -> std::process::Command {
    let mut command = std::process::Command::new(program);
    command.env_clear();
    for (name, value) in std::env::vars_os() {
        let kept = name.to_str().is_some_and(|n| {
            matches!(n, "PATH" | "TZ" | "LD_PRELOAD") || n.starts_with("FAKETIME")
        });
        if kept {
            command.env(name, value);
        }
    }
    command
}

/// The Python interpreter that runs tests/digest_server.py: `ATLAS_TEST_PYTHON` when set
/// (`cargo xtask test` points it at its venv under `target/`, with the packages of
/// tests/requirements.txt installed), else `python3` on the PATH.
pub fn python() -> std::ffi::OsString {
    std::env::var_os("ATLAS_TEST_PYTHON")
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "python3".into())
}

/// What to do when [`python`] lacks Flask-HTTPAuth or does not run at all.
pub const PYTHON_HINT: &str = "run the suite with `cargo xtask test`, which provisions a venv \
     with tests/requirements.txt; or install python3 and run \
     `pip install -r tests/requirements.txt` (or set ATLAS_TEST_PYTHON to a Python that has them)";

/// The Apache httpd binary the interoperability tests run (Debian's `apache2` package).
pub const APACHE_BIN: &str = "/usr/sbin/apache2";

/// Where Debian's `apache2` package keeps the loadable modules.
const APACHE_MODULES: &str = "/usr/lib/apache2/modules";

/// The realm Atlas's Digest challenges name.
pub const DIGEST_REALM: &str = "MMS Public API";

/// The path the access-history-by-cluster call for [`GROUP_ID`] and `Cluster0` requests.
const APACHE_ACCESS_PATH: &str =
    "api/atlas/v2/groups/32b6e34b3d91647abb20e7b8/dbAccessHistory/clusters/Cluster0";

/// An unprotected path requested to find out that Apache has logged everything before it.
const APACHE_FLUSH_PATH: &str = "/flush";

/// Apache httpd with mod_auth_digest on loopback, as an HTTP Digest server independent of
/// ours: `/api` needs Digest credentials of realm [`DIGEST_REALM`], and the one static file
/// under it answers the access-history-by-cluster call for [`GROUP_ID`] and `Cluster0` with
/// an empty page. Its configuration, logs and password file live in a scratch directory;
/// the server is killed and the directory removed on drop (kept, and named on stderr, when
/// the test is failing).
///
/// It runs as a single process (`-X`, prefork) without keep-alive, so connections are
/// served one after another, each logged before the next is accepted.
pub struct Apache {
    child: std::process::Child,
    dir: std::path::PathBuf,
    port: u16,
}

impl Apache {
    /// Starts Apache accepting `user` with `password`; panics, saying what to install, when
    /// Apache is not installed, and with Apache's error log when it does not come up.
    pub fn start(user: &str, password: &str) -> Apache {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static INSTANCES: AtomicUsize = AtomicUsize::new(0);

        assert!(
            std::path::Path::new(APACHE_BIN).exists()
                && std::path::Path::new(APACHE_MODULES).is_dir(),
            "Apache httpd is not installed ({APACHE_BIN} or {APACHE_MODULES} is missing); \
             install it: apt-get install apache2 (`cargo xtask test` does when run as root)"
        );
        let dir = std::env::temp_dir().join(format!(
            "atlas-apache-{}-{}",
            std::process::id(),
            INSTANCES.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        let docroot = dir.join("htdocs");
        let page = docroot.join(APACHE_ACCESS_PATH);
        std::fs::create_dir_all(page.parent().unwrap()).unwrap();
        std::fs::write(&page, r#"{"accessLogs":[]}"#).unwrap();
        std::fs::write(docroot.join(APACHE_FLUSH_PATH.trim_start_matches('/')), "").unwrap();
        // htdigest's format: user:realm:MD5(user:realm:password).
        let ha1 = md5_hex(&format!("{user}:{DIGEST_REALM}:{password}"));
        std::fs::write(
            dir.join("htdigest"),
            format!("{user}:{DIGEST_REALM}:{ha1}\n"),
        )
        .unwrap();

        let port = std::net::TcpListener::bind(("127.0.0.1", 0))
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let d = dir.display();
        let config = format!(
            r#"ServerRoot "{d}"
DefaultRuntimeDir "{d}"
PidFile "{d}/httpd.pid"
Mutex "file:{d}" default
ErrorLog "{d}/error.log"
LogLevel info
Listen 127.0.0.1:{port}
ServerName 127.0.0.1
KeepAlive Off
LoadModule mpm_prefork_module {APACHE_MODULES}/mod_mpm_prefork.so
LoadModule authn_core_module {APACHE_MODULES}/mod_authn_core.so
LoadModule authn_file_module {APACHE_MODULES}/mod_authn_file.so
LoadModule authz_core_module {APACHE_MODULES}/mod_authz_core.so
LoadModule authz_user_module {APACHE_MODULES}/mod_authz_user.so
LoadModule auth_digest_module {APACHE_MODULES}/mod_auth_digest.so
LogFormat "%>s %r" requests
CustomLog "{d}/access.log" requests
DocumentRoot "{d}/htdocs"
<Directory "{d}/htdocs">
    Require all granted
</Directory>
<Location /api>
    AuthType Digest
    AuthName "{DIGEST_REALM}"
    AuthDigestProvider file
    AuthUserFile "{d}/htdigest"
    # mod_auth_digest's defaults check no nonce count at all (a request replayed within
    # the nonce's lifetime is accepted) and send no opaque. With the check on, every
    # challenge carries an opaque naming the client, the answer must echo it, and the
    # count must rise with every answer to the same nonce. The nonce outlives any test
    # run, so no answer meets an expired nonce (a stale=true challenge) or a nextnonce.
    AuthDigestNcCheck On
    AuthDigestNonceLifetime 3600
    Require valid-user
    ForceType application/vnd.atlas.2023-01-01+json
</Location>
"#
        );
        let conf = dir.join("httpd.conf");
        std::fs::write(&conf, config).unwrap();

        let child = std::process::Command::new(APACHE_BIN)
            .arg("-X")
            .arg("-f")
            .arg(&conf)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(dir.join("stderr.log")).unwrap())
            .spawn()
            .unwrap_or_else(|e| panic!("{APACHE_BIN} does not run: {e}"));
        let mut apache = Apache { child, dir, port };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            if let Some(status) = apache.child.try_wait().unwrap() {
                panic!(
                    "Apache exited ({status}) on start:\n{}",
                    apache.diagnostics()
                );
            }
            if apache.flush().is_ok() {
                return apache;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "Apache did not accept connections on port {port} within 10 s:\n{}",
                apache.diagnostics()
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The scratch directory: configuration, logs, password file and document root.
    pub fn dir(&self) -> &std::path::Path {
        &self.dir
    }

    /// Every request Apache has answered, in order, as (status, request line).
    pub fn requests(&self) -> Vec<(u16, String)> {
        self.flush().expect("Apache answers");
        let log = std::fs::read_to_string(self.dir.join("access.log")).unwrap_or_default();
        let flush = format!("GET {APACHE_FLUSH_PATH} ");
        log.lines()
            .filter_map(|line| line.split_once(' '))
            .filter(|(_, request)| !request.starts_with(&flush))
            .map(|(status, request)| {
                let status = status
                    .parse()
                    .unwrap_or_else(|_| panic!("unexpected access log line: {status} {request}"));
                (status, request.to_string())
            })
            .collect()
    }

    /// Requests the unprotected flush path and reads the whole answer. Connections are
    /// served one at a time, each logged before the next is accepted, so once this one is
    /// answered every earlier request is in the access log.
    fn flush(&self) -> std::io::Result<()> {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", self.port))?;
        stream.set_read_timeout(Some(std::time::Duration::from_secs(10)))?;
        write!(
            stream,
            "GET {APACHE_FLUSH_PATH} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n"
        )?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer)?;
        if answer.starts_with("HTTP/1.1 200 ") {
            Ok(())
        } else {
            Err(std::io::Error::other(format!(
                "unexpected answer to {APACHE_FLUSH_PATH}: {answer:?}"
            )))
        }
    }

    /// Apache's stderr and error log, for a failure message.
    fn diagnostics(&self) -> String {
        ["stderr.log", "error.log"]
            .iter()
            .map(|name| {
                let text = std::fs::read_to_string(self.dir.join(name)).unwrap_or_default();
                format!("--- {name}\n{text}")
            })
            .collect()
    }
}

impl Drop for Apache {
    fn drop(&mut self) {
        // A single process (`-X`): killing it stops the server.
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("Apache's files are kept in {}", self.dir.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

fn md5_hex(text: &str) -> String {
    use md5::{Digest, Md5};
    Md5::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
