//! The Audit log beyond its latest events: filters by text, actor, action, object and date
//! range, and cursor paging both ways through more events than one page holds.

use crate::Harness;
use crate::fixtures::*;
use std::sync::Arc;
use teamline_domain::audit::Actor;
use teamline_domain::ids::{AuditEventId, EnterpriseId};
use teamline_store::*;

fn record(
    enterprise: EnterpriseId,
    actor: &Actor,
    action: &str,
    summary: String,
    object_id: String,
) -> AuditRecord {
    AuditRecord {
        enterprise_id: Some(enterprise),
        actor: actor.clone(),
        action: action.into(),
        summary,
        object_type: "pbx_user".into(),
        object_id: Some(object_id),
        before: None,
        after: None,
    }
}

/// Every page of `query`, following the Older cursor, as the events' ids.
async fn all_pages(s: &Arc<dyn Store>, e: EnterpriseId, query: AuditQuery) -> Vec<AuditEventId> {
    let mut ids = Vec::new();
    let mut query = query;
    loop {
        let page = s.search_audit(e, &query).await.unwrap();
        let Some(last) = page.last() else { break };
        query.cursor = Some(AuditCursor::Older {
            at_ms: last.at_ms,
            id: last.id,
        });
        ids.extend(page.iter().map(|e| e.id));
    }
    ids
}

pub async fn audit_log_filters_and_pages_past_one_page(h: Arc<Harness>) {
    let s = &h.store;
    let contoso = tenant(s, "Contoso").await;
    let fabrikam = tenant(s, "Fabrikam").await;
    let e = contoso.enterprise.id;
    let admin = Actor::EnterpriseAdmin("admin@contoso.example".into());
    let job = Actor::Job("push_teams".into());
    // 1 200 events, two per millisecond step of a minute, alternating actors and actions; a
    // Fabrikam event among them that no Contoso query may return.
    let start = h.clock.now_ms();
    for i in 0..1200 {
        let (actor, action) = if i % 2 == 0 {
            (&admin, "pbx_user.update")
        } else {
            (&job, "teams.in_sync")
        };
        let summary = format!("Change {i} of user {}", i % 10);
        s.record_audit(&record(e, actor, action, summary, (i % 10).to_string()))
            .await
            .unwrap();
        if i % 2 == 1 {
            h.clock.advance_ms(60_000);
        }
    }
    s.record_audit(&record(
        fabrikam.enterprise.id,
        &admin,
        "pbx_user.update",
        "Fabrikam change".into(),
        "1".into(),
    ))
    .await
    .unwrap();
    let contoso_only = |q: AuditQuery| AuditQuery { limit: 500, ..q };

    // All of them (and the fixture's own), newest first, in three pages; none twice, none of
    // Fabrikam's.
    let mine: Vec<AuditEventId> = s
        .list_audit(Some(e), 5000)
        .await
        .unwrap()
        .iter()
        .map(|ev| ev.id)
        .collect();
    let paged = all_pages(s, e, contoso_only(AuditQuery::default())).await;
    assert!(paged.len() > 1200);
    assert_eq!(paged, mine, "pages follow each other in order");

    // By actor and by action.
    let by_job = all_pages(
        s,
        e,
        contoso_only(AuditQuery {
            actor: Some(job.clone()),
            ..Default::default()
        }),
    )
    .await;
    assert_eq!(by_job.len(), 600);
    let updates = s
        .search_audit(
            e,
            &AuditQuery {
                action: Some("pbx_user.update".into()),
                limit: 1000,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(updates.len(), 600);
    assert!(updates.iter().all(|ev| ev.actor == admin));

    // Text (case-insensitive, `_` and `%` taken literally), objects, and an empty object list.
    let text = |t: &str| AuditQuery {
        text: Some(t.into()),
        limit: 2000,
        ..Default::default()
    };
    let of_user_7 = s.search_audit(e, &text("OF USER 7")).await.unwrap();
    assert_eq!(of_user_7.len(), 120);
    assert!(s.search_audit(e, &text("user_7")).await.unwrap().is_empty());
    let objects = s
        .search_audit(
            e,
            &AuditQuery {
                objects: Some(("pbx_user".into(), vec!["3".into(), "4".into()])),
                limit: 2000,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(objects.len(), 240);
    let none = s
        .search_audit(
            e,
            &AuditQuery {
                objects: Some(("pbx_user".into(), vec![])),
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(none.is_empty());

    // A date range: the 10 minutes from minute 100, i.e. 20 events.
    let from = start + 100 * 60_000;
    let ranged = s
        .search_audit(
            e,
            &AuditQuery {
                from_ms: Some(from),
                until_ms: Some(from + 10 * 60_000),
                limit: 100,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(ranged.len(), 20);
    assert!(
        ranged
            .iter()
            .all(|ev| ev.at_ms >= from && ev.at_ms < from + 600_000)
    );

    // Back one page: the Newer cursor from the second page gives the first page again,
    // newest first.
    let first = s
        .search_audit(e, &contoso_only(AuditQuery::default()))
        .await
        .unwrap();
    let last = first.last().unwrap();
    let second = s
        .search_audit(
            e,
            &AuditQuery {
                cursor: Some(AuditCursor::Older {
                    at_ms: last.at_ms,
                    id: last.id,
                }),
                limit: 500,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let top = &second[0];
    let back = s
        .search_audit(
            e,
            &AuditQuery {
                cursor: Some(AuditCursor::Newer {
                    at_ms: top.at_ms,
                    id: top.id,
                }),
                limit: 500,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(back, first);

    // The filters offer who and what appears, once each.
    let facets = s.audit_facets(e).await.unwrap();
    let count = |a: &Actor| facets.actors.iter().filter(|x| *x == a).count();
    assert_eq!((count(&job), count(&admin)), (1, 1));
    let count = |a: &str| facets.actions.iter().filter(|x| *x == a).count();
    assert_eq!((count("pbx_user.update"), count("teams.in_sync")), (1, 1));
    assert!(facets.actions.is_sorted());
}
