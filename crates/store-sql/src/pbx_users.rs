//! PBX users: the pairings, their lifecycle (each change audited before → after), the Users
//! page and who holds what.

use crate::audit::{self, Subject};
use crate::error::DbResultExt;
use crate::holders::{check_free, holder};
use crate::rows::*;
use crate::{SqlStore, b};
use async_trait::async_trait;
use sqlx::{AnyConnection, AssertSqlSafe};
use teamline_domain::audit::Audit;
use teamline_domain::ids::*;
use teamline_domain::pbx_user::{CallerNamePolicy, Holder, PbxUser, PbxUserSpec, PbxUserState};
use teamline_domain::phone::PhoneNumber;
use teamline_domain::sip::Extension;
use teamline_store::{
    NewPbxUser, Page, PbxUserListItem, PbxUserQuery, PbxUserStore, StoreError, StoreResult,
    UserCounts, UserCursor, UserFilter, UserSort, pbx_user_states_for,
};

fn user_json(u: &PbxUser) -> String {
    serde_json::json!({
        "spec": u.spec,
        "state": u.state.as_str(),
        "calling_enabled": u.calling_enabled,
        "push_state": u.push_state.as_str(),
    })
    .to_string()
}

fn caller_name_columns(spec: &PbxUserSpec) -> (&'static str, Option<String>) {
    match &spec.caller_name {
        CallerNamePolicy::Transparent => ("transparent", None),
        CallerNamePolicy::Other(name) => ("other", Some(name.clone())),
    }
}

fn emergency_address(spec: &PbxUserSpec) -> Option<String> {
    spec.device_creation
        .as_ref()
        .and_then(|c| c.emergency_address_id.clone())
}

/// What a change to a user records (its audit event) and re-checks (a new spec's holders).
pub(crate) struct Change<'a> {
    pub audit: Option<&'a Audit>,
    pub new_spec: Option<&'a PbxUserSpec>,
}

impl SqlStore {
    pub(crate) async fn pbx_user_in(
        conn: &mut AnyConnection,
        enterprise: EnterpriseId,
        id: PbxUserId,
    ) -> StoreResult<PbxUserListItem> {
        let row: Option<PbxUserRow> = sqlx::query_as(sql!(
            "{PBX_USER_SELECT} WHERE p.id = $1 AND p.enterprise_id = $2"
        ))
        .bind(id.0)
        .bind(enterprise.0)
        .fetch_optional(&mut *conn)
        .await
        .db()?;
        row.ok_or_else(|| StoreError::not_found(format!("PBX user {id}")))?
            .into_item()
    }

    /// Applies `sql` (binding `$1` = now, `$2` = id, then `bind`) to one user in a write
    /// transaction, with an audit event of before → after. `guard` may refuse the change.
    pub(crate) async fn change_pbx_user(
        &self,
        enterprise: EnterpriseId,
        id: PbxUserId,
        change: Change<'_>,
        guard: impl FnOnce(&PbxUser) -> StoreResult<()>,
        sql: &str,
        bind: impl FnOnce(
            sqlx::query::Query<'_, sqlx::Any, sqlx::any::AnyArguments>,
        ) -> sqlx::query::Query<'_, sqlx::Any, sqlx::any::AnyArguments>,
    ) -> StoreResult<PbxUser> {
        let now = self.now();
        let mut tx = self.begin_write().await?;
        let before = Self::pbx_user_in(&mut tx, enterprise, id).await?.user;
        guard(&before)?;
        let Change { audit, new_spec } = change;
        if let Some(spec) = new_spec {
            check_free(&mut tx, enterprise, spec, Some(id)).await?;
        }
        bind(sqlx::query(AssertSqlSafe(sql)).bind(now).bind(id.0))
            .execute(&mut *tx)
            .await
            .db()?;
        let after = Self::pbx_user_in(&mut tx, enterprise, id).await?.user;
        if let Some(audit) = audit {
            audit::write(
                &mut tx,
                now,
                Some(enterprise),
                audit,
                Subject::new("pbx_user", id)
                    .before(user_json(&before))
                    .after(user_json(&after)),
            )
            .await?;
        }
        tx.commit().await.db()?;
        Ok(after)
    }
}

