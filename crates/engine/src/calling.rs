//! Enable and Disable Calling: what Teamline wants Microsoft to hold for a PBX user, the job
//! that makes it so (changing only what differs), and the checks that follow while Microsoft
//! propagates the change.

use crate::error::microsoft_job_error;
use crate::{Engine, EngineError, convert};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;
use teamline_domain::audit::{Actor, Audit};
use teamline_domain::enterprise::{ConsentKind, Enterprise};
use teamline_domain::ids::{EnterpriseId, PbxUserId};
use teamline_domain::pbx_user::{CallerNamePolicy, PbxUser, PbxUserState, PushState};
use teamline_domain::teams_voice::{
    DesiredVoice, ObservedVoice, PolicyType, VoiceStep, plan_voice,
};
use teamline_domain::voice_route::VoiceRoute;
use teamline_jobs::{Attempt, Job, JobError};
use teamline_microsoft::setup::{CallerIdPolicySpec, CallerIdSubstitute};
use teamline_microsoft::voice::UserRef;
use teamline_microsoft::{MicrosoftError, TenantApi};
use teamline_store::{PbxUserListItem, PushOutcome};

/// The throttle group of every job that calls Microsoft: when Microsoft throttles a tenant,
/// that enterprise's queued jobs of this group wait together.
pub(crate) const MICROSOFT: &str = "microsoft";

/// The lane of everything about one PBX user: its jobs run one after the other, in order.
pub(crate) fn user_lane(id: PbxUserId) -> String {
    format!("user:{id}")
}

impl Engine {
    /// What Microsoft should hold for this user now.
    pub fn desired_voice(&self, user: &PbxUser, route: Option<&VoiceRoute>) -> DesiredVoice {
        let s = &self.inner.settings;
        let on = user.state == PbxUserState::Active && user.calling_enabled;
        if !on {
            return DesiredVoice {
                number: None,
                policies: PolicyType::ALL.into_iter().map(|p| (p, None)).collect(),
            };
        }
        let spec = &user.spec;
        let policies = BTreeMap::from([
            (
                PolicyType::OnlineVoiceRoutingPolicy,
                route.map(|r| r.policy_name.clone()),
            ),
            (
                PolicyType::TenantDialPlan,
                spec.assign_dial_plan.then(|| s.dial_plan.clone()),
            ),
            (
                PolicyType::TeamsCallingPolicy,
                (!spec.use_teams_voicemail).then(|| s.no_voicemail_calling_policy.clone()),
            ),
            (
                PolicyType::CallingLineIdentity,
                match &spec.caller_name {
                    CallerNamePolicy::Transparent => None,
                    CallerNamePolicy::Other(name) => {
                        Some(format!("{}{name}", s.caller_id_policy_prefix))
                    }
                },
            ),
        ]);
        DesiredVoice {
            number: Some(spec.phone_number.to_string()),
            policies,
        }
    }

    /// The steps Enable Calling (or a Repair) would send now, read fresh from Microsoft: the
    /// preview an admin sees before confirming.
    pub async fn preview_push(
        &self,
        e: EnterpriseId,
        id: PbxUserId,
    ) -> Result<Vec<String>, EngineError> {
        let item = self.inner.store.get_pbx_user(e, id).await?;
        let enterprise = self.inner.store.get_enterprise(e).await?;
        let tenant = self.tenant_api(&enterprise)?;
        let route = self.route_of(e, &item.user).await?;
        let observed = read_observed(
            tenant.as_ref(),
            &user_ref(&item),
            self.inner.store.clock().now_ms(),
        )
        .await?;
        Ok(
            plan_voice(&self.desired_voice(&item.user, route.as_ref()), &observed)
                .iter()
                .map(VoiceStep::describe)
                .collect(),
        )
    }

    pub(crate) fn tenant_api(
        &self,
        enterprise: &Enterprise,
    ) -> Result<std::sync::Arc<dyn TenantApi>, EngineError> {
        let tenant = enterprise.tenant_id.as_ref().ok_or_else(|| {
            EngineError::refused(format!("{} has not registered its Microsoft 365 tenant yet: its Global Administrator must sign in first", enterprise.name))
        })?;
        Ok(self.inner.microsoft.tenant(tenant.as_str()))
    }

