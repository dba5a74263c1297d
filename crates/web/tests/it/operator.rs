//! The operator area over HTTP: the platform operator adds a reseller and its first admin,
//! that admin adds another, the operator suspends the reseller (its admins are signed out and
//! told why at sign-in) and reinstates it; SBC regions with their checks; and the area is "not
//! found" for everyone else — every `/operator` route of the route table, for a reseller admin
//! and an enterprise admin, changes nothing.

use crate::app::{Browser, TestApp, location, text};
use crate::reseller::{rows_of, sign_in_at};
use teamline_testkit::demo::{
    OPERATOR_EMAIL, OPERATOR_PASSWORD, RESELLER_ADMIN, RESELLER_PASSWORD,
};

async fn operator(app: &TestApp) -> Browser {
    sign_in_at(
        app,
        "/operator",
        "/operator/resellers",
        OPERATOR_EMAIL,
        OPERATOR_PASSWORD,
    )
    .await
    .unwrap()
}

async fn reseller_admin(
    app: &TestApp,
    email: &str,
    password: &str,
) -> Result<Browser, (u16, String)> {
    sign_in_at(app, "/reseller", "/reseller/enterprises", email, password).await
}

/// The first password shown once on the page after Add Admin.
fn shown_password(page: &str) -> String {
    page.split("shown only now: <code>")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap_or_else(|| panic!("no password on the page: {page}"))
        .to_owned()
}

