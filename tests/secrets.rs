//! Secrets never appear in `Debug`, `Display`, errors or logs. Alone in its binary, so
//! that the `tracing` subscriber it installs sees every event.

use std::sync::{Arc, Mutex};

use atlas_client::Client;
use atlas_client_tests::fake;

/// Collects everything `tracing` prints, at every level.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn secrets_stay_out_of_debug_errors_and_logs() {
    let private_key = "private-5ecret-key-0451";
    let client_secret = "mdb_sa_sk_client-5ecret-0451";
    let atlas = fake(|c| {
        c.api_keys = vec![("pubkey01".into(), private_key.into())];
        c.service_accounts = vec![("mdb_sa_id_0451".into(), client_secret.into())];
    })
    .await;
    let captured = Captured::default();
    let sink = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || sink.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let mut printed = Vec::new();
    let builder = Client::builder()
        .base_url(atlas.base_url())
        .api_key("pubkey01", private_key);
    printed.push(format!("{builder:?}"));
    let digest = builder.build().unwrap();
    let service = Client::builder()
        .base_url(atlas.base_url())
        .service_account("mdb_sa_id_0451", client_secret)
        .build()
        .unwrap();
    let group = atlas.data().group_id.clone();
    digest
        .get_access_history_cluster()
        .group_id(&group)
        .cluster_name("Cluster0")
        .send()
        .await
        .unwrap();
    service
        .get_access_history_cluster()
        .group_id(&group)
        .cluster_name("Cluster0")
        .send()
        .await
        .unwrap();
    printed.push(format!("{digest:?} {service:?}"));
    // The exports hold a client: their Debug says what they export, never the secret.
    let target = atlas_log_export::Target::Cluster("Cluster0".into());
    let access = atlas_log_export::AccessLogExport::builder(&service, group.clone(), target)
        .start(atlas.data().config.now_ms - 3_600_000)
        .end(atlas.data().config.now_ms);
    printed.push(format!("{access:?} {:?}", access.clone().build().unwrap()));
    let audit = atlas_log_export::AuditLogExport::builder(&digest, &group, "workspace0")
        .start_s(atlas.data().config.now_ms / 1000 - 3_600)
        .end_s(atlas.data().config.now_ms / 1000);
    let built = format!("{:?}", audit.clone().build().unwrap());
    assert!(
        built.contains("workspace0") && built.contains("remembered: 0"),
        "{built}"
    );
    printed.push(format!("{audit:?} {built}"));
    let wrong = Client::builder()
        .base_url(atlas.base_url())
        .service_account("mdb_sa_id_0451", "mdb_sa_sk_wrong-5ecret")
        .build()
        .unwrap();
    let err = wrong
        .get_access_history_cluster()
        .group_id(&group)
        .cluster_name("Cluster0")
        .send()
        .await
        .unwrap_err();
    printed.push(format!("{err} {err:?}"));
    let auth_err = wrong.authenticate().await.unwrap_err();
    printed.push(format!("{auth_err} {auth_err:?}"));
    let bad_digest = Client::builder()
        .base_url(atlas.base_url())
        .api_key("pubkey01", "wrong-5ecret")
        .build()
        .unwrap();
    let err = bad_digest
        .get_access_history_cluster()
        .group_id(&group)
        .cluster_name("Cluster0")
        .send()
        .await
        .unwrap_err();
    printed.push(format!("{err} {err:?}"));

    printed.push(String::from_utf8_lossy(&captured.0.lock().unwrap()).into_owned());
    let everything = printed.join("\n");
    assert!(
        everything.contains("service-account token"),
        "tracing was captured"
    );
    for secret in [private_key, client_secret, "5ecret"] {
        assert!(
            !everything.contains(secret),
            "{secret:?} leaked into:\n{everything}"
        );
    }
}
