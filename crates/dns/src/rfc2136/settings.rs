//! What the operator configures: the server, the zone and the TSIG key.

use std::fmt;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use crate::DnsError;

/// Port of DNS when the server setting names none.
const DNS_PORT: u16 = 53;

/// How to reach the zone's primary server and prove Teamline may change the zone.
#[derive(Debug, Clone)]
pub struct Rfc2136Settings {
    /// The zone's primary (authoritative) server: `ns1.example.net`, `ns1.example.net:5353`,
    /// `192.0.2.53` or `[2001:db8::53]:53`. Updates and look-ups go to it over TCP.
    pub server: String,
    /// The zone Teamline publishes in, e.g. `sbc.example.net`.
    pub zone: String,
    /// The TSIG key the server accepts updates of the zone from.
    pub key: TsigKey,
    /// How long one exchange with the server may take.
    pub timeout: Duration,
}

impl Rfc2136Settings {
    /// Settings with the default timeout (10 s).
    pub fn new(server: impl Into<String>, zone: impl Into<String>, key: TsigKey) -> Self {
        Self {
            server: server.into(),
            zone: zone.into(),
            key,
            timeout: Duration::from_secs(10),
        }
    }
}

/// A TSIG key (HMAC-SHA256): its name as configured on the server and its base64 secret.
/// `Debug` shows the name only.
#[derive(Clone)]
pub struct TsigKey {
    name: String,
    secret_base64: SecretString,
}

impl TsigKey {
    /// An HMAC-SHA256 key, e.g. as printed by `keymgr -t teamline hmac-sha256` or
    /// `tsig-keygen -a hmac-sha256 teamline`.
    pub fn hmac_sha256(name: impl Into<String>, secret_base64: SecretString) -> Self {
        Self {
            name: name.into(),
            secret_base64,
        }
    }

    /// The key's name, e.g. `teamline.`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The decoded secret. The error never quotes the secret.
    pub(crate) fn secret_bytes(&self) -> Result<Vec<u8>, DnsError> {
        use base64::Engine;
        let text = self.secret_base64.expose_secret().trim();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(|_| DnsError::Settings {
                setting: "TSIG secret",
                detail: format!(
                    "of key `{}` is not base64; copy the `secret` of the key from the DNS \
                     server's configuration",
                    self.name
                ),
            })?;
        if bytes.len() < 16 {
            return Err(DnsError::Settings {
                setting: "TSIG secret",
                detail: format!(
                    "of key `{}` is {} bytes long; use at least 16 random bytes (32 is usual \
                     for HMAC-SHA256)",
                    self.name,
                    bytes.len()
                ),
            });
        }
        Ok(bytes)
    }
}

impl fmt::Debug for TsigKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TsigKey")
            .field("name", &self.name)
            .field("algorithm", &"hmac-sha256")
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// A host (name or address) and port, resolved on every exchange so a server that moves is
/// followed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ServerAddress {
    host: String,
    port: u16,
}

impl ServerAddress {
    pub(crate) fn parse(text: &str) -> Result<Self, DnsError> {
        let text = text.trim();
        let invalid = |detail: &str| DnsError::Settings {
            setting: "DNS server",
            detail: format!("`{text}` {detail}; write e.g. `ns1.example.net` or `192.0.2.53:53`"),
        };
        if text.is_empty() {
            return Err(invalid("is empty"));
        }
        let (host, port) = if let Some(rest) = text.strip_prefix('[') {
            let (host, after) = rest
                .split_once(']')
                .ok_or_else(|| invalid("has no closing `]`"))?;
            match after {
                "" => (host, None),
                _ => (
                    host,
                    Some(
                        after
                            .strip_prefix(':')
                            .ok_or_else(|| invalid("has text after `]`"))?,
                    ),
                ),
            }
        } else if text.matches(':').count() > 1 {
            (text, None) // a bare IPv6 address
        } else {
            match text.split_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (text, None),
            }
        };
        let port = match port {
            None => DNS_PORT,
            Some(p) => p
                .parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| invalid("has no valid port after `:`"))?,
        };
        if host.is_empty() || host.contains(char::is_whitespace) {
            return Err(invalid("has no valid host"));
        }
        Ok(Self {
            host: host.to_owned(),
            port,
        })
    }

    pub(crate) fn host(&self) -> &str {
        &self.host
    }

    pub(crate) fn port(&self) -> u16 {
        self.port
    }
}

impl fmt::Display for ServerAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_addresses_take_the_dns_port_by_default() {
        let cases = [
            ("ns1.example.net", "ns1.example.net:53"),
            ("ns1.example.net:5353", "ns1.example.net:5353"),
            ("192.0.2.53", "192.0.2.53:53"),
            ("2001:db8::53", "[2001:db8::53]:53"),
            ("[2001:db8::53]:5300", "[2001:db8::53]:5300"),
        ];
        for (text, shown) in cases {
            assert_eq!(
                ServerAddress::parse(text).unwrap().to_string(),
                shown,
                "{text}"
            );
        }
        for bad in ["", "ns1:", "ns1:0", "ns1:99999", "[2001:db8::1", "[::1]x"] {
            assert!(ServerAddress::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_secret_is_never_shown() {
        let key = TsigKey::hmac_sha256(
            "teamline.",
            SecretString::from("c2VjcmV0LXNlY3JldC1zZWNyZXQ="),
        );
        assert!(!format!("{key:?}").contains("c2Vj"));
        let bad = TsigKey::hmac_sha256("teamline.", SecretString::from("not base64 at all!"));
        let err = bad.secret_bytes().unwrap_err().to_string();
        assert!(err.contains("`teamline.` is not base64"), "{err}");
        assert!(!err.contains("at all"), "{err}");
    }
}
