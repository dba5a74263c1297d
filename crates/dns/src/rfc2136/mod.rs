//! [`ZonePublisher`] over RFC 2136 dynamic updates signed with TSIG (RFC 8945, HMAC-SHA256).
//!
//! Messages are built and signed with `hickory-proto`; the exchange itself is ours (a few lines
//! of TCP) so that a server's unsigned refusal (BADKEY, BADSIG) is read and explained instead
//! of being reported as an unverifiable answer.

mod exchange;
mod message;
mod settings;

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::rdata::tsig::TsigAlgorithm;
use hickory_proto::rr::{Name, RecordType, TSigner};

use crate::name::{absolute_name, display, name_in_zone, txt_strings};
use crate::{DnsError, ZonePublisher};
use message::UpdateAnswer;
use settings::ServerAddress;
pub use settings::{Rfc2136Settings, TsigKey};

/// How far apart the clocks of Teamline and the server may be (RFC 8945 recommends 300 s).
const FUDGE_SECS: u16 = 300;

/// Publishes records in one zone by sending signed updates to its primary server.
pub struct Rfc2136Publisher {
    server: ServerAddress,
    zone: Name,
    zone_text: String,
    key_name: String,
    signer: TSigner,
    timeout: Duration,
}

impl fmt::Debug for Rfc2136Publisher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rfc2136Publisher")
            .field("server", &self.server.to_string())
            .field("zone", &self.zone_text)
            .field("key", &self.key_name)
            .finish_non_exhaustive()
    }
}

impl Rfc2136Publisher {
    /// Checks the settings (server address, zone and key names, base64 secret); contacts
    /// nothing.
    pub fn new(settings: &Rfc2136Settings) -> Result<Self, DnsError> {
        let server = ServerAddress::parse(&settings.server)?;
        let zone = absolute_name(&settings.zone).map_err(|e| DnsError::Settings {
            setting: "DNS zone",
            detail: e.to_string(),
        })?;
        let key_name = absolute_name(settings.key.name()).map_err(|e| DnsError::Settings {
            setting: "TSIG key name",
            detail: e.to_string(),
        })?;
        let signer = TSigner::new(
            settings.key.secret_bytes()?,
            TsigAlgorithm::HmacSha256,
            key_name.clone(),
            FUDGE_SECS,
        )
        .map_err(|e| DnsError::Settings {
            setting: "TSIG key",
            detail: e.to_string(),
        })?;
        Ok(Self {
            server,
            zone_text: display(&zone),
            zone,
            key_name: key_name.to_ascii(),
            signer,
            timeout: settings.timeout,
        })
    }

    /// Whether the server answers authoritatively for the zone's SOA.
    pub async fn serves_zone(&self) -> Result<bool, DnsError> {
        let answer = self.ask(&self.zone, RecordType::SOA).await?;
        Ok(answer.metadata.response_code == ResponseCode::NoError
            && answer.metadata.authoritative
            && answer
                .answers
                .iter()
                .any(|r| r.record_type() == RecordType::SOA && r.name.to_lowercase() == self.zone))
    }

    /// Signs `update`, sends it and explains any refusal.
    async fn update(&self, name: &Name, mut update: Message) -> Result<(), DnsError> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        let verifier = update
            .finalize(&self.signer, now)
            .map_err(|e| self.protocol(e))?;
        let wire = update.to_vec().map_err(|e| self.protocol(e))?;
        let raw = exchange::exchange(&self.server, &wire, self.timeout).await?;
        let answer = self.parse(&raw, update.metadata.id)?;
        match message::update_answer(&answer) {
            UpdateAnswer::Applied => {
                let verified = verifier
                    .ok_or_else(|| "no TSIG verifier".to_owned())
                    .and_then(|mut v| v.verify(&raw).map_err(|e| e.to_string()));
                verified
                    .map(|_| ())
                    .map_err(|detail| DnsError::Unauthenticated {
                        server: self.server.to_string(),
                        zone: self.zone_text.clone(),
                        key: self.key_name.clone(),
                        detail,
                    })
            }
            UpdateAnswer::KeyRejected(error) => Err(self.key_refused(message::tsig_reason(&error))),
            UpdateAnswer::BadTime => Err(DnsError::ClockSkew {
                server: self.server.to_string(),
                zone: self.zone_text.clone(),
            }),
            // NOTAUTH means "not authoritative" (RFC 2136) or "not authorised" (RFC 8945):
            // asking for the zone's SOA tells which.
            UpdateAnswer::Refused(code) => {
                if self.serves_zone().await? {
                    Err(self
                        .key_refused(format!("the server answered {}", message::rcode_text(code))))
                } else {
                    Err(self.zone_not_served())
                }
            }
            UpdateAnswer::Failed(code) => Err(DnsError::UpdateFailed {
                server: self.server.to_string(),
                zone: self.zone_text.clone(),
                name: display(name),
                rcode: message::rcode_text(code),
            }),
        }
    }

    /// Sends an unsigned query and returns the parsed answer.
    async fn ask(&self, name: &Name, record_type: RecordType) -> Result<Message, DnsError> {
        let query = message::query(name, record_type);
        let wire = query.to_vec().map_err(|e| self.protocol(e))?;
        let raw = exchange::exchange(&self.server, &wire, self.timeout).await?;
        self.parse(&raw, query.metadata.id)
    }

    fn parse(&self, raw: &[u8], id: u16) -> Result<Message, DnsError> {
        let answer = Message::from_vec(raw).map_err(|e| self.protocol(e))?;
        if answer.metadata.id != id {
            return Err(self.protocol("the answer's id does not match the request's"));
        }
        Ok(answer)
    }

    fn key_refused(&self, reason: String) -> DnsError {
        DnsError::KeyRefused {
            key: self.key_name.clone(),
            zone: self.zone_text.clone(),
            server: self.server.to_string(),
            reason,
        }
    }

    fn zone_not_served(&self) -> DnsError {
        DnsError::ZoneNotServed {
            server: self.server.to_string(),
            zone: self.zone_text.clone(),
        }
    }

    fn protocol(&self, detail: impl fmt::Display) -> DnsError {
        DnsError::Protocol {
            server: self.server.to_string(),
            detail: detail.to_string(),
        }
    }
}

