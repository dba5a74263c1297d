//! Teams users as synced from Microsoft (read-only in Teamline), and who is eligible for calling.

use crate::ids::{EnterpriseId, TeamsUserId};
use serde::{Deserialize, Serialize};

/// The state of one service plan (Teams, Teams Phone) in a user's licences.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanState {
    Enabled,
    Suspended,
    /// Assigned once, since removed.
    Deleted,
    /// Never assigned.
    Missing,
}

impl PlanState {
    pub fn is_enabled(self) -> bool {
        self == Self::Enabled
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Enabled => "Enabled",
            Self::Suspended => "Suspended",
            Self::Deleted => "Removed",
            Self::Missing => "Not assigned",
        }
    }
}

/// The licences that matter for Direct Routing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Licences {
    /// Microsoft Teams (service plan TEAMS1).
    pub teams: PlanState,
    /// Teams Phone (service plan MCOEV).
    pub teams_phone: PlanState,
    /// A Microsoft Calling Plan: conflicts with Direct Routing numbers.
    pub calling_plan: bool,
    /// When Teams Phone was assigned: Microsoft may take up to 48 hours to apply a new licence.
    pub teams_phone_assigned_at_ms: Option<i64>,
}

impl Licences {
    pub const NONE: Licences = Licences {
        teams: PlanState::Missing,
        teams_phone: PlanState::Missing,
        calling_plan: false,
        teams_phone_assigned_at_ms: None,
    };
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserType {
    Member,
    Guest,
    /// A resource account (auto attendant, call queue): not a person.
    ResourceAccount,
}

impl UserType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Member => "member",
            Self::Guest => "guest",
            Self::ResourceAccount => "resource_account",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "member" => Some(Self::Member),
            "guest" => Some(Self::Guest),
            "resource_account" => Some(Self::ResourceAccount),
            _ => None,
        }
    }
}

/// A directory user as Teamline last saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamsUser {
    pub id: TeamsUserId,
    pub enterprise_id: EnterpriseId,
    /// The Entra object id (GUID), the key Microsoft uses everywhere.
    pub object_id: String,
    pub upn: String,
    pub display_name: String,
    pub account_enabled: bool,
    pub user_type: UserType,
    pub licences: Licences,
    /// Sync groups (object ids) the user is a transitive member of.
    pub sync_groups: Vec<String>,
    /// Whether the last sync found the user in scope (a sync group member, or everyone when no
    /// group is selected). Users who leave scope are kept and flagged, never deleted.
    pub in_scope: bool,
    pub last_seen_ms: i64,
    /// Set when Microsoft reported the user deleted.
    pub deleted_in_tenant: bool,
}

/// Why a Teams user cannot be chosen in SET UP PBX USER. Each reason maps to a fix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum IneligibleReason {
    DeletedInTenant,
    AccountDisabled,
    Guest,
    ResourceAccount,
    NoTeams(PlanState),
    NoTeamsPhone(PlanState),
    CallingPlanConflict,
    NotInSyncGroup,
}

impl IneligibleReason {
    /// What the admin should do, in one sentence.
    pub fn explain(&self, upn: &str) -> String {
        match self {
            Self::DeletedInTenant => format!(
                "{upn} was deleted from the Microsoft 365 tenant: restore the user in the Microsoft 365 admin center, then run Sync Teams Users"
            ),
            Self::AccountDisabled => format!(
                "{upn}'s account is blocked from signing in: unblock it in the Microsoft 365 admin center (Users → Active users → Block sign-in off)"
            ),
            Self::Guest => format!(
                "{upn} is a guest user: only member users of the tenant can be set up for calling"
            ),
            Self::ResourceAccount => format!(
                "{upn} is a resource account (auto attendant or call queue), not a person: it cannot be a PBX user"
            ),
            Self::NoTeams(state) => format!(
                "{upn} has no Microsoft Teams licence ({}): assign a licence that includes Teams in the Microsoft 365 admin center",
                state.label()
            ),
            Self::NoTeamsPhone(state) => format!(
                "{upn} has no Teams Phone licence ({}): assign one in the Microsoft 365 admin center; it can take up to 48 hours to apply",
                state.label()
            ),
            Self::CallingPlanConflict => format!(
                "{upn} has a Microsoft Calling Plan, which conflicts with Direct Routing: remove the Calling Plan licence"
            ),
            Self::NotInSyncGroup => format!(
                "{upn} is not a member of any selected sync group: add the user to the sync group (e.g. \"Teammate Sync\") and run Sync Teams Users"
            ),
        }
    }
}

impl TeamsUser {
    /// Every reason the user is not eligible (empty = eligible). SET UP PBX USER's Teams User
    /// list offers only users who can take a Direct Routing number: enabled member users (not
    /// guests or resource accounts) holding Teams and Teams Phone in state Enabled, without a
    /// Microsoft Calling Plan (it conflicts with Direct Routing), in a selected sync group, and
    /// not deleted in the tenant.
    pub fn ineligible_reasons(&self) -> Vec<IneligibleReason> {
        let mut reasons = Vec::new();
        if self.deleted_in_tenant {
            reasons.push(IneligibleReason::DeletedInTenant);
        }
        if !self.account_enabled {
            reasons.push(IneligibleReason::AccountDisabled);
        }
        match self.user_type {
            UserType::Member => {}
            UserType::Guest => reasons.push(IneligibleReason::Guest),
            UserType::ResourceAccount => reasons.push(IneligibleReason::ResourceAccount),
        }
        if !self.licences.teams.is_enabled() {
            reasons.push(IneligibleReason::NoTeams(self.licences.teams));
        }
        if !self.licences.teams_phone.is_enabled() {
            reasons.push(IneligibleReason::NoTeamsPhone(self.licences.teams_phone));
        }
        if self.licences.calling_plan {
            reasons.push(IneligibleReason::CallingPlanConflict);
        }
        if !self.in_scope {
            reasons.push(IneligibleReason::NotInSyncGroup);
        }
        reasons
    }

    pub fn is_eligible(&self) -> bool {
        self.ineligible_reasons().is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn adele() -> TeamsUser {
        TeamsUser {
            id: TeamsUserId(1),
            enterprise_id: EnterpriseId(1),
            object_id: "00000000-0000-0000-0000-000000000001".into(),
            upn: "AdeleV@contoso.example".into(),
            display_name: "Adele Vance".into(),
            account_enabled: true,
            user_type: UserType::Member,
            licences: Licences {
                teams: PlanState::Enabled,
                teams_phone: PlanState::Enabled,
                calling_plan: false,
                teams_phone_assigned_at_ms: None,
            },
            sync_groups: vec!["g".into()],
            in_scope: true,
            last_seen_ms: 0,
            deleted_in_tenant: false,
        }
    }

    #[test]
    fn eligible_user() {
        assert!(adele().is_eligible());
    }

    #[test]
    fn christie_without_teams_phone() {
        let mut u = adele();
        u.upn = "ChristieC@contoso.example".into();
        u.licences.teams_phone = PlanState::Missing;
        let reasons = u.ineligible_reasons();
        assert_eq!(
            reasons,
            vec![IneligibleReason::NoTeamsPhone(PlanState::Missing)]
        );
        assert!(reasons[0].explain(&u.upn).contains("48 hours"));
    }

    #[test]
    fn every_reason_is_reported() {
        let mut u = adele();
        u.account_enabled = false;
        u.in_scope = false;
        u.user_type = UserType::Guest;
        assert_eq!(u.ineligible_reasons().len(), 3);
    }
}
