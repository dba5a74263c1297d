//! A PBX user's lifecycle from the Users page's ⋮ menu: Disable User (calling pauses, the
//! extension stays reserved), re-enable, Delete User (frees the extension; removes the PBX
//! device only if Teamline created it), and Move to another person (the extension, its number
//! and device go to another Teams user once calling is disabled for the current one).

use crate::pbx::RemoveDevice;
use crate::{Engine, EngineError, SaveError};
use teamline_domain::audit::{Actor, Audit};
use teamline_domain::ids::{EnterpriseId, PbxUserId};
use teamline_domain::pbx_user::{PbxUser, PbxUserForm, PbxUserState, fields};
use teamline_domain::{FieldError, FieldErrors};

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

    /// Move to another person: the extension of user `id` (loaded at `expected_version`), its
    /// number, device and settings go to the Teams user `to`. The current user is released
    /// (deleted; its number and Teamline's policies are removed in Teams and Teams stops using
    /// the device for them) and the new user replaces it; the new user's first push removes
    /// the old user's calling before it assigns the number, so Microsoft never sees the number
    /// on two people.
    pub async fn move_pbx_user(
        &self,
        e: EnterpriseId,
        actor: &Actor,
        id: PbxUserId,
        expected_version: i64,
        to: &str,
    ) -> Result<(PbxUser, PbxUser), SaveError> {
        let store = &self.inner.store;
        let item = store.get_pbx_user(e, id).await.map_err(EngineError::from)?;
        let spec = &item.user.spec;
        if to.trim() == spec.teams_user_object_id {
            return Err(SaveError::Fields(FieldErrors::from(FieldError::new(
                fields::TEAMS_USER,
                format!(
                    "{} already has extension {}: choose the person who should get it",
                    item.display_name, spec.sip_user
                ),
            ))));
        }
        let form = PbxUserForm {
            teams_user: to.trim().to_owned(),
            ..PbxUserForm::from_spec(spec)
        };
        let ctx = self.context_of(e, &form, Some(id)).await?;
        let new_spec = form.validate(&ctx).map_err(SaveError::Fields)?;
        let to_name = ctx.teams_user.as_ref().map_or_else(
            || new_spec.teams_user_object_id.clone(),
            |t| t.display_name.clone(),
        );
        let released = Audit::new(
            actor.clone(),
            "pbx_user.move",
            format!(
                "Moved extension {} ({}) from {} to {to_name}: calling is disabled for {}",
                spec.sip_user, spec.phone_number, item.display_name, item.display_name
            ),
        );
        let successor = Audit::new(
            actor.clone(),
            "pbx_user.create",
            format!(
                "Set up {to_name} on extension {} with {} (moved from {})",
                spec.sip_user, spec.phone_number, item.display_name
            ),
        );
        let (old, new) = store
            .move_pbx_user(e, id, expected_version, &new_spec, &released, &successor)
            .await?;
        self.enqueue(&crate::pbx::EnsureDevice::new(e, new.id))
            .await?;
        self.push_if_allowed(e, new.id).await?;
        Ok((old, new))
    }
}
