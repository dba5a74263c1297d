//! The Teams side of a PBX user: the voice configuration Teamline wants Microsoft to hold, what
//! Microsoft was last seen to hold, and the planner that turns the difference into steps.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The Teams policy types Teamline assigns (names as Microsoft spells them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum PolicyType {
    OnlineVoiceRoutingPolicy,
    TenantDialPlan,
    /// Carries `AllowVoicemail`: how "Use Voicemail in Teams" is applied.
    TeamsCallingPolicy,
    /// Carries the caller name for Caller Name Policy = Other.
    CallingLineIdentity,
}

impl PolicyType {
    pub const ALL: [PolicyType; 4] = [
        PolicyType::OnlineVoiceRoutingPolicy,
        PolicyType::TenantDialPlan,
        PolicyType::TeamsCallingPolicy,
        PolicyType::CallingLineIdentity,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::OnlineVoiceRoutingPolicy => "OnlineVoiceRoutingPolicy",
            Self::TenantDialPlan => "TenantDialPlan",
            Self::TeamsCallingPolicy => "TeamsCallingPolicy",
            Self::CallingLineIdentity => "CallingLineIdentity",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(s))
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::OnlineVoiceRoutingPolicy => "Voice routing policy",
            Self::TenantDialPlan => "Dial plan",
            Self::TeamsCallingPolicy => "Calling policy",
            Self::CallingLineIdentity => "Caller ID policy",
        }
    }
}

/// What Teamline wants Microsoft to hold for one user. A policy of `None` means the tenant's
/// Global (default) policy, i.e. no direct assignment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DesiredVoice {
    /// `None` = calling disabled: no number, enterprise voice off.
    pub number: Option<String>,
    pub policies: BTreeMap<PolicyType, Option<String>>,
}

/// What Microsoft was last seen to hold (read back from `userConfigurations`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedVoice {
    pub enterprise_voice: bool,
    pub numbers: Vec<String>,
    /// Effective policy per type; `None` = Global.
    pub policies: BTreeMap<PolicyType, Option<String>>,
    pub read_at_ms: i64,
}

/// One change to make in Microsoft.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum VoiceStep {
    /// Assign a Direct Routing number (Microsoft turns enterprise voice on with it).
    AssignNumber { number: String },
    /// Remove a number (enterprise voice goes off with the last one).
    UnassignNumber { number: String },
    /// Grant a named policy, or revert to Global with `None`.
    GrantPolicy {
        policy_type: PolicyType,
        name: Option<String>,
    },
}

impl VoiceStep {
    pub fn describe(&self) -> String {
        match self {
            Self::AssignNumber { number } => {
                format!("Assign {number} and turn on Enterprise Voice")
            }
            Self::UnassignNumber { number } => format!("Remove {number}"),
            Self::GrantPolicy {
                policy_type,
                name: Some(name),
            } => {
                format!("Set {} to {name}", policy_type.label())
            }
            Self::GrantPolicy {
                policy_type,
                name: None,
            } => {
                format!("Set {} back to Global", policy_type.label())
            }
        }
    }
}

/// The steps that take Microsoft from `observed` to `desired`, and nothing that already holds.
/// Numbers change before policies so enterprise voice is on when the policies apply; a number
/// that must move is removed before the new one is assigned (a user has one primary number).
pub fn plan_voice(desired: &DesiredVoice, observed: &ObservedVoice) -> Vec<VoiceStep> {
    let mut steps = Vec::new();
    let holds_desired = |n: &String| desired.number.as_deref() == Some(n.as_str());
    for number in observed.numbers.iter().filter(|n| !holds_desired(n)) {
        steps.push(VoiceStep::UnassignNumber {
            number: number.clone(),
        });
    }
    if let Some(number) = &desired.number {
        let held = observed.numbers.iter().any(|n| n == number);
        if !held || !observed.enterprise_voice {
            steps.push(VoiceStep::AssignNumber {
                number: number.clone(),
            });
        }
    }
    for (policy_type, want) in &desired.policies {
        let have = observed.policies.get(policy_type).cloned().flatten();
        if have.as_ref() != want.as_ref() {
            steps.push(VoiceStep::GrantPolicy {
                policy_type: *policy_type,
                name: want.clone(),
            });
        }
    }
    steps
}

