//! `teamline migrate`: brings the database schema up to date (opening the store runs the
//! migrations), then exits.

use crate::config::{StoreArgs, open_store};

pub async fn run(args: &StoreArgs) -> anyhow::Result<()> {
    let opened = open_store(args).await?;
    println!("The {} database is up to date.", opened.store.backend());
    Ok(())
}
