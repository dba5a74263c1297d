//! The seed article ("Add New Users to TeamMate"), followed literally for Adele Vance.

use crate::browser_test;
use crate::harness::Ctx;
use crate::pages::*;
use anyhow::{Result, ensure};
use teamline_microsoft::voice::UserRef;
use teamline_sim::microsoft::{ConfigCreate, ReassignHeldNumber, demo as ms};
use teamline_testkit::microsoft_client;

browser_test!(
    seed_article_sets_up_adele_vance_end_to_end,
    seed_article_for_adele
);

// The same workflow in each alternative way a real tenant may behave where Microsoft's
// documentation leaves it open (see crates/sim/src/microsoft/FIDELITY.md).

browser_test!(
    seed_article_when_id_tokens_carry_no_wids,
    seed_article_without_wids
);

async fn seed_article_without_wids(ctx: &Ctx) -> Result<()> {
    ctx.stack
        .contoso_tenant
        .update_behaviour(|b| b.id_token_wids = false);
    seed_article_for_adele(ctx).await
}

browser_test!(
    seed_article_when_graph_refuses_voice_policy_types,
    seed_article_voice_policies_on_teams_admin
);

async fn seed_article_voice_policies_on_teams_admin(ctx: &Ctx) -> Result<()> {
    ctx.stack
        .contoso_tenant
        .update_behaviour(|b| b.graph_voice_policies = false);
    seed_article_for_adele(ctx).await
}

browser_test!(
    seed_article_when_teams_admin_objects_are_created_with_put,
    seed_article_put_creates
);

async fn seed_article_put_creates(ctx: &Ctx) -> Result<()> {
    ctx.stack
        .contoso_tenant
        .update_behaviour(|b| b.config_create = ConfigCreate::Put);
    seed_article_for_adele(ctx).await
}

browser_test!(
    seed_article_when_adele_holds_the_number_with_enterprise_voice_off,
    seed_article_voice_off_on_a_held_number
);

async fn seed_article_voice_off_on_a_held_number(ctx: &Ctx) -> Result<()> {
    // Adele already holds +11000 in Teams with enterprise voice off, and the tenant answers
    // "already assigned" to assigning it again.
    let tenant = &ctx.stack.contoso_tenant;
    tenant.update_behaviour(|b| b.reassign_held_number = ReassignHeldNumber::AlreadyAssigned);
    let adele = UserRef::new(
        ms::contoso_user_id("Adele Vance"),
        ms::CONTOSO_NON_ADMIN_UPN,
    );
    microsoft_client(&ctx.stack.microsoft.url, &ctx.stack.url, 4)?
        .tenant(ms::CONTOSO_TENANT_ID)
        .assign_number(&adele, "+11000")
        .await?;
    tenant.set_enterprise_voice(ms::CONTOSO_NON_ADMIN_UPN, false)?;
    seed_article_for_adele(ctx).await
}

