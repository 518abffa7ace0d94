//! Credential discovery end to end: the Atlas CLI's profile file, then the environment,
//! then explicit settings, each overriding the one before. One test in its own binary,
//! because it changes the process environment.

use atlas_client::{BuildError, Client};
use fake_atlas::{Config, DataConfig, FakeAtlas};

#[tokio::test]
async fn explicit_then_environment_then_cli_profile() {
    let atlas = FakeAtlas::start(Config {
        data: DataConfig {
            entries: 100,
            ..DataConfig::default()
        },
        ..Config::default()
    })
    .await
    .unwrap();
    let home = std::env::temp_dir().join(format!("atlas-discovery-{}", std::process::id()));
    std::fs::create_dir_all(home.join("atlascli")).unwrap();
    std::fs::write(
        home.join("atlascli/config.toml"),
        format!(
            "[default]\n  public_api_key = \"nobody\"\n  private_api_key = \"nothing\"\n\n\
             [fake]\n  client_id = \"{}\"\n  client_secret = \"{}\"\n  ops_manager_url = \"{}\"\n  org_id = \"5f0000000000000000000000\"\n",
            fake_atlas::DEMO_CLIENT_ID,
            fake_atlas::DEMO_CLIENT_SECRET,
            atlas.base_url()
        ),
    )
    .unwrap();
    // SAFETY: this test binary runs this one test, so nothing reads the environment
    // concurrently.
    unsafe {
        std::env::set_var("XDG_CONFIG_HOME", &home);
        for name in [
            atlas_client::auth::ENV_CLIENT_ID,
            atlas_client::auth::ENV_CLIENT_SECRET,
            atlas_client::auth::ENV_PUBLIC_API_KEY,
            atlas_client::auth::ENV_PRIVATE_API_KEY,
            atlas_client::auth::ENV_BASE_URL,
        ] {
            std::env::remove_var(name);
        }
    }
    let group = atlas.data().group_id.clone();
    let call = |client: Client| {
        let group = group.clone();
        async move {
            client
                .get_access_history_cluster()
                .group_id(&group)
                .cluster_name("Cluster0")
                .n_logs(1)
                .send()
                .await
                .map(drop)
        }
    };

    // The named profile gives the base URL and a service account.
    call(
        Client::builder()
            .discover()
            .profile("fake")
            .build()
            .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(atlas.stats().token_requests, 1);

    // A missing profile is an error naming it.
    let missing = Client::builder()
        .discover()
        .profile("nope")
        .build()
        .unwrap_err();
    assert!(
        matches!(missing, BuildError::UnknownProfile { ref name } if name == "nope"),
        "{missing}"
    );

    // The environment overrides the profile: its API key now authenticates (Digest).
    unsafe {
        std::env::set_var(
            atlas_client::auth::ENV_PUBLIC_API_KEY,
            fake_atlas::DEMO_PUBLIC_KEY,
        );
        std::env::set_var(
            atlas_client::auth::ENV_PRIVATE_API_KEY,
            fake_atlas::DEMO_PRIVATE_KEY,
        );
    }
    call(
        Client::builder()
            .discover()
            .profile("fake")
            .build()
            .unwrap(),
    )
    .await
    .unwrap();
    let stats = atlas.stats();
    assert_eq!(
        (stats.token_requests, stats.unauthorized),
        (1, 1),
        "a Digest challenge, no new token"
    );

    // Explicit credentials override both: a wrong explicit key fails even though the
    // environment's would work.
    let explicit = Client::builder()
        .discover()
        .profile("fake")
        .api_key(fake_atlas::DEMO_PUBLIC_KEY, "wrong")
        .build()
        .unwrap();
    assert!(call(explicit).await.is_err());

    // And the environment's base URL overrides the profile's.
    unsafe {
        std::env::set_var(
            atlas_client::auth::ENV_BASE_URL,
            "https://cloud.mongodbgov.com",
        )
    }
    let gov = Client::builder()
        .discover()
        .profile("fake")
        .build()
        .unwrap();
    assert_eq!(
        atlas_client::ClientInfo::baseurl(&gov),
        "https://cloud.mongodbgov.com"
    );

    // A profile without credentials and no variables: discovery finding nothing is an
    // error that says where it looked, unless an anonymous client is asked for.
    unsafe {
        for name in [
            atlas_client::auth::ENV_PUBLIC_API_KEY,
            atlas_client::auth::ENV_PRIVATE_API_KEY,
            atlas_client::auth::ENV_BASE_URL,
        ] {
            std::env::remove_var(name);
        }
    }
    std::fs::write(
        home.join("atlascli/config.toml"),
        "[empty]\n  org_id = \"x\"\n",
    )
    .unwrap();
    let nothing = Client::builder()
        .discover()
        .profile("empty")
        .build()
        .unwrap_err();
    let message = nothing.to_string();
    assert!(
        matches!(nothing, BuildError::NoCredentials { .. }),
        "{message}"
    );
    for place in [
        "MONGODB_ATLAS_CLIENT_ID",
        "MONGODB_ATLAS_CLIENT_SECRET",
        "MONGODB_ATLAS_PUBLIC_API_KEY",
        "MONGODB_ATLAS_PRIVATE_API_KEY",
        "\"empty\"",
        "atlascli/config.toml",
    ] {
        assert!(message.contains(place), "{place} missing from: {message}");
    }
    let anonymous: Client = Client::builder()
        .base_url(atlas.base_url())
        .discover()
        .profile("empty")
        .allow_anonymous(true)
        .build()
        .unwrap();
    let err = call(anonymous).await.unwrap_err();
    assert!(
        atlas_client::AtlasError::from(err).is_unauthorized(),
        "an anonymous call is refused by Atlas, not by the builder"
    );

    std::fs::remove_dir_all(&home).unwrap();
}
