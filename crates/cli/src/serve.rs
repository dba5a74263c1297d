//! `teamline serve`: the web server and the job runner in one process.

use crate::config::{StoreArgs, open_store, worker_id};
use anyhow::Context;
use clap::Args;
use secrecy::SecretString;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use teamline_engine::{ApiConnector, Engine, EngineSettings};
use teamline_microsoft::{MicrosoftClient, MicrosoftCloud, MicrosoftConfig};
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
    pub fn client(&self, public_url: &str) -> anyhow::Result<Arc<dyn MicrosoftCloud>> {
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
    let microsoft = args.microsoft.client(&public_url)?;
    let engine = Engine::new(
        opened.store.clone(),
        microsoft,
        Arc::new(ApiConnector),
        EngineSettings::default(),
    );
    tracing::info!(%addr, "Teamline is listening");
    println!("Teamline is running at {public_url}");
    run_app(
        engine,
        public_url,
        listener,
        CancellationToken::new(),
        shutdown_signal(),
    )
    .await
}

/// Serves the portals on `listener` with a job runner until `shutdown` resolves or `cancel`
/// is cancelled.
pub async fn run_app(
    engine: Engine,
    public_url: String,
    listener: tokio::net::TcpListener,
    cancel: CancellationToken,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let runner = Arc::new(engine.runner(worker_id()));
    let runner_task = tokio::spawn(runner.run(cancel.clone()));
    let state = teamline_web::AppState {
        store: engine.store().clone(),
        engine,
        metrics: teamline_web::metrics::install(),
        public_url,
    };
    let web_cancel = cancel.clone();
    let served = teamline_web::serve(listener, state, async move {
        tokio::select! {
            () = shutdown => {}
            () = web_cancel.cancelled() => {}
        }
    })
    .await;
    cancel.cancel();
    let _ = runner_task.await;
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
