//! Directory objects of a tenant (users with their service plans, groups with nested
//! membership, domains) and the tenant's operations on them. Every change is recorded in the
//! change log for delta queries.

use std::collections::HashSet;
use std::sync::Arc;

use super::voice::TeamsUser;
use super::{Change, Tenant, well_known};

/// Status of an assigned service plan (`assignedPlans[].capabilityStatus`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum CapabilityStatus {
    Enabled,
    Warning,
    Suspended,
    Deleted,
    LockedOut,
}

impl CapabilityStatus {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Enabled => "Enabled",
            Self::Warning => "Warning",
            Self::Suspended => "Suspended",
            Self::Deleted => "Deleted",
            Self::LockedOut => "LockedOut",
        }
    }
}

/// One service plan assigned to a user.
#[derive(Clone, Debug)]
pub(crate) struct AssignedPlan {
    pub plan_id: Arc<str>,
    pub service: Arc<str>,
    pub status: CapabilityStatus,
    pub assigned: i64,
}

/// How a user or group left the directory, as `@removed.reason` in delta responses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Removal {
    /// Soft-deleted (in deleted items, restorable): reason `changed`.
    Changed,
    /// Permanently deleted: reason `deleted`.
    Deleted,
}

/// A user object.
#[derive(Clone, Debug)]
pub(crate) struct User {
    pub id: String,
    pub upn: String,
    pub display_name: String,
    pub given_name: Option<String>,
    pub surname: Option<String>,
    pub mail: Option<String>,
    pub account_enabled: bool,
    pub guest: bool,
    pub usage_location: Option<String>,
    pub created: i64,
    pub plans: Vec<AssignedPlan>,
    pub password: Arc<str>,
    /// Active directory roles (template ids), as `wids` and `memberOf` show them.
    pub wids: Vec<String>,
    /// Roles the user may activate through Privileged Identity Management but has not.
    pub eligible_roles: Vec<String>,
    pub resource_account: bool,
    pub deleted: Option<Removal>,
    pub teams: TeamsUser,
}

impl User {
    pub(crate) fn user_type(&self) -> &'static str {
        if self.guest { "Guest" } else { "Member" }
    }

    pub(crate) fn has_enabled_plan(&self, plan_id: &str) -> bool {
        self.plans
            .iter()
            .any(|p| &*p.plan_id == plan_id && p.status == CapabilityStatus::Enabled)
    }

    pub(crate) fn is_admin_for_consent(&self) -> bool {
        self.wids.iter().any(|w| {
            w == well_known::ROLE_GLOBAL_ADMIN || w == well_known::ROLE_PRIVILEGED_ROLE_ADMIN
        })
    }

    /// Teams features derived from the enabled plans (`featureTypes`).
    pub(crate) fn feature_types(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.has_enabled_plan(well_known::PLAN_TEAMS1) {
            out.push("Teams");
        }
        if self.has_enabled_plan(well_known::PLAN_MCOEV)
            || self.has_enabled_plan(well_known::PLAN_MCOEV_VIRTUALUSER)
        {
            out.push("PhoneSystem");
        }
        if self.has_enabled_plan(well_known::PLAN_MCOPSTN1) {
            out.push("CallingPlan");
        }
        out
    }

    /// `accountType` of `userConfigurations`.
    pub(crate) fn account_type(&self) -> &'static str {
        if self.resource_account {
            "resourceAccount"
        } else if self.guest {
            "guest"
        } else if self.feature_types().is_empty() {
            "ineligibleUser"
        } else {
            "user"
        }
    }
}

/// A member of a group: a user or a nested group (indices into the tenant's vectors).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Member {
    User(u32),
    Group(u32),
}

/// A group object.
#[derive(Clone, Debug)]
pub(crate) struct Group {
    pub id: String,
    pub display_name: String,
    pub description: Option<String>,
    pub mail_nickname: String,
    pub mail: Option<String>,
    pub mail_enabled: bool,
    pub security_enabled: bool,
    pub group_types: Vec<String>,
    pub members: Vec<Member>,
    pub member_set: HashSet<Member>,
    pub created: i64,
    pub deleted: Option<Removal>,
}

/// A domain of a tenant.
#[derive(Clone, Debug)]
pub(crate) struct Domain {
    pub id: String,
    pub is_default: bool,
    pub is_initial: bool,
    pub is_verified: bool,
    pub supported_services: Vec<String>,
    pub verification_code: String,
    /// Whether the TXT record `MS=...` is "published" in DNS (see the control API).
    pub dns_published: bool,
    /// When a DNS lookup first found the TXT record (with a configured nameserver).
    pub dns_seen_at: Option<std::time::Instant>,
}

impl Tenant {
    // ----- users -----

    /// Index of a live user by object id or UPN (case-insensitive).
    pub(crate) fn user_idx(&self, key: &str) -> Option<u32> {
        let idx = self
            .user_by_id
            .get(&key.to_ascii_lowercase())
            .or_else(|| self.user_by_upn.get(&key.to_lowercase()))
            .copied()?;
        let user = self.users.get(idx as usize)?;
        user.deleted.is_none().then_some(idx)
    }

