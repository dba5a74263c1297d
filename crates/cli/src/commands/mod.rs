//! The `teamline` subcommands, one module each.

pub mod accounts;
pub mod api_token;
pub mod bench;
pub mod demo;
pub mod demo_sip;
pub mod direct_routing;
pub mod dns_zone;
pub mod doctor;
pub mod gateway;
pub mod import;
pub mod mail;
pub mod migrate;
pub mod pbx;
pub mod rekey;
pub mod serve;
pub mod sim;
pub mod sync;

use crate::config::StoreArgs;
use crate::remote;
use clap::Subcommand;

#[derive(Subcommand)]
pub enum Command {
    /// Run Teamline: the Enterprise portal, the Reseller portal, the JSON API, the job runner
    /// and the scheduler.
    Serve(Box<serve::ServeArgs>),
    /// Bring the database schema up to date, then exit.
    Migrate(StoreArgs),
    /// Run the demo: seeds the demo data (see the README) into a data directory and serves it
    /// against simulated Microsoft 365 and NetSapiens services.
    Demo(demo::DemoArgs),
    /// Re-encrypt every stored secret with the current encryption key (after a key rotation).
    Rekey(StoreArgs),
    /// Work with an enterprise's PBX: list extensions, create a device handle, test the
    /// connection.
    Pbx(pbx::PbxArgs),
    /// Run the simulated Microsoft cloud (Entra ID, Graph, Teams admin) standalone and print
    /// its endpoints, the demo accounts and the CA to trust.
    Sim(sim::SimArgs),
    /// Sync an enterprise's users from Microsoft 365 now (only the changes since the last
    /// sync, or everything with --full) and show the progress.
    Sync(sync::SyncArgs),
    /// The SIP gateway: every device handle's registration state (`status`), or Kamailio's
    /// configuration for the gateway node (`config --out DIR`).
    Gateway(gateway::GatewayCommandArgs),
    /// Run a benchmark and print its figures: `teamline bench users-page|sync|enable`.
    Bench(bench::BenchArgs),
    /// Check an enterprise's Microsoft 365 tenant and PBX: tokens, permissions, which way the
    /// tenant behaves where Microsoft's documentation leaves it open, PBX access (read-only;
    /// --write-test <user> adds a round trip on a test user).
    Doctor(doctor::DoctorArgs),
    /// Bulk Upload a CSV file of users: check every row against the live PBX and Teams data,
    /// then (unless --dry-run or a row is bad) set every row up, showing the progress.
    Import(import::ImportArgs),
    /// Create, list or revoke API tokens (enterprise or reseller-wide).
    ApiToken(api_token::ApiTokenArgs),
    /// Platform operator accounts: `teamline operator create --email …` makes the first one.
    Operator(accounts::OperatorArgs),
    /// Local accounts: create a reseller admin, reset a password (also unlocks the account).
    Account(accounts::AccountArgs),
    /// PBX users through a server's API (needs --server and --token): list, setup,
    /// enable-calling, disable-calling.
    Users(remote::users::UsersArgs),
    /// Jobs through a server's API (needs --server and --token): `jobs wait ID`.
    Jobs(remote::jobs::JobsArgs),
}

impl Command {
    pub async fn run(self) -> anyhow::Result<()> {
        match self {
            Self::Serve(args) => serve::run(*args).await,
            Self::Migrate(args) => migrate::run(&args).await,
            Self::Demo(args) => demo::run(args).await,
            Self::Rekey(args) => rekey::run(&args).await,
            Self::Pbx(args) => pbx::run(args).await,
            Self::Sim(args) => sim::run(args).await,
            Self::Sync(args) => sync::run(args).await,
            Self::Gateway(args) => gateway::run(args).await,
            Self::Bench(args) => bench::run(args).await,
            Self::Doctor(args) => doctor::run(args).await,
            Self::Import(args) => import::run(args).await,
            Self::ApiToken(args) => api_token::run(args).await,
            Self::Operator(args) => accounts::run_operator(args).await,
            Self::Account(args) => accounts::run_account(args).await,
            Self::Users(_) | Self::Jobs(_) => anyhow::bail!(
                "this command talks to a Teamline server: pass --server URL and --token (or set TEAMLINE_SERVER and TEAMLINE_TOKEN)"
            ),
        }
    }
}
