//! Local accounts from the command line: `teamline operator create` (the first platform
//! operator of an installation), `teamline account create` (a reseller admin) and `teamline
//! account reset-password` (also unlocks an account locked by wrong passwords), `teamline account
//! reset-two-factor` (a lost phone). Work next to a running server.
//!
//! The password is read from standard input with `--password-stdin` (one line), or generated
//! and printed once.

use crate::config::{StoreArgs, open_store_alongside_server};
use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use std::io::BufRead;
use teamline_domain::audit::{Actor, Audit};
use teamline_domain::reseller::AccountRole;
use teamline_domain::text::Email;
use teamline_engine::accounts::{MIN_PASSWORD_LEN, hash_password};
use teamline_store::NewAccount;

#[derive(Args, Debug)]
pub struct OperatorArgs {
    #[command(subcommand)]
    pub command: OperatorCommand,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Subcommand, Debug)]
pub enum OperatorCommand {
    /// Create a platform operator account.
    Create(NewPassword),
}

#[derive(Args, Debug)]
pub struct AccountArgs {
    #[command(subcommand)]
    pub command: AccountCommand,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Subcommand, Debug)]
pub enum AccountCommand {
    /// Create a reseller admin account (it signs in to the Reseller portal at /reseller).
    Create {
        /// The reseller's name, e.g. "Northwind Voice".
        #[arg(long)]
        reseller: String,
        #[command(flatten)]
        password: NewPassword,
    },
    /// Set a new password for an account; also unlocks it.
    ResetPassword(NewPassword),
    /// Switch off an account's two-factor sign-in (it lost its phone and its recovery codes);
    /// it enrols again at its next sign-in if its reseller requires two-factor.
    ResetTwoFactor {
        /// The account's e-mail address (its sign-in name).
        #[arg(long)]
        email: String,
    },
}

#[derive(Args, Debug)]
pub struct NewPassword {
    /// The account's e-mail address (its sign-in name).
    #[arg(long)]
    email: String,
    /// Read the password from standard input (one line) instead of generating one.
    #[arg(long)]
    password_stdin: bool,
}

impl NewPassword {
    /// The password, and whether it was generated (then it is printed).
    fn read(&self) -> anyhow::Result<(String, bool)> {
        if !self.password_stdin {
            let mut bytes = [0u8; 18];
            rand::fill(&mut bytes);
            return Ok((hex::encode(bytes), true));
        }
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("could not read the password from standard input")?;
        let password = line.trim_end_matches(['\r', '\n']).to_owned();
        if password.chars().count() < MIN_PASSWORD_LEN {
            bail!("the password must have at least {MIN_PASSWORD_LEN} characters");
        }
        Ok((password, false))
    }

    fn email(&self) -> anyhow::Result<Email> {
        Email::parse("--email", &self.email).map_err(|e| anyhow::anyhow!("{e}"))
    }
}

fn announce(email: &Email, password: &str, generated: bool) {
    if generated {
        println!("password for {}: {password}", email.as_str());
        println!("(shown only now; `teamline account reset-password` sets a new one)");
    }
}

async fn create(
    store_args: &StoreArgs,
    new: &NewPassword,
    role: AccountRole,
    reseller: Option<&str>,
) -> anyhow::Result<()> {
    let (opened, _) = open_store_alongside_server(store_args).await?;
    let store = opened.store.clone();
    let email = new.email()?;
    if store.account_by_email(email.as_str()).await?.is_some() {
        bail!(
            "an account {} already exists: `teamline account reset-password --email {}` sets a new password",
            email.as_str(),
            email.as_str()
        );
    }
    let reseller_id = match reseller {
        Some(name) => Some(
            store
                .reseller_by_name(name)
                .await?
                .with_context(|| format!("no reseller named '{name}'"))?
                .id,
        ),
        None => None,
    };
    let (password, generated) = new.read()?;
    let account = store
        .create_account(
            &NewAccount {
                email: email.clone(),
                role,
                reseller_id,
                password_hash: hash_password(&password)?,
            },
            &Audit::new(
                Actor::System("account".into()),
                "account.create",
                format!(
                    "Created the account {} from the command line",
                    email.as_str()
                ),
            ),
        )
        .await?;
    println!("created {} ({})", account.email.as_str(), role.as_str());
    announce(&email, &password, generated);
    Ok(())
}

pub async fn run_operator(args: OperatorArgs) -> anyhow::Result<()> {
    match &args.command {
        OperatorCommand::Create(new) => {
            create(&args.store, new, AccountRole::PlatformOperator, None).await
        }
    }
}

pub async fn run_account(args: AccountArgs) -> anyhow::Result<()> {
    match &args.command {
        AccountCommand::Create { reseller, password } => {
            create(
                &args.store,
                password,
                AccountRole::ResellerAdmin,
                Some(reseller),
            )
            .await
        }
        AccountCommand::ResetTwoFactor { email } => {
            let (opened, _) = open_store_alongside_server(&args.store).await?;
            let store = opened.store.clone();
            let account = store
                .account_by_email(email)
                .await?
                .with_context(|| format!("no account {email}"))?;
            if !account.two_factor {
                println!(
                    "{} has no two-factor sign-in; nothing to reset",
                    account.email.as_str()
                );
                return Ok(());
            }
            store
                .disable_two_factor(
                    account.id,
                    &Audit::new(
                        Actor::System("account".into()),
                        "account.two_factor_reset",
                        format!(
                            "Reset the two-factor sign-in of {} from the command line",
                            account.email.as_str()
                        ),
                    ),
                )
                .await?;
            println!(
                "two-factor sign-in is off for {}; its recovery codes no longer work",
                account.email.as_str()
            );
            Ok(())
        }
        AccountCommand::ResetPassword(new) => {
            let (opened, _) = open_store_alongside_server(&args.store).await?;
            let store = opened.store.clone();
            let email = new.email()?;
            let account = store
                .account_by_email(email.as_str())
                .await?
                .with_context(|| format!("no account {}", email.as_str()))?;
            let (password, generated) = new.read()?;
            store
                .set_account_password(
                    account.id,
                    &hash_password(&password)?,
                    &Audit::new(
                        Actor::System("account".into()),
                        "account.password_reset",
                        format!(
                            "Reset the password of {} from the command line",
                            email.as_str()
                        ),
                    ),
                )
                .await?;
            println!(
                "new password set for {}; the account is unlocked",
                email.as_str()
            );
            announce(&email, &password, generated);
            Ok(())
        }
    }
}
