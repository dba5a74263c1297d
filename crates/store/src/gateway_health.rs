//! The SIP gateway's Microsoft side, per region, as the instance that drives the gateway last
//! read it: each of Microsoft's SIP proxies (up or not, since when) and the region's TLS
//! certificate expiry. Kept in the store so every instance's pages and `/metrics` show it.

use crate::StoreResult;
use async_trait::async_trait;

/// One of Microsoft's SIP proxies of a region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyHealthRecord {
    /// Microsoft's name for it (`sip.pstnhub.microsoft.com`).
    pub fqdn: String,
    /// Where the gateway sends to (`sip:…:5061;transport=tls`).
    pub uri: String,
    /// `up`, `down`, `trying` or `disabled` (what Kamailio's dispatcher says).
    pub state: String,
    /// Since when it has been in this state (as far as Teamline watched).
    pub since_ms: i64,
}

/// One SBC region of the gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionHealthRecord {
    pub region: String,
    pub base_fqdn: String,
    pub proxies: Vec<ProxyHealthRecord>,
    pub certificate_expires_ms: Option<i64>,
    /// Why the certificate could not be read.
    pub certificate_problem: Option<String>,
    pub observed_ms: i64,
}

#[async_trait]
pub trait GatewayHealthStore: Send + Sync + 'static {
    /// Replaces the stored health with `regions` (read at `observed_ms` of each). A proxy whose
    /// state did not change keeps its stored `since_ms`.
    async fn record_gateway_health(&self, regions: &[RegionHealthRecord]) -> StoreResult<()>;
    /// Every region by name, its proxies by name.
    async fn gateway_health(&self) -> StoreResult<Vec<RegionHealthRecord>>;
}
