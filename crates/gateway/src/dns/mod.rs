//! Finds the PBX's SIP proxy the way its PBX location says: SRV (`_sip._udp.<proxy>`, targets
//! ordered by priority and weight as RFC 2782 says) or A/AAAA. The chosen address is what goes
//! into each registration's `auth_proxy`, so Kamailio needs no DNS of its own.
//!
//! Answers are kept until their TTL runs out. A target that does not answer is reported with
//! [`PbxResolver::report_unreachable`] and skipped for a while (the next target in order is
//! used); when every target has failed, the names are resolved again at once and every target
//! gets another chance. A registration that works stays on its target
//! ([`PbxResolver::resolve_keeping`]) even when a better-priority one is back.

mod srv;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hickory_resolver::TokioResolver;
use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::{RData, RecordType};
use teamline_domain::pbx_location::DnsLookup;
use teamline_domain::sip::ProxyHost;

pub use srv::{SrvTarget, order_srv};

/// SIP's port when neither the proxy nor an SRV record names one.
pub const SIP_PORT: u16 = 5060;

/// Which nameservers to ask.
#[derive(Debug, Clone, Default)]
pub struct DnsSettings {
    /// Empty: the system's (`/etc/resolv.conf`).
    pub nameservers: Vec<SocketAddr>,
    /// Answers are never kept longer than this, whatever their TTL.
    pub max_cache: Option<Duration>,
}

/// How long a target that did not answer is skipped.
const FAILED_HOLD: Duration = Duration::from_secs(600);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DnsError {
    #[error(
        "the system's DNS settings could not be read ({0}); set the gateway's nameservers explicitly"
    )]
    SystemConfig(String),
    #[error("{name} {kind} lookup failed: {detail}")]
    Lookup {
        name: String,
        kind: &'static str,
        detail: String,
    },
    #[error("{name} has SRV records but none of their targets has an address")]
    NoAddress { name: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    host: String,
    port: Option<u16>,
    srv: bool,
}

struct Entry {
    /// Addresses in the order to try them.
    targets: Vec<SocketAddr>,
    valid_until: Instant,
    /// Targets that did not answer, skipped until the given time.
    failed: HashMap<SocketAddr, Instant>,
}

impl Entry {
    fn usable(&self, t: &SocketAddr, now: Instant) -> bool {
        self.failed.get(t).is_none_or(|until| *until <= now)
    }
}

/// Resolves PBX proxies and remembers which targets failed.
pub struct PbxResolver {
    resolver: TokioResolver,
    max_cache: Option<Duration>,
    cache: Mutex<HashMap<Key, Entry>>,
}

impl std::fmt::Debug for PbxResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PbxResolver").finish_non_exhaustive()
    }
}

impl PbxResolver {
    pub fn new(settings: &DnsSettings) -> Result<PbxResolver, DnsError> {
        let provider = TokioRuntimeProvider::default();
        let builder = if settings.nameservers.is_empty() {
            TokioResolver::builder(provider).map_err(|e| DnsError::SystemConfig(e.to_string()))?
        } else {
            let servers = settings
                .nameservers
                .iter()
                .map(|ns| {
                    let mut udp = ConnectionConfig::udp();
                    udp.port = ns.port();
                    let mut tcp = ConnectionConfig::tcp();
                    tcp.port = ns.port();
                    NameServerConfig::new(ns.ip(), true, vec![udp, tcp])
                })
                .collect();
            TokioResolver::builder_with_config(ResolverConfig::from_name_servers(servers), provider)
        };
        let mut builder = builder;
        builder.options_mut().timeout = Duration::from_secs(2);
        builder.options_mut().attempts = 2;
        let resolver = builder
            .build()
            .map_err(|e| DnsError::SystemConfig(e.to_string()))?;
        Ok(PbxResolver {
            resolver,
            max_cache: settings.max_cache,
            cache: Mutex::new(HashMap::new()),
        })
    }

    /// The address to register through now: the first target in order that has not failed.
    pub async fn resolve(
        &self,
        proxy: &ProxyHost,
        lookup: DnsLookup,
    ) -> Result<SocketAddr, DnsError> {
        self.resolve_keeping(proxy, lookup, None).await
    }

    /// Like [`Self::resolve`], but keeps `current` while it is still a target and has not
    /// failed: a working registration is not moved.
    pub async fn resolve_keeping(
        &self,
        proxy: &ProxyHost,
        lookup: DnsLookup,
        current: Option<SocketAddr>,
    ) -> Result<SocketAddr, DnsError> {
        let key = key(proxy, lookup);
        if let Some(addr) = self.cached_choice(&key, current) {
            return Ok(addr);
        }
        let (targets, valid_until) = self.lookup(&key).await?;
        let now = Instant::now();
        let mut cache = self.lock();
        let entry = cache.entry(key).or_insert_with(|| Entry {
            targets: Vec::new(),
            valid_until,
            failed: HashMap::new(),
        });
        entry.targets = targets;
        entry.valid_until = valid_until;
        entry.failed.retain(|_, until| *until > now);
        if !entry.targets.iter().any(|t| entry.usable(t, now)) {
            // Every target failed: give them all another chance.
            entry.failed.clear();
        }
        if let Some(c) = current.filter(|c| entry.targets.contains(c) && entry.usable(c, now)) {
            return Ok(c);
        }
        entry
            .targets
            .iter()
            .find(|t| entry.usable(t, now))
            .copied()
            .ok_or_else(|| DnsError::NoAddress {
                name: proxy.host().to_owned(),
            })
    }

