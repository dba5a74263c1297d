//! Steps on the portal's pages, worded like the seed article, and checks on what Microsoft and
//! the PBX hold afterwards (asked through their own APIs, not through Teamline).

use crate::harness::{Browser, Ctx, PATIENCE};
use anyhow::{Context, Result, bail};
use teamline_domain::audit::Actor;
use teamline_domain::pbx_user::PbxUserForm;
use teamline_sim::microsoft::demo as ms;
use teamline_sim::netsapiens::DEMO_API_KEY;

/// "In the main menu, navigate to <item>".
pub async fn menu(b: &Browser, item: &str) -> Result<()> {
    b.click_xpath(&format!(
        "//nav[@aria-label='Main menu']//a[normalize-space()='{item}']"
    ))
    .await?;
    b.wait_text("h1", item).await.map(|_| ())
}

/// Users → SET UP PBX USER.
pub async fn open_setup_form(b: &Browser) -> Result<()> {
    menu(b, "Users").await?;
    b.click_xpath("//a[normalize-space()='SET UP PBX USER']")
        .await?;
    b.wait_text("h1", "SET UP PBX USER").await?;
    b.find("#setup-form").await.map(|_| ())
}

/// The label a Teams user has in the Teams User dropdown.
pub fn teams_user_label(name: &str) -> String {
    format!("{name} ({})", ms::upn_for(name, ms::CONTOSO_DOMAIN))
}

/// Chooses the SIP User and waits for Teamline's answer (devices reset, Phone Number filled).
pub async fn choose_sip_user(b: &Browser, ext: &str) -> Result<()> {
    b.select_value("#sip_user", ext).await?;
    b.find("#add-new-device:not([disabled])").await?;
    Ok(())
}

/// Phone Number: types `typed` and selects the offered `offered` (the seed's "type in 11000 and
/// select it").
pub async fn type_and_pick_phone(b: &Browser, typed: &str, offered: &str) -> Result<()> {
    b.fill("#phone_number", typed).await?;
    b.click(&format!(
        "#phone-options [role='option'][data-value='{offered}']"
    ))
    .await?;
    b.wait_value("#phone_number", offered).await
}

/// User Devices → Add New Device → SELECT next to `device`.
pub async fn add_and_select_device(b: &Browser, device: &str) -> Result<()> {
    b.click("#add-new-device").await?;
    b.click(&format!("#user-devices button[data-device='{device}']"))
        .await?;
    b.wait_text("#selected-device", device).await.map(|_| ())
}

/// Clicks Save User and waits for the page that follows.
pub async fn save_user(b: &Browser) -> Result<()> {
    b.click("#save-user").await?;
    b.until("the form was submitted", || async {
        let path = b.path().await?;
        Ok(path == "/users" || b.exists("#form-errors").await?)
    })
    .await
}

/// The XPath of a user's row on the Users page.
pub fn row(name: &str) -> String {
    format!("//tr[.//strong[normalize-space()='{name}']]")
}

