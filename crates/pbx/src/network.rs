//! Which hosts a PBX client may reach: the defence against server-side request forgery.
//!
//! An enterprise admin types the PBX API base URL, so without a rule Teamline would connect
//! wherever they point it — the operator's loopback services, its private network, a cloud
//! metadata endpoint — and Test connection would say whether something answered. By default a
//! PBX API must be `https://` on a public address; the operator may allow `http://` and
//! non-public addresses (a PBX on the LAN, the simulators of the demo and the tests).
//!
//! The rule is checked twice: on the URL's literal host when a client is built, and on every
//! address a host name resolves to, when the connection is made ([`PublicOnlyResolver`]). The
//! second check is what holds against DNS rebinding: a name that resolved to a public address
//! when the settings were saved but to `127.0.0.1` now is refused at connect time, because
//! the connection only ever goes to the addresses the filter let through.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

use crate::error::PbxError;

/// What the operator allows PBX API URLs to point at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NetworkPolicy {
    /// `http://` URLs (no TLS: keys and passwords cross the network readable).
    pub allow_http: bool,
    /// Loopback, private, link-local, shared (CGNAT), unique-local, multicast, unspecified and
    /// other non-public addresses, including cloud metadata endpoints (169.254.169.254).
    pub allow_private: bool,
}

impl NetworkPolicy {
    /// The default: `https://` on public addresses only.
    pub const PUBLIC_HTTPS: Self = Self {
        allow_http: false,
        allow_private: false,
    };

    /// Everything allowed: for a PBX on a trusted network, the demo and the tests.
    pub const TRUSTED_NETWORK: Self = Self {
        allow_http: true,
        allow_private: true,
    };

    /// Checks a URL's scheme and, when its host is an IP address, that address. Host names
    /// are checked when they are resolved ([`PublicOnlyResolver`]).
    pub fn check_url(&self, url: &Url) -> Result<(), PbxError> {
        let refused = |problem: String| PbxError::InvalidSettings {
            field: "API base URL",
            problem,
        };
        match url.scheme() {
            "https" => {}
            "http" if self.allow_http => {}
            "http" => {
                return Err(refused(
                    "must start with https:// (this Teamline does not send PBX credentials over plain http)".to_owned(),
                ));
            }
            other => {
                return Err(refused(format!(
                    "must start with https:// (got {other}://)"
                )));
            }
        }
        let ip = match url.host() {
            Some(Host::Ipv4(v4)) => IpAddr::V4(v4),
            Some(Host::Ipv6(v6)) => IpAddr::V6(v6),
            Some(Host::Domain(_)) => return Ok(()),
            None => return Err(refused("has no host name".to_owned())),
        };
        if self.allows(ip) {
            Ok(())
        } else {
            Err(refused(format!(
                "points at {ip}, a private or local address this Teamline does not connect to: use the PBX's public address"
            )))
        }
    }

    /// Whether a connection to `ip` is allowed.
    pub fn allows(&self, ip: IpAddr) -> bool {
        self.allow_private || is_public(ip)
    }
}

/// Whether `ip` is a public unicast address, i.e. not one of the special-purpose ranges
/// (IANA's IPv4 and IPv6 special-purpose address registries) that lead into the operator's
/// own machine or network.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    let special = a == 0                                 // "this network", 0.0.0.0
        || ip.is_loopback()                              // 127/8
        || ip.is_private()                               // 10/8, 172.16/12, 192.168/16
        || ip.is_link_local()                            // 169.254/16, cloud metadata
        || (a == 100 && (64..128).contains(&b))          // 100.64/10, shared (CGNAT)
        || (a == 192 && b == 0 && c == 0)                // 192.0.0/24, IETF protocol
        || ip.is_documentation()                         // TEST-NET-1/2/3
        || (a == 198 && (b == 18 || b == 19))            // 198.18/15, benchmarking
        || (a == 192 && b == 88 && c == 99)              // 6to4 relay anycast
        || ip.is_multicast()                             // 224/4
        || a >= 240; // 240/4 reserved, 255.255.255.255 broadcast
    !special
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    // Addresses that carry an IPv4 address are judged by it.
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let s = ip.segments();
    if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
        // 64:ff9b::/96, NAT64 of an IPv4 address.
        let [a, b] = s[6].to_be_bytes();
        let [c, d] = s[7].to_be_bytes();
        return is_public_v4(Ipv4Addr::new(a, b, c, d));
    }
    if s[0] == 0x2002 {
        // 2002::/16, 6to4 of an IPv4 address.
        let [a, b] = s[1].to_be_bytes();
        let [c, d] = s[2].to_be_bytes();
        return is_public_v4(Ipv4Addr::new(a, b, c, d));
    }
    // Only global unicast (2000::/3) is public; that excludes ::, ::1, unique-local fc00::/7,
    // link-local fe80::/10, site-local fec0::/10, multicast ff00::/8, 64:ff9b:1::/48, 100::/64.
    let global_unicast = (s[0] & 0xe000) == 0x2000;
    // 2001::/23 IETF protocol assignments (Teredo, …), 2001:db8::/32 documentation.
    let ietf = s[0] == 0x2001 && (s[1] < 0x0200 || s[1] == 0x0db8);
    // 3fff::/20 documentation (the whole 3fff::/16 is refused: nothing public lives there).
    let special = ietf || s[0] == 0x3fff;
    global_unicast && !special
}

