//! What the PBX's INVITE carries decides what Teams gets: a forward announced in History-Info
//! (rather than Diversion), an offer with no codec Microsoft speaks, and session timers.

use std::path::Path;
use std::time::Duration;

use teamline_gateway::calls::{CallRecords, CallSettings, Direction, ForwardedCallerId, Outcome};

use super::stack::{Caller, Ending, Offer, SippCall, Stack, TENANT_FQDN};
use crate::harness::test_dir;

/// Alex (1001) calls Adele (1000) with `offer`; Teams declines. Returns what Alex heard and the
/// INVITE Teams received, if the call got there.
async fn call_adele(stack: &Stack, dir: &Path, offer: &Offer) -> (Option<u16>, Option<String>) {
    let port = stack.microsoft.teams_uas.port();
    let mut teams = SippCall::refuse(dir, port, "teams", 603, "Decline");
    let alex = Caller::desk_phone(stack, "1001");
    let mut call = SippCall::dial_offering(dir, &alex, "1000", Ending::Refused, offer);
    assert!(
        call.finished(Duration::from_secs(20)).await,
        "{}",
        call.log()
    );
    // Teams rang only when the call got to Microsoft; either way its sipp is done with.
    let _ = teams.finished(Duration::from_secs(2)).await;
    let invite = teams.received_requests("INVITE").into_iter().next();
    (call.final_failure(), invite)
}

fn header<'a>(msg: &'a str, name: &str) -> Option<&'a str> {
    let prefix = format!("{}:", name.to_ascii_lowercase());
    msg.lines()
        .find(|l| l.to_ascii_lowercase().starts_with(&prefix))
        .map(|l| l[prefix.len()..].trim())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_pbxs_invite_decides_caller_id_codec_and_session_timer_toward_teams() {
    let dir = test_dir();
    let mut stack = Stack::start(dir.path()).await;
    let mut records = CallRecords::default();

    // A forward the PBX announces with History-Info only (no Diversion): with "User's Caller
    // ID", Teams shows the extension that forwarded (1002).
    let users = CallSettings {
        forwarded_caller_id: ForwardedCallerId::UsersCallerId,
        ..CallSettings::default()
    };
    stack
        .node
        .rpc
        .set_call_settings(&stack.adele.id, &users)
        .await
        .unwrap();
    let forwarded = Offer {
        headers: vec!["History-Info: <sip:1002@contoso>;index=1".to_owned()],
        ..Offer::default()
    };
    let (heard, invite) = call_adele(&stack, dir.path(), &forwarded).await;
    assert_eq!(heard, Some(603));
    let from = header(invite.as_deref().unwrap(), "From")
        .unwrap()
        .to_owned();
    assert!(
        from.contains(&format!("<sip:+1002@{TENANT_FQDN}>")),
        "{from}"
    );
    let rec = stack.next_record(&mut records).await;
    assert_eq!(
        (rec.final_code, rec.outcome),
        (Some(603), Outcome::Rejected)
    );

    // No codec in common (GSM only): Microsoft answers 488, the gateway does not transcode,
    // the caller hears 488 and the record says the call failed with it.
    let gsm = Offer {
        codecs: vec![(3, "GSM/8000")],
        ..Offer::default()
    };
    let (heard, invite) = call_adele(&stack, dir.path(), &gsm).await;
    assert_eq!(heard, Some(488));
    assert!(invite.is_none(), "Teams rang: {invite:?}");
    let rec = stack.next_record(&mut records).await;
    assert_eq!(rec.direction, Some(Direction::ToTeams));
    assert_eq!((rec.final_code, rec.outcome), (Some(488), Outcome::Failed));

    // Session timers: an interval the gateway accepts reaches Teams as asked; one below the
    // gateway's minimum is refused with 422 and the minimum (Min-SE), so the PBX asks again.
    let timer = |secs: u32| Offer {
        headers: vec![
            "Supported: timer".to_owned(),
            format!("Session-Expires: {secs}"),
        ],
        ..Offer::default()
    };
    let (heard, invite) = call_adele(&stack, dir.path(), &timer(1800)).await;
    assert_eq!(heard, Some(603));
    let se = header(invite.as_deref().unwrap(), "Session-Expires").map(str::to_owned);
    assert!(
        se.as_deref().is_some_and(|v| v.starts_with("1800")),
        "{se:?}"
    );
    stack.next_record(&mut records).await;

    let port = stack.microsoft.teams_uas.port();
    let _teams = SippCall::refuse(dir.path(), port, "teams", 603, "Decline");
    let alex = Caller::desk_phone(&stack, "1001");
    let mut call = SippCall::dial_offering(dir.path(), &alex, "1000", Ending::Refused, &timer(30));
    assert!(
        call.finished(Duration::from_secs(20)).await,
        "{}",
        call.log()
    );
    assert_eq!(call.final_failure(), Some(422));
    let too_small = call.received_response(422).unwrap();
    assert_eq!(header(&too_small, "Min-SE"), Some("90"), "{too_small}");
}
