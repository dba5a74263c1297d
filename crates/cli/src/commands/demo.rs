//! `teamline demo`: Teamline with the demo data (README, "The demo"), against simulated
//! Microsoft 365 and NetSapiens services running in the same process. [`DemoStack`] is also
//! what the end-to-end and browser tests start and what `teamline bench users-page` measures.

use super::serve::shutdown_signal;
use crate::config::{Opened, StoreArgs, open_store, worker_id};
use anyhow::Context;
use clap::Args;
use std::net::SocketAddr;
use std::path::PathBuf;
use teamline_sim::microsoft::demo as ms;
use teamline_testkit::demo::{
    OPERATOR_EMAIL, OPERATOR_PASSWORD, RESELLER_ADMIN, RESELLER_PASSWORD,
};
use teamline_testkit::{DatabaseChoice, FirstSync, TestApp};

#[derive(Args, Debug, Clone)]
pub struct DemoArgs {
    /// Where the demo keeps its database and key (created if missing; reused if present).
    #[arg(long, default_value = "data/demo", value_parser = crate::config::absolute_dir)]
    pub data_dir: PathBuf,

    /// Address of the portal.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Start from empty demo data (deletes the data directory first).
    #[arg(long)]
    pub fresh: bool,
}

/// A running demo: the test kit's [`TestApp`] (simulators, seeded store, portal, job runner
/// and scheduler) on the demo's data directory, which it holds like `teamline serve` does.
pub struct DemoStack {
    app: TestApp,
    _opened: Opened,
}

impl std::ops::Deref for DemoStack {
    type Target = TestApp;

    fn deref(&self) -> &TestApp {
        &self.app
    }
}

impl DemoStack {
    pub async fn start(args: &DemoArgs) -> anyhow::Result<Self> {
        Self::start_on(args, None).await
    }

    /// The demo on the PostgreSQL database at `database_url` (`None`: SQLite in the data
    /// directory), as the benchmarks run it on either backend.
    pub async fn start_on(args: &DemoArgs, database_url: Option<String>) -> anyhow::Result<Self> {
        if args.fresh && args.data_dir.exists() {
            std::fs::remove_dir_all(&args.data_dir)
                .with_context(|| format!("cannot delete {}", args.data_dir.display()))?;
        }
        let opened = open_store(&StoreArgs {
            data_dir: args.data_dir.clone(),
            database_url,
            encryption_key: None,
            previous_encryption_keys: Vec::new(),
        })
        .await?;
        let app = TestApp::builder()
            .database(DatabaseChoice::Store(opened.store.clone()))
            .listen(args.listen)
            .run_jobs(worker_id())
            .first_sync(FirstSync::Attempted)
            .spawn()
            .await?;
        Ok(Self {
            app,
            _opened: opened,
        })
    }

    /// Stops the portal, the runner and the simulators.
    pub async fn stop(self) -> anyhow::Result<()> {
        Ok(self.app.stop().await?)
    }

    /// Runs until Ctrl-C (or until the portal stops).
    pub async fn wait(self) -> anyhow::Result<()> {
        Ok(self.app.run_until(shutdown_signal()).await?)
    }
}

pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    let stack = DemoStack::start(&args).await?;
    let sip = match super::demo_sip::DemoSip::start(&stack, &args.data_dir.join("sip")).await {
        Ok(sip) => Some(sip),
        Err(e) => {
            println!(
                "The SIP gateway is not running ({e:#}): install Kamailio with `sudo apt-get install kamailio kamailio-extra-modules` and start the demo again."
            );
            None
        }
    };
    println!();
    println!("Teamline demo is running at {}", stack.url);
    println!(
        "  data directory : {}{}",
        args.data_dir.display(),
        if stack.seeded {
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
    println!(
        "  Reseller portal (Northwind Voice): {}/reseller as {RESELLER_ADMIN} / {RESELLER_PASSWORD} (invitations go to its Outbox page)",
        stack.url
    );
    println!(
        "  operator area (resellers, SBC regions): {}/operator as {OPERATOR_EMAIL} / {OPERATOR_PASSWORD}",
        stack.url
    );
    println!(
        "  simulated Microsoft 365: {} (tenant contoso.example)",
        stack.microsoft.url
    );
    println!(
        "  simulated NetSapiens API: {}/ns-api/v2 (domain contoso, extensions 1000-1019)",
        stack.pbx.base_url
    );
    if let Some(sip) = &sip {
        println!(
            "  SIP gateway: Kamailio RPC {}, the simulated PBX's registrar {} (`teamline gateway status --data-dir {}`)",
            sip.gateway_rpc,
            sip.registrar.sip_addr(),
            args.data_dir.display()
        );
        if let Some(dr) = &sip.direct_routing {
            println!(
                "  calls (Direct Routing): rtpengine and a TLS listener with self-signed certificates per SBC region, settings in {}",
                dr.display()
            );
        }
    }
    println!("Press Ctrl-C to stop.");
    let served = stack.wait().await;
    if let Some(sip) = sip {
        sip.stop().await;
    }
    served
}
