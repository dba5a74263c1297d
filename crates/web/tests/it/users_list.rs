//! The Users list as an admin of many users expects it: tab counts, filters by state and voice
//! route, sorting, the CSV export of the current view and bulk Enable/Disable Calling.

use crate::app::{TestApp, text};
use crate::users::set_up;
use teamline_domain::pbx_user::PushState;

#[tokio::test]
async fn tab_counts_filters_sorting_export_and_bulk_calling() {
    let app = TestApp::start().await;
    let e = app.contoso.id;
    let b = app.signed_in().await;
    for (name, ext) in [
        ("Adele Vance", "1000"),
        ("Alex Wilber", "1001"),
        ("Diego Siciliani", "1002"),
    ] {
        set_up(&app, name, ext).await;
    }
    // Tab counts (the demo's Debra Berger is disabled).
    let (_, page) = text(b.get("/users")).await;
    assert!(
        page.contains(r#">Licensed <span class="count">3</span>"#),
        "{page}"
    );
    assert!(
        page.contains(r#">Disabled <span class="count">1</span>"#),
        "{page}"
    );

    // Sorting by extension, descending: Diego (1002) first; the header says so.
    let (_, page) = text(b.get("/users?tab=licensed&sort=extension&dir=desc")).await;
    let (diego, adele) = (
        page.find("Diego Siciliani").unwrap(),
        page.find("Adele Vance").unwrap(),
    );
    assert!(diego < adele, "not sorted by extension, descending");
    assert!(page.contains(r#"aria-sort="descending""#), "{page}");

    // By voice route: every user is on US East 2, none on US West.
    let routes = app.store.list_voice_routes(e).await.unwrap();
    let id_of = |name: &str| {
        routes
            .iter()
            .find(|r| r.name.as_str() == name)
            .unwrap()
            .id
            .to_string()
    };
    let (_, west) = text(b.get(&format!("/users?route={}", id_of("US West")))).await;
    assert!(!west.contains("AdeleV@contoso.example"), "{west}");
    let (_, east) = text(b.get(&format!("/users?route={}", id_of("US East 2")))).await;
    assert!(east.contains("AdeleV@contoso.example"), "{east}");

    // The CSV export is the current view, all of it, in its order.
    let r = b
        .get("/users/export.csv?tab=licensed&sort=extension&dir=desc&q=Si")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv = r.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert!(
        lines[0].starts_with("Name,UPN,Extension,Phone number"),
        "{csv}"
    );
    assert_eq!(lines.len(), 2, "only Diego Siciliani matches 'Si': {csv}");
    assert!(lines[1].starts_with("Diego Siciliani,"), "{csv}");

    // Bulk Disable Calling of the selected rows.
    let ids: Vec<String> = app
        .store
        .list_pbx_users(
            e,
            &teamline_store::PbxUserQuery {
                search: Some("100".into()),
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .items
        .iter()
        .filter(|i| i.user.spec.sip_user.as_str() != "1002")
        .map(|i| i.user.id.to_string())
        .collect();
    assert_eq!(ids.len(), 2);
    let mut form = vec![
        ("action", "disable-calling"),
        ("back", "/users?tab=licensed"),
    ];
    form.extend(ids.iter().map(|i| ("ids", i.as_str())));
    let r = b.post_form("/users/bulk", &form).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let (_, page) = text(b.get("/users?tab=licensed&state=calling-off")).await;
    assert!(page.contains("Disabling calling for 2 users: "), "{page}");
    assert!(page.contains("AdeleV@contoso.example") && page.contains("AlexW@contoso.example"));
    assert!(!page.contains("DiegoS@contoso.example"), "{page}");
    for id in &ids {
        let user = app
            .store
            .get_pbx_user(e, teamline_domain::ids::PbxUserId(id.parse().unwrap()))
            .await
            .unwrap()
            .user;
        assert!(!user.calling_enabled);
        assert_eq!(user.push_state, PushState::Pending);
    }
    app.stop().await;
}
