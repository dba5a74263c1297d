//! The gateway's link to Microsoft's SIP proxies: OPTIONS keep-alives, failover to the next
//! proxy when one stops answering, mutual TLS that refuses a certificate it does not trust,
//! and the per-region health that shows all of it.

use std::time::{Duration, Instant, SystemTime};

use teamline_gateway::calls::health::{self, ProxyState, RegionHealth};
use teamline_gateway::calls::{CallRecords, Direction, Outcome};

use super::stack::{Caller, Ending, SippCall, Stack, StackOptions};
use crate::harness::test_dir;

async fn regions(stack: &Stack) -> Vec<RegionHealth> {
    let dr = stack.node.settings.direct_routing.as_ref().unwrap();
    health::region_health(&stack.node.rpc, dr).await.unwrap()
}

/// Waits until the states of the region's proxies (in priority order) are `want`.
async fn wait_proxies(stack: &Stack, want: [ProxyState; 2]) -> RegionHealth {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = regions(stack).await.remove(0);
        let states: Vec<ProxyState> = r.proxies.iter().map(|p| p.state).collect();
        if states == want {
            return r;
        }
        assert!(
            Instant::now() < deadline,
            "proxies never became {want:?}: {r:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Alex calls Adele (1000); Teams declines. Returns what Alex heard.
async fn call_adele(stack: &Stack, dir: &std::path::Path) -> Option<u16> {
    let port = stack.microsoft.teams_uas.port();
    let mut teams = SippCall::refuse(dir, port, "teams", 603, "Decline");
    let alex = Caller::desk_phone(stack, "1001");
    let mut call = SippCall::dial(dir, &alex, "1000", Ending::Refused);
    assert!(
        call.finished(Duration::from_secs(20)).await,
        "{}",
        call.log()
    );
    // Teams rang only when the call got to Microsoft; either way its sipp is done with.
    let _ = teams.finished(Duration::from_secs(2)).await;
    call.final_failure()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_proxy_that_stops_answering_options_is_taken_out_and_calls_go_to_the_next() {
    let dir = test_dir();
    let stack = Stack::start(dir.path()).await;
    let [sip, sip2] = stack.microsoft.proxies;
    let r = wait_proxies(&stack, [ProxyState::Up, ProxyState::Up]).await;
    assert_eq!(r.proxies[0].fqdn, "sip.pstnhub.test");
    assert!(r.can_call());
    // The region's certificate is read, and its expiry is in the metrics.
    let left = r.certificate_valid_for(SystemTime::now()).unwrap();
    assert!(left > Duration::from_secs(86_400), "{r:?}");
    assert!(
        health::metrics(&[r], SystemTime::now())
            .contains("teamline_gateway_certificate_expiry_seconds{region=\"us-east-2\"")
    );

    // Microsoft's keep-alive carries the region's FQDN in Contact, the Allow list and X-MS-SBC.
    let contact = stack
        .microsoft
        .seen(&format!("options_contact::{}", sip.port()))
        .await;
    assert!(contact.unwrap().contains("sip:use2.sbc.test:"));
    let allow = stack.microsoft.seen("options_allow").await.unwrap();
    assert!(allow.contains("REFER"), "{allow}");

    assert_eq!(call_adele(&stack, dir.path()).await, Some(603));
    let port = stack.microsoft.seen("invite_port").await.unwrap();
    assert_eq!(port, sip.port().to_string(), "the first proxy takes calls");

    // sip stops answering: OPTIONS notice, and calls go to sip2.
    stack.microsoft.set_down(0, true).await;
    let r = wait_proxies(&stack, [ProxyState::Down, ProxyState::Up]).await;
    assert!(r.can_call());
    let m = health::metrics(&[r], SystemTime::now());
    assert!(
        m.contains(
            "teamline_gateway_microsoft_proxy_up{region=\"us-east-2\",proxy=\"sip.pstnhub.test\"} 0"
        ),
        "{m}"
    );
    assert_eq!(call_adele(&stack, dir.path()).await, Some(603));
    let port = stack.microsoft.seen("invite_port").await.unwrap();
    assert_eq!(port, sip2.port().to_string(), "the second proxy takes over");

    // sip answers again and is put back.
    stack.microsoft.set_down(0, false).await;
    wait_proxies(&stack, [ProxyState::Up, ProxyState::Up]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_microsoft_proxy_whose_certificate_the_gateway_does_not_trust_gets_no_calls() {
    let dir = test_dir();
    let opts = StackOptions {
        untrusted_microsoft: true,
        ..StackOptions::default()
    };
    let mut stack = Stack::start_with(dir.path(), opts).await;
    let r = wait_proxies(&stack, [ProxyState::Down, ProxyState::Down]).await;
    assert!(!r.can_call());

    // A call for Teams is refused at once with 503 (the PBX, a proxy, passes it on as 500, as
    // RFC 3261 asks): there is no proxy to send it to.
    assert_eq!(call_adele(&stack, dir.path()).await, Some(500));
    assert_eq!(stack.microsoft.seen("invite_to").await, None);
    let rec = stack.next_record(&mut CallRecords::default()).await;
    assert_eq!(rec.direction, Some(Direction::ToTeams));
    assert_eq!((rec.final_code, rec.outcome), (Some(503), Outcome::Failed));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_proxy_that_refuses_a_call_with_503_hands_it_to_the_next_one_and_the_record_says_which() {
    let dir = test_dir();
    let mut stack = Stack::start(dir.path()).await;
    let [_, sip2] = stack.microsoft.proxies;
    wait_proxies(&stack, [ProxyState::Up, ProxyState::Up]).await;
    // sip keeps answering OPTIONS but refuses new calls: the call goes on to sip2 at once.
    stack.microsoft.refuse_calls(0).await;
    assert_eq!(call_adele(&stack, dir.path()).await, Some(603));
    let port = stack.microsoft.seen("invite_port").await.unwrap();
    assert_eq!(
        port,
        sip2.port().to_string(),
        "the second proxy took the call"
    );
    let rec = stack.next_record(&mut CallRecords::default()).await;
    assert_eq!(
        (rec.final_code, rec.outcome),
        (Some(603), Outcome::Rejected)
    );
    assert_eq!(rec.microsoft_proxy.as_deref(), Some("sip2.pstnhub.test"));
}

#[tokio::test(flavor = "multi_thread")]
async fn microsoft_refuses_a_gateway_whose_certificate_it_does_not_trust() {
    let dir = test_dir();
    let opts = StackOptions {
        untrusted_sbc: true,
        ..StackOptions::default()
    };
    let mut stack = Stack::start_with(dir.path(), opts).await;
    // Microsoft's proxies refuse the TLS handshake: no OPTIONS gets an answer, no call goes.
    let r = wait_proxies(&stack, [ProxyState::Down, ProxyState::Down]).await;
    assert!(!r.can_call());
    assert_eq!(stack.microsoft.seen("options_allow").await, None);
    assert_eq!(call_adele(&stack, dir.path()).await, Some(500));
    assert_eq!(stack.microsoft.seen("invite_to").await, None);
    let rec = stack.next_record(&mut CallRecords::default()).await;
    assert_eq!((rec.final_code, rec.outcome), (Some(503), Outcome::Failed));
}
