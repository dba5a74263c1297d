//! The SIP messages of a call, as Kamailio's `siptrace` copies them to Teamline (HEP3): each
//! on its side of the gateway, in order, with the digest and SRTP keys redacted.

use std::time::Duration;

use teamline_gateway::calls::{CallRecords, Outcome};
use teamline_gateway::trace::{CapturedMessage, Peer, capture};

use super::stack::{Caller, Ending, SippCall, Stack, register_phone};
use crate::harness::{free_port, test_dir};

#[tokio::test(flavor = "multi_thread")]
async fn a_teams_call_to_the_pbx_is_captured_on_both_sides_with_its_secrets_redacted() {
    let dir = test_dir();
    let mut stack = Stack::start(dir.path()).await;
    let mut desk = SippCall::answer(dir.path(), free_port(), "alex-desk");
    register_phone(&stack, "1001", &desk).await;
    let adele = Caller::teams_user(&stack, "+11000");
    let mut adele = SippCall::dial(
        dir.path(),
        &adele,
        "1001",
        Ending::Answered { hold_ms: 1000 },
    );
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
    let rec = stack.next_record(&mut CallRecords::default()).await;
    assert_eq!(rec.outcome, Outcome::Answered);

    let sides = stack
        .node
        .settings
        .trace_sides()
        .expect("the gateway's sides");
    let mut seen: Vec<CapturedMessage> = Vec::new();
    let done = |seen: &[CapturedMessage]| {
        [Peer::Microsoft, Peer::Pbx].iter().all(|peer| {
            seen.iter().any(|m| {
                m.peer == *peer && m.summary.method() == "BYE" && m.summary.label == "200 OK"
            })
        })
    };
    tokio::time::timeout(Duration::from_secs(30), async {
        while !done(&seen) {
            let p = stack.trace.next().await.expect("a HEP packet");
            if let Some(m) = capture(&p, &sides).filter(|m| m.summary.call_id == rec.call_id) {
                seen.push(m);
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("the call's BYE was never captured on both sides: {seen:#?}"));

    let on = |peer: Peer, from_gateway: bool| -> Vec<&str> {
        seen.iter()
            .filter(|m| m.peer == peer && m.from_gateway == from_gateway)
            .map(|m| m.summary.label.as_str())
            .collect()
    };
    // Microsoft's proxy sent the INVITE (over TLS) and got the PBX's answer back.
    assert_eq!(
        on(Peer::Microsoft, false).first(),
        Some(&"INVITE"),
        "{seen:#?}"
    );
    assert!(on(Peer::Microsoft, true).contains(&"200 OK"), "{seen:#?}");
    assert!(
        seen.iter()
            .filter(|m| m.peer == Peer::Microsoft)
            .all(|m| m.transport == "tls")
    );
    // The PBX challenged the device; the gateway sent the INVITE again with its credentials.
    let from_pbx = on(Peer::Pbx, false);
    assert!(
        from_pbx.contains(&"407 Proxy Authentication Required")
            || from_pbx.contains(&"401 Unauthorized"),
        "{seen:#?}"
    );
    assert!(
        on(Peer::Pbx, true)
            .iter()
            .filter(|l| **l == "INVITE")
            .count()
            >= 2,
        "{seen:#?}"
    );
    // Nothing kept holds the digest response or an SRTP key.
    let authorized = seen
        .iter()
        .find(|m| m.message.contains("Authorization: Digest"))
        .expect("the INVITE with credentials");
    assert!(
        authorized.message.contains("response=\"[redacted]\""),
        "{}",
        authorized.message
    );
    let srtp = seen
        .iter()
        .find(|m| m.message.contains("a=crypto:"))
        .expect("an SDP with SRTP");
    for m in &seen {
        for line in m.message.lines().filter(|l| l.starts_with("a=crypto:")) {
            assert!(line.ends_with("inline:[redacted]"), "{line}");
        }
    }
    assert_eq!(srtp.peer, Peer::Microsoft);
}
