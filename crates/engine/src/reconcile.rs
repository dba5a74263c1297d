//! Drift detection: reads back what Microsoft holds for every configured user (in `$batch`es
//! of 20) and checks each user's PBX device, then marks a user whose Teams setup or device no
//! longer matches the configuration as *Drift*, with what differs. Repair
//! ([`Engine::repair_user`]) re-applies only that difference.

use crate::calling::MICROSOFT;
use crate::{Engine, EngineError, convert};
use futures::StreamExt;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use teamline_domain::audit::{Actor, Audit};
use teamline_domain::device::SipPassword;
use teamline_domain::ids::{EnterpriseId, JobId};
use teamline_domain::pbx_user::{PbxUserState, PushState};
use teamline_domain::teams_voice::{ObservedVoice, VoiceStep, plan_voice};
use teamline_jobs::{Attempt, Job, JobError};
use teamline_microsoft::voice::UserRef;
use teamline_pbx::PbxError;
use teamline_store::{
    NewDeviceHandle, PbxUserListItem, PbxUserQuery, PushOutcome, UserCursor, UserTab,
};

/// What a drift check found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReconcileReport {
    /// Users compared with Microsoft and the PBX.
    pub checked: u64,
    /// Users that differ from their configuration now.
    pub drift: u64,
    /// Of those, the ones that were in sync before this check.
    pub newly_drifted: u64,
    /// Users found in sync again after a drift (fixed outside Teamline).
    pub back_in_sync: u64,
    /// Device credentials refreshed because they were changed on the PBX.
    pub credentials_refreshed: u64,
    /// Users that could not be checked, with why.
    pub errors: Vec<String>,
}

/// Users read per `$batch` round trip group (Microsoft answers 20 per request).
const CHUNK: usize = 100;
/// PBX device reads at once.
const PBX_AT_ONCE: usize = 4;

impl Engine {
    /// Checks every configured user that is in sync (or already drifted) against Microsoft
    /// and the PBX now, in this task, and records what differs.
    pub async fn reconcile(&self, e: EnterpriseId) -> Result<ReconcileReport, EngineError> {
        self.reconcile_reporting(e, None).await
    }

    /// Queues a drift check of the enterprise's configured users (one at a time).
    pub async fn enqueue_reconcile(&self, e: EnterpriseId) -> Result<JobId, EngineError> {
        self.enqueue(&Reconcile { enterprise_id: e }).await
    }

    /// A drift check that reports its progress on the job it runs in.
    async fn reconcile_reporting(
        &self,
        e: EnterpriseId,
        ctx: Option<&Attempt>,
    ) -> Result<ReconcileReport, EngineError> {
        let store = &self.inner.store;
        let enterprise = store.get_enterprise(e).await?;
        let tenant = self.tenant_api(&enterprise)?;
        let routes: HashMap<_, _> = store
            .list_voice_routes(e)
            .await?
            .into_iter()
            .map(|r| (r.id, r))
            .collect();
        let users = self.users_to_check(e).await?;
        let total = users.len() as u64;
        let mut report = ReconcileReport::default();
        for chunk in users.chunks(CHUNK) {
            let refs: Vec<UserRef> = chunk.iter().map(crate::calling::user_ref).collect();
            let configs = tenant.user_voice_configs(&refs).await;
            let now = store.clock().now_ms();
            let devices = self.check_devices(e, chunk, &mut report).await;
            for ((item, config), device) in chunk.iter().zip(configs).zip(devices) {
                let desired =
                    self.desired_voice(&item.user, routes.get(&item.user.spec.voice_route_id));
                let (observed, mut differences) = match config.result {
                    Ok(Some(cfg)) => {
                        let observed = convert::observed(&cfg, now);
                        let steps: Vec<String> = plan_voice(&desired, &observed)
                            .iter()
                            .map(VoiceStep::describe)
                            .collect();
                        (Some(observed), steps)
                    }
                    Ok(None) if desired.number.is_some() => (
                        None,
                        vec!["Teams has no configuration for this user (was the Teams licence removed?)".to_owned()],
                    ),
                    Ok(None) => (None, Vec::new()),
                    Err(err) if err.is_retryable() => return Err(err.into()),
                    Err(err) => {
                        report.errors.push(format!("{}: {err}", item.display_name));
                        continue;
                    }
                };
                let Some(device) = device else {
                    continue; // the PBX could not be asked: keep the user as it is
                };
                differences.extend(device);
                report.checked += 1;
                self.record_check(e, item, observed, &differences, &mut report)
                    .await?;
            }
            if let Some(ctx) = ctx {
                let _ = ctx
                    .progress(
                        report.checked,
                        Some(total),
                        &format!("{} of {total} users checked for drift", report.checked),
                    )
                    .await;
            }
        }
        Ok(report)
    }