#[async_trait]
impl ZonePublisher for Rfc2136Publisher {
    fn zone(&self) -> &str {
        &self.zone_text
    }

    async fn upsert_txt(
        &self,
        name: &str,
        values: &[String],
        ttl_secs: u32,
    ) -> Result<(), DnsError> {
        let owner = name_in_zone(name, &self.zone)?;
        if values.is_empty() {
            return Err(DnsError::InvalidValue {
                name: display(&owner),
                detail: "there is no value to publish (to remove the records, delete them)"
                    .to_owned(),
            });
        }
        let mut unique: Vec<&String> = values.iter().collect();
        unique.sort();
        unique.dedup();
        let records = unique
            .into_iter()
            .map(|value| txt_strings(&owner, value))
            .collect::<Result<Vec<_>, _>>()?;
        self.update(
            &owner,
            message::replace_txt(&self.zone, &owner, &records, ttl_secs),
        )
        .await?;
        tracing::info!(zone = %self.zone_text, name = %display(&owner), records = records.len(), "published TXT records");
        Ok(())
    }

    async fn delete_txt(&self, name: &str) -> Result<(), DnsError> {
        let owner = name_in_zone(name, &self.zone)?;
        self.update(&owner, message::delete_txt(&self.zone, &owner))
            .await?;
        tracing::info!(zone = %self.zone_text, name = %display(&owner), "removed TXT records");
        Ok(())
    }

    async fn lookup_txt(&self, name: &str) -> Result<Vec<String>, DnsError> {
        let owner = name_in_zone(name, &self.zone)?;
        let answer = self.ask(&owner, RecordType::TXT).await?;
        let code = answer.metadata.response_code;
        match code {
            ResponseCode::NoError | ResponseCode::NXDomain if answer.metadata.authoritative => {
                Ok(message::txt_values(&answer, &owner))
            }
            ResponseCode::NoError
            | ResponseCode::NXDomain
            | ResponseCode::Refused
            | ResponseCode::NotAuth => Err(self.zone_not_served()),
            code => Err(DnsError::QueryFailed {
                server: self.server.to_string(),
                name: display(&owner),
                rcode: message::rcode_text(code),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use secrecy::SecretString;

    use super::*;

    fn settings(secret: &str) -> Rfc2136Settings {
        Rfc2136Settings::new(
            "127.0.0.1:5353",
            "sbc.example.net",
            TsigKey::hmac_sha256("teamline", SecretString::from(secret)),
        )
    }

    #[test]
    fn settings_are_checked_without_contacting_the_server() {
        let ok = Rfc2136Publisher::new(&settings("MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="))
            .unwrap();
        assert_eq!(ok.zone(), "sbc.example.net");
        assert_eq!(ok.key_name, "teamline.");
        let debug = format!("{ok:?}");
        assert!(
            debug.contains("127.0.0.1:5353") && !debug.contains("MDEy"),
            "{debug}"
        );

        let short = Rfc2136Publisher::new(&settings("c2hvcnQ=")).unwrap_err();
        assert!(short.to_string().contains("is 5 bytes long"), "{short}");
    }
}
