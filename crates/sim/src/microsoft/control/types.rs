//! The request and answer types of the control API, shared by the in-process handle and HTTP.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::microsoft::model::CapabilityStatus;

/// A user to create.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct NewUser {
    pub user_principal_name: String,
    pub display_name: String,
    pub password: Option<String>,
    /// Defaults to true.
    pub account_enabled: Option<bool>,
    pub guest: bool,
    /// Service plan ids assigned `Enabled` (e.g. [`PLAN_TEAMS1`](crate::microsoft::demo::PLAN_TEAMS1),
    /// [`PLAN_MCOEV`](crate::microsoft::demo::PLAN_MCOEV)).
    pub plans: Vec<String>,
    /// Groups (id or display name) the user joins directly.
    pub groups: Vec<String>,
}

/// A service plan with its status.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanState {
    pub service_plan_id: String,
    pub capability_status: CapabilityStatus,
}

/// Changes to a user (each surfaces in `/users/delta`).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct UserPatch {
    pub display_name: Option<String>,
    pub account_enabled: Option<bool>,
    pub guest: Option<bool>,
    pub password: Option<String>,
    /// Replaces the assigned plans.
    pub plans: Option<Vec<PlanState>>,
}

/// A user's directory roles (template ids).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct UserRoles {
    /// Active roles (`wids`, `memberOf`).
    pub active: Vec<String>,
    /// Roles eligible through Privileged Identity Management, not activated.
    pub eligible: Vec<String>,
}

/// Teamline's consent in a tenant.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConsentState {
    /// Whether the app has a service principal in the tenant (admin consent happened).
    pub granted: bool,
    /// Graph app roles granted; `None` = all the app requests.
    pub graph_roles: Option<Vec<String>>,
    /// Whether `application_access` to the Teams admin API is granted (default true).
    pub teams_admin: Option<bool>,
    /// Directory roles of the app's service principal (default: Teams Administrator).
    pub service_principal_roles: Option<Vec<String>>,
}

/// A user's Teams state as Teams sees it (including changes not yet propagated).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TeamsState {
    pub id: String,
    pub user_principal_name: String,
    pub enterprise_voice_enabled: bool,
    pub numbers: Vec<String>,
    /// Effective policy per type (instance identity, `Tag:Name`); absent = Global.
    pub effective_policies: BTreeMap<String, String>,
    /// Assigned but not yet effective (propagating): type -> identity or `Global`.
    pub pending_policies: BTreeMap<String, String>,
}

/// Why a control call failed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ControlError {
    #[error("no user '{0}' in this simulated tenant")]
    UnknownUser(String),
    #[error("no group '{0}' in this simulated tenant")]
    UnknownGroup(String),
    #[error("no domain '{0}' in this simulated tenant")]
    UnknownDomain(String),
    #[error("a user '{0}' already exists in this simulated tenant")]
    DuplicateUser(String),
    #[error("invalid request: {0}")]
    Invalid(String),
}
