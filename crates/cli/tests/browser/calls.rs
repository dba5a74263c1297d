//! The Calls page in the browser: reached from the menu, filtered by result, a call opened to
//! its own page (steps, final SIP code in words, media), and no serious accessibility
//! violation on either page.

use crate::accessibility::{axe_source, violations};
use crate::browser_test;
use crate::harness::Ctx;
use crate::pages::menu;
use anyhow::{Result, ensure};
use teamline_store::StoredCall;

browser_test!(calls_page_filters_and_opens_a_call, calls);

fn call(ctx: &Ctx, id: &str, started_ms: i64, from: &str, result: &str) -> StoredCall {
    StoredCall {
        call_id: id.to_owned(),
        enterprise_id: ctx.stack.contoso.id,
        pbx_user_id: None,
        direction: "to_teams".to_owned(),
        device: "1000tm".to_owned(),
        from_number: from.to_owned(),
        to_number: "+11000".to_owned(),
        tenant_fqdn: "contoso.useast2.sbc.example.net".to_owned(),
        microsoft_proxy: Some("sip.pstnhub.microsoft.com".to_owned()),
        started_ms,
        ringing_ms: Some(started_ms + 1_000),
        answered_ms: None,
        ended_ms: Some(started_ms + 9_000),
        result: result.to_owned(),
        sip_code: None,
        codec: None,
        srtp: None,
        observed_ms: started_ms,
    }
}

async fn calls(ctx: &Ctx) -> Result<()> {
    let store = ctx.stack.engine.store();
    let now = store.clock().now_ms();
    let mut answered = call(
        ctx,
        "answered-1@10.0.0.5",
        now - 600_000,
        "+12125550100",
        "answered",
    );
    answered.answered_ms = Some(answered.started_ms + 3_000);
    answered.sip_code = Some(200);
    answered.codec = Some("PCMA".into());
    answered.srtp = Some(true);
    let mut failed = call(
        ctx,
        "failed-1@10.0.0.5",
        now - 60_000,
        "+14155550123",
        "failed",
    );
    failed.sip_code = Some(404);
    store.record_call(&answered).await?;
    store.record_call(&failed).await?;

    let b = &ctx.b;
    ctx.sign_in_as_admin().await?;
    b.goto(&ctx.url("/dashboard")).await?;
    menu(b, "Calls").await?;
    b.wait_text("#calls", "+14155550123").await?;
    ensure!(b.text("#calls").await?.contains("+12125550100"));

    // Only the failed calls.
    b.select_value("#calls-result", "failed").await?;
    b.click("#call-filters button[type='submit']").await?;
    b.until("only the failed call is listed", || async {
        let t = b.text("#calls").await?;
        Ok(t.contains("+14155550123") && !t.contains("+12125550100"))
    })
    .await?;
    let axe = axe_source()?;
    let found = violations(b, &axe).await?;
    ensure!(found.is_empty(), "axe-core on Calls:\n{}", found.join("\n"));

    // Its own page: what the 404 means, its steps.
    b.click("#calls tbody a").await?;
    let facts = b.wait_text("#call-facts", "404").await?;
    ensure!(
        facts.contains("Not found: the number or user is not known to the other side"),
        "{facts}"
    );
    // Header cells are upper-cased by the style sheet, and WebDriver reads rendered text.
    let steps = b.text("#call-steps").await?.to_lowercase();
    ensure!(
        steps.contains("ringing") && steps.contains("failed or cancelled"),
        "{steps}"
    );
    let found = violations(b, &axe).await?;
    ensure!(
        found.is_empty(),
        "axe-core on a call:\n{}",
        found.join("\n")
    );
    Ok(())
}
