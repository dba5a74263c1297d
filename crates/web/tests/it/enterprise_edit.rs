//! Edit Enterprise (the reseller portal's form and `PUT /api/v1/enterprises/{id}`), PBX
//! credential templates with locked fields, and the user limit on every add (SET UP PBX USER,
//! the API, Bulk Upload) — each on SQLite and on PostgreSQL.

use crate::api::{call, json_of, reseller_token, token};
use crate::app::{TestApp, text};
use crate::reseller::{rows_of, sign_in};
use reqwest::{Method, StatusCode};
use serde_json::json;
use teamline_domain::audit::Actor;
use teamline_domain::enterprise::EnterpriseForm;
use teamline_testkit::demo::{RESELLER_ADMIN, RESELLER_PASSWORD};

/// Two more configured users than the demo's, so a limit one below them is still a limit.
async fn more_users(app: &TestApp) {
    crate::users::set_up(app, "Alex Wilber", "1001").await;
    crate::users::set_up(app, "Diego Siciliani", "1002").await;
}

async fn configured(app: &TestApp) -> u64 {
    let c = app.store.user_counts(app.contoso.id).await.unwrap();
    c.active + c.disabled
}

/// Sets Contoso's user limit to `limit`, as the reseller would.
async fn limit_contoso(app: &TestApp, limit: u64) {
    let e = app.store.get_enterprise(app.contoso.id).await.unwrap();
    let form = EnterpriseForm {
        user_limit: limit.to_string(),
        ..EnterpriseForm::of(&e)
    };
    let reseller = app.store.get_reseller(e.reseller_id).await.unwrap();
    app.engine
        .edit_enterprise(
            &reseller,
            e.id,
            e.version,
            &form,
            Actor::ResellerAdmin(RESELLER_ADMIN.into()),
        )
        .await
        .map_err(|e| e.to_string())
        .unwrap();
}

