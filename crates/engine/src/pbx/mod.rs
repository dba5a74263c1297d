//! The PBX side, as the portal's PBX page and SET UP PBX USER use it: a client per PBX
//! location (built from its stored settings), the PBX's extensions, a SIP user's devices and
//! emergency addresses, creating the `tm` device handle (e.g. `1000tm`) Teams calls go
//! through, Test connection, and the jobs that keep each configured user's device credentials
//! (encrypted) for the gateway.

mod access;
mod devices;
mod locations;

use crate::{Engine, EngineError, SaveError};
use access::PbxAccess;
use secrecy::{ExposeSecret, SecretString};
use std::sync::Arc;
use teamline_domain::audit::{Actor, Audit};
use teamline_domain::device::{DeviceAuthId, SipPassword};
use teamline_domain::ids::{EnterpriseId, PbxLocationId};
use teamline_domain::pbx_location::{BoundPbxAuth, PbxLocationForm, PbxLocationSettings};
use teamline_domain::phone::PhoneNumber;
use teamline_domain::sip::Extension;
use teamline_domain::{FieldError, FieldErrors};

pub use access::{ApiConnector, PbxConnector};
pub(crate) use devices::create_planned_device;
pub use devices::{EnsureDevice, RemoveDevice};
use teamline_pbx::{EmergencyAddress, NewDevice, Pbx, PbxError, RegistrationState};
use teamline_store::DynStore;
use teamline_store::NewDeviceHandle;

/// A device of a SIP user, as the Add New Device list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceOption {
    pub auth_id: String,
    pub registered: bool,
    pub user_agent: Option<String>,
}

/// Everything Teamline does on a PBX through its API, for the engine and the CLI (which
/// needs no Microsoft connection for it).
pub struct PbxService {
    store: DynStore,
    access: PbxAccess,
    read_timeout: std::time::Duration,
}

impl PbxService {
    pub fn new(
        store: DynStore,
        connector: Arc<dyn PbxConnector>,
        read_timeout: std::time::Duration,
    ) -> Self {
        Self {
            access: PbxAccess::new(store.clone(), connector),
            store,
            read_timeout,
        }
    }

    /// A client for the location's PBX (built from its stored settings; briefly cached).
    pub async fn pbx(
        &self,
        e: EnterpriseId,
        location: PbxLocationId,
    ) -> Result<Arc<dyn Pbx>, EngineError> {
        self.access.client(e, location).await
    }

    /// Call after a PBX location's settings changed, so the next call uses them.
    pub fn settings_changed(&self, location: PbxLocationId) {
        self.access.forget(location);
    }

    /// Runs a PBX read with the page timeout, so a slow PBX gives a clear message.
    pub async fn pbx_read<T>(
        &self,
        what: &str,
        f: impl std::future::Future<Output = Result<T, PbxError>>,
    ) -> Result<T, EngineError> {
        match tokio::time::timeout(self.read_timeout, f).await {
            Ok(r) => r.map_err(EngineError::from),
            Err(_) => Err(EngineError::refused(format!(
                "the PBX took more than {} seconds to {what}: try again, or check the PBX settings with Test connection",
                self.read_timeout.as_secs()
            ))),
        }
    }

    /// The phone numbers (DIDs) the PBX routes to the SIP user, as Teams stores numbers;
    /// a number the PBX holds in a form Teams cannot take is left out.
    pub async fn extension_phone_numbers(
        &self,
        e: EnterpriseId,
        location: PbxLocationId,
        ext: &Extension,
    ) -> Result<Vec<PhoneNumber>, EngineError> {
        let pbx = self.pbx(e, location).await?;
        let numbers = self
            .pbx_read(
                "list the phone numbers",
                pbx.list_phone_numbers(ext.as_str()),
            )
            .await?;
        Ok(numbers
            .iter()
            .filter_map(|n| PhoneNumber::parse(&format!("+{n}")).ok())
            .collect())
    }

