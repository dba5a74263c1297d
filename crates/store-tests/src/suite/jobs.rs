//! The job queue: claiming, leases, retries, deferral, deduplication, lanes, several runners.

use crate::Harness;
use crate::fixtures::*;
use std::collections::HashSet;
use std::sync::Arc;
use teamline_domain::ids::*;
use teamline_domain::job::JobState;
use teamline_store::*;

/// Throttling: a deferred job keeps its attempts, the tenant's other Microsoft jobs wait with
/// it, and asking again for a waiting job brings it forward.
pub async fn jobs_deferred_and_pulled_forward(h: Arc<Harness>) {
    let s = &h.store;
    let e = tenant(s, "Contoso").await.enterprise.id;
    let other = tenant(s, "Fabrikam").await.enterprise.id;
    let now = h.clock.now_ms();
    let push = s
        .enqueue(
            &NewJob::new(Some(e), "push_user", "{}")
                .lane("user:1")
                .max_attempts(1),
        )
        .await
        .unwrap()
        .id();
    let job = s.claim_job("w", 30_000).await.unwrap().unwrap();
    assert_eq!((job.id, job.attempts), (push, 1));
    let queued_push = s
        .enqueue(&NewJob::new(Some(e), "push_user", "{}").lane("user:2"))
        .await
        .unwrap()
        .id();
    let device = s
        .enqueue(&NewJob::new(Some(e), "ensure_device", "{}").lane("user:2d"))
        .await
        .unwrap()
        .id();
    let elsewhere = s
        .enqueue(&NewJob::new(Some(other), "push_user", "{}").lane("user:3"))
        .await
        .unwrap()
        .id();
    let state = s
        .fail_job(
            push,
            "w",
            &JobFailure::Deferred {
                run_after_ms: now + 8_000,
                reason: "Microsoft asked to wait 8 s".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        state,
        JobState::Queued,
        "not failed although max_attempts = 1"
    );
    let moved = s
        .defer_queued_jobs(e, &["push_user", "sync_directory"], now + 8_000)
        .await
        .unwrap();
    assert_eq!(moved, 1, "only the tenant's other Microsoft job");
    assert_eq!(
        s.get_job(queued_push).await.unwrap().run_after_ms,
        now + 8_000
    );
    assert_eq!(s.get_job(device).await.unwrap().run_after_ms, now);
    assert_eq!(s.get_job(elsewhere).await.unwrap().run_after_ms, now);
    let mut claimed = HashSet::new();
    while let Some(j) = s.claim_job("w", 30_000).await.unwrap() {
        claimed.insert(j.id);
        s.complete_job(j.id, "w").await.unwrap();
    }
    assert_eq!(claimed, HashSet::from([device, elsewhere]));
    h.clock.advance_ms(8_000);
    let again = s.claim_job("w", 30_000).await.unwrap().unwrap();
    assert_eq!(
        (again.id, again.attempts, again.last_error.as_deref()),
        (push, 1, Some("Microsoft asked to wait 8 s"))
    );
    s.complete_job(push, "w").await.unwrap();

    // The next scheduled sync waits five minutes; "sync now" brings that same job forward.
    let later = h.clock.now_ms() + 300_000;
    let scheduled = s
        .enqueue(
            &NewJob::new(Some(e), "sync_directory", "{}")
                .idempotency_key("sync_directory:contoso")
                .run_after_ms(later),
        )
        .await
        .unwrap();
    let now = h.clock.now_ms();
    let asked = s
        .enqueue(
            &NewJob::new(Some(e), "sync_directory", "{}").idempotency_key("sync_directory:contoso"),
        )
        .await
        .unwrap();
    assert_eq!(asked, Enqueued::Existing(scheduled.id()));
    assert_eq!(s.get_job(scheduled.id()).await.unwrap().run_after_ms, now);
    // A request for later never delays it.
    s.enqueue(
        &NewJob::new(Some(e), "sync_directory", "{}")
            .idempotency_key("sync_directory:contoso")
            .run_after_ms(later),
    )
    .await
    .unwrap();
    assert_eq!(s.get_job(scheduled.id()).await.unwrap().run_after_ms, now);
}

pub async fn jobs_claim_complete_and_deduplicate(h: Arc<Harness>) {
    let s = &h.store;
    let t = tenant(s, "Contoso").await;
    let e = Some(t.enterprise.id);
    let first = s
        .enqueue(&NewJob::new(e, "sync_directory", "{}").idempotency_key("sync:contoso"))
        .await
        .unwrap();
    assert!(matches!(first, Enqueued::New(_)));
    let again = s
        .enqueue(&NewJob::new(e, "sync_directory", "{}").idempotency_key("sync:contoso"))
        .await
        .unwrap();
    assert_eq!(again, Enqueued::Existing(first.id()));

    let job = s.claim_job("w1", 30_000).await.unwrap().unwrap();
    assert_eq!(
        (job.id, job.state, job.attempts),
        (first.id(), JobState::Running, 1)
    );
    assert_eq!(job.lane, format!("enterprise:{}", t.enterprise.id));
    // While it runs, a change may queue the next run (this one may have read older input),
    // and that one deduplicates in turn.
    let next = s
        .enqueue(&NewJob::new(e, "sync_directory", "{}").idempotency_key("sync:contoso"))
        .await
        .unwrap();
    assert!(matches!(next, Enqueued::New(_)));
    assert_eq!(
        s.enqueue(&NewJob::new(e, "sync_directory", "{}").idempotency_key("sync:contoso"))
            .await
            .unwrap(),
        Enqueued::Existing(next.id())
    );
    s.report_progress(job.id, "w1", 5, Some(20), Some("5 of 20 users"))
        .await
        .unwrap();
    let seen = s.get_job(job.id).await.unwrap();
    assert_eq!(
        (
            seen.progress_done,
            seen.progress_total,
            seen.progress_message.as_deref()
        ),
        (5, Some(20), Some("5 of 20 users"))
    );
    assert!(
        matches!(
            s.complete_job(job.id, "w2").await,
            Err(StoreError::Stale { .. })
        ),
        "only the claimer completes"
    );
    s.complete_job(job.id, "w1").await.unwrap();
    assert_eq!(s.get_job(job.id).await.unwrap().state, JobState::Succeeded);
    let unfinished = s
        .list_jobs(&JobQuery {
            enterprise_id: e,
            unfinished_only: true,
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(unfinished.len(), 1);
    assert_eq!(unfinished[0].id, next.id());
}

/// The scheduler's fleet-wide reads and its one write: several jobs queued in one transaction
/// (deduplicated as one by one), who has a sync waiting or running, each enterprise's newest
/// job of a kind, and when each enterprise was last synced.
pub async fn jobs_queued_and_read_for_the_whole_fleet(h: Arc<Harness>) {
    let s = &h.store;
    let a = tenant(s, "Contoso").await.enterprise.id;
    let b = tenant(s, "Fabrikam").await.enterprise.id;
    let c = tenant(s, "Northwind").await.enterprise.id;
    let sync = |e: EnterpriseId| {
        NewJob::new(Some(e), "sync_directory", "{}").idempotency_key(format!("sync:{e}"))
    };
    let waiting = s.enqueue(&sync(a)).await.unwrap().id();
    let queued = s.enqueue_all(&[sync(a), sync(b)]).await.unwrap();
    assert_eq!(
        queued[0],
        Enqueued::Existing(waiting),
        "the waiting sync covers it"
    );
    assert!(matches!(queued[1], Enqueued::New(_)));
    assert_eq!(s.enqueue_all(&[]).await.unwrap(), Vec::new());
    let mut syncing = s
        .enterprises_with_unfinished_jobs(&["sync_directory", "sync_teams_users"])
        .await
        .unwrap();
    syncing.sort();
    assert_eq!(syncing, vec![a, b]);
    assert!(
        s.enterprises_with_unfinished_jobs(&["reconcile"])
            .await
            .unwrap()
            .is_empty()
    );

    // The newest drift check of each enterprise, finished or not.
    let check = |e: EnterpriseId| NewJob::new(Some(e), "reconcile", "{}").lane(format!("r:{e}"));
    s.enqueue(&check(a)).await.unwrap();
    let newest_a = s.enqueue(&check(a)).await.unwrap().id();
    let newest_c = s.enqueue(&check(c)).await.unwrap().id();
    let mut latest: Vec<_> = s
        .latest_job_per_enterprise("reconcile")
        .await
        .unwrap()
        .into_iter()
        .map(|j| (j.enterprise_id, j.id))
        .collect();
    latest.sort();
    let mut expect = vec![(Some(a), newest_a), (Some(c), newest_c)];
    expect.sort();
    assert_eq!(latest, expect);

    assert!(s.last_sync_times().await.unwrap().is_empty());
    let state = SyncState {
        last_sync_ms: Some(1_000),
        ..Default::default()
    };
    s.put_sync_state(b, &state).await.unwrap();
    s.put_sync_state(c, &SyncState::default()).await.unwrap();
    assert_eq!(s.last_sync_times().await.unwrap(), vec![(b, 1_000)]);
}

pub async fn jobs_retry_with_backoff_and_retry_after(h: Arc<Harness>) {
    let s = &h.store;
    let id = s
        .enqueue(&NewJob::new(None, "push_user", "{\"user\":1}").max_attempts(3))
        .await
        .unwrap()
        .id();
    assert!(s.claim_job("w", 30_000).await.unwrap().is_some());
    let now = h.clock.now_ms();
    let state = s
        .fail_job(
            id,
            "w",
            &JobFailure::RetryAt {
                run_after_ms: now + 7_000,
                error: "Graph said 429".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(state, JobState::Queued);
    assert!(
        s.claim_job("w", 30_000).await.unwrap().is_none(),
        "not before Retry-After"
    );
    assert_eq!(s.next_job_due_ms().await.unwrap(), Some(now + 7_000));
    h.clock.advance_ms(7_000);
    let job = s.claim_job("w", 30_000).await.unwrap().unwrap();
    assert_eq!(
        (job.attempts, job.last_error.as_deref()),
        (2, Some("Graph said 429"))
    );
    s.fail_job(
        id,
        "w",
        &JobFailure::RetryAt {
            run_after_ms: h.clock.now_ms(),
            error: "503".into(),
        },
    )
    .await
    .unwrap();
    s.claim_job("w", 30_000).await.unwrap().unwrap();
    let state = s
        .fail_job(
            id,
            "w",
            &JobFailure::RetryAt {
                run_after_ms: h.clock.now_ms(),
                error: "503 again".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(state, JobState::Failed, "three attempts used");
    let job = s.get_job(id).await.unwrap();
    assert_eq!(
        (job.state, job.last_error.as_deref()),
        (JobState::Failed, Some("503 again"))
    );
    assert!(job.finished_ms.is_some());

    let permanent = s
        .enqueue(&NewJob::new(None, "push_user", "{}"))
        .await
        .unwrap()
        .id();
    s.claim_job("w", 30_000).await.unwrap().unwrap();
    let state = s
        .fail_job(
            permanent,
            "w",
            &JobFailure::Permanent {
                error: "no Teams Phone licence".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(state, JobState::Failed);
}

pub async fn jobs_one_at_a_time_per_lane(h: Arc<Harness>) {
    let s = &h.store;
    let a = tenant(s, "Contoso").await.enterprise.id;
    let b = tenant(s, "Fabrikam").await.enterprise.id;
    let a1 = s
        .enqueue(&NewJob::new(Some(a), "sync_directory", "1"))
        .await
        .unwrap()
        .id();
    let a2 = s
        .enqueue(&NewJob::new(Some(a), "sync_directory", "2"))
        .await
        .unwrap()
        .id();
    let b1 = s
        .enqueue(&NewJob::new(Some(b), "sync_directory", "3"))
        .await
        .unwrap()
        .id();
    let high = s
        .enqueue(
            &NewJob::new(Some(a), "push_user", "4")
                .lane("user:1")
                .priority(10),
        )
        .await
        .unwrap()
        .id();
    assert_eq!(
        s.claim_job("w1", 30_000).await.unwrap().unwrap().id,
        high,
        "priority first"
    );
    assert_eq!(s.claim_job("w1", 30_000).await.unwrap().unwrap().id, a1);
    assert_eq!(
        s.claim_job("w2", 30_000).await.unwrap().unwrap().id,
        b1,
        "a2 waits for a1's lane"
    );
    assert!(s.claim_job("w2", 30_000).await.unwrap().is_none());
    s.complete_job(a1, "w1").await.unwrap();
    assert_eq!(s.claim_job("w2", 30_000).await.unwrap().unwrap().id, a2);
}

pub async fn jobs_expired_lease_is_reclaimed(h: Arc<Harness>) {
    let s = &h.store;
    let id = s
        .enqueue(&NewJob::new(None, "push_user", "{}"))
        .await
        .unwrap()
        .id();
    s.claim_job("crashed", 10_000).await.unwrap().unwrap();
    assert!(s.claim_job("w2", 10_000).await.unwrap().is_none());
    assert!(s.extend_lease(id, "crashed", 10_000).await.unwrap());
    h.clock.advance_ms(10_001);
    let job = s.claim_job("w2", 10_000).await.unwrap().unwrap();
    assert_eq!(
        (job.id, job.attempts, job.locked_by.as_deref()),
        (id, 2, Some("w2"))
    );
    assert!(
        !s.extend_lease(id, "crashed", 10_000).await.unwrap(),
        "the old runner lost it"
    );
    assert!(s.complete_job(id, "crashed").await.is_err());
    s.complete_job(id, "w2").await.unwrap();

    // A job whose lease ran out and a queued one are claimed by urgency, whichever is which.
    let job = |lane: &str, priority: i32| {
        NewJob::new(None, "push_user", "{}")
            .lane(lane)
            .priority(priority)
    };
    let urgent = s.enqueue(&job("user:1", 10)).await.unwrap().id();
    s.claim_job("crashed", 10_000).await.unwrap().unwrap();
    let low = s.enqueue(&job("user:2", 0)).await.unwrap().id();
    h.clock.advance_ms(10_001);
    let high = s.enqueue(&job("user:3", 20)).await.unwrap().id();
    let order: Vec<_> = [
        s.claim_job("w3", 10_000).await.unwrap(),
        s.claim_job("w3", 10_000).await.unwrap(),
        s.claim_job("w3", 10_000).await.unwrap(),
    ]
    .into_iter()
    .map(|j| j.map(|j| j.id))
    .collect();
    assert_eq!(order, vec![Some(high), Some(urgent), Some(low)]);
}

/// Two runners (two store instances, as two Teamline processes would have) drain one queue
/// concurrently: every job runs exactly once.
pub async fn two_runners_run_every_job_exactly_once(h: Arc<Harness>) {
    const JOBS: usize = 200;
    let s = &h.store;
    let mut expected = HashSet::new();
    for i in 0..JOBS {
        let id = s
            .enqueue(&NewJob::new(None, "push_user", format!("{i}")).lane(format!("user:{i}")))
            .await
            .unwrap()
            .id();
        expected.insert(id.0);
    }
    let second = h
        .reopen(teamline_store::crypto::Keyring::for_testing())
        .await;
    let runner = |store: Arc<dyn Store>, name: &'static str| {
        tokio::spawn(async move {
            let mut ran = Vec::new();
            while let Some(job) = store.claim_job(name, 60_000).await.unwrap() {
                ran.push(job.id.0);
                store.complete_job(job.id, name).await.unwrap();
            }
            ran
        })
    };
    let (r1, r2) = (
        runner(s.clone(), "instance-1"),
        runner(second, "instance-2"),
    );
    let (r1, r2) = (r1.await.unwrap(), r2.await.unwrap());
    let mut all: Vec<i64> = r1.iter().chain(&r2).copied().collect();
    all.sort_unstable();
    let unique: HashSet<i64> = all.iter().copied().collect();
    assert_eq!(
        all.len(),
        JOBS,
        "a job ran twice or not at all ({} + {})",
        r1.len(),
        r2.len()
    );
    assert_eq!(unique, expected);
    for id in expected {
        assert_eq!(s.get_job(JobId(id)).await.unwrap().attempts, 1);
    }
}
