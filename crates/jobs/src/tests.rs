//! The runner with test job types on a SQLite store and a manual clock.

use crate::{Attempt, Job, JobError, Queue, Registry, Runner};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use teamline_domain::ids::EnterpriseId;
use teamline_domain::job::JobState;
use teamline_store::crypto::Keyring;
use teamline_store::{DynStore, ManualClock, NewJob};

/// How often each test job ran.
#[derive(Default)]
struct Calls {
    flaky: AtomicUsize,
    throttled: AtomicUsize,
    enterprise_seen: AtomicUsize,
    stalled: AtomicUsize,
    release: tokio::sync::Notify,
}

type Ctx = Arc<Calls>;

/// Fails with a Retry-After the first `fail_times` times.
#[derive(Serialize, Deserialize)]
struct Flaky {
    fail_times: usize,
}

impl Job for Flaky {
    const KIND: &'static str = "flaky";
    const PRIORITY: i32 = 3;
    type Context = Ctx;

    fn enterprise(&self) -> Option<EnterpriseId> {
        None
    }

    async fn run(&self, calls: &Ctx, attempt: &Attempt) -> Result<(), JobError> {
        let n = calls.flaky.fetch_add(1, Ordering::SeqCst);
        attempt.progress(1, Some(2), "half way").await?;
        if n < self.fail_times {
            return Err(JobError::Retry {
                message: "throttled".into(),
                retry_after: Some(Duration::from_secs(3)),
            });
        }
        Ok(())
    }
}

/// Throttled once (a call to a throttling service), then succeeds.
#[derive(Serialize, Deserialize)]
struct Throttled {
    enterprise_id: EnterpriseId,
}

impl Job for Throttled {
    const KIND: &'static str = "throttled";
    const THROTTLE_GROUP: Option<&'static str> = Some("service");
    const MAX_ATTEMPTS: u32 = 1;
    type Context = Ctx;

    fn enterprise(&self) -> Option<EnterpriseId> {
        Some(self.enterprise_id)
    }

    async fn run(&self, calls: &Ctx, _attempt: &Attempt) -> Result<(), JobError> {
        if calls.throttled.fetch_add(1, Ordering::SeqCst) == 0 {
            return Err(JobError::Throttled {
                message: "the service is throttling".into(),
                retry_after: Duration::from_secs(5),
            });
        }
        Ok(())
    }
}

/// Another job of the same throttle group, in its own lane.
#[derive(Serialize, Deserialize)]
struct Sibling {
    enterprise_id: EnterpriseId,
    #[serde(default)]
    note: String,
}

impl Job for Sibling {
    const KIND: &'static str = "sibling";
    const THROTTLE_GROUP: Option<&'static str> = Some("service");
    type Context = Ctx;

    fn enterprise(&self) -> Option<EnterpriseId> {
        Some(self.enterprise_id)
    }

    fn lane(&self) -> Option<String> {
        Some(format!("sibling:{}", self.enterprise_id))
    }

    fn idempotency_key(&self) -> Option<String> {
        Some(format!("sibling:{}", self.enterprise_id))
    }

    async fn run(&self, calls: &Ctx, _attempt: &Attempt) -> Result<(), JobError> {
        calls.enterprise_seen.store(
            usize::try_from(self.enterprise_id.0).unwrap(),
            Ordering::SeqCst,
        );
        Ok(())
    }
}

#[derive(Serialize, Deserialize)]
struct Panics;

impl Job for Panics {
    const KIND: &'static str = "panics";
    type Context = Ctx;

    fn enterprise(&self) -> Option<EnterpriseId> {
        None
    }

    #[allow(clippy::panic)]
    async fn run(&self, _calls: &Ctx, _attempt: &Attempt) -> Result<(), JobError> {
        panic!("bug")
    }
}

/// Waits until the test releases it (a job that stalls longer than its lease).
#[derive(Serialize, Deserialize)]
struct Stalls;

impl Job for Stalls {
    const KIND: &'static str = "stalls";
    type Context = Ctx;

    fn enterprise(&self) -> Option<EnterpriseId> {
        None
    }

