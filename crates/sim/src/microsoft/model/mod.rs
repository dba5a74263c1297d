//! The in-memory model of Microsoft 365 tenants: directory objects (`directory`), Teams voice
//! state, tenant voice configuration, number assignments and long-running operations
//! (`voice`), Teamline's consent, a change log for delta queries, and the faults switched on
//! for the tenant. Microsoft's well-known ids live in `well_known`, the id scheme in `ids`.
//!
//! Each tenant sits behind its own mutex (see `state.rs`); nothing here blocks or awaits, and
//! nothing here knows HTTP, the control API or the demo data.

mod directory;
pub(crate) mod ids;
mod voice;
pub mod well_known;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use serde_json::{Map, Value};

use super::behaviour::Behaviour;
use super::faults::Traffic;

pub use self::directory::CapabilityStatus;
pub(crate) use self::directory::{AssignedPlan, Domain, Group, Member, Removal, User};
pub(crate) use self::voice::{
    ConfigItem, NumberRecord, Operation, OperationKind, OperationStatus, POLICY_TYPES, TeamsUser,
    UserNumber, canonical_type, is_policy_type,
};
pub(crate) use self::well_known::service_of_plan;

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
    /// Which way this tenant behaves where the documentation leaves it open.
    pub behaviour: Behaviour,
    /// Policies created through the Teams admin REST surface that Graph does not see yet
    /// (replication), by (type, identity): visible from then on.
    pub policy_visible_at: HashMap<(&'static str, String), std::time::Instant>,
    pub write_counts: BTreeMap<String, u64>,
    /// `assignNumber` requests per target user id (a subset of `write_counts`).
    pub number_assignments: BTreeMap<String, u64>,
    /// Graph `userAssignments/assign|unassign` requests received (each may name many users).
    pub policy_assignment_requests: u64,
    pub created: i64,
    pub op_counter: u64,
    /// Licences bought beyond those assigned, by SKU id (`subscribedSkus`' prepaid units are
    /// the assigned ones plus these).
    pub spare_licences: BTreeMap<String, i64>,
    /// The organization's `countryLetterCode` (the country of its address); `None` = not set.
    pub country_letter_code: Option<String>,
    /// The organization's `defaultUsageLocation` (what new users' licences default to).
    pub default_usage_location: Option<String>,
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
            behaviour: Behaviour::default(),
            policy_visible_at: HashMap::new(),
            write_counts: BTreeMap::new(),
            number_assignments: BTreeMap::new(),
            policy_assignment_requests: 0,
            created: 1_704_618_530,
            op_counter: 0,
            spare_licences: BTreeMap::from([(well_known::SKU_E5.to_owned(), 5)]),
            country_letter_code: Some("US".into()),
            default_usage_location: None,
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
            id: ids::user_id(&t.id, &format!("u{n}@x.example")),
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
            eligible_roles: Vec::new(),
            resource_account: false,
            deleted: None,
            teams: TeamsUser::default(),
        }
    }

    fn group(name: &str) -> Group {
        Group {
            id: ids::group_id("t", name),
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
