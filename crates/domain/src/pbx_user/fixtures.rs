//! Test data shared by the form's tests: Adele Vance set up on extension 1000 as in the walk-through
//! an admin follows, and a context in which that form is valid.

use super::*;
use crate::device::DeviceAuthId;
use crate::ids::{EnterpriseId, PbxLocationId, TeamsUserId, VoiceRouteId};
use crate::sip::Extension;
use crate::teams_user::{Licences, PlanState, TeamsUser, UserType};

pub(super) fn adele() -> TeamsUser {
    TeamsUser {
        id: TeamsUserId(1),
        enterprise_id: EnterpriseId(1),
        object_id: "obj-adele".into(),
        upn: "AdeleV@contoso.example".into(),
        display_name: "Adele Vance".into(),
        account_enabled: true,
        user_type: UserType::Member,
        licences: Licences {
            teams: PlanState::Enabled,
            teams_phone: PlanState::Enabled,
            calling_plan: false,
            teams_phone_assigned_at_ms: None,
        },
        sync_groups: vec![],
        in_scope: true,
        last_seen_ms: 0,
        deleted_in_tenant: false,
    }
}

pub(super) fn ext(s: &str) -> Extension {
    Extension::parse(s).unwrap()
}

pub(super) fn ctx() -> SetupContext {
    SetupContext {
        editing: None,
        pbx_locations: vec![PbxLocationId(1)],
        voice_routes: vec![VoiceRouteId(1), VoiceRouteId(2)],
        teams_user: Some(adele()),
        pbx_extensions: PbxLookup::Known((1000..1020).map(|n| ext(&n.to_string())).collect()),
        devices: PbxLookup::Known(vec![
            DeviceAuthId::parse("1000").unwrap(),
            DeviceAuthId::parse("1000tm").unwrap(),
        ]),
        sip_user_holder: None,
        number_holder: None,
        teams_user_holder: None,
        user_limit: None,
        configured_users: 0,
    }
}

/// The seed article's walk-through for Adele Vance.
pub(super) fn seed_form() -> PbxUserForm {
    PbxUserForm {
        pbx_location: "1".into(),
        voice_route: "1".into(),
        teams_user: "obj-adele".into(),
        sip_user: "1000".into(),
        phone_number: "11000".into(),
        device: "1000tm".into(),
        ..PbxUserForm::new_with_defaults()
    }
}
