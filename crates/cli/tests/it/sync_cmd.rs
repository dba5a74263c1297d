//! `teamline sync --enterprise …`: runs the sync itself when no server holds the data
//! directory, follows the server's runner otherwise; plain progress lines when not on a
//! terminal, and the sync's summary at the end.

use std::path::Path;
use std::process::Output;
use std::sync::Arc;
use teamline::sim_process::SimProcess;
use teamline_domain::enterprise::TenantId;
use teamline_engine::EngineSettings;
use teamline_sim::microsoft::demo as ms;
use teamline_store::SystemClock;
use teamline_store::crypto::{EncryptionKey, Keyring};
use teamline_testkit::{engine_for, testbed};

fn sync(data: &Path, key: Option<&str>, sim: Option<&str>, extra: &[&str]) -> Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_teamline"));
    cmd.arg("sync").arg("--data-dir").arg(data).args(extra);
    if let Some(sim) = sim {
        cmd.args(["--microsoft-client-id", ms::TEAMLINE_APP_CLIENT_ID])
            .args(["--microsoft-login-url", sim])
            .args(["--microsoft-graph-url", sim])
            .args(["--microsoft-teams-admin-url", sim])
            .env(
                "TEAMLINE_MICROSOFT_CLIENT_SECRET",
                ms::TEAMLINE_APP_CLIENT_SECRET,
            );
    }
    if let Some(key) = key {
        cmd.env("TEAMLINE_ENCRYPTION_KEY", key);
    }
    cmd.env("TEAMLINE_LOG", "warn").output().unwrap()
}

fn stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "teamline sync failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_server_the_sync_runs_here_first_full_then_delta() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let exe = Path::new(env!("CARGO_BIN_EXE_teamline"));
    let sim = SimProcess::start(exe, "syncco:40:30").await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let key = EncryptionKey::generate_hex();
    {
        let store = teamline_store_sqlite::open(
            &data.join("teamline.db"),
            Arc::new(Keyring::new(EncryptionKey::from_hex(&key).unwrap(), vec![])),
            Arc::new(SystemClock),
        )
        .await
        .unwrap();
        let engine =
            engine_for(Arc::new(store), &sim.base_url, EngineSettings::default(), 4).unwrap();
        testbed::seed_enterprise(
            &engine,
            "Syncco",
            &TenantId::parse(&ms::generated_tenant_id("syncco")).unwrap(),
            ms::SYNC_GROUP,
            "http://127.0.0.1:9/ns-api/v2",
        )
        .await
        .unwrap();
    }

    let first = stdout(&sync(
        &data,
        Some(&key),
        Some(&sim.base_url),
        &["--enterprise", "syncco"],
    ));
    assert!(
        first.contains("Syncco: Synced 30 users from Microsoft 365"),
        "{first}"
    );
    assert!(first.contains("30 added, 0 changed, 0 flagged"), "{first}");
    assert!(first.contains("full read: first sync"), "{first}");
    assert!(
        first
            .lines()
            .any(|l| l.starts_with("Syncco: ") && l.contains("members read")),
        "plain progress lines: {first}"
    );

    let second = stdout(&sync(
        &data,
        Some(&key),
        Some(&sim.base_url),
        &["--enterprise", "Syncco"],
    ));
    assert!(
        second.contains("Syncco: Synced 0 changes from Microsoft 365"),
        "{second}"
    );

    let unknown = sync(
        &data,
        Some(&key),
        Some(&sim.base_url),
        &["--enterprise", "nope"],
    );
    assert!(!unknown.status.success());
    assert!(
        String::from_utf8_lossy(&unknown.stderr)
            .contains("no enterprise 'nope': use one of syncco"),
        "{}",
        String::from_utf8_lossy(&unknown.stderr)
    );
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beside_a_running_server_its_runner_does_the_sync() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("demo");
    let (_demo, _url) = crate::demo::start_demo(&data);
    // No Microsoft settings needed: the demo's runner talks to Microsoft.
    let out = stdout(&sync(
        &data,
        None,
        None,
        &["--enterprise", "contoso", "--full"],
    ));
    assert!(out.contains("Contoso: Synced"), "{out}");
    assert!(
        out.contains("full read: a full sync was asked for"),
        "{out}"
    );
}
