//! Where the CLI talks to: the client (credentials and base URL found the way the Atlas
//! CLI finds them, or the in-process demo), and the project to work on.

use atlas_client::auth::{Discovered, ENV_ORG_ID, ENV_PROJECT_ID, atlas_cli_config_path};
use atlas_client::{BuildError, Client, one_line};

use crate::Failure;
use crate::args::{Global, ProjectArgs};
use crate::validate;

/// The client, and the demo server it talks to when there is one.
pub struct Session {
    pub client: Client,
    /// The demo's project, with `--demo`.
    pub demo_group: Option<String>,
    _demo: Option<DemoServer>,
}

/// The in-process fake Atlas of `--demo`, kept running while the session lasts.
#[cfg(feature = "demo")]
type DemoServer = fake_atlas::FakeAtlas;
/// No demo in this build: a session never holds one.
#[cfg(not(feature = "demo"))]
type DemoServer = std::convert::Infallible;

/// The project as given or configured, before connecting; `None` with `--demo` and
/// nothing given (the demo's project is used).
pub fn project(args: &ProjectArgs, global: &Global) -> Result<Option<String>, Failure> {
    if let Some(given) = &args.group_id {
        return validate::project_id("--group-id (--project-id)", given)
            .map(Some)
            .map_err(Failure::usage);
    }
    if global.demo {
        return Ok(None);
    }
    if let Some(env) = std::env::var(ENV_PROJECT_ID)
        .ok()
        .filter(|v| !v.trim().is_empty())
    {
        return validate::project_id(ENV_PROJECT_ID, env.trim())
            .map(Some)
            .map_err(Failure::usage);
    }
    let name = global.profile.as_deref().unwrap_or("default");
    let path = atlas_cli_config_path();
    let profile = match &path {
        Some(path) => Discovered::from_profile_file(path, name)
            .map_err(|e| Failure::usage(format!("--profile: {}", one_line(&e))))?,
        None => None,
    };
    let file = path
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "the Atlas CLI configuration".into());
    match profile.and_then(|p| p.project_id) {
        Some(id) => validate::project_id(&format!("project_id of profile {name:?} in {file}"), &id)
            .map(Some)
            .map_err(Failure::usage),
        None => {
            let empty = if std::env::var_os(ENV_PROJECT_ID).is_some() {
                " (it is set, but empty)"
            } else {
                ""
            };
            Err(Failure::usage(format!(
                "no project: give --group-id (or --project-id), set {ENV_PROJECT_ID}{empty}, or set project_id in profile {name:?} of {file}"
            )))
        }
    }
}

/// The projects of an organisation-wide export: `--org-id`'s organisation; with
/// `--all-projects`, `MONGODB_ATLAS_ORG_ID`'s, or else every project the credentials see.
/// `None` when neither flag is given.
pub fn projects(
    all_projects: bool,
    org_id: Option<&str>,
) -> Result<Option<atlas_log_export::Projects>, Failure> {
    use atlas_log_export::Projects;
    if let Some(given) = org_id {
        return validate::org_id("--org-id", given)
            .map(|id| Some(Projects::Organisation(id)))
            .map_err(Failure::usage);
    }
    if !all_projects {
        return Ok(None);
    }
    match std::env::var(ENV_ORG_ID)
        .ok()
        .filter(|v| !v.trim().is_empty())
    {
        Some(env) => validate::org_id(ENV_ORG_ID, env.trim())
            .map(|id| Some(Projects::Organisation(id)))
            .map_err(Failure::usage),
        None => Ok(Some(Projects::All)),
    }
}

/// Connects: the demo when asked, else credentials and base URL from the flags, the
/// environment and the Atlas CLI profile. Sends nothing.
pub async fn connect(global: &Global, now: i64) -> Result<Session, Failure> {
    if global.demo {
        return demo(global.quiet, now).await;
    }
    let mut builder = Client::builder().discover();
    if let Some(url) = &global.base_url {
        builder = builder.base_url(url);
    }
    if let Some(profile) = &global.profile {
        builder = builder.profile(profile);
    }
    let client = builder.build().map_err(|e| match e {
        BuildError::NoCredentials { .. } => Failure {
            code: crate::exit::AUTH,
            message: format!("{e}; or try --demo"),
        },
        e @ BuildError::BaseUrl { .. } => Failure::usage(format!("--base-url: {e}")),
        BuildError::InsecureUrl { url } => Failure::usage(format!(
            "--base-url: refusing to send credentials over plain HTTP to {url}; use https (plain http only reaches loopback)"
        )),
        e @ (BuildError::Profile(_) | BuildError::UnknownProfile { .. }) => {
            Failure::usage(format!("--profile: {}", one_line(&e)))
        }
        e => Failure::usage(one_line(&e)),
    })?;
    Ok(Session {
        client,
        demo_group: None,
        _demo: None,
    })
}

/// Without the `demo` feature, `--demo` is refused, saying how to get it.
#[cfg(not(feature = "demo"))]
async fn demo(_quiet: bool, _now: i64) -> Result<Session, Failure> {
    Err(Failure::usage(
        "--demo: this atlas-logs was built without its demo; build it with `--features demo`"
            .to_string(),
    ))
}

/// A fake Atlas on loopback with the demo's data (ending at `now`, with one cluster well
/// past the 20,000-entry cap) and credentials.
#[cfg(feature = "demo")]
async fn demo(quiet: bool, now: i64) -> Result<Session, Failure> {
    let config = fake_atlas::Config {
        data: fake_atlas::DataConfig::demo(now),
        ..fake_atlas::Config::default()
    };
    let atlas = fake_atlas::FakeAtlas::start(config)
        .await
        .map_err(|e| Failure {
            code: crate::exit::FAILURE,
            message: format!("cannot start the demo: {e}"),
        })?;
    let data = atlas.data();
    let group = data.group_id.clone();
    if !quiet {
        let clusters: Vec<String> = data
            .cluster_names()
            .into_iter()
            .map(|name| {
                format!(
                    "{name} ({} entries)",
                    atlas_log_export::thousands(data.entries_of(name) as u64)
                )
            })
            .collect();
        eprintln!(
            "demo: fake Atlas at {} with project {group}; clusters {}; workspaces {}",
            atlas.base_url(),
            clusters.join(", "),
            data.tenant_names().join(", ")
        );
    }
    let client = Client::builder()
        .base_url(atlas.base_url())
        .service_account(fake_atlas::DEMO_CLIENT_ID, fake_atlas::DEMO_CLIENT_SECRET)
        .build()
        .map_err(|e| Failure::usage(e.to_string()))?;
    Ok(Session {
        client,
        demo_group: Some(group),
        _demo: Some(atlas),
    })
}

impl Session {
    /// The project: the one given or configured, else the demo's.
    pub fn group(&self, given: Option<String>) -> String {
        given
            .or_else(|| self.demo_group.clone())
            .expect("a project is given, configured, or the demo's")
    }
}
