//! Bulk work: the policies many pending users need are granted in one Graph request per
//! policy (Graph's `assign` takes a list), and the users' own pushes do not send them again.

use crate::drift::set_up;
use crate::support::{all_in_sync, contoso, eventually, settings, upn};
use teamline_testkit::Workers;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_users_get_each_shared_policy_in_one_request() {
    let c = contoso(settings(), 4).await;
    let (engine, e) = (&c.engine, c.contoso.id);
    let tenant = &c.contoso_tenant;
    engine.sync_directory(e, false).await.unwrap();
    // Both on their existing `tm` devices; their pushes wait (no runner yet).
    let adele = set_up(&c, "Adele Vance", "1000").await;
    let alex = set_up(&c, "Alex Wilber", "1001").await;

    let before = tenant.policy_assignment_requests();
    let bulk = engine
        .grant_policies_in_bulk(e, &[adele, alex])
        .await
        .unwrap();
    assert!(bulk.failed.is_empty(), "{bulk:?}");
    assert!(bulk.policies >= 1, "{bulk:?}");
    assert_eq!(bulk.grants, 2 * bulk.policies, "each policy to both users");
    assert_eq!(
        tenant.policy_assignment_requests() - before,
        bulk.policies as u64,
        "one request per policy, not per user"
    );
    let policy = engine
        .store()
        .list_voice_routes(e)
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.name.as_str() == "US East 2")
        .unwrap()
        .policy_name;
    for name in ["Adele Vance", "Alex Wilber"] {
        let state = tenant.teams_state(&upn(name)).unwrap();
        let granted = state
            .effective_policies
            .values()
            .chain(state.pending_policies.values())
            .any(|p| p.trim_start_matches("Tag:") == policy);
        assert!(granted, "{name}: {state:?}");
    }
    let audit = engine.store().list_audit(Some(e), 20).await.unwrap();
    assert!(
        audit
            .iter()
            .any(|a| a.action == "teams.bulk_grant" && a.summary.contains("for 2 users")),
        "{audit:?}"
    );

    // The pushes assign the numbers and find the policies granted: no grant is sent again.
    let after_bulk = tenant.policy_assignment_requests();
    let bg = Workers::new().runner(engine, "bulk");
    eventually("both users are in sync", || async {
        all_in_sync(engine, e, &[adele, alex]).await
    })
    .await;
    assert_eq!(tenant.policy_assignment_requests(), after_bulk);
    let adele_state = tenant.teams_state(&upn("Adele Vance")).unwrap();
    assert!(adele_state.enterprise_voice_enabled, "{adele_state:?}");
    bg.stop().await;
    c.stop().await.unwrap();
}
