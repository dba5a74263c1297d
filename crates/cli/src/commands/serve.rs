//! `teamline serve`: the web server and the job runner in one process.

use crate::config::{PbxNetworkArgs, StoreArgs, open_store, worker_id};
use anyhow::Context;
use clap::Args;
use secrecy::SecretString;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use teamline_engine::{Engine, EngineSettings, PbxConnector};
use teamline_microsoft::{MicrosoftClient, MicrosoftCloud, MicrosoftConfig};
use teamline_store::DynStore;
use tokio_util::sync::CancellationToken;

#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    #[command(flatten)]
    pub store: StoreArgs,

    /// Address to listen on.
    #[arg(long, env = "TEAMLINE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    #[command(flatten)]
    pub microsoft: MicrosoftArgs,

    #[command(flatten)]
    pub engine: EngineArgs,

    #[command(flatten)]
    pub gateway: super::gateway::GatewayArgs,

    #[command(flatten)]
    pub pbx_network: PbxNetworkArgs,

    #[command(flatten)]
    pub web: WebArgs,

    #[command(flatten)]
    pub dns_zone: super::dns_zone::DnsZoneArgs,

    #[command(flatten)]
    pub smtp: super::mail::SmtpArgs,
}

/// How the portal serves HTTP: time limits and who may read `/metrics`.
#[derive(Args, Debug, Clone)]
pub struct WebArgs {
    /// Seconds a client has to send a request's headers; slower (or idle keep-alive)
    /// connections are closed, so half-sent requests cannot pile up.
    #[arg(long, env = "TEAMLINE_HEADER_READ_TIMEOUT_SECS", default_value_t = 15)]
    pub header_read_timeout_secs: u64,

    /// Seconds one request may take, its body included; then it is answered 408.
    #[arg(long, env = "TEAMLINE_REQUEST_TIMEOUT_SECS", default_value_t = 60)]
    pub request_timeout_secs: u64,

    /// Serve `/metrics` on this address only (e.g. one only the monitoring network reaches)
    /// instead of next to the portal.
    #[arg(long, env = "TEAMLINE_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,

    /// Answer `/metrics` only to requests with `Authorization: Bearer <token>`.
    #[arg(long, env = "TEAMLINE_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
}

impl WebArgs {
    pub fn options(&self) -> teamline_web::WebOptions {
        teamline_web::WebOptions {
            header_read_timeout: Duration::from_secs(self.header_read_timeout_secs.max(1)),
            request_timeout: Duration::from_secs(self.request_timeout_secs.max(1)),
            metrics_on_portal: self.metrics_listen.is_none(),
            metrics_token: self
                .metrics_token
                .clone()
                .filter(|t| !t.trim().is_empty())
                .map(SecretString::from),
        }
    }
}

/// How the engine schedules and runs its work.
#[derive(Args, Debug, Clone)]
pub struct EngineArgs {
    /// Seconds between directory syncs (delta rounds) of each enterprise with consent;
    /// 0 = only on demand.
    #[arg(long, env = "TEAMLINE_SYNC_INTERVAL_SECS", default_value_t = 300)]
    pub sync_interval_secs: u64,

    /// Seconds between drift checks of each enterprise's configured users (Teams read back and
    /// PBX devices); 0 = only on demand.
    #[arg(long, env = "TEAMLINE_RECONCILE_INTERVAL_SECS", default_value_t = 3600)]
    pub reconcile_interval_secs: u64,

    /// Jobs this instance works on at once, across all enterprises: the fleet-wide
    /// concurrency. A scheduled sync cycle waits on the network, so with N enterprises and a
    /// round trip of L per sequential request it cannot end sooner than N × requests × L /
    /// this (2 000 idle tenants at 50 ms: 25 s at 8, 6 s at 32): raise it for a large fleet.
    /// Each tenant still gets at most `--microsoft-tenant-concurrency` requests at once and one
    /// sync at a time.
    #[arg(long, env = "TEAMLINE_RUNNER_CONCURRENCY", default_value_t = 8)]
    pub runner_concurrency: usize,

    /// Seconds a job stays claimed by this instance without news before another instance (or
    /// this one after a restart) takes it over.
    #[arg(long, env = "TEAMLINE_JOB_LEASE_SECS", default_value_t = 60)]
    pub job_lease_secs: u64,

    /// At most this many requests run at once against one Microsoft 365 tenant.
    #[arg(
        long,
        env = "TEAMLINE_MICROSOFT_TENANT_CONCURRENCY",
        default_value_t = 4
    )]
    pub microsoft_tenant_concurrency: usize,
}

