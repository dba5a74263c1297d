//! Publishing DNS records in a zone Teamline controls.
//!
//! Microsoft verifies that a tenant owns the per-tenant Direct Routing subdomain (e.g.
//! `cust1234.sbc.example.net`) by looking for a TXT record it names. The operator delegates a
//! zone to an authoritative server it runs and gives Teamline a TSIG key that may update it;
//! Teamline then publishes and removes those records itself with RFC 2136 dynamic updates.
//!
//! - [`ZonePublisher`]: what the rest of Teamline uses (publish, remove, look up TXT records).
//! - [`Rfc2136Publisher`]: the implementation for any server speaking RFC 2136 with TSIG
//!   (Knot DNS, BIND, PowerDNS, …).
//! - `testing` (feature `testing`): a real Knot DNS server in a temp dir for tests.

mod error;
mod name;
mod publisher;
pub mod rfc2136;
#[cfg(feature = "testing")]
pub mod testing;

pub use error::DnsError;
pub use publisher::ZonePublisher;
pub use rfc2136::{Rfc2136Publisher, Rfc2136Settings, TsigKey};
