use secrecy::{ExposeSecret, SecretString};
use teamline_pbx::{NewDevice, Pbx, PbxError, RegistrationState};
use teamline_sim::netsapiens::{CONTOSO_DOMAIN, CONTOSO_HQ_ADDRESS_ID, RegistrationInfo};

use crate::support::{client, contoso};

fn new_tm(auth_id: &str, address: Option<&str>) -> NewDevice {
    NewDevice {
        auth_id: auth_id.to_owned(),
        sip_password: None,
        emergency_address_id: address.map(str::to_owned),
    }
}

#[tokio::test]
async fn lists_a_users_devices_with_registration_state() {
    let sim = contoso().await;
    let pbx = client(&sim);
    let devices = pbx.list_devices("1000").await.unwrap();
    let ids: Vec<&str> = devices.iter().map(|d| d.auth_id.as_str()).collect();
    assert_eq!(ids, vec!["1000", "1000tm"]);
    let desk = &devices[0];
    assert_eq!(desk.registration.state, RegistrationState::Registered);
    assert!(
        desk.registration
            .user_agent
            .as_deref()
            .is_some_and(|ua| ua.contains("Yealink"))
    );
    assert!(desk.registration.expires_at.is_some());
    let tm = &devices[1];
    assert_eq!(tm.registration.state, RegistrationState::Unregistered);
    assert_eq!(tm.registration.contact, None);
    assert_eq!(tm.sip_uri, "sip:1000tm@contoso");
}

#[tokio::test]
async fn reads_a_device_with_its_sip_password() {
    let sim = contoso().await;
    let pbx = client(&sim);
    let device = pbx.get_device("1001", "1001tm").await.unwrap();
    let stored = sim.sim().device_password(CONTOSO_DOMAIN, "1001tm").unwrap();
    assert_eq!(
        device
            .require_password(CONTOSO_DOMAIN)
            .unwrap()
            .expose_secret(),
        stored
    );
    assert_eq!(device.extension, "1001");
    assert_eq!(
        device.emergency_address_id.as_deref(),
        Some(CONTOSO_HQ_ADDRESS_ID)
    );
    // The SIP URI form of the id is accepted too.
    let same = pbx.get_device("1001", "sip:1001tm@contoso").await.unwrap();
    assert_eq!(same.auth_id, "1001tm");
}

#[tokio::test]
async fn registration_changes_show_up() {
    let sim = contoso().await;
    let pbx = client(&sim);
    let info = RegistrationInfo {
        user_agent: "Teamline/0.1".into(),
        contact: "sip:1000tm@gw.teamline.example:5061;transport=tls".into(),
        ip_address: "198.51.100.7:5061".into(),
        keeps_registering: true,
    };
    assert!(
        sim.sim()
            .set_registration(CONTOSO_DOMAIN, "1000tm", Some(info))
    );
    let d = pbx.get_device("1000", "1000tm").await.unwrap();
    assert_eq!(d.registration.state, RegistrationState::Registered);
    assert_eq!(d.registration.user_agent.as_deref(), Some("Teamline/0.1"));
    assert_eq!(
        d.registration.source_address.as_deref(),
        Some("198.51.100.7:5061")
    );
}

#[tokio::test]
async fn creates_a_tm_device_with_a_generated_password_then_refuses_a_second_one() {
    let sim = contoso().await;
    let pbx = client(&sim);

    let created = pbx
        .create_device("1002", new_tm("1002tm", Some(CONTOSO_HQ_ADDRESS_ID)))
        .await
        .unwrap();
    assert_eq!(
        (created.auth_id.as_str(), created.extension.as_str()),
        ("1002tm", "1002")
    );
    let password = created
        .require_password(CONTOSO_DOMAIN)
        .unwrap()
        .expose_secret()
        .to_owned();
    assert_eq!(password.len(), 16);
    assert!(
        password.bytes().all(|b| b.is_ascii_alphanumeric()),
        "{password}"
    );
    assert_eq!(
        sim.sim()
            .device_password(CONTOSO_DOMAIN, "1002tm")
            .as_deref(),
        Some(password.as_str())
    );
    assert_eq!(
        sim.sim()
            .device_emergency_address(CONTOSO_DOMAIN, "1002tm")
            .as_deref(),
        Some(CONTOSO_HQ_ADDRESS_ID)
    );

    let listed = pbx.list_extensions().await.unwrap();
    assert!(
        listed
            .iter()
            .any(|e| e.id == "1002" && e.has_device("1002tm"))
    );

    let again = pbx
        .create_device("1002", new_tm("1002tm", Some(CONTOSO_HQ_ADDRESS_ID)))
        .await
        .unwrap_err();
    assert!(matches!(again, PbxError::DeviceExists { .. }), "{again:?}");
    assert_eq!(
        again.to_string(),
        "device 1002tm already exists on extension 1002 in domain contoso"
    );
}

