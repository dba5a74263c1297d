//! Times are shown in the admin's time zone (the browser's, or the one chosen), next to
//! "x ago".

use crate::browser_test;
use crate::harness::Ctx;
use anyhow::{Result, ensure};

browser_test!(times_are_shown_in_the_chosen_time_zone, chosen_time_zone);

async fn chosen_time_zone(ctx: &Ctx) -> Result<()> {
    let b = &ctx.b;
    ctx.sign_in_as_admin().await?;
    // The sign-in is the newest activity; its time is written in UTC for the script.
    let first = "#activity-title ~ ul time[datetime], .activity time[datetime]";
    b.find(first).await?;
    b.select_value("#time-zone", "Asia/Tokyo").await?;
    b.until("the time is shown in Tokyo time", || async {
        Ok(b.text(first).await?.contains("GMT+9"))
    })
    .await?;
    let when = b.text(".activity .when").await?;
    ensure!(
        when.contains("just now") || when.contains("ago"),
        "no 'x ago' next to the time: {when}"
    );
    // The choice stays for the next page.
    b.goto(&ctx.url("/audit")).await?;
    b.until("the Audit log shows Tokyo time", || async {
        Ok(b.text("time[datetime]").await?.contains("GMT+9"))
    })
    .await?;
    Ok(())
}
