//! The seed article's failure paths, in the browser: what the admin sees when a field's rule is
//! broken, when a Teams user is missing from the list, when a device must be created, when a
//! non-admin signs in, and when a request does not come from a Teamline page.

use crate::browser_test;
use crate::harness::Ctx;
use crate::pages::*;
use anyhow::{Result, ensure};
use teamline_sim::microsoft::demo as ms;

browser_test!(
    set_up_form_names_holders_and_keeps_what_was_typed,
    holders_and_used_numbers
);

async fn holders_and_used_numbers(ctx: &Ctx) -> Result<()> {
    set_up_directly(ctx, "Adele Vance", "1000", "1000tm").await?;
    let b = &ctx.b;
    ctx.sign_in_as_admin().await?;
    open_setup_form(b).await?;

    // Save User on an empty form: every problem at once, each next to its field.
    save_user(b).await?;
    b.find("#form-errors").await?;
    for field in [
        "voice_route",
        "teams_user",
        "sip_user",
        "phone_number",
        "device",
    ] {
        let error = b.text(&format!("#error-{field}")).await?;
        ensure!(!error.is_empty(), "no error next to {field}");
    }

    // SIP user 1000 again, for Alex Wilber: the error names Adele, as the admin chooses it.
    b.select_label("#voice_route", "US West").await?;
    b.select_label("#teams_user", &teams_user_label("Alex Wilber"))
        .await?;
    choose_sip_user(b, "1000").await?;
    b.wait_text("#error-sip_user", "Adele Vance").await?;
    // …and again on Save User, with everything the admin chose still there.
    save_user(b).await?;
    b.find("#form-errors").await?;
    b.wait_text("#error-sip_user", "Adele Vance").await?;
    ensure!(b.value("#teams_user").await? == ms::contoso_user_id("Alex Wilber"));
    ensure!(b.value("#sip_user").await? == "1000");
    ensure!(b.value("#phone_number").await? == "+11000");
    let route = b.find("#voice_route option:checked").await?.text().await?;
    ensure!(route == "US West", "the voice route was lost: {route}");

    // Extension 1015 is held by the disabled Debra Berger: the error says how to free it.
    choose_sip_user(b, "1015").await?;
    let error = b.wait_text("#error-sip_user", "Debra Berger").await?;
    ensure!(error.contains("Delete User"), "{error}");

    // A number already used: Alex on his own extension, but with Adele's number.
    choose_sip_user(b, "1001").await?;
    b.wait_value("#phone_number", "+11001").await?;
    b.wait_text_is("#error-sip_user", "").await?;
    b.fill("#phone_number", "11000").await?;
    // The combobox says who has it already.
    b.wait_text("#phone-options", "used by Adele Vance").await?;
    b.click("#phone-options [role='option'][data-value='+11000']")
        .await?;
    b.wait_text("#error-phone_number", "already used by Adele Vance")
        .await?;
    add_and_select_device(b, "1001tm").await?;
    save_user(b).await?;
    b.find("#form-errors").await?;
    b.wait_text("#error-phone_number", "already used by Adele Vance")
        .await?;
    let sip_error = b.text("#error-sip_user").await?;
    ensure!(sip_error.is_empty(), "1001 is free: {sip_error}");
    ensure!(
        b.text("#selected-device").await? == "1001tm",
        "the selected device was lost"
    );

    // Fixing the number saves Alex.
    type_and_pick_phone(b, "11001", "+11001").await?;
    save_user(b).await?;
    b.wait_path("/users").await?;
    b.find_xpath(&row("Alex Wilber")).await?;
    Ok(())
}

browser_test!(
    users_who_cannot_be_set_up_are_absent_and_troubleshoot_explains_why,
    missing_users_explained
);

