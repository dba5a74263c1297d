//! Calls while the gateway's media relay (rtpengine) is down: the gateway refuses them with 503
//! instead of sending them on with the caller's own SDP (unencrypted RTP toward Microsoft, or
//! media that bypasses the gateway), nothing reaches the other side, and each call's record
//! says that the media relay was unavailable.

use std::time::Duration;

use teamline_gateway::calls::{CallRecords, Direction, Outcome};
use teamline_gateway::trace::{CapturedMessage, Peer, capture};

use super::stack::{Caller, Ending, SippCall, Stack, register_desk_phone};
use crate::harness::test_dir;

#[tokio::test(flavor = "multi_thread")]
async fn with_rtpengine_down_calls_both_ways_are_refused_and_their_records_say_why() {
    let dir = test_dir();
    let mut stack = Stack::start(dir.path()).await;
    let desk_port = register_desk_phone(&stack, "1001").await;
    stack.stop_rtpengine().await;
    let mut records = CallRecords::default();

    // PBX → Teams: the gateway answers the PBX 503, which the PBX (a proxy) passes on to the
    // desk phone as 500 (RFC 3261 §16.7). Microsoft never sees the call.
    let teams = SippCall::answer(dir.path(), stack.microsoft.teams_uas.port(), "teams");
    let alex = Caller::desk_phone(&stack, "1001");
    let mut call = SippCall::dial(dir.path(), &alex, "1000", Ending::Refused);
    assert!(
        call.finished(Duration::from_secs(20)).await,
        "{}",
        call.log()
    );
    assert_eq!(call.final_failure(), Some(500), "{}", call.log());
    assert_eq!(stack.microsoft.seen("invite_to").await, None);
    assert!(teams.received_requests("INVITE").is_empty());
    let rec = stack.next_record(&mut records).await;
    assert_eq!(rec.direction, Some(Direction::ToTeams));
    assert_eq!(
        (rec.final_code, rec.outcome),
        (Some(503), Outcome::MediaUnavailable)
    );
    assert_eq!((rec.device.as_str(), rec.to.as_str()), ("1000tm", "+11000"));
    assert_refused_alone(&mut stack, &rec.call_id, Peer::Pbx).await;

    // Teams → PBX: Microsoft's proxy hears 503 and passes it on to the Teams client; the desk
    // phone never rings.
    let desk = SippCall::answer(dir.path(), desk_port, "desk-1001");
    let adele = Caller::teams_user(&stack, "+11000");
    let mut call = SippCall::dial(dir.path(), &adele, "1001", Ending::Refused);
    assert!(
        call.finished(Duration::from_secs(20)).await,
        "{}",
        call.log()
    );
    // Microsoft's stand-in, a proxy too, passes the gateway's 503 on as 500.
    assert_eq!(call.final_failure(), Some(500), "{}", call.log());
    assert!(desk.received_requests("INVITE").is_empty());
    let rec = stack.next_record(&mut records).await;
    assert_refused_alone(&mut stack, &rec.call_id, Peer::Microsoft).await;
    assert_eq!(rec.direction, Some(Direction::ToPbx));
    assert_eq!(
        (rec.final_code, rec.outcome),
        (Some(503), Outcome::MediaUnavailable)
    );
    assert_eq!(
        (rec.device.as_str(), rec.from.as_str()),
        ("1000tm", "+11000")
    );
}

/// The gateway answered the call's INVITE from `caller` with 503 naming the media relay, and
/// sent nothing of the call to the other side (as the gateway's SIP trace shows).
async fn assert_refused_alone(stack: &mut Stack, call_id: &str, caller: Peer) {
    let sides = stack
        .node
        .settings
        .trace_sides()
        .expect("the gateway's sides");
    let mut seen: Vec<CapturedMessage> = Vec::new();
    let refused = |seen: &[CapturedMessage]| {
        seen.iter()
            .any(|m| m.from_gateway && m.summary.label.starts_with("503 "))
    };
    tokio::time::timeout(Duration::from_secs(10), async {
        while !refused(&seen) {
            let p = stack.trace.next().await.expect("a HEP packet");
            if let Some(m) = capture(&p, &sides).filter(|m| m.summary.call_id == call_id) {
                seen.push(m);
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("the gateway's 503 was never captured: {seen:#?}"));
    let refusal = seen
        .iter()
        .find(|m| m.from_gateway && m.summary.label.starts_with("503 "))
        .expect("the 503");
    assert_eq!(refusal.peer, caller, "{refusal:#?}");
    assert!(
        refusal.message.contains("media relay unavailable"),
        "{refusal:#?}"
    );
    assert!(
        seen.iter().all(|m| m.peer == caller),
        "nothing of the call went to the other side: {seen:#?}"
    );
}
