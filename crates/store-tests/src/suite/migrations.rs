//! Startup's migrations: a database migrated with an applied migration's earlier text still
//! opens after that file's comments were edited; any other changed checksum is still refused.

use crate::{Harness, keyring};
use std::sync::Arc;
use teamline_store::crypto::Keyring;

pub async fn a_database_migrated_before_a_comment_edit_still_opens(h: Arc<Harness>) {
    let (migrator, edited) = h.migrations();
    let initial = edited
        .iter()
        .find(|e| e.version == 1)
        .expect("0001_initial.sql was edited after it was applied");
    let current = migrator
        .iter()
        .find(|m| m.version == 1)
        .unwrap()
        .checksum
        .to_vec();
    let released = hex_bytes(initial.released_checksum);
    assert_ne!(released, current, "the file changed since");
    // The edit changed a comment only, so a database migrated with the earlier file has
    // today's schema and the earlier file's checksum.
    h.record_checksum(1, &released).await;

    let reopened = h.try_reopen(Keyring::for_testing()).await;
    assert!(reopened.is_ok(), "{:?}", reopened.err());
    assert_eq!(
        h.recorded_checksum(1).await,
        current,
        "startup recorded the current file's checksum"
    );
    reopened.unwrap().ping().await.unwrap();
    drop(h.reopen(keyring(1, &[])).await);
    assert_eq!(h.recorded_checksum(1).await, current, "and keeps it");

    // A migration changed in any other way is not a comment edit Teamline knows of: refused.
    let mut unknown = current.clone();
    unknown[0] ^= 0xff;
    h.record_checksum(1, &unknown).await;
    let refused = h.try_reopen(Keyring::for_testing()).await;
    let message = refused.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(
        message.contains("database migration failed") && message.contains('1'),
        "refused, naming the migration: {message:?}"
    );
    assert_eq!(h.recorded_checksum(1).await, unknown, "left as it was");
}

fn hex_bytes(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}