/// The differences between desired and observed, for the Drift column and the Repair preview.
pub fn drift(desired: &DesiredVoice, observed: &ObservedVoice) -> Vec<String> {
    plan_voice(desired, observed)
        .iter()
        .map(VoiceStep::describe)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn enabled() -> DesiredVoice {
        DesiredVoice {
            number: Some("+11000".into()),
            policies: BTreeMap::from([
                (
                    PolicyType::OnlineVoiceRoutingPolicy,
                    Some("US East 2".into()),
                ),
                (PolicyType::TenantDialPlan, Some("Teamline".into())),
                (
                    PolicyType::TeamsCallingPolicy,
                    Some("Teamline-NoVoicemail".into()),
                ),
                (PolicyType::CallingLineIdentity, None),
            ]),
        }
    }

    fn apply(observed: &mut ObservedVoice, steps: &[VoiceStep]) {
        for s in steps {
            match s {
                VoiceStep::AssignNumber { number } => {
                    observed.numbers = vec![number.clone()];
                    observed.enterprise_voice = true;
                }
                VoiceStep::UnassignNumber { number } => {
                    observed.numbers.retain(|n| n != number);
                    observed.enterprise_voice = !observed.numbers.is_empty();
                }
                VoiceStep::GrantPolicy { policy_type, name } => {
                    observed.policies.insert(*policy_type, name.clone());
                }
            }
        }
    }

    #[test]
    fn enabling_from_scratch() {
        let steps = plan_voice(&enabled(), &ObservedVoice::default());
        assert_eq!(
            steps[0],
            VoiceStep::AssignNumber {
                number: "+11000".into()
            }
        );
        assert_eq!(
            steps.len(),
            4,
            "number + 3 named policies; Global caller ID already holds"
        );
    }

    #[test]
    fn nothing_is_resent_that_already_holds() {
        let mut observed = ObservedVoice::default();
        let steps = plan_voice(&enabled(), &observed);
        apply(&mut observed, &steps);
        assert!(plan_voice(&enabled(), &observed).is_empty());
    }

    #[test]
    fn disabling_removes_number_and_reverts_policies() {
        let mut observed = ObservedVoice::default();
        let steps = plan_voice(&enabled(), &observed);
        apply(&mut observed, &steps);
        let disabled = DesiredVoice {
            number: None,
            policies: PolicyType::ALL.into_iter().map(|p| (p, None)).collect(),
        };
        let steps = plan_voice(&disabled, &observed);
        assert_eq!(
            steps[0],
            VoiceStep::UnassignNumber {
                number: "+11000".into()
            }
        );
        apply(&mut observed, &steps);
        assert!(!observed.enterprise_voice);
        assert!(plan_voice(&disabled, &observed).is_empty());
    }

    #[test]
    fn changed_number_is_moved() {
        let mut observed = ObservedVoice::default();
        let steps = plan_voice(&enabled(), &observed);
        apply(&mut observed, &steps);
        let mut want = enabled();
        want.number = Some("+11001".into());
        let steps = plan_voice(&want, &observed);
        assert_eq!(
            steps,
            vec![
                VoiceStep::UnassignNumber {
                    number: "+11000".into()
                },
                VoiceStep::AssignNumber {
                    number: "+11001".into()
                }
            ]
        );
    }

    #[test]
    fn drift_is_described() {
        let mut observed = ObservedVoice::default();
        let steps = plan_voice(&enabled(), &observed);
        apply(&mut observed, &steps);
        observed
            .policies
            .insert(PolicyType::OnlineVoiceRoutingPolicy, None);
        assert_eq!(
            drift(&enabled(), &observed),
            vec!["Set Voice routing policy to US East 2"]
        );
    }

    fn policy_name() -> impl Strategy<Value = Option<String>> {
        proptest::option::of(prop_oneof![Just("A".to_owned()), Just("B".to_owned())])
    }

    fn voice_state() -> impl Strategy<Value = (Option<String>, Vec<Option<String>>)> {
        (
            proptest::option::of(prop_oneof![
                Just("+11000".to_owned()),
                Just("+11001".to_owned())
            ]),
            proptest::collection::vec(policy_name(), 4),
        )
    }

    proptest! {
        /// Applying the plan always reaches the desired state, and a second plan is empty.
        #[test]
        fn plan_converges((dn, dp) in voice_state(), (on, op) in voice_state()) {
            let desired = DesiredVoice {
                number: dn,
                policies: PolicyType::ALL.into_iter().zip(dp).collect(),
            };
            let mut observed = ObservedVoice {
                enterprise_voice: on.is_some(),
                numbers: on.into_iter().collect(),
                policies: PolicyType::ALL.into_iter().zip(op).collect(),
                read_at_ms: 0,
            };
            let steps = plan_voice(&desired, &observed);
            apply(&mut observed, &steps);
            prop_assert_eq!(observed.numbers.first().cloned(), desired.number.clone());
            prop_assert!(plan_voice(&desired, &observed).is_empty());
        }
    }
}
