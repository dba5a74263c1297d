//! User Devices: Add New Device lists the SIP user's devices on the PBX with SELECT buttons,
//! and offers the recommended `tm` handle when it is missing: Teamline creates it when the
//! user is saved, never before (a cancelled form leaves nothing on the PBX).

use super::{Opt, Submitted};
use crate::AppState;
use crate::auth::Admin;
use crate::error::PageError;
use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::State;
use teamline_domain::device::DeviceAuthId;
use teamline_domain::ids::PbxLocationId;
use teamline_domain::sip::Extension;

/// One device of the SIP user in the Add New Device list.
pub struct DeviceRow {
    pub auth_id: String,
    pub recommended: bool,
    pub registered: bool,
    pub user_agent: Option<String>,
}

/// "Use 1002tm (created on Save)".
pub struct CreateOffer {
    pub auth_id: String,
    /// Emergency addresses to choose from; empty when the PBX offers none.
    pub addresses: Vec<Opt>,
}

/// The User Devices block.
pub struct DevicesBlock {
    pub selected: String,
    /// The selected device is the missing `tm` handle, created on Save.
    pub planned: bool,
    /// The emergency address for the device created on Save.
    pub emergency_address: String,
    /// Shown after Add New Device.
    pub listing: Option<Vec<DeviceRow>>,
    pub create: Option<CreateOffer>,
    /// What went wrong listing or creating devices.
    pub problem: Option<String>,
    pub notice: Option<String>,
    pub error: String,
    pub sip_user: String,
    pub oob: bool,
}

impl DevicesBlock {
    pub fn closed(selected: String, sip_user: String, error: String) -> Self {
        Self {
            selected,
            planned: false,
            emergency_address: String::new(),
            listing: None,
            create: None,
            problem: None,
            notice: None,
            error,
            sip_user,
            oob: false,
        }
    }

    pub fn has_sip_user(&self) -> bool {
        !self.sip_user.trim().is_empty()
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "setup_devices.html")]
pub struct DevicesFragment {
    pub devices: DevicesBlock,
}

fn needs_location_and_extension(
    submitted: &Submitted,
) -> Result<(PbxLocationId, Extension), String> {
    let location = submitted
        .location()
        .ok_or("Choose the PBX location first.")?;
    let ext = submitted
        .extension()
        .ok_or("Choose the SIP User first: Add New Device lists that extension's devices.")?;
    Ok((location, ext))
}

/// Add New Device: the SIP user's devices on the PBX, each with SELECT, and the offer to
/// create the recommended `tm` handle when it is missing.
async fn devices_listing(
    state: &AppState,
    admin: &Admin,
    submitted: &Submitted,
    selected: String,
    notice: Option<String>,
) -> Result<DevicesFragment, PageError> {
    let mut block = DevicesBlock::closed(selected, submitted.sip_user.clone(), String::new());
    block.notice = notice;
    let (location, ext) = match needs_location_and_extension(submitted) {
        Ok(x) => x,
        Err(why) => {
            block.error = why;
            return Ok(DevicesFragment { devices: block });
        }
    };
    let e = admin.enterprise.id;
    match state.engine.extension_devices(e, location, &ext).await {
        Err(err) if err.is_not_found() => return Err(PageError::NotFound),
        Err(err) => {
            block.problem = Some(format!(
                "The devices of extension {ext} could not be read: {}",
                PageError::from(err).info().detail
            ));
            block.listing = Some(Vec::new());
        }
        Ok(devices) => {
            let recommended = DeviceAuthId::suggested(&ext).to_string();
            if !devices.iter().any(|d| d.auth_id == recommended) {
                let addresses = match state.engine.emergency_addresses(e, location, &ext).await {
                    Ok(list) => list
                        .into_iter()
                        .map(|a| Opt {
                            label: format!("{} — {}, {}", a.name, a.line1, a.city),
                            selected: a.id == submitted.emergency_address,
                            value: a.id,
                        })
                        .collect(),
                    Err(err) => {
                        block.problem = Some(format!(
                            "The PBX's emergency addresses could not be read: {}",
                            PageError::from(err).info().detail
                        ));
                        Vec::new()
                    }
                };
                block.create = Some(CreateOffer {
                    auth_id: recommended.clone(),
                    addresses,
                });
            }
            block.listing = Some(
                devices
                    .into_iter()
                    .map(|d| DeviceRow {
                        recommended: d.auth_id == recommended,
                        auth_id: d.auth_id,
                        registered: d.registered,
                        user_agent: d.user_agent,
                    })
                    .collect(),
            );
        }
    }
    Ok(DevicesFragment { devices: block })
}

