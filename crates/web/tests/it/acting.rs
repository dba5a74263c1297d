//! Management consent acting over HTTP: a reseller admin opens an enterprise's portal from the
//! reseller portal while the enterprise grants management consent, acts there under a banner,
//! every change is recorded as "reseller admin … for <enterprise>", and the enterprise admin's
//! revocation stops it at the next request. Without consent there is no button and the route
//! refuses with the reason. (Another reseller's 404 for `/reseller/enterprises/{id}/manage`
//! comes from the route-enumerating test in `reseller.rs`.)

use crate::app::{TestApp, location, text};
use crate::reseller::sign_in;
use teamline_domain::enterprise::ConsentKind;
use teamline_testkit::demo::{RESELLER_ADMIN, RESELLER_PASSWORD};

async fn a_reseller_acts_through_management_consent_until_it_is_revoked(app: TestApp) {
    let contoso = app.contoso.id.0;
    let reseller = sign_in(&app, RESELLER_ADMIN, RESELLER_PASSWORD)
        .await
        .unwrap();

    // Signed in to the reseller portal only: the Enterprise portal says where to go.
    let (status, page) = text(reseller.get("/dashboard")).await;
    assert_eq!(status, 403, "{page}");
    assert!(page.contains("Manage as reseller"), "{page}");

    // Contoso grants management consent: its page offers "Manage as reseller".
    let (status, page) = text(reseller.get(&format!("/reseller/enterprises/{contoso}"))).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Manage as reseller"), "{page}");
    let r = reseller
        .post_form(&format!("/reseller/enterprises/{contoso}/manage"), &[])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(location(&r), "/dashboard");

    let (status, page) = text(reseller.get("/dashboard")).await;
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains(&format!(
            "You are acting for Contoso as reseller admin {RESELLER_ADMIN} (Northwind Voice)"
        )),
        "the banner says who acts for whom: {page}"
    );
    assert!(
        !page.contains("Revoke management consent"),
        "only Contoso's own admins revoke: {page}"
    );

    // An action taken while acting is recorded as the reseller admin's, for Contoso.
    let r = reseller
        .post_form("/dashboard/sync-teams-users", &[])
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success() || r.status().is_redirection());
    let who = format!("reseller admin {RESELLER_ADMIN} for Contoso");
    let (status, page) = text(reseller.get("/audit")).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains(&who), "{page}");
    let (_, page) = text(reseller.get("/reseller/audit")).await;
    assert!(page.contains(&who), "{page}");
    assert!(page.contains("Sync Teams Users requested"), "{page}");

    // The acting reseller cannot revoke the consent it acts under.
    let (status, page) = text(reseller.post_form("/consent/management/revoke", &[])).await;
    assert_eq!(status, 403, "{page}");
    assert!(
        app.store
            .get_enterprise(app.contoso.id)
            .await
            .unwrap()
            .consent(ConsentKind::Management)
    );

    // Contoso's admin sees the consent and revokes it.
    let admin = app.signed_in().await;
    let (_, page) = text(admin.get("/dashboard")).await;
    assert!(page.contains("Revoke management consent"), "{page}");
    let (_, page) = text(admin.get("/audit")).await;
    assert!(
        page.contains(&who),
        "Contoso's own log names the reseller: {page}"
    );
    let r = admin
        .post_form("/consent/management/revoke", &[])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&r), "/dashboard");

    // The reseller's next request is refused with the reason; nothing more is possible.
    let (status, page) = text(reseller.get("/users")).await;
    assert_eq!(status, 403, "{page}");
    assert!(
        page.contains("Contoso has not granted management consent") && page.contains("revoked"),
        "{page}"
    );
    let (status, _) = text(reseller.post_form("/dashboard/sync-teams-users", &[])).await;
    assert_eq!(status, 403);
    let (_, page) = text(reseller.get(&format!("/reseller/enterprises/{contoso}"))).await;
    assert!(!page.contains("Manage as reseller"), "{page}");
    assert!(page.contains("Management consent"), "{page}");
    let (status, page) =
        text(reseller.post_form(&format!("/reseller/enterprises/{contoso}/manage"), &[])).await;
    assert_eq!(status, 403, "{page}");

    // Back to the reseller portal: the session no longer names Contoso.
    let r = reseller
        .post_form("/reseller/acting/stop", &[])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&r), format!("/reseller/enterprises/{contoso}"));
    let events = app
        .store
        .list_audit(Some(app.contoso.id), 20)
        .await
        .unwrap();
    assert!(events.iter().any(|e| e.action == "consent.revoke"));
    assert!(events.iter().any(|e| e.action == "reseller.act"));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reseller_acts_through_management_consent_sqlite() {
    a_reseller_acts_through_management_consent_until_it_is_revoked(TestApp::start().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reseller_acts_through_management_consent_postgres() {
    a_reseller_acts_through_management_consent_until_it_is_revoked(
        TestApp::start_on_postgres().await,
    )
    .await;
}

/// Fabrikam never granted management consent: no button, and the route says why.
async fn without_consent_there_is_no_acting(app: TestApp) {
    let fabrikam = app.fabrikam().id.0;
    assert!(!app.fabrikam().consent(ConsentKind::Management));
    let reseller = sign_in(&app, RESELLER_ADMIN, RESELLER_PASSWORD)
        .await
        .unwrap();
    let (_, page) = text(reseller.get(&format!("/reseller/enterprises/{fabrikam}"))).await;
    assert!(!page.contains("Manage as reseller"), "{page}");
    let (status, page) =
        text(reseller.post_form(&format!("/reseller/enterprises/{fabrikam}/manage"), &[])).await;
    assert_eq!(status, 403, "{page}");
    assert!(
        page.contains("Fabrikam has not granted management consent"),
        "{page}"
    );
    let (status, _) = text(reseller.get("/dashboard")).await;
    assert_eq!(status, 403);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_consent_there_is_no_acting_sqlite() {
    without_consent_there_is_no_acting(TestApp::start().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_consent_there_is_no_acting_postgres() {
    without_consent_there_is_no_acting(TestApp::start_on_postgres().await).await;
}
