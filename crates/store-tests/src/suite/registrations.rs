//! The SIP gateway's part of the store: which device handles to register, their live states,
//! and the lease that lets one instance at a time drive the gateway.

use crate::Harness;
use crate::T0;
use crate::fixtures::*;
use std::sync::Arc;
use teamline_domain::device::{DeviceAuthId, SipPassword};
use teamline_domain::ids::PbxUserId;
use teamline_domain::pbx_location::DnsLookup;
use teamline_domain::pbx_user::PbxUserState;
use teamline_domain::registration::RegistrationStatus;
use teamline_store::*;

fn device(t: &Tenant, ext: &str, password: &str) -> NewDeviceHandle {
    NewDeviceHandle {
        enterprise_id: t.enterprise.id,
        pbx_location_id: t.location.id,
        extension: teamline_domain::sip::Extension::parse(ext).unwrap(),
        auth_id: DeviceAuthId::parse(&format!("{ext}tm")).unwrap(),
        password: SipPassword::parse(password).unwrap(),
        created_by_teamline: false,
    }
}

fn users(targets: &[RegistrationTarget]) -> Vec<PbxUserId> {
    targets.iter().map(|t| t.pbx_user_id).collect()
}

pub async fn registration_targets_follow_users_devices_and_locations(h: Arc<Harness>) {
    let s = &h.store;
    let t = tenant(s, "Contoso").await;
    synced(
        &h,
        &t,
        &[("AdeleV", "Adele Vance"), ("AlexW", "Alex Wilber")],
    )
    .await;
    let v0 = s.registration_targets_version().await.unwrap();
    let adele = s
        .create_pbx_user(&new_user(&t, "AdeleV", "1000"), &audit("pbx_user.create"))
        .await
        .unwrap();
    let alex = s
        .create_pbx_user(&new_user(&t, "AlexW", "1001"), &audit("pbx_user.create"))
        .await
        .unwrap();
    // No credentials stored yet: nothing to register.
    assert!(s.registration_targets(None).await.unwrap().is_empty());
    let v1 = s.registration_targets_version().await.unwrap();
    assert_ne!(v0, v1);

    s.upsert_device_handle(&device(&t, "1000", "AdelePassw0rd"), &audit("device.store"))
        .await
        .unwrap();
    s.upsert_device_handle(&device(&t, "1001", "AlexPassw0rd1"), &audit("device.store"))
        .await
        .unwrap();
    let v2 = s.registration_targets_version().await.unwrap();
    assert_ne!(v1, v2);
    let all = s.registration_targets(None).await.unwrap();
    assert_eq!(users(&all), vec![adele.id, alex.id]);
    let a = &all[0];
    assert_eq!(a.device.as_str(), "1000tm");
    assert_eq!(a.teams_number.to_string(), "+11000");
    assert_eq!(a.sbc_fqdn, "contoso.useast2.sbc.example.net");
    assert_eq!(a.sip_domain.as_str(), "contoso");
    assert_eq!(a.proxy.to_string(), "sbc.pbx.example");
    assert_eq!(a.dns_lookup, DnsLookup::Srv);
    assert_eq!(a.password, SipPassword::parse("AdelePassw0rd").unwrap());
    assert!(!format!("{a:?}").contains("AdelePassw0rd"));

    // A new password on the PBX, read again: the target carries it and the version moves.
    h.clock.advance_ms(1000);
    s.upsert_device_handle(&device(&t, "1000", "NewPassw0rd22"), &audit("device.store"))
        .await
        .unwrap();
    let v3 = s.registration_targets_version().await.unwrap();
    assert_ne!(v2, v3);
    assert_eq!(
        s.registration_targets(Some(t.enterprise.id)).await.unwrap()[0].password,
        SipPassword::parse("NewPassw0rd22").unwrap()
    );

    // Calling disabled, or the user disabled: not registered any more.
    s.set_calling_enabled(t.enterprise.id, alex.id, false, &audit("calling.disable"))
        .await
        .unwrap();
    assert_eq!(
        users(&s.registration_targets(None).await.unwrap()),
        vec![adele.id]
    );
    s.set_pbx_user_state(
        t.enterprise.id,
        adele.id,
        PbxUserState::Disabled,
        &audit("pbx_user.disable"),
    )
    .await
    .unwrap();
    assert!(s.registration_targets(None).await.unwrap().is_empty());
    let v4 = s.registration_targets_version().await.unwrap();
    assert_ne!(v3, v4);

    // The PBX location's proxy moves: the version moves and targets carry the new proxy.
    s.set_pbx_user_state(
        t.enterprise.id,
        adele.id,
        PbxUserState::Active,
        &audit("pbx_user.enable"),
    )
    .await
    .unwrap();
    h.clock.advance_ms(1000);
    let before = s.registration_targets_version().await.unwrap();
    let mut form = location_form();
    form.proxy = "pbx2.example:5070".into();
    form.dns_lookup = "a".into();
    s.update_pbx_location(
        t.enterprise.id,
        t.location.id,
        &form.validate(true).unwrap(),
        &audit("pbx_location.update"),
    )
    .await
    .unwrap();
    assert_ne!(before, s.registration_targets_version().await.unwrap());
    let moved = s.registration_targets(None).await.unwrap();
    assert_eq!(moved[0].proxy.to_string(), "pbx2.example:5070");
    assert_eq!(moved[0].dns_lookup, DnsLookup::A);
    // Another enterprise sees nothing of this one's.
    let other = tenant(s, "Fabrikam").await;
    assert!(
        s.registration_targets(Some(other.enterprise.id))
            .await
            .unwrap()
            .is_empty()
    );
}

