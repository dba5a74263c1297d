//! Test controls of the simulator: fault injection per tenant, directory changes, and reads of
//! the Teams state — in process ([`TenantControl`]) and over HTTP under `/_sim/...` (JSON) for
//! other processes.
//!
//! HTTP control API (no authentication; the simulator is a test tool):
//! - `GET  /_sim/tenants` — tenants (id, name, domains)
//! - `POST /_sim/tenants` `{"name","users","groupMembers"}` — seed a generated tenant
//! - `GET  /_sim/tenants/{t}` — summary; `{t}` is a tenant id, domain or name
//! - `GET|PUT|PATCH /_sim/tenants/{t}/faults` — [`Faults`] (PATCH merges)
//! - `POST /_sim/tenants/{t}/delta/expire` — delta tokens answer 400 `syncStateNotFound`
//! - `POST /_sim/tenants/{t}/delta/reset` — delta tokens answer 410 Gone + Location
//! - `POST /_sim/tenants/{t}/propagation/flush` — pending policy changes take effect now
//! - `POST /_sim/tenants/{t}/users` [`NewUser`] → `{"id"}`
//! - `PATCH /_sim/tenants/{t}/users/{u}` [`UserPatch`]
//! - `DELETE /_sim/tenants/{t}/users/{u}[?hard=true]`
//! - `GET  /_sim/tenants/{t}/users/{u}/teams` → [`TeamsState`]
//! - `POST /_sim/tenants/{t}/groups/{g}/members` `{"id": "<user or group id/UPN/name>"}`
//! - `DELETE /_sim/tenants/{t}/groups/{g}/members/{m}`
//! - `PUT  /_sim/tenants/{t}/consent` [`ConsentState`]
//! - `GET  /_sim/tenants/{t}/counters` — write requests per user id
//! - `GET  /_sim/tenants/{t}/stats` — [`RequestStats`] (requests, 429s, early requests, peak
//!   concurrency); `POST /_sim/tenants/{t}/stats/reset` starts counting afresh
//! - `GET  /_sim/tenants/{t}/numbers` — number inventory
//! - `GET  /_sim/tenants/{t}/voice-config` — tenant voice configuration
//! - `POST /_sim/tenants/{t}/domains/{d}/publish-dns` — the domain's TXT record is "in DNS"

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post, put};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::demo;
use super::faults::{Faults, InjectedErrors, RequestStats};
use super::model::well_known;
use super::model::{CapabilityStatus, Change, Member, Removal, Tenant};
use super::seed;
use super::state::{SimState, lock};

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
    /// Service plan ids assigned `Enabled` (e.g. [`well_known::PLAN_TEAMS1`], [`well_known::PLAN_MCOEV`]).
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

/// In-process handle on one simulated tenant.
#[derive(Clone)]
pub struct TenantControl {
    pub(crate) tenant: Arc<Mutex<Tenant>>,
    pub(crate) state: Arc<SimState>,
}

impl std::fmt::Debug for TenantControl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TenantControl")
            .field("id", &self.id())
            .finish()
    }
}

impl TenantControl {
    fn with<R>(&self, f: impl FnOnce(&mut Tenant) -> R) -> R {
        f(&mut lock(&self.tenant))
    }

    /// Tenant id (GUID).
    pub fn id(&self) -> String {
        self.with(|t| t.id.clone())
    }

    /// Display name.
    pub fn name(&self) -> String {
        self.with(|t| t.display_name.clone())
    }

    /// Current faults.
    pub fn faults(&self) -> Faults {
        self.with(|t| t.traffic.faults.clone())
    }

    /// Replaces the faults.
    pub fn set_faults(&self, faults: Faults) {
        self.with(|t| t.traffic.set_faults(faults));
    }

    /// Edits the faults in place.
    pub fn update_faults(&self, f: impl FnOnce(&mut Faults)) {
        self.with(|t| f(&mut t.traffic.faults));
    }

    /// Requests allowed per 10 s window (`None` = unlimited).
    pub fn set_throttle_budget(&self, budget: Option<u32>) {
        self.with(|t| {
            t.traffic.faults.throttle_budget = budget;
            t.traffic.restart_throttling();
        });
    }

    /// New number operations stay `running` for `polls` polls.
    pub fn set_operation_running_polls(&self, polls: u32) {
        self.update_faults(|f| f.operation_running_polls = polls);
    }

