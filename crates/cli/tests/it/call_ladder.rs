//! From a phone's call to its ladder on the call's page, every piece real: sipp plays Alex's
//! desk phone (1001) calling Adele's extension 1000 at the demo's PBX (the stand-in Kamailio
//! registrar), which rings her device 1000tm, registered by the gateway's Kamailio; the
//! gateway takes the call toward Microsoft, whose proxies the demo does not have, so the call
//! fails. Kamailio's `siptrace` copies each message to Teamline (HEP), which keeps them, and
//! the call's page draws them as a ladder.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use teamline_gateway::testing::calls::scenarios;
use teamline_gateway::testing::node::free_port;
use teamline_store::CallFilter;

use crate::test_call::{Browser, set_up_adele};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_desk_phones_call_through_the_gateway_is_drawn_as_a_ladder_on_its_page() {
    let dir = tempfile::tempdir().unwrap();
    let (stack, sip) = crate::gateway::demo_with_sip(dir.path()).await;
    assert!(
        sip.direct_routing.is_some(),
        "the demo's gateway has no calls"
    );
    set_up_adele(&stack).await;

    // Alex's desk phone calls 1000; the PBX challenges it and rings 1000tm.
    let scenario = dir.path().join("refused.xml");
    // The demo's Microsoft proxies are on a closed port: the gateway cannot send the call on
    // and answers 503 itself.
    std::fs::write(&scenario, scenarios::REFUSED).unwrap();
    let password = stack.pbx.sim().device_password("contoso", "1001").unwrap();
    let log = dir.path().join("sipp-alex.log");
    let out = std::fs::File::create(&log).unwrap();
    let alex = Command::new("sipp")
        .arg(sip.registrar.sip_addr().to_string())
        .arg("-sf")
        .arg(&scenario)
        .args(["-i", "127.0.0.1", "-p"])
        .arg(free_port().to_string())
        .args(["-key", "caller", "1001", "-key", "caller_domain", "contoso"])
        .args(["-key", "caller_name", "Alex Wilber", "-s", "1000"])
        .args(["-au", "1001", "-ap", &password, "-m", "1", "-nostdin"])
        .args([
            "-timeout",
            "60s",
            "-timeout_error",
            "-trace_err",
            "-trace_msg",
        ])
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .status()
        .expect("sipp (Debian package sip-tester) runs");
    assert!(
        alex.success(),
        "Alex's call ends with the gateway's answer: {}\n{}",
        std::fs::read_to_string(&log).unwrap_or_default(),
        sipp_messages(dir.path())
    );

    // The call's record and its messages reach Teamline on their own paths (call events,
    // HEP): wait until the page has the ladder with the gateway's answer to the PBX.
    let store = stack.engine.store();
    let b = Browser::contoso_admin(&stack).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    let (call, page) = loop {
        let calls = store
            .list_calls(stack.contoso.id, &CallFilter::default())
            .await
            .unwrap();
        if let Some(call) = calls.iter().find(|c| c.from_number.contains("1001")) {
            let (status, page) = b.get(&format!("/calls/{}", call.call_id)).await;
            assert_eq!(status, 200, "{page}");
            if page.contains(r#"id="call-ladder""#)
                && final_answer(&page).is_some()
                && call.result != "in_progress"
            {
                break (call.clone(), page);
            }
        }
        assert!(
            Instant::now() < deadline,
            "the call and its ladder never showed: {calls:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(call.device, "1000tm", "{call:?}");
    // Its record ended with the code Alex got.
    assert_eq!(call.result, "failed", "{call:?}");
    assert_eq!(call.sip_code, Some(503), "{call:?}");

    let ladder = page
        .split(r#"id="call-ladder""#)
        .nth(1)
        .and_then(|rest| rest.split("</section>").next())
        .unwrap();
    // The PBX's INVITE reached the gateway, and the gateway answered it with an error.
    assert!(ladder.contains("INVITE"), "{ladder}");
    let answer = final_answer(&page).unwrap();
    assert!(
        ladder.contains(&answer) && answer.chars().next().is_some_and(|c| c >= '4'),
        "{answer}: {ladder}"
    );
    // Each message is there whole, from the PBX's address, its Call-ID the call's.
    assert!(ladder.contains(&call.call_id), "{ladder}");
    assert!(
        ladder.contains(&sip.registrar.sip_addr().ip().to_string()),
        "{ladder}"
    );

    sip.stop().await;
    stack.stop().await.unwrap();
}

/// The label of the first final error (4xx–6xx) drawn on the ladder, e.g. `503 Service
/// Unavailable`.
fn final_answer(page: &str) -> Option<String> {
    page.split("ladder-arrow")
        .skip(1)
        .filter_map(|a| a.split_once('>')?.1.split_once('<').map(|(l, _)| l.trim()))
        .find(|l| l.starts_with(['4', '5', '6']))
        .map(str::to_owned)
}

/// What sipp sent and received (its `-trace_msg` file), for a failure's message.
fn sipp_messages(dir: &std::path::Path) -> String {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with("_messages.log"))
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .collect()
}
