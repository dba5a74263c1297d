//! The client against the simulator switched to the ways a real NetSapiens platform may differ
//! from the v2 spec's happy path, and `doctor` naming what it finds.

use teamline_domain::diagnosis::{Check, Outcome};
use teamline_pbx::{NewEmergencyAddress, Pbx, PbxError};
use teamline_sim::netsapiens::{Access, CONTOSO_DOMAIN, FaultConfig};

use crate::support::{api_key, client, client_with, contoso, settings};

fn office(name: &str) -> NewEmergencyAddress {
    NewEmergencyAddress {
        name: name.into(),
        caller_name: "Grady Archie".into(),
        line1: "1 Microsoft Way".into(),
        line2: None,
        city: "Redmond".into(),
        state: "WA".into(),
        postal_code: "98052".into(),
        country: "US".into(),
        location_description: Some("2nd floor".into()),
    }
}

#[tokio::test]
async fn addresses_go_through_the_validate_endpoint_where_the_pbx_requires_it() {
    let sim = contoso().await;
    assert!(
        sim.sim()
            .set_require_address_validation(CONTOSO_DOMAIN, true)
    );
    let pbx = client(&sim);
    let first = pbx
        .create_emergency_address("1003", office("Grady desk"))
        .await
        .unwrap();
    assert!(
        first.id.starts_with("a-"),
        "the validation's id: {}",
        first.id
    );
    // Learned: the next address is validated first, in one go.
    let before = sim.sim().stats().requests;
    let second = pbx
        .create_emergency_address("1003", office("Grady lab"))
        .await
        .unwrap();
    assert_eq!(sim.sim().stats().requests - before, 2, "validate + create");
    let listed = pbx.list_emergency_addresses("1003").await.unwrap();
    assert!(listed.iter().any(|a| a.id == first.id));
    assert!(listed.iter().any(|a| a.id == second.id));
}

#[tokio::test]
async fn an_empty_device_list_answered_with_404_is_empty() {
    let sim = contoso().await;
    assert!(sim.sim().set_empty_device_list_404(CONTOSO_DOMAIN, true));
    assert!(
        sim.sim()
            .add_extension(CONTOSO_DOMAIN, "1020", "New", "Hire")
    );
    let pbx = client(&sim);
    assert!(pbx.list_devices("1020").await.unwrap().is_empty());
    assert!(!pbx.list_devices("1000").await.unwrap().is_empty());
    let err = pbx.list_devices("1099").await.unwrap_err();
    assert!(matches!(err, PbxError::ExtensionNotFound { .. }), "{err:?}");
    assert_eq!(pbx.list_extensions().await.unwrap().len(), 21);
}

#[tokio::test]
async fn a_retry_after_given_as_an_http_date_is_waited_out() {
    let sim = contoso().await;
    sim.sim().set_faults(&FaultConfig {
        rate_limit_next: Some(1),
        retry_after_secs: Some(1),
        retry_after_as_date: Some(true),
        ..FaultConfig::default()
    });
    let pbx = client(&sim);
    let before = sim.sim().stats().requests;
    assert!(!pbx.list_devices("1000").await.unwrap().is_empty());
    assert_eq!(sim.sim().stats().requests - before, 2);
}

fn check<'a>(checks: &'a [Check], id: &str) -> &'a Check {
    checks
        .iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("no check {id} in {checks:#?}"))
}

#[tokio::test]
async fn doctor_passes_with_the_demo_key_and_names_what_it_finds() {
    let sim = contoso().await;
    assert!(
        sim.sim()
            .add_extension(CONTOSO_DOMAIN, "1020", "New", "Hire")
    );
    let pbx = client(&sim);
    let checks = pbx.doctor(Some("1020")).await;
    let failed: Vec<_> = checks
        .iter()
        .filter(|c| c.outcome != Outcome::Pass)
        .collect();
    assert!(failed.is_empty(), "{failed:#?}");
    assert!(check(&checks, "pbx.api_key").found.contains("may write"));

    sim.sim().set_empty_device_list_404(CONTOSO_DOMAIN, true);
    let checks = pbx.doctor(Some("1020")).await;
    let devices = check(&checks, "pbx.devices");
    assert_eq!(devices.outcome, Outcome::Pass);
    assert!(devices.found.contains("404"), "{}", devices.found);
}

#[tokio::test]
async fn doctor_fails_a_read_only_key_and_a_key_for_another_domain() {
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
    let checks = readonly.doctor(None).await;
    let key = check(&checks, "pbx.api_key");
    assert_eq!(key.outcome, Outcome::Fail);
    assert!(key.fix.as_deref().unwrap().contains("not read-only"));

    let other = client_with(settings(
        &sim.base_url,
        CONTOSO_DOMAIN,
        api_key("nsd_other_domain"),
    ));
    let checks = other.doctor(None).await;
    assert_eq!(check(&checks, "pbx.api_key").outcome, Outcome::Fail);
    let domain = check(&checks, "pbx.domain");
    assert_eq!(domain.outcome, Outcome::Fail);
    assert!(domain.error.is_some());
}
