//! PBX users: the pairing of a Teams user with a PBX extension, and the SET UP PBX USER form.

use crate::device::DeviceAuthId;
use crate::error::{FieldError, FieldErrors};
use crate::ids::{EnterpriseId, PbxLocationId, PbxUserId, VoiceRouteId};
use crate::phone::PhoneNumber;
use crate::sip::Extension;
use crate::teams_user::TeamsUser;
use crate::text::optional_text;
use serde::{Deserialize, Serialize};

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

/// The caller name Teams shows for this user's outgoing calls.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "policy", content = "name", rename_all = "snake_case")]
pub enum CallerNamePolicy {
    /// Pass the PBX's caller name through unchanged (the seed article's choice).
    Transparent,
    /// Show this name instead (e.g. the company name).
    Other(String),
}

impl CallerNamePolicy {
    pub const MAX_NAME_LEN: usize = 50;

    /// `policy` is `transparent` or `other`; `name` is only read for `other`.
    pub fn parse(policy: &str, name: &str) -> Result<Self, FieldError> {
        match policy.trim().to_ascii_lowercase().as_str() {
            "" | "transparent" => Ok(Self::Transparent),
            "other" => match optional_text(fields::CALLER_NAME, name, Self::MAX_NAME_LEN)? {
                Some(name) => Ok(Self::Other(name)),
                None => Err(FieldError::new(
                    fields::CALLER_NAME,
                    "is required when Caller Name Policy is Other: type the name to show (e.g. Contoso)",
                )),
            },
            other => Err(FieldError::new(
                fields::CALLER_NAME_POLICY,
                format!("'{other}' is not a caller name policy: choose Transparent or Other"),
            )),
        }
    }

    pub fn label(&self) -> String {
        match self {
            Self::Transparent => "Transparent".to_owned(),
            Self::Other(name) => format!("Other: {name}"),
        }
    }
}

/// Which caller ID a forwarded call shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ForwardedCallerId {
    /// The forwarding user's own number (the seed article's choice).
    UserCallerId,
    /// The number of the original caller.
    OriginalCaller,
}

impl ForwardedCallerId {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UserCallerId => "user_caller_id",
            Self::OriginalCaller => "original_caller",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::UserCallerId => "User's Caller ID",
            Self::OriginalCaller => "Original Caller",
        }
    }

    pub fn parse(s: &str) -> Result<Self, FieldError> {
        match s.trim() {
            "" | "user_caller_id" => Ok(Self::UserCallerId),
            "original_caller" => Ok(Self::OriginalCaller),
            other => Err(FieldError::new(
                fields::FORWARDED_CALLER_ID,
                format!("'{other}' is not a choice: choose User's Caller ID or Original Caller"),
            )),
        }
    }
}

/// The lifecycle of a PBX user (SPEC.md §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PbxUserState {
    /// Configured; calling may or may not be enabled.
    Active,
    /// Services paused; the extension stays reserved.
    Disabled,
    /// Removed after confirmation; the extension is free.
    Deleted,
}

impl PbxUserState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Disabled => "disabled",
            Self::Deleted => "deleted",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(Self::Active),
            "disabled" => Some(Self::Disabled),
            "deleted" => Some(Self::Deleted),
            _ => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Active => "Active",
            Self::Disabled => "Disabled",
            Self::Deleted => "Deleted",
        }
    }

    /// Whether a user in this state holds its extension, number and Teams user.
    pub fn reserves(self) -> bool {
        matches!(self, Self::Active | Self::Disabled)
    }
}

/// Where pushing a PBX user's configuration to Microsoft stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PushState {
    /// Changed in Teamline, not yet sent (waits for Sync Teams Users when consent is missing).
    Pending,
    /// A job is sending it now.
    InProgress,
    /// Microsoft accepted it and is still applying it: not a failure.
    Propagating,
    /// Microsoft holds what Teamline configured.
    InSync,
    /// The last push failed; `last_error` says why.
    Failed,
    /// Microsoft's state differs from the configuration (changed outside Teamline).
    Drift,
}