    async fn run(&self, calls: &Ctx, _attempt: &Attempt) -> Result<(), JobError> {
        calls.stalled.fetch_add(1, Ordering::SeqCst);
        calls.release.notified().await;
        Ok(())
    }
}

struct Setup {
    /// The whole store: the tests also create enterprises and read jobs back.
    store: DynStore,
    clock: Arc<ManualClock>,
    queue: Queue,
    calls: Ctx,
    _dir: tempfile::TempDir,
}

impl Setup {
    async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::new(1_000_000));
        let store: DynStore = Arc::new(
            teamline_store_sqlite::open(
                &dir.path().join("t.db"),
                Arc::new(Keyring::for_testing()),
                clock.clone(),
            )
            .await
            .unwrap(),
        );
        Self {
            queue: Queue::new(store.clone()),
            store,
            clock,
            calls: Arc::default(),
            _dir: dir,
        }
    }

    fn runner(&self) -> Runner<Ctx> {
        let registry = Registry::new(self.calls.clone())
            .register::<Flaky>()
            .register::<Throttled>()
            .register::<Sibling>()
            .register::<Panics>()
            .register::<Stalls>();
        Runner::new(&self.queue, registry, "t")
    }

    /// Jobs reference their enterprise: creates one.
    async fn enterprise(&self) -> EnterpriseId {
        let audit = teamline_domain::audit::Audit::new(
            teamline_domain::audit::Actor::System("t".into()),
            "t",
            "t",
        );
        let reseller = self
            .store
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
        self.store
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
            .unwrap()
            .id
    }
}

