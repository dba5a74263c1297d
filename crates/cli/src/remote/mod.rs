//! The remote CLI: `teamline --server URL --token TOKEN <command>` does the common work through
//! a Teamline server's JSON API instead of opening the database, so it runs anywhere the
//! server is reachable, with the rights of the API token (scope, read-only, rate limit).
//!
//! Commands: `users list|setup|enable-calling|disable-calling`, `sync`, `jobs wait`, `import`. Each
//! prints a table or, with `--json`, the API's own objects; long work is followed with a
//! progress bar (on a terminal; plain lines on stderr otherwise). A new remote command is one
//! more arm in [`run`] over [`client::Client`].

pub mod client;
pub mod import;
pub mod jobs;
pub mod users;

use crate::commands::Command;
use anyhow::{Context, bail};
use clap::Args;
use client::Client;
use secrecy::SecretString;
use teamline_web::api::v1::enterprises::{EnterpriseList, EnterpriseOut};

/// Where the remote commands send their requests.
#[derive(Args, Debug, Clone, Default)]
pub struct RemoteArgs {
    /// A Teamline server's address (e.g. https://teamline.example.net): run the command
    /// through its JSON API. Works for `users`, `sync`, `jobs` and `import`.
    #[arg(
        long,
        global = true,
        env = "TEAMLINE_SERVER",
        value_name = "URL",
        help_heading = "Through a server's API"
    )]
    pub server: Option<String>,

    /// The API token for --server (create one in the portal under API tokens, or with
    /// `teamline api-token create`).
    #[arg(
        long,
        global = true,
        env = "TEAMLINE_TOKEN",
        hide_env_values = true,
        help_heading = "Through a server's API"
    )]
    pub token: Option<String>,
}

/// Runs `command` against the server.
pub async fn run(server: &str, token: Option<String>, command: Command) -> anyhow::Result<()> {
    let Some(token) = token.filter(|t| !t.trim().is_empty()) else {
        bail!(
            "--server needs an API token: pass --token or set TEAMLINE_TOKEN (create one in the portal under API tokens, or with `teamline api-token create`)"
        );
    };
    let client = Client::new(server, SecretString::from(token.trim().to_owned()))?;
    match command {
        Command::Users(args) => users::run(&client, args).await,
        Command::Jobs(args) => jobs::run(&client, args).await,
        Command::Import(args) => import::run(&client, args).await,
        Command::Sync(args) => {
            if args.full {
                bail!(
                    "--full is not available through --server: the server's sync reads only the changes, or everything when Microsoft asks for it. Run `teamline sync --full` on the server's machine"
                );
            }
            jobs::sync(&client, Some(&args.enterprise), args.json).await
        }
        _ => bail!(
            "this command works on the server's own machine, not through --server; through --server: users, sync, jobs, import"
        ),
    }
}

/// The enterprise the command is about: `--enterprise` (id, short name or name), or the only
/// one the token reaches.
pub async fn enterprise(client: &Client, key: Option<&str>) -> anyhow::Result<EnterpriseOut> {
    let list: EnterpriseList = client.get("/api/v1/enterprises", &[]).await?;
    let slugs = || {
        list.items
            .iter()
            .map(|e| e.slug.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match key.map(str::trim) {
        Some(key) => list
            .items
            .iter()
            .find(|e| {
                e.id.to_string() == key
                    || e.slug.eq_ignore_ascii_case(key)
                    || e.name.eq_ignore_ascii_case(key)
            })
            .cloned()
            .with_context(|| {
                format!(
                    "this token reaches no enterprise '{key}': use one of {}",
                    slugs()
                )
            }),
        None => match list.items.as_slice() {
            [only] => Ok(only.clone()),
            [] => bail!("this token reaches no enterprise"),
            _ => bail!(
                "this token reaches several enterprises: choose one with --enterprise ({})",
                slugs()
            ),
        },
    }
}

/// Prints `value` as pretty JSON.
pub fn print_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}
