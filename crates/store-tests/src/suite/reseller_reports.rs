//! A reseller's reports: its audit log across its enterprises (and nobody else's), and the
//! billing summary's month boundaries for users and enterprises that came or went mid-month.

use crate::fixtures::*;
use crate::{Harness, T0};
use std::sync::Arc;
use teamline_domain::audit::{Actor, Audit};
use teamline_domain::billing::Month;
use teamline_domain::pbx_user::PbxUserState;
use teamline_domain::reseller::{AccountRole, ResellerForm};
use teamline_domain::text::Email;
use teamline_store::*;

const DAY: i64 = 86_400_000;

fn query() -> AuditQuery {
    AuditQuery {
        limit: 100,
        ..Default::default()
    }
}

pub async fn reseller_audit_log_holds_its_enterprises_and_admins_only(h: Arc<Harness>) {
    let s = &h.store;
    let contoso = tenant(s, "Contoso").await;
    let fabrikam = tenant(s, "Fabrikam").await;
    let northwind = contoso.enterprise.reseller_id;
    let other = s
        .create_reseller(
            &ResellerForm {
                name: "Tailspin Telecom".into(),
                contact_email: "ops@tailspin.example".into(),
                ..Default::default()
            }
            .validate()
            .unwrap(),
            &audit("reseller.create"),
        )
        .await
        .unwrap();
    for (email, reseller) in [
        ("ann@northwind.example", northwind),
        ("tom@tailspin.example", other.id),
    ] {
        s.create_account(
            &NewAccount {
                email: Email::parse("e", email).unwrap(),
                role: AccountRole::ResellerAdmin,
                reseller_id: Some(reseller),
                password_hash: "$argon2id$v=19$x".into(),
            },
            &audit("account.create"),
        )
        .await
        .unwrap();
    }
    let ann = Actor::ResellerAdmin("ann@northwind.example".into());
    let tom = Actor::ResellerAdmin("tom@tailspin.example".into());
    let event = |enterprise, actor: &Actor, action: &str, summary: &str| AuditRecord {
        enterprise_id: enterprise,
        actor: actor.clone(),
        action: action.into(),
        summary: summary.into(),
        object_type: "test".into(),
        object_id: None,
        before: None,
        after: None,
    };
    let contoso_id = contoso.enterprise.id;
    s.record_audit(&event(None, &ann, "admin.sign_in", "Ann signed in"))
        .await
        .unwrap();
    s.record_audit(&event(None, &tom, "admin.sign_in", "Tom signed in"))
        .await
        .unwrap();
    s.record_audit(&event(
        Some(contoso_id),
        &ann,
        "pbx_user.create",
        "Ann set up a user in Contoso",
    ))
    .await
    .unwrap();
    let summaries = |events: Vec<teamline_domain::audit::AuditEvent>| {
        events.into_iter().map(|e| e.summary).collect::<Vec<_>>()
    };

    let all = summaries(
        s.search_reseller_audit(northwind, None, &query())
            .await
            .unwrap(),
    );
    assert!(all.contains(&"Ann signed in".to_owned()));
    assert!(all.contains(&"Ann set up a user in Contoso".to_owned()));
    // What the store wrote for the enterprises themselves (created with their routes).
    assert!(all.iter().any(|s| s == "test voice_route.create"));
    assert!(!all.contains(&"Tom signed in".to_owned()), "{all:?}");

    // One enterprise only: its events, not the admins' own.
    let contoso_only = summaries(
        s.search_reseller_audit(northwind, Some(contoso_id), &query())
            .await
            .unwrap(),
    );
    assert!(contoso_only.contains(&"Ann set up a user in Contoso".to_owned()));
    assert!(!contoso_only.contains(&"Ann signed in".to_owned()));
    // Another reseller asking for Contoso sees nothing of it.
    assert!(
        s.search_reseller_audit(other.id, Some(contoso_id), &query())
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        summaries(
            s.search_reseller_audit(other.id, None, &query())
                .await
                .unwrap()
        ),
        vec!["Tom signed in"]
    );

    // Filters and paging work as in an enterprise's log.
    let by_ann = AuditQuery {
        actor: Some(ann.clone()),
        ..query()
    };
    assert_eq!(
        summaries(
            s.search_reseller_audit(northwind, None, &by_ann)
                .await
                .unwrap()
        ),
        vec!["Ann set up a user in Contoso", "Ann signed in"]
    );
    let first = s
        .search_reseller_audit(
            northwind,
            None,
            &AuditQuery {
                limit: 1,
                ..by_ann.clone()
            },
        )
        .await
        .unwrap();
    let next = s
        .search_reseller_audit(
            northwind,
            None,
            &AuditQuery {
                limit: 1,
                cursor: Some(AuditCursor::Older {
                    at_ms: first[0].at_ms,
                    id: first[0].id,
                }),
                ..by_ann
            },
        )
        .await
        .unwrap();
    assert_eq!(summaries(next), vec!["Ann signed in"]);

    let facets = s.reseller_audit_facets(northwind).await.unwrap();
    assert!(facets.actors.contains(&ann));
    assert!(!facets.actors.contains(&tom));
    assert!(facets.actions.contains(&"pbx_user.create".to_owned()));
    let _ = fabrikam;
}

