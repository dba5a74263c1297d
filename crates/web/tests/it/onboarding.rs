//! Registration behind the invitation link, hop by hop over HTTP: the link's page, Sign in
//! with Microsoft (an account of another tenant refused with the reason, the link still
//! unused), registration (invited → registered), Microsoft's admin consent, Manage User Groups
//! forced before the Dashboard ("All Company" refused with the fix), then the Dashboard.

use crate::app::{Browser, TestApp, location, text};
use crate::reseller::{invitation_link, sign_in as reseller_sign_in};
use crate::signin::{form_action, hidden, sign_in_from};
use teamline_domain::enterprise::{ConsentKind, EnterpriseState};
use teamline_sim::microsoft::demo as ms;
use teamline_testkit::demo::{RESELLER_ADMIN, RESELLER_PASSWORD};

/// Signs in at the simulator's admin-consent page as `upn` and accepts; the answer's URL.
async fn consent_at_microsoft(app: &TestApp, consent_url: &str, upn: &str) -> String {
    let ms_base = consent_url.split("/organizations/").next().unwrap();
    let ms_base = ms_base
        .split(&format!("/{}/", ms::FABRIKAM_TENANT_ID))
        .next()
        .unwrap()
        .to_owned();
    let page = app
        .http
        .get(consent_url)
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
            ("loginfmt", upn),
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
    assert!(r.status().is_redirection(), "{}", r.status());
    location(&r)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_invited_global_admin_registers_consents_and_chooses_sync_groups() {
    let app = TestApp::start().await;
    let fabrikam = app
        .store
        .enterprise_by_slug("fabrikam")
        .await
        .unwrap()
        .unwrap();
    let northwind = reseller_sign_in(&app, RESELLER_ADMIN, RESELLER_PASSWORD)
        .await
        .unwrap();
    let r = northwind
        .post_form(
            &format!("/reseller/enterprises/{}/invitation", fabrikam.id.0),
            &[],
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    let (_, outbox) = text(northwind.get("/reseller/outbox")).await;
    let token = invitation_link(&outbox);

    // The link's page says whom it is for.
    let (status, page) = text(app.get(&format!("/register?invitation={token}"))).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Register Fabrikam with Teamline"), "{page}");
    let start = format!("/auth/microsoft/start?invitation={token}");
    assert!(page.contains(&start), "{page}");
    // A damaged link says so.
    let (status, page) = text(app.get("/register?invitation=abc")).await;
    assert_eq!(status, 400);
    assert!(page.contains("this invitation link is not valid"), "{page}");

    // Contoso's Global Administrator is refused with the reason; the link stays usable.
    let (done, _, _) = sign_in_from(&app, &start, ms::CONTOSO_ADMIN_UPN, ms::ADMIN_PASSWORD).await;
    assert_eq!(done.status(), 403);
    let page = done.text().await.unwrap();
    assert!(page.contains("Registration refused"), "{page}");
    assert!(
        page.contains("you signed in as admin@contoso.example, but this invitation is for admin@fabrikam.example"),
        "{page}"
    );
    let still = app.store.get_enterprise(fabrikam.id).await.unwrap();
    assert_eq!(still.state, EnterpriseState::Invited);
    assert_eq!(still.tenant_id, None);

    // Fabrikam's Global Administrator registers it, and goes on to admin consent.
    let (done, _, session) =
        sign_in_from(&app, &start, ms::FABRIKAM_ADMIN_UPN, ms::ADMIN_PASSWORD).await;
    assert_eq!(done.status(), 303);
    let consent_url = location(&done);
    assert!(
        consent_url.contains(&format!("/{}/v2.0/adminconsent", ms::FABRIKAM_TENANT_ID)),
        "{consent_url}"
    );
    let registered = app.store.get_enterprise(fabrikam.id).await.unwrap();
    assert_eq!(registered.state, EnterpriseState::Registered);
    assert_eq!(
        registered.tenant_id.as_ref().map(|t| t.as_str().to_owned()),
        Some(ms::FABRIKAM_TENANT_ID.to_owned())
    );
    // The link worked once.
    let (again, _, _) =
        sign_in_from(&app, &start, ms::FABRIKAM_ADMIN_UPN, ms::ADMIN_PASSWORD).await;
    let page = again.text().await.unwrap();
    assert!(page.contains("Fabrikam is already registered"), "{page}");

    let callback = consent_at_microsoft(&app, &consent_url, ms::FABRIKAM_ADMIN_UPN).await;
    let mut browser = Browser {
        base: app.url.clone(),
        cookie: session,
        csrf: String::new(),
        http: app.http.clone(),
    };
    let r = browser
        .get(callback.trim_start_matches(&app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/groups");
    assert!(
        app.store
            .get_enterprise(fabrikam.id)
            .await
            .unwrap()
            .consent(ConsentKind::UserSync)
    );

    // Manage User Groups is forced: the Dashboard sends the admin back to it.
    let r = browser.get("/dashboard").send().await.unwrap();
    assert_eq!(location(&r), "/groups");
    let (status, page) = text(browser.get("/groups")).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Choose at least one group"), "{page}");
    browser.csrf = page
        .split("name=\"csrf_token\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    let all_company = ms::group_id(ms::FABRIKAM_TENANT_ID, ms::ALL_COMPANY_GROUP);
    let sync = ms::group_id(ms::FABRIKAM_TENANT_ID, ms::SYNC_GROUP);
    let r = browser
        .post_form("/groups", &[("group", all_company.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("create a dedicated group such as"),
        "the refusal names the fix: {page}"
    );
    let r = browser
        .post_form("/groups", &[("group", sync.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/dashboard");
    let (status, page) = text(browser.get("/dashboard")).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Sync groups saved"), "{page}");
    let groups = app.store.list_sync_groups(fabrikam.id).await.unwrap();
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].display_name, ms::SYNC_GROUP);
    app.stop().await;
}