    async fn route_of(
        &self,
        e: EnterpriseId,
        user: &PbxUser,
    ) -> Result<Option<VoiceRoute>, EngineError> {
        Ok(self
            .inner
            .store
            .list_voice_routes(e)
            .await?
            .into_iter()
            .find(|r| r.id == user.spec.voice_route_id))
    }

    /// Queues a push when the enterprise's consent allows Teamline to change Microsoft;
    /// otherwise the change waits for Sync Teams Users (the Dashboard shows it).
    pub(crate) async fn push_if_allowed(
        &self,
        e: EnterpriseId,
        id: PbxUserId,
    ) -> Result<bool, EngineError> {
        let enterprise = self.inner.store.get_enterprise(e).await?;
        if enterprise.consent(ConsentKind::UserSync) && enterprise.tenant_id.is_some() {
            self.enqueue(&PushUser::new(e, id)).await?;
            Ok(true)
        } else {
            Ok(false)
        }
    }

    /// Enable Calling / Disable Calling from the ⋮ menu. Idempotent: asking again for what is
    /// already wanted queues nothing new that would change Microsoft.
    pub async fn set_calling(
        &self,
        e: EnterpriseId,
        actor: &Actor,
        id: PbxUserId,
        enabled: bool,
    ) -> Result<PbxUser, EngineError> {
        let item = self.inner.store.get_pbx_user(e, id).await?;
        let verb = if enabled { "Enabled" } else { "Disabled" };
        let audit = Audit::new(
            actor.clone(),
            if enabled {
                "calling.enable"
            } else {
                "calling.disable"
            },
            format!("{verb} calling for {}", item.display_name),
        );
        let user = self
            .inner
            .store
            .set_calling_enabled(e, id, enabled, &audit)
            .await?;
        self.push_if_allowed(e, id).await?;
        Ok(user)
    }

    /// Disable User: pauses calling (the number is removed in Teams) and keeps the extension.
    pub async fn disable_user(
        &self,
        e: EnterpriseId,
        actor: &Actor,
        id: PbxUserId,
    ) -> Result<PbxUser, EngineError> {
        self.change_state(e, actor, id, PbxUserState::Disabled)
            .await
    }

    /// Re-activates a disabled user; calling comes back if it was enabled.
    pub async fn enable_user(
        &self,
        e: EnterpriseId,
        actor: &Actor,
        id: PbxUserId,
    ) -> Result<PbxUser, EngineError> {
        self.change_state(e, actor, id, PbxUserState::Active).await
    }

    async fn change_state(
        &self,
        e: EnterpriseId,
        actor: &Actor,
        id: PbxUserId,
        state: PbxUserState,
    ) -> Result<PbxUser, EngineError> {
        let item = self.inner.store.get_pbx_user(e, id).await?;
        let (action, verb) = match state {
            PbxUserState::Disabled => ("pbx_user.disable", "Disabled"),
            _ => ("pbx_user.enable", "Re-enabled"),
        };
        let audit = Audit::new(
            actor.clone(),
            action,
            format!(
                "{verb} {} (extension {})",
                item.display_name, item.user.spec.sip_user
            ),
        );
        let user = self
            .inner
            .store
            .set_pbx_user_state(e, id, state, &audit)
            .await?;
        self.push_if_allowed(e, id).await?;
        Ok(user)
    }

