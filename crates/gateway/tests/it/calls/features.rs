//! Calls that do more than ring and answer: early media (an announcement before the call is
//! answered or refused), hold/resume (re-INVITEs through both rtpengines) and a transfer made
//! in Teams (REFER) completed by the PBX.

use std::time::{Duration, Instant};

use teamline_gateway::calls::{CallRecords, Direction, Outcome};
use teamline_gateway::media::{CallMedia, MediaClient};

use super::stack::{
    Caller, Ending, SippCall, Stack, assert_media_flows, both_finish, register_phone,
};
use crate::harness::{free_port, test_dir};

/// The one call `client` holds, as it is now.
async fn only_call(client: &MediaClient) -> CallMedia {
    let calls = client.list().await.unwrap();
    assert_eq!(calls.len(), 1, "{calls:?}");
    client.query(&calls[0]).await.unwrap()
}

/// Waits until the gateway received more than 20 SRTP packets from Microsoft's side.
async fn wait_srtp_from_microsoft(stack: &Stack) -> CallMedia {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let calls = stack.media.list().await.unwrap();
        let media = match calls.as_slice() {
            [call] => Some(stack.media.query(call).await.unwrap()),
            _ => None,
        };
        if let Some(m) = &media
            && m.leg("RTP/SAVP").is_some_and(|l| l.packets > 20)
        {
            return m.clone();
        }
        assert!(
            Instant::now() < deadline,
            "no early media from Teams: {media:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn teams_early_media_reaches_the_pbx_caller_before_teams_says_busy() {
    let dir = test_dir();
    let mut stack = Stack::start(dir.path()).await;
    // Teams plays an announcement (183 with SDP, audio) and then says busy.
    let mut teams = SippCall::early_media(dir.path(), stack.microsoft.teams_uas.port(), "teams");
    let alex = Caller::desk_phone(&stack, "1001");
    let mut call = SippCall::dial(dir.path(), &alex, "1000", Ending::Refused);
    let during = wait_srtp_from_microsoft(&stack).await;
    both_finish(&mut call, &mut teams).await;
    assert_eq!(call.final_failure(), Some(486));

    // The desk phone got the 183 with an SDP for plain RTP from the gateway's rtpengine.
    let progress = call
        .received_response(183)
        .expect("the 183 reached the PBX's caller");
    assert!(progress.contains("m=audio "), "{progress}");
    assert!(progress.contains("RTP/AVP"), "{progress}");
    assert!(!progress.contains("a=crypto"), "{progress}");
    // The announcement came to the gateway as SRTP from Microsoft's media processor, which
    // got it as RTP from the Teams client. None failed to decrypt once it flowed: the first
    // packet or two may, when Microsoft's media starts before the 183 (and with it Microsoft's
    // key) has reached the gateway's rtpengine; a 20 ms packet nobody hears.
    let after = only_call(&stack.media).await;
    let srtp = |m: &CallMedia| m.leg("RTP/SAVP").cloned().unwrap();
    assert_eq!(srtp(&after).errors, srtp(&during).errors, "{after:?}");
    let theirs = only_call(&stack.microsoft.media).await;
    let from_teams = theirs.leg("RTP/AVP").expect("the Teams client's leg");
    assert!(from_teams.packets > 20, "{theirs:?}");

    let rec = stack.next_record(&mut CallRecords::default()).await;
    assert_eq!(rec.direction, Some(Direction::ToTeams));
    assert_eq!((rec.final_code, rec.outcome), (Some(486), Outcome::Busy));
    assert!(rec.answered_at.is_none(), "{rec:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_pbx_caller_puts_teams_on_hold_and_takes_the_call_back() {
    let dir = test_dir();
    let mut stack = Stack::start(dir.path()).await;
    let mut teams = SippCall::answer_hold(dir.path(), stack.microsoft.teams_uas.port(), "teams");
    let alex = Caller::desk_phone(&stack, "1001");
    let mut call = SippCall::dial(
        dir.path(),
        &alex,
        "1000",
        Ending::HoldsAndResumes { talk_ms: 2000 },
    );
    assert_media_flows(&stack).await;
    both_finish(&mut call, &mut teams).await;

    // Teams got the call, then the hold (a=sendonly), then the resume (a=sendrecv): the
    // direction passes through both rtpengines.
    let invites = teams.received_requests("INVITE");
    assert_eq!(invites.len(), 3, "{invites:?}");
    assert!(invites[1].contains("a=sendonly"), "hold: {}", invites[1]);
    assert!(invites[2].contains("a=sendrecv"), "resume: {}", invites[2]);
    // The desk phone heard Teams accept each: on hold, Teams only listens (a=recvonly).
    let oks = call.received_responses(200);
    assert!(
        oks.iter().any(|m| m.contains("a=recvonly")),
        "the hold's answer: {oks:?}"
    );
    // Kamailio sent each request within the call (the re-INVITEs and their ACKs, the BYE) from
    // the socket our Record-Route names: the tenant FQDN in it is no socket's address, its
    // `sn` parameter names the TLS listener.
    assert!(invites[0].contains(";sn=microsoft;"), "{}", invites[0]);
    let log = std::fs::read_to_string(stack.node.supervisor.log_file()).unwrap_or_default();
    assert!(
        !log.contains("no socket found to match second RR"),
        "Kamailio could not tell the socket of an in-dialog request: {}",
        stack.node.supervisor.log_file().display()
    );

    // Still one call, answered, in the records.
    let rec = stack.next_record(&mut CallRecords::default()).await;
    assert_eq!(rec.direction, Some(Direction::ToTeams));
    assert_eq!(rec.outcome, Outcome::Answered);
    assert!(
        rec.duration().is_some_and(|d| d >= Duration::from_secs(4)),
        "{rec:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_transfer_in_teams_goes_to_the_pbx_as_a_refer_to_the_extension() {
    let dir = test_dir();
    let mut stack = Stack::start(dir.path()).await;
    // Adele calls Alex's desk phone (1001) from Teams, then transfers him to Diego (1002).
    let mut desk = SippCall::answer_refer(dir.path(), free_port(), "alex-desk");
    register_phone(&stack, "1001", &desk).await;
    let adele = Caller::teams_user(&stack, "+11000");
    let mut call = SippCall::dial(
        dir.path(),
        &adele,
        "1001",
        Ending::Transfers {
            talk_ms: 1000,
            to: "1002",
        },
    );
    both_finish(&mut call, &mut desk).await;

    // The PBX side got the REFER with the target in the PBX's own domain, so the PBX routes
    // the transfer by its rules; Teams heard it accepted (202) and done (NOTIFY).
    let refers = desk.received_requests("REFER");
    assert_eq!(refers.len(), 1, "{refers:?}");
    let refer_to = refers[0]
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("refer-to:"))
        .unwrap();
    assert!(refer_to.contains("<sip:1002@contoso>"), "{refer_to}");
    assert!(call.received_response(202).is_some());
    let notify = call.received_requests("NOTIFY");
    assert!(
        notify.first().is_some_and(|n| n.contains("SIP/2.0 200 OK")),
        "{notify:?}"
    );

    let rec = stack.next_record(&mut CallRecords::default()).await;
    assert_eq!(rec.direction, Some(Direction::ToPbx));
    assert_eq!(rec.outcome, Outcome::Answered);
}
