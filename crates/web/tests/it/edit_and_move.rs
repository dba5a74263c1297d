//! Edit keeps the pairing; moving an extension to another person is its own, confirmed action
//! that disables calling for the current user in Teams before the new one gets the number.

use crate::app::{TestApp, eventually, location, text};
use crate::users::set_up;
use teamline_domain::ids::PbxUserId;
use teamline_domain::pbx_user::{PbxUserState, PushState};
use teamline_sim::microsoft::demo as ms;
use teamline_store::{PbxUserQuery, UserTab};

/// The PBX user on `ext` in `tab`.
pub async fn user_on(app: &TestApp, ext: &str, tab: UserTab) -> PbxUserId {
    app.store
        .list_pbx_users(
            app.contoso.id,
            &PbxUserQuery {
                tab,
                search: Some(ext.into()),
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .items
        .iter()
        .find(|i| i.user.spec.sip_user.as_str() == ext)
        .unwrap()
        .user
        .id
}

pub async fn settled(app: &TestApp, id: PbxUserId) {
    eventually("the user's change reached Microsoft", || async {
        let state = app
            .store
            .get_pbx_user(app.contoso.id, id)
            .await
            .unwrap()
            .user
            .push_state;
        assert_ne!(state, PushState::Failed);
        state == PushState::InSync
    })
    .await;
}

#[tokio::test]
async fn edit_cannot_re_pair_and_move_disables_calling_for_the_old_user_first() {
    let app = TestApp::start_with_jobs().await;
    let e = app.contoso.id;
    let b = app.signed_in().await;
    set_up(&app, "Adele Vance", "1000").await;
    let adele = user_on(&app, "1000", UserTab::Licensed).await;
    settled(&app, adele).await;
    let alex_id = ms::contoso_user_id("Alex Wilber");
    let adele_id = ms::contoso_user_id("Adele Vance");
    assert_eq!(
        app.contoso_tenant.number_holder("+11000").as_deref(),
        Some(adele_id.as_str())
    );

    // Edit shows the Teams user as text, with the way to move the extension.
    let (_, page) = text(b.get(&format!("/users/{adele}/edit"))).await;
    assert!(!page.contains(r#"<select id="teams_user""#), "{page}");
    assert!(
        page.contains(&format!(r#"href="/users/{adele}/move""#)),
        "{page}"
    );

    // A posted Edit that changes the Teams user is refused and changes nothing.
    let item = app.store.get_pbx_user(e, adele).await.unwrap();
    let version = item.user.version.to_string();
    let location_id = item.user.spec.pbx_location_id.to_string();
    let route = item.user.spec.voice_route_id.to_string();
    let r = b
        .post_form(
            &format!("/users/{adele}/edit"),
            &[
                ("pbx_location", &location_id),
                ("voice_route", &route),
                ("teams_user", &alex_id),
                ("sip_user", "1000"),
                ("phone_number", "+11000"),
                ("caller_name_policy", "transparent"),
                ("forwarded_caller_id", "user_caller_id"),
                ("assign_dial_plan", "true"),
                ("device", "1000"),
                ("version", &version),
            ],
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let page = r.text().await.unwrap();
    assert!(page.contains("Move to another person"), "{page}");
    let after = app.store.get_pbx_user(e, adele).await.unwrap();
    assert_eq!(after.user.spec.teams_user_object_id, adele_id);
    assert_eq!(after.user.version, item.user.version);

    // Move: choose Alex, read exactly what happens, confirm.
    let (status, page) = text(b.get(&format!("/users/{adele}/move?to={alex_id}"))).await;
    assert_eq!(status, 200);
    for words in [
        "Disable calling for Adele Vance",
        "remove <span class=\"mono\">+11000</span>",
        "Set up Alex Wilber",
    ] {
        assert!(page.contains(words), "missing {words:?}: {page}");
    }
    let r = b
        .post_form(
            &format!("/users/{adele}/move"),
            &[("to", &alex_id), ("version", &version)],
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/users");
    let alex = user_on(&app, "1000", UserTab::Licensed).await;
    assert_ne!(alex, adele);
    settled(&app, alex).await;

    // Microsoft: the number is Alex's, Adele has none left.
    assert_eq!(
        app.contoso_tenant.number_holder("+11000").as_deref(),
        Some(alex_id.as_str())
    );
    let adele_teams = app.contoso_tenant.teams_state(&adele_id).unwrap();
    assert!(adele_teams.numbers.is_empty(), "{adele_teams:?}");
    let old = app.store.get_pbx_user(e, adele).await.unwrap();
    assert_eq!(old.user.state, PbxUserState::Deleted);
    assert_eq!(old.user.push_state, PushState::InSync);

    // The list shows Alex with what was read back from Alex, Adele on the Deleted tab.
    let (_, page) = text(b.get("/users")).await;
    assert!(
        page.contains("is moving from Adele Vance to Alex Wilber"),
        "{page}"
    );
    assert!(
        page.contains("Alex Wilber") && !page.contains("AdeleV@"),
        "{page}"
    );
    let read_back = app
        .store
        .get_pbx_user(e, alex)
        .await
        .unwrap()
        .observed
        .unwrap();
    assert_eq!(read_back.numbers, vec!["+11000".to_owned()]);
    let (_, page) = text(b.get("/users?tab=deleted")).await;
    assert!(page.contains("Adele Vance"), "{page}");
    app.stop().await;
}