    /// Delete User (only from Disabled): frees the extension; removes the PBX device only if
    /// Teamline created it.
    pub async fn delete_user(
        &self,
        e: EnterpriseId,
        actor: &Actor,
        id: PbxUserId,
    ) -> Result<PbxUser, EngineError> {
        let item = self.inner.store.get_pbx_user(e, id).await?;
        let audit = Audit::new(
            actor.clone(),
            "pbx_user.delete",
            format!(
                "Deleted {} and freed extension {}",
                item.display_name, item.user.spec.sip_user
            ),
        );
        let user = self.inner.store.delete_pbx_user(e, id, &audit).await?;
        let spec = &user.spec;
        if let Some(handle) = self
            .inner
            .store
            .device_handle(e, spec.pbx_location_id, &spec.device)
            .await?
            && handle.created_by_teamline
        {
            let job = crate::devices::RemoveDevice {
                enterprise_id: e,
                pbx_location_id: spec.pbx_location_id,
                extension: spec.sip_user.to_string(),
                auth_id: spec.device.to_string(),
            };
            self.enqueue(&job).await?;
        }
        Ok(user)
    }

    /// Repair (drift) and Retry (failed): re-applies only what differs, read fresh from
    /// Microsoft (the push plans from what Teams holds now), and makes sure the PBX device is
    /// there (a device Teamline created is created again if it was deleted).
    pub async fn repair_user(
        &self,
        e: EnterpriseId,
        actor: &Actor,
        id: PbxUserId,
    ) -> Result<(), EngineError> {
        let item = self.inner.store.get_pbx_user(e, id).await?;
        let audit = Audit::new(
            actor.clone(),
            "pbx_user.repair",
            format!("Asked to repair {} in Teams", item.display_name),
        );
        let outcome = PushOutcome {
            push_state: PushState::Pending,
            last_error: item.user.last_error.clone(),
            observed: None,
        };
        self.inner
            .store
            .record_push(e, id, &outcome, Some(&audit))
            .await?;
        // An explicit Repair sends again what Microsoft still does not show.
        self.inner.store.set_push_journal(e, id, None).await?;
        self.enqueue(&crate::devices::EnsureDevice::new(e, id))
            .await?;
        if !self.push_if_allowed(e, id).await? {
            return Err(EngineError::refused(
                "Teamline has no consent to change this tenant yet: grant consent from the Dashboard",
            ));
        }
        Ok(())
    }
}

pub(crate) fn user_ref(item: &PbxUserListItem) -> UserRef {
    let upn = if item.upn.is_empty() {
        item.user.spec.teams_user_object_id.clone()
    } else {
        item.upn.clone()
    };
    UserRef::new(item.user.spec.teams_user_object_id.clone(), upn)
}

async fn read_observed(
    tenant: &dyn TenantApi,
    user: &UserRef,
    now_ms: i64,
) -> Result<ObservedVoice, MicrosoftError> {
    Ok(convert::observed(
        &tenant.user_voice_config(user).await?,
        now_ms,
    ))
}

/// Makes Microsoft hold what the user's configuration asks for (Enable/Disable Calling, an
/// edit, a Repair).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PushUser {
    pub enterprise_id: EnterpriseId,
    pub pbx_user_id: PbxUserId,
}

impl PushUser {
    pub fn new(e: EnterpriseId, id: PbxUserId) -> Self {
        Self {
            enterprise_id: e,
            pbx_user_id: id,
        }
    }
}

impl Job for PushUser {
    const KIND: &'static str = "push_user";
    const THROTTLE_GROUP: Option<&'static str> = Some(MICROSOFT);
    const MAX_ATTEMPTS: u32 = 10;
    type Context = Engine;

    fn enterprise(&self) -> Option<EnterpriseId> {
        Some(self.enterprise_id)
    }

    fn lane(&self) -> Option<String> {
        Some(user_lane(self.pbx_user_id))
    }

    /// A push already waiting covers a later change too (it reads the configuration when it
    /// runs).
    fn idempotency_key(&self) -> Option<String> {
        Some(format!("{}:{}", Self::KIND, self.pbx_user_id))
    }

    async fn run(&self, engine: &Engine, attempt: &Attempt) -> Result<(), JobError> {
        // A throttled tenant: step aside (the job comes back when Microsoft accepts requests
        // again) rather than hold a worker other tenants could use.
        let wait = engine.inner.settings.job_throttle_wait;
        teamline_microsoft::throttle::with_max_wait(wait, self.push(engine, attempt)).await
    }
}

