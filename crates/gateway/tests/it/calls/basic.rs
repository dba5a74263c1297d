//! Calls answered both ways, with media through both rtpengines.

use std::time::Duration;

use teamline_gateway::calls::{CallRecords, Direction, Outcome};

use super::stack::{SippCall, Stack, TENANT_FQDN, register_phone};

#[tokio::test(flavor = "multi_thread")]
async fn a_pbx_call_to_the_extension_rings_teams_and_media_flows_both_ways() {
    let dir = tempfile::tempdir().unwrap();
    let mut stack = Stack::start(dir.path()).await;
    let mut teams = SippCall::answer(dir.path(), stack.microsoft.teams_uas.port(), "teams");
    // Alex (1001) calls Adele's extension 1000 from his desk phone; the PBX rings her devices,
    // 1000tm among them: the call reaches Teams through the gateway.
    let mut alex = SippCall::call(
        dir.path(),
        "alex",
        stack.pbx.registrar.sip_addr(),
        "1001",
        "contoso",
        "1000",
        Some(("1001", &stack.pbx.password("1001"))),
        3000,
    );
    // Mid-call: media both ways, SRTP toward Microsoft, RTP toward the PBX.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let calls = stack.media.list().await.unwrap();
    assert_eq!(calls.len(), 1, "{calls:?}");
    let media = stack.media.query(&calls[0]).await.unwrap();
    let srtp = media.leg("RTP/SAVP").expect("an SRTP leg toward Microsoft");
    let rtp = media.leg("RTP/AVP").expect("an RTP leg toward the PBX");
    assert!(srtp.packets > 20 && rtp.packets > 20, "{media:?}");
    assert_eq!(srtp.errors, 0, "{media:?}");

    assert!(alex.finished(Duration::from_secs(20)).await, "{}", alex.log());
    assert!(teams.finished(Duration::from_secs(5)).await, "{}", teams.log());

    // Microsoft saw the tenant FQDN in Contact and Record-Route, and X-MS-SBC.
    let contact = stack.microsoft.seen("invite_contact").await.unwrap();
    assert!(contact.contains(&format!("@{TENANT_FQDN}:")), "{contact}");
    let rr = stack.microsoft.seen("invite_rr").await.unwrap();
    assert!(rr.contains(TENANT_FQDN), "{rr}");
    let to = stack.microsoft.seen("invite_to").await.unwrap();
    assert!(to.contains(&format!("+11000@{TENANT_FQDN}")), "{to}");
    assert!(stack.microsoft.seen("invite_xmssbc").await.unwrap().contains("Teamline"));

    let mut records = CallRecords::default();
    let rec = stack.next_record(&mut records).await;
    assert_eq!(rec.direction, Some(Direction::ToTeams));
    assert_eq!(rec.outcome, Outcome::Answered);
    assert_eq!(rec.device, "1000tm");
    assert_eq!(rec.to, "+11000");
    assert_eq!(rec.from, "+1001");
    assert!(rec.duration().is_some_and(|d| d >= Duration::from_secs(2)), "{rec:?}");
    let _ = register_phone;
}