fn record(
    t: &Tenant,
    user: PbxUserId,
    device: &str,
    state: RegistrationStatus,
    at: i64,
) -> RegistrationRecord {
    RegistrationRecord {
        enterprise_id: t.enterprise.id,
        pbx_user_id: user,
        device: DeviceAuthId::parse(device).unwrap(),
        registration: format!("{device}-0123456789ab"),
        state,
        since_ms: Some(at - 5_000),
        target: Some("192.0.2.7:5060".into()),
        expires_ms: (state == RegistrationStatus::Registered).then_some(at + 600_000),
        last_error: state
            .is_failing()
            .then(|| "the PBX refused the device's SIP password (401 Unauthorized)".into()),
        observed_ms: at,
    }
}

pub async fn registration_states_are_kept_per_user_and_counted(h: Arc<Harness>) {
    let s = &h.store;
    let t = tenant(s, "Contoso").await;
    let other = tenant(s, "Fabrikam").await;
    synced(
        &h,
        &t,
        &[
            ("AdeleV", "Adele Vance"),
            ("AlexW", "Alex Wilber"),
            ("DiegoS", "Diego Siciliani"),
        ],
    )
    .await;
    synced(&h, &other, &[("PattiF", "Patti Fernandez")]).await;
    let mut ids = Vec::new();
    for (key, ext) in [("AdeleV", "1000"), ("AlexW", "1001"), ("DiegoS", "1002")] {
        ids.push(
            s.create_pbx_user(&new_user(&t, key, ext), &audit("pbx_user.create"))
                .await
                .unwrap()
                .id,
        );
    }
    let patti = s
        .create_pbx_user(
            &new_user(&other, "PattiF", "2000"),
            &audit("pbx_user.create"),
        )
        .await
        .unwrap()
        .id;
    let at = T0;
    // Many at once (more than one multi-row statement).
    let mut batch: Vec<RegistrationRecord> = (0..250)
        .map(|i| {
            record(
                &t,
                ids[i % 3],
                "1000tm",
                RegistrationStatus::Registering,
                at + i as i64,
            )
        })
        .collect();
    batch.push(record(
        &other,
        patti,
        "2000tm",
        RegistrationStatus::GatewayDown,
        at,
    ));
    s.record_registrations(&batch).await.unwrap();
    // The last record of a user wins.
    s.record_registrations(&[
        record(&t, ids[0], "1000tm", RegistrationStatus::Registered, at + 1),
        record(&t, ids[1], "1001tm", RegistrationStatus::AuthFailed, at + 1),
        record(&t, ids[2], "1002tm", RegistrationStatus::Registered, at + 1),
    ])
    .await
    .unwrap();
    let mine = s
        .list_registrations(Some(t.enterprise.id), None)
        .await
        .unwrap();
    assert_eq!(mine.len(), 3);
    assert_eq!(
        mine[0],
        record(&t, ids[0], "1000tm", RegistrationStatus::Registered, at + 1)
    );
    assert_eq!(mine[1].state, RegistrationStatus::AuthFailed);
    assert!(mine[1].last_error.as_deref().unwrap().contains("401"));
    let one = s
        .list_registrations(Some(t.enterprise.id), Some(&[ids[1]]))
        .await
        .unwrap();
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].device.as_str(), "1001tm");
    // Another enterprise's user is not found through this one.
    assert!(
        s.list_registrations(Some(t.enterprise.id), Some(&[patti]))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(s.list_registrations(None, None).await.unwrap().len(), 4);

    let counts = s.registration_counts(Some(t.enterprise.id)).await.unwrap();
    assert_eq!(counts.get(&RegistrationStatus::Registered), Some(&2));
    assert_eq!(counts.get(&RegistrationStatus::AuthFailed), Some(&1));
    assert_eq!(counts.get(&RegistrationStatus::GatewayDown), None);
    let everyone = s.registration_counts(None).await.unwrap();
    assert_eq!(everyone.get(&RegistrationStatus::GatewayDown), Some(&1));
}

pub async fn one_instance_at_a_time_holds_a_lease(h: Arc<Harness>) {
    let s = &h.store;
    let second = h
        .reopen(teamline_store::crypto::Keyring::for_testing())
        .await;
    const NAME: &str = "gateway";
    assert_eq!(s.lease(NAME).await.unwrap(), None);
    assert!(s.claim_lease(NAME, "a", 15_000).await.unwrap());
    assert!(!second.claim_lease(NAME, "b", 15_000).await.unwrap());
    // The holder renews.
    h.clock.advance_ms(10_000);
    assert!(s.claim_lease(NAME, "a", 15_000).await.unwrap());
    h.clock.advance_ms(10_000);
    assert!(!second.claim_lease(NAME, "b", 15_000).await.unwrap());
    assert_eq!(
        s.lease(NAME).await.unwrap(),
        Some(Lease {
            name: NAME.into(),
            holder: "a".into(),
            until_ms: T0 + 25_000,
        })
    );
    // The holder stopped renewing: another takes over once it ran out.
    h.clock.advance_ms(6_000);
    assert!(second.claim_lease(NAME, "b", 15_000).await.unwrap());
    assert!(!s.claim_lease(NAME, "a", 15_000).await.unwrap());
    // Giving it up lets the other take it at once; only the holder can give it up.
    s.release_lease(NAME, "a").await.unwrap();
    assert!(!s.claim_lease(NAME, "a", 15_000).await.unwrap());
    second.release_lease(NAME, "b").await.unwrap();
    assert!(s.claim_lease(NAME, "a", 15_000).await.unwrap());
}
