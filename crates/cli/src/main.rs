//! `teamline`: the one binary. Serves the Enterprise portal with the job runner, runs the demo
//! with simulated Microsoft and PBX services, migrates the database, and more.

use clap::Parser;
use teamline::commands::Command;
use teamline::remote::{self, RemoteArgs};

#[derive(Parser)]
#[command(
    name = "teamline",
    version,
    about = "Connect a hosted PBX to Microsoft Teams through Direct Routing"
)]
struct Cli {
    #[command(flatten)]
    remote: RemoteArgs,

    #[command(subcommand)]
    command: Command,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    init_tracing();
    // One TLS crypto provider for every client and server in the process.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match cli.remote.server {
        Some(server) => runtime.block_on(remote::run(&server, cli.remote.token, cli.command)),
        None => runtime.block_on(cli.command.run()),
    }
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
