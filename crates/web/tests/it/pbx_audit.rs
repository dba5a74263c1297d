//! The PBX page (settings with write-only secrets, Test connection) and the Audit log.

use crate::app::{TestApp, location};
use teamline_domain::audit::{Actor, Audit};
use teamline_domain::enterprise::TenantId;
use teamline_domain::pbx_location::PbxApiAuth;
use teamline_sim::microsoft::demo as ms;
use teamline_sim::netsapiens::DEMO_API_KEY;

pub async fn text(r: reqwest::RequestBuilder) -> (u16, String) {
    let r = r.send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// The PBX location form as a page posts it, with an API key.
pub fn form<'a>(
    sip_domain: &'a str,
    api_base_url: &'a str,
    api_key: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("name", "PBX"),
        ("pbx_type", "netsapiens"),
        ("dns_lookup", "srv"),
        ("sip_domain", sip_domain),
        ("proxy", "sbc.pbx.example"),
        ("voicemail_code", "9901"),
        ("api_base_url", api_base_url),
        ("api_auth", "api_key"),
        ("api_key", api_key),
    ]
}

#[tokio::test]
async fn pbx_settings_are_shown_without_secrets_and_tested() {
    let app = TestApp::start().await;
    let b = app.signed_in().await;
    let e = app.contoso.id;
    let location = app.store.list_pbx_locations(e).await.unwrap()[0].clone();
    let id = location.id.0;

    let (status, page) = text(b.get("/pbx")).await;
    assert_eq!(status, 200);
    assert!(
        page.contains("<code>contoso</code>")
            && page.contains("API key (stored encrypted, not shown)")
    );
    assert!(!page.contains(DEMO_API_KEY), "the key is never shown");
    let (_, edit) = text(b.get(&format!("/pbx/{id}/edit"))).await;
    assert!(
        !edit.contains(DEMO_API_KEY),
        "the key is not in the edit form either"
    );

    let (status, report) = text(
        b.post_form(&format!("/pbx/{id}/test"), &[])
            .header("hx-request", "true"),
    )
    .await;
    assert_eq!(status, 200);
    assert!(report.contains("everything works"), "{report}");

    // Bad input: every problem named by field, nothing saved, the typed key not echoed.
    let url = location.settings.api_base_url.as_str().to_owned();
    let (status, page) = text(b.post_form(
        &format!("/pbx/{id}/edit"),
        &form("con toso", "ftp://x", "typed-secret-1"),
    ))
    .await;
    assert_eq!(status, 200);
    assert!(
        page.contains("a space") && page.contains("https://"),
        "{page}"
    );
    assert!(!page.contains("typed-secret-1"));
    assert_eq!(
        app.store
            .get_pbx_location(e, location.id)
            .await
            .unwrap()
            .settings
            .sip_domain
            .as_str(),
        "contoso"
    );

    // Saving with the key left blank keeps the stored key.
    let r = b
        .post_form(&format!("/pbx/{id}/edit"), &form("contoso", &url, ""))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(location_header(&r), "/pbx");
    match app
        .store
        .pbx_location_auth(e, location.id)
        .await
        .unwrap()
        .auth
    {
        PbxApiAuth::ApiKey { api_key } => {
            assert_eq!(secrecy::ExposeSecret::expose_secret(&api_key), DEMO_API_KEY)
        }
        PbxApiAuth::OAuth { .. } => panic!("still an API key"),
    }
    // The PBX is reached with the saved settings (the client is kept for the next calls).
    let ext = teamline_domain::sip::Extension::parse("1000").unwrap();
    app.engine
        .extension_devices(e, location.id, &ext)
        .await
        .unwrap();

    // A wrong key is reported by Test connection with its own message.
    b.post_form(
        &format!("/pbx/{id}/edit"),
        &form("contoso", &url, "not-the-key"),
    )
    .send()
    .await
    .unwrap();
    // The next call to the PBX already uses the edited key.
    let err = app
        .engine
        .extension_devices(e, location.id, &ext)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("rejected the API key"), "{err}");
    let (_, report) = text(
        b.post_form(&format!("/pbx/{id}/test"), &[])
            .header("hx-request", "true"),
    )
    .await;
    assert!(report.contains("rejected the API key"), "{report}");

    // Another (registered) enterprise's admin gets 404 for this location.
    let fabrikam_tenant = TenantId::parse(ms::FABRIKAM_TENANT_ID).unwrap();
    let audit = Audit::new(Actor::System("test".into()), "test", "Fabrikam registered");
    app.store
        .register_enterprise(app.fabrikam().id, &fabrikam_tenant, &audit)
        .await
        .unwrap();
    let fabrikam = app
        .session_for(app.fabrikam().id, ms::FABRIKAM_TENANT_ID)
        .await;
    let (status, _) = text(fabrikam.get(&format!("/pbx/{id}/edit"))).await;
    assert_eq!(status, 404);
    let (status, _) = text(fabrikam.post_form(&format!("/pbx/{id}/test"), &[])).await;
    assert_eq!(status, 404);

    // Each change is in the Audit log.
    let (status, audit) = text(b.get("/audit")).await;
    assert_eq!(status, 200);
    assert!(audit.contains("Changed PBX location PBX"), "{audit}");
    assert!(
        !audit.contains("not-the-key"),
        "the audit log holds no secret"
    );
}

fn location_header(r: &reqwest::Response) -> String {
    location(r)
}
