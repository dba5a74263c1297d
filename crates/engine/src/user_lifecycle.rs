//! A PBX user's lifecycle from the Users page's ⋮ menu: Disable User (calling pauses, the
//! extension stays reserved), re-enable, and Delete User (frees the extension; removes the
//! PBX device only if Teamline created it).

use crate::pbx::RemoveDevice;
use crate::{Engine, EngineError};
use teamline_domain::audit::{Actor, Audit};
use teamline_domain::ids::{EnterpriseId, PbxUserId};
use teamline_domain::pbx_user::{PbxUser, PbxUserState};

impl Engine {
    /// Disable User: pauses calling (the number is removed in Teams) and keeps the extension.
    pub async fn disable_user(
        &self,
        e: EnterpriseId,
        actor: &Actor,
        id: PbxUserId,
    ) -> Result<PbxUser, EngineError> {
        self.change_state(e, actor, id, PbxUserState::Disabled)
            .await
    }

    /// Re-activates a disabled user; calling comes back if it was enabled.
    pub async fn enable_user(
        &self,
        e: EnterpriseId,
        actor: &Actor,
        id: PbxUserId,
    ) -> Result<PbxUser, EngineError> {
        self.change_state(e, actor, id, PbxUserState::Active).await
    }

    async fn change_state(
        &self,
        e: EnterpriseId,
        actor: &Actor,
        id: PbxUserId,
        state: PbxUserState,
    ) -> Result<PbxUser, EngineError> {
        let item = self.inner.store.get_pbx_user(e, id).await?;
        let (action, verb) = match state {
            PbxUserState::Disabled => ("pbx_user.disable", "Disabled"),
            _ => ("pbx_user.enable", "Re-enabled"),
        };
        let audit = Audit::new(
            actor.clone(),
            action,
            format!(
                "{verb} {} (extension {})",
                item.display_name, item.user.spec.sip_user
            ),
        );
        let user = self
            .inner
            .store
            .set_pbx_user_state(e, id, state, &audit)
            .await?;
        self.push_if_allowed(e, id).await?;
        Ok(user)
    }

    /// Delete User (only from Disabled): frees the extension; removes the PBX device only if
    /// Teamline created it.
    pub async fn delete_user(
        &self,
        e: EnterpriseId,
        actor: &Actor,
        id: PbxUserId,
    ) -> Result<PbxUser, EngineError> {
        let item = self.inner.store.get_pbx_user(e, id).await?;
        let audit = Audit::new(
            actor.clone(),
            "pbx_user.delete",
            format!(
                "Deleted {} and freed extension {}",
                item.display_name, item.user.spec.sip_user
            ),
        );
        let user = self.inner.store.delete_pbx_user(e, id, &audit).await?;
        let spec = &user.spec;
        if let Some(handle) = self
            .inner
            .store
            .device_handle(e, spec.pbx_location_id, &spec.device)
            .await?
            && handle.created_by_teamline
        {
            let job = RemoveDevice {
                enterprise_id: e,
                pbx_location_id: spec.pbx_location_id,
                extension: spec.sip_user.to_string(),
                auth_id: spec.device.to_string(),
            };
            self.enqueue(&job).await?;
        }
        Ok(user)
    }
}
