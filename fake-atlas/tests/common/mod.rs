//! Test helpers: a fake Atlas with small data, and an HTTP client that answers Digest
//! challenges with the independent `digest_auth` crate.

#![allow(dead_code)]

use fake_atlas::{Config, DataConfig, FakeAtlas};

pub const ACCESS: &str = "application/vnd.atlas.2023-01-01+json";
pub const AUDIT: &str = "application/vnd.atlas.2023-02-01+gzip";

/// The `fake-atlas` binary started with `args`, its standard error as given: the process
/// (kill it when done) and the base URL its first line names.
pub fn spawn_binary(args: &[&str], stderr: std::process::Stdio) -> (std::process::Child, String) {
    use std::io::BufRead;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_fake-atlas"))
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(stderr)
        .spawn()
        .unwrap();
    let mut first = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let url = first
        .trim()
        .strip_prefix("listening on ")
        .expect("first line names the address")
        .to_string();
    (child, url)
}

/// A fake with `entries` entries and otherwise default settings.
pub async fn fake_with(entries: usize, adjust: impl FnOnce(&mut Config)) -> FakeAtlas {
    let mut config = Config {
        data: DataConfig {
            entries,
            ..DataConfig::default()
        },
        ..Config::default()
    };
    config.audit_log_bytes = 256 << 10;
    adjust(&mut config);
    FakeAtlas::start(config).await.expect("fake starts")
}

/// Sends GETs with API-key Digest authentication, reusing the challenge with an
/// increasing nonce count, as a careful client does.
pub struct DigestClient {
    pub http: reqwest::Client,
    pub base: String,
    pub user: String,
    pub password: String,
    prompt: Option<digest_auth::WwwAuthenticateHeader>,
}

impl DigestClient {
    pub fn new(base: &str, user: &str, password: &str) -> Self {
        Self {
            http: reqwest::Client::new(),
            base: base.to_string(),
            user: user.to_string(),
            password: password.to_string(),
            prompt: None,
        }
    }

    pub fn demo(base: &str) -> Self {
        Self::new(
            base,
            fake_atlas::DEMO_PUBLIC_KEY,
            fake_atlas::DEMO_PRIVATE_KEY,
        )
    }

    /// GET `path_and_query` with the given Accept; answers one challenge if needed.
    pub async fn get(&mut self, path_and_query: &str, accept: &str) -> reqwest::Response {
        for _ in 0..2 {
            let mut request = self
                .http
                .get(format!("{}{path_and_query}", self.base))
                .header("Accept", accept);
            if let Some(prompt) = &mut self.prompt {
                let context = digest_auth::AuthContext::new_with_method(
                    self.user.as_str(),
                    self.password.as_str(),
                    path_and_query,
                    Option::<&[u8]>::None,
                    digest_auth::HttpMethod::GET,
                );
                let answer = prompt.respond(&context).expect("digest answer");
                request = request.header("Authorization", answer.to_header_string());
            }
            let response = request.send().await.expect("request goes through");
            if response.status() == 401
                && let Some(challenge) = response.headers().get("www-authenticate")
            {
                self.prompt = Some(
                    digest_auth::parse(challenge.to_str().unwrap()).expect("challenge parses"),
                );
                continue;
            }
            return response;
        }
        panic!("still unauthorized after answering a challenge");
    }
}

pub fn path(fake: &FakeAtlas, tail: &str) -> String {
    format!("/api/atlas/v2/groups/{}{tail}", fake.data().group_id)
}
