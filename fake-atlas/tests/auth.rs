//! Authentication as Atlas enforces it: Digest for API keys, OAuth client credentials and
//! Bearer tokens for service accounts.

mod common;

use std::time::Duration;

use common::{ACCESS, DigestClient, fake_with, path};
use serde_json::Value;

#[tokio::test]
async fn digest_costs_one_round_trip_per_call_after_the_first() {
    let fake = fake_with(500, |_| {}).await;
    let mut client = DigestClient::demo(&fake.base_url());
    let uri = path(&fake, "/dbAccessHistory/clusters/Cluster0?nLogs=5");
    for _ in 0..10 {
        assert_eq!(client.get(&uri, ACCESS).await.status(), 200);
    }
    let stats = fake.stats();
    assert_eq!(
        stats.access_cluster, 11,
        "one challenge, then ten answered calls"
    );
    assert_eq!(stats.unauthorized, 1);
}

#[tokio::test]
async fn challenge_is_the_one_atlas_sends() {
    let fake = fake_with(100, |_| {}).await;
    let response = reqwest::get(format!(
        "{}{}",
        fake.base_url(),
        path(&fake, "/dbAccessHistory/clusters/Cluster0")
    ))
    .await
    .unwrap();
    assert_eq!(response.status(), 401);
    let challenge = response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        challenge.starts_with("Digest realm=\"MMS Public API\", domain=\"\", nonce=\""),
        "{challenge}"
    );
    assert!(
        challenge.ends_with("\", algorithm=MD5, qop=\"auth\", stale=false"),
        "{challenge}"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        (body["error"].as_u64(), body["errorCode"].as_str()),
        (Some(401), Some("UNAUTHORIZED"))
    );
}

#[tokio::test]
async fn wrong_key_is_refused_without_end() {
    let fake = fake_with(100, |_| {}).await;
    let uri = path(&fake, "/dbAccessHistory/clusters/Cluster0");
    let client = DigestClient::new(
        &fake.base_url(),
        fake_atlas::DEMO_PUBLIC_KEY,
        "wrong-private-key",
    );
    let http = client.http.clone();
    // Answer a fresh challenge with the wrong key: still 401, not stale.
    let first = http
        .get(format!("{}{uri}", fake.base_url()))
        .send()
        .await
        .unwrap();
    let mut prompt =
        digest_auth::parse(first.headers()["www-authenticate"].to_str().unwrap()).unwrap();
    let context = digest_auth::AuthContext::new_with_method(
        client.user.as_str(),
        client.password.as_str(),
        uri.as_str(),
        Option::<&[u8]>::None,
        digest_auth::HttpMethod::GET,
    );
    let answer = prompt.respond(&context).unwrap().to_header_string();
    let second = http
        .get(format!("{}{uri}", fake.base_url()))
        .header("Authorization", answer)
        .send()
        .await
        .unwrap();
    assert_eq!(second.status(), 401);
    assert!(
        second.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .ends_with("stale=false")
    );
}

#[tokio::test]
async fn replayed_nonce_count_and_foreign_uri_are_refused() {
    let fake = fake_with(100, |_| {}).await;
    let base = fake.base_url();
    let uri = path(&fake, "/dbAccessHistory/clusters/Cluster0?nLogs=1");
    let http = reqwest::Client::new();
    let first = http.get(format!("{base}{uri}")).send().await.unwrap();
    let mut prompt =
        digest_auth::parse(first.headers()["www-authenticate"].to_str().unwrap()).unwrap();
    let context = |u: &str| {
        digest_auth::AuthContext::new_with_method(
            fake_atlas::DEMO_PUBLIC_KEY,
            fake_atlas::DEMO_PRIVATE_KEY,
            u.to_string(),
            Option::<&[u8]>::None,
            digest_auth::HttpMethod::GET,
        )
    };
    let answer = prompt.respond(&context(&uri)).unwrap().to_header_string();
    let send = |a: String| {
        http.get(format!("{base}{uri}"))
            .header("Accept", ACCESS)
            .header("Authorization", a)
            .send()
    };
    assert_eq!(send(answer.clone()).await.unwrap().status(), 200);
    assert_eq!(
        send(answer).await.unwrap().status(),
        401,
        "the same nc again is a replay"
    );
    let other = prompt
        .respond(&context("/api/atlas/v2/somewhere/else"))
        .unwrap()
        .to_header_string();
    assert_eq!(
        send(other).await.unwrap().status(),
        401,
        "the digest uri must be the request's"
    );
}

