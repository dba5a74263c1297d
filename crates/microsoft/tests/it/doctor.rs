//! `teamline doctor` against the simulator: every check passes in the default mode, and in
//! each alternative mode the report names the behaviour it found.

use teamline_domain::diagnosis::{Check, Outcome};
use teamline_microsoft::MicrosoftCloud;
use teamline_microsoft::doctor::{DoctorOptions, WriteTest, sign_in_check};
use teamline_microsoft::voice::PolicyType;
use teamline_sim::microsoft::{
    ConfigCreate, ConsentState, PolicyIdLookup, ReassignHeldNumber, demo,
};

use crate::sim::{Env, start};

const TEST_USER: &str = "LeeG@contoso.example";

fn options(write: bool) -> DoctorOptions {
    DoctorOptions {
        policies: vec![
            (
                PolicyType::OnlineVoiceRoutingPolicy,
                demo::CONTOSO_VOICE_ROUTES[0].into(),
            ),
            (PolicyType::TenantDialPlan, demo::CONTOSO_DIAL_PLAN.into()),
            (
                PolicyType::TeamsCallingPolicy,
                demo::NO_VOICEMAIL_CALLING_POLICY.into(),
            ),
        ],
        write_test: write.then(|| WriteTest {
            user: TEST_USER.into(),
            number: "+19995550100".into(),
        }),
    }
}

async fn run(env: &Env, write: bool) -> Vec<Check> {
    env.ms
        .doctor(demo::CONTOSO_TENANT_ID, &options(write))
        .await
}

fn check<'a>(checks: &'a [Check], id: &str) -> &'a Check {
    checks
        .iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("no check {id} in {checks:#?}"))
}

#[tokio::test]
async fn every_check_passes_against_the_demo_tenant_and_the_user_is_put_back() {
    let env = start().await;
    let checks = run(&env, true).await;
    let not_passed: Vec<_> = checks
        .iter()
        .filter(|c| c.outcome != Outcome::Pass)
        .collect();
    assert!(not_passed.is_empty(), "{not_passed:#?}");
    for id in [
        "token.graph",
        "token.teams_admin",
        "graph.permission.TeamsPolicyUserAssign.ReadWrite.All",
        "policy.OnlineVoiceRoutingPolicy",
        "voice.user_configuration",
        "teams_admin.reachable",
        "write.number",
        "write.policy.TenantDialPlan",
        "write.create_form",
        "write.restored",
    ] {
        check(&checks, id);
    }
    assert!(
        check(&checks, "voice.user_configuration")
            .found
            .contains("wrapped in \"value\"")
    );
    let lee = env.contoso.teams_state(TEST_USER).unwrap();
    assert!(lee.numbers.is_empty() && !lee.enterprise_voice_enabled);
    assert!(lee.effective_policies.is_empty(), "{lee:?}");
    let voice_config = env.contoso.voice_config().to_string();
    assert!(
        !voice_config.contains("Teamline-Doctor"),
        "test policy removed"
    );
}

#[tokio::test]
async fn each_alternative_behaviour_is_named() {
    let env = start().await;
    env.contoso.update_behaviour(|b| {
        b.graph_voice_policies = false;
        b.config_create = ConfigCreate::Put;
        b.reassign_held_number = ReassignHeldNumber::AlreadyAssigned;
    });
    // The test user holds a number with enterprise voice off.
    let t = env.ms.tenant(demo::CONTOSO_TENANT_ID);
    let lee = env.user_ref(&env.contoso, TEST_USER);
    t.assign_number(&lee, "+11008").await.unwrap();
    env.contoso.set_enterprise_voice(TEST_USER, false).unwrap();

    let checks = run(&env, true).await;
    assert!(
        teamline_domain::diagnosis::all_pass(&checks),
        "Teamline still works: {checks:#?}"
    );
    let policy = check(&checks, "policy.OnlineVoiceRoutingPolicy");
    assert_eq!(policy.outcome, Outcome::Warn);
    assert!(policy.found.contains("Graph refuses"), "{}", policy.found);
    assert!(
        policy
            .error
            .as_deref()
            .is_some_and(|e| e.contains("is not supported")),
        "Microsoft's own words: {policy:?}"
    );
    assert!(
        check(&checks, "write.policy.TenantDialPlan")
            .found
            .contains("Teams admin REST surface")
    );
    assert!(
        check(&checks, "write.create_form")
            .found
            .contains("refused POST")
    );
    let number = check(&checks, "write.number");
    assert!(
        number.found.contains("enterprise voice off before"),
        "{}",
        number.found
    );

    // getPolicyId answering every policy of the type.
    env.contoso.update_behaviour(|b| {
        b.graph_voice_policies = true;
        b.policy_id_lookup = PolicyIdLookup::AllOfType;
    });
    let checks = run(&env, false).await;
    let found = &check(&checks, "policy.OnlineVoiceRoutingPolicy").found;
    assert!(found.contains("among"), "{found}");

    // A groups delta filter that takes fewer ids than the 15 of public reports.
    for i in 0..15 {
        env.contoso.add_group(&format!("Doctor {i:02}")).unwrap();
    }
    env.contoso
        .update_behaviour(|b| b.max_filter_or_clauses = 10);
    let checks = run(&env, false).await;
    let filter = check(&checks, "graph.groups_delta_filter");
    assert_eq!(filter.outcome, Outcome::Warn, "{filter:?}");
    assert!(filter.found.contains("only 10"), "{}", filter.found);
    assert!(
        filter
            .error
            .as_deref()
            .is_some_and(|e| e.contains("Max allowed: 10")),
        "{filter:?}"
    );
}

