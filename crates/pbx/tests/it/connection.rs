use secrecy::SecretString;
use teamline_pbx::{CheckStatus, NetSapiensAuth, Pbx};
use teamline_sim::netsapiens::{
    CONTOSO_DOMAIN, DEMO_API_KEY, DEMO_OAUTH_CLIENT_ID, DEMO_OAUTH_USERNAME,
};

use crate::support::{
    api_key, client, client_with, closed_port_url, contoso, demo_oauth, settings,
};

#[tokio::test]
async fn good_settings_pass_every_check() {
    let sim = contoso().await;
    let report = client(&sim).test_connection().await;
    assert!(report.ok(), "{report:#?}");
    assert!(
        report.reachable.message.contains("API version"),
        "{report:#?}"
    );
    assert!(
        report.authenticated.message.contains("scope Reseller"),
        "{report:#?}"
    );
    assert_eq!(
        report.domain_exists.message,
        "domain contoso exists (Contoso)"
    );
    assert_eq!(
        report.can_list_users.message,
        "Teamline can list the extensions of domain contoso (20 found)"
    );

    let oauth = client_with(settings(&sim.base_url, CONTOSO_DOMAIN, demo_oauth()))
        .test_connection()
        .await;
    assert!(oauth.ok(), "{oauth:#?}");
    assert!(
        oauth.authenticated.message.contains(DEMO_OAUTH_USERNAME),
        "{oauth:#?}"
    );
}

#[tokio::test]
async fn an_unreachable_host_fails_the_first_check() {
    let url = closed_port_url().await;
    let report = client_with(settings(&url, CONTOSO_DOMAIN, api_key(DEMO_API_KEY)))
        .test_connection()
        .await;
    assert_eq!(report.reachable.status, CheckStatus::Failed);
    assert!(
        report
            .reachable
            .message
            .starts_with(&format!("could not reach the PBX API at {url}/ns-api/v2")),
        "{report:#?}"
    );
    assert_eq!(report.authenticated.status, CheckStatus::Skipped);
    assert_eq!(
        report.first_failure(),
        Some(report.reachable.message.as_str())
    );
}

#[tokio::test]
async fn a_wrong_key_fails_the_credentials_check() {
    let sim = contoso().await;
    let report = client_with(settings(
        &sim.base_url,
        CONTOSO_DOMAIN,
        api_key("nsr_this_is_wrong"),
    ))
    .test_connection()
    .await;
    assert!(report.reachable.is_passed());
    assert_eq!(report.authenticated.status, CheckStatus::Failed);
    assert_eq!(
        report.authenticated.message,
        format!(
            "the NetSapiens API rejected the API key for {}/ns-api/v2: check the key in PBX settings",
            sim.base_url
        )
    );
    assert_eq!(report.domain_exists.status, CheckStatus::Skipped);
    assert!(!format!("{report:?}").contains("nsr_this_is_wrong"));
}

#[tokio::test]
async fn bad_oauth_credentials_fail_the_credentials_check() {
    let sim = contoso().await;
    let auth = NetSapiensAuth::OAuth {
        client_id: DEMO_OAUTH_CLIENT_ID.into(),
        client_secret: SecretString::from("wrong"),
        username: DEMO_OAUTH_USERNAME.into(),
        password: SecretString::from("wrong"),
    };
    let report = client_with(settings(&sim.base_url, CONTOSO_DOMAIN, auth))
        .test_connection()
        .await;
    assert_eq!(report.authenticated.status, CheckStatus::Failed);
    assert!(
        report
            .authenticated
            .message
            .contains("rejected the OAuth credentials"),
        "{report:#?}"
    );
}

#[tokio::test]
async fn an_unknown_domain_fails_the_domain_check() {
    let sim = contoso().await;
    let report = client_with(settings(&sim.base_url, "fabrikam", api_key(DEMO_API_KEY)))
        .test_connection()
        .await;
    assert!(
        report.reachable.is_passed() && report.authenticated.is_passed(),
        "{report:#?}"
    );
    assert_eq!(report.domain_exists.status, CheckStatus::Failed);
    assert_eq!(
        report.domain_exists.message,
        format!(
            "domain fabrikam does not exist on the NetSapiens PBX at {}/ns-api/v2: check the SIP domain in PBX settings",
            sim.base_url
        )
    );
    assert_eq!(report.can_list_users.status, CheckStatus::Skipped);
}

#[tokio::test]
async fn a_key_for_another_domain_fails_the_domain_check_with_a_hint() {
    let sim = contoso().await;
    sim.sim().add_api_key(
        "nsd_fabrikam_only",
        teamline_sim::netsapiens::Access::Domain("fabrikam".into()),
        false,
    );
    let report = client_with(settings(
        &sim.base_url,
        CONTOSO_DOMAIN,
        api_key("nsd_fabrikam_only"),
    ))
    .test_connection()
    .await;
    assert_eq!(report.domain_exists.status, CheckStatus::Failed);
    assert!(
        report.domain_exists.message.contains("may not access it"),
        "{report:#?}"
    );
}
