//! The stories every Store backend must pass.

use crate::fixtures::*;
use crate::{Harness, keyring};
use std::collections::HashSet;
use std::sync::Arc;
use teamline_domain::device::{DeviceAuthId, SipPassword};
use teamline_domain::enterprise::{ConsentKind, EnterpriseState, TenantId};
use teamline_domain::ids::*;
use teamline_domain::job::JobState;
use teamline_domain::pbx_user::{PbxUserState, PushState};
use teamline_domain::phone::PhoneNumber;
use teamline_domain::sip::Extension;
use teamline_domain::teams_user::PlanState;
use teamline_domain::teams_voice::ObservedVoice;
use teamline_store::*;

const CONTOSO_TENANT: &str = "6d1b3f6e-4c1a-4f5e-9a53-2a1f0c0b7e11";

pub async fn enterprises_register_and_consent(h: Arc<Harness>) {
    let s = &h.store;
    let t = tenant(s, "Contoso").await;
    let e = &t.enterprise;
    assert_eq!(e.state, EnterpriseState::Invited);
    assert_eq!(e.slug.as_str(), "contoso");
    assert_eq!(e.sbc_regions.len(), 2);
    assert!(!e.consent(ConsentKind::UserSync));

    let tenant_id = TenantId::parse(CONTOSO_TENANT).unwrap();
    let e = s
        .register_enterprise(e.id, &tenant_id, &audit("enterprise.register"))
        .await
        .unwrap();
    assert_eq!(e.state, EnterpriseState::Registered);
    let change = ConsentChange {
        kind: ConsentKind::UserSync,
        granted: true,
        by: Some("admin@contoso.example".into()),
    };
    let e = s
        .set_consent(e.id, &change, &audit("consent.grant"))
        .await
        .unwrap();
    assert!(e.consent(ConsentKind::UserSync));
    assert!(!e.consent(ConsentKind::Management));

    assert_eq!(
        s.enterprise_by_tenant(&tenant_id)
            .await
            .unwrap()
            .unwrap()
            .id,
        e.id
    );
    assert_eq!(
        s.enterprise_by_slug("contoso").await.unwrap().unwrap().id,
        e.id
    );
    assert!(s.enterprise_by_slug("fabrikam").await.unwrap().is_none());
    assert_eq!(
        s.list_enterprises(Some(e.reseller_id)).await.unwrap().len(),
        1
    );
    assert_eq!(
        s.list_enterprises(Some(ResellerId(e.reseller_id.0 + 99)))
            .await
            .unwrap()
            .len(),
        0
    );

    // A second enterprise cannot claim the same tenant or name.
    let other = tenant(s, "Fabrikam").await;
    let err = s
        .register_enterprise(
            other.enterprise.id,
            &tenant_id,
            &audit("enterprise.register"),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Conflict {
                field: "Microsoft Tenant",
                ..
            }
        ),
        "{err}"
    );
    let reseller = s
        .reseller_by_name("Northwind Voice")
        .await
        .unwrap()
        .unwrap();
    let form = teamline_domain::enterprise::EnterpriseForm {
        name: "Contoso".into(),
        global_admin_email: "x@contoso.example".into(),
        ..Default::default()
    };
    let err = s
        .create_enterprise(
            reseller.id,
            &form.validate(&[]).unwrap(),
            &audit("enterprise.create"),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("already exists"), "{err}");

    // Every change was audited with before and after.
    let events = s.list_audit(Some(e.id), 50).await.unwrap();
    let consent = events
        .iter()
        .find(|ev| ev.action == "consent.grant")
        .unwrap();
    assert!(
        consent
            .before
            .as_deref()
            .unwrap()
            .contains("\"consents\":[]")
    );
    assert!(consent.after.as_deref().unwrap().contains("user_sync"));
}

pub async fn pbx_location_secrets_are_encrypted_and_write_only(h: Arc<Harness>) {
    let s = &h.store;
    let t = tenant(s, "Contoso").await;
    let e = t.enterprise.id;
    assert_eq!(
        api_key_of(&s.pbx_location_auth(e, t.location.id).await.unwrap()),
        API_KEY
    );
    assert!(!format!("{:?}", t.location).contains(API_KEY));

    // Editing without a new key keeps the stored one.
    let mut form = location_form();
    form.api_key = String::new();
    form.voicemail_code = "*97".into();
    let updated = s
        .update_pbx_location(
            e,
            t.location.id,
            &form.validate(true).unwrap(),
            &audit("pbx_location.update"),
        )
        .await
        .unwrap();
    assert_eq!(updated.settings.voicemail_code.as_str(), "*97");
    assert_eq!(
        api_key_of(&s.pbx_location_auth(e, t.location.id).await.unwrap()),
        API_KEY
    );

    // A device handle's SIP password too.
    let password = SipPassword::parse("Zq7wK2mP9xR4").unwrap();
    let handle = s
        .upsert_device_handle(
            &NewDeviceHandle {
                enterprise_id: e,
                pbx_location_id: t.location.id,
                extension: Extension::parse("1000").unwrap(),
                auth_id: DeviceAuthId::parse("1000tm").unwrap(),
                password: password.clone(),
                created_by_teamline: false,
            },
            &audit("device.store"),
        )
        .await
        .unwrap();
    assert_eq!(
        s.device_handle_password(e, handle.id).await.unwrap(),
        password
    );

    let raw = h.raw_dump().await;
    for secret in [API_KEY, "Zq7wK2mP9xR4"] {
        assert!(
            !raw.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "{secret} found in clear in the {} database",
            s.backend()
        );
    }
    // The audit log says the location changed without recording any secret.
    let events = s.list_audit(Some(e), 50).await.unwrap();
    assert!(
        events
            .iter()
            .all(|ev| !ev.after.clone().unwrap_or_default().contains(API_KEY))
    );

    // Another enterprise cannot read this location or its secrets.
    let other = tenant(s, "Fabrikam").await;
    assert!(matches!(
        s.pbx_location_auth(other.enterprise.id, t.location.id)
            .await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        s.get_pbx_location(other.enterprise.id, t.location.id).await,
        Err(StoreError::NotFound { .. })
    ));
}

