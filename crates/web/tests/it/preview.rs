//! Preview (`?dry_run=true` in the API, the Preview in the portal): the changes an operation
//! will make in Teams and on the PBX, exactly those the jobs then make, and nothing written by
//! asking — not the database, not the Microsoft simulator, not the PBX simulator.

use crate::api::{call, ids, json_of, setup_body, token};
use crate::app::{TestApp, eventually, text};
use crate::isolation::State;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use teamline_domain::ids::PbxUserId;
use teamline_domain::pbx_user::PushState;

fn summaries(preview: &Value, side: &str) -> Vec<String> {
    preview[side]
        .as_array()
        .unwrap_or_else(|| panic!("no {side} in {preview}"))
        .iter()
        .map(|c| c["summary"].as_str().unwrap().to_owned())
        .collect()
}

/// What the last push of `name` changed in Teams, as its audit event says.
pub(crate) async fn pushed(app: &TestApp, name: &str) -> Vec<String> {
    let events = app
        .store
        .list_audit(Some(app.contoso.id), 200)
        .await
        .unwrap();
    let event = events
        .iter()
        .find(|e| e.action == "teams.push" && e.summary.contains(name))
        .unwrap_or_else(|| panic!("no push of {name}"));
    let (_, steps) = event.summary.split_once(" in Teams: ").unwrap();
    steps.split("; ").map(str::to_owned).collect()
}

