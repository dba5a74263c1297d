//! The JSON API over HTTP: tokens made in the portal, scope and read-only on every route, the
//! OpenAPI document, and the PBX user lifecycle with idempotency keys, ETags and problem details.

use crate::app::TestApp;
use crate::users::set_up;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use teamline_domain::audit::{Actor, Audit};
use teamline_domain::enterprise::Enterprise;
use teamline_domain::ids::EnterpriseId;
use teamline_domain::reseller::ResellerForm;
use teamline_store::NewApiToken;
use teamline_web::api::auth::mint;
use teamline_web::api::route_table;

/// A token made as the portal makes them, straight in the store.
pub(crate) async fn token(
    app: &TestApp,
    enterprise: &Enterprise,
    name: &str,
    read_only: bool,
    rate_per_minute: u32,
    expires_ms: Option<i64>,
) -> String {
    let minted = mint();
    app.store
        .create_api_token(
            &NewApiToken {
                reseller_id: enterprise.reseller_id,
                enterprise_id: Some(enterprise.id),
                name: name.into(),
                prefix: minted.prefix,
                secret_sha256: minted.secret_sha256,
                read_only,
                rate_per_minute,
                expires_ms,
            },
            &Audit::new(
                Actor::EnterpriseAdmin("admin@contoso.example".into()),
                "api_token.create",
                "test",
            ),
        )
        .await
        .unwrap();
    minted.token
}

pub(crate) fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
) -> reqwest::RequestBuilder {
    app.http
        .request(method, format!("{}{path}", app.url))
        .bearer_auth(token)
}

pub(crate) async fn json_of(r: reqwest::Response) -> Value {
    r.json().await.unwrap()
}

fn method(m: &str) -> Method {
    Method::from_bytes(m.to_uppercase().as_bytes()).unwrap()
}

/// SET UP PBX USER's API body for a Contoso user: its extension, number `+1<extension>` and
/// the extension's own device.
pub(crate) fn setup_body(location: i64, route: i64, teams_user: &str, extension: &str) -> Value {
    json!({
        "pbx_location_id": location,
        "voice_route_id": route,
        "teams_user": teams_user,
        "sip_user": extension,
        "phone_number": format!("+1{extension}"),
        "device": extension,
    })
}

/// A body every write route accepts the shape of (only setup and edit read one).
fn adele(location: i64, route: i64) -> Value {
    setup_body(location, route, "AdeleV@contoso.example", "1000")
}

/// Contoso's PBX location and its voice route "US East 2".
pub(crate) async fn ids(app: &TestApp) -> (i64, i64) {
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
    (location, route)
}

#[tokio::test]
async fn tokens_are_made_in_the_portal_shown_once_and_revoked() {
    let app = TestApp::start().await;
    let browser = app.signed_in().await;
    let created = browser
        .post_form(
            "/api-tokens",
            &[
                ("name", "Billing system"),
                ("access", "read_write"),
                ("expires_in_days", "30"),
                ("rate_per_minute", "600"),
            ],
        )
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let page = created.text().await.unwrap();
    assert!(page.contains("cannot show it again"), "{page}");
    let start = page
        .find("<pre class=\"token\" id=\"token-value\">")
        .unwrap()
        + 36;
    let token = page[start..start + 67].to_owned();
    assert!(
        token.starts_with("tl_") && token[3..].chars().all(|c| c.is_ascii_hexdigit()),
        "{token}"
    );

    // Shown once: the list shows only its first characters.
    let list = browser.get("/api-tokens").send().await.unwrap();
    let list = list.text().await.unwrap();
    assert!(list.contains("Billing system"));
    assert!(list.contains(&format!("{}…", &token[..11])));
    assert!(!list.contains(&token));
    assert!(list.contains("Read and write"));

    let me = call(&app, Method::GET, "/api/v1/enterprises", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::OK);
    let me = json_of(me).await;
    assert_eq!(me["items"].as_array().unwrap().len(), 1);
    assert_eq!(me["items"][0]["id"], json!(app.contoso.id.0));

    // A name in use is refused with the field named.
    let twice = browser
        .post_form(
            "/api-tokens",
            &[("name", "Billing system"), ("rate_per_minute", "600")],
        )
        .send()
        .await
        .unwrap();
    assert_eq!(twice.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(twice.text().await.unwrap().contains("already exists"));

    let stored = app
        .store
        .list_api_tokens(app.contoso.reseller_id, Some(app.contoso.id))
        .await
        .unwrap();
    assert!(stored[0].last_used_ms.is_some());
    let revoked = browser
        .post_form(&format!("/api-tokens/{}/revoke", stored[0].id), &[])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), StatusCode::SEE_OTHER);
    let refused = call(&app, Method::GET, "/api/v1/enterprises", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        refused.headers()["content-type"],
        "application/problem+json"
    );
    assert!(
        json_of(refused).await["detail"]
            .as_str()
            .unwrap()
            .contains("revoked")
    );
    let log = app
        .store
        .list_audit(Some(app.contoso.id), 10)
        .await
        .unwrap();
    assert!(log.iter().any(|e| e.action == "api_token.revoke"));
    app.stop().await;
}

