//! Teamline's Direct Routing set-up of a newly registered enterprise (Fabrikam, two SBC
//! regions) against the simulated Microsoft cloud, whose domain verification asks a real Knot
//! DNS server where Teamline publishes the TXT records by RFC 2136 with TSIG.

use crate::support::{eventually, settings};
use secrecy::SecretString;
use std::sync::Arc;
use std::time::Duration;
use teamline_dns::testing::{Knot, KnotConfig, TestTsigKey};
use teamline_dns::{Rfc2136Publisher, Rfc2136Settings, TsigKey};
use teamline_domain::audit::{Actor, Audit};
use teamline_domain::direct_routing::{SetupStep, StepState};
use teamline_domain::enterprise::{EnterpriseState, TenantId};
use teamline_domain::voice_route::VoiceRouteState;
use teamline_sim::microsoft::control::ConsentState;
use teamline_sim::microsoft::{SimConfig, demo as ms};
use teamline_testkit::{FirstSync, TestApp, Workers};

const ZONE: &str = "sbc.example.net";

struct Dns {
    knot: Knot,
    key: TestTsigKey,
    _dir: tempfile::TempDir,
}

async fn knot() -> Dns {
    let dir = tempfile::tempdir().unwrap();
    let key = TestTsigKey::generate("teamline.");
    let knot = KnotConfig::new(ZONE)
        .update_key(key.clone())
        .start(dir.path())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    Dns {
        knot,
        key,
        _dir: dir,
    }
}

/// The demo with Fabrikam registered (its admin consented in the simulated tenant), the
/// simulator verifying domains against `dns`, Teamline publishing there, and a job runner.
async fn registered_fabrikam(dns: &Dns, recheck: Duration) -> (TestApp, Workers) {
    let app = TestApp::builder()
        .settings(teamline_engine::EngineSettings {
            direct_routing_recheck: recheck,
            ..settings()
        })
        .first_sync(FirstSync::Skipped)
        .microsoft_config(SimConfig {
            dns_nameserver: Some(dns.knot.addr),
            ..SimConfig::default()
        })
        .spawn()
        .await
        .unwrap();
    let publisher = Rfc2136Publisher::new(&Rfc2136Settings::new(
        dns.knot.server(),
        ZONE,
        TsigKey::hmac_sha256(
            &dns.key.name,
            SecretString::from(dns.key.secret_base64.clone()),
        ),
    ))
    .unwrap();
    assert!(app.engine.set_dns_publisher(Arc::new(publisher)));
    app.microsoft
        .sim
        .tenant(ms::FABRIKAM_TENANT_ID)
        .unwrap()
        .set_consent(ConsentState {
            granted: true,
            graph_roles: None,
            teams_admin: None,
            service_principal_roles: None,
        });
    let audit = Audit::new(Actor::System("test".into()), "enterprise.register", "test");
    app.store
        .register_enterprise(
            app.fabrikam().id,
            &TenantId::parse(ms::FABRIKAM_TENANT_ID).unwrap(),
            &audit,
        )
        .await
        .unwrap();
    let workers = Workers::new().runner(&app.engine, "dr-tests");
    (app, workers)
}

