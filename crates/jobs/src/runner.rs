//! The runner: claims due jobs from the store, runs each with the type registered for its kind,
//! keeps the lease alive while it runs, and records the outcome (done, retry at a time that
//! honours a server's Retry-After, deferred while throttled, or failed for good).

use crate::{Attempt, JobError, JobStoreHandle, Queue, Registry};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use teamline_domain::ids::JobId;
use teamline_domain::job::{Job as JobRow, JobState, next_run_after_ms};
use teamline_store::{JobFailure, StoreError};
use tokio::sync::{Notify, Semaphore};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub job_id: JobId,
    pub kind: String,
    pub state: JobState,
    pub error: Option<String>,
}

pub struct Runner<C> {
    store: JobStoreHandle,
    worker: String,
    registry: Registry<C>,
    lease: Duration,
    max_concurrent: usize,
    idle_poll: Duration,
    wake: Arc<Notify>,
    claims: AtomicU64,
}

/// A job as this runner claimed it: the lease is held under a name unique to this claim, so
/// an attempt that outlived its lease (a stall longer than the lease, then the same runner
/// claimed the job again) can no longer renew, report or finish the job it lost.
struct Claimed {
    job: JobRow,
    holder: String,
}

impl<C: Clone + Send + Sync + 'static> Runner<C> {
    /// Runs the `registry`'s jobs from `queue`'s store; woken when `queue` queues one.
    /// `worker` names this process in the jobs table (e.g. host name + pid).
    pub fn new(queue: &Queue, registry: Registry<C>, worker: impl Into<String>) -> Self {
        Self {
            store: queue.store().clone(),
            worker: worker.into(),
            registry,
            lease: Duration::from_secs(60),
            max_concurrent: 8,
            idle_poll: Duration::from_secs(1),
            wake: queue.waker(),
            claims: AtomicU64::new(0),
        }
    }

    /// How long a job stays claimed without news before another runner may take it over
    /// (renewed every third of it while the job runs).
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease.max(Duration::from_secs(1));
        self
    }

    pub fn max_concurrent(mut self, n: usize) -> Self {
        self.max_concurrent = n.max(1);
        self
    }

    fn lease_ms(&self) -> i64 {
        i64::try_from(self.lease.as_millis()).unwrap_or(i64::MAX)
    }

    /// Claims the most urgent due job under a fresh holder name (`worker#n`): readable as this
    /// runner in the jobs table, unique to the claim.
    async fn claim(&self) -> Result<Option<Claimed>, StoreError> {
        let n = self.claims.fetch_add(1, Ordering::Relaxed);
        let holder = format!("{}#{n}", self.worker);
        let job = self.store.claim_job(&holder, self.lease_ms()).await?;
        Ok(job.map(|job| Claimed { job, holder }))
    }

    /// Claims and runs one due job; `None` when nothing is due.
    pub async fn run_one(&self) -> Result<Option<Outcome>, StoreError> {
        let Some(claimed) = self.claim().await? else {
            return Ok(None);
        };
        Ok(Some(self.execute(claimed).await?))
    }

    /// Runs jobs until none is due (for tests and one-shot commands).
    pub async fn run_until_idle(&self) -> Result<Vec<Outcome>, StoreError> {
        let mut outcomes = Vec::new();
        while let Some(o) = self.run_one().await? {
            outcomes.push(o);
        }
        Ok(outcomes)
    }

    async fn execute(&self, claimed: Claimed) -> Result<Outcome, StoreError> {
        // Instrumented, not entered: a guard held across awaits would leak the span into
        // whatever else runs on the thread meanwhile.
        let job = &claimed.job;
        let span =
            tracing::info_span!("job", id = %job.id, kind = %job.kind, attempt = job.attempts);
        self.execute_in_span(claimed).instrument(span).await
    }

    async fn execute_in_span(&self, claimed: Claimed) -> Result<Outcome, StoreError> {
        let Claimed { job, holder } = claimed;
        let started = std::time::Instant::now();
        let kind = job.kind.clone();
        // With the span's job id, these two lines let an operator (and the several-instances
        // test) see which instance ran which job, and how often.
        tracing::debug!(worker = %self.worker, "job started");
        let result = self.run_with_lease(&job, &holder).await;
        let deferred = matches!(result, Err(JobError::Throttled { .. }));
        let (state, error) = match result {
            Ok(()) => {
                self.store.complete_job(job.id, &holder).await?;
                tracing::debug!(worker = %self.worker, "job succeeded");
                (JobState::Succeeded, None)
            }
            Err(err) => {
                let message = err.to_string();
                let failure = self.failure(&job, &err, message.clone()).await;
                let state = self.store.fail_job(job.id, &holder, &failure).await?;
                if state == JobState::Failed {
                    tracing::warn!(error = %message, "job failed");
                } else if deferred {
                    tracing::debug!(reason = %message, "job deferred");
                } else {
                    tracing::info!(error = %message, "job will be retried");
                }
                (state, Some(message))
            }
        };
        let outcome = match (&error, state) {
            (Some(_), JobState::Queued) if deferred => "deferred",
            _ => state.as_str(),
        };
        metrics::counter!("teamline_jobs_total", "kind" => kind.clone(), "outcome" => outcome)
            .increment(1);
        metrics::histogram!("teamline_job_seconds", "kind" => kind.clone())
            .record(started.elapsed().as_secs_f64());
        Ok(Outcome {
            job_id: job.id,
            kind,
            state,
            error,
        })
    }

    /// What the store should do with a failed attempt.
    async fn failure(&self, job: &JobRow, err: &JobError, message: String) -> JobFailure {
        let now = self.store.clock().now_ms();
        match err {
            JobError::Permanent(_) => JobFailure::Permanent { error: message },
            JobError::Throttled { retry_after, .. } => {
                let at = now + i64::try_from(retry_after.as_millis()).unwrap_or(i64::MAX / 2);
                self.defer_throttle_group(job, at).await;
                JobFailure::Deferred {
                    run_after_ms: at,
                    reason: message,
                }
            }
            JobError::Retry { retry_after, .. } => {
                let server = retry_after.map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
                JobFailure::RetryAt {
                    run_after_ms: next_run_after_ms(now, job.attempts, server, rand::random()),
                    error: message,
                }
            }
        }
    }

    /// Holds the enterprise's queued jobs that share this job's throttle group until `at_ms`.
    async fn defer_throttle_group(&self, job: &JobRow, at_ms: i64) {
        let (Some(e), Some(group)) = (job.enterprise_id, self.registry.throttle_group(&job.kind))
        else {
            return;
        };
        let kinds = self.registry.kinds_in(group);
        match self.store.defer_queued_jobs(e, &kinds, at_ms).await {
            Ok(n) if n > 0 => {
                tracing::info!(enterprise = %e, jobs = n, group, "the service is throttling this tenant: its queued jobs wait")
            }
            Ok(_) => {}
            Err(err) => tracing::warn!(error = %err, "could not defer a throttled tenant's jobs"),
        }
    }

    /// Runs the job while renewing the lease; if the lease is lost (another runner took the
    /// job after this one stalled), the job is stopped.
    async fn run_with_lease(&self, job: &JobRow, holder: &str) -> Result<(), JobError> {
        let attempt = Attempt::new(
            self.store.clone(),
            job.id,
            holder.to_owned(),
            job.attempts,
            job.max_attempts,
        );
        let Some(running) = self.registry.start(job, attempt) else {
            return Err(JobError::permanent(format!(
                "no handler for job kind '{}': was it queued by a newer Teamline?",
                job.kind
            )));
        };
        let mut task = tokio::spawn(running.in_current_span());
        let abort = task.abort_handle();
        let renew_every = self.lease / 3;
        loop {
            tokio::select! {
                joined = &mut task => {
                    return match joined {
                        Ok(result) => result,
                        Err(e) if e.is_panic() => Err(JobError::retry("the job stopped unexpectedly (internal error); it will be retried")),
                        Err(_) => Err(JobError::retry("the job was cancelled")),
                    };
                }
                () = tokio::time::sleep(renew_every) => {
                    match self.store.extend_lease(job.id, holder, self.lease_ms()).await {
                        Ok(true) => {}
                        Ok(false) => {
                            abort.abort();
                            return Err(JobError::retry("this runner lost the job's lease"));
                        }
                        Err(e) => tracing::warn!(error = %e, "could not renew a job lease"),
                    }
                }
            }
        }
    }

    /// Runs jobs until `shutdown` is cancelled: up to `max_concurrent` at once, waking when a
    /// job becomes due, when its queue queued one, or at least every second (other instances
    /// queue jobs too).
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        let slots = Arc::new(Semaphore::new(self.max_concurrent));
        loop {
            if shutdown.is_cancelled() {
                break;
            }
            let Ok(permit) = slots.clone().acquire_owned().await else {
                break;
            };
            match self.claim().await {
                Ok(Some(claimed)) => {
                    let me = self.clone();
                    tokio::spawn(async move {
                        match me.execute(claimed).await {
                            Ok(_) => {}
                            // The lease ran out while the attempt stalled and the job was claimed
                            // again: the newer attempt records the outcome.
                            Err(StoreError::Stale { what }) => {
                                tracing::info!(job = %what, "a stalled attempt gave way to a newer one")
                            }
                            Err(e) => {
                                tracing::error!(error = %e, "could not record a job's outcome")
                            }
                        }
                        drop(permit);
                    });
                }
                Ok(None) => {
                    drop(permit);
                    let wait = self.time_until_next_due().await;
                    tokio::select! {
                        () = shutdown.cancelled() => break,
                        () = self.wake.notified() => {}
                        () = tokio::time::sleep(wait) => {}
                    }
                }
                Err(e) => {
                    drop(permit);
                    tracing::error!(error = %e, "could not claim a job; retrying");
                    tokio::select! {
                        () = shutdown.cancelled() => break,
                        () = tokio::time::sleep(Duration::from_secs(2)) => {}
                    }
                }
            }
        }
        // Let running jobs finish their current attempt.
        let _ = slots
            .acquire_many(u32::try_from(self.max_concurrent).unwrap_or(u32::MAX))
            .await;
    }

    async fn time_until_next_due(&self) -> Duration {
        match self.store.next_job_due_ms().await {
            Ok(Some(due)) => {
                let ms = (due - self.store.clock().now_ms()).clamp(0, 1_000);
                Duration::from_millis(u64::try_from(ms).unwrap_or(0))
            }
            _ => self.idle_poll,
        }
    }
}
