//! Sync groups, synced Teams users and the directory-sync bookmark.

use crate::audit::{self, Subject};
use crate::error::map_sqlx;
use crate::rows::*;
use crate::{RESERVING, SqlStore, b};
use serde_json::json;
use sqlx::AssertSqlSafe;
use teamline_domain::audit::Audit;
use teamline_domain::ids::EnterpriseId;
use teamline_domain::sync_group::SyncGroupChoice;
use teamline_domain::teams_user::{PlanState, TeamsUser};
use teamline_store::{
    Page, StoreResult, SyncGroup, SyncRunRecord, SyncState, TeamsUserQuery, TeamsUserUpsert,
    UpsertCounts,
};

/// Rows per statement when upserting: keeps each statement's parameter count well below
/// SQLite's and PostgreSQL's limits while saving round trips on large syncs.
const UPSERT_CHUNK: usize = 200;

impl SqlStore {
    pub(crate) async fn set_sync_groups_impl(
        &self,
        enterprise: EnterpriseId,
        groups: &[SyncGroupChoice],
        audit: &Audit,
    ) -> StoreResult<Vec<SyncGroup>> {
        let now = self.now();
        let before = self.list_sync_groups_impl(enterprise).await?;
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM sync_groups WHERE enterprise_id = $1")
            .bind(enterprise.0)
            .execute(&mut *tx)
            .await
            .map_err(map_sqlx)?;
        for g in groups {
            sqlx::query("INSERT INTO sync_groups (enterprise_id, group_object_id, display_name) VALUES ($1, $2, $3)")
                .bind(enterprise.0).bind(g.object_id()).bind(g.display_name())
                .execute(&mut *tx).await.map_err(map_sqlx)?;
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
        tx.commit().await.map_err(map_sqlx)?;
        self.list_sync_groups_impl(enterprise).await
    }

    pub(crate) async fn list_sync_groups_impl(
        &self,
        enterprise: EnterpriseId,
    ) -> StoreResult<Vec<SyncGroup>> {
        let rows: Vec<SyncGroupRow> = sqlx::query_as(
            "SELECT id, enterprise_id, group_object_id, display_name FROM sync_groups WHERE enterprise_id = $1 ORDER BY display_name",
        )
        .bind(enterprise.0)
        .fetch_all(&self.pool)
        .await
        .map_err(map_sqlx)?;
        Ok(rows.into_iter().map(SyncGroupRow::into_domain).collect())
    }

    pub(crate) async fn upsert_teams_users_impl(
        &self,
        enterprise: EnterpriseId,
        users: &[TeamsUserUpsert],
    ) -> StoreResult<UpsertCounts> {
        let now = self.now();
        let mut counts = UpsertCounts::default();
        let mut tx = self.begin_write().await?;
        for chunk in users.chunks(UPSERT_CHUNK) {
            // Which of these exist, and with what values, decides added / changed / unchanged.
            let placeholders: Vec<String> =
                (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
            let sql = format!(
                "SELECT {TEAMS_USER_COLUMNS} FROM teams_users WHERE enterprise_id = $1 AND object_id IN ({})",
                placeholders.join(", ")
            );
            let mut q =
                sqlx::query_as::<_, TeamsUserRow>(AssertSqlSafe(sql.as_str())).bind(enterprise.0);
            for u in chunk {
                q = q.bind(u.object_id.clone());
            }
            let existing: Vec<TeamsUserRow> = q.fetch_all(&mut *tx).await.map_err(map_sqlx)?;
            let existing: std::collections::HashMap<String, TeamsUserRow> = existing
                .into_iter()
                .map(|r| (r.object_id.clone(), r))
                .collect();

            const COLUMNS: usize = 15;
            let values: Vec<String> = (0..chunk.len())
                .map(|i| {
                    let cols: Vec<String> = (1..=COLUMNS)
                        .map(|c| format!("${}", i * COLUMNS + c))
                        .collect();
                    format!("({}, 0)", cols.join(", "))
                })
                .collect();
            let sql = format!(
                "INSERT INTO teams_users (enterprise_id, object_id, upn, display_name, account_enabled, user_type, \
                 teams_plan, teams_phone_plan, calling_plan, teams_phone_assigned_ms, sync_groups, in_scope, \
                 last_seen_ms, created_ms, updated_ms, deleted_in_tenant) VALUES {} \
                 ON CONFLICT (enterprise_id, object_id) DO UPDATE SET upn = excluded.upn, \
                 display_name = excluded.display_name, account_enabled = excluded.account_enabled, \
                 user_type = excluded.user_type, teams_plan = excluded.teams_plan, \
                 teams_phone_plan = excluded.teams_phone_plan, calling_plan = excluded.calling_plan, \
                 teams_phone_assigned_ms = excluded.teams_phone_assigned_ms, sync_groups = excluded.sync_groups, \
                 in_scope = excluded.in_scope, last_seen_ms = excluded.last_seen_ms, deleted_in_tenant = 0, \
                 updated_ms = excluded.updated_ms",
                values.join(", ")
            );
            let mut q = sqlx::query(AssertSqlSafe(sql.as_str()));
            for u in chunk {
                let groups = json!(u.sync_groups).to_string();
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
                    .bind(u.licences.teams_phone_assigned_at_ms)
                    .bind(groups.clone())
                    .bind(b(u.in_scope))
                    .bind(now)
                    .bind(now)
                    .bind(now);
                match existing.get(&u.object_id) {
                    None => counts.added += 1,
                    Some(row) => {
                        let was_fine = row.deleted_in_tenant == 0
                            && row.account_enabled == 1
                            && row.teams_phone_plan == plan_state_str(PlanState::Enabled)
                            && row.in_scope == 1;
                        let is_fine = u.account_enabled
                            && u.licences.teams_phone == PlanState::Enabled
                            && u.in_scope;
                        if was_fine && !is_fine {
                            counts.flagged += 1;
                        }
                        let same = row.upn == u.upn
                            && row.display_name == u.display_name
                            && row.account_enabled == b(u.account_enabled)
                            && row.user_type == u.user_type.as_str()
                            && row.teams_plan == plan_state_str(u.licences.teams)
                            && row.teams_phone_plan == plan_state_str(u.licences.teams_phone)
                            && row.calling_plan == b(u.licences.calling_plan)
                            && row.sync_groups == groups
                            && row.in_scope == b(u.in_scope)
                            && row.deleted_in_tenant == 0;
                        if same {
                            counts.unchanged += 1
                        } else {
                            counts.changed += 1
                        }
                    }
                }
            }
            q.execute(&mut *tx).await.map_err(map_sqlx)?;
        }
        tx.commit().await.map_err(map_sqlx)?;
        Ok(counts)
    }

    pub(crate) async fn mark_unseen_out_of_scope_impl(
        &self,
        enterprise: EnterpriseId,
        since_ms: i64,
    ) -> StoreResult<u64> {
        let now = self.now();
        let mut tx = self.begin_write().await?;
        let r = sqlx::query("UPDATE teams_users SET in_scope = 0, updated_ms = $1 WHERE enterprise_id = $2 AND last_seen_ms < $3 AND in_scope = 1")
            .bind(now).bind(enterprise.0).bind(since_ms)
            .execute(&mut *tx).await.map_err(map_sqlx)?;
        tx.commit().await.map_err(map_sqlx)?;
        Ok(r.rows_affected())
    }

    async fn flag_users(
        &self,
        enterprise: EnterpriseId,
        object_ids: &[String],
        set: &str,
        only_where: &str,
    ) -> StoreResult<u64> {
        let now = self.now();
        let mut affected = 0;
        let mut tx = self.begin_write().await?;
        for chunk in object_ids.chunks(UPSERT_CHUNK) {
            let placeholders: Vec<String> =
                (0..chunk.len()).map(|i| format!("${}", i + 3)).collect();
            let sql = format!(
                "UPDATE teams_users SET {set}, updated_ms = $1 WHERE enterprise_id = $2 AND {only_where} AND object_id IN ({})",
                placeholders.join(", ")
            );
            let mut q = sqlx::query(AssertSqlSafe(sql.as_str()))
                .bind(now)
                .bind(enterprise.0);
            for id in chunk {
                q = q.bind(id.clone());
            }
            affected += q.execute(&mut *tx).await.map_err(map_sqlx)?.rows_affected();
        }
        tx.commit().await.map_err(map_sqlx)?;
        Ok(affected)
    }

    pub(crate) async fn mark_out_of_scope_impl(
        &self,
        enterprise: EnterpriseId,
        object_ids: &[String],
    ) -> StoreResult<u64> {
        self.flag_users(
            enterprise,
            object_ids,
            "in_scope = 0, sync_groups = '[]'",
            "in_scope = 1",
        )
        .await
    }

    pub(crate) async fn mark_deleted_in_tenant_impl(
        &self,
        enterprise: EnterpriseId,
        object_ids: &[String],
    ) -> StoreResult<u64> {
        self.flag_users(
            enterprise,
            object_ids,
            "deleted_in_tenant = 1, in_scope = 0",
            "deleted_in_tenant = 0",
        )
        .await
    }

    pub(crate) async fn get_teams_user_impl(
        &self,
        enterprise: EnterpriseId,
        object_id: &str,
    ) -> StoreResult<Option<TeamsUser>> {
        let row: Option<TeamsUserRow> = sqlx::query_as(sql!(
            "SELECT {TEAMS_USER_COLUMNS} FROM teams_users WHERE enterprise_id = $1 AND object_id = $2"
        ))
        .bind(enterprise.0)
        .bind(object_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_sqlx)?;
        row.map(TeamsUserRow::into_domain).transpose()
    }

    pub(crate) async fn get_teams_users_impl(
        &self,
        enterprise: EnterpriseId,
        object_ids: &[String],
    ) -> StoreResult<Vec<TeamsUser>> {
        let mut out = Vec::with_capacity(object_ids.len());
        for chunk in object_ids.chunks(UPSERT_CHUNK) {
            let placeholders: Vec<String> =
                (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
            let sql = format!(
                "SELECT {TEAMS_USER_COLUMNS} FROM teams_users WHERE enterprise_id = $1 AND object_id IN ({})",
                placeholders.join(", ")
            );
            let mut q =
                sqlx::query_as::<_, TeamsUserRow>(AssertSqlSafe(sql.as_str())).bind(enterprise.0);
            for id in chunk {
                q = q.bind(id.clone());
            }
            for row in q.fetch_all(&self.pool).await.map_err(map_sqlx)? {
                out.push(row.into_domain()?);
            }
        }
        Ok(out)
    }

    pub(crate) async fn teams_user_by_upn_impl(
        &self,
        enterprise: EnterpriseId,
        upn: &str,
    ) -> StoreResult<Option<TeamsUser>> {
        let row: Option<TeamsUserRow> = sqlx::query_as(sql!(
            "SELECT {TEAMS_USER_COLUMNS} FROM teams_users WHERE enterprise_id = $1 AND LOWER(upn) = $2"
        ))
        .bind(enterprise.0)
        .bind(upn.trim().to_lowercase())
        .fetch_optional(&self.pool)
        .await
        .map_err(map_sqlx)?;
        row.map(TeamsUserRow::into_domain).transpose()
    }

    pub(crate) async fn list_teams_users_impl(
        &self,
        enterprise: EnterpriseId,
        q: &TeamsUserQuery,
    ) -> StoreResult<Page<TeamsUser>> {
        let pattern = q
            .search
            .as_deref()
            .map(|s| format!("%{}%", like_escape(&s.trim().to_lowercase())));
        let mut filter = String::from(
            "t.enterprise_id = $1 AND ($2 IS NULL OR LOWER(t.display_name) LIKE $2 ESCAPE '\\' OR LOWER(t.upn) LIKE $2 ESCAPE '\\')",
        );
        if q.eligible_unpaired_only {
            filter.push_str(&format!(
                " AND t.account_enabled = 1 AND t.user_type = 'member' AND t.teams_plan = 'enabled' \
                 AND t.teams_phone_plan = 'enabled' AND t.calling_plan = 0 AND t.in_scope = 1 \
                 AND t.deleted_in_tenant = 0 AND NOT EXISTS (SELECT 1 FROM pbx_users p \
                 WHERE p.enterprise_id = t.enterprise_id AND p.teams_user_object_id = t.object_id \
                 AND p.state IN {RESERVING})"
            ));
        }
        let total: (i64,) =
            sqlx::query_as(sql!("SELECT COUNT(*) FROM teams_users t WHERE {filter}"))
                .bind(enterprise.0)
                .bind(pattern.clone())
                .fetch_one(&self.pool)
                .await
                .map_err(map_sqlx)?;
        let cols = TEAMS_USER_COLUMNS
            .split(", ")
            .map(|c| format!("t.{}", c.trim()))
            .collect::<Vec<_>>()
            .join(", ");
        let rows: Vec<TeamsUserRow> = sqlx::query_as(sql!(
            "SELECT {cols} FROM teams_users t WHERE {filter} ORDER BY t.display_name, t.id LIMIT $3 OFFSET $4"
        ))
        .bind(enterprise.0)
        .bind(pattern)
        .bind(i64::from(q.limit.max(1)))
        .bind(i64::from(q.offset))
        .fetch_all(&self.pool)
        .await
        .map_err(map_sqlx)?;
        Ok(Page {
            items: rows
                .into_iter()
                .map(TeamsUserRow::into_domain)
                .collect::<StoreResult<_>>()?,
            total: u64::try_from(total.0).unwrap_or(0),
        })
    }

    pub(crate) async fn sync_state_impl(&self, enterprise: EnterpriseId) -> StoreResult<SyncState> {
        let row: Option<SyncStateRow> = sqlx::query_as(
            "SELECT users_delta_link, groups_delta_link, last_full_sync_ms, last_sync_ms, last_result, scope \
             FROM sync_state WHERE enterprise_id = $1",
        )
        .bind(enterprise.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_sqlx)?;
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

    pub(crate) async fn put_sync_state_impl(
        &self,
        enterprise: EnterpriseId,
        s: &SyncState,
    ) -> StoreResult<()> {
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
        .map_err(map_sqlx)?;
        tx.commit().await.map_err(map_sqlx)
    }

    pub(crate) async fn record_sync_run_impl(
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
        .map_err(map_sqlx)?;
        // The history is for people: the newest runs are enough.
        sqlx::query(
            "DELETE FROM sync_runs WHERE enterprise_id = $1 AND id NOT IN \
             (SELECT id FROM sync_runs WHERE enterprise_id = $1 ORDER BY id DESC LIMIT $2)",
        )
        .bind(enterprise.0)
        .bind(i64::from(keep.max(1)))
        .execute(&mut *tx)
        .await
        .map_err(map_sqlx)?;
        tx.commit().await.map_err(map_sqlx)
    }

    pub(crate) async fn list_sync_runs_impl(
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
        .map_err(map_sqlx)?;
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

/// Escapes LIKE wildcards so a search for `50%` finds that text.
pub(crate) fn like_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
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
