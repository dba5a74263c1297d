//! `teamline api-token create|list|revoke`: API tokens from the command line — the way to make
//! reseller-wide tokens (the Enterprise portal makes enterprise tokens), and tokens for scripts
//! that provision a fresh installation. Works next to a running server.

use super::sync::find_enterprise;
use crate::config::{StoreArgs, open_store_alongside_server};
use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use teamline_domain::audit::{Actor, Audit};
use teamline_domain::ids::{ApiTokenId, EnterpriseId, ResellerId};
use teamline_store::{DynStore, NewApiToken};

#[derive(Args, Debug)]
pub struct ApiTokenArgs {
    #[command(subcommand)]
    pub command: ApiTokenCommand,

    #[command(flatten)]
    pub store: StoreArgs,
}

/// Whose token: one enterprise, or every enterprise of a reseller.
#[derive(Args, Debug)]
#[group(required = true, multiple = false)]
pub struct Scope {
    /// An enterprise's short name (e.g. contoso) or name.
    #[arg(long)]
    pub enterprise: Option<String>,
    /// A reseller's name: the token reaches all of its enterprises.
    #[arg(long)]
    pub reseller: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum ApiTokenCommand {
    /// Create a token and print it (only this once).
    Create {
        #[command(flatten)]
        scope: Scope,
        /// Shown in the audit log for every change made with the token.
        #[arg(long)]
        name: String,
        /// Allow changes (tokens are read-only otherwise).
        #[arg(long)]
        read_write: bool,
        #[arg(long)]
        expires_in_days: Option<u32>,
        #[arg(long, default_value_t = teamline_web::api::portal::DEFAULT_RATE_PER_MINUTE)]
        rate_per_minute: u32,
    },
    /// List the scope's tokens (never the tokens themselves).
    List {
        #[command(flatten)]
        scope: Scope,
    },
    /// Revoke a token by its id (from `list`).
    Revoke {
        #[command(flatten)]
        scope: Scope,
        id: i64,
    },
}

async fn resolve(
    store: &DynStore,
    scope: &Scope,
) -> anyhow::Result<(ResellerId, Option<EnterpriseId>)> {
    if let Some(e) = &scope.enterprise {
        let e = find_enterprise(store, e).await?;
        return Ok((e.reseller_id, Some(e.id)));
    }
    let name = scope.reseller.as_deref().unwrap_or_default();
    let reseller = store
        .reseller_by_name(name)
        .await?
        .with_context(|| format!("no reseller named '{name}'"))?;
    Ok((reseller.id, None))
}

pub async fn run(args: ApiTokenArgs) -> anyhow::Result<()> {
    let (opened, _) = open_store_alongside_server(&args.store).await?;
    let store = opened.store.clone();
    let actor = Actor::System("api-token".into());
    match args.command {
        ApiTokenCommand::Create {
            scope,
            name,
            read_write,
            expires_in_days,
            rate_per_minute,
        } => {
            let (reseller, enterprise) = resolve(&store, &scope).await?;
            let name = name.trim().to_owned();
            if name.is_empty() {
                bail!("give the token a name (--name): the audit log shows it for its changes");
            }
            if rate_per_minute == 0 {
                bail!("--rate-per-minute must be at least 1");
            }
            let expires_ms = expires_in_days
                .map(|d| store.clock().now_ms() + i64::from(d) * 24 * 60 * 60 * 1000);
            let minted = teamline_web::api::auth::mint();
            store
                .create_api_token(
                    &NewApiToken {
                        reseller_id: reseller,
                        enterprise_id: enterprise,
                        name: name.clone(),
                        prefix: minted.prefix,
                        secret_sha256: minted.secret_sha256,
                        read_only: !read_write,
                        rate_per_minute,
                        expires_ms,
                    },
                    &Audit::new(
                        actor,
                        "api_token.create",
                        format!("Created the API token \"{name}\" from the command line"),
                    ),
                )
                .await?;
            eprintln!("Created the API token \"{name}\". It is shown only now:");
            println!("{}", minted.token);
        }
        ApiTokenCommand::List { scope } => {
            let (reseller, enterprise) = resolve(&store, &scope).await?;
            let now = store.clock().now_ms();
            for t in store.list_api_tokens(reseller, enterprise).await? {
                println!(
                    "{}\t{}\t{}…\t{}\t{}",
                    t.id,
                    t.name,
                    t.prefix,
                    if t.read_only {
                        "read-only"
                    } else {
                        "read-write"
                    },
                    if t.is_usable(now) {
                        "usable"
                    } else {
                        "revoked or expired"
                    },
                );
            }
        }
        ApiTokenCommand::Revoke { scope, id } => {
            let (reseller, enterprise) = resolve(&store, &scope).await?;
            let t = store
                .revoke_api_token(
                    reseller,
                    enterprise,
                    ApiTokenId(id),
                    &Audit::new(
                        actor,
                        "api_token.revoke",
                        format!("Revoked API token {id} from the command line"),
                    ),
                )
                .await?;
            println!("Revoked the API token \"{}\".", t.name);
        }
    }
    Ok(())
}
