//! Test call from the Enterprise portal with the demo's real SIP plane (the gateway's Kamailio
//! and rtpengine, the stand-in PBX's Kamailio registrar): the call reaches the PBX as Adele's
//! device 1000tm, the PBX rings extension 1000's registered devices — here only 1000tm, whose
//! Teams side the gateway does not ring for a test call — and answers 480. The user's page
//! shows that leg in words and the Microsoft side's OPTIONS state, the Calls page shows the
//! call, and a second test call within a minute is refused with the reason.

use std::collections::HashMap;
use std::time::{Duration, Instant};
use teamline::commands::demo::DemoStack;
use teamline_domain::audit::Actor;
use teamline_domain::ids::PbxUserId;
use teamline_domain::pbx_user::PbxUserForm;
use teamline_domain::registration::RegistrationStatus;
use teamline_sim::microsoft::demo as ms;
use teamline_web::session::{EnterpriseAdmin, Principal, StoreSessions};
use tower_sessions::SessionStore;
use tower_sessions::session::{Id, Record};

/// A signed-in Contoso admin's browser, as a Teamline page sends its requests.
pub(crate) struct Browser {
    base: String,
    cookie: String,
    csrf: String,
    http: reqwest::Client,
}

impl Browser {
    pub(crate) async fn contoso_admin(stack: &DemoStack) -> Browser {
        let principal = Principal::EnterpriseAdmin(EnterpriseAdmin {
            enterprise_id: stack.contoso.id,
            tenant_id: ms::CONTOSO_TENANT_ID.to_owned(),
            object_id: "admin-oid".into(),
            username: ms::CONTOSO_ADMIN_UPN.into(),
            display_name: "Contoso Admin".into(),
            role: "Global Administrator".into(),
        });
        let csrf = "a".repeat(64);
        let mut record = Record {
            id: Id::default(),
            data: HashMap::from([
                (
                    "principal".to_owned(),
                    serde_json::to_value(&principal).unwrap(),
                ),
                ("csrf".to_owned(), serde_json::json!(csrf)),
            ]),
            expiry_date: time::OffsetDateTime::now_utc() + time::Duration::hours(1),
        };
        StoreSessions::new(stack.store.clone())
            .create(&mut record)
            .await
            .unwrap();
        Browser {
            base: stack.url.clone(),
            cookie: format!("teamline_session={}", record.id),
            csrf,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
        }
    }

    pub(crate) async fn get(&self, path: &str) -> (u16, String) {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    /// A POST as the page's form sends it; answers the redirect's target.
    async fn post(&self, path: &str) -> String {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .header("sec-fetch-site", "same-origin")
            .header("origin", &self.base)
            .form(&[("csrf_token", self.csrf.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 303, "{path}");
        r.headers()["location"].to_str().unwrap().to_owned()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_test_call_reaches_the_pbx_side_and_shows_on_the_users_page_and_the_calls_page() {
    let dir = tempfile::tempdir().unwrap();
    let (stack, sip) = crate::gateway::demo_with_sip(dir.path()).await;
    assert!(
        sip.direct_routing.is_some(),
        "the demo's gateway has no calls"
    );
    let adele = set_up_adele(&stack).await;

    let b = Browser::contoso_admin(&stack).await;
    let (status, page) = b.get(&format!("/users/{adele}")).await;
    assert_eq!(status, 200);
    assert!(page.contains(r#"id="test-call-button""#), "{page}");

    let to = b.post(&format!("/users/{adele}/test-call")).await;
    let call_id = to
        .split("test_call=")
        .nth(1)
        .and_then(|rest| rest.split('#').next())
        .unwrap_or_else(|| panic!("the test call's result is shown: {to}"))
        .to_owned();
    assert!(call_id.starts_with("teamline-test-"), "{call_id}");

    // The panel (as htmx asks for it) until the PBX's answer is in.
    let panel_path = format!("/users/{adele}/test-call/{call_id}");
    let deadline = Instant::now() + Duration::from_secs(60);
    let panel = loop {
        let (status, panel) = b.get(&panel_path).await;
        assert_eq!(status, 200, "{panel}");
        if panel.contains("Failed:") && panel.contains("pstnhub") {
            break panel;
        }
        assert!(
            Instant::now() < deadline,
            "the test call never ended: {panel}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert!(
        panel.contains("the PBX answered 480"),
        "the PBX rang only 1000tm, whose Teams side a test call does not ring: {panel}"
    );
    // The Microsoft side: each of the region's proxies with its OPTIONS state, as the
    // gateway's dispatcher sees it.
    let microsoft = panel
        .split(r#"id="test-call-microsoft">"#)
        .nth(1)
        .and_then(|rest| rest.split("</td>").next())
        .unwrap_or_default();
    for proxy in ["sip.pstnhub.microsoft.com", "sip2.pstnhub.microsoft.com"] {
        assert!(
            microsoft.contains(&format!("{proxy} answers OPTIONS"))
                || microsoft.contains(&format!("{proxy} does not answer OPTIONS"))
                || microsoft.contains(&format!("{proxy} is being tried again")),
            "{panel}"
        );
    }
    assert!(
        !panel.contains("hx-trigger"),
        "a finished call is not polled: {panel}"
    );

    // The user's page shows the same result, and the Calls page the call.
    let (_, page) = b.get(&to).await;
    assert!(page.contains("the PBX answered 480"), "{page}");
    let (status, calls) = b.get("/calls").await;
    assert_eq!(status, 200);
    assert!(
        calls.contains(&call_id),
        "the Calls page lists the test call: {calls}"
    );
    let (status, call) = b.get(&format!("/calls/{call_id}")).await;
    assert_eq!(status, 200);
    assert!(call.contains("480"), "{call}");
    assert!(call.contains("Teamline test call"), "{call}");

    // Another test call of Adele within the minute is refused, and the page says why.
    let back = b.post(&format!("/users/{adele}/test-call")).await;
    assert!(!back.contains("test_call="), "{back}");
    let (_, page) = b.get(&back).await;
    assert!(
        page.contains("Test call not placed") && page.contains("wait"),
        "{page}"
    );

    sip.stop().await;
    stack.stop().await.unwrap();
}

/// Sets Adele up (extension 1000, device 1000tm, +11000) in the demo and waits until the
/// gateway has 1000tm registered at the PBX.
pub(crate) async fn set_up_adele(stack: &DemoStack) -> PbxUserId {
    let e = stack.contoso.id;
    let store = stack.engine.store();
    let form = PbxUserForm {
        pbx_location: store.list_pbx_locations(e).await.unwrap()[0].id.to_string(),
        voice_route: store.list_voice_routes(e).await.unwrap()[0].id.to_string(),
        teams_user: ms::contoso_user_id("Adele Vance"),
        sip_user: "1000".into(),
        phone_number: "11000".into(),
        device: "1000tm".into(),
        ..PbxUserForm::new_with_defaults()
    };
    let adele = stack
        .engine
        .save_pbx_user(
            e,
            &Actor::EnterpriseAdmin(ms::CONTOSO_ADMIN_UPN.into()),
            &form,
            None,
        )
        .await
        .unwrap()
        .id;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let regs = store
            .list_registrations(Some(e), Some(&[adele]))
            .await
            .unwrap();
        if regs
            .iter()
            .any(|r| r.state == RegistrationStatus::Registered)
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "1000tm never registered: {regs:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    adele
}
