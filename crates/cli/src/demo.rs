//! `teamline demo`: Teamline with the demo data of SPEC.md §8, against simulated Microsoft 365
//! and NetSapiens services running in the same process.

use crate::config::{StoreArgs, open_store};
use crate::serve::{run_app, shutdown_signal};
use clap::Args;
use secrecy::SecretString;
use std::net::SocketAddr;
use std::path::PathBuf;
use teamline_domain::enterprise::TenantId;
use teamline_engine::demo::{DemoFacts, DemoTeamsUser, RESELLER_ADMIN, seed};
use teamline_sim::netsapiens::{DEMO_API_KEY, NetSapiensSim};

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

/// Contoso's directory facts, as the Microsoft simulator seeds them.
mod contoso {
    pub const TENANT_ID: &str = "6d1b3f6e-4c1a-4f5e-9a53-2a1f0c0b7e11";
    pub const SYNC_GROUP_ID: &str = "7a4c2f8e-1b3d-4e5f-8a9b-0c1d2e3f4a5b";
    pub const DEBRA_OBJECT_ID: &str = "3c9e5a71-2d4b-4f6e-9a8c-1b2d3e4f5a6b";
}

pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    if args.fresh && args.data_dir.exists() {
        std::fs::remove_dir_all(&args.data_dir)?;
    }
    let pbx = NetSapiensSim::new()
        .seed_contoso()
        .spawn(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await?;
    let store_args = StoreArgs {
        data_dir: args.data_dir.clone(),
        database_url: None,
        encryption_key: None,
        previous_encryption_keys: Vec::new(),
    };
    let opened = open_store(&store_args).await?;
    let facts = DemoFacts {
        contoso_tenant_id: TenantId::parse(contoso::TENANT_ID)?,
        contoso_sync_group: (
            contoso::SYNC_GROUP_ID.to_owned(),
            "Teammate Sync".to_owned(),
        ),
        debra: DemoTeamsUser {
            object_id: contoso::DEBRA_OBJECT_ID.to_owned(),
            upn: "DebraB@contoso.example".to_owned(),
            display_name: "Debra Berger".to_owned(),
        },
        pbx_api_base_url: format!("{}/ns-api/v2", pbx.base_url),
        pbx_api_key: SecretString::from(DEMO_API_KEY.to_owned()),
        reseller_password: SecretString::from(RESELLER_PASSWORD.to_owned()),
    };
    let summary = seed(&opened.store, &facts).await?;
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    let addr = listener.local_addr()?;
    println!();
    println!("Teamline demo is running at http://{addr}");
    println!(
        "  data directory : {}{}",
        args.data_dir.display(),
        if summary.created {
            " (new)"
        } else {
            " (existing demo data reused)"
        }
    );
    println!("  reseller portal: {RESELLER_ADMIN} / {RESELLER_PASSWORD}");
    println!(
        "  simulated NetSapiens API: {}/ns-api/v2 (domain contoso, extensions 1000-1019)",
        pbx.base_url
    );
    println!("Press Ctrl-C to stop.");
    run_app(opened.store, listener, shutdown_signal()).await?;
    pbx.shutdown().await;
    Ok(())
}
