//! "Sign in with Microsoft" against the simulated Entra ID, followed hop by hop.

use crate::app::{TestApp, location};
use teamline_sim::microsoft::demo as ms;

fn cookie_of(r: &reqwest::Response) -> Option<String> {
    named_cookie(r, "teamline_session")
}

fn named_cookie(r: &reqwest::Response, name: &str) -> Option<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with(&format!("{name}=")))
        .map(str::to_owned)
}

/// The value of `name="<name>" value="…"` in a simulator page.
pub fn hidden(html: &str, name: &str) -> String {
    let key = format!(r#"name="{name}" value=""#);
    let start = html
        .find(&key)
        .unwrap_or_else(|| panic!("no {name} in {html}"))
        + key.len();
    html[start..].split('"').next().unwrap().to_owned()
}

pub fn form_action(html: &str, form_id: &str) -> String {
    let at = html.find(&format!(r#"id="{form_id}""#)).unwrap();
    let key = r#"action=""#;
    let start = html[at..].find(key).unwrap() + at + key.len();
    html[start..].split('"').next().unwrap().to_owned()
}

/// What the admin ends up with after signing in at the simulator as `upn`: the response of
/// Teamline's callback, the sign-in cookie sent to the callback and the session cookie after.
async fn sign_in(app: &TestApp, upn: &str, password: &str) -> (reqwest::Response, String, String) {
    sign_in_from(app, "/auth/microsoft/start", upn, password).await
}

/// [`sign_in`] from the sign-in link `start` (e.g. one carrying the page to open afterwards).
pub(crate) async fn sign_in_from(
    app: &TestApp,
    start: &str,
    upn: &str,
    password: &str,
) -> (reqwest::Response, String, String) {
    let start = app.get(start).send().await.unwrap();
    assert_eq!(start.status(), 303);
    assert_eq!(cookie_of(&start), None, "no session before sign-in");
    let before = named_cookie(&start, "teamline_sign_in")
        .expect("the sign-in start sets its sealed cookie")
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let authorize = location(&start);
    let ms_base = authorize
        .split("/organizations/")
        .next()
        .unwrap()
        .to_owned();

    let page = app
        .http
        .get(&authorize)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let flow = hidden(&page, "flow");
    let action = form_action(&page, "signin-form");
    let mut r = app
        .http
        .post(format!("{ms_base}{action}"))
        .form(&[
            ("flow", flow.as_str()),
            ("loginfmt", upn),
            ("passwd", password),
        ])
        .send()
        .await
        .unwrap();
    if r.status() == 200 {
        // A tenant that never consented shows its consent screen first.
        let page = r.text().await.unwrap();
        assert!(page.contains("consent-form"), "{page}");
        let action = form_action(&page, "consent-form");
        r = app
            .http
            .post(format!("{ms_base}{action}"))
            .form(&[
                ("flow", hidden(&page, "flow").as_str()),
                ("decision", "accept"),
            ])
            .send()
            .await
            .unwrap();
    }
    assert!(
        r.status().is_redirection(),
        "Microsoft sends the browser back"
    );
    let callback = location(&r);
    assert!(
        callback.starts_with(&format!("{}/auth/microsoft/callback?", app.url)),
        "{callback}"
    );
    let done = app
        .http
        .get(&callback)
        .header("cookie", &before)
        .send()
        .await
        .unwrap();
    let after = cookie_of(&done)
        .and_then(|c| c.split(';').next().map(str::to_owned))
        .unwrap_or_default();
    (done, before, after)
}

#[tokio::test]
async fn global_administrator_gets_in_with_a_new_session_id() {
    let app = TestApp::start().await;
    let (done, before, after) = sign_in(&app, ms::CONTOSO_ADMIN_UPN, ms::ADMIN_PASSWORD).await;
    assert_eq!(done.status(), 303);
    assert_eq!(location(&done), "/dashboard");
    assert!(
        !after.is_empty() && after != before,
        "the session id is rotated at sign-in"
    );
    let page = app
        .get("/dashboard")
        .header("cookie", &after)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    assert!(page.contains(ms::CONTOSO_ADMIN_NAME), "{page}");
    assert!(page.contains("Global Administrator"), "{page}");
    assert!(
        page.contains("signed in (Global Administrator)"),
        "the sign-in is in the activity: {page}"
    );
    // The sign-in cookie is no session.
    let r = app
        .get("/dashboard")
        .header("cookie", &before)
        .send()
        .await
        .unwrap();
    assert!(location(&r).starts_with("/sign-in"), "{}", location(&r));
}

#[tokio::test]
async fn sign_in_opens_the_page_that_was_asked_for() {
    let app = TestApp::start().await;
    let asked = app.get("/users?tab=disabled").send().await.unwrap();
    let to = location(&asked);
    assert_eq!(to, "/sign-in?next=%2Fusers%3Ftab%3Ddisabled");
    assert_eq!(
        cookie_of(&asked),
        None,
        "an anonymous visit writes no session"
    );
    let page = app.get(&to).send().await.unwrap().text().await.unwrap();
    let start = "/auth/microsoft/start?next=%2Fusers%3Ftab%3Ddisabled";
    assert!(page.contains(&format!(r#"href="{start}""#)), "{page}");
    let (done, _, after) =
        sign_in_from(&app, start, ms::CONTOSO_ADMIN_UPN, ms::ADMIN_PASSWORD).await;
    assert_eq!(done.status(), 303);
    assert_eq!(location(&done), "/users?tab=disabled");
    let page = app
        .get("/users?tab=disabled")
        .header("cookie", &after)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    // Another site is never a deep link.
    let r = app
        .get("/auth/microsoft/start?next=%2F%2Fevil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    app.stop().await;
}

#[tokio::test]
async fn anonymous_sign_in_starts_store_nothing() {
    let app = TestApp::start().await;
    let mut starts = Vec::new();
    for _ in 0..10_000 {
        let r = app.get("/auth/microsoft/start").send().await.unwrap();
        assert_eq!(r.status(), 303);
        // A session row is written only with a session cookie: none here.
        assert_eq!(cookie_of(&r), None);
        let cookie = named_cookie(&r, "teamline_sign_in").unwrap();
        assert!(cookie.contains("HttpOnly"), "{cookie}");
        assert!(cookie.contains("Path=/auth/microsoft"), "{cookie}");
        assert!(cookie.contains("Max-Age=600"), "{cookie}");
        starts.push(cookie);
    }
    // Each start is its own sign-in.
    starts.sort();
    starts.dedup();
    assert_eq!(starts.len(), 10_000);
}

#[tokio::test]
async fn an_altered_sign_in_cookie_is_refused() {
    let app = TestApp::start().await;
    let start = app.get("/auth/microsoft/start").send().await.unwrap();
    let cookie = named_cookie(&start, "teamline_sign_in").unwrap();
    let value = cookie.split(';').next().unwrap();
    let last = value.chars().last().unwrap();
    let altered = format!(
        "{}{}",
        &value[..value.len() - 1],
        if last == '0' { '1' } else { '0' }
    );
    let r = app
        .get("/auth/microsoft/callback?code=x&state=y")
        .header("cookie", altered)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // The used cookie is removed.
    assert!(
        named_cookie(&r, "teamline_sign_in")
            .unwrap()
            .contains("Max-Age=0")
    );
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("not started from this browser")
    );
}

#[tokio::test]
async fn a_user_who_is_not_an_administrator_is_refused_with_the_reason() {
    let app = TestApp::start().await;
    let (done, _, after) = sign_in(&app, ms::CONTOSO_NON_ADMIN_UPN, ms::USER_PASSWORD).await;
    assert_eq!(done.status(), 403);
    let page = done.text().await.unwrap();
    assert!(
        page.contains("AdeleV@contoso.example is not a Global Administrator of Contoso"),
        "{page}"
    );
    // The same rule as the sign-in page states.
    assert!(
        page.contains("Teams Administrators once a Global Administrator has granted enterprise management consent"),
        "{page}"
    );
    assert!(
        after.is_empty() || {
            let r = app
                .get("/dashboard")
                .header("cookie", &after)
                .send()
                .await
                .unwrap();
            location(&r) == "/sign-in"
        }
    );
}

#[tokio::test]
async fn a_teams_administrator_gets_in_once_management_consent_is_granted() {
    // The demo's Contoso granted enterprise management consent.
    let app = TestApp::start().await;
    let (done, _, after) = sign_in(&app, ms::CONTOSO_TEAMS_ADMIN_UPN, ms::USER_PASSWORD).await;
    assert_eq!(location(&done), "/dashboard", "{:?}", done.status());
    let page = app
        .get("/dashboard")
        .header("cookie", &after)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Teams Administrator"), "{page}");
}

#[tokio::test]
async fn an_administrator_of_an_unregistered_tenant_is_refused_with_the_reason() {
    let app = TestApp::start().await;
    let (done, _, _) = sign_in(&app, ms::FABRIKAM_ADMIN_UPN, ms::ADMIN_PASSWORD).await;
    assert_eq!(done.status(), 403);
    let page = done.text().await.unwrap();
    assert!(page.contains("not registered with Teamline"), "{page}");
    assert!(page.contains(ms::FABRIKAM_TENANT_ID), "{page}");
}

#[tokio::test]
async fn a_callback_that_this_browser_did_not_start_is_refused() {
    let app = TestApp::start().await;
    let r = app
        .get("/auth/microsoft/callback?code=x&state=y")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("not started from this browser")
    );
}
