//! The push journal: what a push sent that Microsoft may not show yet.

use super::ms;
use crate::Engine;
use teamline_domain::ids::{EnterpriseId, PbxUserId};
use teamline_domain::teams_voice::{PolicyType, VoiceStep};
use teamline_store::StoreError;

/// The steps a push sent that Microsoft may not show yet (policy assignments can take a while
/// to become effective). Kept in the store between attempts, so a retry after throttling, a
/// new push or a restart does not send them again while they propagate.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub(super) struct Journal {
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
    pub(super) async fn load(
        engine: &Engine,
        e: EnterpriseId,
        id: PbxUserId,
    ) -> Result<Self, StoreError> {
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

    pub(super) fn holds(&self, step: &VoiceStep) -> bool {
        self.sent.iter().any(|s| &s.step == step)
    }

    /// Records a step; it replaces whatever was sent for the same setting before (a later
    /// change to the number or to that policy supersedes the earlier one).
    pub(super) fn sent(&mut self, step: &VoiceStep, at_ms: i64) {
        self.sent.retain(|s| setting(&s.step) != setting(step));
        self.sent.push(SentStep {
            step: step.clone(),
            at_ms,
        });
    }

    /// Stores what is still propagating; clears it once Microsoft shows everything.
    pub(super) async fn save(
        &self,
        engine: &Engine,
        e: EnterpriseId,
        id: PbxUserId,
        converged: bool,
    ) -> Result<(), StoreError> {
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
