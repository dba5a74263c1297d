//! Two-factor sign-in over HTTP: a reseller admin enrols (QR code and secret shown, a wrong
//! code refused, recovery codes shown once), signs in with password then code, a replayed code
//! and a used recovery code are refused, wrong codes lock the account like wrong passwords, a
//! reset (what `teamline account reset-two-factor` does) switches it off; and a reseller that
//! requires two-factor sends its other admins to enrol. The operator area enrols the same way.

use crate::app::{Browser, TestApp, location, text};
use crate::reseller::sign_in_at;
use teamline_domain::audit::{Actor, Audit};
use teamline_engine::two_factor::code_at;
use teamline_testkit::demo::{
    OPERATOR_EMAIL, OPERATOR_PASSWORD, RESELLER_ADMIN, RESELLER_PASSWORD,
};

fn now_seconds() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn between<'a>(page: &'a str, start: &str, end: &str) -> &'a str {
    page.split(start)
        .nth(1)
        .and_then(|rest| rest.split(end).next())
        .unwrap_or_else(|| panic!("no {start} on the page: {page}"))
}

/// Enrols the signed-in account at `base` (`/reseller` or `/operator`); returns the secret and
/// the recovery codes.
async fn enrol(browser: &Browser, base: &str) -> (String, Vec<String>) {
    let (status, page) = text(browser.get(&format!("{base}/two-factor"))).await;
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("<svg"),
        "the QR code is drawn on the page: {page}"
    );
    let secret = between(&page, "<code id=\"totp-secret\">", "<").to_owned();
    // Reloading shows the same secret: the app that scanned it keeps working.
    let (_, again) = text(browser.get(&format!("{base}/two-factor"))).await;
    assert!(again.contains(&secret));

    let good = code_at(&secret, now_seconds()).unwrap();
    let wrong = format!(
        "{:06}",
        (good.parse::<u32>().unwrap() + 500_000) % 1_000_000
    );
    let (status, page) =
        text(browser.post_form(&format!("{base}/two-factor"), &[("code", &wrong)])).await;
    assert_eq!(status, 422);
    assert!(
        page.contains("not the one your authenticator app shows"),
        "{page}"
    );

    let (status, page) =
        text(browser.post_form(&format!("{base}/two-factor"), &[("code", &good)])).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("shown <strong>only now</strong>"), "{page}");
    let codes: Vec<String> = page
        .split("<li><code>")
        .skip(1)
        .filter_map(|rest| rest.split('<').next())
        .map(str::to_owned)
        .collect();
    assert_eq!(codes.len(), 10, "{page}");
    // Shown once: the page now only says two-factor is on.
    let (_, page) = text(browser.get(&format!("{base}/two-factor"))).await;
    assert!(page.contains("Two-factor sign-in is on"), "{page}");
    assert!(!page.contains(&codes[0]));
    (secret, codes)
}

/// The password step: the code page (200) and its session, or a redirect when no code is asked.
async fn password_step(
    app: &TestApp,
    base: &str,
    email: &str,
    password: &str,
) -> (u16, Browser, String) {
    let r = app
        .http
        .post(format!("{}{base}/sign-in", app.url))
        .header("origin", &app.url)
        .header("sec-fetch-site", "same-origin")
        .form(&[("email", email), ("password", password)])
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let cookie = session_cookie(&r).unwrap_or_default();
    let page = r.text().await.unwrap();
    let csrf = if status == 200 {
        between(&page, "name=\"csrf_token\" value=\"", "\"").to_owned()
    } else {
        String::new()
    };
    let browser = Browser {
        base: app.url.clone(),
        cookie,
        csrf,
        http: app.http.clone(),
    };
    (status, browser, page)
}

/// The session cookie a response sets (signing in starts a new session id).
fn session_cookie(r: &reqwest::Response) -> Option<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("teamline_session="))
        .and_then(|v| v.split(';').next())
        .map(str::to_owned)
}

