//! The job runner: claims due jobs from the store, runs each with the handler registered for
//! its kind, keeps the lease alive while it runs, and records the outcome (done, retry at a
//! time that honours a server's Retry-After, or failed for good).

use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use teamline_domain::ids::JobId;
use teamline_domain::job::{Job, JobState, next_run_after_ms};
use teamline_store::{JobFailure, JobStore, StoreError};
use tokio::sync::{Notify, Semaphore};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

/// Why a job attempt did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Worth trying again: at the server's Retry-After if it gave one, else after back-off.
    #[error("{message}")]
    Retry {
        message: String,
        retry_after: Option<Duration>,
    },
    /// Trying again will not help; the message tells the admin what to fix.
    #[error("{0}")]
    Permanent(String),
    /// Not a failure: the service throttles this tenant. The job runs again once the wait is
    /// over, without using up an attempt, and the tenant's other queued jobs of the same
    /// throttle group wait with it (so workers serve other tenants meanwhile).
    #[error("{message}")]
    Throttled {
        message: String,
        retry_after: Duration,
    },
}

impl JobError {
    pub fn retry(message: impl Into<String>) -> Self {
        Self::Retry {
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn permanent(message: impl Into<String>) -> Self {
        Self::Permanent(message.into())
    }
}

impl From<StoreError> for JobError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Database { .. } | StoreError::Stale { .. } => Self::retry(e.to_string()),
            other => Self::permanent(other.to_string()),
        }
    }
}

/// What a running job may tell the world.
pub struct JobContext {
    store: Arc<dyn JobStore>,
    job_id: JobId,
    worker: String,
}

impl JobContext {
    /// Records progress (shown on the Dashboard while the job runs).
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

    pub fn store(&self) -> &Arc<dyn JobStore> {
        &self.store
    }
}

/// Runs the jobs of one kind. Handlers must be idempotent: a job may run again after a crash.
#[async_trait]
pub trait JobHandler: Send + Sync + 'static {
    fn kind(&self) -> &'static str;
    async fn run(&self, job: &Job, ctx: &JobContext) -> Result<(), JobError>;

    /// Jobs whose kinds share a throttle group (e.g. everything that calls Microsoft) pause
    /// together, per enterprise, when one of them is throttled.
    fn throttle_group(&self) -> Option<&'static str> {
        None
    }
}

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub job_id: JobId,
    pub kind: String,
    pub state: JobState,
    pub error: Option<String>,
}

pub struct Runner {
    store: Arc<dyn JobStore>,
    worker: String,
    handlers: HashMap<&'static str, Arc<dyn JobHandler>>,
    lease: Duration,
    max_concurrent: usize,
    idle_poll: Duration,
    wake: Arc<Notify>,
}

impl Runner {
    /// `worker` names this process in the jobs table (e.g. host name + pid).
    pub fn new(store: Arc<dyn JobStore>, worker: impl Into<String>) -> Self {
        Self {
            store,
            worker: worker.into(),
            handlers: HashMap::new(),
            lease: Duration::from_secs(60),
            max_concurrent: 8,
            idle_poll: Duration::from_secs(1),
            wake: Arc::new(Notify::new()),
        }
    }

