//! The in-memory model of Microsoft 365 tenants: directory objects, Teams voice state, tenant
//! voice configuration, number assignments, long-running operations and a change log for delta
//! queries.
//!
//! Each tenant sits behind its own mutex (see `state.rs`); nothing here blocks or awaits.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use super::demo;
use super::faults::Traffic;

/// Seconds since the Unix epoch, now.
pub(crate) fn now_unix() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// RFC 3339 / ISO 8601 rendering of a Unix timestamp, as Graph prints dates (`...Z`).
pub(crate) fn iso(ts: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(ts)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".to_string())
}

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

/// The `service` value Graph shows for a known service plan id.
pub(crate) fn service_of_plan(plan_id: &str) -> &'static str {
    match plan_id {
        demo::PLAN_TEAMS1 => "TeamspaceAPI",
        demo::PLAN_MCOEV | demo::PLAN_MCOEV_VIRTUALUSER | demo::PLAN_MCOPSTN1 => {
            "MicrosoftCommunicationsOnline"
        }
        _ => "Unknown",
    }
}

/// How a user or group left the directory, as `@removed.reason` in delta responses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Removal {
    /// Soft-deleted (in deleted items, restorable): reason `changed`.
    Changed,
    /// Permanently deleted: reason `deleted`.
    Deleted,
}

/// A phone number on a Teams user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct UserNumber {
    pub number: String,
    pub category: String,
}

/// One user's assignment of one policy type, with Microsoft's propagation delay.
#[derive(Clone, Debug, Default)]
pub(crate) struct PolicySlot {
    /// The policy identity in effect (`Tag:Name`); `None` means the Global instance.
    pub effective: Option<String>,
    /// A change made but not yet visible in reads, and when it becomes visible.
    pub pending: Option<(Option<String>, Instant)>,
}

/// The Teams side of a user (what `userConfigurations` shows).
#[derive(Clone, Debug, Default)]
pub(crate) struct TeamsUser {
    pub ev: bool,
    pub numbers: Vec<UserNumber>,
    pub policies: BTreeMap<String, PolicySlot>,
    pub modified: i64,
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
    pub wids: Vec<String>,
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
        self.wids
            .iter()
            .any(|w| w == demo::ROLE_GLOBAL_ADMIN || w == demo::ROLE_PRIVILEGED_ROLE_ADMIN)
    }

    /// Teams features derived from the enabled plans (`featureTypes`).
    pub(crate) fn feature_types(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.has_enabled_plan(demo::PLAN_TEAMS1) {
            out.push("Teams");
        }
        if self.has_enabled_plan(demo::PLAN_MCOEV)
            || self.has_enabled_plan(demo::PLAN_MCOEV_VIRTUALUSER)
        {
            out.push("PhoneSystem");
        }
        if self.has_enabled_plan(demo::PLAN_MCOPSTN1) {
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
}

/// An entry of the tenant's phone number inventory.
#[derive(Clone, Debug)]
pub(crate) struct NumberRecord {
    pub number: String,
    pub number_type: String,
    pub target: Option<String>,
    pub target_is_resource: bool,
    pub category: Option<String>,
    pub activation_state: &'static str,
    pub location_id: Option<String>,
}

/// What a long-running number operation does.
#[derive(Clone, Debug)]
pub(crate) enum OperationKind {
    Assign {
        number: String,
        target: String,
        number_type: String,
        category: String,
        location_id: Option<String>,
    },
    Unassign {
        number: String,
        number_type: String,
    },
}

/// Status of a long-running operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OperationStatus {
    NotStarted,
    Running,
    Succeeded,
    Failed,
}

impl OperationStatus {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::NotStarted => "notStarted",
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
        }
    }
}

/// A telephone number long-running operation.
#[derive(Clone, Debug)]
pub(crate) struct Operation {
    pub id: String,
    pub created: i64,
    pub kind: OperationKind,
    pub status: OperationStatus,
    pub polls_left: u32,
    pub forced_failure: Option<String>,
    pub detail: Option<String>,
    pub polls: u32,
}

/// One item of tenant voice configuration (ConfigAPI `configuration`): identity + properties.
#[derive(Clone, Debug)]
pub(crate) struct ConfigItem {
    pub identity: String,
    pub props: Map<String, Value>,
}

/// Teamline's app consent state in a tenant.
#[derive(Clone, Debug, Default)]
pub(crate) struct Consent {
    /// Microsoft Graph app roles granted to the service principal.
    pub graph_roles: BTreeSet<String>,
    /// Whether `application_access` on the Teams admin API was granted.
    pub teams_admin: bool,
    /// Whether delegated permissions were consented for the whole organisation.
    pub delegated_org: bool,
}

