//! The `Store`: everything Teamline keeps, behind one backend-neutral trait.
//!
//! Implementations live in `store-sqlite` (the default, embedded) and `store-postgres` (several
//! instances), sharing their SQL through `store-sql`. One conformance suite (`store-tests`) runs
//! against both. Callers deal in domain types; secrets go in and come out as secrets and are
//! encrypted at rest (see [`crypto`]). Every change made for a person or a job takes an
//! [`Audit`] and writes its audit event in the same transaction as the change.

pub mod crypto;
mod error;
pub mod records;

pub use error::{StoreError, StoreResult};
pub use records::*;

use async_trait::async_trait;
use std::sync::Arc;
use teamline_domain::audit::{Audit, AuditEvent};
use teamline_domain::device::{DeviceAuthId, SipPassword};
use teamline_domain::enterprise::{Enterprise, EnterpriseState, NewEnterprise, TenantId};
use teamline_domain::ids::*;
use teamline_domain::job::{Job, JobState};
use teamline_domain::pbx_location::{PbxApiAuth, PbxLocation, PbxLocationCommand};
use teamline_domain::pbx_user::{Holder, PbxUser, PbxUserSpec, PbxUserState, PushState};
use teamline_domain::phone::PhoneNumber;
use teamline_domain::reseller::{NewReseller, Reseller};
use teamline_domain::sip::Extension;
use teamline_domain::sync_group::SyncGroupChoice;
use teamline_domain::teams_user::TeamsUser;
use teamline_domain::voice_route::{
    NewSbcRegion, NewVoiceRoute, SbcRegion, VoiceRoute, VoiceRouteState,
};

/// The time source of a store. Tests use a manual clock to step through retry schedules.
pub trait Clock: Send + Sync + 'static {
    fn now_ms(&self) -> i64;
}

/// Wall-clock time.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        i64::try_from(now.as_millis()).unwrap_or(i64::MAX)
    }
}

/// A clock that only moves when told to.
#[derive(Debug, Default)]
pub struct ManualClock(std::sync::atomic::AtomicI64);

impl ManualClock {
    pub fn new(start_ms: i64) -> Self {
        Self(std::sync::atomic::AtomicI64::new(start_ms))
    }

