//! The SIP plane end to end: the demo stack with the simulated PBX's registrar and the
//! gateway's Kamailio (real processes), driven from the store. Save User registers the
//! handle; a wrong stored password is an authentication failure with an action item, repaired
//! by reading the password from the PBX again, and Troubleshoot explains it; Disable Calling un-registers it; `teamline
//! gateway status --json` prints what the store holds; the gateway's Microsoft side (proxies,
//! certificates) is stored and in `/metrics`; a PBX location moved to another proxy or
//! another SIP domain re-registers its handles there (and the old domain's bindings go).

use std::time::Duration;
use teamline::commands::demo::{DemoArgs, DemoStack};
use teamline::commands::demo_sip::{DemoSip, point_pbx_at};
use teamline_domain::action_item::ActionItem;
use teamline_domain::audit::{Actor, Audit};
use teamline_domain::device::SipPassword;
use teamline_domain::ids::PbxUserId;
use teamline_domain::pbx_user::PbxUserForm;
use teamline_domain::registration::RegistrationStatus;
use teamline_engine::troubleshoot::{CheckStatus, Troubleshooting};
use teamline_gateway::calls::{CallSettings, CallerName, ForwardedCallerId};
use teamline_gateway::config::RpcListener;
use teamline_gateway::registration::RegistrationId;
use teamline_gateway::rpc::RpcClient;
use teamline_sim::microsoft::demo as ms;
use teamline_sim::netsapiens::registrar::Registrar;
use teamline_store::{NewDeviceHandle, RegistrationRecord};

fn admin() -> Actor {
    Actor::EnterpriseAdmin(ms::CONTOSO_ADMIN_UPN.into())
}

/// The demo (in this process) with its SIP side: the gateway's Kamailio and rtpengine and the
/// stand-in PBX registrar, under `dir`.
pub(crate) async fn demo_with_sip(dir: &std::path::Path) -> (DemoStack, DemoSip) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let args = DemoArgs {
        data_dir: dir.join("demo"),
        listen: "127.0.0.1:0".parse().unwrap(),
        fresh: false,
    };
    let stack = DemoStack::start(&args).await.unwrap();
    let sip = DemoSip::start(&stack, &dir.join("sip")).await.unwrap();
    (stack, sip)
}

async fn adele_form(stack: &DemoStack) -> PbxUserForm {
    let e = stack.contoso.id;
    let store = stack.engine.store();
    let location = store.list_pbx_locations(e).await.unwrap()[0].id;
    let route = store.list_voice_routes(e).await.unwrap()[0].id;
    PbxUserForm {
        pbx_location: location.to_string(),
        voice_route: route.to_string(),
        teams_user: ms::contoso_user_id("Adele Vance"),
        sip_user: "1000".into(),
        phone_number: "11000".into(),
        device: "1000tm".into(),
        ..PbxUserForm::new_with_defaults()
    }
}

/// Waits until the store holds `want` for the user; fails with the last record seen.
async fn wait_state(
    stack: &DemoStack,
    user: PbxUserId,
    want: RegistrationStatus,
) -> RegistrationRecord {
    wait_for(stack, user, &format!("{want:?}"), |r| r.state == want).await
}

