//! The portal's pages and their htmx fragments over HTTP: tenant scoping, the SET UP PBX USER
//! helpers, Save/Edit, Delete, calling actions, Sync Teams Users and Troubleshoot.

use crate::app::{Browser, TestApp, location};
use crate::users::set_up;
use teamline_domain::audit::{Actor, Audit};
use teamline_domain::enterprise::TenantId;
use teamline_domain::ids::PbxUserId;
use teamline_sim::microsoft::demo as ms;
use teamline_store::{PbxUserQuery, UserTab};

async fn debra(app: &TestApp) -> PbxUserId {
    app.store
        .list_pbx_users(
            app.contoso.id,
            &PbxUserQuery {
                tab: UserTab::Disabled,
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .items[0]
        .user
        .id
}

async fn text(r: reqwest::RequestBuilder) -> (u16, String) {
    let r = r.send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

fn htmx(b: &Browser, path: &str, fields: &[(&str, &str)]) -> reqwest::RequestBuilder {
    b.post_form(path, fields).header("hx-request", "true")
}

#[tokio::test]
async fn another_enterprises_users_answer_not_found() {
    let app = TestApp::start().await;
    let debra = debra(&app).await;
    let fabrikam_tenant = TenantId::parse(ms::FABRIKAM_TENANT_ID).unwrap();
    app.store
        .register_enterprise(
            app.fabrikam().id,
            &fabrikam_tenant,
            &Audit::new(Actor::System("test".into()), "test", "Fabrikam registered"),
        )
        .await
        .unwrap();
    let contoso = app.signed_in().await;
    let fabrikam = app
        .session_for(app.fabrikam().id, ms::FABRIKAM_TENANT_ID)
        .await;

    let (status, page) = text(contoso.get(&format!("/users/{debra}/edit"))).await;
    assert_eq!(status, 200);
    assert!(page.contains("Edit PBX user — Debra Berger"), "{page}");

    for path in [
        format!("/users/{debra}/edit"),
        format!("/users/{debra}/row"),
        format!("/users/{debra}/delete"),
        "/users/not-a-number/edit".to_owned(),
    ] {
        let (status, page) = text(fabrikam.get(&path)).await;
        assert_eq!(status, 404, "{path}");
        assert!(!page.contains("Debra"), "{path} leaked: {page}");
    }
    for action in ["enable", "enable-calling", "delete"] {
        let (status, _) = text(fabrikam.post_form(&format!("/users/{debra}/{action}"), &[])).await;
        assert_eq!(status, 404, "{action}");
    }
    let (_, list) = text(fabrikam.get("/users?tab=disabled")).await;
    assert!(!list.contains("Debra Berger"));
    // Nothing changed for Contoso.
    let (_, list) = text(contoso.get("/users?tab=disabled")).await;
    assert!(list.contains("Debra Berger"));
}

#[tokio::test]
async fn the_forms_helpers_answer_what_the_admin_chose() {
    let app = TestApp::start().await;
    let b = app.signed_in().await;
    let pbx_location = app.store.list_pbx_locations(app.contoso.id).await.unwrap()[0]
        .id
        .to_string();

    // Validation as you type: the touched field's problem, none for fields not reached yet.
    let (status, oob) = text(
        htmx(
            &b,
            "/users/form/validate",
            &[("pbx_location", &pbx_location), ("sip_user", "1015")],
        )
        .header("hx-trigger-name", "sip_user"),
    )
    .await;
    assert_eq!(status, 200);
    let sip = oob
        .split("id=\"error-sip_user\"")
        .nth(1)
        .unwrap()
        .split("</p>")
        .next()
        .unwrap();
    assert!(
        sip.contains("Debra Berger") && sip.contains("Delete User"),
        "{sip}"
    );
    assert!(
        oob.contains(r#"<p class="field-error" id="error-teams_user" hx-swap-oob="true"></p>"#)
    );

    // Phone Number: typing 11000 offers +11000.
    let (_, options) = text(htmx(
        &b,
        "/users/form/phone-options",
        &[("phone_number", "11000")],
    ))
    .await;
    assert!(options.contains(r#"data-value="+11000""#), "{options}");

    // With a SIP User chosen, its own phone numbers on the PBX are offered next to +1<ext>
    // (Diego's two DIDs), while the field holds the pre-filled number...
    let (_, options) = text(htmx(
        &b,
        "/users/form/phone-options",
        &[
            ("pbx_location", &pbx_location),
            ("sip_user", "1002"),
            ("phone_number", "+11002"),
            ("phone_autofill", "+11002"),
        ],
    ))
    .await;
    let offered: Vec<&str> = options
        .split(r#"data-value=""#)
        .skip(1)
        .filter_map(|o| o.split('"').next())
        .collect();
    assert_eq!(
        offered,
        ["+11002", "+14255550102", "+14255550122"],
        "{options}"
    );
    assert!(
        options.contains("+14255550122</span> <span class=\"muted small\">(on the PBX for 1002)"),
        "{options}"
    );
    // ... and only those starting with what the admin types.
    let (_, options) = text(htmx(
        &b,
        "/users/form/phone-options",
        &[
            ("pbx_location", &pbx_location),
            ("sip_user", "1002"),
            ("phone_number", "1425555012"),
            ("phone_autofill", "+11002"),
        ],
    ))
    .await;
    let offered: Vec<&str> = options
        .split(r#"data-value=""#)
        .skip(1)
        .filter_map(|o| o.split('"').next())
        .collect();
    assert_eq!(offered, ["+1425555012", "+14255550122"], "{options}");
    // An extension without DIDs is offered the convention only.
    let (_, options) = text(htmx(
        &b,
        "/users/form/phone-options",
        &[
            ("pbx_location", &pbx_location),
            ("sip_user", "1011"),
            ("phone_number", "+11011"),
            ("phone_autofill", "+11011"),
        ],
    ))
    .await;
    assert!(
        options.contains(r#"data-value="+11011""#) && !options.contains("on the PBX"),
        "{options}"
    );

    // Choosing the SIP User pre-fills +1<ext> and resets User Devices.
    let (_, swap) = text(htmx(
        &b,
        "/users/form/sip-user",
        &[
            ("pbx_location", &pbx_location),
            ("sip_user", "1000"),
            ("device", "1001tm"),
        ],
    ))
    .await;
    assert!(swap.starts_with(r#"<div id="user-devices""#), "{swap}");
    assert!(
        swap.contains(r#"value="+11000""#) && swap.contains(r#"hx-swap-oob="true""#),
        "{swap}"
    );
    assert!(
        swap.contains(r#"name="device" id="device" value="1000tm""#),
        "another extension's device is dropped and 1000's own tm device chosen: {swap}"
    );
    // No Teams user chosen yet: the one matching extension 1000 by name is suggested.
    assert!(
        swap.contains(r#"id="teams_user-suggestion""#)
            && swap.contains(&format!(
                r#"data-fill="teams_user" data-value="{}""#,
                ms::contoso_user_id("Adele Vance")
            )),
        "{swap}"
    );
    // An extension without its tm device on the PBX gets none pre-selected.
    let (_, swap) = text(htmx(
        &b,
        "/users/form/sip-user",
        &[("pbx_location", &pbx_location), ("sip_user", "1011")],
    ))
    .await;
    assert!(
        swap.contains(r#"name="device" id="device" value="""#),
        "{swap}"
    );
    // Choosing the Teams user first suggests her extension.
    let megan = ms::contoso_user_id("Megan Bowen");
    let (status, hint) = text(htmx(
        &b,
        "/users/form/teams-user",
        &[("pbx_location", &pbx_location), ("teams_user", &megan)],
    ))
    .await;
    assert_eq!(status, 200);
    assert!(
        hint.contains("1011 — Megan Bowen")
            && hint.contains(r#"data-fill="sip_user" data-value="1011""#),
        "{hint}"
    );
    // ...but never overrides an extension already chosen.
    let (_, hint) = text(htmx(
        &b,
        "/users/form/teams-user",
        &[
            ("pbx_location", &pbx_location),
            ("teams_user", &megan),
            ("sip_user", "1003"),
        ],
    ))
    .await;
    assert!(!hint.contains("data-fill"), "{hint}");
    // A number the admin typed is kept.
    let (_, swap) = text(htmx(
        &b,
        "/users/form/sip-user",
        &[
            ("sip_user", "1001"),
            ("phone_number", "+14255550123"),
            ("phone_autofill", "+11000"),
        ],
    ))
    .await;
    assert!(swap.contains(r#"value="+14255550123""#), "{swap}");

    // Add New Device: 1000 already has its tm handle; 1002 is offered one, with an address.
    let (_, list) = text(htmx(
        &b,
        "/users/form/devices",
        &[("pbx_location", &pbx_location), ("sip_user", "1000")],
    ))
    .await;
    assert!(
        list.contains(r#"data-device="1000tm""#) && !list.contains("create-device"),
        "{list}"
    );
    let (_, list) = text(htmx(
        &b,
        "/users/form/devices",
        &[("pbx_location", &pbx_location), ("sip_user", "1002")],
    ))
    .await;
    assert!(list.contains("Use 1002tm (created on Save)"), "{list}");
    assert!(list.contains("Emergency address for 1002tm"), "{list}");

    // SELECT keeps only a device of the chosen extension.
    let (_, chosen) = text(htmx(
        &b,
        "/users/form/devices/select",
        &[
            ("pbx_location", &pbx_location),
            ("sip_user", "1000"),
            ("choose", "1000tm"),
        ],
    ))
    .await;
    assert!(
        chosen.contains(r#"id="selected-device">1000tm<"#),
        "{chosen}"
    );
    let (_, refused) = text(htmx(
        &b,
        "/users/form/devices/select",
        &[
            ("pbx_location", &pbx_location),
            ("sip_user", "1000"),
            ("choose", "1001tm"),
        ],
    ))
    .await;
    assert!(
        refused.contains("does not belong to extension 1000"),
        "{refused}"
    );
}

#[tokio::test]
async fn save_user_then_edit_it() {
    let app = TestApp::start().await;
    let b = app.signed_in().await;
    let e = app.contoso.id;
    let pbx_location = app.store.list_pbx_locations(e).await.unwrap()[0]
        .id
        .to_string();
    let routes = app.store.list_voice_routes(e).await.unwrap();
    let east = routes
        .iter()
        .find(|r| r.name.as_str() == "US East 2")
        .unwrap()
        .id
        .to_string();
    let west = routes
        .iter()
        .find(|r| r.name.as_str() == "US West")
        .unwrap()
        .id
        .to_string();
    let adele = ms::contoso_user_id("Adele Vance");
    let form = |route: &str| {
        vec![
            ("pbx_location", pbx_location.clone()),
            ("voice_route", route.to_owned()),
            ("teams_user", adele.clone()),
            ("sip_user", "1000".to_owned()),
            ("phone_number", "11000".to_owned()),
            ("caller_name_policy", "transparent".to_owned()),
            ("forwarded_caller_id", "user_caller_id".to_owned()),
            ("assign_dial_plan", "true".to_owned()),
            ("device", "1000tm".to_owned()),
        ]
    };
    let fields = form(&east);
    let borrowed: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = b.post_form("/users/new", &borrowed).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/users");
    let (_, page) = text(b.get("/users")).await;
    assert!(
        page.contains("Adele Vance is set up on extension 1000 with +11000"),
        "{page}"
    );
    // The message shows once.
    let (_, page) = text(b.get("/users")).await;
    assert!(!page.contains("is set up on extension"));

    let id = app
        .store
        .list_pbx_users(
            e,
            &PbxUserQuery {
                limit: 10,
                search: Some("1000".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .items[0]
        .user
        .id;
    let (status, page) = text(b.get(&format!("/users/{id}/edit"))).await;
    assert_eq!(status, 200);
    assert!(page.contains("Edit PBX user — Adele Vance"));
    // Edit speaks of changing a user, not of pairing a new one.
    assert!(page.contains(">Save Changes<"), "{page}");
    assert!(!page.contains("Pair a Microsoft Teams user"), "{page}");
    assert!(page.contains(r#"value="+11000""#) && page.contains(r#"id="selected-device">1000tm<"#));
    let version = app
        .store
        .get_pbx_user(e, id)
        .await
        .unwrap()
        .user
        .version
        .to_string();
    let mut fields = form(&west);
    fields.push(("version", version));
    let borrowed: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = b
        .post_form(&format!("/users/{id}/edit"), &borrowed)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let item = app.store.get_pbx_user(e, id).await.unwrap();
    assert_eq!(item.voice_route_name, "US West");
    let (_, page) = text(b.get("/users")).await;
    assert!(
        page.contains("changes are saved (extension 1000, +11000)"),
        "{page}"
    );

    // A stale form (someone saved in between) is refused, not silently overwritten.
    let mut fields = form(&east);
    fields.push(("version", "1".to_owned()));
    let borrowed: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, page) = text(b.post_form(&format!("/users/{id}/edit"), &borrowed)).await;
    assert_eq!(status, 422, "{page}");
    assert!(page.contains("changed by someone else"), "{page}");

    // Without the hidden version, or with a garbled one, the stale check cannot work: the save
    // is refused with a message saying why, never compared against the current version.
    let before = app.store.get_pbx_user(e, id).await.unwrap().user;
    for (version, why) in [
        (None, "field is missing"),
        (Some(""), "field is missing"),
        (Some("7x"), "is not a version number"),
        (Some("1e3"), "is not a version number"),
    ] {
        let mut fields = form(&east);
        fields.extend(version.map(|v| ("version", v.to_owned())));
        let borrowed: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (status, page) = text(b.post_form(&format!("/users/{id}/edit"), &borrowed)).await;
        assert_eq!(status, 400, "{version:?}: {page}");
        assert!(
            page.contains("Teamline saved nothing") && page.contains(why),
            "{version:?}: {page}"
        );
        assert!(
            page.contains("Open Edit for Adele Vance again"),
            "{version:?}: {page}"
        );
    }
    let after = app.store.get_pbx_user(e, id).await.unwrap().user;
    assert_eq!(after.version, before.version, "nothing was saved");
    assert_eq!(after.spec, before.spec);
}

#[tokio::test]
async fn delete_user_asks_first_and_frees_the_extension() {
    let app = TestApp::start().await;
    let b = app.signed_in().await;
    let debra = debra(&app).await;
    let (status, page) = text(b.get(&format!("/users/{debra}/delete"))).await;
    assert_eq!(status, 200);
    assert!(
        page.contains("Delete Debra Berger (DebraB@contoso.example)?"),
        "{page}"
    );
    assert!(
        page.contains("frees extension <strong class=\"mono\">1015</strong>"),
        "{page}"
    );

    let r = b
        .post_form(&format!("/users/{debra}/delete"), &[])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let (_, page) = text(b.get(&location(&r))).await;
    assert!(
        page.contains("Debra Berger was deleted: extension 1015 and number +11015 are free again."),
        "{page}"
    );
    let (_, page) = text(b.get("/users?tab=deleted")).await;
    assert!(page.contains("Debra Berger"));
    let location_id = app.store.list_pbx_locations(app.contoso.id).await.unwrap()[0].id;
    let ext = teamline_domain::sip::Extension::parse("1015").unwrap();
    let holder = app
        .store
        .holder_of_extension(location_id, &ext)
        .await
        .unwrap();
    assert!(
        holder.is_none_or(|h| !h.state.reserves()),
        "1015 is still reserved"
    );

    // Only a disabled user can be deleted.
    set_up(&app, "Adele Vance", "1000").await;
    let adele = app
        .store
        .list_pbx_users(
            app.contoso.id,
            &PbxUserQuery {
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .items[0]
        .user
        .id;
    let (status, page) = text(b.get(&format!("/users/{adele}/delete"))).await;
    assert_eq!(status, 400);
    assert!(
        page.contains("only a disabled user can be deleted"),
        "{page}"
    );
}

#[tokio::test]
async fn calling_actions_answer_htmx_with_the_changed_row() {
    let app = TestApp::start().await;
    set_up(&app, "Adele Vance", "1000").await;
    let b = app.signed_in().await;
    let id = app
        .store
        .list_pbx_users(
            app.contoso.id,
            &PbxUserQuery {
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .items[0]
        .user
        .id;
    let (status, row) = text(htmx(&b, &format!("/users/{id}/disable-calling"), &[])).await;
    assert_eq!(status, 200);
    assert!(row.starts_with(&format!("<tr id=\"user-{id}\"")), "{row}");
    assert!(
        row.contains("Disabled · pending sync") || row.contains("Disabled · in progress"),
        "{row}"
    );
    assert!(
        row.contains(">Enable Calling<"),
        "the menu now offers Enable Calling: {row}"
    );
    assert!(
        row.contains(&format!("/users/{id}/row?poll=1")),
        "the row refreshes itself: {row}"
    );
    // A plain form goes back to the list with a message.
    let r = b
        .post_form(&format!("/users/{id}/disable"), &[])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&r), "/users?tab=licensed");
    let (_, page) = text(b.get("/users?tab=disabled")).await;
    assert!(
        page.contains("is disabled: calling is paused and extension 1000 stays reserved"),
        "{page}"
    );
    assert!(page.contains("Adele Vance"));
}

#[tokio::test]
async fn sync_teams_users_shows_progress_until_done() {
    // This app has no job runner: the sync stays queued, so its progress is what is shown.
    let app = TestApp::start().await;
    let b = app.signed_in().await;
    let (status, live) = text(htmx(&b, "/dashboard/sync-teams-users", &[])).await;
    assert_eq!(status, 200);
    assert!(
        live.starts_with(r#"<div id="live" hx-get="/dashboard/live" hx-trigger="every 1s""#),
        "{live}"
    );
    assert!(live.contains("Waiting to start"), "{live}");
    let (_, page) = text(b.get("/dashboard")).await;
    assert!(
        page.contains("Asked to sync Teams users"),
        "the request is in the activity"
    );
}

#[tokio::test]
async fn troubleshoot_explains_a_user_without_teams_phone() {
    let app = TestApp::start().await;
    let b = app.signed_in().await;
    let (status, page) = text(b.get("/troubleshoot?q=ChristieC%40contoso.example")).await;
    assert_eq!(status, 200);
    assert!(
        page.contains("Christie Cline (ChristieC@contoso.example)"),
        "{page}"
    );
    let line = page
        .split("<strong>Teams Phone licence</strong>")
        .nth(1)
        .unwrap()
        .split("</li>")
        .next()
        .unwrap();
    assert!(line.contains("Fix: assign Teams Phone"), "{line}");
    assert!(page.contains("Needs a fix"));
    let (_, page) = text(b.get("/troubleshoot")).await;
    assert!(page.contains(r#"id="sync-teams-users""#), "{page}");
}

#[tokio::test]
async fn troubleshoot_finds_a_user_by_any_word_of_the_name_or_the_mail() {
    let app = TestApp::start().await;
    let b = app.signed_in().await;
    // "Cline" is Christie Cline's surname, "christiec" the start of her mail.
    for q in ["Cline", "cline", "christiec"] {
        let (status, page) = text(b.get(&format!("/troubleshoot?q={q}"))).await;
        assert_eq!(status, 200);
        assert!(
            page.contains("Christie Cline (ChristieC@contoso.example)"),
            "{q}: {page}"
        );
        assert!(!page.contains("has no user matching"), "{q}: {page}");
    }
    // Someone who does not exist: Teamline says where it looked, and never advises creating a
    // user (it may exist under another spelling).
    let (_, page) = text(b.get("/troubleshoot?q=Zebedee")).await;
    assert!(page.contains("no user"), "{page}");
    assert!(!page.to_lowercase().contains("create the user"), "{page}");
}

#[tokio::test]
async fn texts_tell_the_truth_and_agree() {
    let app = TestApp::start().await;
    let b = app.signed_in().await;
    let e = app.contoso.id;
    let pbx_location = app.store.list_pbx_locations(e).await.unwrap()[0]
        .id
        .to_string();

    // A failed Save User shows a summary that links to each field; fixing fields while typing
    // updates it instead of leaving "Correct the 3 fields" behind.
    let (status, page) = text(b.post_form("/users/new", &[("pbx_location", &pbx_location)])).await;
    assert_eq!(status, 422);
    assert!(page.contains(r#"id="form-errors""#), "{page}");
    assert!(
        page.contains(r##"<a href="#voice_route">Available Voice Routes</a>"##),
        "{page}"
    );
    assert!(page.contains(r#"name="summary" value="shown""#), "{page}");
    let (_, oob) = text(
        htmx(
            &b,
            "/users/form/validate",
            &[
                ("pbx_location", &pbx_location),
                ("sip_user", "1015"),
                ("summary", "shown"),
            ],
        )
        .header("hx-trigger-name", "sip_user"),
    )
    .await;
    let summary = oob.split(r#"id="form-errors""#).nth(1).expect(&oob);
    assert!(
        summary.contains("Correct the 1 field marked below"),
        "{summary}"
    );
    assert!(summary.contains(r##"href="#sip_user""##), "{summary}");

    // Caller Name's help describes Other once Other is chosen (both are in the page; the
    // stylesheet shows the one of the chosen policy).
    let (_, page) = text(b.get("/users/new")).await;
    assert!(page.contains(r#"class="help help-other""#), "{page}");

    // Success messages name the person; the Dashboard counts the disabled Debra Berger.
    set_up(&app, "Adele Vance", "1000").await;
    let adele = app
        .store
        .list_pbx_users(
            e,
            &PbxUserQuery {
                limit: 10,
                search: Some("1000".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .items[0]
        .user
        .id;
    let r = b
        .post_form(&format!("/users/{adele}/disable-calling"), &[])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let (_, page) = text(b.get("/users")).await;
    assert!(
        page.contains("Disabling calling for Adele Vance (extension 1000)."),
        "{page}"
    );
    let (_, dashboard) = text(b.get("/dashboard")).await;
    assert!(dashboard.contains(r#"id="count-users">2<"#), "{dashboard}");
    assert!(dashboard.contains("(1 disabled)"), "{dashboard}");
}
