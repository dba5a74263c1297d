//! The client against Teamline's Microsoft simulator over HTTPS (trusting its CA): the same
//! calls production makes, with the simulator's Contoso / Fabrikam tenants (`docs/demo-data.md`).

use std::collections::HashMap;
use std::time::Duration;

use futures::TryStreamExt;
use secrecy::SecretString;
use teamline_microsoft::direct_routing::{
    CallingPolicySpec, DialPlanSpec, NormalizationRule, SetupChange, VoiceRouteSpec,
    VoiceRoutingPolicySpec, VoicemailMode,
};
use teamline_microsoft::directory::{DeltaStart, UserChange, UserFilter};
use teamline_microsoft::signin::SignedInAdmin;
use teamline_microsoft::voice::{NumberChange, NumberRequest, PolicyType, UserRef};
use teamline_microsoft::{
    MicrosoftClient, MicrosoftCloud, MicrosoftConfig, MicrosoftError, PollPolicy, RetryPolicy,
};
use teamline_sim::microsoft::{
    ConsentState, MicrosoftSim, RunningSim, SimConfig, TenantControl, UserPatch, demo,
};
use url::Url;

const CALLBACK: &str = "https://teamline.example/auth/microsoft/callback";
const CONSENT: &str = "https://teamline.example/auth/microsoft/consent";

pub(crate) struct Env {
    pub(crate) sim: MicrosoftSim,
    pub(crate) run: RunningSim,
    pub(crate) ca: String,
    pub(crate) ms: MicrosoftClient,
    pub(crate) contoso: TenantControl,
    pub(crate) fabrikam: TenantControl,
    _dir: tempfile::TempDir,
}

pub(crate) fn config(run: &RunningSim, ca: &str, secret: &str) -> MicrosoftConfig {
    let mut c = MicrosoftConfig::new(
        demo::TEAMLINE_APP_CLIENT_ID,
        SecretString::from(secret.to_owned()),
        Url::parse(CALLBACK).unwrap(),
    )
    .with_single_base(Url::parse(run.base_url()).unwrap());
    c.consent_redirect_uri = Some(Url::parse(CONSENT).unwrap());
    c.extra_root_ca_pem = Some(ca.to_owned());
    c.retry = RetryPolicy {
        max_attempts: 4,
        max_total_wait: Duration::from_secs(15),
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(100),
    };
    c.operation_polling = PollPolicy {
        initial_interval: Duration::from_millis(10),
        max_interval: Duration::from_millis(50),
        max_total: Duration::from_secs(15),
    };
    c
}

pub(crate) async fn start() -> Env {
    let sim = MicrosoftSim::new(SimConfig::default()).unwrap();
    let contoso = sim.seed_contoso();
    let fabrikam = sim.seed_fabrikam();
    let dir = tempfile::tempdir().unwrap();
    let run = sim
        .spawn_https("127.0.0.1:0".parse().unwrap(), dir.path())
        .await
        .unwrap();
    let ca = std::fs::read_to_string(run.ca_pem_path().unwrap()).unwrap();
    let ms = MicrosoftClient::new(config(&run, &ca, demo::TEAMLINE_APP_CLIENT_SECRET)).unwrap();
    Env {
        sim,
        run,
        ca,
        ms,
        contoso,
        fabrikam,
        _dir: dir,
    }
}

impl Env {
    /// A browser: follows nothing by itself, trusts the simulator's CA.
    fn browser(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .tls_certs_merge(vec![
                reqwest::Certificate::from_pem(self.ca.as_bytes()).unwrap(),
            ])
            .build()
            .unwrap()
    }

    pub(crate) fn user_ref(&self, tenant: &TenantControl, upn: &str) -> UserRef {
        UserRef::new(tenant.user_id(upn).unwrap(), upn)
    }

