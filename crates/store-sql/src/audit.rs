//! The audit log. Changes write their event through [`write`] on the change's own transaction,
//! so a change is never recorded without its event, nor an event without its change.

use crate::SqlStore;
use crate::error::DbResultExt;
use crate::rows::AuditRow;
use async_trait::async_trait;
use sqlx::AnyConnection;
use teamline_domain::audit::{Audit, AuditEvent};
use teamline_domain::ids::EnterpriseId;
use teamline_store::{AuditLog, AuditRecord, StoreResult};

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
}
