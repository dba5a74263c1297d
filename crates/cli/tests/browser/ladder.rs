//! A call's SIP ladder on a phone (390×844): the page does not scroll sideways, every arrow's
//! label is inside the window, whole (wrapped, never cut) and at a readable size, and a message
//! opened shows its text wrapped inside the window.

use crate::browser_test;
use crate::harness::Ctx;
use crate::phone::layout_problems;
use anyhow::{Result, ensure};
use teamline_store::{StoredCall, StoredSipMessage};

browser_test!(a_calls_ladder_is_readable_at_phone_width, ladder, Phone);

const CALL_ID: &str = "a84b4c76e66710@pbx-core-01.contoso.example.net";

/// One message of the ladder: `peer`'s side, toward the gateway or from it.
fn message(
    at_us: i64,
    peer: &str,
    from_gateway: bool,
    label: &str,
    cseq: &str,
) -> StoredSipMessage {
    let (gateway, other) = if peer == "microsoft" {
        ("192.0.2.10:5061", "52.114.148.0:5061")
    } else {
        ("192.0.2.10:5060", "198.51.100.20:5060")
    };
    let (src, dst) = if from_gateway {
        (gateway, other)
    } else {
        (other, gateway)
    };
    let start = if label.starts_with(char::is_numeric) {
        format!("SIP/2.0 {label}")
    } else {
        format!("{label} sip:+11000@contoso.useast2.sbc.example.net:5061;transport=tls SIP/2.0")
    };
    // The long unbroken lines real messages have (Via branches, tags, Record-Route).
    let text = format!(
        "{start}\r\nVia: SIP/2.0/TLS {src};branch=z9hG4bKc0ffee5a1b2c3d4e5f60718293a4b5c6d7e8f9;rport\r\nFrom: \"Alex Wilber\" <sip:+12125550100@contoso.useast2.sbc.example.net>;tag=as6f1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7\r\nTo: <sip:+11000@contoso.useast2.sbc.example.net>\r\nCall-ID: {CALL_ID}\r\nCSeq: {cseq}\r\nRecord-Route: <sip:contoso.useast2.sbc.example.net:5061;transport=tls;lr;r2=on;ftag=as6f1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7;did=3c1.ab21>\r\nContent-Length: 0\r\n\r\n"
    );
    StoredSipMessage {
        call_id: CALL_ID.to_owned(),
        captured_us: at_us,
        peer: peer.to_owned(),
        from_gateway,
        src: src.to_owned(),
        dst: dst.to_owned(),
        transport: if peer == "microsoft" { "tls" } else { "udp" }.to_owned(),
        label: label.to_owned(),
        cseq: cseq.to_owned(),
        message: text,
    }
}

async fn ladder(ctx: &Ctx) -> Result<()> {
    let store = ctx.stack.engine.store();
    let now = store.clock().now_ms();
    store
        .record_call(&StoredCall {
            call_id: CALL_ID.to_owned(),
            enterprise_id: ctx.stack.contoso.id,
            pbx_user_id: None,
            direction: "to_teams".to_owned(),
            device: "1000tm".to_owned(),
            from_number: "+12125550100".to_owned(),
            to_number: "+11000".to_owned(),
            tenant_fqdn: "contoso.useast2.sbc.example.net".to_owned(),
            microsoft_proxy: Some("sip.pstnhub.microsoft.com".to_owned()),
            started_ms: now - 60_000,
            ringing_ms: None,
            answered_ms: None,
            ended_ms: Some(now - 59_000),
            result: "failed".to_owned(),
            sip_code: Some(503),
            codec: None,
            srtp: None,
            observed_ms: now - 59_000,
        })
        .await?;
    let t0 = (now - 60_000) * 1000;
    let messages = [
        message(t0, "pbx", false, "INVITE", "102 INVITE"),
        message(t0 + 900, "pbx", true, "100 Trying", "102 INVITE"),
        message(t0 + 4_100, "microsoft", true, "INVITE", "102 INVITE"),
        message(t0 + 61_000, "microsoft", false, "100 Trying", "102 INVITE"),
        message(
            t0 + 212_000,
            "microsoft",
            false,
            "503 Service Unavailable",
            "102 INVITE",
        ),
        message(t0 + 213_000, "microsoft", true, "ACK", "102 ACK"),
        message(
            t0 + 219_000,
            "pbx",
            true,
            "503 Service Unavailable",
            "102 INVITE",
        ),
        message(t0 + 230_000, "pbx", false, "ACK", "102 ACK"),
    ];
    store.record_sip_messages(&messages).await?;

    ctx.sign_in_as_admin().await?;
    let b = &ctx.b;
    b.goto(&ctx.url(&format!("/calls/{CALL_ID}"))).await?;
    b.wait_text("#call-ladder", "503 Service Unavailable")
        .await?;
    if let Some(p) = layout_problems(b).await? {
        anyhow::bail!("the call's page at 390 px: {p}");
    }
    // Each label: inside the window, not cut off (its text fits its box, wrapped if need be),
    // at least 12 px (below that, phone text counts as illegible); the times too.
    let labels = b
        .client
        .execute(
            "return [...document.querySelectorAll('#call-ladder .ladder-arrow')].map(a => {
               const r = a.getBoundingClientRect();
               const text = document.createRange();
               text.selectNodeContents(a);
               const t = text.getBoundingClientRect();
               const size = parseFloat(getComputedStyle(a).fontSize);
               return [a.textContent.trim(), t.left >= 0 && t.right <= window.innerWidth,
                       t.left >= r.left - 0.5 && t.right <= r.right + 0.5, size];
             });",
            vec![],
        )
        .await?;
    let labels = labels.as_array().cloned().unwrap_or_default();
    ensure!(
        labels.len() == messages.len(),
        "{} arrows for {} messages: {labels:?}",
        labels.len(),
        messages.len()
    );
    for l in &labels {
        ensure!(
            l[1].as_bool() == Some(true) && l[2].as_bool() == Some(true),
            "a ladder label is outside the window or cut off at 390 px: {l}"
        );
        ensure!(
            l[3].as_f64().unwrap_or(0.0) >= 12.0,
            "a ladder label is too small to read: {l}"
        );
    }
    let time_px = b
        .client
        .execute(
            "return parseFloat(getComputedStyle(document.querySelector('#call-ladder .ladder-time')).fontSize)",
            vec![],
        )
        .await?;
    ensure!(
        time_px.as_f64().unwrap_or(0.0) >= 12.0,
        "the ladder's times are too small to read: {time_px}px"
    );
    // Open the Microsoft proxy's 503: the whole message, wrapped inside the window.
    b.click_xpath("//details[contains(@class,'ladder-msg')][5]/summary")
        .await?;
    let shown = b
        .wait_text("details.ladder-msg[open] .sip-message", "SIP/2.0 503")
        .await?;
    ensure!(shown.contains(CALL_ID), "{shown}");
    let fits = b
        .client
        .execute(
            "const m = document.querySelector('details.ladder-msg[open] .sip-message');
             const r = m.getBoundingClientRect();
             return r.left >= 0 && r.right <= window.innerWidth && m.scrollWidth <= m.clientWidth + 1;",
            vec![],
        )
        .await?;
    ensure!(
        fits.as_bool() == Some(true),
        "the opened SIP message runs out of the window at 390 px"
    );
    if let Some(p) = layout_problems(b).await? {
        anyhow::bail!("the call's page at 390 px with a message open: {p}");
    }
    Ok(())
}