#[tokio::test]
async fn every_route_is_in_the_openapi_document() {
    let app = TestApp::start().await;
    let doc = app.get("/api/v1/openapi.json").send().await.unwrap();
    assert_eq!(doc.status(), StatusCode::OK, "the document needs no token");
    let doc = json_of(doc).await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let table = route_table();
    for (m, path) in &table {
        assert!(
            doc["paths"][path][m].is_object(),
            "{} {path} is not in the OpenAPI document",
            m.to_uppercase()
        );
    }
    // And nothing is documented that is not served.
    for (path, item) in doc["paths"].as_object().unwrap() {
        for m in item.as_object().unwrap().keys() {
            assert!(
                table.iter().any(|(tm, tp)| tm == m && tp == path),
                "{m} {path} is documented but not routed"
            );
        }
    }
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    app.stop().await;
}

/// The browsable reference needs no token, lists every operation and schema of the document,
/// and loads nothing from elsewhere.
#[tokio::test]
async fn the_reference_page_shows_every_operation_from_our_own_assets() {
    let app = TestApp::start().await;
    let page = app.get("/api/v1/reference").send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = page.text().await.unwrap();
    for (m, path) in route_table() {
        let shown = format!("{}</span> <code>{path}</code>", m.to_uppercase());
        assert!(
            html.contains(&shown),
            "{m} {path} is not on the reference page"
        );
    }
    for schema in ["PbxUserOut", "Problem", "JobOut", "AuditList"] {
        assert!(
            html.contains(&format!("id=\"schema-{schema}\"")),
            "{schema}"
        );
    }
    assert!(html.contains("phone_number"));
    for attr in ["src=", "href="] {
        for (i, _) in html.match_indices(attr) {
            let value = &html[i + attr.len()..];
            assert!(
                value.starts_with("\"/") || value.starts_with("\"#"),
                "{}",
                &value[..40.min(value.len())]
            );
        }
    }
    let css = app.get("/static/api-reference.css").send().await.unwrap();
    assert_eq!(css.status(), StatusCode::OK);
    app.stop().await;
}

