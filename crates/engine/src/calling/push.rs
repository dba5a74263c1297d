//! The push job: plans from a fresh read of Microsoft and applies only the planned steps.

use super::journal::Journal;
use super::verify::VerifyUser;
use super::{MICROSOFT, ms, read_observed, user_lane, user_ref};
use crate::error::microsoft_job_error;
use crate::{Engine, convert};
use serde::{Deserialize, Serialize};
use teamline_domain::audit::{Actor, Audit};
use teamline_domain::enterprise::ConsentKind;
use teamline_domain::ids::{EnterpriseId, PbxUserId};
use teamline_domain::pbx_user::PushState;
use teamline_domain::teams_voice::{ObservedVoice, PolicyType, VoiceStep, plan_voice};
use teamline_jobs::{Attempt, Job, JobError};
use teamline_microsoft::direct_routing::{CallerIdPolicySpec, CallerIdSubstitute};
use teamline_microsoft::voice::{NumberOperation, NumberRequest, UserRef};
use teamline_microsoft::{MicrosoftError, TenantApi};
use teamline_store::PushOutcome;

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
    /// A user who took over another's extension (Move to another person) first has the
    /// released user's calling removed in Teams, in this job: Microsoft refuses a number that
    /// is still assigned to someone else.
    async fn push(&self, engine: &Engine, attempt: &Attempt) -> Result<(), JobError> {
        let store = &engine.inner.store;
        let (e, id) = (self.enterprise_id, self.pbx_user_id);
        let item = store.get_pbx_user(e, id).await?;
        if let Some(old) = item.user.replaces {
            let released = store.get_pbx_user(e, old).await?;
            if released.user.push_state != PushState::InSync
                && let Err(err) = push_user(engine, e, old, attempt).await
            {
                let retried = matches!(err, JobError::Throttled { .. })
                    || (matches!(err, JobError::Retry { .. }) && !attempt.is_last());
                let state = if retried {
                    PushState::Pending
                } else {
                    PushState::Failed
                };
                let message = format!(
                    "calling must first be disabled for {} in Teams (extension {} moves from them): {}",
                    released.display_name, released.user.spec.sip_user, err
                );
                let outcome = PushOutcome {
                    push_state: state,
                    last_error: Some(message),
                    observed: None,
                };
                store.record_push(e, id, &outcome, None).await?;
                return Err(err);
            }
        }
        push_user(engine, e, id, attempt).await
    }
}

