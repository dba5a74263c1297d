//! The PBX location form in the browser: styled inputs that show the whole API Base URL, and
//! only the fields of the chosen API authentication.

use crate::browser_test;
use crate::harness::{Browser, Ctx};
use crate::pages::menu;
use anyhow::{Result, ensure};

browser_test!(
    pbx_form_shows_the_whole_url_and_only_the_chosen_methods_fields,
    pbx_form
);

async fn displayed(b: &Browser, css: &str) -> Result<bool> {
    Ok(b.find(css).await?.is_displayed().await?)
}

async fn pbx_form(ctx: &Ctx) -> Result<()> {
    let b = &ctx.b;
    ctx.sign_in_as_admin().await?;
    menu(b, "PBX").await?;
    b.click_xpath("//a[normalize-space()='Edit']").await?;
    b.wait_text("h1", "Edit PBX Location").await?;

    // The URL field is styled like the others and wide enough for the whole stored URL.
    let url = b.value("#api_base_url").await?;
    let fits = b
        .client
        .execute(
            "const i = document.getElementById('api_base_url'); \
             const n = document.getElementById('name'); \
             return [i.scrollWidth <= i.clientWidth, i.getBoundingClientRect().width, \
                     getComputedStyle(i).borderTopStyle === getComputedStyle(n).borderTopStyle \
                       && getComputedStyle(i).paddingLeft === getComputedStyle(n).paddingLeft];",
            vec![],
        )
        .await?;
    ensure!(fits[0] == true, "the API Base URL {url} is cut off");
    ensure!(
        fits[1].as_f64().unwrap_or(0.0) > 500.0,
        "the API Base URL field is narrow: {}",
        fits[1]
    );
    ensure!(
        fits[2] == true,
        "the API Base URL field is not styled like the others"
    );

    // API key chosen: the key field, no OAuth field.
    ensure!(displayed(b, "#api_key").await?);
    for oauth in [
        "#oauth_client_id",
        "#oauth_client_secret",
        "#oauth_username",
        "#oauth_password",
    ] {
        ensure!(!displayed(b, oauth).await?, "{oauth} shown for an API key");
    }
    // OAuth chosen: its four fields, no key field.
    b.click("input[name='api_auth'][value='oauth']").await?;
    for oauth in [
        "#oauth_client_id",
        "#oauth_client_secret",
        "#oauth_username",
        "#oauth_password",
    ] {
        ensure!(displayed(b, oauth).await?, "{oauth} hidden for OAuth");
    }
    ensure!(
        !displayed(b, "#api_key").await?,
        "the API key shown for OAuth"
    );
    // And back.
    b.click("input[name='api_auth'][value='api_key']").await?;
    ensure!(displayed(b, "#api_key").await?);
    ensure!(!displayed(b, "#oauth_client_id").await?);

    // The form says next to the URL what a stored secret is bound to.
    let help = b.text("#help-api_base_url").await?;
    ensure!(help.contains("needed again"), "{help}");
    Ok(())
}
