use crate::TestkitError;
use secrecy::SecretString;
use std::net::SocketAddr;
use std::sync::Arc;
use teamline_engine::{ApiConnector, Engine, EngineSettings, PbxNetworkPolicy};
use teamline_microsoft::{MicrosoftClient, MicrosoftCloud, MicrosoftConfig};
use teamline_sim::microsoft::{MicrosoftSim, RunningSim, SimConfig, demo as ms};
use teamline_store::DynStore;

/// The simulated Microsoft cloud (sign-in, Graph, Teams administration) serving HTTP on a
/// random local port. No tenant is seeded: use [`MicrosoftSimulator::sim`].
pub struct MicrosoftSimulator {
    pub sim: MicrosoftSim,
    /// Its base URL, for every Microsoft endpoint.
    pub url: String,
    running: RunningSim,
}

impl MicrosoftSimulator {
    pub async fn start() -> Result<Self, TestkitError> {
        Self::start_with(SimConfig::default()).await
    }

    /// With `config` (e.g. the DNS server domain verification asks).
    pub async fn start_with(config: SimConfig) -> Result<Self, TestkitError> {
        install_crypto();
        let simulator =
            |e: teamline_sim::microsoft::SimError| TestkitError::Simulator(e.to_string());
        let sim = MicrosoftSim::new(config).map_err(simulator)?;
        let running = sim
            .spawn_http(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .map_err(simulator)?;
        Ok(Self {
            sim,
            url: running.base_url().to_owned(),
            running,
        })
    }

    pub async fn stop(self) {
        self.running.shutdown().await;
    }
}

/// Teamline's Microsoft client for the simulator at `sim_url`, as the app registration of the
/// simulated cloud; sign-in and consent come back to `portal_url`. At most
/// `tenant_concurrency` requests at once per tenant.
pub fn microsoft_client(
    sim_url: &str,
    portal_url: &str,
    tenant_concurrency: usize,
) -> Result<Arc<dyn MicrosoftCloud>, TestkitError> {
    install_crypto();
    let url = |s: String| {
        url::Url::parse(&s).map_err(|e| TestkitError::Microsoft(format!("{s} is not a URL: {e}")))
    };
    let portal = portal_url.trim_end_matches('/');
    let mut config = MicrosoftConfig::new(
        ms::TEAMLINE_APP_CLIENT_ID,
        SecretString::from(ms::TEAMLINE_APP_CLIENT_SECRET.to_owned()),
        url(format!("{portal}/auth/microsoft/callback"))?,
    )
    .with_single_base(url(sim_url.to_owned())?);
    config.consent_redirect_uri = Some(url(format!("{portal}/auth/microsoft/consent"))?);
    config.tenant_concurrency = tenant_concurrency.max(1);
    let client =
        MicrosoftClient::new(config).map_err(|e| TestkitError::Microsoft(e.to_string()))?;
    Ok(Arc::new(client))
}

/// An engine on `store` that reaches Microsoft at the simulator `sim_url` and each PBX
/// through its stored settings, with no portal of its own.
pub fn engine_for(
    store: DynStore,
    sim_url: &str,
    settings: EngineSettings,
    tenant_concurrency: usize,
) -> Result<Engine, TestkitError> {
    let microsoft = microsoft_client(sim_url, "http://127.0.0.1:8080", tenant_concurrency)?;
    Ok(Engine::new(store, microsoft, pbx_connector(), settings))
}

/// The PBX connector of the tests and the demo: the simulators serve plain http on
/// 127.0.0.1, which Teamline only reaches when its operator allows http and private
/// addresses (`teamline serve --pbx-allow-http --pbx-allow-private-network`).
pub fn pbx_connector() -> Arc<ApiConnector> {
    Arc::new(ApiConnector::new(PbxNetworkPolicy::TRUSTED_NETWORK))
}

/// One TLS crypto provider for every client and server in the process (the binary installs
/// it in `main`; tests and benchmarks get it here).
fn install_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