#[async_trait]
impl PbxUserStore for SqlStore {
    async fn create_pbx_user(&self, new: &NewPbxUser, audit: &Audit) -> StoreResult<PbxUser> {
        let now = self.now();
        let mut tx = self.begin_write().await?;
        check_free(&mut tx, new.enterprise_id, &new.spec, None).await?;
        let user = insert_pbx_user(&mut tx, now, new, None).await?;
        audit::write(
            &mut tx,
            now,
            Some(new.enterprise_id),
            audit,
            Subject::new("pbx_user", user.id).after(user_json(&user)),
        )
        .await?;
        tx.commit().await.db()?;
        Ok(user)
    }

    async fn move_pbx_user(
        &self,
        enterprise: EnterpriseId,
        id: PbxUserId,
        expected_version: i64,
        spec: &PbxUserSpec,
        released: &Audit,
        successor: &Audit,
    ) -> StoreResult<(PbxUser, PbxUser)> {
        let now = self.now();
        let mut tx = self.begin_write().await?;
        let before = Self::pbx_user_in(&mut tx, enterprise, id).await?.user;
        if before.version != expected_version {
            return Err(StoreError::Stale {
                what: format!("PBX user {id}"),
            });
        }
        if !before.state.reserves() {
            return Err(StoreError::Conflict {
                field: "State",
                message: "a deleted user has no extension to move".to_owned(),
            });
        }
        if before.spec.teams_user_object_id == spec.teams_user_object_id {
            return Err(StoreError::Conflict {
                field: "Teams User",
                message: "choose another person: this one already has the extension".to_owned(),
            });
        }
        sqlx::query(
            "UPDATE pbx_users SET updated_ms = $1, state = 'deleted', push_state = 'pending', \
             last_error = NULL, version = version + 1 WHERE id = $2",
        )
        .bind(now)
        .bind(id.0)
        .execute(&mut *tx)
        .await
        .db()?;
        // The released user no longer holds anything; the successor must still find the rest
        // free (its Teams user above all).
        check_free(&mut tx, enterprise, spec, None).await?;
        let new = NewPbxUser {
            enterprise_id: enterprise,
            spec: spec.clone(),
            calling_enabled: true,
        };
        let next = insert_pbx_user(&mut tx, now, &new, Some(id)).await?;
        let after = Self::pbx_user_in(&mut tx, enterprise, id).await?.user;
        audit::write(
            &mut tx,
            now,
            Some(enterprise),
            released,
            Subject::new("pbx_user", id)
                .before(user_json(&before))
                .after(user_json(&after)),
        )
        .await?;
        audit::write(
            &mut tx,
            now,
            Some(enterprise),
            successor,
            Subject::new("pbx_user", next.id).after(user_json(&next)),
        )
        .await?;
        tx.commit().await.db()?;
        Ok((after, next))
    }

    async fn update_pbx_user(
        &self,
        enterprise: EnterpriseId,
        id: PbxUserId,
        expected_version: i64,
        spec: &PbxUserSpec,
        audit: &Audit,
    ) -> StoreResult<PbxUser> {
        let (policy, name) = caller_name_columns(spec);
        let guard = |u: &PbxUser| {
            if u.version != expected_version {
                return Err(StoreError::Stale {
                    what: format!("PBX user {id}"),
                });
            }
            if u.state == PbxUserState::Deleted {
                return Err(StoreError::Conflict {
                    field: "State",
                    message: "a deleted user cannot be edited".to_owned(),
                });
            }
            if u.spec.teams_user_object_id != spec.teams_user_object_id {
                return Err(StoreError::Conflict {
                    field: "Teams User",
                    message: "the Teams user of a PBX user cannot be changed on Edit: use Move to another person".to_owned(),
                });
            }
            Ok(())
        };
        self.change_pbx_user(enterprise, id, Change { audit: Some(audit), new_spec: Some(spec) }, guard,
            "UPDATE pbx_users SET updated_ms = $1, pbx_location_id = $3, voice_route_id = $4, teams_user_object_id = $5, \
             sip_user = $6, phone_number = $7, use_teams_voicemail = $8, caller_name_policy = $9, caller_name = $10, \
             forwarded_caller_id = $11, assign_dial_plan = $12, device = $13, tag = $14, push_state = 'pending', \
             last_error = NULL, create_device = $15, device_emergency_address = $16, version = version + 1 WHERE id = $2",
            |q| q.bind(spec.pbx_location_id.0).bind(spec.voice_route_id.0).bind(spec.teams_user_object_id.clone())
                .bind(spec.sip_user.to_string()).bind(spec.phone_number.to_string()).bind(b(spec.use_teams_voicemail))
                .bind(policy).bind(name).bind(spec.forwarded_caller_id.as_str()).bind(b(spec.assign_dial_plan))
                .bind(spec.device.to_string()).bind(spec.tag.clone()).bind(b(spec.device_creation.is_some()))
                .bind(emergency_address(spec))).await
    }

