use crate::{AuditFacets, AuditQuery, AuditRecord, StoreResult};
use async_trait::async_trait;
use teamline_domain::audit::AuditEvent;
use teamline_domain::ids::EnterpriseId;

/// The audit log. A change made through another store trait writes its own event in the same
/// transaction (it takes an [`Audit`](teamline_domain::audit::Audit)); this records the events
/// that belong to no change and reads the log.
#[async_trait]
pub trait AuditLog: Send + Sync + 'static {
    /// An event that is not part of another change (e.g. "sync completed").
    async fn record_audit(&self, record: &AuditRecord) -> StoreResult<()>;
    /// Newest first.
    async fn list_audit(
        &self,
        enterprise: Option<EnterpriseId>,
        limit: u32,
    ) -> StoreResult<Vec<AuditEvent>>;
    /// One object's history in an enterprise (e.g. a PBX user's), newest first.
    async fn audit_of(
        &self,
        enterprise: EnterpriseId,
        object_type: &str,
        object_id: &str,
        limit: u32,
    ) -> StoreResult<Vec<AuditEvent>>;
    /// One page of the enterprise's log matching `query`, newest first (also when the cursor
    /// asks for newer events), at most `query.limit` events.
    async fn search_audit(
        &self,
        enterprise: EnterpriseId,
        query: &AuditQuery,
    ) -> StoreResult<Vec<AuditEvent>>;
    /// Who appears in the enterprise's log and which actions, each once, sorted.
    async fn audit_facets(&self, enterprise: EnterpriseId) -> StoreResult<AuditFacets>;
}
