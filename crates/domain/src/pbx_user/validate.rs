//! The rules of the SET UP PBX USER form: one function per field, each returning that field's
//! value or what is wrong with it (labelled with the field, so the page shows it next to its
//! input), and [`PbxUserForm::validate`], which runs them all so the admin sees every problem at
//! once.

use super::choices::{CallerNamePolicy, ForwardedCallerId};
use super::context::{PbxLookup, SetupContext};
use super::fields::*;
use super::form::{PbxUserForm, parse_id};
use super::record::{DeviceCreation, PbxUserSpec, PbxUserState};
use crate::device::DeviceAuthId;
use crate::error::{FieldError, FieldErrors};
use crate::ids::{PbxLocationId, VoiceRouteId};
use crate::phone::PhoneNumber;
use crate::sip::Extension;
use crate::text::optional_text;

/// The longest User Tag accepted.
const MAX_TAG_LEN: usize = 100;

impl PbxUserForm {
    /// Validates every field against its rule and the looked-up context, and returns all
    /// problems at once.
    pub fn validate(&self, ctx: &SetupContext) -> Result<PbxUserSpec, FieldErrors> {
        let mut e = FieldErrors::new();
        let pbx_location_id = e.check(pbx_location(&self.pbx_location, ctx));
        let voice_route_id = e.check(voice_route(&self.voice_route, ctx));
        let teams_user_object_id = e.check(teams_user(&self.teams_user, ctx));
        let sip_user = e.check(sip_user(&self.sip_user, ctx));
        let phone_number = e.check(phone_number(&self.phone_number, ctx));
        let caller_name = e.check(CallerNamePolicy::parse(
            &self.caller_name_policy,
            &self.caller_name,
        ));
        let forwarded_caller_id = e.check(ForwardedCallerId::parse(&self.forwarded_caller_id));
        let tag = e.check(optional_text(USER_TAG, &self.tag, MAX_TAG_LEN));
        let device = e.check(device(self, sip_user.as_ref(), ctx));
        e.check(room_for_a_new_user(ctx));

        let (
            Some(pbx_location_id),
            Some(voice_route_id),
            Some(teams_user_object_id),
            Some(sip_user),
            Some(phone_number),
            Some(caller_name),
            Some(forwarded_caller_id),
            Some(tag),
            Some((device, device_creation)),
        ) = (
            pbx_location_id,
            voice_route_id,
            teams_user_object_id,
            sip_user,
            phone_number,
            caller_name,
            forwarded_caller_id,
            tag,
            device,
        )
        else {
            return Err(e);
        };
        e.into_result(|| PbxUserSpec {
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
            device_creation,
            tag,
        })
    }
}

/// PBX Locations: one of the enterprise's; left empty, the only one there is.
fn pbx_location(raw: &str, ctx: &SetupContext) -> Result<PbxLocationId, FieldError> {
    if let Some(id) = parse_id(raw)
        .map(PbxLocationId)
        .filter(|id| ctx.pbx_locations.contains(id))
    {
        return Ok(id);
    }
    if raw.trim().is_empty()
        && let [only] = ctx.pbx_locations.as_slice()
    {
        return Ok(*only);
    }
    Err(FieldError::new(
        PBX_LOCATION,
        if ctx.pbx_locations.is_empty() {
            "no PBX is configured for this enterprise: ask your reseller to add the PBX location first"
        } else {
            "choose one of the enterprise's PBX locations (usually PBX)"
        },
    ))
}

/// Available Voice Routes: one provisioned in the enterprise's tenant.
fn voice_route(raw: &str, ctx: &SetupContext) -> Result<VoiceRouteId, FieldError> {
    parse_id(raw)
        .map(VoiceRouteId)
        .filter(|id| ctx.voice_routes.contains(id))
        .ok_or_else(|| {
            FieldError::new(
                VOICE_ROUTE,
                if ctx.voice_routes.is_empty() {
                    "no voice route is provisioned for this enterprise yet: run Sync Voice Routes from the Dashboard"
                } else {
                    "choose a voice route (e.g. US East 2 or US West, depending on the user's location)"
                },
            )
        })
}

/// Teams User: a synced user who is eligible (enabled member with Teams and Teams Phone) and
/// not set up already. The value is the user's Entra object id.
fn teams_user(raw: &str, ctx: &SetupContext) -> Result<String, FieldError> {
    if raw.trim().is_empty() {
        return Err(FieldError::new(
            TEAMS_USER,
            "choose the Teams user to set up",
        ));
    }
    if let Some(paired) = &ctx.edited_teams_user
        && raw.trim() != paired
    {
        return Err(FieldError::new(
            TEAMS_USER,
            "the Teams user of a PBX user cannot be changed on Edit: to give this extension to someone else, use Move to another person (Users → ⋮), which first disables calling for the current user",
        ));
    }
    let Some(user) = &ctx.teams_user else {
        return Err(FieldError::new(
            TEAMS_USER,
            "this user has not been synced from Microsoft 365: run Sync Teams Users, or use Troubleshoot to see why the user does not sync",
        ));
    };
    if let Some(reason) = user.ineligible_reasons().first() {
        return Err(FieldError::new(TEAMS_USER, reason.explain(&user.upn)));
    }
    if let Some(holder) = ctx.holder_other_than_self(&ctx.teams_user_holder) {
        return Err(FieldError::new(
            TEAMS_USER,
            format!(
                "{} is already set up as a PBX user ({}): edit that user instead",
                user.upn,
                holder.describe()
            ),
        ));
    }
    Ok(user.object_id.clone())
}

