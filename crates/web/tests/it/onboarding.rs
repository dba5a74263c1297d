//! Registration behind the invitation link, hop by hop over HTTP: the link's page, Sign in
//! with Microsoft (an account of another tenant refused with the reason, the link still
//! unused), registration (invited → registered), Microsoft's admin consent, Manage User Groups
//! forced before the Dashboard ("All Company" refused with the fix), then the Dashboard with
//! Teamline's Direct Routing set-up (its TXT record published in a real Knot DNS zone that the
//! simulated Microsoft checks), the reseller's page showing the same steps, and the region
//! selectable in SET UP PBX USER; then management consent, under which the reseller acts in
//! Fabrikam's portal and the audit logs say "reseller admin … for Fabrikam".

use crate::app::{Browser, TestApp, location, text};
use crate::reseller::{invitation_link, sign_in as reseller_sign_in};
use crate::signin::{form_action, hidden, sign_in_from};
use secrecy::SecretString;
use std::sync::Arc;
use teamline_dns::testing::{KnotConfig, TestTsigKey};
use teamline_dns::{Rfc2136Publisher, Rfc2136Settings, TsigKey};
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
async fn the_invited_global_admin_registers_consents_chooses_sync_groups_and_gets_direct_routing() {
    let dir = tempfile::tempdir().unwrap();
    let key = TestTsigKey::generate("teamline.");
    let knot = KnotConfig::new("sbc.example.net")
        .update_key(key.clone())
        .start(dir.path())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let settings = teamline_engine::EngineSettings {
        directory_sync_every: None,
        reconcile_every: None,
        ..Default::default()
    };
    let app = TestApp::from(
        teamline_testkit::TestApp::builder()
            .settings(settings)
            .run_jobs("onboarding-tests")
            .microsoft_config(teamline_sim::microsoft::SimConfig {
                dns_nameserver: Some(knot.addr),
                ..Default::default()
            }),
    )
    .await;
    let publisher = Rfc2136Publisher::new(&Rfc2136Settings::new(
        knot.server(),
        "sbc.example.net",
        TsigKey::hmac_sha256(&key.name, SecretString::from(key.secret_base64.clone())),
    ))
    .unwrap();
    assert!(app.engine.set_dns_publisher(Arc::new(publisher)));
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

    // Consent started Teamline's Direct Routing set-up of both regions. Admin consent alone
    // does not give Teamline's app the Teams Administrator role the Teams admin surface needs:
    // the step stops with Microsoft's refusal and what to do, on the Dashboard.
    crate::app::eventually("the SBC step is refused", || async {
        app.engine
            .direct_routing_setups(fabrikam.id)
            .await
            .unwrap()
            .iter()
            .all(|(_, s)| s.summary() == teamline_domain::direct_routing::StepState::Failed)
    })
    .await;
    let (_, page) = text(browser.get("/dashboard")).await;
    assert!(
        page.contains("fabrikam.useast2.sbc.example.net verified"),
        "{page}"
    );
    assert!(
        page.contains("the Teams Administrator role in that tenant"),
        "{page}"
    );
    assert!(page.contains(r#"action="/direct-routing""#), "{page}");
    // The Global Administrator assigns the role in Entra, and sets up Direct Routing again.
    app.microsoft
        .sim
        .tenant(ms::FABRIKAM_TENANT_ID)
        .unwrap()
        .set_consent(teamline_sim::microsoft::ConsentState {
            granted: true,
            graph_roles: None,
            teams_admin: None,
            service_principal_roles: None,
        });
    let r = browser
        .post_form("/direct-routing", &[])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    crate::app::eventually("Fabrikam is ready for Direct Routing", || async {
        app.store.get_enterprise(fabrikam.id).await.unwrap().state
            == EnterpriseState::DirectRoutingReady
            && app
                .store
                .list_voice_routes(fabrikam.id)
                .await
                .unwrap()
                .len()
                == 2
    })
    .await;
    let (_, page) = text(browser.get("/dashboard")).await;
    assert!(page.contains("Direct Routing: US East 2"), "{page}");
    assert!(page.contains("Direct Routing set-up started"), "{page}");
    assert!(
        page.contains("Publish its TXT verification record"),
        "{page}"
    );
    assert!(page.contains("US East 2 created"), "{page}");
    assert!(!page.contains("badge badge-bad"), "{page}");
    assert_eq!(
        knot.txt("fabrikam.uswest.sbc.example.net").unwrap().len(),
        1,
        "the record is in the zone"
    );
    // The reseller sees the same steps and the new state.
    let (_, page) = text(northwind.get(&format!("/reseller/enterprises/{}", fabrikam.id.0))).await;
    assert!(page.contains("Direct Routing ready"), "{page}");
    assert!(page.contains("Direct Routing: US West"), "{page}");
    // Both regions are selectable in SET UP PBX USER.
    let (status, page) = text(browser.get("/users/new")).await;
    assert_eq!(status, 200, "{page}");
    let select = &page[page.find(r#"name="voice_route""#).unwrap()..];
    let select = &select[..select.find("</select>").unwrap()];
    assert!(
        select.contains("US East 2") && select.contains("US West"),
        "{select}"
    );

    // Fabrikam lets its reseller manage it; the reseller acts there and both logs say for whom.
    let r = browser
        .post_form("/consent/management", &[])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&r), "/dashboard");
    let r = northwind
        .post_form(
            &format!("/reseller/enterprises/{}/manage", fabrikam.id.0),
            &[],
        )
        .send()
        .await
        .unwrap();
    assert_eq!(location(&r), "/dashboard");
    let (status, page) = text(northwind.get("/dashboard")).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("You are acting for Fabrikam"), "{page}");
    let (status, _) = text(northwind.post_form("/dashboard/sync-teams-users", &[])).await;
    assert!(status < 400, "{status}");
    let who = format!("reseller admin {RESELLER_ADMIN} for Fabrikam");
    let (_, page) = text(browser.get("/audit")).await;
    assert!(page.contains(&who), "{page}");
    let (_, page) = text(northwind.get("/reseller/audit")).await;
    assert!(page.contains(&who), "{page}");
    app.stop().await;
}