impl EngineArgs {
    pub fn settings(&self) -> EngineSettings {
        let every = |secs: u64| (secs > 0).then(|| Duration::from_secs(secs));
        EngineSettings {
            directory_sync_every: every(self.sync_interval_secs),
            reconcile_every: every(self.reconcile_interval_secs),
            runner_concurrency: self.runner_concurrency.max(1),
            job_lease: Duration::from_secs(self.job_lease_secs.max(1)),
            ..EngineSettings::default()
        }
    }
}

impl Default for EngineArgs {
    fn default() -> Self {
        Self {
            sync_interval_secs: 300,
            reconcile_interval_secs: 3600,
            runner_concurrency: 32,
            job_lease_secs: 60,
            microsoft_tenant_concurrency: 4,
        }
    }
}

/// How Teamline reaches Microsoft: its app registration in Entra ID and the service URLs.
#[derive(Args, Debug, Clone)]
pub struct MicrosoftArgs {
    /// The URL browsers use to reach Teamline (sign-in redirects come back to
    /// <public-url>/auth/microsoft/callback, which must be a redirect URI of the app
    /// registration). Defaults to http://<listen>.
    #[arg(long, env = "TEAMLINE_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// The application (client) id of Teamline's multi-tenant app registration in Entra ID.
    #[arg(long, env = "TEAMLINE_MICROSOFT_CLIENT_ID")]
    pub microsoft_client_id: Option<String>,

    /// A client secret of that app registration.
    #[arg(long, env = "TEAMLINE_MICROSOFT_CLIENT_SECRET", hide_env_values = true)]
    pub microsoft_client_secret: Option<String>,

    /// Entra ID sign-in base URL.
    #[arg(long, env = "TEAMLINE_MICROSOFT_LOGIN_URL", default_value = teamline_microsoft::config::DEFAULT_LOGIN_BASE)]
    pub microsoft_login_url: String,

    /// Microsoft Graph base URL.
    #[arg(long, env = "TEAMLINE_MICROSOFT_GRAPH_URL", default_value = teamline_microsoft::config::DEFAULT_GRAPH_BASE)]
    pub microsoft_graph_url: String,

    /// Teams admin REST base URL (the service Teams PowerShell uses).
    #[arg(long, env = "TEAMLINE_MICROSOFT_TEAMS_ADMIN_URL", default_value = teamline_microsoft::config::DEFAULT_TEAMS_ADMIN_BASE)]
    pub microsoft_teams_admin_url: String,

    /// An extra CA certificate (PEM) to trust for the Microsoft URLs, e.g. a simulator's.
    #[arg(long, env = "TEAMLINE_MICROSOFT_CA_FILE")]
    pub microsoft_ca_file: Option<PathBuf>,
}

impl MicrosoftArgs {
    /// An engine with the default settings for a command that runs beside a server (sync,
    /// doctor): Microsoft as configured (the public URL defaults to the local portal), the PBX
    /// through `pbx` (the command's network policy).
    pub fn engine_beside_server(
        &self,
        store: DynStore,
        pbx: Arc<dyn PbxConnector>,
    ) -> anyhow::Result<Engine> {
        let public_url = self
            .public_url
            .clone()
            .unwrap_or_else(|| "http://127.0.0.1:8080".to_owned());
        let defaults = EngineArgs::default();
        let microsoft = self.client(&public_url, defaults.microsoft_tenant_concurrency)?;
        Ok(Engine::new(store, microsoft, pbx, defaults.settings()))
    }

