//! Directory sync: which Microsoft 365 users Teamline knows, with their licences, account state
//! and sync groups. The first sync reads everything; later ones are delta rounds that read only
//! what changed (a full read again when Microsoft's delta token expired or the sync groups or
//! their nesting changed). Users who leave the scope, lose Teams Phone, are disabled or deleted
//! are flagged and kept, never silently deleted.

mod delta;
mod full;
mod run;
mod scope;

use crate::calling::{MICROSOFT, PushUser};
use crate::{Engine, EngineError};
use serde::{Deserialize, Serialize};
use teamline_domain::audit::Actor;
use teamline_domain::enterprise::ConsentKind;
use teamline_domain::ids::{EnterpriseId, JobId};
use teamline_domain::pbx_user::PushState;
use teamline_jobs::{Attempt, Job, JobError};
use teamline_store::{AuditRecord, SyncRunRecord, SyncState};

use run::SyncRun;
pub(crate) use scope::SyncScope;

/// How one sync went, shown on the Dashboard, in the sync history and in the audit log.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncReport {
    /// A full read (first sync, expired token, changed sync groups, or asked for) rather
    /// than a delta round.
    pub full: bool,
    /// Users read (full) or changes applied (delta).
    pub seen: u64,
    pub added: u64,
    pub changed: u64,
    /// Users who left the sync scope, lost Teams Phone, were disabled or deleted (kept and
    /// flagged).
    pub flagged: u64,
    pub duration_ms: i64,
    pub finished_ms: i64,
    pub error: Option<String>,
    #[serde(default)]
    pub started_ms: i64,
    /// Why this sync read everything, when it did.
    #[serde(default)]
    pub reason: Option<String>,
    /// Problems with single users that did not stop the sync.
    #[serde(default)]
    pub warnings: Vec<String>,
}

/// At most this many per-user warnings are kept in a report.
const MAX_WARNINGS: usize = 20;

impl SyncReport {
    pub fn summary(&self) -> String {
        let secs = self.duration_ms as f64 / 1000.0;
        if let Some(error) = &self.error {
            return format!("Sync failed after {secs:.1} s: {error}");
        }
        let what = if self.full {
            format!("Synced {} users from Microsoft 365", self.seen)
        } else {
            format!("Synced {} changes from Microsoft 365", self.seen)
        };
        format!(
            "{what} in {secs:.1} s: {} added, {} changed, {} flagged",
            self.added, self.changed, self.flagged
        )
    }

    fn warn(&mut self, warning: String) {
        if self.warnings.len() < MAX_WARNINGS {
            self.warnings.push(warning);
        }
    }
}

/// Rows written per store call when a sync holds several groups' members.
const BATCH: usize = 1000;

/// Runs kept in each enterprise's sync history.
const HISTORY: u32 = 100;

impl Engine {
    /// Brings the enterprise's users up to date now, in this task: a delta round when
    /// possible, else a full read (`full` reads everything even when a delta round would do).
    /// Every run, failed or not, is recorded in the sync history. Pages queue a sync instead
    /// ([`Engine::enqueue_directory_sync`]).
    pub async fn sync_directory(
        &self,
        e: EnterpriseId,
        full: bool,
    ) -> Result<SyncReport, EngineError> {
        self.sync_directory_reporting(e, full, None).await
    }

