//! Directory sync: which Microsoft 365 users Teamline knows, with their licences and account
//! state, scoped to the enterprise's sync groups (or everyone when none is chosen). Users who
//! leave the scope are flagged and kept, never silently deleted.

use crate::convert;
use crate::jobs::{
    SYNC_DIRECTORY, SYNC_TEAMS_USERS, SyncJob, enterprise_of, ms_job_error, payload,
};
use crate::runner::{JobContext, JobError, JobHandler};
use crate::{Engine, EngineError};
use async_trait::async_trait;
use futures::TryStreamExt;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use teamline_domain::audit::Actor;
use teamline_domain::enterprise::ConsentKind;
use teamline_domain::ids::{EnterpriseId, JobId};
use teamline_domain::job::Job;
use teamline_domain::pbx_user::PushState;
use teamline_microsoft::directory::{DirectoryUser, UserFilter};
use teamline_store::{AuditRecord, SyncState, TeamsUserUpsert};

/// How one sync went, shown on the Dashboard and in the audit log.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncReport {
    pub full: bool,
    pub seen: u64,
    pub added: u64,
    pub changed: u64,
    /// Users who left the sync scope (kept and flagged).
    pub flagged: u64,
    pub duration_ms: i64,
    pub finished_ms: i64,
    pub error: Option<String>,
}

impl SyncReport {
    pub fn summary(&self) -> String {
        format!(
            "Synced {} users from Microsoft 365 in {:.1} s: {} added, {} changed, {} flagged",
            self.seen,
            self.duration_ms as f64 / 1000.0,
            self.added,
            self.changed,
            self.flagged
        )
    }
}

/// Rows written per store call during a sync.
const BATCH: usize = 1000;

impl Engine {
    /// Reads the enterprise's users from Microsoft and stores them.
    pub async fn sync_directory(
        &self,
        e: EnterpriseId,
        ctx: Option<&JobContext>,
    ) -> Result<SyncReport, EngineError> {
        let store = &self.inner.store;
        let started = store.clock().now_ms();
        let enterprise = store.get_enterprise(e).await?;
        let tenant = self.tenant_api(&enterprise)?;
        let groups = store.list_sync_groups(e).await?;
        let mut report = SyncReport {
            full: true,
            ..SyncReport::default()
        };

        let mut pending: Vec<TeamsUserUpsert> = Vec::with_capacity(BATCH);
        if groups.is_empty() {
            let mut pages = tenant.users(UserFilter::EnabledMembers);
            while let Some(page) = pages.try_next().await? {
                for u in &page {
                    pending.push(convert::teams_user(u, Vec::new(), true));
                }
                report.seen += page.len() as u64;
                self.flush(e, &mut pending, &mut report, false).await?;
                progress(ctx, report.seen, "users read from Microsoft 365").await;
            }
        } else {
            // A user may be in several sync groups: gather memberships before storing.
            let mut members: HashMap<String, (DirectoryUser, Vec<String>)> = HashMap::new();
            for g in &groups {
                let mut pages = tenant.group_members(&g.group_object_id);
                while let Some(page) = pages.try_next().await? {
                    for u in page {
                        members
                            .entry(u.id.clone())
                            .or_insert_with(|| (u, Vec::new()))
                            .1
                            .push(g.group_object_id.clone());
                    }
                    progress(
                        ctx,
                        members.len() as u64,
                        &format!("members read from {}", g.display_name),
                    )
                    .await;
                }
            }
            report.seen = members.len() as u64;
            for (u, in_groups) in members.into_values() {
                pending.push(convert::teams_user(&u, in_groups, true));
                self.flush(e, &mut pending, &mut report, false).await?;
            }
        }
        self.flush(e, &mut pending, &mut report, true).await?;
        report.flagged = store.mark_unseen_out_of_scope(e, started).await?;
        let finished = store.clock().now_ms();
        report.duration_ms = finished - started;
        report.finished_ms = finished;

        let mut state = store.sync_state(e).await?;
        state.last_full_sync_ms = Some(finished);
        state.last_sync_ms = Some(finished);
        state.last_result = serde_json::to_string(&report).ok();
        store.put_sync_state(e, &state).await?;
        if report.added + report.changed + report.flagged > 0 {
            store
                .record_audit(&AuditRecord {
                    enterprise_id: Some(e),
                    actor: Actor::Job(SYNC_DIRECTORY.into()),
                    action: "directory.sync".into(),
                    summary: report.summary(),
                    object_type: "directory".into(),
                    object_id: None,
                    before: None,
                    after: state.last_result.clone(),
                })
                .await?;
        }
        Ok(report)
    }

