//! The Bulk Upload pages over HTTP: an upload (multipart, as htmx sends it) is checked and its
//! import page lists each bad row's problem by column; the result file and the template are
//! downloads; another enterprise's admin finds none of it. A clean file's page previews what
//! applying will change per user, and Apply then makes exactly those changes.

use crate::app::{Browser, TestApp, eventually, text};
use crate::isolation::State;
use crate::preview::{items, pushed};
use teamline_domain::audit::{Actor, Audit};
use teamline_domain::enterprise::TenantId;
use teamline_sim::microsoft::demo as ms;
use teamline_sim::netsapiens::CONTOSO_HQ_ADDRESS_ID;
use teamline_store::ImportState;

const BOUNDARY: &str = "teamline-test-boundary";

fn csv() -> String {
    let row = |name: &str, ext: &str, number: &str| {
        format!(
            "{},{ext},{number},US East 2,{CONTOSO_HQ_ADDRESS_ID}",
            ms::upn_for(name, ms::CONTOSO_DOMAIN)
        )
    };
    format!(
        "Teams User,SIP User,Phone Number,Available Voice Routes,Emergency Address\n{}\n{}\n",
        row("Megan Bowen", "1011", "+14255551011"),
        row("Lee Gu", "1008", "12ab")
    )
}

/// The upload form as htmx sends it: multipart, with the page's token in its header.
pub(crate) async fn upload(b: &Browser, file: &str) -> reqwest::Response {
    let body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{}\r\n\
         --{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"users.csv\"\r\n\
         Content-Type: text/csv\r\n\r\n{file}\r\n--{BOUNDARY}--\r\n",
        b.csrf
    );
    b.raw_post("/bulk-upload")
        .header("sec-fetch-site", "same-origin")
        .header("hx-request", "true")
        .header("x-csrf-token", &b.csrf)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn an_upload_shows_each_bad_row_by_column_and_only_to_its_enterprise() {
    let app = TestApp::start().await;
    let b = app.signed_in().await;
    let template = b.get("/bulk-upload/template.csv").send().await.unwrap();
    assert_eq!(template.status(), 200);
    assert!(template.text().await.unwrap().starts_with("Teams User,"));

    let r = upload(&b, &csv()).await;
    assert_eq!(r.status(), 200);
    let page = r.headers()["hx-redirect"].to_str().unwrap().to_owned();
    assert!(page.starts_with("/bulk-upload/"), "{page}");
    let html = b.get(&page).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("1 of 2 rows cannot be set up"), "{html}");
    assert!(html.contains("data-row=\"3\""), "{html}");
    assert!(html.contains("data-field=\"Phone Number\""), "{html}");
    assert!(
        !html.contains("id=\"apply-import\""),
        "a bad file cannot be applied"
    );
    let result = b
        .get(&format!("{page}/result.csv"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(result.contains("Phone Number"), "{result}");

    // A file that cannot be read as a Bulk Upload file is said next to the form.
    let r = upload(&b, "Name,Colour\nAdele,blue\n").await;
    assert!(r.headers().get("hx-redirect").is_none());
    let said = r.text().await.unwrap();
    assert!(said.contains("notice-error"), "{said}");

    // Fabrikam's admin: Contoso's import is not found, and Apply changes nothing.
    let e = app.fabrikam().id;
    app.store
        .register_enterprise(
            e,
            &TenantId::parse(ms::FABRIKAM_TENANT_ID).unwrap(),
            &Audit::new(Actor::System("test".into()), "test", "Fabrikam registered"),
        )
        .await
        .unwrap();
    let other = app.session_for(e, ms::FABRIKAM_TENANT_ID).await;
    let listing = other.get("/bulk-upload").send().await.unwrap();
    assert_eq!(listing.status(), 200);
    assert!(!listing.text().await.unwrap().contains("users.csv"));
    for path in [
        page.clone(),
        format!("{page}/status"),
        format!("{page}/preview"),
        format!("{page}/result.csv"),
    ] {
        let r = other.get(&path).send().await.unwrap();
        assert_eq!(r.status(), 404, "{path}");
    }
    let r = other
        .post_form(&format!("{page}/apply"), &[])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let id = page.rsplit('/').next().unwrap().parse().unwrap();
    let import = app
        .store
        .get_import(app.contoso.id, teamline_domain::ids::ImportId(id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(import.state, ImportState::Checked);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clean_files_page_previews_each_users_changes_and_apply_makes_them() {
    let app = TestApp::start_with_jobs().await;
    let b = app.signed_in().await;
    let file = "Teams User,SIP User,Phone Number,Available Voice Routes,User Devices\n\
                MeganB@contoso.example,1011,+11011,US East 2,1011\n\
                LeeG@contoso.example,1008,+11008,US East 2,1008\n";
    let r = upload(&b, file).await;
    let page = r.headers()["hx-redirect"].to_str().unwrap().to_owned();
    let (_, html) = text(b.get(&page)).await;
    assert!(html.contains("All 2 rows can be set up"), "{html}");
    assert!(html.contains(r#"id="preview-import""#), "{html}");

    // Without JavaScript: a page with the preview of each row and the Apply button.
    let before = State::take(&app).await;
    let (status, preview) = text(b.get(&format!("{page}/preview"))).await;
    assert_eq!(status, 200, "{preview}");
    assert!(preview.contains("What applying will change"), "{preview}");
    assert!(preview.contains(r#"id="apply-import""#), "{preview}");
    let row = |n: usize| {
        let at = preview
            .find(&format!(r#"data-row="{n}""#))
            .unwrap_or_else(|| panic!("no row {n} in {preview}"));
        let end = preview[at..].find("</details>").unwrap() + at;
        preview[at..end].to_owned()
    };
    let (megan, lee) = (row(2), row(3));
    assert!(megan.contains("MeganB@contoso.example"), "{megan}");
    let megan_teams = items(&megan, "preview-teams");
    let lee_teams = items(&lee, "preview-teams");
    assert_eq!(
        megan_teams[0], "Assign +11011 and turn on Enterprise Voice",
        "{megan}"
    );
    assert_eq!(
        lee_teams[0], "Assign +11008 and turn on Enterprise Voice",
        "{lee}"
    );
    // Both devices exist on the PBX: nothing is created there.
    assert!(items(&megan, "preview-pbx").is_empty(), "{megan}");

    // With htmx: the same preview as a fragment for the import's page.
    let (status, fragment) = text(
        b.get(&format!("{page}/preview"))
            .header("hx-request", "true"),
    )
    .await;
    assert_eq!(status, 200);
    assert!(!fragment.contains("<html"), "{fragment}");
    assert!(fragment.contains(r#"id="import-preview""#), "{fragment}");
    assert_eq!(items(&fragment, "preview-teams"), megan_teams);
    let after = State::take(&app).await;
    assert!(
        before.differences(&after).is_empty(),
        "the preview changed {:#?}",
        before.differences(&after)
    );

    // Apply makes exactly the previewed changes in Teams.
    let r = b
        .post_form(&format!("{page}/apply"), &[])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    for (name, expected) in [("Megan Bowen", &megan_teams), ("Lee Gu", &lee_teams)] {
        eventually(&format!("{name}'s push is in the audit log"), || async {
            app.store
                .list_audit(Some(app.contoso.id), 200)
                .await
                .unwrap()
                .iter()
                .any(|e| e.action == "teams.push" && e.summary.contains(name))
        })
        .await;
        assert_eq!(&pushed(&app, name).await, expected, "{name}");
    }
    app.stop().await;
}
