//! Directory changes made by a test: users created, changed and deleted, group membership,
//! and a domain's DNS record published. Each is recorded for delta queries as Microsoft's own
//! changes would be.

use std::sync::Arc;

use super::{ControlError, NewUser, TenantControl, UserPatch};
use crate::microsoft::demo;
use crate::microsoft::model::{CapabilityStatus, Change, Member, Removal, Tenant, now_unix};
use crate::microsoft::seed;

impl TenantControl {
    /// Creates a user; returns its object id.
    pub fn add_user(&self, new: NewUser) -> Result<String, ControlError> {
        self.with(|t| {
            if new.user_principal_name.is_empty() || !new.user_principal_name.contains('@') {
                return Err(ControlError::Invalid(
                    "userPrincipalName must look like name@domain".into(),
                ));
            }
            if t.user_by_upn
                .contains_key(&new.user_principal_name.to_lowercase())
            {
                return Err(ControlError::DuplicateUser(new.user_principal_name.clone()));
            }
            let pw: Arc<str> = Arc::from(new.password.as_deref().unwrap_or(demo::USER_PASSWORD));
            let name = if new.display_name.is_empty() {
                new.user_principal_name.clone()
            } else {
                new.display_name.clone()
            };
            let mut u = seed::new_user(&t.id, &new.user_principal_name, &name, pw);
            u.account_enabled = new.account_enabled.unwrap_or(true);
            u.guest = new.guest;
            u.created = now_unix();
            u.plans = new
                .plans
                .iter()
                .map(|p| seed::plan(p, CapabilityStatus::Enabled))
                .collect();
            for p in &mut u.plans {
                p.assigned = u.created;
            }
            let mut groups = Vec::new();
            for g in &new.groups {
                groups.push(
                    t.group_idx(g)
                        .or_else(|| t.group_by_name(g))
                        .ok_or_else(|| ControlError::UnknownGroup(g.clone()))?,
                );
            }
            let id = u.id.clone();
            let idx = t.add_user(u);
            for g in groups {
                t.add_member(g, Member::User(idx));
            }
            Ok(id)
        })
    }

    /// Changes a user (recorded for delta).
    pub fn update_user(&self, user: &str, patch: UserPatch) -> Result<(), ControlError> {
        self.with(|t| {
            let idx = t
                .user_idx(user)
                .ok_or_else(|| ControlError::UnknownUser(user.to_string()))?;
            let mut props: Vec<&'static str> = Vec::new();
            let u = t.user_mut(idx);
            if let Some(n) = patch.display_name {
                u.display_name = n;
                props.push("displayName");
            }
            if let Some(e) = patch.account_enabled {
                u.account_enabled = e;
                props.push("accountEnabled");
            }
            if let Some(g) = patch.guest {
                u.guest = g;
                props.push("userType");
            }
            if let Some(p) = patch.password {
                u.password = Arc::from(p.as_str());
            }
            if let Some(plans) = patch.plans {
                let now = now_unix();
                u.plans = plans
                    .iter()
                    .map(|p| {
                        let mut plan = seed::plan(&p.service_plan_id, p.capability_status);
                        plan.assigned = now;
                        plan
                    })
                    .collect();
                props.push("assignedPlans");
                props.push("assignedLicenses");
            }
            if !props.is_empty() {
                t.record(Change::User(idx, props));
            }
            Ok(())
        })
    }

    /// Deletes a user: soft (`@removed` reason `changed`) or hard (`deleted`).
    pub fn delete_user(&self, user: &str, hard: bool) -> Result<(), ControlError> {
        self.with(|t| {
            let idx = t
                .user_idx(user)
                .ok_or_else(|| ControlError::UnknownUser(user.to_string()))?;
            t.user_mut(idx).deleted = Some(if hard {
                Removal::Deleted
            } else {
                Removal::Changed
            });
            let numbers: Vec<String> = t
                .user(idx)
                .teams
                .numbers
                .iter()
                .map(|n| n.number.clone())
                .collect();
            for n in numbers {
                t.numbers.remove(&n);
            }
            t.record(Change::User(idx, Vec::new()));
            for g in t.member_of(Member::User(idx)) {
                t.remove_member(g, Member::User(idx));
            }
            Ok(())
        })
    }