impl PushState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::InProgress => "in_progress",
            Self::Propagating => "propagating",
            Self::InSync => "in_sync",
            Self::Failed => "failed",
            Self::Drift => "drift",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(Self::Pending),
            "in_progress" => Some(Self::InProgress),
            "propagating" => Some(Self::Propagating),
            "in_sync" => Some(Self::InSync),
            "failed" => Some(Self::Failed),
            "drift" => Some(Self::Drift),
            _ => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Pending => "Pending",
            Self::InProgress => "In progress",
            Self::Propagating => "Pending propagation",
            Self::InSync => "In sync",
            Self::Failed => "Failed",
            Self::Drift => "Drift",
        }
    }
}

/// What an admin configured for a PBX user (the validated form).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PbxUserSpec {
    pub pbx_location_id: PbxLocationId,
    pub voice_route_id: VoiceRouteId,
    /// The Teams user's Entra object id.
    pub teams_user_object_id: String,
    pub sip_user: Extension,
    pub phone_number: PhoneNumber,
    pub use_teams_voicemail: bool,
    pub caller_name: CallerNamePolicy,
    pub forwarded_caller_id: ForwardedCallerId,
    pub assign_dial_plan: bool,
    pub device: DeviceAuthId,
    pub tag: Option<String>,
}

