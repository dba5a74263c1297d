//! One sync of one enterprise: what every step of a full read or a delta round works with.

use super::SyncReport;
use crate::EngineError;
use teamline_domain::ids::EnterpriseId;
use teamline_jobs::Attempt;
use teamline_microsoft::TenantApi;
use teamline_store::{DynStore, SyncGroup, TeamsUserUpsert};

pub(super) struct SyncRun<'a> {
    pub store: &'a DynStore,
    pub e: EnterpriseId,
    /// The enterprise's Microsoft 365 tenant.
    pub tenant: &'a dyn TenantApi,
    /// The sync groups as configured (none: every enabled member user is in scope).
    pub groups: &'a [SyncGroup],
    /// The job the sync runs in, if any: progress is shown there.
    pub attempt: Option<&'a Attempt>,
    pub report: &'a mut SyncReport,
}

impl SyncRun<'_> {
    /// Stores synced users and adds the outcome to the report.
    pub async fn upsert(&mut self, users: Vec<TeamsUserUpsert>) -> Result<(), EngineError> {
        if users.is_empty() {
            return Ok(());
        }
        let counts = self.store.upsert_teams_users(self.e, &users).await?;
        self.report.added += counts.added;
        self.report.changed += counts.changed;
        self.report.flagged += counts.flagged;
        Ok(())
    }

    /// Shows progress on the job (a failure to record it does not stop the sync).
    pub async fn progress(&self, done: u64, total: Option<u64>, what: &str) {
        if let Some(attempt) = self.attempt {
            let _ = attempt.progress(done, total, what).await;
        }
    }

    /// A problem with one user that does not stop the sync.
    pub fn warn(&mut self, warning: String) {
        self.report.warn(warning);
    }
}
