//! Directory sync: a full read first, then delta rounds, against the simulated Contoso tenant.

use crate::support::{contoso, settings, upn};
use teamline_domain::audit::{Actor, Audit};
use teamline_domain::ids::EnterpriseId;
use teamline_domain::sync_group::SyncGroupChoice;
use teamline_domain::teams_user::{PlanState, TeamsUser};
use teamline_engine::Engine;
use teamline_sim::microsoft::{
    CapabilityStatus, NewUser, PlanState as SimPlan, UserPatch, demo as ms,
};

async fn user(engine: &Engine, e: EnterpriseId, name: &str) -> Option<TeamsUser> {
    engine
        .store()
        .get_teams_user(e, &ms::contoso_user_id(name))
        .await
        .unwrap()
}

async fn by_upn(engine: &Engine, e: EnterpriseId, upn: &str) -> Option<TeamsUser> {
    engine.store().teams_user_by_upn(e, upn).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_then_delta_with_adds_removals_licence_loss_and_nesting_changes() {
    let c = contoso(settings(), 4).await;
    let (engine, e, t) = (&c.engine, c.contoso.id, &c.contoso_tenant);
    let sync_group = ms::contoso_group_id(ms::SYNC_GROUP);

    let first = engine.sync_directory(e, false).await.unwrap();
    assert!(first.full);
    assert_eq!(first.reason.as_deref(), Some("first sync"));
    assert!(first.added >= 16, "{first:?}");
    let alex = user(engine, e, "Alex Wilber").await.unwrap();
    assert!(alex.in_scope, "a member through the nested group Sales");
    assert_eq!(alex.sync_groups, vec![sync_group.clone()]);
    assert!(user(engine, e, ms::IRVIN_SAYERS).await.is_none());

    let quiet = engine.sync_directory(e, false).await.unwrap();
    assert!(!quiet.full, "the second sync is a delta round");
    assert_eq!(
        (quiet.seen, quiet.added, quiet.changed, quiet.flagged),
        (0, 0, 0, 0)
    );

    // Changes in Microsoft 365 between two syncs.
    t.add_user(NewUser {
        user_principal_name: "NinaN@contoso.example".into(),
        display_name: "Nina New".into(),
        plans: vec![ms::PLAN_TEAMS1.into(), ms::PLAN_MCOEV.into()],
        groups: vec![ms::SALES_GROUP.into()],
        ..Default::default()
    })
    .unwrap();
    t.add_group_member(ms::SYNC_GROUP, &upn(ms::IRVIN_SAYERS))
        .unwrap();
    t.remove_group_member(ms::SYNC_GROUP, &upn("Lee Gu"))
        .unwrap();
    // Nestor joins directly, then leaves Sales: still a member.
    t.add_group_member(ms::SYNC_GROUP, &upn("Nestor Wilke"))
        .unwrap();
    t.remove_group_member(ms::SALES_GROUP, &upn("Nestor Wilke"))
        .unwrap();
    t.remove_group_member(ms::SALES_GROUP, &upn("Pradeep Gupta"))
        .unwrap();
    t.update_user(
        &upn("Megan Bowen"),
        UserPatch {
            plans: Some(vec![SimPlan {
                service_plan_id: ms::PLAN_TEAMS1.into(),
                capability_status: CapabilityStatus::Enabled,
            }]),
            ..Default::default()
        },
    )
    .unwrap();
    t.update_user(
        &upn("Alex Wilber"),
        UserPatch {
            account_enabled: Some(false),
            ..Default::default()
        },
    )
    .unwrap();
    t.update_user(
        &upn("Grady Archie"),
        UserPatch {
            display_name: Some("Grady A. Archie".into()),
            ..Default::default()
        },
    )
    .unwrap();
    t.delete_user(&upn("Joni Sherman"), false).unwrap();

    let delta = engine.sync_directory(e, false).await.unwrap();
    assert!(!delta.full, "{delta:?}");
    assert_eq!(delta.added, 2, "Nina and Irvin: {delta:?}");
    assert!(delta.flagged >= 5, "{delta:?}");
    let nina = by_upn(engine, e, "NinaN@contoso.example").await.unwrap();
    assert!(nina.in_scope && nina.is_eligible());
    assert_eq!(
        nina.sync_groups,
        vec![sync_group.clone()],
        "credited through Sales"
    );
    assert!(user(engine, e, ms::IRVIN_SAYERS).await.unwrap().in_scope);
    let lee = user(engine, e, "Lee Gu").await.unwrap();
    assert!(!lee.in_scope, "left the sync group: flagged");
    assert!(user(engine, e, "Nestor Wilke").await.unwrap().in_scope);
    assert!(!user(engine, e, "Pradeep Gupta").await.unwrap().in_scope);
    let megan = user(engine, e, "Megan Bowen").await.unwrap();
    assert_ne!(megan.licences.teams_phone, PlanState::Enabled);
    assert!(megan.in_scope, "kept in scope, flagged for the licence");
    assert!(
        !user(engine, e, "Alex Wilber")
            .await
            .unwrap()
            .account_enabled
    );
    assert_eq!(
        user(engine, e, "Grady Archie").await.unwrap().display_name,
        "Grady A. Archie"
    );
    assert!(
        user(engine, e, "Joni Sherman")
            .await
            .unwrap()
            .deleted_in_tenant
    );

    // Nesting "All Company" into the sync group changes the tracked groups: a full read.
    t.add_group_member(ms::SYNC_GROUP, ms::ALL_COMPANY_GROUP)
        .unwrap();
    let nested = engine.sync_directory(e, false).await.unwrap();
    assert!(nested.full, "{nested:?}");
    assert!(
        nested
            .reason
            .as_deref()
            .unwrap_or_default()
            .contains("nested"),
        "{nested:?}"
    );
    assert!(
        user(engine, e, "Lee Gu").await.unwrap().in_scope,
        "through All Company"
    );
    t.remove_group_member(ms::SYNC_GROUP, ms::ALL_COMPANY_GROUP)
        .unwrap();
    let unnested = engine.sync_directory(e, false).await.unwrap();
    assert!(unnested.full);
    assert!(!user(engine, e, "Lee Gu").await.unwrap().in_scope);
    // Configuration is never deleted: flagged users are still there.
    assert!(user(engine, e, "Pradeep Gupta").await.is_some());

    let history = engine.sync_history(e, 10).await.unwrap();
    assert_eq!(history.len(), 5);
    assert_eq!(history[0], unnested, "newest first");
    assert_eq!(engine.last_sync(e).await.unwrap(), Some(unnested));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_or_reset_delta_token_means_a_full_resync() {
    let c = contoso(settings(), 4).await;
    let (engine, e, t) = (&c.engine, c.contoso.id, &c.contoso_tenant);
    engine.sync_directory(e, false).await.unwrap();

    t.expire_delta_tokens();
    t.add_user(NewUser {
        user_principal_name: "OscarO@contoso.example".into(),
        display_name: "Oscar Olsen".into(),
        plans: vec![ms::PLAN_TEAMS1.into(), ms::PLAN_MCOEV.into()],
        groups: vec![ms::SYNC_GROUP.into()],
        ..Default::default()
    })
    .unwrap();
    let resync = engine.sync_directory(e, false).await.unwrap();
    assert!(resync.full);
    assert!(
        resync
            .reason
            .as_deref()
            .unwrap_or_default()
            .contains("expired"),
        "{resync:?}"
    );
    assert!(
        by_upn(engine, e, "OscarO@contoso.example")
            .await
            .unwrap()
            .in_scope
    );
    assert!(!engine.sync_directory(e, false).await.unwrap().full);

    // 410 Gone (Microsoft reset the tenant's sync state): the same.
    t.reset_delta_tokens();
    let gone = engine.sync_directory(e, false).await.unwrap();
    assert!(gone.full, "{gone:?}");
    assert!(!engine.sync_directory(e, false).await.unwrap().full);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_sync_groups_every_enabled_member_is_in_scope() {
    let c = contoso(settings(), 4).await;
    let (engine, e, t) = (&c.engine, c.contoso.id, &c.contoso_tenant);
    engine.sync_directory(e, false).await.unwrap();
    assert!(user(engine, e, ms::IRVIN_SAYERS).await.is_none());

    let audit = Audit::new(
        Actor::System("test".into()),
        "sync_groups.set",
        "no sync group",
    );
    engine
        .store()
        .set_sync_groups(e, &[], &audit)
        .await
        .unwrap();
    let all = engine.sync_directory(e, false).await.unwrap();
    assert!(all.full);
    assert_eq!(all.reason.as_deref(), Some("the sync groups changed"));
    let irvin = user(engine, e, ms::IRVIN_SAYERS).await.unwrap();
    assert!(irvin.in_scope && irvin.sync_groups.is_empty());
    assert!(
        !user(engine, e, ms::ENRICO_CATTANEO).await.unwrap().in_scope,
        "disabled accounts are not in scope"
    );

    // A new user in no group at all is picked up by the next delta round; a disabled one
    // leaves the scope.
    t.add_user(NewUser {
        user_principal_name: "PaulP@contoso.example".into(),
        display_name: "Paul Park".into(),
        plans: vec![ms::PLAN_TEAMS1.into(), ms::PLAN_MCOEV.into()],
        ..Default::default()
    })
    .unwrap();
    t.update_user(
        &upn(ms::IRVIN_SAYERS),
        UserPatch {
            account_enabled: Some(false),
            ..Default::default()
        },
    )
    .unwrap();
    let delta = engine.sync_directory(e, false).await.unwrap();
    assert!(!delta.full, "{delta:?}");
    assert_eq!((delta.added, delta.flagged), (1, 1), "{delta:?}");
    assert!(
        by_upn(engine, e, "PaulP@contoso.example")
            .await
            .unwrap()
            .in_scope
    );
    assert!(!user(engine, e, ms::IRVIN_SAYERS).await.unwrap().in_scope);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_in_two_sync_groups_stays_while_in_either() {
    let c = contoso(settings(), 4).await;
    let (engine, e, t) = (&c.engine, c.contoso.id, &c.contoso_tenant);
    let sync_group = ms::contoso_group_id(ms::SYNC_GROUP);
    let pilot = t.add_group("Pilot").unwrap().to_ascii_lowercase();
    t.add_group_member("Pilot", &upn("Adele Vance")).unwrap();
    t.add_group_member("Pilot", &upn(ms::IRVIN_SAYERS)).unwrap();
    let choices = [
        SyncGroupChoice::parse(&sync_group, ms::SYNC_GROUP).unwrap(),
        SyncGroupChoice::parse(&pilot, "Pilot").unwrap(),
    ];
    let audit = Audit::new(Actor::System("test".into()), "sync_groups.set", "two");
    engine
        .store()
        .set_sync_groups(e, &choices, &audit)
        .await
        .unwrap();

    let first = engine.sync_directory(e, false).await.unwrap();
    assert!(first.full, "{first:?}");
    let mut both = vec![sync_group.clone(), pilot.clone()];
    both.sort();
    let adele = user(engine, e, "Adele Vance").await.unwrap();
    assert!(adele.in_scope);
    assert_eq!(adele.sync_groups, both, "stored once, with both groups");
    let irvin = user(engine, e, ms::IRVIN_SAYERS).await.unwrap();
    assert!(irvin.in_scope);
    assert_eq!(irvin.sync_groups, vec![pilot.clone()]);

    // Reading everything again with nothing changed changes nothing.
    let again = engine.sync_directory(e, true).await.unwrap();
    assert_eq!(again.seen, first.seen);
    assert_eq!(
        (again.added, again.changed, again.flagged),
        (0, 0, 0),
        "{again:?}"
    );

    // Adele leaves Pilot (still in the sync group), Irvin leaves Pilot (in no group now).
    t.remove_group_member("Pilot", &upn("Adele Vance")).unwrap();
    t.remove_group_member("Pilot", &upn(ms::IRVIN_SAYERS))
        .unwrap();
    let full = engine.sync_directory(e, true).await.unwrap();
    assert_eq!(full.seen, first.seen - 1, "{full:?}");
    assert_eq!((full.changed, full.flagged), (1, 1), "{full:?}");
    let adele = user(engine, e, "Adele Vance").await.unwrap();
    assert!(adele.in_scope, "still in the sync group");
    assert_eq!(adele.sync_groups, vec![sync_group.clone()]);
    assert!(
        !user(engine, e, ms::IRVIN_SAYERS).await.unwrap().in_scope,
        "left every sync group: flagged, kept"
    );

    // The same through a delta round: Irvin joins Pilot again, Adele leaves the sync group
    // for Pilot.
    t.add_group_member("Pilot", &upn(ms::IRVIN_SAYERS)).unwrap();
    t.add_group_member("Pilot", &upn("Adele Vance")).unwrap();
    t.remove_group_member(ms::SYNC_GROUP, &upn("Adele Vance"))
        .unwrap();
    let delta = engine.sync_directory(e, false).await.unwrap();
    assert!(!delta.full, "{delta:?}");
    assert!(user(engine, e, ms::IRVIN_SAYERS).await.unwrap().in_scope);
    let adele = user(engine, e, "Adele Vance").await.unwrap();
    assert!(adele.in_scope, "in Pilot now");
    assert_eq!(adele.sync_groups, vec![pilot.clone()]);
}
