//! SET UP PBX USER: the choices the form offers, its validation against the store and the
//! PBX, and saving (which queues the device and Microsoft work).

use crate::{Engine, EngineError, SaveError};
use std::collections::HashMap;
use teamline_domain::audit::{Actor, Audit};
use teamline_domain::device::DeviceAuthId;
use teamline_domain::ids::{EnterpriseId, PbxLocationId, PbxUserId};
use teamline_domain::pbx_location::PbxLocation;
use teamline_domain::pbx_user::{
    Holder, PbxLookup, PbxUser, PbxUserForm, PbxUserSpec, SetupContext,
};
use teamline_domain::sip::Extension;
use teamline_domain::teams_user::TeamsUser;
use teamline_domain::voice_route::{VoiceRoute, VoiceRouteState};
use teamline_store::{NewPbxUser, TeamsUserQuery};

/// A PBX extension as the SIP User dropdown shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtensionOption {
    pub extension: Extension,
    pub name: String,
    /// The e-mail address the PBX has for the extension's owner.
    pub email: Option<String>,
    pub devices: Vec<String>,
    /// The PBX user that already holds it (active or disabled), if any.
    pub holder: Option<Holder>,
}

impl ExtensionOption {
    /// Whether the extension belongs to this Teams user by the PBX's records: the same e-mail
    /// address as the user's sign-in name, or the same name (case and spacing aside).
    pub fn matches(&self, user: &TeamsUser) -> bool {
        let same_mail = self
            .email
            .as_deref()
            .is_some_and(|m| m.trim().eq_ignore_ascii_case(user.upn.trim()));
        same_mail || normalized_name(&self.name) == normalized_name(&user.display_name)
    }
}

fn normalized_name(name: &str) -> String {
    name.split_whitespace()
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The free extension that matches the chosen Teams user, when exactly one does (a guess
/// between two would mislead more than it helps).
pub fn suggested_extension<'a>(
    user: &TeamsUser,
    extensions: &'a [ExtensionOption],
) -> Option<&'a ExtensionOption> {
    let mut found = extensions
        .iter()
        .filter(|x| x.holder.is_none() && x.matches(user));
    let first = found.next()?;
    found.next().is_none().then_some(first)
}

/// The Teams user that matches the chosen extension, when exactly one does.
pub fn suggested_teams_user<'a>(
    extension: &ExtensionOption,
    users: &'a [TeamsUser],
) -> Option<&'a TeamsUser> {
    let mut found = users.iter().filter(|u| extension.matches(u));
    let first = found.next()?;
    found.next().is_none().then_some(first)
}

/// Everything the SET UP PBX USER form offers.
#[derive(Debug, Clone)]
pub struct FormOptions {
    pub locations: Vec<PbxLocation>,
    /// Provisioned voice routes.
    pub voice_routes: Vec<VoiceRoute>,
    /// Eligible Teams users not yet set up (plus the edited user's own).
    pub teams_users: Vec<TeamsUser>,
    /// The chosen location's extensions, or why they could not be read.
    pub extensions: PbxLookup<ExtensionOption>,
}

impl Engine {
    pub async fn setup_form_options(
        &self,
        e: EnterpriseId,
        location: Option<PbxLocationId>,
        editing: Option<PbxUserId>,
    ) -> Result<FormOptions, EngineError> {
        let store = &self.inner.store;
        let locations = store.list_pbx_locations(e).await?;
        let voice_routes: Vec<VoiceRoute> = store
            .list_voice_routes(e)
            .await?
            .into_iter()
            .filter(|r| r.state == VoiceRouteState::Provisioned)
            .collect();
        let mut teams_users = store
            .list_teams_users(
                e,
                &TeamsUserQuery {
                    eligible_unpaired_only: true,
                    limit: 100_000,
                    ..Default::default()
                },
            )
            .await?
            .items;
        if let Some(id) = editing {
            let item = store.get_pbx_user(e, id).await?;
            let own = store
                .get_teams_user(e, &item.user.spec.teams_user_object_id)
                .await?;
            if let Some(own) =
                own.filter(|o| !teams_users.iter().any(|t| t.object_id == o.object_id))
            {
                teams_users.push(own);
                teams_users.sort_by_key(|t| t.display_name.to_lowercase());
            }
        }
        let location = location.or_else(|| (locations.len() == 1).then(|| locations[0].id));
        let extensions = match location.filter(|l| locations.iter().any(|x| x.id == *l)) {
            None => PbxLookup::NotAsked,
            Some(l) => match self.extension_options(e, l).await {
                Ok(list) => PbxLookup::Known(list),
                Err(err) => PbxLookup::Unavailable(err.to_string()),
            },
        };
        Ok(FormOptions {
            locations,
            voice_routes,
            teams_users,
            extensions,
        })
    }