    /// The SIP user's devices on the PBX, for Add New Device.
    pub async fn extension_devices(
        &self,
        e: EnterpriseId,
        location: PbxLocationId,
        ext: &Extension,
    ) -> Result<Vec<DeviceOption>, EngineError> {
        let pbx = self.pbx(e, location).await?;
        let devices = self
            .pbx_read("list the devices", pbx.list_devices(ext.as_str()))
            .await?;
        let mut out: Vec<DeviceOption> = devices
            .into_iter()
            .map(|d| DeviceOption {
                auth_id: d.auth_id,
                registered: d.registration.state == RegistrationState::Registered,
                user_agent: d.registration.user_agent,
            })
            .collect();
        // The recommended `tm` handle first, then the rest by name.
        out.sort_by_key(|d| {
            (
                !d.auth_id.ends_with(DeviceAuthId::RECOMMENDED_SUFFIX),
                d.auth_id.clone(),
            )
        });
        Ok(out)
    }

    /// Emergency addresses the PBX offers for a new device of this SIP user.
    pub async fn emergency_addresses(
        &self,
        e: EnterpriseId,
        location: PbxLocationId,
        ext: &Extension,
    ) -> Result<Vec<EmergencyAddress>, EngineError> {
        let pbx = self.pbx(e, location).await?;
        self.pbx_read(
            "list the emergency addresses",
            pbx.list_emergency_addresses(ext.as_str()),
        )
        .await
    }

    /// Creates the recommended handle (`<ext>tm`) on the PBX with a generated password, and
    /// keeps its credentials. Asking for a handle that already exists is an error naming it.
    pub async fn create_device_handle(
        &self,
        e: EnterpriseId,
        actor: &Actor,
        location: PbxLocationId,
        ext: &Extension,
        emergency_address_id: Option<String>,
    ) -> Result<DeviceAuthId, EngineError> {
        self.create_device(
            e,
            actor,
            location,
            ext,
            &DeviceAuthId::suggested(ext),
            emergency_address_id,
        )
        .await
    }

    /// Creates device `auth_id` on extension `ext` with a generated password (letters and
    /// digits, as gateways need) and keeps its credentials (encrypted).
    pub async fn create_device(
        &self,
        e: EnterpriseId,
        actor: &Actor,
        location: PbxLocationId,
        ext: &Extension,
        auth_id: &DeviceAuthId,
        emergency_address_id: Option<String>,
    ) -> Result<DeviceAuthId, EngineError> {
        let pbx = self.pbx(e, location).await?;
        let password = SipPassword::generate(&mut rand::rng());
        let new = NewDevice {
            auth_id: auth_id.to_string(),
            sip_password: Some(SecretString::from(password.expose().to_owned())),
            emergency_address_id,
        };
        let device = pbx.create_device(ext.as_str(), new).await?;
        // Keep what the PBX holds: it may have replaced the password with its own.
        let password = match device
            .sip_password
            .as_ref()
            .map(|p| SipPassword::parse(p.expose_secret()))
        {
            Some(Ok(p)) => p,
            _ => password,
        };
        let audit = Audit::new(
            actor.clone(),
            "device.create",
            format!("Created device {auth_id} on extension {ext}"),
        );
        self.store
            .upsert_device_handle(
                &NewDeviceHandle {
                    enterprise_id: e,
                    pbx_location_id: location,
                    extension: ext.clone(),
                    auth_id: auth_id.clone(),
                    password,
                    created_by_teamline: true,
                },
                &audit,
            )
            .await?;
        Ok(auth_id.clone())
    }

    /// The PBX's extensions (name and devices), for the CLI and the SIP User list.
    pub async fn pbx_extensions(
        &self,
        e: EnterpriseId,
        location: PbxLocationId,
    ) -> Result<Vec<teamline_pbx::Extension>, EngineError> {
        let pbx = self.pbx(e, location).await?;
        self.pbx_read("list its extensions", pbx.list_extensions())
            .await
    }

    /// Whether Teamline may reach a PBX API with these settings (the operator's network
    /// policy): every problem as an error of the form field it is about.
    pub fn check_settings(&self, settings: &PbxLocationSettings) -> Result<(), FieldErrors> {
        match self.access.connector.check_settings(settings) {
            Ok(()) => Ok(()),
            Err(PbxError::InvalidSettings { field, problem }) => {
                let label = match field {
                    "SIP domain" => "SIP Domain",
                    _ => "API Base URL",
                };
                Err(FieldError::new(label, problem).into())
            }
            Err(other) => Err(FieldError::new("API Base URL", other.to_string()).into()),
        }
    }

