//! The platform's DNS zone for Direct Routing verification records: Teamline publishes each
//! tenant subdomain's TXT record there by RFC 2136 dynamic update, signed with TSIG
//! (HMAC-SHA256), on the zone's primary authoritative server.

use anyhow::Context;
use clap::Args;
use secrecy::SecretString;
use teamline_dns::{Rfc2136Publisher, Rfc2136Settings, TsigKey};

#[derive(Args, Debug, Clone, Default)]
pub struct DnsZoneArgs {
    /// The zone's primary server (`host:port`) that accepts signed updates. Without it,
    /// Direct Routing set-up stops at publishing the verification record and says so.
    #[arg(long, env = "TEAMLINE_DNS_SERVER")]
    pub dns_server: Option<String>,
    /// The zone, e.g. `sbc.example.net` (every SBC region's gateway FQDN lies in it).
    #[arg(long, env = "TEAMLINE_DNS_ZONE")]
    pub dns_zone: Option<String>,
    /// The TSIG key's name, as the server knows it.
    #[arg(long, env = "TEAMLINE_DNS_TSIG_KEY_NAME")]
    pub dns_tsig_key_name: Option<String>,
    /// The TSIG key's secret (base64, HMAC-SHA256).
    #[arg(long, env = "TEAMLINE_DNS_TSIG_SECRET", hide_env_values = true)]
    pub dns_tsig_secret: Option<String>,
}

impl DnsZoneArgs {
    /// The publisher, when the server is configured (then the zone and key are required).
    pub fn publisher(&self) -> anyhow::Result<Option<Rfc2136Publisher>> {
        let Some(server) = &self.dns_server else {
            return Ok(None);
        };
        let zone = self
            .dns_zone
            .as_ref()
            .context("--dns-server needs --dns-zone (TEAMLINE_DNS_ZONE)")?;
        let name = self
            .dns_tsig_key_name
            .as_ref()
            .context("--dns-server needs --dns-tsig-key-name (TEAMLINE_DNS_TSIG_KEY_NAME)")?;
        let secret = self
            .dns_tsig_secret
            .as_ref()
            .context("--dns-server needs --dns-tsig-secret (TEAMLINE_DNS_TSIG_SECRET)")?;
        let settings = Rfc2136Settings::new(
            server.clone(),
            zone.clone(),
            TsigKey::hmac_sha256(name.clone(), SecretString::from(secret.clone())),
        );
        Ok(Some(Rfc2136Publisher::new(&settings).with_context(
            || format!("the DNS zone settings for {zone} at {server} are not usable"),
        )?))
    }
}
