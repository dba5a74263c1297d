use std::time::Duration;

use teamline_pbx::{NetSapiensClient, Pbx, PbxError, RetryPolicy, Timeouts};
use teamline_sim::netsapiens::{Access, CONTOSO_DOMAIN, CONTOSO_HQ_ADDRESS_ID, DEMO_API_KEY};

use crate::support::{api_key, client, client_with, closed_port_url, contoso, settings};

#[tokio::test]
async fn a_wrong_api_key_is_reported_without_showing_it() {
    let sim = contoso().await;
    let pbx = client_with(settings(
        &sim.base_url,
        CONTOSO_DOMAIN,
        api_key("nsr_wrong_key_0000"),
    ));
    let err = pbx.list_extensions().await.unwrap_err();
    assert!(matches!(err, PbxError::InvalidApiKey { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!(
            "the NetSapiens API rejected the API key for {}/ns-api/v2: check the key in PBX settings",
            sim.base_url
        )
    );
    assert!(!format!("{err} {err:?} {pbx:?}").contains("nsr_wrong_key_0000"));
}

#[tokio::test]
async fn an_unknown_domain_is_named() {
    let sim = contoso().await;
    let pbx = client_with(settings(&sim.base_url, "fabrikam", api_key(DEMO_API_KEY)));
    let err = pbx.list_extensions().await.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "domain fabrikam does not exist on the NetSapiens PBX at {}/ns-api/v2: check the SIP domain in PBX settings",
            sim.base_url
        )
    );
    let err = pbx.list_devices("1000").await.unwrap_err();
    assert!(matches!(err, PbxError::DomainNotFound { .. }), "{err:?}");
}

#[tokio::test]
async fn server_errors_are_retried_until_success() {
    let sim = contoso().await;
    let pbx = client(&sim);
    let before = sim.sim().stats().requests;
    sim.sim().fail_next(2, 503);
    let devices = pbx.list_devices("1000").await.unwrap();
    assert_eq!(devices.len(), 2);
    assert_eq!(
        sim.sim().stats().requests - before,
        3,
        "two failures and one success"
    );

    // A create is resent after a 503 (the request was not processed) and succeeds once.
    sim.sim().fail_next(1, 503);
    let created = pbx
        .create_device(
            "1006",
            teamline_pbx::NewDevice {
                auth_id: "1006tm".into(),
                sip_password: None,
                emergency_address_id: Some(CONTOSO_HQ_ADDRESS_ID.into()),
            },
        )
        .await
        .unwrap();
    assert_eq!(created.auth_id, "1006tm");
    assert_eq!(sim.sim().stats().devices_created, 1);
}

#[tokio::test]
async fn a_pbx_that_keeps_failing_gives_a_clear_error() {
    let sim = contoso().await;
    let pbx = client(&sim);
    sim.sim().fail_next(10, 500);
    let err = pbx.list_devices("1000").await.unwrap_err();
    assert!(
        matches!(err, PbxError::ServerError { status: 500, .. }),
        "{err:?}"
    );
    assert!(err.is_transient());
    let msg = err.to_string();
    assert!(
        msg.contains("HTTP 500")
            && msg.contains("list the devices of extension 1000 in domain contoso"),
        "{msg}"
    );
    assert!(
        !msg.contains("Service temporarily unavailable"),
        "no raw body: {msg}"
    );

    // A create answered 500 is not resent: the PBX may have processed it.
    sim.sim().clear_faults();
    sim.sim().fail_next(1, 500);
    let before = sim.sim().stats().requests;
    let device = teamline_pbx::NewDevice {
        auth_id: "1007tm".into(),
        sip_password: None,
        emergency_address_id: Some(CONTOSO_HQ_ADDRESS_ID.into()),
    };
    let err = pbx.create_device("1007", device).await.unwrap_err();
    assert!(
        matches!(err, PbxError::ServerError { status: 500, .. }),
        "{err:?}"
    );
    assert_eq!(sim.sim().stats().requests - before, 1);
}

#[tokio::test]
async fn rate_limits_are_waited_out_with_retry_after() {
    let sim = contoso().await;
    let pbx = client(&sim);
    let before = sim.sim().stats().requests;
    sim.sim().rate_limit_next(1, 1);
    let extensions = pbx.list_extensions().await.unwrap();
    assert_eq!(extensions.len(), 20);
    assert!(
        sim.sim().stats().requests - before >= 2,
        "the throttled request was sent again"
    );
}

