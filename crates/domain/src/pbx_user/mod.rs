//! PBX users: the pairing of a Teams user with a PBX extension, and the SET UP PBX USER form.
//!
//! The form's rules, field by field (each problem is reported against the field's label, all
//! at once):
//!
//! | field | rule |
//! |---|---|
//! | PBX Locations | one of the enterprise's PBX locations (pre-selected when there is only one) |
//! | Available Voice Routes | one of the voice routes provisioned in the enterprise's tenant |
//! | Teams User | a synced, eligible Teams user (enabled member with Teams and Teams Phone) that no other PBX user holds; a new user must fit the enterprise's user limit |
//! | SIP User | an extension that exists on the PBX and that no other active or disabled PBX user holds (the error names the holder and how to free it) |
//! | Phone Number | a valid number (`11000` is read as `+11000`) that no other PBX user of the tenant uses |
//! | Use Voicemail in Teams | off by default: the PBX keeps the user's voicemail |
//! | Caller Name Policy | Transparent (default) or Other with a custom name |
//! | Caller ID on Forwarded Calls | User's Caller ID (default) or Original Caller |
//! | Assign Default Dial Plan Policy | on by default |
//! | User Devices | a device of the SIP User's extension on the PBX, chosen with Add New Device / SELECT (the recommended one is `<ext>tm`); or the missing `<ext>tm`, which Teamline creates on Save (with one of the PBX's emergency addresses when it offers some) |
//! | User Tag | optional free text |
//!
//! - `form.rs`: the form as submitted, and filled from a stored user for Edit.
//! - `validate.rs`: one function per field and [`PbxUserForm::validate`], which runs them all.
//! - `context.rs`: what validation needs to know besides the form.
//! - `choices.rs`: Caller Name Policy and Caller ID on Forwarded Calls.
//! - `record.rs`: the stored user, its lifecycle state and its push state.

mod choices;
mod context;
#[cfg(test)]
mod fixtures;
mod form;
mod record;
mod validate;

pub use choices::{CallerNamePolicy, ForwardedCallerId};
pub use context::{Holder, PbxLookup, SetupContext};
pub use form::{LookupKeys, PbxUserForm};
pub use record::{DeviceCreation, PbxUser, PbxUserSpec, PbxUserState, PushState};
pub use validate::{OverUserLimit, is_over_user_limit};

/// The form's field labels, exactly as on the page (and in the seed article).
pub mod fields {
    pub const PBX_LOCATION: &str = "PBX Locations";
    pub const VOICE_ROUTE: &str = "Available Voice Routes";
    pub const TEAMS_USER: &str = "Teams User";
    pub const SIP_USER: &str = "SIP User";
    pub const PHONE_NUMBER: &str = "Phone Number";
    pub const CALLER_NAME_POLICY: &str = "Caller Name Policy";
    pub const CALLER_NAME: &str = "Custom Caller Name";
    pub const FORWARDED_CALLER_ID: &str = "Caller ID on Forwarded Calls";
    pub const USER_DEVICES: &str = "User Devices";
    pub const USER_TAG: &str = "User Tag";
}
