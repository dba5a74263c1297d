use crate::app::{TestApp, location};

#[tokio::test]
async fn signed_out_visitors_are_sent_to_sign_in() {
    let app = TestApp::start().await;
    let r = app.get("/dashboard").send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert!(location(&r).starts_with("/sign-in"), "{}", location(&r));
    let r = app.get("/").send().await.unwrap();
    assert!(location(&r).starts_with("/sign-in"), "{}", location(&r));
    // htmx requests navigate the whole window instead of swapping a page into a fragment.
    let r = app
        .get("/dashboard")
        .header("hx-request", "true")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["hx-redirect"], "/sign-in");
    let page = app
        .get("/sign-in")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Sign in to the Enterprise portal"), "{page}");
    assert!(page.contains(r#"href="/auth/microsoft/start""#), "{page}");
}

#[tokio::test]
async fn signed_in_admin_sees_the_dashboard_with_the_main_menu() {
    let app = TestApp::start().await;
    let browser = app.signed_in().await;
    let r = browser.get("/dashboard").send().await.unwrap();
    assert_eq!(r.status(), 200);
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    let page = r.text().await.unwrap();
    for text in [
        "Enterprise Admin Action Items",
        r#"href="/dashboard" aria-current="page">Dashboard"#,
        r#"href="/users">Users"#,
        r#"href="/troubleshoot">Troubleshoot"#,
        "Contoso",
        "Recent activity",
        "Disabled Debra Berger",
    ] {
        assert!(page.contains(text), "missing {text:?} in {page}");
    }
}

#[tokio::test]
async fn session_cookie_is_http_only_lax_and_secure_only_over_https() {
    let app = TestApp::start().await;
    let browser = app.signed_in().await;
    // The first page renews the session, which sets the cookie again.
    let r = browser.get("/dashboard").send().await.unwrap();
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("teamline_session="), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(cookie.contains("Max-Age="), "{cookie}");
    assert!(!cookie.contains("Secure"), "{cookie}");

    let app = TestApp::start_with("https://teamline.example").await;
    let browser = app.signed_in().await;
    let r = browser.get("/dashboard").send().await.unwrap();
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.contains("Secure"), "{cookie}");
}

#[tokio::test]
async fn posts_without_origin_or_token_are_refused() {
    let app = TestApp::start().await;
    let browser = app.signed_in().await;

    // The session cookie alone (what a forged cross-site form would carry at best).
    let r = browser
        .raw_post("/sign-out")
        .form(&[("csrf_token", browser.csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("did not come from a Teamline page")
    );

    // A cross-site page.
    let r = browser
        .raw_post("/sign-out")
        .header("sec-fetch-site", "cross-site")
        .header("origin", "http://evil.example")
        .form(&[("csrf_token", browser.csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    // Same origin, but no token (e.g. a client without fetch metadata and a stale page).
    let r = browser
        .raw_post("/sign-out")
        .header("sec-fetch-site", "same-origin")
        .form(&[("x", "y")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("no security token"));

    // A wrong token in the htmx header.
    let r = browser
        .raw_post("/sign-out")
        .header("sec-fetch-site", "same-origin")
        .header("x-csrf-token", "b".repeat(64))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    // Still signed in after all that.
    assert_eq!(
        browser.get("/dashboard").send().await.unwrap().status(),
        200
    );
}

#[tokio::test]
async fn sign_out_ends_the_session() {
    let app = TestApp::start().await;
    let browser = app.signed_in().await;
    let r = browser.post_form("/sign-out", &[]).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/sign-in?signed_out=1");
    let r = browser.get("/dashboard").send().await.unwrap();
    assert!(location(&r).starts_with("/sign-in"), "{}", location(&r));
    let page = app
        .get("/sign-in?signed_out=1")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("You are signed out."));
}

#[tokio::test]
async fn a_session_whose_enterprise_moved_to_another_tenant_grants_nothing() {
    let app = TestApp::start().await;
    let browser = app
        .session_for(app.contoso.id, "11111111-2222-3333-4444-555555555555")
        .await;
    let r = browser.get("/dashboard").send().await.unwrap();
    assert!(location(&r).starts_with("/sign-in"), "{}", location(&r));
}

#[tokio::test]
async fn unknown_pages_say_what_happened() {
    let app = TestApp::start().await;
    let r = app.get("/no/such/page").send().await.unwrap();
    assert_eq!(r.status(), 404);
    let page = r.text().await.unwrap();
    assert!(page.contains("Page not found"), "{page}");
    assert!(page.contains("Use the main menu"), "{page}");
}

#[tokio::test]
async fn htmx_errors_arrive_as_a_message_fragment() {
    let app = TestApp::start().await;
    let browser = app.signed_in().await;
    let r = browser
        .raw_post("/sign-out")
        .header("hx-request", "true")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(r.headers()["hx-retarget"], "#messages");
    let body = r.text().await.unwrap();
    assert!(
        body.starts_with("<div class=\"notice notice-error\""),
        "{body}"
    );
}

#[tokio::test]
async fn static_files_are_served_from_the_binary() {
    let app = TestApp::start().await;
    let r = app.get("/static/htmx.min.js").send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().starts_with("var htmx="));
    let r = app.get("/static/app.css").send().await.unwrap();
    assert_eq!(r.headers()["content-type"], "text/css; charset=utf-8");
}

#[tokio::test]
async fn a_session_for_an_enterprise_without_a_tenant_grants_nothing() {
    let app = TestApp::start().await;
    let browser = app
        .session_for(app.fabrikam().id, crate::app::CONTOSO_TENANT)
        .await;
    let r = browser.get("/dashboard").send().await.unwrap();
    assert!(location(&r).starts_with("/sign-in"), "{}", location(&r));
}

#[tokio::test]
async fn the_portal_runs_on_postgresql_too() {
    let app = TestApp::start_on_postgres().await;
    let health: serde_json::Value = app
        .get("/healthz")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["database"], "postgres");
    let browser = app.signed_in().await;
    let page = browser
        .get("/users?tab=disabled")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Debra Berger"), "{page}");
    app.stop().await;
}
