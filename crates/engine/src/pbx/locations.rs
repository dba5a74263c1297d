//! The PBX page's changes: adding and editing a PBX location (its SIP registration template
//! and API access). An edit takes effect on the next call to that PBX.

use crate::{Engine, SaveError};
use teamline_domain::audit::{Actor, Audit};
use teamline_domain::ids::{EnterpriseId, PbxLocationId};
use teamline_domain::pbx_location::{PbxLocation, PbxLocationForm};

impl Engine {
    /// Adds a PBX location: every problem of the form by field, or the stored location.
    pub async fn create_pbx_location(
        &self,
        e: EnterpriseId,
        actor: &Actor,
        form: &PbxLocationForm,
    ) -> Result<PbxLocation, SaveError> {
        let cmd = form.validate(false).map_err(SaveError::Fields)?;
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

    /// Changes a PBX location; secrets left blank keep the stored ones, unless the API base
    /// URL, SIP domain or authentication method they were saved for changed (then they are
    /// required again). The next call to this PBX uses the new settings.
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
