//! What the Dashboard shows: the admin's action items, counts, recent activity, the last sync.

use crate::directory::SyncReport;
use crate::directory::{SyncDirectory, SyncTeamsUsers};
use crate::{Engine, EngineError};
use std::collections::BTreeMap;
use teamline_domain::action_item::{ActionItem, EnterpriseFacts, action_items};
use teamline_domain::audit::AuditEvent;
use teamline_domain::enterprise::{ConsentKind, Enterprise};
use teamline_domain::ids::EnterpriseId;
use teamline_domain::job::Job;
use teamline_domain::registration::RegistrationStatus;
use teamline_domain::voice_route::VoiceRouteState;
use teamline_jobs::Job as _;
use teamline_store::{JobQuery, UserCounts};

#[derive(Debug, Clone)]
pub struct Dashboard {
    pub enterprise: Enterprise,
    pub action_items: Vec<ActionItem>,
    pub counts: UserCounts,
    /// Device handles by registration state (only states that occur).
    pub registrations: BTreeMap<RegistrationStatus, u64>,
    pub recent: Vec<AuditEvent>,
    pub last_sync: Option<SyncReport>,
    /// A Sync Teams Users (or directory sync) job queued or running, with its progress.
    pub sync_job: Option<Job>,
}

impl Engine {
    pub async fn dashboard(&self, e: EnterpriseId) -> Result<Dashboard, EngineError> {
        let store = &self.inner.store;
        let enterprise = store.get_enterprise(e).await?;
        let counts = store.user_counts(e).await?;
        let routes = store.list_voice_routes(e).await?;
        let sync_job = self.running_sync(e).await?;
        let registrations = store.registration_counts(Some(e)).await?;
        let failing = registrations.iter().filter(|(state, _)| state.is_failing());
        let facts = EnterpriseFacts {
            user_sync_consent: enterprise.consent(ConsentKind::UserSync),
            management_consent_requested: enterprise.request_management_consent,
            management_consent: enterprise.consent(ConsentKind::Management),
            pending_pushes: counts.pending,
            failed_users: counts.failed,
            pending_voice_routes: routes
                .iter()
                .filter(|r| r.state != VoiceRouteState::Provisioned)
                .count() as u64,
            sync_running: sync_job.is_some(),
            failing_registrations: failing.clone().map(|(_, n)| n).sum(),
            registration_cause: failing.max_by_key(|(_, n)| **n).map(|(state, _)| *state),
        };
        Ok(Dashboard {
            action_items: action_items(&facts),
            counts,
            registrations,
            recent: store.list_audit(Some(e), 10).await?,
            last_sync: self.last_sync(e).await?,
            sync_job,
            enterprise,
        })
    }

    /// The enterprise's sync job that is queued or running, if any.
    pub async fn running_sync(&self, e: EnterpriseId) -> Result<Option<Job>, EngineError> {
        let jobs = self
            .inner
            .store
            .list_jobs(&JobQuery {
                enterprise_id: Some(e),
                unfinished_only: true,
                limit: 50,
                ..Default::default()
            })
            .await?;
        Ok(jobs
            .into_iter()
            .find(|j| j.kind == SyncTeamsUsers::KIND || j.kind == SyncDirectory::KIND))
    }
}