    /// New number operations fail with this status detail (`None` = succeed normally).
    pub fn set_operation_failure(&self, detail: Option<&str>) {
        self.update_faults(|f| f.operation_failure = detail.map(str::to_string));
    }

    /// Delay before policy assignments show in reads.
    pub fn set_propagation_delay(&self, delay: std::time::Duration) {
        self.update_faults(|f| f.propagation_delay_ms = delay.as_millis() as u64);
    }

    /// Makes all pending policy assignments effective now.
    pub fn flush_propagation(&self) {
        self.with(Tenant::flush_propagation);
    }

    /// Latency added to each Graph / Teams admin request.
    pub fn set_latency(&self, latency: std::time::Duration) {
        self.update_faults(|f| f.latency_ms = latency.as_millis() as u64);
    }

    /// The next `count` requests answer `status` (with `Retry-After` if given).
    pub fn inject_errors(&self, status: u16, count: u32, retry_after: Option<u64>) {
        self.update_faults(|f| {
            f.inject_errors = Some(InjectedErrors {
                status,
                remaining: count,
                retry_after,
            })
        });
    }

    /// Every delta token issued so far answers 400 `syncStateNotFound` (expired).
    pub fn expire_delta_tokens(&self) {
        self.with(|t| {
            t.record(Change::Marker);
            t.delta_min_seq = t.current_seq();
        });
    }

    /// Every delta token issued so far answers 410 Gone with a `Location` to restart from.
    pub fn reset_delta_tokens(&self) {
        self.with(|t| t.delta_epoch += 1);
    }

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
            u.created = super::model::now_unix();
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
                let now = super::model::now_unix();
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

    /// Object id of a user (by id or UPN).
    pub fn user_id(&self, user: &str) -> Option<String> {
        self.with(|t| t.user_idx(user).map(|i| t.user(i).id.clone()))
    }

    /// Object id of a group (by id or display name).
    pub fn group_id(&self, group: &str) -> Option<String> {
        self.with(|t| {
            t.group_idx(group)
                .or_else(|| t.group_by_name(group))
                .map(|i| t.group(i).id.clone())
        })
    }

    /// Sets Teamline's consent state.
    pub fn set_consent(&self, consent: ConsentState) {
        let app_roles: Vec<String> = self
            .state
            .app(demo::TEAMLINE_APP_CLIENT_ID)
            .map(|a| a.graph_roles)
            .unwrap_or_default();
        self.with(|t| {
            if consent.granted {
                t.consent = Some(super::model::Consent {
                    graph_roles: consent
                        .graph_roles
                        .unwrap_or(app_roles)
                        .into_iter()
                        .collect(),
                    teams_admin: consent.teams_admin.unwrap_or(true),
                    delegated_org: true,
                });
                t.sp_roles = consent
                    .service_principal_roles
                    .unwrap_or_else(|| vec![well_known::ROLE_TEAMS_ADMIN.to_string()]);
            } else {
                t.consent = None;
                t.sp_roles.clear();
                t.user_consents.clear();
            }
        });
    }

    /// Whether admin consent was granted (the app has a service principal).
    pub fn consent_granted(&self) -> bool {
        self.with(|t| t.consent.is_some())
    }

    /// Write requests (assign/unassign number, policy grants) per target user id.
    pub fn write_counts(&self) -> BTreeMap<String, u64> {
        self.with(|t| t.write_counts.clone())
    }

    /// Traffic seen since the tenant was created or the stats were reset.
    pub fn request_stats(&self) -> RequestStats {
        self.with(|t| t.traffic.stats.clone())
    }

    /// Starts counting traffic afresh (write counts are kept).
    pub fn reset_request_stats(&self) {
        self.with(|t| t.traffic.reset_stats());
    }

    /// A user's Teams state.
    pub fn teams_state(&self, user: &str) -> Result<TeamsState, ControlError> {
        self.with(|t| {
            let idx = t
                .user_idx(user)
                .ok_or_else(|| ControlError::UnknownUser(user.to_string()))?;
            t.settle_policies(idx, Instant::now());
            let u = t.user(idx);
            let mut effective = BTreeMap::new();
            let mut pending = BTreeMap::new();
            for (ty, slot) in &u.teams.policies {
                if let Some(e) = &slot.effective {
                    effective.insert(ty.clone(), e.clone());
                }
                if let Some((p, _)) = &slot.pending {
                    pending.insert(ty.clone(), p.clone().unwrap_or_else(|| "Global".into()));
                }
            }
            Ok(TeamsState {
                id: u.id.clone(),
                user_principal_name: u.upn.clone(),
                enterprise_voice_enabled: u.teams.ev,
                numbers: u.teams.numbers.iter().map(|n| n.number.clone()).collect(),
                effective_policies: effective,
                pending_policies: pending,
            })
        })
    }

