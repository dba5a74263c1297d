//! Preview: what Save, Enable/Disable Calling, Repair and a Bulk Upload's apply will change in
//! Microsoft Teams and on the PBX, before the admin confirms. Planned by the domain's
//! `plan_change` (the push job's `plan_voice`, the device jobs' rule) from the state those jobs
//! plan from: what Microsoft holds now (read fresh; Teamline's last read-back when Microsoft
//! cannot be read), less the steps the push journal holds while they propagate, and whether the
//! PBX has the device. Reads only: nothing is stored, queued or sent.

use super::journal::Journal;
use super::read_observed;
use crate::import::ApplyError;
use crate::{Engine, EngineError, SaveError};
use teamline_domain::FieldErrors;
use teamline_domain::enterprise::{ConsentKind, Enterprise};
use teamline_domain::ids::{EnterpriseId, ImportId, PbxUserId};
use teamline_domain::pbx_user::{PbxUserForm, PbxUserSpec, PbxUserState};
use teamline_domain::preview::{ChangePlan, DeviceFacts, plan_change};
use teamline_domain::teams_voice::{ObservedVoice, VoiceStep};
use teamline_microsoft::voice::UserRef;
use teamline_pbx::PbxError;

/// What one operation will change, and what the preview could not check or what waits.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChangePreview {
    pub plan: ChangePlan,
    /// In the admin's words: a side that could not be read (the plan then comes from what
    /// Teamline last knew), or Teams changes that wait for consent.
    pub notes: Vec<String>,
}

/// One row of a Bulk Upload: what applying it will change, or why it no longer passes.
#[derive(Debug, Clone)]
pub struct RowPreview {
    /// The row number a spreadsheet shows (the header is row 1).
    pub row: usize,
    pub upn: String,
    pub sip_user: String,
    pub outcome: Result<ChangePreview, FieldErrors>,
}

/// The user an operation is about, with the state its jobs plan from.
struct Subject<'a> {
    spec: &'a PbxUserSpec,
    /// Calling on in Teams after the operation.
    on: bool,
    upn: String,
    /// Teamline's last read-back of Microsoft (none for a user never pushed).
    last_read: Option<ObservedVoice>,
    /// The push journal's steps: sent recently, not sent again while they propagate.
    propagating: Vec<VoiceStep>,
    /// The operation queues `EnsureDevice`, which creates again a device Teamline created.
    recreates_device: bool,
}

impl Engine {
    /// Save User (new, or `editing` an existing user): the form is validated exactly as Save
    /// does, then planned as the jobs Save queues will run.
    pub async fn preview_save(
        &self,
        e: EnterpriseId,
        form: &PbxUserForm,
        editing: Option<PbxUserId>,
    ) -> Result<ChangePreview, SaveError> {
        let spec = self.validate_pbx_user(e, form, editing).await?;
        let store = &self.inner.store;
        let subject = match editing {
            Some(id) => {
                let item = store.get_pbx_user(e, id).await?;
                let propagating = Journal::load(self, e, id).await?.steps();
                Subject {
                    spec: &spec,
                    on: item.user.state == PbxUserState::Active && item.user.calling_enabled,
                    upn: item.upn,
                    last_read: item.observed,
                    propagating,
                    recreates_device: true,
                }
            }
            None => Subject {
                spec: &spec,
                on: true,
                upn: store
                    .get_teams_user(e, &spec.teams_user_object_id)
                    .await?
                    .map(|t| t.upn)
                    .unwrap_or_default(),
                last_read: None,
                propagating: Vec::new(),
                recreates_device: true,
            },
        };
        Ok(self.preview_of(e, &subject).await?)
    }

    /// Enable Calling (`enabled`) or Disable Calling.
    pub async fn preview_set_calling(
        &self,
        e: EnterpriseId,
        id: PbxUserId,
        enabled: bool,
    ) -> Result<ChangePreview, EngineError> {
        let item = self.inner.store.get_pbx_user(e, id).await?;
        let subject = Subject {
            spec: &item.user.spec,
            on: item.user.state == PbxUserState::Active && enabled,
            upn: item.upn.clone(),
            last_read: item.observed.clone(),
            propagating: Journal::load(self, e, id).await?.steps(),
            recreates_device: false,
        };
        self.preview_of(e, &subject).await
    }