/// Password, then `code`: the status and where it leads (or the page).
async fn sign_in_with_code(
    app: &TestApp,
    email: &str,
    password: &str,
    code: &str,
) -> (u16, String) {
    let (status, mut browser, page) = password_step(app, "/reseller", email, password).await;
    assert_eq!(status, 200, "the password step asks for the code: {page}");
    assert!(page.contains("Two-factor code"), "{page}");
    let r = browser
        .post_form("/reseller/sign-in/code", &[("code", code)])
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    if status == 303 {
        // Signed in: the session opens the portal.
        browser.cookie = session_cookie(&r).unwrap();
        let (s, page) = text(browser.get("/reseller/enterprises")).await;
        assert_eq!(s, 200, "{page}");
        return (status, location(&r));
    }
    (status, r.text().await.unwrap())
}

async fn a_reseller_admin_signs_in_with_a_second_factor(app: TestApp) {
    let admin = sign_in_at(
        &app,
        "/reseller",
        "/reseller/enterprises",
        RESELLER_ADMIN,
        RESELLER_PASSWORD,
    )
    .await
    .unwrap();
    let (secret, recovery) = enrol(&admin, "/reseller").await;

    // The password alone no longer signs in: the code page comes first, and without its code
    // the session opens nothing.
    let (status, pending, _) =
        password_step(&app, "/reseller", RESELLER_ADMIN, RESELLER_PASSWORD).await;
    assert_eq!(status, 200);
    let r = pending.get("/reseller/enterprises").send().await.unwrap();
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(location(&r), "/reseller/sign-in");

    // The code used to enrol is spent.
    let enrolment_code = code_at(&secret, now_seconds()).unwrap();
    let (status, page) =
        sign_in_with_code(&app, RESELLER_ADMIN, RESELLER_PASSWORD, &enrolment_code).await;
    if status == 401 {
        assert!(
            page.contains("already used") || page.contains("code is wrong"),
            "{page}"
        );
    }
    // The next step's code (accepted: phones' clocks drift) signs in, once.
    let next = code_at(&secret, now_seconds() + 30).unwrap();
    let (status, to) = sign_in_with_code(&app, RESELLER_ADMIN, RESELLER_PASSWORD, &next).await;
    assert_eq!(status, 303, "{to}");
    assert_eq!(to, "/reseller/enterprises");
    let (status, page) = sign_in_with_code(&app, RESELLER_ADMIN, RESELLER_PASSWORD, &next).await;
    assert_eq!(status, 401);
    assert!(
        page.contains("This two-factor code was already used"),
        "{page}"
    );

    // A recovery code signs in once.
    let (status, _) = sign_in_with_code(
        &app,
        RESELLER_ADMIN,
        RESELLER_PASSWORD,
        &recovery[3].to_uppercase(),
    )
    .await;
    assert_eq!(status, 303);
    let (status, page) =
        sign_in_with_code(&app, RESELLER_ADMIN, RESELLER_PASSWORD, &recovery[3]).await;
    assert_eq!(status, 401);
    assert!(page.contains("The two-factor code is wrong"), "{page}");

    // Wrong codes count toward the lock-out even though the password is right each time: the
    // used recovery code above was the first of five.
    let mut last = String::new();
    for _ in 0..4 {
        let (status, page) =
            sign_in_with_code(&app, RESELLER_ADMIN, RESELLER_PASSWORD, "not-a-code").await;
        assert_eq!(status, 401);
        last = page;
    }
    assert!(last.contains("This account is locked"), "{last}");
    let (status, _, page) =
        password_step(&app, "/reseller", RESELLER_ADMIN, RESELLER_PASSWORD).await;
    assert_eq!(status, 401, "locked: the password step refuses too");
    assert!(page.contains("This account is locked"), "{page}");

    // The reset that `teamline account reset-two-factor` makes: the password alone is enough
    // again (once the lock-out is lifted by a password reset).
    let account = app
        .store
        .account_by_email(RESELLER_ADMIN)
        .await
        .unwrap()
        .unwrap();
    let audit = Audit::new(
        Actor::System("test".into()),
        "account.two_factor_reset",
        "reset",
    );
    app.store
        .disable_two_factor(account.id, &audit)
        .await
        .unwrap();
    app.store
        .set_account_password(account.id, &account.password_hash, &audit)
        .await
        .unwrap();
    sign_in_at(
        &app,
        "/reseller",
        "/reseller/enterprises",
        RESELLER_ADMIN,
        RESELLER_PASSWORD,
    )
    .await
    .unwrap();
    let events = app.store.list_audit(None, 500).await.unwrap();
    assert!(events.iter().any(|e| e.action == "account.two_factor_on"));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reseller_admin_signs_in_with_a_second_factor_sqlite() {
    a_reseller_admin_signs_in_with_a_second_factor(TestApp::start().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reseller_admin_signs_in_with_a_second_factor_postgres() {
    a_reseller_admin_signs_in_with_a_second_factor(TestApp::start_on_postgres().await).await;
}

async fn a_reseller_can_require_two_factor_of_all_its_accounts(app: TestApp) {
    let admin = sign_in_at(
        &app,
        "/reseller",
        "/reseller/enterprises",
        RESELLER_ADMIN,
        RESELLER_PASSWORD,
    )
    .await
    .unwrap();
    let (_, page) =
        text(admin.post_form("/reseller/admins", &[("email", "second@northwind.example")])).await;
    let password = between(&page, "shown only now: <code>", "<").to_owned();
    let second = sign_in_at(
        &app,
        "/reseller",
        "/reseller/enterprises",
        "second@northwind.example",
        &password,
    )
    .await
    .unwrap();

    // Requiring it of everyone needs it on one's own account first.
    let r = admin
        .post_form("/reseller/two-factor/require", &[("required", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    assert!(
        !app.store
            .reseller_requires_two_factor(admin_reseller(&app).await)
            .await
            .unwrap()
    );
    let (_, page) = text(admin.get("/reseller/two-factor")).await;
    assert!(
        page.contains("Switch on two-factor for your own account first"),
        "{page}"
    );

    enrol(&admin, "/reseller").await;
    let r = admin
        .post_form("/reseller/two-factor/require", &[("required", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    assert!(
        app.store
            .reseller_requires_two_factor(admin_reseller(&app).await)
            .await
            .unwrap()
    );

    // The second admin, without two-factor, is sent to enrol before anything else.
    for path in ["/reseller/enterprises", "/reseller/admins"] {
        let r = second.get(path).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 303, "{path}");
        assert_eq!(location(&r), "/reseller/two-factor");
    }
    let (status, page) = text(second.get("/reseller/two-factor")).await;
    assert_eq!(status, 200);
    assert!(
        page.contains("requires two-factor sign-in for all its accounts"),
        "{page}"
    );
    enrol(&second, "/reseller").await;
    let (status, _) = text(second.get("/reseller/enterprises")).await;
    assert_eq!(status, 200);
    app.stop().await;
}

async fn admin_reseller(app: &TestApp) -> teamline_domain::ids::ResellerId {
    app.store
        .account_by_email(RESELLER_ADMIN)
        .await
        .unwrap()
        .unwrap()
        .reseller_id
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reseller_can_require_two_factor_of_all_its_accounts_sqlite() {
    a_reseller_can_require_two_factor_of_all_its_accounts(TestApp::start().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reseller_can_require_two_factor_of_all_its_accounts_postgres() {
    a_reseller_can_require_two_factor_of_all_its_accounts(TestApp::start_on_postgres().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_enrols_and_then_signs_in_with_a_code() {
    let app = TestApp::start().await;
    let ops = sign_in_at(
        &app,
        "/operator",
        "/operator/resellers",
        OPERATOR_EMAIL,
        OPERATOR_PASSWORD,
    )
    .await
    .unwrap();
    let (secret, _) = enrol(&ops, "/operator").await;
    let (status, mut pending, page) =
        password_step(&app, "/operator", OPERATOR_EMAIL, OPERATOR_PASSWORD).await;
    assert_eq!(status, 200, "{page}");
    // The code step of the other portal does not finish an operator's sign-in.
    let r = pending
        .post_form(
            "/reseller/sign-in/code",
            &[("code", &code_at(&secret, now_seconds() + 30).unwrap())],
        )
        .send()
        .await
        .unwrap();
    assert_eq!(location(&r), "/reseller/sign-in");
    let r = pending
        .post_form(
            "/operator/sign-in/code",
            &[("code", &code_at(&secret, now_seconds() + 30).unwrap())],
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(location(&r), "/operator/resellers");
    pending.cookie = session_cookie(&r).unwrap();
    let (status, _) = text(pending.get("/operator/resellers")).await;
    assert_eq!(status, 200);
    app.stop().await;
}
