//! The audit log. Changes write their event through [`write`] on the change's own transaction,
//! so a change is never recorded without its event, nor an event without its change.

use crate::error::DbResultExt;
use crate::rows::AuditRow;
use crate::{SqlStore, like_escape};
use async_trait::async_trait;
use sqlx::AnyConnection;
use teamline_domain::audit::{Actor, Audit, AuditEvent};
use teamline_domain::ids::{EnterpriseId, ResellerId};
use teamline_store::{AuditCursor, AuditFacets, AuditLog, AuditQuery, AuditRecord, StoreResult};

/// The object an audit event is about, with its state before and after (JSON, no secrets).
pub struct Subject<'a> {
    pub object_type: &'a str,
    pub object_id: Option<String>,
    pub before: Option<String>,
    pub after: Option<String>,
}

impl<'a> Subject<'a> {
    pub fn new(object_type: &'a str, object_id: impl ToString) -> Self {
        Self {
            object_type,
            object_id: Some(object_id.to_string()),
            before: None,
            after: None,
        }
    }

    pub fn before(mut self, json: impl Into<Option<String>>) -> Self {
        self.before = json.into();
        self
    }

    pub fn after(mut self, json: impl Into<Option<String>>) -> Self {
        self.after = json.into();
        self
    }
}

pub async fn write(
    conn: &mut AnyConnection,
    at_ms: i64,
    enterprise: Option<EnterpriseId>,
    audit: &Audit,
    subject: Subject<'_>,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO audit_events (enterprise_id, at_ms, actor, action, summary, object_type, \
         object_id, before_json, after_json) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(enterprise.map(|e| e.0))
    .bind(at_ms)
    .bind(audit.actor.encode())
    .bind(&audit.action)
    .bind(&audit.summary)
    .bind(subject.object_type)
    .bind(subject.object_id)
    .bind(subject.before)
    .bind(subject.after)
    .execute(&mut *conn)
    .await
    .db()?;
    Ok(())
}

#[async_trait]
impl AuditLog for SqlStore {
    async fn record_audit(&self, r: &AuditRecord) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let audit = Audit {
            actor: r.actor.clone(),
            action: r.action.clone(),
            summary: r.summary.clone(),
        };
        let subject = Subject {
            object_type: &r.object_type,
            object_id: r.object_id.clone(),
            before: r.before.clone(),
            after: r.after.clone(),
        };
        write(&mut tx, self.now(), r.enterprise_id, &audit, subject).await?;
        tx.commit().await.db()
    }

    async fn list_audit(
        &self,
        enterprise: Option<EnterpriseId>,
        limit: u32,
    ) -> StoreResult<Vec<AuditEvent>> {
        let sql = "SELECT id, enterprise_id, at_ms, actor, action, summary, object_type, object_id, \
                   before_json, after_json FROM audit_events \
                   WHERE ($1 IS NULL OR enterprise_id = $1) ORDER BY id DESC LIMIT $2";
        let rows: Vec<AuditRow> = sqlx::query_as(sql)
            .bind(enterprise.map(|e| e.0))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .db()?;
        Ok(rows.into_iter().map(AuditRow::into_domain).collect())
    }

    async fn audit_of(
        &self,
        enterprise: EnterpriseId,
        object_type: &str,
        object_id: &str,
        limit: u32,
    ) -> StoreResult<Vec<AuditEvent>> {
        let sql = "SELECT id, enterprise_id, at_ms, actor, action, summary, object_type, object_id, \
                   before_json, after_json FROM audit_events \
                   WHERE enterprise_id = $1 AND object_type = $2 AND object_id = $3 ORDER BY id DESC LIMIT $4";
        let rows: Vec<AuditRow> = sqlx::query_as(sql)
            .bind(enterprise.0)
            .bind(object_type.to_owned())
            .bind(object_id.to_owned())
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .db()?;
        Ok(rows.into_iter().map(AuditRow::into_domain).collect())
    }

    async fn search_audit(
        &self,
        enterprise: EnterpriseId,
        q: &AuditQuery,
    ) -> StoreResult<Vec<AuditEvent>> {
        AuditSearch::of(AuditScope::Enterprise(enterprise), q)
            .run(self)
            .await
    }

    async fn audit_facets(&self, enterprise: EnterpriseId) -> StoreResult<AuditFacets> {
        let actors: Vec<(String,)> = sqlx::query_as(
            "SELECT DISTINCT actor FROM audit_events WHERE enterprise_id = $1 ORDER BY actor",
        )
        .bind(enterprise.0)
        .fetch_all(&self.pool)
        .await
        .db()?;
        let actions: Vec<(String,)> = sqlx::query_as(
            "SELECT DISTINCT action FROM audit_events WHERE enterprise_id = $1 ORDER BY action",
        )
        .bind(enterprise.0)
        .fetch_all(&self.pool)
        .await
        .db()?;
        Ok(AuditFacets {
            actors: actors.into_iter().map(|(a,)| Actor::decode(&a)).collect(),
            actions: actions.into_iter().map(|(a,)| a).collect(),
        })
    }
}

/// Whose log a search reads.
pub(crate) enum AuditScope {
    Enterprise(EnterpriseId),
    /// A reseller's enterprises (or one of them) and, without one, its admins' own events.
    Reseller {
        reseller: ResellerId,
        enterprise: Option<EnterpriseId>,
    },
}

