//! The engine against the simulated Microsoft cloud (and NetSapiens PBX) over HTTP, on a fresh
//! SQLite or PostgreSQL database: the test kit's stack, and what these tests add.

use std::future::Future;
use std::time::Duration;
use teamline_domain::enterprise::TenantId;
use teamline_domain::ids::{EnterpriseId, PbxUserId};
use teamline_domain::pbx_user::PushState;
use teamline_engine::{Engine, EngineSettings};
use teamline_sim::microsoft::{TenantControl, demo as ms};
use teamline_testkit::testbed::{self, Testbed};
use teamline_testkit::{FirstSync, MicrosoftSimulator, TestApp};

/// Settings for tests: nothing periodic unless a test asks, quick propagation re-checks.
pub fn settings() -> EngineSettings {
    EngineSettings {
        directory_sync_every: None,
        reconcile_every: None,
        propagation_recheck: Duration::from_millis(200),
        ..EngineSettings::default()
    }
}

/// The demo's Contoso against the simulated tenant and PBX, nothing synced yet and no job
/// runner; at most `concurrency` requests at once to the tenant.
pub async fn contoso(s: EngineSettings, concurrency: usize) -> TestApp {
    TestApp::builder()
        .settings(s)
        .tenant_concurrency(concurrency)
        .first_sync(FirstSync::Skipped)
        .spawn()
        .await
        .unwrap()
}

/// A Contoso user's UPN.
pub fn upn(name: &str) -> String {
    ms::upn_for(name, ms::CONTOSO_DOMAIN)
}

/// A generated tenant `name` in the simulator with an onboarded enterprise for it, its
/// directory synced.
pub async fn generated(
    cloud: &MicrosoftSimulator,
    engine: &Engine,
    name: &str,
    users: usize,
    members: usize,
) -> (TenantControl, Testbed) {
    let tenant = cloud.sim.seed_generated(name, users, members);
    let tb = testbed::seed_enterprise(
        engine,
        name,
        &TenantId::parse(&ms::generated_tenant_id(name)).unwrap(),
        ms::SYNC_GROUP,
        "http://127.0.0.1:9/ns-api/v2",
    )
    .await
    .unwrap();
    engine
        .sync_directory(tb.enterprise.id, false)
        .await
        .unwrap();
    (tenant, tb)
}

/// Polls `check` until it holds (generous timeout: the machine may be loaded).
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    for _ in 0..1200 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting until {what}");
}

pub async fn push_state(engine: &Engine, e: EnterpriseId, id: PbxUserId) -> PushState {
    engine
        .store()
        .get_pbx_user(e, id)
        .await
        .unwrap()
        .user
        .push_state
}

pub async fn all_in_sync(engine: &Engine, e: EnterpriseId, ids: &[PbxUserId]) -> bool {
    for id in ids {
        let state = push_state(engine, e, *id).await;
        assert_ne!(state, PushState::Failed, "a push failed");
        if state != PushState::InSync {
            return false;
        }
    }
    true
}