async fn missing_users_explained(ctx: &Ctx) -> Result<()> {
    let b = &ctx.b;
    ctx.sign_in_as_admin().await?;
    open_setup_form(b).await?;
    let offered = b.option_labels("#teams_user").await?;
    ensure!(
        offered.contains(&teams_user_label("Adele Vance")),
        "{offered:?}"
    );
    for absent in ["Christie Cline", "Irvin Sayers", "Enrico Cattaneo"] {
        ensure!(
            !offered.iter().any(|o| o.contains(absent)),
            "{absent} must not be offered: {offered:?}"
        );
    }

    // "Someone missing? Troubleshoot tells you why."
    b.click_xpath("//a[normalize-space()='Troubleshoot' and not(ancestor::nav)]")
        .await?;
    b.wait_text("h1", "Troubleshoot").await?;
    for (query, failing, fix) in [
        (
            "Christie Cline",
            "Teams Phone licence",
            "assign Teams Phone",
        ),
        ("Irvin Sayers", "In a sync group", "Teammate Sync"),
        ("EnricoC@contoso.example", "Account enabled", "unblock"),
    ] {
        b.fill("#q", query).await?;
        b.click_xpath("//button[normalize-space()='Check']").await?;
        // Wait for this query's checklist, not the previous one still on the page.
        b.wait_text("#checklist-title", query).await?;
        let line = b
            .find_xpath(&format!(
                "//ul[@class='checklist']/li[.//strong[normalize-space()='{failing}']]"
            ))
            .await?
            .text()
            .await?;
        ensure!(line.starts_with("Fail"), "{query}: {line}");
        ensure!(line.contains(fix), "{query}: the fix is missing: {line}");
    }

    // Sync Teams Users runs with visible progress, then says how it went.
    b.click("#sync-teams-users").await?;
    b.wait_gone("#sync-progress").await?;
    b.find("#sync-teams-users").await?;
    b.wait_text("#sync-status", "Last sync: ").await?;
    b.wait_text("#sync-status", "Synced").await?;
    Ok(())
}

browser_test!(
    the_missing_1002tm_is_created_on_save_and_never_on_cancel,
    device_created_for_megan
);

/// Fills the form for Megan Bowen on 1002 up to choosing "Use 1002tm (created on Save)" with
/// the Contoso HQ emergency address.
async fn megan_with_1002tm_created_on_save(b: &crate::harness::Browser) -> Result<()> {
    open_setup_form(b).await?;
    b.select_label("#voice_route", "US West").await?;
    b.select_label("#teams_user", &teams_user_label("Megan Bowen"))
        .await?;
    choose_sip_user(b, "1002").await?;
    b.wait_value("#phone_number", "+11002").await?;
    b.click("#add-new-device").await?;
    b.wait_text("#create-device", "Use 1002tm (created on Save)")
        .await?;
    // The PBX needs an emergency address for every new device: Teamline asks for it.
    b.click("#create-device").await?;
    b.wait_text("#user-devices", "Choose the emergency address for 1002tm")
        .await?;
    let addresses = b.option_labels("#emergency_address").await?;
    let hq = addresses
        .iter()
        .find(|a| a.starts_with("Contoso HQ"))
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("no Contoso HQ address in {addresses:?}"))?;
    b.select_label("#emergency_address", &hq).await?;
    b.click("#create-device").await?;
    b.wait_text("#selected-device", "1002tm").await?;
    b.wait_text("#device-planned", "Created on the PBX when you save")
        .await?;
    Ok(())
}

/// "A device created for Megan Bowen (1002tm)". The demo PBX has Megan on extension 1011 (see
/// the README), but any free extension can be paired with a Teams user, so she is set up on
/// 1002, which (like every extension but 1000 and 1001) has no `tm` device yet. Nothing is
/// created on the PBX until Save User: Cancel leaves no device behind.
async fn device_created_for_megan(ctx: &Ctx) -> Result<()> {
    let has_1002tm = || async {
        Ok::<_, anyhow::Error>(
            pbx_devices(ctx, "1002")
                .await?
                .contains(&"1002tm".to_owned()),
        )
    };
    ensure!(!has_1002tm().await?, "1002tm exists before the test");
    let b = &ctx.b;
    ctx.sign_in_as_admin().await?;
    megan_with_1002tm_created_on_save(b).await?;
    ensure!(
        !has_1002tm().await?,
        "1002tm was created on the PBX before Save User"
    );
    // Cancel: the user is not set up and nothing is left on the PBX.
    b.click_xpath("//form[@id='setup-form']//a[normalize-space()='Cancel']")
        .await?;
    b.wait_path("/users").await?;
    ensure!(!has_1002tm().await?, "Cancel left 1002tm on the PBX");

    // Again, and Save User: the save's job creates it, then Teams is set up.
    megan_with_1002tm_created_on_save(b).await?;
    save_user(b).await?;
    b.wait_path("/users").await?;
    ensure!(
        settled_calling_state(b, "Megan Bowen").await? == "Enabled",
        "Megan's calling is not enabled"
    );
    ensure!(has_1002tm().await?, "the PBX has no 1002tm after Save User");
    Ok(())
}

