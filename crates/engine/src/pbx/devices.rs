//! The jobs that keep a configured user's PBX device: its credentials read and stored for the
//! gateway (and the device created again when Teamline had made it and it was deleted on the
//! PBX), and removing a device Teamline created once its user is deleted.

use crate::Engine;
use crate::calling::user_lane;
use crate::error::pbx_job_error;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use teamline_domain::audit::{Actor, Audit};
use teamline_domain::device::{DeviceAuthId, SipPassword};
use teamline_domain::ids::{EnterpriseId, PbxLocationId, PbxUserId};
use teamline_jobs::{Attempt, Job, JobError};
use teamline_pbx::{NewDevice, Pbx, PbxError};
use teamline_store::NewDeviceHandle;

/// Reads the chosen device's credentials from the PBX and keeps them (encrypted) for the
/// gateway. Idempotent: it only reads the PBX (and creates again a device Teamline had created
/// that was deleted there).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EnsureDevice {
    pub enterprise_id: EnterpriseId,
    pub pbx_user_id: PbxUserId,
}

impl EnsureDevice {
    pub fn new(e: EnterpriseId, id: PbxUserId) -> Self {
        Self {
            enterprise_id: e,
            pbx_user_id: id,
        }
    }
}

impl Job for EnsureDevice {
    const KIND: &'static str = "ensure_device";
    type Context = Engine;

    fn enterprise(&self) -> Option<EnterpriseId> {
        Some(self.enterprise_id)
    }

    fn lane(&self) -> Option<String> {
        Some(user_lane(self.pbx_user_id))
    }

    fn idempotency_key(&self) -> Option<String> {
        Some(format!("{}:{}", Self::KIND, self.pbx_user_id))
    }

    async fn run(&self, engine: &Engine, _attempt: &Attempt) -> Result<(), JobError> {
        let store = &engine.inner.store;
        let (e, id) = (self.enterprise_id, self.pbx_user_id);
        let item = store.get_pbx_user(e, id).await?;
        let spec = &item.user.spec;
        let pbx = engine
            .inner
            .pbx
            .pbx(e, spec.pbx_location_id)
            .await
            .map_err(|err| JobError::retry(err.to_string()))?;
        let existing = store
            .device_handle(e, spec.pbx_location_id, &spec.device)
            .await?;
        let device = match pbx
            .get_device(spec.sip_user.as_str(), spec.device.as_str())
            .await
        {
            Ok(d) => d,
            // Deleted on the PBX after Teamline created it (drift): create it again with the
            // credentials the gateway already uses.
            Err(PbxError::DeviceNotFound { .. })
                if existing.as_ref().is_some_and(|h| h.created_by_teamline) =>
            {
                let handle = existing.as_ref().map(|h| h.id);
                let password = match handle {
                    Some(h) => store.device_handle_password(e, h).await?,
                    None => SipPassword::generate(&mut rand::rng()),
                };
                let created = recreate_device(
                    pbx.as_ref(),
                    spec.sip_user.as_str(),
                    spec.device.as_str(),
                    &password,
                )
                .await?;
                let audit = Audit::new(
                    Actor::Job(Self::KIND.into()),
                    "device.recreate",
                    format!(
                        "Created device {} again on extension {} (it had been deleted on the PBX)",
                        spec.device, spec.sip_user
                    ),
                );
                store
                    .record_audit(&teamline_store::AuditRecord {
                        enterprise_id: Some(e),
                        actor: audit.actor.clone(),
                        action: audit.action.clone(),
                        summary: audit.summary.clone(),
                        object_type: "device".into(),
                        object_id: Some(spec.device.to_string()),
                        before: None,
                        after: None,
                    })
                    .await?;
                created
            }
            Err(PbxError::DeviceNotFound { .. }) => {
                return Err(JobError::permanent(format!(
                    "device {} does not exist on extension {} of the PBX: create it on the PBX, or edit {} and choose another device",
                    spec.device, spec.sip_user, item.display_name
                )));
            }
            Err(err) => return Err(pbx_job_error(&err)),
        };
        let secret = device
            .require_password(pbx.domain())
            .map_err(|err| JobError::permanent(err.to_string()))?;
        let password = SipPassword::parse(secret.expose_secret()).map_err(|err| {
            JobError::permanent(format!(
                "the SIP password of device {} cannot be used by the gateway ({}): set a password of 8 to 64 letters and digits on the PBX",
                spec.device, err.message
            ))
        })?;
        let audit = Audit::new(
            Actor::Job(Self::KIND.into()),
            "device.store",
            format!(
                "Stored the credentials of device {} for {}",
                spec.device, item.display_name
            ),
        );
        store
            .upsert_device_handle(
                &NewDeviceHandle {
                    enterprise_id: e,
                    pbx_location_id: spec.pbx_location_id,
                    extension: spec.sip_user.clone(),
                    auth_id: spec.device.clone(),
                    password,
                    created_by_teamline: existing.is_some_and(|h| h.created_by_teamline),
                },
                &audit,
            )
            .await?;
        Ok(())
    }
}

