//! The SIP gateway's health on the Dashboard, for the enterprise's own SBC regions only:
//! whether Microsoft's SIP proxies answer the gateway's OPTIONS, the certificate's days left,
//! and what the admin can do when something is wrong (the gateway itself is the service
//! provider's: most fixes are theirs).

use crate::AppState;
use crate::error::PageError;
use crate::reseller::gateway::{CERTIFICATE_WARNING_DAYS, RegionView, region_views};
use teamline_domain::enterprise::Enterprise;
use teamline_store::RegionHealthRecord;

const DAY_MS: i64 = 86_400_000;

/// One of the enterprise's regions as the Dashboard shows it.
pub struct RegionHealth {
    /// The region's name as the enterprise knows it (`US East 2`).
    pub name: String,
    /// `None` until the gateway reported the region.
    pub view: Option<RegionView>,
    /// What it means for calls, and what to do.
    pub advice: String,
    pub advice_class: &'static str,
}

fn same_fqdn(a: &str, b: &str) -> bool {
    a.trim_end_matches('.')
        .eq_ignore_ascii_case(b.trim_end_matches('.'))
}

/// What a region's health means for the enterprise's calls.
fn advice(r: &RegionHealthRecord, now: i64) -> (String, &'static str) {
    let up: Vec<&str> = r
        .proxies
        .iter()
        .filter(|p| p.state == "up")
        .map(|p| p.fqdn.as_str())
        .collect();
    let not_up: Vec<&str> = r
        .proxies
        .iter()
        .filter(|p| p.state != "up")
        .map(|p| p.fqdn.as_str())
        .collect();
    let days_left = r.certificate_expires_ms.map(|at| (at - now) / DAY_MS);
    if days_left.is_some_and(|d| d < 0) || (up.is_empty() && !r.proxies.is_empty()) {
        let why = if days_left.is_some_and(|d| d < 0) {
            "the gateway's certificate has expired, so Microsoft refuses its connections"
        } else {
            "none of Microsoft's SIP proxies answers the gateway"
        };
        return (
            format!(
                "Calls between Teams and the PBX fail in this region: {why}. Ask your service provider to check the gateway (its network to Microsoft and its certificate); meanwhile Teams users here cannot call out or be reached through the PBX."
            ),
            "notice notice-error",
        );
    }
    if let Some(d) = days_left.filter(|d| *d < CERTIFICATE_WARNING_DAYS) {
        return (
            format!(
                "The gateway's certificate expires in {d} days: Microsoft will refuse the gateway's connections after that. Ask your service provider to renew it."
            ),
            "notice notice-warn",
        );
    }
    if !not_up.is_empty() {
        return (
            format!(
                "Calls go through {}; {} does not answer the gateway's OPTIONS. Nothing to do unless it lasts more than an hour: then tell your service provider.",
                up.join(", "),
                not_up.join(", ")
            ),
            "notice notice-warn",
        );
    }
    (
        "Microsoft's SIP proxies answer: calls can flow between Teams and the PBX.".to_owned(),
        "notice notice-ok",
    )
}

/// The enterprise's regions with their health (another enterprise's regions are never read
/// into the page).
pub async fn of_enterprise(
    state: &AppState,
    enterprise: &Enterprise,
) -> Result<Vec<RegionHealth>, PageError> {
    let now = state.store.clock().now_ms();
    let regions = state.store.list_sbc_regions().await?;
    let health = state.store.gateway_health().await?;
    Ok(regions
        .iter()
        .filter(|r| enterprise.sbc_regions.contains(&r.id))
        .map(|r| {
            let record = health
                .iter()
                .find(|h| same_fqdn(&h.base_fqdn, r.gateway_fqdn.as_str()));
            let (advice, advice_class) = match record {
                Some(h) => advice(h, now),
                None => (
                    "The gateway has not reported this region yet: ask your service provider whether calls are set up here.".to_owned(),
                    "notice notice-warn",
                ),
            };
            RegionHealth {
                name: r.name.to_string(),
                view: record.and_then(|h| region_views(std::slice::from_ref(h), now).pop()),
                advice,
                advice_class,
            }
        })
        .collect())
}
