//! Drift: a change made outside Teamline (in Teams or on the PBX) is found by the periodic
//! check and shown with what differs; Repair re-applies only that difference.

use crate::support::{contoso, eventually, push_state, settings, upn};
use secrecy::SecretString;
use teamline_domain::audit::Actor;
use teamline_domain::device::DeviceAuthId;
use teamline_domain::ids::PbxUserId;
use teamline_domain::pbx_user::{PbxUserForm, PushState};
use teamline_domain::sip::Extension;
use teamline_microsoft::voice::{PolicyType, UserRef};
use teamline_pbx::{NetSapiensAuth, NetSapiensClient, NetSapiensSettings, Pbx};
use teamline_sim::microsoft::demo as ms;
use teamline_sim::netsapiens::DEMO_API_KEY;
use teamline_store::JobQuery;
use teamline_testkit::{TestApp, Workers, microsoft_client};

/// SET UP PBX USER as the seed article fills it.
pub async fn form(c: &TestApp, name: &str, ext: &str) -> PbxUserForm {
    let store = c.engine.store();
    let location = store.list_pbx_locations(c.contoso.id).await.unwrap()[0].id;
    let route = store
        .list_voice_routes(c.contoso.id)
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.name.as_str() == "US East 2")
        .unwrap();
    PbxUserForm {
        pbx_location: location.to_string(),
        voice_route: route.id.to_string(),
        teams_user: ms::contoso_user_id(name),
        sip_user: ext.into(),
        phone_number: format!("1{ext}"),
        device: format!("{ext}tm"),
        ..PbxUserForm::new_with_defaults()
    }
}