    /// A sync that reports its progress on the job it runs in.
    async fn sync_directory_reporting(
        &self,
        e: EnterpriseId,
        full: bool,
        attempt: Option<&Attempt>,
    ) -> Result<SyncReport, EngineError> {
        let store = &self.inner.store;
        let started = store.clock().now_ms();
        let mut report = SyncReport {
            started_ms: started,
            ..SyncReport::default()
        };
        // Only a sync writes the sync state, and syncs of one enterprise run one at a time:
        // the state read here is still the stored one when the run ends.
        let mut state = store.sync_state(e).await?;
        let outcome = self.run_sync(e, full, &state, attempt, &mut report).await;
        let finished = store.clock().now_ms();
        report.finished_ms = finished;
        report.duration_ms = finished - started;
        state.last_sync_ms = Some(finished);
        let outcome = match outcome {
            Ok(bookmark) => {
                state.users_delta_link = Some(bookmark.users);
                state.groups_delta_link = bookmark.groups;
                state.scope = bookmark.scope.to_json();
                if report.full {
                    state.last_full_sync_ms = Some(finished);
                }
                Ok(())
            }
            Err(err) => {
                report.error = Some(err.to_string());
                Err(err)
            }
        };
        state.last_result = serde_json::to_string(&report).ok();
        store
            .record_sync_run(
                e,
                &state,
                &SyncRunRecord {
                    started_ms: started,
                    finished_ms: finished,
                    report: state.last_result.clone().unwrap_or_default(),
                },
                HISTORY,
            )
            .await?;
        if report.added + report.changed + report.flagged > 0 {
            store
                .record_audit(&AuditRecord {
                    enterprise_id: Some(e),
                    actor: Actor::Job(SyncDirectory::KIND.into()),
                    action: "directory.sync".into(),
                    summary: report.summary(),
                    object_type: "directory".into(),
                    object_id: None,
                    before: None,
                    after: state.last_result.clone(),
                })
                .await?;
        }
        // A fleet's scheduled rounds mostly find nothing: those are not worth a line each in
        // the log at the default level.
        if report.seen == 0 && report.error.is_none() && !report.full {
            tracing::debug!(enterprise = %e, duration_ms = report.duration_ms, "directory sync found no changes");
        } else {
            tracing::info!(enterprise = %e, full = report.full, seen = report.seen, added = report.added,
                changed = report.changed, flagged = report.flagged, duration_ms = report.duration_ms,
                error = report.error.as_deref().unwrap_or(""), "directory sync finished");
        }
        outcome.map(|()| report)
    }

    async fn run_sync(
        &self,
        e: EnterpriseId,
        full: bool,
        state: &SyncState,
        attempt: Option<&Attempt>,
        report: &mut SyncReport,
    ) -> Result<Bookmark, EngineError> {
        let store = &self.inner.store;
        let enterprise = store.get_enterprise(e).await?;
        let tenant = self.tenant_api(&enterprise)?;
        let groups = store.list_sync_groups(e).await?;
        let scope = SyncScope::parse(state.scope.as_deref());
        let why_full = if full {
            Some("a full sync was asked for")
        } else {
            match &scope {
                None => Some("first sync"),
                Some(_) if state.users_delta_link.is_none() => Some("first sync"),
                Some(s) if s.groups != scope::group_keys(&groups) => {
                    Some("the sync groups changed")
                }
                Some(_) => None,
            }
        };
        let mut run = SyncRun {
            store,
            e,
            tenant: tenant.as_ref(),
            groups: &groups,
            attempt,
            report,
        };
        let reason = match (why_full, scope) {
            (Some(why), _) => why.to_owned(),
            (None, None) => "first sync".to_owned(),
            (None, Some(scope)) => match delta::round(&mut run, &scope, state).await {
                Ok(links) => {
                    return Ok(Bookmark {
                        users: links.users,
                        groups: links.groups,
                        scope,
                    });
                }
                Err(delta::Stop::NeedsFull(why)) => why,
                Err(delta::Stop::Failed(err)) => return Err(err),
            },
        };
        // Counts from an interrupted delta round are replaced by the full read's.
        *run.report = SyncReport {
            started_ms: run.report.started_ms,
            reason: Some(reason),
            ..SyncReport::default()
        };
        let b = full::run(&mut run).await?;
        Ok(Bookmark {
            users: b.users_delta_link,
            groups: b.groups_delta_link,
            scope: b.scope,
        })
    }

    /// The last sync's report, if any.
    pub async fn last_sync(&self, e: EnterpriseId) -> Result<Option<SyncReport>, EngineError> {
        let state: SyncState = self.inner.store.sync_state(e).await?;
        Ok(state
            .last_result
            .and_then(|r| serde_json::from_str(&r).ok()))
    }

    /// The newest syncs first, with their counts, duration and errors.
    pub async fn sync_history(
        &self,
        e: EnterpriseId,
        limit: u32,
    ) -> Result<Vec<SyncReport>, EngineError> {
        Ok(self
            .inner
            .store
            .list_sync_runs(e, limit)
            .await?
            .into_iter()
            .filter_map(|r| serde_json::from_str(&r.report).ok())
            .collect())
    }

    /// Sync Teams Users (on the Dashboard and on Troubleshoot): refreshes the directory
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
        let id = self.enqueue(&SyncTeamsUsers { enterprise_id: e }).await?;
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

