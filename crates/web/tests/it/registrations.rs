//! A device handle's registration as the portal shows it once the SIP gateway reported it: the
//! user's page (state, since, PBX address, expiry, the PBX's answer and what to do) and
//! Troubleshoot, which finds the user by the handle's name and explains why it does not
//! register.

use crate::app::TestApp;
use teamline_domain::audit::Actor;
use teamline_domain::device::DeviceAuthId;
use teamline_domain::ids::PbxUserId;
use teamline_domain::pbx_user::PbxUserForm;
use teamline_domain::registration::RegistrationStatus;
use teamline_sim::microsoft::demo as ms;
use teamline_store::RegistrationRecord;

/// Adele set up with the `1000tm` handle.
async fn adele(app: &TestApp) -> PbxUserId {
    let e = app.contoso.id;
    let form = PbxUserForm {
        pbx_location: app.store.list_pbx_locations(e).await.unwrap()[0]
            .id
            .to_string(),
        voice_route: app.store.list_voice_routes(e).await.unwrap()[0]
            .id
            .to_string(),
        teams_user: ms::contoso_user_id("Adele Vance"),
        sip_user: "1000".into(),
        phone_number: "11000".into(),
        device: "1000tm".into(),
        ..PbxUserForm::new_with_defaults()
    };
    app.engine
        .save_pbx_user(
            e,
            &Actor::EnterpriseAdmin(ms::CONTOSO_ADMIN_UPN.into()),
            &form,
            None,
        )
        .await
        .unwrap()
        .id
}

fn record(app: &TestApp, user: PbxUserId, state: RegistrationStatus) -> RegistrationRecord {
    RegistrationRecord {
        enterprise_id: app.contoso.id,
        pbx_user_id: user,
        device: DeviceAuthId::parse("1000tm").unwrap(),
        registration: "1000tm-0123456789ab".into(),
        state,
        since_ms: Some(1_796_000_000_000),
        target: Some("192.0.2.7:5060".into()),
        expires_ms: None,
        last_error: None,
        observed_ms: 1_796_000_000_000,
    }
}

/// The Troubleshoot line about the handle.
fn registration_line(page: &str) -> &str {
    page.split("<li>")
        .find(|li| li.contains("<strong>Device registered to the PBX</strong>"))
        .unwrap_or_else(|| panic!("no registration line: {page}"))
        .split("</li>")
        .next()
        .unwrap()
}

#[tokio::test]
async fn the_users_page_and_troubleshoot_explain_the_handles_registration() {
    let app = TestApp::start().await;
    let id = adele(&app).await;
    let b = app.signed_in().await;
    let page = |path: String| {
        let b = &b;
        async move {
            let r = b.get(&path).send().await.unwrap();
            assert_eq!(r.status(), 200, "{path}");
            r.text().await.unwrap()
        }
    };

    // Before the gateway said anything.
    let detail = page(format!("/users/{id}")).await;
    assert!(detail.contains("not reported yet"), "{detail}");

    // The PBX forbids the registration: the user's page and Troubleshoot (looked up by the
    // handle's name) show the PBX's answer and what to do.
    let forbidden = RegistrationRecord {
        last_error: Some("the PBX forbade the device's registration (403 Forbidden): its password may be wrong, the device may be disabled on the PBX, or the PBX may not accept SIP from the gateway's address".into()),
        ..record(&app, id, RegistrationStatus::AuthFailed)
    };
    app.store.record_registrations(&[forbidden]).await.unwrap();
    let detail = page(format!("/users/{id}")).await;
    for text in [
        "Authentication failed",
        "403 Forbidden",
        "What to do",
        "reads it again from the PBX API",
        "192.0.2.7:5060",
    ] {
        assert!(detail.contains(text), "{text}: {detail}");
    }
    let troubleshoot = page("/troubleshoot?q=1000tm".into()).await;
    assert!(
        troubleshoot.contains("Adele Vance (AdeleV@contoso.example)"),
        "{troubleshoot}"
    );
    let line = registration_line(&troubleshoot);
    assert!(line.contains("Fail"), "{line}");
    assert!(line.contains("1000tm: Authentication failed"), "{line}");
    assert!(line.contains("403 Forbidden"), "{line}");
    assert!(line.contains("Fix: "), "{line}");
    assert!(troubleshoot.contains("Needs a fix"), "{troubleshoot}");

    // The PBX does not answer.
    let silent = RegistrationRecord {
        last_error: Some("the PBX at 192.0.2.7:5060 does not answer REGISTER: check the PBX location's SIP domain proxy and that the PBX accepts SIP from the gateway".into()),
        ..record(&app, id, RegistrationStatus::PbxUnreachable)
    };
    app.store.record_registrations(&[silent]).await.unwrap();
    let line_page = page("/troubleshoot?q=AdeleV%40contoso.example".into()).await;
    let line = registration_line(&line_page);
    assert!(line.contains("PBX unreachable"), "{line}");
    assert!(line.contains("does not answer REGISTER"), "{line}");
    assert!(line.contains("DNS lookup type"), "{line}");

    // Registered: where, since when, until when; nothing to fix.
    let registered = RegistrationRecord {
        expires_ms: Some(1_796_000_600_000),
        ..record(&app, id, RegistrationStatus::Registered)
    };
    app.store.record_registrations(&[registered]).await.unwrap();
    let detail = page(format!("/users/{id}")).await;
    for text in ["Registered to", "192.0.2.7:5060", "Expires", "Since"] {
        assert!(detail.contains(text), "{text}: {detail}");
    }
    assert!(!detail.contains("What to do"), "{detail}");
    let troubleshoot = page("/troubleshoot?q=1000tm".into()).await;
    let line = registration_line(&troubleshoot);
    assert!(line.contains("Pass"), "{line}");
    assert!(
        line.contains("1000tm is registered at 192.0.2.7:5060 since"),
        "{line}"
    );
    assert!(!line.contains("Fix: "), "{line}");
}
