//! The client against the simulator switched to each alternative way a real tenant may
//! behave where Microsoft's documentation leaves it open: Teamline works either way.

use std::time::Duration;

use futures::TryStreamExt;
use teamline_microsoft::direct_routing::{SetupChange, VoiceRoutingPolicySpec};
use teamline_microsoft::directory::DeltaStart;
use teamline_microsoft::signin::{RoleSource, roles};
use teamline_microsoft::voice::{NumberChange, PolicyType};
use teamline_microsoft::{MicrosoftCloud, MicrosoftError, PolicyPath};
use teamline_sim::microsoft::{ConfigCreate, PolicyIdLookup, ReassignHeldNumber, demo};

use crate::sim::start;

#[tokio::test]
async fn without_wids_in_the_id_token_roles_are_read_from_graph() {
    let env = start().await;
    env.contoso.update_behaviour(|b| b.id_token_wids = false);
    let admin = env
        .sign_in(demo::CONTOSO_ADMIN_UPN, demo::ADMIN_PASSWORD)
        .await
        .unwrap();
    assert!(admin.is_global_admin);
    assert_eq!(admin.role_source, RoleSource::Graph);

    let teams = env
        .sign_in(demo::CONTOSO_TEAMS_ADMIN_UPN, demo::USER_PASSWORD)
        .await
        .unwrap();
    assert!(teams.is_teams_admin && !teams.is_global_admin);

    let user = env
        .sign_in(demo::CONTOSO_NON_ADMIN_UPN, demo::USER_PASSWORD)
        .await
        .unwrap();
    assert!(!user.is_global_admin && !user.global_admin_needs_activation());

    // With wids the token decides, as before.
    env.contoso.update_behaviour(|b| b.id_token_wids = true);
    let admin = env
        .sign_in(demo::CONTOSO_ADMIN_UPN, demo::ADMIN_PASSWORD)
        .await
        .unwrap();
    assert_eq!(admin.role_source, RoleSource::IdToken);
}

#[tokio::test]
async fn a_global_administrator_only_eligible_through_pim_is_told_to_activate() {
    let env = start().await;
    env.contoso
        .set_user_roles(
            demo::CONTOSO_NON_ADMIN_UPN,
            &[],
            &[roles::GLOBAL_ADMINISTRATOR],
        )
        .unwrap();
    for wids in [true, false] {
        env.contoso.update_behaviour(|b| b.id_token_wids = wids);
        let adele = env
            .sign_in(demo::CONTOSO_NON_ADMIN_UPN, demo::USER_PASSWORD)
            .await
            .unwrap();
        assert!(!adele.is_global_admin, "wids {wids}");
        assert!(adele.global_admin_needs_activation(), "wids {wids}");
    }
    // Once activated the role is active, and the sign-in lets the admin in.
    env.contoso
        .set_user_roles(
            demo::CONTOSO_NON_ADMIN_UPN,
            &[roles::GLOBAL_ADMINISTRATOR],
            &[],
        )
        .unwrap();
    let adele = env
        .sign_in(demo::CONTOSO_NON_ADMIN_UPN, demo::USER_PASSWORD)
        .await
        .unwrap();
    assert!(adele.is_global_admin);
}

#[tokio::test]
async fn voice_policies_graph_refuses_are_granted_through_the_teams_admin_api() {
    let env = start().await;
    env.contoso
        .update_behaviour(|b| b.graph_voice_policies = false);
    let t = env.ms.tenant(demo::CONTOSO_TENANT_ID);
    let adele = env.user_ref(&env.contoso, "AdeleV@contoso.example");
    let route = demo::CONTOSO_VOICE_ROUTES[0];
    t.grant_policy(&adele, PolicyType::OnlineVoiceRoutingPolicy, Some(route))
        .await
        .unwrap();
    assert_eq!(
        t.policy_path(PolicyType::OnlineVoiceRoutingPolicy),
        Some(PolicyPath::TeamsAdmin)
    );
    env.contoso.flush_propagation();
    let state = env.contoso.teams_state(&adele.upn).unwrap();
    assert_eq!(
        state.effective_policies["OnlineVoiceRoutingPolicy"],
        format!("Tag:{route}")
    );
    // The learned path is used straight away for the next grant, and Global works too.
    t.grant_policy(&adele, PolicyType::OnlineVoiceRoutingPolicy, None)
        .await
        .unwrap();
    env.contoso.flush_propagation();
    assert!(
        !env.contoso
            .teams_state(&adele.upn)
            .unwrap()
            .effective_policies
            .contains_key("OnlineVoiceRoutingPolicy")
    );
    let missing = t
        .grant_policy(&adele, PolicyType::TenantDialPlan, Some("No Such Plan"))
        .await
        .unwrap_err();
    assert!(
        matches!(missing, MicrosoftError::PolicyNotFound { .. }),
        "{missing:?}"
    );
}