    async fn flush(
        &self,
        e: EnterpriseId,
        pending: &mut Vec<TeamsUserUpsert>,
        report: &mut SyncReport,
        all: bool,
    ) -> Result<(), EngineError> {
        if pending.is_empty() || (!all && pending.len() < BATCH) {
            return Ok(());
        }
        let counts = self.inner.store.upsert_teams_users(e, pending).await?;
        report.added += counts.added;
        report.changed += counts.changed;
        pending.clear();
        Ok(())
    }

    /// The last sync's report, if any.
    pub async fn last_sync(&self, e: EnterpriseId) -> Result<Option<SyncReport>, EngineError> {
        let state: SyncState = self.inner.store.sync_state(e).await?;
        Ok(state
            .last_result
            .and_then(|r| serde_json::from_str(&r).ok()))
    }

    /// Sync Teams Users (Dashboard) and User Group Sync (Troubleshoot): refreshes the directory
    /// and pushes every pending change. Returns the job to follow for progress.
    pub async fn sync_teams_users(
        &self,
        e: EnterpriseId,
        actor: &Actor,
    ) -> Result<JobId, EngineError> {
        let store = &self.inner.store;
        let enterprise = store.get_enterprise(e).await?;
        if !enterprise.consent(ConsentKind::UserSync) {
            return Err(EngineError::refused(
                "Teamline has not been granted consent to read this tenant's users: use Grant Consent on the Dashboard first",
            ));
        }
        let id = self.enqueue_sync_teams_users(e).await?;
        store
            .record_audit(&AuditRecord {
                enterprise_id: Some(e),
                actor: actor.clone(),
                action: "sync.request".into(),
                summary: "Asked to sync Teams users".into(),
                object_type: "directory".into(),
                object_id: None,
                before: None,
                after: None,
            })
            .await?;
        Ok(id)
    }
}

async fn progress(ctx: Option<&JobContext>, done: u64, what: &str) {
    if let Some(ctx) = ctx {
        let _ = ctx.progress(done, None, &format!("{done} {what}")).await;
    }
}

fn engine_job_error(e: EngineError) -> JobError {
    match e {
        EngineError::Microsoft(m) => ms_job_error(&m),
        EngineError::Pbx(p) if p.is_transient() => JobError::retry(p.to_string()),
        EngineError::Store(s) => s.into(),
        other => JobError::permanent(other.to_string()),
    }
}

pub struct SyncDirectory(pub Engine);

#[async_trait]
impl JobHandler for SyncDirectory {
    fn kind(&self) -> &'static str {
        SYNC_DIRECTORY
    }

    async fn run(&self, job: &Job, ctx: &JobContext) -> Result<(), JobError> {
        let e = enterprise_of(job)?;
        let _: SyncJob = payload(job)?;
        self.0
            .sync_directory(e, Some(ctx))
            .await
            .map_err(engine_job_error)?;
        Ok(())
    }
}

pub struct SyncTeamsUsers(pub Engine);

#[async_trait]
impl JobHandler for SyncTeamsUsers {
    fn kind(&self) -> &'static str {
        SYNC_TEAMS_USERS
    }

    async fn run(&self, job: &Job, ctx: &JobContext) -> Result<(), JobError> {
        let engine = &self.0;
        let e = enterprise_of(job)?;
        let report = engine
            .sync_directory(e, Some(ctx))
            .await
            .map_err(engine_job_error)?;
        let pending = engine
            .inner
            .store
            .pbx_users_in_push_states(e, &[PushState::Pending, PushState::Failed])
            .await?;
        let total = pending.len() as u64;
        for (i, id) in pending.into_iter().enumerate() {
            engine.enqueue_push(e, id).await?;
            let _ = ctx
                .progress(
                    i as u64 + 1,
                    Some(total),
                    &format!(
                        "{} · queued {} of {total} changes for Teams",
                        report.summary(),
                        i + 1
                    ),
                )
                .await;
        }
        Ok(())
    }
}
