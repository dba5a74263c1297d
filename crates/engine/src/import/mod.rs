//! Bulk Upload: checks every row of a file against the live PBX and Teams data with the SET UP
//! PBX USER form's own rules, then sets up every row as Save User would, or nothing at all.
//!
//! The look-ups a form makes one at a time (holders, the Teams user, the PBX's extensions and
//! their devices) are read once for the whole file here, so a file of ten thousand rows costs
//! one PBX call per PBX location plus one per device Teamline is to create (its emergency
//! addresses), not one per row and field. The store and the PBX are read at the same time,
//! and each row is then checked against hash maps (by extension, number, Teams user).

mod upload;

pub use upload::{ApplyError, ApplyImport};

use crate::{Engine, EngineError, SaveError};
use futures::StreamExt;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use teamline_domain::FieldErrors;
use teamline_domain::audit::Actor;
use teamline_domain::bulk_import::{self, Column, FileError, Names};
use teamline_domain::device::DeviceAuthId;
use teamline_domain::ids::{EnterpriseId, PbxLocationId};
use teamline_domain::pbx_location::PbxLocation;
use teamline_domain::pbx_user::{
    Holder, OverUserLimit, PbxLookup, PbxUser, PbxUserForm, PbxUserSpec, SetupContext,
    is_over_user_limit,
};
use teamline_domain::sip::Extension;
use teamline_domain::teams_user::TeamsUser;
use teamline_domain::voice_route::VoiceRouteState;
use teamline_store::{PbxUserQuery, TeamsUserQuery, UserTab};

/// How many PBX requests a check makes at once (emergency addresses of devices to create).
const PBX_CONCURRENCY: usize = 8;

/// One data row's result: the user it sets up, or every problem with it by column.
#[derive(Debug, Clone)]
pub struct RowCheck {
    /// The row number a spreadsheet shows (the header is row 1).
    pub row: usize,
    pub upn: String,
    pub sip_user: String,
    pub outcome: Result<PbxUserSpec, FieldErrors>,
}

/// A whole file's check.
#[derive(Debug, Clone, Default)]
pub struct ImportCheck {
    pub rows: Vec<RowCheck>,
    /// Where the check's time went (for `teamline bench import`).
    pub phases: CheckPhases,
}

/// How long each part of a check took. The store and the PBX are read at the same time, so
/// the whole check takes about parse + the longer of the two + addresses + rows.
#[derive(Debug, Clone, Copy, Default)]
pub struct CheckPhases {
    /// Reading the CSV into rows.
    pub parse: Duration,
    /// Reading the enterprise's Teams users, PBX users and settings from the store.
    pub store: Duration,
    /// Listing the extensions and devices of the PBX locations the rows use.
    pub pbx_listing: Duration,
    /// Asking the PBX for the emergency addresses of devices Teamline is to create.
    pub emergency_addresses: Duration,
    /// Checking every row with the form's rules against what was read.
    pub rows: Duration,
}

impl ImportCheck {
    pub fn bad_rows(&self) -> impl Iterator<Item = &RowCheck> {
        self.rows.iter().filter(|r| r.outcome.is_err())
    }

    /// Every row can be set up.
    pub fn is_clean(&self) -> bool {
        self.bad_rows().next().is_none()
    }

    /// Rows refused because they do not fit in the enterprise's user limit.
    pub fn rows_over_user_limit(&self) -> u64 {
        self.bad_rows()
            .filter(|r| {
                r.outcome.as_ref().err().is_some_and(|errors| {
                    errors
                        .iter()
                        .any(|e| is_over_user_limit(e.field, &e.message))
                })
            })
            .count() as u64
    }
}

/// How many of a kept import's rows were refused for the user limit.
pub fn stored_rows_over_user_limit(rows: &[teamline_store::ImportRowRecord]) -> u64 {
    rows.iter()
        .filter(|r| {
            r.problems
                .iter()
                .any(|p| is_over_user_limit(&p.field, &p.message))
        })
        .count() as u64
}