impl PushUser {
    /// Plans from a fresh read of Microsoft and applies only the planned steps, so a retry (or
    /// a run after a crash) never repeats a change Microsoft already holds.
    async fn push(&self, engine: &Engine, attempt: &Attempt) -> Result<(), JobError> {
        let store = &engine.inner.store;
        let (e, id) = (self.enterprise_id, self.pbx_user_id);
        let item = store.get_pbx_user(e, id).await?;
        let enterprise = store.get_enterprise(e).await?;
        if !enterprise.consent(ConsentKind::UserSync) {
            // Nothing may change in Microsoft yet; the user stays pending for Sync Teams Users.
            return Ok(());
        }
        let tenant = engine
            .tenant_api(&enterprise)
            .map_err(|e| JobError::permanent(e.to_string()))?;
        let route = engine
            .route_of(e, &item.user)
            .await
            .map_err(|e| JobError::retry(e.to_string()))?;
        let desired = engine.desired_voice(&item.user, route.as_ref());
        let who = user_ref(&item);
        let record = |state: PushState, error: Option<String>, observed: Option<ObservedVoice>| {
            PushOutcome {
                push_state: state,
                last_error: error,
                observed,
            }
        };
        store
            .record_push(e, id, &record(PushState::InProgress, None, None), None)
            .await?;

        let mut journal = Journal::load(engine, e, id).await?;
        let outcome = async {
            let observed = read_observed(tenant.as_ref(), &who, store.clock().now_ms()).await?;
            // What Microsoft accepted recently but does not show yet is propagating, not
            // missing: sending it again would repeat a change that already happened.
            let steps: Vec<VoiceStep> = plan_voice(&desired, &observed)
                .into_iter()
                .filter(|s| !journal.holds(s))
                .collect();
            let total = steps.len() as u64;
            for (done, step) in steps.iter().enumerate() {
                let _ = attempt
                    .progress(done as u64, Some(total), &step.describe())
                    .await;
                apply(engine, tenant.as_ref(), &who, step).await?;
                journal.sent(step, store.clock().now_ms());
            }
            let after = read_observed(tenant.as_ref(), &who, store.clock().now_ms()).await?;
            Ok::<_, MicrosoftError>((steps, after))
        }
        .await;
        let converged =
            matches!(&outcome, Ok((_, after)) if plan_voice(&desired, after).is_empty());
        journal.save(engine, e, id, converged).await?;

        match outcome {
            Ok((steps, after)) => {
                let state = if converged {
                    PushState::InSync
                } else {
                    PushState::Propagating
                };
                let audit = (!steps.is_empty()).then(|| {
                    let what: Vec<String> = steps.iter().map(VoiceStep::describe).collect();
                    Audit::new(
                        Actor::Job(Self::KIND.into()),
                        "teams.push",
                        format!(
                            "Updated {} in Teams: {}",
                            item.display_name,
                            what.join("; ")
                        ),
                    )
                });
                store
                    .record_push(e, id, &record(state, None, Some(after)), audit.as_ref())
                    .await?;
                if !converged {
                    let at = store.clock().now_ms() + ms(engine.inner.settings.propagation_recheck);
                    engine.enqueue_at(&VerifyUser::new(e, id, 1), at).await?;
                }
                Ok(())
            }
            Err(err) => {
                let job_err = microsoft_job_error(&err);
                let last_attempt = attempt.is_last();
                let (state, message) = match &job_err {
                    JobError::Throttled { retry_after, .. } => (
                        PushState::Pending,
                        format!(
                            "Microsoft is limiting requests to this tenant: Teamline continues in {} s",
                            retry_after.as_secs().max(1)
                        ),
                    ),
                    JobError::Retry { .. } if !last_attempt => {
                        (PushState::Pending, format!("{err} (Teamline will retry)"))
                    }
                    _ => (PushState::Failed, err.to_string()),
                };
                let audit = (state == PushState::Failed).then(|| {
                    Audit::new(
                        Actor::Job(Self::KIND.into()),
                        "teams.push_failed",
                        format!("Could not update {} in Teams: {err}", item.display_name),
                    )
                });
                store
                    .record_push(e, id, &record(state, Some(message), None), audit.as_ref())
                    .await?;
                Err(job_err)
            }
        }
    }
}