/// Resolves host names with the system resolver and keeps only public addresses: the
/// connection is made to what this returns, so a name that points inside cannot be reached.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct PublicOnlyResolver;

/// Why a host name was not resolved (logged; the admin sees "could not reach the PBX API").
#[derive(Debug, thiserror::Error)]
#[error("{host} resolves only to addresses this Teamline does not connect to")]
struct OnlyNonPublic {
    host: String,
}

impl Resolve for PublicOnlyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let resolved: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed = keep_public(&host, resolved)?;
            let addrs: Addrs = Box::new(allowed.into_iter());
            Ok(addrs)
        })
    }
}

/// The public addresses among those `host` resolved to; an error when there are none.
fn keep_public(
    host: &str,
    resolved: Vec<SocketAddr>,
) -> Result<Vec<SocketAddr>, Box<dyn std::error::Error + Send + Sync>> {
    let (public, refused): (Vec<SocketAddr>, Vec<SocketAddr>) =
        resolved.into_iter().partition(|a| is_public(a.ip()));
    if !refused.is_empty() {
        tracing::warn!(
            host,
            refused = ?refused.iter().map(SocketAddr::ip).collect::<Vec<_>>(),
            "a PBX API host name resolves to non-public addresses: not connecting to them"
        );
    }
    if public.is_empty() {
        return Err(Box::new(OnlyNonPublic {
            host: host.to_owned(),
        }));
    }
    Ok(public)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn internal_addresses_are_not_public() {
        for internal in [
            "127.0.0.1",
            "127.8.9.10",
            "0.0.0.0",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.254",
            "192.168.1.1",
            "169.254.169.254",
            "169.254.0.1",
            "100.64.0.1",
            "100.127.255.254",
            "192.0.0.8",
            "192.0.2.10",
            "198.18.0.1",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "fc00::1",
            "fd00:ec2::254",
            "fe80::1",
            "fec0::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::7f00:1",
            "2002:7f00:1::",
            "2002:a00:1::",
            "2001:db8::1",
            "2001::1",
            "100::1",
        ] {
            assert!(!is_public(ip(internal)), "{internal} must not be public");
        }
    }

    #[test]
    fn public_addresses_are() {
        for public in [
            "8.8.8.8",
            "1.1.1.1",
            "100.63.255.255",
            "100.128.0.1",
            "172.15.0.1",
            "172.32.0.1",
            "169.253.0.1",
            "2606:4700::1111",
            "2001:4860:4860::8888",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::",
        ] {
            assert!(is_public(ip(public)), "{public} is public");
        }
    }

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn the_default_policy_wants_https_on_public_hosts() {
        let p = NetworkPolicy::default();
        assert_eq!(p, NetworkPolicy::PUBLIC_HTTPS);
        assert!(
            p.check_url(&url("https://pbx.example.com/ns-api/v2/"))
                .is_ok()
        );
        assert!(p.check_url(&url("https://8.8.8.8/")).is_ok());
        for refused in [
            "http://pbx.example.com/",
            "https://127.0.0.1:8443/",
            "https://[::1]/",
            "https://169.254.169.254/latest/meta-data/",
            "https://10.0.0.5/",
            "https://[fd00::5]/",
            "ftp://pbx.example.com/",
        ] {
            let err = p.check_url(&url(refused)).unwrap_err().to_string();
            assert!(err.contains("API base URL"), "{refused}: {err}");
        }
    }

    #[test]
    fn the_operator_may_allow_http_and_private_addresses() {
        let p = NetworkPolicy::TRUSTED_NETWORK;
        assert!(p.check_url(&url("http://127.0.0.1:8080/")).is_ok());
        assert!(p.check_url(&url("https://10.0.0.5/")).is_ok());
        let http_only = NetworkPolicy {
            allow_http: true,
            allow_private: false,
        };
        assert!(http_only.check_url(&url("http://pbx.example.com/")).is_ok());
        assert!(http_only.check_url(&url("http://127.0.0.1/")).is_err());
    }

    #[test]
    fn resolution_keeps_only_public_addresses() {
        let sa = |s: &str| SocketAddr::new(ip(s), 0);
        assert_eq!(
            keep_public("mixed.example", vec![sa("10.0.0.1"), sa("8.8.8.8")]).unwrap(),
            vec![sa("8.8.8.8")]
        );
        // A name that now points inside (DNS rebinding) is not connected to at all.
        let err = keep_public("rebound.example", vec![sa("127.0.0.1"), sa("::1")]).unwrap_err();
        assert!(err.to_string().contains("rebound.example"), "{err}");
    }

    #[tokio::test]
    async fn localhost_is_refused_when_it_is_resolved() {
        let err = PublicOnlyResolver
            .resolve("localhost".parse().unwrap())
            .await
            .err()
            .expect("localhost resolves to loopback only");
        assert!(err.to_string().contains("localhost"), "{err}");
    }
}