/// Why a file cannot be checked or applied.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    File(#[from] FileError),
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl From<teamline_store::StoreError> for ImportError {
    fn from(e: teamline_store::StoreError) -> Self {
        Self::Engine(e.into())
    }
}

/// What the file's rows are checked against, read once.
struct Snapshot {
    names: Names,
    locations: Vec<PbxLocationId>,
    voice_routes: Vec<teamline_domain::ids::VoiceRouteId>,
    teams_users: HashMap<String, TeamsUser>,
    by_extension: HashMap<(PbxLocationId, String), Holder>,
    by_number: HashMap<String, Holder>,
    by_teams_user: HashMap<String, Holder>,
    /// Per PBX location: its extensions with their devices, or why the PBX could not say.
    pbx: HashMap<PbxLocationId, Result<HashMap<String, Vec<DeviceAuthId>>, String>>,
    user_limit: Option<u32>,
    configured_users: u64,
}

impl Engine {
    /// Checks every row of a Bulk Upload file; writes nothing.
    pub async fn check_import(
        &self,
        e: EnterpriseId,
        text: &str,
    ) -> Result<ImportCheck, ImportError> {
        let started = Instant::now();
        let rows = bulk_import::parse(text)?;
        let mut phases = CheckPhases {
            parse: started.elapsed(),
            ..CheckPhases::default()
        };
        let locations = self.inner.store.list_pbx_locations(e).await?;
        // The PBX is read while the store is: the locations the rows name are known from the
        // file alone. The rows' forms decide below which listings are used.
        let named = named_locations(&rows, &locations);
        let (snapshot, mut pbx) = futures::join!(
            async {
                let t = Instant::now();
                let s = self.import_snapshot(e, &locations).await;
                (s, t.elapsed())
            },
            async {
                let t = Instant::now();
                let listings = self.pbx_listings(e, &named).await;
                (listings, t.elapsed())
            }
        );
        let (mut snapshot, store_time) = (snapshot.0?, snapshot.1);
        phases.store = store_time;
        phases.pbx_listing = pbx.1;
        let forms: Vec<(PbxUserForm, FieldErrors)> =
            rows.iter().map(|r| r.to_form(&snapshot.names)).collect();
        let used: Vec<PbxLocationId> = {
            let mut used: Vec<PbxLocationId> = forms
                .iter()
                .filter_map(|(f, _)| location_of(f, &snapshot.locations))
                .collect();
            used.sort_by_key(|l| l.0);
            used.dedup();
            used
        };
        let missed: Vec<PbxLocationId> = used
            .iter()
            .copied()
            .filter(|l| !pbx.0.contains_key(l))
            .collect();
        if !missed.is_empty() {
            let t = Instant::now();
            pbx.0.extend(self.pbx_listings(e, &missed).await);
            phases.pbx_listing += t.elapsed();
        }
        pbx.0.retain(|l, _| used.contains(l));
        snapshot.pbx = pbx.0;
        let t = Instant::now();
        let addresses = self.emergency_addresses_needed(e, &forms, &snapshot).await;
        phases.emergency_addresses = t.elapsed();
        let t = Instant::now();
        let keyed: Vec<(usize, &PbxUserForm)> = rows
            .iter()
            .zip(&forms)
            .map(|(r, (f, _))| (r.row, f))
            .collect();
        let mut duplicates = bulk_import::duplicates(&keyed);
        let mut accepted = 0;
        let mut out = Vec::with_capacity(rows.len());
        for (index, (row, (form, name_errors))) in rows.iter().zip(forms.iter()).enumerate() {
            let ctx = snapshot.context(form, accepted, addresses.get(&index).cloned());
            let mut errors = name_errors.clone();
            let validated = form.validate(&ctx);
            if let Err(found) = &validated {
                for err in found.iter() {
                    if errors.for_field(err.field).is_none() {
                        errors.push(err.clone());
                    }
                }
            }
            if let Some(dups) = duplicates.remove(&index) {
                for err in dups.iter() {
                    errors.push(err.clone());
                }
            }
            let outcome = match validated {
                Ok(spec) if errors.is_empty() => {
                    accepted += 1;
                    Ok(spec)
                }
                _ => Err(errors),
            };
            out.push(RowCheck {
                row: row.row,
                upn: row.get(Column::TeamsUser).to_owned(),
                sip_user: row.get(Column::SipUser).to_owned(),
                outcome,
            });
        }
        phases.rows = t.elapsed();
        Ok(ImportCheck { rows: out, phases })
    }

