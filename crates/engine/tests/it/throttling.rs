//! Throttling: Retry-After is honoured for the whole tenant (the simulator counts requests that
//! arrive before a wait it asked for is over), the per-tenant concurrency limit holds, and a
//! throttled tenant does not hold up the others.

use crate::support::{all_in_sync, contoso, eventually, generated, settings};
use std::collections::HashMap;
use teamline_domain::audit::Actor;
use teamline_domain::pbx_user::PushState;
use teamline_sim::microsoft::demo as ms;
use teamline_testkit::{MicrosoftSimulator, TestDatabase, Workers, engine_for, testbed};

/// A fresh user's Enable Calling: the number, the voice routing policy, the dial plan and the
/// calling policy that keeps voicemail on the PBX.
const WRITES_PER_USER: u64 = 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_storm_slows_the_sync_and_pushes_down_but_never_makes_them_jump_the_queue() {
    // One request at a time per tenant: any request the simulator sees before the end of a
    // wait it asked for would be Teamline's fault, not a request already on its way.
    let c = contoso(settings(), 1).await;
    let (engine, e, t) = (&c.engine, c.contoso.id, &c.contoso_tenant);
    t.update_faults(|f| {
        f.throttle_budget = Some(3);
        f.throttle_window_ms = Some(1_000);
    });
    t.reset_request_stats();
    let bg = Workers::new().runner(engine, "storm");
    let sync = engine.enqueue_directory_sync(e, false).await.unwrap();
    eventually("the sync finished", || async {
        engine
            .store()
            .get_job(sync)
            .await
            .unwrap()
            .state
            .is_finished()
    })
    .await;
    let report = engine.last_sync(e).await.unwrap().unwrap();
    assert!(
        report.error.is_none() && report.full && report.added >= 16,
        "{report:?}"
    );

    // Two users enabled at once, still under the storm.
    let store = engine.store();
    let mut ids = Vec::new();
    for (name, ext) in [("Adele Vance", "1000"), ("Alex Wilber", "1001")] {
        let form = crate::drift::form(&c, name, ext).await;
        let user = engine
            .save_pbx_user(e, &Actor::System("test".into()), &form, None)
            .await
            .unwrap();
        ids.push((user.id, name));
    }
    let pushed: Vec<_> = ids.iter().map(|(id, _)| *id).collect();
    eventually("both users are in sync", || all_in_sync(engine, e, &pushed)).await;
    bg.stop().await;

    let stats = t.request_stats();
    assert!(stats.throttled > 0, "the storm happened: {stats:?}");
    assert_eq!(
        stats.early, 0,
        "no request before its Retry-After: {stats:?}"
    );
    assert!(stats.max_in_flight <= 1, "{stats:?}");
    let writes = t.write_counts();
    for (id, name) in &ids {
        let user = store.get_pbx_user(e, *id).await.unwrap();
        assert_eq!(user.user.push_state, PushState::InSync);
        assert_eq!(
            writes.get(&ms::contoso_user_id(name)).copied(),
            Some(WRITES_PER_USER),
            "{name} was configured exactly once despite the retries"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttled_tenant_does_not_hold_up_another_one() {
    let cloud = MicrosoftSimulator::start().await.unwrap();
    let db = TestDatabase::sqlite().unwrap();
    let store = db.open().await.unwrap();
    let engine = engine_for(store.clone(), &cloud.url, settings(), 1).unwrap();
    let (slow, slow_tb) = generated(&cloud, &engine, "throttled", 30, 30).await;
    let (fast, fast_tb) = generated(&cloud, &engine, "unthrottled", 30, 30).await;
    let slow_ids = testbed::seed_pbx_users(&engine, &slow_tb, 20, 20000)
        .await
        .unwrap();
    let fast_ids = testbed::seed_pbx_users(&engine, &fast_tb, 20, 30000)
        .await
        .unwrap();
    // Microsoft allows the first tenant 10 requests per 10 s: its 20 users need ~140.
    slow.set_throttle_budget(Some(10));
    slow.reset_request_stats();
    fast.reset_request_stats();
    // The throttled tenant's work is queued first, so it would take every worker if it held
    // on to them while waiting.
    testbed::enable_calling(&engine, slow_tb.enterprise.id, &slow_ids)
        .await
        .unwrap();
    testbed::enable_calling(&engine, fast_tb.enterprise.id, &fast_ids)
        .await
        .unwrap();
    let bg = Workers::new().runner(&engine, "two-tenants");
    eventually("every user of the unthrottled tenant is in sync", || {
        all_in_sync(&engine, fast_tb.enterprise.id, &fast_ids)
    })
    .await;
    let mut slow_states: HashMap<PushState, usize> = HashMap::new();
    for id in &slow_ids {
        let s = crate::support::push_state(&engine, slow_tb.enterprise.id, *id).await;
        *slow_states.entry(s).or_default() += 1;
    }
    bg.stop().await;
    assert!(
        slow_states.get(&PushState::InSync).copied().unwrap_or(0) < slow_ids.len(),
        "the throttled tenant is still being served slowly: {slow_states:?}"
    );
    assert!(
        !slow_states.contains_key(&PushState::Failed),
        "throttling is not a failure: {slow_states:?}"
    );
    let stats = slow.request_stats();
    assert!(stats.throttled > 0, "{stats:?}");
    assert_eq!(stats.early, 0, "Retry-After honoured: {stats:?}");
    assert_eq!(fast.request_stats().throttled, 0);
    let writes = fast.write_counts();
    assert_eq!(writes.len(), fast_ids.len());
    assert!(writes.values().all(|n| *n == WRITES_PER_USER), "{writes:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn never_more_requests_at_once_than_the_tenant_limit() {
    let cloud = MicrosoftSimulator::start().await.unwrap();
    let db = TestDatabase::sqlite().unwrap();
    let store = db.open().await.unwrap();
    let engine = engine_for(store, &cloud.url, settings(), 2).unwrap();
    let (tenant, tb) = generated(&cloud, &engine, "limited", 12, 12).await;
    let ids = testbed::seed_pbx_users(&engine, &tb, 12, 40000)
        .await
        .unwrap();
    tenant.set_latency(std::time::Duration::from_millis(30));
    tenant.reset_request_stats();
    testbed::enable_calling(&engine, tb.enterprise.id, &ids)
        .await
        .unwrap();
    let bg = Workers::new().runner(&engine, "limited");
    eventually("every user is in sync", || {
        all_in_sync(&engine, tb.enterprise.id, &ids)
    })
    .await;
    bg.stop().await;
    let stats = tenant.request_stats();
    assert_eq!(
        stats.max_in_flight, 2,
        "eight jobs at once share the tenant's two request slots: {stats:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_still_propagating_is_not_sent_again_by_the_next_push() {
    use teamline_sim::microsoft::demo as ms;
    let c = contoso(settings(), 4).await;
    let (engine, e, t) = (&c.engine, c.contoso.id, &c.contoso_tenant);
    engine.sync_directory(e, false).await.unwrap();
    // Policy assignments take a while to show in Microsoft's reads.
    t.set_propagation_delay(std::time::Duration::from_secs(600));
    let admin = Actor::System("test".into());
    let form = crate::drift::form(&c, "Adele Vance", "1000").await;
    let id = engine
        .save_pbx_user(e, &admin, &form, None)
        .await
        .unwrap()
        .id;
    let adele = ms::contoso_user_id("Adele Vance");
    let bg = Workers::new().runner(engine, "propagation");
    eventually("the push was sent and is propagating", || async {
        crate::support::push_state(engine, e, id).await == PushState::Propagating
    })
    .await;
    assert_eq!(t.write_counts().get(&adele).copied(), Some(WRITES_PER_USER));

    // Asking again (or a retry) while Microsoft propagates sends nothing new.
    engine.set_calling(e, &admin, id, true).await.unwrap();
    eventually("the second push ran", || async {
        engine
            .store()
            .list_jobs(&teamline_store::JobQuery {
                enterprise_id: Some(e),
                kind: Some("push_user".into()),
                limit: 10,
                ..Default::default()
            })
            .await
            .unwrap()
            .iter()
            .filter(|j| j.state == teamline_domain::job::JobState::Succeeded)
            .count()
            == 2
    })
    .await;
    assert_eq!(t.write_counts().get(&adele).copied(), Some(WRITES_PER_USER));

    // Once Microsoft shows the change, the user is in sync.
    t.flush_propagation();
    eventually("in sync", || async {
        crate::support::push_state(engine, e, id).await == PushState::InSync
    })
    .await;
    bg.stop().await;
    assert_eq!(t.write_counts().get(&adele).copied(), Some(WRITES_PER_USER));
    assert_eq!(engine.store().push_journal(e, id).await.unwrap(), None);
}
