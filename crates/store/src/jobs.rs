use crate::{Enqueued, JobFailure, JobQuery, NewJob, StoreInfo, StoreResult};
use async_trait::async_trait;
use teamline_domain::ids::{EnterpriseId, JobId};
use teamline_domain::job::{Job, JobState};

/// The durable job queue. A job store is also a [`StoreInfo`]: the runner schedules retries
/// with the store's clock, the one that decides when a job is due.
#[async_trait]
pub trait JobStore: StoreInfo {
    /// Queues a job. When a job with the same idempotency key is already waiting, returns it
    /// instead, moved earlier if this request wants it sooner.
    async fn enqueue(&self, job: &NewJob) -> StoreResult<Enqueued>;
    /// Queues several jobs in one transaction, each as [`JobStore::enqueue`] would, and returns
    /// what became of each, in order (the scheduler queues a whole fleet's syncs at once).
    async fn enqueue_all(&self, jobs: &[NewJob]) -> StoreResult<Vec<Enqueued>>;
    /// The enterprises with a job of one of these kinds queued or running.
    async fn enterprises_with_unfinished_jobs(
        &self,
        kinds: &[&str],
    ) -> StoreResult<Vec<EnterpriseId>>;
    /// The newest job of `kind` of every enterprise that has one.
    async fn latest_job_per_enterprise(&self, kind: &str) -> StoreResult<Vec<Job>>;
    /// Claims the most urgent due job whose lane is free (or whose runner's lease expired),
    /// for `lease_ms`. On PostgreSQL several instances can claim at once without running a job
    /// twice.
    async fn claim_job(&self, worker: &str, lease_ms: i64) -> StoreResult<Option<Job>>;
    /// Renews the lease; `false` when the job is no longer this worker's (it must stop).
    async fn extend_lease(&self, id: JobId, worker: &str, lease_ms: i64) -> StoreResult<bool>;
    async fn report_progress(
        &self,
        id: JobId,
        worker: &str,
        done: u64,
        total: Option<u64>,
        message: Option<&str>,
    ) -> StoreResult<()>;
    async fn complete_job(&self, id: JobId, worker: &str) -> StoreResult<()>;
    /// Records a failed attempt; returns the job's new state (queued for a retry, or failed).
    async fn fail_job(
        &self,
        id: JobId,
        worker: &str,
        failure: &JobFailure,
    ) -> StoreResult<JobState>;
    async fn get_job(&self, id: JobId) -> StoreResult<Job>;
    async fn list_jobs(&self, query: &JobQuery) -> StoreResult<Vec<Job>>;
    /// When the next queued job becomes due (for the runner's sleep).
    async fn next_job_due_ms(&self) -> StoreResult<Option<i64>>;
    /// Holds the enterprise's queued jobs of these kinds until `until_ms` (e.g. while Microsoft
    /// throttles its tenant), so runners spend no slot on them. Returns how many moved.
    async fn defer_queued_jobs(
        &self,
        enterprise: EnterpriseId,
        kinds: &[&str],
        until_ms: i64,
    ) -> StoreResult<u64>;
}
