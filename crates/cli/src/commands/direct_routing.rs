//! The Microsoft side of the gateway node (Direct Routing) from Teamline's configuration: a
//! JSON file named by `--direct-routing` (`TEAMLINE_DIRECT_ROUTING`). It says where the TLS
//! listener is, which CA bundle Microsoft's certificates must chain to, and per SBC region
//! its base FQDN (tenant FQDNs are its subdomains: the voice routes' SBC FQDNs), certificate
//! and key, and Microsoft's proxies (default: `sip`, `sip2`, `sip3.pstnhub.microsoft.com`).
//! The demo writes one with a self-signed certificate per region ([`demo_files`]).

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;
use teamline_gateway::config::{
    CertificateFiles, DirectRouting, Events, Keepalive, MICROSOFT_PROXIES, Media, MicrosoftProxy,
    Region, TlsListener,
};

/// The file's shape. Relative paths are read from the file's directory.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectRoutingFile {
    /// Where Microsoft's proxies connect, e.g. `0.0.0.0:5061`.
    pub tls_listen: SocketAddr,
    /// The CA bundle Microsoft's certificates chain to (PEM).
    pub trusted_cas: PathBuf,
    /// Refuse peers whose certificate does not verify (default on; only a lab turns it off).
    #[serde(default = "yes")]
    pub verify_peers: bool,
    /// rtpengine's control (ng) socket.
    pub rtpengine: SocketAddr,
    /// Kamailio's call events listener (evapi), loopback or private.
    pub events: SocketAddr,
    /// Where Teamline listens for the copies of the calls' SIP messages that Kamailio's
    /// siptrace sends (HEP3 over UDP; loopback or private), for each call's ladder diagram.
    /// Absent: no SIP messages are kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sip_trace: Option<SocketAddr>,
    #[serde(default = "default_session_expires")]
    pub session_expires_secs: u32,
    /// Seconds between OPTIONS pings to each Microsoft proxy.
    #[serde(default = "default_options_interval")]
    pub options_interval_secs: u64,
    pub regions: Vec<RegionFile>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegionFile {
    /// The region's name in the gateway's logs and health (`us-east-2`: letters, digits,
    /// `-`, `_`, `.`).
    pub name: String,
    /// The region's gateway FQDN; each tenant's SBC FQDN is a subdomain of it.
    pub base_fqdn: String,
    /// PEM certificate (with chain) for `*.base_fqdn` and `base_fqdn`.
    pub certificate: PathBuf,
    /// Its private key (PEM).
    pub key: PathBuf,
    /// Microsoft's proxies in the order to try; `host` (port 5061) or `host=ip:port`.
    #[serde(default = "default_proxies")]
    pub proxies: Vec<String>,
}

fn yes() -> bool {
    true
}

fn default_session_expires() -> u32 {
    1800
}

fn default_options_interval() -> u64 {
    60
}

fn default_proxies() -> Vec<String> {
    MICROSOFT_PROXIES.iter().map(|p| (*p).to_owned()).collect()
}

impl DirectRoutingFile {
    /// Reads and checks the file at `path`.
    pub fn load(path: &Path) -> anyhow::Result<DirectRouting> {
        let text = std::fs::read_to_string(path).with_context(|| {
            format!(
                "cannot read the Direct Routing settings {} (--direct-routing)",
                path.display()
            )
        })?;
        let file: DirectRoutingFile = serde_json::from_str(&text).with_context(|| {
            format!(
                "the Direct Routing settings {} are not valid: fix the JSON field named here",
                path.display()
            )
        })?;
        file.settings(path.parent().unwrap_or(Path::new(".")))
    }