enum Arg {
    Int(i64),
    Text(String),
}

/// The Audit log's statement: only the conditions of the filters given, so each database
/// picks the index that fits (by actor, by action, by object, or by time) and reads one page
/// of it in order, however deep the page (keyset paging on time and id, never an OFFSET).
pub(crate) struct AuditSearch {
    sql: String,
    args: Vec<Arg>,
    /// Read oldest first (a page of newer events); the rows are turned round afterwards.
    ascending: bool,
}

impl AuditSearch {
    pub(crate) fn of(scope: AuditScope, q: &AuditQuery) -> Self {
        let (mut args, mut conditions) = match scope {
            AuditScope::Enterprise(e) => {
                (vec![Arg::Int(e.0)], vec!["enterprise_id = $1".to_owned()])
            }
            AuditScope::Reseller {
                reseller,
                enterprise: Some(e),
            } => (
                vec![Arg::Int(reseller.0), Arg::Int(e.0)],
                vec![
                    "enterprise_id = $2 AND EXISTS (SELECT 1 FROM enterprises r \
                     WHERE r.id = $2 AND r.reseller_id = $1)"
                        .to_owned(),
                ],
            ),
            AuditScope::Reseller {
                reseller,
                enterprise: None,
            } => (
                vec![Arg::Int(reseller.0)],
                vec![crate::reseller_reports::reseller_log()],
            ),
        };
        let push = |args: &mut Vec<Arg>, arg: Arg| {
            args.push(arg);
            format!("${}", args.len())
        };
        if let Some(text) = q.text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            let pattern = format!("%{}%", like_escape(&text.to_lowercase()));
            let p = push(&mut args, Arg::Text(pattern));
            conditions.push(format!(
                "(LOWER(summary) LIKE {p} ESCAPE '\\' OR LOWER(actor) LIKE {p} ESCAPE '\\')"
            ));
        }
        if let Some(actor) = &q.actor {
            let p = push(&mut args, Arg::Text(actor.encode()));
            conditions.push(format!("actor = {p}"));
        }
        if let Some(action) = &q.action {
            let p = push(&mut args, Arg::Text(action.clone()));
            conditions.push(format!("action = {p}"));
        }
        if let Some((object_type, ids)) = &q.objects {
            let t = push(&mut args, Arg::Text(object_type.clone()));
            if ids.is_empty() {
                conditions.push("1 = 0".to_owned());
            } else {
                let list: Vec<String> = ids
                    .iter()
                    .map(|id| push(&mut args, Arg::Text(id.clone())))
                    .collect();
                conditions.push(format!(
                    "object_type = {t} AND object_id IN ({})",
                    list.join(", ")
                ));
            }
        }
        if let Some(from) = q.from_ms {
            let p = push(&mut args, Arg::Int(from));
            conditions.push(format!("at_ms >= {p}"));
        }
        if let Some(until) = q.until_ms {
            let p = push(&mut args, Arg::Int(until));
            conditions.push(format!("at_ms < {p}"));
        }
        let ascending = matches!(q.cursor, Some(AuditCursor::Newer { .. }));
        // `at_ms <= t` is the index range; the rest only settles the events of that very
        // millisecond.
        match q.cursor {
            Some(AuditCursor::Older { at_ms, id }) => {
                let t = push(&mut args, Arg::Int(at_ms));
                let i = push(&mut args, Arg::Int(id.0));
                conditions.push(format!("at_ms <= {t} AND (at_ms < {t} OR id < {i})"));
            }
            Some(AuditCursor::Newer { at_ms, id }) => {
                let t = push(&mut args, Arg::Int(at_ms));
                let i = push(&mut args, Arg::Int(id.0));
                conditions.push(format!("at_ms >= {t} AND (at_ms > {t} OR id > {i})"));
            }
            None => {}
        }
        let order = if ascending {
            "at_ms ASC, id ASC"
        } else {
            "at_ms DESC, id DESC"
        };
        let limit = push(&mut args, Arg::Int(i64::from(q.limit.max(1))));
        let sql = format!(
            "SELECT id, enterprise_id, at_ms, actor, action, summary, object_type, object_id, \
             before_json, after_json FROM audit_events WHERE {} ORDER BY {order} LIMIT {limit}",
            conditions.join(" AND ")
        );
        Self {
            sql,
            args,
            ascending,
        }
    }

    pub(crate) async fn run(self, store: &SqlStore) -> StoreResult<Vec<AuditEvent>> {
        let mut query = sqlx::query_as::<_, AuditRow>(sqlx::AssertSqlSafe(self.sql));
        for arg in self.args {
            query = match arg {
                Arg::Int(i) => query.bind(i),
                Arg::Text(t) => query.bind(t),
            };
        }
        let mut rows = query.fetch_all(&store.pool).await.db()?;
        if self.ascending {
            rows.reverse();
        }
        Ok(rows.into_iter().map(AuditRow::into_domain).collect())
    }
}

/// The encoded actors of the reseller `$1`'s admins (as [`Actor::encode`] writes them).
pub(crate) const RESELLER_ADMIN_ACTORS: &str =
    "SELECT 'reseller_admin:' || email FROM accounts WHERE reseller_id = $1";