/// Plans from a fresh read of Microsoft and applies only the planned steps, so a retry (or a
/// run after a crash) never repeats a change Microsoft already holds. Records the outcome on
/// the user.
async fn push_user(
    engine: &Engine,
    e: EnterpriseId,
    id: PbxUserId,
    attempt: &Attempt,
) -> Result<(), JobError> {
    let store = &engine.inner.store;
    let item = store.get_pbx_user(e, id).await?;
    // A device to create on Save comes first: Teams is not set up to use a device that is
    // not there.
    crate::pbx::create_planned_device(engine, &item, attempt, PushUser::KIND).await?;
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
    let record =
        |state: PushState, error: Option<String>, observed: Option<ObservedVoice>| PushOutcome {
            push_state: state,
            last_error: error,
            observed,
        };
    store
        .record_push(e, id, &record(PushState::InProgress, None, None), None)
        .await?;

    let mut journal = Journal::load(engine, e, id).await?;
    let outcome = async {
        follow_running_operations(engine, tenant.as_ref(), &who, &mut journal, e, id).await?;
        // Nothing sent recently and no change under way: what Teamline last read back (for a
        // user never read: that Teams holds nothing of Teamline's) is what Microsoft holds,
        // and the read after the changes checks it. Otherwise read first.
        let mut from_knowledge = journal.is_empty() && item.user.replaces.is_none();
        let mut observed = if from_knowledge {
            item.observed.clone().unwrap_or_default()
        } else {
            read_observed(tenant.as_ref(), &who, store.clock().now_ms()).await?
        };
        let mut sent = Vec::new();
        loop {
            // What Microsoft accepted recently but does not show yet is propagating, not
            // missing: sending it again would repeat a change that already happened.
            let steps: Vec<VoiceStep> = plan_voice(&desired, &observed)
                .into_iter()
                .filter(|s| !journal.holds(s))
                .collect();
            apply_all(
                engine,
                tenant.as_ref(),
                &who,
                &steps,
                &mut journal,
                (e, id),
                attempt,
            )
            .await?;
            // Microsoft's answers (an accepted number operation's address above all) are
            // stored while the read-back is on its way: nothing waits for an operation
            // before they are.
            let answered = !steps.is_empty();
            sent.extend(steps);
            let keep = async {
                if answered {
                    journal.keep(engine, e, id).await
                } else {
                    Ok(())
                }
            };
            let read = read_observed(tenant.as_ref(), &who, store.clock().now_ms());
            let (kept, after) = futures::join!(keep, read);
            kept.map_err(|err| Failure::Store(err.into()))?;
            let mut after = after?;
            if !confirm_operations(&mut journal, &after, store.clock().now_ms()) {
                // A number operation Microsoft does not show as done yet: follow it, then
                // read again.
                follow_running_operations(engine, tenant.as_ref(), &who, &mut journal, e, id)
                    .await?;
                after = read_observed(tenant.as_ref(), &who, store.clock().now_ms()).await?;
            }
            // Microsoft holds something other than what Teamline knew (changed outside
            // Teamline): plan once more from what it holds now.
            let unknown = plan_voice(&desired, &after)
                .iter()
                .any(|s| !journal.holds(s));
            if from_knowledge && unknown {
                from_knowledge = false;
                observed = after;
                continue;
            }
            break Ok::<_, Failure>((sent, after));
        }
    }
    .await;
    let converged = matches!(&outcome, Ok((_, after)) if plan_voice(&desired, after).is_empty());
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
                    Actor::Job(PushUser::KIND.into()),
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
        Err(Failure::Store(err)) => Err(err),
        Err(Failure::Microsoft(err)) => {
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
                    Actor::Job(PushUser::KIND.into()),
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

/// Why a push stopped: Microsoft refused or failed, or the journal could not be stored.
enum Failure {
    Microsoft(MicrosoftError),
    Store(JobError),
}

impl From<MicrosoftError> for Failure {
    fn from(err: MicrosoftError) -> Self {
        Self::Microsoft(err)
    }
}

/// Whether a step that failed with `err` may still be carried out by Microsoft: its operation
/// was accepted and only waiting for it failed for a passing reason (throttling, an outage,
/// the wait ran out). The journal then keeps the operation, so the retry follows it.
fn still_running(err: &MicrosoftError, journal: &Journal, step: &VoiceStep) -> bool {
    let passing = err.is_retryable() || matches!(err, MicrosoftError::Throttled { .. });
    passing && journal.running_operations().iter().any(|(s, _)| s == step)
}

/// Follows the number operations a killed push did not see end, before anything is planned:
/// Microsoft accepted those changes, so they are waited for, never sent again.
async fn follow_running_operations(
    engine: &Engine,
    tenant: &dyn TenantApi,
    who: &UserRef,
    journal: &mut Journal,
    e: EnterpriseId,
    id: PbxUserId,
) -> Result<(), Failure> {
    let store = &engine.inner.store;
    for (step, location) in journal.running_operations() {
        let VoiceStep::AssignNumber { number } = &step else {
            continue;
        };
        let operation = NumberOperation { location };
        match tenant
            .finish_number_assignment(who, number, &operation)
            .await
        {
            Ok(_) => journal.sent(&step, store.clock().now_ms()),
            Err(err) if still_running(&err, journal, &step) => {
                return Err(Failure::Microsoft(err));
            }
            // The operation failed or is gone: Microsoft did not make the change; the plan
            // below decides from a fresh read whether to send it again.
            Err(err) => {
                tracing::info!(user = %who.upn, number = %number, error = %err, "a number operation a previous push started did not complete");
                journal.refused(&step);
            }
        }
        journal
            .keep(engine, e, id)
            .await
            .map_err(|err| Failure::Store(err.into()))?;
    }
    Ok(())
}

/// How Microsoft took one step: done, or accepted as an operation still running.
enum Taken {
    Done,
    Running(String),
}

/// Sends the planned steps: the number changes in order, the policy grants alongside them
/// (each grant may share its request with other users' pushes, see `teamline_microsoft`'s
/// voice client). Every step is stored in the journal before any request; the answers are
/// recorded in it for the caller to store, so a process killed at any moment leaves a journal
/// that says what may have been sent (see `Journal`).
async fn apply_all(
    engine: &Engine,
    tenant: &dyn TenantApi,
    who: &UserRef,
    steps: &[VoiceStep],
    journal: &mut Journal,
    (e, id): (EnterpriseId, PbxUserId),
    attempt: &Attempt,
) -> Result<(), Failure> {
    if steps.is_empty() {
        return Ok(());
    }
    let clock = engine.inner.store.clock();
    let what: Vec<String> = steps.iter().map(VoiceStep::describe).collect();
    let _ = attempt
        .progress(0, Some(steps.len() as u64), &what.join("; "))
        .await;
    for step in steps {
        journal.sending(step, clock.now_ms());
    }
    journal
        .keep(engine, e, id)
        .await
        .map_err(|err| Failure::Store(err.into()))?;

    let (numbers, grants): (Vec<&VoiceStep>, Vec<&VoiceStep>) = steps
        .iter()
        .partition(|s| !matches!(s, VoiceStep::GrantPolicy { .. }));
    let number_changes = async {
        let mut answers = Vec::new();
        for step in numbers {
            let answer = take(engine, tenant, who, step).await;
            let failed = answer.is_err();
            answers.push((step, answer));
            if failed {
                break;
            }
        }
        answers
    };
    let policy_grants = futures::future::join_all(
        grants
            .into_iter()
            .map(|step| async move { (step, take(engine, tenant, who, step).await) }),
    );
    let (number_answers, grant_answers) = futures::join!(number_changes, policy_grants);

    let mut first_error = None;
    let now = clock.now_ms();
    for (step, answer) in number_answers.into_iter().chain(grant_answers) {
        match answer {
            Ok(Taken::Done) => journal.sent(step, now),
            // Accepted: stored (by the caller) before anything waits for it, so a restart
            // follows this operation instead of sending the change again.
            Ok(Taken::Running(location)) => journal.running(step, now, &location),
            Err(err) => {
                journal.refused(step);
                first_error.get_or_insert(err);
            }
        }
    }
    first_error.map_or(Ok(()), |err| Err(Failure::Microsoft(err)))
}

/// Marks the number operations whose number Microsoft now shows (with enterprise voice on) as
/// done. False when one is still to follow.
fn confirm_operations(journal: &mut Journal, after: &ObservedVoice, now_ms: i64) -> bool {
    let mut all = true;
    for (step, _) in journal.running_operations() {
        match &step {
            VoiceStep::AssignNumber { number }
                if after.enterprise_voice && after.numbers.contains(number) =>
            {
                journal.sent(&step, now_ms);
            }
            _ => all = false,
        }
    }
    all
}

async fn take(
    engine: &Engine,
    tenant: &dyn TenantApi,
    who: &UserRef,
    step: &VoiceStep,
) -> Result<Taken, MicrosoftError> {
    match step {
        VoiceStep::AssignNumber { number } => {
            match tenant.request_number_assignment(who, number).await? {
                NumberRequest::Finished(_) => Ok(Taken::Done),
                NumberRequest::Accepted(operation) => Ok(Taken::Running(operation.location)),
            }
        }
        VoiceStep::UnassignNumber { number } => {
            tenant.unassign_number(who, number).await?;
            Ok(Taken::Done)
        }
        VoiceStep::GrantPolicy { policy_type, name } => {
            ensure_policy_exists(engine, tenant, *policy_type, name.as_deref()).await?;
            tenant
                .grant_policy(who, convert::policy_type(*policy_type), name.as_deref())
                .await?;
            Ok(Taken::Done)
        }
    }
}

/// Before a grant: a caller-name policy exists per custom name, so Teamline makes sure this
/// one does (the other policies are set up with the tenant).
pub(super) async fn ensure_policy_exists(
    engine: &Engine,
    tenant: &dyn TenantApi,
    policy_type: PolicyType,
    name: Option<&str>,
) -> Result<(), MicrosoftError> {
    let (PolicyType::CallingLineIdentity, Some(policy)) = (policy_type, name) else {
        return Ok(());
    };
    let company = policy
        .strip_prefix(engine.inner.settings.caller_id_policy_prefix.as_str())
        .unwrap_or(policy);
    let spec = CallerIdPolicySpec {
        name: policy.to_owned(),
        substitute: CallerIdSubstitute::LineUri,
        company_name: Some(company.to_owned()),
        enable_user_override: false,
        description: Some("Caller Name Policy = Other, set by Teamline".to_owned()),
    };
    tenant.ensure_caller_id_policy(&spec).await.map(|_| ())
}