/// Waits until the row's change is no longer on its way to Microsoft, and returns the
/// Calling badge's words.
pub async fn settled_calling_state(b: &Browser, name: &str) -> Result<String> {
    let badge = format!("{}/td[@data-label='Calling']/span[1]", row(name));
    let started = std::time::Instant::now();
    loop {
        let seen = match b.find_xpath(&badge).await {
            Ok(e) => e.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        if seen.contains("failed") {
            bail!("{name}'s change failed: {seen}");
        }
        if seen == "Enabled" || seen == "Disabled" {
            return Ok(seen);
        }
        if started.elapsed() > PATIENCE {
            bail!("timed out waiting for {name}'s calling state to settle; last: {seen:?}");
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// Opens the ⋮ menu of a user's row.
pub async fn open_row_menu(b: &Browser, name: &str) -> Result<()> {
    b.click_xpath(&format!("{}//summary", row(name))).await?;
    b.find_xpath(&format!("{}//details[@open]", row(name)))
        .await
        .map(|_| ())
}

/// A Microsoft Graph application token for Contoso from the simulated Entra ID.
async fn graph_token(ctx: &Ctx) -> Result<String> {
    let r: serde_json::Value = reqwest::Client::new()
        .post(format!(
            "{}/{}/oauth2/v2.0/token",
            ctx.stack.microsoft.url,
            ms::CONTOSO_TENANT_ID
        ))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", ms::TEAMLINE_APP_CLIENT_ID),
            ("client_secret", ms::TEAMLINE_APP_CLIENT_SECRET),
            ("scope", "https://graph.microsoft.com/.default"),
        ])
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    r["access_token"]
        .as_str()
        .map(str::to_owned)
        .context("no access_token in the token response")
}

/// `GET /v1.0/admin/teams/userConfigurations/{id}` from the simulated Graph.
pub async fn teams_user_configuration(ctx: &Ctx, name: &str) -> Result<serde_json::Value> {
    let token = graph_token(ctx).await?;
    let id = ms::contoso_user_id(name);
    let body: serde_json::Value = reqwest::Client::new()
        .get(format!(
            "{}/v1.0/admin/teams/userConfigurations/{id}",
            ctx.stack.microsoft.url
        ))
        .bearer_auth(token)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    // The entity arrives wrapped in `value`, as Microsoft's admin/teams endpoints send it.
    Ok(match body.get("value") {
        Some(v) if v.is_object() => v.clone(),
        _ => body,
    })
}

/// The device handles of an extension, from the simulated NetSapiens API.
pub async fn pbx_devices(ctx: &Ctx, ext: &str) -> Result<Vec<String>> {
    let list: serde_json::Value = reqwest::Client::new()
        .get(format!(
            "{}/ns-api/v2/domains/contoso/users/{ext}/devices",
            ctx.stack.pbx.base_url
        ))
        .bearer_auth(DEMO_API_KEY)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok(list
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|d| d["device"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default())
}

/// Sets a user up through the engine (what Save User does), to prepare a scenario quickly.
pub async fn set_up_directly(ctx: &Ctx, name: &str, ext: &str, device: &str) -> Result<()> {
    let admin = Actor::EnterpriseAdmin(ms::CONTOSO_ADMIN_UPN.into());
    let who = Pairing {
        teams_user: ms::contoso_user_id(name),
        ext,
        device,
    };
    set_up_in(&ctx.stack.engine, ctx.stack.contoso.id, &admin, who).await
}

/// A Teams user (object id) and the extension and device to pair them with.
pub struct Pairing<'a> {
    pub teams_user: String,
    pub ext: &'a str,
    pub device: &'a str,
}

/// Save User through the engine in enterprise `e`: its first PBX location, "US East 2", the
/// number `+1<ext>`.
pub async fn set_up_in(
    engine: &teamline_engine::Engine,
    e: teamline_domain::ids::EnterpriseId,
    admin: &Actor,
    who: Pairing<'_>,
) -> Result<()> {
    let store = engine.store();
    let location = store.list_pbx_locations(e).await?[0].id;
    let route = store
        .list_voice_routes(e)
        .await?
        .into_iter()
        .find(|r| r.name.as_str() == "US East 2")
        .context("no US East 2 route")?;
    let form = PbxUserForm {
        pbx_location: location.to_string(),
        voice_route: route.id.to_string(),
        teams_user: who.teams_user,
        sip_user: who.ext.into(),
        phone_number: format!("1{}", who.ext),
        device: who.device.into(),
        ..PbxUserForm::new_with_defaults()
    };
    engine
        .save_pbx_user(e, admin, &form, None)
        .await
        .map_err(|err| anyhow::anyhow!("setting up {}: {err}", who.ext))?;
    Ok(())
}

/// Signs in to the reseller portal as the demo's Northwind Voice admin, with the form.
pub async fn reseller_sign_in(ctx: &Ctx) -> Result<()> {
    use teamline_testkit::demo::{RESELLER_ADMIN, RESELLER_PASSWORD};
    let b = &ctx.b;
    b.goto(&ctx.url("/reseller/sign-in")).await?;
    b.fill("#email", RESELLER_ADMIN).await?;
    b.fill("#password", RESELLER_PASSWORD).await?;
    b.click("button[type=submit]").await?;
    b.wait_path("/reseller/enterprises").await
}
