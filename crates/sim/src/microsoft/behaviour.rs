//! Which way a simulated tenant behaves where Microsoft's documentation leaves the real
//! behaviour open. The default of each switch is the behaviour Teamline's client is written
//! for (documented, or seen in public clients); the alternative is the other way a real tenant
//! may turn out to behave. Tests and `teamline doctor` runs switch them per tenant through
//! `TenantControl` or `/_sim/tenants/{tenant}/behaviour`. `FIDELITY.md` names the source of
//! each default.

use serde::{Deserialize, Serialize};

/// The alternative behaviours of one tenant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Behaviour {
    /// ID tokens carry the `wids` claim (default). Off: they carry none, as when the app
    /// registration does not ask for directory roles (`groupMembershipClaims`).
    pub id_token_wids: bool,
    /// Graph's `getPolicyId` and `userAssignments` accept Teamline's voice policy types
    /// (default). Off: both answer 400 for `OnlineVoiceRoutingPolicy`, `TenantDialPlan`,
    /// `CallingLineIdentity` and `TeamsCallingPolicy`, which then only the Teams admin REST
    /// surface grants.
    pub graph_voice_policies: bool,
    /// How the Teams admin REST surface creates a configuration object.
    pub config_create: ConfigCreate,
    /// What `getPolicyId` answers.
    pub policy_id_lookup: PolicyIdLookup,
    /// What assigning a number the user already holds does.
    pub reassign_held_number: ReassignHeldNumber,
    /// The most `or` clauses Graph accepts in a `$filter` (public reports of Graph's
    /// `Request_UnsupportedQuery` name 15).
    pub max_filter_or_clauses: u32,
}

impl Default for Behaviour {
    fn default() -> Self {
        Self {
            id_token_wids: true,
            graph_voice_policies: true,
            config_create: ConfigCreate::Post,
            policy_id_lookup: PolicyIdLookup::Exact,
            reassign_held_number: ReassignHeldNumber::EnablesVoice,
            max_filter_or_clauses: 15,
        }
    }
}

/// How a Teams admin configuration object is created.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ConfigCreate {
    /// `POST /Skype.Policy/configurations/{Type}` creates (body with `Identity`); `PUT` to an
    /// instance only updates an existing one and refuses an `Identity` in the body (the form
    /// public clients use).
    #[default]
    Post,
    /// `PUT` to the instance creates or updates; `POST` to the collection answers 405.
    Put,
}

/// What `getPolicyId(type, name)` answers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum PolicyIdLookup {
    /// The instance with exactly that name (with or without `Tag:`), else 404.
    #[default]
    Exact,
    /// Every instance of the type, Global first: the function returns a collection, and a
    /// client that takes the first entry gets the wrong policy.
    AllOfType,
}

/// What `assignNumber` does with a number the target already holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ReassignHeldNumber {
    /// It succeeds and turns enterprise voice on (as assigning does).
    #[default]
    EnablesVoice,
    /// It fails with "already assigned" and leaves enterprise voice as it is.
    AlreadyAssigned,
}