pub(super) async fn list_devices(
    State(state): State<AppState>,
    admin: Admin,
    Form(submitted): Form<Submitted>,
) -> Result<DevicesFragment, PageError> {
    let selected = submitted.device.clone();
    devices_listing(&state, &admin, &submitted, selected, None).await
}

/// SELECT: the device becomes the form's User Devices value. It must be a device of the
/// chosen SIP user, at one of this enterprise's PBX locations.
pub(super) async fn select_device(
    State(state): State<AppState>,
    admin: Admin,
    Form(submitted): Form<Submitted>,
) -> Result<DevicesFragment, PageError> {
    let Some(location) = submitted.location() else {
        return Ok(DevicesFragment {
            devices: DevicesBlock::closed(
                String::new(),
                submitted.sip_user.clone(),
                "Choose the PBX location first.".to_owned(),
            ),
        });
    };
    // Another enterprise's location (or none at all) is "not found", as everywhere.
    state
        .store
        .get_pbx_location(admin.enterprise.id, location)
        .await?;
    let error = match (
        DeviceAuthId::parse(&submitted.choose),
        submitted.extension(),
    ) {
        (Ok(d), Some(ext)) if d.belongs_to(&ext) => String::new(),
        (Ok(d), Some(ext)) => format!("device {d} does not belong to extension {ext}"),
        (Ok(_), None) => "choose the SIP User first".to_owned(),
        (Err(e), _) => e.message,
    };
    let selected = if error.is_empty() {
        submitted.choose.trim().to_owned()
    } else {
        String::new()
    };
    Ok(DevicesFragment {
        devices: DevicesBlock::closed(selected, submitted.sip_user.clone(), error),
    })
}

/// "Use 1002tm (created on Save)": the missing recommended handle becomes the form's device,
/// to be created on the PBX when the user is saved (with the emergency address, when the PBX
/// offers some). Nothing changes on the PBX now.
pub(super) async fn plan_device(
    State(state): State<AppState>,
    admin: Admin,
    Form(submitted): Form<Submitted>,
) -> Result<DevicesFragment, PageError> {
    let (location, ext) = match needs_location_and_extension(&submitted) {
        Ok(x) => x,
        Err(why) => {
            let mut block =
                DevicesBlock::closed(String::new(), submitted.sip_user.clone(), String::new());
            block.error = why;
            return Ok(DevicesFragment { devices: block });
        }
    };
    let address = submitted.emergency_address.trim().to_owned();
    if address.is_empty() {
        let offered = state
            .engine
            .emergency_addresses(admin.enterprise.id, location, &ext)
            .await
            .map(|a| !a.is_empty())
            .unwrap_or(false);
        if offered {
            let mut f =
                devices_listing(&state, &admin, &submitted, submitted.device.clone(), None).await?;
            f.devices.problem = Some(format!(
                "Choose the emergency address for {}: the PBX needs one for every new device.",
                DeviceAuthId::suggested(&ext)
            ));
            return Ok(f);
        }
    }
    let mut block = DevicesBlock::closed(
        DeviceAuthId::suggested(&ext).to_string(),
        submitted.sip_user.clone(),
        String::new(),
    );
    block.planned = true;
    block.emergency_address = address;
    Ok(DevicesFragment { devices: block })
}