    /// Checks the file and, when every row can be set up, sets each up as Save User does
    /// (the pairing stored with its audit event, the device and Microsoft work queued). When
    /// any row cannot, nothing is written and the check says why.
    pub async fn apply_import(
        &self,
        e: EnterpriseId,
        actor: &Actor,
        text: &str,
    ) -> Result<(ImportCheck, Vec<PbxUser>), ImportError> {
        let check = self.check_import(e, text).await?;
        if !check.is_clean() {
            return Ok((check, Vec::new()));
        }
        let mut created = Vec::with_capacity(check.rows.len());
        for row in &check.rows {
            let Ok(spec) = &row.outcome else { continue };
            match self.create_configured_user(e, actor, spec.clone()).await {
                Ok(user) => created.push(user),
                Err(SaveError::Engine(err)) => return Err(err.into()),
                // Someone set up the same extension, number or user since the check: the
                // rows before stay set up; the report says which row stopped.
                Err(SaveError::Fields(errors)) => {
                    let mut check = check.clone();
                    if let Some(r) = check.rows.iter_mut().find(|r| r.row == row.row) {
                        r.outcome = Err(errors);
                    }
                    return Ok((check, created));
                }
            }
        }
        Ok((check, created))
    }

    /// The summary of `rows` rows over the enterprise's user limit, against its limit and
    /// the users configured now (`None` when no row is over or there is no limit).
    pub async fn over_user_limit(
        &self,
        e: EnterpriseId,
        rows: u64,
    ) -> Result<Option<OverUserLimit>, EngineError> {
        if rows == 0 {
            return Ok(None);
        }
        let store = &self.inner.store;
        let Some(limit) = store.get_enterprise(e).await?.user_limit else {
            return Ok(None);
        };
        let counts = store.user_counts(e).await?;
        Ok(Some(OverUserLimit {
            rows,
            limit,
            in_use: counts.active + counts.disabled,
        }))
    }

    async fn import_snapshot(
        &self,
        e: EnterpriseId,
        locations: &[PbxLocation],
    ) -> Result<Snapshot, ImportError> {
        let store = &self.inner.store;
        let all = |tab| PbxUserQuery {
            tab,
            limit: u32::MAX,
            ..Default::default()
        };
        let (licensed, disabled) = (all(UserTab::Licensed), all(UserTab::Disabled));
        let every_teams_user = TeamsUserQuery {
            limit: u32::MAX,
            ..Default::default()
        };
        // Independent reads, asked at once: the check waits for the longest, not their sum.
        let (enterprise, routes, teams_users, licensed, disabled, counts) = futures::try_join!(
            store.get_enterprise(e),
            store.list_voice_routes(e),
            store.list_teams_users(e, &every_teams_user),
            store.list_pbx_users(e, &licensed),
            store.list_pbx_users(e, &disabled),
            store.user_counts(e),
        )?;
        let routes: Vec<_> = routes
            .into_iter()
            .filter(|r| r.state == VoiceRouteState::Provisioned)
            .collect();
        let teams_users: HashMap<String, TeamsUser> = teams_users
            .items
            .into_iter()
            .map(|t| (t.upn.to_lowercase(), t))
            .collect();
        let mut by_extension = HashMap::new();
        let mut by_number = HashMap::new();
        let mut by_teams_user = HashMap::new();
        for item in licensed.items.into_iter().chain(disabled.items) {
            let spec = &item.user.spec;
            let holder = Holder {
                id: item.user.id,
                display_name: item.display_name.clone(),
                upn: item.upn.clone(),
                state: item.user.state,
            };
            by_extension.insert(
                (spec.pbx_location_id, spec.sip_user.to_string()),
                holder.clone(),
            );
            by_number.insert(spec.phone_number.to_string(), holder.clone());
            by_teams_user.insert(spec.teams_user_object_id.clone(), holder);
        }
        Ok(Snapshot {
            names: Names {
                locations: locations
                    .iter()
                    .map(|l| (l.settings.name.to_string(), l.id))
                    .collect(),
                voice_routes: routes.iter().map(|r| (r.name.to_string(), r.id)).collect(),
                teams_users: teams_users
                    .iter()
                    .map(|(upn, t)| (upn.clone(), t.object_id.clone()))
                    .collect(),
            },
            locations: locations.iter().map(|l| l.id).collect(),
            voice_routes: routes.iter().map(|r| r.id).collect(),
            teams_users: teams_users
                .into_values()
                .map(|t| (t.object_id.clone(), t))
                .collect(),
            by_extension,
            by_number,
            by_teams_user,
            pbx: HashMap::new(),
            user_limit: enterprise.user_limit,
            configured_users: counts.active + counts.disabled,
        })
    }

