//! PBX users: uniqueness that names the holder, edits, Enable/Disable Calling, pushes and their
//! journal, the Users page.

use crate::Harness;
use crate::fixtures::*;
use std::sync::Arc;
use teamline_domain::pbx_user::{PbxUserState, PushState};
use teamline_domain::phone::PhoneNumber;
use teamline_domain::sip::Extension;
use teamline_domain::teams_voice::ObservedVoice;
use teamline_store::*;

pub async fn pbx_user_uniqueness_names_the_holder(h: Arc<Harness>) {
    let s = &h.store;
    let t = tenant(s, "Contoso").await;
    synced(
        &h,
        &t,
        &[
            ("AdeleV", "Adele Vance"),
            ("AlexW", "Alex Wilber"),
            ("DebraB", "Debra Berger"),
        ],
    )
    .await;
    let adele = s
        .create_pbx_user(&new_user(&t, "AdeleV", "1000"), &audit("pbx_user.create"))
        .await
        .unwrap();
    assert_eq!(adele.state, PbxUserState::Active);
    assert_eq!(adele.push_state, PushState::Pending);

    // Same extension for Alex: refused, naming Adele.
    let mut alex = new_user(&t, "AlexW", "1000");
    alex.spec.phone_number = PhoneNumber::parse("11001").unwrap();
    let err = s
        .create_pbx_user(&alex, &audit("pbx_user.create"))
        .await
        .unwrap_err();
    match &err {
        StoreError::Conflict { field, message } => {
            assert_eq!(*field, "SIP User");
            assert!(message.contains("Adele Vance"), "{message}");
        }
        other => panic!("expected a conflict, got {other}"),
    }
    // Same number: refused. Same Teams user: refused.
    let mut dup_number = new_user(&t, "AlexW", "1001");
    dup_number.spec.phone_number = PhoneNumber::parse("+11000").unwrap();
    assert!(matches!(
        s.create_pbx_user(&dup_number, &audit("x")).await,
        Err(StoreError::Conflict {
            field: "Phone Number",
            ..
        })
    ));
    let dup_teams = new_user(&t, "AdeleV", "1001");
    assert!(matches!(
        s.create_pbx_user(&dup_teams, &audit("x")).await,
        Err(StoreError::Conflict {
            field: "Teams User",
            ..
        })
    ));

    // Nothing partial was written by the refused attempts: one user, one creation event.
    let page = s
        .list_pbx_users(
            t.enterprise.id,
            &PbxUserQuery {
                limit: 50,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(page.total, 1);
    let creates = s
        .list_audit(Some(t.enterprise.id), 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "pbx_user.create")
        .count();
    assert_eq!(creates, 1);

    // The database enforces it too, even for a write that skips the Store's checks.
    let raw = format!(
        "INSERT INTO pbx_users (enterprise_id, pbx_location_id, voice_route_id, teams_user_object_id, sip_user, \
         phone_number, use_teams_voicemail, caller_name_policy, forwarded_caller_id, assign_dial_plan, device, state, \
         calling_enabled, push_state, version, created_ms, updated_ms) VALUES ({}, {}, {}, 'obj-other', '1000', '+19999', \
         0, 'transparent', 'user_caller_id', 1, '1000tm', 'active', 0, 'pending', 1, 0, 0)",
        t.enterprise.id, t.location.id, t.east.id
    );
    let err = h.raw_execute(&raw).await.unwrap_err();
    assert!(err.to_lowercase().contains("unique"), "{err}");

    // Disabled still reserves; only delete frees the extension.
    let debra = s
        .create_pbx_user(&new_user(&t, "DebraB", "1015"), &audit("pbx_user.create"))
        .await
        .unwrap();
    let err = s
        .delete_pbx_user(t.enterprise.id, debra.id, &audit("pbx_user.delete"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("Disable User first"), "{err}");
    s.set_pbx_user_state(
        t.enterprise.id,
        debra.id,
        PbxUserState::Disabled,
        &audit("pbx_user.disable"),
    )
    .await
    .unwrap();
    let holder = s
        .holder_of_extension(t.location.id, &Extension::parse("1015").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (holder.display_name.as_str(), holder.state),
        ("Debra Berger", PbxUserState::Disabled)
    );
    let mut alex = new_user(&t, "AlexW", "1015");
    alex.spec.phone_number = PhoneNumber::parse("11015").unwrap();
    let err = s.create_pbx_user(&alex, &audit("x")).await.unwrap_err();
    assert!(err.to_string().contains("Debra Berger"), "{err}");
    s.delete_pbx_user(t.enterprise.id, debra.id, &audit("pbx_user.delete"))
        .await
        .unwrap();
    assert!(
        s.holder_of_extension(t.location.id, &Extension::parse("1015").unwrap())
            .await
            .unwrap()
            .is_none()
    );
    let alex = s
        .create_pbx_user(&alex, &audit("pbx_user.create"))
        .await
        .unwrap();
    assert_eq!(alex.spec.sip_user.as_str(), "1015");

    // A number may repeat across enterprises.
    let fabrikam = tenant(s, "Fabrikam").await;
    synced(&h, &fabrikam, &[("AdeleV", "Adele Vance")]).await;
    s.create_pbx_user(
        &new_user(&fabrikam, "AdeleV", "1000"),
        &audit("pbx_user.create"),
    )
    .await
    .unwrap();
}

pub async fn pbx_user_edit_calling_and_push(h: Arc<Harness>) {
    let s = &h.store;
    let t = tenant(s, "Contoso").await;
    let e = t.enterprise.id;
    synced(&h, &t, &[("AdeleV", "Adele Vance")]).await;
    let adele = s
        .create_pbx_user(&new_user(&t, "AdeleV", "1000"), &audit("pbx_user.create"))
        .await
        .unwrap();

    let observed = ObservedVoice {
        enterprise_voice: true,
        numbers: vec!["+11000".into()],
        policies: Default::default(),
        read_at_ms: 5,
    };
    let pushed = s
        .record_push(
            e,
            adele.id,
            &PushOutcome {
                push_state: PushState::InSync,
                last_error: None,
                observed: Some(observed.clone()),
            },
            Some(&audit("calling.enable")),
        )
        .await
        .unwrap();
    assert_eq!(pushed.push_state, PushState::InSync);
    assert_eq!(
        s.get_pbx_user(e, adele.id).await.unwrap().observed,
        Some(observed.clone())
    );
    let counts = s.user_counts(e).await.unwrap();
    assert_eq!((counts.calling_enabled, counts.pending), (1, 0));
    // A push on its way counts as pending, and calling is not enabled until Microsoft holds it.
    for state in [PushState::InProgress, PushState::Propagating] {
        let outcome = PushOutcome {
            push_state: state,
            last_error: None,
            observed: None,
        };
        s.record_push(e, adele.id, &outcome, None).await.unwrap();
        let counts = s.user_counts(e).await.unwrap();
        assert_eq!(
            (counts.calling_enabled, counts.pending),
            (0, 1),
            "{state:?}"
        );
    }
    let pushed = s
        .record_push(
            e,
            adele.id,
            &PushOutcome {
                push_state: PushState::InSync,
                last_error: None,
                observed: Some(observed.clone()),
            },
            None,
        )
        .await
        .unwrap();

    // Edit with the version read: accepted, becomes pending. With an old version: stale.
    let mut spec = adele.spec.clone();
    spec.voice_route_id = t.west.id;
    let edited = s
        .update_pbx_user(
            e,
            adele.id,
            pushed.version,
            &spec,
            &audit("pbx_user.update"),
        )
        .await
        .unwrap();
    assert_eq!(edited.push_state, PushState::Pending);
    assert_eq!(edited.version, pushed.version + 1);
    let err = s
        .update_pbx_user(
            e,
            adele.id,
            pushed.version,
            &spec,
            &audit("pbx_user.update"),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Stale { .. }), "{err}");

    // A failed push keeps the last observed state and records the error.
    let failed = s
        .record_push(
            e,
            adele.id,
            &PushOutcome {
                push_state: PushState::Failed,
                last_error: Some("no Teams Phone licence".into()),
                observed: None,
            },
            None,
        )
        .await
        .unwrap();
    assert_eq!(failed.last_error.as_deref(), Some("no Teams Phone licence"));
    let counts = s.user_counts(e).await.unwrap();
    assert_eq!(
        (counts.calling_enabled, counts.failed, counts.pending),
        (0, 1, 0),
        "a failed user is not counted as calling enabled"
    );
    assert_eq!(
        s.get_pbx_user(e, adele.id).await.unwrap().observed,
        Some(observed)
    );
    assert_eq!(
        ids(&s
            .pbx_users_in_push_states(e, &[PushState::Failed])
            .await
            .unwrap()),
        vec![adele.id.0]
    );

    let off = s
        .set_calling_enabled(e, adele.id, false, &audit("calling.disable"))
        .await
        .unwrap();
    assert!(!off.calling_enabled);
    assert_eq!(off.push_state, PushState::Pending);
    let counts = s.user_counts(e).await.unwrap();
    assert_eq!(
        (counts.active, counts.calling_enabled, counts.pending),
        (1, 0, 1)
    );

    // Another enterprise sees nothing of it.
    let other = tenant(s, "Fabrikam").await;
    assert!(matches!(
        s.get_pbx_user(other.enterprise.id, adele.id).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(
        s.set_calling_enabled(other.enterprise.id, adele.id, true, &audit("x"))
            .await
            .is_err()
    );
}

pub async fn users_page_search_tabs_and_paging(h: Arc<Harness>) {
    let s = &h.store;
    let t = tenant(s, "Contoso").await;
    let e = t.enterprise.id;
    let people: Vec<(String, String)> = (0..30)
        .map(|i| (format!("user{i:02}"), format!("Person {i:02}")))
        .collect();
    let refs: Vec<(&str, &str)> = people
        .iter()
        .map(|(k, n)| (k.as_str(), n.as_str()))
        .collect();
    synced(&h, &t, &refs).await;
    for (i, (key, _)) in people.iter().enumerate() {
        let mut u = new_user(&t, key, &format!("{}", 2000 + i));
        if i == 7 {
            u.spec.tag = Some("Front Desk".into());
        }
        s.create_pbx_user(&u, &audit("pbx_user.create"))
            .await
            .unwrap();
    }
    let q = |search: Option<&str>, tab, offset| PbxUserQuery {
        tab,
        search: search.map(Into::into),
        limit: 10,
        offset,
        ..Default::default()
    };
    let page = s
        .list_pbx_users(e, &q(None, UserTab::Licensed, 0))
        .await
        .unwrap();
    assert_eq!((page.total, page.items.len()), (30, 10));
    assert_eq!(page.items[0].display_name, "Person 00");
    assert_eq!(page.items[0].voice_route_name, "US East 2");
    assert_eq!(page.items[0].sip_domain, "contoso");
    let page3 = s
        .list_pbx_users(e, &q(None, UserTab::Licensed, 20))
        .await
        .unwrap();
    assert_eq!(page3.items[0].display_name, "Person 20");
    for (search, expect) in [
        ("person 1", 10),
        ("USER05@", 1),
        ("2007", 1),
        ("+12003", 1),
        ("front", 1),
        ("%", 0),
    ] {
        let page = s
            .list_pbx_users(
                e,
                &PbxUserQuery {
                    search: Some(search.into()),
                    limit: 50,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(page.total, expect, "search {search:?}");
    }
    // A first page that is not full is the whole result; a full one is counted: a search
    // matching exactly a page, and one matching more.
    for (search, limit, expect) in [
        ("person 1", 10, 10),
        ("person 1", 9, 10),
        ("person", 10, 30),
    ] {
        let page = s
            .list_pbx_users(
                e,
                &PbxUserQuery {
                    search: Some(search.into()),
                    limit,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(
            (page.total, page.items.len()),
            (expect, expect.min(u64::from(limit)) as usize),
            "search {search:?} with {limit} a page"
        );
    }
    // Filters by where calling stands: all are pending; one fails, one has calling off.
    let failing = page.items[1].user.id;
    let off = page.items[2].user.id;
    s.record_push(
        e,
        failing,
        &PushOutcome {
            push_state: PushState::Failed,
            last_error: Some("no licence".into()),
            observed: None,
        },
        None,
    )
    .await
    .unwrap();
    s.set_calling_enabled(e, off, false, &audit("calling.disable"))
        .await
        .unwrap();
    for (filter, expect) in [
        (UserFilter::Failed, vec![failing]),
        (UserFilter::CallingOff, vec![off]),
        (UserFilter::Drift, vec![]),
    ] {
        let page = s
            .list_pbx_users(
                e,
                &PbxUserQuery {
                    filter: Some(filter),
                    limit: 50,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let got: Vec<_> = page.items.iter().map(|i| i.user.id).collect();
        assert_eq!(
            (got, page.total),
            (expect.clone(), expect.len() as u64),
            "{filter:?}"
        );
    }
    let pending = PbxUserQuery {
        filter: Some(UserFilter::Pending),
        search: Some("person 0".into()),
        limit: 50,
        ..Default::default()
    };
    assert_eq!(s.list_pbx_users(e, &pending).await.unwrap().total, 9);
    // By voice route, and sorted by any column (ties by id, so pages never overlap).
    for (route, expect) in [(t.east.id, 30), (t.west.id, 0)] {
        let q = PbxUserQuery {
            voice_route: Some(route),
            limit: 50,
            ..Default::default()
        };
        assert_eq!(s.list_pbx_users(e, &q).await.unwrap().total, expect);
    }
    let sorted = |sort, descending, offset| PbxUserQuery {
        sort,
        descending,
        limit: 10,
        offset,
        ..Default::default()
    };
    let first = s
        .list_pbx_users(e, &sorted(UserSort::Extension, true, 0))
        .await
        .unwrap();
    assert_eq!(first.items[0].user.spec.sip_user.as_str(), "2029");
    let mut seen = std::collections::HashSet::new();
    for offset in [0, 10, 20] {
        for sort in [UserSort::Number, UserSort::Calling, UserSort::VoiceRoute] {
            let page = s
                .list_pbx_users(e, &sorted(sort, false, offset))
                .await
                .unwrap();
            assert_eq!(page.items.len(), 10, "{sort:?}");
            if sort == UserSort::Calling {
                seen.extend(page.items.iter().map(|i| i.user.id));
            }
        }
    }
    assert_eq!(seen.len(), 30, "paging a sorted list shows every user once");
    // A page in the back half is read from the end: any page is the same slice of the whole
    // list, a short last page included, with or without a search.
    for search in [None, Some("person")] {
        for sort in [UserSort::Name, UserSort::Extension, UserSort::Number] {
            for descending in [false, true] {
                let of = |offset, limit| PbxUserQuery {
                    search: search.map(str::to_owned),
                    sort,
                    descending,
                    limit,
                    offset,
                    ..Default::default()
                };
                let all: Vec<_> = s
                    .list_pbx_users(e, &of(0, 50))
                    .await
                    .unwrap()
                    .items
                    .iter()
                    .map(|i| i.user.id)
                    .collect();
                assert_eq!(all.len(), 30, "{search:?} {sort:?}");
                for (offset, limit) in [(14, 10), (16, 10), (25, 10), (29, 1), (30, 10), (40, 10)] {
                    let page = s.list_pbx_users(e, &of(offset, limit)).await.unwrap();
                    let got: Vec<_> = page.items.iter().map(|i| i.user.id).collect();
                    let from = (offset as usize).min(30);
                    let to = (from + limit as usize).min(30);
                    assert_eq!(
                        (got, page.total),
                        (all[from..to].to_vec(), 30),
                        "{search:?} {sort:?} desc={descending} offset {offset}"
                    );
                }
            }
        }
    }
    let first = page.items[0].user.id;
    s.set_pbx_user_state(e, first, PbxUserState::Disabled, &audit("pbx_user.disable"))
        .await
        .unwrap();
    assert_eq!(
        s.list_pbx_users(e, &q(None, UserTab::Disabled, 0))
            .await
            .unwrap()
            .total,
        1
    );
    assert_eq!(
        s.list_pbx_users(e, &q(None, UserTab::Licensed, 0))
            .await
            .unwrap()
            .total,
        29
    );
    s.delete_pbx_user(e, first, &audit("pbx_user.delete"))
        .await
        .unwrap();
    assert_eq!(s.tab_counts(e).await.unwrap(), [29, 0, 1]);
    assert_eq!(
        s.list_pbx_users(e, &q(None, UserTab::Deleted, 0))
            .await
            .unwrap()
            .total,
        1
    );
}

/// The push journal: kept per user, never visible from another enterprise.
pub async fn push_journal_is_kept_per_user(h: Arc<Harness>) {
    let s = &h.store;
    let t = tenant(s, "Contoso").await;
    let other = tenant(s, "Fabrikam").await.enterprise.id;
    let e = t.enterprise.id;
    synced(&h, &t, &[("adele", "Adele Vance")]).await;
    let user = s
        .create_pbx_user(&new_user(&t, "adele", "1000"), &audit("pbx_user.create"))
        .await
        .unwrap();
    assert_eq!(s.push_journal(e, user.id).await.unwrap(), None);
    s.set_push_journal(e, user.id, Some(r#"{"sent":[1]}"#))
        .await
        .unwrap();
    assert_eq!(
        s.push_journal(e, user.id).await.unwrap().as_deref(),
        Some(r#"{"sent":[1]}"#)
    );
    assert!(matches!(
        s.push_journal(other, user.id).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(s.set_push_journal(other, user.id, None).await.is_err());
    s.set_push_journal(e, user.id, None).await.unwrap();
    assert_eq!(s.push_journal(e, user.id).await.unwrap(), None);
}

pub async fn pbx_user_move_releases_and_replaces(h: Arc<Harness>) {
    let s = &h.store;
    let t = tenant(s, "Contoso").await;
    let e = t.enterprise.id;
    synced(
        &h,
        &t,
        &[("AdeleV", "Adele Vance"), ("AlexW", "Alex Wilber")],
    )
    .await;
    let adele = s
        .create_pbx_user(&new_user(&t, "AdeleV", "1000"), &audit("pbx_user.create"))
        .await
        .unwrap();

    // Edit cannot re-pair: the Teams user is fixed.
    let mut alex_spec = adele.spec.clone();
    alex_spec.teams_user_object_id = new_user(&t, "AlexW", "1000").spec.teams_user_object_id;
    alex_spec.device_creation = Some(teamline_domain::pbx_user::DeviceCreation {
        emergency_address_id: Some("ea-hq".into()),
    });
    let err = s
        .update_pbx_user(
            e,
            adele.id,
            adele.version,
            &alex_spec,
            &audit("pbx_user.update"),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Conflict {
                field: "Teams User",
                ..
            }
        ),
        "{err}"
    );

    // Moving with a stale version is refused and changes nothing.
    let err = s
        .move_pbx_user(
            e,
            adele.id,
            adele.version + 1,
            &alex_spec,
            &audit("pbx_user.move"),
            &audit("pbx_user.create"),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Stale { .. }), "{err}");

    let (released, alex) = s
        .move_pbx_user(
            e,
            adele.id,
            adele.version,
            &alex_spec,
            &audit("pbx_user.move"),
            &audit("pbx_user.create"),
        )
        .await
        .unwrap();
    assert_eq!(released.state, PbxUserState::Deleted);
    assert_eq!(released.push_state, PushState::Pending);
    assert_eq!(alex.state, PbxUserState::Active);
    assert_eq!(alex.replaces, Some(adele.id));
    assert_eq!(alex.spec.device_creation, alex_spec.device_creation);
    assert_eq!(alex.spec.sip_user.as_str(), "1000");
    let holder = s
        .holder_of_extension(t.location.id, &Extension::parse("1000").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(holder.display_name, "Alex Wilber");
    // One event for each side of the move.
    let actions: Vec<String> = s
        .list_audit(Some(e), 10)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.action)
        .collect();
    assert_eq!(&actions[..2], ["pbx_user.create", "pbx_user.move"]);
    // A deleted user has nothing left to move.
    let mut again = alex_spec.clone();
    again.teams_user_object_id = adele.spec.teams_user_object_id.clone();
    assert!(
        s.move_pbx_user(
            e,
            adele.id,
            released.version,
            &again,
            &audit("x"),
            &audit("y")
        )
        .await
        .is_err()
    );
}

/// The Users page's search and totals follow every change: a rename in the directory, an
/// edited extension or tag, a user whose Teams user is synced only after the pairing, a
/// disabled and a deleted user. Searches find any part of a name, UPN, extension or number,
/// in any case, however short, and take `%`, `_` and quotes literally.
pub async fn users_page_search_follows_changes(h: Arc<Harness>) {
    let s = &h.store;
    let t = tenant(s, "Contoso").await;
    let e = t.enterprise.id;
    synced(
        &h,
        &t,
        &[("AdeleV", "Adele Vance"), ("AlexW", "Alex Wilber")],
    )
    .await;
    let adele = s
        .create_pbx_user(&new_user(&t, "AdeleV", "1000"), &audit("pbx_user.create"))
        .await
        .unwrap();
    let alex = s
        .create_pbx_user(&new_user(&t, "AlexW", "1001"), &audit("pbx_user.create"))
        .await
        .unwrap();
    // Paired before the directory sync brought the Teams user in.
    let grady = s
        .create_pbx_user(&new_user(&t, "GradyA", "1003"), &audit("pbx_user.create"))
        .await
        .unwrap();
    let found = |search: &'static str| {
        let s = s.clone();
        async move {
            let page = s
                .list_pbx_users(
                    e,
                    &PbxUserQuery {
                        search: Some(search.into()),
                        limit: 50,
                        ..Default::default()
                    },
                )
                .await
                .unwrap();
            let mut ids: Vec<_> = page.items.iter().map(|i| i.user.id).collect();
            ids.sort();
            assert_eq!(page.total, ids.len() as u64, "total of {search:?}");
            ids
        }
    };
    assert_eq!(found("dele").await, vec![adele.id]);
    assert_eq!(found("VANCE").await, vec![adele.id]);
    assert_eq!(
        found("vance adelev").await,
        vec![],
        "fields are searched one by one"
    );
    assert_eq!(found("al").await, vec![alex.id], "two letters");
    assert_eq!(
        found("0").await,
        vec![adele.id, alex.id, grady.id],
        "one digit"
    );
    assert_eq!(found("001").await, vec![alex.id]);
    assert_eq!(found("gradya").await, vec![], "no Teams user yet");
    for literal in ["%", "_", "\"", "a%e", "\"adele\""] {
        assert_eq!(found(literal).await, vec![], "{literal:?}");
    }

    synced(
        &h,
        &t,
        &[
            ("AdeleV", "Adele Kowalski"),
            ("AlexW", "Alex Wilber"),
            ("GradyA", "Grady Archie"),
        ],
    )
    .await;
    assert_eq!(found("vance").await, vec![]);
    assert_eq!(found("kowal").await, vec![adele.id]);
    assert_eq!(found("archie").await, vec![grady.id]);
    assert_eq!(found("gradya@contoso").await, vec![grady.id]);
    let by_name = s
        .list_pbx_users(
            e,
            &PbxUserQuery {
                limit: 50,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let names: Vec<_> = by_name
        .items
        .iter()
        .map(|i| i.display_name.as_str())
        .collect();
    assert_eq!(names, ["Adele Kowalski", "Alex Wilber", "Grady Archie"]);

    let mut spec = alex.spec.clone();
    spec.sip_user = Extension::parse("1234").unwrap();
    spec.tag = Some("Front Desk".into());
    s.update_pbx_user(e, alex.id, alex.version, &spec, &audit("pbx_user.update"))
        .await
        .unwrap();
    assert_eq!(found("1234").await, vec![alex.id]);
    assert_eq!(found("desk").await, vec![alex.id]);

    s.set_pbx_user_state(
        e,
        grady.id,
        PbxUserState::Disabled,
        &audit("pbx_user.disable"),
    )
    .await
    .unwrap();
    assert_eq!(s.tab_counts(e).await.unwrap(), [2, 1, 0]);
    assert_eq!(found("archie").await, vec![], "the Licensed tab only");
    s.delete_pbx_user(e, grady.id, &audit("pbx_user.delete"))
        .await
        .unwrap();
    assert_eq!(s.tab_counts(e).await.unwrap(), [2, 0, 1]);
    let counts = s.user_counts(e).await.unwrap();
    assert_eq!((counts.active, counts.disabled, counts.deleted), (2, 0, 1));
}

pub async fn users_page_keyset_paging_survives_inserts(h: Arc<Harness>) {
    let s = &h.store;
    let t = tenant(s, "Contoso").await;
    let e = t.enterprise.id;
    // Names with ties (the id breaks them), extensions of two lengths, two added later.
    let people: Vec<(String, String)> = (0..23)
        .map(|i| (format!("user{i:02}"), format!("Person {:02}", i % 9)))
        .chain([
            ("early".to_owned(), "Aaron Early".to_owned()),
            ("late".to_owned(), "Zoe Late".to_owned()),
        ])
        .collect();
    let refs: Vec<(&str, &str)> = people
        .iter()
        .map(|(k, n)| (k.as_str(), n.as_str()))
        .collect();
    synced(&h, &t, &refs).await;
    for i in 0..23 {
        let ext = if i % 4 == 0 { 900 + i } else { 2000 + i };
        let u = s
            .create_pbx_user(
                &new_user(&t, &format!("user{i:02}"), &ext.to_string()),
                &audit("pbx_user.create"),
            )
            .await
            .unwrap();
        if i % 3 == 0 {
            s.set_calling_enabled(e, u.id, false, &audit("calling.disable"))
                .await
                .unwrap();
        }
    }
    let query = |sort, descending, search: Option<&str>, limit, cursor| PbxUserQuery {
        sort,
        descending,
        search: search.map(Into::into),
        limit,
        cursor,
        ..Default::default()
    };
    let ids =
        |page: &Page<PbxUserListItem>| page.items.iter().map(|i| i.user.id).collect::<Vec<_>>();
    // Walking every sort, both ways, 5 rows a page, shows the whole list in its order.
    for sort in [
        UserSort::Name,
        UserSort::Extension,
        UserSort::Number,
        UserSort::VoiceRoute,
        UserSort::Calling,
    ] {
        for descending in [false, true] {
            for search in [None, Some("person 0")] {
                let all = s
                    .list_pbx_users(e, &query(sort, descending, search, 100, None))
                    .await
                    .unwrap();
                let mut walked = Vec::new();
                let mut pages = Vec::new();
                let mut cursor = None;
                loop {
                    let page = s
                        .list_pbx_users(e, &query(sort, descending, search, 5, cursor))
                        .await
                        .unwrap();
                    assert_eq!(page.total, all.total, "{sort:?} {descending} {search:?}");
                    let Some(last) = page.items.last() else { break };
                    cursor = Some(UserCursor::After(last.user.id));
                    walked.extend(ids(&page));
                    pages.push(ids(&page));
                }
                assert_eq!(walked, ids(&all), "{sort:?} {descending} {search:?}");
                // Back from the last page, one page at a time, to the first.
                for w in pages.windows(2).rev() {
                    let back = s
                        .list_pbx_users(
                            e,
                            &query(
                                sort,
                                descending,
                                search,
                                5,
                                Some(UserCursor::Before(w[1][0])),
                            ),
                        )
                        .await
                        .unwrap();
                    assert_eq!(ids(&back), w[0], "{sort:?} {descending} {search:?} back");
                }
            }
        }
    }
    // Users added while an admin pages through: nothing shown twice, nothing skipped; the
    // one added ahead of the cursor appears on a later page.
    let first = s
        .list_pbx_users(e, &query(UserSort::Name, false, None, 5, None))
        .await
        .unwrap();
    let mut seen = ids(&first);
    let mut cursor = first.items.last().map(|i| UserCursor::After(i.user.id));
    let early = s
        .create_pbx_user(&new_user(&t, "early", "3001"), &audit("pbx_user.create"))
        .await
        .unwrap();
    let late = s
        .create_pbx_user(&new_user(&t, "late", "3002"), &audit("pbx_user.create"))
        .await
        .unwrap();
    loop {
        let page = s
            .list_pbx_users(e, &query(UserSort::Name, false, None, 5, cursor))
            .await
            .unwrap();
        let Some(last) = page.items.last() else { break };
        cursor = Some(UserCursor::After(last.user.id));
        seen.extend(ids(&page));
    }
    let unique: std::collections::HashSet<_> = seen.iter().copied().collect();
    assert_eq!(unique.len(), seen.len(), "a row shown twice");
    assert_eq!(seen.len(), 24, "the 23 first users and the one added ahead");
    assert!(seen.contains(&late.id) && !seen.contains(&early.id));
    assert_eq!(seen.last(), Some(&late.id));
    // Another enterprise's cursor gives an empty page, not its neighbours.
    let other = tenant(s, "Fabrikam").await;
    let page = s
        .list_pbx_users(
            other.enterprise.id,
            &query(
                UserSort::Name,
                false,
                None,
                5,
                Some(UserCursor::After(late.id)),
            ),
        )
        .await
        .unwrap();
    assert!(page.items.is_empty());
}
