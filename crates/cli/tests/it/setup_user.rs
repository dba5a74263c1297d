//! The engine's SET UP PBX USER workflow end to end against the simulated Microsoft tenant and
//! NetSapiens PBX: the seed article's steps without the browser.

use std::time::Duration;
use teamline::commands::demo::{DemoArgs, DemoStack};
use teamline_domain::audit::Actor;
use teamline_domain::ids::EnterpriseId;
use teamline_domain::pbx_user::{PbxUserForm, PushState, fields};
use teamline_engine::SaveError;
use teamline_sim::microsoft::demo as ms;

async fn start() -> (DemoStack, tempfile::TempDir) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let args = DemoArgs {
        data_dir: dir.path().join("demo"),
        listen: "127.0.0.1:0".parse().unwrap(),
        fresh: false,
    };
    (DemoStack::start(&args).await.unwrap(), dir)
}

fn admin() -> Actor {
    Actor::EnterpriseAdmin(ms::CONTOSO_ADMIN_UPN.into())
}

/// The form as the seed article fills it, for a Teams user and an extension.
async fn seed_form(stack: &DemoStack, name: &str, ext: &str) -> PbxUserForm {
    let e = stack.contoso.id;
    let store = stack.engine.store();
    let location = store.list_pbx_locations(e).await.unwrap()[0].id;
    let route = store
        .list_voice_routes(e)
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

async fn wait_for(
    stack: &DemoStack,
    e: EnterpriseId,
    id: teamline_domain::ids::PbxUserId,
    want: PushState,
) {
    for _ in 0..300 {
        let item = stack.engine.store().get_pbx_user(e, id).await.unwrap();
        if item.user.push_state == want {
            return;
        }
        assert_ne!(
            item.user.push_state,
            PushState::Failed,
            "push failed: {:?}",
            item.user.last_error
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the user never reached {want:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adele_is_set_up_and_calling_is_enabled_in_teams() {
    let (stack, _dir) = start().await;
    let e = stack.contoso.id;
    let options = stack
        .engine
        .setup_form_options(e, None, None)
        .await
        .unwrap();
    let names: Vec<&str> = options
        .teams_users
        .iter()
        .map(|t| t.display_name.as_str())
        .collect();
    assert!(names.contains(&"Adele Vance"), "{names:?}");
    for absent in [
        "Christie Cline",
        "Irvin Sayers",
        "Enrico Cattaneo",
        "Debra Berger",
    ] {
        assert!(
            !names.contains(&absent),
            "{absent} must not be offered: {names:?}"
        );
    }

    let user = stack
        .engine
        .save_pbx_user(
            e,
            &admin(),
            &seed_form(&stack, "Adele Vance", "1000").await,
            None,
        )
        .await
        .unwrap();
    wait_for(&stack, e, user.id, PushState::InSync).await;
    let teams = stack
        .contoso_tenant
        .teams_state(&ms::upn_for("Adele Vance", ms::CONTOSO_DOMAIN))
        .unwrap();
    assert!(teams.enterprise_voice_enabled);
    assert_eq!(teams.numbers, vec!["+11000".to_owned()]);
    let ovrp = teams
        .effective_policies
        .get("OnlineVoiceRoutingPolicy")
        .cloned()
        .unwrap_or_default();
    assert!(ovrp.ends_with("US East 2"), "{ovrp}");

    // The device handle's credentials were read from the PBX and kept (encrypted).
    let handle = stack
        .engine
        .store()
        .device_handle(e, user.spec.pbx_location_id, &user.spec.device)
        .await
        .unwrap()
        .unwrap();
    assert!(!handle.created_by_teamline);

    // Disable Calling turns it off in Teams; doing it twice changes nothing more.
    stack
        .engine
        .set_calling(e, &admin(), user.id, false)
        .await
        .unwrap();
    wait_for(&stack, e, user.id, PushState::InSync).await;
    let writes_after_disable = stack.contoso_tenant.write_counts();
    stack
        .engine
        .set_calling(e, &admin(), user.id, false)
        .await
        .unwrap();
    wait_for(&stack, e, user.id, PushState::InSync).await;
    assert_eq!(
        stack.contoso_tenant.write_counts(),
        writes_after_disable,
        "a second Disable Calling wrote again"
    );
    let teams = stack
        .contoso_tenant
        .teams_state(&ms::upn_for("Adele Vance", ms::CONTOSO_DOMAIN))
        .unwrap();
    assert!(!teams.enterprise_voice_enabled);
    assert!(teams.numbers.is_empty());
    stack.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_forms_rules_name_holders_and_fields() {
    let (stack, _dir) = start().await;
    let e = stack.contoso.id;
    stack
        .engine
        .save_pbx_user(
            e,
            &admin(),
            &seed_form(&stack, "Adele Vance", "1000").await,
            None,
        )
        .await
        .unwrap();

    // SIP user 1000 again, for Alex: the error names Adele.
    let mut alex = seed_form(&stack, "Alex Wilber", "1000").await;
    alex.phone_number = "11001".into();
    let Err(SaveError::Fields(errors)) = stack.engine.save_pbx_user(e, &admin(), &alex, None).await
    else {
        panic!("expected field errors")
    };
    assert!(
        errors
            .for_field(fields::SIP_USER)
            .unwrap()
            .contains("Adele Vance"),
        "{errors}"
    );

    // Extension 1015 is held by the disabled Debra Berger.
    let pradeep = seed_form(&stack, "Pradeep Gupta", "1015").await;
    let Err(SaveError::Fields(errors)) = stack
        .engine
        .save_pbx_user(e, &admin(), &pradeep, None)
        .await
    else {
        panic!("expected field errors")
    };
    let msg = errors.for_field(fields::SIP_USER).unwrap();
    assert!(
        msg.contains("Debra Berger") && msg.contains("Delete User"),
        "{msg}"
    );

    // A number already used.
    let mut megan = seed_form(&stack, "Megan Bowen", "1011").await;
    megan.phone_number = "+11000".into();
    let Err(SaveError::Fields(errors)) =
        stack.engine.save_pbx_user(e, &admin(), &megan, None).await
    else {
        panic!("expected field errors")
    };
    assert!(
        errors
            .for_field(fields::PHONE_NUMBER)
            .unwrap()
            .contains("Adele Vance"),
        "{errors}"
    );

    // Megan on 1002: no 1002tm yet. Creating it on the PBX (with the emergency address it
    // needs) makes the form valid.
    let mut megan = seed_form(&stack, "Megan Bowen", "1002").await;
    let Err(SaveError::Fields(errors)) = stack.engine.validate_pbx_user(e, &megan, None).await
    else {
        panic!("expected field errors")
    };
    assert!(
        errors
            .for_field(fields::USER_DEVICES)
            .unwrap()
            .contains("1002tm"),
        "{errors}"
    );
    let location = stack.engine.store().list_pbx_locations(e).await.unwrap()[0].id;
    let ext = teamline_domain::sip::Extension::parse("1002").unwrap();
    let addresses = stack
        .engine
        .emergency_addresses(e, location, &ext)
        .await
        .unwrap();
    let created = stack
        .engine
        .create_device_handle(
            e,
            &admin(),
            location,
            &ext,
            addresses.first().map(|a| a.id.clone()),
        )
        .await
        .unwrap();
    assert_eq!(created.as_str(), "1002tm");
    let again = stack
        .engine
        .create_device_handle(
            e,
            &admin(),
            location,
            &ext,
            addresses.first().map(|a| a.id.clone()),
        )
        .await
        .unwrap_err();
    assert!(again.to_string().contains("already exists"), "{again}");
    megan.device = created.to_string();
    stack
        .engine
        .save_pbx_user(e, &admin(), &megan, None)
        .await
        .unwrap();
    stack.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn troubleshoot_explains_users_who_do_not_sync() {
    let (stack, _dir) = start().await;
    let e = stack.contoso.id;
    use teamline_engine::troubleshoot::{CheckStatus, Troubleshooting};
    let failing = |t: &Troubleshooting| -> Vec<String> {
        match t {
            Troubleshooting::Checklist { checks, .. } => checks
                .iter()
                .filter(|c| c.status == CheckStatus::Fail)
                .map(|c| c.label.to_owned())
                .collect(),
            Troubleshooting::Candidates(_) => vec!["candidates".into()],
        }
    };
    let christie = stack
        .engine
        .troubleshoot(e, "ChristieC@contoso.example")
        .await
        .unwrap();
    assert_eq!(failing(&christie), ["Teams Phone licence"]);
    let irvin = stack.engine.troubleshoot(e, "Irvin Sayers").await.unwrap();
    assert_eq!(failing(&irvin), ["In a sync group"]);
    let enrico = stack
        .engine
        .troubleshoot(e, "EnricoC@contoso.example")
        .await
        .unwrap();
    assert_eq!(failing(&enrico), ["Account enabled"]);
    let debra = stack
        .engine
        .troubleshoot(e, "DebraB@contoso.example")
        .await
        .unwrap();
    assert_eq!(failing(&debra), ["Not previously disabled in Teamline"]);
    let adele = stack
        .engine
        .troubleshoot(e, "AdeleV@contoso.example")
        .await
        .unwrap();
    assert!(adele.all_passed(), "{adele:?}");
    let nobody = stack
        .engine
        .troubleshoot(e, "nobody@contoso.example")
        .await
        .unwrap();
    assert_eq!(failing(&nobody), ["Exists in the tenant"]);
    stack.stop().await.unwrap();
}