    /// Active and disabled users whose last push settled (in sync or drifted): users with a
    /// push pending, running, propagating or failed are followed by their own jobs.
    async fn users_to_check(&self, e: EnterpriseId) -> Result<Vec<PbxUserListItem>, EngineError> {
        let mut out = Vec::new();
        for tab in [UserTab::Licensed, UserTab::Disabled] {
            // Keyset pages: each starts after the last user of the one before.
            let mut cursor = None;
            loop {
                let page = self
                    .inner
                    .store
                    .list_pbx_users(
                        e,
                        &PbxUserQuery {
                            tab,
                            search: None,
                            limit: 500,
                            cursor,
                            ..Default::default()
                        },
                    )
                    .await?;
                let n = page.items.len();
                cursor = page.items.last().map(|i| UserCursor::After(i.user.id));
                out.extend(
                    page.items.into_iter().filter(|i| {
                        matches!(i.user.push_state, PushState::InSync | PushState::Drift)
                    }),
                );
                if n < 500 {
                    break;
                }
            }
        }
        Ok(out)
    }

    /// Reads each active user's device from the PBX: `None` when the PBX could not be asked,
    /// else the differences (a device that disappeared). A password changed on the PBX is
    /// not drift: the stored credentials are refreshed so the gateway keeps registering.
    async fn check_devices(
        &self,
        e: EnterpriseId,
        users: &[PbxUserListItem],
        report: &mut ReconcileReport,
    ) -> Vec<Option<Vec<String>>> {
        let reads: Vec<_> = users
            .iter()
            .map(|item| self.check_device(e, item))
            .collect();
        let checks: Vec<Result<DeviceCheck, String>> = futures::stream::iter(reads)
            .buffered(PBX_AT_ONCE)
            .collect()
            .await;
        checks
            .into_iter()
            .zip(users)
            .map(|(check, item)| match check {
                Ok(DeviceCheck::Fine) => Some(Vec::new()),
                Ok(DeviceCheck::Refreshed) => {
                    report.credentials_refreshed += 1;
                    Some(Vec::new())
                }
                Ok(DeviceCheck::Missing(what)) => Some(vec![what]),
                Err(err) => {
                    report.errors.push(format!("{}: {err}", item.display_name));
                    None
                }
            })
            .collect()
    }

    async fn check_device(
        &self,
        e: EnterpriseId,
        item: &PbxUserListItem,
    ) -> Result<DeviceCheck, String> {
        if item.user.state != PbxUserState::Active {
            return Ok(DeviceCheck::Fine);
        }
        let spec = &item.user.spec;
        let store = &self.inner.store;
        let pbx = self
            .pbx()
            .pbx(e, spec.pbx_location_id)
            .await
            .map_err(|err| err.to_string())?;
        let device = match pbx
            .get_device(spec.sip_user.as_str(), spec.device.as_str())
            .await
        {
            Ok(d) => d,
            Err(PbxError::DeviceNotFound { .. }) => {
                return Ok(DeviceCheck::Missing(format!(
                    "device {} no longer exists on extension {} of the PBX",
                    spec.device, spec.sip_user
                )));
            }
            Err(err) => return Err(err.to_string()),
        };
        let handle = store
            .device_handle(e, spec.pbx_location_id, &spec.device)
            .await
            .map_err(|err| err.to_string())?;
        let (Some(handle), Some(on_pbx)) = (handle, device.sip_password.as_ref()) else {
            return Ok(DeviceCheck::Fine);
        };
        let stored = store
            .device_handle_password(e, handle.id)
            .await
            .map_err(|err| err.to_string())?;
        if stored.expose() == on_pbx.expose_secret() {
            return Ok(DeviceCheck::Fine);
        }
        let Ok(password) = SipPassword::parse(on_pbx.expose_secret()) else {
            return Ok(DeviceCheck::Missing(format!(
                "the SIP password of device {} was changed on the PBX to one the gateway cannot use: set 8 to 64 letters and digits",
                spec.device
            )));
        };
        let audit = Audit::new(
            Actor::Job(Reconcile::KIND.into()),
            "device.refresh",
            format!(
                "Refreshed the credentials of device {} (changed on the PBX)",
                spec.device
            ),
        );
        store
            .upsert_device_handle(
                &NewDeviceHandle {
                    enterprise_id: e,
                    pbx_location_id: spec.pbx_location_id,
                    extension: spec.sip_user.clone(),
                    auth_id: spec.device.clone(),
                    password,
                    created_by_teamline: handle.created_by_teamline,
                },
                &audit,
            )
            .await
            .map_err(|err| err.to_string())?;
        Ok(DeviceCheck::Refreshed)
    }

