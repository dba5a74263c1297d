//! Gateway: the health of the SIP gateway's Microsoft side, per SBC region, as the instance
//! that drives the gateway last read it: each of Microsoft's SIP proxies (answering the
//! gateway's OPTIONS or not, since when) and the region's TLS certificate (days left, a warning
//! under 30 days).

use super::{ResellerAdmin, ResellerLayout, ResellerMenu};
use crate::AppState;
use crate::error::PageError;
use crate::routes::{Routes, get};
use crate::views::{ago, iso, timestamp};
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use teamline_store::RegionHealthRecord;

pub fn routes() -> Routes {
    Routes::new().route("/reseller/gateway", get(page))
}

/// Under this many days left, a certificate is shown as a warning.
pub const CERTIFICATE_WARNING_DAYS: i64 = 30;
const DAY_MS: i64 = 86_400_000;

pub struct ProxyView {
    pub fqdn: String,
    pub state: &'static str,
    pub class: &'static str,
    pub since: String,
    pub since_iso: String,
    pub since_ago: String,
}

pub struct RegionView {
    pub region: String,
    pub base_fqdn: String,
    pub proxies: Vec<ProxyView>,
    pub certificate: String,
    pub certificate_class: &'static str,
    pub observed: String,
}

/// A proxy's state in words, with its badge.
fn state(s: &str) -> (&'static str, &'static str) {
    match s {
        "up" => ("Up", "badge badge-ok"),
        "down" => ("Down", "badge badge-bad"),
        "trying" => ("Coming back (probing)", "badge badge-warn"),
        "disabled" => ("Taken out of service", "badge badge-warn"),
        _ => ("Unknown", "badge badge-warn"),
    }
}

/// The certificate line and its badge.
fn certificate(r: &RegionHealthRecord, now: i64) -> (String, &'static str) {
    match (r.certificate_expires_ms, &r.certificate_problem) {
        (Some(at), _) if at <= now => (
            format!(
                "Expired on {}: Microsoft refuses the gateway's TLS connections. Renew it now.",
                timestamp(at)
            ),
            "badge badge-bad",
        ),
        (Some(at), _) => {
            let days = (at - now) / DAY_MS;
            let text = format!("{days} days left (expires {})", timestamp(at));
            if days < CERTIFICATE_WARNING_DAYS {
                (format!("{text}: renew it soon"), "badge badge-warn")
            } else {
                (text, "badge badge-ok")
            }
        }
        (None, Some(problem)) => (format!("Cannot be read: {problem}"), "badge badge-bad"),
        (None, None) => ("Not known".to_owned(), "badge badge-warn"),
    }
}

pub fn region_views(regions: &[RegionHealthRecord], now: i64) -> Vec<RegionView> {
    regions
        .iter()
        .map(|r| {
            let (certificate, certificate_class) = certificate(r, now);
            RegionView {
                region: r.region.clone(),
                base_fqdn: r.base_fqdn.clone(),
                proxies: r
                    .proxies
                    .iter()
                    .map(|p| {
                        let (state, class) = state(&p.state);
                        ProxyView {
                            fqdn: p.fqdn.clone(),
                            state,
                            class,
                            since: timestamp(p.since_ms),
                            since_iso: iso(p.since_ms),
                            since_ago: ago(now, p.since_ms),
                        }
                    })
                    .collect(),
                certificate,
                certificate_class,
                observed: ago(now, r.observed_ms),
            }
        })
        .collect()
}

#[derive(Template, WebTemplate)]
#[template(path = "reseller/gateway.html")]
struct GatewayPage {
    layout: ResellerLayout,
    regions: Vec<RegionView>,
}

async fn page(
    State(state): State<AppState>,
    admin: ResellerAdmin,
) -> Result<GatewayPage, PageError> {
    let now = state.store.clock().now_ms();
    let regions = state.store.gateway_health().await?;
    Ok(GatewayPage {
        layout: admin.layout(ResellerMenu::Gateway),
        regions: region_views(&regions, now),
    })
}
