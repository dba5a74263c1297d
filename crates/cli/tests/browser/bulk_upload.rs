//! Bulk Upload in the portal: the admin uploads a CSV file with a good and a bad row, reads the
//! bad row's problem by column, fixes the file, uploads it again, applies it while the page
//! shows the progress, and finds both users configured on the Users page. The page of a file
//! with problems also fits a phone's screen.

use crate::browser_test;
use crate::harness::Ctx;
use crate::pages::*;
use crate::phone::layout_problems;
use anyhow::{Result, ensure};
use teamline_sim::microsoft::demo as ms;
use teamline_sim::netsapiens::CONTOSO_HQ_ADDRESS_ID;

browser_test!(
    a_csv_with_a_bad_row_is_fixed_uploaded_again_and_applied,
    bulk_upload
);

const HEADER: &str = "Teams User,SIP User,Phone Number,Available Voice Routes,Emergency Address";

fn row(name: &str, ext: &str, number: &str) -> String {
    format!(
        "{},{ext},{number},US East 2,{CONTOSO_HQ_ADDRESS_ID}",
        ms::upn_for(name, ms::CONTOSO_DOMAIN)
    )
}

/// Chooses `file` in the upload form and uploads it; waits for the import's page.
async fn upload(ctx: &Ctx, file: &std::path::Path) -> Result<()> {
    let b = &ctx.b;
    let before = b.path().await?;
    b.find("#bulk-file")
        .await?
        .send_keys(&file.display().to_string())
        .await?;
    b.click("#upload-file").await?;
    b.until("the import's page opens", || async {
        let path = b.path().await?;
        Ok(path != before && path.starts_with("/bulk-upload/"))
    })
    .await
}

async fn bulk_upload(ctx: &Ctx) -> Result<()> {
    let b = &ctx.b;
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("users.csv");
    ctx.sign_in_as_admin().await?;
    menu(b, "Bulk Upload").await?;
    b.find("#template-download").await?;

    std::fs::write(
        &file,
        format!(
            "{HEADER}\n{}\n{}\n",
            row("Megan Bowen", "1011", "+14255551011"),
            row("Lee Gu", "1008", "12ab")
        ),
    )?;
    upload(ctx, &file).await?;
    b.wait_text("#import-verdict", "1 of 2 rows cannot be set up")
        .await?;
    let problem = b
        .text("#import-problems li[data-row='3'] li[data-field='Phone Number']")
        .await?;
    ensure!(problem.starts_with("Phone Number:"), "{problem}");
    ensure!(
        !b.exists("#apply-import").await?,
        "a file with a bad row cannot be applied"
    );
    let bad_page = b.path().await?;

    // The fixed file, uploaded from the page that listed the problem.
    std::fs::write(
        &file,
        format!(
            "{HEADER}\n{}\n{}\n",
            row("Megan Bowen", "1011", "+14255551011"),
            row("Lee Gu", "1008", "+14255551008")
        ),
    )?;
    upload(ctx, &file).await?;
    b.wait_text("#import-verdict", "All 2 rows can be set up")
        .await?;
    b.click("#apply-import").await?;
    b.wait_text("#import-verdict", "Applied: 2 of 2 users set up")
        .await?;
    b.find("#result-download").await?;

    menu(b, "Users").await?;
    for name in ["Megan Bowen", "Lee Gu"] {
        let state = settled_calling_state(b, name).await?;
        ensure!(state == "Enabled", "{name}: {state}");
    }

    // The page of the file with a problem, on a phone.
    let phone = ctx.phone_browser().await?;
    phone.goto(&ctx.url(&bad_page)).await?;
    phone.find("#import-problems").await?;
    let fits = layout_problems(&phone).await;
    phone.client.close().await?;
    if let Some(p) = fits? {
        anyhow::bail!("{bad_page} at 390×844: {p}");
    }
    Ok(())
}
