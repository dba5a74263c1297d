//! What can go wrong publishing a record, worded for the operator who configured the zone.

/// Why a DNS update or look-up failed. Messages name the server, zone, key and name involved
/// and say what to check; they never contain the TSIG secret.
#[derive(Debug, thiserror::Error)]
pub enum DnsError {
    #[error("the DNS settings are not valid: {setting} {detail}")]
    Settings {
        setting: &'static str,
        detail: String,
    },

    #[error("`{name}` is not a valid DNS name: {detail}")]
    InvalidName { name: String, detail: String },

    #[error(
        "`{name}` is not inside the zone `{zone}` that Teamline updates: only names ending in \
         `.{zone}` can be published"
    )]
    NameOutsideZone { name: String, zone: String },

    #[error("the TXT value for `{name}` cannot be published: {detail}")]
    InvalidValue { name: String, detail: String },

    #[error(
        "cannot reach the DNS server {server}: {detail}. Check that the server runs and that \
         this host may connect to it over TCP"
    )]
    Unreachable { server: String, detail: String },

    #[error("the DNS server {server} did not answer within {secs} s")]
    Timeout { server: String, secs: u64 },

    #[error(
        "the TSIG key `{key}` is not allowed to update zone `{zone}` on the DNS server \
         {server}: {reason}. Check the key name and secret in Teamline's DNS settings against \
         the key configured on the server and the zone's update ACL"
    )]
    KeyRefused {
        key: String,
        zone: String,
        server: String,
        reason: String,
    },

    #[error(
        "the DNS server {server} refused the update of zone `{zone}` because the TSIG \
         signature's time is off (BADTIME): the clocks of this host and the server differ by \
         more than five minutes; synchronise them (NTP)"
    )]
    ClockSkew { server: String, zone: String },

    #[error(
        "the DNS server {server} does not serve the zone `{zone}` (it is not authoritative for \
         it): check the zone name in Teamline's DNS settings and that the server is the zone's \
         primary"
    )]
    ZoneNotServed { server: String, zone: String },

    #[error(
        "the DNS server {server} did not update `{name}` in zone `{zone}`: it answered {rcode}"
    )]
    UpdateFailed {
        server: String,
        zone: String,
        name: String,
        rcode: String,
    },

    #[error("the DNS server {server} could not answer for `{name}`: it answered {rcode}")]
    QueryFailed {
        server: String,
        name: String,
        rcode: String,
    },

    #[error(
        "the answer of the DNS server {server} to the update of zone `{zone}` is not signed \
         with the TSIG key `{key}` ({detail}), so Teamline cannot trust that the change was made"
    )]
    Unauthenticated {
        server: String,
        zone: String,
        key: String,
        detail: String,
    },

    #[error("the DNS server {server} sent an answer Teamline cannot read: {detail}")]
    Protocol { server: String, detail: String },
}