#[tokio::test]
async fn one_policy_is_granted_to_many_users_in_one_request() {
    let env = start().await;
    let t = env.ms.tenant(demo::CONTOSO_TENANT_ID);
    let users: Vec<_> = demo::CONTOSO_LICENSED_USERS[..5]
        .iter()
        .map(|name| env.user_ref(&env.contoso, &demo::upn_for(name, demo::CONTOSO_DOMAIN)))
        .collect();
    // Warm the token cache so the count below is Graph's alone.
    t.policy_id(PolicyType::TeamsCallingPolicy, "Global")
        .await
        .unwrap();
    env.contoso.reset_request_stats();
    t.grant_policy_to_users(
        &users,
        PolicyType::TeamsCallingPolicy,
        Some(demo::NO_VOICEMAIL_CALLING_POLICY),
    )
    .await
    .unwrap();
    assert_eq!(
        env.contoso.request_stats().requests,
        2,
        "lookup + one assign"
    );
    env.contoso.flush_propagation();
    for u in &users {
        assert_eq!(
            env.contoso.teams_state(&u.id).unwrap().effective_policies["TeamsCallingPolicy"],
            format!("Tag:{}", demo::NO_VOICEMAIL_CALLING_POLICY)
        );
    }
}

#[tokio::test]
async fn teams_admin_objects_are_created_with_put_where_post_is_refused() {
    let env = start().await;
    env.contoso
        .update_behaviour(|b| b.config_create = ConfigCreate::Put);
    let t = env.ms.tenant(demo::CONTOSO_TENANT_ID);
    let route = demo::CONTOSO_VOICE_ROUTES[0];
    let mut policy = VoiceRoutingPolicySpec {
        name: "Teamline Put".into(),
        pstn_usages: vec![route.into()],
        description: None,
    };
    assert_eq!(
        t.ensure_voice_routing_policy(&policy).await.unwrap(),
        SetupChange::Created
    );
    assert_eq!(
        t.ensure_voice_routing_policy(&policy).await.unwrap(),
        SetupChange::Unchanged
    );
    policy.description = Some("changed".into());
    assert_eq!(
        t.ensure_voice_routing_policy(&policy).await.unwrap(),
        SetupChange::Updated
    );
    // And with the documented form the same steps hold (POST, then PUT without Identity).
    env.contoso
        .update_behaviour(|b| b.config_create = ConfigCreate::Post);
    let fresh = teamline_microsoft::MicrosoftClient::new(crate::sim::config(
        &env.run,
        &env.ca,
        demo::TEAMLINE_APP_CLIENT_SECRET,
    ))
    .unwrap();
    let t = fresh.tenant(demo::CONTOSO_TENANT_ID);
    let other = VoiceRoutingPolicySpec {
        name: "Teamline Post".into(),
        pstn_usages: vec![route.into()],
        description: Some("first".into()),
    };
    assert_eq!(
        t.ensure_voice_routing_policy(&other).await.unwrap(),
        SetupChange::Created
    );
    assert_eq!(
        t.ensure_voice_routing_policy(&VoiceRoutingPolicySpec {
            description: Some("second".into()),
            ..other
        })
        .await
        .unwrap(),
        SetupChange::Updated
    );
}

#[tokio::test]
async fn get_policy_id_never_takes_another_policy_than_the_named_one() {
    let env = start().await;
    env.contoso
        .update_behaviour(|b| b.policy_id_lookup = PolicyIdLookup::AllOfType);
    let t = env.ms.tenant(demo::CONTOSO_TENANT_ID);
    let adele = env.user_ref(&env.contoso, "AdeleV@contoso.example");
    let err = t
        .grant_policy(
            &adele,
            PolicyType::CallingLineIdentity,
            Some("No Such Policy"),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, MicrosoftError::PolicyNotFound { ref name, .. } if name == "No Such Policy"),
        "{err:?}"
    );
    let route = demo::CONTOSO_VOICE_ROUTES[1];
    t.grant_policy(&adele, PolicyType::OnlineVoiceRoutingPolicy, Some(route))
        .await
        .unwrap();
    env.contoso.flush_propagation();
    assert_eq!(
        env.contoso
            .teams_state(&adele.upn)
            .unwrap()
            .effective_policies["OnlineVoiceRoutingPolicy"],
        format!("Tag:{route}")
    );
}

#[tokio::test]
async fn a_policy_just_created_is_waited_for_until_graph_sees_it() {
    let env = start().await;
    env.contoso.update_faults(|f| f.policy_replication_ms = 400);
    let t = env.ms.tenant(demo::CONTOSO_TENANT_ID);
    let policy = VoiceRoutingPolicySpec {
        name: "Fresh Route".into(),
        pstn_usages: vec![demo::CONTOSO_VOICE_ROUTES[0].into()],
        description: None,
    };
    assert_eq!(
        t.ensure_voice_routing_policy(&policy).await.unwrap(),
        SetupChange::Created
    );
    let adele = env.user_ref(&env.contoso, "AdeleV@contoso.example");
    t.grant_policy(
        &adele,
        PolicyType::OnlineVoiceRoutingPolicy,
        Some("Fresh Route"),
    )
    .await
    .unwrap();
    // A policy Teamline did not just create is reported missing without waiting.
    let started = std::time::Instant::now();
    let err = t
        .grant_policy(&adele, PolicyType::TenantDialPlan, Some("Never Created"))
        .await
        .unwrap_err();
    assert!(matches!(err, MicrosoftError::PolicyNotFound { .. }));
    assert!(started.elapsed() < Duration::from_secs(30));
}

