//! What the client learned about how one tenant behaves where Microsoft's documentation leaves
//! it open, kept for the life of the process so each question costs one failed request at
//! most: which surface grants each voice policy type, how the Teams admin REST surface creates
//! objects, and which policies Teamline created a moment ago (Graph sees them only after
//! replication), and how many group ids a groups delta `$filter` may hold when the tenant
//! allows fewer than usual. `teamline doctor` reports the same facts.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::voice::PolicyType;

/// Where a policy type is granted to users.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum PolicyPath {
    /// Graph `admin/teams/policy/userAssignments` (documented; Teamline's first choice).
    Graph,
    /// The Teams admin REST surface `Grant-Cs…Policy` uses, because Graph refused the type.
    TeamsAdmin,
}

/// How the Teams admin REST surface creates a configuration object.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum CreateForm {
    /// `POST /Skype.Policy/configurations/{Type}` (the form public clients use).
    Post,
    /// `PUT …/configuration/{Identity}`, because the collection refused `POST`.
    Put,
}

#[derive(Default)]
struct State {
    policy_paths: HashMap<PolicyType, PolicyPath>,
    create_form: Option<CreateForm>,
    groups_per_round: Option<usize>,
    created_policies: HashMap<(PolicyType, String), Instant>,
}

/// One tenant's learned behaviour.
#[derive(Default)]
pub(crate) struct Learned {
    state: Mutex<State>,
}

impl Learned {
    fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        f(&mut self.state.lock().unwrap_or_else(PoisonError::into_inner))
    }

    pub fn policy_path(&self, policy_type: PolicyType) -> Option<PolicyPath> {
        self.with(|s| s.policy_paths.get(&policy_type).copied())
    }

    pub fn set_policy_path(&self, policy_type: PolicyType, path: PolicyPath) {
        self.with(|s| s.policy_paths.insert(policy_type, path));
    }

    pub fn create_form(&self) -> Option<CreateForm> {
        self.with(|s| s.create_form)
    }

    pub fn set_create_form(&self, form: CreateForm) {
        self.with(|s| s.create_form = Some(form));
    }

    /// The most group ids Graph took in one groups delta `$filter`, once it refused more.
    pub fn groups_per_round(&self) -> Option<usize> {
        self.with(|s| s.groups_per_round)
    }

    pub fn set_groups_per_round(&self, n: usize) {
        self.with(|s| s.groups_per_round = Some(n));
    }

    /// Notes that Teamline just created this policy.
    pub fn policy_created(&self, policy_type: PolicyType, name: &str) {
        self.with(|s| {
            s.created_policies
                .insert((policy_type, name.to_ascii_lowercase()), Instant::now())
        });
    }

    /// How much longer a lookup of this policy should wait for replication: the rest of
    /// `window` after Teamline created it, or nothing when it did not (recently).
    pub fn replication_left(
        &self,
        policy_type: PolicyType,
        name: &str,
        window: Duration,
    ) -> Duration {
        self.with(|s| {
            s.created_policies
                .get(&(policy_type, name.to_ascii_lowercase()))
                .map_or(Duration::ZERO, |at| window.saturating_sub(at.elapsed()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_policy_created_here_waits_for_replication() {
        let learned = Learned::default();
        let window = Duration::from_secs(60);
        assert_eq!(
            learned.replication_left(PolicyType::TenantDialPlan, "Contoso", window),
            Duration::ZERO
        );
        learned.policy_created(PolicyType::TenantDialPlan, "Contoso");
        let left = learned.replication_left(PolicyType::TenantDialPlan, "contoso", window);
        assert!(left > Duration::ZERO && left <= window);
        assert_eq!(
            learned.replication_left(PolicyType::TeamsCallingPolicy, "Contoso", window),
            Duration::ZERO
        );
    }
}