async fn apply(
    engine: &Engine,
    tenant: &dyn TenantApi,
    who: &UserRef,
    step: &VoiceStep,
) -> Result<(), MicrosoftError> {
    match step {
        VoiceStep::AssignNumber { number } => tenant.assign_number(who, number).await.map(|_| ()),
        VoiceStep::UnassignNumber { number } => {
            tenant.unassign_number(who, number).await.map(|_| ())
        }
        VoiceStep::GrantPolicy { policy_type, name } => {
            if let (PolicyType::CallingLineIdentity, Some(policy)) = (policy_type, name) {
                // A caller-name policy exists per custom name; make sure this one does.
                let company = policy
                    .strip_prefix(engine.inner.settings.caller_id_policy_prefix.as_str())
                    .unwrap_or(policy);
                let spec = CallerIdPolicySpec {
                    name: policy.clone(),
                    substitute: CallerIdSubstitute::LineUri,
                    company_name: Some(company.to_owned()),
                    enable_user_override: false,
                    description: Some("Caller Name Policy = Other, set by Teamline".to_owned()),
                };
                tenant.ensure_caller_id_policy(&spec).await?;
            }
            tenant
                .grant_policy(who, convert::policy_type(*policy_type), name.as_deref())
                .await
        }
    }
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Reads Microsoft again while a push propagates: in sync, still propagating (checks again,
/// backing off), or drift once the re-checks are used up.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VerifyUser {
    pub enterprise_id: EnterpriseId,
    pub pbx_user_id: PbxUserId,
    pub round: u32,
}

impl VerifyUser {
    pub fn new(e: EnterpriseId, id: PbxUserId, round: u32) -> Self {
        Self {
            enterprise_id: e,
            pbx_user_id: id,
            round,
        }
    }
}

impl Job for VerifyUser {
    const KIND: &'static str = "verify_user";
    const THROTTLE_GROUP: Option<&'static str> = Some(MICROSOFT);
    type Context = Engine;

    fn enterprise(&self) -> Option<EnterpriseId> {
        Some(self.enterprise_id)
    }

    fn lane(&self) -> Option<String> {
        Some(user_lane(self.pbx_user_id))
    }

    fn idempotency_key(&self) -> Option<String> {
        Some(format!(
            "{}:{}:{}",
            Self::KIND,
            self.pbx_user_id,
            self.round
        ))
    }

    async fn run(&self, engine: &Engine, _attempt: &Attempt) -> Result<(), JobError> {
        let wait = engine.inner.settings.job_throttle_wait;
        teamline_microsoft::throttle::with_max_wait(wait, self.verify(engine)).await
    }
}

impl VerifyUser {
    async fn verify(&self, engine: &Engine) -> Result<(), JobError> {
        let store = &engine.inner.store;
        let (e, id, round) = (self.enterprise_id, self.pbx_user_id, self.round);
        let item = store.get_pbx_user(e, id).await?;
        if item.user.push_state != PushState::Propagating {
            return Ok(()); // A newer push or an edit took over.
        }
        let enterprise = store.get_enterprise(e).await?;
        let tenant = engine
            .tenant_api(&enterprise)
            .map_err(|e| JobError::permanent(e.to_string()))?;
        let route = engine
            .route_of(e, &item.user)
            .await
            .map_err(|e| JobError::retry(e.to_string()))?;
        let desired = engine.desired_voice(&item.user, route.as_ref());
        let observed = read_observed(tenant.as_ref(), &user_ref(&item), store.clock().now_ms())
            .await
            .map_err(|e| microsoft_job_error(&e))?;
        let differences: Vec<String> = plan_voice(&desired, &observed)
            .iter()
            .map(VoiceStep::describe)
            .collect();
        let settings = &engine.inner.settings;
        let (state, error) = if differences.is_empty() {
            (PushState::InSync, None)
        } else if round < settings.propagation_rechecks {
            let delay = ms(settings.propagation_recheck).saturating_mul(1_i64 << round.min(6));
            engine
                .enqueue_at(
                    &Self::new(e, id, round + 1),
                    store.clock().now_ms() + delay.min(600_000),
                )
                .await?;
            (PushState::Propagating, None)
        } else {
            (
                PushState::Drift,
                Some(format!(
                    "Teams still differs from the configuration: {}",
                    differences.join("; ")
                )),
            )
        };
        if state != PushState::Propagating {
            // Settled either way: nothing sent is still on its way.
            store.set_push_journal(e, id, None).await?;
        }
        let outcome = PushOutcome {
            push_state: state,
            last_error: error,
            observed: Some(observed),
        };
        store.record_push(e, id, &outcome, None).await?;
        Ok(())
    }
}

/// The steps a push sent that Microsoft may not show yet (policy assignments can take a while
/// to become effective). Kept in the store between attempts, so a retry after throttling, a
/// new push or a restart does not send them again while they propagate.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct Journal {
    sent: Vec<SentStep>,
}

