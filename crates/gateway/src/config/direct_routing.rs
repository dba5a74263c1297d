//! The Microsoft side of a gateway node: the TLS listener Microsoft's SIP proxies connect to,
//! the certificate of each SBC domain, the proxies of each region (OPTIONS keep-alives and
//! failover through Kamailio's dispatcher), media through rtpengine, and call events.
//!
//! Carrier model: each region has one base FQDN (`use2.sbc.example.net`, the carrier trunk in
//! the operator's own tenant) with a wildcard certificate; every customer tenant gets a
//! subdomain of it (`contoso.use2.sbc.example.net`, a derived trunk). Kamailio treats the base
//! and all its subdomains as its own names (corex `alias_subdomains`), so a new tenant needs
//! no configuration change here.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use super::ConfigError;

/// Microsoft's SIP proxies for the commercial cloud, in the order Microsoft asks SBCs to try.
pub const MICROSOFT_PROXIES: [&str; 3] = [
    "sip.pstnhub.microsoft.com",
    "sip2.pstnhub.microsoft.com",
    "sip3.pstnhub.microsoft.com",
];

/// What the gateway says it is in `X-MS-SBC` (vendor/model/version, as Microsoft's certified
/// SBCs do) and in its Server/User-Agent headers.
pub const SBC_PRODUCT: &str = concat!("Teamline/Kamailio/", env!("CARGO_PKG_VERSION"));

/// Everything the Microsoft side of a node needs.
#[derive(Debug, Clone)]
pub struct DirectRouting {
    /// Where Microsoft's proxies connect (TLS, 5061 unless the SBC was created with another
    /// `-SipSignalingPort`).
    pub tls: TlsListener,
    pub regions: Vec<Region>,
    /// Who may talk TLS to this node: the CA bundle that signs Microsoft's certificates
    /// (DigiCert Global Root G2 in production), checked on both directions.
    pub trusted_cas: PathBuf,
    /// Refuse a peer whose certificate does not verify (always on in production; the tests
    /// turn it on too).
    pub verify_peers: bool,
    pub keepalive: Keepalive,
    pub media: Media,
    pub events: Events,
    /// Where Kamailio's `siptrace` sends a copy of every SIP message of a call (HEP3 over UDP)
    /// for the calls' ladder diagrams; `None`: no capture. Loopback or private only: the
    /// messages carry phone numbers.
    pub sip_trace: Option<SocketAddr>,
    /// Seconds a call may last without a refresh (session timers, RFC 4028) before the
    /// gateway ends it.
    pub session_expires_secs: u32,
}

/// The TLS listener toward Microsoft.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsListener {
    pub addr: IpAddr,
    pub port: u16,
}

impl TlsListener {
    pub fn socket(&self) -> SocketAddr {
        SocketAddr::new(self.addr, self.port)
    }
}

/// An SBC region: its base FQDN, certificate and Microsoft proxies.
#[derive(Debug, Clone)]
pub struct Region {
    /// A short name for logs and health (`us-east-2`).
    pub name: String,
    /// The carrier trunk's FQDN; tenant FQDNs are its subdomains.
    pub base_fqdn: String,
    /// The certificate for `*.base_fqdn` (and `base_fqdn`), PEM, with its chain.
    pub certificate: CertificateFiles,
    /// Microsoft's proxies, tried in this order; the first one that answers OPTIONS gets the
    /// calls.
    pub proxies: Vec<MicrosoftProxy>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateFiles {
    pub cert_pem: PathBuf,
    pub key_pem: PathBuf,
}

/// One of Microsoft's SIP proxies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MicrosoftProxy {
    /// Its FQDN (`sip.pstnhub.microsoft.com`): what health shows.
    pub fqdn: String,
    /// Where to send to, when not the FQDN on 5061 (tests, or a pinned address).
    pub address: Option<SocketAddr>,
}

impl MicrosoftProxy {
    pub fn new(fqdn: impl Into<String>) -> Self {
        MicrosoftProxy {
            fqdn: fqdn.into(),
            address: None,
        }
    }

