//! The gateway's Kamailio dies: Teamline sees "gateway down", the supervisor restarts it, and
//! reconcile puts every registration back — also while handles come and go.

use std::collections::BTreeSet;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use teamline_domain::pbx_location::DnsLookup;
use teamline_gateway::dns::DnsSettings;
use teamline_gateway::supervisor::SupervisorSettings;
use teamline_sim::netsapiens::NetSapiensSim;
use teamline_sim::netsapiens::registrar::Registrar;

use crate::harness::{
    GatewayNode, LOCALHOST, Pbx, crash, desired_in, eventually, free_port, gateway_settings, kinds,
    service, wait_all_registered,
};

#[tokio::test]
async fn a_killed_gateway_is_reported_down_then_reconcile_restores_every_registration() {
    let dir = tempfile::tempdir().unwrap();
    let pbx = Pbx::start(dir.path()).await;
    let settings = gateway_settings(dir.path());
    let mut sup = SupervisorSettings::new(dir.path().join("run"));
    // A visible outage: the restart waits a second.
    sup.backoff_initial = Duration::from_secs(1);
    crate::harness::require_kamailio();
    let supervisor = teamline_gateway::supervisor::Supervisor::start(&settings, sup)
        .await
        .unwrap();
    let node = GatewayNode {
        rpc: teamline_gateway::rpc::RpcClient::new(&settings.rpc).unwrap(),
        settings,
        supervisor,
    };
    let svc = service(&node, DnsSettings::default());
    svc.set_desired(pbx.contoso_desk_handles());
    let first = svc.reconcile().await.unwrap();
    assert_eq!(first.applied.added, 20);
    wait_all_registered(&svc).await;

    crash(node.supervisor.pid().unwrap());
    let down = eventually(&svc, "gateway down", || async {
        let k = kinds(&svc).await;
        if k.get("gateway_down") == Some(&20) {
            Ok(svc.status_from_kamailio().await)
        } else {
            Err(k)
        }
    })
    .await;
    let msg = down[0].state.last_error().unwrap();
    assert!(msg.contains("does not answer"), "{msg}");
    // What Teamline tracks says so too (the last pass could not reach Kamailio).
    let tracked = svc.status();
    assert!(
        tracked
            .handles
            .iter()
            .all(|h| h.state.kind() == "gateway_down"),
        "{:?}",
        tracked.handles
    );

    node.supervisor
        .wait_running(2, Duration::from_secs(30))
        .await
        .expect("restarted");
    let pass = svc.reconcile().await.unwrap();
    assert!(pass.kamailio_restarted);
    assert!(pass.full, "a restart is answered with a full read");
    assert_eq!((pass.kamailio_records, pass.applied.added), (0, 20));
    wait_all_registered(&svc).await;
    eventually(&svc, "every tracked state registered again", || async {
        let k: Vec<&str> = svc
            .status()
            .handles
            .iter()
            .map(|h| h.state.kind())
            .collect();
        if k.iter().all(|k| *k == "registered") {
            Ok(())
        } else {
            Err(format!("{k:?}"))
        }
    })
    .await;
    node.supervisor.stop().await;
}

#[tokio::test]
async fn five_hundred_handles_come_and_go_across_two_gateway_restarts_and_the_sets_end_equal() {
    let dir = tempfile::tempdir().unwrap();
    crate::harness::require_kamailio();
    let sim = NetSapiensSim::new().seed_generated("bigco", 500);
    let registrar = Registrar::start(
        sim.clone(),
        std::net::SocketAddr::new(LOCALHOST, free_port()),
        free_port(),
        &dir.path().join("registrar"),
    )
    .await
    .unwrap();
    let proxy = teamline_domain::sip::ProxyHost::parse(&registrar.sip_addr().to_string()).unwrap();
    let mut settings = gateway_settings(dir.path());
    settings.registrations.expected_records = 500;
    let node = GatewayNode::start_with(settings, dir.path()).await;
    let svc = service(&node, DnsSettings::default());
    let handle = |i: u32| {
        let dev = (1000 + i).to_string();
        let pw = sim.device_password("bigco", &dev).unwrap();
        desired_in(
            "bigco",
            &dev,
            &format!("+1{dev}"),
            &pw,
            proxy.clone(),
            DnsLookup::A,
        )
    };

    let mut rng = StdRng::seed_from_u64(500);
    let mut wanted = BTreeSet::new();
    let mut restarts = 0;
    for round in 0..40 {
        for _ in 0..25 {
            let i = rng.random_range(0..500u32);
            let h = handle(i);
            if wanted.insert(i) {
                svc.upsert(h);
            } else {
                wanted.remove(&i);
                svc.remove(&h.id);
            }
        }
        if round == 12 || round == 27 {
            let pid = node
                .supervisor
                .wait_running(1 + restarts, Duration::from_secs(30))
                .await
                .expect("running before the crash");
            crash(pid);
            restarts += 1;
        }
        // Passes fail while Kamailio is down; the next ones catch up.
        let _ = svc.reconcile().await;
    }
    node.supervisor
        .wait_running(1 + restarts, Duration::from_secs(30))
        .await
        .expect("running after two crashes");

    let want_ids: BTreeSet<String> = wanted.iter().map(|i| handle(*i).id.to_string()).collect();
    eventually(&svc, "Kamailio's set equal to the desired set", || async {
        let dump = node.rpc.uac_reg_dump().await.map_err(|e| e.to_string())?;
        let held: BTreeSet<String> = dump.iter().map(|r| r.l_uuid.clone()).collect();
        let all_match = dump.iter().all(|r| {
            wanted
                .iter()
                .any(|i| r.matches(&handle(*i).to_uac(format!("sip:{}", registrar.sip_addr()))))
        });
        if held == want_ids && all_match {
            Ok(())
        } else {
            Err(format!("{} held, {} wanted", held.len(), want_ids.len()))
        }
    })
    .await;
    // Every state is true: all wanted handles are registered, and the registrar holds them.
    wait_all_registered(&svc).await;
    let bindings = registrar.bindings().await.unwrap();
    for i in &wanted {
        let aor = format!("{}@bigco", 1000 + i);
        assert!(
            bindings.iter().any(|b| b.aor == aor),
            "no binding for {aor}"
        );
    }
    node.supervisor.stop().await;
}