async fn the_operator_runs_resellers_and_their_admins(app: TestApp) {
    let ops = operator(&app).await;
    let (status, page) = text(ops.get("/operator/resellers")).await;
    assert_eq!(status, 200);
    assert!(page.contains("Northwind Voice"), "{page}");

    // Field errors name their fields.
    let (status, page) = text(ops.post_form(
        "/operator/resellers",
        &[("name", " "), ("contact_email", "not-an-address")],
    ))
    .await;
    assert_eq!(status, 422);
    assert!(page.contains("<strong>Reseller Name</strong>"), "{page}");
    assert!(page.contains("<strong>Contact E-mail</strong>"), "{page}");
    let (status, page) = text(ops.post_form(
        "/operator/resellers",
        &[
            ("name", "Northwind Voice"),
            ("contact_email", "x@northwind.example"),
        ],
    ))
    .await;
    assert_eq!(status, 422);
    assert!(
        page.contains("A reseller named Northwind Voice already exists"),
        "{page}"
    );

    let r = ops
        .post_form(
            "/operator/resellers",
            &[
                ("name", "Southridge Telecom"),
                ("contact_email", "ops@southridge.example"),
                ("billing_reference", "SR-7"),
            ],
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    let southridge = location(&r);
    let (_, page) = text(ops.get(&southridge)).await;
    assert!(page.contains("Added Southridge Telecom."), "{page}");

    // The operator adds the first admin; the password is shown once and works.
    let (status, page) = text(ops.post_form(
        &format!("{southridge}/admins"),
        &[("email", "first@southridge.example")],
    ))
    .await;
    assert_eq!(status, 200, "{page}");
    let first_password = shown_password(&page);
    let (status, page) = text(ops.post_form(
        &format!("{southridge}/admins"),
        &[("email", RESELLER_ADMIN)],
    ))
    .await;
    assert_eq!(status, 422);
    assert!(page.contains("already has an account"), "{page}");
    let first = reseller_admin(&app, "first@southridge.example", &first_password)
        .await
        .unwrap();
    let (_, list) = text(first.get("/reseller/enterprises")).await;
    assert!(!list.contains("Contoso"), "{list}");

    // A reseller admin adds another admin of the same reseller.
    let (status, page) = text(first.post_form(
        "/reseller/admins",
        &[("email", "second@southridge.example")],
    ))
    .await;
    assert_eq!(status, 200, "{page}");
    let second_password = shown_password(&page);
    let second = reseller_admin(&app, "second@southridge.example", &second_password)
        .await
        .unwrap();
    let (_, admins) = text(second.get("/reseller/admins")).await;
    assert!(admins.contains("first@southridge.example"), "{admins}");
    assert!(!admins.contains(RESELLER_ADMIN), "{admins}");
    let (status, page) = text(second.post_form("/reseller/admins", &[("email", "nope")])).await;
    assert_eq!(status, 422);
    assert!(page.contains("<strong>E-mail</strong>"), "{page}");

    // Suspending needs a reason; then the admins' sessions end and sign-in says why.
    let (status, page) = text(ops.post_form(
        &format!("{southridge}/suspension"),
        &[("action", "suspend"), ("reason", "  ")],
    ))
    .await;
    assert_eq!(status, 422);
    assert!(page.contains("<strong>Reason</strong>"), "{page}");
    let r = ops
        .post_form(
            &format!("{southridge}/suspension"),
            &[
                ("action", "suspend"),
                ("reason", "Invoice SR-7 is 90 days overdue"),
            ],
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    let r = first.get("/reseller/enterprises").send().await.unwrap();
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(location(&r), "/reseller/sign-in");
    let (status, page) = reseller_admin(&app, "second@southridge.example", &second_password)
        .await
        .err()
        .unwrap();
    assert_eq!(status, 401);
    assert!(
        page.contains("Southridge Telecom is suspended by the platform operator: Invoice SR-7 is 90 days overdue."),
        "{page}"
    );
    // A wrong password does not learn of the suspension.
    let (_, page) = reseller_admin(&app, "second@southridge.example", "wrong-password-123")
        .await
        .err()
        .unwrap();
    assert!(!page.contains("suspended"), "{page}");
    // Another reseller is untouched.
    reseller_admin(&app, RESELLER_ADMIN, RESELLER_PASSWORD)
        .await
        .unwrap();

    let (_, list) = text(ops.get("/operator/resellers")).await;
    assert!(list.contains("Suspended"), "{list}");
    let r = ops
        .post_form(
            &format!("{southridge}/suspension"),
            &[("action", "reinstate")],
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    reseller_admin(&app, "second@southridge.example", &second_password)
        .await
        .unwrap();

    // The operator's actions are in the audit log.
    let events = app.store.list_audit(None, 500).await.unwrap();
    let actions: Vec<_> = events.iter().map(|e| e.action.as_str()).collect();
    for action in ["reseller.create", "reseller.suspend", "reseller.reinstate"] {
        assert!(actions.contains(&action), "{action} missing: {actions:?}");
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_runs_resellers_and_their_admins_sqlite() {
    the_operator_runs_resellers_and_their_admins(TestApp::start().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_runs_resellers_and_their_admins_postgres() {
    the_operator_runs_resellers_and_their_admins(TestApp::start_on_postgres().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sbc_regions_are_checked_and_offered_to_resellers() {
    let app = TestApp::start().await;
    let ops = operator(&app).await;
    let (status, page) = text(ops.post_form(
        "/operator/regions",
        &[("name", ""), ("gateway_fqdn", "not a host")],
    ))
    .await;
    assert_eq!(status, 422);
    assert!(page.contains("<strong>Region Name</strong>"), "{page}");
    assert!(page.contains("<strong>Gateway FQDN</strong>"), "{page}");
    let (status, page) = text(ops.post_form(
        "/operator/regions",
        &[
            ("name", "US East 2"),
            ("gateway_fqdn", "other.sbc.example.net"),
        ],
    ))
    .await;
    assert_eq!(status, 422);
    assert!(
        page.contains("A region named US East 2 already exists"),
        "{page}"
    );
    let r = ops
        .post_form(
            "/operator/regions",
            &[
                ("name", "EU West"),
                ("gateway_fqdn", "euwest.sbc.example.net"),
            ],
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    let (_, page) = text(ops.get("/operator/regions")).await;
    assert!(page.contains("euwest.sbc.example.net"), "{page}");
    let northwind = reseller_admin(&app, RESELLER_ADMIN, RESELLER_PASSWORD)
        .await
        .unwrap();
    let (_, form) = text(northwind.get("/reseller/enterprises/new")).await;
    assert!(form.contains("EU West (euwest.sbc.example.net)"), "{form}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_area_is_not_found_for_anyone_else() {
    let app = TestApp::start().await;
    let r = app.get("/operator/resellers").send().await.unwrap();
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(location(&r), "/operator/sign-in");

    // Each portal admits only its own accounts.
    let (status, page) = sign_in_at(
        &app,
        "/operator",
        "/operator/resellers",
        RESELLER_ADMIN,
        RESELLER_PASSWORD,
    )
    .await
    .err()
    .unwrap();
    assert_eq!(status, 401);
    assert!(page.contains("for platform operators only"), "{page}");
    let (_, page) = reseller_admin(&app, OPERATOR_EMAIL, OPERATOR_PASSWORD)
        .await
        .err()
        .unwrap();
    assert!(page.contains("sign in to the operator area"), "{page}");

    let northwind = reseller_admin(&app, RESELLER_ADMIN, RESELLER_PASSWORD)
        .await
        .unwrap();
    let contoso = app.signed_in().await;
    let ops = operator(&app).await;
    let routes: Vec<_> = teamline_web::route_table()
        .into_iter()
        .filter(|r| r.path.starts_with("/operator/") && !r.path.contains("/sign-"))
        .collect();
    assert!(routes.len() >= 6, "{routes:?}");
    let northwind_id = app.reseller.id.0.to_string();
    let before = rows_of(&app).await;
    for (who, browser) in [
        ("reseller admin", &northwind),
        ("enterprise admin", &contoso),
    ] {
        for r in &routes {
            let path = r.path.replace("{id}", &northwind_id);
            let fields = [
                ("name", "Intruder"),
                ("contact_email", "x@intruder.example"),
                ("gateway_fqdn", "intruder.example.net"),
                ("email", "x@intruder.example"),
                ("action", "suspend"),
                ("reason", "taken over"),
            ];
            let request = if r.method == axum::http::Method::GET {
                browser.get(&path)
            } else {
                browser.post_form(&path, &fields)
            };
            let (status, page) = text(request).await;
            assert_eq!(status, 404, "{who}: {} {path}: {page}", r.method);
            assert!(!page.contains("Northwind"), "{who}: {path}: {page}");
        }
    }
    // An operator's session opens neither the Reseller portal nor the Enterprise portal.
    let (status, _) = text(ops.get("/reseller/enterprises")).await;
    assert_eq!(status, 404);
    let (status, _) = text(ops.get("/users")).await;
    assert_eq!(status, 403);
    let after = rows_of(&app).await;
    assert!(
        teamline_store_tests::rows::differences(&before, &after).is_empty(),
        "a refused request changed the database"
    );
    // A reseller that does not exist is not found for the operator either.
    let (status, _) = text(ops.get("/operator/resellers/999999")).await;
    assert_eq!(status, 404);
    let (status, _) = text(ops.get("/operator/resellers/abc")).await;
    assert_eq!(status, 404);
    app.stop().await;
}
