//! The PBX page's changes: adding and editing a PBX location (its SIP registration template
//! and API access). An edit takes effect on the next call to that PBX.
//!
//! The reseller can set an enterprise's PBX locations itself and lock fields of them (a
//! credential template): an enterprise admin's edit that changes a locked field is refused
//! here, by field, naming the reseller, whatever the browser sent; and while any location is
//! locked, only the reseller adds locations (a new one would get around the locks).

use crate::{Engine, EngineError, SaveError};
use teamline_domain::FieldError;
use teamline_domain::audit::{Actor, Audit};
use teamline_domain::ids::{EnterpriseId, PbxLocationId};
use teamline_domain::pbx_location::{PbxLocation, PbxLocationForm};
use teamline_domain::pbx_lock::LockedFields;
use teamline_domain::reseller::Reseller;

impl Engine {
    /// Adds a PBX location for the enterprise's admin: every problem of the form by field, or
    /// the stored location. Refused while the reseller locks any of the enterprise's locations.
    pub async fn create_pbx_location(
        &self,
        e: EnterpriseId,
        actor: &Actor,
        form: &PbxLocationForm,
    ) -> Result<PbxLocation, SaveError> {
        let store = &self.inner.store;
        if store
            .list_pbx_locations(e)
            .await?
            .iter()
            .any(|l| !l.locked.is_empty())
        {
            let enterprise = store.get_enterprise(e).await?;
            let reseller = store.get_reseller(enterprise.reseller_id).await?;
            return Err(SaveError::Fields(
                FieldError::new(
                    "Location Name",
                    format!(
                        "your reseller {} manages this enterprise's PBX settings (some are locked): ask them to add the location",
                        reseller.name
                    ),
                )
                .into(),
            ));
        }
        self.store_new_location(e, actor, form, None).await
    }

    /// Changes a PBX location for the enterprise's admin; secrets left blank keep the stored
    /// ones, unless the API base URL, SIP domain or authentication method they were saved for
    /// changed (then they are required again). A change of a field the reseller locked is
    /// refused. The next call to this PBX uses the new settings.
    pub async fn update_pbx_location(
        &self,
        e: EnterpriseId,
        actor: &Actor,
        id: PbxLocationId,
        form: &PbxLocationForm,
    ) -> Result<PbxLocation, SaveError> {
        // Another enterprise's location is not found, whatever the form holds.
        let stored = self.inner.store.get_pbx_location(e, id).await?;
        let cmd = form
            .validate_edit(&stored.settings.credential_binding())
            .map_err(SaveError::Fields)?;
        if !stored.locked.is_empty() {
            let enterprise = self.inner.store.get_enterprise(e).await?;
            let reseller = self
                .inner
                .store
                .get_reseller(enterprise.reseller_id)
                .await?;
            stored
                .locked
                .check_edit(&stored.settings, &cmd, reseller.name.as_str())
                .map_err(SaveError::Fields)?;
        }
        self.store_location_edit(e, actor, id, cmd).await
    }

    /// The reseller's PBX settings for one of its enterprises (another reseller's is "not
    /// found"): adds (`id` = `None`) or changes a location, with the fields it locks. Locks
    /// never bind the reseller.
    pub async fn save_pbx_template(
        &self,
        reseller: &Reseller,
        e: EnterpriseId,
        id: Option<PbxLocationId>,
        actor: &Actor,
        form: &PbxLocationForm,
        locked: LockedFields,
    ) -> Result<PbxLocation, SaveError> {
        let enterprise = self.inner.store.get_enterprise(e).await?;
        if enterprise.reseller_id != reseller.id {
            return Err(
                EngineError::from(teamline_store::StoreError::not_found(format!(
                    "enterprise {e}"
                )))
                .into(),
            );
        }
        match id {
            None => self.store_new_location(e, actor, form, Some(locked)).await,
            Some(id) => {
                let stored = self.inner.store.get_pbx_location(e, id).await?;
                let mut cmd = form
                    .validate_edit(&stored.settings.credential_binding())
                    .map_err(SaveError::Fields)?;
                cmd.locked = Some(locked);
                self.store_location_edit(e, actor, id, cmd).await
            }
        }
    }

    async fn store_new_location(
        &self,
        e: EnterpriseId,
        actor: &Actor,
        form: &PbxLocationForm,
        locked: Option<LockedFields>,
    ) -> Result<PbxLocation, SaveError> {
        let mut cmd = form.validate(false).map_err(SaveError::Fields)?;
        cmd.locked = locked;
        self.inner
            .pbx
            .check_settings(&cmd.settings)
            .map_err(SaveError::Fields)?;
        let audit = Audit::new(
            actor.clone(),
            "pbx_location.create",
            format!("Added PBX location {}", cmd.settings.name),
        );
        Ok(self
            .inner
            .store
            .create_pbx_location(e, &cmd, &audit)
            .await?)
    }

    async fn store_location_edit(
        &self,
        e: EnterpriseId,
        actor: &Actor,
        id: PbxLocationId,
        cmd: teamline_domain::pbx_location::PbxLocationCommand,
    ) -> Result<PbxLocation, SaveError> {
        self.inner
            .pbx
            .check_settings(&cmd.settings)
            .map_err(SaveError::Fields)?;
        let audit = Audit::new(
            actor.clone(),
            "pbx_location.update",
            format!("Changed PBX location {}", cmd.settings.name),
        );
        let location = self
            .inner
            .store
            .update_pbx_location(e, id, &cmd, &audit)
            .await?;
        self.inner.pbx.settings_changed(id);
        Ok(location)
    }
}