    /// The gateway's settings; relative paths are taken from `base`.
    pub fn settings(&self, base: &Path) -> anyhow::Result<DirectRouting> {
        let abs = |p: &Path| {
            if p.is_absolute() {
                p.to_path_buf()
            } else {
                base.join(p)
            }
        };
        let mut regions = Vec::new();
        for r in &self.regions {
            let certificate = CertificateFiles {
                cert_pem: abs(&r.certificate),
                key_pem: abs(&r.key),
            };
            for (what, file) in [
                ("certificate", &certificate.cert_pem),
                ("key", &certificate.key_pem),
            ] {
                if !file.is_file() {
                    bail!(
                        "the {what} of SBC region {} ({}) does not exist: put the region's PEM file there or fix the path in the Direct Routing settings",
                        r.name,
                        file.display()
                    );
                }
            }
            let proxies = r
                .proxies
                .iter()
                .map(|p| parse_proxy(p, &r.name))
                .collect::<anyhow::Result<Vec<_>>>()?;
            regions.push(Region {
                name: r.name.clone(),
                base_fqdn: r.base_fqdn.clone(),
                certificate,
                proxies,
            });
        }
        Ok(DirectRouting {
            tls: TlsListener {
                addr: self.tls_listen.ip(),
                port: self.tls_listen.port(),
            },
            regions,
            trusted_cas: abs(&self.trusted_cas),
            verify_peers: self.verify_peers,
            keepalive: Keepalive {
                interval: Duration::from_secs(self.options_interval_secs),
                ..Keepalive::default()
            },
            media: Media { ng: self.rtpengine },
            events: Events {
                listen: self.events,
            },
            sip_trace: self.sip_trace,
            session_expires_secs: self.session_expires_secs,
        })
    }
}

/// `sip.pstnhub.microsoft.com` or `sip.pstnhub.test=127.0.0.1:5071`.
fn parse_proxy(s: &str, region: &str) -> anyhow::Result<MicrosoftProxy> {
    let (fqdn, address) = match s.split_once('=') {
        Some((fqdn, addr)) => {
            let addr: SocketAddr = addr.parse().with_context(|| {
                format!("Microsoft proxy `{s}` of region {region}: after `=` comes IP:PORT")
            })?;
            (fqdn, Some(addr))
        }
        None => (s, None),
    };
    Ok(MicrosoftProxy {
        fqdn: fqdn.trim().to_owned(),
        address,
    })
}

/// Writes the demo's Direct Routing settings under `dir`: one self-signed certificate per
/// region (for the base FQDN and its subdomains), the CA bundle to trust (the same
/// certificates: the demo has no Microsoft to call), Microsoft's proxies (unreachable from a
/// demo machine without a tenant: they show as down). Returns the settings file.
pub fn demo_files(
    dir: &Path,
    regions: &[(String, String)],
    tls_listen: SocketAddr,
    rtpengine: SocketAddr,
    events: SocketAddr,
) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut bundle = String::new();
    let mut files = Vec::new();
    for (i, (name, fqdn)) in regions.iter().enumerate() {
        let cert = rcgen::generate_simple_self_signed(vec![fqdn.clone(), format!("*.{fqdn}")])
            .with_context(|| format!("cannot make a certificate for {fqdn}"))?;
        let cert_file = format!("region-{i}.crt");
        let key_file = format!("region-{i}.key");
        let pem = cert.cert.pem();
        write_private(&dir.join(&cert_file), &pem)?;
        write_private(&dir.join(&key_file), &cert.signing_key.serialize_pem())?;
        bundle.push_str(&pem);
        files.push(RegionFile {
            name: slug(name),
            base_fqdn: fqdn.clone(),
            certificate: cert_file.into(),
            key: key_file.into(),
            proxies: default_proxies(),
        });
    }
    write_private(&dir.join("trusted-cas.pem"), &bundle)?;
    let file = DirectRoutingFile {
        tls_listen,
        trusted_cas: "trusted-cas.pem".into(),
        verify_peers: true,
        rtpengine,
        events,
        sip_trace: None,
        session_expires_secs: default_session_expires(),
        options_interval_secs: default_options_interval(),
        regions: files,
    };
    let path = dir.join("direct-routing.json");
    write_private(&path, &serde_json::to_string_pretty(&file)?)?;
    Ok(path)
}

/// `US East 2` → `us-east-2`: a region name Kamailio's files can hold.
pub fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.trim().chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_owned()
}

/// Private keys are for the gateway's user only.
fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    std::io::Write::write_all(&mut f, text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))
}