/// A change recorded for delta queries.
#[derive(Clone, Debug)]
pub(crate) enum Change {
    /// A user was created, changed (these properties; empty = any) or deleted.
    User(u32, Vec<&'static str>),
    /// A group's own properties changed, or it was created or deleted.
    Group(u32),
    /// A member was added to (`true`) or removed from a group.
    Membership {
        group: u32,
        member: Member,
        added: bool,
    },
    /// A position marker (e.g. where delta tokens were expired); reported to nobody.
    Marker,
}

/// Policy types that Teams knows and that get a Global instance in every tenant.
pub(crate) const POLICY_TYPES: [&str; 9] = [
    "OnlineVoiceRoutingPolicy",
    "TenantDialPlan",
    "CallingLineIdentity",
    "TeamsCallingPolicy",
    "TeamsMeetingPolicy",
    "TeamsMeetingBroadcastPolicy",
    "TeamsMessagingPolicy",
    "TeamsEmergencyCallingPolicy",
    "TeamsVoiceApplicationsPolicy",
];

/// Configuration types of the Teams admin REST surface that are not policies.
pub(crate) const CONFIG_TYPES: [&str; 3] =
    ["OnlinePstnUsages", "OnlineVoiceRoute", "OnlinePSTNGateway"];

/// Canonical spelling of a policy or configuration type (case-insensitive lookup).
pub(crate) fn canonical_type(name: &str) -> Option<&'static str> {
    POLICY_TYPES
        .iter()
        .chain(CONFIG_TYPES.iter())
        .find(|t| t.eq_ignore_ascii_case(name))
        .copied()
}

pub(crate) fn is_policy_type(t: &str) -> bool {
    POLICY_TYPES.contains(&t)
}

/// A Microsoft 365 tenant.
pub(crate) struct Tenant {
    pub id: String,
    pub display_name: String,
    pub domains: Vec<Domain>,
    pub users: Vec<User>,
    pub user_by_id: HashMap<String, u32>,
    pub user_by_upn: HashMap<String, u32>,
    pub groups: Vec<Group>,
    pub group_by_id: HashMap<String, u32>,
    pub consent: Option<Consent>,
    /// Directory roles held by Teamline's service principal (needed by the Teams admin API).
    pub sp_roles: Vec<String>,
    pub user_consents: HashSet<String>,
    pub users_can_consent: bool,
    pub config: BTreeMap<&'static str, Vec<ConfigItem>>,
    pub numbers: BTreeMap<String, NumberRecord>,
    pub operations: HashMap<String, Operation>,
    pub changes: Vec<Change>,
    /// Sequence number of `changes[0]`.
    pub log_base: u64,
    /// Delta tokens of an older epoch answer 410 Gone (resync requested).
    pub delta_epoch: u64,
    /// Delta tokens older than this sequence answer `syncStateNotFound` (expired).
    pub delta_min_seq: u64,
    pub membership_version: u64,
    transitive_cache: HashMap<u32, (u64, Arc<Vec<Member>>)>,
    /// Faults switched on for this tenant and the traffic they act on.
    pub traffic: Traffic,
    pub write_counts: BTreeMap<String, u64>,
    pub created: i64,
    pub op_counter: u64,
}

/// Longest change log kept per tenant; older delta tokens expire.
const MAX_LOG: usize = 2_000_000;

impl Tenant {
    pub(crate) fn new(id: &str, display_name: &str) -> Self {
        let mut t = Self {
            id: id.to_string(),
            display_name: display_name.to_string(),
            domains: Vec::new(),
            users: Vec::new(),
            user_by_id: HashMap::new(),
            user_by_upn: HashMap::new(),
            groups: Vec::new(),
            group_by_id: HashMap::new(),
            consent: None,
            sp_roles: Vec::new(),
            user_consents: HashSet::new(),
            users_can_consent: false,
            config: BTreeMap::new(),
            numbers: BTreeMap::new(),
            operations: HashMap::new(),
            changes: Vec::new(),
            log_base: 1,
            delta_epoch: 0,
            delta_min_seq: 0,
            membership_version: 0,
            transitive_cache: HashMap::new(),
            traffic: Traffic::default(),
            write_counts: BTreeMap::new(),
            created: 1_704_618_530,
            op_counter: 0,
        };
        for ty in POLICY_TYPES {
            let item = t.default_global(ty);
            t.config.entry(ty).or_default().push(item);
        }
        let mut usages = Map::new();
        usages.insert("Identity".into(), Value::from("Global"));
        usages.insert("Usage".into(), Value::Array(Vec::new()));
        t.config.insert(
            "OnlinePstnUsages",
            vec![ConfigItem {
                identity: "Global".into(),
                props: usages,
            }],
        );
        t.config.insert("OnlineVoiceRoute", Vec::new());
        t.config.insert("OnlinePSTNGateway", Vec::new());
        t
    }