    /// Queues a directory sync of the enterprise now (one at a time per enterprise): a delta
    /// round, or a full read with `full`. A sync already waiting covers the request.
    pub async fn enqueue_directory_sync(
        &self,
        e: EnterpriseId,
        full: bool,
    ) -> Result<JobId, EngineError> {
        self.enqueue(&SyncDirectory::new(e, full)).await
    }
}

/// Where the next delta round starts.
struct Bookmark {
    users: String,
    groups: Option<String>,
    scope: SyncScope,
}

/// The lane of an enterprise's directory syncs: never two at once, on any instance.
fn directory_lane(e: EnterpriseId) -> String {
    format!("directory:{e}")
}

/// A directory sync of the enterprise: a delta round, or a full read with `full`. Queued by
/// the scheduler, by `teamline sync`, or on request; a sync already waiting covers a new
/// request.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SyncDirectory {
    pub enterprise_id: EnterpriseId,
    /// Re-read everything instead of only the changes since the last sync.
    #[serde(default)]
    pub full: bool,
}

impl SyncDirectory {
    pub fn new(e: EnterpriseId, full: bool) -> Self {
        Self {
            enterprise_id: e,
            full,
        }
    }
}

impl Job for SyncDirectory {
    const KIND: &'static str = "sync_directory";
    const THROTTLE_GROUP: Option<&'static str> = Some(MICROSOFT);
    const PRIORITY: i32 = 5;
    type Context = Engine;

    fn enterprise(&self) -> Option<EnterpriseId> {
        Some(self.enterprise_id)
    }

    fn lane(&self) -> Option<String> {
        Some(directory_lane(self.enterprise_id))
    }

    fn idempotency_key(&self) -> Option<String> {
        Some(if self.full {
            format!("{}:full:{}", Self::KIND, self.enterprise_id)
        } else {
            format!("{}:{}", Self::KIND, self.enterprise_id)
        })
    }

    async fn run(&self, engine: &Engine, attempt: &Attempt) -> Result<(), JobError> {
        engine
            .sync_directory_reporting(self.enterprise_id, self.full, Some(attempt))
            .await?;
        Ok(())
    }
}

/// Sync Teams Users: a directory sync, then a push of every change still waiting for
/// Microsoft (e.g. made before consent was granted).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SyncTeamsUsers {
    pub enterprise_id: EnterpriseId,
}

impl Job for SyncTeamsUsers {
    const KIND: &'static str = "sync_teams_users";
    const THROTTLE_GROUP: Option<&'static str> = Some(MICROSOFT);
    const PRIORITY: i32 = 5;
    type Context = Engine;

    fn enterprise(&self) -> Option<EnterpriseId> {
        Some(self.enterprise_id)
    }

    fn lane(&self) -> Option<String> {
        Some(directory_lane(self.enterprise_id))
    }

    fn idempotency_key(&self) -> Option<String> {
        Some(format!("{}:{}", Self::KIND, self.enterprise_id))
    }

    async fn run(&self, engine: &Engine, attempt: &Attempt) -> Result<(), JobError> {
        let e = self.enterprise_id;
        let report = engine
            .sync_directory_reporting(e, false, Some(attempt))
            .await?;
        let pending = engine
            .inner
            .store
            .pbx_users_in_push_states(e, &[PushState::Pending, PushState::Failed])
            .await?;
        let total = pending.len() as u64;
        // The policies most of these users need, granted to many at once first; their pushes
        // then assign the numbers and check the rest. Only a saving: on failure the pushes
        // grant one by one.
        let wait = engine.inner.settings.job_throttle_wait;
        match teamline_microsoft::throttle::with_max_wait(
            wait,
            engine.grant_policies_in_bulk(e, &pending),
        )
        .await
        {
            Ok(bulk) if !bulk.failed.is_empty() => {
                tracing::info!(enterprise = %e, failed = ?bulk.failed, "some bulk policy grants are left to the users' pushes");
            }
            Ok(_) => {}
            Err(err) => {
                tracing::info!(enterprise = %e, error = %err, "no bulk policy grants; the users' pushes grant one by one");
            }
        }
        for (i, id) in pending.into_iter().enumerate() {
            engine.enqueue(&PushUser::new(e, id)).await?;
            let _ = attempt
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
