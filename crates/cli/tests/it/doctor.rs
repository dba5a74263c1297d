//! `teamline doctor` (the real binary) against the demo's simulators: every check passes in
//! their default mode, and in each alternative mode Teamline still works and the report names
//! the behaviour it found.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Output;
use teamline::commands::demo::{DemoArgs, DemoStack};
use teamline_sim::microsoft::{ConfigCreate, PolicyIdLookup, ReassignHeldNumber, demo as ms};
use teamline_sim::netsapiens::CONTOSO_DOMAIN;

const TEST_USER: &str = "LeeG@contoso.example";

struct Demo {
    stack: DemoStack,
    data: PathBuf,
    _dir: tempfile::TempDir,
}

async fn demo() -> Demo {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("demo");
    let stack = DemoStack::start(&DemoArgs {
        data_dir: data.clone(),
        listen: "127.0.0.1:0".parse().unwrap(),
        fresh: false,
    })
    .await
    .unwrap();
    Demo {
        stack,
        data,
        _dir: dir,
    }
}

fn doctor(data: &Path, sim: &str, extra: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_teamline"))
        .arg("doctor")
        .arg("--data-dir")
        .arg(data)
        .args(["--enterprise", "contoso"])
        .args(["--microsoft-client-id", ms::TEAMLINE_APP_CLIENT_ID])
        .args(["--microsoft-login-url", sim])
        .args(["--microsoft-graph-url", sim])
        .args(["--microsoft-teams-admin-url", sim])
        .args(extra)
        .env(
            "TEAMLINE_MICROSOFT_CLIENT_SECRET",
            ms::TEAMLINE_APP_CLIENT_SECRET,
        )
        .env("TEAMLINE_LOG", "warn")
        // The demo's simulated PBX is on http://127.0.0.1.
        .env("TEAMLINE_PBX_ALLOW_HTTP", "true")
        .env("TEAMLINE_PBX_ALLOW_PRIVATE_NETWORK", "true")
        .output()
        .unwrap()
}