/// The call records of Adele's handle: a stand-in for the gateway's event stream (Kamailio's
/// evapi: JSON in netstrings, as `calls.cfg` sends them) tells of an answered call and a busy
/// one; the recorder stores both for Contoso, with what happened, and nothing for another
/// enterprise or an unknown registration.
async fn record_calls_of(stack: &DemoStack, registered: &RegistrationRecord) {
    use tokio::io::AsyncWriteExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let rid = registered.registration.clone();
    let feed = tokio::spawn(async move {
        let (mut sock, _) = listener.accept().await.unwrap();
        let base = format!(
            r#""registration":"{rid}","from":"+12125550100","to":"+11000","tenant_fqdn":"contoso.useast2.sbc.example.net""#
        );
        let events = [
            format!(r#"{{"event":"start","call_id":"a1","direction":"to_teams",{base},"at":"1800000000.0"}}"#),
            format!(r#"{{"event":"ringing","call_id":"a1","direction":"to_teams",{base},"at":"1800000001.0"}}"#),
            format!(r#"{{"event":"answer","call_id":"a1","direction":"to_teams",{base},"at":"1800000003.0"}}"#),
            format!(r#"{{"event":"end","call_id":"a1","direction":"to_teams",{base},"at":"1800000033.0"}}"#),
            format!(r#"{{"event":"start","call_id":"b2","direction":"to_pbx",{base},"at":"1800000100.0"}}"#),
            format!(r#"{{"event":"failed","call_id":"b2","direction":"to_pbx",{base},"at":"1800000101.0","code":486}}"#),
            r#"{"event":"start","call_id":"x9","direction":"to_pbx","registration":"9999tm-000000000000","at":"1800000200.0"}"#.to_owned(),
        ];
        for e in events {
            sock.write_all(format!("{}:{},", e.len(), e).as_bytes())
                .await
                .unwrap();
        }
        // Kamailio keeps the stream open.
        tokio::time::sleep(Duration::from_secs(60)).await;
    });
    let (stop, rx) = tokio::sync::watch::channel(false);
    let recorder = tokio::spawn(
        teamline_engine::calls::CallRecorder::new(stack.engine.clone(), addr, 90).run(rx),
    );
    let all = teamline_store::CallFilter {
        limit: 10,
        ..Default::default()
    };
    let mut calls = Vec::new();
    for _ in 0..300 {
        calls = stack
            .store
            .list_calls(stack.contoso.id, &all)
            .await
            .unwrap();
        if calls.len() == 2 && calls.iter().all(|c| c.result != "in_progress") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = stop.send(true);
    recorder.await.unwrap();
    feed.abort();
    let summary: Vec<_> = calls
        .iter()
        .map(|c| {
            (
                c.call_id.as_str(),
                c.direction.as_str(),
                c.result.as_str(),
                c.sip_code,
                c.ended_ms.zip(c.answered_ms).map(|(e, a)| e - a),
            )
        })
        .collect();
    /// Call-ID, direction, result, SIP code, talk time.
    type Summary<'a> = (&'a str, &'a str, &'a str, Option<u16>, Option<i64>);
    let expected: Vec<Summary> = vec![
        ("b2", "to_pbx", "busy", Some(486), None),
        ("a1", "to_teams", "answered", Some(200), Some(30_000)),
    ];
    assert_eq!(summary, expected);
    assert_eq!(calls[1].pbx_user_id, Some(registered.pbx_user_id));
    assert_eq!(calls[1].device, "1000tm");
}

/// Waits until the gateway applies `want` to registration `id`.
async fn wait_call_settings(rpc: &RpcClient, id: &RegistrationId, want: CallSettings) {
    let mut last = None;
    for _ in 0..600 {
        // An error is a Kamailio still starting (after a restart): ask again.
        let now = rpc.call_settings(id).await.map_err(|e| e.to_string());
        if now.as_ref() == Ok(&want) {
            return;
        }
        last = Some(now);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the gateway never applied {want:?} to {id}; last: {last:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handles_register_fail_on_a_wrong_password_recover_and_unregister() {
    let dir = tempfile::tempdir().unwrap();
    let (stack, sip) = crate::gateway::demo_with_sip(dir.path()).await;
    let e = stack.contoso.id;

    // SET UP PBX USER for Adele: 1000tm registers to the PBX.
    let user = stack
        .engine
        .save_pbx_user(e, &admin(), &adele_form(&stack).await, None)
        .await
        .unwrap();
    let registered = wait_state(&stack, user.id, RegistrationStatus::Registered).await;
    assert_eq!(registered.device.as_str(), "1000tm");
    assert_eq!(
        registered.target.as_deref(),
        Some(sip.registrar.sip_addr().to_string().as_str())
    );
    assert!(registered.expires_ms.is_some());
    let bindings = sip.registrar.bindings().await.unwrap();
    assert!(
        bindings.iter().any(|b| b.aor.starts_with("1000tm@")),
        "{bindings:?}"
    );

    // The demo's gateway carries calls, and Adele's call settings reach it through the same
    // loop: the form's defaults first, then an edit (caller name Other, Original Caller).
    assert!(
        sip.direct_routing.is_some(),
        "the demo's gateway has no calls"
    );
    let rpc = RpcClient::new(&RpcListener::loopback(sip.gateway_rpc.port())).unwrap();
    let id = RegistrationId::from_kamailio(&registered.registration);
    wait_call_settings(
        &rpc,
        &id,
        CallSettings {
            caller_name: CallerName::Transparent,
            forwarded_caller_id: ForwardedCallerId::UsersCallerId,
        },
    )
    .await;
    record_calls_of(&stack, &registered).await;
    let mut form = adele_form(&stack).await;
    form.caller_name_policy = "other".into();
    form.caller_name = "Contoso Reception".into();
    form.forwarded_caller_id = "original_caller".into();
    stack
        .engine
        .save_pbx_user(e, &admin(), &form, Some((user.id, user.version)))
        .await
        .unwrap();
    wait_call_settings(
        &rpc,
        &id,
        CallSettings {
            caller_name: CallerName::Other("Contoso Reception".into()),
            forwarded_caller_id: ForwardedCallerId::OriginalCaller,
        },
    )
    .await;

    // /metrics has a gauge per state.
    let metrics = reqwest::get(format!("{}/metrics", stack.url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(r#"teamline_registrations{state="registered"} 1"#),
        "{metrics}"
    );

    // The gateway's Microsoft side is stored: each region's proxies as Kamailio's dispatcher
    // reports them, and its certificate; /metrics shows each proxy as stored.
    let mut health = Vec::new();
    for _ in 0..600 {
        health = stack.store.gateway_health().await.unwrap();
        if !health.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let regions: Vec<&str> = health.iter().map(|r| r.region.as_str()).collect();
    assert_eq!(regions, ["us-east-2", "us-west"], "{health:?}");
    assert!(
        health
            .iter()
            .all(|r| r.certificate_expires_ms.is_some() && r.proxies.len() == 3),
        "{health:?}"
    );
    let metrics = reqwest::get(format!("{}/metrics", stack.url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let stored = stack.store.gateway_health().await.unwrap();
    for r in &stored {
        for p in &r.proxies {
            let gauge = format!(
                r#"teamline_gateway_microsoft_proxy_up{{region="{}",proxy="{}"}}"#,
                r.region, p.fqdn
            );
            assert!(metrics.contains(&gauge), "{gauge}: {metrics}");
        }
    }
    assert!(
        metrics.contains("teamline_gateway_certificate_expiry_seconds{"),
        "{metrics}"
    );

    // `teamline gateway status --json` next to the running demo.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_teamline"))
        .args([
            "gateway",
            "status",
            "--json",
            "--enterprise",
            "contoso",
            "--data-dir",
        ])
        .arg(dir.path().join("demo"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().next().unwrap()).unwrap();
    assert_eq!(line["device"], "1000tm");
    assert_eq!(line["enterprise"], "contoso");
    assert_eq!(line["state"], "registered");
    assert!(
        line["since"].is_i64() && line["target"].is_string(),
        "{line}"
    );
    // The demo drives the gateway: the state is current, as of now.
    assert_eq!(line["fresh"], true, "{line}");
    assert!(
        line["as_of"].as_i64().unwrap() >= line["observed_at"].as_i64().unwrap(),
        "{line}"
    );

    // The gateway's Kamailio crashes and its supervisor starts it again, with empty htables:
    // the loop notices the restart and pushes Adele's settings again.
    let pid = sip.gateway().pid().expect("the gateway's Kamailio runs");
    let killed = std::process::Command::new("kill")
        .args(["-KILL", "--", &format!("-{pid}")])
        .status()
        .unwrap();
    assert!(killed.success());
    sip.gateway()
        .wait_running(2, Duration::from_secs(30))
        .await
        .expect("the supervisor restarts the gateway's Kamailio");
    wait_call_settings(
        &rpc,
        &id,
        CallSettings {
            caller_name: CallerName::Other("Contoso Reception".into()),
            forwarded_caller_id: ForwardedCallerId::OriginalCaller,
        },
    )
    .await;

    // A wrong password in Teamline's store (as after a password change on the PBX):
    // authentication failed, an action item says what to do, and Teamline reads the
    // password from the PBX again by itself and registers.
    let store = stack.engine.store();
    let handle = store
        .device_handle(e, user.spec.pbx_location_id, &user.spec.device)
        .await
        .unwrap()
        .unwrap();
    store
        .upsert_device_handle(
            &NewDeviceHandle {
                enterprise_id: e,
                pbx_location_id: user.spec.pbx_location_id,
                extension: user.spec.sip_user.clone(),
                auth_id: user.spec.device.clone(),
                password: SipPassword::parse("Wr0ngPassword99").unwrap(),
                created_by_teamline: handle.created_by_teamline,
            },
            &Audit::new(admin(), "device.store", "test: a stale password"),
        )
        .await
        .unwrap();
    let failed = wait_state(&stack, user.id, RegistrationStatus::AuthFailed).await;
    assert!(
        failed.last_error.as_deref().unwrap().contains("password"),
        "{failed:?}"
    );
    // Troubleshoot, asked about the handle, explains it with the PBX's answer.
    let Troubleshooting::Checklist { checks, .. } =
        stack.engine.troubleshoot(e, "1000tm").await.unwrap()
    else {
        panic!("Troubleshoot did not find 1000tm's user");
    };
    let line = checks
        .iter()
        .find(|c| c.label == "Device registered to the PBX")
        .unwrap();
    assert_eq!(line.status, CheckStatus::Fail, "{line:?}");
    assert!(
        line.detail.contains("Authentication failed") && line.detail.contains("password"),
        "{line:?}"
    );
    assert!(line.fix.is_some(), "{line:?}");
    let dashboard = stack.engine.dashboard(e).await.unwrap();
    assert!(
        dashboard
            .action_items
            .iter()
            .any(|i| matches!(i, ActionItem::FixRegistrations { failing: 1, .. })),
        "{:?}",
        dashboard.action_items
    );
    wait_state(&stack, user.id, RegistrationStatus::Registered).await;
    assert!(
        !stack
            .engine
            .dashboard(e)
            .await
            .unwrap()
            .action_items
            .iter()
            .any(|i| matches!(i, ActionItem::FixRegistrations { .. }))
    );

    // Disable Calling: not registered, and the PBX no longer holds the binding.
    stack
        .engine
        .set_calling(e, &admin(), user.id, false)
        .await
        .unwrap();
    wait_state(&stack, user.id, RegistrationStatus::NotRegistered).await;
    let mut gone = false;
    for _ in 0..100 {
        let bindings = sip.registrar.bindings().await.unwrap();
        if !bindings.iter().any(|b| b.aor.starts_with("1000tm@")) {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        gone,
        "the registrar still holds 1000tm after Disable Calling"
    );

    sip.stop().await;
    stack.stop().await.unwrap();
}

/// Waits until the store's record of the user satisfies `want`; fails with the last one seen.
async fn wait_for(
    stack: &DemoStack,
    user: PbxUserId,
    what: &str,
    want: impl Fn(&RegistrationRecord) -> bool,
) -> RegistrationRecord {
    let mut last = None;
    for _ in 0..600 {
        let records = stack
            .store
            .list_registrations(Some(stack.contoso.id), Some(&[user]))
            .await
            .unwrap();
        if let Some(r) = records.into_iter().next() {
            if want(&r) {
                return r;
            }
            last = Some(r);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the handle never became {what}; last stored: {last:?}");
}

/// A loopback port free on both UDP and TCP a moment ago.
fn free_port() -> u16 {
    loop {
        let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = tcp.local_addr().unwrap().port();
        if std::net::UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pbx_location_moved_to_another_proxy_re_registers_its_handles_there() {
    let dir = tempfile::tempdir().unwrap();
    let (stack, sip) = crate::gateway::demo_with_sip(dir.path()).await;
    let e = stack.contoso.id;
    let user = stack
        .engine
        .save_pbx_user(e, &admin(), &adele_form(&stack).await, None)
        .await
        .unwrap();
    let old = sip.registrar.sip_addr().to_string();
    wait_for(&stack, user.id, "registered at the first proxy", |r| {
        r.state == RegistrationStatus::Registered && r.target.as_deref() == Some(old.as_str())
    })
    .await;

    // The PBX's SIP core moves: a second registrar (another real Kamailio with the same
    // devices) and the PBX location's proxy changed to it, as an admin does on the PBX page.
    let moved = Registrar::start(
        stack.pbx.sim().clone(),
        std::net::SocketAddr::from(([127, 0, 0, 1], free_port())),
        free_port(),
        &dir.path().join("registrar-2"),
    )
    .await
    .unwrap();
    let new = moved.sip_addr().to_string();
    point_pbx_at(&stack, moved.sip_addr()).await.unwrap();

    let r = wait_for(&stack, user.id, "registered at the new proxy", |r| {
        r.state == RegistrationStatus::Registered && r.target.as_deref() == Some(new.as_str())
    })
    .await;
    assert_eq!(r.device.as_str(), "1000tm");
    let mut bound = false;
    for _ in 0..100 {
        if moved
            .bindings()
            .await
            .unwrap()
            .iter()
            .any(|b| b.aor.starts_with("1000tm@"))
        {
            bound = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(bound, "the new registrar does not hold 1000tm");

    moved.stop().await;
    sip.stop().await;
    stack.stop().await.unwrap();
}

/// Whether the registrar holds a binding for `aor` (`device@domain`), waiting up to 10 s for
/// it to become `want`.
async fn registrar_holds(registrar: &Registrar, aor: &str, want: bool) -> bool {
    for _ in 0..100 {
        let held = registrar
            .bindings()
            .await
            .unwrap()
            .iter()
            .any(|b| b.aor == aor);
        if held == want {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pbx_location_moved_to_another_sip_domain_re_registers_its_handles_there() {
    use teamline_domain::pbx_location::PbxLocationForm;
    use teamline_sim::netsapiens as ns;
    let dir = tempfile::tempdir().unwrap();
    let (stack, sip) = crate::gateway::demo_with_sip(dir.path()).await;
    let e = stack.contoso.id;
    let user = stack
        .engine
        .save_pbx_user(e, &admin(), &adele_form(&stack).await, None)
        .await
        .unwrap();
    wait_state(&stack, user.id, RegistrationStatus::Registered).await;
    let old_aor = format!("1000tm@{}", ns::CONTOSO_DOMAIN);
    assert!(
        registrar_holds(&sip.registrar, &old_aor, true).await,
        "the registrar does not hold {old_aor}"
    );

    // The provider moves Contoso to a new domain on the same PBX (same devices and
    // passwords), and the admin changes the PBX location's SIP domain on the PBX page; a new
    // domain needs the API credentials again.
    let new_domain = "contoso-voice";
    assert!(stack.pbx.sim().copy_domain(ns::CONTOSO_DOMAIN, new_domain));
    let store = stack.engine.store();
    let location = store.list_pbx_locations(e).await.unwrap().remove(0);
    let s = &location.settings;
    let form = PbxLocationForm {
        name: s.name.to_string(),
        pbx_type: s.pbx_type.as_str().into(),
        dns_lookup: s.dns_lookup.as_str().into(),
        sip_domain: new_domain.into(),
        proxy: s.proxy.to_string(),
        voicemail_code: s.voicemail_code.to_string(),
        api_base_url: s.api_base_url.as_str().into(),
        api_auth: s.api_auth_kind.as_str().into(),
        api_key: ns::DEMO_API_KEY.into(),
        oauth_client_id: s.oauth_client_id.clone().unwrap_or_default(),
        oauth_client_secret: ns::DEMO_OAUTH_CLIENT_SECRET.into(),
        oauth_username: s.oauth_username.clone().unwrap_or_default(),
        oauth_password: ns::DEMO_OAUTH_PASSWORD.into(),
    };
    stack
        .engine
        .update_pbx_location(e, &admin(), location.id, &form)
        .await
        .unwrap();

    let new_aor = format!("1000tm@{new_domain}");
    assert!(
        registrar_holds(&sip.registrar, &new_aor, true).await,
        "the registrar does not hold {new_aor}: {:?}",
        sip.registrar.bindings().await
    );
    assert!(
        registrar_holds(&sip.registrar, &old_aor, false).await,
        "the registrar still holds the old domain's {old_aor}: {:?}",
        sip.registrar.bindings().await
    );
    let r = wait_state(&stack, user.id, RegistrationStatus::Registered).await;
    assert_eq!(r.device.as_str(), "1000tm");

    sip.stop().await;
    stack.stop().await.unwrap();
}

/// `teamline gateway config --direct-routing FILE` renders the calls with Microsoft too: the
/// TLS listener, each region's certificate and Microsoft's proxies in dispatcher's list.
#[test]
fn gateway_config_renders_the_calls_from_the_direct_routing_settings() {
    let dir = tempfile::tempdir().unwrap();
    let tls: std::net::SocketAddr = "127.0.0.1:5061".parse().unwrap();
    let settings = teamline::commands::direct_routing::demo_files(
        &dir.path().join("dr"),
        &[("US East 2".into(), "useast2.sbc.example.net".into())],
        tls,
        "127.0.0.1:2223".parse().unwrap(),
        "127.0.0.1:5065".parse().unwrap(),
    )
    .unwrap();
    let out_dir = dir.path().join("out");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_teamline"))
        .args([
            "gateway",
            "config",
            "--gateway-rpc",
            "127.0.0.1:5090",
            "--out",
        ])
        .arg(&out_dir)
        .arg("--direct-routing")
        .arg(&settings)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cfg = std::fs::read_to_string(out_dir.join("kamailio.cfg")).unwrap();
    assert!(cfg.contains("listen=tls:127.0.0.1:5061"), "{cfg}");
    let list = std::fs::read_to_string(out_dir.join("dispatcher.list")).unwrap();
    assert!(
        list.contains("1 sip:sip.pstnhub.microsoft.com:5061;transport=tls 8 100")
            && list.contains("region=us-east-2"),
        "{list}"
    );
    let tls_cfg = std::fs::read_to_string(out_dir.join("tls.cfg")).unwrap();
    assert!(
        tls_cfg.contains("server_name = useast2.sbc.example.net"),
        "{tls_cfg}"
    );

    // A missing certificate is named with its region.
    std::fs::remove_file(dir.path().join("dr/region-0.crt")).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_teamline"))
        .args([
            "gateway",
            "config",
            "--gateway-rpc",
            "127.0.0.1:5090",
            "--out",
        ])
        .arg(&out_dir)
        .arg("--direct-routing")
        .arg(&settings)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("certificate of SBC region us-east-2"),
        "{err}"
    );
}