#[tokio::test]
async fn a_held_number_with_enterprise_voice_off_gets_calling_back() {
    let env = start().await;
    env.contoso
        .update_behaviour(|b| b.reassign_held_number = ReassignHeldNumber::AlreadyAssigned);
    let t = env.ms.tenant(demo::CONTOSO_TENANT_ID);
    let adele = env.user_ref(&env.contoso, "AdeleV@contoso.example");
    assert_eq!(
        t.assign_number(&adele, "+11000").await.unwrap(),
        NumberChange::Applied
    );
    assert_eq!(
        t.assign_number(&adele, "+11000").await.unwrap(),
        NumberChange::AlreadyInPlace
    );
    env.contoso.set_enterprise_voice(&adele.upn, false).unwrap();
    assert_eq!(
        t.assign_number(&adele, "+11000").await.unwrap(),
        NumberChange::Applied
    );
    let state = env.contoso.teams_state(&adele.upn).unwrap();
    assert!(state.enterprise_voice_enabled);
    assert_eq!(state.numbers, vec!["+11000".to_owned()]);
}

#[tokio::test]
async fn three_hundred_nested_groups_are_tracked_in_several_delta_rounds() {
    let env = start().await;
    let t = env.ms.tenant(demo::CONTOSO_TENANT_ID);
    let mut ids = vec![env.contoso.group_id(demo::SYNC_GROUP).unwrap()];
    for i in 0..299 {
        let name = format!("Nested {i:03}");
        ids.push(env.contoso.add_group(&name).unwrap());
        env.contoso
            .add_group_member(demo::SYNC_GROUP, &name)
            .unwrap();
    }
    let pages: Vec<_> = t
        .groups_delta(DeltaStart::Initial, &ids)
        .try_collect()
        .await
        .unwrap();
    let link = pages.last().unwrap().delta_link.clone().unwrap();
    assert_eq!(
        link.as_str().split(' ').count(),
        20,
        "one link per 15 groups"
    );
    let seen: std::collections::HashSet<_> = pages
        .iter()
        .flat_map(|p| &p.changes)
        .map(|g| g.id.clone())
        .collect();
    assert_eq!(seen.len(), 300);

    // A change to a group in the last round comes back on resume.
    let adele = env.contoso.user_id("AdeleV@contoso.example").unwrap();
    env.contoso.add_group_member("Nested 298", &adele).unwrap();
    let next: Vec<_> = t
        .groups_delta(DeltaStart::Resume(link), &ids)
        .try_collect()
        .await
        .unwrap();
    let changed = next
        .iter()
        .flat_map(|p| &p.changes)
        .find(|g| g.id == ids[299])
        .unwrap();
    assert!(changed.members_added.iter().any(|m| m.id == adele));
    assert!(next.last().unwrap().delta_link.is_some());
}

#[tokio::test]
async fn a_tenant_that_takes_fewer_ids_per_filter_gets_smaller_rounds() {
    let env = start().await;
    env.contoso
        .update_behaviour(|b| b.max_filter_or_clauses = 10);
    let t = env.ms.tenant(demo::CONTOSO_TENANT_ID);
    let mut ids = vec![env.contoso.group_id(demo::SYNC_GROUP).unwrap()];
    for i in 0..24 {
        let name = format!("Nested {i:03}");
        ids.push(env.contoso.add_group(&name).unwrap());
    }
    // 25 groups: two rounds of 15 are refused ("Max allowed: 10"), three rounds of 10 are not.
    let pages: Vec<_> = t
        .groups_delta(DeltaStart::Initial, &ids)
        .try_collect()
        .await
        .unwrap();
    let link = pages.last().unwrap().delta_link.clone().unwrap();
    assert_eq!(
        link.as_str().split(' ').count(),
        3,
        "one link per 10 groups"
    );
    let seen: std::collections::HashSet<_> = pages
        .iter()
        .flat_map(|p| &p.changes)
        .map(|g| g.id.clone())
        .collect();
    assert_eq!(seen.len(), 25);
    // The client keeps the limit: the next fresh start uses rounds of 10 at once.
    let again: Vec<_> = t
        .groups_delta(DeltaStart::Latest, &ids)
        .try_collect()
        .await
        .unwrap();
    let link = again.last().unwrap().delta_link.clone().unwrap();
    assert_eq!(link.as_str().split(' ').count(), 3);
}