    fn default_global(&self, ty: &str) -> ConfigItem {
        let mut props = Map::new();
        props.insert("Identity".into(), Value::from("Global"));
        match ty {
            "OnlineVoiceRoutingPolicy" => {
                props.insert("OnlinePstnUsages".into(), Value::Array(Vec::new()));
                props.insert("Description".into(), Value::Null);
                props.insert("RouteType".into(), Value::from("BYOT"));
            }
            "TenantDialPlan" => {
                props.insert("NormalizationRules".into(), Value::Array(Vec::new()));
                props.insert("Description".into(), Value::Null);
                props.insert("SimpleName".into(), Value::from("DefaultTenantDialPlan"));
                props.insert("OptimizeDeviceDialing".into(), Value::Bool(false));
                props.insert("ExternalAccessPrefix".into(), Value::Null);
            }
            "CallingLineIdentity" => {
                props.insert("CallingIDSubstitute".into(), Value::from("LineUri"));
                props.insert("EnableUserOverride".into(), Value::Bool(false));
                props.insert("ServiceNumber".into(), Value::Null);
                props.insert("BlockIncomingPstnCallerID".into(), Value::Bool(false));
                props.insert("CompanyName".into(), Value::Null);
                props.insert("ResourceAccount".into(), Value::Null);
                props.insert("Description".into(), Value::Null);
            }
            "TeamsCallingPolicy" => {
                props.insert("AllowVoicemail".into(), Value::from("UserOverride"));
                props.insert("AllowPrivateCalling".into(), Value::Bool(true));
                props.insert("AllowCallForwardingToUser".into(), Value::Bool(true));
                props.insert("AllowCallForwardingToPhone".into(), Value::Bool(true));
                props.insert("AllowCallGroups".into(), Value::Bool(true));
                props.insert("AllowDelegation".into(), Value::Bool(true));
                props.insert("AllowTransferForCalls".into(), Value::Bool(true));
                props.insert("BusyOnBusyEnabledType".into(), Value::from("Disabled"));
                props.insert("Description".into(), Value::Null);
            }
            _ => {}
        }
        ConfigItem {
            identity: "Global".into(),
            props,
        }
    }

    /// Current sequence number: the last change recorded (0 when none).
    pub(crate) fn current_seq(&self) -> u64 {
        self.log_base + self.changes.len() as u64 - 1
    }

    pub(crate) fn record(&mut self, change: Change) {
        if let Change::Membership { .. } = change {
            self.membership_version += 1;
        }
        self.changes.push(change);
        if self.changes.len() > MAX_LOG {
            let drop = MAX_LOG / 2;
            self.changes.drain(..drop);
            self.log_base += drop as u64;
            self.delta_min_seq = self.delta_min_seq.max(self.log_base - 1);
        }
    }

    /// Changes with sequence numbers in `(after, upto]`.
    pub(crate) fn changes_between(&self, after: u64, upto: u64) -> &[Change] {
        let start = after.saturating_add(1).max(self.log_base);
        if upto < start {
            return &[];
        }
        let lo = (start - self.log_base) as usize;
        let hi = ((upto - self.log_base + 1) as usize).min(self.changes.len());
        if lo >= hi { &[] } else { &self.changes[lo..hi] }
    }

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

    // ----- Teams voice -----

    /// Applies policy changes whose propagation delay has passed.
    pub(crate) fn settle_policies(&mut self, user: u32, now: Instant) {
        let teams = &mut self.users[user as usize].teams;
        for slot in teams.policies.values_mut() {
            if let Some((_, at)) = &slot.pending
                && *at <= now
                && let Some((name, _)) = slot.pending.take()
            {
                slot.effective = name;
            }
        }
    }

    /// Makes every pending policy change effective at once (control API).
    pub(crate) fn flush_propagation(&mut self) {
        for u in &mut self.users {
            for slot in u.teams.policies.values_mut() {
                if let Some((name, _)) = slot.pending.take() {
                    slot.effective = name;
                }
            }
        }
    }

    /// Assigns a policy instance (`None` = back to Global) with the tenant's propagation delay.
    pub(crate) fn set_policy(&mut self, user: u32, policy_type: &str, identity: Option<String>) {
        let delay = Duration::from_millis(self.traffic.faults.propagation_delay_ms);
        let now = Instant::now();
        self.settle_policies(user, now);
        let teams = &mut self.users[user as usize].teams;
        teams.modified = now_unix();
        let slot = teams.policies.entry(policy_type.to_string()).or_default();
        if delay.is_zero() {
            slot.pending = None;
            slot.effective = identity;
        } else {
            slot.pending = Some((identity, now + delay));
        }
    }