/// Troubleshoot answers the portal's checklist for a user, and the candidates for a name
/// several users share.
#[tokio::test]
async fn troubleshoot_answers_the_checklist_of_the_page() {
    let app = TestApp::start().await;
    set_up(&app, "Alex Wilber", "1001").await;
    let t = token(&app, &app.contoso, "reader", true, 10_000, None).await;
    let url = |q: &str| format!("/api/v1/enterprises/{}/troubleshoot?q={q}", app.contoso.id);
    let r = call(&app, Method::GET, &url("AlexW%40contoso.example"), &t)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let found = json_of(r).await;
    assert_eq!(found["upn"], "AlexW@contoso.example", "{found}");
    let checks = found["checks"].as_array().unwrap();
    assert!(!checks.is_empty());
    assert!(
        checks
            .iter()
            .any(|c| c["label"] == "User-sync consent granted" && c["status"] == "pass"),
        "{found}"
    );
    assert!(
        checks
            .iter()
            .filter(|c| c["status"] != "pass")
            .all(|c| c["fix"].is_string()),
        "every check that did not pass says what to do: {found}"
    );
    let empty = call(&app, Method::GET, &url(""), &t).send().await.unwrap();
    assert_eq!(empty.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(json_of(empty).await["errors"][0]["field"], "q");
    app.stop().await;
}

/// A read-write reseller-wide token of Contoso's reseller.
pub(crate) async fn reseller_token(app: &TestApp) -> String {
    let minted = mint();
    app.store
        .create_api_token(
            &NewApiToken {
                reseller_id: app.contoso.reseller_id,
                enterprise_id: None,
                name: "provisioning".into(),
                prefix: minted.prefix,
                secret_sha256: minted.secret_sha256,
                read_only: false,
                rate_per_minute: 10_000,
                expires_ms: None,
            },
            &Audit::new(Actor::System("test".into()), "api_token.create", "test"),
        )
        .await
        .unwrap();
    minted.token
}

/// A reseller-wide token adds an enterprise (invited, with its invitation sent) and resends
/// the invitation; an enterprise token may do neither.
#[tokio::test]
async fn a_reseller_token_adds_enterprises_and_resends_invitations() {
    let app = TestApp::start().await;
    let wide = reseller_token(&app).await;
    let regions = json_of(
        call(&app, Method::GET, "/api/v1/sbc-regions", &wide)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let region = regions["items"][0]["id"].clone();
    let added = call(&app, Method::POST, "/api/v1/enterprises", &wide)
        .json(
            &json!({"name": "Litware", "global_admin_email": "admin@litware.example",
            "user_limit": 25, "sbc_region_ids": [region]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), StatusCode::CREATED);
    let location = added.headers()["location"].to_str().unwrap().to_owned();
    let added = json_of(added).await;
    assert_eq!(added["enterprise"]["name"], "Litware");
    assert_eq!(added["enterprise"]["state"], "invited");
    assert_eq!(added["enterprise"]["user_limit"], 25);
    let got = json_of(
        call(&app, Method::GET, &location, &wide)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(got["slug"], added["enterprise"]["slug"]);

    let bad = call(&app, Method::POST, "/api/v1/enterprises", &wide)
        .json(&json!({"name": " ", "global_admin_email": "nobody", "sbc_region_ids": [999_999]}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<String> = json_of(bad).await["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_owned())
        .collect();
    for f in ["name", "global_admin_email", "sbc_region_ids"] {
        assert!(fields.contains(&f.to_owned()), "{f} in {fields:?}");
    }

    let id = added["enterprise"]["id"].as_i64().unwrap();
    let resent = call(
        &app,
        Method::POST,
        &format!("/api/v1/enterprises/{id}/invitation"),
        &wide,
    )
    .send()
    .await
    .unwrap();
    if added["invitation_sent"] == true {
        assert_eq!(resent.status(), StatusCode::ACCEPTED);
        assert_eq!(json_of(resent).await["sent_to"], "admin@litware.example");
    } else {
        assert!(resent.status().is_client_error() || resent.status().is_server_error());
    }
    let log = app
        .store
        .list_audit(Some(EnterpriseId(id)), 50)
        .await
        .unwrap();
    assert!(
        log.iter()
            .any(|e| e.actor == Actor::ApiToken("provisioning".into())),
        "{log:?}"
    );

    let own = token(&app, &app.contoso, "contoso", false, 10_000, None).await;
    let refused = call(
        &app,
        Method::POST,
        &format!("/api/v1/enterprises/{}/invitation", app.contoso.id),
        &own,
    )
    .send()
    .await
    .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(
        json_of(refused).await["detail"]
            .as_str()
            .unwrap()
            .contains("reseller-wide")
    );
    app.stop().await;
}

/// A read-write reseller-wide token of a second reseller, Southridge, with no enterprises.
async fn southridge_token(app: &TestApp) -> String {
    let audit = Audit::new(Actor::System("test".into()), "test", "Southridge");
    let reseller = app
        .store
        .create_reseller(
            &ResellerForm {
                name: "Southridge Telecom".into(),
                contact_email: "admin@southridge.example".into(),
                services: String::new(),
                billing_reference: String::new(),
            }
            .validate()
            .unwrap(),
            &audit,
        )
        .await
        .unwrap();
    let minted = mint();
    app.store
        .create_api_token(
            &NewApiToken {
                reseller_id: reseller.id,
                enterprise_id: None,
                name: "southridge".into(),
                prefix: minted.prefix,
                secret_sha256: minted.secret_sha256,
                read_only: false,
                rate_per_minute: 10_000,
                expires_ms: None,
            },
            &audit,
        )
        .await
        .unwrap();
    minted.token
}

/// Every route, with the enterprise and object ids filled in.
fn concrete(path: &str, enterprise: i64, user: i64, job: i64, import: i64) -> String {
    let id = if path.contains("/jobs/") {
        job
    } else if path.contains("/imports/") {
        import
    } else {
        user
    };
    let url = path
        .replace("{enterprise}", &enterprise.to_string())
        .replace("{id}", &id.to_string());
    // Troubleshoot needs its question.
    if path.ends_with("/troubleshoot") {
        format!("{url}?q=AlexW@contoso.example")
    } else {
        url
    }
}

#[tokio::test]
async fn token_scope_and_read_only_hold_on_every_route() {
    let app = TestApp::start().await;
    set_up(&app, "Alex Wilber", "1001").await;
    let (location, route) = ids(&app).await;
    let contoso = app.contoso.id.0;
    let user = app
        .store
        .list_pbx_users(
            app.contoso.id,
            &teamline_store::PbxUserQuery {
                tab: teamline_store::UserTab::Licensed,
                search: None,
                limit: 10,
                offset: 0,
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .items[0]
        .user
        .clone();
    let job = app
        .engine
        .sync_teams_users(app.contoso.id, &Actor::System("test".into()))
        .await
        .unwrap()
        .0;
    let import = app
        .engine
        .upload_import(
            app.contoso.id,
            &Actor::System("test".into()),
            "users.csv",
            "Teams User,SIP User,Phone Number\nAdeleV@contoso.example,1000,\n",
        )
        .await
        .unwrap()
        .0
        .id
        .0;
    let reader = token(&app, &app.contoso, "reader", true, 10_000, None).await;
    let foreign = token(&app, app.fabrikam(), "fabrikam", false, 10_000, None).await;
    let other_reseller = southridge_token(&app).await;
    let audit_before = app
        .store
        .list_audit(Some(app.contoso.id), 500)
        .await
        .unwrap()
        .len();

    for (m, path) in route_table() {
        if path.ends_with("openapi.json") {
            continue;
        }
        let url = concrete(path, contoso, user.id.0, job, import);
        let body = adele(location, route);
        // Without a token: 401.
        let r = app
            .http
            .request(method(m), format!("{}{url}", app.url))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            StatusCode::UNAUTHORIZED,
            "{m} {url} without a token"
        );
        // Another enterprise's token: Contoso's objects do not exist for it.
        let r = call(&app, method(m), &url, &foreign)
            .json(&body)
            .send()
            .await
            .unwrap();
        if path == "/api/v1/enterprises" && m == "get" {
            let list = json_of(r).await;
            assert_eq!(list["items"][0]["id"], json!(app.fabrikam().id.0));
            assert_eq!(list["items"].as_array().unwrap().len(), 1);
        } else if path == "/api/v1/enterprises" {
            // Adding an enterprise is the reseller's: an enterprise token cannot.
            assert_eq!(r.status(), StatusCode::FORBIDDEN, "{m} {url}");
        } else if path == "/api/v1/sbc-regions" {
            // The platform's regions belong to no enterprise.
            assert_eq!(r.status(), StatusCode::OK, "{m} {url}");
        } else {
            assert_eq!(
                r.status(),
                StatusCode::NOT_FOUND,
                "{m} {url} with Fabrikam's token"
            );
            assert_eq!(r.headers()["content-type"], "application/problem+json");
        }
        // Contoso's objects under Fabrikam's own enterprise id: still not found.
        if path.contains("{id}") {
            let own = concrete(path, app.fabrikam().id.0, user.id.0, job, import);
            let r = call(&app, method(m), &own, &foreign)
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(
                r.status(),
                StatusCode::NOT_FOUND,
                "{m} {own} with Fabrikam's token"
            );
        }
        // Another reseller's reseller-wide token: none of Contoso's objects exist for it.
        let r = call(&app, method(m), &url, &other_reseller)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status();
        match (m, path) {
            ("get", "/api/v1/enterprises") => {
                assert_eq!(json_of(r).await["items"], json!([]), "{m} {url}");
            }
            ("get", "/api/v1/sbc-regions") => assert_eq!(status, StatusCode::OK),
            // A body that is not an enterprise: refused, and nothing is added.
            ("post", "/api/v1/enterprises") => {
                assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{m} {url}");
            }
            _ => assert_eq!(
                status,
                StatusCode::NOT_FOUND,
                "{m} {url} with another reseller's token"
            ),
        }
        // A read-only token reads everything and changes nothing.
        let r = call(&app, method(m), &url, &reader)
            .header("idempotency-key", "k")
            .json(&body)
            .send()
            .await
            .unwrap();
        if m == "get" {
            assert_eq!(
                r.status(),
                StatusCode::OK,
                "{m} {url} with a read-only token"
            );
        } else {
            assert_eq!(
                r.status(),
                StatusCode::FORBIDDEN,
                "{m} {url} with a read-only token"
            );
            assert!(
                json_of(r).await["detail"]
                    .as_str()
                    .unwrap()
                    .contains("read-only")
            );
        }
    }
    let after = app
        .store
        .get_pbx_user(app.contoso.id, user.id)
        .await
        .unwrap();
    assert_eq!(after.user, user, "nothing changed the user");
    assert_eq!(
        app.store
            .list_audit(Some(app.contoso.id), 500)
            .await
            .unwrap()
            .len(),
        audit_before,
        "nothing was changed, so nothing was audited"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_pbx_user_is_set_up_edited_and_deleted_through_the_api() {
    let app = TestApp::start().await;
    let (location, route) = ids(&app).await;
    let e = app.contoso.id.0;
    let t = token(&app, &app.contoso, "billing", false, 10_000, None).await;
    let users = format!("/api/v1/enterprises/{e}/pbx-users");

    // Every field at fault at once, each named.
    let bad = call(&app, Method::POST, &users, &t)
        .json(&json!({
            "pbx_location_id": location,
            "voice_route_id": route,
            "teams_user": "AdeleV@contoso.example",
            "sip_user": "abc",
            "phone_number": "12",
            "device": "1000",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let bad = json_of(bad).await;
    let fields: Vec<&str> = bad["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert!(
        fields.contains(&"sip_user") && fields.contains(&"phone_number"),
        "{bad}"
    );
    let missing = call(&app, Method::POST, &users, &t)
        .json(&json!({ "pbx_location_id": location }))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        json_of(missing).await["errors"][0]["field"],
        "voice_route_id"
    );

    // Set up, with an idempotency key: the repeat gets the same answer and sets up nothing.
    let created = call(&app, Method::POST, &users, &t)
        .header("idempotency-key", "setup-adele")
        .json(&adele(location, route))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let where_ = created.headers()["location"].to_str().unwrap().to_owned();
    let etag = created.headers()["etag"].to_str().unwrap().to_owned();
    let adele_json = json_of(created).await;
    assert_eq!(adele_json["display_name"], "Adele Vance");
    assert_eq!(adele_json["aor"], "1000@contoso");
    let again = call(&app, Method::POST, &users, &t)
        .header("idempotency-key", "setup-adele")
        .json(&adele(location, route))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::CREATED);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.headers()["location"].to_str().unwrap(), where_);
    assert_eq!(json_of(again).await["id"], adele_json["id"]);
    let other = call(&app, Method::POST, &users, &t)
        .header("idempotency-key", "setup-adele")
        .json(&json!({"sip_user": "1001"}))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // Without the key the same setup is refused: the extension is taken.
    let taken = call(&app, Method::POST, &users, &t)
        .json(&adele(location, route))
        .send()
        .await
        .unwrap();
    assert_eq!(taken.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // Edit needs the ETag.
    let mut edit = adele(location, route);
    edit["tag"] = json!("sales");
    let no_etag = call(&app, Method::PUT, &where_, &t)
        .json(&edit)
        .send()
        .await
        .unwrap();
    assert_eq!(no_etag.status(), StatusCode::PRECONDITION_REQUIRED);
    let stale = call(&app, Method::PUT, &where_, &t)
        .header("if-match", "\"999\"")
        .json(&edit)
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), StatusCode::PRECONDITION_FAILED);
    let edited = call(&app, Method::PUT, &where_, &t)
        .header("if-match", &etag)
        .json(&edit)
        .send()
        .await
        .unwrap();
    assert_eq!(edited.status(), StatusCode::ACCEPTED);
    let new_etag = edited.headers()["etag"].to_str().unwrap().to_owned();
    assert_ne!(new_etag, etag);
    assert_eq!(json_of(edited).await["tag"], "sales");

    // The lifecycle, audited under the token's name.
    for action in ["disable-calling", "disable"] {
        let r = call(&app, Method::POST, &format!("{where_}/{action}"), &t)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::ACCEPTED, "{action}");
    }
    let deleted = call(&app, Method::DELETE, &where_, &t)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::OK);
    assert_eq!(json_of(deleted).await["state"], "deleted");
    let log = call(
        &app,
        Method::GET,
        &format!("/api/v1/enterprises/{e}/audit"),
        &t,
    )
    .send()
    .await
    .unwrap();
    let log = json_of(log).await;
    let by_token: Vec<&str> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["actor"] == "API token \"billing\"")
        .map(|i| i["action"].as_str().unwrap())
        .collect();
    for action in [
        "pbx_user.create",
        "pbx_user.update",
        "calling.disable",
        "pbx_user.disable",
        "pbx_user.delete",
    ] {
        assert!(by_token.contains(&action), "{action} in {by_token:?}");
    }

    // A sync is a job to poll.
    let sync = call(
        &app,
        Method::POST,
        &format!("/api/v1/enterprises/{e}/sync"),
        &t,
    )
    .send()
    .await
    .unwrap();
    assert_eq!(sync.status(), StatusCode::ACCEPTED);
    let job_url = sync.headers()["location"].to_str().unwrap().to_owned();
    let job = json_of(call(&app, Method::GET, &job_url, &t).send().await.unwrap()).await;
    assert_eq!(job["kind"], "sync_teams_users");
    app.stop().await;
}

#[tokio::test]
async fn lists_are_cursor_paged() {
    let app = TestApp::start().await;
    set_up(&app, "Adele Vance", "1000").await;
    set_up(&app, "Alex Wilber", "1001").await;
    set_up(&app, "Diego Siciliani", "1002").await;
    let t = token(&app, &app.contoso, "reader", true, 10_000, None).await;
    let base = format!("/api/v1/enterprises/{}/pbx-users?limit=2", app.contoso.id);
    let first = json_of(call(&app, Method::GET, &base, &t).send().await.unwrap()).await;
    assert_eq!(first["total"], 3);
    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    let cursor = first["next_cursor"].as_str().unwrap();
    // A user set up meanwhile ahead of the cursor shows on the next page; nobody repeats.
    set_up(&app, "Megan Bowen", "1003").await;
    let second = json_of(
        call(&app, Method::GET, &format!("{base}&cursor={cursor}"), &t)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(second["items"].as_array().unwrap().len(), 2);
    assert!(second.get("next_cursor").is_none(), "{second}");
    let mut names: Vec<Value> = first["items"].as_array().unwrap().clone();
    names.extend(second["items"].as_array().unwrap().iter().cloned());
    names.dedup_by(|a, b| a["id"] == b["id"]);
    assert_eq!(names.len(), 4, "every user once");
    assert_eq!(
        second["items"][1]["display_name"], "Megan Bowen",
        "{second}"
    );
    let forged = call(&app, Method::GET, &format!("{base}&cursor=2"), &t)
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(json_of(forged).await["errors"][0]["field"], "cursor");
    app.stop().await;
}

/// The jobs list pages from the newest job to the oldest by cursor: every job once.
#[tokio::test]
async fn jobs_are_cursor_paged_newest_first() {
    let app = TestApp::start().await;
    set_up(&app, "Adele Vance", "1000").await;
    set_up(&app, "Alex Wilber", "1001").await;
    let t = token(&app, &app.contoso, "reader", true, 10_000, None).await;
    let base = format!("/api/v1/enterprises/{}/jobs", app.contoso.id);
    let get = |path: String| {
        let r = call(&app, Method::GET, &path, &t);
        async move { json_of(r.send().await.unwrap()).await }
    };
    let all: Vec<i64> = get(format!("{base}?limit=200")).await["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["id"].as_i64().unwrap())
        .collect();
    assert!(all.len() >= 3, "the set-ups queued jobs: {all:?}");
    let mut paged = Vec::new();
    let mut next = format!("{base}?limit=2");
    loop {
        let page = get(next.clone()).await;
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 2, "{page}");
        paged.extend(items.iter().map(|j| j["id"].as_i64().unwrap()));
        match page["next_cursor"].as_str() {
            Some(c) => next = format!("{base}?limit=2&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(paged, all, "every job once, newest first");
    let forged = call(&app, Method::GET, &format!("{base}?cursor=7"), &t)
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(json_of(forged).await["errors"][0]["field"], "cursor");
    app.stop().await;
}

/// The audit list answers the Audit log page's filters (the same search) and pages from the
/// newest event to the oldest by cursor.
#[tokio::test]
async fn the_audit_log_is_filtered_like_its_page_and_cursor_paged() {
    let app = TestApp::start().await;
    set_up(&app, "Adele Vance", "1000").await;
    set_up(&app, "Alex Wilber", "1001").await;
    set_up(&app, "Diego Siciliani", "1002").await;
    let t = token(&app, &app.contoso, "reader", true, 10_000, None).await;
    let audit = format!("/api/v1/enterprises/{}/audit", app.contoso.id);
    let get = |query: String| {
        let t = t.clone();
        let url = format!("{audit}?{query}");
        let app = &app;
        async move { call(app, Method::GET, &url, &t).send().await.unwrap() }
    };

    let created = json_of(get("action=pbx_user.create".into()).await).await;
    let created = created["items"].as_array().unwrap().clone();
    assert_eq!(created.len(), 3, "{created:?}");
    assert!(created.iter().all(|e| e["action"] == "pbx_user.create"));

    // Page by page, one event each: every set-up once, newest first, then the end.
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = json_of(get(format!("action=pbx_user.create&limit=1{cursor}")).await).await;
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["id"].clone()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => cursor = format!("&cursor={c}"),
            None => break,
        }
    }
    let ids: Vec<Value> = created.iter().map(|e| e["id"].clone()).collect();
    assert_eq!(seen, ids);

    // The User filter finds the events about one PBX user, by extension or UPN.
    for user in ["1001", "AlexW%40contoso.example"] {
        let about = json_of(get(format!("user={user}&action=pbx_user.create")).await).await;
        let about = about["items"].as_array().unwrap();
        assert_eq!(about.len(), 1, "{user}: {about:?}");
        assert!(
            about[0]["summary"].as_str().unwrap().contains("1001"),
            "{about:?}"
        );
    }
    // Who, by the actor id the events carry.
    let actor = created[0]["actor_id"].as_str().unwrap().to_owned();
    let by_actor = json_of(
        get(format!(
            "actor={}",
            actor.replace(':', "%3A").replace('@', "%40")
        ))
        .await,
    )
    .await;
    assert!(
        by_actor["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["actor_id"] == actor.as_str())
    );
    // Days: nothing happened in 2001.
    let old = json_of(get("from=2001-01-01&to=2001-01-02".into()).await).await;
    assert!(old["items"].as_array().unwrap().is_empty());

    for (query, field) in [
        ("from=yesterday", "from"),
        ("cursor=o%3A2", "cursor"),
        ("limit=0", "limit"),
    ] {
        let r = get(query.into()).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{query}");
        assert_eq!(json_of(r).await["errors"][0]["field"], field, "{query}");
    }
    app.stop().await;
}

#[tokio::test]
async fn a_token_is_held_to_its_rate_limit_and_its_expiry() {
    let app = TestApp::start().await;
    let slow = token(&app, &app.contoso, "slow", true, 2, None).await;
    for _ in 0..2 {
        let r = call(&app, Method::GET, "/api/v1/enterprises", &slow)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }
    let limited = call(&app, Method::GET, "/api/v1/enterprises", &slow)
        .send()
        .await
        .unwrap();
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=30).contains(&wait), "{wait}");
    // Another token is not held back by it.
    let other = token(&app, &app.contoso, "other", true, 2, None).await;
    let r = call(&app, Method::GET, "/api/v1/enterprises", &other)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    let now = app.store.clock().now_ms();
    let old = token(&app, &app.contoso, "old", true, 100, Some(now - 1)).await;
    let r = call(&app, Method::GET, "/api/v1/enterprises", &old)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(
        json_of(r).await["detail"]
            .as_str()
            .unwrap()
            .contains("expired")
    );
    let unknown = call(&app, Method::GET, "/api/v1/enterprises", "tl_nope")
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
    assert!(unknown.headers().contains_key("www-authenticate"));
    app.stop().await;
}

#[tokio::test]
async fn malformed_requests_get_problem_details() {
    let app = TestApp::start().await;
    let t = token(&app, &app.contoso, "billing", false, 10_000, None).await;
    let e = app.contoso.id.0;
    for (m, path, status) in [
        (
            Method::GET,
            format!("/api/v1/enterprises/{e}/pbx-users/not-a-number"),
            StatusCode::NOT_FOUND,
        ),
        (
            Method::GET,
            "/api/v1/enterprises/x".to_owned(),
            StatusCode::NOT_FOUND,
        ),
        (
            Method::GET,
            format!("/api/v1/enterprises/{e}/pbx-users?state=gone"),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            Method::GET,
            format!("/api/v1/enterprises/{e}/pbx-users?limit=0"),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            Method::GET,
            format!("/api/v1/enterprises/{e}/jobs?unfinished=maybe"),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            Method::GET,
            "/api/v1/no-such-thing".to_owned(),
            StatusCode::NOT_FOUND,
        ),
    ] {
        let r = call(&app, m, &path, &t).send().await.unwrap();
        assert_eq!(r.status(), status, "{path}");
        assert_eq!(
            r.headers()["content-type"],
            "application/problem+json",
            "{path}"
        );
    }
    let not_json = call(
        &app,
        Method::POST,
        &format!("/api/v1/enterprises/{e}/pbx-users"),
        &t,
    )
    .body("sip_user=1000")
    .send()
    .await
    .unwrap();
    assert_eq!(not_json.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    app.stop().await;
}

#[tokio::test]
async fn the_frameworks_refusals_on_api_paths_are_problem_details() {
    let app = TestApp::start().await;
    let t = token(&app, &app.contoso, "billing", false, 10_000, None).await;
    let r = call(
        &app,
        Method::PATCH,
        &format!("/api/v1/enterprises/{}/pbx-users", app.contoso.id),
        &t,
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    assert!(r.headers().contains_key("allow"));
    app.stop().await;
}

const IMPORT_HEADER: &str = "Teams User,SIP User,Phone Number,Available Voice Routes,User Devices";

#[tokio::test]
async fn a_csv_is_checked_kept_applied_and_its_result_downloaded_through_the_api() {
    let app = TestApp::start_with_jobs().await;
    let writer = token(&app, &app.contoso, "billing", false, 10_000, None).await;
    let e = app.contoso.id.0;
    let path = format!("/api/v1/enterprises/{e}/imports");
    let bad = format!(
        "{IMPORT_HEADER}\nAdeleV@contoso.example,1000,+11000,US East 2,1000\nAlexW@contoso.example,1001,12ab,US East 2,1001\n"
    );
    let before = app.store.user_counts(app.contoso.id).await.unwrap();

    // A dry run answers the problems by row and column and keeps nothing.
    let dry = call(&app, Method::POST, &format!("{path}?dry_run=true"), &writer)
        .header("content-type", "text/csv")
        .body(bad.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(dry.status(), StatusCode::OK);
    let dry = json_of(dry).await;
    assert_eq!(dry["id"], Value::Null);
    assert_eq!(dry["bad_rows"], 1);
    assert_eq!(dry["rows"][0]["row"], 3);
    assert_eq!(dry["rows"][0]["problems"][0]["field"], "Phone Number");
    assert!(
        app.store
            .list_imports(app.contoso.id, 10)
            .await
            .unwrap()
            .is_empty()
    );

    // Kept with its problems (as a multipart form's file); it cannot be applied.
    let form = format!(
        "--b0undary\r\nContent-Disposition: form-data; name=\"file\"; filename=\"users.csv\"\r\nContent-Type: text/csv\r\n\r\n{bad}\r\n--b0undary--\r\n"
    );
    let kept = call(&app, Method::POST, &path, &writer)
        .header("content-type", "multipart/form-data; boundary=b0undary")
        .body(form)
        .send()
        .await
        .unwrap();
    assert_eq!(kept.status(), StatusCode::CREATED);
    let kept = json_of(kept).await;
    assert_eq!(kept["file_name"], "users.csv");
    assert_eq!(
        (kept["row_count"].clone(), kept["bad_rows"].clone()),
        (json!(2), json!(1))
    );
    let id = kept["id"].as_i64().unwrap();
    let refused = call(&app, Method::POST, &format!("{path}/{id}/apply"), &writer)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    assert!(
        json_of(refused).await["detail"]
            .as_str()
            .unwrap()
            .contains("1 rows")
    );

    // The fixed file, applied: progress until done, then the result file.
    let good = format!(
        "{IMPORT_HEADER}\nAdeleV@contoso.example,1000,+11000,US East 2,1000\nAlexW@contoso.example,1001,+11001,US East 2,1001\n"
    );
    let kept = call(
        &app,
        Method::POST,
        &format!("{path}?file_name=fixed.csv"),
        &writer,
    )
    .header("content-type", "text/csv")
    .body(good)
    .send()
    .await
    .unwrap();
    assert_eq!(kept.status(), StatusCode::CREATED);
    let id = json_of(kept).await["id"].as_i64().unwrap();
    let applying = call(&app, Method::POST, &format!("{path}/{id}/apply"), &writer)
        .send()
        .await
        .unwrap();
    assert_eq!(applying.status(), StatusCode::ACCEPTED);
    let mut state = json_of(applying).await;
    for _ in 0..600 {
        if state["state"] == "done" || state["state"] == "failed" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        state = json_of(
            call(&app, Method::GET, &format!("{path}/{id}"), &writer)
                .send()
                .await
                .unwrap(),
        )
        .await;
    }
    assert_eq!(state["state"], "done", "{state}");
    assert_eq!(state["applied_rows"], 2);
    let rows = json_of(
        call(&app, Method::GET, &format!("{path}/{id}/rows"), &writer)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(
        rows["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["outcome"] == "set_up")
    );
    let result = call(
        &app,
        Method::GET,
        &format!("{path}/{id}/result.csv"),
        &writer,
    )
    .send()
    .await
    .unwrap();
    assert!(
        result.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let result = result.text().await.unwrap();
    assert_eq!(
        result.lines().filter(|l| l.contains(",set_up,")).count(),
        2,
        "{result}"
    );
    assert_eq!(
        app.store.user_counts(app.contoso.id).await.unwrap().active,
        before.active + 2
    );
    let list = json_of(
        call(&app, Method::GET, &path, &writer)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 2);
    app.stop().await;
}
