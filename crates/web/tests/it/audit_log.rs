//! The Audit log as an admin searching it: what changed in a user, in the portal's words;
//! filters by user, who, action and day; paging past one page; the CSV export of the view.

use crate::app::{TestApp, text};
use crate::users::set_up;
use teamline_domain::audit::Actor;
use teamline_domain::pbx_user::PbxUserForm;
use teamline_sim::microsoft::demo as ms;
use teamline_store::{AuditRecord, PbxUserQuery};

async fn the_audit_log_filters_pages_exports_and_shows_changes(app: TestApp) {
    let e = app.contoso.id;
    let b = app.signed_in().await;
    set_up(&app, "Adele Vance", "1000").await;
    set_up(&app, "Alex Wilber", "1001").await;
    // Edit Adele's number and caller ID on forwarded calls.
    let adele = app
        .store
        .list_pbx_users(
            e,
            &PbxUserQuery {
                search: Some("Adele".into()),
                limit: 5,
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .items[0]
        .user
        .clone();
    let location = app.store.list_pbx_locations(e).await.unwrap()[0].id;
    let form = PbxUserForm {
        pbx_location: location.to_string(),
        voice_route: adele.spec.voice_route_id.to_string(),
        teams_user: ms::contoso_user_id("Adele Vance"),
        sip_user: "1000".into(),
        phone_number: "11009".into(),
        device: "1000".into(),
        forwarded_caller_id: "original_caller".into(),
        ..PbxUserForm::new_with_defaults()
    };
    let admin = Actor::EnterpriseAdmin("admin@contoso.example".into());
    app.engine
        .save_pbx_user(e, &admin, &form, Some((adele.id, adele.version)))
        .await
        .unwrap();

    // Adele's history: the edit in the portal's words, names instead of ids, no JSON.
    let (status, page) = text(b.get("/audit?user=AdeleV%40contoso.example")).await;
    assert_eq!(status, 200);
    assert!(page.contains("User edited"), "{page}");
    assert!(!page.contains("Alex Wilber"), "only Adele's events: {page}");
    assert!(
        page.contains("Changed: Phone Number, Caller ID on Forwarded Calls"),
        "{page}"
    );
    assert!(page.contains("<ins>Original Caller</ins>"), "{page}");
    assert!(
        page.contains("<del>User&#39;s Caller ID</del>")
            || page.contains("<del>User&#x27;s Caller ID</del>"),
        "{page}"
    );
    assert!(
        page.contains("US East 2") && page.contains("Adele Vance (AdeleV@contoso.example)"),
        "{page}"
    );
    let oid = ms::contoso_user_id("Adele Vance");
    assert!(
        !page.contains(&oid)
            && !page.contains("voice_route_id")
            && !page.contains("&quot;spec&quot;"),
        "no JSON, no ids: {page}"
    );
    let (_, none) = text(b.get("/audit?user=Nobody+Here")).await;
    assert!(none.contains("No PBX user matches"), "{none}");

    // 620 events by a job: the log pages through all of them, 50 at a time, none twice.
    for i in 0..620 {
        app.store
            .record_audit(&AuditRecord {
                enterprise_id: Some(e),
                actor: Actor::Job("reconcile".into()),
                action: "teams.in_sync".into(),
                summary: format!("Checked user {i}"),
                object_type: "pbx_user".into(),
                object_id: Some(adele.id.to_string()),
                before: None,
                after: None,
            })
            .await
            .unwrap();
    }
    let actor = Actor::Job("reconcile".into()).encode();
    let mut href = format!("/audit?actor={}", urlencode(&actor));
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let (status, page) = text(b.get(&href)).await;
        assert_eq!(status, 200);
        pages += 1;
        assert!(pages <= 13, "still paging at {href}");
        for line in page.split("Checked user ").skip(1) {
            seen.push(
                line.split(' ')
                    .next()
                    .unwrap()
                    .trim_end_matches(|c: char| !c.is_ascii_digit())
                    .to_owned(),
            );
        }
        let Some(next) = page
            .split(r#"" rel="next">Older"#)
            .next()
            .filter(|_| page.contains(r#"rel="next">Older"#))
        else {
            break;
        };
        href = next
            .rsplit("href=\"")
            .next()
            .unwrap()
            .replace("&#38;", "&")
            .replace("&amp;", "&");
    }
    assert_eq!(pages, 13, "620 events, 50 a page");
    assert_eq!(seen.len(), 620);
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 620, "no event twice");
    assert_eq!(seen.len(), 620);
    // Newer from a later page comes back.
    let (_, page2) = text(b.get(&format!("/audit?actor={}", urlencode(&actor)))).await;
    assert!(page2.contains("Checked user 619"), "newest first");

    // A day range: today has everything, a day long ago nothing.
    let (_, old) = text(b.get("/audit?from=2001-01-01&to=2001-01-02")).await;
    assert!(old.contains("No change matches these filters."), "{old}");

    // The CSV export of the filtered view: every event of it, not just one page.
    let r = b
        .get("/audit/export.csv?action=teams.in_sync")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv = r.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "Time (UTC),Who,Action,Summary,What changed");
    assert_eq!(lines.len(), 621, "the header and 620 events");
    assert!(
        lines[1].contains("Teamline (reconcile),Microsoft Teams in sync,Checked user 619"),
        "{}",
        lines[1]
    );
    let csv = b
        .get("/audit/export.csv?action=pbx_user.update")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        csv.contains("Caller ID on Forwarded Calls: User's Caller ID → Original Caller"),
        "{csv}"
    );
}

fn urlencode(s: &str) -> String {
    s.replace(':', "%3A").replace('@', "%40")
}

#[tokio::test]
async fn audit_log_on_sqlite() {
    the_audit_log_filters_pages_exports_and_shows_changes(TestApp::start().await).await;
}

#[tokio::test]
async fn audit_log_on_postgresql() {
    the_audit_log_filters_pages_exports_and_shows_changes(TestApp::start_on_postgres().await).await;
}