    /// Every target in the order they are tried (resolving if needed).
    pub async fn targets(
        &self,
        proxy: &ProxyHost,
        lookup: DnsLookup,
    ) -> Result<Vec<SocketAddr>, DnsError> {
        self.resolve(proxy, lookup).await?;
        Ok(self
            .lock()
            .get(&key(proxy, lookup))
            .map(|e| e.targets.clone())
            .unwrap_or_default())
    }

    /// `addr` did not answer: use the next target from now on. When no target is left the
    /// next [`Self::resolve`] asks DNS again.
    pub fn report_unreachable(&self, proxy: &ProxyHost, lookup: DnsLookup, addr: SocketAddr) {
        if let Some(e) = self.lock().get_mut(&key(proxy, lookup))
            && e.targets.contains(&addr)
        {
            e.failed.insert(addr, Instant::now() + FAILED_HOLD);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Entry>> {
        self.cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn cached_choice(&self, key: &Key, current: Option<SocketAddr>) -> Option<SocketAddr> {
        let cache = self.lock();
        let e = cache.get(key)?;
        let now = Instant::now();
        if now >= e.valid_until {
            return None;
        }
        if let Some(c) = current.filter(|c| e.targets.contains(c) && e.usable(c, now)) {
            return Some(c);
        }
        e.targets.iter().find(|t| e.usable(t, now)).copied()
    }

    async fn lookup(&self, key: &Key) -> Result<(Vec<SocketAddr>, Instant), DnsError> {
        let cap = self.max_cache.map(|d| Instant::now() + d);
        let (targets, valid_until) = if let Ok(ip) = key.host.parse::<IpAddr>() {
            let far = Instant::now() + Duration::from_secs(86_400);
            (vec![SocketAddr::new(ip, key.port.unwrap_or(SIP_PORT))], far)
        } else if key.srv {
            self.lookup_srv(&key.host).await?
        } else {
            self.lookup_host(&key.host, key.port.unwrap_or(SIP_PORT))
                .await?
        };
        let valid_until = cap.map_or(valid_until, |c| c.min(valid_until));
        Ok((targets, valid_until))
    }

    async fn lookup_srv(&self, host: &str) -> Result<(Vec<SocketAddr>, Instant), DnsError> {
        let name = format!("_sip._udp.{}.", host.trim_end_matches('.'));
        let answer = self
            .resolver
            .lookup(name.as_str(), RecordType::SRV)
            .await
            .map_err(|e| DnsError::Lookup {
                name: name.clone(),
                kind: "SRV",
                detail: e.to_string(),
            })?;
        let mut valid_until = answer.valid_until();
        let records: Vec<SrvTarget> = answer
            .answers()
            .iter()
            .filter_map(|r| match &r.data {
                RData::SRV(s) => Some(SrvTarget {
                    priority: s.priority,
                    weight: s.weight,
                    port: s.port,
                    target: s.target.to_ascii(),
                }),
                _ => None,
            })
            // "." means "no SIP service here" (RFC 2782).
            .filter(|s| s.target != "." && !s.target.is_empty())
            .collect();
        let ordered = order_srv(records, &mut rand::rng());
        let mut out = Vec::new();
        for t in &ordered {
            // A target that does not resolve is skipped, as one that does not answer would be.
            match self.lookup_host(&t.target, t.port).await {
                Ok((addrs, until)) => {
                    valid_until = valid_until.min(until);
                    for a in addrs {
                        if !out.contains(&a) {
                            out.push(a);
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, srv = %name, "SRV target does not resolve"),
            }
        }
        if out.is_empty() {
            return Err(DnsError::NoAddress { name });
        }
        Ok((out, valid_until))
    }

    async fn lookup_host(
        &self,
        host: &str,
        port: u16,
    ) -> Result<(Vec<SocketAddr>, Instant), DnsError> {
        let fqdn = format!("{}.", host.trim_end_matches('.'));
        let answer =
            self.resolver
                .lookup_ip(fqdn.as_str())
                .await
                .map_err(|e| DnsError::Lookup {
                    name: host.to_owned(),
                    kind: "A/AAAA",
                    detail: e.to_string(),
                })?;
        let addrs: Vec<SocketAddr> = answer.iter().map(|ip| SocketAddr::new(ip, port)).collect();
        Ok((addrs, answer.valid_until()))
    }
}

/// RFC 3263: a proxy with an explicit port is not looked up with SRV.
fn key(proxy: &ProxyHost, lookup: DnsLookup) -> Key {
    Key {
        host: proxy.host().to_ascii_lowercase(),
        port: proxy.port(),
        srv: lookup == DnsLookup::Srv && proxy.port().is_none(),
    }
}

/// `sip:192.0.2.7:5060` / `sip:[2001:db8::7]:5060`: an `auth_proxy` for uac_reg.
pub fn auth_proxy(addr: SocketAddr) -> String {
    format!("sip:{addr}")
}
