//! Registrars that refuse or do not answer — sipp playing the PBX's SIP core, and the
//! stand-in registrar's own faults — and the state the gateway reports for each.

use std::time::{Duration, SystemTime};

use teamline_domain::pbx_location::DnsLookup;
use teamline_gateway::dns::DnsSettings;
use teamline_gateway::registration::{RegistrationState, Unreachable};
use teamline_gateway::service::RegistrationService;
use teamline_sim::netsapiens::registrar::RegistrarFault;

use crate::harness::{GatewayNode, Pbx, Sipp, desired, service, wait_kind, wait_state};

/// sipp running `scenario` as the PBX, a gateway, and one handle registering to sipp.
struct AgainstSipp {
    _dir: tempfile::TempDir,
    sipp: Sipp,
    node: GatewayNode,
    svc: RegistrationService,
}

async fn against_sipp(scenario: &str) -> AgainstSipp {
    let dir = tempfile::tempdir().unwrap();
    let sipp = Sipp::registrar(scenario, dir.path());
    let node = GatewayNode::start(dir.path()).await;
    let svc = service(&node, DnsSettings::default());
    let handle = desired("1000tm", "+11000", "Secret123", sipp.proxy(), DnsLookup::A);
    svc.upsert(handle);
    AgainstSipp {
        _dir: dir,
        sipp,
        node,
        svc,
    }
}

#[tokio::test]
async fn a_403_is_an_authentication_failure() {
    let t = against_sipp("registrar-403.xml").await;
    let reply = wait_state(&t.svc, "403 reported", |s| match s {
        RegistrationState::AuthenticationFailed { reply } => Some(reply.clone()),
        _ => None,
    })
    .await;
    assert_eq!((reply.code, reply.reason.as_str()), (403, "Forbidden"));
}

#[tokio::test]
async fn a_503_is_pbx_unreachable_with_the_answer() {
    let t = against_sipp("registrar-503.xml").await;
    let (target, reply) = wait_state(&t.svc, "503 reported", |s| match s {
        RegistrationState::PbxUnreachable(Unreachable::Unavailable { target, reply }) => {
            Some((target.clone(), reply.clone()))
        }
        _ => None,
    })
    .await;
    assert_eq!(reply.code, 503);
    assert_eq!(target, t.sipp.addr.to_string());
}

#[tokio::test]
async fn no_answer_is_pbx_unreachable() {
    let t = against_sipp("registrar-no-answer.xml").await;
    let target = wait_state(&t.svc, "no answer reported", |s| match s {
        RegistrationState::PbxUnreachable(Unreachable::NoAnswer { target }) => Some(target.clone()),
        _ => None,
    })
    .await;
    assert_eq!(target, t.sipp.addr.to_string());
}

#[tokio::test]
async fn a_423_makes_the_gateway_ask_for_the_minimum_and_register() {
    let t = against_sipp("registrar-423.xml").await;
    let expires_at = wait_state(&t.svc, "registered after 423", |s| match s {
        RegistrationState::Registered { expires_at, .. } => Some(*expires_at),
        _ => None,
    })
    .await;
    let left = expires_at
        .duration_since(SystemTime::now())
        .unwrap_or_default();
    assert!(left > Duration::from_secs(3000), "registered for {left:?}");
    // uac_reg keeps the registrar's minimum, and reconcile does not undo it.
    let dump = t.node.rpc.uac_reg_dump().await.unwrap();
    assert_eq!(dump[0].expires, 3600);
    let pass = t.svc.reconcile().await.unwrap();
    assert_eq!(pass.applied.replaced, 0);
}

#[tokio::test]
async fn the_stand_in_registrar_can_refuse_and_recover() {
    let dir = tempfile::tempdir().unwrap();
    let pbx = Pbx::start(dir.path()).await;
    pbx.registrar
        .set_fault(Some(RegistrarFault::Unavailable))
        .await
        .unwrap();
    let node = GatewayNode::start(dir.path()).await;
    let svc = service(&node, DnsSettings::default());
    let h = desired(
        "1000tm",
        "+11000",
        &pbx.password("1000tm"),
        pbx.proxy(),
        DnsLookup::A,
    );
    svc.upsert(h.clone());
    wait_kind(&svc, &h.id, "pbx_unreachable").await;
    pbx.registrar.set_fault(None).await.unwrap();
    wait_kind(&svc, &h.id, "registered").await;
}
