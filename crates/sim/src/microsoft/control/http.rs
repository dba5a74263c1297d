//! The control API over HTTP (`/_sim/tenants/...`, JSON), for tests and benchmarks that run
//! the simulator in another process. Every handler is a thin call on [`TenantControl`].

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post, put};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ConsentState, ControlError, NewUser, TenantControl, UserPatch, UserRoles};
use crate::microsoft::behaviour::Behaviour;
use crate::microsoft::faults::Faults;
use crate::microsoft::seed;
use crate::microsoft::state::SimState;

pub(crate) fn routes() -> axum::Router<Arc<SimState>> {
    axum::Router::new()
        .route("/_sim/tenants", get(list_tenants).post(create_tenant))
        .route("/_sim/tenants/{t}", get(tenant_summary))
        .route(
            "/_sim/tenants/{t}/faults",
            get(get_faults).put(put_faults).patch(patch_faults),
        )
        .route(
            "/_sim/tenants/{t}/behaviour",
            get(get_behaviour).put(put_behaviour).patch(patch_behaviour),
        )
        .route("/_sim/tenants/{t}/users/{u}/roles", put(set_roles))
        .route(
            "/_sim/tenants/{t}/users/{u}/enterprise-voice",
            put(set_enterprise_voice),
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
        .route("/_sim/tenants/{t}/groups", post(add_group))
        .route("/_sim/tenants/{t}/group-union", get(group_union))
        .route("/_sim/tenants/{t}/groups/{g}/members", post(add_member))
        .route(
            "/_sim/tenants/{t}/groups/{g}/members/{m}",
            delete(remove_member),
        )
        .route("/_sim/tenants/{t}/consent", put(set_consent))
        .route("/_sim/tenants/{t}/counters", get(counters))
        .route(
            "/_sim/tenants/{t}/counters/number-assignments",
            get(number_assignment_counters),
        )
        .route("/_sim/tenants/{t}/stats", get(stats))
        .route("/_sim/tenants/{t}/stats/reset", post(reset_stats))
        .route("/_sim/tenants/{t}/numbers", get(numbers))
        .route("/_sim/tenants/{t}/voice-config", get(voice_config))
        .route(
            "/_sim/tenants/{t}/domains/{d}/publish-dns",
            post(publish_dns),
        )
}

/// The tenant named by the `{t}` path segment (id, domain or display name); an unknown one
/// answers 404 before the handler runs.
struct PathTenant(TenantControl);

impl FromRequestParts<Arc<SimState>> for PathTenant {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<SimState>,
    ) -> Result<Self, Self::Rejection> {
        let Path(params) = Path::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let key = params.get("t").map(String::as_str).unwrap_or_default();
        state
            .tenant(key)
            .map(|tenant| PathTenant(TenantControl::new(tenant, state.clone())))
            .ok_or_else(|| {
                problem(
                    StatusCode::NOT_FOUND,
                    &format!("no simulated tenant '{key}'"),
                )
            })
    }
}