    async fn set_calling_enabled(
        &self,
        enterprise: EnterpriseId,
        id: PbxUserId,
        enabled: bool,
        audit: &Audit,
    ) -> StoreResult<PbxUser> {
        let guard = |u: &PbxUser| match u.state {
            PbxUserState::Active => Ok(()),
            other => Err(StoreError::Conflict {
                field: "State",
                message: format!(
                    "calling can only be changed for active users; this user is {}",
                    other.label()
                ),
            }),
        };
        self.change_pbx_user(enterprise, id, Change { audit: Some(audit), new_spec: None }, guard,
            "UPDATE pbx_users SET updated_ms = $1, calling_enabled = $3, push_state = 'pending', last_error = NULL, \
             version = version + 1 WHERE id = $2",
            |q| q.bind(b(enabled))).await
    }

    async fn set_pbx_user_state(
        &self,
        enterprise: EnterpriseId,
        id: PbxUserId,
        state: PbxUserState,
        audit: &Audit,
    ) -> StoreResult<PbxUser> {
        if state == PbxUserState::Deleted {
            return self.delete_pbx_user(enterprise, id, audit).await;
        }
        let guard = |u: &PbxUser| {
            if u.state == PbxUserState::Deleted {
                return Err(StoreError::Conflict {
                    field: "State",
                    message: "a deleted user cannot be changed".to_owned(),
                });
            }
            Ok(())
        };
        // Disabling pauses calling in Teams: the push removes the number; re-enabling restores
        // the previous wish.
        self.change_pbx_user(enterprise, id, Change { audit: Some(audit), new_spec: None }, guard,
            "UPDATE pbx_users SET updated_ms = $1, state = $3, push_state = 'pending', last_error = NULL, \
             version = version + 1 WHERE id = $2",
            |q| q.bind(state.as_str())).await
    }

    async fn delete_pbx_user(
        &self,
        enterprise: EnterpriseId,
        id: PbxUserId,
        audit: &Audit,
    ) -> StoreResult<PbxUser> {
        let guard = |u: &PbxUser| match u.state {
            PbxUserState::Disabled => Ok(()),
            PbxUserState::Active => Err(StoreError::Conflict {
                field: "State",
                message: "only a disabled user can be deleted: choose Disable User first"
                    .to_owned(),
            }),
            PbxUserState::Deleted => Err(StoreError::Conflict {
                field: "State",
                message: "this user is already deleted".to_owned(),
            }),
        };
        self.change_pbx_user(enterprise, id, Change { audit: Some(audit), new_spec: None }, guard,
            "UPDATE pbx_users SET updated_ms = $1, state = 'deleted', calling_enabled = 0, version = version + 1 WHERE id = $2",
            |q| q).await
    }

    async fn get_pbx_user(
        &self,
        enterprise: EnterpriseId,
        id: PbxUserId,
    ) -> StoreResult<PbxUserListItem> {
        let mut conn = self.pool.acquire().await.db()?;
        Self::pbx_user_in(&mut conn, enterprise, id).await
    }

