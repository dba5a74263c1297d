//! The missing `tm` device is created by Save User's job, never by the form: a form that is
//! never saved leaves nothing on the PBX.

use crate::app::{TestApp, text};
use crate::edit_and_move::{settled, user_on};
use teamline_sim::microsoft::demo as ms;
use teamline_store::UserTab;

#[tokio::test]
async fn the_tm_device_is_created_by_save_user_not_by_the_form() {
    let app = TestApp::start_with_jobs().await;
    let e = app.contoso.id;
    let b = app.signed_in().await;
    let location = app.store.list_pbx_locations(e).await.unwrap()[0].id;
    let route = app.store.list_voice_routes(e).await.unwrap()[0]
        .id
        .to_string();
    let pbx_location = location.to_string();
    let on_pbx = |ext: &'static str| {
        let engine = app.engine.clone();
        async move {
            engine
                .extension_devices(
                    e,
                    location,
                    &teamline_domain::sip::Extension::parse(ext).unwrap(),
                )
                .await
                .unwrap()
                .iter()
                .any(|d| d.auth_id == format!("{ext}tm"))
        }
    };
    let address = app
        .engine
        .emergency_addresses(
            e,
            location,
            &teamline_domain::sip::Extension::parse("1003").unwrap(),
        )
        .await
        .unwrap()[0]
        .id
        .clone();

    // "Use 1003tm (created on Save)" changes nothing on the PBX.
    let (status, block) = text(
        b.post_form(
            "/users/form/devices/plan",
            &[
                ("pbx_location", &pbx_location),
                ("sip_user", "1003"),
                ("emergency_address", &address),
            ],
        )
        .header("hx-request", "true"),
    )
    .await;
    assert_eq!(status, 200);
    assert!(block.contains(r#"id="selected-device">1003tm<"#), "{block}");
    assert!(
        block.contains(r#"name="create_device" value="true""#),
        "{block}"
    );
    assert!(!on_pbx("1003").await, "the form created the device");

    // Save User creates it (its job), with the chosen address, then sets up Teams.
    let grady = ms::contoso_user_id("Grady Archie");
    let r = b
        .post_form(
            "/users/new",
            &[
                ("pbx_location", &pbx_location),
                ("voice_route", &route),
                ("teams_user", &grady),
                ("sip_user", "1003"),
                ("phone_number", "11003"),
                ("caller_name_policy", "transparent"),
                ("forwarded_caller_id", "user_caller_id"),
                ("assign_dial_plan", "true"),
                ("device", "1003tm"),
                ("create_device", "true"),
                ("emergency_address", &address),
            ],
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let id = user_on(&app, "1003", UserTab::Licensed).await;
    settled(&app, id).await;
    assert!(on_pbx("1003").await, "Save User did not create 1003tm");
    let handle = app
        .store
        .device_handle(
            e,
            location,
            &teamline_domain::device::DeviceAuthId::parse("1003tm").unwrap(),
        )
        .await
        .unwrap()
        .unwrap();
    assert!(handle.created_by_teamline);
    app.stop().await;
}
