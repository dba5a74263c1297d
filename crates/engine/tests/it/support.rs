//! The engine against the simulated Microsoft cloud (and NetSapiens PBX) over HTTP, on a fresh
//! SQLite or PostgreSQL database.

use secrecy::SecretString;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use teamline_domain::enterprise::TenantId;
use teamline_domain::ids::{EnterpriseId, PbxUserId};
use teamline_domain::pbx_user::PushState;
use teamline_engine::demo::{DemoFacts, DemoTeamsUser, seed};
use teamline_engine::testbed::{self, Testbed};
use teamline_engine::{ApiConnector, Engine, EngineSettings};
use teamline_microsoft::{MicrosoftClient, MicrosoftCloud, MicrosoftConfig};
use teamline_sim::microsoft::{MicrosoftSim, RunningSim, SimConfig, TenantControl, demo as ms};
use teamline_sim::netsapiens::{DEMO_API_KEY, NetSapiensSim, NetSapiensSimHandle};
use teamline_store::crypto::Keyring;
use teamline_store::{DynStore, SystemClock};
use tokio_util::sync::CancellationToken;

/// Settings for tests: nothing periodic unless a test asks, quick propagation re-checks.
pub fn settings() -> EngineSettings {
    EngineSettings {
        directory_sync_every: None,
        reconcile_every: None,
        propagation_recheck: Duration::from_millis(200),
        ..EngineSettings::default()
    }
}

/// The simulated Microsoft cloud, serving HTTP on a random port.
pub struct Cloud {
    pub sim: MicrosoftSim,
    pub url: String,
    _running: RunningSim,
}

impl Cloud {
    pub async fn start() -> Self {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let sim = MicrosoftSim::new(SimConfig::default()).unwrap();
        let running = sim
            .spawn_http(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .unwrap();
        Self {
            sim,
            url: running.base_url().to_owned(),
            _running: running,
        }
    }

    /// Teamline's Microsoft client pointed at the simulator, with at most `concurrency`
    /// requests at once per tenant.
    pub fn client(&self, concurrency: usize) -> Arc<dyn MicrosoftCloud> {
        let mut config = MicrosoftConfig::new(
            ms::TEAMLINE_APP_CLIENT_ID,
            SecretString::from(ms::TEAMLINE_APP_CLIENT_SECRET.to_owned()),
            url::Url::parse("http://127.0.0.1:8080/auth/microsoft/callback").unwrap(),
        )
        .with_single_base(url::Url::parse(&self.url).unwrap());
        config.tenant_concurrency = concurrency;
        Arc::new(MicrosoftClient::new(config).unwrap())
    }
}

pub async fn sqlite_store(dir: &tempfile::TempDir) -> DynStore {
    Arc::new(
        teamline_store_sqlite::open(
            &dir.path().join("teamline.db"),
            Arc::new(Keyring::for_testing()),
            Arc::new(SystemClock),
        )
        .await
        .unwrap(),
    )
}

pub fn engine(store: DynStore, client: Arc<dyn MicrosoftCloud>, s: EngineSettings) -> Engine {
    Engine::new(store, client, Arc::new(ApiConnector), s)
}

/// Contoso as in SPEC.md §8: the demo seed against the simulated tenant and PBX.
pub struct Contoso {
    pub cloud: Cloud,
    pub tenant: TenantControl,
    pub pbx: NetSapiensSimHandle,
    pub engine: Engine,
    pub e: EnterpriseId,
    _dir: tempfile::TempDir,
}

impl Contoso {
    pub async fn start(s: EngineSettings, concurrency: usize) -> Self {
        let cloud = Cloud::start().await;
        let tenant = cloud.sim.seed_contoso();
        let pbx = NetSapiensSim::new()
            .seed_contoso()
            .spawn(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let store = sqlite_store(&dir).await;
        let engine = engine(store.clone(), cloud.client(concurrency), s);
        let facts = DemoFacts {
            contoso_tenant_id: TenantId::parse(ms::CONTOSO_TENANT_ID).unwrap(),
            contoso_sync_group: (
                ms::contoso_group_id(ms::SYNC_GROUP),
                ms::SYNC_GROUP.to_owned(),
            ),
            debra: DemoTeamsUser {
                object_id: ms::contoso_user_id(ms::DEBRA_BERGER),
                upn: ms::upn_for(ms::DEBRA_BERGER, ms::CONTOSO_DOMAIN),
                display_name: ms::DEBRA_BERGER.to_owned(),
            },
            pbx_api_base_url: format!("{}/ns-api/v2", pbx.base_url),
            pbx_api_key: SecretString::from(DEMO_API_KEY.to_owned()),
            reseller_password: SecretString::from("northwind-demo-2026".to_owned()),
        };
        let summary = seed(&store, &facts).await.unwrap();
        Self {
            cloud,
            tenant,
            pbx,
            engine,
            e: summary.contoso.id,
            _dir: dir,
        }
    }

    pub fn upn(name: &str) -> String {
        ms::upn_for(name, ms::CONTOSO_DOMAIN)
    }
}

/// A generated tenant `name` in the simulator with an onboarded enterprise for it, its
/// directory synced.
pub async fn generated(
    cloud: &Cloud,
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

/// Runs a runner (and what else the test starts) in the background until dropped.
pub struct Background {
    cancel: CancellationToken,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Background {
    pub fn runner(engine: &Engine, worker: &str) -> Self {
        let mut b = Self {
            cancel: CancellationToken::new(),
            tasks: Vec::new(),
        };
        b.add_runner(engine, worker);
        b
    }

    pub fn add_runner(&mut self, engine: &Engine, worker: &str) {
        let runner = Arc::new(engine.runner(worker));
        self.tasks
            .push(tokio::spawn(runner.run(self.cancel.clone())));
    }

    pub fn add_scheduler(&mut self, engine: &Engine, tick: Duration) {
        let scheduler = engine.scheduler().tick(tick);
        self.tasks
            .push(tokio::spawn(scheduler.run(self.cancel.clone())));
    }

    pub async fn stop(mut self) {
        self.cancel.cancel();
        for t in std::mem::take(&mut self.tasks) {
            let _ = t.await;
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
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
