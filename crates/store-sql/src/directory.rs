//! The tenant's Teams users as the directory sync saw them. Users who leave the scope, are
//! disabled or deleted are flagged, never removed: a PBX user may still point at them.

use crate::error::DbResultExt;
use crate::rows::*;
use crate::{RESERVING, SqlStore, b, like_escape};
use async_trait::async_trait;
use serde_json::json;
use sqlx::AssertSqlSafe;
use teamline_domain::ids::EnterpriseId;
use teamline_domain::teams_user::{PlanState, TeamsUser};
use teamline_store::{
    DirectoryStore, Page, StoreResult, TeamsUserQuery, TeamsUserUpsert, UpsertCounts,
};

/// Rows per statement when upserting: keeps each statement's parameter count well below
/// SQLite's and PostgreSQL's limits while saving round trips on large syncs.
const UPSERT_CHUNK: usize = 200;

impl SqlStore {
    async fn flag_users(
        &self,
        enterprise: EnterpriseId,
        object_ids: &[String],
        set: &str,
        only_where: &str,
    ) -> StoreResult<u64> {
        // Most delta rounds flag nobody: no transaction to open and close for that.
        if object_ids.is_empty() {
            return Ok(0);
        }
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
            affected += q.execute(&mut *tx).await.db()?.rows_affected();
        }
        tx.commit().await.db()?;
        Ok(affected)
    }
}

#[async_trait]
impl DirectoryStore for SqlStore {
    async fn upsert_teams_users(
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
            let existing: Vec<TeamsUserRow> = q.fetch_all(&mut *tx).await.db()?;
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
            q.execute(&mut *tx).await.db()?;
        }
        tx.commit().await.db()?;
        Ok(counts)
    }

    async fn mark_unseen_out_of_scope(
        &self,
        enterprise: EnterpriseId,
        since_ms: i64,
    ) -> StoreResult<u64> {
        let now = self.now();
        let mut tx = self.begin_write().await?;
        let r = sqlx::query("UPDATE teams_users SET in_scope = 0, updated_ms = $1 WHERE enterprise_id = $2 AND last_seen_ms < $3 AND in_scope = 1")
            .bind(now).bind(enterprise.0).bind(since_ms)
            .execute(&mut *tx).await.db()?;
        tx.commit().await.db()?;
        Ok(r.rows_affected())
    }

    async fn mark_out_of_scope(
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

    async fn mark_deleted_in_tenant(
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

    async fn get_teams_user(
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
        .db()?;
        row.map(TeamsUserRow::into_domain).transpose()
    }

    async fn get_teams_users(
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
            for row in q.fetch_all(&self.pool).await.db()? {
                out.push(row.into_domain()?);
            }
        }
        Ok(out)
    }

    async fn teams_user_by_upn(
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
        .db()?;
        row.map(TeamsUserRow::into_domain).transpose()
    }

    async fn list_teams_users(
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
                .db()?;
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
        .db()?;
        Ok(Page {
            items: rows
                .into_iter()
                .map(TeamsUserRow::into_domain)
                .collect::<StoreResult<_>>()?,
            total: u64::try_from(total.0).unwrap_or(0),
        })
    }
}
