//! Server-side web sessions.

use crate::SqlStore;
use crate::error::DbResultExt;
use async_trait::async_trait;
use teamline_store::crypto::SecretSlot;
use teamline_store::{SessionRecord, SessionStore, StoreResult};

#[async_trait]
impl SessionStore for SqlStore {
    async fn load_session(&self, id: &str) -> StoreResult<Option<SessionRecord>> {
        let row: Option<(String, String, i64)> = sqlx::query_as(
            "SELECT id, data, expiry_ms FROM sessions WHERE id = $1 AND expiry_ms > $2",
        )
        .bind(id)
        .bind(self.now())
        .fetch_optional(&self.pool)
        .await
        .db()?;
        Ok(row.map(|(id, data, expiry_ms)| SessionRecord {
            id,
            data,
            expiry_ms,
        }))
    }

    async fn save_session(&self, s: &SessionRecord) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO sessions (id, data, expiry_ms) VALUES ($1, $2, $3) \
             ON CONFLICT (id) DO UPDATE SET data = excluded.data, expiry_ms = excluded.expiry_ms",
        )
        .bind(&s.id)
        .bind(&s.data)
        .bind(s.expiry_ms)
        .execute(&mut *tx)
        .await
        .db()?;
        tx.commit().await.db()
    }

    async fn delete_session(&self, id: &str) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM sessions WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .db()?;
        tx.commit().await.db()
    }

    async fn delete_expired_sessions(&self) -> StoreResult<u64> {
        let mut tx = self.begin_write().await?;
        let r = sqlx::query("DELETE FROM sessions WHERE expiry_ms <= $1")
            .bind(self.now())
            .execute(&mut *tx)
            .await
            .db()?;
        tx.commit().await.db()?;
        Ok(r.rows_affected())
    }

    fn seal(&self, purpose: &'static str, value: &str) -> StoreResult<Vec<u8>> {
        Ok(self
            .keyring
            .encrypt(value, &SecretSlot::platform(purpose))?)
    }

    fn unseal(&self, purpose: &'static str, sealed: &[u8]) -> StoreResult<String> {
        Ok(self
            .keyring
            .decrypt(sealed, &SecretSlot::platform(purpose))?)
    }
}
