//! What the directory sync reads and where it stands: the sync groups, the delta links and the
//! last result (`sync_state`), the history of runs (`sync_runs`), and the members a full sync
//! of several groups stages before it merges them (`directory_sync_staged_*`).

use crate::audit::{self, Subject};
use crate::error::DbResultExt;
use crate::rows::{SyncGroupRow, plan_state, plan_state_str, some};
use crate::{SqlStore, b};
use async_trait::async_trait;
use serde_json::json;
use sqlx::AssertSqlSafe;
use teamline_domain::audit::Audit;
use teamline_domain::ids::EnterpriseId;
use teamline_domain::sync_group::SyncGroupChoice;
use teamline_domain::teams_user::{Licences, UserType};
use teamline_store::{
    DirectorySyncStore, StoreResult, SyncGroup, SyncRunRecord, SyncState, TeamsUserUpsert,
};

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

    async fn last_sync_times(&self) -> StoreResult<Vec<(EnterpriseId, i64)>> {
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT enterprise_id, last_sync_ms FROM sync_state WHERE last_sync_ms IS NOT NULL",
        )
        .fetch_all(&self.pool)
        .await
        .db()?;
        Ok(rows
            .into_iter()
            .map(|(e, t)| (EnterpriseId(e), t))
            .collect())
    }

    async fn put_sync_state(&self, enterprise: EnterpriseId, s: &SyncState) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        put_sync_state_in(&mut tx, enterprise, s).await?;
        tx.commit().await.db()
    }

    async fn record_sync_run(
        &self,
        enterprise: EnterpriseId,
        state: &SyncState,
        run: &SyncRunRecord,
        keep: u32,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        put_sync_state_in(&mut tx, enterprise, state).await?;
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

    async fn stage_sync_members(
        &self,
        enterprise: EnterpriseId,
        group_object_id: &str,
        users: &[TeamsUserUpsert],
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        for chunk in users.chunks(STAGE_CHUNK) {
            const COLUMNS: usize = 10;
            let values: Vec<String> = (0..chunk.len())
                .map(|i| {
                    let cols: Vec<String> = (1..=COLUMNS)
                        .map(|c| format!("${}", i * COLUMNS + c))
                        .collect();
                    format!("({})", cols.join(", "))
                })
                .collect();
            let sql = format!(
                "INSERT INTO directory_sync_staged_users (enterprise_id, object_id, upn, display_name, \
                 account_enabled, user_type, teams_plan, teams_phone_plan, calling_plan, \
                 teams_phone_assigned_ms) VALUES {} ON CONFLICT (enterprise_id, object_id) DO NOTHING",
                values.join(", ")
            );
            let mut q = sqlx::query(AssertSqlSafe(sql.as_str()));
            for u in chunk {
                q = q
                    .bind(enterprise.0)
                    .bind(u.object_id.clone())
                    .bind(u.upn.clone())
                    .bind(u.display_name.clone())
                    .bind(b(u.account_enabled))
                    .bind(u.user_type.as_str())
                    .bind(plan_state_str(u.licences.teams))
                    .bind(plan_state_str(u.licences.teams_phone))
                    .bind(b(u.licences.calling_plan))
                    .bind(u.licences.teams_phone_assigned_at_ms);
            }
            q.execute(&mut *tx).await.db()?;

            let values: Vec<String> = (0..chunk.len())
                .map(|i| format!("($1, $2, ${})", i + 3))
                .collect();
            let sql = format!(
                "INSERT INTO directory_sync_staged_memberships (enterprise_id, group_object_id, object_id) \
                 VALUES {} ON CONFLICT (enterprise_id, object_id, group_object_id) DO NOTHING",
                values.join(", ")
            );
            let mut q = sqlx::query(AssertSqlSafe(sql.as_str()))
                .bind(enterprise.0)
                .bind(group_object_id.to_owned());
            for u in chunk {
                q = q.bind(u.object_id.clone());
            }
            q.execute(&mut *tx).await.db()?;
        }
        tx.commit().await.db()
    }

    async fn staged_sync_members(
        &self,
        enterprise: EnterpriseId,
        after: Option<&str>,
        limit: u32,
    ) -> StoreResult<Vec<TeamsUserUpsert>> {
        // One row per (user, group), users in object-id order: the page of users is chosen
        // first, so a user's groups never straddle two pages.
        let rows: Vec<StagedMemberRow> = sqlx::query_as(
            "SELECT u.object_id, u.upn, u.display_name, u.account_enabled, u.user_type, \
             u.teams_plan, u.teams_phone_plan, u.calling_plan, u.teams_phone_assigned_ms, \
             m.group_object_id \
             FROM (SELECT * FROM directory_sync_staged_users WHERE enterprise_id = $1 AND object_id > $2 \
                   ORDER BY object_id LIMIT $3) u \
             JOIN directory_sync_staged_memberships m \
               ON m.enterprise_id = $1 AND m.object_id = u.object_id \
             ORDER BY u.object_id, m.group_object_id",
        )
        .bind(enterprise.0)
        .bind(after.unwrap_or_default().to_owned())
        .bind(i64::from(limit.max(1)))
        .fetch_all(&self.pool)
        .await
        .db()?;
        let mut out: Vec<TeamsUserUpsert> = Vec::new();
        for row in rows {
            match out.last_mut() {
                Some(last) if last.object_id == row.object_id => {
                    last.sync_groups.push(row.group_object_id);
                }
                _ => out.push(row.into_upsert()?),
            }
        }
        // Sorted here, not by the database's collation: the same order a delta round writes,
        // so an unchanged user compares equal.
        for u in &mut out {
            u.sync_groups.sort();
        }
        Ok(out)
    }

    async fn clear_staged_sync_members(&self, enterprise: EnterpriseId) -> StoreResult<u64> {
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM directory_sync_staged_memberships WHERE enterprise_id = $1")
            .bind(enterprise.0)
            .execute(&mut *tx)
            .await
            .db()?;
        let r = sqlx::query("DELETE FROM directory_sync_staged_users WHERE enterprise_id = $1")
            .bind(enterprise.0)
            .execute(&mut *tx)
            .await
            .db()?;
        tx.commit().await.db()?;
        Ok(r.rows_affected())
    }
}

/// Users per staging statement (10 parameters each, well below both databases' limits).
const STAGE_CHUNK: usize = 200;

#[derive(sqlx::FromRow)]
struct StagedMemberRow {
    object_id: String,
    upn: String,
    display_name: String,
    account_enabled: i64,
    user_type: String,
    teams_plan: String,
    teams_phone_plan: String,
    calling_plan: i64,
    teams_phone_assigned_ms: Option<i64>,
    group_object_id: String,
}

impl StagedMemberRow {
    fn into_upsert(self) -> StoreResult<TeamsUserUpsert> {
        Ok(TeamsUserUpsert {
            object_id: self.object_id,
            upn: self.upn,
            display_name: self.display_name,
            account_enabled: self.account_enabled != 0,
            user_type: some("user type", UserType::parse(&self.user_type))?,
            licences: Licences {
                teams: plan_state(&self.teams_plan),
                teams_phone: plan_state(&self.teams_phone_plan),
                calling_plan: self.calling_plan != 0,
                teams_phone_assigned_at_ms: self.teams_phone_assigned_ms,
            },
            sync_groups: vec![self.group_object_id],
            in_scope: true,
        })
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

async fn put_sync_state_in(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    enterprise: EnterpriseId,
    s: &SyncState,
) -> StoreResult<()> {
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
    .execute(&mut **tx)
    .await
    .db()?;
    Ok(())
}