    async fn extension_options(
        &self,
        e: EnterpriseId,
        location: PbxLocationId,
    ) -> Result<Vec<ExtensionOption>, EngineError> {
        let pbx = self.inner.pbx.pbx(e, location).await?;
        let extensions = self
            .inner
            .pbx
            .pbx_read("list its extensions", pbx.list_extensions())
            .await?;
        let holders: HashMap<String, Holder> = self
            .inner
            .store
            .extension_holders(location)
            .await?
            .into_iter()
            .collect();
        let mut out = Vec::with_capacity(extensions.len());
        for x in extensions {
            let Ok(extension) = Extension::parse(&x.id) else {
                continue;
            };
            out.push(ExtensionOption {
                name: x.display_name(),
                email: x.email.clone().filter(|m| !m.trim().is_empty()),
                holder: holders.get(extension.as_str()).cloned(),
                devices: x.devices.clone(),
                extension,
            });
        }
        Ok(out)
    }

    /// Looks up what the form's rules need: holders, the Teams user, the PBX's extensions and
    /// the SIP user's devices.
    pub async fn setup_context(
        &self,
        e: EnterpriseId,
        form: &PbxUserForm,
        editing: Option<PbxUserId>,
    ) -> Result<SetupContext, EngineError> {
        let mut ctx = self.context_of(e, form, editing).await?;
        if let Some(id) = editing {
            let item = self.inner.store.get_pbx_user(e, id).await?;
            ctx.edited_teams_user = Some(item.user.spec.teams_user_object_id);
        }
        Ok(ctx)
    }

    /// [`Engine::setup_context`] without fixing the edited user's Teams user (Move to another
    /// person changes exactly that).
    pub(crate) async fn context_of(
        &self,
        e: EnterpriseId,
        form: &PbxUserForm,
        editing: Option<PbxUserId>,
    ) -> Result<SetupContext, EngineError> {
        let store = &self.inner.store;
        let keys = form.lookup_keys();
        let enterprise = store.get_enterprise(e).await?;
        let locations = store.list_pbx_locations(e).await?;
        let location = keys
            .pbx_location
            .filter(|l| locations.iter().any(|x| x.id == *l))
            .or_else(|| {
                (locations.len() == 1 && form.pbx_location.trim().is_empty())
                    .then(|| locations[0].id)
            });
        let voice_routes = store
            .list_voice_routes(e)
            .await?
            .into_iter()
            .filter(|r| r.state == VoiceRouteState::Provisioned)
            .map(|r| r.id)
            .collect();
        let teams_user = match &keys.teams_user {
            Some(id) => store.get_teams_user(e, id).await?,
            None => None,
        };
        let (pbx_extensions, devices) = match location {
            None => (PbxLookup::NotAsked, PbxLookup::NotAsked),
            Some(l) => self.pbx_lookups(e, l, keys.sip_user.as_ref()).await,
        };
        // Only a device Teamline is to create needs one of the PBX's emergency addresses.
        let emergency_addresses = match (location, &keys.sip_user, &devices) {
            (Some(l), Some(ext), PbxLookup::Known(list))
                if form.create_device && !list.iter().any(|d| d.as_str() == form.device.trim()) =>
            {
                match self.inner.pbx.emergency_addresses(e, l, ext).await {
                    Ok(list) => PbxLookup::Known(list.into_iter().map(|a| a.id).collect()),
                    Err(err) => PbxLookup::Unavailable(err.to_string()),
                }
            }
            _ => PbxLookup::NotAsked,
        };
        let sip_user_holder = match (location, &keys.sip_user) {
            (Some(l), Some(ext)) => store.holder_of_extension(l, ext).await?,
            _ => None,
        };
        let number_holder = match &keys.phone_number {
            Some(n) => store.holder_of_number(e, n).await?,
            None => None,
        };
        let teams_user_holder = match &keys.teams_user {
            Some(id) => store.holder_of_teams_user(e, id).await?,
            None => None,
        };
        let counts = store.user_counts(e).await?;
        Ok(SetupContext {
            editing,
            edited_teams_user: None,
            pbx_locations: locations.iter().map(|l| l.id).collect(),
            voice_routes,
            teams_user,
            pbx_extensions,
            devices,
            emergency_addresses,
            sip_user_holder,
            number_holder,
            teams_user_holder,
            user_limit: enterprise.user_limit,
            configured_users: counts.active + counts.disabled,
        })
    }