    /// Plays the admin in the browser from `start_url` until Microsoft redirects back to
    /// Teamline; returns the callback's query string.
    async fn browse(
        &self,
        start_url: &Url,
        tenant_segment: &str,
        upn: &str,
        password: &str,
    ) -> String {
        let browser = self.browser();
        let page = browser
            .get(start_url.as_str())
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let flow = form_field(&page, "flow");
        let mut resp = browser
            .post(format!("{}/{tenant_segment}/login", self.run.base_url()))
            .form(&[
                ("flow", flow.as_str()),
                ("loginfmt", upn),
                ("passwd", password),
            ])
            .send()
            .await
            .unwrap();
        if resp.status() == 200 {
            // A consent screen: accept for the organisation.
            let html = resp.text().await.unwrap();
            assert!(html.contains("Permissions requested"), "{html}");
            let flow = form_field(&html, "flow");
            resp = browser
                .post(format!("{}/{tenant_segment}/consent", self.run.base_url()))
                .form(&[
                    ("flow", flow.as_str()),
                    ("decision", "accept"),
                    ("consent_org", "true"),
                ])
                .send()
                .await
                .unwrap();
        }
        assert!(
            resp.status().is_redirection(),
            "expected a redirect, got {}",
            resp.status()
        );
        let location = Url::parse(resp.headers()["location"].to_str().unwrap()).unwrap();
        location.query().unwrap_or("").to_owned()
    }

    pub(crate) async fn sign_in(
        &self,
        upn: &str,
        password: &str,
    ) -> Result<SignedInAdmin, MicrosoftError> {
        let start = self.ms.sign_in().start(Some(upn));
        let query = self
            .browse(&start.authorize_url, "organizations", upn, password)
            .await;
        self.ms.sign_in().finish(&start.pending, &query).await
    }
}

fn form_field(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no field {name} in {html}"))
        + marker.len();
    let end = html[start..].find('"').unwrap() + start;
    html[start..end].to_owned()
}

#[tokio::test]
async fn admins_sign_in_and_their_roles_are_read_from_the_token() {
    let env = start().await;
    let admin = env
        .sign_in(demo::CONTOSO_ADMIN_UPN, demo::ADMIN_PASSWORD)
        .await
        .unwrap();
    assert_eq!(admin.tenant_id, demo::CONTOSO_TENANT_ID);
    assert_eq!(admin.username.as_deref(), Some(demo::CONTOSO_ADMIN_UPN));
    assert!(admin.is_global_admin);

    let teams_admin = env
        .sign_in(demo::CONTOSO_TEAMS_ADMIN_UPN, demo::USER_PASSWORD)
        .await
        .unwrap();
    assert!(teams_admin.is_teams_admin && !teams_admin.is_global_admin);

    let user = env
        .sign_in(demo::CONTOSO_NON_ADMIN_UPN, demo::USER_PASSWORD)
        .await
        .unwrap();
    assert!(!user.is_global_admin && !user.is_teams_admin);
}

#[tokio::test]
async fn fabrikam_grants_admin_consent_then_its_directory_is_readable() {
    let env = start().await;
    let fabrikam = env.ms.tenant(demo::FABRIKAM_TENANT_ID);
    let before = fabrikam
        .users(UserFilter::All)
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert!(before.needs_consent(), "{before:?}");

    let url = env
        .ms
        .sign_in()
        .admin_consent_url(demo::FABRIKAM_TENANT_ID, "consent-state-1");
    let query = env
        .browse(
            &url,
            demo::FABRIKAM_TENANT_ID,
            demo::FABRIKAM_ADMIN_UPN,
            demo::ADMIN_PASSWORD,
        )
        .await;
    let granted = env
        .ms
        .sign_in()
        .finish_admin_consent("consent-state-1", &query)
        .unwrap();
    assert_eq!(granted.tenant_id, demo::FABRIKAM_TENANT_ID);
    assert!(env.fabrikam.consent_granted());

    let users: Vec<_> = fabrikam.users(UserFilter::All).try_collect().await.unwrap();
    assert!(
        users
            .concat()
            .iter()
            .any(|u| u.user_principal_name == demo::FABRIKAM_ADMIN_UPN)
    );
}

