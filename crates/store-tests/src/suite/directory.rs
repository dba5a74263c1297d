//! The directory: synced Teams users, their flags, sync groups, delta links and the sync history.

use crate::Harness;
use crate::fixtures::*;
use std::sync::Arc;
use teamline_domain::teams_user::PlanState;
use teamline_store::*;

pub async fn directory_sync_bookkeeping(h: Arc<Harness>) {
    let s = &h.store;
    let t = tenant(s, "Contoso").await;
    let e = t.enterprise.id;
    let users: Vec<_> = (0..450)
        .map(|i| teams_user(&format!("u{i}"), &format!("User {i}")))
        .collect();
    let counts = s.upsert_teams_users(e, &users).await.unwrap();
    assert_eq!(
        counts,
        UpsertCounts {
            added: 450,
            changed: 0,
            unchanged: 0,
            flagged: 0,
        }
    );
    let sync_start = h.clock.now_ms() + 1;
    h.clock.advance_ms(60_000);
    let mut again = users[..449].to_vec();
    again[0].licences.teams_phone = PlanState::Missing;
    let counts = s.upsert_teams_users(e, &again).await.unwrap();
    assert_eq!(
        counts,
        UpsertCounts {
            added: 0,
            changed: 1,
            unchanged: 448,
            flagged: 1,
        }
    );
    // u449 was not seen by this full sync: out of scope, but kept.
    assert_eq!(s.mark_unseen_out_of_scope(e, sync_start).await.unwrap(), 1);
    let u449 = s.get_teams_user(e, "obj-u449").await.unwrap().unwrap();
    assert!(!u449.in_scope);
    assert!(!u449.is_eligible());
    assert_eq!(
        s.mark_deleted_in_tenant(e, &["obj-u1".into()])
            .await
            .unwrap(),
        1
    );
    assert!(
        s.get_teams_user(e, "obj-u1")
            .await
            .unwrap()
            .unwrap()
            .deleted_in_tenant
    );
    assert_eq!(
        s.mark_out_of_scope(e, &["obj-u2".into(), "obj-u3".into()])
            .await
            .unwrap(),
        2
    );

    // Eligible and not yet paired: u0 (no Teams Phone), u1 (deleted), u2/u3 (out of scope),
    // u449 (unseen) are not; pairing u4 removes it too.
    s.create_pbx_user(&new_user(&t, "u4", "1004"), &audit("pbx_user.create"))
        .await
        .unwrap();
    let page = s
        .list_teams_users(
            e,
            &TeamsUserQuery {
                eligible_unpaired_only: true,
                limit: 1000,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(page.total, 450 - 6);
    let found = s
        .list_teams_users(
            e,
            &TeamsUserQuery {
                search: Some("user 44".into()),
                limit: 50,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(found.total, 11, "User 44 and User 440..449");
    assert_eq!(
        s.teams_user_by_upn(e, "U7@CONTOSO.EXAMPLE")
            .await
            .unwrap()
            .unwrap()
            .display_name,
        "User 7"
    );

    let state = SyncState {
        users_delta_link: Some("https://graph/delta?token=1".into()),
        last_sync_ms: Some(5),
        ..Default::default()
    };
    s.put_sync_state(e, &state).await.unwrap();
    assert_eq!(s.sync_state(e).await.unwrap(), state);
    s.set_sync_groups(
        e,
        &[teamline_domain::sync_group::SyncGroupChoice::parse(
            "7a4c2f8e-1b3d-4e5f-8a9b-0c1d2e3f4a5b",
            "Teammate Sync",
        )
        .unwrap()],
        &audit("sync_groups.set"),
    )
    .await
    .unwrap();
    let groups = s.list_sync_groups(e).await.unwrap();
    assert_eq!(groups[0].display_name, "Teammate Sync");
}

/// Delta rounds: known users are looked up in bulk, flags count only real transitions, the
/// delta links' scope is kept, and the sync history keeps the newest runs.
pub async fn directory_delta_bookkeeping(h: Arc<Harness>) {
    let s = &h.store;
    let t = tenant(s, "Contoso").await;
    let e = t.enterprise.id;
    let other = tenant(s, "Fabrikam").await.enterprise.id;
    let users: Vec<_> = (0..300)
        .map(|i| teams_user(&format!("d{i}"), &format!("Delta {i}")))
        .collect();
    s.upsert_teams_users(e, &users).await.unwrap();
    let mut ids: Vec<String> = (0..300).rev().map(|i| format!("obj-d{i}")).collect();
    ids.push("obj-stranger".into());
    let known = s.get_teams_users(e, &ids).await.unwrap();
    assert_eq!(known.len(), 300, "unknown ids are left out");
    assert!(
        s.get_teams_users(other, &ids).await.unwrap().is_empty(),
        "another enterprise's users are not visible"
    );

    // Disabled, licence lost, left the groups: each is flagged once.
    let mut changed = users[..3].to_vec();
    changed[0].account_enabled = false;
    changed[1].licences.teams_phone = PlanState::Deleted;
    changed[2].in_scope = false;
    changed[2].sync_groups.clear();
    let counts = s.upsert_teams_users(e, &changed).await.unwrap();
    assert_eq!((counts.changed, counts.flagged), (3, 3));
    let counts = s.upsert_teams_users(e, &changed).await.unwrap();
    assert_eq!(
        (counts.unchanged, counts.flagged),
        (3, 0),
        "already flagged"
    );
    assert_eq!(
        s.mark_out_of_scope(e, &["obj-d2".into(), "obj-d3".into()])
            .await
            .unwrap(),
        1,
        "d2 was already out of scope"
    );
    assert_eq!(
        s.mark_deleted_in_tenant(e, &["obj-d4".into()])
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        s.mark_deleted_in_tenant(e, &["obj-d4".into()])
            .await
            .unwrap(),
        0
    );
    // The Dashboard counts configured users whose Teams user is flagged.
    s.create_pbx_user(&new_user(&t, "d0", "1000"), &audit("pbx_user.create"))
        .await
        .unwrap();
    s.create_pbx_user(&new_user(&t, "d5", "1005"), &audit("pbx_user.create"))
        .await
        .unwrap();
    assert_eq!(s.user_counts(e).await.unwrap().flagged, 1);

    let state = SyncState {
        users_delta_link: Some("https://graph/users/delta?token=u".into()),
        groups_delta_link: Some("https://graph/groups/delta?token=g".into()),
        scope: Some(r#"{"groups":["grp-sync"]}"#.into()),
        ..Default::default()
    };
    s.put_sync_state(e, &state).await.unwrap();
    assert_eq!(s.sync_state(e).await.unwrap(), state);
    assert_eq!(s.sync_state(other).await.unwrap(), SyncState::default());

    for i in 0..5 {
        let run = SyncRunRecord {
            started_ms: i * 1000,
            finished_ms: i * 1000 + 10,
            report: format!("{{\"run\":{i}}}"),
        };
        let after = SyncState {
            last_sync_ms: Some(i * 1000 + 10),
            last_result: Some(run.report.clone()),
            ..state.clone()
        };
        s.record_sync_run(e, &after, &run, 3).await.unwrap();
        assert_eq!(
            s.sync_state(e).await.unwrap(),
            after,
            "the state the run left"
        );
    }
    let runs = s.list_sync_runs(e, 10).await.unwrap();
    let starts: Vec<i64> = runs.iter().map(|r| r.started_ms).collect();
    assert_eq!(starts, vec![4000, 3000, 2000], "newest first, three kept");
    assert_eq!(runs[0].report, "{\"run\":4}");
    assert!(s.list_sync_runs(other, 10).await.unwrap().is_empty());
}

/// A full sync of several groups stages each group's members: a user in two groups comes back
/// once with both, in object-id pages that never split a user's groups, attributes as first
/// staged; nothing reaches the directory until merged, and clearing leaves the other
/// enterprise's staged members alone.
pub async fn directory_staging_merges_overlapping_groups(h: Arc<Harness>) {
    let s = &h.store;
    let e = tenant(s, "Contoso").await.enterprise.id;
    let other = tenant(s, "Fabrikam").await.enterprise.id;
    let users: Vec<_> = (0..250)
        .map(|i| teams_user(&format!("s{i:03}"), &format!("Staged {i}")))
        .collect();
    // Group A: s000..s149, group B: s100..s249 (50 in both), staged a page at a time.
    for page in users[..150].chunks(60) {
        s.stage_sync_members(e, "group-a", page).await.unwrap();
    }
    let mut renamed = users[100..250].to_vec();
    renamed[0].display_name = "Renamed later".into();
    s.stage_sync_members(e, "group-b", &renamed).await.unwrap();
    // The same page twice (a retried request) changes nothing.
    s.stage_sync_members(e, "group-b", &renamed[..10])
        .await
        .unwrap();
    s.stage_sync_members(other, "group-z", &users[..5])
        .await
        .unwrap();
    assert!(
        s.get_teams_user(e, "obj-s000").await.unwrap().is_none(),
        "staging leaves the directory alone"
    );

    let mut all = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = s
            .staged_sync_members(e, after.as_deref(), 70)
            .await
            .unwrap();
        let Some(last) = page.last() else { break };
        assert!(page.len() <= 70);
        after = Some(last.object_id.clone());
        all.extend(page);
    }
    assert_eq!(all.len(), 250, "each user once");
    let ids: Vec<&str> = all.iter().map(|u| u.object_id.as_str()).collect();
    let mut sorted = ids.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(ids, sorted, "in object-id order, no repeats");
    let groups_of = |id: &str| {
        all.iter()
            .find(|u| u.object_id == id)
            .map(|u| u.sync_groups.clone())
            .unwrap()
    };
    assert_eq!(groups_of("obj-s000"), ["group-a"]);
    assert_eq!(groups_of("obj-s120"), ["group-a", "group-b"]);
    assert_eq!(groups_of("obj-s249"), ["group-b"]);
    let s100 = all.iter().find(|u| u.object_id == "obj-s100").unwrap();
    assert_eq!(
        s100.display_name, "Staged 100",
        "the first attributes staged"
    );
    assert!(all.iter().all(|u| u.in_scope));

    assert_eq!(s.clear_staged_sync_members(e).await.unwrap(), 250);
    assert!(s.staged_sync_members(e, None, 70).await.unwrap().is_empty());
    let theirs = s.staged_sync_members(other, None, 70).await.unwrap();
    assert_eq!(theirs.len(), 5, "another enterprise's staging is its own");
}
