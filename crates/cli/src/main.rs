//! `teamline`: the one binary. Serves the portals and API with the job runner, runs the demo
//! with simulated Microsoft and PBX services, migrates the database, and more.

mod sim_cmd;

use clap::{Parser, Subcommand};
use teamline::{bench, config, demo, pbx_cmd, serve, sync_cmd};

#[derive(Parser)]
#[command(
    name = "teamline",
    version,
    about = "Connect a hosted PBX to Microsoft Teams through Direct Routing"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run Teamline: the portals, the JSON API and the job runner.
    Serve(serve::ServeArgs),
    /// Bring the database schema up to date, then exit.
    Migrate(config::StoreArgs),
    /// Run the demo: seeds the demo data of SPEC.md §8 into a data directory and serves it
    /// against simulated Microsoft 365 and NetSapiens services.
    Demo(demo::DemoArgs),
    /// Re-encrypt every stored secret with the current encryption key (after a key rotation).
    Rekey(config::StoreArgs),
    /// Work with an enterprise's PBX: list extensions, create a device handle, test the
    /// connection.
    Pbx(pbx_cmd::PbxArgs),
    /// Run the simulated Microsoft cloud (Entra ID, Graph, Teams admin) standalone and print
    /// its endpoints, the demo accounts and the CA to trust.
    Sim(sim_cmd::SimArgs),
    /// Sync an enterprise's users from Microsoft 365 now (only the changes since the last
    /// sync, or everything with --full) and show the progress.
    Sync(sync_cmd::SyncArgs),
    /// Run a benchmark and print its figures: `teamline bench users-page|sync|enable`.
    Bench(bench::BenchArgs),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    init_tracing();
    // One TLS crypto provider for every client and server in the process.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        match cli.command {
            Command::Serve(args) => serve::run(args).await,
            Command::Migrate(args) => {
                let opened = config::open_store(&args).await?;
                println!("The {} database is up to date.", opened.store.backend());
                Ok(())
            }
            Command::Demo(args) => demo::run(args).await,
            Command::Pbx(args) => pbx_cmd::run(args).await,
            Command::Rekey(args) => {
                let opened = config::open_store(&args).await?;
                let n = opened.store.reencrypt_secrets().await?;
                println!("Re-encrypted {n} secret(s) with the current key.");
                Ok(())
            }
            Command::Sim(args) => sim_cmd::run(args).await,
            Command::Sync(args) => sync_cmd::run(args).await,
            Command::Bench(args) => bench::run(args).await,
        }
    })
}

fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("TEAMLINE_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=warn"));
    let json = std::env::var("TEAMLINE_LOG_FORMAT").is_ok_and(|f| f == "json");
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}
