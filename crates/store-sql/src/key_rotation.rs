//! Key rotation: every secret made with a previous key is re-encrypted under the current one,
//! in one transaction.

use crate::SqlStore;
use crate::devices::SIP_PASSWORD;
use crate::error::DbResultExt;
use crate::pbx_locations::{API_KEY, OAUTH_CLIENT_SECRET, OAUTH_PASSWORD};
use crate::platform::TOTP_SECRET;
use async_trait::async_trait;
use teamline_store::crypto::SecretSlot;
use teamline_store::{KeyRotation, StoreResult};

#[async_trait]
impl KeyRotation for SqlStore {
    async fn reencrypt_secrets(&self) -> StoreResult<u64> {
        let mut rewritten = 0;
        let mut tx = self.begin_write().await?;
        let columns = [
            ("pbx_locations", "api_key_enc", API_KEY),
            (
                "pbx_locations",
                "oauth_client_secret_enc",
                OAUTH_CLIENT_SECRET,
            ),
            ("pbx_locations", "oauth_password_enc", OAUTH_PASSWORD),
            ("device_handles", "password_enc", SIP_PASSWORD),
        ];
        for (table, column, slot_column) in columns {
            let rows: Vec<(i64, i64, Option<Vec<u8>>)> =
                sqlx::query_as(sql!("SELECT id, enterprise_id, {column} FROM {table}"))
                    .fetch_all(&mut *tx)
                    .await
                    .db()?;
            for (id, enterprise, blob) in rows {
                let Some(blob) = blob.filter(|b| self.keyring.is_stale(b)) else {
                    continue;
                };
                let slot = SecretSlot::enterprise(enterprise, slot_column);
                let fresh = self
                    .keyring
                    .encrypt(&self.keyring.decrypt(&blob, &slot)?, &slot)?;
                sqlx::query(sql!("UPDATE {table} SET {column} = $1 WHERE id = $2"))
                    .bind(fresh)
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .db()?;
                rewritten += 1;
            }
        }
        // The platform's own secrets: reseller admins' and operators' two-factor secrets. Left
        // under a retired key they would lock every enrolled admin out once that key is gone.
        let accounts: Vec<(i64, Vec<u8>)> =
            sqlx::query_as("SELECT id, totp_secret FROM accounts WHERE totp_secret IS NOT NULL")
                .fetch_all(&mut *tx)
                .await
                .db()?;
        let slot = SecretSlot::platform(TOTP_SECRET);
        for (id, blob) in accounts {
            if !self.keyring.is_stale(&blob) {
                continue;
            }
            let fresh = self
                .keyring
                .encrypt(&self.keyring.decrypt(&blob, &slot)?, &slot)?;
            sqlx::query("UPDATE accounts SET totp_secret = $1 WHERE id = $2")
                .bind(fresh)
                .bind(id)
                .execute(&mut *tx)
                .await
                .db()?;
            rewritten += 1;
        }
        tx.commit().await.db()?;
        Ok(rewritten)
    }
}