#[tokio::test]
async fn keeps_a_password_given_by_teamline() {
    let sim = contoso().await;
    let pbx = client(&sim);
    let device = NewDevice {
        auth_id: "1003tm".into(),
        sip_password: Some(SecretString::from("Teamline2026abcd")),
        emergency_address_id: Some(CONTOSO_HQ_ADDRESS_ID.into()),
    };
    let created = pbx.create_device("1003", device).await.unwrap();
    assert_eq!(
        created
            .sip_password
            .as_ref()
            .map(|p| p.expose_secret().to_owned())
            .as_deref(),
        Some("Teamline2026abcd")
    );
}

#[tokio::test]
async fn a_202_accepted_create_is_read_back() {
    let sim = contoso().await;
    let pbx = client(&sim);
    sim.sim().accept_async_next(1);
    let created = pbx
        .create_device("1004", new_tm("1004tm", Some(CONTOSO_HQ_ADDRESS_ID)))
        .await
        .unwrap();
    assert_eq!(created.auth_id, "1004tm");
    assert_eq!(
        created
            .sip_password
            .as_ref()
            .map(|p| p.expose_secret().len()),
        Some(16)
    );
}

#[tokio::test]
async fn a_device_needs_an_emergency_address_on_contoso() {
    let sim = contoso().await;
    let pbx = client(&sim);
    let err = pbx
        .create_device("1005", new_tm("1005tm", None))
        .await
        .unwrap_err();
    assert!(
        matches!(err, PbxError::EmergencyAddressRequired { .. }),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.starts_with("the PBX requires an emergency address to create device 1005tm on extension 1005 in domain contoso"),
        "{msg}"
    );

    let unknown = pbx
        .create_device("1005", new_tm("1005tm", Some("no-such-address")))
        .await
        .unwrap_err();
    assert!(
        matches!(unknown, PbxError::Rejected { status: 400, .. }),
        "{unknown:?}"
    );
    assert!(
        unknown
            .to_string()
            .contains("create device 1005tm on extension 1005 in domain contoso"),
        "{unknown}"
    );
    assert!(unknown.to_string().contains("no-such-address"), "{unknown}");

    // A platform without that policy accepts a device without address.
    assert!(
        sim.sim()
            .set_require_emergency_address(CONTOSO_DOMAIN, false)
    );
    assert!(
        pbx.create_device("1005", new_tm("1005tm", None))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn unknown_extensions_and_devices_are_named() {
    let sim = contoso().await;
    let pbx = client(&sim);

    let err = pbx.list_devices("1099").await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "extension 1099 does not exist in domain contoso"
    );
    let err = pbx
        .create_device("1099", new_tm("1099tm", Some(CONTOSO_HQ_ADDRESS_ID)))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "extension 1099 does not exist in domain contoso"
    );
    let err = pbx.get_device("1099", "1099tm").await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "extension 1099 does not exist in domain contoso"
    );

    let err = pbx.get_device("1002", "1002tm").await.unwrap_err();
    assert!(matches!(err, PbxError::DeviceNotFound { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "device 1002tm does not exist on extension 1002 in domain contoso"
    );
    // A device of another extension is not this extension's device.
    let err = pbx.get_device("1002", "1000tm").await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "device 1000tm does not exist on extension 1002 in domain contoso"
    );
}

#[tokio::test]
async fn deletes_a_device_once() {
    let sim = contoso().await;
    let pbx = client(&sim);
    pbx.delete_device("1001", "1001tm").await.unwrap();
    assert!(
        !sim.sim()
            .device_ids(CONTOSO_DOMAIN)
            .contains(&"1001tm".to_owned())
    );
    let ids: Vec<String> = pbx
        .list_devices("1001")
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.auth_id)
        .collect();
    assert_eq!(ids, vec!["1001"]);
    let err = pbx.delete_device("1001", "1001tm").await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "device 1001tm does not exist on extension 1001 in domain contoso"
    );
}

#[tokio::test]
async fn invalid_device_ids_are_refused_before_calling_the_pbx() {
    let sim = contoso().await;
    let pbx = client(&sim);
    let before = sim.sim().stats().requests;
    let err = pbx
        .create_device("1002", new_tm("10 02/tm", None))
        .await
        .unwrap_err();
    assert!(matches!(err, PbxError::InvalidInput { .. }), "{err:?}");
    assert!(err.to_string().contains("device '10 02/tm'"), "{err}");
    assert_eq!(sim.sim().stats().requests, before);
}
