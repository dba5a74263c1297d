//! `teamline`: the one binary.

mod sim_cmd;

use clap::{Parser, Subcommand};

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
    /// Run the simulated Microsoft cloud (Entra ID, Graph, Teams admin) standalone and print
    /// its endpoints, the demo accounts and the CA to trust.
    Sim(sim_cmd::SimArgs),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        match cli.command {
            Command::Sim(args) => sim_cmd::run(args).await,
        }
    })
}