/// The loopback address the demo's Direct Routing listens on.
pub const DEMO_ADDR: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// Where the SBC regions of the operator area and the regions of the Direct Routing settings
/// disagree. They describe one thing from two sides: the store's region (name, gateway FQDN)
/// is what resellers choose and what each tenant's subdomain is made from; the file's region
/// (the same FQDN as `base_fqdn`, with its certificate, key and Microsoft's proxies) is what the
/// gateway node needs to carry the calls. They are joined by that FQDN.
pub fn region_mismatches(
    stored: &[teamline_domain::voice_route::SbcRegion],
    file: &DirectRouting,
) -> Vec<String> {
    let same = |a: &str, b: &str| {
        a.trim_end_matches('.')
            .eq_ignore_ascii_case(b.trim_end_matches('.'))
    };
    let mut out = Vec::new();
    for r in stored {
        let fqdn = r.gateway_fqdn.as_str();
        if !file.regions.iter().any(|f| same(&f.base_fqdn, fqdn)) {
            out.push(format!(
                "SBC region {} ({fqdn}) has no region with base_fqdn {fqdn} in the Direct Routing settings: this gateway cannot carry the calls of its enterprises; add one (certificate, key, proxies) to the --direct-routing file",
                r.name.as_str()
            ));
        }
    }
    for f in &file.regions {
        if !stored
            .iter()
            .any(|r| same(r.gateway_fqdn.as_str(), &f.base_fqdn))
        {
            out.push(format!(
                "the Direct Routing settings' region {} ({}) is not an SBC region of the operator area: add it at /operator/regions with gateway FQDN {} so resellers can choose it",
                f.name, f.base_fqdn, f.base_fqdn
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxies_default_to_microsofts_and_may_be_pinned() {
        let p = parse_proxy("sip.pstnhub.test=127.0.0.1:5071", "r").unwrap();
        assert_eq!(p.uri(), "sip:127.0.0.1:5071;transport=tls");
        assert!(parse_proxy("x=nope", "r").is_err());
        assert_eq!(default_proxies().len(), 3);
    }

    #[test]
    fn the_demo_files_load_back() {
        let dir = tempfile::tempdir().unwrap();
        let a: SocketAddr = "127.0.0.1:5061".parse().unwrap();
        let path = demo_files(
            dir.path(),
            &[("US East 2".into(), "useast2.sbc.example.net".into())],
            a,
            a,
            a,
        )
        .unwrap();
        let dr = DirectRoutingFile::load(&path).unwrap();
        assert_eq!(dr.regions[0].base_fqdn, "useast2.sbc.example.net");
        assert_eq!(
            dr.region_of("contoso.useast2.sbc.example.net")
                .map(|r| r.name.as_str()),
            Some("us-east-2")
        );
        assert!(dr.regions[0].certificate.key_pem.is_file());
    }

    #[test]
    fn the_operator_areas_regions_and_the_files_are_joined_by_fqdn() {
        use teamline_domain::ids::SbcRegionId;
        use teamline_domain::text::{HostName, Name};
        use teamline_domain::voice_route::SbcRegion;
        let dir = tempfile::tempdir().unwrap();
        let a: SocketAddr = "127.0.0.1:5061".parse().unwrap();
        let path = demo_files(
            dir.path(),
            &[("US East 2".into(), "useast2.sbc.example.net".into())],
            a,
            a,
            a,
        )
        .unwrap();
        let dr = DirectRoutingFile::load(&path).unwrap();
        let region = |id, name, fqdn| SbcRegion {
            id: SbcRegionId(id),
            name: Name::parse("n", name).unwrap(),
            gateway_fqdn: HostName::parse("g", fqdn).unwrap(),
        };
        assert!(
            region_mismatches(&[region(1, "US East 2", "UsEast2.sbc.example.net")], &dr).is_empty()
        );
        let problems = region_mismatches(&[region(2, "EU West", "euwest.sbc.example.net")], &dr);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].contains("SBC region EU West (euwest.sbc.example.net) has no region"));
        assert!(
            problems[1]
                .contains("add it at /operator/regions with gateway FQDN useast2.sbc.example.net")
        );
    }
}
