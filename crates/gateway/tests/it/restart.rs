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
            Ok(svc.status().await)
        } else {
            Err(k)
        }
    })
    .await;
    let msg = down[0].state.last_error().unwrap();
    assert!(msg.contains("does not answer"), "{msg}");

    node.supervisor
        .wait_running(2, Duration::from_secs(30))
        .await
        .expect("restarted");
    let pass = svc.reconcile().await.unwrap();
    assert!(pass.kamailio_restarted);
    assert_eq!((pass.kamailio_records, pass.applied.added), (0, 20));
    wait_all_registered(&svc).await;
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
async fn drift_behind_teamlines_back_is_repaired_by_the_next_full_pass() {
    let dir = tempfile::tempdir().unwrap();
    let pbx = Pbx::start(dir.path()).await;
    let node = GatewayNode::start(dir.path()).await;
    let svc = service(&node, DnsSettings::default());
    let handles = pbx.contoso_desk_handles();
    svc.set_desired(handles.iter().take(3).cloned());
    assert!(svc.reconcile().await.unwrap().full);
    wait_all_registered(&svc).await;

    // Someone at the gateway's console: one record removed, one disabled, a stranger added.
    let rpc = &node.rpc;
    // (uac.reg_refresh reloads from the database table, which Teamline keeps empty.)
    let refresh = rpc
        .uac_reg_refresh(handles[0].id.as_str())
        .await
        .unwrap_err();
    assert!(refresh.is_not_found(), "{refresh}");
    assert!(rpc.uac_reg_remove(handles[0].id.as_str()).await.unwrap());
    assert!(rpc.uac_reg_disable(handles[1].id.as_str()).await.unwrap());
    let stranger = handles[5].to_uac(format!("sip:{}", pbx.registrar.sip_addr()));
    rpc.uac_reg_add(&stranger).await.unwrap();

    // Quick passes only apply Teamline's own changes…
    let quick = svc.reconcile().await.unwrap();
    assert!(!quick.full);
    assert_eq!(quick.applied, Default::default());
    // …a full pass (every minute, or when asked) puts Kamailio back in line.
    svc.force_full_pass();
    let full = svc.reconcile().await.unwrap();
    assert!(full.full);
    assert_eq!(
        (full.applied.added, full.applied.enabled),
        (1, 1),
        "{:?}",
        full.applied
    );
    assert_eq!(full.applied.unregistered + full.applied.removed, 1);
    eventually(&svc, "only the wanted records", || async {
        let held: BTreeSet<String> = rpc
            .uac_reg_dump()
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.l_uuid)
            .collect();
        let want: BTreeSet<String> = handles.iter().take(3).map(|h| h.id.to_string()).collect();
        if held == want { Ok(()) } else { Err(held) }
    })
    .await;
    wait_all_registered(&svc).await;
}
