//! The Reseller portal over HTTP: local sign-in and lock-out, the Enterprises list, Add
//! Enterprise with its invitation (kept in the outbox, or sent to a real SMTP server and its
//! link opened), Resend Invitation Email, and reseller scoping: every `/reseller` route of the
//! route table with an enterprise id answers "not found" for another reseller's enterprise
//! and changes nothing.

use crate::app::{Browser, TestApp, location, text};
use teamline_domain::audit::{Actor, Audit};
use teamline_domain::reseller::{AccountRole, ResellerForm};
use teamline_domain::text::Email;
use teamline_engine::accounts::hash_password;
use teamline_engine::onboarding::StoreLedger;
use teamline_store::NewAccount;
use teamline_store_tests::rows::{self, Rows};
use teamline_testkit::DatabaseLocation;
use teamline_testkit::demo::{RESELLER_ADMIN, RESELLER_PASSWORD};

const SOUTHRIDGE_ADMIN: &str = "admin@southridge.example";
const SOUTHRIDGE_PASSWORD: &str = "southridge-password-1";

/// Signs in with the form, as a browser would; the browser then carries the session and the
/// token of the page it lands on.
pub(crate) async fn sign_in(
    app: &TestApp,
    email: &str,
    password: &str,
) -> Result<Browser, (u16, String)> {
    sign_in_at(app, "/reseller", "/reseller/enterprises", email, password).await
}

/// Signs in at `<base>/sign-in` (the Reseller portal or the operator area), which must send
/// the browser to `home`.
pub async fn sign_in_at(
    app: &TestApp,
    base: &str,
    home: &str,
    email: &str,
    password: &str,
) -> Result<Browser, (u16, String)> {
    let r = app
        .http
        .post(format!("{}{base}/sign-in", app.url))
        .header("origin", &app.url)
        .header("sec-fetch-site", "same-origin")
        .form(&[("email", email), ("password", password)])
        .send()
        .await
        .unwrap();
    if r.status().as_u16() != 303 {
        return Err((r.status().as_u16(), r.text().await.unwrap()));
    }
    assert_eq!(location(&r), home);
    let cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("teamline_session="))
        .and_then(|v| v.split(';').next())
        .unwrap()
        .to_owned();
    let mut browser = Browser {
        base: app.url.clone(),
        cookie,
        csrf: String::new(),
        http: app.http.clone(),
    };
    let (status, page) = text(browser.get(home)).await;
    assert_eq!(status, 200, "{page}");
    browser.csrf = page
        .split("name=\"csrf_token\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    Ok(browser)
}

/// A second reseller with its own admin account.
async fn southridge(app: &TestApp) {
    let audit = Audit::new(Actor::System("test".into()), "test", "Southridge");
    let reseller = app
        .store
        .create_reseller(
            &ResellerForm {
                name: "Southridge Telecom".into(),
                contact_email: SOUTHRIDGE_ADMIN.into(),
                services: String::new(),
                billing_reference: String::new(),
            }
            .validate()
            .unwrap(),
            &audit,
        )
        .await
        .unwrap();
    app.store
        .create_account(
            &NewAccount {
                email: Email::parse("E-mail", SOUTHRIDGE_ADMIN).unwrap(),
                role: AccountRole::ResellerAdmin,
                reseller_id: Some(reseller.id),
                password_hash: hash_password(SOUTHRIDGE_PASSWORD).unwrap(),
            },
            &audit,
        )
        .await
        .unwrap();
}