    pub fn advance_ms(&self, ms: i64) {
        self.0.fetch_add(ms, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}

pub type DynStore = Arc<dyn Store>;

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;
    fn clock(&self) -> &dyn Clock;
    /// Fails when the database cannot be reached (for `/healthz`).
    async fn ping(&self) -> StoreResult<()>;

    // --- resellers and local accounts -------------------------------------------------------
    async fn create_reseller(&self, new: &NewReseller, audit: &Audit) -> StoreResult<Reseller>;
    async fn get_reseller(&self, id: ResellerId) -> StoreResult<Reseller>;
    async fn reseller_by_name(&self, name: &str) -> StoreResult<Option<Reseller>>;
    async fn list_resellers(&self) -> StoreResult<Vec<Reseller>>;
    async fn create_account(&self, new: &NewAccount, audit: &Audit) -> StoreResult<Account>;
    /// Case-insensitive.
    async fn account_by_email(&self, email: &str) -> StoreResult<Option<Account>>;

    // --- platform: SBC regions --------------------------------------------------------------
    async fn create_sbc_region(&self, new: &NewSbcRegion, audit: &Audit) -> StoreResult<SbcRegion>;
    async fn list_sbc_regions(&self) -> StoreResult<Vec<SbcRegion>>;

    // --- enterprises ------------------------------------------------------------------------
    async fn create_enterprise(
        &self,
        reseller: ResellerId,
        new: &NewEnterprise,
        audit: &Audit,
    ) -> StoreResult<Enterprise>;
    async fn get_enterprise(&self, id: EnterpriseId) -> StoreResult<Enterprise>;
    async fn enterprise_by_slug(&self, slug: &str) -> StoreResult<Option<Enterprise>>;
    async fn enterprise_by_tenant(&self, tenant: &TenantId) -> StoreResult<Option<Enterprise>>;
    /// All enterprises, or one reseller's.
    async fn list_enterprises(&self, reseller: Option<ResellerId>) -> StoreResult<Vec<Enterprise>>;
    /// Records the tenant the Global Administrator signed in from (state → registered).
    async fn register_enterprise(
        &self,
        id: EnterpriseId,
        tenant: &TenantId,
        audit: &Audit,
    ) -> StoreResult<Enterprise>;
    async fn set_enterprise_state(
        &self,
        id: EnterpriseId,
        state: EnterpriseState,
        audit: &Audit,
    ) -> StoreResult<Enterprise>;
    async fn set_consent(
        &self,
        id: EnterpriseId,
        change: &ConsentChange,
        audit: &Audit,
    ) -> StoreResult<Enterprise>;

    // --- voice routes -----------------------------------------------------------------------
    async fn create_voice_route(
        &self,
        enterprise: EnterpriseId,
        new: &NewVoiceRoute,
        audit: &Audit,
    ) -> StoreResult<VoiceRoute>;
    async fn set_voice_route_state(
        &self,
        enterprise: EnterpriseId,
        id: VoiceRouteId,
        state: VoiceRouteState,
        audit: &Audit,
    ) -> StoreResult<VoiceRoute>;
    async fn list_voice_routes(&self, enterprise: EnterpriseId) -> StoreResult<Vec<VoiceRoute>>;

    // --- PBX locations ----------------------------------------------------------------------
    /// `cmd.auth` must be set for a new location.
    async fn create_pbx_location(
        &self,
        enterprise: EnterpriseId,
        cmd: &PbxLocationCommand,
        audit: &Audit,
    ) -> StoreResult<PbxLocation>;
    /// `cmd.auth = None` keeps the stored secrets.
    async fn update_pbx_location(
        &self,
        enterprise: EnterpriseId,
        id: PbxLocationId,
        cmd: &PbxLocationCommand,
        audit: &Audit,
    ) -> StoreResult<PbxLocation>;
    async fn get_pbx_location(
        &self,
        enterprise: EnterpriseId,
        id: PbxLocationId,
    ) -> StoreResult<PbxLocation>;
    async fn list_pbx_locations(&self, enterprise: EnterpriseId) -> StoreResult<Vec<PbxLocation>>;
    /// Decrypts the location's API credentials (for the PBX client only).
    async fn pbx_location_auth(
        &self,
        enterprise: EnterpriseId,
        id: PbxLocationId,
    ) -> StoreResult<PbxApiAuth>;

    // --- sync groups and the directory ------------------------------------------------------
    /// Replaces the enterprise's sync groups.
    async fn set_sync_groups(
        &self,
        enterprise: EnterpriseId,
        groups: &[SyncGroupChoice],
        audit: &Audit,
    ) -> StoreResult<Vec<SyncGroup>>;
    async fn list_sync_groups(&self, enterprise: EnterpriseId) -> StoreResult<Vec<SyncGroup>>;
    /// Inserts or updates synced users; `last_seen` becomes now. One transaction.
    async fn upsert_teams_users(
        &self,
        enterprise: EnterpriseId,
        users: &[TeamsUserUpsert],
    ) -> StoreResult<UpsertCounts>;
    /// After a full sync: users not seen since `since_ms` left the scope (kept, flagged).
    async fn mark_unseen_out_of_scope(
        &self,
        enterprise: EnterpriseId,
        since_ms: i64,
    ) -> StoreResult<u64>;
    /// Delta: these users left every sync group.
    async fn mark_out_of_scope(
        &self,
        enterprise: EnterpriseId,
        object_ids: &[String],
    ) -> StoreResult<u64>;
    /// Delta: Microsoft reports these users deleted.
    async fn mark_deleted_in_tenant(
        &self,
        enterprise: EnterpriseId,
        object_ids: &[String],
    ) -> StoreResult<u64>;
    async fn get_teams_user(
        &self,
        enterprise: EnterpriseId,
        object_id: &str,
    ) -> StoreResult<Option<TeamsUser>>;
    /// The known users among `object_ids` (unknown ids are left out), for applying delta
    /// changes that carry only the changed fields.
    async fn get_teams_users(
        &self,
        enterprise: EnterpriseId,
        object_ids: &[String],
    ) -> StoreResult<Vec<TeamsUser>>;
    /// Exact UPN (case-insensitive).
    async fn teams_user_by_upn(
        &self,
        enterprise: EnterpriseId,
        upn: &str,
    ) -> StoreResult<Option<TeamsUser>>;
    async fn list_teams_users(
        &self,
        enterprise: EnterpriseId,
        query: &TeamsUserQuery,
    ) -> StoreResult<Page<TeamsUser>>;
    async fn sync_state(&self, enterprise: EnterpriseId) -> StoreResult<SyncState>;
    async fn put_sync_state(&self, enterprise: EnterpriseId, state: &SyncState) -> StoreResult<()>;
    /// Adds a run to the enterprise's sync history, keeping only the newest `keep` runs.
    async fn record_sync_run(
        &self,
        enterprise: EnterpriseId,
        run: &SyncRunRecord,
        keep: u32,
    ) -> StoreResult<()>;
    /// The sync history, newest first.
    async fn list_sync_runs(
        &self,
        enterprise: EnterpriseId,
        limit: u32,
    ) -> StoreResult<Vec<SyncRunRecord>>;

    // --- PBX users --------------------------------------------------------------------------
    /// Stores a new pairing (push state pending). Enforces: one active-or-disabled user per
    /// extension of a PBX location, per number and per Teams user of the enterprise.
    async fn create_pbx_user(&self, new: &NewPbxUser, audit: &Audit) -> StoreResult<PbxUser>;
    /// Edit: `expected_version` guards against overwriting a concurrent change.
    async fn update_pbx_user(
        &self,
        enterprise: EnterpriseId,
        id: PbxUserId,
        expected_version: i64,
        spec: &PbxUserSpec,
        audit: &Audit,
    ) -> StoreResult<PbxUser>;
    /// Enable or Disable Calling: records the wish and marks the user pending.
    async fn set_calling_enabled(
        &self,
        enterprise: EnterpriseId,
        id: PbxUserId,
        enabled: bool,
        audit: &Audit,
    ) -> StoreResult<PbxUser>;
    /// Active ↔ Disabled (Disable User / re-enable). Deleting goes through `delete_pbx_user`.
    async fn set_pbx_user_state(
        &self,
        enterprise: EnterpriseId,
        id: PbxUserId,
        state: PbxUserState,
        audit: &Audit,
    ) -> StoreResult<PbxUser>;
    /// Only a Disabled user can be deleted: frees its extension, number and Teams user.
    async fn delete_pbx_user(
        &self,
        enterprise: EnterpriseId,
        id: PbxUserId,
        audit: &Audit,
    ) -> StoreResult<PbxUser>;
    /// A job's result: push state, error and the state read back from Microsoft.
    async fn record_push(
        &self,
        enterprise: EnterpriseId,
        id: PbxUserId,
        outcome: &PushOutcome,
        audit: Option<&Audit>,
    ) -> StoreResult<PbxUser>;
    /// What a push already sent to Microsoft that may still be propagating (the engine's
    /// JSON), kept so a retry does not send it again. `None` clears it.
    async fn set_push_journal(
        &self,
        enterprise: EnterpriseId,
        id: PbxUserId,
        journal: Option<&str>,
    ) -> StoreResult<()>;
    async fn push_journal(
        &self,
        enterprise: EnterpriseId,
        id: PbxUserId,
    ) -> StoreResult<Option<String>>;
    async fn get_pbx_user(
        &self,
        enterprise: EnterpriseId,
        id: PbxUserId,
    ) -> StoreResult<PbxUserListItem>;
    async fn list_pbx_users(
        &self,
        enterprise: EnterpriseId,
        query: &PbxUserQuery,
    ) -> StoreResult<Page<PbxUserListItem>>;
    /// Active or disabled users in one of these push states.
    async fn pbx_users_in_push_states(
        &self,
        enterprise: EnterpriseId,
        states: &[PushState],
    ) -> StoreResult<Vec<PbxUserId>>;
    async fn holder_of_extension(
        &self,
        location: PbxLocationId,
        extension: &Extension,
    ) -> StoreResult<Option<Holder>>;
    /// Every extension of a PBX location held by an active or disabled user, with its holder.
    async fn extension_holders(
        &self,
        location: PbxLocationId,
    ) -> StoreResult<Vec<(String, Holder)>>;
    async fn holder_of_number(
        &self,
        enterprise: EnterpriseId,
        number: &PhoneNumber,
    ) -> StoreResult<Option<Holder>>;
    async fn holder_of_teams_user(
        &self,
        enterprise: EnterpriseId,
        object_id: &str,
    ) -> StoreResult<Option<Holder>>;
    async fn user_counts(&self, enterprise: EnterpriseId) -> StoreResult<UserCounts>;

    // --- device handles ---------------------------------------------------------------------
    /// Inserts, or updates the password of, the handle `(location, auth id)`.
    async fn upsert_device_handle(
        &self,
        new: &NewDeviceHandle,
        audit: &Audit,
    ) -> StoreResult<StoredDeviceHandle>;
    async fn device_handle(
        &self,
        enterprise: EnterpriseId,
        location: PbxLocationId,
        auth_id: &DeviceAuthId,
    ) -> StoreResult<Option<StoredDeviceHandle>>;
    async fn device_handle_password(
        &self,
        enterprise: EnterpriseId,
        id: DeviceHandleId,
    ) -> StoreResult<SipPassword>;
    async fn delete_device_handle(
        &self,
        enterprise: EnterpriseId,
        id: DeviceHandleId,
        audit: &Audit,
    ) -> StoreResult<()>;

    // --- jobs -------------------------------------------------------------------------------
    /// Queues a job. When a job with the same idempotency key is already waiting, returns it
    /// instead, moved earlier if this request wants it sooner.
    async fn enqueue(&self, job: &NewJob) -> StoreResult<Enqueued>;
    /// Claims the most urgent due job whose lane is free (or whose runner's lease expired),
    /// for `lease_ms`. On PostgreSQL several instances can claim at once without running a job
    /// twice.
    async fn claim_job(&self, worker: &str, lease_ms: i64) -> StoreResult<Option<Job>>;
    /// Renews the lease; `false` when the job is no longer this worker's (it must stop).
    async fn extend_lease(&self, id: JobId, worker: &str, lease_ms: i64) -> StoreResult<bool>;
    async fn report_progress(
        &self,
        id: JobId,
        worker: &str,
        done: u64,
        total: Option<u64>,
        message: Option<&str>,
    ) -> StoreResult<()>;
    async fn complete_job(&self, id: JobId, worker: &str) -> StoreResult<()>;
    /// Records a failed attempt; returns the job's new state (queued for a retry, or failed).
    async fn fail_job(
        &self,
        id: JobId,
        worker: &str,
        failure: &JobFailure,
    ) -> StoreResult<JobState>;
    async fn get_job(&self, id: JobId) -> StoreResult<Job>;
    async fn list_jobs(&self, query: &JobQuery) -> StoreResult<Vec<Job>>;
    /// When the next queued job becomes due (for the runner's sleep).
    async fn next_job_due_ms(&self) -> StoreResult<Option<i64>>;
    /// Holds the enterprise's queued jobs of these kinds until `until_ms` (e.g. while Microsoft
    /// throttles its tenant), so runners spend no slot on them. Returns how many moved.
    async fn defer_queued_jobs(
        &self,
        enterprise: EnterpriseId,
        kinds: &[&str],
        until_ms: i64,
    ) -> StoreResult<u64>;

    // --- audit ------------------------------------------------------------------------------
    /// An event that is not part of another change (e.g. "sync completed").
    async fn record_audit(&self, record: &AuditRecord) -> StoreResult<()>;
    /// Newest first.
    async fn list_audit(
        &self,
        enterprise: Option<EnterpriseId>,
        limit: u32,
    ) -> StoreResult<Vec<AuditEvent>>;

    // --- web sessions -----------------------------------------------------------------------
    async fn load_session(&self, id: &str) -> StoreResult<Option<SessionRecord>>;
    async fn save_session(&self, session: &SessionRecord) -> StoreResult<()>;
    async fn delete_session(&self, id: &str) -> StoreResult<()>;
    async fn delete_expired_sessions(&self) -> StoreResult<u64>;

    // --- maintenance ------------------------------------------------------------------------
    /// Re-encrypts every secret made with a previous key under the current one (key rotation).
    /// Returns how many values were rewritten.
    async fn reencrypt_secrets(&self) -> StoreResult<u64>;
}