    /// Who holds a number (user id), if anyone.
    pub fn number_holder(&self, number: &str) -> Option<String> {
        let n = super::teams::normalize_number(number)?;
        self.with(|t| {
            t.numbers
                .get(&n)
                .filter(|r| r.activation_state == "activated")
                .and_then(|r| r.target.clone())
        })
    }

    /// The number inventory as JSON.
    pub fn numbers(&self) -> Value {
        self.with(|t| {
            Value::Array(
                t.numbers
                    .values()
                    .map(|r| {
                        json!({"telephoneNumber": r.number, "numberType": r.number_type, "assignmentTargetId": r.target,
                               "activationState": r.activation_state, "assignmentCategory": r.category})
                    })
                    .collect(),
            )
        })
    }

    /// Tenant voice configuration as JSON, by type.
    pub fn voice_config(&self) -> Value {
        self.with(|t| {
            let mut m = serde_json::Map::new();
            for (ty, items) in &t.config {
                m.insert(
                    ty.to_string(),
                    Value::Array(
                        items
                            .iter()
                            .map(|i| {
                                let mut p = i.props.clone();
                                p.insert("Identity".into(), Value::from(i.identity.as_str()));
                                Value::Object(p)
                            })
                            .collect(),
                    ),
                );
            }
            Value::Object(m)
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

    /// Verified and unverified domains.
    pub fn domains(&self) -> Vec<(String, bool)> {
        self.with(|t| {
            t.domains
                .iter()
                .map(|d| (d.id.clone(), d.is_verified))
                .collect()
        })
    }

    /// Number of live users.
    pub fn user_count(&self) -> usize {
        self.with(|t| t.users.iter().filter(|u| u.deleted.is_none()).count())
    }

    fn summary(&self) -> Value {
        self.with(|t| {
            json!({
                "id": t.id,
                "displayName": t.display_name,
                "domains": t.domains.iter().map(|d| json!({"id": d.id, "isVerified": d.is_verified, "isDefault": d.is_default})).collect::<Vec<_>>(),
                "users": t.users.iter().filter(|u| u.deleted.is_none()).count(),
                "groups": t.groups.iter().filter(|g| g.deleted.is_none()).count(),
                "consentGranted": t.consent.is_some(),
                "faults": t.traffic.faults,
            })
        })
    }
}

// ---------------------------------------------------------------------------------------------
// HTTP

pub(crate) fn routes() -> axum::Router<Arc<SimState>> {
    axum::Router::new()
        .route("/_sim/tenants", get(list_tenants).post(create_tenant))
        .route("/_sim/tenants/{t}", get(tenant_summary))
        .route(
            "/_sim/tenants/{t}/faults",
            get(get_faults).put(put_faults).patch(patch_faults),
        )
        .route("/_sim/tenants/{t}/delta/expire", post(delta_expire))
        .route("/_sim/tenants/{t}/delta/reset", post(delta_reset))
        .route("/_sim/tenants/{t}/propagation/flush", post(flush))
        .route("/_sim/tenants/{t}/users", post(add_user))
        .route(
            "/_sim/tenants/{t}/users/{u}",
            patch(update_user).delete(delete_user),
        )
        .route("/_sim/tenants/{t}/users/{u}/teams", get(teams_state))
        .route("/_sim/tenants/{t}/groups/{g}/members", post(add_member))
        .route(
            "/_sim/tenants/{t}/groups/{g}/members/{m}",
            delete(remove_member),
        )
        .route("/_sim/tenants/{t}/consent", put(set_consent))
        .route("/_sim/tenants/{t}/counters", get(counters))
        .route("/_sim/tenants/{t}/stats", get(stats))
        .route("/_sim/tenants/{t}/stats/reset", post(reset_stats))
        .route("/_sim/tenants/{t}/numbers", get(numbers))
        .route("/_sim/tenants/{t}/voice-config", get(voice_config))
        .route(
            "/_sim/tenants/{t}/domains/{d}/publish-dns",
            post(publish_dns),
        )
}

fn control(state: &Arc<SimState>, key: &str) -> Result<TenantControl, Box<Response>> {
    state
        .tenant(key)
        .map(|tenant| TenantControl {
            tenant,
            state: state.clone(),
        })
        .ok_or_else(|| {
            Box::new(problem(
                StatusCode::NOT_FOUND,
                &format!("no simulated tenant '{key}'"),
            ))
        })
}

fn problem(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

fn from_error(e: ControlError) -> Response {
    let status = match e {
        ControlError::UnknownUser(_)
        | ControlError::UnknownGroup(_)
        | ControlError::UnknownDomain(_) => StatusCode::NOT_FOUND,
        ControlError::DuplicateUser(_) => StatusCode::CONFLICT,
        ControlError::Invalid(_) => StatusCode::BAD_REQUEST,
    };
    problem(status, &e.to_string())
}

async fn list_tenants(State(state): State<Arc<SimState>>) -> Response {
    let list: Vec<Value> = state
        .tenant_ids()
        .iter()
        .filter_map(|id| control(&state, id).ok())
        .map(|c| c.summary())
        .collect();
    Json(Value::Array(list)).into_response()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GeneratedTenant {
    name: String,
    users: usize,
    #[serde(default)]
    group_members: usize,
}

async fn create_tenant(
    State(state): State<Arc<SimState>>,
    Json(body): Json<GeneratedTenant>,
) -> Response {
    if body.name.is_empty()
        || !body
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        return problem(
            StatusCode::BAD_REQUEST,
            "name must be letters, digits and hyphens",
        );
    }
    let t = seed::generated(&body.name, body.users, body.group_members.min(body.users));
    let tenant = state.insert_tenant(t);
    let c = TenantControl {
        tenant,
        state: state.clone(),
    };
    (StatusCode::CREATED, Json(c.summary())).into_response()
}

async fn tenant_summary(State(state): State<Arc<SimState>>, Path(t): Path<String>) -> Response {
    match control(&state, &t) {
        Ok(c) => Json(c.summary()).into_response(),
        Err(r) => *r,
    }
}

async fn get_faults(State(state): State<Arc<SimState>>, Path(t): Path<String>) -> Response {
    match control(&state, &t) {
        Ok(c) => Json(c.faults()).into_response(),
        Err(r) => *r,
    }
}

async fn put_faults(
    State(state): State<Arc<SimState>>,
    Path(t): Path<String>,
    Json(f): Json<Faults>,
) -> Response {
    match control(&state, &t) {
        Ok(c) => {
            c.set_faults(f);
            Json(c.faults()).into_response()
        }
        Err(r) => *r,
    }
}

async fn patch_faults(
    State(state): State<Arc<SimState>>,
    Path(t): Path<String>,
    Json(patch): Json<Value>,
) -> Response {
    let c = match control(&state, &t) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let mut current = match serde_json::to_value(c.faults()) {
        Ok(v) => v,
        Err(e) => return problem(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    if let (Some(cur), Some(p)) = (current.as_object_mut(), patch.as_object()) {
        for (k, v) in p {
            cur.insert(k.clone(), v.clone());
        }
    }
    match serde_json::from_value::<Faults>(current) {
        Ok(f) => {
            let budget_changed = f.throttle_budget != c.faults().throttle_budget;
            c.update_faults(|cur| *cur = f);
            if budget_changed {
                c.with(|t| t.traffic.restart_throttling());
            }
            Json(c.faults()).into_response()
        }
        Err(e) => problem(StatusCode::BAD_REQUEST, &format!("invalid faults: {e}")),
    }
}

async fn delta_expire(State(state): State<Arc<SimState>>, Path(t): Path<String>) -> Response {
    match control(&state, &t) {
        Ok(c) => {
            c.expire_delta_tokens();
            StatusCode::NO_CONTENT.into_response()
        }
        Err(r) => *r,
    }
}

async fn delta_reset(State(state): State<Arc<SimState>>, Path(t): Path<String>) -> Response {
    match control(&state, &t) {
        Ok(c) => {
            c.reset_delta_tokens();
            StatusCode::NO_CONTENT.into_response()
        }
        Err(r) => *r,
    }
}

async fn flush(State(state): State<Arc<SimState>>, Path(t): Path<String>) -> Response {
    match control(&state, &t) {
        Ok(c) => {
            c.flush_propagation();
            StatusCode::NO_CONTENT.into_response()
        }
        Err(r) => *r,
    }
}

async fn add_user(
    State(state): State<Arc<SimState>>,
    Path(t): Path<String>,
    Json(u): Json<NewUser>,
) -> Response {
    match control(&state, &t).map(|c| c.add_user(u)) {
        Ok(Ok(id)) => (StatusCode::CREATED, Json(json!({ "id": id }))).into_response(),
        Ok(Err(e)) => from_error(e),
        Err(r) => *r,
    }
}

async fn update_user(
    State(state): State<Arc<SimState>>,
    Path((t, u)): Path<(String, String)>,
    Json(p): Json<UserPatch>,
) -> Response {
    match control(&state, &t).map(|c| c.update_user(&u, p)) {
        Ok(Ok(())) => StatusCode::NO_CONTENT.into_response(),
        Ok(Err(e)) => from_error(e),
        Err(r) => *r,
    }
}

#[derive(Deserialize)]
struct HardDelete {
    #[serde(default)]
    hard: bool,
}

async fn delete_user(
    State(state): State<Arc<SimState>>,
    Path((t, u)): Path<(String, String)>,
    Query(q): Query<HardDelete>,
) -> Response {
    match control(&state, &t).map(|c| c.delete_user(&u, q.hard)) {
        Ok(Ok(())) => StatusCode::NO_CONTENT.into_response(),
        Ok(Err(e)) => from_error(e),
        Err(r) => *r,
    }
}

async fn teams_state(
    State(state): State<Arc<SimState>>,
    Path((t, u)): Path<(String, String)>,
) -> Response {
    match control(&state, &t).map(|c| c.teams_state(&u)) {
        Ok(Ok(s)) => Json(s).into_response(),
        Ok(Err(e)) => from_error(e),
        Err(r) => *r,
    }
}

#[derive(Deserialize)]
struct MemberRef {
    id: String,
}

async fn add_member(
    State(state): State<Arc<SimState>>,
    Path((t, g)): Path<(String, String)>,
    Json(m): Json<MemberRef>,
) -> Response {
    match control(&state, &t).map(|c| c.add_group_member(&g, &m.id)) {
        Ok(Ok(added)) => (StatusCode::OK, Json(json!({ "added": added }))).into_response(),
        Ok(Err(e)) => from_error(e),
        Err(r) => *r,
    }
}

async fn remove_member(
    State(state): State<Arc<SimState>>,
    Path((t, g, m)): Path<(String, String, String)>,
) -> Response {
    match control(&state, &t).map(|c| c.remove_group_member(&g, &m)) {
        Ok(Ok(removed)) => (StatusCode::OK, Json(json!({ "removed": removed }))).into_response(),
        Ok(Err(e)) => from_error(e),
        Err(r) => *r,
    }
}

async fn set_consent(
    State(state): State<Arc<SimState>>,
    Path(t): Path<String>,
    Json(c): Json<ConsentState>,
) -> Response {
    match control(&state, &t) {
        Ok(ctl) => {
            ctl.set_consent(c);
            StatusCode::NO_CONTENT.into_response()
        }
        Err(r) => *r,
    }
}

async fn counters(State(state): State<Arc<SimState>>, Path(t): Path<String>) -> Response {
    match control(&state, &t) {
        Ok(c) => Json(c.write_counts()).into_response(),
        Err(r) => *r,
    }
}

async fn stats(State(state): State<Arc<SimState>>, Path(t): Path<String>) -> Response {
    match control(&state, &t) {
        Ok(c) => Json(c.request_stats()).into_response(),
        Err(r) => *r,
    }
}

async fn reset_stats(State(state): State<Arc<SimState>>, Path(t): Path<String>) -> Response {
    match control(&state, &t) {
        Ok(c) => {
            c.reset_request_stats();
            StatusCode::NO_CONTENT.into_response()
        }
        Err(r) => *r,
    }
}

async fn numbers(State(state): State<Arc<SimState>>, Path(t): Path<String>) -> Response {
    match control(&state, &t) {
        Ok(c) => Json(c.numbers()).into_response(),
        Err(r) => *r,
    }
}

async fn voice_config(State(state): State<Arc<SimState>>, Path(t): Path<String>) -> Response {
    match control(&state, &t) {
        Ok(c) => Json(c.voice_config()).into_response(),
        Err(r) => *r,
    }
}

async fn publish_dns(
    State(state): State<Arc<SimState>>,
    Path((t, d)): Path<(String, String)>,
) -> Response {
    match control(&state, &t).map(|c| c.publish_dns(&d)) {
        Ok(Ok(())) => StatusCode::NO_CONTENT.into_response(),
        Ok(Err(e)) => from_error(e),
        Err(r) => *r,
    }
}