pub async fn rows_of(app: &TestApp) -> Rows {
    let skip = ["sessions"];
    match app.database().unwrap().location() {
        DatabaseLocation::Sqlite(path) => rows::sqlite(&path, &skip).await,
        DatabaseLocation::Postgres(url) => rows::postgres(&url, &skip).await,
    }
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reseller_adds_an_enterprise_and_its_invitation_is_in_the_outbox() {
    let app = TestApp::start().await;
    let northwind = sign_in(&app, RESELLER_ADMIN, RESELLER_PASSWORD)
        .await
        .unwrap();
    let (_, list) = text(northwind.get("/reseller/enterprises")).await;
    assert!(
        list.contains("Contoso") && list.contains("Fabrikam"),
        "{list}"
    );
    assert!(
        list.contains("Direct Routing ready") || list.contains("Direct Routing Ready"),
        "{list}"
    );

    // A form with mistakes keeps what was typed and names each field.
    let (status, page) = text(northwind.post_form(
        "/reseller/enterprises/new",
        &[
            ("name", "Litware"),
            ("global_admin_email", "not an address"),
            ("user_limit", "five"),
        ],
    ))
    .await;
    assert_eq!(status, 422, "{page}");
    assert!(
        page.contains("Global Admin E-mail") && page.contains("User Limit"),
        "{page}"
    );
    assert!(page.contains("value=\"Litware\""), "{page}");

    let region = app.store.list_sbc_regions().await.unwrap()[0]
        .id
        .0
        .to_string();
    let r = northwind
        .post_form(
            "/reseller/enterprises/new",
            &[
                ("name", "Litware"),
                ("global_admin_email", "admin@litware.example"),
                ("user_limit", "5"),
                ("sbc_region", &region),
                ("request_management_consent", "on"),
            ],
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    let (_, list) = text(northwind.get("/reseller/enterprises")).await;
    assert!(
        list.contains("Added Litware and sent the invitation to admin@litware.example."),
        "{list}"
    );
    assert!(list.contains("0 / 5"), "{list}");
    let litware = app
        .store
        .list_enterprises(Some(app.reseller.id))
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.name.as_str() == "Litware")
        .unwrap();

    let (_, outbox) = text(northwind.get("/reseller/outbox")).await;
    assert!(outbox.contains("To admin@litware.example"), "{outbox}");
    let first = invitation_link(&outbox);

    // Resending supersedes the first link.
    let r = northwind
        .post_form(
            &format!("/reseller/enterprises/{}/invitation", litware.id.0),
            &[],
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    let (_, page) = text(northwind.get(&location(&r))).await;
    assert!(
        page.contains("the links sent before no longer work"),
        "{page}"
    );
    let (_, outbox) = text(northwind.get("/reseller/outbox")).await;
    let second = invitation_link(&outbox);
    assert_ne!(first, second);

    let config = app.engine.invitations().unwrap();
    let ledger = StoreLedger(app.store.clone());
    let now = time::OffsetDateTime::now_utc();
    let old = config.key.open(&first, now).unwrap();
    assert!(
        old.redeem(now, &ledger).await.is_err(),
        "a superseded link must not work"
    );
    let new = config.key.open(&second, now).unwrap();
    assert_eq!(new.enterprise(), litware.id);
    new.clone().redeem(now, &ledger).await.unwrap();
    assert!(new.redeem(now, &ledger).await.is_err(), "a link works once");

    // Another reseller sees neither the enterprise nor its e-mail.
    southridge(&app).await;
    let other = sign_in(&app, SOUTHRIDGE_ADMIN, SOUTHRIDGE_PASSWORD)
        .await
        .unwrap();
    let (_, list) = text(other.get("/reseller/enterprises")).await;
    assert!(
        !list.contains("Litware") && !list.contains("Contoso"),
        "{list}"
    );
    let (_, outbox) = text(other.get("/reseller/outbox")).await;
    assert!(!outbox.contains("litware"), "{outbox}");
    app.stop().await;
}

/// The token of the newest invitation link on the outbox page.
pub(crate) fn invitation_link(outbox: &str) -> String {
    let start = outbox.find("/register?invitation=").unwrap() + "/register?invitation=".len();
    outbox[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_passwords_lock_the_account_until_the_operator_resets_it() {
    let app = TestApp::start().await;
    for _ in 0..4 {
        let (status, page) = sign_in(&app, RESELLER_ADMIN, "wrong-password-123")
            .await
            .err()
            .unwrap();
        assert_eq!(status, 401);
        assert!(
            page.contains("The e-mail address or the password is wrong."),
            "{page}"
        );
    }
    let (_, page) = sign_in(&app, RESELLER_ADMIN, "wrong-password-123")
        .await
        .err()
        .unwrap();
    assert!(
        page.contains("This account is locked after 5 wrong passwords"),
        "{page}"
    );
    // Even the right password is refused while locked.
    let (_, page) = sign_in(&app, RESELLER_ADMIN, RESELLER_PASSWORD)
        .await
        .err()
        .unwrap();
    assert!(
        page.contains("ask your platform operator to reset the password"),
        "{page}"
    );
    // An unknown address reads like a wrong password.
    let (_, page) = sign_in(&app, "nobody@northwind.example", "whatever-password")
        .await
        .err()
        .unwrap();
    assert!(
        page.contains("The e-mail address or the password is wrong."),
        "{page}"
    );

    let account = app
        .store
        .account_by_email(RESELLER_ADMIN)
        .await
        .unwrap()
        .unwrap();
    app.store
        .set_account_password(
            account.id,
            &hash_password("a-new-password-2026").unwrap(),
            &Audit::new(
                Actor::PlatformOperator("ops@teamline.example".into()),
                "account.password_reset",
                "Reset",
            ),
        )
        .await
        .unwrap();
    sign_in(&app, RESELLER_ADMIN, "a-new-password-2026")
        .await
        .unwrap();
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reseller_portal_is_not_found_for_enterprise_admins_and_asks_strangers_to_sign_in() {
    let app = TestApp::start().await;
    let r = app.get("/reseller/enterprises").send().await.unwrap();
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(location(&r), "/reseller/sign-in");
    let contoso = app.signed_in().await;
    for path in [
        "/reseller/enterprises",
        "/reseller/outbox",
        "/reseller/enterprises/new",
    ] {
        let (status, _) = text(contoso.get(path)).await;
        assert_eq!(status, 404, "{path}");
    }
    // And a reseller admin's session opens no Enterprise portal page.
    let northwind = sign_in(&app, RESELLER_ADMIN, RESELLER_PASSWORD)
        .await
        .unwrap();
    let (status, _) = text(northwind.get("/users")).await;
    assert_eq!(status, 403);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_reseller_route_reaches_another_resellers_enterprise() {
    let app = TestApp::start().await;
    southridge(&app).await;
    let attacker = sign_in(&app, SOUTHRIDGE_ADMIN, SOUTHRIDGE_PASSWORD)
        .await
        .unwrap();
    let routes: Vec<_> = teamline_web::route_table()
        .into_iter()
        .filter(|r| r.path.starts_with("/reseller/") && r.inputs.path)
        .collect();
    assert!(routes.len() >= 2, "{routes:?}");
    let before = rows_of(&app).await;
    let location = app.store.list_pbx_locations(app.contoso.id).await.unwrap()[0]
        .id
        .0
        .to_string();
    for victim in [app.contoso.id, app.fabrikam().id] {
        for r in &routes {
            let path = r
                .path
                .replace("{id}", &victim.0.to_string())
                .replace("{location}", &location);
            let request = if r.method == axum::http::Method::GET {
                attacker.get(&path)
            } else {
                attacker.post_form(&path, &[])
            };
            let (status, page) = text(request).await;
            assert_eq!(status, 404, "{} {path}: {page}", r.method);
            assert!(
                !page.contains("Contoso") && !page.contains("Fabrikam"),
                "{path}: {page}"
            );
        }
    }
    let after = rows_of(&app).await;
    assert!(
        teamline_store_tests::rows::differences(&before, &after).is_empty(),
        "a refused request changed the database"
    );
    app.stop().await;
}

/// The invitation travels over SMTP to a real mail server; the link in the received message
/// opens the invitation of the enterprise that was added, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_invitation_arrives_at_an_smtp_server_and_its_link_works_once() {
    use teamline_mail::testing::SmtpServer;
    use teamline_mail::{MailAddress, SmtpMailer, SmtpSecurity};
    let dir = tempfile::tempdir().unwrap();
    let smtp = SmtpServer::start(dir.path(), SmtpSecurity::None, None)
        .await
        .unwrap();
    let from = MailAddress::parse(teamline_testkit::INVITATION_FROM).unwrap();
    let mailer = SmtpMailer::new(smtp.settings(from, None)).unwrap();
    let app =
        TestApp::from(teamline_testkit::TestApp::builder().mailer(std::sync::Arc::new(mailer)))
            .await;
    let northwind = sign_in(&app, RESELLER_ADMIN, RESELLER_PASSWORD)
        .await
        .unwrap();
    let r = northwind
        .post_form(
            "/reseller/enterprises/new",
            &[
                ("name", "Litware"),
                ("global_admin_email", "admin@litware.example"),
            ],
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    let mail = smtp.wait_for_mail(1).await.unwrap().remove(0);
    assert_eq!(mail.rcpt_to, vec!["admin@litware.example".to_owned()]);
    let text = mail.text.unwrap();
    assert!(
        text.contains("Litware") && text.contains("Northwind Voice"),
        "{text}"
    );
    let token = invitation_link(&text);
    let config = app.engine.invitations().unwrap();
    let ledger = StoreLedger(app.store.clone());
    let now = time::OffsetDateTime::now_utc();
    let opened = config.key.open(&token, now).unwrap();
    let litware = app
        .store
        .enterprise_by_slug("litware")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(opened.enterprise(), litware.id);
    opened.clone().redeem(now, &ledger).await.unwrap();
    assert!(
        opened.redeem(now, &ledger).await.is_err(),
        "a link works once"
    );
    app.stop().await;
}
