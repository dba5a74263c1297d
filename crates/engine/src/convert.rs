//! Translations between the Microsoft client's types and the domain's.

use teamline_domain::teams_user::{Licences, PlanState, TeamsUser, UserType};
use teamline_domain::teams_voice::{ObservedVoice, PolicyType};
use teamline_microsoft::directory::licences::{Licences as MsLicences, PlanAssignment, PlanStatus};
use teamline_microsoft::directory::{DirectoryUser, UserDelta, UserType as MsUserType};
use teamline_microsoft::voice::{PolicyType as MsPolicyType, UserVoiceConfig};
use teamline_store::TeamsUserUpsert;

pub fn policy_type(p: PolicyType) -> MsPolicyType {
    match p {
        PolicyType::OnlineVoiceRoutingPolicy => MsPolicyType::OnlineVoiceRoutingPolicy,
        PolicyType::TenantDialPlan => MsPolicyType::TenantDialPlan,
        PolicyType::TeamsCallingPolicy => MsPolicyType::TeamsCallingPolicy,
        PolicyType::CallingLineIdentity => MsPolicyType::CallingLineIdentity,
    }
}

fn plan_state(plan: &Option<PlanAssignment>) -> PlanState {
    match plan.as_ref().map(|p| &p.status) {
        None => PlanState::Missing,
        Some(PlanStatus::Enabled | PlanStatus::Warning) => PlanState::Enabled,
        Some(PlanStatus::Deleted) => PlanState::Deleted,
        Some(_) => PlanState::Suspended,
    }
}

fn ms(t: Option<time::OffsetDateTime>) -> Option<i64> {
    t.and_then(|t| i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok())
}

pub fn licences(l: &MsLicences) -> Licences {
    Licences {
        teams: plan_state(&l.teams),
        teams_phone: plan_state(&l.teams_phone),
        calling_plan: l
            .calling_plan
            .as_ref()
            .is_some_and(|p| matches!(p.status, PlanStatus::Enabled | PlanStatus::Warning)),
        teams_phone_assigned_at_ms: ms(l.teams_phone.as_ref().and_then(|p| p.assigned_at)),
    }
}

pub fn user_type(u: &DirectoryUser) -> UserType {
    if u.licences.resource_account_phone.is_some() {
        return UserType::ResourceAccount;
    }
    match &u.user_type {
        MsUserType::Member => UserType::Member,
        MsUserType::Guest | MsUserType::Other(_) => UserType::Guest,
    }
}

/// A directory user as the store keeps it. `sync_groups` are the sync groups it was found in.
pub fn teams_user(u: &DirectoryUser, sync_groups: Vec<String>, in_scope: bool) -> TeamsUserUpsert {
    TeamsUserUpsert {
        object_id: u.id.clone(),
        upn: u.user_principal_name.clone(),
        display_name: if u.display_name.is_empty() {
            u.user_principal_name.clone()
        } else {
            u.display_name.clone()
        },
        account_enabled: u.account_enabled,
        user_type: user_type(u),
        licences: licences(&u.licences),
        sync_groups,
        in_scope,
    }
}

/// A delta change applied to a user Teamline already knows: Microsoft may send only the
/// fields that changed. Scope and sync groups stay as they are (the groups delta moves them).
pub fn merge_delta(stored: &TeamsUser, d: &UserDelta) -> TeamsUserUpsert {
    let licences = d.licences.as_ref().map(licences).unwrap_or(stored.licences);
    let resource = d
        .licences
        .as_ref()
        .map(|l| l.resource_account_phone.is_some());
    let user_type = match (resource, &d.user_type) {
        (Some(true), _) => UserType::ResourceAccount,
        (_, Some(MsUserType::Member)) => UserType::Member,
        (_, Some(MsUserType::Guest | MsUserType::Other(_))) => UserType::Guest,
        (Some(false), None) if stored.user_type == UserType::ResourceAccount => UserType::Member,
        _ => stored.user_type,
    };
    let upn = d
        .user_principal_name
        .clone()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| stored.upn.clone());
    let display_name = match &d.display_name {
        Some(n) if !n.is_empty() => n.clone(),
        Some(_) => upn.clone(),
        None => stored.display_name.clone(),
    };
    TeamsUserUpsert {
        object_id: stored.object_id.clone(),
        upn,
        display_name,
        account_enabled: d.account_enabled.unwrap_or(stored.account_enabled),
        user_type,
        licences,
        sync_groups: stored.sync_groups.clone(),
        in_scope: stored.in_scope,
    }
}

/// What Microsoft holds for a user, in the planner's terms. A policy shown as Global (no
/// assignment) is `None`; a custom policy's `Tag:` prefix is dropped.
pub fn observed(cfg: &UserVoiceConfig, now_ms: i64) -> ObservedVoice {
    let policies = PolicyType::ALL
        .into_iter()
        .map(|t| {
            let name = cfg.policy_name(policy_type(t));
            let name = name.strip_prefix("Tag:").unwrap_or(name);
            let value =
                (!name.is_empty() && !name.eq_ignore_ascii_case("Global")).then(|| name.to_owned());
            (t, value)
        })
        .collect();
    ObservedVoice {
        enterprise_voice: cfg.enterprise_voice_enabled,
        numbers: cfg
            .telephone_numbers
            .iter()
            .map(|n| n.number.clone())
            .collect(),
        policies,
        read_at_ms: now_ms,
    }
}