    /// Records a user's check: Drift with what differs, or in sync. Writes nothing when
    /// nothing changed, and leaves a user alone whose push started meanwhile.
    async fn record_check(
        &self,
        e: EnterpriseId,
        item: &PbxUserListItem,
        observed: Option<ObservedVoice>,
        differences: &[String],
        report: &mut ReconcileReport,
    ) -> Result<(), EngineError> {
        let store = &self.inner.store;
        let (state, message) = if differences.is_empty() {
            (PushState::InSync, None)
        } else {
            report.drift += 1;
            (
                PushState::Drift,
                Some(format!(
                    "Differs from the configuration: {}",
                    differences.join("; ")
                )),
            )
        };
        let same_observed = match (&observed, &item.observed) {
            (Some(a), Some(b)) => {
                a.numbers == b.numbers
                    && a.policies == b.policies
                    && a.enterprise_voice == b.enterprise_voice
            }
            (None, _) => true,
            (Some(_), None) => false,
        };
        if state == item.user.push_state && message == item.user.last_error && same_observed {
            return Ok(());
        }
        let now = store.get_pbx_user(e, item.user.id).await?;
        if now.user.push_state != item.user.push_state || now.user.version != item.user.version {
            return Ok(()); // a push or an edit took over
        }
        let audit = match (item.user.push_state, state) {
            (PushState::InSync, PushState::Drift) => {
                report.newly_drifted += 1;
                Some(Audit::new(
                    Actor::Job(Reconcile::KIND.into()),
                    "teams.drift",
                    format!(
                        "Drift found for {}: {}",
                        item.display_name,
                        differences.join("; ")
                    ),
                ))
            }
            (PushState::Drift, PushState::InSync) => {
                report.back_in_sync += 1;
                Some(Audit::new(
                    Actor::Job(Reconcile::KIND.into()),
                    "teams.in_sync",
                    format!("{} matches the configuration again", item.display_name),
                ))
            }
            _ => None,
        };
        store
            .record_push(
                e,
                item.user.id,
                &PushOutcome {
                    push_state: state,
                    last_error: message,
                    observed: observed.or_else(|| item.observed.clone()),
                },
                audit.as_ref(),
            )
            .await?;
        Ok(())
    }
}

enum DeviceCheck {
    Fine,
    Refreshed,
    Missing(String),
}

/// The periodic drift check of one enterprise.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Reconcile {
    pub enterprise_id: EnterpriseId,
}

impl Job for Reconcile {
    const KIND: &'static str = "reconcile";
    const THROTTLE_GROUP: Option<&'static str> = Some(MICROSOFT);
    type Context = Engine;

    fn enterprise(&self) -> Option<EnterpriseId> {
        Some(self.enterprise_id)
    }

    fn lane(&self) -> Option<String> {
        Some(format!("reconcile:{}", self.enterprise_id))
    }

    fn idempotency_key(&self) -> Option<String> {
        Some(format!("{}:{}", Self::KIND, self.enterprise_id))
    }

    async fn run(&self, engine: &Engine, attempt: &Attempt) -> Result<(), JobError> {
        let e = self.enterprise_id;
        let wait = engine.inner.settings.job_throttle_wait;
        let report = teamline_microsoft::throttle::with_max_wait(
            wait,
            engine.reconcile_reporting(e, Some(attempt)),
        )
        .await?;
        tracing::info!(enterprise = %e, checked = report.checked, drift = report.drift,
            newly_drifted = report.newly_drifted, errors = report.errors.len(), "drift check finished");
        Ok(())
    }
}