    /// Each location's extensions with their devices, the locations read at once.
    async fn pbx_listings(
        &self,
        e: EnterpriseId,
        locations: &[PbxLocationId],
    ) -> HashMap<PbxLocationId, Result<HashMap<String, Vec<DeviceAuthId>>, String>> {
        futures::stream::iter(locations.iter().copied())
            .map(|l| async move { (l, self.devices_by_extension(e, l).await) })
            .buffer_unordered(PBX_CONCURRENCY)
            .collect()
            .await
    }

    /// One read of the PBX location's extensions, with each one's devices.
    async fn devices_by_extension(
        &self,
        e: EnterpriseId,
        location: PbxLocationId,
    ) -> Result<HashMap<String, Vec<DeviceAuthId>>, String> {
        let pbx = self
            .inner
            .pbx
            .pbx(e, location)
            .await
            .map_err(|err| err.to_string())?;
        let list = self
            .inner
            .pbx
            .pbx_read("list its extensions", pbx.list_extensions())
            .await
            .map_err(|err| err.to_string())?;
        Ok(list
            .into_iter()
            .map(|x| {
                let devices = x
                    .devices
                    .iter()
                    .filter_map(|d| DeviceAuthId::parse(d).ok())
                    .collect();
                (x.id, devices)
            })
            .collect())
    }

    /// The PBX's emergency addresses for each row whose device Teamline is to create (the
    /// only rows the form's rule asks them for), by row index.
    async fn emergency_addresses_needed(
        &self,
        e: EnterpriseId,
        forms: &[(PbxUserForm, FieldErrors)],
        snapshot: &Snapshot,
    ) -> HashMap<usize, PbxLookup<String>> {
        let wanted: Vec<(usize, PbxLocationId, Extension)> = forms
            .iter()
            .enumerate()
            .filter_map(|(i, (form, _))| {
                let location = location_of(form, &snapshot.locations)?;
                let ext = Extension::parse(&form.sip_user).ok()?;
                let devices = snapshot.devices(location, &ext);
                let missing = matches!(&devices, PbxLookup::Known(list)
                    if !list.iter().any(|d| d.as_str() == form.device.trim()));
                (form.create_device && missing).then_some((i, location, ext))
            })
            .collect();
        futures::stream::iter(wanted)
            .map(|(i, location, ext)| async move {
                let lookup = match self.inner.pbx.emergency_addresses(e, location, &ext).await {
                    Ok(list) => PbxLookup::Known(list.into_iter().map(|a| a.id).collect()),
                    Err(err) => PbxLookup::Unavailable(err.to_string()),
                };
                (i, lookup)
            })
            .buffer_unordered(PBX_CONCURRENCY)
            .collect()
            .await
    }
}

