//! What an attacker with an enterprise admin's session, or with no session at all, must not
//! get: stored PBX secrets sent to a host or domain of their choosing, another enterprise's
//! PBX domain, requests into the operator's network, a process pinned by slow clients, open
//! metrics, plain-text framework answers.

use crate::app::{Browser, TestApp};
use crate::pbx_audit::{form, text};
use std::sync::Arc;
use std::time::Duration;
use teamline_domain::audit::Actor;
use teamline_domain::pbx_location::PbxLocationForm;
use teamline_engine::{ApiConnector, Engine, EngineSettings, SaveError};
use teamline_sim::netsapiens::DEMO_API_KEY;
use teamline_sim::recorder::{Answer, RecordingServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The message shown under `field` (its `id="error-<field>"` paragraph).
fn field_error(page: &str, field: &str) -> String {
    let key = format!(r#"id="error-{field}">"#);
    let Some(at) = page.find(&key) else {
        return String::new();
    };
    page[at + key.len()..]
        .split("</p>")
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// A PBX location form with an API key, as the engine takes it.
fn location_form(sip_domain: &str, api_base_url: &str, api_key: &str) -> PbxLocationForm {
    let fields = form(sip_domain, api_base_url, api_key);
    let get = |name: &str| {
        fields
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| (*v).to_owned())
            .unwrap_or_default()
    };
    PbxLocationForm {
        name: get("name"),
        pbx_type: get("pbx_type"),
        dns_lookup: get("dns_lookup"),
        sip_domain: get("sip_domain"),
        proxy: get("proxy"),
        voicemail_code: get("voicemail_code"),
        api_base_url: get("api_base_url"),
        api_auth: get("api_auth"),
        api_key: get("api_key"),
        ..Default::default()
    }
}

/// A host that answers like a NetSapiens API and records everything it receives.
async fn stranger() -> RecordingServer {
    RecordingServer::answering(
        Answer::new(200, r#"{"apiversion":"44.4.0"}"#).header("content-type", "application/json"),
    )
    .await
    .unwrap()
}

async fn contoso_location(app: &TestApp) -> teamline_domain::pbx_location::PbxLocation {
    app.store.list_pbx_locations(app.contoso.id).await.unwrap()[0].clone()
}

#[tokio::test]
async fn a_stored_key_is_never_sent_to_a_changed_host_or_domain_on_save_or_test() {
    let app = TestApp::start().await;
    let b = app.signed_in().await;
    let location = contoso_location(&app).await;
    let id = location.id.0;
    let stranger = stranger().await;
    let elsewhere = format!("{}/ns-api/v2", stranger.base_url);
    let url = location.settings.api_base_url.as_str().to_owned();

    for (domain, api) in [("contoso", elsewhere.as_str()), ("fabrikam", url.as_str())] {
        // Save and Test connection of the typed settings, with the key left blank.
        for path in [format!("/pbx/{id}/edit"), format!("/pbx/{id}/edit/test")] {
            let (status, page) = text(b.post_form(&path, &form(domain, api, ""))).await;
            assert_eq!(status, 200, "{path}");
            let message = field_error(&page, "api_key");
            assert!(
                message.contains("required again")
                    && message.contains("only sent to the API Base URL and SIP Domain"),
                "{path}: {message}"
            );
            assert!(!page.contains("everything works"), "{path}");
        }
    }
    // Nothing reached the stranger, and nothing changed.
    assert_eq!(stranger.connections(), 0, "{:?}", stranger.requests());
    assert_eq!(contoso_location(&app).await, location);

    // Testing the stored location still works, with the stored settings.
    let (_, report) = text(
        b.post_form(&format!("/pbx/{id}/test"), &[])
            .header("hx-request", "true"),
    )
    .await;
    assert!(report.contains("everything works"), "{report}");

    // A key the admin types goes where the admin says, and only that key.
    let (status, page) = text(b.post_form(
        &format!("/pbx/{id}/edit/test"),
        &form("contoso", &elsewhere, "typed-for-the-stranger"),
    ))
    .await;
    assert_eq!(status, 200);
    assert!(page.contains("Nothing is saved"), "{page}");
    assert!(!page.contains("typed-for-the-stranger"), "not echoed");
    assert!(stranger.received("typed-for-the-stranger"));
    assert!(!stranger.received(DEMO_API_KEY));
    assert_eq!(contoso_location(&app).await, location);
}

#[tokio::test]
async fn another_enterprises_sip_domain_is_refused_naming_the_field() {
    let app = TestApp::start().await;
    let b = app.signed_in().await;
    let location = contoso_location(&app).await;
    let id = location.id.0;
    let url = location.settings.api_base_url.as_str().to_owned();
    // Fabrikam's PBX location on its own domain of the same reseller.
    let fabrikam = location_form("fabrikam", &url, DEMO_API_KEY);
    app.engine
        .create_pbx_location(
            app.fabrikam().id,
            &Actor::PlatformOperator("test".into()),
            &fabrikam,
        )
        .await
        .unwrap();

    // Contoso's admin types the reseller-wide key (it reaches every domain of the reseller):
    // Save and Test connection are refused on the SIP Domain field.
    for path in [
        format!("/pbx/{id}/edit"),
        format!("/pbx/{id}/edit/test"),
        "/pbx/new/test".to_owned(),
        "/pbx/new".to_owned(),
    ] {
        let (status, page) = text(b.post_form(&path, &form("fabrikam", &url, DEMO_API_KEY))).await;
        assert_eq!(status, 200, "{path}");
        let message = field_error(&page, "sip_domain");
        assert!(message.contains("another enterprise"), "{path}: {message}");
        assert!(
            !message.contains("Fabrikam"),
            "whose is not said: {message}"
        );
        assert!(!page.contains("2000"), "no extension of Fabrikam's: {path}");
    }
    assert_eq!(contoso_location(&app).await, location);
    assert_eq!(
        app.store
            .list_pbx_locations(app.contoso.id)
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn http_and_private_pbx_apis_are_refused_unless_the_operator_allows_them() {
    let app = TestApp::start().await;
    // `teamline serve` without --pbx-allow-http / --pbx-allow-private-network.
    let strict = Engine::new(
        app.store.clone(),
        teamline_testkit::microsoft_client(&app.microsoft.url, &app.url, 4).unwrap(),
        Arc::new(ApiConnector::default()),
        EngineSettings::default(),
    );
    let location = contoso_location(&app).await;
    let stranger = stranger().await;
    let actor = Actor::PlatformOperator("test".into());
    for (url, says) in [
        (format!("{}/ns-api/v2", stranger.base_url), "https"),
        ("https://127.0.0.1:9/ns-api/v2".to_owned(), "address"),
        ("https://10.1.2.3/ns-api/v2".to_owned(), "address"),
        ("https://169.254.169.254/ns-api/v2".to_owned(), "address"),
    ] {
        let form = location_form("contoso", &url, "typed-key");
        let saved = strict
            .update_pbx_location(app.contoso.id, &actor, location.id, &form)
            .await;
        let tested = strict
            .test_unsaved_pbx_settings(app.contoso.id, Some(location.id), &form)
            .await;
        for outcome in [saved.map(drop), tested.map(drop)] {
            match outcome {
                Err(SaveError::Fields(errors)) => {
                    let message = errors.for_field("API Base URL").unwrap_or_default();
                    assert!(message.contains(says), "{url}: {message}");
                }
                other => panic!("{url}: {other:?}"),
            }
        }
    }
    assert_eq!(stranger.connections(), 0);
    assert_eq!(contoso_location(&app).await, location);
    // The demo's and the tests' connector allows the simulator's http://127.0.0.1.
    assert!(
        app.engine
            .test_pbx_connection(app.contoso.id, location.id)
            .await
            .unwrap()
            .ok()
    );
}

async fn app_with(options: teamline_web::WebOptions) -> TestApp {
    TestApp::from(teamline_testkit::TestApp::builder().web_options(options)).await
}

#[tokio::test]
async fn slow_and_half_sent_requests_do_not_pin_the_server() {
    let app = app_with(teamline_web::WebOptions {
        header_read_timeout: Duration::from_secs(2),
        ..Default::default()
    })
    .await;
    let addr = app.url.trim_start_matches("http://").to_owned();
    // 1 500 clients that start a request and never finish its headers.
    let mut slow = Vec::new();
    for _ in 0..1_500 {
        let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            .await
            .unwrap();
        slow.push(s);
    }
    // The portal still answers others meanwhile.
    let r = app.get("/healthz").send().await.unwrap();
    assert_eq!(r.status(), 200);
    // And the server closes every one of the slow connections itself.
    for mut s in slow {
        let mut buf = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(60), s.read_to_end(&mut buf)).await;
        assert!(read.is_ok(), "a half-sent request was kept open");
    }
}

#[tokio::test]
async fn metrics_need_their_bearer_token_when_one_is_set() {
    let app = app_with(teamline_web::WebOptions {
        metrics_token: Some("metrics-token-7d1e".to_owned().into()),
        ..Default::default()
    })
    .await;
    let r = app.get("/metrics").send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["www-authenticate"], "Bearer");
    let r = app
        .get("/metrics")
        .bearer_auth("wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = app
        .get("/metrics")
        .bearer_auth("metrics-token-7d1e")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("http_requests"));
}

#[tokio::test]
async fn metrics_can_live_on_their_own_address_only() {
    let app = app_with(teamline_web::WebOptions {
        metrics_on_portal: false,
        ..Default::default()
    })
    .await;
    let r = app.get("/metrics").send().await.unwrap();
    assert_eq!(r.status(), 404);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let metrics_url = format!("http://{}/metrics", listener.local_addr().unwrap());
    let state = teamline_web::AppState::new(
        app.store.clone(),
        app.engine.clone(),
        teamline_web::metrics::install(),
        app.url.clone(),
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(teamline_web::serve_metrics(listener, state, async move {
        let _ = stopped.await;
    }));
    let r = app.http.get(&metrics_url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let _ = stop.send(());
    served.await.unwrap().unwrap();
}

#[tokio::test]
async fn browsers_are_told_to_keep_to_https_when_served_over_https() {
    let https = TestApp::start_with("https://teamline.example").await;
    let r = https.get("/sign-in").send().await.unwrap();
    assert_eq!(r.headers()["strict-transport-security"], "max-age=31536000");
    let http = TestApp::start().await;
    let r = http.get("/sign-in").send().await.unwrap();
    assert!(r.headers().get("strict-transport-security").is_none());
}

#[tokio::test]
async fn requests_the_framework_refuses_get_the_portal_error_page() {
    let app = TestApp::start().await;
    let b: Browser = app.signed_in().await;
    let r = b.get("/users?page=abc").send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let page = r.text().await.unwrap();
    assert!(
        page.contains("Teamline could not read this request"),
        "{page}"
    );
    let r = b
        .raw_post("/pbx/new")
        .header("sec-fetch-site", "same-origin")
        .header("x-csrf-token", &b.csrf)
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("not a form Teamline reads")
    );
}

#[tokio::test]
async fn a_page_past_the_end_of_the_users_shows_the_last_page() {
    let app = TestApp::start().await;
    let b = app.signed_in().await;
    for tab in ["licensed", "disabled", "deleted"] {
        let (status, page) = text(b.get(&format!("/users?tab={tab}&page=7"))).await;
        assert_eq!(status, 200);
        let pager = page.split(r#"<div class="pager">"#).nth(1).unwrap();
        let shown = pager
            .split(r#"<span class="muted small">"#)
            .nth(1)
            .unwrap()
            .split("</span>")
            .next()
            .unwrap();
        if shown.is_empty() {
            continue;
        }
        let (range, total) = shown.split_once(" of ").unwrap();
        let (first, last) = range.split_once('–').unwrap();
        let [first, last, total]: [u64; 3] =
            [first, last, total].map(|n| n.trim().parse().unwrap());
        assert!(
            1 <= first && first <= last && last <= total,
            "{tab}: {first}–{last} of {total}"
        );
    }
}