/// SIP User: an extension that exists on the PBX and that no other active or disabled PBX user
/// holds. Both problems can hold at once, and both are reported.
fn sip_user(raw: &str, ctx: &SetupContext) -> Result<Extension, FieldErrors> {
    let ext = Extension::parse(raw)?;
    let mut e = FieldErrors::new();
    e.check(on_the_pbx(&ext, &ctx.pbx_extensions));
    e.check(extension_free(&ext, ctx));
    e.into_result(|| ext)
}

/// The extension is among the PBX's (when the PBX answered).
fn on_the_pbx(ext: &Extension, extensions: &PbxLookup<Extension>) -> Result<(), FieldError> {
    match extensions {
        PbxLookup::Known(list) if !list.contains(ext) => Err(FieldError::new(
            SIP_USER,
            format!(
                "extension {ext} does not exist on the PBX: choose one of the PBX's extensions, or create it on the PBX first"
            ),
        )),
        PbxLookup::Unavailable(why) => Err(FieldError::new(
            SIP_USER,
            format!(
                "could not check extension {ext} because the PBX did not answer ({why}): try again, or check the PBX settings with Test connection"
            ),
        )),
        _ => Ok(()),
    }
}

/// No other PBX user holds the extension; if one does, the error names it and how to free it.
fn extension_free(ext: &Extension, ctx: &SetupContext) -> Result<(), FieldError> {
    let Some(holder) = ctx.holder_other_than_self(&ctx.sip_user_holder) else {
        return Ok(());
    };
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
    Err(FieldError::new(
        SIP_USER,
        format!(
            "extension {ext} is already assigned to {}; {how}",
            holder.describe()
        ),
    ))
}

/// Phone Number: a valid number that no other PBX user of the tenant uses.
fn phone_number(raw: &str, ctx: &SetupContext) -> Result<PhoneNumber, FieldError> {
    let number = PhoneNumber::parse(raw)?;
    match ctx.holder_other_than_self(&ctx.number_holder) {
        Some(holder) => Err(FieldError::new(
            PHONE_NUMBER,
            format!(
                "{number} is already used by {}: each number can belong to one user in the tenant",
                holder.describe()
            ),
        )),
        None => Ok(number),
    }
}

/// User Devices: a device handle chosen with Add New Device / SELECT that belongs to the SIP
/// User's extension on the PBX, or the missing recommended handle, which Teamline creates on
/// Save (with an emergency address when the PBX offers some). `sip_user` is the SIP User when
/// it is valid.
fn device(
    form: &PbxUserForm,
    sip_user: Option<&Extension>,
    ctx: &SetupContext,
) -> Result<(DeviceAuthId, Option<DeviceCreation>), FieldError> {
    let raw = &form.device;
    if raw.trim().is_empty() {
        let hint = sip_user
            .map(|ext| format!(" (e.g. {})", DeviceAuthId::suggested(ext)))
            .unwrap_or_default();
        return Err(FieldError::new(
            USER_DEVICES,
            format!("click Add New Device and SELECT the device Teams will use{hint}"),
        ));
    }
    let device = DeviceAuthId::parse(raw).map_err(|err| err.for_field(USER_DEVICES))?;
    let (Some(ext), PbxLookup::Known(devices)) = (sip_user, &ctx.devices) else {
        return Ok((device, None));
    };
    if devices.contains(&device) {
        return Ok((device, None));
    }
    let suggested = DeviceAuthId::suggested(ext);
    if !form.create_device || device != suggested {
        return Err(FieldError::new(
            USER_DEVICES,
            format!(
                "device {device} does not exist on extension {ext}: create it on the PBX, or let Teamline create {suggested} (Add New Device offers it), then SELECT it"
            ),
        ));
    }
    let chosen = form.emergency_address.trim();
    let emergency_address_id = match &ctx.emergency_addresses {
        PbxLookup::Known(offered) if offered.is_empty() => None,
        PbxLookup::Known(offered) if offered.iter().any(|a| a == chosen) => Some(chosen.to_owned()),
        PbxLookup::Known(_) => {
            return Err(FieldError::new(
                USER_DEVICES,
                format!(
                    "choose the emergency address for {device}: the PBX needs one for every new device"
                ),
            ));
        }
        PbxLookup::Unavailable(why) => {
            return Err(FieldError::new(
                USER_DEVICES,
                format!(
                    "could not read the PBX's emergency addresses for {device} ({why}): try again, or check the PBX settings with Test connection"
                ),
            ));
        }
        PbxLookup::NotAsked => Some(chosen.to_owned()).filter(|a| !a.is_empty()),
    };
    Ok((
        device,
        Some(DeviceCreation {
            emergency_address_id,
        }),
    ))
}

