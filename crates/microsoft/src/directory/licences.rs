//! Licences as Teamline needs them: decided from `assignedPlans` (service-plan level), not
//! from SKUs, because Teams Phone can come from E5, from an add-on, or from many bundles.

use time::{Duration, OffsetDateTime};

/// Service plan ids (the same in every tenant).
pub mod plans {
    /// Microsoft Teams (`TEAMS1`).
    pub const TEAMS: &str = "57ff2da0-773e-42df-b2af-ffb7a2317929";
    /// Teams Phone / Phone System (`MCOEV`).
    pub const TEAMS_PHONE: &str = "4828c8ec-dc2e-4779-b502-87ac9ce28ab7";
    /// Teams Phone for resource accounts (`MCOEV_VIRTUALUSER`).
    pub const TEAMS_PHONE_RESOURCE_ACCOUNT: &str = "f47330e9-c134-43b3-9993-e7f004506889";
    /// Microsoft Calling Plans (`MCOPSTN1` domestic, `MCOPSTN2` domestic and international,
    /// `MCOPSTN5` domestic 120 minutes). A Calling Plan conflicts with Direct Routing.
    pub const CALLING_PLANS: [&str; 3] = [
        "4ed3ff63-69d7-4fb7-b984-5aec7f605ca8",
        "5a10155d-f5c1-411a-a8ec-e99aae125390",
        "54a152dc-90de-4996-93d2-bc47e670fc06",
    ];
}

/// How long Microsoft says a licence change can take to reach Teams.
pub const PROPAGATION_WINDOW: Duration = Duration::hours(48);

/// `capabilityStatus` of an assigned service plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PlanStatus {
    /// Usable.
    Enabled,
    /// In its grace period after the subscription lapsed.
    Warning,
    /// Suspended (e.g. unpaid).
    Suspended,
    /// Removed, or switched off inside the SKU.
    Deleted,
    /// Locked out.
    LockedOut,
    /// A status this client does not know.
    Other(String),
}

impl PlanStatus {
    pub(crate) fn parse(s: &str) -> Self {
        match s {
            "Enabled" => Self::Enabled,
            "Warning" => Self::Warning,
            "Suspended" => Self::Suspended,
            "Deleted" => Self::Deleted,
            "LockedOut" => Self::LockedOut,
            other => Self::Other(other.to_owned()),
        }
    }

    fn rank(&self) -> u8 {
        match self {
            Self::Enabled => 0,
            Self::Warning => 1,
            Self::Suspended | Self::LockedOut => 2,
            Self::Other(_) => 3,
            Self::Deleted => 4,
        }
    }

    /// The status as Microsoft spells it.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Enabled => "Enabled",
            Self::Warning => "Warning",
            Self::Suspended => "Suspended",
            Self::Deleted => "Deleted",
            Self::LockedOut => "LockedOut",
            Self::Other(s) => s,
        }
    }
}

/// One service plan as assigned to a user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanAssignment {
    /// Its state.
    pub status: PlanStatus,
    /// When it was assigned, if Microsoft says.
    pub assigned_at: Option<OffsetDateTime>,
}

/// The licences of a user that matter to Teamline.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Licences {
    /// Microsoft Teams.
    pub teams: Option<PlanAssignment>,
    /// Teams Phone.
    pub teams_phone: Option<PlanAssignment>,
    /// A Microsoft Calling Plan (conflicts with Direct Routing).
    pub calling_plan: Option<PlanAssignment>,
    /// Teams Phone for resource accounts (auto attendants, call queues).
    pub resource_account_phone: Option<PlanAssignment>,
}

/// Why a user's licences keep them from being a Teamline user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LicenceProblem {
    /// No Microsoft Teams plan.
    NoTeams,
    /// The Teams plan is assigned but not enabled.
    TeamsNotEnabled(PlanStatus),
    /// No Teams Phone plan.
    NoTeamsPhone,
    /// The Teams Phone plan is assigned but not enabled.
    TeamsPhoneNotEnabled(PlanStatus),
    /// A Microsoft Calling Plan is enabled, which conflicts with Direct Routing.
    CallingPlanAssigned,
}

impl std::fmt::Display for LicenceProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NoTeams => f.write_str("no Microsoft Teams licence"),
            Self::TeamsNotEnabled(s) => write!(f, "the Microsoft Teams licence is {}", s.as_str()),
            Self::NoTeamsPhone => f.write_str("no Teams Phone licence"),
            Self::TeamsPhoneNotEnabled(s) => write!(f, "the Teams Phone licence is {}", s.as_str()),
            Self::CallingPlanAssigned => f.write_str(
                "a Microsoft Calling Plan is assigned, which conflicts with Direct Routing",
            ),
        }
    }
}