browser_test!(
    a_user_who_is_not_an_administrator_is_refused_at_sign_in,
    non_admin_refused
);

async fn non_admin_refused(ctx: &Ctx) -> Result<()> {
    let b = &ctx.b;
    ctx.sign_in(ms::CONTOSO_NON_ADMIN_UPN, ms::USER_PASSWORD)
        .await?;
    let page = b
        .wait_page_text("This account is not an administrator of the enterprise")
        .await?;
    ensure!(
        page.contains("AdeleV@contoso.example is not a Global Administrator of Contoso"),
        "{page}"
    );
    // No way in afterwards.
    b.goto(&ctx.url("/dashboard")).await?;
    b.wait_path("/sign-in").await
}

browser_test!(
    a_post_without_the_pages_origin_or_token_is_refused,
    csrf_refused
);

async fn csrf_refused(ctx: &Ctx) -> Result<()> {
    let b = &ctx.b;
    ctx.sign_in_as_admin().await?;

    // From a Teamline page, but without the page's security token.
    let status = b
        .client
        .execute(
            "return fetch('/dashboard/sync-teams-users', {method: 'POST', \
             headers: {'Content-Type': 'application/x-www-form-urlencoded'}, body: 'x=1'}) \
             .then(r => r.status)",
            vec![],
        )
        .await?;
    ensure!(status == 403, "a token-less POST answered {status}");

    // From another site (the simulated Microsoft page is another origin): a form that posts to
    // Teamline with the admin's cookie.
    b.goto(&format!(
        "{}/organizations/v2.0/.well-known/openid-configuration",
        ctx.stack.microsoft.url
    ))
    .await?;
    b.client
        .execute(
            "const f = document.createElement('form'); f.method = 'POST'; \
             f.action = arguments[0]; document.body.appendChild(f); f.submit();",
            vec![serde_json::json!(ctx.url("/dashboard/sync-teams-users"))],
        )
        .await?;
    b.wait_page_text("did not come from a Teamline page")
        .await?;

    // Nothing happened, and the admin is still signed in.
    b.goto(&ctx.url("/dashboard")).await?;
    b.wait_path("/dashboard").await?;
    let activity = b
        .find_xpath("//section[.//h2[@id='activity-title']]//ul")
        .await?
        .text()
        .await?;
    ensure!(
        !activity.contains("Asked to sync Teams users"),
        "a refused request changed something: {activity}"
    );
    Ok(())
}

browser_test!(
    a_global_administrator_only_eligible_through_pim_is_told_to_activate,
    pim_eligible_refused
);

async fn pim_eligible_refused(ctx: &Ctx) -> Result<()> {
    // Adele may activate Global Administrator through PIM, and the ID token has no wids:
    // the sign-in asks Microsoft Graph and says what to do.
    let tenant = &ctx.stack.contoso_tenant;
    tenant.update_behaviour(|b| b.id_token_wids = false);
    tenant.set_user_roles(ms::CONTOSO_NON_ADMIN_UPN, &[], &[ms::ROLE_GLOBAL_ADMIN])?;
    ctx.sign_in(ms::CONTOSO_NON_ADMIN_UPN, ms::USER_PASSWORD)
        .await?;
    let page = ctx
        .b
        .wait_page_text("Your Global Administrator role is not active")
        .await?;
    ensure!(page.contains("Activate it"), "{page}");
    ctx.b.goto(&ctx.url("/dashboard")).await?;
    ctx.b.wait_path("/sign-in").await
}