/// A configured pairing as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PbxUser {
    pub id: PbxUserId,
    pub enterprise_id: EnterpriseId,
    pub spec: PbxUserSpec,
    pub state: PbxUserState,
    /// What the admin wants: calling on or off in Teams.
    pub calling_enabled: bool,
    pub push_state: PushState,
    pub last_error: Option<String>,
    /// Bumped on every change, for optimistic concurrency between the portal and jobs.
    pub version: i64,
    pub created_ms: i64,
    pub updated_ms: i64,
}

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
    /// A new form with the defaults of SPEC.md §2.
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

    /// Validates every field against the rules of SPEC.md §2 and the looked-up context, and
    /// returns all problems at once.
    pub fn validate(&self, ctx: &SetupContext) -> Result<PbxUserSpec, FieldErrors> {
        use fields::*;
        let mut e = FieldErrors::new();

        let pbx_location_id = match parse_id(&self.pbx_location).map(PbxLocationId) {
            Some(id) if ctx.pbx_locations.contains(&id) => Some(id),
            _ if self.pbx_location.trim().is_empty() && ctx.pbx_locations.len() == 1 => {
                ctx.pbx_locations.first().copied()
            }
            _ => {
                e.push(FieldError::new(PBX_LOCATION, if ctx.pbx_locations.is_empty() {
                    "no PBX is configured for this enterprise: ask your reseller to add the PBX location first"
                } else {
                    "choose one of the enterprise's PBX locations (usually PBX)"
                }));
                None
            }
        };

        let voice_route_id = match parse_id(&self.voice_route).map(VoiceRouteId) {
            Some(id) if ctx.voice_routes.contains(&id) => Some(id),
            _ => {
                e.push(FieldError::new(VOICE_ROUTE, if ctx.voice_routes.is_empty() {
                    "no voice route is provisioned for this enterprise yet: run Sync Voice Routes from the Dashboard"
                } else {
                    "choose a voice route (e.g. US East 2 or US West, depending on the user's location)"
                }));
                None
            }
        };

        let teams_user = self.teams_user.trim();
        let teams_user_object_id = if teams_user.is_empty() {
            e.push(FieldError::new(
                TEAMS_USER,
                "choose the Teams user to set up",
            ));
            None
        } else {
            match &ctx.teams_user {
                None => {
                    e.push(FieldError::new(
                        TEAMS_USER,
                        "this user has not been synced from Microsoft 365: run Sync Teams Users, or use Troubleshoot to see why the user does not sync",
                    ));
                    None
                }
                Some(user) => {
                    let reasons = user.ineligible_reasons();
                    if let Some(reason) = reasons.first() {
                        e.push(FieldError::new(TEAMS_USER, reason.explain(&user.upn)));
                        None
                    } else if let Some(holder) = ctx.holder_other_than_self(&ctx.teams_user_holder)
                    {
                        e.push(FieldError::new(
                            TEAMS_USER,
                            format!(
                                "{} is already set up as a PBX user ({}): edit that user instead",
                                user.upn,
                                holder.describe()
                            ),
                        ));
                        None
                    } else {
                        Some(user.object_id.clone())
                    }
                }
            }
        };

        let sip_user = match e.check(Extension::parse(&self.sip_user)) {
            None => None,
            Some(ext) => {
                let mut ok = true;
                match &ctx.pbx_extensions {
                    PbxLookup::Known(list) if !list.contains(&ext) => {
                        e.push(FieldError::new(SIP_USER, format!(
                            "extension {ext} does not exist on the PBX: choose one of the PBX's extensions, or create it on the PBX first"
                        )));
                        ok = false;
                    }
                    PbxLookup::Unavailable(why) => {
                        e.push(FieldError::new(SIP_USER, format!(
                            "could not check extension {ext} because the PBX did not answer ({why}): try again, or check the PBX settings with Test connection"
                        )));
                        ok = false;
                    }
                    _ => {}
                }
                if let Some(holder) = ctx.holder_other_than_self(&ctx.sip_user_holder) {
                    let how = match holder.state {
                        PbxUserState::Disabled => format!(
                            "{} is Disabled but still reserves it: delete that PBX user (Users → ⋮ → Delete User) to free the extension",
                            holder.display_name
                        ),
                        _ => format!(
                            "disable and delete {} (Users → ⋮), or choose another extension",
                            holder.display_name
                        ),
                    };
                    e.push(FieldError::new(
                        SIP_USER,
                        format!(
                            "extension {ext} is already assigned to {}; {how}",
                            holder.describe()
                        ),
                    ));
                    ok = false;
                }
                ok.then_some(ext)
            }
        };

        let phone_number = match e.check(PhoneNumber::parse(&self.phone_number)) {
            Some(number) => match ctx.holder_other_than_self(&ctx.number_holder) {
                Some(holder) => {
                    e.push(FieldError::new(PHONE_NUMBER, format!(
                        "{number} is already used by {}: each number can belong to one user in the tenant",
                        holder.describe()
                    )));
                    None
                }
                None => Some(number),
            },
            None => None,
        };

        let caller_name = e.check(CallerNamePolicy::parse(
            &self.caller_name_policy,
            &self.caller_name,
        ));
        let forwarded_caller_id = e.check(ForwardedCallerId::parse(&self.forwarded_caller_id));
        let tag = e.check(optional_text(USER_TAG, &self.tag, 100));

        let device = if self.device.trim().is_empty() {
            let hint = sip_user
                .as_ref()
                .map(|ext| format!(" (e.g. {})", DeviceAuthId::suggested(ext)))
                .unwrap_or_default();
            e.push(FieldError::new(
                USER_DEVICES,
                format!("click Add New Device and SELECT the device Teams will use{hint}"),
            ));
            None
        } else {
            match DeviceAuthId::parse(&self.device) {
                Err(err) => {
                    e.push(err.for_field(USER_DEVICES));
                    None
                }
                Ok(device) => {
                    let mut ok = true;
                    if let (Some(ext), PbxLookup::Known(devices)) = (&sip_user, &ctx.devices)
                        && !devices.contains(&device)
                    {
                        e.push(FieldError::new(USER_DEVICES, format!(
                            "device {device} does not exist on extension {ext}: create it on the PBX (Add New Device offers to), then SELECT it"
                        )));
                        ok = false;
                    }
                    ok.then_some(device)
                }
            }
        };

        if let (None, Some(limit)) = (ctx.editing, ctx.user_limit)
            && ctx.configured_users >= u64::from(limit)
        {
            e.push(FieldError::new(TEAMS_USER, format!(
                "this enterprise has reached its limit of {limit} users: ask your reseller to raise it, or delete a user"
            )));
        }

        match (
            pbx_location_id,
            voice_route_id,
            teams_user_object_id,
            sip_user,
            phone_number,
            caller_name,
            forwarded_caller_id,
            tag,
            device,
        ) {
            (
                Some(pbx_location_id),
                Some(voice_route_id),
                Some(teams_user_object_id),
                Some(sip_user),
                Some(phone_number),
                Some(caller_name),
                Some(forwarded_caller_id),
                Some(tag),
                Some(device),
            ) if e.is_empty() => Ok(PbxUserSpec {
                pbx_location_id,
                voice_route_id,
                teams_user_object_id,
                sip_user,
                phone_number,
                use_teams_voicemail: self.use_teams_voicemail,
                caller_name,
                forwarded_caller_id,
                assign_dial_plan: self.assign_dial_plan,
                device,
                tag,
            }),
            _ => Err(e),
        }
    }
}

