//! Simulator of the Microsoft cloud: Entra ID (sign-in, consent, tokens), Microsoft Graph v1.0
//! (directory, delta, `$batch`, domains, Teams administration) and the Teams admin REST surface
//! used by Teams PowerShell.
//!
//! One axum router serves the paths of every host (`login.microsoftonline.com`,
//! `graph.microsoft.com`, `api.interfaces.records.teams.microsoft.com`), so a client given the
//! simulator's base URL for all three talks to it exactly as to Microsoft.
//!
//! ```no_run
//! # async fn demo() -> Result<(), teamline_sim::microsoft::SimError> {
//! use teamline_sim::microsoft::{MicrosoftSim, SimConfig, demo};
//! let sim = MicrosoftSim::new(SimConfig::default())?;
//! let contoso = sim.seed_contoso();
//! let running = sim.spawn_http("127.0.0.1:0".parse().unwrap()).await?;
//! println!("Graph at {}/v1.0, tenant {}", running.base_url(), demo::CONTOSO_TENANT_ID);
//! contoso.set_throttle_budget(Some(100));
//! # Ok(()) }
//! ```
//!
//! What was modelled from Microsoft's documentation and what was inferred is listed in
//! `src/microsoft/FIDELITY.md`.

mod admission;
mod batch;
mod behaviour;
mod configapi;
pub mod control;
mod delta;
pub mod demo;
mod directory;
mod dns_check;
mod entra;
mod errors;
mod faults;
mod graph;
mod jwt;
mod model;
mod odata;
mod pages;
mod request;
mod seed;
mod state;
mod teams;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::http::HeaderMap;
use axum::routing::{any, get, post};

pub use behaviour::{Behaviour, ConfigCreate, PolicyIdLookup, ReassignHeldNumber};
pub use control::{
    ConsentState, ControlError, NewUser, PlanState, TeamsState, TenantControl, UserPatch, UserRoles,
};
pub use faults::{Faults, InjectedErrors, KindStats, RequestStats, WindowStats, request_kind};
pub use model::CapabilityStatus;
pub use state::{EntityShape, SimConfig};
pub use teams::normalize_number;

use state::{AppRegistration, SimState};

/// The scheme a listener serves (`http` / `https`), attached to requests so that links,
/// issuers and `Location` headers use it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Scheme(pub &'static str);

/// Base URL (`scheme://host[:port]`) as the client addressed the simulator.
pub(crate) fn base_url(state: &SimState, scheme: Option<Scheme>, headers: &HeaderMap) -> String {
    if let Some(b) = &state.config.public_base_url {
        return b.trim_end_matches('/').to_string();
    }
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    format!("{}://{host}", scheme.map(|s| s.0).unwrap_or("http"))
}

/// Errors starting the simulator.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error(transparent)]
    Key(#[from] jwt::KeyError),
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
    #[error("could not listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// The Microsoft cloud simulator: tenants, app registrations and the HTTP surface.
#[derive(Clone)]
pub struct MicrosoftSim {
    state: Arc<SimState>,
}

impl std::fmt::Debug for MicrosoftSim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MicrosoftSim")
            .field("tenants", &self.state.tenant_ids())
            .finish()
    }
}

impl MicrosoftSim {
    /// A simulator with Teamline's app registration and no tenants.
    pub fn new(config: SimConfig) -> Result<Self, SimError> {
        crate::tls::install_crypto_provider();
        let keys = jwt::SigningKeys::shared()?;
        let teamline = AppRegistration {
            client_id: demo::TEAMLINE_APP_CLIENT_ID.to_string(),
            secret: demo::TEAMLINE_APP_CLIENT_SECRET.to_string(),
            name: demo::TEAMLINE_APP_NAME.to_string(),
            redirect_uris: demo::TEAMLINE_APP_REDIRECT_URIS
                .iter()
                .map(|s| s.to_string())
                .collect(),
            graph_roles: demo::TEAMLINE_GRAPH_APP_ROLES
                .iter()
                .map(|s| s.to_string())
                .collect(),
            delegated_scopes: demo::TEAMLINE_DELEGATED_SCOPES
                .iter()
                .map(|s| s.to_string())
                .collect(),
        };
        Ok(Self {
            state: Arc::new(SimState {
                config,
                keys,
                directory: Default::default(),
                apps: std::sync::Mutex::new(vec![teamline]),
                entra: Default::default(),
            }),
        })
    }

