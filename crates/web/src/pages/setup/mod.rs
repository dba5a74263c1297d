//! SET UP PBX USER (and Edit): the form of the seed article, with the same labels and buttons.
//!
//! The dropdowns come from the engine (the enterprise's PBX locations and voice routes, the
//! eligible synced Teams users, the PBX's live extension list). While the admin types, htmx
//! asks the engine to validate and shows each problem next to its field; choosing the SIP
//! User pre-fills the Phone Number and resets User Devices (pre-selecting the extension's `tm`
//! device when the PBX has it); the Teams User and SIP User dropdowns each suggest the match of
//! the other by name or e-mail; Add New Device lists the SIP user's devices with SELECT
//! buttons and offers to create the `tm` handle when it is missing.
//!
//! - `form.rs`: the page and the form's view (values, choices, errors by field), and the whole
//!   form again when another PBX location is chosen.
//! - `submit.rs`: Save User, for a new user and for Edit.
//! - `validate.rs`: validation as the admin types.
//! - `phone.rs`: the Phone Number combobox, and the SIP User change that pre-fills it.
//! - `suggest.rs`: the extension matching the chosen Teams user by name or e-mail, and the
//!   Teams user matching an extension chosen first.
//! - `devices.rs`: User Devices: Add New Device, SELECT, or the `tm` handle created on Save.
//!
//! Every piece of HTML is an askama template (`templates/setup*.html`), so every value is
//! escaped.

mod devices;
mod form;
mod phone;
mod submit;
mod suggest;
mod validate;

use crate::routes::{Routes, get, post};
use axum::http::HeaderMap;
use serde::Deserialize;
use teamline_domain::ids::{PbxLocationId, PbxUserId};
use teamline_domain::pbx_user::PbxUserForm;
use teamline_domain::sip::Extension;

pub fn routes() -> Routes {
    Routes::new()
        .route("/users/new", get(form::new_form).post(submit::save_new))
        .route(
            "/users/{id}/edit",
            get(form::edit_form).post(submit::save_edit),
        )
        .route("/users/form/refresh", post(form::refresh))
        .route("/users/form/validate", post(validate::validate))
        .route("/users/form/preview", post(super::preview::save_preview))
        .route("/users/form/teams-user", post(suggest::teams_user_changed))
        .route("/users/form/sip-user", post(phone::sip_user_changed))
        .route("/users/form/phone-options", post(phone::phone_options))
        .route("/users/form/devices", post(devices::list_devices))
        .route("/users/form/devices/select", post(devices::select_device))
        .route("/users/form/devices/plan", post(devices::plan_device))
}

/// The form as the browser posts it. Every value is text, so nothing the admin typed is lost
/// to a parse error: the domain's validation reports problems by field instead.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Submitted {
    pub pbx_location: String,
    pub voice_route: String,
    pub teams_user: String,
    pub sip_user: String,
    pub phone_number: String,
    /// Checkboxes are absent when unchecked.
    pub use_teams_voicemail: Option<String>,
    pub caller_name_policy: String,
    pub caller_name: String,
    pub forwarded_caller_id: String,
    pub assign_dial_plan: Option<String>,
    pub device: String,
    pub tag: String,
    /// Edit: the version the form was loaded at.
    pub version: String,
    /// The number Teamline filled in after the SIP User was chosen: replaced when the SIP User
    /// changes, unlike a number the admin typed.
    pub phone_autofill: String,
    pub emergency_address: String,
    /// The selected device is the missing `tm` handle, created on Save.
    pub create_device: Option<String>,
    /// SELECT: the device chosen.
    pub choose: String,
    /// "shown" once a failed Save User showed the error summary (validation as you type then
    /// keeps it current).
    pub summary: String,
}

impl Submitted {
    pub fn form(&self) -> PbxUserForm {
        PbxUserForm {
            pbx_location: self.pbx_location.clone(),
            voice_route: self.voice_route.clone(),
            teams_user: self.teams_user.clone(),
            sip_user: self.sip_user.clone(),
            phone_number: self.phone_number.clone(),
            use_teams_voicemail: self.use_teams_voicemail.is_some(),
            caller_name_policy: self.caller_name_policy.clone(),
            caller_name: self.caller_name.clone(),
            forwarded_caller_id: self.forwarded_caller_id.clone(),
            assign_dial_plan: self.assign_dial_plan.is_some(),
            device: self.device.clone(),
            create_device: self.create_device.as_deref().is_some_and(|v| !v.is_empty()),
            emergency_address: self.emergency_address.clone(),
            tag: self.tag.clone(),
        }
    }

    fn location(&self) -> Option<PbxLocationId> {
        self.pbx_location.trim().parse().ok().map(PbxLocationId)
    }

    fn extension(&self) -> Option<Extension> {
        Extension::parse(&self.sip_user).ok()
    }
}

/// One `<option>`.
pub struct Opt {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// The user being edited, from the page the request came from (`/users/{id}/edit`).
pub(crate) fn edit_target(headers: &HeaderMap) -> Option<PbxUserId> {
    let url = headers.get("hx-current-url")?.to_str().ok()?;
    let path = url.split("/users/").nth(1)?;
    let (id, rest) = path.split_once('/')?;
    rest.starts_with("edit")
        .then(|| id.parse().ok().map(PbxUserId))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_target_comes_from_the_page_url() {
        let mut h = HeaderMap::new();
        h.insert(
            "hx-current-url",
            "http://127.0.0.1:8080/users/42/edit".parse().unwrap(),
        );
        assert_eq!(edit_target(&h), Some(PbxUserId(42)));
        h.insert("hx-current-url", "http://x/users/new".parse().unwrap());
        assert_eq!(edit_target(&h), None);
    }

    #[test]
    fn checkboxes_are_off_when_absent() {
        let s: Submitted = serde_urlencoded::from_str("sip_user=1000&phone_number=11000").unwrap();
        let f = s.form();
        assert!(!f.use_teams_voicemail && !f.assign_dial_plan);
        let s: Submitted =
            serde_urlencoded::from_str("assign_dial_plan=true&use_teams_voicemail=true").unwrap();
        assert!(s.form().assign_dial_plan && s.form().use_teams_voicemail);
    }
}