fn parse_id(s: &str) -> Option<i64> {
    s.trim().parse().ok()
}

/// See [`PbxUserForm::lookup_keys`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupKeys {
    pub pbx_location: Option<PbxLocationId>,
    pub sip_user: Option<Extension>,
    pub phone_number: Option<PhoneNumber>,
    pub teams_user: Option<String>,
}

/// A PBX user that already holds something the form asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub id: PbxUserId,
    pub display_name: String,
    pub upn: String,
    pub state: PbxUserState,
}

impl Holder {
    fn describe(&self) -> String {
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
    fn holder_other_than_self<'a>(&self, holder: &'a Option<Holder>) -> Option<&'a Holder> {
        holder
            .as_ref()
            .filter(|h| h.state.reserves() && Some(h.id) != self.editing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::TeamsUserId;
    use crate::teams_user::{Licences, PlanState, UserType};

    fn adele() -> TeamsUser {
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

    fn ext(s: &str) -> Extension {
        Extension::parse(s).unwrap()
    }

    fn ctx() -> SetupContext {
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
    fn seed_form() -> PbxUserForm {
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

    #[test]
    fn seed_article_walkthrough_validates() {
        let spec = seed_form().validate(&ctx()).unwrap();
        assert_eq!(spec.phone_number.to_string(), "+11000");
        assert_eq!(spec.caller_name, CallerNamePolicy::Transparent);
        assert_eq!(spec.forwarded_caller_id, ForwardedCallerId::UserCallerId);
        assert!(spec.assign_dial_plan);
        assert!(!spec.use_teams_voicemail);
        assert_eq!(spec.device.as_str(), "1000tm");
    }

    #[test]
    fn all_errors_at_once_each_naming_its_field() {
        let form = PbxUserForm {
            pbx_location: "9".into(),
            voice_route: "".into(),
            teams_user: "".into(),
            sip_user: "10 00".into(),
            phone_number: "abc".into(),
            caller_name_policy: "other".into(),
            ..PbxUserForm::new_with_defaults()
        };
        let errors = form.validate(&ctx()).unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field).collect();
        for f in [
            fields::PBX_LOCATION,
            fields::VOICE_ROUTE,
            fields::TEAMS_USER,
            fields::SIP_USER,
            fields::PHONE_NUMBER,
            fields::CALLER_NAME,
            fields::USER_DEVICES,
        ] {
            assert!(fields.contains(&f), "missing error for {f}: {errors}");
        }
    }

    #[test]
    fn extension_held_by_active_user_names_the_holder() {
        let mut c = ctx();
        c.sip_user_holder = Some(Holder {
            id: PbxUserId(7),
            display_name: "Adele Vance".into(),
            upn: "AdeleV@contoso.example".into(),
            state: PbxUserState::Active,
        });
        let errors = seed_form().validate(&c).unwrap_err();
        let msg = errors.for_field(fields::SIP_USER).unwrap();
        assert!(msg.contains("Adele Vance"), "{msg}");
    }

    #[test]
    fn extension_held_by_disabled_user_says_how_to_free_it() {
        let mut c = ctx();
        c.sip_user_holder = Some(Holder {
            id: PbxUserId(3),
            display_name: "Debra Berger".into(),
            upn: "DebraB@contoso.example".into(),
            state: PbxUserState::Disabled,
        });
        let errors = seed_form().validate(&c).unwrap_err();
        let msg = errors.for_field(fields::SIP_USER).unwrap();
        assert!(
            msg.contains("Debra Berger") && msg.contains("Delete User"),
            "{msg}"
        );
    }

    #[test]
    fn editing_does_not_conflict_with_itself() {
        let mut c = ctx();
        let me = Holder {
            id: PbxUserId(7),
            display_name: "Adele Vance".into(),
            upn: "AdeleV@contoso.example".into(),
            state: PbxUserState::Active,
        };
        c.editing = Some(PbxUserId(7));
        c.sip_user_holder = Some(me.clone());
        c.number_holder = Some(me.clone());
        c.teams_user_holder = Some(me);
        assert!(seed_form().validate(&c).is_ok());
    }

    #[test]
    fn deleted_holders_do_not_reserve() {
        let mut c = ctx();
        c.sip_user_holder = Some(Holder {
            id: PbxUserId(3),
            display_name: "x".into(),
            upn: "x@y.z".into(),
            state: PbxUserState::Deleted,
        });
        assert!(seed_form().validate(&c).is_ok());
    }

    #[test]
    fn number_in_use() {
        let mut c = ctx();
        c.number_holder = Some(Holder {
            id: PbxUserId(8),
            display_name: "Alex Wilber".into(),
            upn: "AlexW@contoso.example".into(),
            state: PbxUserState::Active,
        });
        let errors = seed_form().validate(&c).unwrap_err();
        assert!(
            errors
                .for_field(fields::PHONE_NUMBER)
                .unwrap()
                .contains("Alex Wilber")
        );
    }

    #[test]
    fn ineligible_teams_user_is_explained() {
        let mut c = ctx();
        let mut christie = adele();
        christie.upn = "ChristieC@contoso.example".into();
        christie.licences.teams_phone = PlanState::Missing;
        c.teams_user = Some(christie);
        let errors = seed_form().validate(&c).unwrap_err();
        assert!(
            errors
                .for_field(fields::TEAMS_USER)
                .unwrap()
                .contains("Teams Phone")
        );
    }

    #[test]
    fn missing_device_suggests_the_tm_handle() {
        let mut form = seed_form();
        form.device = "".into();
        let errors = form.validate(&ctx()).unwrap_err();
        assert!(
            errors
                .for_field(fields::USER_DEVICES)
                .unwrap()
                .contains("1000tm")
        );
        form.device = "1000xx".into();
        let errors = form.validate(&ctx()).unwrap_err();
        assert!(
            errors
                .for_field(fields::USER_DEVICES)
                .unwrap()
                .contains("does not exist")
        );
    }

    #[test]
    fn unknown_extension_and_unreachable_pbx() {
        let mut form = seed_form();
        form.sip_user = "1099".into();
        form.device = "1099tm".into();
        let mut c = ctx();
        c.devices = PbxLookup::NotAsked;
        let errors = form.validate(&c).unwrap_err();
        assert!(
            errors
                .for_field(fields::SIP_USER)
                .unwrap()
                .contains("does not exist on the PBX")
        );
        c.pbx_extensions = PbxLookup::Unavailable("connection refused".into());
        let errors = form.validate(&c).unwrap_err();
        assert!(
            errors
                .for_field(fields::SIP_USER)
                .unwrap()
                .contains("connection refused")
        );
    }

    #[test]
    fn user_limit_applies_to_new_users_only() {
        let mut c = ctx();
        c.user_limit = Some(2);
        c.configured_users = 2;
        assert!(seed_form().validate(&c).is_err());
        c.editing = Some(PbxUserId(1));
        assert!(seed_form().validate(&c).is_ok());
    }

    #[test]
    fn caller_name_other() {
        let mut form = seed_form();
        form.caller_name_policy = "other".into();
        form.caller_name = "Contoso".into();
        assert_eq!(
            form.validate(&ctx()).unwrap().caller_name,
            CallerNamePolicy::Other("Contoso".into())
        );
    }

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
