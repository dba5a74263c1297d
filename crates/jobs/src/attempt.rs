use crate::{JobError, JobStoreHandle};
use teamline_domain::ids::JobId;

/// The attempt a running job is in: what it may know about itself and tell the world.
pub struct Attempt {
    store: JobStoreHandle,
    job_id: JobId,
    worker: String,
    number: u32,
    max: u32,
}

impl Attempt {
    pub(crate) fn new(
        store: JobStoreHandle,
        job_id: JobId,
        worker: String,
        number: u32,
        max: u32,
    ) -> Self {
        Self {
            store,
            job_id,
            worker,
            number,
            max,
        }
    }

    pub fn job_id(&self) -> JobId {
        self.job_id
    }

    /// Whether a failure now would be final (no attempt left to retry with).
    pub fn is_last(&self) -> bool {
        self.number >= self.max
    }

    /// Records progress (shown while the job runs, e.g. on the Dashboard).
    pub async fn progress(
        &self,
        done: u64,
        total: Option<u64>,
        message: &str,
    ) -> Result<(), JobError> {
        self.store
            .report_progress(self.job_id, &self.worker, done, total, Some(message))
            .await
            .map_err(JobError::from)
    }
}
