//! Server-side web sessions.

use crate::SqlStore;
use crate::error::map_sqlx;
use teamline_store::{SessionRecord, StoreResult};

impl SqlStore {
    pub(crate) async fn load_session_impl(&self, id: &str) -> StoreResult<Option<SessionRecord>> {
        let row: Option<(String, String, i64)> = sqlx::query_as(
            "SELECT id, data, expiry_ms FROM sessions WHERE id = $1 AND expiry_ms > $2",
        )
        .bind(id)
        .bind(self.now())
        .fetch_optional(&self.pool)
        .await
        .map_err(map_sqlx)?;
        Ok(row.map(|(id, data, expiry_ms)| SessionRecord {
            id,
            data,
            expiry_ms,
        }))
    }

    pub(crate) async fn save_session_impl(&self, s: &SessionRecord) -> StoreResult<()> {
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
        .map_err(map_sqlx)?;
        tx.commit().await.map_err(map_sqlx)
    }

    pub(crate) async fn delete_session_impl(&self, id: &str) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM sessions WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(map_sqlx)?;
        tx.commit().await.map_err(map_sqlx)
    }

    pub(crate) async fn delete_expired_sessions_impl(&self) -> StoreResult<u64> {
        let mut tx = self.begin_write().await?;
        let r = sqlx::query("DELETE FROM sessions WHERE expiry_ms <= $1")
            .bind(self.now())
            .execute(&mut *tx)
            .await
            .map_err(map_sqlx)?;
        tx.commit().await.map_err(map_sqlx)?;
        Ok(r.rows_affected())
    }
}