async fn in_sync(app: &TestApp, id: PbxUserId) -> bool {
    let item = app.store.get_pbx_user(app.contoso.id, id).await.unwrap();
    item.user.push_state == PushState::InSync
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_runs_list_what_the_jobs_then_change_and_write_nothing() {
    let app = TestApp::start_with_jobs().await;
    let t = token(&app, &app.contoso, "billing", false, 10_000, None).await;
    let e = app.contoso.id.0;
    let (location, route) = ids(&app).await;
    let users = format!("/api/v1/enterprises/{e}/pbx-users");
    // The token's first use is recorded; the snapshots come after it.
    let r = call(&app, Method::GET, &users, &t).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let megan = setup_body(location, route, "MeganB@contoso.example", "1011");

    // Save's preview: the number with enterprise voice, the named policies; the Global ones
    // already hold; no device to create (the API names an existing one).
    let before = State::take(&app).await;
    let r = call(&app, Method::POST, &format!("{users}?dry_run=true"), &t)
        .header("idempotency-key", "megan-1")
        .json(&megan)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let preview = json_of(r).await;
    assert_eq!(preview["dry_run"], true);
    let teams = summaries(&preview, "teams");
    assert_eq!(
        teams[0], "Assign +11011 and turn on Enterprise Voice",
        "{preview}"
    );
    assert_eq!(preview["teams"][0]["action"], "assign_number");
    assert_eq!(preview["teams"][0]["number"], "+11011");
    assert!(
        preview["teams"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["policy_type"] == "OnlineVoiceRoutingPolicy"),
        "{preview}"
    );
    assert!(
        !teams.iter().any(|t| t.contains("back to Global")),
        "nothing that already holds: {preview}"
    );
    assert_eq!(preview["pbx"], json!([]));
    assert_eq!(preview["notes"], json!([]));
    let after = State::take(&app).await;
    assert!(
        before.differences(&after).is_empty(),
        "a dry run changed {:#?}",
        before.differences(&after)
    );

    // The real Save with the same Idempotency-Key is carried out (the dry run did not use the
    // key), and its push makes exactly the previewed changes.
    let r = call(&app, Method::POST, &users, &t)
        .header("idempotency-key", "megan-1")
        .json(&megan)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let id = PbxUserId(json_of(r).await["id"].as_i64().unwrap());
    eventually("Megan is in sync", || in_sync(&app, id)).await;
    assert_eq!(pushed(&app, "Megan Bowen").await, teams);

    // Enable Calling on a user in sync: nothing to change, and nothing is listed.
    let user = format!("{users}/{}", id.0);
    let before = State::take(&app).await;
    let r = call(
        &app,
        Method::POST,
        &format!("{user}/enable-calling?dry_run=true"),
        &t,
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let preview = json_of(r).await;
    assert_eq!(
        (preview["teams"].clone(), preview["pbx"].clone()),
        (json!([]), json!([]))
    );

    // Disable Calling: the number goes, each named policy back to Global; the device stays.
    let r = call(
        &app,
        Method::POST,
        &format!("{user}/disable-calling?dry_run=true"),
        &t,
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let preview = json_of(r).await;
    let disabling = summaries(&preview, "teams");
    assert_eq!(disabling[0], "Remove +11011", "{preview}");
    assert!(
        disabling[1..].iter().all(|s| s.ends_with("back to Global")),
        "{preview}"
    );
    assert_eq!(disabling.len(), teams.len(), "{preview}");
    assert_eq!(preview["pbx"], json!([]));

    // Repair of a user in sync: nothing.
    let r = call(
        &app,
        Method::POST,
        &format!("{user}/repair?dry_run=true"),
        &t,
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(json_of(r).await["teams"], json!([]));

    // An edit of the phone number: the number moves, the policies hold.
    let item = app.store.get_pbx_user(app.contoso.id, id).await.unwrap();
    let mut edited = megan.clone();
    edited["phone_number"] = json!("+11099");
    let r = call(&app, Method::PUT, &format!("{user}?dry_run=true"), &t)
        .header("if-match", format!("\"{}\"", item.user.version))
        .json(&edited)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        summaries(&json_of(r).await, "teams"),
        vec![
            "Remove +11011",
            "Assign +11099 and turn on Enterprise Voice"
        ]
    );
    let after = State::take(&app).await;
    assert!(
        before.differences(&after).is_empty(),
        "a dry run changed {:#?}",
        before.differences(&after)
    );

    // The real Disable Calling does what its preview said.
    let r = call(&app, Method::POST, &format!("{user}/disable-calling"), &t)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    eventually("Megan's calling is off in Teams", || async {
        in_sync(&app, id).await && pushed(&app, "Megan Bowen").await == disabling
    })
    .await;

    // A form error is the same problem as Save's, and Disable User has no dry run.
    let mut bad = megan.clone();
    bad["phone_number"] = json!("12ab");
    let r = call(&app, Method::POST, &format!("{users}?dry_run=true"), &t)
        .json(&bad)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let r = call(
        &app,
        Method::POST,
        &format!("{user}/disable?dry_run=true"),
        &t,
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    app.stop().await;
}

const IMPORT_HEADER: &str = "Teams User,SIP User,Phone Number,Available Voice Routes,User Devices";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_imports_dry_run_apply_lists_each_rows_changes_and_writes_nothing() {
    let app = TestApp::start().await;
    let t = token(&app, &app.contoso, "billing", false, 10_000, None).await;
    let e = app.contoso.id.0;
    let path = format!("/api/v1/enterprises/{e}/imports");
    let csv = format!(
        "{IMPORT_HEADER}\nMeganB@contoso.example,1011,+11011,US East 2,1011\nLeeG@contoso.example,1008,+11008,US East 2,1008\n"
    );
    let r = call(&app, Method::POST, &path, &t)
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let id = json_of(r).await["id"].as_i64().unwrap();

    let before = State::take(&app).await;
    let r = call(
        &app,
        Method::POST,
        &format!("{path}/{id}/apply?dry_run=true"),
        &t,
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let preview = json_of(r).await;
    assert_eq!(preview["dry_run"], true);
    let rows = preview["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{preview}");
    for (row, number) in rows.iter().zip(["+11011", "+11008"]) {
        assert_eq!(row["problems"], json!([]), "{row}");
        assert_eq!(
            summaries(&row["changes"], "teams")[0],
            format!("Assign {number} and turn on Enterprise Voice"),
            "{row}"
        );
    }
    assert_eq!(rows[0]["row"], 2);
    assert_eq!(rows[1]["upn"], "LeeG@contoso.example");
    let after = State::take(&app).await;
    assert!(
        before.differences(&after).is_empty(),
        "a dry run changed {:#?}",
        before.differences(&after)
    );
    // The import is still there to apply.
    let r = call(&app, Method::GET, &format!("{path}/{id}"), &t)
        .send()
        .await
        .unwrap();
    assert_eq!(json_of(r).await["state"], "checked");
    app.stop().await;
}

/// The list items of the preview's `side` list (`preview-teams` or `preview-pbx`).
pub(crate) fn items(html: &str, side: &str) -> Vec<String> {
    let Some(at) = html.find(&format!("preview-list {side}")) else {
        return Vec::new();
    };
    let list = &html[at..html[at..].find("</ul>").map_or(html.len(), |end| at + end)];
    list.split("<li>")
        .skip(1)
        .map(|li| li.split("</li>").next().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_portal_previews_save_and_confirms_calling_and_repair_with_the_changes() {
    let app = TestApp::start_with_jobs().await;
    let e = app.contoso.id;
    let b = app.signed_in().await;
    let (location, route) = ids(&app).await;
    let (location, route) = (location.to_string(), route.to_string());
    let address = app
        .engine
        .emergency_addresses(
            e,
            teamline_domain::ids::PbxLocationId(location.parse().unwrap()),
            &teamline_domain::sip::Extension::parse("1003").unwrap(),
        )
        .await
        .unwrap()[0]
        .id
        .clone();
    let grady = teamline_sim::microsoft::demo::contoso_user_id("Grady Archie");
    let form = [
        ("pbx_location", location.as_str()),
        ("voice_route", route.as_str()),
        ("teams_user", grady.as_str()),
        ("sip_user", "1003"),
        ("phone_number", "11003"),
        ("caller_name_policy", "transparent"),
        ("forwarded_caller_id", "user_caller_id"),
        ("assign_dial_plan", "true"),
        ("device", "1003tm"),
        ("create_device", "true"),
        ("emergency_address", address.as_str()),
    ];

    // The form's page offers the preview; asking for it writes nothing.
    let (status, page) = text(b.get("/users/new")).await;
    assert_eq!(status, 200);
    assert!(page.contains(r#"id="preview-changes""#), "{page}");
    let before = State::take(&app).await;
    let (status, fragment) = text(
        b.post_form("/users/form/preview", &form)
            .header("hx-request", "true"),
    )
    .await;
    assert_eq!(status, 200, "{fragment}");
    let teams = items(&fragment, "preview-teams");
    assert_eq!(
        teams[0], "Assign +11003 and turn on Enterprise Voice",
        "{fragment}"
    );
    assert_eq!(
        items(&fragment, "preview-pbx"),
        vec!["Create device 1003tm on extension 1003"],
        "{fragment}"
    );
    let after = State::take(&app).await;
    assert!(
        before.differences(&after).is_empty(),
        "the preview changed {:#?}",
        before.differences(&after)
    );

    // A form with a problem says what to fix instead.
    let mut bad = form.to_vec();
    bad[4] = ("phone_number", "12ab");
    let (_, fragment) = text(
        b.post_form("/users/form/preview", &bad)
            .header("hx-request", "true"),
    )
    .await;
    assert!(fragment.contains("Fix these first"), "{fragment}");

    // Save User makes exactly the previewed changes.
    let r = b.post_form("/users/new", &form).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let id = crate::edit_and_move::user_on(&app, "1003", teamline_store::UserTab::Licensed).await;
    crate::edit_and_move::settled(&app, id).await;
    assert_eq!(pushed(&app, "Grady Archie").await, teams);

    // Disable Calling's confirmation lists the changes; opening it changes nothing; its
    // button makes them.
    let (_, row) = text(b.get(&format!("/users/{}/row", id.0))).await;
    assert!(
        row.contains(&format!(r#"href="/users/{}/disable-calling""#, id.0)),
        "{row}"
    );
    let before = State::take(&app).await;
    let (status, page) = text(b.get(&format!("/users/{}/disable-calling", id.0))).await;
    assert_eq!(status, 200, "{page}");
    let disabling = items(&page, "preview-teams");
    assert_eq!(disabling[0], "Remove +11003", "{page}");
    assert!(page.contains(r#"id="confirm-action""#), "{page}");
    assert!(items(&page, "preview-pbx").is_empty(), "{page}");

    // Enable Calling and Repair of a user in sync: nothing to change.
    for action in ["enable-calling", "repair"] {
        let (status, page) = text(b.get(&format!("/users/{}/{action}", id.0))).await;
        assert_eq!(status, 200, "{page}");
        assert!(page.contains("Nothing to change"), "{action}: {page}");
    }
    let after = State::take(&app).await;
    assert!(
        before.differences(&after).is_empty(),
        "a confirmation page changed {:#?}",
        before.differences(&after)
    );
    let r = b
        .post_form(&format!("/users/{}/disable-calling", id.0), &[])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    eventually("Grady's calling is off in Teams", || async {
        in_sync(&app, id).await && pushed(&app, "Grady Archie").await == disabling
    })
    .await;

    // Another enterprise's user is not found.
    let (status, _) = text(b.get("/users/999999/enable-calling")).await;
    assert_eq!(status, 404);
    app.stop().await;
}
