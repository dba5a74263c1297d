//! Teamline's test call: Kamailio calls the PBX as the user's device, the way a Teams call
//! would go, and Teamline hangs up.

use std::time::Duration;

use teamline_gateway::calls::test_call::PROXY_LABEL;
use teamline_gateway::calls::{CallRecords, Direction, Outcome, TestCall};

use super::stack::{SippCall, Stack, TENANT_FQDN, register_phone};
use crate::harness::{free_port, test_dir};

#[tokio::test(flavor = "multi_thread")]
async fn a_test_call_rings_the_extensions_phone_as_the_users_device_and_is_hung_up() {
    let dir = test_dir();
    let mut stack = Stack::start(dir.path()).await;
    // Adele's desk phone, another device of extension 1000, answers.
    let mut desk = SippCall::answer(dir.path(), free_port(), "adele-desk");
    register_phone(&stack, "1000", &desk).await;
    let listener = stack.node.settings.sip_listeners[0].clone();
    let call = TestCall::new("+11000", TENANT_FQDN, "1000");
    stack
        .node
        .rpc
        .start_test_call(&listener, &call)
        .await
        .unwrap();

    let mut records = CallRecords::default();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let ev = tokio::time::timeout_at(deadline, stack.events.next())
            .await
            .expect("the test call is answered within 30 s")
            .expect("a call event");
        records.apply(&ev);
        if ev.call_id == call.call_id && ev.event == teamline_gateway::calls::EventKind::Answer {
            break;
        }
    }
    // The gateway's own ACK reached the phone (as Teamline hangs up only after a moment).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while desk.received_requests("ACK").is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the phone got no ACK: {}",
            desk.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        stack
            .node
            .rpc
            .hang_up_test_call(&call.call_id)
            .await
            .unwrap()
    );
    let rec = stack.next_record(&mut records).await;
    assert!(
        desk.finished(Duration::from_secs(10)).await,
        "{}",
        desk.log()
    );

    // The PBX saw the user's own device calling the extension.
    let from = desk.received_invite_header("From").unwrap();
    assert!(from.contains("sip:1000tm@contoso"), "{from}");
    assert_eq!(rec.call_id, call.call_id);
    assert_eq!(rec.direction, Some(Direction::ToPbx));
    assert_eq!(rec.outcome, Outcome::Answered);
    assert_eq!(rec.device, "1000tm");
    assert_eq!(rec.from, "+11000");
    assert_eq!(rec.to, "1000");
    assert_eq!(rec.microsoft_proxy.as_deref(), Some(PROXY_LABEL));
    // Hung up: nothing is left of it in the gateway.
    assert!(
        !stack
            .node
            .rpc
            .hang_up_test_call(&call.call_id)
            .await
            .unwrap()
    );
}