#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct SentStep {
    step: VoiceStep,
    at_ms: i64,
}

impl Journal {
    /// The recent entries (older ones are forgotten: by then the change is either visible or
    /// lost, and the verify job has said which).
    async fn load(engine: &Engine, e: EnterpriseId, id: PbxUserId) -> Result<Self, JobError> {
        let store = &engine.inner.store;
        let oldest = store.clock().now_ms() - ms(engine.inner.settings.propagation_window);
        let mut journal: Self = store
            .push_journal(e, id)
            .await?
            .and_then(|j| serde_json::from_str(&j).ok())
            .unwrap_or_default();
        journal.sent.retain(|s| s.at_ms >= oldest);
        Ok(journal)
    }

    fn holds(&self, step: &VoiceStep) -> bool {
        self.sent.iter().any(|s| &s.step == step)
    }

    /// Records a step; it replaces whatever was sent for the same setting before (a later
    /// change to the number or to that policy supersedes the earlier one).
    fn sent(&mut self, step: &VoiceStep, at_ms: i64) {
        self.sent.retain(|s| setting(&s.step) != setting(step));
        self.sent.push(SentStep {
            step: step.clone(),
            at_ms,
        });
    }

    /// Stores what is still propagating; clears it once Microsoft shows everything.
    async fn save(
        &self,
        engine: &Engine,
        e: EnterpriseId,
        id: PbxUserId,
        converged: bool,
    ) -> Result<(), JobError> {
        let json = (!converged && !self.sent.is_empty())
            .then(|| serde_json::to_string(self).ok())
            .flatten();
        engine
            .inner
            .store
            .set_push_journal(e, id, json.as_deref())
            .await?;
        Ok(())
    }
}

/// What a step sets: the number, or one policy type.
fn setting(step: &VoiceStep) -> Option<PolicyType> {
    match step {
        VoiceStep::AssignNumber { .. } | VoiceStep::UnassignNumber { .. } => None,
        VoiceStep::GrantPolicy { policy_type, .. } => Some(*policy_type),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(t: PolicyType, name: Option<&str>) -> VoiceStep {
        VoiceStep::GrantPolicy {
            policy_type: t,
            name: name.map(str::to_owned),
        }
    }

    #[test]
    fn a_later_change_to_the_same_setting_supersedes_the_journal_entry() {
        let mut j = Journal::default();
        let east = grant(PolicyType::OnlineVoiceRoutingPolicy, Some("US East 2"));
        let global = grant(PolicyType::OnlineVoiceRoutingPolicy, None);
        let dial = grant(PolicyType::TenantDialPlan, Some("Teamline"));
        j.sent(&east, 1);
        j.sent(&dial, 1);
        assert!(j.holds(&east) && j.holds(&dial));
        // Disable Calling reverted the policy: enabling again must send "US East 2" again.
        j.sent(&global, 2);
        assert!(!j.holds(&east));
        assert!(j.holds(&global) && j.holds(&dial));
    }
}
