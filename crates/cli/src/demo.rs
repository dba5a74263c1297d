//! `teamline demo`: Teamline with the demo data of SPEC.md §8, against simulated Microsoft 365
//! and NetSapiens services running in the same process. [`DemoStack`] is also what the
//! end-to-end and browser tests start.

use crate::config::{Opened, StoreArgs, open_store};
use crate::serve::{run_app, shutdown_signal};
use anyhow::Context;
use clap::Args;
use secrecy::SecretString;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use teamline_domain::enterprise::TenantId;
use teamline_engine::demo::{DemoFacts, DemoSummary, DemoTeamsUser, RESELLER_ADMIN, seed};
use teamline_engine::{ApiConnector, Engine, EngineSettings};
use teamline_microsoft::{MicrosoftClient, MicrosoftConfig};
use teamline_sim::microsoft::{MicrosoftSim, RunningSim, SimConfig, TenantControl, demo as ms};
use teamline_sim::netsapiens::{DEMO_API_KEY, NetSapiensSim, NetSapiensSimHandle};
use tokio_util::sync::CancellationToken;

#[derive(Args, Debug, Clone)]
pub struct DemoArgs {
    /// Where the demo keeps its database and key (created if missing; reused if present).
    #[arg(long, default_value = "data/demo")]
    pub data_dir: PathBuf,

    /// Address of the portal.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Start from empty demo data (deletes the data directory first).
    #[arg(long)]
    pub fresh: bool,
}

/// The demo reseller admin's password (printed at start; demo only).
pub const RESELLER_PASSWORD: &str = "northwind-demo-2026";

/// A running demo: simulators, seeded store, portal and job runner.
pub struct DemoStack {
    /// The portal, e.g. `http://127.0.0.1:8080`.
    pub url: String,
    pub engine: Engine,
    pub summary: DemoSummary,
    pub microsoft: MicrosoftSim,
    /// Contoso's simulated tenant (faults, Teams state, write counts).
    pub contoso: TenantControl,
    /// Base URL of the simulated Microsoft cloud (sign-in, Graph, Teams admin).
    pub microsoft_url: String,
    pub pbx: NetSapiensSimHandle,
    cancel: CancellationToken,
    app: tokio::task::JoinHandle<anyhow::Result<()>>,
    ms_running: RunningSim,
    _opened: Opened,
}

impl DemoStack {
    pub async fn start(args: &DemoArgs) -> anyhow::Result<Self> {
        if args.fresh && args.data_dir.exists() {
            std::fs::remove_dir_all(&args.data_dir)
                .with_context(|| format!("cannot delete {}", args.data_dir.display()))?;
        }
        let microsoft = MicrosoftSim::new(SimConfig::default())?;
        let contoso = microsoft.seed_contoso();
        microsoft.seed_fabrikam();
        let localhost = SocketAddr::from(([127, 0, 0, 1], 0));
        let ms_running = microsoft.spawn_http(localhost).await?;
        let microsoft_url = ms_running.base_url().to_owned();
        let pbx = NetSapiensSim::new().seed_contoso().spawn(localhost).await?;

        let opened = open_store(&StoreArgs {
            data_dir: args.data_dir.clone(),
            database_url: None,
            encryption_key: None,
            previous_encryption_keys: Vec::new(),
        })
        .await?;
        let listener = tokio::net::TcpListener::bind(args.listen).await?;
        let url = format!("http://{}", listener.local_addr()?);

        let mut config = MicrosoftConfig::new(
            ms::TEAMLINE_APP_CLIENT_ID,
            SecretString::from(ms::TEAMLINE_APP_CLIENT_SECRET.to_owned()),
            url::Url::parse(&format!("{url}/auth/microsoft/callback"))?,
        )
        .with_single_base(url::Url::parse(&microsoft_url)?);
        config.consent_redirect_uri =
            Some(url::Url::parse(&format!("{url}/auth/microsoft/consent"))?);
        let client = Arc::new(MicrosoftClient::new(config)?);
        let engine = Engine::new(
            opened.store.clone(),
            client,
            Arc::new(ApiConnector),
            EngineSettings::default(),
        );

        let facts = DemoFacts {
            contoso_tenant_id: TenantId::parse(ms::CONTOSO_TENANT_ID)?,
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
            reseller_password: SecretString::from(RESELLER_PASSWORD.to_owned()),
        };
        let summary = seed(engine.store(), &facts).await?;
        // Fill the Teams User dropdown before the first page is served.
        if let Err(e) = engine.sync_directory(summary.contoso.id, false).await {
            tracing::warn!(error = %e, "the demo's first directory sync failed");
        }

        let cancel = CancellationToken::new();
        let app = tokio::spawn(run_app(
            engine.clone(),
            url.clone(),
            listener,
            cancel.clone(),
            shutdown_signal(),
        ));
        Ok(Self {
            url,
            engine,
            summary,
            microsoft,
            contoso,
            microsoft_url,
            pbx,
            cancel,
            app,
            ms_running,
            _opened: opened,
        })
    }

    /// Stops the portal, the runner and the simulators.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.cancel.cancel();
        let served = self.app.await;
        self.ms_running.shutdown().await;
        self.pbx.shutdown().await;
        served?
    }

    /// Runs until Ctrl-C (or until the portal stops).
    pub async fn wait(mut self) -> anyhow::Result<()> {
        let result = (&mut self.app).await;
        self.ms_running.shutdown().await;
        self.pbx.shutdown().await;
        result?
    }
}

pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    let stack = DemoStack::start(&args).await?;
    println!();
    println!("Teamline demo is running at {}", stack.url);
    println!(
        "  data directory : {}{}",
        args.data_dir.display(),
        if stack.summary.created {
            " (new)"
        } else {
            " (existing demo data reused)"
        }
    );
    println!(
        "  Enterprise portal (Contoso): sign in with Microsoft as {} / {}",
        ms::CONTOSO_ADMIN_UPN,
        ms::ADMIN_PASSWORD
    );
    println!(
        "  a non-admin to see the refusal: {} / {}",
        ms::CONTOSO_NON_ADMIN_UPN,
        ms::USER_PASSWORD
    );
    println!("  Reseller portal: {RESELLER_ADMIN} / {RESELLER_PASSWORD}");
    println!(
        "  simulated Microsoft 365: {} (tenant contoso.example)",
        stack.microsoft_url
    );
    println!(
        "  simulated NetSapiens API: {}/ns-api/v2 (domain contoso, extensions 1000-1019)",
        stack.pbx.base_url
    );
    println!("Press Ctrl-C to stop.");
    stack.wait().await
}
