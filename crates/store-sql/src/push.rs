//! What a push to Microsoft leaves on a PBX user: its push state and error, the state read
//! back, and the journal of steps that may still be propagating.

use crate::error::DbResultExt;
use crate::pbx_users::Change;
use crate::{RESERVING, SqlStore};
use async_trait::async_trait;
use sqlx::AssertSqlSafe;
use teamline_domain::audit::Audit;
use teamline_domain::ids::{EnterpriseId, PbxUserId};
use teamline_domain::pbx_user::{PbxUser, PushState};
use teamline_store::{PushOutcome, PushStore, StoreError, StoreResult};

#[async_trait]
impl PushStore for SqlStore {
    async fn record_push(
        &self,
        enterprise: EnterpriseId,
        id: PbxUserId,
        outcome: &PushOutcome,
        audit: Option<&Audit>,
    ) -> StoreResult<PbxUser> {
        let observed = outcome
            .observed
            .as_ref()
            .map(|o| serde_json::to_string(o).unwrap_or_default());
        self.change_pbx_user(
            enterprise,
            id,
            Change {
                audit,
                new_spec: None,
            },
            |_| Ok(()),
            "UPDATE pbx_users SET updated_ms = $1, push_state = $3, last_error = $4, \
             observed = COALESCE($5, observed) WHERE id = $2",
            |q| {
                q.bind(outcome.push_state.as_str())
                    .bind(outcome.last_error.clone())
                    .bind(observed)
            },
        )
        .await
    }

    async fn set_push_journal(
        &self,
        enterprise: EnterpriseId,
        id: PbxUserId,
        journal: Option<&str>,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let r = sqlx::query(
            "UPDATE pbx_users SET push_journal = $1 WHERE enterprise_id = $2 AND id = $3",
        )
        .bind(journal.map(str::to_owned))
        .bind(enterprise.0)
        .bind(id.0)
        .execute(&mut *tx)
        .await
        .db()?;
        tx.commit().await.db()?;
        if r.rows_affected() == 0 {
            return Err(StoreError::not_found(format!("PBX user {id}")));
        }
        Ok(())
    }

    async fn push_journal(
        &self,
        enterprise: EnterpriseId,
        id: PbxUserId,
    ) -> StoreResult<Option<String>> {
        let row: Option<(Option<String>,)> = sqlx::query_as(
            "SELECT push_journal FROM pbx_users WHERE enterprise_id = $1 AND id = $2",
        )
        .bind(enterprise.0)
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await
        .db()?;
        match row {
            Some((journal,)) => Ok(journal),
            None => Err(StoreError::not_found(format!("PBX user {id}"))),
        }
    }

    async fn pbx_users_in_push_states(
        &self,
        enterprise: EnterpriseId,
        states: &[PushState],
    ) -> StoreResult<Vec<PbxUserId>> {
        if states.is_empty() {
            return Ok(Vec::new());
        }
        let placeholders: Vec<String> = (0..states.len()).map(|i| format!("${}", i + 2)).collect();
        let sql = format!(
            "SELECT id FROM pbx_users WHERE enterprise_id = $1 AND state IN {RESERVING} AND push_state IN ({}) ORDER BY id",
            placeholders.join(", ")
        );
        let mut query = sqlx::query_as::<_, (i64,)>(AssertSqlSafe(sql.as_str())).bind(enterprise.0);
        for s in states {
            query = query.bind(s.as_str());
        }
        let rows = query.fetch_all(&self.pool).await.db()?;
        Ok(rows.into_iter().map(|r| PbxUserId(r.0)).collect())
    }
}