    /// Repair (and Retry): the journal is cleared, so everything Microsoft does not show is
    /// sent again, and a device Teamline created is created again when the PBX lost it.
    pub async fn preview_repair(
        &self,
        e: EnterpriseId,
        id: PbxUserId,
    ) -> Result<ChangePreview, EngineError> {
        let item = self.inner.store.get_pbx_user(e, id).await?;
        let subject = Subject {
            spec: &item.user.spec,
            on: item.user.state == PbxUserState::Active && item.user.calling_enabled,
            upn: item.upn.clone(),
            last_read: item.observed.clone(),
            propagating: Vec::new(),
            recreates_device: true,
        };
        self.preview_of(e, &subject).await
    }

    /// Applying a checked Bulk Upload: each row as Save User would set it up, checked again
    /// against what holds now (as the apply does). Microsoft is read in batches for the whole
    /// file; the PBX only for the devices Teamline is to create. Refused like the apply: an
    /// import with bad rows, or one already applied.
    pub async fn preview_import(
        &self,
        e: EnterpriseId,
        id: ImportId,
    ) -> Result<Vec<RowPreview>, ApplyError> {
        let store = &self.inner.store;
        let import = self.applicable_import(e, id).await?;
        let check = self
            .check_import(e, &import.content)
            .await
            .map_err(|err| match err {
                crate::import::ImportError::Engine(err) => ApplyError::Engine(err),
                crate::import::ImportError::File(err) => {
                    ApplyError::Engine(EngineError::refused(err.to_string()))
                }
            })?;
        let enterprise = store.get_enterprise(e).await?;
        let specs: Vec<&PbxUserSpec> = check
            .rows
            .iter()
            .filter_map(|r| r.outcome.as_ref().ok())
            .collect();
        let mut refs = Vec::with_capacity(specs.len());
        for spec in &specs {
            let upn = store
                .get_teams_user(e, &spec.teams_user_object_id)
                .await?
                .map(|t| t.upn);
            refs.push(user_ref_of(spec, upn.as_ref()));
        }
        let mut shared_notes = self.consent_notes(&enterprise);
        let mut observed = self
            .read_many(&enterprise, &refs, &mut shared_notes)
            .await
            .into_iter();
        // Only rows whose device Teamline creates read the store and ask the PBX.
        let mut devices = Vec::with_capacity(specs.len());
        for spec in &specs {
            devices.push(self.device_facts(e, spec, false).await);
        }
        let mut devices = devices.into_iter();
        let routes = store.list_voice_routes(e).await?;
        let mut out = Vec::with_capacity(check.rows.len());
        for row in &check.rows {
            let outcome = match &row.outcome {
                Err(errors) => Err(errors.clone()),
                Ok(spec) => {
                    let (device, mut notes) = match devices.next() {
                        Some(check) => device_note(check?),
                        None => (None, Vec::new()),
                    };
                    let seen = observed.next().flatten().unwrap_or_default();
                    let route = routes.iter().find(|r| r.id == spec.voice_route_id);
                    let desired = self.desired_voice_of(spec, true, route);
                    notes.extend(shared_notes.iter().cloned());
                    Ok(ChangePreview {
                        plan: plan_change(&desired, &seen, &[], device.as_ref()),
                        notes,
                    })
                }
            };
            out.push(RowPreview {
                row: row.row,
                upn: row.upn.clone(),
                sip_user: row.sip_user.clone(),
                outcome,
            });
        }
        Ok(out)
    }

    async fn preview_of(
        &self,
        e: EnterpriseId,
        s: &Subject<'_>,
    ) -> Result<ChangePreview, EngineError> {
        let enterprise = self.inner.store.get_enterprise(e).await?;
        let route = self.voice_route(e, s.spec.voice_route_id).await?;
        let desired = self.desired_voice_of(s.spec, s.on, route.as_ref());
        let mut notes = Vec::new();
        let observed = self.read_one(&enterprise, s, &mut notes).await;
        notes.extend(self.consent_notes(&enterprise));
        let (device, device_notes) =
            device_note(self.device_facts(e, s.spec, s.recreates_device).await?);
        notes.extend(device_notes);
        Ok(ChangePreview {
            plan: plan_change(&desired, &observed, &s.propagating, device.as_ref()),
            notes,
        })
    }

    /// What Microsoft holds for the user now; Teamline's last read-back (or, for a user never
    /// read, nothing of Teamline's) when Microsoft cannot be read, with a note saying so.
    async fn read_one(
        &self,
        enterprise: &Enterprise,
        s: &Subject<'_>,
        notes: &mut Vec<String>,
    ) -> ObservedVoice {
        let fallback = || s.last_read.clone().unwrap_or_default();
        let Ok(tenant) = self.tenant_api(enterprise) else {
            return fallback();
        };
        let who = user_ref_of(s.spec, Some(&s.upn));
        match read_observed(tenant.as_ref(), &who, self.inner.store.clock().now_ms()).await {
            Ok(observed) => observed,
            Err(err) => {
                notes.push(format!(
                    "Microsoft Teams could not be read for {} ({err}): the Teams changes are planned from what Teamline last read back",
                    who.upn
                ));
                fallback()
            }
        }
    }