    async fn pbx_lookups(
        &self,
        e: EnterpriseId,
        location: PbxLocationId,
        ext: Option<&Extension>,
    ) -> (PbxLookup<Extension>, PbxLookup<DeviceAuthId>) {
        let pbx = match self.inner.pbx.pbx(e, location).await {
            Ok(p) => p,
            Err(err) => return (PbxLookup::Unavailable(err.to_string()), PbxLookup::NotAsked),
        };
        let extensions = match self
            .inner
            .pbx
            .pbx_read("list its extensions", pbx.list_extensions())
            .await
        {
            Ok(list) => PbxLookup::Known(
                list.iter()
                    .filter_map(|x| Extension::parse(&x.id).ok())
                    .collect(),
            ),
            Err(err) => return (PbxLookup::Unavailable(err.to_string()), PbxLookup::NotAsked),
        };
        let devices = match ext {
            Some(ext) if matches!(&extensions, PbxLookup::Known(l) if l.contains(ext)) => {
                match self
                    .inner
                    .pbx
                    .pbx_read("list the devices", pbx.list_devices(ext.as_str()))
                    .await
                {
                    Ok(list) => PbxLookup::Known(
                        list.iter()
                            .filter_map(|d| DeviceAuthId::parse(&d.auth_id).ok())
                            .collect(),
                    ),
                    Err(err) => PbxLookup::Unavailable(err.to_string()),
                }
            }
            _ => PbxLookup::NotAsked,
        };
        (extensions, devices)
    }

    /// Every problem of the form, by field (for validation as the admin types).
    pub async fn validate_pbx_user(
        &self,
        e: EnterpriseId,
        form: &PbxUserForm,
        editing: Option<PbxUserId>,
    ) -> Result<PbxUserSpec, SaveError> {
        let ctx = self.setup_context(e, form, editing).await?;
        form.validate(&ctx).map_err(SaveError::Fields)
    }

    /// Save User: validates, stores the pairing, and queues the work: create the device on the
    /// PBX when the form asks for it, read the device handle's credentials from the PBX, then —
    /// when the enterprise's consent allows — enable calling in Teams. `editing` is the user and the version the form was loaded at.
    pub async fn save_pbx_user(
        &self,
        e: EnterpriseId,
        actor: &Actor,
        form: &PbxUserForm,
        editing: Option<(PbxUserId, i64)>,
    ) -> Result<PbxUser, SaveError> {
        let spec = self
            .validate_pbx_user(e, form, editing.map(|(id, _)| id))
            .await?;
        match editing {
            None => self.create_configured_user(e, actor, spec).await,
            Some((id, version)) => {
                self.store_and_queue(e, actor, spec, Some((id, version)))
                    .await
            }
        }
    }

    /// Stores a validated new PBX user and queues its work, as Save User does (also each row
    /// of a Bulk Upload).
    pub(crate) async fn create_configured_user(
        &self,
        e: EnterpriseId,
        actor: &Actor,
        spec: PbxUserSpec,
    ) -> Result<PbxUser, SaveError> {
        self.store_and_queue(e, actor, spec, None).await
    }

