//! The SET UP PBX USER form as the admin submitted it, and the Edit form filled from a stored
//! user. Its validation is in `validate.rs`.

use super::choices::{CallerNamePolicy, ForwardedCallerId};
use super::record::PbxUserSpec;
use crate::ids::PbxLocationId;
use crate::phone::PhoneNumber;
use crate::sip::Extension;
use serde::{Deserialize, Serialize};

/// The SET UP PBX USER form, as submitted (every field as typed, so it can be shown again).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PbxUserForm {
    pub pbx_location: String,
    pub voice_route: String,
    pub teams_user: String,
    pub sip_user: String,
    pub phone_number: String,
    #[serde(default)]
    pub use_teams_voicemail: bool,
    pub caller_name_policy: String,
    #[serde(default)]
    pub caller_name: String,
    pub forwarded_caller_id: String,
    #[serde(default)]
    pub assign_dial_plan: bool,
    #[serde(default)]
    pub device: String,
    #[serde(default)]
    pub tag: String,
}

impl PbxUserForm {
    /// A new form with the product's defaults: Transparent caller name, the user's own caller
    /// ID on forwarded calls, the default dial plan assigned, voicemail left on the PBX.
    pub fn new_with_defaults() -> Self {
        Self {
            caller_name_policy: "transparent".into(),
            forwarded_caller_id: ForwardedCallerId::UserCallerId.as_str().into(),
            assign_dial_plan: true,
            ..Self::default()
        }
    }

    /// The form filled from a stored user, for Edit.
    pub fn from_spec(spec: &PbxUserSpec) -> Self {
        let (policy, name) = match &spec.caller_name {
            CallerNamePolicy::Transparent => ("transparent", String::new()),
            CallerNamePolicy::Other(n) => ("other", n.clone()),
        };
        Self {
            pbx_location: spec.pbx_location_id.to_string(),
            voice_route: spec.voice_route_id.to_string(),
            teams_user: spec.teams_user_object_id.clone(),
            sip_user: spec.sip_user.to_string(),
            phone_number: spec.phone_number.to_string(),
            use_teams_voicemail: spec.use_teams_voicemail,
            caller_name_policy: policy.into(),
            caller_name: name,
            forwarded_caller_id: spec.forwarded_caller_id.as_str().into(),
            assign_dial_plan: spec.assign_dial_plan,
            device: spec.device.to_string(),
            tag: spec.tag.clone().unwrap_or_default(),
        }
    }

    /// The values that need a look-up before full validation (who holds this extension, this
    /// number, this Teams user; which devices the extension has). Each is `None` when the typed
    /// value does not parse: that error is reported by [`PbxUserForm::validate`].
    pub fn lookup_keys(&self) -> LookupKeys {
        LookupKeys {
            pbx_location: parse_id(&self.pbx_location).map(PbxLocationId),
            sip_user: Extension::parse(&self.sip_user).ok(),
            phone_number: PhoneNumber::parse(&self.phone_number).ok(),
            teams_user: Some(self.teams_user.trim().to_owned()).filter(|s| !s.is_empty()),
        }
    }
}

/// See [`PbxUserForm::lookup_keys`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupKeys {
    pub pbx_location: Option<PbxLocationId>,
    pub sip_user: Option<Extension>,
    pub phone_number: Option<PhoneNumber>,
    pub teams_user: Option<String>,
}

/// A record id as typed in a `<select>`'s value.
pub(super) fn parse_id(s: &str) -> Option<i64> {
    s.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{ctx, ext, seed_form};
    use super::*;

    #[test]
    fn form_round_trips_through_spec() {
        let spec = seed_form().validate(&ctx()).unwrap();
        let again = PbxUserForm::from_spec(&spec).validate(&ctx()).unwrap();
        assert_eq!(spec, again);
    }

    #[test]
    fn lookup_keys_parse_what_they_can() {
        let keys = seed_form().lookup_keys();
        assert_eq!(keys.sip_user, Some(ext("1000")));
        assert_eq!(keys.phone_number.unwrap().to_string(), "+11000");
        let mut bad = seed_form();
        bad.phone_number = "x".into();
        assert_eq!(bad.lookup_keys().phone_number, None);
    }
}