#[tokio::test]
async fn retry_after_is_honoured_then_success() {
    let s = Setup::new().await;
    let runner = s.runner();
    let id = s.queue.enqueue(&Flaky { fail_times: 1 }).await.unwrap();
    let first = runner.run_until_idle().await.unwrap();
    assert_eq!(first[0].state, JobState::Queued);
    assert_eq!(
        s.store.get_job(id).await.unwrap().run_after_ms,
        1_003_000,
        "the server's Retry-After"
    );
    s.clock.advance_ms(3_000);
    let second = runner.run_until_idle().await.unwrap();
    assert_eq!(second[0].state, JobState::Succeeded);
    assert_eq!(s.calls.flaky.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn unknown_kind_fails_with_a_reason() {
    let s = Setup::new().await;
    s.store
        .enqueue(&NewJob::new(None, "mystery", "{}"))
        .await
        .unwrap();
    let a = s.runner().run_until_idle().await.unwrap();
    assert_eq!(a[0].state, JobState::Failed);
    assert!(a[0].error.as_deref().unwrap().contains("mystery"));
}

#[tokio::test]
async fn throttling_defers_the_tenants_jobs_without_using_attempts() {
    let s = Setup::new().await;
    let e = s.enterprise().await;
    let runner = s.runner();
    let first = s
        .queue
        .enqueue(&Throttled { enterprise_id: e })
        .await
        .unwrap();
    let sibling = s
        .queue
        .enqueue(&Sibling {
            enterprise_id: e,
            note: String::new(),
        })
        .await
        .unwrap();
    let outcome = runner.run_one().await.unwrap().unwrap();
    assert_eq!((outcome.job_id, outcome.state), (first, JobState::Queued));
    assert!(
        runner.run_one().await.unwrap().is_none(),
        "the tenant's other job of the throttle group waits too"
    );
    assert_eq!(
        s.store.get_job(sibling).await.unwrap().run_after_ms,
        1_005_000
    );
    s.clock.advance_ms(5_000);
    let done = runner.run_until_idle().await.unwrap();
    assert!(
        done.iter().all(|a| a.state == JobState::Succeeded),
        "{done:?}"
    );
    assert_eq!(
        done.len(),
        2,
        "MAX_ATTEMPTS = 1 was not used up by the deferral"
    );
}

#[tokio::test]
async fn a_panicking_job_is_retried_not_fatal() {
    let s = Setup::new().await;
    s.queue.enqueue(&Panics).await.unwrap();
    let a = s.runner().run_until_idle().await.unwrap();
    assert_eq!(a[0].state, JobState::Queued);
    assert!(a[0].error.as_deref().unwrap().contains("internal error"));
}

#[tokio::test]
async fn a_job_is_stored_with_its_kind_lane_key_priority_and_attempts() {
    let s = Setup::new().await;
    let e = s.enterprise().await;
    let job = Sibling {
        enterprise_id: e,
        note: "first".into(),
    };
    let id = s.queue.enqueue(&job).await.unwrap();
    let row = s.store.get_job(id).await.unwrap();
    assert_eq!(row.kind, "sibling");
    assert_eq!(row.enterprise_id, Some(e));
    assert_eq!(row.lane, format!("sibling:{e}"));
    assert_eq!(row.idempotency_key, Some(format!("sibling:{e}")));
    assert_eq!((row.priority, row.max_attempts), (0, 8));
    let again = Sibling {
        enterprise_id: e,
        note: "second".into(),
    };
    assert_eq!(
        s.queue.enqueue(&again).await.unwrap(),
        id,
        "the waiting job covers the new request"
    );
    let later = s
        .queue
        .enqueue_at(&Flaky { fail_times: 0 }, 2_000_000)
        .await
        .unwrap();
    let later = s.store.get_job(later).await.unwrap();
    assert_eq!((later.run_after_ms, later.priority), (2_000_000, 3));
}

#[tokio::test]
async fn a_payload_without_its_enterprise_gets_the_rows() {
    let s = Setup::new().await;
    let e = s.enterprise().await;
    // As queued before jobs carried their enterprise in the payload.
    s.store
        .enqueue(&NewJob::new(Some(e), Sibling::KIND, "{}"))
        .await
        .unwrap();
    let a = s.runner().run_until_idle().await.unwrap();
    assert_eq!(a[0].state, JobState::Succeeded, "{a:?}");
    assert_eq!(
        s.calls.enterprise_seen.load(Ordering::SeqCst),
        usize::try_from(e.0).unwrap()
    );
}

#[tokio::test]
async fn an_unreadable_payload_fails_for_good_naming_the_job() {
    let s = Setup::new().await;
    let id = s
        .store
        .enqueue(&NewJob::new(
            None,
            Flaky::KIND,
            "{\"fail_times\": \"often\"}",
        ))
        .await
        .unwrap()
        .id();
    let a = s.runner().run_until_idle().await.unwrap();
    assert_eq!(a[0].state, JobState::Failed);
    let error = a[0].error.as_deref().unwrap();
    assert!(
        error.contains(&format!("job {id} has an unreadable payload")),
        "{error}"
    );
}

/// Catches a runner that names its lease by itself only: after a stall longer than the lease it
/// claims the job again, and the stalled first attempt (same name) could still renew and finish
/// it while the second attempt runs — the same Microsoft change made twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attempt_that_outlived_its_lease_cannot_finish_the_job_claimed_again() {
    let s = Setup::new().await;
    let runner = Arc::new(s.runner().lease(Duration::from_secs(1)));
    let id = s.queue.enqueue(&Stalls).await.unwrap();
    let until_stalled = |n: usize| {
        let calls = s.calls.clone();
        async move {
            while calls.stalled.load(Ordering::SeqCst) < n {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    };
    let first = tokio::spawn({
        let r = runner.clone();
        async move { r.run_one().await }
    });
    until_stalled(1).await;
    s.clock.advance_ms(5_000); // the first attempt's lease ran out
    let second = tokio::spawn({
        let r = runner.clone();
        async move { r.run_one().await }
    });
    until_stalled(2).await;

    let first = tokio::time::timeout(Duration::from_secs(20), first)
        .await
        .expect("the stale attempt must stop at its next lease renewal")
        .unwrap();
    assert!(
        first.is_err(),
        "the stale attempt may not record an outcome: {first:?}"
    );
    assert_eq!(s.store.get_job(id).await.unwrap().state, JobState::Running);

    s.calls.release.notify_one();
    let second = tokio::time::timeout(Duration::from_secs(20), second)
        .await
        .unwrap()
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(second.state, JobState::Succeeded);
    let job = s.store.get_job(id).await.unwrap();
    assert_eq!((job.state, job.attempts), (JobState::Succeeded, 2));
}
