//! The Dashboard and the Users page tell what is true now: work in flight counts as pending,
//! Sync Teams Users has one name and a fixed home, a disabled user's badge never says Enabled,
//! and a failed user can be retried.

use crate::app::{TestApp, text};
use crate::edit_and_move::user_on;
use crate::users::set_up;
use teamline_domain::audit::{Actor, Audit};
use teamline_domain::pbx_user::{PbxUserState, PushState};
use teamline_store::{PushOutcome, UserTab};

fn outcome(state: PushState, error: Option<&str>) -> PushOutcome {
    PushOutcome {
        push_state: state,
        last_error: error.map(str::to_owned),
        observed: None,
    }
}

/// The number shown in the Dashboard's stat `id`.
fn stat(page: &str, id: &str) -> String {
    let start = page
        .find(&format!("id=\"{id}\">"))
        .unwrap_or_else(|| panic!("no {id} in {page}"));
    let rest = &page[start + id.len() + 6..];
    rest[..rest.find('<').unwrap()].to_owned()
}

#[tokio::test]
async fn pending_counts_work_in_flight_and_the_dashboard_refreshes_until_it_settles() {
    let app = TestApp::start().await;
    let e = app.contoso.id;
    let b = app.signed_in().await;
    set_up(&app, "Adele Vance", "1000").await;
    let adele = user_on(&app, "1000", UserTab::Licensed).await;

    for state in [
        PushState::Pending,
        PushState::InProgress,
        PushState::Propagating,
    ] {
        app.store
            .record_push(e, adele, &outcome(state, None), None)
            .await
            .unwrap();
        let (_, live) = text(b.get("/dashboard/live")).await;
        assert_eq!(stat(&live, "count-pending"), "1", "{state:?}: {live}");
        assert_eq!(stat(&live, "count-calling"), "0", "{state:?}: {live}");
        assert!(
            !live.contains("Nothing to do"),
            "{state:?}: the action items say nothing is to do while Adele is on her way: {live}"
        );
        assert!(
            live.contains("1 pending change to sync to Teams"),
            "{state:?}: {live}"
        );
        assert!(
            live.contains(r#"hx-get="/dashboard/live" hx-trigger="every 1s""#),
            "{state:?}: the Dashboard does not update itself while work is pending: {live}"
        );
    }

    app.store
        .record_push(e, adele, &outcome(PushState::InSync, None), None)
        .await
        .unwrap();
    let (_, live) = text(b.get("/dashboard/live")).await;
    assert_eq!(stat(&live, "count-pending"), "0");
    assert_eq!(stat(&live, "count-calling"), "1");
    assert!(live.contains("Nothing to do"), "{live}");
    assert!(!live.contains("hx-trigger=\"every 1s\""), "{live}");
    app.stop().await;
}

#[tokio::test]
async fn sync_teams_users_has_one_name_and_an_always_present_button() {
    let app = TestApp::start().await;
    let b = app.signed_in().await;
    // Nothing pending: the button is still there, with how the last sync went.
    let (status, page) = text(b.get("/dashboard")).await;
    assert_eq!(status, 200);
    assert!(page.contains(r#"id="sync-teams-users""#), "{page}");
    assert!(page.contains(r#"id="last-sync""#), "{page}");
    assert!(
        page.contains("Last sync: ") || page.contains("No sync has run yet."),
        "{page}"
    );
    let (_, troubleshoot) = text(b.get("/troubleshoot")).await;
    assert!(troubleshoot.contains(r#"id="sync-teams-users""#));
    for (what, page) in [("Dashboard", &page), ("Troubleshoot", &troubleshoot)] {
        assert!(
            !page.contains("User Group Sync"),
            "{what} still says User Group Sync"
        );
    }

    // The button does what its name says, on both pages.
    let r = b
        .post_form("/dashboard/sync-teams-users", &[])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert!(
        app.engine
            .running_sync(app.contoso.id)
            .await
            .unwrap()
            .is_some()
    );
    app.stop().await;
}

#[tokio::test]
async fn the_disabled_tab_never_shows_calling_enabled() {
    let app = TestApp::start().await;
    let e = app.contoso.id;
    let b = app.signed_in().await;
    // Adele had calling enabled, then was disabled, and Microsoft holds that.
    set_up(&app, "Adele Vance", "1000").await;
    let adele = user_on(&app, "1000", UserTab::Licensed).await;
    let audit = Audit::new(
        Actor::System("test".into()),
        "pbx_user.disable",
        "Disabled Adele",
    );
    app.store
        .set_pbx_user_state(e, adele, PbxUserState::Disabled, &audit)
        .await
        .unwrap();
    app.store
        .record_push(e, adele, &outcome(PushState::InSync, None), None)
        .await
        .unwrap();
    let (_, page) = text(b.get("/users?tab=disabled")).await;
    let row = &page[page.find(&format!("id=\"user-{}\"", adele.0)).unwrap()..];
    let row = &row[..row.find("</tr>").unwrap()];
    assert!(
        !row.contains(">Enabled<") && !row.contains("badge-ok"),
        "the Disabled tab says Enabled: {row}"
    );
    assert!(row.contains(">Off<"), "{row}");
    app.stop().await;
}

#[tokio::test]
async fn a_failed_user_can_be_retried_and_fix_users_lists_the_failed_ones() {
    let app = TestApp::start().await;
    let e = app.contoso.id;
    let b = app.signed_in().await;
    set_up(&app, "Adele Vance", "1000").await;
    set_up(&app, "Alex Wilber", "1001").await;
    let adele = user_on(&app, "1000", UserTab::Licensed).await;
    app.store
        .record_push(
            e,
            adele,
            &outcome(PushState::Failed, Some("Adele has no Teams Phone licence")),
            None,
        )
        .await
        .unwrap();

    // Fix Users opens the list filtered to the failed users.
    let (_, dashboard) = text(b.get("/dashboard")).await;
    assert!(
        dashboard.contains(r#"href="/users?tab=licensed&#38;state=failed">Fix Users"#),
        "{dashboard}"
    );
    let (_, failed) = text(b.get("/users?tab=licensed&state=failed")).await;
    assert!(failed.contains("Adele Vance"), "{failed}");
    assert!(!failed.contains("Alex Wilber"), "{failed}");
    assert!(
        failed.contains(r#"aria-current="page">Failed<"#),
        "{failed}"
    );

    // Retry on the row: the change is queued again.
    assert!(
        failed.contains(&format!(r#"id="retry-{}""#, adele.0)),
        "{failed}"
    );
    let r = b
        .post_form(&format!("/users/{}/retry", adele.0), &[])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let user = app.store.get_pbx_user(e, adele).await.unwrap().user;
    assert_eq!(user.push_state, PushState::Pending);
    let (_, failed) = text(b.get("/users?tab=licensed&state=failed")).await;
    assert!(
        failed.contains("Retrying Adele Vance in Teams."),
        "{failed}"
    );
    assert!(!failed.contains("AdeleV@contoso.example"), "{failed}");
    app.stop().await;
}

#[tokio::test]
async fn a_user_has_a_page_with_pairing_read_back_device_push_and_history() {
    let app = TestApp::start().await;
    let e = app.contoso.id;
    let b = app.signed_in().await;
    set_up(&app, "Adele Vance", "1000").await;
    let adele = user_on(&app, "1000", UserTab::Licensed).await;
    let observed = teamline_domain::teams_voice::ObservedVoice {
        enterprise_voice: true,
        numbers: vec!["+11000".into()],
        policies: Default::default(),
        // 2026-11-27 10:00 UTC
        read_at_ms: 1_795_773_600_000,
    };
    app.store
        .record_push(
            e,
            adele,
            &PushOutcome {
                push_state: PushState::Failed,
                last_error: Some("Microsoft refused +11000: already assigned".into()),
                observed: Some(observed),
            },
            None,
        )
        .await
        .unwrap();

    // The Users row leads to it.
    let (_, list) = text(b.get("/users")).await;
    assert!(
        list.contains(&format!(r#"href="/users/{}""#, adele.0)),
        "{list}"
    );
    let (status, page) = text(b.get(&format!("/users/{}", adele.0))).await;
    assert_eq!(status, 200, "{page}");
    for expected in [
        "<h1>Adele Vance</h1>",
        "1000@contoso",
        "US East 2",
        // What Microsoft holds, and when it was read.
        r#"id="read-at">Read 2026-11-27 10:00 UTC"#,
        "Enterprise voice",
        // The device and the last push.
        "Device</th><td>1000</td>",
        "Microsoft refused +11000: already assigned",
        // Retry for a failed user, and its own history.
        r#"id="retry""#,
        r#"id="history""#,
        "Adele Vance",
    ] {
        assert!(page.contains(expected), "missing {expected:?}: {page}");
    }
    let history = page.split(r#"id="history""#).nth(1).unwrap();
    assert!(!history.contains("Nothing recorded yet"), "{history}");

    // Repair for a user that is not failed: queued, and the page says so.
    app.store
        .record_push(e, adele, &outcome(PushState::Drift, None), None)
        .await
        .unwrap();
    let (_, page) = text(b.get(&format!("/users/{}", adele.0))).await;
    assert!(page.contains(r#"id="repair""#), "{page}");
    let r = b
        .post_form(&format!("/users/{}/repair", adele.0), &[])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let (_, page) = text(b.get(&format!("/users/{}", adele.0))).await;
    assert!(page.contains("Repairing Adele Vance"), "{page}");
    assert_eq!(
        app.store
            .get_pbx_user(e, adele)
            .await
            .unwrap()
            .user
            .push_state,
        PushState::Pending
    );
    // Another enterprise's id is not found.
    let (status, _) = text(b.get("/users/999999")).await;
    assert_eq!(status, 404);
    app.stop().await;
}
