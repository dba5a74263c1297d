//! The Users page over HTTP.

use crate::app::TestApp;
use teamline_domain::audit::Actor;
use teamline_domain::pbx_user::PbxUserForm;
use teamline_sim::microsoft::demo as ms;

/// Sets up a user through the engine, as Save User does.
pub async fn set_up(app: &TestApp, name: &str, ext: &str) {
    let e = app.contoso.id;
    let location = app.store.list_pbx_locations(e).await.unwrap()[0].id;
    let route = app
        .store
        .list_voice_routes(e)
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.name.as_str() == "US East 2")
        .unwrap();
    let form = PbxUserForm {
        pbx_location: location.to_string(),
        voice_route: route.id.to_string(),
        teams_user: ms::contoso_user_id(name),
        sip_user: ext.into(),
        phone_number: format!("1{ext}"),
        device: ext.to_owned(),
        ..PbxUserForm::new_with_defaults()
    };
    app.engine
        .save_pbx_user(
            e,
            &Actor::EnterpriseAdmin("admin@contoso.example".into()),
            &form,
            None,
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn tabs_search_and_columns() {
    let app = TestApp::start().await;
    set_up(&app, "Adele Vance", "1000").await;
    set_up(&app, "Alex Wilber", "1001").await;
    let browser = app.signed_in().await;

    let page = browser
        .get("/users")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for text in [
        "SET UP PBX USER",
        "Adele Vance",
        "AdeleV@contoso.example",
        "1000@contoso",
        "+11000",
        "US East 2",
        "Alex Wilber",
        "Actions for Adele Vance",
    ] {
        assert!(page.contains(text), "missing {text:?}");
    }
    assert!(
        !page.contains("Debra Berger"),
        "Debra is on the Disabled tab"
    );

    let page = browser
        .get("/users?tab=disabled")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Debra Berger"));
    assert!(
        page.contains(">Delete User<"),
        "a disabled user can be deleted"
    );

    // Search as you type answers the table alone.
    let table = browser
        .get("/users?tab=licensed&q=1001")
        .header("hx-request", "true")
        .header("hx-target", "users-table")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(table.starts_with("<div id=\"users-table\">"), "{table}");
    assert!(
        table.contains("Alex Wilber") && !table.contains("Adele Vance"),
        "{table}"
    );
}
