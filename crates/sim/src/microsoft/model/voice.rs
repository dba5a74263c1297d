//! The Teams voice side of a tenant: users' numbers and policy assignments (with Microsoft's
//! propagation delay), the number inventory, long-running number operations and the tenant
//! voice configuration of the Teams admin REST surface.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use super::{Tenant, ids, now_unix};

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
    /// When the operation completes on its own, polled or not (see `Faults`).
    pub due: Option<std::time::Instant>,
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

/// The policy types of a Direct Routing user, which Graph's documentation shows no example
/// of (see the tenant's `graph_voice_policies` behaviour).
pub(crate) const VOICE_POLICY_TYPES: [&str; 4] = [
    "OnlineVoiceRoutingPolicy",
    "TenantDialPlan",
    "CallingLineIdentity",
    "TeamsCallingPolicy",
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

impl Tenant {
    pub(super) fn default_global(&self, ty: &str) -> ConfigItem {
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

    /// Whether Graph sees a policy instance yet: one created through the Teams admin REST
    /// surface reaches Graph's policy service after the tenant's replication delay.
    pub(crate) fn policy_visible_to_graph(&self, ty: &str, identity: &str, now: Instant) -> bool {
        self.policy_visible_at
            .iter()
            .find(|((t, id), _)| *t == ty && id.eq_ignore_ascii_case(identity))
            .is_none_or(|(_, at)| *at <= now)
    }

    /// Records a policy instance just created through the Teams admin REST surface, which
    /// Graph sees only after the replication delay of the tenant's faults.
    pub(crate) fn policy_created(&mut self, ty: &'static str, identity: &str) {
        let delay = Duration::from_millis(self.traffic.faults.policy_replication_ms);
        if !delay.is_zero() {
            self.policy_visible_at
                .insert((ty, identity.to_string()), Instant::now() + delay);
        }
    }

    /// Whether a policy type is one Teamline grants for voice (and Graph may refuse).
    pub(crate) fn is_voice_policy_type(ty: &str) -> bool {
        VOICE_POLICY_TYPES.contains(&ty)
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
        let guid = ids::stable_guid(
            &format!("{}/operation", self.id),
            &format!("{}-{}", self.op_counter, uuid::Uuid::new_v4()),
        );
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{prefix}|{guid}"))
    }

    /// Adds a named policy instance (`Tag:Name`) or configuration item, replacing one of the
    /// same identity.
    pub(crate) fn put_config(&mut self, ty: &'static str, identity: &str, props: Value) {
        let mut props = match props {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        props.insert("Identity".into(), Value::from(identity));
        let items = self.config.entry(ty).or_default();
        items.retain(|i| !i.identity.eq_ignore_ascii_case(identity));
        items.push(ConfigItem {
            identity: identity.to_string(),
            props,
        });
    }
}