    fn control(&self, tenant: Arc<std::sync::Mutex<model::Tenant>>) -> TenantControl {
        TenantControl::new(tenant, self.state.clone())
    }

    /// Adds Contoso (see `docs/demo-data.md`): consent granted, voice routes provisioned.
    pub fn seed_contoso(&self) -> TenantControl {
        self.control(self.state.insert_tenant(seed::contoso()))
    }

    /// Adds Fabrikam: its own admin, Teamline's consent not granted.
    pub fn seed_fabrikam(&self) -> TenantControl {
        self.control(self.state.insert_tenant(seed::fabrikam()))
    }

    /// Adds a generated tenant `name` (`{name}.example`) with `users` licensed users, the first
    /// `group_members` of them in "Teammate Sync", and consent granted. Deterministic.
    pub fn seed_generated(&self, name: &str, users: usize, group_members: usize) -> TenantControl {
        self.seed_generated_groups(name, users, group_members, 1)
    }

    /// A generated tenant with `sync_groups` overlapping sync groups of `group_members` each
    /// (see [`demo::generated_sync_group_range`]).
    pub fn seed_generated_groups(
        &self,
        name: &str,
        users: usize,
        group_members: usize,
        sync_groups: usize,
    ) -> TenantControl {
        self.control(self.state.insert_tenant(seed::generated(
            name,
            users,
            group_members.min(users),
            sync_groups,
        )))
    }

    /// A tenant by id, domain or display name.
    pub fn tenant(&self, key: &str) -> Option<TenantControl> {
        self.state.tenant(key).map(|t| self.control(t))
    }

    /// All tenants, in creation order.
    pub fn tenants(&self) -> Vec<TenantControl> {
        self.state
            .tenant_ids()
            .iter()
            .filter_map(|id| self.tenant(id))
            .collect()
    }

    /// Registers another redirect URI for Teamline's app registration.
    pub fn add_redirect_uri(&self, uri: &str) {
        let mut apps = state::lock(&self.state.apps);
        for app in apps
            .iter_mut()
            .filter(|a| a.client_id == demo::TEAMLINE_APP_CLIENT_ID)
        {
            if !app.redirect_uris.iter().any(|u| u == uri) {
                app.redirect_uris.push(uri.to_string());
            }
        }
    }

    /// The router serving every endpoint (links use the request's `Host` and scheme `http`
    /// unless [`SimConfig::public_base_url`] is set).
    pub fn router(&self) -> Router {
        Router::new()
            .route("/v1.0/{*rest}", any(graph::entry))
            .route("/Skype.Policy/{*rest}", any(configapi::entry))
            .route("/Teams.Tenant/{*rest}", any(configapi::entry))
            .route(
                "/{tenant}/v2.0/.well-known/openid-configuration",
                get(entra::openid_configuration),
            )
            .route("/{tenant}/discovery/v2.0/keys", get(entra::jwks))
            .route("/{tenant}/oauth2/v2.0/authorize", get(entra::authorize))
            .route("/{tenant}/oauth2/v2.0/token", post(entra::token))
            .route(
                "/{tenant}/oauth2/v2.0/logout",
                get(entra::logout).post(entra::logout),
            )
            .route("/{tenant}/v2.0/adminconsent", get(entra::admin_consent_v2))
            .route("/{tenant}/adminconsent", get(entra::admin_consent_v1))
            .route("/{tenant}/login", post(entra::login))
            .route("/{tenant}/consent", post(entra::consent_decision))
            .merge(control::routes())
            .with_state(self.state.clone())
    }