#[tokio::test]
async fn expired_nonce_gets_a_stale_challenge() {
    let fake = fake_with(100, |c| c.nonce_lifetime = Duration::from_millis(300)).await;
    let mut client = DigestClient::demo(&fake.base_url());
    let uri = path(&fake, "/dbAccessHistory/clusters/Cluster0?nLogs=1");
    assert_eq!(client.get(&uri, ACCESS).await.status(), 200);
    tokio::time::sleep(Duration::from_millis(400)).await;

    // Answer with the expired nonce by hand to see the challenge.
    let base = fake.base_url();
    let http = reqwest::Client::new();
    let first = http.get(format!("{base}{uri}")).send().await.unwrap();
    let fresh = first.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_string();
    let mut prompt = digest_auth::parse(&fresh).unwrap();
    let context = digest_auth::AuthContext::new_with_method(
        fake_atlas::DEMO_PUBLIC_KEY,
        fake_atlas::DEMO_PRIVATE_KEY,
        uri.as_str(),
        Option::<&[u8]>::None,
        digest_auth::HttpMethod::GET,
    );
    let answer = prompt.respond(&context).unwrap().to_header_string();
    tokio::time::sleep(Duration::from_millis(400)).await;
    let late = http
        .get(format!("{base}{uri}"))
        .header("Accept", ACCESS)
        .header("Authorization", answer)
        .send()
        .await
        .unwrap();
    assert_eq!(late.status(), 401);
    let challenge = late.headers()["www-authenticate"].to_str().unwrap();
    assert!(
        challenge.ends_with("stale=true"),
        "a correct answer to an expired nonce is stale: {challenge}"
    );

    // A client that re-challenges carries on.
    assert_eq!(client.get(&uri, ACCESS).await.status(), 200);
}

async fn token(base: &str, id: &str, secret: &str, grant: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{base}/api/oauth/token"))
        .basic_auth(id, Some(secret))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!("grant_type={grant}"))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn service_account_tokens() {
    let fake = fake_with(100, |c| c.token_lifetime = Duration::from_secs(1)).await;
    let base = fake.base_url();
    let (id, secret) = (fake_atlas::DEMO_CLIENT_ID, fake_atlas::DEMO_CLIENT_SECRET);

    let refused = token(&base, id, "mdb_sa_sk_wrong", "client_credentials").await;
    assert_eq!(refused.status(), 401);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client");
    assert!(body["error_description"].is_string());

    let bad_grant = token(&base, id, secret, "password").await;
    assert_eq!(bad_grant.status(), 400);
    assert_eq!(
        bad_grant.json::<Value>().await.unwrap()["error"],
        "unsupported_grant_type"
    );

    let issued: Value = token(&base, id, secret, "client_credentials")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (issued["token_type"].as_str(), issued["expires_in"].as_u64()),
        (Some("Bearer"), Some(1))
    );
    let access = issued["access_token"].as_str().unwrap().to_string();

    let uri = format!(
        "{base}{}",
        path(&fake, "/dbAccessHistory/clusters/Cluster0?nLogs=1")
    );
    let call = |t: String| {
        reqwest::Client::new()
            .get(&uri)
            .header("Accept", ACCESS)
            .bearer_auth(t)
            .send()
    };
    let ok = call(access.clone()).await.unwrap();
    assert_eq!(ok.status(), 200);
    assert!(ok.headers().get("www-authenticate").is_none());
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(call(access).await.unwrap().status(), 401, "tokens expire");

    let second: Value = token(&base, id, secret, "client_credentials")
        .await
        .json()
        .await
        .unwrap();
    let access = second["access_token"].as_str().unwrap().to_string();
    assert_eq!(call(access.clone()).await.unwrap().status(), 200);
    let revoked = reqwest::Client::new()
        .post(format!("{base}/api/oauth/revoke"))
        .basic_auth(id, Some(secret))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!("token={access}&token_type_hint=access_token"))
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    assert_eq!(
        call(access).await.unwrap().status(),
        401,
        "revoked tokens are refused"
    );
    let stats = fake.stats();
    assert_eq!((stats.token_requests, stats.revocations), (4, 1));
}
