//! Teamline's Direct Routing set-up of one SBC region in an enterprise's tenant, as the steps
//! the portals show: each step's state, what it did, and Microsoft's own words when it failed
//! or is waited on. Every step is idempotent, so the whole set-up can run again at any time.

use crate::ids::SbcRegionId;
use serde::{Deserialize, Serialize};

/// The steps, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SetupStep {
    /// A spare licence of a SKU with Teams Phone, for the activation user.
    LicenceCheck,
    AddSubdomain,
    PublishTxt,
    VerifyDomain,
    /// A licensed user in the subdomain, which Microsoft needs before it routes calls for it.
    ActivationUser,
    PstnGateway,
    PstnUsage,
    VoiceRoute,
    VoiceRoutingPolicy,
    DialPlan,
    CallerIdPolicy,
    CallingPolicy,
    SyncVoiceRoutes,
}

impl SetupStep {
    pub const ALL: [SetupStep; 13] = [
        Self::LicenceCheck,
        Self::AddSubdomain,
        Self::PublishTxt,
        Self::VerifyDomain,
        Self::ActivationUser,
        Self::PstnGateway,
        Self::PstnUsage,
        Self::VoiceRoute,
        Self::VoiceRoutingPolicy,
        Self::DialPlan,
        Self::CallerIdPolicy,
        Self::CallingPolicy,
        Self::SyncVoiceRoutes,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Self::LicenceCheck => "Licence check (a spare licence for the activation user)",
            Self::AddSubdomain => "Add the tenant's subdomain",
            Self::PublishTxt => "Publish its TXT verification record",
            Self::VerifyDomain => "Verify the subdomain",
            Self::ActivationUser => "Create and license the activation user",
            Self::PstnGateway => "SBC (online PSTN gateway)",
            Self::PstnUsage => "PSTN usage",
            Self::VoiceRoute => "Voice route",
            Self::VoiceRoutingPolicy => "Voice routing policy",
            Self::DialPlan => "Enterprise dial plan",
            Self::CallerIdPolicy => "Caller ID policy",
            Self::CallingPolicy => "Calling policy",
            Self::SyncVoiceRoutes => "Sync Voice Routes",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepState {
    /// Not reached yet.
    Pending,
    Done,
    /// Waiting on Microsoft (e.g. DNS propagation); the set-up resumes by itself.
    Waiting,
    /// Failed; the detail is Microsoft's (or the DNS server's) answer.
    Failed,
}

impl StepState {
    pub fn label(self) -> &'static str {
        match self {
            Self::Pending => "Pending",
            Self::Done => "Done",
            Self::Waiting => "Waiting for Microsoft",
            Self::Failed => "Failed",
        }
    }
}

/// One step as last recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepStatus {
    pub step: SetupStep,
    pub state: StepState,
    /// What was done ("created", "already there") or what went wrong.
    pub detail: Option<String>,
    pub at_ms: Option<i64>,
}

/// The set-up of one region in one tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectRoutingSetup {
    pub region_id: SbcRegionId,
    pub steps: Vec<StepStatus>,
    pub updated_ms: i64,
}

impl DirectRoutingSetup {
    /// A set-up about to run: every step pending.
    pub fn new(region_id: SbcRegionId) -> Self {
        Self {
            region_id,
            steps: SetupStep::ALL
                .iter()
                .map(|&step| StepStatus {
                    step,
                    state: StepState::Pending,
                    detail: None,
                    at_ms: None,
                })
                .collect(),
            updated_ms: 0,
        }
    }

    /// Records how `step` went.
    pub fn record(&mut self, step: SetupStep, state: StepState, detail: Option<String>, now: i64) {
        let status = StepStatus {
            step,
            state,
            detail,
            at_ms: Some(now),
        };
        match self.steps.iter_mut().find(|s| s.step == step) {
            Some(s) => *s = status,
            // A set-up stored before this step existed: it takes its place in the order.
            None => {
                let rank = |s: SetupStep| SetupStep::ALL.iter().position(|&x| x == s);
                let at = self
                    .steps
                    .iter()
                    .position(|s| rank(s.step) > rank(step))
                    .unwrap_or(self.steps.len());
                self.steps.insert(at, status);
            }
        }
        self.updated_ms = now;
    }

    pub fn is_complete(&self) -> bool {
        self.steps.iter().all(|s| s.state == StepState::Done)
    }

    /// The overall state, as one word for lists.
    pub fn summary(&self) -> StepState {
        if self.is_complete() {
            StepState::Done
        } else if self.steps.iter().any(|s| s.state == StepState::Failed) {
            StepState::Failed
        } else if self.steps.iter().any(|s| s.state == StepState::Waiting) {
            StepState::Waiting
        } else {
            StepState::Pending
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_setup_is_pending_until_every_step_is_done() {
        let mut s = DirectRoutingSetup::new(SbcRegionId(1));
        assert_eq!(s.summary(), StepState::Pending);
        s.record(
            SetupStep::VerifyDomain,
            StepState::Waiting,
            Some("not yet".into()),
            5,
        );
        assert_eq!(s.summary(), StepState::Waiting);
        for step in SetupStep::ALL {
            s.record(step, StepState::Done, None, 6);
        }
        assert!(s.is_complete());
        assert_eq!(s.updated_ms, 6);
    }

    #[test]
    fn a_setup_stored_before_a_step_existed_takes_it_in_order() {
        let mut s = DirectRoutingSetup::new(SbcRegionId(1));
        s.steps.retain(|x| x.step != SetupStep::ActivationUser);
        s.record(SetupStep::ActivationUser, StepState::Done, None, 7);
        let order: Vec<_> = s.steps.iter().map(|x| x.step).collect();
        assert_eq!(order, SetupStep::ALL);
    }
}