/// A new user must fit in the enterprise's user limit; the problem is shown on Teams User, the
/// user who would not fit. Editing a user never counts against it.
fn room_for_a_new_user(ctx: &SetupContext) -> Result<(), FieldError> {
    match (ctx.editing, ctx.user_limit) {
        (None, Some(limit)) if ctx.configured_users >= u64::from(limit) => Err(FieldError::new(
            TEAMS_USER,
            format!(
                "{LIMIT_REACHED} {limit} users: ask your reseller to raise it, or delete a user"
            ),
        )),
        _ => Ok(()),
    }
}

const LIMIT_REACHED: &str = "this enterprise has reached its limit of";

/// Whether a problem (as a form or a kept Bulk Upload row reports it) is the user limit's.
pub fn is_over_user_limit(field: &str, message: &str) -> bool {
    field == TEAMS_USER && message.starts_with(LIMIT_REACHED)
}

/// The rows of a Bulk Upload file that do not fit in the enterprise's user limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverUserLimit {
    pub rows: u64,
    pub limit: u32,
    /// Users configured (active or disabled) now.
    pub in_use: u64,
}

impl std::fmt::Display for OverUserLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Self {
            rows,
            limit,
            in_use,
        } = self;
        let noun = if *rows == 1 { "row" } else { "rows" };
        write!(
            f,
            "{rows} {noun} would exceed your user limit of {limit} ({in_use} in use): remove {rows} {noun} or ask your reseller to raise the limit"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{adele, ctx, seed_form};
    use super::*;
    use crate::ids::PbxUserId;
    use crate::pbx_user::{Holder, fields};
    use crate::teams_user::PlanState;

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
    fn extension_gone_from_the_pbx_and_still_held_reports_both() {
        let mut form = seed_form();
        form.sip_user = "1099".into();
        let mut c = ctx();
        c.sip_user_holder = Some(Holder {
            id: PbxUserId(3),
            display_name: "Debra Berger".into(),
            upn: "DebraB@contoso.example".into(),
            state: PbxUserState::Disabled,
        });
        let errors = form.validate(&c).unwrap_err();
        let sip: Vec<_> = errors
            .iter()
            .filter(|e| e.field == fields::SIP_USER)
            .map(|e| e.message.as_str())
            .collect();
        assert!(
            sip.len() == 2
                && sip[0].contains("does not exist on the PBX")
                && sip[1].contains("Debra Berger"),
            "{errors}"
        );
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
    fn edit_keeps_the_teams_user() {
        let mut c = ctx();
        c.editing = Some(PbxUserId(7));
        c.edited_teams_user = Some("obj-alex".into());
        let err = seed_form().validate(&c).unwrap_err();
        let message = err.for_field(fields::TEAMS_USER).unwrap();
        assert!(message.contains("Move to another person"), "{message}");
        c.edited_teams_user = Some("obj-adele".into());
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
    fn the_missing_tm_handle_is_created_on_save_with_an_emergency_address() {
        let mut c = ctx();
        c.devices = PbxLookup::Known(vec![DeviceAuthId::parse("1000").unwrap()]);
        let mut form = seed_form();
        // Not asked for: a missing device is an error.
        assert!(form.validate(&c).is_err());
        form.create_device = true;
        c.emergency_addresses = PbxLookup::Known(vec!["ea-1".into(), "ea-2".into()]);
        let errors = form.validate(&c).unwrap_err();
        let message = errors.for_field(fields::USER_DEVICES).unwrap();
        assert!(message.contains("emergency address"), "{message}");
        form.emergency_address = "ea-2".into();
        let spec = form.validate(&c).unwrap();
        assert_eq!(
            spec.device_creation,
            Some(DeviceCreation {
                emergency_address_id: Some("ea-2".into())
            })
        );
        // Only the recommended handle is created.
        form.device = "1000xx".into();
        assert!(form.validate(&c).is_err());
        // A device that exists needs no creation.
        form.device = "1000".into();
        assert_eq!(form.validate(&c).unwrap().device_creation, None);
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
    fn the_summary_counts_the_rows_over_the_limit() {
        let over = OverUserLimit {
            rows: 7,
            limit: 5,
            in_use: 3,
        };
        assert_eq!(
            over.to_string(),
            "7 rows would exceed your user limit of 5 (3 in use): remove 7 rows or ask your reseller to raise the limit"
        );
        let one = OverUserLimit { rows: 1, ..over };
        assert!(one.to_string().starts_with("1 row would exceed"), "{one}");
        assert!(one.to_string().contains("remove 1 row or"), "{one}");
    }

    #[test]
    fn user_limit_applies_to_new_users_only() {
        let mut c = ctx();
        c.user_limit = Some(2);
        c.configured_users = 2;
        let errors = seed_form().validate(&c).unwrap_err();
        let problem = errors.iter().next().unwrap();
        assert!(
            is_over_user_limit(problem.field, &problem.message),
            "{problem:?}"
        );
        assert!(problem.message.contains("limit of 2 users"), "{problem:?}");
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
}
