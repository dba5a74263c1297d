//! Every page at phone width (390×844): nothing scrolls sideways, the top bar does not cover
//! the page, the menu and the Users table fit.

use crate::browser_test;
use crate::harness::{Browser, Ctx};
use crate::pages::set_up_directly;
use anyhow::{Context, Result, ensure};

/// Every page of the Enterprise portal a signed-in admin can open, with a PBX user to show
/// (Adele Vance on 1000) and the disabled Debra Berger of the demo data.
pub async fn every_page(ctx: &Ctx) -> Result<Vec<String>> {
    set_up_directly(ctx, "Adele Vance", "1000", "1000tm").await?;
    let b = &ctx.b;
    b.goto(&ctx.url("/users")).await?;
    let row = b.find("tr[id^='user-']").await?;
    let id = row
        .attr("id")
        .await?
        .and_then(|i| i.strip_prefix("user-").map(str::to_owned))
        .context("a user row without an id")?;
    Ok([
        "/dashboard".to_owned(),
        "/users".to_owned(),
        "/users?tab=disabled".to_owned(),
        "/users?tab=deleted".to_owned(),
        "/users?tab=licensed&state=failed".to_owned(),
        "/users/new".to_owned(),
        format!("/users/{id}/edit"),
        format!("/users/{id}/move"),
        "/troubleshoot".to_owned(),
        "/troubleshoot?q=Cline".to_owned(),
        "/pbx".to_owned(),
        "/audit".to_owned(),
        "/bulk-upload".to_owned(),
    ]
    .to_vec())
}

/// How far the page reaches beyond the window sideways, and whether the top bar overlaps the
/// page below it.
pub async fn layout_problems(b: &Browser) -> Result<Option<String>> {
    let v = b
        .client
        .execute(
            "const d = document.documentElement;
             const wide = [...document.querySelectorAll('body *')]
               .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1
                         && getComputedStyle(e).position !== 'fixed'
                         && !e.closest('.panel, .tabs, .sr-only, .skip-link, thead'))
               .slice(0, 3).map(e => e.tagName + (e.id ? '#' + e.id : '') + '.' + e.className);
             const bar = document.querySelector('.topbar');
             const main = document.querySelector('main');
             const overlap = bar && main && bar.getBoundingClientRect().bottom > main.getBoundingClientRect().top + 1;
             return [d.scrollWidth, window.innerWidth, wide.join(', '), !!overlap];",
            vec![],
        )
        .await?;
    let scroll = v[0].as_u64().unwrap_or(0);
    let inner = v[1].as_u64().unwrap_or(0);
    let wide = v[2].as_str().unwrap_or_default();
    if scroll > inner {
        return Ok(Some(format!(
            "the page is {scroll}px wide in a {inner}px window (too wide: {wide})"
        )));
    }
    if v[3].as_bool().unwrap_or(false) {
        return Ok(Some("the top bar covers the top of the page".to_owned()));
    }
    Ok(None)
}

browser_test!(every_page_is_usable_at_phone_width, phone_width, Phone);

async fn phone_width(ctx: &Ctx) -> Result<()> {
    let b = &ctx.b;
    b.goto(&ctx.url("/sign-in")).await?;
    // A phone lays a page out 980 px wide unless the page asks for the device's width.
    let width = b
        .client
        .execute(
            "return [window.innerWidth, window.devicePixelRatio]",
            vec![],
        )
        .await?;
    ensure!(
        width[0].as_u64() == Some(390) && width[1].as_f64() == Some(3.0),
        "the phone screen is [width, pixel ratio] {width}"
    );
    if let Some(p) = layout_problems(b).await? {
        anyhow::bail!("/sign-in: {p}");
    }
    ctx.sign_in_as_admin().await?;
    let mut problems = Vec::new();
    for page in every_page(ctx).await? {
        b.goto(&ctx.url(&page)).await?;
        b.find("h1").await?;
        if let Some(p) = layout_problems(b).await? {
            problems.push(format!("{page}: {p}"));
        }
    }
    ensure!(problems.is_empty(), "at 390×844:\n{}", problems.join("\n"));
    // The Users table became cards: each row's ⋮ menu is inside the window.
    b.goto(&ctx.url("/users")).await?;
    let right = b
        .client
        .execute(
            "return document.querySelector('details.actions-menu summary').getBoundingClientRect().right",
            vec![],
        )
        .await?;
    ensure!(
        right.as_f64().unwrap_or(f64::MAX) <= 390.0,
        "the ⋮ menu is off screen at {right}"
    );
    Ok(())
}