async fn all_done(app: &TestApp) -> bool {
    let setups = app
        .engine
        .direct_routing_setups(app.fabrikam().id)
        .await
        .unwrap();
    setups.len() == 2 && setups.iter().all(|(_, s)| s.is_complete())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn direct_routing_is_set_up_per_region_with_the_txt_record_published_by_rfc_2136() {
    let dns = knot().await;
    let (app, workers) = registered_fabrikam(&dns, Duration::from_millis(300)).await;
    let e = app.fabrikam().id;
    let actor = Actor::System("test".into());
    let started = std::time::Instant::now();
    app.engine.set_up_direct_routing(e, &actor).await.unwrap();
    eventually("both regions are set up", || all_done(&app)).await;
    println!(
        "Direct Routing set-up of two regions took {:?}",
        started.elapsed()
    );

    // The verification record is in the real DNS zone, where Microsoft found it.
    let txt = dns.knot.txt("fabrikam.useast2.sbc.example.net").unwrap();
    assert_eq!(txt.len(), 1, "{txt:?}");
    assert!(txt[0].contains("MS="), "{txt:?}");
    let setups = app.engine.direct_routing_setups(e).await.unwrap();
    let (region, setup) = &setups[0];
    assert_eq!(region.name.as_str(), "US East 2");
    let labels: Vec<_> = setup.steps.iter().map(|s| s.step).collect();
    assert_eq!(labels, SetupStep::ALL);
    let verify = setup
        .steps
        .iter()
        .find(|s| s.step == SetupStep::VerifyDomain)
        .unwrap();
    assert_eq!(verify.state, StepState::Done);
    // A spare E5 licence was found and given to the activation user in the subdomain.
    let detail = |step: SetupStep| {
        setup
            .steps
            .iter()
            .find(|s| s.step == step)
            .and_then(|s| s.detail.clone())
            .unwrap_or_default()
    };
    assert!(
        detail(SetupStep::LicenceCheck).starts_with("ENTERPRISEPREMIUM:"),
        "{setup:?}"
    );
    assert_eq!(
        detail(SetupStep::ActivationUser),
        "teamline-activation@fabrikam.useast2.sbc.example.net with a ENTERPRISEPREMIUM licence: created"
    );
    let sim_tenant = app.microsoft.sim.tenant(ms::FABRIKAM_TENANT_ID).unwrap();
    for region in ["useast2", "uswest"] {
        let upn = format!("teamline-activation@fabrikam.{region}.sbc.example.net");
        assert!(sim_tenant.user_id(&upn).is_some(), "{upn}");
        // Fabrikam's organization is in Great Britain: so is its activation users' licence.
        assert_eq!(
            sim_tenant.user_usage_location(&upn).as_deref(),
            Some(ms::FABRIKAM_COUNTRY),
            "{upn}"
        );
    }

    // Sync Voice Routes: both regions selectable, the enterprise Direct Routing ready.
    let routes = app.store.list_voice_routes(e).await.unwrap();
    let names: Vec<_> = routes.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["US East 2", "US West"]);
    assert!(
        routes
            .iter()
            .all(|r| r.state == VoiceRouteState::Provisioned)
    );
    let fabrikam = app.store.get_enterprise(e).await.unwrap();
    assert_eq!(fabrikam.state, EnterpriseState::DirectRoutingReady);

    // Again: every step finds its object already there and changes nothing.
    let writes_before = app
        .microsoft
        .sim
        .tenant(ms::FABRIKAM_TENANT_ID)
        .unwrap()
        .request_stats()
        .accepted_writes;
    app.engine.set_up_direct_routing(e, &actor).await.unwrap();
    eventually("the second run is done", || all_done(&app)).await;
    let setups = app.engine.direct_routing_setups(e).await.unwrap();
    let route = setups[0]
        .1
        .steps
        .iter()
        .find(|s| s.step == SetupStep::VoiceRoute)
        .unwrap();
    assert_eq!(route.detail.as_deref(), Some("US East 2 already set up"));
    let writes_after = app
        .microsoft
        .sim
        .tenant(ms::FABRIKAM_TENANT_ID)
        .unwrap()
        .request_stats()
        .accepted_writes;
    assert_eq!(
        writes_after, writes_before,
        "a repeated set-up changes nothing"
    );
    drop(workers);
    app.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verification_waits_for_microsoft_and_resumes_by_itself() {
    let dns = knot().await;
    let (app, workers) = registered_fabrikam(&dns, Duration::from_millis(300)).await;
    app.microsoft
        .sim
        .tenant(ms::FABRIKAM_TENANT_ID)
        .unwrap()
        .update_faults(|f| f.domain_verification_delay_ms = 2_000);
    let e = app.fabrikam().id;
    app.engine
        .set_up_direct_routing(e, &Actor::System("test".into()))
        .await
        .unwrap();
    eventually("verification is waited on", || async {
        app.engine
            .direct_routing_setups(e)
            .await
            .unwrap()
            .iter()
            .flat_map(|(_, s)| &s.steps)
            .any(|s| {
                s.step == SetupStep::VerifyDomain
                    && s.state == StepState::Waiting
                    && s.detail.as_deref().is_some_and(|d| {
                        d.contains("Teamline checks again")
                            && d.contains("Domain verification failed because the required DNS record was not found")
                    })
            })
    })
    .await;
    eventually("the set-up resumed and finished", || all_done(&app)).await;
    drop(workers);
    app.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_update_shows_the_dns_servers_answer_and_stops_before_verifying() {
    let dns = knot().await;
    let (app, workers) = registered_fabrikam(&dns, Duration::from_millis(300)).await;
    // Teamline holds a key the server does not know.
    let wrong = TestTsigKey::generate("stranger.");
    let app_engine =
        teamline_testkit::engine_for(app.store.clone(), &app.microsoft.url, settings(), 4).unwrap();
    let publisher = Rfc2136Publisher::new(&Rfc2136Settings::new(
        dns.knot.server(),
        ZONE,
        TsigKey::hmac_sha256(&wrong.name, SecretString::from(wrong.secret_base64.clone())),
    ))
    .unwrap();
    app_engine.set_dns_publisher(Arc::new(publisher));
    drop(workers);
    let workers = Workers::new().runner(&app_engine, "dr-wrong-key");
    let e = app.fabrikam().id;
    app_engine
        .set_up_direct_routing(e, &Actor::System("test".into()))
        .await
        .unwrap();
    eventually(
        "the publish step failed with the server's answer",
        || async {
            app_engine
                .direct_routing_setups(e)
                .await
                .unwrap()
                .iter()
                .flat_map(|(_, s)| &s.steps)
                .any(|s| {
                    s.step == SetupStep::PublishTxt
                        && s.state == StepState::Failed
                        && s.detail.as_deref().is_some_and(|d| d.contains("stranger"))
                })
        },
    )
    .await;
    let setups = app_engine.direct_routing_setups(e).await.unwrap();
    let verify = setups[0]
        .1
        .steps
        .iter()
        .find(|s| s.step == SetupStep::VerifyDomain)
        .unwrap();
    assert_eq!(verify.state, StepState::Pending);
    assert!(app.store.list_voice_routes(e).await.unwrap().is_empty());
    drop(workers);
    app.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_spare_licence_the_licence_check_says_so_with_the_fix_and_a_rerun_completes() {
    let dns = knot().await;
    let (app, workers) = registered_fabrikam(&dns, Duration::from_millis(300)).await;
    let tenant = app.microsoft.sim.tenant(ms::FABRIKAM_TENANT_ID).unwrap();
    // Every E5 licence is assigned.
    tenant.set_spare_licences(E5, 0);
    let e = app.fabrikam().id;
    let actor = Actor::System("test".into());
    app.engine.set_up_direct_routing(e, &actor).await.unwrap();
    eventually("the licence check failed", || async {
        let setups = app.engine.direct_routing_setups(e).await.unwrap();
        setups.len() == 2
            && setups.iter().all(|(_, s)| {
                s.steps
                    .iter()
                    .any(|x| x.step == SetupStep::LicenceCheck && x.state == StepState::Failed)
            })
    })
    .await;
    let setups = app.engine.direct_routing_setups(e).await.unwrap();
    let check = setups[0]
        .1
        .steps
        .iter()
        .find(|s| s.step == SetupStep::LicenceCheck)
        .unwrap();
    let detail = check.detail.clone().unwrap();
    assert!(
        detail.contains("No spare licence with Teams Phone"),
        "{detail}"
    );
    assert!(detail.contains("ENTERPRISEPREMIUM:"), "{detail}");
    assert!(detail.contains("(0 spare)"), "{detail}");
    assert!(
        detail.contains("Fix: in the Microsoft 365 admin center"),
        "{detail}"
    );
    // Nothing else was touched: the subdomain was not even added.
    assert!(!tenant.domains().iter().any(|(d, _)| d.ends_with(ZONE)));

    // Two licences bought: the set-up runs through.
    tenant.set_spare_licences(E5, 2);
    app.engine.set_up_direct_routing(e, &actor).await.unwrap();
    eventually("both regions are set up", || all_done(&app)).await;

    // Run again with no licence left: the activation users keep theirs, nothing fails.
    app.engine.set_up_direct_routing(e, &actor).await.unwrap();
    eventually("the rerun is done", || all_done(&app)).await;
    let setups = app.engine.direct_routing_setups(e).await.unwrap();
    let user = setups[1]
        .1
        .steps
        .iter()
        .find(|s| s.step == SetupStep::ActivationUser)
        .unwrap();
    assert!(
        user.detail
            .as_deref()
            .is_some_and(|d| d.ends_with("already there")),
        "{user:?}"
    );
    drop(workers);
    app.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_without_a_country_fails_the_activation_user_with_the_fix() {
    let dns = knot().await;
    let (app, workers) = registered_fabrikam(&dns, Duration::from_millis(300)).await;
    let tenant = app.microsoft.sim.tenant(ms::FABRIKAM_TENANT_ID).unwrap();
    tenant.set_organization_country(None, None);
    let e = app.fabrikam().id;
    let actor = Actor::System("test".into());
    app.engine.set_up_direct_routing(e, &actor).await.unwrap();
    let failed = |setups: &[(_, teamline_domain::direct_routing::DirectRoutingSetup)]| {
        setups.len() == 2
            && setups.iter().all(|(_, s)| {
                s.steps
                    .iter()
                    .any(|x| x.step == SetupStep::ActivationUser && x.state == StepState::Failed)
            })
    };
    eventually("the activation user step failed", || async {
        failed(&app.engine.direct_routing_setups(e).await.unwrap())
    })
    .await;
    let setups = app.engine.direct_routing_setups(e).await.unwrap();
    let step = setups[0]
        .1
        .steps
        .iter()
        .find(|s| s.step == SetupStep::ActivationUser)
        .unwrap();
    let detail = step.detail.clone().unwrap();
    assert!(detail.contains("\"Fabrikam\" has no country"), "{detail}");
    assert!(
        detail.contains(
            "Fix: in the Microsoft 365 admin center, Settings, Org settings, Organization profile"
        ),
        "{detail}"
    );
    // No user was created without a usage location, and nothing after the step ran.
    assert!(
        tenant
            .user_id("teamline-activation@fabrikam.useast2.sbc.example.net")
            .is_none()
    );
    assert!(
        setups[0]
            .1
            .steps
            .iter()
            .any(|s| s.step == SetupStep::PstnGateway && s.state == StepState::Pending)
    );

    // The admin sets the country: the next run goes through with it.
    tenant.set_organization_country(Some("DE"), None);
    app.engine.set_up_direct_routing(e, &actor).await.unwrap();
    eventually("both regions are set up", || all_done(&app)).await;
    assert_eq!(
        tenant
            .user_usage_location("teamline-activation@fabrikam.useast2.sbc.example.net")
            .as_deref(),
        Some("DE")
    );
    drop(workers);
    app.stop().await.unwrap();
}

/// Office 365 E5's SKU id (the same in every tenant).
const E5: &str = "c7df2760-2c81-4ef7-b578-5b5392b571df";