async fn seed_article_for_adele(ctx: &Ctx) -> Result<()> {
    let b = &ctx.b;
    // 1. Log into the Enterprise Provisioning Portal with the Global Administrator.
    ctx.sign_in_as_admin().await?;
    b.wait_text("h1", "Dashboard").await?;

    // 2. In the main menu, navigate to Users. 3. Select SET UP PBX USER (upper right).
    open_setup_form(b).await?;

    // 4.1 PBX Locations: PBX (the only one, already chosen).
    let locations = b.option_labels("#pbx_location").await?;
    ensure!(locations.contains(&"PBX".to_owned()), "{locations:?}");
    if b.value("#pbx_location").await?.is_empty() {
        b.select_label("#pbx_location", "PBX").await?;
        b.find("#setup-form").await?;
    }
    // 4.2 Available Voice Routes: US East 2.
    b.select_label("#voice_route", "US East 2").await?;
    // 4.3 Teams User.
    b.select_label("#teams_user", &teams_user_label("Adele Vance"))
        .await?;
    // 4.4 SIP User: the user's extension. Teamline pre-fills the Phone Number.
    choose_sip_user(b, "1000").await?;
    b.wait_value("#phone_number", "+11000").await?;
    // 4.5 Phone Number: type 11000 and select it; the + is added.
    type_and_pick_phone(b, "11000", "+11000").await?;
    // 4.6 Use Voicemail in Teams: unchecked.
    ensure!(
        !b.checked("#use_teams_voicemail").await?,
        "voicemail must default to off"
    );
    // 4.7 Caller Name Policy: Transparent. 4.8 Caller ID on Forwarded Calls: User's Caller ID.
    b.select_label("#caller_name_policy", "Transparent").await?;
    b.select_label("#forwarded_caller_id", "User's Caller ID")
        .await?;
    // 4.9 Assign Default Dial Plan Policy: checked.
    ensure!(
        b.checked("#assign_dial_plan").await?,
        "the dial plan box must be checked"
    );
    // 4.10 User Devices: Add New Device, SELECT next to 1000tm.
    add_and_select_device(b, "1000tm").await?;
    // Validation as you type found nothing to complain about.
    for field in ["sip_user", "phone_number", "teams_user", "device"] {
        let error = b.text(&format!("#error-{field}")).await?;
        ensure!(error.is_empty(), "{field}: {error}");
    }
    // Preview changes: what Save User will change in Teams and on the PBX, before anything
    // does (1000tm is on the PBX already: nothing to create there).
    b.click("#preview-changes").await?;
    b.wait_text("#change-preview h2", "What Save User will change")
        .await?;
    let preview = b.text("#change-preview").await?;
    ensure!(
        preview.contains("+11000") && !preview.contains("Create device"),
        "preview: {preview}"
    );
    // 11. Click Save User.
    save_user(b).await?;
    b.wait_path("/users").await?;
    b.wait_page_text("Adele Vance is set up on extension 1000 with +11000")
        .await?;

    // 12. Navigate back to the Dashboard. 13. Sync Teams Users if the item is there.
    menu(b, "Dashboard").await?;
    b.find("#action-items").await?;
    let sync = "//section[@id='action-items']//button[normalize-space()='Sync Teams Users']";
    if b.exists_xpath(sync).await? {
        b.click_xpath(sync).await?;
        b.wait_gone("#sync-progress").await?;
        b.until("the Sync Teams Users item is gone", || async {
            Ok(!b.exists_xpath(sync).await?)
        })
        .await?;
    }

    // 14. Users → ⋮ next to Adele → Enable Calling if offered (Disable Calling means done):
    // its page previews the changes, and its button makes them.
    menu(b, "Users").await?;
    let state = settled_calling_state(b, "Adele Vance").await?;
    open_row_menu(b, "Adele Vance").await?;
    let enable = format!(
        "{}//a[normalize-space()='Enable Calling']",
        row("Adele Vance")
    );
    if b.exists_xpath(&enable).await? {
        b.click_xpath(&enable).await?;
        b.find("#change-preview").await?;
        b.click("#confirm-action").await?;
        let state = settled_calling_state(b, "Adele Vance").await?;
        ensure!(state == "Enabled", "calling is {state}");
    } else {
        ensure!(state == "Enabled", "calling is {state}");
        b.find_xpath(&format!(
            "{}//a[normalize-space()='Disable Calling']",
            row("Adele Vance")
        ))
        .await?;
    }
    b.wait_text(
        &format!(
            "#{} td[data-label='Microsoft (read back)']",
            row_id(ctx, "Adele Vance").await?
        ),
        "Enterprise voice on",
    )
    .await?;

    // What Microsoft holds, asked through the simulator's Graph API.
    let config = teams_user_configuration(ctx, "Adele Vance").await?;
    ensure!(
        config["isEnterpriseVoiceEnabled"] == true,
        "enterprise voice is off: {config}"
    );
    let numbers: Vec<&str> = config["telephoneNumbers"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|n| n["telephoneNumber"].as_str())
                .collect()
        })
        .unwrap_or_default();
    ensure!(numbers == ["+11000"], "numbers: {numbers:?}");
    let policy = config["effectivePolicyAssignments"]
        .as_array()
        .and_then(|a| {
            a.iter()
                .find(|p| p["policyType"] == "OnlineVoiceRoutingPolicy")
        })
        .and_then(|p| p["policyAssignment"]["displayName"].as_str())
        .unwrap_or_default();
    ensure!(
        policy.contains("US East 2"),
        "voice routing policy: {policy:?} in {config}"
    );
    Ok(())
}

/// The `id` of a user's row (`user-<id>`).
async fn row_id(ctx: &Ctx, name: &str) -> Result<String> {
    Ok(ctx
        .b
        .find_xpath(&row(name))
        .await?
        .attr("id")
        .await?
        .unwrap_or_default())
}
