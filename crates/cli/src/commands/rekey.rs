//! `teamline rekey`: re-encrypts every stored secret with the current encryption key, after a
//! rotation (the old key is still given in `TEAMLINE_PREVIOUS_ENCRYPTION_KEYS`).

use crate::config::{StoreArgs, open_store};

pub async fn run(args: &StoreArgs) -> anyhow::Result<()> {
    let opened = open_store(args).await?;
    let n = opened.store.reencrypt_secrets().await?;
    println!("Re-encrypted {n} secret(s) with the current key.");
    Ok(())
}
