//! Troubleshoot → Readiness check: `teamline doctor` in the portal, after a real sign-in
//! through the simulated Microsoft page (so the sign-in check has something to report).

use crate::browser_test;
use crate::harness::Ctx;
use crate::pages::*;
use anyhow::{Result, ensure};

browser_test!(
    the_readiness_check_reports_the_tenant_and_the_pbx,
    readiness_check
);

/// The text of one check's line.
async fn line(ctx: &Ctx, id: &str) -> Result<String> {
    Ok(ctx
        .b
        .find(&format!("li[data-check='{id}']"))
        .await?
        .text()
        .await?)
}

async fn readiness_check(ctx: &Ctx) -> Result<()> {
    let b = &ctx.b;
    ctx.sign_in_as_admin().await?;
    menu(b, "Troubleshoot").await?;
    b.click_xpath("//a[normalize-space()='Readiness check']")
        .await?;
    b.wait_text("h1", "Readiness check").await?;

    b.fill("#extension", "1008").await?;
    b.click_xpath("//button[normalize-space()='Run the checks']")
        .await?;
    b.wait_text("#readiness-title", "Read-only checks").await?;
    b.wait_page_text("Teamline can work here").await?;
    let sign_in = line(ctx, "signin.roles").await?;
    ensure!(
        sign_in.starts_with("Pass") && sign_in.contains("wids claim"),
        "{sign_in}"
    );
    let devices = line(ctx, "pbx.devices").await?;
    ensure!(devices.starts_with("Pass"), "{devices}");

    // A tenant whose Graph refuses the voice policy types: named, and Teamline still works.
    ctx.stack
        .contoso_tenant
        .update_behaviour(|b| b.graph_voice_policies = false);
    b.click_xpath("//button[normalize-space()='Run the checks']")
        .await?;
    b.until("the policy check names the other path", || async {
        Ok(line(ctx, "policy.OnlineVoiceRoutingPolicy")
            .await
            .is_ok_and(|l| l.contains("Graph refuses")))
    })
    .await?;
    b.wait_page_text("Teamline can work here").await?;
    Ok(())
}