#[tokio::test]
async fn a_long_retry_after_fails_at_once_with_when_to_try_again() {
    let sim = contoso().await;
    let pbx = client(&sim);
    sim.sim().rate_limit_next(5, 120);
    let err = pbx.list_devices("1000").await.unwrap_err();
    assert!(matches!(err, PbxError::RateLimited { .. }), "{err:?}");
    assert!(err.to_string().ends_with("try again in 120 s"), "{err}");
}

#[tokio::test]
async fn an_unreachable_host_is_reported() {
    let url = closed_port_url().await;
    let mut s = settings(&url, CONTOSO_DOMAIN, api_key(DEMO_API_KEY));
    s.retry = RetryPolicy {
        max_retries: 1,
        ..s.retry
    };
    let pbx = client_with(s);
    let err = pbx.list_extensions().await.unwrap_err();
    assert!(matches!(err, PbxError::Unreachable { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.starts_with(&format!("could not reach the PBX API at {url}/ns-api/v2: ")),
        "{msg}"
    );
    assert!(
        msg.contains("check the API Base URL in PBX settings"),
        "{msg}"
    );
}

#[tokio::test]
async fn a_slow_pbx_times_out() {
    let sim = contoso().await;
    let mut s = settings(&sim.base_url, CONTOSO_DOMAIN, api_key(DEMO_API_KEY));
    s.timeouts = Timeouts {
        connect: Duration::from_secs(10),
        request: Duration::from_millis(300),
    };
    s.retry = RetryPolicy {
        max_retries: 1,
        ..s.retry
    };
    let pbx = client_with(s);
    sim.sim().set_latency(Some(Duration::from_secs(5)));
    let err = pbx.list_devices("1000").await.unwrap_err();
    assert!(matches!(err, PbxError::Timeout { .. }), "{err:?}");
    assert!(
        err.to_string().contains("did not answer within 0.3 s"),
        "{err}"
    );
}

#[tokio::test]
async fn speaking_https_to_a_plain_http_port_is_a_tls_problem() {
    let sim = contoso().await;
    let https = sim.base_url.replace("http://", "https://");
    let mut s = settings(&https, CONTOSO_DOMAIN, api_key(DEMO_API_KEY));
    s.retry = RetryPolicy {
        max_retries: 0,
        ..s.retry
    };
    let pbx = client_with(s);
    let err = pbx.list_extensions().await.unwrap_err();
    assert!(matches!(err, PbxError::Tls { .. }), "{err:?}");
    assert!(
        err.to_string().starts_with(&format!(
            "the secure (TLS) connection to {https}/ns-api/v2 failed"
        )),
        "{err}"
    );
}

#[tokio::test]
async fn permissions_are_enforced_and_explained() {
    let sim = contoso().await;
    sim.sim().add_api_key(
        "nsd_readonly_contoso",
        Access::Domain(CONTOSO_DOMAIN.into()),
        true,
    );
    sim.sim()
        .add_api_key("nsd_other_domain", Access::Domain("fabrikam".into()), false);

    let readonly = client_with(settings(
        &sim.base_url,
        CONTOSO_DOMAIN,
        api_key("nsd_readonly_contoso"),
    ));
    assert_eq!(readonly.list_extensions().await.unwrap().len(), 20);
    let err = readonly.delete_device("1000", "1000tm").await.unwrap_err();
    assert!(matches!(err, PbxError::PermissionDenied { .. }), "{err:?}");
    assert!(err.to_string().starts_with(
        "the NetSapiens API credentials are not allowed to delete device 1000tm on extension 1000 in domain contoso (This API key is read-only)"
    ), "{err}");

    let other = client_with(settings(
        &sim.base_url,
        CONTOSO_DOMAIN,
        api_key("nsd_other_domain"),
    ));
    let err = other.list_devices("1000").await.unwrap_err();
    assert!(matches!(err, PbxError::PermissionDenied { .. }), "{err:?}");
}

#[tokio::test]
async fn bad_settings_are_refused_when_building_the_client() {
    let err = NetSapiensClient::new(settings(
        "pbx.example.com",
        CONTOSO_DOMAIN,
        api_key(DEMO_API_KEY),
    ))
    .unwrap_err();
    assert!(err.to_string().contains("API base URL"), "{err}");
    let err = NetSapiensClient::new(settings(
        "https://pbx.example.com",
        "con toso",
        api_key(DEMO_API_KEY),
    ))
    .unwrap_err();
    assert!(err.to_string().contains("SIP domain"), "{err}");
}