    pub(crate) fn config_items(&self, ty: &str) -> &[ConfigItem] {
        self.config.get(ty).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Finds a policy instance by type and name (`Name`, `Tag:Name` or `Global`).
    pub(crate) fn find_policy(&self, ty: &str, name: &str) -> Option<&ConfigItem> {
        let wanted = name.strip_prefix("Tag:").unwrap_or(name);
        self.config_items(ty).iter().find(|i| {
            let id = i.identity.strip_prefix("Tag:").unwrap_or(&i.identity);
            id.eq_ignore_ascii_case(wanted)
        })
    }

    /// Finds a policy instance by its opaque policy id.
    pub(crate) fn find_policy_by_id(&self, ty: &str, policy_id: &str) -> Option<&ConfigItem> {
        self.config_items(ty)
            .iter()
            .find(|i| self.policy_id(ty, &i.identity) == policy_id)
    }

    /// The opaque policy id of an instance (stable per tenant, type and identity).
    pub(crate) fn policy_id(&self, ty: &str, identity: &str) -> String {
        use base64::Engine;
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        h.update(self.id.as_bytes());
        h.update(ty.as_bytes());
        h.update(identity.to_lowercase().as_bytes());
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(h.finalize())
    }

    /// Counts a write request that targets a user (for crash/idempotency tests).
    pub(crate) fn count_write(&mut self, user_id: &str) {
        *self.write_counts.entry(user_id.to_string()).or_default() += 1;
    }

    pub(crate) fn next_operation_id(&mut self, prefix: &str) -> String {
        use base64::Engine;
        self.op_counter += 1;
        let guid = demo::stable_guid(
            &format!("{}/operation", self.id),
            &format!("{}-{}", self.op_counter, uuid::Uuid::new_v4()),
        );
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{prefix}|{guid}"))
    }

    /// Default verified domain name.
    pub(crate) fn default_domain(&self) -> &str {
        self.domains
            .iter()
            .find(|d| d.is_default)
            .map(|d| d.id.as_str())
            .unwrap_or("")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(t: &Tenant, n: usize) -> User {
        User {
            id: demo::user_id(&t.id, &format!("u{n}@x.example")),
            upn: format!("u{n}@x.example"),
            display_name: format!("U {n}"),
            given_name: None,
            surname: None,
            mail: None,
            account_enabled: true,
            guest: false,
            usage_location: None,
            created: 0,
            plans: Vec::new(),
            password: Arc::from("p"),
            wids: Vec::new(),
            resource_account: false,
            deleted: None,
            teams: TeamsUser::default(),
        }
    }

    fn group(name: &str) -> Group {
        Group {
            id: demo::group_id("t", name),
            display_name: name.into(),
            description: None,
            mail_nickname: name.into(),
            mail: None,
            mail_enabled: false,
            security_enabled: true,
            group_types: Vec::new(),
            members: Vec::new(),
            member_set: HashSet::new(),
            created: 0,
            deleted: None,
        }
    }

    #[test]
    fn transitive_members_flatten_nesting_once_and_follow_changes() {
        let mut t = Tenant::new("t", "T");
        let users: Vec<u32> = (0..4)
            .map(|n| {
                let u = user(&t, n);
                t.add_user(u)
            })
            .collect();
        let outer = t.add_group(group("outer"));
        let inner = t.add_group(group("inner"));
        t.add_member(outer, Member::User(users[0]));
        t.add_member(outer, Member::Group(inner));
        t.add_member(inner, Member::User(users[1]));
        t.add_member(inner, Member::User(users[0]));
        t.add_member(inner, Member::Group(outer));
        let members = t.transitive_members(outer);
        assert_eq!(
            *members,
            vec![
                Member::User(users[0]),
                Member::Group(inner),
                Member::User(users[1])
            ]
        );
        t.add_member(inner, Member::User(users[2]));
        assert_eq!(t.transitive_members(outer).len(), 4);
        assert_eq!(
            t.transitive_member_of(Member::User(users[1])),
            vec![outer, inner]
        );
    }

    #[test]
    fn change_window_is_bounded_by_sequence_numbers() {
        let mut t = Tenant::new("t", "T");
        let base = t.current_seq();
        let u = user(&t, 1);
        t.add_user(u);
        let u = user(&t, 2);
        t.add_user(u);
        assert_eq!(t.changes_between(base, t.current_seq()).len(), 2);
        assert_eq!(t.changes_between(base + 1, t.current_seq()).len(), 1);
        assert!(
            t.changes_between(t.current_seq(), t.current_seq())
                .is_empty()
        );
    }
}
