//! Keyboard and screen readers: axe-core (the npm package `scripts/test.sh` installs into
//! `scripts/axe/`, injected here, never fetched from a CDN) on every page finds no serious or
//! critical violation.

use crate::browser_test;
use crate::harness::{Browser, Ctx};
use crate::phone::every_page;
use anyhow::{Context, Result, ensure};

/// axe-core's script, as `npm ci --prefix scripts/axe` installs it.
pub fn axe_source() -> Result<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../scripts/axe/node_modules/axe-core/axe.min.js");
    std::fs::read_to_string(&path).with_context(|| {
        format!(
            "cannot read {}: run scripts/test.sh (or `npm ci --prefix scripts/axe`) to install axe-core",
            path.display()
        )
    })
}

/// The serious and critical violations axe-core finds on the open page, one line each.
pub async fn violations(b: &Browser, axe: &str) -> Result<Vec<String>> {
    b.client
        .execute(&format!("{axe}\nreturn typeof window.axe;"), vec![])
        .await?;
    let found = b
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             window.axe.run(document, { resultTypes: ['violations'] })
               .then(r => done(r.violations
                 .filter(v => v.impact === 'serious' || v.impact === 'critical')
                 .map(v => v.impact + ' ' + v.id + ': ' + v.help + ' at '
                   + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | '))))
               .catch(e => done(['axe-core failed: ' + e]));",
            vec![],
        )
        .await?;
    Ok(found
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default())
}

browser_test!(
    axe_finds_no_serious_violation_on_any_page,
    axe_on_every_page
);

async fn axe_on_every_page(ctx: &Ctx) -> Result<()> {
    let axe = axe_source()?;
    let b = &ctx.b;
    let mut problems = Vec::new();
    b.goto(&ctx.url("/sign-in")).await?;
    for v in violations(b, &axe).await? {
        problems.push(format!("/sign-in: {v}"));
    }
    ctx.sign_in_as_admin().await?;
    for page in every_page(ctx).await? {
        b.goto(&ctx.url(&page)).await?;
        b.find("h1").await?;
        for v in violations(b, &axe).await? {
            problems.push(format!("{page}: {v}"));
        }
    }
    ensure!(problems.is_empty(), "axe-core:\n{}", problems.join("\n"));
    Ok(())
}

/// Where the keyboard focus is: the focused element's id (or tag) and whether it is inside
/// the element `within`.
/// Where the focus is and whether it is inside `within`, waiting up to 5 s for it to get
/// there: the page moves it once htmx has settled, a moment after the new content shows.
async fn focus(b: &Browser, within: &str) -> Result<(String, bool)> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let (id, inside) = focus_now(b, within).await?;
        if inside || std::time::Instant::now() > deadline {
            return Ok((id, inside));
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

async fn focus_now(b: &Browser, within: &str) -> Result<(String, bool)> {
    let v = b
        .client
        .execute(
            "const a = document.activeElement;
             const w = document.querySelector(arguments[0]);
             return [a ? (a.id || a.tagName) : '', !!(a && w && w.contains(a))];",
            vec![serde_json::json!(within)],
        )
        .await?;
    Ok((
        v[0].as_str().unwrap_or_default().to_owned(),
        v[1].as_bool().unwrap_or(false),
    ))
}

browser_test!(
    keyboard_users_keep_their_place_and_hear_what_to_fix,
    keyboard
);

async fn keyboard(ctx: &Ctx) -> Result<()> {
    use crate::pages::{choose_sip_user, open_setup_form};
    set_up_directly_for_keyboard(ctx).await?;
    let b = &ctx.b;
    ctx.sign_in_as_admin().await?;
    // The first thing Tab reaches is the skip link.
    let first = b
        .client
        .execute(
            "return document.querySelector('a[href], button, input:not([type=hidden]), select').className",
            vec![],
        )
        .await?;
    ensure!(
        first.as_str() == Some("skip-link"),
        "first focusable: {first}"
    );
    // A disabled menu entry (one of a later release) says why, in words on the page.
    for entry in b
        .client
        .find_all(fantoccini::Locator::Css(
            "nav[aria-label='Main menu'] .disabled",
        ))
        .await?
    {
        let text = entry.text().await?;
        ensure!(text.contains("(later release)"), "{text}");
    }

    // A failed Save User puts the focus on the summary, which links to each field.
    open_setup_form(b).await?;
    b.click("#save-user").await?;
    b.find("#form-errors a[href='#voice_route']").await?;
    let (id, _) = focus(b, "#form-errors").await?;
    ensure!(
        id == "form-errors",
        "after a failed save the focus is on {id}"
    );

    // Add New Device and "Use 1002tm" keep the focus in User Devices.
    choose_sip_user(b, "1002").await?;
    b.click("#add-new-device").await?;
    b.wait_text("#create-device", "Use 1002tm").await?;
    let (id, inside) = focus(b, "#user-devices").await?;
    ensure!(inside, "after Add New Device the focus is on {id}");
    b.click("#create-device").await?;
    b.find("#emergency_address").await?;
    let (id, inside) = focus(b, "#user-devices").await?;
    ensure!(inside, "after Use 1002tm the focus is on {id}");

    // The ⋮ menu is a plain list of buttons (no role="menu" without its keyboard contract);
    // Escape closes it and returns to its button.
    b.goto(&ctx.url("/users")).await?;
    ensure!(
        !b.exists("[role='menu'], [role='menuitem']").await?,
        "a role=menu without arrow keys"
    );
    let summary = b.find("details.actions-menu summary").await?;
    summary.click().await?;
    ensure!(
        b.exists("details.actions-menu[open]").await?,
        "the menu did not open"
    );
    summary.send_keys("\u{E00C}").await?;
    b.until("Escape closed the menu", || async {
        Ok(!b.exists("details.actions-menu[open]").await?)
    })
    .await?;
    let (id, _) = focus(b, "details.actions-menu").await?;
    ensure!(id == "SUMMARY", "after Escape the focus is on {id}");
    Ok(())
}

async fn set_up_directly_for_keyboard(ctx: &Ctx) -> Result<()> {
    crate::pages::set_up_directly(ctx, "Adele Vance", "1000", "1000tm").await
}