    /// What Microsoft holds for each of the users (in their order), read in batches; `None`
    /// for a user Microsoft could not be asked about or does not know, who is planned as
    /// holding nothing of Teamline's (as the push of a new user plans).
    async fn read_many(
        &self,
        enterprise: &Enterprise,
        users: &[UserRef],
        notes: &mut Vec<String>,
    ) -> Vec<Option<ObservedVoice>> {
        let Ok(tenant) = self.tenant_api(enterprise) else {
            return Vec::new();
        };
        let now = self.inner.store.clock().now_ms();
        let mut failed = 0;
        let out = tenant
            .user_voice_configs(users)
            .await
            .into_iter()
            .map(|item| match item.result {
                Ok(cfg) => cfg.map(|c| crate::convert::observed(&c, now)),
                Err(_) => {
                    failed += 1;
                    None
                }
            })
            .collect();
        if failed > 0 {
            notes.push(format!(
                "Microsoft Teams could not be read for {failed} users: their Teams changes are planned as for users that hold nothing of Teamline's yet"
            ));
        }
        out
    }

    fn consent_notes(&self, enterprise: &Enterprise) -> Vec<String> {
        if enterprise.consent(ConsentKind::UserSync) && enterprise.tenant_id.is_some() {
            Vec::new()
        } else {
            vec![format!(
                "Teamline has no consent to change {}'s Microsoft Teams yet: the Teams changes wait until consent is granted on the Dashboard",
                enterprise.name
            )]
        }
    }

    /// The device as the device jobs see it: whether Teamline creates it (chosen on Save and
    /// not stored yet, or created by Teamline before when the operation re-creates) and, only
    /// then, whether the PBX has it.
    async fn device_facts(
        &self,
        e: EnterpriseId,
        spec: &PbxUserSpec,
        recreates: bool,
    ) -> Result<DeviceCheck, EngineError> {
        let mut facts = DeviceFacts {
            extension: spec.sip_user.to_string(),
            device: spec.device.to_string(),
            teamline_creates: false,
            on_pbx: None,
        };
        // Nothing to create unless the form asked for it or the operation re-creates: no
        // look-up (a Bulk Upload of many rows reads only for the devices it creates).
        if spec.device_creation.is_none() && !recreates {
            return Ok(DeviceCheck {
                facts,
                failed: None,
            });
        }
        let stored = self
            .inner
            .store
            .device_handle(e, spec.pbx_location_id, &spec.device)
            .await?;
        let creates = match &stored {
            None => spec.device_creation.is_some(),
            Some(handle) => recreates && handle.created_by_teamline,
        };
        facts.teamline_creates = creates;
        if !creates {
            return Ok(DeviceCheck {
                facts,
                failed: None,
            });
        }
        let asked = async {
            let pbx = self.inner.pbx.pbx(e, spec.pbx_location_id).await?;
            match pbx
                .get_device(spec.sip_user.as_str(), spec.device.as_str())
                .await
            {
                Ok(_) => Ok(true),
                Err(PbxError::DeviceNotFound { .. }) => Ok(false),
                Err(err) => Err(EngineError::from(err)),
            }
        }
        .await;
        let failed = match asked {
            Ok(on_pbx) => {
                facts.on_pbx = Some(on_pbx);
                None
            }
            Err(err) => Some(format!(
                "The PBX could not be asked whether device {} exists on extension {} ({err}): Teamline creates it if it is missing",
                spec.device, spec.sip_user
            )),
        };
        Ok(DeviceCheck { facts, failed })
    }
}

/// A device's facts and, when the PBX could not be asked, the note that says so.
struct DeviceCheck {
    facts: DeviceFacts,
    failed: Option<String>,
}

fn device_note(check: DeviceCheck) -> (Option<DeviceFacts>, Vec<String>) {
    (Some(check.facts), check.failed.into_iter().collect())
}

fn user_ref_of(spec: &PbxUserSpec, upn: Option<&String>) -> UserRef {
    let id = spec.teams_user_object_id.clone();
    let upn = upn
        .filter(|u| !u.is_empty())
        .cloned()
        .unwrap_or_else(|| id.clone());
    UserRef::new(id, upn)
}