    fn router_for(&self, scheme: &'static str) -> Router {
        self.router().layer(axum::Extension(Scheme(scheme)))
    }

    /// Serves over HTTP on `addr` (use port 0 for a random one).
    pub async fn spawn_http(&self, addr: SocketAddr) -> Result<RunningSim, SimError> {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| SimError::Bind { addr, source })?;
        let local = listener
            .local_addr()
            .map_err(|source| SimError::Bind { addr, source })?;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let app = self.router_for("http");
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = rx.await;
                })
                .await;
        });
        Ok(RunningSim {
            base_url: format!("http://{}", host_port(local)),
            addr: local,
            ca_pem_path: None,
            stop: Stop::Http(Some(tx)),
            task,
        })
    }

    /// Serves over HTTPS on `addr` with a fresh self-signed CA whose certificate is written to
    /// `ca_dir/teamline-sim-ca.pem` (see [`RunningSim::ca_pem_path`]).
    pub async fn spawn_https(
        &self,
        addr: SocketAddr,
        ca_dir: &Path,
    ) -> Result<RunningSim, SimError> {
        let ca = crate::tls::TestCa::generate(&[])?;
        let ca_path = ca.write_ca_pem(ca_dir)?;
        let config = axum_server::tls_rustls::RustlsConfig::from_config(ca.server_config()?);
        let listener =
            std::net::TcpListener::bind(addr).map_err(|source| SimError::Bind { addr, source })?;
        listener
            .set_nonblocking(true)
            .map_err(|source| SimError::Bind { addr, source })?;
        let local = listener
            .local_addr()
            .map_err(|source| SimError::Bind { addr, source })?;
        let handle = axum_server::Handle::new();
        let server = axum_server::from_tcp_rustls(listener, config)
            .map_err(|source| SimError::Bind { addr, source })?
            .handle(handle.clone());
        let app = self.router_for("https");
        let task = tokio::spawn(async move {
            let _ = server.serve(app.into_make_service()).await;
        });
        Ok(RunningSim {
            base_url: format!("https://{}", host_port(local)),
            addr: local,
            ca_pem_path: Some(ca_path),
            stop: Stop::Https(handle),
            task,
        })
    }
}

fn host_port(addr: SocketAddr) -> String {
    match addr {
        SocketAddr::V4(a) => format!("{}:{}", a.ip(), a.port()),
        SocketAddr::V6(a) => format!("[{}]:{}", a.ip(), a.port()),
    }
}

enum Stop {
    Http(Option<tokio::sync::oneshot::Sender<()>>),
    Https(axum_server::Handle<SocketAddr>),
}

/// A simulator listening on a socket; stops when dropped or on [`RunningSim::shutdown`].
pub struct RunningSim {
    base_url: String,
    addr: SocketAddr,
    ca_pem_path: Option<PathBuf>,
    stop: Stop,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for RunningSim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningSim")
            .field("base_url", &self.base_url)
            .finish()
    }
}

impl RunningSim {
    /// `http://127.0.0.1:PORT` or `https://127.0.0.1:PORT`: the base URL for login, Graph
    /// (`{base}/v1.0`) and the Teams admin REST surface alike.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The bound socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Path of the CA certificate to trust (HTTPS only).
    pub fn ca_pem_path(&self) -> Option<&Path> {
        self.ca_pem_path.as_deref()
    }

    /// Stops serving and waits for the server task to end.
    pub async fn shutdown(mut self) {
        self.signal_stop();
        let task = std::mem::replace(&mut self.task, tokio::spawn(async {}));
        let _ = task.await;
    }

    fn signal_stop(&mut self) {
        match &mut self.stop {
            Stop::Http(tx) => {
                if let Some(tx) = tx.take() {
                    let _ = tx.send(());
                }
            }
            Stop::Https(handle) => handle.shutdown(),
        }
    }
}

impl Drop for RunningSim {
    fn drop(&mut self) {
        self.signal_stop();
        self.task.abort();
    }
}