    pub fn client(
        &self,
        public_url: &str,
        tenant_concurrency: usize,
    ) -> anyhow::Result<Arc<dyn MicrosoftCloud>> {
        let client_id = self.microsoft_client_id.clone().context(
            "set TEAMLINE_MICROSOFT_CLIENT_ID (or --microsoft-client-id) to the application id of Teamline's app registration in Entra ID",
        )?;
        let secret = self.microsoft_client_secret.clone().context(
            "set TEAMLINE_MICROSOFT_CLIENT_SECRET (or --microsoft-client-secret) to a client secret of Teamline's app registration",
        )?;
        let url = |what: &str, s: &str| {
            url::Url::parse(s).with_context(|| format!("{what} must be a URL (got {s})"))
        };
        let mut config = MicrosoftConfig::new(
            client_id,
            SecretString::from(secret),
            url(
                "the public URL",
                &format!(
                    "{}/auth/microsoft/callback",
                    public_url.trim_end_matches('/')
                ),
            )?,
        );
        config.consent_redirect_uri = Some(url(
            "the public URL",
            &format!(
                "{}/auth/microsoft/consent",
                public_url.trim_end_matches('/')
            ),
        )?);
        config.login_base = url("--microsoft-login-url", &self.microsoft_login_url)?;
        config.graph_base = url("--microsoft-graph-url", &self.microsoft_graph_url)?;
        config.teams_admin_base = url(
            "--microsoft-teams-admin-url",
            &self.microsoft_teams_admin_url,
        )?;
        config.tenant_concurrency = tenant_concurrency.max(1);
        if let Some(path) = &self.microsoft_ca_file {
            config.extra_root_ca_pem = Some(
                std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read {}", path.display()))?,
            );
        }
        Ok(Arc::new(MicrosoftClient::new(config)?))
    }
}

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let opened = open_store(&args.store).await?;
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    let addr = listener.local_addr()?;
    let public_url = args
        .microsoft
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"));
    let microsoft = args
        .microsoft
        .client(&public_url, args.engine.microsoft_tenant_concurrency)?;
    let engine = Engine::new(
        opened.store.clone(),
        microsoft,
        args.pbx_network.connector(),
        args.engine.settings(),
    );
    if let Some(publisher) = args.dns_zone.publisher()? {
        engine.set_dns_publisher(std::sync::Arc::new(publisher));
    }
    if let Some(invitations) = args.smtp.invitations(&args.store.data_dir, &public_url)? {
        tracing::info!("invitations are e-mailed over SMTP");
        engine.set_invitations(invitations);
    }
    let metrics_listener = match args.web.metrics_listen {
        Some(at) => Some(
            tokio::net::TcpListener::bind(at)
                .await
                .with_context(|| format!("cannot listen for /metrics on {at}"))?,
        ),
        None => None,
    };
    if let Some(dr) = args.gateway.direct_routing()? {
        let stored = opened.store.list_sbc_regions().await?;
        for problem in super::direct_routing::region_mismatches(&stored, &dr) {
            tracing::warn!("{problem}");
        }
    }
    let gateway = match args.gateway.sync(&engine, &worker_id())? {
        Some(sync) => {
            tracing::info!("driving the SIP gateway");
            let (tx, rx) = tokio::sync::watch::channel(false);
            let mut tasks = vec![tokio::spawn(sync.run(args.gateway.interval(), rx.clone()))];
            if let Some(recorder) = args.gateway.recorder(&engine)? {
                tracing::info!("recording calls through the SIP gateway");
                tasks.push(tokio::spawn(recorder.run(rx.clone())));
            }
            if let Some(trace) = args.gateway.trace_recorder(&engine)? {
                tracing::info!("keeping the SIP messages of calls through the SIP gateway");
                tasks.push(tokio::spawn(trace.listen().await?.run(rx)));
            }
            Some((tx, tasks))
        }
        None => None,
    };
    tracing::info!(%addr, "Teamline is listening");
    println!("Teamline is running at {public_url}");
    let served = run_app(
        engine,
        Web {
            public_url,
            listener,
            metrics_listener,
            options: args.web.options(),
        },
        CancellationToken::new(),
        shutdown_signal(),
    )
    .await;
    if let Some((stop, tasks)) = gateway {
        let _ = stop.send(true);
        for task in tasks {
            let _ = task.await;
        }
    }
    served
}

/// Where and how the portal is served.
pub struct Web {
    /// The URL browsers reach Teamline at.
    pub public_url: String,
    pub listener: tokio::net::TcpListener,
    /// A separate listener for `/metrics` (then not served next to the portal).
    pub metrics_listener: Option<tokio::net::TcpListener>,
    pub options: teamline_web::WebOptions,
}

/// Serves the Enterprise portal and the JSON API on `listener` with a job runner and the
/// scheduler of periodic syncs until `shutdown` resolves or `cancel` is cancelled.
pub async fn run_app(
    engine: Engine,
    web: Web,
    cancel: CancellationToken,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let runner = Arc::new(engine.runner(worker_id()));
    let runner_task = tokio::spawn(runner.run(cancel.clone()));
    let scheduler_task = tokio::spawn(engine.scheduler().run(cancel.clone()));
    let state = teamline_web::AppState::new(
        engine.store().clone(),
        engine,
        teamline_web::metrics::install(),
        web.public_url,
    )
    .with_options(web.options);
    let metrics_task = web.metrics_listener.map(|listener| {
        tokio::spawn(teamline_web::serve_metrics(
            listener,
            state.clone(),
            cancel.clone().cancelled_owned(),
        ))
    });
    let web_cancel = cancel.clone();
    let served = teamline_web::serve(web.listener, state, async move {
        tokio::select! {
            () = shutdown => {}
            () = web_cancel.cancelled() => {}
        }
    })
    .await;
    cancel.cancel();
    let _ = runner_task.await;
    let _ = scheduler_task.await;
    if let Some(task) = metrics_task {
        let _ = task.await;
    }
    served.map_err(Into::into)
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutting down");
}