    /// `sip:host:port;transport=tls`, as dispatcher lists it.
    pub fn uri(&self) -> String {
        match self.address {
            Some(a) => format!("sip:{a};transport=tls"),
            None => format!("sip:{}:5061;transport=tls", self.fqdn),
        }
    }
}

/// OPTIONS keep-alives to Microsoft's proxies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keepalive {
    /// How often every proxy is pinged (Microsoft expects about once a minute).
    pub interval: Duration,
    /// Unanswered pings before a proxy is taken out of service.
    pub failures_before_down: u32,
    /// Answered pings before it is put back.
    pub successes_before_up: u32,
}

impl Default for Keepalive {
    fn default() -> Self {
        Keepalive {
            interval: Duration::from_secs(60),
            failures_before_down: 2,
            successes_before_up: 1,
        }
    }
}

/// rtpengine: where its control (ng) socket is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Media {
    pub ng: SocketAddr,
}

/// Call events for Teamline. Like the RPC listener, the listener is loopback or private
/// only: events carry phone numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Events {
    /// Kamailio's `evapi` listener (TCP, JSON in netstrings) Teamline connects to.
    pub listen: SocketAddr,
}

impl DirectRouting {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let invalid =
            |setting: &'static str, problem: String| ConfigError::Invalid { setting, problem };
        if self.regions.is_empty() {
            return Err(invalid(
                "Direct Routing regions",
                "add at least one region with its base FQDN, certificate and Microsoft proxies"
                    .to_owned(),
            ));
        }
        for r in &self.regions {
            let token = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.';
            if r.name.is_empty() || !r.name.bytes().all(token) {
                return Err(invalid(
                    "region name",
                    format!(
                        "`{}` is used in Kamailio's TLS profiles and dispatcher list: use letters, digits, `-`, `_` or `.` (e.g. us-east-2)",
                        r.name
                    ),
                ));
            }
            if !is_fqdn(&r.base_fqdn) {
                return Err(invalid(
                    "region base FQDN",
                    format!(
                        "`{}` (region {}) is not a DNS name: Microsoft only accepts an FQDN for the SBC",
                        r.base_fqdn, r.name
                    ),
                ));
            }
            if r.proxies.is_empty() {
                return Err(invalid(
                    "Microsoft proxies",
                    format!(
                        "region {} has none; use {}",
                        r.name,
                        MICROSOFT_PROXIES.join(", ")
                    ),
                ));
            }
        }
        let trace = self.sip_trace.map(|a| ("SIP trace listener", a));
        for (setting, addr) in [("call events listener", self.events.listen)]
            .into_iter()
            .chain(trace)
        {
            if !super::listen::is_private_or_loopback(addr.ip()) {
                return Err(invalid(
                    setting,
                    format!(
                        "{addr} is not loopback or private: it carries phone numbers, use 127.0.0.1 or a private address"
                    ),
                ));
            }
        }
        if self.keepalive.interval < Duration::from_secs(1) {
            return Err(invalid(
                "OPTIONS interval",
                "must be at least 1 second".to_owned(),
            ));
        }
        if self.session_expires_secs < 90 {
            return Err(invalid(
                "session expires",
                "must be at least 90 seconds (RFC 4028's minimum)".to_owned(),
            ));
        }
        Ok(())
    }

    /// The region a tenant FQDN belongs to (its own base or a subdomain of it).
    pub fn region_of(&self, fqdn: &str) -> Option<&Region> {
        let fqdn = fqdn.to_ascii_lowercase();
        self.regions.iter().find(|r| {
            let base = r.base_fqdn.to_ascii_lowercase();
            fqdn == base || fqdn.ends_with(&format!(".{base}"))
        })
    }

    /// The dispatcher set of region `i` (1-based: dispatcher's sets are numbered).
    pub fn set_id(i: usize) -> usize {
        i + 1
    }
}

fn is_fqdn(s: &str) -> bool {
    s.contains('.')
        && s.parse::<IpAddr>().is_err()
        && s.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}