fn problem(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

impl IntoResponse for ControlError {
    fn into_response(self) -> Response {
        let status = match self {
            ControlError::UnknownUser(_)
            | ControlError::UnknownGroup(_)
            | ControlError::UnknownDomain(_) => StatusCode::NOT_FOUND,
            ControlError::DuplicateUser(_) => StatusCode::CONFLICT,
            ControlError::Invalid(_) => StatusCode::BAD_REQUEST,
        };
        problem(status, &self.to_string())
    }
}

async fn list_tenants(State(state): State<Arc<SimState>>) -> Json<Value> {
    let list: Vec<Value> = state
        .tenant_ids()
        .iter()
        .filter_map(|id| state.tenant(id))
        .map(|tenant| TenantControl::new(tenant, state.clone()).summary())
        .collect();
    Json(Value::Array(list))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GeneratedTenant {
    name: String,
    users: usize,
    #[serde(default)]
    group_members: usize,
    /// Sync groups of `group_members` each, overlapping (default one).
    #[serde(default)]
    sync_groups: Option<usize>,
}

#[derive(Deserialize)]
struct GroupUnion {
    /// Group ids or names, comma-separated.
    groups: String,
}

/// `{"users": N}`: distinct users in any of the groups.
async fn group_union(PathTenant(c): PathTenant, Query(q): Query<GroupUnion>) -> Response {
    let groups: Vec<String> = q
        .groups
        .split(',')
        .map(|g| g.trim().to_owned())
        .filter(|g| !g.is_empty())
        .collect();
    match c.union_user_count(&groups) {
        Ok(n) => Json(json!({ "users": n })).into_response(),
        Err(e) => e.into_response(),
    }
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
    let t = seed::generated(
        &body.name,
        body.users,
        body.group_members.min(body.users),
        body.sync_groups.unwrap_or(1),
    );
    let c = TenantControl::new(state.insert_tenant(t), state.clone());
    (StatusCode::CREATED, Json(c.summary())).into_response()
}

async fn tenant_summary(PathTenant(c): PathTenant) -> Json<Value> {
    Json(c.summary())
}

async fn get_faults(PathTenant(c): PathTenant) -> Json<Faults> {
    Json(c.faults())
}

async fn put_faults(PathTenant(c): PathTenant, Json(f): Json<Faults>) -> Json<Faults> {
    c.set_faults(f);
    Json(c.faults())
}

/// `current` with the top-level fields of `patch` replaced.
fn merged<T: serde::Serialize + serde::de::DeserializeOwned>(
    current: &T,
    patch: &Value,
) -> Result<T, String> {
    let mut value = serde_json::to_value(current).map_err(|e| e.to_string())?;
    if let (Some(cur), Some(p)) = (value.as_object_mut(), patch.as_object()) {
        for (k, v) in p {
            cur.insert(k.clone(), v.clone());
        }
    }
    serde_json::from_value(value).map_err(|e| e.to_string())
}

/// Merges the given fields into the current faults; a changed throttle budget starts a new
/// throttling window.
async fn patch_faults(PathTenant(c): PathTenant, Json(patch): Json<Value>) -> Response {
    match merged(&c.faults(), &patch) {
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

async fn get_behaviour(PathTenant(c): PathTenant) -> Json<Behaviour> {
    Json(c.behaviour())
}

async fn put_behaviour(PathTenant(c): PathTenant, Json(b): Json<Behaviour>) -> Json<Behaviour> {
    c.set_behaviour(b);
    Json(c.behaviour())
}

async fn patch_behaviour(PathTenant(c): PathTenant, Json(patch): Json<Value>) -> Response {
    match merged(&c.behaviour(), &patch) {
        Ok(b) => {
            c.set_behaviour(b);
            Json(c.behaviour()).into_response()
        }
        Err(e) => problem(StatusCode::BAD_REQUEST, &format!("invalid behaviour: {e}")),
    }
}

async fn set_roles(
    PathTenant(c): PathTenant,
    Path(UserParam { u }): Path<UserParam>,
    Json(roles): Json<UserRoles>,
) -> Result<StatusCode, ControlError> {
    let active: Vec<&str> = roles.active.iter().map(String::as_str).collect();
    let eligible: Vec<&str> = roles.eligible.iter().map(String::as_str).collect();
    c.set_user_roles(&u, &active, &eligible)?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct VoiceSwitch {
    enabled: bool,
}

async fn set_enterprise_voice(
    PathTenant(c): PathTenant,
    Path(UserParam { u }): Path<UserParam>,
    Json(v): Json<VoiceSwitch>,
) -> Result<StatusCode, ControlError> {
    c.set_enterprise_voice(&u, v.enabled)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn delta_expire(PathTenant(c): PathTenant) -> StatusCode {
    c.expire_delta_tokens();
    StatusCode::NO_CONTENT
}

async fn delta_reset(PathTenant(c): PathTenant) -> StatusCode {
    c.reset_delta_tokens();
    StatusCode::NO_CONTENT
}

async fn flush(PathTenant(c): PathTenant) -> StatusCode {
    c.flush_propagation();
    StatusCode::NO_CONTENT
}

async fn add_user(
    PathTenant(c): PathTenant,
    Json(u): Json<NewUser>,
) -> Result<(StatusCode, Json<Value>), ControlError> {
    let id = c.add_user(u)?;
    Ok((StatusCode::CREATED, Json(json!({ "id": id }))))
}

#[derive(Deserialize)]
struct UserParam {
    u: String,
}

async fn update_user(
    PathTenant(c): PathTenant,
    Path(UserParam { u }): Path<UserParam>,
    Json(p): Json<UserPatch>,
) -> Result<StatusCode, ControlError> {
    c.update_user(&u, p)?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct HardDelete {
    #[serde(default)]
    hard: bool,
}

async fn delete_user(
    PathTenant(c): PathTenant,
    Path(UserParam { u }): Path<UserParam>,
    Query(q): Query<HardDelete>,
) -> Result<StatusCode, ControlError> {
    c.delete_user(&u, q.hard)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn teams_state(
    PathTenant(c): PathTenant,
    Path(UserParam { u }): Path<UserParam>,
) -> Result<Json<super::TeamsState>, ControlError> {
    c.teams_state(&u).map(Json)
}

#[derive(Deserialize)]
struct GroupParams {
    g: String,
    #[serde(default)]
    m: String,
}

#[derive(Deserialize)]
struct MemberRef {
    id: String,
}

#[derive(Deserialize)]
struct NewGroup {
    name: String,
}

async fn add_group(
    PathTenant(c): PathTenant,
    Json(g): Json<NewGroup>,
) -> Result<(StatusCode, Json<Value>), ControlError> {
    let id = c.add_group(&g.name)?;
    Ok((StatusCode::CREATED, Json(json!({ "id": id }))))
}

async fn add_member(
    PathTenant(c): PathTenant,
    Path(GroupParams { g, .. }): Path<GroupParams>,
    Json(m): Json<MemberRef>,
) -> Result<Json<Value>, ControlError> {
    let added = c.add_group_member(&g, &m.id)?;
    Ok(Json(json!({ "added": added })))
}

async fn remove_member(
    PathTenant(c): PathTenant,
    Path(GroupParams { g, m }): Path<GroupParams>,
) -> Result<Json<Value>, ControlError> {
    let removed = c.remove_group_member(&g, &m)?;
    Ok(Json(json!({ "removed": removed })))
}

async fn set_consent(PathTenant(c): PathTenant, Json(consent): Json<ConsentState>) -> StatusCode {
    c.set_consent(consent);
    StatusCode::NO_CONTENT
}

async fn counters(PathTenant(c): PathTenant) -> impl IntoResponse {
    Json(c.write_counts())
}

async fn number_assignment_counters(PathTenant(c): PathTenant) -> impl IntoResponse {
    Json(c.number_assignment_counts())
}

async fn stats(PathTenant(c): PathTenant) -> impl IntoResponse {
    Json(c.request_stats())
}

async fn reset_stats(PathTenant(c): PathTenant) -> StatusCode {
    c.reset_request_stats();
    StatusCode::NO_CONTENT
}

async fn numbers(PathTenant(c): PathTenant) -> Json<Value> {
    Json(c.numbers())
}

async fn voice_config(PathTenant(c): PathTenant) -> Json<Value> {
    Json(c.voice_config())
}

#[derive(Deserialize)]
struct DomainParam {
    d: String,
}

async fn publish_dns(
    PathTenant(c): PathTenant,
    Path(DomainParam { d }): Path<DomainParam>,
) -> Result<StatusCode, ControlError> {
    c.publish_dns(&d)?;
    Ok(StatusCode::NO_CONTENT)
}