impl Licences {
    /// Builds the licences from `(servicePlanId, capabilityStatus, assignedDateTime)` rows.
    /// A plan that appears several times (from several SKUs) keeps its best status.
    pub(crate) fn from_plans<'a>(
        rows: impl IntoIterator<Item = (&'a str, &'a str, Option<OffsetDateTime>)>,
    ) -> Self {
        let mut l = Self::default();
        for (plan, status, at) in rows {
            let plan = plan.to_ascii_lowercase();
            let slot = if plan == plans::TEAMS {
                &mut l.teams
            } else if plan == plans::TEAMS_PHONE {
                &mut l.teams_phone
            } else if plan == plans::TEAMS_PHONE_RESOURCE_ACCOUNT {
                &mut l.resource_account_phone
            } else if plans::CALLING_PLANS.contains(&plan.as_str()) {
                &mut l.calling_plan
            } else {
                continue;
            };
            let candidate = PlanAssignment {
                status: PlanStatus::parse(status),
                assigned_at: at,
            };
            *slot = Some(match slot.take() {
                None => candidate,
                Some(current) => better(current, candidate),
            });
        }
        l
    }

    /// What keeps the user from being eligible; empty when eligible.
    pub fn problems(&self) -> Vec<LicenceProblem> {
        let mut p = Vec::new();
        match &self.teams {
            None => p.push(LicenceProblem::NoTeams),
            Some(a) if a.status != PlanStatus::Enabled => {
                p.push(LicenceProblem::TeamsNotEnabled(a.status.clone()))
            }
            Some(_) => {}
        }
        match &self.teams_phone {
            None => p.push(LicenceProblem::NoTeamsPhone),
            Some(a) if a.status != PlanStatus::Enabled => {
                p.push(LicenceProblem::TeamsPhoneNotEnabled(a.status.clone()))
            }
            Some(_) => {}
        }
        if self
            .calling_plan
            .as_ref()
            .is_some_and(|a| a.status == PlanStatus::Enabled)
        {
            p.push(LicenceProblem::CallingPlanAssigned);
        }
        p
    }

    /// Teams and Teams Phone enabled, and no Calling Plan.
    pub fn is_eligible(&self) -> bool {
        self.problems().is_empty()
    }

    /// Whether Teams or Teams Phone was assigned within the last 48 hours, so Teams may not
    /// know about it yet.
    pub fn may_still_be_propagating(&self, now: OffsetDateTime) -> bool {
        [&self.teams, &self.teams_phone]
            .into_iter()
            .flatten()
            .any(|a| {
                a.assigned_at
                    .is_some_and(|at| now - at < PROPAGATION_WINDOW)
            })
    }
}

fn better(a: PlanAssignment, b: PlanAssignment) -> PlanAssignment {
    match a.status.rank().cmp(&b.status.rank()) {
        std::cmp::Ordering::Less => a,
        std::cmp::Ordering::Greater => b,
        // Same status: the earliest assignment says since when the user has had it.
        std::cmp::Ordering::Equal => match (a.assigned_at, b.assigned_at) {
            (Some(x), Some(y)) if y < x => b,
            (None, Some(_)) => b,
            _ => a,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn teams_and_teams_phone_enabled_is_eligible() {
        let l = Licences::from_plans([
            (
                plans::TEAMS_PHONE,
                "Enabled",
                Some(datetime!(2024-01-07 09:08:50 UTC)),
            ),
            (plans::TEAMS, "Enabled", None),
            ("0feaeb32-d00e-4d66-bd5a-43b5b83db82c", "Enabled", None),
        ]);
        assert!(l.is_eligible());
    }

    #[test]
    fn suspended_phone_and_calling_plan_are_problems() {
        let l = Licences::from_plans([
            (plans::TEAMS, "Enabled", None),
            (plans::TEAMS_PHONE, "Suspended", None),
            (plans::CALLING_PLANS[0], "Enabled", None),
        ]);
        assert_eq!(
            l.problems(),
            vec![
                LicenceProblem::TeamsPhoneNotEnabled(PlanStatus::Suspended),
                LicenceProblem::CallingPlanAssigned
            ]
        );
    }

    #[test]
    fn a_plan_enabled_in_any_sku_counts_as_enabled() {
        let l = Licences::from_plans([
            (plans::TEAMS, "Enabled", None),
            (plans::TEAMS_PHONE, "Deleted", None),
            (plans::TEAMS_PHONE, "Enabled", None),
        ]);
        assert!(l.is_eligible());
    }

    #[test]
    fn recent_assignment_may_still_be_propagating() {
        let l = Licences::from_plans([
            (
                plans::TEAMS,
                "Enabled",
                Some(datetime!(2024-01-01 00:00 UTC)),
            ),
            (
                plans::TEAMS_PHONE,
                "Enabled",
                Some(datetime!(2024-03-01 10:00 UTC)),
            ),
        ]);
        assert!(l.may_still_be_propagating(datetime!(2024-03-02 09:00 UTC)));
        assert!(!l.may_still_be_propagating(datetime!(2024-03-04 09:00 UTC)));
    }
}
