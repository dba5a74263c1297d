use crate::{AuditRecord, StoreResult};
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
}