async fn the_reseller_edits_an_enterprise_in_the_portal(app: TestApp) {
    more_users(&app).await;
    let northwind = sign_in(&app, RESELLER_ADMIN, RESELLER_PASSWORD)
        .await
        .unwrap();
    let users = configured(&app).await;
    let path = format!("/reseller/enterprises/{}/edit", app.contoso.id.0);
    let (status, page) = text(northwind.get(&path)).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("value=\"Contoso\""), "{page}");
    // Registered: the Global Admin e-mail is read-only.
    assert!(page.contains("readonly"), "{page}");
    let e = app.store.get_enterprise(app.contoso.id).await.unwrap();
    let region = e.sbc_regions[0].0.to_string();
    let email = e.global_admin_email.as_str().to_owned();
    let version = e.version.to_string();

    // A limit below the users configured, and a changed e-mail of a registered enterprise:
    // each named with the fix, nothing stored.
    let before = rows_of(&app).await;
    let too_low = (users - 1).to_string();
    let (status, page) = text(northwind.post_form(
        &path,
        &[
            ("version", &version),
            ("name", "Contoso"),
            ("global_admin_email", "someone@else.example"),
            ("user_limit", &too_low),
            ("sbc_region", &region),
        ],
    ))
    .await;
    assert_eq!(status, 422, "{page}");
    assert!(
        page.contains(&format!("already has {users} configured users")),
        "{page}"
    );
    assert!(
        page.contains(&format!("set the limit to {users} or more")),
        "{page}"
    );
    assert!(
        page.contains("the e-mail can change only while the enterprise is invited"),
        "{page}"
    );
    let after = rows_of(&app).await;
    assert!(
        teamline_store_tests::rows::differences(&before, &after).is_empty(),
        "a refused edit changed the database"
    );

    // Without the form's token the edit is refused.
    let forged = app
        .http
        .post(format!("{}{path}", app.url))
        .header("cookie", &northwind.cookie)
        .form(&[("name", "Forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status().as_u16(), 403);

    // A good edit: saved, audited, shown.
    let limit = (users + 3).to_string();
    let r = northwind
        .post_form(
            &path,
            &[
                ("version", &version),
                ("name", "Contoso Pharmaceuticals"),
                ("global_admin_email", &email),
                ("user_limit", &limit),
                ("billing_reference", "NW-2026-117"),
                ("sbc_region", &region),
                ("access_sip_data", "on"),
            ],
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    let (_, page) = text(northwind.get(&crate::app::location(&r))).await;
    assert!(page.contains("Saved Contoso Pharmaceuticals."), "{page}");
    assert!(page.contains("NW-2026-117"), "{page}");
    let edited = app.store.get_enterprise(app.contoso.id).await.unwrap();
    assert_eq!(edited.user_limit, Some(u32::try_from(users + 3).unwrap()));
    assert!(!edited.pbx_music_on_hold && edited.access_sip_data);
    assert!(!edited.request_management_consent);
    let (_, list) = text(northwind.get("/reseller/enterprises")).await;
    assert!(list.contains(&format!("{users} / {}", users + 3)), "{list}");
    let (_, log) = text(northwind.get("/reseller/audit")).await;
    assert!(
        log.contains("Changed enterprise Contoso Pharmaceuticals"),
        "{log}"
    );

    // The form read before that edit is stale: the page says so and keeps the typed values.
    let (status, page) = text(northwind.post_form(
        &path,
        &[
            ("version", &version),
            ("name", "Contoso Again"),
            ("global_admin_email", &email),
            ("sbc_region", &region),
        ],
    ))
    .await;
    assert_eq!(status, 422, "{page}");
    assert!(page.contains("was changed by someone else"), "{page}");
    assert!(page.contains("value=\"Contoso Again\""), "{page}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reseller_edits_an_enterprise_in_the_portal_sqlite() {
    the_reseller_edits_an_enterprise_in_the_portal(TestApp::start().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reseller_edits_an_enterprise_in_the_portal_postgres() {
    the_reseller_edits_an_enterprise_in_the_portal(TestApp::start_on_postgres().await).await;
}

async fn the_api_edits_an_enterprise_with_if_match(app: TestApp) {
    more_users(&app).await;
    let wide = reseller_token(&app).await;
    let path = format!("/api/v1/enterprises/{}", app.contoso.id.0);
    let read = call(&app, Method::GET, &path, &wide).send().await.unwrap();
    let etag = read.headers()["etag"].to_str().unwrap().to_owned();
    let current = json_of(read).await;
    let users = configured(&app).await;
    let body = |limit: u64| {
        json!({
            "name": "Contoso",
            "global_admin_email": current["global_admin_email"],
            "user_limit": limit,
            "sbc_region_ids": current["sbc_region_ids"],
            "billing_reference": "NW-9",
        })
    };

    let r = call(&app, Method::PUT, &path, &wide)
        .json(&body(users + 1))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PRECONDITION_REQUIRED);

    let r = call(&app, Method::PUT, &path, &wide)
        .header("if-match", &etag)
        .json(&body(users - 1))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem = json_of(r).await;
    assert_eq!(problem["errors"][0]["field"], "user_limit", "{problem}");
    assert!(
        problem["errors"][0]["detail"]
            .as_str()
            .unwrap()
            .contains(&format!("already has {users} configured users")),
        "{problem}"
    );

    let r = call(&app, Method::PUT, &path, &wide)
        .header("if-match", &etag)
        .json(&body(users + 1))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let new_etag = r.headers()["etag"].to_str().unwrap().to_owned();
    assert_ne!(new_etag, etag);
    let edited = json_of(r).await;
    assert_eq!(edited["billing_reference"], "NW-9");
    assert_eq!(edited["user_limit"], users + 1);

    // The old ETag is stale now.
    let r = call(&app, Method::PUT, &path, &wide)
        .header("if-match", &etag)
        .json(&body(users + 2))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PRECONDITION_FAILED);

    // An enterprise's own token may not edit it; another reseller's enterprise is not found.
    let own = token(&app, &app.contoso, "contoso", false, 10_000, None).await;
    let r = call(&app, Method::PUT, &path, &own)
        .header("if-match", &new_etag)
        .json(&body(users + 2))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_edits_an_enterprise_with_if_match_sqlite() {
    the_api_edits_an_enterprise_with_if_match(TestApp::start().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_edits_an_enterprise_with_if_match_postgres() {
    the_api_edits_an_enterprise_with_if_match(TestApp::start_on_postgres().await).await;
}

async fn locked_pbx_fields_are_read_only_for_the_enterprise(app: TestApp) {
    let northwind = sign_in(&app, RESELLER_ADMIN, RESELLER_PASSWORD)
        .await
        .unwrap();
    let location = app.store.list_pbx_locations(app.contoso.id).await.unwrap()[0].clone();
    let s = &location.settings;
    let reseller_path = format!(
        "/reseller/enterprises/{}/pbx/{}/edit",
        app.contoso.id.0, location.id.0
    );
    let (status, page) = text(northwind.get(&reseller_path)).await;
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("name=\"lock\" value=\"sip_domain\""),
        "{page}"
    );
    let fields = |domain: &str, proxy: &str| {
        vec![
            ("name".to_owned(), s.name.to_string()),
            ("pbx_type".to_owned(), s.pbx_type.as_str().to_owned()),
            ("dns_lookup".to_owned(), s.dns_lookup.as_str().to_owned()),
            ("sip_domain".to_owned(), domain.to_owned()),
            ("proxy".to_owned(), proxy.to_owned()),
            ("voicemail_code".to_owned(), s.voicemail_code.to_string()),
            (
                "api_base_url".to_owned(),
                s.api_base_url.as_str().to_owned(),
            ),
            ("api_auth".to_owned(), s.api_auth_kind.as_str().to_owned()),
            (
                "oauth_client_id".to_owned(),
                s.oauth_client_id.clone().unwrap_or_default(),
            ),
            (
                "oauth_username".to_owned(),
                s.oauth_username.clone().unwrap_or_default(),
            ),
        ]
    };
    let domain = s.sip_domain.to_string();
    let proxy = s.proxy.to_string();
    let mut locked = fields(&domain, &proxy);
    for key in [
        "sip_domain",
        "api_base_url",
        "api_key",
        "oauth_client_secret",
    ] {
        locked.push(("lock".to_owned(), key.to_owned()));
    }
    let borrowed: Vec<(&str, &str)> = locked
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let r = northwind
        .post_form(&reseller_path, &borrowed)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    let (_, list) = text(northwind.get(&crate::app::location(&r))).await;
    assert!(list.contains("SIP Domain, API Base URL"), "{list}");
    let stored = app
        .store
        .get_pbx_location(app.contoso.id, location.id)
        .await
        .unwrap();
    assert!(stored.locked.contains_key("sip_domain") && stored.locked.contains_key("api_key"));

    // The enterprise admin sees them read-only and who locked them.
    let admin = app.signed_in().await;
    let edit = format!("/pbx/{}/edit", location.id.0);
    let (_, page) = text(admin.get(&edit)).await;
    assert!(
        page.contains("name=\"sip_domain\" readonly"),
        "the SIP domain is read-only: {page}"
    );
    assert!(
        page.contains("Locked by your reseller Northwind Voice"),
        "{page}"
    );
    assert!(!page.contains("name=\"lock\""), "{page}");

    // A forged POST that changes a locked field (and types a locked secret) is refused by
    // field, naming who can change it; nothing changes.
    let before = rows_of(&app).await;
    let mut forged = fields("fabrikam", &proxy);
    forged.push(("api_key".to_owned(), "nsk_forged".to_owned()));
    let borrowed: Vec<(&str, &str)> = forged
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let (_, page) = text(admin.post_form(&edit, &borrowed)).await;
    assert!(
        page.contains("is locked by your reseller Northwind Voice: only they can change it"),
        "{page}"
    );
    let after = rows_of(&app).await;
    assert!(
        teamline_store_tests::rows::differences(&before, &after).is_empty(),
        "a refused edit changed the database"
    );
    // An unlocked field still changes.
    let free = fields(&domain, "sbc2.pbx.example");
    let borrowed: Vec<(&str, &str)> = free.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let r = admin.post_form(&edit, &borrowed).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 303);
    // While locked, only the reseller adds locations.
    let (_, page) = text(admin.post_form("/pbx/new", &borrowed)).await;
    assert!(page.contains("manages this enterprise"), "{page}");

    // The reseller is never bound by its own locks.
    let mut change = fields("contoso2", "sbc2.pbx.example");
    change.push(("api_key".to_owned(), "nsk_live_new_key_1234".to_owned()));
    let borrowed: Vec<(&str, &str)> = change
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let r = northwind
        .post_form(&reseller_path, &borrowed)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    let stored = app
        .store
        .get_pbx_location(app.contoso.id, location.id)
        .await
        .unwrap();
    assert_eq!(stored.settings.sip_domain.to_string(), "contoso2");
    assert!(
        stored.locked.is_empty(),
        "no lock box checked: the locks are lifted"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locked_pbx_fields_are_read_only_for_the_enterprise_sqlite() {
    locked_pbx_fields_are_read_only_for_the_enterprise(TestApp::start().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locked_pbx_fields_are_read_only_for_the_enterprise_postgres() {
    locked_pbx_fields_are_read_only_for_the_enterprise(TestApp::start_on_postgres().await).await;
}

/// Contoso's location and its "US East 2" voice route.
async fn location_and_route(app: &TestApp) -> (String, String) {
    let e = app.contoso.id;
    let location = app.store.list_pbx_locations(e).await.unwrap()[0].id.0;
    let route = app
        .store
        .list_voice_routes(e)
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.name.as_str() == "US East 2")
        .unwrap()
        .id
        .0;
    (location.to_string(), route.to_string())
}

/// With the limit reached, a new user is refused by the form, the API and Bulk Upload, each
/// naming the limit; nothing is written.
async fn the_user_limit_holds_on_every_add(app: TestApp) {
    use teamline_sim::microsoft::demo as ms;
    let users = configured(&app).await;
    limit_contoso(&app, users).await;
    let limit_text = format!("reached its limit of {users} users");
    let (location, route) = location_and_route(&app).await;
    let before = rows_of(&app).await;

    // The API: problem details on the Teams user, naming the limit.
    let t = token(&app, &app.contoso, "provisioning", false, 10_000, None).await;
    let r = call(
        &app,
        Method::POST,
        &format!("/api/v1/enterprises/{}/pbx-users", app.contoso.id.0),
        &t,
    )
    .json(&json!({
        "pbx_location_id": location.parse::<i64>().unwrap(),
        "voice_route_id": route.parse::<i64>().unwrap(),
        "teams_user": "AdeleV@contoso.example",
        "sip_user": "1000",
        "phone_number": "+11000",
        "device": "1000",
    }))
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem = json_of(r).await;
    assert_eq!(problem["errors"][0]["field"], "teams_user", "{problem}");
    assert!(
        problem["errors"][0]["detail"]
            .as_str()
            .unwrap()
            .contains(&limit_text),
        "{problem}"
    );

    // SET UP PBX USER's form.
    let b = app.signed_in().await;
    let adele = ms::contoso_user_id("Adele Vance");
    let (status, page) = text(b.post_form(
        "/users/new",
        &[
            ("pbx_location", location.as_str()),
            ("voice_route", route.as_str()),
            ("teams_user", adele.as_str()),
            ("sip_user", "1000"),
            ("phone_number", "11000"),
            ("caller_name_policy", "transparent"),
            ("forwarded_caller_id", "user_caller_id"),
            ("device", "1000tm"),
        ],
    ))
    .await;
    assert_ne!(status, 303, "{page}");
    assert!(page.contains(&limit_text), "{page}");

    // Bulk Upload: the file is checked, refused, and cannot be applied.
    let file = format!(
        "Teams User,SIP User,Phone Number,Available Voice Routes,Emergency Address\n{},1011,+14255551011,US East 2,{}\n",
        ms::upn_for("Megan Bowen", ms::CONTOSO_DOMAIN),
        teamline_sim::netsapiens::CONTOSO_HQ_ADDRESS_ID
    );
    let r = crate::bulk_upload::upload(&b, &file).await;
    let page = r.headers()["hx-redirect"].to_str().unwrap().to_owned();
    let (_, html) = text(b.get(&page)).await;
    assert!(html.contains(&limit_text), "{html}");
    assert!(!html.contains("id=\"apply-import\""), "{html}");

    let after = rows_of(&app).await;
    let changed: Vec<_> = teamline_store_tests::rows::differences(&before, &after)
        .into_iter()
        .filter(|d| d.contains("pbx_users") || d.contains("devices"))
        .collect();
    assert!(changed.is_empty(), "a refused add wrote users: {changed:?}");
    assert_eq!(configured(&app).await, users);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_user_limit_holds_on_every_add_sqlite() {
    the_user_limit_holds_on_every_add(TestApp::start().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_user_limit_holds_on_every_add_postgres() {
    the_user_limit_holds_on_every_add(TestApp::start_on_postgres().await).await;
}

/// A Bulk Upload file with more new users than the limit leaves room for: the check's summary
/// (the import's page, the API's dry run and its kept import) says how many rows are over,
/// names the limit and the users in use; nothing is written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulk_file_over_the_user_limit_says_how_many_rows_to_remove() {
    use teamline_sim::microsoft::demo as ms;
    let app = TestApp::start().await;
    let users = configured(&app).await;
    limit_contoso(&app, users + 2).await;
    let before = rows_of(&app).await;
    let rows: String = [
        ("Megan Bowen", "1011"),
        ("Lee Gu", "1008"),
        ("Miriam Graham", "1012"),
        ("Patti Fernandez", "1014"),
        ("Joni Sherman", "1007"),
    ]
    .iter()
    .map(|(name, ext)| {
        format!(
            "{},{ext},+1425555{ext},US East 2,{}\n",
            ms::upn_for(name, ms::CONTOSO_DOMAIN),
            teamline_sim::netsapiens::CONTOSO_HQ_ADDRESS_ID
        )
    })
    .collect();
    let file = format!(
        "Teams User,SIP User,Phone Number,Available Voice Routes,Emergency Address\n{rows}"
    );
    let summary = format!(
        "3 rows would exceed your user limit of {} ({users} in use): remove 3 rows or ask your reseller to raise the limit",
        users + 2
    );

    // The page of the checked file.
    let b = app.signed_in().await;
    let r = crate::bulk_upload::upload(&b, &file).await;
    let page = r.headers()["hx-redirect"].to_str().unwrap().to_owned();
    let (_, html) = text(b.get(&page)).await;
    assert!(html.contains(&summary), "{html}");
    assert!(html.contains("3 of 5 rows cannot be set up"), "{html}");
    assert!(!html.contains("id=\"apply-import\""), "{html}");

    // The API: the dry run and the kept import carry the same count.
    let t = token(&app, &app.contoso, "bulk", false, 10_000, None).await;
    let imports = format!("/api/v1/enterprises/{}/imports", app.contoso.id.0);
    for (query, status) in [("?dry_run=true", StatusCode::OK), ("", StatusCode::CREATED)] {
        let r = call(&app, Method::POST, &format!("{imports}{query}"), &t)
            .header("content-type", "text/csv")
            .body(file.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), status, "{query}");
        let out = json_of(r).await;
        assert_eq!(out["bad_rows"], 3, "{out}");
        assert_eq!(out["user_limit"]["rows_over"], 3, "{out}");
        assert_eq!(out["user_limit"]["limit"], users + 2, "{out}");
        assert_eq!(out["user_limit"]["in_use"], users, "{out}");
        assert_eq!(out["user_limit"]["summary"], summary.as_str(), "{out}");
    }

    // Within the limit, no summary.
    let r = call(&app, Method::POST, &format!("{imports}?dry_run=true"), &t)
        .header("content-type", "text/csv")
        .body(file.lines().take(3).collect::<Vec<_>>().join("\n"))
        .send()
        .await
        .unwrap();
    let out = json_of(r).await;
    assert_eq!(out["bad_rows"], 0, "{out}");
    assert!(out["user_limit"].is_null(), "{out}");

    let after = rows_of(&app).await;
    let changed: Vec<_> = teamline_store_tests::rows::differences(&before, &after)
        .into_iter()
        .filter(|d| d.contains("pbx_users") || d.contains("devices"))
        .collect();
    assert!(
        changed.is_empty(),
        "a refused file wrote users: {changed:?}"
    );
    app.stop().await;
}
