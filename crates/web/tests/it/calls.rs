//! The Calls page as an admin of an enterprise with access to SIP data reads it: search by
//! number and by user, filters by direction, result and day, paging past one page, the CSV
//! export of the view, a call's own page; and the explanation an enterprise without access
//! gets instead.

use crate::app::{TestApp, text};
use crate::users::set_up;
use teamline_domain::audit::{Actor, Audit};
use teamline_domain::enterprise::{EnterpriseForm, TenantId};
use teamline_store::{PbxUserQuery, StoredCall};

/// 2026-11-20 00:00 UTC.
const NOV_20: i64 = 1_795_132_800_000;
const DAY: i64 = 86_400_000;

fn call(app: &TestApp, id: &str, started_ms: i64, from: &str, result: &str) -> StoredCall {
    StoredCall {
        call_id: id.to_owned(),
        enterprise_id: app.contoso.id,
        pbx_user_id: None,
        direction: "to_teams".to_owned(),
        device: "1000tm".to_owned(),
        from_number: from.to_owned(),
        to_number: "+11000".to_owned(),
        tenant_fqdn: "contoso.useast2.sbc.example.net".to_owned(),
        microsoft_proxy: Some("sip.pstnhub.microsoft.com".to_owned()),
        started_ms,
        ringing_ms: None,
        answered_ms: None,
        ended_ms: None,
        result: result.to_owned(),
        sip_code: None,
        codec: None,
        srtp: None,
        observed_ms: started_ms,
    }
}

/// The links of a page's `Older` button, unescaped.
fn older(page: &str) -> Option<String> {
    let before = page.split(r#"" rel="next">Older"#).next()?;
    page.contains(r#"rel="next">Older"#).then(|| {
        before
            .rsplit("href=\"")
            .next()
            .unwrap()
            .replace("&#38;", "&")
            .replace("&amp;", "&")
    })
}

