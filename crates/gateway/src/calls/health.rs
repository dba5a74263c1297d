//! The health of a node's Microsoft side, per region: whether each of Microsoft's SIP proxies
//! answers the OPTIONS keep-alives (what Kamailio's dispatcher knows), and when the region's
//! TLS certificate expires. Shown to the operator and resellers, and served in `/metrics`.

use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Deserialize;
use serde_json::Value;

use crate::config::DirectRouting;
use crate::rpc::{RpcClient, RpcError};

/// What Kamailio's dispatcher says of one of Microsoft's proxies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProxyState {
    /// It answers OPTIONS; calls go to it (in priority order).
    Up,
    /// It stopped answering OPTIONS (or the TLS connection to it fails); no call is sent to
    /// it until it answers again.
    Down,
    /// Being probed after it came back, not yet used.
    Trying,
    /// Taken out of service by hand.
    Disabled,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ProxyHealth {
    pub region: String,
    /// Microsoft's name for it (`sip.pstnhub.microsoft.com`).
    pub fqdn: String,
    /// Where the gateway sends to (`sip:…:5061;transport=tls`).
    pub uri: String,
    pub state: ProxyState,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RegionHealth {
    pub region: String,
    pub base_fqdn: String,
    pub proxies: Vec<ProxyHealth>,
    /// When the region's certificate stops being valid; `None` when it cannot be read.
    pub certificate_expires: Option<SystemTime>,
    /// Why the certificate could not be read.
    pub certificate_problem: Option<String>,
}

impl RegionHealth {
    /// At least one of Microsoft's proxies takes calls.
    pub fn can_call(&self) -> bool {
        self.proxies.iter().any(|p| p.state == ProxyState::Up)
    }

    /// Time left on the certificate (zero once expired).
    pub fn certificate_valid_for(&self, now: SystemTime) -> Option<Duration> {
        self.certificate_expires
            .map(|t| t.duration_since(now).unwrap_or(Duration::ZERO))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HealthError {
    #[error(transparent)]
    Rpc(#[from] RpcError),
    #[error(
        "the gateway's dispatcher answered dispatcher.list with something Teamline does not understand: {0}"
    )]
    Decode(String),
}

/// Every region of `dr`, with its proxies' state as the node's Kamailio reports it.
pub async fn region_health(
    rpc: &RpcClient,
    dr: &DirectRouting,
) -> Result<Vec<RegionHealth>, HealthError> {
    let proxies = microsoft_proxies(rpc).await?;
    Ok(dr
        .regions
        .iter()
        .map(|r| {
            let (expires, problem) = match certificate_expiry(&r.certificate.cert_pem) {
                Ok(t) => (Some(t), None),
                Err(e) => (None, Some(e)),
            };
            RegionHealth {
                region: r.name.clone(),
                base_fqdn: r.base_fqdn.clone(),
                proxies: proxies
                    .iter()
                    .filter(|p| p.region == r.name)
                    .cloned()
                    .collect(),
                certificate_expires: expires,
                certificate_problem: problem,
            }
        })
        .collect())
}

/// `dispatcher.list`: every proxy with its region and FQDN (from the attributes the rendered
/// `dispatcher.list` file gives each one) and its state.
pub async fn microsoft_proxies(rpc: &RpcClient) -> Result<Vec<ProxyHealth>, HealthError> {
    #[derive(Deserialize)]
    struct List {
        #[serde(rename = "RECORDS", default)]
        records: Vec<Record>,
    }
    #[derive(Deserialize)]
    struct Record {
        #[serde(rename = "SET")]
        set: Set,
    }
    #[derive(Deserialize)]
    struct Set {
        #[serde(rename = "TARGETS", default)]
        targets: Vec<Target>,
    }
    #[derive(Deserialize)]
    struct Target {
        #[serde(rename = "DEST")]
        dest: Dest,
    }
    #[derive(Deserialize)]
    struct Dest {
        #[serde(rename = "URI")]
        uri: String,
        #[serde(rename = "FLAGS")]
        flags: String,
        #[serde(rename = "ATTRS", default)]
        attrs: Value,
    }
    let v = rpc.call_value("dispatcher.list", vec![]).await?;
    let list: List = serde_json::from_value(v).map_err(|e| HealthError::Decode(e.to_string()))?;
    Ok(list
        .records
        .into_iter()
        .flat_map(|r| r.set.targets)
        .map(|t| {
            let body = t
                .dest
                .attrs
                .get("BODY")
                .and_then(Value::as_str)
                .unwrap_or("");
            let attr = |name: &str| {
                body.split(';')
                    .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
                    .unwrap_or("")
                    .to_owned()
            };
            ProxyHealth {
                region: attr("region"),
                fqdn: attr("fqdn"),
                uri: t.dest.uri,
                state: state_of_flags(&t.dest.flags),
            }
        })
        .collect())
}

/// Dispatcher's flags: the first letter is the state (Active, Inactive, Disabled, Trying),
/// the second whether it is probed.
fn state_of_flags(flags: &str) -> ProxyState {
    match flags.chars().next() {
        Some('A') => ProxyState::Up,
        Some('T') => ProxyState::Trying,
        Some('D') => ProxyState::Disabled,
        _ => ProxyState::Down,
    }
}

/// The `notAfter` of the first certificate in a PEM file.
pub fn certificate_expiry(path: &Path) -> Result<SystemTime, String> {
    let pem = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let (_, pem) = x509_parser::pem::parse_x509_pem(&pem)
        .map_err(|e| format!("{} is not a PEM certificate: {e}", path.display()))?;
    let cert = pem
        .parse_x509()
        .map_err(|e| format!("{} holds no valid X.509 certificate: {e}", path.display()))?;
    let secs = cert.validity().not_after.timestamp();
    let secs =
        u64::try_from(secs).map_err(|_| format!("{} expires before 1970", path.display()))?;
    Ok(UNIX_EPOCH + Duration::from_secs(secs))
}

/// Prometheus text for the regions: one gauge per proxy (1 = takes calls) and the seconds
/// left on each region's certificate.
pub fn metrics(regions: &[RegionHealth], now: SystemTime) -> String {
    let mut out = String::new();
    out.push_str(
        "# HELP teamline_gateway_microsoft_proxy_up Whether a Microsoft SIP proxy answers the gateway's OPTIONS (1) or not (0).\n# TYPE teamline_gateway_microsoft_proxy_up gauge\n",
    );
    for r in regions {
        for p in &r.proxies {
            let _ = writeln!(
                out,
                "teamline_gateway_microsoft_proxy_up{{region=\"{}\",proxy=\"{}\"}} {}",
                label(&r.region),
                label(&p.fqdn),
                u8::from(p.state == ProxyState::Up)
            );
        }
    }
    out.push_str(
        "# HELP teamline_gateway_certificate_expiry_seconds Seconds until the region's SBC certificate expires.\n# TYPE teamline_gateway_certificate_expiry_seconds gauge\n",
    );
    for r in regions {
        if let Some(left) = r.certificate_valid_for(now) {
            let _ = writeln!(
                out,
                "teamline_gateway_certificate_expiry_seconds{{region=\"{}\",fqdn=\"{}\"}} {}",
                label(&r.region),
                label(&r.base_fqdn),
                left.as_secs()
            );
        }
    }
    out
}

/// A Prometheus label value: backslash, quote and newline escaped.
fn label(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dispatcher_flags_become_states() {
        assert_eq!(state_of_flags("AP"), ProxyState::Up);
        assert_eq!(state_of_flags("IP"), ProxyState::Down);
        assert_eq!(state_of_flags("TP"), ProxyState::Trying);
        assert_eq!(state_of_flags("DX"), ProxyState::Disabled);
    }

    #[test]
    fn metrics_name_each_proxy_and_certificate() {
        let now = UNIX_EPOCH + Duration::from_secs(1_000);
        let r = RegionHealth {
            region: "us-east-2".to_owned(),
            base_fqdn: "use2.sbc.example.net".to_owned(),
            proxies: vec![ProxyHealth {
                region: "us-east-2".to_owned(),
                fqdn: "sip.pstnhub.microsoft.com".to_owned(),
                uri: "sip:sip.pstnhub.microsoft.com:5061;transport=tls".to_owned(),
                state: ProxyState::Down,
            }],
            certificate_expires: Some(now + Duration::from_secs(86_400)),
            certificate_problem: None,
        };
        let m = metrics(&[r], now);
        assert!(m.contains(
            "teamline_gateway_microsoft_proxy_up{region=\"us-east-2\",proxy=\"sip.pstnhub.microsoft.com\"} 0"
        ));
        assert!(m.contains(
            "teamline_gateway_certificate_expiry_seconds{region=\"us-east-2\",fqdn=\"use2.sbc.example.net\"} 86400"
        ));
    }
}
