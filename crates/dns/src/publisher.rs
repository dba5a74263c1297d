//! The one interface the rest of Teamline uses to put records into the platform's DNS zone.

use async_trait::async_trait;

use crate::DnsError;

/// Writes TXT records into one DNS zone and reads them back from its authoritative server.
///
/// Names are absolute (`cust1234.sbc.example.net`, a trailing dot is optional) and must lie
/// inside the publisher's zone. Object safe, so the engine can hold an `Arc<dyn ZonePublisher>`.
#[async_trait]
pub trait ZonePublisher: Send + Sync {
    /// The zone this publisher writes to, e.g. `sbc.example.net`.
    fn zone(&self) -> &str;

    /// Makes `values` the TXT records of `name`, replacing any TXT records it had, in one
    /// atomic update. Publishing the same values again leaves exactly the same records.
    /// `ttl_secs` is the records' time to live.
    async fn upsert_txt(
        &self,
        name: &str,
        values: &[String],
        ttl_secs: u32,
    ) -> Result<(), DnsError>;

    /// Removes every TXT record of `name`; removing what is not there succeeds.
    async fn delete_txt(&self, name: &str) -> Result<(), DnsError>;

    /// The TXT values the zone's authoritative server answers for `name` now (empty when there
    /// are none), asked of that server directly so no resolver cache is in the way.
    async fn lookup_txt(&self, name: &str) -> Result<Vec<String>, DnsError>;
}
