//! What Teams shows for a call from the PBX: the user's caller name policy (Transparent keeps
//! the PBX's name, Other replaces it) and, for a call the PBX forwarded, the original caller
//! or the user whose forward brought it (the PBX's Diversion header).

use std::time::Duration;

use teamline_gateway::calls::{CallSettings, CallerName, ForwardedCallerId};

use super::stack::{Caller, Ending, SippCall, Stack, TENANT_FQDN};
use crate::harness::test_dir;

/// Alex (1001) calls `extension` from his desk phone; Teams declines at once. Returns the From
/// header Microsoft's proxy received.
async fn from_seen_by_teams(stack: &Stack, dir: &std::path::Path, extension: &str) -> String {
    let port = stack.microsoft.teams_uas.port();
    let mut teams = SippCall::refuse(dir, port, "teams", 603, "Decline");
    let alex = Caller::desk_phone(stack, "1001");
    let mut call = SippCall::dial(dir, &alex, extension, Ending::Refused);
    assert!(
        call.finished(Duration::from_secs(20)).await,
        "{}",
        call.log()
    );
    assert!(
        teams.finished(Duration::from_secs(5)).await,
        "{}",
        teams.log()
    );
    teams.received_invite_header("From").unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn caller_name_is_the_pbxs_or_the_one_the_admin_chose() {
    let dir = test_dir();
    let stack = Stack::start(dir.path()).await;
    let id = stack.adele.id.clone();

    let from = from_seen_by_teams(&stack, dir.path(), "1000").await;
    assert!(
        from.starts_with(&format!("\"Caller 1001\" <sip:+1001@{TENANT_FQDN}>")),
        "Transparent: {from}"
    );

    let other = CallSettings {
        caller_name: CallerName::Other("Contoso Reception".to_owned()),
        ..CallSettings::default()
    };
    stack.node.rpc.set_call_settings(&id, &other).await.unwrap();
    assert_eq!(stack.node.rpc.call_settings(&id).await.unwrap(), other);
    let from = from_seen_by_teams(&stack, dir.path(), "1000").await;
    assert!(
        from.starts_with(&format!("\"Contoso Reception\" <sip:+1001@{TENANT_FQDN}>")),
        "Other: {from}"
    );

    // A name that would break the From header is refused with the reason.
    let bad = CallSettings {
        caller_name: CallerName::Other("Bad \"quote\"".to_owned()),
        ..CallSettings::default()
    };
    let err = stack
        .node
        .rpc
        .set_call_settings(&id, &bad)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("double quote"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_forwarded_call_shows_the_original_caller_or_the_forwarding_user() {
    let dir = test_dir();
    let stack = Stack::start(dir.path()).await;
    let id = stack.adele.id.clone();
    // Diego's extension 1002 forwards every call to Adele (1000), who is in Teams.
    stack
        .pbx
        .registrar
        .set_forward("contoso", "1002", Some("1000"))
        .await
        .unwrap();

    let from = from_seen_by_teams(&stack, dir.path(), "1002").await;
    assert!(
        from.contains(&format!("<sip:+1001@{TENANT_FQDN}>")),
        "Original Caller: {from}"
    );

    let users = CallSettings {
        forwarded_caller_id: ForwardedCallerId::UsersCallerId,
        ..CallSettings::default()
    };
    stack.node.rpc.set_call_settings(&id, &users).await.unwrap();
    let from = from_seen_by_teams(&stack, dir.path(), "1002").await;
    assert!(
        from.contains(&format!("<sip:+1002@{TENANT_FQDN}>")),
        "User's Caller ID: {from}"
    );

    // A call that was not forwarded still shows its caller.
    let from = from_seen_by_teams(&stack, dir.path(), "1000").await;
    assert!(
        from.contains(&format!("<sip:+1001@{TENANT_FQDN}>")),
        "not forwarded: {from}"
    );
}