async fn the_calls_page_searches_filters_pages_exports_and_shows_a_call(app: TestApp) {
    let e = app.contoso.id;
    let b = app.signed_in().await;
    set_up(&app, "Adele Vance", "1000").await;
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
        .id;

    let (status, empty) = text(b.get("/calls")).await;
    assert_eq!(status, 200);
    assert!(empty.contains("No calls yet."), "{empty}");

    // An answered call to Teams on Nov 20, a busy call out and a refused one on Nov 25.
    let mut answered = call(
        &app,
        "a1b2@10.0.0.5",
        NOV_20 + 10 * 3_600_000,
        "+12125550100",
        "answered",
    );
    answered.pbx_user_id = Some(adele);
    answered.ringing_ms = Some(answered.started_ms + 1_000);
    answered.answered_ms = Some(answered.started_ms + 4_000);
    answered.ended_ms = Some(answered.started_ms + 69_000);
    answered.sip_code = Some(200);
    answered.codec = Some("PCMU".into());
    answered.srtp = Some(true);
    let mut busy = call(&app, "busy-1", NOV_20 + 5 * DAY, "+11000", "busy");
    busy.direction = "to_pbx".into();
    busy.to_number = "+13035550111".into();
    busy.sip_code = Some(486);
    let mut refused = call(
        &app,
        "refused-1",
        NOV_20 + 5 * DAY + 60_000,
        "+14155550123",
        "failed",
    );
    refused.sip_code = Some(503);
    refused.ended_ms = Some(refused.started_ms + 500);
    for c in [&answered, &busy, &refused] {
        app.store.record_call(c).await.unwrap();
    }

    let (status, page) = text(b.get("/calls")).await;
    assert_eq!(status, 200);
    for shown in [
        "+12125550100",
        "+13035550111",
        "Adele Vance",
        "Answered",
        "Busy",
        "Failed",
        "SIP 503",
        "1:05",
        "PBX → Teams",
        "Teams → PBX",
    ] {
        assert!(page.contains(shown), "{shown}: {page}");
    }
    assert!(page.contains(r#"href="/calls/a1b2@10.0.0.5""#), "{page}");

    let ids = |page: &str| -> Vec<String> {
        page.split("href=\"/calls/")
            .skip(1)
            .map(|s| s.split('"').next().unwrap().to_owned())
            .filter(|s| !s.starts_with("export.csv"))
            .collect()
    };
    // Search: by the Teams user's name, by part of a number.
    let (_, by_user) = text(b.get("/calls?q=adele")).await;
    assert_eq!(ids(&by_user), ["a1b2@10.0.0.5"], "{by_user}");
    let (_, by_number) = text(b.get("/calls?q=303555")).await;
    assert_eq!(ids(&by_number), ["busy-1"]);
    // Filters: direction, result, a day in the admin's time zone.
    let (_, out) = text(b.get("/calls?direction=to_pbx")).await;
    assert_eq!(ids(&out), ["busy-1"]);
    let (_, failed) = text(b.get("/calls?result=failed")).await;
    assert_eq!(ids(&failed), ["refused-1"]);
    let (_, day) = text(b.get("/calls?from=2026-11-25&to=2026-11-25")).await;
    assert_eq!(ids(&day), ["refused-1", "busy-1"]);
    // 10:00 UTC on Nov 20 is already Nov 21 at UTC+14.
    let (_, east) = text(b.get("/calls?from=2026-11-21&to=2026-11-21&tz=840")).await;
    assert_eq!(ids(&east), ["a1b2@10.0.0.5"]);
    let (_, bad) = text(b.get("/calls?from=20.11.2026")).await;
    assert!(bad.contains("is not a date"), "{bad}");

    // A call's own page: its steps, the final code in words, its media.
    let (status, one) = text(b.get("/calls/a1b2@10.0.0.5")).await;
    assert_eq!(status, 200);
    for shown in [
        "200 — OK: the call was answered",
        "Ringing",
        "+0:04",
        "Ended",
        "PCMU",
        "SRTP (encrypted)",
        "Adele Vance",
        "sip.pstnhub.microsoft.com",
        &format!("/users/{adele}"),
    ] {
        assert!(one.contains(shown), "{shown}: {one}");
    }
    let (_, busy_page) = text(b.get("/calls/busy-1")).await;
    assert!(busy_page.contains("486 — Busy here"), "{busy_page}");
    assert!(
        busy_page.contains("The gateway reported no media"),
        "{busy_page}"
    );
    assert_eq!(text(b.get("/calls/no-such-call")).await.0, 404);

    // Troubleshoot: "a call did not reach Teams / the PBX", from the call records.
    let (status, check) = text(b.get("/troubleshoot?call=%2B14155550123")).await;
    assert_eq!(status, 200);
    assert!(
        check.contains("Microsoft&#39;s SIP proxies did not take the call")
            || check.contains("Microsoft&#x27;s SIP proxies did not take the call"),
        "{check}"
    );
    assert!(check.contains(r#"href="/calls/refused-1""#), "{check}");
    let (_, fine) = text(b.get("/troubleshoot?call=adele")).await;
    assert!(fine.contains("The call was answered."), "{fine}");
    let (_, none) = text(b.get("/troubleshoot?call=%2B19990000000")).await;
    assert!(none.contains("reached Teamline"), "{none}");

    // 120 more calls: the list pages through all of them, 50 at a time, none twice.
    for i in 0..120 {
        let c = call(
            &app,
            &format!("bulk-{i:03}"),
            NOV_20 + DAY + i64::from(i % 7) * 1000,
            "+15550000000",
            "answered",
        );
        app.store.record_call(&c).await.unwrap();
    }
    let mut href = "/calls?q=5550000000".to_owned();
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let (status, page) = text(b.get(&href)).await;
        assert_eq!(status, 200, "{href}");
        pages += 1;
        assert!(pages <= 4, "still paging at {href}");
        seen.extend(ids(&page));
        match older(&page) {
            Some(next) => href = next,
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 120);
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 120, "no call twice");

    // The CSV export holds the whole filtered view, not one page.
    let r = b
        .get("/calls/export.csv?q=5550000000")
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
    assert_eq!(lines.len(), 121, "a header and 120 calls");
    assert!(lines[0].starts_with("Started (UTC),Direction,From,To"));
    let (_, all) = text(b.get("/calls/export.csv?result=answered&q=adele")).await;
    let row = all.lines().nth(1).unwrap();
    assert!(
        row.contains("PBX → Teams,+12125550100,+11000,1000tm,Adele Vance,Answered,200,OK: the call was answered,65,PCMU,SRTP,a1b2@10.0.0.5"),
        "{row}"
    );
    app.stop().await;
}

#[tokio::test]
async fn calls_page_on_sqlite() {
    the_calls_page_searches_filters_pages_exports_and_shows_a_call(TestApp::start().await).await;
}

#[tokio::test]
async fn calls_page_on_postgresql() {
    the_calls_page_searches_filters_pages_exports_and_shows_a_call(
        TestApp::start_on_postgres().await,
    )
    .await;
}

/// An enterprise whose reseller did not give it access to SIP data is told why, and how to get
/// it; its calls stay hidden.
#[tokio::test]
async fn without_access_to_sip_data_the_page_says_why() {
    let app = TestApp::start().await;
    let reseller = app.contoso.reseller_id;
    let regions: Vec<_> = app
        .store
        .list_sbc_regions()
        .await
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect();
    let form = EnterpriseForm {
        name: "Woodgrove".into(),
        global_admin_email: "admin@woodgrove.example".into(),
        sbc_regions: regions.clone(),
        ..Default::default()
    };
    let audit = || Audit::new(Actor::System("test".into()), "test", "Woodgrove");
    let woodgrove = app
        .store
        .create_enterprise(reseller, &form.validate(&regions).unwrap(), &audit())
        .await
        .unwrap();
    let tenant = "4b4b4b4b-0000-4000-8000-000000000001";
    app.store
        .register_enterprise(woodgrove.id, &TenantId::parse(tenant).unwrap(), &audit())
        .await
        .unwrap();
    let mut theirs = call(&app, "woodgrove-call", NOV_20, "+19995550100", "answered");
    theirs.enterprise_id = woodgrove.id;
    app.store.record_call(&theirs).await.unwrap();
    let b = app.session_for(woodgrove.id, tenant).await;
    for path in ["/calls", "/calls/woodgrove-call", "/calls/export.csv"] {
        let (status, page) = text(b.get(path)).await;
        assert_eq!(status, 403, "{path}");
        assert!(page.contains("Access SIP Data"), "{path}: {page}");
        assert!(!page.contains("+19995550100"), "{path}: {page}");
    }
    let (status, check) = text(b.get("/troubleshoot?call=%2B19995550100")).await;
    assert_eq!(status, 200);
    assert!(check.contains("Access SIP Data"), "{check}");
    assert!(!check.contains("woodgrove-call"), "{check}");
    app.stop().await;
}