    /// "Test connection" of settings as typed, before they are saved: `location` is the
    /// location being edited (its stored secrets stand in for blank secret fields, but only
    /// for the API base URL, SIP domain and authentication method they were saved for), or
    /// `None` for a new one. Nothing is stored.
    pub async fn test_unsaved_settings(
        &self,
        e: EnterpriseId,
        location: Option<PbxLocationId>,
        form: &PbxLocationForm,
    ) -> Result<teamline_pbx::ConnectionReport, SaveError> {
        let cmd = match location {
            Some(id) => {
                let stored = self.store.get_pbx_location(e, id).await?;
                form.validate_edit(&stored.settings.credential_binding())
            }
            None => form.validate(false),
        }
        .map_err(SaveError::Fields)?;
        self.check_settings(&cmd.settings)
            .map_err(SaveError::Fields)?;
        // Not even a test on another enterprise's domain (a reseller-wide key would reach it).
        self.store
            .check_sip_domain_free(e, &cmd.settings.sip_domain, location)
            .await?;
        let credentials = match (cmd.auth, location) {
            (Some(auth), _) => BoundPbxAuth {
                auth,
                bound_to: cmd.settings.credential_binding(),
            },
            (None, Some(id)) => self.store.pbx_location_auth(e, id).await?,
            (None, None) => {
                return Err(
                    EngineError::refused("a new PBX location needs its API credentials").into(),
                );
            }
        };
        let pbx = self
            .access
            .connector
            .connect(&cmd.settings, credentials)
            .await?;
        Ok(pbx.test_connection().await)
    }

    /// "Test connection": what works and what does not, each with a specific message.
    pub async fn test_pbx_connection(
        &self,
        e: EnterpriseId,
        location: PbxLocationId,
    ) -> Result<teamline_pbx::ConnectionReport, EngineError> {
        self.settings_changed(location);
        let pbx = self.pbx(e, location).await?;
        Ok(pbx.test_connection().await)
    }
}

impl Engine {
    /// The phone numbers the PBX routes to the SIP user, offered for Phone Number.
    pub async fn extension_phone_numbers(
        &self,
        e: EnterpriseId,
        location: PbxLocationId,
        ext: &Extension,
    ) -> Result<Vec<PhoneNumber>, EngineError> {
        self.inner
            .pbx
            .extension_phone_numbers(e, location, ext)
            .await
    }

    /// The SIP user's devices on the PBX, for Add New Device.
    pub async fn extension_devices(
        &self,
        e: EnterpriseId,
        location: PbxLocationId,
        ext: &Extension,
    ) -> Result<Vec<DeviceOption>, EngineError> {
        self.inner.pbx.extension_devices(e, location, ext).await
    }

    /// Emergency addresses the PBX offers for a new device of this SIP user.
    pub async fn emergency_addresses(
        &self,
        e: EnterpriseId,
        location: PbxLocationId,
        ext: &Extension,
    ) -> Result<Vec<EmergencyAddress>, EngineError> {
        self.inner.pbx.emergency_addresses(e, location, ext).await
    }

    /// Creates `<ext>tm` on the PBX (see [`PbxService::create_device_handle`]).
    pub async fn create_device_handle(
        &self,
        e: EnterpriseId,
        actor: &Actor,
        location: PbxLocationId,
        ext: &Extension,
        emergency_address_id: Option<String>,
    ) -> Result<DeviceAuthId, EngineError> {
        self.inner
            .pbx
            .create_device_handle(e, actor, location, ext, emergency_address_id)
            .await
    }

    /// Test connection of PBX settings as typed, before saving (see
    /// [`PbxService::test_unsaved_settings`]).
    pub async fn test_unsaved_pbx_settings(
        &self,
        e: EnterpriseId,
        location: Option<PbxLocationId>,
        form: &PbxLocationForm,
    ) -> Result<teamline_pbx::ConnectionReport, SaveError> {
        self.inner
            .pbx
            .test_unsaved_settings(e, location, form)
            .await
    }

    /// Test connection for a PBX location.
    pub async fn test_pbx_connection(
        &self,
        e: EnterpriseId,
        location: PbxLocationId,
    ) -> Result<teamline_pbx::ConnectionReport, EngineError> {
        self.inner.pbx.test_pbx_connection(e, location).await
    }
}
