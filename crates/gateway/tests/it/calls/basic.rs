//! Calls answered both ways, with media through the gateway's rtpengine.

use std::time::Duration;

use teamline_gateway::calls::{CallRecords, Direction, Outcome};

use super::stack::{
    Caller, Ending, SippCall, Stack, TENANT_FQDN, assert_media_flows, register_phone,
};
use crate::harness::{free_port, test_dir};

#[tokio::test(flavor = "multi_thread")]
async fn a_pbx_call_to_the_extension_rings_teams_and_media_flows_both_ways() {
    let dir = test_dir();
    let mut stack = Stack::start(dir.path()).await;
    let mut teams = SippCall::answer(dir.path(), stack.microsoft.teams_uas.port(), "teams");
    // Alex (1001) calls Adele's extension 1000 from his desk phone; the PBX rings her devices,
    // 1000tm among them: the call reaches Teams through the gateway.
    let alex = Caller::desk_phone(&stack, "1001");
    let mut alex = SippCall::dial(
        dir.path(),
        &alex,
        "1000",
        Ending::Answered { hold_ms: 3000 },
    );
    assert_media_flows(&stack).await;

    assert!(
        alex.finished(Duration::from_secs(20)).await,
        "{}",
        alex.log()
    );
    assert!(
        teams.finished(Duration::from_secs(5)).await,
        "{}",
        teams.log()
    );

    // Microsoft saw the tenant FQDN in Contact and Record-Route, and X-MS-SBC.
    let contact = stack.microsoft.seen("invite_contact").await.unwrap();
    assert!(contact.contains(&format!("@{TENANT_FQDN}:")), "{contact}");
    let rr = stack.microsoft.seen("invite_rr").await.unwrap();
    assert!(rr.contains(TENANT_FQDN), "{rr}");
    let to = stack.microsoft.seen("invite_to").await.unwrap();
    assert!(to.contains(&format!("+11000@{TENANT_FQDN}")), "{to}");
    assert!(
        stack
            .microsoft
            .seen("invite_xmssbc")
            .await
            .unwrap()
            .contains("Teamline")
    );

    let mut records = CallRecords::default();
    let rec = stack.next_record(&mut records).await;
    assert_eq!(rec.direction, Some(Direction::ToTeams));
    assert_eq!(rec.outcome, Outcome::Answered);
    assert_eq!(rec.device, "1000tm");
    assert_eq!(rec.to, "+11000");
    assert_eq!(rec.from, "+1001");
    // The record names the Microsoft proxy the call went to, and rtpengine the codec and SRTP.
    assert_eq!(rec.microsoft_proxy.as_deref(), Some("sip.pstnhub.test"));
    let media = stack.media.query(&rec.call_id).await.unwrap();
    assert_eq!(media.codec(), Some("PCMU/8000"));
    assert!(media.srtp(), "{media:?}");
    assert!(
        rec.duration().is_some_and(|d| d >= Duration::from_secs(2)),
        "{rec:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_teams_call_reaches_the_pbx_as_the_users_device_and_media_flows_both_ways() {
    let dir = test_dir();
    let mut stack = Stack::start(dir.path()).await;
    // Alex's desk phone (device 1001) is registered at the PBX and answers.
    let mut desk = SippCall::answer(dir.path(), free_port(), "alex-desk");
    register_phone(&stack, "1001", &desk).await;
    // Adele calls extension 1001 from Teams: Microsoft sends the call to Contoso's tenant FQDN
    // from her number.
    let adele = Caller::teams_user(&stack, "+11000");
    let mut adele = SippCall::dial(
        dir.path(),
        &adele,
        "1001",
        Ending::Answered { hold_ms: 3000 },
    );
    assert_media_flows(&stack).await;

    assert!(
        adele.finished(Duration::from_secs(20)).await,
        "{}",
        adele.log()
    );
    assert!(
        desk.finished(Duration::from_secs(5)).await,
        "{}",
        desk.log()
    );

    // The PBX saw its own device 1000tm calling (it challenged, the gateway answered with the
    // device's password), so the extension's rules and caller ID apply there.
    let from = desk.received_invite_header("From").unwrap();
    assert!(from.contains("sip:1000tm@contoso"), "{from}");

    let mut records = CallRecords::default();
    let rec = stack.next_record(&mut records).await;
    assert_eq!(rec.direction, Some(Direction::ToPbx));
    assert_eq!(rec.outcome, Outcome::Answered);
    assert_eq!(rec.device, "1000tm");
    assert_eq!(rec.from, "+11000");
    assert_eq!(rec.to, "1001");
    // The proxy that sent the call, as it record-routed (Microsoft's own put their FQDN there;
    // the stand-in its address).
    assert_eq!(rec.microsoft_proxy.as_deref(), Some("127.0.0.1"));
    let media = stack.media.query(&rec.call_id).await.unwrap();
    assert_eq!(media.codec(), Some("PCMU/8000"));
    assert!(media.srtp(), "{media:?}");
    assert!(
        rec.duration().is_some_and(|d| d >= Duration::from_secs(2)),
        "{rec:?}"
    );
}
