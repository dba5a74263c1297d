use crate::{
    NewDeviceHandle, NewPbxUser, Page, PbxUserListItem, PbxUserQuery, PushOutcome, StoreResult,
    StoredDeviceHandle, UserCounts,
};
use async_trait::async_trait;
use teamline_domain::audit::Audit;
use teamline_domain::device::{DeviceAuthId, SipPassword};
use teamline_domain::ids::{DeviceHandleId, EnterpriseId, PbxLocationId, PbxUserId};
use teamline_domain::pbx_user::{Holder, PbxUser, PbxUserSpec, PbxUserState, PushState};
use teamline_domain::phone::PhoneNumber;
use teamline_domain::sip::Extension;

/// PBX users (a Teams user paired with a PBX extension): their lifecycle, the Users page and
/// who holds an extension, a number or a Teams user.
#[async_trait]
pub trait PbxUserStore: Send + Sync + 'static {
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
    async fn user_counts(&self, enterprise: EnterpriseId) -> StoreResult<UserCounts>;
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
}

/// What pushing a PBX user's configuration to Microsoft leaves behind: its push state, the
/// state read back, and the journal of steps that may still be propagating.
#[async_trait]
pub trait PushStore: Send + Sync + 'static {
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
    /// Active or disabled users in one of these push states.
    async fn pbx_users_in_push_states(
        &self,
        enterprise: EnterpriseId,
        states: &[PushState],
    ) -> StoreResult<Vec<PbxUserId>>;
}

/// The PBX devices (SIP credentials) Teams registers as, with their encrypted passwords.
#[async_trait]
pub trait DeviceStore: Send + Sync + 'static {
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
}
