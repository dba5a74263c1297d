//! Several Teamline instances on one PostgreSQL database.

use crate::support::{eventually, generated, settings};
use std::time::Duration;
use teamline_engine::EngineSettings;
use teamline_testkit::{MicrosoftSimulator, TestDatabase, Workers, engine_for};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_never_run_one_tenants_sync_twice_at_once() {
    let db = TestDatabase::postgres().await;
    let cloud = MicrosoftSimulator::start().await.unwrap();
    // Both instances schedule a sync every 300 ms and run jobs; people ask for more syncs on
    // both at the same time.
    let s = EngineSettings {
        directory_sync_every: Some(Duration::from_millis(300)),
        ..settings()
    };
    let a = engine_for(db.open().await.unwrap(), &cloud.url, s.clone(), 4).unwrap();
    let b = engine_for(db.open().await.unwrap(), &cloud.url, s, 4).unwrap();
    let (tenant, tb) = generated(&cloud, &a, "shared", 1500, 1500).await;
    let e = tb.enterprise.id;
    // Each request takes a while, so two syncs running at once would overlap at Microsoft.
    tenant.set_latency(Duration::from_millis(15));
    tenant.reset_request_stats();
    let mut bg = Workers::new().runner(&a, "instance-a");
    bg.add_runner(&b, "instance-b");
    bg.add_scheduler(&a, Some(Duration::from_millis(50)));
    bg.add_scheduler(&b, Some(Duration::from_millis(50)));
    for i in 0..20 {
        let on = if i % 2 == 0 { &a } else { &b };
        on.enqueue_directory_sync(e, i % 5 == 0).await.unwrap();
        tokio::time::sleep(Duration::from_millis(60)).await;
    }
    eventually("a dozen syncs ran", || async {
        a.sync_history(e, 100).await.unwrap().len() >= 13
    })
    .await;
    bg.stop().await;

    let mut runs = a.store().list_sync_runs(e, 100).await.unwrap();
    runs.sort_by_key(|r| r.started_ms);
    for pair in runs.windows(2) {
        assert!(
            pair[1].started_ms >= pair[0].finished_ms,
            "two syncs overlapped: {} started before {} ended",
            pair[1].started_ms,
            pair[0].finished_ms
        );
    }
    let history = a.sync_history(e, 100).await.unwrap();
    assert!(history.iter().all(|r| r.error.is_none()), "{history:?}");
    assert!(history.iter().any(|r| r.full) && history.iter().any(|r| !r.full));
    let stats = tenant.request_stats();
    assert_eq!(stats.max_in_flight, 1, "one request at a time: {stats:?}");
    drop((a, b));
    db.remove().await;
}
