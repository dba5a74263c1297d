//! The kinds of job the engine queues, their payloads, and how they are queued.

use crate::Engine;
use crate::runner::{JobError, Runner};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use teamline_domain::ids::{EnterpriseId, JobId, PbxUserId};
use teamline_domain::job::Job;
use teamline_store::{NewJob, StoreError};

pub const ENSURE_DEVICE: &str = "ensure_device";
pub const PUSH_USER: &str = "push_user";
pub const VERIFY_USER: &str = "verify_user";
pub const REMOVE_DEVICE: &str = "remove_device";
pub const SYNC_DIRECTORY: &str = "sync_directory";
pub const SYNC_TEAMS_USERS: &str = "sync_teams_users";
pub const RECONCILE: &str = "reconcile";

/// The throttle group of every job that calls Microsoft: when Microsoft throttles a tenant,
/// that enterprise's queued jobs of this group wait together.
pub const MICROSOFT: &str = "microsoft";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UserJob {
    pub pbx_user_id: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VerifyJob {
    pub pbx_user_id: i64,
    pub round: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RemoveDeviceJob {
    pub pbx_location_id: i64,
    pub extension: String,
    pub auth_id: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct SyncJob {
    /// Re-read everything instead of only the changes since the last sync.
    #[serde(default)]
    pub full: bool,
}

pub fn payload<T: for<'de> Deserialize<'de>>(job: &Job) -> Result<T, JobError> {
    serde_json::from_str(&job.payload)
        .map_err(|e| JobError::permanent(format!("job {} has an unreadable payload: {e}", job.id)))
}

pub fn enterprise_of(job: &Job) -> Result<EnterpriseId, JobError> {
    job.enterprise_id
        .ok_or_else(|| JobError::permanent(format!("job {} has no enterprise", job.id)))
}

/// A Microsoft error as a job outcome: throttling and outages are retried (at the server's
/// Retry-After), everything else needs the admin.
pub(crate) fn ms_job_error(e: &teamline_microsoft::MicrosoftError) -> JobError {
    if let teamline_microsoft::MicrosoftError::Throttled { retry_after, .. } = e {
        return JobError::Throttled {
            message: e.to_string(),
            retry_after: *retry_after,
        };
    }
    if e.is_retryable() {
        JobError::Retry {
            message: e.to_string(),
            retry_after: e.retry_after(),
        }
    } else {
        JobError::permanent(e.to_string())
    }
}

fn json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "{}".to_owned())
}

/// A directory sync of the enterprise (a delta round, or a full read with `full`), for
/// queueing from where no engine runs (e.g. `teamline sync` beside a server). A sync already
/// waiting covers it.
pub fn directory_sync_job(e: EnterpriseId, full: bool) -> NewJob {
    let key = if full {
        format!("{SYNC_DIRECTORY}:full:{e}")
    } else {
        format!("{SYNC_DIRECTORY}:{e}")
    };
    NewJob::new(Some(e), SYNC_DIRECTORY, json(&SyncJob { full }))
        .lane(directory_lane(e))
        .priority(5)
        .idempotency_key(key)
}

/// The lane of an enterprise's directory syncs: never two at once, on any instance.
pub fn directory_lane(e: EnterpriseId) -> String {
    format!("directory:{e}")
}

/// The lane of everything about one PBX user: its jobs run one after the other, in order.
pub fn user_lane(id: PbxUserId) -> String {
    format!("user:{id}")
}

impl Engine {
    pub(crate) async fn enqueue(&self, job: NewJob) -> Result<JobId, StoreError> {
        let id = self.inner.store.enqueue(&job).await?.id();
        self.wake_runner();
        Ok(id)
    }

    pub(crate) async fn enqueue_ensure_device(
        &self,
        e: EnterpriseId,
        id: PbxUserId,
    ) -> Result<JobId, StoreError> {
        self.enqueue(
            NewJob::new(Some(e), ENSURE_DEVICE, json(&UserJob { pbx_user_id: id.0 }))
                .lane(user_lane(id))
                .idempotency_key(format!("{ENSURE_DEVICE}:{id}")),
        )
        .await
    }

    /// Queues a push of the user's configuration to Microsoft. A push already waiting covers
    /// this change too (it reads the configuration when it runs).
    pub(crate) async fn enqueue_push(
        &self,
        e: EnterpriseId,
        id: PbxUserId,
    ) -> Result<JobId, StoreError> {
        self.enqueue(
            NewJob::new(Some(e), PUSH_USER, json(&UserJob { pbx_user_id: id.0 }))
                .lane(user_lane(id))
                .max_attempts(10)
                .idempotency_key(format!("{PUSH_USER}:{id}")),
        )
        .await
    }

    pub(crate) async fn enqueue_verify(
        &self,
        e: EnterpriseId,
        id: PbxUserId,
        round: u32,
        at_ms: i64,
    ) -> Result<JobId, StoreError> {
        self.enqueue(
            NewJob::new(
                Some(e),
                VERIFY_USER,
                json(&VerifyJob {
                    pbx_user_id: id.0,
                    round,
                }),
            )
            .lane(user_lane(id))
            .run_after_ms(at_ms)
            .idempotency_key(format!("{VERIFY_USER}:{id}:{round}")),
        )
        .await
    }

    pub(crate) async fn enqueue_remove_device(
        &self,
        e: EnterpriseId,
        job: &RemoveDeviceJob,
    ) -> Result<JobId, StoreError> {
        self.enqueue(
            NewJob::new(Some(e), REMOVE_DEVICE, json(job))
                .lane(format!("device:{}:{}", job.pbx_location_id, job.auth_id)),
        )
        .await
    }

    /// Queues a directory sync of the enterprise now (one at a time per enterprise): a delta
    /// round, or a full read with `full`. A sync already waiting covers the request.
    pub async fn enqueue_directory_sync(
        &self,
        e: EnterpriseId,
        full: bool,
    ) -> Result<JobId, StoreError> {
        self.enqueue_directory_sync_at(e, full, None).await
    }

    pub(crate) async fn enqueue_directory_sync_at(
        &self,
        e: EnterpriseId,
        full: bool,
        at_ms: Option<i64>,
    ) -> Result<JobId, StoreError> {
        let mut job = directory_sync_job(e, full);
        if let Some(at) = at_ms {
            job = job.run_after_ms(at);
        }
        self.enqueue(job).await
    }

    /// Queues a drift check of the enterprise's configured users (one at a time).
    pub async fn enqueue_reconcile(&self, e: EnterpriseId) -> Result<JobId, StoreError> {
        self.enqueue(
            NewJob::new(Some(e), RECONCILE, "{}")
                .lane(format!("reconcile:{e}"))
                .idempotency_key(format!("{RECONCILE}:{e}")),
        )
        .await
    }

    pub(crate) async fn enqueue_sync_teams_users(
        &self,
        e: EnterpriseId,
    ) -> Result<JobId, StoreError> {
        self.enqueue(
            NewJob::new(Some(e), SYNC_TEAMS_USERS, json(&SyncJob::default()))
                .lane(directory_lane(e))
                .priority(5)
                .idempotency_key(format!("{SYNC_TEAMS_USERS}:{e}")),
        )
        .await
    }
}

/// Registers every workflow's handler on a runner.
pub fn register(engine: &Engine, runner: Runner) -> Runner {
    runner
        .handler(Arc::new(crate::devices::EnsureDevice(engine.clone())))
        .handler(Arc::new(crate::devices::RemoveDevice(engine.clone())))
        .handler(Arc::new(crate::calling::PushUser(engine.clone())))
        .handler(Arc::new(crate::calling::VerifyUser(engine.clone())))
        .handler(Arc::new(crate::directory::SyncDirectory(engine.clone())))
        .handler(Arc::new(crate::directory::SyncTeamsUsers(engine.clone())))
        .handler(Arc::new(crate::reconcile::Reconcile(engine.clone())))
}