#[tokio::test]
async fn drift_behind_teamlines_back_is_repaired_by_the_rotating_audit_without_a_full_read() {
    let dir = tempfile::tempdir().unwrap();
    let pbx = Pbx::start(dir.path()).await;
    let node = GatewayNode::start(dir.path()).await;
    let mut svc = service(&node, DnsSettings::default());
    // 20 records, 4 audited per pass: every record is read back within 5 passes.
    svc.set_audit_per_pass(4);
    let handles = pbx.contoso_desk_handles();
    svc.set_desired(handles.iter().cloned());
    assert_eq!(svc.audit_lap_passes(), 5);
    assert!(
        svc.reconcile().await.unwrap().full,
        "Teamline's start reads everything"
    );
    wait_all_registered(&svc).await;

    // Someone at the gateway's console: one record removed, one disabled, one replaced by a
    // record with another password, one un-registered.
    let rpc = &node.rpc;
    let proxy = format!("sip:{}", pbx.registrar.sip_addr());
    assert!(rpc.uac_reg_remove(handles[3].id.as_str()).await.unwrap());
    assert!(rpc.uac_reg_disable(handles[8].id.as_str()).await.unwrap());
    assert!(rpc.uac_reg_remove(handles[13].id.as_str()).await.unwrap());
    let mut changed = handles[13].to_uac(proxy.clone());
    changed.auth_password = secrecy::SecretString::from("not-the-password".to_owned());
    rpc.uac_reg_add(&changed).await.unwrap();
    assert!(
        rpc.uac_reg_unregister(handles[18].id.as_str())
            .await
            .unwrap()
    );

    // One lap of passes, none of them a full read, finds and repairs all four.
    let mut drift = 0;
    for _ in 0..svc.audit_lap_passes() {
        let pass = svc.reconcile().await.unwrap();
        assert!(!pass.full, "the audit needs no full read");
        assert_eq!(pass.audited, 4);
        drift += pass.drift;
    }
    assert_eq!(
        drift, 4,
        "every record changed behind Teamline's back is found"
    );
    let held = rpc.uac_reg_dump().await.unwrap();
    assert_eq!(held.len(), 20);
    for want in &handles {
        let have = held.iter().find(|r| r.l_uuid == want.id.as_str()).unwrap();
        assert!(have.matches(&want.to_uac(proxy.clone())), "{have:?}");
        assert!(!have.flags.disabled(), "{have:?}");
    }
    wait_all_registered(&svc).await;
    // What Teamline tracks (what the portal shows) agrees, without reading Kamailio.
    eventually(&svc, "every tracked state registered", || async {
        let tracked = svc.status();
        let registered = tracked
            .handles
            .iter()
            .filter(|h| h.state.kind() == "registered")
            .count();
        if registered == 20 && tracked.as_of.is_some() {
            Ok(())
        } else {
            Err(registered)
        }
    })
    .await;

    // A record added at the console makes Kamailio count more than Teamline gave it: only a
    // full read finds which, and the stranger is un-registered and removed.
    let stranger = desired_in(
        "contoso",
        "1999",
        "+11999",
        "whatever",
        pbx.proxy(),
        DnsLookup::A,
    );
    rpc.uac_reg_add(&stranger.to_uac(proxy.clone()))
        .await
        .unwrap();
    let full = svc.reconcile().await.unwrap();
    assert!(full.full);
    assert_eq!(full.applied.unregistered + full.applied.removed, 1);
    eventually(&svc, "only the wanted records", || async {
        let held: BTreeSet<String> = rpc
            .uac_reg_dump()
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.l_uuid)
            .collect();
        let want: BTreeSet<String> = handles.iter().map(|h| h.id.to_string()).collect();
        if held == want { Ok(()) } else { Err(held) }
    })
    .await;

    // Another Teamline starting against this running Kamailio reads it whole once, finds it
    // in line, and goes on with quick passes.
    let mut other = service(&node, DnsSettings::default());
    other.set_audit_per_pass(4);
    other.set_desired(handles.iter().cloned());
    let start = other.reconcile().await.unwrap();
    assert!(start.full);
    assert_eq!(start.applied, Default::default(), "nothing to repair");
    assert!(!other.reconcile().await.unwrap().full);
    node.supervisor.stop().await;
}
