//! Preview: what a change (Save, Enable/Disable Calling, Repair, a Bulk Upload row) will do in
//! Microsoft Teams and on the PBX, shown before the admin confirms it. It is the plan the jobs
//! will carry out — `plan_voice` for Teams, the device rule of the device jobs for the PBX —
//! fed with the same state, so the preview lists exactly the changes and nothing that already
//! holds.

use crate::teams_voice::{DesiredVoice, ObservedVoice, VoiceStep, plan_voice};
use serde::{Deserialize, Serialize};

/// One change to make on the PBX.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PbxStep {
    /// Create the device (SIP handle) Teams registers as, on the extension.
    CreateDevice { extension: String, device: String },
}

impl PbxStep {
    pub fn describe(&self) -> String {
        match self {
            Self::CreateDevice { extension, device } => {
                format!("Create device {device} on extension {extension}")
            }
        }
    }
}

/// What the PBX holds of the user's device, as far as the change is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceFacts {
    pub extension: String,
    pub device: String,
    /// Teamline creates the device when the PBX does not have it: it was chosen to be created
    /// on Save, or Teamline created it before (then it is created again).
    pub teamline_creates: bool,
    /// Whether the PBX has the device; `None` when the PBX could not be asked.
    pub on_pbx: Option<bool>,
}

/// The changes one operation will make, in the order the jobs make them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangePlan {
    pub teams: Vec<VoiceStep>,
    pub pbx: Vec<PbxStep>,
}

impl ChangePlan {
    /// Nothing to change: everything already holds.
    pub fn is_empty(&self) -> bool {
        self.teams.is_empty() && self.pbx.is_empty()
    }
}

/// The plan of one operation: the Teams steps that take `observed` to `desired`, less those
/// Microsoft accepted recently and is still propagating (`propagating`, the push journal: the
/// push does not send them again), and the device to create when Teamline creates it and the
/// PBX does not have it. A device the PBX could not be asked about is not listed: the caller
/// says that it could not be checked.
pub fn plan_change(
    desired: &DesiredVoice,
    observed: &ObservedVoice,
    propagating: &[VoiceStep],
    device: Option<&DeviceFacts>,
) -> ChangePlan {
    let teams = plan_voice(desired, observed)
        .into_iter()
        .filter(|s| !propagating.contains(s))
        .collect();
    let pbx = device
        .filter(|d| d.teamline_creates && d.on_pbx == Some(false))
        .map(|d| PbxStep::CreateDevice {
            extension: d.extension.clone(),
            device: d.device.clone(),
        })
        .into_iter()
        .collect();
    ChangePlan { teams, pbx }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::teams_voice::PolicyType;
    use std::collections::BTreeMap;

    fn enabled() -> DesiredVoice {
        DesiredVoice {
            number: Some("+14155550100".into()),
            policies: BTreeMap::from([
                (
                    PolicyType::OnlineVoiceRoutingPolicy,
                    Some("US East 2".into()),
                ),
                (PolicyType::TenantDialPlan, Some("Teamline".into())),
                (PolicyType::TeamsCallingPolicy, None),
                (PolicyType::CallingLineIdentity, None),
            ]),
        }
    }

    fn disabled() -> DesiredVoice {
        DesiredVoice {
            number: None,
            policies: PolicyType::ALL.into_iter().map(|p| (p, None)).collect(),
        }
    }

    fn holding(desired: &DesiredVoice) -> ObservedVoice {
        ObservedVoice {
            enterprise_voice: desired.number.is_some(),
            numbers: desired.number.iter().cloned().collect(),
            policies: desired.policies.clone(),
            read_at_ms: 0,
        }
    }

    fn device(teamline_creates: bool, on_pbx: Option<bool>) -> DeviceFacts {
        DeviceFacts {
            extension: "1011".into(),
            device: "1011tm".into(),
            teamline_creates,
            on_pbx,
        }
    }

    #[test]
    fn a_new_user_gets_the_number_each_named_policy_and_the_device() {
        let plan = plan_change(
            &enabled(),
            &ObservedVoice::default(),
            &[],
            Some(&device(true, Some(false))),
        );
        let teams: Vec<String> = plan.teams.iter().map(VoiceStep::describe).collect();
        assert_eq!(
            teams,
            vec![
                "Assign +14155550100 and turn on Enterprise Voice",
                "Set Voice routing policy to US East 2",
                "Set Dial plan to Teamline",
            ],
            "the Global calling and caller ID policies already hold"
        );
        assert_eq!(
            plan.pbx,
            vec![PbxStep::CreateDevice {
                extension: "1011".into(),
                device: "1011tm".into()
            }]
        );
        assert_eq!(
            plan.pbx[0].describe(),
            "Create device 1011tm on extension 1011"
        );
    }

    #[test]
    fn nothing_is_listed_when_everything_holds() {
        let plan = plan_change(
            &enabled(),
            &holding(&enabled()),
            &[],
            Some(&device(true, Some(true))),
        );
        assert!(plan.is_empty(), "{plan:?}");
    }

    #[test]
    fn disabling_lists_the_number_and_each_named_policy_going_back_to_global() {
        let plan = plan_change(&disabled(), &holding(&enabled()), &[], None);
        let teams: Vec<String> = plan.teams.iter().map(VoiceStep::describe).collect();
        assert_eq!(
            teams,
            vec![
                "Remove +14155550100",
                "Set Voice routing policy back to Global",
                "Set Dial plan back to Global",
            ]
        );
        assert!(plan.pbx.is_empty(), "Disable Calling keeps the device");
    }

    #[test]
    fn a_changed_policy_is_the_only_change() {
        let mut want = enabled();
        want.policies.insert(
            PolicyType::TeamsCallingPolicy,
            Some("Teamline-NoVoicemail".into()),
        );
        let plan = plan_change(&want, &holding(&enabled()), &[], None);
        assert_eq!(
            plan.teams,
            vec![VoiceStep::GrantPolicy {
                policy_type: PolicyType::TeamsCallingPolicy,
                name: Some("Teamline-NoVoicemail".into())
            }]
        );
    }

    #[test]
    fn steps_still_propagating_are_not_listed_again() {
        let grant = VoiceStep::GrantPolicy {
            policy_type: PolicyType::TenantDialPlan,
            name: Some("Teamline".into()),
        };
        let mut observed = holding(&enabled());
        observed.policies.insert(PolicyType::TenantDialPlan, None);
        assert_eq!(
            plan_change(&enabled(), &observed, &[], None).teams,
            vec![grant.clone()]
        );
        assert!(plan_change(&enabled(), &observed, &[grant], None).is_empty());
    }

    #[test]
    fn a_device_is_created_only_by_teamline_and_only_when_missing() {
        let plan =
            |d: DeviceFacts| plan_change(&disabled(), &ObservedVoice::default(), &[], Some(&d)).pbx;
        assert!(
            plan(device(false, Some(false))).is_empty(),
            "the admin's own device"
        );
        assert!(
            plan(device(true, Some(true))).is_empty(),
            "already on the PBX"
        );
        assert!(
            plan(device(true, None)).is_empty(),
            "the PBX could not be asked"
        );
        assert_eq!(plan(device(true, Some(false))).len(), 1);
    }
}