    pub fn handler(mut self, handler: Arc<dyn JobHandler>) -> Self {
        self.handlers.insert(handler.kind(), handler);
        self
    }

    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease.max(Duration::from_secs(1));
        self
    }

    pub fn max_concurrent(mut self, n: usize) -> Self {
        self.max_concurrent = n.max(1);
        self
    }

    /// Uses `wake` to start promptly when work is queued (instead of waiting for a poll).
    pub fn waker(mut self, wake: Arc<Notify>) -> Self {
        self.wake = wake;
        self
    }

    fn lease_ms(&self) -> i64 {
        i64::try_from(self.lease.as_millis()).unwrap_or(i64::MAX)
    }

    /// Claims and runs one due job; `None` when nothing is due.
    pub async fn run_one(&self) -> Result<Option<Attempt>, StoreError> {
        let Some(job) = self.store.claim_job(&self.worker, self.lease_ms()).await? else {
            return Ok(None);
        };
        Ok(Some(self.execute(job).await?))
    }

    /// Runs jobs until none is due (for tests and one-shot commands).
    pub async fn run_until_idle(&self) -> Result<Vec<Attempt>, StoreError> {
        let mut attempts = Vec::new();
        while let Some(a) = self.run_one().await? {
            attempts.push(a);
        }
        Ok(attempts)
    }

    async fn execute(&self, job: Job) -> Result<Attempt, StoreError> {
        // Instrumented, not entered: a guard held across awaits would leak the span into
        // whatever else runs on the thread meanwhile.
        let span =
            tracing::info_span!("job", id = %job.id, kind = %job.kind, attempt = job.attempts);
        self.execute_in_span(job).instrument(span).await
    }

    async fn execute_in_span(&self, job: Job) -> Result<Attempt, StoreError> {
        let started = std::time::Instant::now();
        let kind = job.kind.clone();
        let outcome = match self.handlers.get(job.kind.as_str()) {
            None => Err(JobError::permanent(format!(
                "no handler for job kind '{}': was it queued by a newer Teamline?",
                job.kind
            ))),
            Some(handler) => self.run_with_lease(handler.clone(), &job).await,
        };
        let deferred = matches!(outcome, Err(JobError::Throttled { .. }));
        let (state, error) = match outcome {
            Ok(()) => {
                self.store.complete_job(job.id, &self.worker).await?;
                (JobState::Succeeded, None)
            }
            Err(err) => {
                let message = err.to_string();
                let failure = match &err {
                    JobError::Permanent(_) => JobFailure::Permanent {
                        error: message.clone(),
                    },
                    JobError::Throttled { retry_after, .. } => {
                        let at = self.store.clock().now_ms()
                            + i64::try_from(retry_after.as_millis()).unwrap_or(i64::MAX / 2);
                        self.defer_throttle_group(&job, at).await;
                        JobFailure::Deferred {
                            run_after_ms: at,
                            reason: message.clone(),
                        }
                    }
                    JobError::Retry { retry_after, .. } => {
                        let server =
                            retry_after.map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
                        let at = next_run_after_ms(
                            self.store.clock().now_ms(),
                            job.attempts,
                            server,
                            rand::random(),
                        );
                        JobFailure::RetryAt {
                            run_after_ms: at,
                            error: message.clone(),
                        }
                    }
                };
                let state = self.store.fail_job(job.id, &self.worker, &failure).await?;
                if state == JobState::Failed {
                    tracing::warn!(error = %message, "job failed");
                } else if matches!(failure, JobFailure::Deferred { .. }) {
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
        Ok(Attempt {
            job_id: job.id,
            kind,
            state,
            error,
        })
    }

    /// Holds the enterprise's queued jobs that share this job's throttle group until `at_ms`.
    async fn defer_throttle_group(&self, job: &Job, at_ms: i64) {
        let (Some(e), Some(group)) = (
            job.enterprise_id,
            self.handlers
                .get(job.kind.as_str())
                .and_then(|h| h.throttle_group()),
        ) else {
            return;
        };
        let kinds: Vec<&str> = self
            .handlers
            .values()
            .filter(|h| h.throttle_group() == Some(group))
            .map(|h| h.kind())
            .collect();
        match self.store.defer_queued_jobs(e, &kinds, at_ms).await {
            Ok(n) if n > 0 => {
                tracing::info!(enterprise = %e, jobs = n, "Microsoft is throttling this tenant: its queued jobs wait")
            }
            Ok(_) => {}
            Err(err) => tracing::warn!(error = %err, "could not defer a throttled tenant's jobs"),
        }
    }

    /// Runs the handler while renewing the lease; if the lease is lost (another runner took
    /// the job after this one stalled), the handler is stopped.
    async fn run_with_lease(
        &self,
        handler: Arc<dyn JobHandler>,
        job: &Job,
    ) -> Result<(), JobError> {
        let ctx = JobContext {
            store: self.store.clone(),
            job_id: job.id,
            worker: self.worker.clone(),
        };
        let job_for_task = job.clone();
        let task =
            tokio::spawn(async move { handler.run(&job_for_task, &ctx).await }.in_current_span());
        let abort = task.abort_handle();
        let renew_every = self.lease / 3;
        let mut task = task;
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
                    match self.store.extend_lease(job.id, &self.worker, self.lease_ms()).await {
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
    /// job becomes due, when notified, or at least every second (other instances enqueue too).
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        let slots = Arc::new(Semaphore::new(self.max_concurrent));
        loop {
            if shutdown.is_cancelled() {
                break;
            }
            let Ok(permit) = slots.clone().acquire_owned().await else {
                break;
            };
            match self.store.claim_job(&self.worker, self.lease_ms()).await {
                Ok(Some(job)) => {
                    let me = self.clone();
                    tokio::spawn(async move {
                        if let Err(e) = me.execute(job).await {
                            tracing::error!(error = %e, "could not record a job's outcome");
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use teamline_store::crypto::Keyring;
    use teamline_store::{DynStore, ManualClock, NewJob};

    struct Flaky {
        calls: AtomicUsize,
        fail_times: usize,
    }

    #[async_trait]
    impl JobHandler for Flaky {
        fn kind(&self) -> &'static str {
            "flaky"
        }
        async fn run(&self, _job: &Job, ctx: &JobContext) -> Result<(), JobError> {
            let n = self.calls.fetch_add(1, Ordering::SeqCst);
            ctx.progress(1, Some(2), "half way").await?;
            if n < self.fail_times {
                return Err(JobError::Retry {
                    message: "throttled".into(),
                    retry_after: Some(Duration::from_secs(3)),
                });
            }
            Ok(())
        }
    }

    async fn store() -> (DynStore, Arc<ManualClock>, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::new(1_000_000));
        let s = teamline_store_sqlite::open(
            &dir.path().join("t.db"),
            Arc::new(Keyring::for_testing()),
            clock.clone(),
        )
        .await
        .unwrap();
        (Arc::new(s), clock, dir)
    }

    #[tokio::test]
    async fn retry_after_is_honoured_then_success() {
        let (s, clock, _dir) = store().await;
        let handler = Arc::new(Flaky {
            calls: AtomicUsize::new(0),
            fail_times: 1,
        });
        let runner = Runner::new(s.clone(), "t").handler(handler.clone());
        let id = s
            .enqueue(&NewJob::new(None, "flaky", "{}"))
            .await
            .unwrap()
            .id();
        let first = runner.run_until_idle().await.unwrap();
        assert_eq!(first[0].state, JobState::Queued);
        assert_eq!(
            s.get_job(id).await.unwrap().run_after_ms,
            1_003_000,
            "the server's Retry-After"
        );
        clock.advance_ms(3_000);
        let second = runner.run_until_idle().await.unwrap();
        assert_eq!(second[0].state, JobState::Succeeded);
        assert_eq!(handler.calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn unknown_kind_fails_with_a_reason() {
        let (s, _clock, _dir) = store().await;
        let runner = Runner::new(s.clone(), "t");
        s.enqueue(&NewJob::new(None, "mystery", "{}"))
            .await
            .unwrap();
        let a = runner.run_until_idle().await.unwrap();
        assert_eq!(a[0].state, JobState::Failed);
        assert!(a[0].error.as_deref().unwrap().contains("mystery"));
    }

    /// Throttled once (Microsoft-bound), then succeeds.
    struct Throttled {
        calls: AtomicUsize,
    }

    #[async_trait]
    impl JobHandler for Throttled {
        fn kind(&self) -> &'static str {
            "throttled"
        }
        fn throttle_group(&self) -> Option<&'static str> {
            Some("microsoft")
        }
        async fn run(&self, _job: &Job, _ctx: &JobContext) -> Result<(), JobError> {
            if self.calls.fetch_add(1, Ordering::SeqCst) == 0 {
                return Err(JobError::Throttled {
                    message: "Microsoft is throttling".into(),
                    retry_after: Duration::from_secs(5),
                });
            }
            Ok(())
        }
    }

    struct Sibling;

    #[async_trait]
    impl JobHandler for Sibling {
        fn kind(&self) -> &'static str {
            "sibling"
        }
        fn throttle_group(&self) -> Option<&'static str> {
            Some("microsoft")
        }
        async fn run(&self, _job: &Job, _ctx: &JobContext) -> Result<(), JobError> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn throttling_defers_the_tenants_jobs_without_using_attempts() {
        let (s, clock, _dir) = store().await;
        let e = teamline_domain::ids::EnterpriseId(1);
        // Jobs reference their enterprise: create one.
        let audit = teamline_domain::audit::Audit::new(
            teamline_domain::audit::Actor::System("t".into()),
            "t",
            "t",
        );
        let reseller = s
            .create_reseller(
                &teamline_domain::reseller::ResellerForm {
                    name: "R".into(),
                    contact_email: "r@r.example".into(),
                    ..Default::default()
                }
                .validate()
                .unwrap(),
                &audit,
            )
            .await
            .unwrap();
        let ent = s
            .create_enterprise(
                reseller.id,
                &teamline_domain::enterprise::EnterpriseForm {
                    name: "E".into(),
                    global_admin_email: "a@e.example".into(),
                    ..Default::default()
                }
                .validate(&[])
                .unwrap(),
                &audit,
            )
            .await
            .unwrap();
        assert_eq!(ent.id, e);
        let handler = Arc::new(Throttled {
            calls: AtomicUsize::new(0),
        });
        let runner = Runner::new(s.clone(), "t")
            .handler(handler.clone())
            .handler(Arc::new(Sibling));
        let first = s
            .enqueue(&NewJob::new(Some(e), "throttled", "{}").max_attempts(1))
            .await
            .unwrap()
            .id();
        let sibling = s
            .enqueue(&NewJob::new(Some(e), "sibling", "{}").lane("other"))
            .await
            .unwrap()
            .id();
        let attempt = runner.run_one().await.unwrap().unwrap();
        assert_eq!((attempt.job_id, attempt.state), (first, JobState::Queued));
        assert!(
            runner.run_one().await.unwrap().is_none(),
            "the tenant's other Microsoft job waits too"
        );
        assert_eq!(s.get_job(sibling).await.unwrap().run_after_ms, 1_005_000);
        clock.advance_ms(5_000);
        let done = runner.run_until_idle().await.unwrap();
        assert!(
            done.iter().all(|a| a.state == JobState::Succeeded),
            "{done:?}"
        );
        assert_eq!(
            done.len(),
            2,
            "max_attempts = 1 was not used up by the deferral"
        );
    }

    struct Panics;

    #[async_trait]
    impl JobHandler for Panics {
        fn kind(&self) -> &'static str {
            "panics"
        }
        #[allow(clippy::panic)]
        async fn run(&self, _job: &Job, _ctx: &JobContext) -> Result<(), JobError> {
            panic!("bug")
        }
    }

    #[tokio::test]
    async fn a_panicking_handler_is_retried_not_fatal() {
        let (s, _clock, _dir) = store().await;
        let runner = Runner::new(s.clone(), "t").handler(Arc::new(Panics));
        s.enqueue(&NewJob::new(None, "panics", "{}")).await.unwrap();
        let a = runner.run_until_idle().await.unwrap();
        assert_eq!(a[0].state, JobState::Queued);
        assert!(a[0].error.as_deref().unwrap().contains("internal error"));
    }
}