#[tokio::test]
async fn a_wrong_client_secret_is_reported_as_such() {
    let env = start().await;
    let ms = MicrosoftClient::new(config(&env.run, &env.ca, "not-the-secret")).unwrap();
    let err = ms
        .tenant(demo::CONTOSO_TENANT_ID)
        .user(demo::CONTOSO_ADMIN_UPN)
        .await
        .unwrap_err();
    assert!(
        matches!(err, MicrosoftError::InvalidClientSecret { .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn contoso_directory_matches_the_demo_data() {
    let env = start().await;
    let t = env.ms.tenant(demo::CONTOSO_TENANT_ID);

    let members: Vec<_> = t
        .users(UserFilter::EnabledMembers)
        .try_collect::<Vec<_>>()
        .await
        .unwrap()
        .concat();
    let by_upn: HashMap<_, _> = members
        .iter()
        .map(|u| (u.user_principal_name.to_ascii_lowercase(), u))
        .collect();
    assert!(by_upn["adelev@contoso.example"].licences.is_eligible());
    assert!(
        !by_upn["christiec@contoso.example"].licences.is_eligible(),
        "Christie has no Teams Phone"
    );
    assert!(
        !by_upn.contains_key("enricoc@contoso.example"),
        "Enrico's account is disabled"
    );

    let sync = t
        .groups(Some(demo::SYNC_GROUP))
        .try_collect::<Vec<_>>()
        .await
        .unwrap()
        .concat();
    let sync = sync
        .iter()
        .find(|g| g.display_name == demo::SYNC_GROUP)
        .unwrap();
    let in_sync: Vec<String> = t
        .group_members(&sync.id)
        .try_collect::<Vec<_>>()
        .await
        .unwrap()
        .concat()
        .into_iter()
        .map(|u| u.user_principal_name.to_ascii_lowercase())
        .collect();
    assert!(in_sync.contains(&"meganb@contoso.example".to_owned()));
    assert!(in_sync.contains(&"christiec@contoso.example".to_owned()));
    assert!(
        !in_sync.contains(&"irvins@contoso.example".to_owned()),
        "Irvin is in no sync group"
    );

    let adele = t.user("AdeleV@contoso.example").await.unwrap().unwrap();
    let groups: Vec<_> = t
        .user_groups(&adele.id)
        .await
        .unwrap()
        .into_iter()
        .map(|g| g.display_name)
        .collect();
    assert!(groups.contains(&demo::SYNC_GROUP.to_owned()), "{groups:?}");

    let found = t.search_users("Adele", 10).await.unwrap();
    assert_eq!(found.len(), 1);
    let guest = t.user(demo::GUEST_UPN).await.unwrap().unwrap();
    assert_eq!(
        guest.user_type,
        teamline_microsoft::directory::UserType::Guest
    );
    assert!(t.user("nobody@contoso.example").await.unwrap().is_none());

    let ids = vec![
        adele.id.clone(),
        "00000000-0000-0000-0000-000000000000".to_owned(),
    ];
    let batch = t.users_by_id(&ids).await;
    assert_eq!(
        batch[0]
            .result
            .as_ref()
            .unwrap()
            .as_ref()
            .unwrap()
            .user_principal_name,
        adele.user_principal_name
    );
    assert!(batch[1].result.as_ref().unwrap().is_none());
}

#[tokio::test]
async fn delta_rounds_track_changes_and_expire() {
    let env = start().await;
    let t = env.ms.tenant(demo::CONTOSO_TENANT_ID);
    let first: Vec<_> = t
        .users_delta(DeltaStart::Initial)
        .try_collect()
        .await
        .unwrap();
    assert!(first.iter().map(|p| p.changes.len()).sum::<usize>() >= 20);
    let link = first.last().unwrap().delta_link.clone().unwrap();

    env.contoso
        .update_user(
            "AdeleV@contoso.example",
            UserPatch {
                account_enabled: Some(false),
                ..UserPatch::default()
            },
        )
        .unwrap();
    let next: Vec<_> = t
        .users_delta(DeltaStart::Resume(link.clone()))
        .try_collect()
        .await
        .unwrap();
    let adele_id = env.contoso.user_id("AdeleV@contoso.example").unwrap();
    let change = next.iter().flat_map(|p| &p.changes).find_map(|c| match c {
        UserChange::Upserted(u) if u.id == adele_id => Some(u.clone()),
        _ => None,
    });
    assert_eq!(change.unwrap().account_enabled, Some(false));

    env.contoso.expire_delta_tokens();
    let err = t
        .users_delta(DeltaStart::Resume(link))
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert!(
        matches!(err, MicrosoftError::DeltaExpired { .. }),
        "{err:?}"
    );

    let sync_id = env.contoso.group_id(demo::SYNC_GROUP).unwrap();
    let groups: Vec<_> = t
        .groups_delta(DeltaStart::Initial, std::slice::from_ref(&sync_id))
        .try_collect()
        .await
        .unwrap();
    let g = groups
        .iter()
        .flat_map(|p| &p.changes)
        .find(|g| g.id == sync_id)
        .unwrap();
    assert!(!g.members_added.is_empty());
}

#[tokio::test]
async fn twenty_thousand_group_members_arrive_page_by_page() {
    let env = start().await;
    let big = env.sim.seed_generated("bigcorp", 20_000, 20_000);
    let t = env.ms.tenant(&big.id());
    let sync_id = big.group_id(demo::SYNC_GROUP).unwrap();
    let mut pages = t.group_members(&sync_id);
    let (mut total, mut count) = (0, 0);
    while let Some(page) = pages.try_next().await.unwrap() {
        assert!(page.len() <= 999);
        total += page.len();
        count += 1;
    }
    assert_eq!(total, 20_000);
    assert_eq!(count, 21);
}

#[tokio::test]
async fn throttling_and_outages_of_the_simulator_are_ridden_out() {
    let env = start().await;
    let t = env.ms.tenant(demo::CONTOSO_TENANT_ID);
    env.contoso.inject_errors(503, 2, None);
    assert!(t.user(demo::CONTOSO_ADMIN_UPN).await.unwrap().is_some());
    env.contoso.inject_errors(429, 1, Some(1));
    assert!(t.user(demo::CONTOSO_ADMIN_UPN).await.unwrap().is_some());
    env.contoso.inject_errors(429, 5, Some(120));
    let err = t.user(demo::CONTOSO_ADMIN_UPN).await.unwrap_err();
    assert!(
        matches!(err, MicrosoftError::Throttled { retry_after, .. } if retry_after == Duration::from_secs(120)),
        "{err:?}"
    );
}

#[tokio::test]
async fn enable_and_disable_calling_for_a_pbx_user() {
    let env = start().await;
    let t = env.ms.tenant(demo::CONTOSO_TENANT_ID);
    let adele = env.user_ref(&env.contoso, "AdeleV@contoso.example");
    env.contoso.set_operation_running_polls(2);

    assert_eq!(
        t.assign_number(&adele, "+11000").await.unwrap(),
        NumberChange::Applied
    );
    let state = env.contoso.teams_state(&adele.upn).unwrap();
    assert!(state.enterprise_voice_enabled);
    assert_eq!(state.numbers, vec!["+11000".to_owned()]);
    t.assign_number(&adele, "+11000").await.unwrap();

    let route = demo::CONTOSO_VOICE_ROUTES[0];
    t.grant_policy(&adele, PolicyType::OnlineVoiceRoutingPolicy, Some(route))
        .await
        .unwrap();
    env.contoso.flush_propagation();
    let config = t.user_voice_config(&adele).await.unwrap();
    assert!(config.enterprise_voice_enabled);
    assert_eq!(config.primary_number(), Some("+11000"));
    assert_eq!(
        config
            .policy(PolicyType::OnlineVoiceRoutingPolicy)
            .unwrap()
            .plain_name(),
        route
    );

    let alex = env.user_ref(&env.contoso, "AlexW@contoso.example");
    let taken = t.assign_number(&alex, "+11000").await.unwrap_err();
    assert_eq!(
        taken.to_string(),
        "the number +11000 is already assigned to AdeleV@contoso.example"
    );

    let christie = env.user_ref(&env.contoso, "ChristieC@contoso.example");
    let unlicensed = t.assign_number(&christie, "+11012").await.unwrap_err();
    assert!(
        matches!(unlicensed, MicrosoftError::NoTeamsPhoneLicence { ref user } if user == "ChristieC@contoso.example"),
        "{unlicensed:?}"
    );

    let missing = t
        .grant_policy(
            &adele,
            PolicyType::CallingLineIdentity,
            Some("No Such Policy"),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(missing, MicrosoftError::PolicyNotFound { .. }),
        "{missing:?}"
    );

    // Disable: number off (enterprise voice off), policy back to Global; twice is harmless.
    assert_eq!(
        t.unassign_number(&adele, "+11000").await.unwrap(),
        NumberChange::Applied
    );
    assert_eq!(
        t.unassign_number(&adele, "+11000").await.unwrap(),
        NumberChange::AlreadyInPlace
    );
    t.grant_policy(&adele, PolicyType::OnlineVoiceRoutingPolicy, None)
        .await
        .unwrap();
    env.contoso.flush_propagation();
    let state = env.contoso.teams_state(&adele.upn).unwrap();
    assert!(!state.enterprise_voice_enabled);
    assert!(state.numbers.is_empty());
    assert!(
        !state
            .effective_policies
            .contains_key("OnlineVoiceRoutingPolicy"),
        "{state:?}"
    );
}

#[tokio::test]
async fn an_accepted_assignment_is_followed_to_its_end_by_another_client_without_sending_it_again()
{
    let env = start().await;
    env.contoso.set_operation_running_polls(2);
    let adele = env.user_ref(&env.contoso, "AdeleV@contoso.example");
    let first = env.ms.tenant(demo::CONTOSO_TENANT_ID);
    let NumberRequest::Accepted(operation) = first
        .request_number_assignment(&adele, "+11000")
        .await
        .unwrap()
    else {
        panic!("a slow assignment is accepted with an operation to follow");
    };
    // Another process (a restart) follows the same operation from its address alone.
    let restarted =
        MicrosoftClient::new(config(&env.run, &env.ca, demo::TEAMLINE_APP_CLIENT_SECRET)).unwrap();
    let second = restarted.tenant(demo::CONTOSO_TENANT_ID);
    assert_eq!(
        second
            .finish_number_assignment(&adele, "+11000", &operation)
            .await
            .unwrap(),
        NumberChange::Applied
    );
    let state = env.contoso.teams_state(&adele.upn).unwrap();
    assert!(state.enterprise_voice_enabled);
    assert_eq!(state.numbers, vec!["+11000".to_owned()]);
    assert_eq!(
        env.contoso.number_assignment_counts().get(&adele.id),
        Some(&1),
        "the assignment was sent once"
    );
}

#[tokio::test]
async fn a_failed_number_operation_surfaces_its_status_detail() {
    let env = start().await;
    let t = env.ms.tenant(demo::CONTOSO_TENANT_ID);
    env.contoso
        .set_operation_failure(Some("Number provisioning failed in the telephony backend."));
    let megan = env.user_ref(&env.contoso, "MeganB@contoso.example");
    let err = t.assign_number(&megan, "+11011").await.unwrap_err();
    assert!(
        matches!(err, MicrosoftError::NumberOperationFailed { ref detail, .. } if detail.contains("telephony backend")),
        "{err:?}"
    );
}

#[tokio::test]
async fn direct_routing_setup_is_idempotent() {
    let env = start().await;
    let t = env.ms.tenant(demo::CONTOSO_TENANT_ID);
    assert_eq!(
        t.ensure_pstn_usage("US Central").await.unwrap(),
        SetupChange::Created
    );
    assert_eq!(
        t.ensure_pstn_usage("US Central").await.unwrap(),
        SetupChange::Unchanged
    );

    let gateway = demo::CONTOSO_GATEWAYS[0];
    let route = VoiceRouteSpec {
        name: "US Central".into(),
        number_pattern: r"^\+?\d+$".into(),
        gateways: vec![gateway.into()],
        pstn_usages: vec!["US Central".into()],
        priority: 1,
        description: None,
    };
    assert_eq!(
        t.ensure_voice_route(&route).await.unwrap(),
        SetupChange::Created
    );
    assert_eq!(
        t.ensure_voice_route(&route).await.unwrap(),
        SetupChange::Unchanged
    );
    let policy = VoiceRoutingPolicySpec {
        name: "US Central".into(),
        pstn_usages: vec!["US Central".into()],
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

    let plan = DialPlanSpec {
        name: "Teamline Central".into(),
        description: None,
        normalization_rules: vec![NormalizationRule::pass_short_strings("Extensions")],
    };
    assert_eq!(
        t.ensure_dial_plan(&plan).await.unwrap(),
        SetupChange::Created
    );
    assert_eq!(
        t.ensure_dial_plan(&plan).await.unwrap(),
        SetupChange::Unchanged
    );
    let calling = CallingPolicySpec {
        name: demo::NO_VOICEMAIL_CALLING_POLICY.into(),
        voicemail: VoicemailMode::AlwaysDisabled,
    };
    assert_ne!(
        t.ensure_calling_policy(&calling).await.unwrap(),
        SetupChange::Created,
        "seeded by the demo"
    );

    // The policy just created can be granted through Graph.
    let adele = env.user_ref(&env.contoso, "AdeleV@contoso.example");
    t.grant_policy(
        &adele,
        PolicyType::OnlineVoiceRoutingPolicy,
        Some("US Central"),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn without_the_teams_administrator_role_setup_explains_the_fix() {
    let env = start().await;
    env.contoso.set_consent(ConsentState {
        granted: true,
        service_principal_roles: Some(vec![]),
        ..ConsentState::default()
    });
    let err = env
        .ms
        .tenant(demo::CONTOSO_TENANT_ID)
        .ensure_pstn_usage("US Central")
        .await
        .unwrap_err();
    assert!(
        matches!(err, MicrosoftError::TeamsAdminRoleMissing { .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn the_direct_routing_subdomain_is_added_and_verified_once_dns_is_published() {
    let env = start().await;
    env.contoso
        .update_faults(|f| f.require_dns_for_domain_verification = true);
    let t = env.ms.tenant(demo::CONTOSO_TENANT_ID);
    let name = "cust0042.sbc.example.net";
    assert!(!t.add_domain(name).await.unwrap().is_verified);
    let records = t.domain_verification_records(name).await.unwrap();
    assert!(
        records
            .iter()
            .any(|r| r.record_type.eq_ignore_ascii_case("Txt")
                && r.text.as_deref().is_some_and(|s| s.starts_with("MS="))),
        "{records:?}"
    );
    let err = t.verify_domain(name).await.unwrap_err();
    assert!(
        matches!(err, MicrosoftError::DomainNotVerified { .. }),
        "{err:?}"
    );
    env.contoso.publish_dns(name).unwrap();
    assert!(t.verify_domain(name).await.unwrap().is_verified);
    assert!(t.domain(name).await.unwrap().unwrap().is_verified);
}