pub async fn key_rotation_reencrypts_secrets(h: Arc<Harness>) {
    // Write with key 1, then rotate to key 2 keeping 1 as previous.
    let old = h.reopen(keyring(1, &[])).await;
    let t = tenant(&old, "Contoso").await;
    let rotated = h.reopen(keyring(2, &[1])).await;
    assert_eq!(
        api_key_of(
            &rotated
                .pbx_location_auth(t.enterprise.id, t.location.id)
                .await
                .unwrap()
        ),
        API_KEY
    );
    assert_eq!(rotated.reencrypt_secrets().await.unwrap(), 1);
    assert_eq!(
        rotated.reencrypt_secrets().await.unwrap(),
        0,
        "nothing left to rewrite"
    );
    let new_only = h.reopen(keyring(2, &[])).await;
    assert_eq!(
        api_key_of(
            &new_only
                .pbx_location_auth(t.enterprise.id, t.location.id)
                .await
                .unwrap()
        ),
        API_KEY
    );
    // Without the right key the error says what to do.
    let wrong = h.reopen(keyring(3, &[])).await;
    let err = wrong
        .pbx_location_auth(t.enterprise.id, t.location.id)
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("TEAMLINE_PREVIOUS_ENCRYPTION_KEYS"),
        "{err}"
    );
}

async fn synced(h: &Harness, t: &Tenant, users: &[(&str, &str)]) {
    let upserts: Vec<_> = users.iter().map(|(k, n)| teams_user(k, n)).collect();
    h.store
        .upsert_teams_users(t.enterprise.id, &upserts)
        .await
        .unwrap();
}

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
    assert_eq!(
        s.list_pbx_users(e, &q(None, UserTab::Deleted, 0))
            .await
            .unwrap()
            .total,
        1
    );
}

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
        s.record_sync_run(e, &run, 3).await.unwrap();
    }
    let runs = s.list_sync_runs(e, 10).await.unwrap();
    let starts: Vec<i64> = runs.iter().map(|r| r.started_ms).collect();
    assert_eq!(starts, vec![4000, 3000, 2000], "newest first, three kept");
    assert_eq!(runs[0].report, "{\"run\":4}");
    assert!(s.list_sync_runs(other, 10).await.unwrap().is_empty());
}

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

pub async fn sessions_expire(h: Arc<Harness>) {
    let s = &h.store;
    let now = h.clock.now_ms();
    s.save_session(&SessionRecord {
        id: "abc".into(),
        data: "{\"u\":1}".into(),
        expiry_ms: now + 1_000,
    })
    .await
    .unwrap();
    s.save_session(&SessionRecord {
        id: "abc".into(),
        data: "{\"u\":2}".into(),
        expiry_ms: now + 2_000,
    })
    .await
    .unwrap();
    assert_eq!(
        s.load_session("abc").await.unwrap().unwrap().data,
        "{\"u\":2}"
    );
    h.clock.advance_ms(2_000);
    assert!(s.load_session("abc").await.unwrap().is_none());
    assert_eq!(s.delete_expired_sessions().await.unwrap(), 1);
    s.save_session(&SessionRecord {
        id: "def".into(),
        data: "{}".into(),
        expiry_ms: now + 10_000,
    })
    .await
    .unwrap();
    s.delete_session("def").await.unwrap();
    assert!(s.load_session("def").await.unwrap().is_none());
}

pub async fn health_and_accounts(h: Arc<Harness>) {
    let s = &h.store;
    s.ping().await.unwrap();
    let t = tenant(s, "Contoso").await;
    let email = teamline_domain::text::Email::parse("e", "Reseller@Northwind.example").unwrap();
    let account = s
        .create_account(
            &NewAccount {
                email,
                role: teamline_domain::reseller::AccountRole::ResellerAdmin,
                reseller_id: Some(t.enterprise.reseller_id),
                password_hash: "$argon2id$v=19$x".into(),
            },
            &audit("account.create"),
        )
        .await
        .unwrap();
    assert_eq!(
        s.account_by_email("reseller@northwind.EXAMPLE")
            .await
            .unwrap()
            .unwrap()
            .id,
        account.id
    );
    assert!(
        s.account_by_email("nobody@northwind.example")
            .await
            .unwrap()
            .is_none()
    );
    let audit_all = s.list_audit(None, 100).await.unwrap();
    assert!(audit_all.iter().any(|e| e.action == "account.create"));
    assert!(
        audit_all.windows(2).all(|w| w[0].id.0 > w[1].id.0),
        "newest first"
    );
}
