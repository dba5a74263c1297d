use std::time::Duration;

use secrecy::SecretString;
use teamline_pbx::{NetSapiensAuth, Pbx, PbxError};
use teamline_sim::netsapiens::{
    CONTOSO_DOMAIN, DEMO_OAUTH_CLIENT_ID, DEMO_OAUTH_CLIENT_SECRET, DEMO_OAUTH_USERNAME,
};

use crate::support::{client_with, contoso, demo_oauth, settings};

#[tokio::test]
async fn the_password_grant_gives_access_and_the_token_is_reused() {
    let sim = contoso().await;
    let pbx = client_with(settings(&sim.base_url, CONTOSO_DOMAIN, demo_oauth()));
    assert_eq!(pbx.list_extensions().await.unwrap().len(), 20);
    assert_eq!(pbx.list_devices("1000").await.unwrap().len(), 2);
    let stats = sim.sim().stats();
    assert_eq!(
        (
            stats.password_grants,
            stats.refresh_grants,
            stats.unauthorized
        ),
        (1, 0, 0)
    );
}

#[tokio::test]
async fn an_expired_token_is_refreshed_and_the_call_retried_once() {
    let sim = contoso().await;
    let pbx = client_with(settings(&sim.base_url, CONTOSO_DOMAIN, demo_oauth()));
    pbx.list_devices("1000").await.unwrap();
    sim.sim().expire_tokens();

    let devices = pbx.list_devices("1001").await.unwrap();
    assert_eq!(devices.len(), 2);
    let stats = sim.sim().stats();
    assert_eq!(stats.password_grants, 1);
    assert_eq!(stats.refresh_grants, 1, "refreshed with the refresh token");
    assert_eq!(
        stats.unauthorized, 1,
        "one 401 for the expired token, then success"
    );
}

#[tokio::test]
async fn revoked_tokens_lead_to_a_new_sign_in() {
    let sim = contoso().await;
    let pbx = client_with(settings(&sim.base_url, CONTOSO_DOMAIN, demo_oauth()));
    pbx.list_devices("1000").await.unwrap();
    sim.sim().revoke_tokens();

    pbx.list_devices("1000").await.unwrap();
    let stats = sim.sim().stats();
    assert_eq!(
        stats.password_grants, 2,
        "signed in again after the refresh token was refused"
    );
}

#[tokio::test]
async fn short_lived_tokens_are_refreshed_before_they_expire() {
    let sim = contoso().await;
    sim.sim().set_token_lifetime(Duration::from_secs(10));
    let pbx = client_with(settings(&sim.base_url, CONTOSO_DOMAIN, demo_oauth()));
    for ext in ["1000", "1001", "1002"] {
        pbx.list_devices(ext).await.unwrap();
    }
    let stats = sim.sim().stats();
    assert_eq!(stats.password_grants, 1);
    assert_eq!(
        stats.refresh_grants, 2,
        "each call found the token close to expiry and refreshed it first"
    );
    assert_eq!(
        stats.unauthorized, 0,
        "no request went out with a lapsing token"
    );
}

#[tokio::test]
async fn concurrent_calls_share_one_sign_in() {
    let sim = contoso().await;
    let pbx = client_with(settings(&sim.base_url, CONTOSO_DOMAIN, demo_oauth()));
    let calls = ["1000", "1001", "1002", "1003", "1004", "1005"].map(|ext| {
        let pbx = pbx.clone();
        tokio::spawn(async move { pbx.list_devices(ext).await.map(|d| d.len()) })
    });
    for call in calls {
        assert!(call.await.unwrap().unwrap() >= 1);
    }
    assert_eq!(sim.sim().stats().password_grants, 1);
}

#[tokio::test]
async fn bad_oauth_credentials_are_reported_without_secrets() {
    let sim = contoso().await;
    let bad_secret = NetSapiensAuth::OAuth {
        client_id: DEMO_OAUTH_CLIENT_ID.into(),
        client_secret: SecretString::from("not-the-secret-xyz"),
        username: DEMO_OAUTH_USERNAME.into(),
        password: SecretString::from("irrelevant-pass-123"),
    };
    let pbx = client_with(settings(&sim.base_url, CONTOSO_DOMAIN, bad_secret));
    let err = pbx.list_extensions().await.unwrap_err();
    assert!(
        matches!(err, PbxError::InvalidOAuthCredentials { .. }),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.starts_with(&format!(
            "the NetSapiens token endpoint {}/ns-api/v2/tokens rejected the OAuth credentials",
            sim.base_url
        )),
        "{msg}"
    );
    assert!(!format!("{msg} {err:?}").contains("not-the-secret-xyz"));

    let bad_password = NetSapiensAuth::OAuth {
        client_id: DEMO_OAUTH_CLIENT_ID.into(),
        client_secret: SecretString::from(DEMO_OAUTH_CLIENT_SECRET),
        username: DEMO_OAUTH_USERNAME.into(),
        password: SecretString::from("wrong-password-456"),
    };
    let pbx = client_with(settings(&sim.base_url, CONTOSO_DOMAIN, bad_password));
    let err = pbx.list_devices("1000").await.unwrap_err();
    assert!(
        err.to_string().contains("Invalid username or password"),
        "{err}"
    );
    assert!(!format!("{err} {err:?}").contains("wrong-password-456"));
}
