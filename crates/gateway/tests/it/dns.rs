//! The PBX's proxy found in a real authoritative DNS server (Knot): SRV order and failover to
//! the next target, A records, and answers that change after their TTL.

use std::net::SocketAddr;
use std::time::Duration;

use teamline_domain::pbx_location::DnsLookup;
use teamline_domain::sip::ProxyHost;
use teamline_gateway::dns::{DnsSettings, PbxResolver};
use teamline_gateway::registration::RegistrationState;

use teamline_dns::testing::Knot;

use crate::harness::{GatewayNode, LOCALHOST, Pbx, desired, free_port, service, wait_state};

fn settings(knot: &Knot) -> DnsSettings {
    DnsSettings {
        nameservers: vec![knot.addr],
        max_cache: None,
    }
}

#[tokio::test]
async fn srv_targets_are_tried_in_priority_order_and_a_dead_one_is_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let pbx = Pbx::start(dir.path()).await;
    let alive = pbx.registrar.sip_addr().port();
    // Nothing listens there: REGISTERs to it go unanswered.
    let dead = free_port();
    let knot = Knot::start(
        dir.path(),
        "pbx.test",
        &format!(
            "_sip._udp.sbc SRV 10 100 {dead} dead\n\
             _sip._udp.sbc SRV 20 100 {alive} alive\n\
             dead A 127.0.0.1\nalive A 127.0.0.1"
        ),
    )
    .await
    .expect("Knot DNS serves the PBX's zone");
    let proxy = ProxyHost::parse("sbc.pbx.test").unwrap();
    let resolver = PbxResolver::new(&settings(&knot)).unwrap();
    assert_eq!(
        resolver.targets(&proxy, DnsLookup::Srv).await.unwrap(),
        vec![
            SocketAddr::new(LOCALHOST, dead),
            SocketAddr::new(LOCALHOST, alive)
        ]
    );

    let node = GatewayNode::start(dir.path()).await;
    let svc = service(&node, settings(&knot));
    svc.upsert(desired(
        "1000tm",
        "+11000",
        &pbx.password("1000tm"),
        proxy,
        DnsLookup::Srv,
    ));
    let first = svc.reconcile().await.unwrap();
    assert_eq!(
        node.rpc.uac_reg_dump().await.unwrap()[0].auth_proxy,
        format!("sip:127.0.0.1:{dead}")
    );
    assert!(first.dns_failures.is_empty());
    let target = wait_state(
        &svc,
        "registered through the second SRV target",
        |s| match s {
            RegistrationState::Registered { target, .. } => Some(target.clone()),
            _ => None,
        },
    )
    .await;
    assert_eq!(target, format!("127.0.0.1:{alive}"));
    assert_eq!(
        node.rpc.uac_reg_dump().await.unwrap()[0].auth_proxy,
        format!("sip:127.0.0.1:{alive}")
    );
}

#[tokio::test]
async fn a_records_resolve_and_a_changed_answer_is_used_after_its_ttl() {
    let dir = tempfile::tempdir().unwrap();
    let knot = Knot::start(
        dir.path(),
        "pbx.test",
        "sbc A 127.0.0.1\nsip SRV 0 0 5060 .",
    )
    .await
    .expect("Knot DNS serves the PBX's zone");
    let resolver = PbxResolver::new(&settings(&knot)).unwrap();
    let a = ProxyHost::parse("sbc.pbx.test:5070").unwrap();
    assert_eq!(
        resolver.resolve(&a, DnsLookup::A).await.unwrap(),
        "127.0.0.1:5070".parse().unwrap()
    );
    // A name without SIP SRV records fails with what was asked.
    let err = resolver
        .resolve(
            &ProxyHost::parse("nothing.pbx.test").unwrap(),
            DnsLookup::Srv,
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("_sip._udp.nothing.pbx.test"), "{err}");

    knot.update("del sbc A\nadd sbc 1 A 127.0.0.2").unwrap();
    // The zone's TTL is 1 s: after it, the new address is used.
    let mut seen = None;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let now = resolver.resolve(&a, DnsLookup::A).await.unwrap();
        if now.ip().to_string() == "127.0.0.2" {
            seen = Some(now);
            break;
        }
    }
    assert_eq!(seen, Some("127.0.0.2:5070".parse().unwrap()));
}
