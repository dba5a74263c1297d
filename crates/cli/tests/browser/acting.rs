//! A reseller admin acting through management consent, in Chromium: from the reseller portal's
//! enterprise page "Manage as reseller" opens Contoso's Enterprise portal under a banner, the
//! audit log names the reseller admin "for Contoso", and once Contoso revokes the consent the
//! next page refuses with the reason and the button is gone.

use crate::browser_test;
use crate::harness::Ctx;
use crate::pages::{menu, reseller_sign_in};
use anyhow::Result;
use teamline_domain::audit::Actor;
use teamline_sim::microsoft::demo as ms;
use teamline_testkit::demo::RESELLER_ADMIN;

browser_test!(
    a_reseller_acts_for_an_enterprise_until_it_revokes_consent,
    acting
);

async fn acting(ctx: &Ctx) -> Result<()> {
    let b = &ctx.b;
    let contoso = ctx.stack.contoso.id;
    reseller_sign_in(ctx).await?;
    b.goto(&ctx.url(&format!("/reseller/enterprises/{}", contoso.0)))
        .await?;
    b.click_xpath("//button[normalize-space()='Manage as reseller']")
        .await?;
    b.wait_path("/dashboard").await?;
    b.wait_text(
        ".acting-banner",
        &format!("You are acting for Contoso as reseller admin {RESELLER_ADMIN} (Northwind Voice)"),
    )
    .await?;

    menu(b, "Audit log").await?;
    b.wait_page_text(&format!("reseller admin {RESELLER_ADMIN} for Contoso"))
        .await?;

    // Contoso's Global Administrator revokes the consent (as the Dashboard's button does).
    ctx.stack
        .engine
        .revoke_management_consent(
            contoso,
            &Actor::EnterpriseAdmin(ms::CONTOSO_ADMIN_UPN.into()),
        )
        .await?;
    refused_after_revocation(ctx).await?;

    b.goto(&ctx.url(&format!("/reseller/enterprises/{}", contoso.0)))
        .await?;
    b.wait_page_text("Management consent").await?;
    anyhow::ensure!(
        !b.exists_xpath("//button[normalize-space()='Manage as reseller']")
            .await?,
        "the button is gone once the consent is revoked"
    );
    Ok(())
}

/// The next page the reseller opens in Contoso's portal refuses, saying why.
async fn refused_after_revocation(ctx: &Ctx) -> Result<()> {
    ctx.b.goto(&ctx.url("/users")).await?;
    ctx.b
        .wait_page_text("Contoso has not granted management consent")
        .await?;
    Ok(())
}
