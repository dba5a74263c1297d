//! Grant Consent from the Dashboard: Microsoft's admin-consent page for the user-sync consent,
//! and the reseller's management consent.

use crate::app::{TestApp, location};
use crate::signin::{form_action, hidden};
use teamline_domain::audit::{Actor, Audit};
use teamline_domain::enterprise::ConsentKind;
use teamline_sim::microsoft::demo as ms;
use teamline_store::ConsentChange;

async fn revoke(app: &TestApp, kind: ConsentKind) {
    let change = ConsentChange {
        kind,
        granted: false,
        by: None,
    };
    let audit = Audit::new(Actor::System("test".into()), "consent.revoke", "test");
    app.store
        .set_consent(app.contoso.id, &change, &audit)
        .await
        .unwrap();
}

#[tokio::test]
async fn grant_user_sync_consent_through_microsoft() {
    let app = TestApp::start().await;
    revoke(&app, ConsentKind::UserSync).await;
    let browser = app.signed_in().await;
    let dashboard = browser
        .get("/dashboard")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        dashboard.contains(r#"action="/consent/user-sync""#),
        "the Dashboard offers Grant Consent"
    );

    let start = browser
        .post_form("/consent/user-sync", &[])
        .send()
        .await
        .unwrap();
    assert_eq!(start.status(), 303);
    let consent_url = location(&start);
    assert!(
        consent_url.contains(&format!("/{}/v2.0/adminconsent", ms::CONTOSO_TENANT_ID)),
        "{consent_url}"
    );
    let ms_base = consent_url
        .split(&format!("/{}/", ms::CONTOSO_TENANT_ID))
        .next()
        .unwrap()
        .to_owned();

    // At Microsoft: sign in as the Global Administrator, accept.
    let page = app
        .http
        .get(&consent_url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut r = app
        .http
        .post(format!("{ms_base}{}", form_action(&page, "signin-form")))
        .form(&[
            ("flow", hidden(&page, "flow").as_str()),
            ("loginfmt", ms::CONTOSO_ADMIN_UPN),
            ("passwd", ms::ADMIN_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    if r.status() == 200 {
        let page = r.text().await.unwrap();
        r = app
            .http
            .post(format!("{ms_base}{}", form_action(&page, "consent-form")))
            .form(&[
                ("flow", hidden(&page, "flow").as_str()),
                ("decision", "accept"),
            ])
            .send()
            .await
            .unwrap();
    }
    assert!(r.status().is_redirection());
    let callback = location(&r);
    assert!(
        callback.starts_with(&format!("{}/auth/microsoft/consent?", app.url)),
        "{callback}"
    );

    // Replaying the answer from another session is refused.
    let stranger = app.signed_in().await;
    let refused = stranger
        .get(callback.trim_start_matches(&app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);

    let done = browser
        .get(callback.trim_start_matches(&app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 303);
    assert_eq!(location(&done), "/dashboard");
    let contoso = app.store.get_enterprise(app.contoso.id).await.unwrap();
    assert!(contoso.consent(ConsentKind::UserSync));
    let page = browser
        .get("/dashboard")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Consent granted"), "the Dashboard says so");
    assert!(
        !page.contains(r#"action="/consent/user-sync""#),
        "the item is gone"
    );
}

#[tokio::test]
async fn grant_management_consent() {
    let app = TestApp::start().await;
    revoke(&app, ConsentKind::Management).await;
    let browser = app.signed_in().await;
    let dashboard = browser
        .get("/dashboard")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(dashboard.contains(r#"action="/consent/management""#));
    let r = browser
        .post_form("/consent/management", &[])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&r), "/dashboard");
    let contoso = app.store.get_enterprise(app.contoso.id).await.unwrap();
    assert!(contoso.consent(ConsentKind::Management));
    let events = app.store.list_audit(Some(app.contoso.id), 5).await.unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.summary.contains("management consent"))
    );
}
