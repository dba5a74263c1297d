//! The SIP gateway's side of the store: what Teamline wants registered (read from the PBX
//! users, their devices, voice routes and PBX locations), the live state of each device
//! handle's registration as the gateway last reported it, and the lease that lets one
//! Teamline instance at a time drive the gateway.

use crate::StoreResult;
use async_trait::async_trait;
use std::collections::BTreeMap;
use teamline_domain::device::{DeviceAuthId, SipPassword};
use teamline_domain::ids::{EnterpriseId, PbxUserId};
use teamline_domain::pbx_location::DnsLookup;
use teamline_domain::pbx_user::{CallerNamePolicy, ForwardedCallerId};
use teamline_domain::phone::PhoneNumber;
use teamline_domain::registration::RegistrationStatus;
use teamline_domain::sip::{ProxyHost, SipDomain};

/// A device handle Teamline wants registered: an active PBX user with calling enabled whose
/// device credentials are stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationTarget {
    pub enterprise_id: EnterpriseId,
    pub pbx_user_id: PbxUserId,
    /// The user's Teams number: the registration's local user.
    pub teams_number: PhoneNumber,
    /// The tenant's SBC FQDN on the user's voice route: the registration's local host.
    pub sbc_fqdn: String,
    pub device: DeviceAuthId,
    pub sip_domain: SipDomain,
    /// The device's SIP password (decrypted; `Debug` is redacted).
    pub password: SipPassword,
    pub proxy: ProxyHost,
    pub dns_lookup: DnsLookup,
    /// The caller name Teams shows for calls from the PBX to this user.
    pub caller_name: CallerNamePolicy,
    /// Which caller a call the PBX forwarded to this user shows in Teams.
    pub forwarded_caller_id: ForwardedCallerId,
}

/// A PBX user's registration as the gateway last reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationRecord {
    pub enterprise_id: EnterpriseId,
    pub pbx_user_id: PbxUserId,
    /// The device handle (`1000tm`).
    pub device: DeviceAuthId,
    /// The gateway's id of the registration (uac_reg's `l_uuid`).
    pub registration: String,
    pub state: RegistrationStatus,
    /// In this state since (for Registered: registered without a break since).
    pub since_ms: Option<i64>,
    /// The PBX address that answered (or did not).
    pub target: Option<String>,
    /// Registered until (refreshed before that).
    pub expires_ms: Option<i64>,
    /// What went wrong, for the admin.
    pub last_error: Option<String>,
    /// When the gateway was asked.
    pub observed_ms: i64,
}

/// A named lease held by one Teamline instance until `until_ms`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub name: String,
    pub holder: String,
    pub until_ms: i64,
}

/// What the gateway registers and how each registration stands.
#[async_trait]
pub trait RegistrationStore: Send + Sync + 'static {
    /// Every device handle to register now (of one enterprise, or all), ordered by enterprise
    /// and PBX user.
    async fn registration_targets(
        &self,
        enterprise: Option<EnterpriseId>,
    ) -> StoreResult<Vec<RegistrationTarget>>;
    /// A value that changes whenever anything [`Self::registration_targets`] reads changes:
    /// cheap to ask often, so an instance notices changes made by another.
    async fn registration_targets_version(&self) -> StoreResult<String>;
    /// Records states (one per PBX user; a later record replaces an earlier one).
    async fn record_registrations(&self, records: &[RegistrationRecord]) -> StoreResult<()>;
    /// The stored states of one enterprise (or all), optionally only of some PBX users.
    async fn list_registrations(
        &self,
        enterprise: Option<EnterpriseId>,
        users: Option<&[PbxUserId]>,
    ) -> StoreResult<Vec<RegistrationRecord>>;
    /// How many registrations are in each state (of one enterprise, or all).
    async fn registration_counts(
        &self,
        enterprise: Option<EnterpriseId>,
    ) -> StoreResult<BTreeMap<RegistrationStatus, u64>>;
}

/// Named leases: one instance at a time does what a lease guards (e.g. driving the SIP
/// gateway), and another takes over when the holder stops renewing it.
#[async_trait]
pub trait LeaseStore: Send + Sync + 'static {
    /// Takes the lease `name` for `holder` until now + `ttl_ms` when it is free, expired or
    /// already `holder`'s (a renewal). `false` when another holder has it.
    async fn claim_lease(&self, name: &str, holder: &str, ttl_ms: i64) -> StoreResult<bool>;
    /// Gives the lease up at once, if `holder` has it.
    async fn release_lease(&self, name: &str, holder: &str) -> StoreResult<()>;
    async fn lease(&self, name: &str) -> StoreResult<Option<Lease>>;
}
