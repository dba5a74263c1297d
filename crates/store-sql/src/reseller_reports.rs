//! A reseller's reports over all of its enterprises: its audit log (the enterprise log's
//! search with the reseller's scope) and the billing summary, counted from the spans of
//! configured users that migration 0020's triggers keep.

use crate::SqlStore;
use crate::audit::{AuditScope, AuditSearch, RESELLER_ADMIN_ACTORS};
use crate::error::DbResultExt;
use async_trait::async_trait;
use teamline_domain::audit::{Actor, AuditEvent};
use teamline_domain::billing::{BillingLine, Month};
use teamline_domain::ids::{EnterpriseId, ResellerId};
use teamline_store::{AuditFacets, AuditQuery, ResellerReports, StoreResult};

/// Where the reseller `$1`'s log is: its enterprises' events and its admins' own.
pub(crate) fn reseller_log() -> String {
    format!(
        "(enterprise_id IN (SELECT id FROM enterprises WHERE reseller_id = $1) \
         OR (enterprise_id IS NULL AND actor IN ({RESELLER_ADMIN_ACTORS})))"
    )
}

#[async_trait]
impl ResellerReports for SqlStore {
    async fn search_reseller_audit(
        &self,
        reseller: ResellerId,
        enterprise: Option<EnterpriseId>,
        query: &AuditQuery,
    ) -> StoreResult<Vec<AuditEvent>> {
        AuditSearch::of(
            AuditScope::Reseller {
                reseller,
                enterprise,
            },
            query,
        )
        .run(self)
        .await
    }

    async fn reseller_audit_facets(&self, reseller: ResellerId) -> StoreResult<AuditFacets> {
        let log = reseller_log();
        let actors: Vec<(String,)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT DISTINCT actor FROM audit_events WHERE {log} ORDER BY actor"
        )))
        .bind(reseller.0)
        .fetch_all(&self.pool)
        .await
        .db()?;
        let actions: Vec<(String,)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT DISTINCT action FROM audit_events WHERE {log} ORDER BY action"
        )))
        .bind(reseller.0)
        .fetch_all(&self.pool)
        .await
        .db()?;
        Ok(AuditFacets {
            actors: actors.into_iter().map(|(a,)| Actor::decode(&a)).collect(),
            actions: actions.into_iter().map(|(a,)| a).collect(),
        })
    }

    async fn billing_summary(
        &self,
        reseller: ResellerId,
        month: Month,
        now_ms: i64,
    ) -> StoreResult<Vec<BillingLine>> {
        let (start, end) = (month.start_ms(), month.end_ms());
        // The month's end, or now while it lasts: who is configured at that instant.
        let at = end.min(now_ms);
        let rows: Vec<(i64, String, i64, i64, i64)> = sqlx::query_as(
            "SELECT e.id, e.name, e.created_ms, \
               COUNT(DISTINCT s.pbx_user_id), \
               COUNT(DISTINCT CASE WHEN s.from_ms <= $4 AND (s.until_ms IS NULL OR s.until_ms > $4) \
                                   THEN s.pbx_user_id END) \
             FROM enterprises e \
             LEFT JOIN configured_user_spans s ON s.enterprise_id = e.id \
               AND s.from_ms < $3 AND (s.until_ms IS NULL OR s.until_ms > $2) \
             WHERE e.reseller_id = $1 AND e.created_ms < $3 \
             GROUP BY e.id, e.name, e.created_ms \
             ORDER BY e.name, e.id",
        )
        .bind(reseller.0)
        .bind(start)
        .bind(end)
        .bind(at)
        .fetch_all(&self.pool)
        .await
        .db()?;
        Ok(rows
            .into_iter()
            .map(|(id, name, added_ms, users, at_end)| BillingLine {
                enterprise_id: EnterpriseId(id),
                enterprise: name,
                added_ms,
                configured_users: u64::try_from(users).unwrap_or(0),
                configured_at_end: u64::try_from(at_end).unwrap_or(0),
            })
            .collect())
    }
}
