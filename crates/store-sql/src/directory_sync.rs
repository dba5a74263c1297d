//! What the directory sync reads and where it stands: the sync groups, the delta links and the
//! last result (`sync_state`), and the history of runs (`sync_runs`).

use crate::SqlStore;
use crate::audit::{self, Subject};
use crate::error::DbResultExt;
use crate::rows::SyncGroupRow;
use async_trait::async_trait;
use serde_json::json;
use teamline_domain::audit::Audit;
use teamline_domain::ids::EnterpriseId;
use teamline_domain::sync_group::SyncGroupChoice;
use teamline_store::{DirectorySyncStore, StoreResult, SyncGroup, SyncRunRecord, SyncState};

#[async_trait]
impl DirectorySyncStore for SqlStore {
    async fn set_sync_groups(
        &self,
        enterprise: EnterpriseId,
        groups: &[SyncGroupChoice],
        audit: &Audit,
    ) -> StoreResult<Vec<SyncGroup>> {
        let now = self.now();
        let before = self.list_sync_groups(enterprise).await?;
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM sync_groups WHERE enterprise_id = $1")
            .bind(enterprise.0)
            .execute(&mut *tx)
            .await
            .db()?;
        for g in groups {
            sqlx::query("INSERT INTO sync_groups (enterprise_id, group_object_id, display_name) VALUES ($1, $2, $3)")
                .bind(enterprise.0).bind(g.object_id()).bind(g.display_name())
                .execute(&mut *tx).await.db()?;
        }
        let names = |g: Vec<&str>| json!(g).to_string();
        audit::write(
            &mut tx,
            now,
            Some(enterprise),
            audit,
            Subject::new("sync_groups", enterprise)
                .before(names(
                    before.iter().map(|g| g.display_name.as_str()).collect(),
                ))
                .after(names(groups.iter().map(|g| g.display_name()).collect())),
        )
        .await?;
        tx.commit().await.db()?;
        self.list_sync_groups(enterprise).await
    }

    async fn list_sync_groups(&self, enterprise: EnterpriseId) -> StoreResult<Vec<SyncGroup>> {
        let rows: Vec<SyncGroupRow> = sqlx::query_as(
            "SELECT id, enterprise_id, group_object_id, display_name FROM sync_groups WHERE enterprise_id = $1 ORDER BY display_name",
        )
        .bind(enterprise.0)
        .fetch_all(&self.pool)
        .await
        .db()?;
        Ok(rows.into_iter().map(SyncGroupRow::into_domain).collect())
    }

    async fn sync_state(&self, enterprise: EnterpriseId) -> StoreResult<SyncState> {
        let row: Option<SyncStateRow> = sqlx::query_as(
            "SELECT users_delta_link, groups_delta_link, last_full_sync_ms, last_sync_ms, last_result, scope \
             FROM sync_state WHERE enterprise_id = $1",
        )
        .bind(enterprise.0)
        .fetch_optional(&self.pool)
        .await
        .db()?;
        Ok(row
            .map(|r| SyncState {
                users_delta_link: r.users_delta_link,
                groups_delta_link: r.groups_delta_link,
                last_full_sync_ms: r.last_full_sync_ms,
                last_sync_ms: r.last_sync_ms,
                last_result: r.last_result,
                scope: r.scope,
            })
            .unwrap_or_default())
    }

    async fn put_sync_state(&self, enterprise: EnterpriseId, s: &SyncState) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO sync_state (enterprise_id, users_delta_link, groups_delta_link, last_full_sync_ms, last_sync_ms, last_result, scope) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (enterprise_id) DO UPDATE SET \
             users_delta_link = excluded.users_delta_link, groups_delta_link = excluded.groups_delta_link, \
             last_full_sync_ms = excluded.last_full_sync_ms, last_sync_ms = excluded.last_sync_ms, \
             last_result = excluded.last_result, scope = excluded.scope",
        )
        .bind(enterprise.0)
        .bind(s.users_delta_link.clone())
        .bind(s.groups_delta_link.clone())
        .bind(s.last_full_sync_ms)
        .bind(s.last_sync_ms)
        .bind(s.last_result.clone())
        .bind(s.scope.clone())
        .execute(&mut *tx)
        .await
        .db()?;
        tx.commit().await.db()
    }

    async fn record_sync_run(
        &self,
        enterprise: EnterpriseId,
        run: &SyncRunRecord,
        keep: u32,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO sync_runs (enterprise_id, started_ms, finished_ms, report) VALUES ($1, $2, $3, $4)",
        )
        .bind(enterprise.0)
        .bind(run.started_ms)
        .bind(run.finished_ms)
        .bind(run.report.clone())
        .execute(&mut *tx)
        .await
        .db()?;
        // The history is for people: the newest runs are enough.
        sqlx::query(
            "DELETE FROM sync_runs WHERE enterprise_id = $1 AND id NOT IN \
             (SELECT id FROM sync_runs WHERE enterprise_id = $1 ORDER BY id DESC LIMIT $2)",
        )
        .bind(enterprise.0)
        .bind(i64::from(keep.max(1)))
        .execute(&mut *tx)
        .await
        .db()?;
        tx.commit().await.db()
    }

    async fn list_sync_runs(
        &self,
        enterprise: EnterpriseId,
        limit: u32,
    ) -> StoreResult<Vec<SyncRunRecord>> {
        let rows: Vec<(i64, i64, String)> = sqlx::query_as(
            "SELECT started_ms, finished_ms, report FROM sync_runs WHERE enterprise_id = $1 \
             ORDER BY id DESC LIMIT $2",
        )
        .bind(enterprise.0)
        .bind(i64::from(limit.max(1)))
        .fetch_all(&self.pool)
        .await
        .db()?;
        Ok(rows
            .into_iter()
            .map(|(started_ms, finished_ms, report)| SyncRunRecord {
                started_ms,
                finished_ms,
                report,
            })
            .collect())
    }
}

#[derive(sqlx::FromRow)]
struct SyncStateRow {
    users_delta_link: Option<String>,
    groups_delta_link: Option<String>,
    last_full_sync_ms: Option<i64>,
    last_sync_ms: Option<i64>,
    last_result: Option<String>,
    scope: Option<String>,
}
