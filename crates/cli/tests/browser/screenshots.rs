//! Screenshots of the Dashboard, Users, a user's detail page and the SET UP PBX USER form,
//! taken from the running demo at 1280×800, and of the Dashboard and Users at phone width
//! (390×844, Chromium's phone emulation). They go to `target/e2e-screenshots/pages/`, or to
//! `$TEAMLINE_SCREENSHOT_DIR` (the README's images: `TEAMLINE_SCREENSHOT_DIR=docs/screenshots`).

use crate::browser_test;
use crate::harness::{Ctx, screenshot_dir};
use crate::pages::*;
use anyhow::{Context, Result};
use std::path::PathBuf;

fn out_dir() -> PathBuf {
    match std::env::var_os("TEAMLINE_SCREENSHOT_DIR") {
        // Relative to the workspace, where the command is run from.
        Some(dir) => PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join(dir),
        None => screenshot_dir().join("pages"),
    }
}

browser_test!(
    screenshots_of_dashboard_users_and_set_up_form,
    take_screenshots
);

async fn take_screenshots(ctx: &Ctx) -> Result<()> {
    for (name, ext, device) in [
        ("Adele Vance", "1000", "1000tm"),
        ("Alex Wilber", "1001", "1001tm"),
        ("Diego Siciliani", "1002", "1002"),
        ("Grady Archie", "1003", "1003"),
    ] {
        set_up_directly(ctx, name, ext, device).await?;
    }
    let b = &ctx.b;
    let dir = out_dir();
    ctx.sign_in_as_admin().await?;

    menu(b, "Users").await?;
    for name in [
        "Adele Vance",
        "Alex Wilber",
        "Diego Siciliani",
        "Grady Archie",
    ] {
        settled_calling_state(b, name).await?;
    }
    menu(b, "Dashboard").await?;
    b.wait_gone("#sync-progress").await?;
    b.save_screenshot(&dir.join("dashboard.png")).await?;

    menu(b, "Users").await?;
    b.find_xpath(&row("Grady Archie")).await?;
    b.save_screenshot(&dir.join("users.png")).await?;

    {
        // A phone as Chromium emulates one (390×844 at 3× pixels).
        let phone = ctx.phone_browser().await?;
        phone.goto(&ctx.url("/users")).await?;
        phone.find_xpath(&row("Grady Archie")).await?;
        phone.save_screenshot(&dir.join("users-phone.png")).await?;
        phone.goto(&ctx.url("/dashboard")).await?;
        phone.find("h1").await?;
        phone.wait_gone("#sync-progress").await?;
        phone
            .save_screenshot(&dir.join("dashboard-phone.png"))
            .await?;
        phone.client.close().await?;
    }

    // Adele's detail page: the pairing, what Microsoft holds, the device, the last push.
    menu(b, "Users").await?;
    let id = b
        .find_xpath(&row("Adele Vance"))
        .await?
        .attr("id")
        .await?
        .and_then(|i| i.strip_prefix("user-").map(str::to_owned))
        .context("Adele Vance's row has no id")?;
    b.goto(&ctx.url(&format!("/users/{id}"))).await?;
    b.wait_text("h1", "Adele Vance").await?;
    save_full_page(b, &dir.join("user-detail.png")).await?;

    menu(b, "Users").await?;

    b.click_xpath("//a[normalize-space()='SET UP PBX USER']")
        .await?;
    b.wait_text("h1", "SET UP PBX USER").await?;
    b.select_label("#voice_route", "US East 2").await?;
    b.select_label("#teams_user", &teams_user_label("Megan Bowen"))
        .await?;
    // The extension with her name on the PBX is suggested; Use chooses it as the seed's
    // SIP User step does, pre-filling the Phone Number.
    b.wait_text("#sip_user-suggestion", "1011 — Megan Bowen")
        .await?;
    b.click("#sip_user-suggestion button[data-fill='sip_user']")
        .await?;
    b.wait_value("#sip_user", "1011").await?;
    b.find("#add-new-device:not([disabled])").await?;
    b.wait_value("#phone_number", "+11011").await?;
    b.click("#add-new-device").await?;
    b.wait_text("#create-device", "Use 1011tm (created on Save)")
        .await?;
    save_full_page(b, &dir.join("set-up-pbx-user.png")).await?;
    Ok(())
}

/// The whole page in one picture at desktop width: as tall as the page.
async fn save_full_page(b: &crate::harness::Browser, path: &std::path::Path) -> Result<()> {
    let height = b
        .client
        .execute("return document.documentElement.scrollHeight", vec![])
        .await?
        .as_u64()
        .and_then(|h| u32::try_from(h).ok())
        .unwrap_or(800);
    b.set_viewport(1280, height.max(800)).await?;
    b.save_screenshot(path).await?;
    b.set_viewport(1280, 800).await?;
    Ok(())
}

browser_test!(
    screenshots_of_the_reseller_portal,
    take_reseller_screenshots
);

/// The reseller portal's Enterprises list, and Contoso's page with Teamline's Direct Routing
/// set-up done step by step (its TXT record published in a real Knot DNS zone).
async fn take_reseller_screenshots(ctx: &Ctx) -> Result<()> {
    use secrecy::SecretString;
    use std::sync::Arc;
    use teamline_dns::testing::{KnotConfig, TestTsigKey};
    use teamline_dns::{Rfc2136Publisher, Rfc2136Settings, TsigKey};
    use teamline_domain::direct_routing::StepState;
    use teamline_testkit::demo::RESELLER_ADMIN;

    let dir = tempfile::tempdir()?;
    let key = TestTsigKey::generate("teamline.");
    let knot = KnotConfig::new("sbc.example.net")
        .update_key(key.clone())
        .start(dir.path())
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let publisher = Rfc2136Publisher::new(&Rfc2136Settings::new(
        knot.server(),
        "sbc.example.net",
        TsigKey::hmac_sha256(&key.name, SecretString::from(key.secret_base64.clone())),
    ))?;
    let engine = &ctx.stack.engine;
    anyhow::ensure!(
        engine.set_dns_publisher(Arc::new(publisher)),
        "the demo already has a DNS publisher"
    );
    let contoso = ctx.stack.contoso.id;
    engine
        .set_up_direct_routing(
            contoso,
            &teamline_domain::audit::Actor::ResellerAdmin(RESELLER_ADMIN.to_owned()),
        )
        .await?;

    let b = &ctx.b;
    reseller_sign_in(ctx).await?;
    b.wait_page_text("Fabrikam").await?;
    let out = out_dir();
    b.save_screenshot(&out.join("reseller-enterprises.png"))
        .await?;

    b.until("Contoso's Direct Routing set-up is done", || async {
        let setups = engine.direct_routing_setups(contoso).await?;
        Ok(!setups.is_empty() && setups.iter().all(|(_, s)| s.summary() == StepState::Done))
    })
    .await?;
    b.goto(&ctx.url(&format!("/reseller/enterprises/{}", contoso.0)))
        .await?;
    b.wait_page_text("Direct Routing: US East 2").await?;
    save_full_page(b, &out.join("reseller-direct-routing.png")).await?;
    Ok(())
}