pub async fn set_up(c: &TestApp, name: &str, ext: &str) -> PbxUserId {
    let user = c
        .engine
        .save_pbx_user(
            c.contoso.id,
            &Actor::System("test".into()),
            &form(c, name, ext).await,
            None,
        )
        .await
        .unwrap();
    user.id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_in_teams_and_on_the_pbx_is_found_and_repair_changes_only_that() {
    let c = contoso(settings(), 4).await;
    let (engine, e) = (&c.engine, c.contoso.id);
    engine.sync_directory(e, false).await.unwrap();
    let admin = Actor::EnterpriseAdmin(ms::CONTOSO_ADMIN_UPN.into());

    // Adele on her existing device; Diego on a `tm` device Teamline creates.
    let adele = set_up(&c, "Adele Vance", "1000").await;
    let location = engine.store().list_pbx_locations(e).await.unwrap()[0].id;
    let ext = Extension::parse("1002").unwrap();
    let addresses = engine.emergency_addresses(e, location, &ext).await.unwrap();
    let address = addresses.first().map(|a| a.id.clone());
    engine
        .create_device_handle(e, &admin, location, &ext, address)
        .await
        .unwrap();
    let diego = set_up(&c, "Diego Siciliani", "1002").await;
    let bg = Workers::new().runner(engine, "drift");
    eventually("both users are in sync", || async {
        push_state(engine, e, adele).await == PushState::InSync
            && push_state(engine, e, diego).await == PushState::InSync
    })
    .await;

    // Nothing differs (Adele, Diego and the disabled Debra Berger): the check changes nothing.
    let clean = engine.reconcile(e).await.unwrap();
    assert_eq!((clean.checked, clean.drift), (3, 0), "{clean:?}");

    // Someone moves Adele to another voice routing policy in the Teams admin center, and
    // deletes Diego's device on the PBX.
    let tenant = microsoft_client(&c.microsoft.url, &c.url, 4)
        .unwrap()
        .tenant(ms::CONTOSO_TENANT_ID);
    let adele_ref = UserRef::new(ms::contoso_user_id("Adele Vance"), upn("Adele Vance"));
    tenant
        .grant_policy(
            &adele_ref,
            PolicyType::OnlineVoiceRoutingPolicy,
            Some("US West"),
        )
        .await
        .unwrap();
    let pbx = NetSapiensClient::new(
        NetSapiensSettings::new(
            format!("{}/ns-api/v2", c.pbx.base_url),
            "contoso",
            NetSapiensAuth::ApiKey(SecretString::from(DEMO_API_KEY.to_owned())),
        )
        .network(teamline_pbx::NetworkPolicy::TRUSTED_NETWORK),
    )
    .unwrap();
    pbx.delete_device("1002", "1002tm").await.unwrap();

    let found = engine.reconcile(e).await.unwrap();
    assert_eq!((found.drift, found.newly_drifted), (2, 2), "{found:?}");
    let adele_now = engine.store().get_pbx_user(e, adele).await.unwrap();
    assert_eq!(adele_now.user.push_state, PushState::Drift);
    let why = adele_now.user.last_error.unwrap_or_default();
    assert!(
        why.contains("Voice routing policy") && why.contains("US East 2"),
        "{why}"
    );
    let diego_now = engine.store().get_pbx_user(e, diego).await.unwrap();
    assert_eq!(diego_now.user.push_state, PushState::Drift);
    assert!(
        diego_now
            .user
            .last_error
            .unwrap_or_default()
            .contains("1002tm"),
        "the device is named"
    );
    assert_eq!(engine.store().user_counts(e).await.unwrap().drift, 2);

    // The preview shows exactly the difference; Repair writes only that.
    let preview = engine.preview_push(e, adele).await.unwrap();
    assert_eq!(preview, vec!["Set Voice routing policy to US East 2"]);
    // Diego's Repair creates his device again on the PBX, and changes nothing in Teams.
    let diego_preview = engine.preview_repair(e, diego).await.unwrap();
    let pbx_steps: Vec<String> = diego_preview
        .plan
        .pbx
        .iter()
        .map(|s| s.describe())
        .collect();
    assert_eq!(pbx_steps, vec!["Create device 1002tm on extension 1002"]);
    assert!(diego_preview.plan.teams.is_empty(), "{diego_preview:?}");
    let before = c.contoso_tenant.write_counts();
    engine.repair_user(e, &admin, adele).await.unwrap();
    engine.repair_user(e, &admin, diego).await.unwrap();
    eventually("both users are repaired", || async {
        push_state(engine, e, adele).await == PushState::InSync
            && push_state(engine, e, diego).await == PushState::InSync
            && pbx.get_device("1002", "1002tm").await.is_ok()
    })
    .await;
    eventually("every job finished", || async {
        engine
            .store()
            .list_jobs(&JobQuery {
                enterprise_id: Some(e),
                unfinished_only: true,
                limit: 10,
                ..Default::default()
            })
            .await
            .unwrap()
            .is_empty()
    })
    .await;
    bg.stop().await;
    let after = c.contoso_tenant.write_counts();
    let adele_id = ms::contoso_user_id("Adele Vance");
    let diego_id = ms::contoso_user_id("Diego Siciliani");
    assert_eq!(
        after.get(&adele_id).copied().unwrap_or(0) - before.get(&adele_id).copied().unwrap_or(0),
        1,
        "one policy grant, nothing else"
    );
    assert_eq!(
        after.get(&diego_id),
        before.get(&diego_id),
        "Diego's Teams setup was fine: nothing sent"
    );
    let teams = c.contoso_tenant.teams_state(&upn("Adele Vance")).unwrap();
    assert!(
        teams.effective_policies["OnlineVoiceRoutingPolicy"].ends_with("US East 2"),
        "{teams:?}"
    );
    // The recreated device keeps the password the gateway already has.
    let handle = engine
        .store()
        .device_handle(e, location, &DeviceAuthId::parse("1002tm").unwrap())
        .await
        .unwrap()
        .unwrap();
    let stored = engine
        .store()
        .device_handle_password(e, handle.id)
        .await
        .unwrap();
    assert_eq!(
        c.pbx.sim().device_password("contoso", "1002tm").as_deref(),
        Some(stored.expose())
    );
    let again = engine.reconcile(e).await.unwrap();
    assert_eq!(
        (again.checked, again.drift, again.back_in_sync),
        (3, 0, 0),
        "{again:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enterprise_voice_off_while_the_number_is_held_is_drift_and_repair_turns_it_on() {
    let c = contoso(settings(), 4).await;
    let (engine, e) = (&c.engine, c.contoso.id);
    // The tenant answers "already assigned" to a number the user holds, without turning
    // enterprise voice on: re-assigning alone would never clear the drift.
    c.contoso_tenant.update_behaviour(|b| {
        b.reassign_held_number = teamline_sim::microsoft::ReassignHeldNumber::AlreadyAssigned;
    });
    engine.sync_directory(e, false).await.unwrap();
    let admin = Actor::EnterpriseAdmin(ms::CONTOSO_ADMIN_UPN.into());
    let adele = set_up(&c, "Adele Vance", "1000").await;
    let bg = Workers::new().runner(engine, "voice-off");
    eventually("Adele is in sync", || async {
        push_state(engine, e, adele).await == PushState::InSync
    })
    .await;

    // Someone turns enterprise voice off in Teams; the number stays with Adele.
    c.contoso_tenant
        .set_enterprise_voice(&upn("Adele Vance"), false)
        .unwrap();
    let found = engine.reconcile(e).await.unwrap();
    assert_eq!(found.newly_drifted, 1, "{found:?}");
    let why = engine
        .store()
        .get_pbx_user(e, adele)
        .await
        .unwrap()
        .user
        .last_error
        .unwrap_or_default();
    assert!(why.contains("+11000"), "the number is named: {why}");

    engine.repair_user(e, &admin, adele).await.unwrap();
    eventually("Adele is repaired", || async {
        push_state(engine, e, adele).await == PushState::InSync
    })
    .await;
    bg.stop().await;
    let teams = c.contoso_tenant.teams_state(&upn("Adele Vance")).unwrap();
    assert!(teams.enterprise_voice_enabled, "{teams:?}");
    assert_eq!(teams.numbers, vec!["+11000".to_owned()]);
    let again = engine.reconcile(e).await.unwrap();
    assert_eq!(again.drift, 0, "{again:?}");
}
