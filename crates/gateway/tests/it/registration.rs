//! Device handles registering to the stand-in PBX registrar (a real Kamailio), through the
//! gateway (a real Kamailio), as the registration service drives it.

use std::time::SystemTime;

use teamline_domain::pbx_location::DnsLookup;
use teamline_gateway::dns::DnsSettings;
use teamline_gateway::registration::RegistrationState;

use crate::harness::{GatewayNode, Pbx, desired, eventually, service, wait_kind, wait_state};

#[tokio::test]
async fn a_device_handle_registers_and_the_registrar_holds_the_binding() {
    let dir = tempfile::tempdir().unwrap();
    let pbx = Pbx::start(dir.path()).await;
    let node = GatewayNode::start(dir.path()).await;
    let svc = service(&node, DnsSettings::default());
    let adele = desired(
        "1000tm",
        "+11000",
        &pbx.password("1000tm"),
        pbx.proxy(),
        DnsLookup::A,
    );
    svc.upsert(adele.clone());

    let state = wait_state(&svc, "1000tm registered", |s| {
        matches!(s, RegistrationState::Registered { .. }).then(|| s.clone())
    })
    .await;
    let RegistrationState::Registered {
        since,
        target,
        expires_at,
    } = state
    else {
        unreachable!()
    };
    let now = SystemTime::now();
    assert!(since <= now && expires_at > now, "{since:?} {expires_at:?}");
    assert_eq!(target, pbx.registrar.sip_addr().to_string());

    // The PBX's registrar holds the binding: 1000tm@contoso → the gateway, with the
    // registration's id as the Contact user (what the PBX will send calls to).
    let bindings = pbx.registrar.bindings().await.unwrap();
    let b = bindings
        .iter()
        .find(|b| b.aor == "1000tm@contoso")
        .expect("a binding for 1000tm");
    let gw = node.settings.contact_address();
    assert_eq!(b.contact, format!("sip:{}@{gw}", adele.id));
    assert!(b.user_agent.contains("Teamline"), "{b:?}");

    // The simulated PBX's API reports the device as the registrar holds it.
    pbx.registrar.sync_now().await.unwrap();
    let api = pbx
        .sim
        .clone()
        .spawn("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let device: serde_json::Value = reqwest::Client::new()
        .get(format!(
            "{}/ns-api/v2/domains/contoso/users/1000/devices/1000tm",
            api.base_url
        ))
        .bearer_auth(teamline_sim::netsapiens::DEMO_API_KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(device["device-sip-registration-state"], "registered");
    assert_eq!(
        device["device-sip-registration-contact"],
        b.contact.as_str()
    );
    assert!(
        device["device-sip-registration-user-agent"]
            .as_str()
            .unwrap()
            .contains("Teamline")
    );

    // Disable Calling: the handle is un-registered at the PBX and forgotten by Kamailio.
    svc.remove(&adele.id);
    eventually(&svc, "the binding removed", || async {
        let left = pbx.registrar.bindings().await.unwrap();
        let records = node.rpc.uac_reg_dump().await.unwrap().len();
        if left.iter().all(|b| b.aor != "1000tm@contoso") && records == 0 {
            Ok(())
        } else {
            Err((left, records))
        }
    })
    .await;
    pbx.registrar.sync_now().await.unwrap();
    let device: serde_json::Value = reqwest::Client::new()
        .get(format!(
            "{}/ns-api/v2/domains/contoso/users/1000/devices/1000tm",
            api.base_url
        ))
        .bearer_auth(teamline_sim::netsapiens::DEMO_API_KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(device["device-sip-registration-state"], "unregistered");
}

#[tokio::test]
async fn a_wrong_password_is_an_authentication_failure_with_the_registrar_answer() {
    let dir = tempfile::tempdir().unwrap();
    let pbx = Pbx::start(dir.path()).await;
    let node = GatewayNode::start(dir.path()).await;
    let svc = service(&node, DnsSettings::default());
    let wrong = desired(
        "1001tm",
        "+11001",
        "NotThePassword1",
        pbx.proxy(),
        DnsLookup::A,
    );
    svc.upsert(wrong.clone());
    let state = wait_state(&svc, "1001tm refused", |s| {
        matches!(s, RegistrationState::AuthenticationFailed { .. }).then(|| s.clone())
    })
    .await;
    let RegistrationState::AuthenticationFailed { reply } = &state else {
        unreachable!()
    };
    assert_eq!(reply.code, 401);
    assert!(state.last_error().unwrap().contains("401"));
    assert!(pbx.registrar.bindings().await.unwrap().is_empty());

    // The right password (re-read from the PBX) replaces the record, and it registers.
    svc.upsert(desired(
        "1001tm",
        "+11001",
        &pbx.password("1001tm"),
        pbx.proxy(),
        DnsLookup::A,
    ));
    wait_kind(&svc, &wrong.id, "registered").await;
}

#[tokio::test]
async fn a_stopped_registrar_is_pbx_unreachable_and_registration_returns_by_itself() {
    let dir = tempfile::tempdir().unwrap();
    let pbx = Pbx::start(dir.path()).await;
    let mut settings = crate::harness::gateway_settings(dir.path());
    // Re-register often so that the outage is noticed quickly.
    settings.registrations.timer_interval_secs = 1;
    let node = GatewayNode::start_with(settings, dir.path()).await;
    let svc = service(&node, DnsSettings::default());
    let mut adele = desired(
        "1000tm",
        "+11000",
        &pbx.password("1000tm"),
        pbx.proxy(),
        DnsLookup::A,
    );
    adele.expires_secs = 5;
    svc.upsert(adele.clone());
    wait_kind(&svc, &adele.id, "registered").await;

    pbx.registrar.stop().await;
    let state = wait_state(&svc, "PBX unreachable", |s| {
        matches!(s, RegistrationState::PbxUnreachable(_)).then(|| s.clone())
    })
    .await;
    assert!(
        state
            .last_error()
            .unwrap()
            .contains(&pbx.registrar.sip_addr().to_string())
    );

    // The PBX comes back (with no bindings, as after a reboot): uac_reg retries by itself.
    pbx.registrar.restart().await.unwrap();
    // (Right after the restart the last 200, from before the outage, may still be within its
    // expiry: the binding is there once the retry is answered.)
    eventually(&svc, "the binding back at the registrar", || async {
        let b = pbx.registrar.bindings().await.unwrap();
        if b.iter().any(|b| b.aor == "1000tm@contoso") {
            Ok(())
        } else {
            Err(b)
        }
    })
    .await;
    wait_kind(&svc, &adele.id, "registered").await;
}