    fn member_ref(t: &Tenant, key: &str) -> Option<Member> {
        t.user_idx(key).map(Member::User).or_else(|| {
            t.group_idx(key)
                .or_else(|| t.group_by_name(key))
                .map(Member::Group)
        })
    }

    /// Creates a security group (recorded for delta); returns its object id.
    pub fn add_group(&self, name: &str) -> Result<String, ControlError> {
        self.with(|t| {
            if name.trim().is_empty() || t.group_by_name(name).is_some() {
                return Err(ControlError::Invalid(format!(
                    "a group needs a new, non-empty name ('{name}')"
                )));
            }
            let domain = t.default_domain().to_owned();
            let mut g = seed::new_group(&t.id, name, false, "", &domain);
            g.created = now_unix();
            let id = g.id.clone();
            t.add_group(g);
            Ok(id)
        })
    }

    /// Adds a user or group (id, UPN or group name) to a group (id or name).
    pub fn add_group_member(&self, group: &str, member: &str) -> Result<bool, ControlError> {
        self.with(|t| {
            let g = t
                .group_idx(group)
                .or_else(|| t.group_by_name(group))
                .ok_or_else(|| ControlError::UnknownGroup(group.to_string()))?;
            let m = Self::member_ref(t, member)
                .ok_or_else(|| ControlError::UnknownUser(member.to_string()))?;
            if m == Member::Group(g) {
                return Err(ControlError::Invalid(
                    "a group cannot contain itself".into(),
                ));
            }
            Ok(t.add_member(g, m))
        })
    }

    /// Removes a member from a group.
    pub fn remove_group_member(&self, group: &str, member: &str) -> Result<bool, ControlError> {
        self.with(|t| {
            let g = t
                .group_idx(group)
                .or_else(|| t.group_by_name(group))
                .ok_or_else(|| ControlError::UnknownGroup(group.to_string()))?;
            let m = Self::member_ref(t, member)
                .ok_or_else(|| ControlError::UnknownUser(member.to_string()))?;
            Ok(t.remove_member(g, m))
        })
    }

    /// How many distinct users are members (directly or through nesting) of any of these
    /// groups (ids or names): the scope a sync of exactly these groups must end with.
    pub fn union_user_count(&self, groups: &[String]) -> Result<usize, ControlError> {
        self.with(|t| {
            let mut seen = std::collections::HashSet::new();
            for group in groups {
                let g = t
                    .group_idx(group)
                    .or_else(|| t.group_by_name(group))
                    .ok_or_else(|| ControlError::UnknownGroup(group.to_string()))?;
                for m in t.transitive_members(g).iter() {
                    if let Member::User(u) = m {
                        seen.insert(*u);
                    }
                }
            }
            Ok(seen.len())
        })
    }

    /// Object id of a user (by id or UPN).
    pub fn user_id(&self, user: &str) -> Option<String> {
        self.with(|t| t.user_idx(user).map(|i| t.user(i).id.clone()))
    }

    /// A user's usage location (by id or UPN); `None` for no such user or none set.
    pub fn user_usage_location(&self, user: &str) -> Option<String> {
        self.with(|t| {
            t.user_idx(user)
                .and_then(|i| t.user(i).usage_location.clone())
        })
    }

    /// Object id of a group (by id or display name).
    pub fn group_id(&self, group: &str) -> Option<String> {
        self.with(|t| {
            t.group_idx(group)
                .or_else(|| t.group_by_name(group))
                .map(|i| t.group(i).id.clone())
        })
    }

    /// Marks a domain's TXT verification record as published in DNS.
    pub fn publish_dns(&self, domain: &str) -> Result<(), ControlError> {
        self.with(|t| {
            let d = t
                .domains
                .iter_mut()
                .find(|d| d.id.eq_ignore_ascii_case(domain))
                .ok_or_else(|| ControlError::UnknownDomain(domain.to_string()))?;
            d.dns_published = true;
            Ok(())
        })
    }
}
