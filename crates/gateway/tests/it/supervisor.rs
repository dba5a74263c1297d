//! The supervisor against a real Kamailio.

use std::time::Duration;

use crate::harness::{GatewayNode, crash};

#[tokio::test]
async fn kamailio_starts_answers_its_rpc_and_comes_back_after_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let node = GatewayNode::start(dir.path()).await;
    let version = node.rpc.core_version().await.unwrap();
    assert!(version.starts_with("kamailio 5."), "{version}");
    let first = node.rpc.core_uptime().await.unwrap();

    let pid = node.supervisor.pid().unwrap();
    crash(pid);
    // While it is down the RPC says so, as "unreachable" (what "gateway down" is made of).
    let mut saw_down = false;
    for _ in 0..200 {
        match node.rpc.core_version().await {
            Err(e) if e.is_unreachable() => {
                saw_down = true;
                break;
            }
            _ => tokio::time::sleep(Duration::from_millis(5)).await,
        }
    }
    let new_pid = node
        .supervisor
        .wait_running(2, Duration::from_secs(30))
        .await
        .expect("the supervisor restarts Kamailio");
    assert_ne!(new_pid, pid);
    let again = node.rpc.core_uptime().await.unwrap();
    assert!(saw_down || again.up_since != first.up_since);
    node.supervisor.stop().await;
    let err = node.rpc.core_version().await.unwrap_err();
    assert!(err.is_unreachable(), "{err}");
    assert!(err.to_string().contains("does not answer"), "{err}");
}

#[tokio::test]
async fn the_rpc_listener_refuses_a_wrong_token_and_serves_the_right_one() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = crate::harness::gateway_settings(dir.path());
    settings.rpc.token = Some(teamline_gateway::config::rpc_token("tok-123"));
    let node = GatewayNode::start_with(settings.clone(), dir.path()).await;
    assert!(node.rpc.core_version().await.is_ok());
    let wrong = teamline_gateway::rpc::RpcClient::with_url(
        settings.rpc.url(),
        Some(teamline_gateway::config::rpc_token("nope")),
    )
    .unwrap();
    let err = wrong.core_version().await.unwrap_err().to_string();
    assert!(err.contains("401") && err.contains("token"), "{err}");
    assert!(!err.contains("nope"));
    node.supervisor.stop().await;
}

#[tokio::test]
async fn a_configuration_kamailio_refuses_is_reported_with_kamailios_words() {
    crate::harness::require_kamailio();
    let dir = tempfile::tempdir().unwrap();
    let mut settings = crate::harness::gateway_settings(dir.path());
    settings.module_dir = dir.path().join("no-modules-here");
    let err = teamline_gateway::supervisor::Supervisor::start(
        &settings,
        teamline_gateway::supervisor::SupervisorSettings::new(dir.path().join("run")),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(err.contains("refused the rendered configuration"), "{err}");
    assert!(
        err.contains("kamailio.cfg") && err.contains("ERROR"),
        "{err}"
    );
}