/// Creates a deleted device again with the password the gateway already uses. When the PBX
/// wants an emergency address and offers exactly one for the extension, that one is used;
/// otherwise the admin has to choose (the error says so).
async fn recreate_device(
    pbx: &dyn Pbx,
    extension: &str,
    auth_id: &str,
    password: &SipPassword,
) -> Result<teamline_pbx::Device, JobError> {
    let new = |emergency_address_id| NewDevice {
        auth_id: auth_id.to_owned(),
        sip_password: Some(SecretString::from(password.expose().to_owned())),
        emergency_address_id,
    };
    match pbx.create_device(extension, new(None)).await {
        Ok(d) => Ok(d),
        Err(PbxError::EmergencyAddressRequired { .. }) => {
            let addresses = pbx
                .list_emergency_addresses(extension)
                .await
                .map_err(|err| pbx_job_error(&err))?;
            match addresses.as_slice() {
                [only] => pbx
                    .create_device(extension, new(Some(only.id.clone())))
                    .await
                    .map_err(|err| pbx_job_error(&err)),
                _ => Err(JobError::permanent(format!(
                    "device {auth_id} was deleted on the PBX and cannot be created again without choosing an emergency address: create it on the PBX, then use Repair"
                ))),
            }
        }
        Err(err) => Err(pbx_job_error(&err)),
    }
}

/// Removes a device Teamline created, after its user was deleted.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RemoveDevice {
    pub enterprise_id: EnterpriseId,
    pub pbx_location_id: PbxLocationId,
    pub extension: String,
    pub auth_id: String,
}

impl Job for RemoveDevice {
    const KIND: &'static str = "remove_device";
    type Context = Engine;

    fn enterprise(&self) -> Option<EnterpriseId> {
        Some(self.enterprise_id)
    }

    /// One device's jobs in order (its user is gone, so not the user's lane).
    fn lane(&self) -> Option<String> {
        Some(format!("device:{}:{}", self.pbx_location_id, self.auth_id))
    }

    async fn run(&self, engine: &Engine, _attempt: &Attempt) -> Result<(), JobError> {
        let store = &engine.inner.store;
        let (e, location) = (self.enterprise_id, self.pbx_location_id);
        let auth_id = DeviceAuthId::parse(&self.auth_id)
            .map_err(|err| JobError::permanent(err.to_string()))?;
        let pbx = engine
            .inner
            .pbx
            .pbx(e, location)
            .await
            .map_err(|err| JobError::retry(err.to_string()))?;
        match pbx.delete_device(&self.extension, &self.auth_id).await {
            Ok(()) | Err(PbxError::DeviceNotFound { .. }) => {}
            Err(err) => return Err(pbx_job_error(&err)),
        }
        if let Some(handle) = store.device_handle(e, location, &auth_id).await? {
            let audit = Audit::new(
                Actor::Job(Self::KIND.into()),
                "device.delete",
                format!("Removed device {auth_id} from extension {}", self.extension),
            );
            store.delete_device_handle(e, handle.id, &audit).await?;
        }
        Ok(())
    }
}
