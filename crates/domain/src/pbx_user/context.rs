//! What validating the form needs to know besides the form: the enterprise's choices, the
//! chosen Teams user, what the PBX holds and who already holds the extension, number or user.

use super::record::PbxUserState;
use crate::device::DeviceAuthId;
use crate::ids::{PbxLocationId, PbxUserId, VoiceRouteId};
use crate::sip::Extension;
use crate::teams_user::TeamsUser;

/// A PBX user that already holds something the form asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub id: PbxUserId,
    pub display_name: String,
    pub upn: String,
    pub state: PbxUserState,
}

impl Holder {
    /// "Adele Vance (AdeleV@contoso.example)", with ", Disabled" when it is.
    pub(super) fn describe(&self) -> String {
        let state = match self.state {
            PbxUserState::Disabled => ", Disabled",
            _ => "",
        };
        format!("{} ({}{state})", self.display_name, self.upn)
    }
}

/// What the PBX said, or why it could not be asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PbxLookup<T> {
    Known(Vec<T>),
    /// The PBX API could not be reached; the reason is shown to the admin.
    Unavailable(String),
    /// Not asked (e.g. the extension did not parse).
    NotAsked,
}

/// Everything validation needs to know besides the form.
#[derive(Debug, Clone)]
pub struct SetupContext {
    /// When editing, the user being edited: it does not conflict with itself.
    pub editing: Option<PbxUserId>,
    pub pbx_locations: Vec<PbxLocationId>,
    /// Provisioned voice routes only.
    pub voice_routes: Vec<VoiceRouteId>,
    /// The chosen Teams user as synced (`None` = never synced).
    pub teams_user: Option<TeamsUser>,
    pub pbx_extensions: PbxLookup<Extension>,
    /// The chosen extension's devices on the PBX.
    pub devices: PbxLookup<DeviceAuthId>,
    pub sip_user_holder: Option<Holder>,
    pub number_holder: Option<Holder>,
    pub teams_user_holder: Option<Holder>,
    pub user_limit: Option<u32>,
    /// PBX users that are active or disabled now.
    pub configured_users: u64,
}

impl SetupContext {
    /// The holder, unless it is the user being edited or no longer reserves what it held.
    pub(super) fn holder_other_than_self<'a>(
        &self,
        holder: &'a Option<Holder>,
    ) -> Option<&'a Holder> {
        holder
            .as_ref()
            .filter(|h| h.state.reserves() && Some(h.id) != self.editing)
    }
}
