//! What a reseller reads about all of its enterprises at once: its audit log (what its admins
//! did, and what was done in its enterprises) and the monthly billing summary.

use crate::{AuditFacets, AuditQuery, StoreResult};
use async_trait::async_trait;
use teamline_domain::audit::AuditEvent;
use teamline_domain::billing::{BillingLine, Month};
use teamline_domain::ids::{EnterpriseId, ResellerId};

#[async_trait]
pub trait ResellerReports: Send + Sync + 'static {
    /// One page of the reseller's log matching `query` (newest first, keyset paging as
    /// [`crate::AuditLog::search_audit`]): the events of its enterprises (or of `enterprise`
    /// only, which must be one of its own to match anything) and, when no enterprise is asked
    /// for, its admins' own events that belong to no enterprise.
    async fn search_reseller_audit(
        &self,
        reseller: ResellerId,
        enterprise: Option<EnterpriseId>,
        query: &AuditQuery,
    ) -> StoreResult<Vec<AuditEvent>>;
    /// Who appears in the reseller's log and which actions, each once, sorted.
    async fn reseller_audit_facets(&self, reseller: ResellerId) -> StoreResult<AuditFacets>;
    /// Per enterprise of the reseller added before the month ended, by name: the PBX users
    /// configured at any time during the month, and at its end (or at `now_ms`, if sooner).
    async fn billing_summary(
        &self,
        reseller: ResellerId,
        month: Month,
        now_ms: i64,
    ) -> StoreResult<Vec<BillingLine>>;
}