    async fn list_pbx_users(
        &self,
        enterprise: EnterpriseId,
        q: &PbxUserQuery,
    ) -> StoreResult<Page<PbxUserListItem>> {
        let search = q
            .search
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| self.backend.user_search(&s.to_lowercase()));
        let (search_condition, pattern) = match search {
            Some(s) => (s.condition, Some(s.value)),
            None => ("$3 IS NULL", None),
        };
        let filter = format!("p.enterprise_id = $1 AND p.state = $2 AND {search_condition}");
        // The voice route is the last placeholder: $4 when counting, $6 after LIMIT/OFFSET.
        let route = |n: u8| match q.voice_route {
            Some(_) => format!(" AND p.voice_route_id = ${n}"),
            None => format!(" AND ${n} IS NULL"),
        };
        let filter = format!("{filter}{}", user_filter_clause(q.filter));
        let (count_filter, list_filter) = (
            format!("{filter}{}", route(4)),
            format!("{filter}{}", route(6)),
        );
        let searching = pattern.is_some();
        let order = user_order(q.sort, q.descending, searching);
        let state = pbx_user_states_for(q.tab).as_str();
        // Without a search the total adds up the kept counts (the filters are conditions on
        // columns that `pbx_user_counts` shares, under the same alias); a search counts its
        // matches.
        let count_sql = if searching {
            format!("SELECT COUNT(*) FROM pbx_users p WHERE {count_filter}")
        } else {
            format!(
                "SELECT CAST(COALESCE(SUM(p.n), 0) AS BIGINT) FROM pbx_user_counts p WHERE {count_filter}"
            )
        };
        let count = || async {
            let total: (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(count_sql.clone()))
                .bind(enterprise.0)
                .bind(state)
                .bind(pattern.clone())
                .bind(q.voice_route.map(|r| r.0))
                .fetch_one(&self.pool)
                .await
                .db()?;
            StoreResult::Ok(total.0)
        };
        let page = |limit: i64, offset: i64, inner_order: String, keyset: String, cursor| {
            let sql = format!(
                // The page's ids are picked from narrow rows first, so a deep page does not
                // build (and throw away) the full rows before it.
                "{PBX_USER_SELECT} WHERE p.id IN (SELECT p.id FROM pbx_users p \
                 LEFT JOIN voice_routes v ON v.id = p.voice_route_id \
                 WHERE {list_filter}{keyset} ORDER BY {inner_order} LIMIT $4 OFFSET $5) ORDER BY {order}"
            );
            let pattern = pattern.clone();
            async move {
                let rows: Vec<PbxUserRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .bind(enterprise.0)
                    .bind(state)
                    .bind(pattern)
                    .bind(limit)
                    .bind(offset)
                    .bind(q.voice_route.map(|r| r.0))
                    .bind(cursor)
                    .fetch_all(&self.pool)
                    .await
                    .db()?;
                StoreResult::Ok(rows)
            }
        };
        let mut limit = i64::from(q.limit.max(1));
        let mut offset = i64::from(q.offset);
        let no_keyset = || " AND $7 IS NULL".to_owned();
        // The first page of a list shorter than a page is the whole list: its length is the
        // total, and the count (a second search through the index) is not needed. That is
        // the usual search, for one user or a handful.
        let (rows, total) = if q.cursor.is_none() && offset == 0 {
            let rows = page(limit, 0, order.clone(), no_keyset(), None).await?;
            let total = match i64::try_from(rows.len()) {
                Ok(n) if n < limit => n,
                _ => count().await?,
            };
            (rows, total)
        } else {
            let total = count().await?;
            // A page in the back half (an old page link, the last page) is counted from the
            // end in the opposite order, so the database skips the fewer rows: walking an
            // index backwards from the end instead of sorting (or stepping over) every row
            // before it.
            let from_end = q.cursor.is_none() && offset.saturating_mul(2) > total;
            if from_end {
                let rest = (total - offset).max(0);
                limit = limit.min(rest);
                offset = (total - offset - limit).max(0);
            }
            // A page before the cursor is picked walking backwards from it, then put in order.
            let (inner_order, keyset, cursor) = match q.cursor {
                None if from_end => (
                    user_order(q.sort, !q.descending, searching),
                    no_keyset(),
                    None,
                ),
                None => (order.clone(), no_keyset(), None),
                Some(UserCursor::After(id)) => (
                    order.clone(),
                    cursor_clause(q.sort, searching, !q.descending, 7),
                    Some(id.0),
                ),
                Some(UserCursor::Before(id)) => (
                    user_order(q.sort, !q.descending, searching),
                    cursor_clause(q.sort, searching, q.descending, 7),
                    Some(id.0),
                ),
            };
            (
                page(limit, offset, inner_order, keyset, cursor).await?,
                total,
            )
        };
        Ok(Page {
            items: rows
                .into_iter()
                .map(PbxUserRow::into_item)
                .collect::<StoreResult<_>>()?,
            total: u64::try_from(total).unwrap_or(0),
        })
    }

    async fn user_counts(&self, enterprise: EnterpriseId) -> StoreResult<UserCounts> {
        let rows: Vec<(String, i64, String, i64)> = sqlx::query_as(
            "SELECT state, calling_enabled, push_state, CAST(SUM(n) AS BIGINT) FROM pbx_user_counts \
             WHERE enterprise_id = $1 GROUP BY state, calling_enabled, push_state",
        )
        .bind(enterprise.0)
        .fetch_all(&self.pool)
        .await
        .db()?;
        let mut c = UserCounts::default();
        for (state, calling, push, n) in rows {
            let n = u64::try_from(n).unwrap_or(0);
            // Work queued or running counts in every state: a released or disabled user's
            // calling is still being removed in Teams.
            if matches!(push.as_str(), "pending" | "in_progress" | "propagating") {
                c.pending += n;
            }
            match state.as_str() {
                "active" => c.active += n,
                "disabled" => c.disabled += n,
                _ => {
                    c.deleted += n;
                    continue;
                }
            }
            // Calling is enabled when Microsoft holds it, not merely when it is wanted.
            if state == "active" && calling != 0 && push == "in_sync" {
                c.calling_enabled += n;
            }
            match push.as_str() {
                "failed" => c.failed += n,
                "drift" => c.drift += n,
                _ => {}
            }
        }
        // The same conditions as the Users page's flag (see `PbxUserRow::into_item`).
        let (flagged,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM pbx_users p JOIN teams_users t \
             ON t.enterprise_id = p.enterprise_id AND t.object_id = p.teams_user_object_id \
             WHERE p.enterprise_id = $1 AND p.state = 'active' AND (t.deleted_in_tenant = 1 \
             OR t.account_enabled = 0 OR t.teams_phone_plan <> 'enabled' OR t.in_scope = 0)",
        )
        .bind(enterprise.0)
        .fetch_one(&self.pool)
        .await
        .db()?;
        c.flagged = u64::try_from(flagged).unwrap_or(0);
        Ok(c)
    }

    async fn tab_counts(&self, enterprise: EnterpriseId) -> StoreResult<[u64; 3]> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT state, CAST(SUM(n) AS BIGINT) FROM pbx_user_counts WHERE enterprise_id = $1 \
             GROUP BY state",
        )
        .bind(enterprise.0)
        .fetch_all(&self.pool)
        .await
        .db()?;
        let mut counts = [0; 3];
        for (state, n) in rows {
            let slot = match state.as_str() {
                "active" => 0,
                "disabled" => 1,
                _ => 2,
            };
            counts[slot] += u64::try_from(n).unwrap_or(0);
        }
        Ok(counts)
    }

    async fn holder_of_extension(
        &self,
        location: PbxLocationId,
        ext: &Extension,
    ) -> StoreResult<Option<Holder>> {
        let mut conn = self.pool.acquire().await.db()?;
        holder(
            &mut conn,
            "p.pbx_location_id = $1 AND p.sip_user = $2",
            location.0,
            ext.to_string(),
        )
        .await
    }

    async fn extension_holders(
        &self,
        location: PbxLocationId,
    ) -> StoreResult<Vec<(String, Holder)>> {
        let rows: Vec<ExtensionHolderRow> = sqlx::query_as(
            "SELECT p.sip_user, p.id, COALESCE(t.display_name, p.teams_user_object_id) AS display_name, \
             COALESCE(t.upn, '') AS upn, p.state FROM pbx_users p LEFT JOIN teams_users t \
             ON t.enterprise_id = p.enterprise_id AND t.object_id = p.teams_user_object_id \
             WHERE p.pbx_location_id = $1 AND p.state IN ('active', 'disabled')",
        )
        .bind(location.0)
        .fetch_all(&self.pool)
        .await
        .db()?;
        rows.into_iter()
            .map(|r| {
                let holder = HolderRow {
                    id: r.id,
                    display_name: r.display_name,
                    upn: r.upn,
                    state: r.state,
                };
                Ok((r.sip_user, holder.into_domain()?))
            })
            .collect()
    }

    async fn holder_of_number(
        &self,
        enterprise: EnterpriseId,
        number: &PhoneNumber,
    ) -> StoreResult<Option<Holder>> {
        let mut conn = self.pool.acquire().await.db()?;
        holder(
            &mut conn,
            "p.enterprise_id = $1 AND p.phone_number = $2",
            enterprise.0,
            number.to_string(),
        )
        .await
    }

    async fn holder_of_teams_user(
        &self,
        enterprise: EnterpriseId,
        object_id: &str,
    ) -> StoreResult<Option<Holder>> {
        let mut conn = self.pool.acquire().await.db()?;
        holder(
            &mut conn,
            "p.enterprise_id = $1 AND p.teams_user_object_id = $2",
            enterprise.0,
            object_id.to_owned(),
        )
        .await
    }
}

