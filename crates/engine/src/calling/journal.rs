//! The push journal: what a push sent that Microsoft may not show yet.

use super::ms;
use crate::Engine;
use teamline_domain::ids::{EnterpriseId, PbxUserId};
use teamline_domain::teams_voice::{PolicyType, VoiceStep};
use teamline_store::StoreError;

/// The steps a push sent that Microsoft may not show yet (policy assignments can take a while
/// to become effective). Kept in the store between attempts, so a retry after throttling, a
/// new push or a restart does not send them again while they propagate.
///
/// The push stores the journal around every step: a step is written down as *about to be
/// sent* before its request goes out, and as *accepted* once Microsoft answered. A process
/// killed anywhere in between leaves an entry that is not known to be accepted: it is held like
/// a sent one (Microsoft may hold it and not show it yet), and the verify job sends it again
/// only if Microsoft still does not show it at the first re-check, when a change that was
/// accepted would normally show.
///
/// A number assignment Microsoft accepted with a long-running operation (202) is written down
/// with the operation's address before Teamline waits for it: a push killed while waiting
/// follows the same operation when it runs again and never sends the assignment twice.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub(super) struct Journal {
    sent: Vec<SentStep>,
}

#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct SentStep {
    step: VoiceStep,
    at_ms: i64,
    /// Whether Microsoft answered that it accepted the step (entries written before this was
    /// recorded were all accepted).
    #[serde(default = "accepted_before_recorded")]
    accepted: bool,
    /// The long-running operation Microsoft is carrying the step out with, until it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    operation: Option<String>,
}

fn accepted_before_recorded() -> bool {
    true
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

    /// Every step held: sent recently or under way (the push does not send them again).
    pub(super) fn steps(&self) -> Vec<VoiceStep> {
        self.sent.iter().map(|s| s.step.clone()).collect()
    }

    pub(super) fn holds(&self, step: &VoiceStep) -> bool {
        self.sent.iter().any(|s| &s.step == step)
    }

    /// Records a step Microsoft accepted; it replaces whatever was sent for the same setting
    /// before (a later change to the number or to that policy supersedes the earlier one).
    pub(super) fn sent(&mut self, step: &VoiceStep, at_ms: i64) {
        self.record(step, at_ms, true);
    }

    /// Records a step whose request is about to go out.
    pub(super) fn sending(&mut self, step: &VoiceStep, at_ms: i64) {
        self.record(step, at_ms, false);
    }

    /// Records a step Microsoft accepted and carries out with the operation at `location`.
    pub(super) fn running(&mut self, step: &VoiceStep, at_ms: i64, location: &str) {
        self.record(step, at_ms, true);
        if let Some(last) = self.sent.last_mut() {
            last.operation = Some(location.to_owned());
        }
    }

    /// The steps whose operation a killed push did not see end: (step, operation address).
    pub(super) fn running_operations(&self) -> Vec<(VoiceStep, String)> {
        self.sent
            .iter()
            .filter_map(|s| Some((s.step.clone(), s.operation.clone()?)))
            .collect()
    }

    /// Forgets a step Microsoft refused: it was not applied, so a retry must send it.
    /// Whether nothing was sent recently (or is under way) for the user.
    pub(super) fn is_empty(&self) -> bool {
        self.sent.is_empty()
    }

    pub(super) fn refused(&mut self, step: &VoiceStep) {
        self.sent.retain(|s| &s.step != step);
    }

    fn record(&mut self, step: &VoiceStep, at_ms: i64, accepted: bool) {
        self.sent.retain(|s| setting(&s.step) != setting(step));
        self.sent.push(SentStep {
            step: step.clone(),
            at_ms,
            accepted,
            operation: None,
        });
    }

    /// Forgets the steps a crashed push may or may not have sent, so the next push sends them
    /// if Microsoft does not show them. Whether there were any.
    pub(super) fn forget_unconfirmed(&mut self) -> bool {
        let before = self.sent.len();
        self.sent.retain(|s| s.accepted);
        self.sent.len() != before
    }

    /// Stores the journal as it is, before the push goes on: what was sent must survive a
    /// crash of this process.
    pub(super) async fn keep(
        &self,
        engine: &Engine,
        e: EnterpriseId,
        id: PbxUserId,
    ) -> Result<(), StoreError> {
        self.save(engine, e, id, false).await
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

    #[test]
    fn a_step_not_known_to_be_accepted_is_held_until_the_verify_job_forgets_it() {
        let mut j = Journal::default();
        let east = grant(PolicyType::OnlineVoiceRoutingPolicy, Some("US East 2"));
        let dial = grant(PolicyType::TenantDialPlan, Some("Teamline"));
        j.sent(&dial, 1);
        j.sending(&east, 2);
        // A push after a crash must not send it again while it may be propagating.
        assert!(j.holds(&east));
        assert!(j.forget_unconfirmed());
        assert!(!j.holds(&east) && j.holds(&dial));
        assert!(!j.forget_unconfirmed());
        j.sending(&east, 3);
        j.refused(&east);
        assert!(!j.holds(&east));
    }

    #[test]
    fn an_accepted_operation_is_held_and_followed_until_the_step_is_sent() {
        let mut j = Journal::default();
        let number = VoiceStep::AssignNumber {
            number: "+11000".into(),
        };
        j.sending(&number, 1);
        j.running(&number, 2, "https://graph.example/operations('a')");
        // Stored and read back, as a restarted push finds it.
        let mut j: Journal = serde_json::from_str(&serde_json::to_string(&j).unwrap()).unwrap();
        assert!(j.holds(&number));
        assert!(!j.forget_unconfirmed(), "Microsoft accepted it");
        assert_eq!(
            j.running_operations(),
            vec![(
                number.clone(),
                "https://graph.example/operations('a')".to_owned()
            )]
        );
        j.sent(&number, 3);
        assert!(j.running_operations().is_empty() && j.holds(&number));
    }

    #[test]
    fn entries_stored_before_acceptance_was_recorded_count_as_accepted() {
        let mut j: Journal = serde_json::from_str(
            r#"{"sent":[{"step":{"AssignNumber":{"number":"+11000"}},"at_ms":1}]}"#,
        )
        .unwrap();
        assert!(j.holds(&VoiceStep::AssignNumber {
            number: "+11000".into()
        }));
        assert!(!j.forget_unconfirmed());
    }
}
