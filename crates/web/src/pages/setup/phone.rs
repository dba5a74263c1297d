//! The Phone Number combobox: its choices for what was typed, and the pre-filled `+1<ext>` when
//! the SIP User changes (which also resets User Devices).

use super::Submitted;
use super::devices::DevicesBlock;
use super::suggest::{Suggestion, teams_user_for_extension};
use crate::AppState;
use crate::auth::Admin;
use crate::error::PageError;
use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::State;
use teamline_domain::device::DeviceAuthId;
use teamline_domain::ids::PbxLocationId;
use teamline_domain::phone::PhoneNumber;
use teamline_domain::sip::Extension;

/// The Phone Number combobox.
pub struct PhoneField {
    pub value: String,
    pub autofill: String,
    pub error: String,
    /// Rendered as an out-of-band swap (after the SIP User changed).
    pub oob: bool,
}

/// The answer to a SIP User change: User Devices for the new extension, and the Phone Number
/// swapped in out of band.
#[derive(Template, WebTemplate)]
#[template(path = "setup_sip_user.html")]
pub struct SipUserChanged {
    pub devices: DevicesBlock,
    pub phone: PhoneField,
    /// The Teams user matching the extension, while none is chosen.
    pub s: Suggestion,
}

/// The SIP User changed: pre-fill the Phone Number with `+1<ext>` (unless the admin typed
/// another number), reset User Devices for the new extension (pre-selecting its `tm` device
/// when the PBX has it) and suggest the matching Teams user.
pub(super) async fn sip_user_changed(
    State(state): State<AppState>,
    admin: Admin,
    Form(submitted): Form<Submitted>,
) -> Result<SipUserChanged, PageError> {
    let ext = submitted.extension();
    let typed = submitted.phone_number.trim();
    let keep_typed = !typed.is_empty() && typed != submitted.phone_autofill.trim();
    let (value, autofill) = match (&ext, keep_typed) {
        (Some(ext), false) => {
            let n = format!("+1{ext}");
            (n.clone(), n)
        }
        _ => (
            submitted.phone_number.clone(),
            submitted.phone_autofill.clone(),
        ),
    };
    let selected = match (&ext, DeviceAuthId::parse(&submitted.device)) {
        (Some(ext), Ok(d)) if d.belongs_to(ext) => d.to_string(),
        _ => String::new(),
    };
    let selected = match (&ext, submitted.location()) {
        (Some(ext), Some(location)) if selected.is_empty() => {
            existing_tm_device(&state, &admin, location, ext).await
        }
        _ => selected,
    };
    let mut devices = DevicesBlock::closed(selected, submitted.sip_user.clone(), String::new());
    if !devices.selected.is_empty() && submitted.form().create_device {
        devices.planned = true;
        devices.emergency_address = submitted.emergency_address.clone();
    }
    let s = teams_user_for_extension(&state, &admin, &submitted).await?;
    Ok(SipUserChanged {
        s,
        devices,
        phone: PhoneField {
            value,
            autofill,
            error: String::new(),
            oob: true,
        },
    })
}

/// The extension's recommended `tm` device when it already exists on the PBX; nothing when
/// it does not (Add New Device then offers to create it) or the PBX cannot be read.
async fn existing_tm_device(
    state: &AppState,
    admin: &Admin,
    location: PbxLocationId,
    ext: &Extension,
) -> String {
    let tm = DeviceAuthId::suggested(ext).to_string();
    match state
        .engine
        .extension_devices(admin.enterprise.id, location, ext)
        .await
    {
        Ok(devices) if devices.iter().any(|d| d.auth_id == tm) => tm,
        _ => String::new(),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "setup_phone_options.html")]
pub struct PhoneOptions {
    pub options: Vec<PhoneOption>,
}

pub struct PhoneOption {
    pub value: String,
    pub note: Option<String>,
}

/// The Phone Number combobox's choices for what was typed: the number as Teams will store it
/// (`11000` → `+11000`), the chosen SIP User's own phone numbers (DIDs) on the PBX, and
/// `+1<ext>` for it (the convention when it has none). While the field holds the pre-filled
/// number, every choice is offered; once the admin types, only those starting with it. A
/// number already in use says by whom.
pub(super) async fn phone_options(
    State(state): State<AppState>,
    admin: Admin,
    Form(submitted): Form<Submitted>,
) -> Result<PhoneOptions, PageError> {
    let typed = submitted.phone_number.trim();
    let prefilled = typed.is_empty() || typed == submitted.phone_autofill.trim();
    let prefix = format!("+{}", typed.trim_start_matches('+'));
    let fits = |n: &PhoneNumber| prefilled || n.to_string().starts_with(&prefix);
    let mut numbers: Vec<(PhoneNumber, Option<String>)> = Vec::new();
    if !typed.is_empty()
        && let Ok(n) = PhoneNumber::parse(typed)
    {
        numbers.push((n, None));
    }
    if let Some(ext) = submitted.extension() {
        if let Some(location) = submitted.location() {
            // A PBX that cannot be read now only costs the suggestion.
            let dids = state
                .engine
                .extension_phone_numbers(admin.enterprise.id, location, &ext)
                .await
                .unwrap_or_default();
            for n in dids {
                if fits(&n) && !numbers.iter().any(|(have, _)| *have == n) {
                    numbers.push((n, Some(format!("on the PBX for {ext}"))));
                }
            }
        }
        if let Ok(n) = PhoneNumber::parse(&format!("+1{ext}"))
            && fits(&n)
            && !numbers.iter().any(|(have, _)| *have == n)
        {
            numbers.push((n, None));
        }
    }
    let mut options = Vec::new();
    for (n, origin) in numbers {
        let held = state
            .store
            .holder_of_number(admin.enterprise.id, &n)
            .await?
            .filter(|h| h.state.reserves())
            .map(|h| format!("used by {}", h.display_name));
        let note = match (origin, held) {
            (Some(o), Some(h)) => Some(format!("{o}, {h}")),
            (o, h) => o.or(h),
        };
        options.push(PhoneOption {
            value: n.to_string(),
            note,
        });
    }
    Ok(PhoneOptions { options })
}
