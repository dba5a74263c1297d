//! `impl Store for SqlStore`: each method delegates to the module that implements it.

use crate::SqlStore;
use async_trait::async_trait;
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
use teamline_store::*;

#[async_trait]
impl Store for SqlStore {
    fn backend(&self) -> &'static str {
        self.backend.name()
    }

    fn clock(&self) -> &dyn Clock {
        self.clock.as_ref()
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(crate::map_sqlx)?;
        Ok(())
    }

    async fn create_reseller(&self, new: &NewReseller, audit: &Audit) -> StoreResult<Reseller> {
        self.create_reseller_impl(new, audit).await
    }

    async fn get_reseller(&self, id: ResellerId) -> StoreResult<Reseller> {
        self.get_reseller_impl(id).await
    }

    async fn reseller_by_name(&self, name: &str) -> StoreResult<Option<Reseller>> {
        self.reseller_by_name_impl(name).await
    }

    async fn list_resellers(&self) -> StoreResult<Vec<Reseller>> {
        self.list_resellers_impl().await
    }

    async fn create_account(&self, new: &NewAccount, audit: &Audit) -> StoreResult<Account> {
        self.create_account_impl(new, audit).await
    }

    async fn account_by_email(&self, email: &str) -> StoreResult<Option<Account>> {
        self.account_by_email_impl(email).await
    }

    async fn create_sbc_region(&self, new: &NewSbcRegion, audit: &Audit) -> StoreResult<SbcRegion> {
        self.create_sbc_region_impl(new, audit).await
    }

    async fn list_sbc_regions(&self) -> StoreResult<Vec<SbcRegion>> {
        self.list_sbc_regions_impl().await
    }

    async fn create_enterprise(
        &self,
        reseller: ResellerId,
        new: &NewEnterprise,
        audit: &Audit,
    ) -> StoreResult<Enterprise> {
        self.create_enterprise_impl(reseller, new, audit).await
    }

    async fn get_enterprise(&self, id: EnterpriseId) -> StoreResult<Enterprise> {
        self.get_enterprise_impl(id).await
    }

    async fn enterprise_by_slug(&self, slug: &str) -> StoreResult<Option<Enterprise>> {
        self.enterprise_by_slug_impl(slug).await
    }

    async fn enterprise_by_tenant(&self, tenant: &TenantId) -> StoreResult<Option<Enterprise>> {
        self.enterprise_by_tenant_impl(tenant).await
    }

    async fn list_enterprises(&self, reseller: Option<ResellerId>) -> StoreResult<Vec<Enterprise>> {
        self.list_enterprises_impl(reseller).await
    }

    async fn register_enterprise(
        &self,
        id: EnterpriseId,
        tenant: &TenantId,
        audit: &Audit,
    ) -> StoreResult<Enterprise> {
        self.register_enterprise_impl(id, tenant, audit).await
    }

    async fn set_enterprise_state(
        &self,
        id: EnterpriseId,
        state: EnterpriseState,
        audit: &Audit,
    ) -> StoreResult<Enterprise> {
        self.set_enterprise_state_impl(id, state, audit).await
    }

    async fn set_consent(
        &self,
        id: EnterpriseId,
        change: &ConsentChange,
        audit: &Audit,
    ) -> StoreResult<Enterprise> {
        self.set_consent_impl(id, change, audit).await
    }

    async fn create_voice_route(
        &self,
        enterprise: EnterpriseId,
        new: &NewVoiceRoute,
        audit: &Audit,
    ) -> StoreResult<VoiceRoute> {
        self.create_voice_route_impl(enterprise, new, audit).await
    }

    async fn set_voice_route_state(
        &self,
        enterprise: EnterpriseId,
        id: VoiceRouteId,
        state: VoiceRouteState,
        audit: &Audit,
    ) -> StoreResult<VoiceRoute> {
        self.set_voice_route_state_impl(enterprise, id, state, audit)
            .await
    }

    async fn list_voice_routes(&self, enterprise: EnterpriseId) -> StoreResult<Vec<VoiceRoute>> {
        self.list_voice_routes_impl(enterprise).await
    }

    async fn create_pbx_location(
        &self,
        enterprise: EnterpriseId,
        cmd: &PbxLocationCommand,
        audit: &Audit,
    ) -> StoreResult<PbxLocation> {
        self.create_pbx_location_impl(enterprise, cmd, audit).await
    }

    async fn update_pbx_location(
        &self,
        enterprise: EnterpriseId,
        id: PbxLocationId,
        cmd: &PbxLocationCommand,
        audit: &Audit,
    ) -> StoreResult<PbxLocation> {
        self.update_pbx_location_impl(enterprise, id, cmd, audit)
            .await
    }

    async fn get_pbx_location(
        &self,
        enterprise: EnterpriseId,
        id: PbxLocationId,
    ) -> StoreResult<PbxLocation> {
        self.get_pbx_location_impl(enterprise, id).await
    }

    async fn list_pbx_locations(&self, enterprise: EnterpriseId) -> StoreResult<Vec<PbxLocation>> {
        self.list_pbx_locations_impl(enterprise).await
    }

    async fn pbx_location_auth(
        &self,
        enterprise: EnterpriseId,
        id: PbxLocationId,
    ) -> StoreResult<PbxApiAuth> {
        self.pbx_location_auth_impl(enterprise, id).await
    }

    async fn set_sync_groups(
        &self,
        enterprise: EnterpriseId,
        groups: &[SyncGroupChoice],
        audit: &Audit,
    ) -> StoreResult<Vec<SyncGroup>> {
        self.set_sync_groups_impl(enterprise, groups, audit).await
    }

    async fn list_sync_groups(&self, enterprise: EnterpriseId) -> StoreResult<Vec<SyncGroup>> {
        self.list_sync_groups_impl(enterprise).await
    }

    async fn upsert_teams_users(
        &self,
        enterprise: EnterpriseId,
        users: &[TeamsUserUpsert],
    ) -> StoreResult<UpsertCounts> {
        self.upsert_teams_users_impl(enterprise, users).await
    }

    async fn mark_unseen_out_of_scope(
        &self,
        enterprise: EnterpriseId,
        since_ms: i64,
    ) -> StoreResult<u64> {
        self.mark_unseen_out_of_scope_impl(enterprise, since_ms)
            .await
    }

    async fn mark_out_of_scope(
        &self,
        enterprise: EnterpriseId,
        object_ids: &[String],
    ) -> StoreResult<u64> {
        self.mark_out_of_scope_impl(enterprise, object_ids).await
    }

    async fn mark_deleted_in_tenant(
        &self,
        enterprise: EnterpriseId,
        object_ids: &[String],
    ) -> StoreResult<u64> {
        self.mark_deleted_in_tenant_impl(enterprise, object_ids)
            .await
    }

    async fn get_teams_user(
        &self,
        enterprise: EnterpriseId,
        object_id: &str,
    ) -> StoreResult<Option<TeamsUser>> {
        self.get_teams_user_impl(enterprise, object_id).await
    }

    async fn get_teams_users(
        &self,
        enterprise: EnterpriseId,
        object_ids: &[String],
    ) -> StoreResult<Vec<TeamsUser>> {
        self.get_teams_users_impl(enterprise, object_ids).await
    }

    async fn teams_user_by_upn(
        &self,
        enterprise: EnterpriseId,
        upn: &str,
    ) -> StoreResult<Option<TeamsUser>> {
        self.teams_user_by_upn_impl(enterprise, upn).await
    }

    async fn list_teams_users(
        &self,
        enterprise: EnterpriseId,
        query: &TeamsUserQuery,
    ) -> StoreResult<Page<TeamsUser>> {
        self.list_teams_users_impl(enterprise, query).await
    }

    async fn sync_state(&self, enterprise: EnterpriseId) -> StoreResult<SyncState> {
        self.sync_state_impl(enterprise).await
    }

    async fn put_sync_state(&self, enterprise: EnterpriseId, state: &SyncState) -> StoreResult<()> {
        self.put_sync_state_impl(enterprise, state).await
    }

    async fn record_sync_run(
        &self,
        enterprise: EnterpriseId,
        run: &SyncRunRecord,
        keep: u32,
    ) -> StoreResult<()> {
        self.record_sync_run_impl(enterprise, run, keep).await
    }

    async fn list_sync_runs(
        &self,
        enterprise: EnterpriseId,
        limit: u32,
    ) -> StoreResult<Vec<SyncRunRecord>> {
        self.list_sync_runs_impl(enterprise, limit).await
    }

    async fn create_pbx_user(&self, new: &NewPbxUser, audit: &Audit) -> StoreResult<PbxUser> {
        self.create_pbx_user_impl(new, audit).await
    }

    async fn update_pbx_user(
        &self,
        enterprise: EnterpriseId,
        id: PbxUserId,
        expected_version: i64,
        spec: &PbxUserSpec,
        audit: &Audit,
    ) -> StoreResult<PbxUser> {
        self.update_pbx_user_impl(enterprise, id, expected_version, spec, audit)
            .await
    }

    async fn set_calling_enabled(
        &self,
        enterprise: EnterpriseId,
        id: PbxUserId,
        enabled: bool,
        audit: &Audit,
    ) -> StoreResult<PbxUser> {
        self.set_calling_enabled_impl(enterprise, id, enabled, audit)
            .await
    }

    async fn set_pbx_user_state(
        &self,
        enterprise: EnterpriseId,
        id: PbxUserId,
        state: PbxUserState,
        audit: &Audit,
    ) -> StoreResult<PbxUser> {
        self.set_pbx_user_state_impl(enterprise, id, state, audit)
            .await
    }

    async fn delete_pbx_user(
        &self,
        enterprise: EnterpriseId,
        id: PbxUserId,
        audit: &Audit,
    ) -> StoreResult<PbxUser> {
        self.delete_pbx_user_impl(enterprise, id, audit).await
    }

    async fn record_push(
        &self,
        enterprise: EnterpriseId,
        id: PbxUserId,
        outcome: &PushOutcome,
        audit: Option<&Audit>,
    ) -> StoreResult<PbxUser> {
        self.record_push_impl(enterprise, id, outcome, audit).await
    }

    async fn set_push_journal(
        &self,
        enterprise: EnterpriseId,
        id: PbxUserId,
        journal: Option<&str>,
    ) -> StoreResult<()> {
        self.set_push_journal_impl(enterprise, id, journal).await
    }

    async fn push_journal(
        &self,
        enterprise: EnterpriseId,
        id: PbxUserId,
    ) -> StoreResult<Option<String>> {
        self.push_journal_impl(enterprise, id).await
    }

    async fn get_pbx_user(
        &self,
        enterprise: EnterpriseId,
        id: PbxUserId,
    ) -> StoreResult<PbxUserListItem> {
        self.get_pbx_user_impl(enterprise, id).await
    }

    async fn list_pbx_users(
        &self,
        enterprise: EnterpriseId,
        query: &PbxUserQuery,
    ) -> StoreResult<Page<PbxUserListItem>> {
        self.list_pbx_users_impl(enterprise, query).await
    }

    async fn pbx_users_in_push_states(
        &self,
        enterprise: EnterpriseId,
        states: &[PushState],
    ) -> StoreResult<Vec<PbxUserId>> {
        self.pbx_users_in_push_states_impl(enterprise, states).await
    }

    async fn holder_of_extension(
        &self,
        location: PbxLocationId,
        extension: &Extension,
    ) -> StoreResult<Option<Holder>> {
        self.holder_of_extension_impl(location, extension).await
    }

    async fn extension_holders(
        &self,
        location: PbxLocationId,
    ) -> StoreResult<Vec<(String, Holder)>> {
        self.extension_holders_impl(location).await
    }

    async fn holder_of_number(
        &self,
        enterprise: EnterpriseId,
        number: &PhoneNumber,
    ) -> StoreResult<Option<Holder>> {
        self.holder_of_number_impl(enterprise, number).await
    }

    async fn holder_of_teams_user(
        &self,
        enterprise: EnterpriseId,
        object_id: &str,
    ) -> StoreResult<Option<Holder>> {
        self.holder_of_teams_user_impl(enterprise, object_id).await
    }

    async fn user_counts(&self, enterprise: EnterpriseId) -> StoreResult<UserCounts> {
        self.user_counts_impl(enterprise).await
    }

    async fn upsert_device_handle(
        &self,
        new: &NewDeviceHandle,
        audit: &Audit,
    ) -> StoreResult<StoredDeviceHandle> {
        self.upsert_device_handle_impl(new, audit).await
    }

    async fn device_handle(
        &self,
        enterprise: EnterpriseId,
        location: PbxLocationId,
        auth_id: &DeviceAuthId,
    ) -> StoreResult<Option<StoredDeviceHandle>> {
        self.device_handle_impl(enterprise, location, auth_id).await
    }

    async fn device_handle_password(
        &self,
        enterprise: EnterpriseId,
        id: DeviceHandleId,
    ) -> StoreResult<SipPassword> {
        self.device_handle_password_impl(enterprise, id).await
    }

    async fn delete_device_handle(
        &self,
        enterprise: EnterpriseId,
        id: DeviceHandleId,
        audit: &Audit,
    ) -> StoreResult<()> {
        self.delete_device_handle_impl(enterprise, id, audit).await
    }

    async fn enqueue(&self, job: &NewJob) -> StoreResult<Enqueued> {
        self.enqueue_impl(job).await
    }

    async fn claim_job(&self, worker: &str, lease_ms: i64) -> StoreResult<Option<Job>> {
        self.claim_job_impl(worker, lease_ms).await
    }

    async fn extend_lease(&self, id: JobId, worker: &str, lease_ms: i64) -> StoreResult<bool> {
        self.extend_lease_impl(id, worker, lease_ms).await
    }

    async fn report_progress(
        &self,
        id: JobId,
        worker: &str,
        done: u64,
        total: Option<u64>,
        message: Option<&str>,
    ) -> StoreResult<()> {
        self.report_progress_impl(id, worker, done, total, message)
            .await
    }

    async fn complete_job(&self, id: JobId, worker: &str) -> StoreResult<()> {
        self.complete_job_impl(id, worker).await
    }

    async fn fail_job(
        &self,
        id: JobId,
        worker: &str,
        failure: &JobFailure,
    ) -> StoreResult<JobState> {
        self.fail_job_impl(id, worker, failure).await
    }

    async fn get_job(&self, id: JobId) -> StoreResult<Job> {
        self.get_job_impl(id).await
    }

    async fn list_jobs(&self, query: &JobQuery) -> StoreResult<Vec<Job>> {
        self.list_jobs_impl(query).await
    }

    async fn next_job_due_ms(&self) -> StoreResult<Option<i64>> {
        self.next_job_due_ms_impl().await
    }

    async fn defer_queued_jobs(
        &self,
        enterprise: EnterpriseId,
        kinds: &[&str],
        until_ms: i64,
    ) -> StoreResult<u64> {
        self.defer_queued_jobs_impl(enterprise, kinds, until_ms)
            .await
    }

    async fn record_audit(&self, record: &AuditRecord) -> StoreResult<()> {
        self.record_audit_impl(record).await
    }

    async fn list_audit(
        &self,
        enterprise: Option<EnterpriseId>,
        limit: u32,
    ) -> StoreResult<Vec<AuditEvent>> {
        self.list_audit_impl(enterprise, limit).await
    }

    async fn load_session(&self, id: &str) -> StoreResult<Option<SessionRecord>> {
        self.load_session_impl(id).await
    }

    async fn save_session(&self, session: &SessionRecord) -> StoreResult<()> {
        self.save_session_impl(session).await
    }

    async fn delete_session(&self, id: &str) -> StoreResult<()> {
        self.delete_session_impl(id).await
    }

    async fn delete_expired_sessions(&self) -> StoreResult<u64> {
        self.delete_expired_sessions_impl().await
    }

    async fn reencrypt_secrets(&self) -> StoreResult<u64> {
        self.reencrypt_secrets_impl().await
    }
}