#[tokio::test]
async fn missing_permissions_and_roles_fail_with_microsofts_words_and_the_fix() {
    let env = start().await;
    env.contoso.set_consent(ConsentState {
        granted: true,
        graph_roles: Some(vec!["User.Read.All".into()]),
        service_principal_roles: Some(vec![]),
        ..ConsentState::default()
    });
    let checks = run(&env, false).await;
    let numbers = check(
        &checks,
        "graph.permission.TeamsTelephoneNumber.ReadWrite.All",
    );
    assert_eq!(numbers.outcome, Outcome::Fail);
    assert!(
        numbers
            .error
            .as_deref()
            .is_some_and(|e| e.starts_with("Authorization_RequestDenied")),
        "{numbers:?}"
    );
    assert!(numbers.fix.as_deref().unwrap().contains("admin consent"));
    assert_eq!(
        check(&checks, "graph.permission.User.Read.All").outcome,
        Outcome::Pass
    );
    let admin = check(&checks, "teams_admin.reachable");
    assert_eq!(admin.outcome, Outcome::Fail);
    assert!(
        admin
            .fix
            .as_deref()
            .unwrap()
            .contains("Teams Administrator role")
    );

    // No consent at all: the token check says so in Entra's words and the rest is skipped.
    env.contoso.set_consent(ConsentState::default());
    let checks = run(&env, true).await;
    let token = check(&checks, "token.graph");
    assert_eq!(token.outcome, Outcome::Fail);
    assert!(
        token.error.as_deref().is_some_and(|e| e.contains("AADSTS")),
        "{token:?}"
    );
    assert_eq!(check(&checks, "write").outcome, Outcome::Skip);
}

#[tokio::test]
async fn the_sign_in_check_names_where_the_roles_came_from() {
    let env = start().await;
    env.contoso.update_behaviour(|b| b.id_token_wids = false);
    let admin = env
        .sign_in(demo::CONTOSO_ADMIN_UPN, demo::ADMIN_PASSWORD)
        .await
        .unwrap();
    let c = sign_in_check(&admin);
    assert_eq!(c.outcome, Outcome::Pass);
    assert!(c.found.contains("no wids claim"), "{}", c.found);
}

#[tokio::test]
async fn the_direct_routing_set_ups_permissions_are_probed_without_changing_the_tenant() {
    let env = start().await;
    let missing = [
        "User.ReadWrite.All",
        "LicenseAssignment.ReadWrite.All",
        "Organization.Read.All",
    ];
    let granted: Vec<String> = demo::TEAMLINE_GRAPH_APP_ROLES
        .iter()
        .filter(|r| !missing.contains(r))
        .map(|r| (*r).to_owned())
        .collect();
    env.contoso.set_consent(ConsentState {
        granted: true,
        graph_roles: Some(granted),
        ..ConsentState::default()
    });
    let users_before = env.contoso.user_count();
    let domains_before = env.contoso.domains();
    let checks = run(&env, false).await;

    for (id, permission, what) in [
        (
            "graph.permission.User.ReadWrite.All",
            "User.ReadWrite.All",
            "create users",
        ),
        (
            "graph.permission.LicenseAssignment.ReadWrite.All",
            "LicenseAssignment.ReadWrite.All",
            "assign licences",
        ),
        (
            "graph.subscribed_skus",
            "Organization.Read.All",
            "read the tenant's licences",
        ),
    ] {
        let c = check(&checks, id);
        assert_eq!(c.outcome, Outcome::Fail, "{c:?}");
        assert!(c.found.contains(what), "{c:?}");
        assert!(
            c.error
                .as_deref()
                .is_some_and(|e| e.starts_with("Authorization_RequestDenied")),
            "Microsoft's own words: {c:?}"
        );
        let fix = c.fix.as_deref().unwrap_or_default();
        assert!(fix.contains(permission), "{fix}");
        assert!(fix.contains("grants admin consent"), "{fix}");
    }
    let domains = check(&checks, "graph.permission.Domain.ReadWrite.All");
    assert_eq!(domains.outcome, Outcome::Pass, "{domains:?}");
    assert!(domains.found.contains("add and verify domains"));

    // The probes changed nothing in the tenant.
    assert_eq!(env.contoso.user_count(), users_before);
    assert_eq!(env.contoso.domains(), domains_before);

    // With every permission of the app the same probes pass (and still change nothing).
    let env = start().await;
    let checks = run(&env, false).await;
    for id in [
        "graph.permission.User.ReadWrite.All",
        "graph.permission.LicenseAssignment.ReadWrite.All",
        "graph.permission.Domain.ReadWrite.All",
        "graph.subscribed_skus",
    ] {
        let c = check(&checks, id);
        assert_eq!(c.outcome, Outcome::Pass, "{c:?}");
    }
    assert_eq!(env.contoso.user_count(), users_before);
    assert_eq!(env.contoso.domains(), domains_before);
}
