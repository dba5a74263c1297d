use crate::{EnqueueError, Job, JobStoreHandle};
use std::sync::Arc;
use teamline_domain::ids::JobId;
use teamline_store::NewJob;
use tokio::sync::Notify;

/// Puts jobs into the store and wakes this process's runner, which would otherwise notice
/// them at its next poll. Cheap to clone.
#[derive(Clone)]
pub struct Queue {
    store: JobStoreHandle,
    wake: Arc<Notify>,
}

impl Queue {
    pub fn new(store: JobStoreHandle) -> Self {
        Self {
            store,
            wake: Arc::new(Notify::new()),
        }
    }

    /// Queues `job` to run now; a waiting job with the same idempotency key is returned
    /// instead of a new one.
    pub async fn enqueue<J: Job>(&self, job: &J) -> Result<JobId, EnqueueError> {
        self.put(new_job(job)?).await
    }

    /// Like [`Queue::enqueue`], not before `at_ms`.
    pub async fn enqueue_at<J: Job>(&self, job: &J, at_ms: i64) -> Result<JobId, EnqueueError> {
        self.put(new_job(job)?.run_after_ms(at_ms)).await
    }

    /// Queues several jobs in one transaction (see [`Queue::enqueue`]); their ids, in order.
    pub async fn enqueue_all<J: Job>(&self, jobs: &[J]) -> Result<Vec<JobId>, EnqueueError> {
        let rows = jobs.iter().map(new_job).collect::<Result<Vec<_>, _>>()?;
        let ids = self
            .store
            .enqueue_all(&rows)
            .await?
            .into_iter()
            .map(|e| e.id())
            .collect();
        self.wake.notify_one();
        Ok(ids)
    }

    async fn put(&self, job: NewJob) -> Result<JobId, EnqueueError> {
        let id = self.store.enqueue(&job).await?.id();
        self.wake.notify_one();
        Ok(id)
    }

    pub(crate) fn store(&self) -> &JobStoreHandle {
        &self.store
    }

    pub(crate) fn waker(&self) -> Arc<Notify> {
        self.wake.clone()
    }
}

/// The row a job is stored as.
fn new_job<J: Job>(job: &J) -> Result<NewJob, EnqueueError> {
    let payload = serde_json::to_string(job).map_err(|e| EnqueueError::Payload {
        kind: J::KIND,
        message: e.to_string(),
    })?;
    let mut new = NewJob::new(job.enterprise(), J::KIND, payload)
        .priority(J::PRIORITY)
        .max_attempts(J::MAX_ATTEMPTS);
    if let Some(lane) = job.lane() {
        new = new.lane(lane);
    }
    if let Some(key) = job.idempotency_key() {
        new = new.idempotency_key(key);
    }
    Ok(new)
}