/// The Users page's sort keys for the user aliased `p` (its voice route `v`), fixed SQL; the
/// id follows them and breaks ties, so paging is stable.
///
/// While searching, the name is sorted as an expression no index holds: the few matches the
/// text index finds are then sorted, where walking the name index would visit every user to
/// find them.
fn sort_keys(sort: UserSort, searching: bool, p: &str, v: &str) -> Vec<String> {
    let keys: &[&str] = match sort {
        UserSort::Name if searching => &["({p}.sort_name || '')"],
        UserSort::Name => &["{p}.sort_name"],
        // Numeric extensions in numeric order (1000 before 10000), others after them.
        UserSort::Extension => &["LENGTH({p}.sip_user)", "{p}.sip_user"],
        UserSort::Number => &["{p}.phone_number"],
        UserSort::VoiceRoute => &["LOWER(COALESCE({v}.name, ''))"],
        UserSort::Calling => &["{p}.push_state", "{p}.calling_enabled"],
    };
    keys.iter()
        .map(|k| k.replace("{p}", p).replace("{v}", v))
        .chain([format!("{p}.id")])
        .collect()
}

/// The Users page's order: every key in one direction (which keyset paging relies on).
fn user_order(sort: UserSort, descending: bool, searching: bool) -> String {
    let dir = if descending { "DESC" } else { "ASC" };
    sort_keys(sort, searching, "p", "v")
        .iter()
        .map(|k| format!("{k} {dir}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The keyset condition of a page next to the cursor row (bound as `$n`): the row value of
/// the sort keys compared with the cursor row's. A cursor of another enterprise matches no
/// row, so its page is empty.
fn cursor_clause(sort: UserSort, searching: bool, forward: bool, n: u8) -> String {
    let row = |p: &str, v: &str| sort_keys(sort, searching, p, v).join(", ");
    let op = if forward { ">" } else { "<" };
    format!(
        " AND ({}) {op} (SELECT {} FROM pbx_users c LEFT JOIN voice_routes cv \
         ON cv.id = c.voice_route_id WHERE c.id = ${n} AND c.enterprise_id = $1)",
        row("p", "v"),
        row("c", "cv"),
    )
}

/// The condition a Users page filter adds (fixed SQL, no input).
fn user_filter_clause(filter: Option<UserFilter>) -> &'static str {
    match filter {
        None => "",
        Some(UserFilter::Failed) => " AND p.push_state = 'failed'",
        Some(UserFilter::Pending) => {
            " AND p.push_state IN ('pending', 'in_progress', 'propagating')"
        }
        Some(UserFilter::CallingOff) => " AND p.calling_enabled = 0",
        Some(UserFilter::Drift) => " AND p.push_state = 'drift'",
    }
}

/// Inserts a new pairing (push state pending) and reads it back. The caller checked that what
/// it holds is free.
async fn insert_pbx_user(
    conn: &mut AnyConnection,
    now: i64,
    new: &NewPbxUser,
    replaces: Option<PbxUserId>,
) -> StoreResult<PbxUser> {
    let spec = &new.spec;
    let (policy, name) = caller_name_columns(spec);
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO pbx_users (enterprise_id, pbx_location_id, voice_route_id, teams_user_object_id, sip_user, \
         phone_number, use_teams_voicemail, caller_name_policy, caller_name, forwarded_caller_id, assign_dial_plan, \
         device, tag, state, calling_enabled, push_state, last_error, observed, version, created_ms, updated_ms, \
         replaces_pbx_user_id, create_device, device_emergency_address) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 'active', $14, 'pending', NULL, NULL, 1, $15, $15, \
         $16, $17, $18) \
         RETURNING id",
    )
    .bind(new.enterprise_id.0)
    .bind(spec.pbx_location_id.0)
    .bind(spec.voice_route_id.0)
    .bind(spec.teams_user_object_id.clone())
    .bind(spec.sip_user.to_string())
    .bind(spec.phone_number.to_string())
    .bind(b(spec.use_teams_voicemail))
    .bind(policy)
    .bind(name)
    .bind(spec.forwarded_caller_id.as_str())
    .bind(b(spec.assign_dial_plan))
    .bind(spec.device.to_string())
    .bind(spec.tag.clone())
    .bind(b(new.calling_enabled))
    .bind(now)
    .bind(replaces.map(|r| r.0))
    .bind(b(spec.device_creation.is_some()))
    .bind(emergency_address(spec))
    .fetch_one(&mut *conn)
    .await
    .db()?;
    Ok(
        SqlStore::pbx_user_in(conn, new.enterprise_id, PbxUserId(id))
            .await?
            .user,
    )
}

#[derive(sqlx::FromRow)]
struct ExtensionHolderRow {
    sip_user: String,
    id: i64,
    display_name: String,
    upn: String,
    state: String,
}
