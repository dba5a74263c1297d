//! Everything Teamline keeps, behind small backend-neutral traits, one per aggregate.
//!
//! | Trait | Holds |
//! |---|---|
//! | [`StoreInfo`] | which database, its clock, whether it answers |
//! | [`PlatformStore`] | resellers, local accounts, SBC regions |
//! | [`EnterpriseStore`] | enterprises, their tenant registration, state and consents |
//! | [`VoiceRouteStore`] | an enterprise's voice routes |
//! | [`PbxLocationStore`] | an enterprise's PBX locations and their API credentials |
//! | [`DirectoryStore`] | the tenant's synced Teams users |
//! | [`DirectorySyncStore`] | sync groups, delta links and the sync history |
//! | [`PbxUserStore`] | PBX users, the Users page, who holds an extension/number/Teams user |
//! | [`PushStore`] | push states, read-backs and the push journal |
//! | [`DeviceStore`] | PBX device handles and their SIP passwords |
//! | [`RegistrationStore`] | what the SIP gateway registers, and each registration's state |
//! | [`CallStore`] | calls through the SIP gateway, per enterprise |
//! | [`GatewayHealthStore`] | the gateway's Microsoft proxies and certificates, per region |
//! | [`LeaseStore`] | named leases: one instance at a time drives the SIP gateway |
//! | [`JobStore`] | the durable job queue |
//! | [`AuditLog`] | audit events that belong to no other change; reading the log |
//! | [`ResellerReports`] | a reseller's audit log over its enterprises, the monthly billing summary |
//! | [`SessionStore`] | web sessions |
//! | [`KeyRotation`] | re-encrypting secrets after a key change |
//! | [`ApiTokenStore`] | API tokens (hashed) and the answers kept for idempotency keys |
//!
//! [`Store`] is all of them at once (every type that implements them all is one), so a whole
//! store still travels as one [`DynStore`]; a caller that needs only one aggregate takes that
//! trait instead (the job runner an `Arc<dyn JobStore>`, web sessions an
//! `Arc<dyn SessionStore>`). Code that holds a whole store imports [`prelude`] to call any
//! method.
//!
//! The implementation lives in `store-sql` (one SQL implementation), opened by `store-sqlite`
//! (the default, embedded) or `store-postgres` (several instances). One conformance suite
//! (`store-tests`) runs against both. Callers deal in domain types; secrets go in and come out
//! as secrets and are encrypted at rest (see [`crypto`]). Every change made for a person or a
//! job takes an [`Audit`](teamline_domain::audit::Audit) and writes its audit event in the
//! same transaction as the change.

mod api_tokens;
mod audit;
mod calls;
mod clock;
pub mod crypto;
mod directory;
mod enterprises;
mod error;
mod gateway_health;
mod imports;
mod jobs;
mod pbx_users;
mod platform;
pub mod records;
mod registrations;
mod reseller_reports;
mod sessions;

pub use api_tokens::{ApiToken, ApiTokenStore, NewApiToken, StoredResponse};
pub use audit::AuditLog;
pub use calls::{CallCursor, CallFilter, CallStore, StoredCall, StoredSipMessage};
pub use clock::{Clock, ManualClock, SystemClock};
pub use directory::{DirectoryStore, DirectorySyncStore};
pub use enterprises::{EnterpriseStore, PbxLocationStore, VoiceRouteStore};
pub use error::{DatabaseError, StoreError, StoreResult};
pub use gateway_health::{GatewayHealthStore, ProxyHealthRecord, RegionHealthRecord};
pub use imports::{
    ImportRowRecord, ImportState, ImportStore, NewImport, RowOutcome, RowProblem, StoredImport,
};
pub use jobs::JobStore;
pub use pbx_users::{DeviceStore, PbxUserStore, PushStore};
pub use platform::PlatformStore;
pub use records::*;
pub use registrations::{
    Lease, LeaseStore, RegistrationRecord, RegistrationStore, RegistrationTarget,
};
pub use reseller_reports::ResellerReports;
pub use sessions::SessionStore;

use async_trait::async_trait;
use std::sync::Arc;

/// What every store can say about itself.
#[async_trait]
pub trait StoreInfo: Send + Sync + 'static {
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;
    /// The clock that stamps every row this store writes.
    fn clock(&self) -> &dyn Clock;
    /// Fails when the database cannot be reached (for `/healthz`).
    async fn ping(&self) -> StoreResult<()>;
}

/// Re-encrypting stored secrets (PBX API credentials, SIP passwords) after a key rotation.
#[async_trait]
pub trait KeyRotation: Send + Sync + 'static {
    /// Re-encrypts every secret made with a previous key under the current one. Returns how
    /// many values were rewritten.
    async fn reencrypt_secrets(&self) -> StoreResult<u64>;
}

/// A whole store: every aggregate's trait. Implemented for every type that implements them
/// all; nothing implements it by hand.
pub trait Store:
    StoreInfo
    + PlatformStore
    + EnterpriseStore
    + VoiceRouteStore
    + PbxLocationStore
    + DirectoryStore
    + DirectorySyncStore
    + PbxUserStore
    + PushStore
    + DeviceStore
    + RegistrationStore
    + CallStore
    + GatewayHealthStore
    + LeaseStore
    + JobStore
    + AuditLog
    + ResellerReports
    + SessionStore
    + KeyRotation
    + ApiTokenStore
    + ImportStore
{
}

impl<T> Store for T where
    T: StoreInfo
        + PlatformStore
        + EnterpriseStore
        + VoiceRouteStore
        + PbxLocationStore
        + DirectoryStore
        + DirectorySyncStore
        + PbxUserStore
        + PushStore
        + DeviceStore
        + RegistrationStore
        + CallStore
        + GatewayHealthStore
        + LeaseStore
        + JobStore
        + AuditLog
        + ResellerReports
        + SessionStore
        + KeyRotation
        + ApiTokenStore
        + ImportStore
{
}

/// A whole store, shared. Coerces to `Arc<dyn JobStore>`, `Arc<dyn SessionStore>`, … where a
/// caller takes only one aggregate.
pub type DynStore = Arc<dyn Store>;

/// Every store trait, for code that holds a whole store: `use teamline_store::prelude::*;`.
pub mod prelude {
    pub use crate::{
        ApiTokenStore, AuditLog, CallStore, DeviceStore, DirectoryStore, DirectorySyncStore,
        DynStore, EnterpriseStore, GatewayHealthStore, ImportStore, JobStore, KeyRotation,
        LeaseStore, PbxLocationStore, PbxUserStore, PlatformStore, PushStore, RegistrationStore,
        ResellerReports, SessionStore, Store, StoreInfo, VoiceRouteStore,
    };
}