    pub(crate) fn user(&self, idx: u32) -> &User {
        &self.users[idx as usize]
    }

    pub(crate) fn user_mut(&mut self, idx: u32) -> &mut User {
        &mut self.users[idx as usize]
    }

    /// Adds a user; records the creation for delta.
    pub(crate) fn add_user(&mut self, user: User) -> u32 {
        let idx = self.users.len() as u32;
        self.user_by_id.insert(user.id.to_ascii_lowercase(), idx);
        self.user_by_upn.insert(user.upn.to_lowercase(), idx);
        self.users.push(user);
        self.record(Change::User(idx, Vec::new()));
        idx
    }

    // ----- groups -----

    pub(crate) fn group_idx(&self, key: &str) -> Option<u32> {
        let idx = *self.group_by_id.get(&key.to_ascii_lowercase())?;
        self.groups
            .get(idx as usize)
            .filter(|g| g.deleted.is_none())
            .map(|_| idx)
    }

    pub(crate) fn group_by_name(&self, name: &str) -> Option<u32> {
        self.groups
            .iter()
            .position(|g| g.deleted.is_none() && g.display_name.eq_ignore_ascii_case(name))
            .map(|i| i as u32)
    }

    pub(crate) fn group(&self, idx: u32) -> &Group {
        &self.groups[idx as usize]
    }

    pub(crate) fn add_group(&mut self, group: Group) -> u32 {
        let idx = self.groups.len() as u32;
        self.group_by_id.insert(group.id.to_ascii_lowercase(), idx);
        self.groups.push(group);
        self.record(Change::Group(idx));
        idx
    }

    /// Adds a member; returns false when it already was one.
    pub(crate) fn add_member(&mut self, group: u32, member: Member) -> bool {
        let g = &mut self.groups[group as usize];
        if !g.member_set.insert(member) {
            return false;
        }
        g.members.push(member);
        self.record(Change::Membership {
            group,
            member,
            added: true,
        });
        true
    }

    /// Removes a member; returns false when it was not one.
    pub(crate) fn remove_member(&mut self, group: u32, member: Member) -> bool {
        let g = &mut self.groups[group as usize];
        if !g.member_set.remove(&member) {
            return false;
        }
        g.members.retain(|m| *m != member);
        self.record(Change::Membership {
            group,
            member,
            added: false,
        });
        true
    }

    /// Members of a group including those of nested groups (users and groups), each once, in a
    /// stable order. Cached until the next membership change.
    pub(crate) fn transitive_members(&mut self, group: u32) -> Arc<Vec<Member>> {
        if let Some((version, members)) = self.transitive_cache.get(&group)
            && *version == self.membership_version
        {
            return members.clone();
        }
        let mut out = Vec::new();
        let mut seen_users = vec![false; self.users.len()];
        let mut seen_groups = vec![false; self.groups.len()];
        seen_groups[group as usize] = true;
        let mut stack = vec![(group, 0usize)];
        while let Some((g, pos)) = stack.pop() {
            let grp = &self.groups[g as usize];
            let Some(&member) = grp.members.get(pos) else {
                continue;
            };
            stack.push((g, pos + 1));
            match member {
                Member::User(u) => {
                    let seen = &mut seen_users[u as usize];
                    if !*seen && self.users[u as usize].deleted.is_none() {
                        *seen = true;
                        out.push(member);
                    }
                }
                Member::Group(child) => {
                    let seen = &mut seen_groups[child as usize];
                    if !*seen && self.groups[child as usize].deleted.is_none() {
                        *seen = true;
                        out.push(member);
                        stack.push((child, 0));
                    }
                }
            }
        }
        let out = Arc::new(out);
        self.transitive_cache
            .insert(group, (self.membership_version, out.clone()));
        out
    }

    /// Live direct members of a group.
    pub(crate) fn direct_members(&self, group: u32) -> Vec<Member> {
        self.groups[group as usize]
            .members
            .iter()
            .copied()
            .filter(|m| self.member_alive(*m))
            .collect()
    }

    pub(crate) fn member_alive(&self, m: Member) -> bool {
        match m {
            Member::User(u) => self.users[u as usize].deleted.is_none(),
            Member::Group(g) => self.groups[g as usize].deleted.is_none(),
        }
    }

    /// Groups that directly contain `member`.
    pub(crate) fn member_of(&self, member: Member) -> Vec<u32> {
        self.groups
            .iter()
            .enumerate()
            .filter(|(_, g)| g.deleted.is_none() && g.member_set.contains(&member))
            .map(|(i, _)| i as u32)
            .collect()
    }

    /// Groups that contain `member` directly or through nesting.
    pub(crate) fn transitive_member_of(&self, member: Member) -> Vec<u32> {
        let mut out: Vec<u32> = Vec::new();
        let mut frontier = self.member_of(member);
        while let Some(g) = frontier.pop() {
            if out.contains(&g) {
                continue;
            }
            out.push(g);
            frontier.extend(self.member_of(Member::Group(g)));
        }
        out.sort_unstable();
        out
    }
}
