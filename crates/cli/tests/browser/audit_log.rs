//! The Audit log in the browser: filtering by user, opening a change to see what changed,
//! paging to older events and back, and no serious accessibility violation with a change open.

use crate::accessibility::{axe_source, violations};
use crate::browser_test;
use crate::harness::Ctx;
use crate::pages::set_up_directly;
use anyhow::{Result, ensure};
use teamline_domain::audit::Actor;
use teamline_store::AuditRecord;

browser_test!(audit_log_filters_pages_and_shows_what_changed, audit_log);

async fn audit_log(ctx: &Ctx) -> Result<()> {
    set_up_directly(ctx, "Adele Vance", "1000", "1000tm").await?;
    set_up_directly(ctx, "Alex Wilber", "1001", "1001tm").await?;
    let store = ctx.stack.engine.store();
    for i in 0..70 {
        store
            .record_audit(&AuditRecord {
                enterprise_id: Some(ctx.stack.contoso.id),
                actor: Actor::Job("reconcile".into()),
                action: "teams.in_sync".into(),
                summary: format!("Checked user {i}"),
                object_type: "pbx_user".into(),
                object_id: None,
                before: None,
                after: None,
            })
            .await?;
    }
    let b = &ctx.b;
    ctx.sign_in_as_admin().await?;
    b.goto(&ctx.url("/audit")).await?;
    // Paging: the newest 50, then the older ones, then back.
    b.wait_page_text("Checked user 69").await?;
    b.click("a[rel='next']").await?;
    b.wait_page_text("Checked user 19").await?;
    ensure!(!b.text("#audit-events").await?.contains("Checked user 69"));
    b.click("a[rel='prev']").await?;
    b.wait_page_text("Checked user 69").await?;

    // Adele's events only.
    b.fill("#audit-user", "Adele").await?;
    b.click("#audit-filters button[type='submit']").await?;
    b.until("only Adele's events are listed", || async {
        let t = b.text("#audit-events").await?;
        Ok(t.contains("Adele Vance") && !t.contains("Alex Wilber") && !t.contains("Checked user"))
    })
    .await?;
    // Her set-up opens as the form's fields, the new values marked.
    b.click("#audit-events details.change summary").await?;
    // The header cells are upper-cased by the style sheet, and WebDriver reads rendered text.
    let table = b.text("#audit-events table.diff").await?;
    let rendered = table.to_lowercase();
    for want in [
        "Teams User",
        "Adele Vance (AdeleV@contoso.example)",
        "Voice Route",
        "US East 2",
        "Phone Number",
        "Device",
        "1000tm",
    ] {
        ensure!(
            rendered.contains(&want.to_lowercase()),
            "the change does not show {want}: {table}"
        );
    }
    ensure!(!table.contains('{'), "no JSON: {table}");
    ensure!(
        b.exists("table.diff tr.changed ins").await?,
        "what changed is not marked"
    );

    let axe = axe_source()?;
    let found = violations(b, &axe).await?;
    ensure!(
        found.is_empty(),
        "axe-core on the Audit log:\n{}",
        found.join("\n")
    );
    Ok(())
}
