//! The verify job: reads Microsoft again while a push propagates.

use super::journal::Journal;
use super::push::PushUser;
use super::{MICROSOFT, ms, read_observed, user_lane, user_ref};
use crate::Engine;
use crate::error::microsoft_job_error;
use serde::{Deserialize, Serialize};
use teamline_domain::ids::{EnterpriseId, PbxUserId};
use teamline_domain::pbx_user::PushState;
use teamline_domain::teams_voice::{VoiceStep, plan_voice};
use teamline_jobs::{Attempt, Job, JobError};
use teamline_store::PushOutcome;

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
        let mut journal = Journal::load(engine, e, id).await?;
        let (state, error) = if differences.is_empty() {
            (PushState::InSync, None)
        } else if journal.forget_unconfirmed() {
            // A push was killed around a request and Microsoft still does not show the step:
            // it was not applied, so the next push sends it (and only it).
            // The push is queued after this read is stored (below): it plans from it.
            journal.keep(engine, e, id).await?;
            (PushState::Pending, None)
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
        if matches!(state, PushState::InSync | PushState::Drift) {
            // Settled either way: nothing sent is still on its way.
            store.set_push_journal(e, id, None).await?;
        }
        let outcome = PushOutcome {
            push_state: state,
            last_error: error,
            observed: Some(observed),
        };
        store.record_push(e, id, &outcome, None).await?;
        if state == PushState::Pending {
            engine.enqueue(&PushUser::new(e, id)).await?;
        }
        Ok(())
    }
}
