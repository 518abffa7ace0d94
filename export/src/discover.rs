//! What there is to export: the projects the credentials see (Atlas's `listGroups`) or
//! those of one organisation (`getOrgGroups`), and the clusters of each (`listClusters`),
//! every page walked exactly once.
//!
//! ```no_run
//! use atlas_log_export::{AccessLogExport, Projects, Target, list_clusters, list_projects};
//! use futures::TryStreamExt;
//!
//! # async fn run(client: atlas_client::Client) -> Result<(), Box<dyn std::error::Error>> {
//! let now = chrono::Utc::now().timestamp_millis();
//! let mut exports = Vec::new();
//! for project in list_projects(&client, &Projects::Organisation("4888442a3354817a7320eb61".into())).await? {
//!     // One project's clusters, exported side by side with every other project's: each
//!     // project has rate limits of its own.
//!     for cluster in list_clusters(&client, &project.id).await? {
//!         let export = AccessLogExport::builder(&client, &project.id, Target::Cluster(cluster))
//!             .start(now - 86_400_000)
//!             .end(now)
//!             .build()?;
//!         exports.push(tokio::spawn(export.into_stream().try_collect::<Vec<_>>()));
//!     }
//! }
//! for export in exports {
//!     println!("{} entries", export.await??.len());
//! }
//! # Ok(()) }
//! ```

use atlas_client::{AtlasError, Client};

/// Which projects to look for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Projects {
    /// Every project the credentials see, in every organisation (`listGroups`).
    All,
    /// The projects of one organisation, by its id (`getOrgGroups`).
    Organisation(String),
}

/// A project, as listed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Project {
    /// Its id, 24 hexadecimal digits (Atlas's `groupId`).
    pub id: String,
    /// Its name.
    pub name: String,
    /// The organisation it belongs to.
    pub org_id: String,
}

/// The most items a listing page holds (Atlas's cap for `itemsPerPage`).
const LISTING_PAGE: u32 = 500;

/// Every project of `projects`, in the order Atlas lists them, each once.
///
/// # Errors
///
/// A page could not be had, the pages do not add up to the list exactly, or a project
/// came without an id.
pub async fn list_projects(
    client: &Client,
    projects: &Projects,
) -> Result<Vec<Project>, AtlasError> {
    let listed = match projects {
        Projects::All => {
            client
                .list_groups()
                .items_per_page(LISTING_PAGE)
                .all()
                .await?
        }
        Projects::Organisation(org) => {
            client
                .get_org_groups()
                .org_id(org)
                .items_per_page(LISTING_PAGE)
                .all()
                .await?
        }
    };
    listed
        .into_iter()
        .map(|project| {
            let id = project.id.ok_or_else(|| {
                AtlasError::decode(format!(
                    "Atlas listed project {:?} without an id",
                    project.name
                ))
            })?;
            Ok(Project {
                id: id.to_string(),
                name: project.name.to_string(),
                org_id: project.org_id.to_string(),
            })
        })
        .collect()
}

/// The names of every stream processing workspace of a project, in the order Atlas lists
/// them, each once.
///
/// # Errors
///
/// A page could not be had, the pages do not add up to the list exactly, or a workspace
/// came without a name.
pub async fn list_workspaces(client: &Client, group_id: &str) -> Result<Vec<String>, AtlasError> {
    let workspaces = client
        .list_stream_workspaces()
        .group_id(group_id)
        .items_per_page(LISTING_PAGE)
        .all()
        .await?;
    workspaces
        .into_iter()
        .map(|workspace| {
            workspace.name.ok_or_else(|| {
                AtlasError::decode("listStreamWorkspaces returned a workspace without a name")
            })
        })
        .collect()
}

/// The names of every cluster of a project, in the order Atlas lists them, each once.
///
/// # Errors
///
/// A page could not be had, the pages do not add up to the list exactly, or a cluster
/// came without a name.
pub async fn list_clusters(client: &Client, group_id: &str) -> Result<Vec<String>, AtlasError> {
    let clusters = client
        .list_clusters()
        .group_id(group_id)
        .items_per_page(LISTING_PAGE)
        .all()
        .await?;
    clusters
        .into_iter()
        .map(|cluster| {
            cluster
                .name
                .ok_or_else(|| AtlasError::decode("listClusters returned a cluster without a name"))
        })
        .collect()
}