pub async fn billing_counts_users_configured_in_each_utc_month(h: Arc<Harness>) {
    let s = &h.store;
    // The clock starts at 2026-01-01T00:00Z. Contoso joins on January 1st.
    let contoso = tenant(s, "Contoso").await;
    let reseller = contoso.enterprise.reseller_id;
    let e = contoso.enterprise.id;
    let jan = Month::new(2026, 1).unwrap();
    assert_eq!(jan.start_ms(), T0);
    let ext = |n: u32| format!("{}", 1000 + n);
    let a = Audit::new(Actor::System("test".into()), "pbx_user.create", "set up");
    // Adele: set up on January 10th, kept.
    h.clock.advance_ms(9 * DAY);
    s.create_pbx_user(&new_user(&contoso, "adele", &ext(1)), &a)
        .await
        .unwrap();
    // Bianca: set up on January 31st at 23:59:59.999, deleted in February.
    h.clock.advance_ms(jan.end_ms() - 1 - h.clock.now_ms());
    let bianca = s
        .create_pbx_user(&new_user(&contoso, "bianca", &ext(2)), &a)
        .await
        .unwrap();
    // February 15th: Bianca disabled (still configured), then deleted on the 20th.
    h.clock.advance_ms(14 * DAY + 1);
    s.set_pbx_user_state(e, bianca.id, PbxUserState::Disabled, &a)
        .await
        .unwrap();
    h.clock.advance_ms(5 * DAY);
    s.delete_pbx_user(e, bianca.id, &a).await.unwrap();
    // Fabrikam joins on February 25th and sets a user up on March 1st at midnight.
    h.clock.advance_ms(5 * DAY);
    let fabrikam = tenant(s, "Fabrikam").await;
    let mar = Month::new(2026, 3).unwrap();
    h.clock.advance_ms(mar.start_ms() - h.clock.now_ms());
    s.create_pbx_user(&new_user(&fabrikam, "debra", &ext(3)), &a)
        .await
        .unwrap();
    h.clock.advance_ms(DAY);
    let now = h.clock.now_ms();

    let lines = |m: Month| async move {
        s.billing_summary(reseller, m, now)
            .await
            .unwrap()
            .into_iter()
            .map(|l| (l.enterprise, l.configured_users, l.configured_at_end))
            .collect::<Vec<_>>()
    };
    assert_eq!(lines(jan.previous()).await, vec![]);
    assert_eq!(lines(jan).await, vec![("Contoso".to_owned(), 2, 2)]);
    // Bianca counts in February (configured until the 20th) but not at its end; Fabrikam
    // joined in February with no user yet.
    assert_eq!(
        lines(jan.next()).await,
        vec![("Contoso".to_owned(), 2, 1), ("Fabrikam".to_owned(), 0, 0)]
    );
    // March (the current month): counted up to now.
    assert_eq!(
        lines(mar).await,
        vec![("Contoso".to_owned(), 1, 1), ("Fabrikam".to_owned(), 1, 1)]
    );
    assert_eq!(
        lines(mar.next()).await,
        vec![("Contoso".to_owned(), 1, 1), ("Fabrikam".to_owned(), 1, 1)]
    );
    // Another reseller's summary holds none of these.
    let other = s
        .create_reseller(
            &ResellerForm {
                name: "Tailspin Telecom".into(),
                contact_email: "ops@tailspin.example".into(),
                ..Default::default()
            }
            .validate()
            .unwrap(),
            &audit("reseller.create"),
        )
        .await
        .unwrap();
    assert!(
        s.billing_summary(other.id, jan, now)
            .await
            .unwrap()
            .is_empty()
    );
}