/// The PBX locations the rows name (an empty cell: the only one there is), as the form will
/// resolve them; a row's form decides in the end (see [`location_of`]).
fn named_locations(
    rows: &[bulk_import::ImportRow],
    locations: &[PbxLocation],
) -> Vec<PbxLocationId> {
    let names: Vec<(String, PbxLocationId)> = locations
        .iter()
        .map(|l| (l.settings.name.to_string(), l.id))
        .collect();
    let mut named: Vec<PbxLocationId> = Vec::new();
    for row in rows {
        let name = row.get(Column::PbxLocation);
        let found = if name.is_empty() {
            (locations.len() == 1).then(|| locations[0].id)
        } else {
            names
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, id)| *id)
        };
        if let Some(id) = found
            && !named.contains(&id)
        {
            named.push(id);
        }
    }
    named
}

/// The row's PBX location: the one named, or the only one there is.
fn location_of(form: &PbxUserForm, locations: &[PbxLocationId]) -> Option<PbxLocationId> {
    match form.lookup_keys().pbx_location {
        Some(l) => locations.contains(&l).then_some(l),
        None if form.pbx_location.trim().is_empty() && locations.len() == 1 => Some(locations[0]),
        None => None,
    }
}

impl Snapshot {
    fn devices(&self, location: PbxLocationId, ext: &Extension) -> PbxLookup<DeviceAuthId> {
        match self.pbx.get(&location) {
            Some(Ok(map)) => map
                .get(ext.as_str())
                .map_or(PbxLookup::NotAsked, |d| PbxLookup::Known(d.clone())),
            _ => PbxLookup::NotAsked,
        }
    }

    /// The form's context for one row, as [`Engine::setup_context`] would build it, with the
    /// rows accepted before it counted against the user limit.
    fn context(
        &self,
        form: &PbxUserForm,
        accepted_before: u64,
        emergency_addresses: Option<PbxLookup<String>>,
    ) -> SetupContext {
        let keys = form.lookup_keys();
        let location = location_of(form, &self.locations);
        let (pbx_extensions, devices) = match location.and_then(|l| self.pbx.get(&l)) {
            None => (PbxLookup::NotAsked, PbxLookup::NotAsked),
            Some(Err(why)) => (PbxLookup::Unavailable(why.clone()), PbxLookup::NotAsked),
            // Only whether this row's extension is on the PBX matters to the rule: the list
            // holds it or is empty (not all ten thousand extensions for every row).
            Some(Ok(map)) => (
                PbxLookup::Known(
                    keys.sip_user
                        .iter()
                        .filter(|x| map.contains_key(x.as_str()))
                        .cloned()
                        .collect(),
                ),
                match (&keys.sip_user, location) {
                    (Some(ext), Some(l)) => self.devices(l, ext),
                    _ => PbxLookup::NotAsked,
                },
            ),
        };
        SetupContext {
            editing: None,
            edited_teams_user: None,
            pbx_locations: self.locations.clone(),
            voice_routes: self.voice_routes.clone(),
            teams_user: keys
                .teams_user
                .as_ref()
                .and_then(|id| self.teams_users.get(id).cloned()),
            pbx_extensions,
            devices,
            emergency_addresses: emergency_addresses.unwrap_or(PbxLookup::NotAsked),
            sip_user_holder: match (location, &keys.sip_user) {
                (Some(l), Some(x)) => self.by_extension.get(&(l, x.to_string())).cloned(),
                _ => None,
            },
            number_holder: keys
                .phone_number
                .and_then(|n| self.by_number.get(&n.to_string()).cloned()),
            teams_user_holder: keys
                .teams_user
                .and_then(|id| self.by_teams_user.get(&id).cloned()),
            user_limit: self.user_limit,
            configured_users: self.configured_users + accepted_before,
        }
    }
}