/// `doctor --json` with the write test on Lee Gu; the report, asserting the exit code says
/// every check passed (or only warned).
fn report(d: &Demo, extension: &str) -> Vec<Value> {
    let out = doctor(
        &d.data,
        &d.stack.microsoft.url,
        &[
            "--json",
            "--write-test",
            TEST_USER,
            "--extension",
            extension,
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "doctor failed: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(json["ok"], true);
    json["checks"].as_array().unwrap().clone()
}

fn check<'a>(checks: &'a [Value], id: &str) -> &'a Value {
    checks
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no check {id} in {checks:#?}"))
}

fn found(checks: &[Value], id: &str) -> String {
    check(checks, id)["found"].as_str().unwrap().to_owned()
}

/// Signs in to the portal the way a browser does (cookies by hand), through the simulated
/// Microsoft sign-in page; the portal records how it learnt the roles.
async fn sign_in(d: &Demo, upn: &str, password: &str) {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let start = http
        .get(format!("{}/auth/microsoft/start", d.stack.url))
        .send()
        .await
        .unwrap();
    let cookie = start.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let authorize = start.headers()["location"].to_str().unwrap().to_owned();
    let page = http
        .get(&authorize)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let marker = "name=\"flow\" value=\"";
    let at = page.find(marker).unwrap() + marker.len();
    let flow = &page[at..at + page[at..].find('"').unwrap()];
    let back = http
        .post(format!("{}/organizations/login", d.stack.microsoft.url))
        .form(&[("flow", flow), ("loginfmt", upn), ("passwd", password)])
        .send()
        .await
        .unwrap();
    let callback = back.headers()["location"].to_str().unwrap().to_owned();
    let done = http
        .get(&callback)
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(
        done.headers()["location"].to_str().unwrap(),
        "/dashboard",
        "signed in"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_check_passes_against_the_demo_simulators() {
    let d = demo().await;
    // The table, read-only: exit 0.
    let out = doctor(&d.data, &d.stack.microsoft.url, &[]);
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{table}");
    assert!(table.contains("RESULT"), "{table}");
    assert!(table.contains("0 failed"), "{table}");

    sign_in(&d, ms::CONTOSO_ADMIN_UPN, ms::ADMIN_PASSWORD).await;
    let checks = report(&d, "1008");
    let not_passed: Vec<&Value> = checks.iter().filter(|c| c["outcome"] != "pass").collect();
    assert!(not_passed.is_empty(), "{not_passed:#?}");
    assert!(found(&checks, "signin.roles").contains("wids claim"));
    assert!(found(&checks, "pbx.api_key").contains("may write"));
    // The test user is back as before.
    let lee = d.stack.contoso_tenant.teams_state(TEST_USER).unwrap();
    assert!(
        lee.numbers.is_empty() && lee.effective_policies.is_empty(),
        "{lee:?}"
    );
    d.stack.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_alternative_behaviour_is_named_and_teamline_still_works() {
    let d = demo().await;
    let tenant = &d.stack.contoso_tenant;

    // 1. No wids in ID tokens: the roles came from Microsoft Graph.
    tenant.update_behaviour(|b| b.id_token_wids = false);
    sign_in(&d, ms::CONTOSO_ADMIN_UPN, ms::ADMIN_PASSWORD).await;
    let checks = report(&d, "1008");
    assert!(
        found(&checks, "signin.roles").contains("no wids claim"),
        "{checks:#?}"
    );
    tenant.update_behaviour(|b| b.id_token_wids = true);

    // 2. Graph refuses the voice policy types: granted through the Teams admin REST surface.
    tenant.update_behaviour(|b| b.graph_voice_policies = false);
    let checks = report(&d, "1008");
    assert!(found(&checks, "policy.OnlineVoiceRoutingPolicy").contains("Graph refuses"));
    assert!(found(&checks, "write.policy.TenantDialPlan").contains("Teams admin REST surface"));
    tenant.update_behaviour(|b| b.graph_voice_policies = true);

    // 3. Teams admin objects are created with PUT.
    tenant.update_behaviour(|b| b.config_create = ConfigCreate::Put);
    let checks = report(&d, "1008");
    assert!(found(&checks, "write.create_form").contains("refused POST"));
    tenant.update_behaviour(|b| b.config_create = ConfigCreate::Post);

    // 4. The test user holds a number with enterprise voice off, and re-assigning it is
    //    answered "already assigned".
    tenant.update_behaviour(|b| b.reassign_held_number = ReassignHeldNumber::AlreadyAssigned);
    let lee =
        teamline_microsoft::voice::UserRef::new(tenant.user_id(TEST_USER).unwrap(), TEST_USER);
    let ms_client = teamline_testkit::microsoft_client(&d.stack.microsoft.url, &d.stack.url, 4)
        .unwrap()
        .tenant(ms::CONTOSO_TENANT_ID);
    ms_client.assign_number(&lee, "+11008").await.unwrap();
    tenant.set_enterprise_voice(TEST_USER, false).unwrap();
    let checks = report(&d, "1008");
    assert!(found(&checks, "write.number").contains("enterprise voice off before"));

    // 5. getPolicyId answers every policy of the type.
    tenant.update_behaviour(|b| b.policy_id_lookup = PolicyIdLookup::AllOfType);
    let checks = report(&d, "1008");
    assert!(found(&checks, "policy.OnlineVoiceRoutingPolicy").contains("among"));

    // The PBX answers an empty device list with 404.
    let pbx = d.stack.pbx.sim();
    assert!(pbx.add_extension(CONTOSO_DOMAIN, "1020", "New", "Hire"));
    assert!(pbx.set_empty_device_list_404(CONTOSO_DOMAIN, true));
    let checks = report(&d, "1020");
    assert!(found(&checks, "pbx.devices").contains("404"));
    d.stack.stop().await.unwrap();
}