    async fn store_and_queue(
        &self,
        e: EnterpriseId,
        actor: &Actor,
        spec: PbxUserSpec,
        editing: Option<(PbxUserId, i64)>,
    ) -> Result<PbxUser, SaveError> {
        let store = &self.inner.store;
        let name = store
            .get_teams_user(e, &spec.teams_user_object_id)
            .await
            .map_err(EngineError::from)?
            .map_or_else(|| spec.teams_user_object_id.clone(), |t| t.display_name);
        let user = match editing {
            None => {
                let audit = Audit::new(
                    actor.clone(),
                    "pbx_user.create",
                    format!(
                        "Set up {name} on extension {} with {}",
                        spec.sip_user, spec.phone_number
                    ),
                );
                store
                    .create_pbx_user(
                        &NewPbxUser {
                            enterprise_id: e,
                            spec,
                            calling_enabled: true,
                        },
                        &audit,
                    )
                    .await?
            }
            Some((id, version)) => {
                let audit = Audit::new(actor.clone(), "pbx_user.update", format!("Edited {name}"));
                store.update_pbx_user(e, id, version, &spec, &audit).await?
            }
        };
        self.enqueue(&crate::pbx::EnsureDevice::new(e, user.id))
            .await?;
        self.push_if_allowed(e, user.id).await?;
        Ok(user)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use teamline_domain::ids::TeamsUserId;
    use teamline_domain::pbx_user::PbxUserState;
    use teamline_domain::teams_user::{Licences, UserType};

    fn teams_user(name: &str, upn: &str) -> TeamsUser {
        TeamsUser {
            id: TeamsUserId(1),
            enterprise_id: EnterpriseId(1),
            object_id: format!("oid-{upn}"),
            upn: upn.to_owned(),
            display_name: name.to_owned(),
            account_enabled: true,
            user_type: UserType::Member,
            licences: Licences::NONE,
            sync_groups: Vec::new(),
            in_scope: true,
            last_seen_ms: 0,
            deleted_in_tenant: false,
        }
    }

    fn extension(ext: &str, name: &str, email: Option<&str>) -> ExtensionOption {
        ExtensionOption {
            extension: Extension::parse(ext).unwrap(),
            name: name.to_owned(),
            email: email.map(str::to_owned),
            devices: vec![ext.to_owned()],
            holder: None,
        }
    }

    #[test]
    fn the_extension_with_the_same_name_or_mail_is_suggested() {
        let megan = teams_user("Megan Bowen", "MeganB@contoso.example");
        let list = [
            extension("1010", "Lynne Robbins", None),
            extension("1011", "megan  bowen", None),
        ];
        assert_eq!(
            suggested_extension(&megan, &list).map(|x| x.extension.as_str()),
            Some("1011")
        );
        // The PBX knows her by another name but has her address.
        let list = [extension(
            "1020",
            "M. Bowen",
            Some("meganb@CONTOSO.example"),
        )];
        assert_eq!(
            suggested_extension(&megan, &list).map(|x| x.extension.as_str()),
            Some("1020")
        );
        let list = [extension("1030", "Lynne Robbins", None)];
        assert!(suggested_extension(&megan, &list).is_none());
    }

    #[test]
    fn no_guess_between_two_matches_nor_an_extension_already_set_up() {
        let megan = teams_user("Megan Bowen", "MeganB@contoso.example");
        let two = [
            extension("1011", "Megan Bowen", None),
            extension("1012", "Megan Bowen", None),
        ];
        assert!(suggested_extension(&megan, &two).is_none());
        let mut held = extension("1011", "Megan Bowen", None);
        held.holder = Some(Holder {
            id: teamline_domain::ids::PbxUserId(9),
            display_name: "Megan Bowen".into(),
            upn: "MeganB@contoso.example".into(),
            state: PbxUserState::Active,
        });
        assert!(suggested_extension(&megan, &[held]).is_none());
    }

    #[test]
    fn the_teams_user_matching_the_extension_is_suggested() {
        let users = [
            teams_user("Adele Vance", "AdeleV@contoso.example"),
            teams_user("Alex Wilber", "AlexW@contoso.example"),
        ];
        let x = extension("1001", "Alex Wilber", None);
        assert_eq!(
            suggested_teams_user(&x, &users).map(|u| u.upn.as_str()),
            Some("AlexW@contoso.example")
        );
        let x = extension("1099", "Front Desk", Some("adelev@contoso.example"));
        assert_eq!(
            suggested_teams_user(&x, &users).map(|u| u.display_name.as_str()),
            Some("Adele Vance")
        );
    }
}
