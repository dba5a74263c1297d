use teamline_pbx::{
    AddressScope, NewDevice, NewEmergencyAddress, Pbx, PbxError, default_emergency_address,
};
use teamline_sim::netsapiens::{CONTOSO_DOMAIN, CONTOSO_HQ_ADDRESS_ID};

use crate::support::{client, contoso};

fn home() -> NewEmergencyAddress {
    NewEmergencyAddress {
        name: "Diego home office".into(),
        caller_name: "Diego Siciliani".into(),
        line1: "500 Pine St".into(),
        line2: Some("Apt 4".into()),
        city: "Seattle".into(),
        state: "WA".into(),
        postal_code: "98101".into(),
        country: "US".into(),
        location_description: None,
    }
}

#[tokio::test]
async fn every_contoso_user_sees_the_hq_address() {
    let sim = contoso().await;
    let pbx = client(&sim);
    let addresses = pbx.list_emergency_addresses("1007").await.unwrap();
    assert_eq!(addresses.len(), 1);
    let hq = &addresses[0];
    assert_eq!(
        (hq.id.as_str(), &hq.scope, hq.name.as_str()),
        (CONTOSO_HQ_ADDRESS_ID, &AddressScope::Domain, "Contoso HQ")
    );
    assert_eq!(
        hq.summary(),
        "Contoso HQ — 1 Microsoft Way, Redmond, WA 98052, US"
    );
    assert_eq!(
        default_emergency_address(&addresses, "1007").map(|a| a.id.as_str()),
        Some(CONTOSO_HQ_ADDRESS_ID)
    );
}

#[tokio::test]
async fn a_personal_address_can_be_added_and_used_for_a_device() {
    let sim = contoso().await;
    let pbx = client(&sim);
    let created = pbx.create_emergency_address("1002", home()).await.unwrap();
    assert_eq!(created.scope, AddressScope::Extension("1002".into()));
    assert_eq!(
        (created.city.as_str(), created.line2.as_deref()),
        ("Seattle", Some("Apt 4"))
    );

    let addresses = pbx.list_emergency_addresses("1002").await.unwrap();
    assert_eq!(addresses.len(), 2);
    let chosen = default_emergency_address(&addresses, "1002").unwrap();
    assert_eq!(
        chosen.id, created.id,
        "the extension's own address is preferred"
    );
    // Another extension does not see it.
    assert_eq!(pbx.list_emergency_addresses("1003").await.unwrap().len(), 1);

    let device = NewDevice {
        auth_id: "1002tm".into(),
        sip_password: None,
        emergency_address_id: Some(chosen.id.clone()),
    };
    pbx.create_device("1002", device).await.unwrap();
    assert_eq!(
        sim.sim().device_emergency_address(CONTOSO_DOMAIN, "1002tm"),
        Some(created.id)
    );
}

#[tokio::test]
async fn incomplete_addresses_and_unknown_extensions_are_refused() {
    let sim = contoso().await;
    let pbx = client(&sim);
    let err = pbx
        .create_emergency_address(
            "1002",
            NewEmergencyAddress {
                city: " ".into(),
                ..home()
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(err, PbxError::InvalidInput { .. }), "{err:?}");
    assert!(err.to_string().contains("city"), "{err}");

    let err = pbx
        .create_emergency_address("1099", home())
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "extension 1099 does not exist in domain contoso"
    );
    let err = pbx.list_emergency_addresses("1099").await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "extension 1099 does not exist in domain contoso"
    );
}
