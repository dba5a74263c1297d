//! The Teams admin REST surface used by Teams PowerShell ("ConfigAPI",
//! `api.interfaces.records.teams.microsoft.com`): tenant voice configuration that Graph lacks.
//!
//! Modelled paths (inferred from third-party clients, see FIDELITY.md):
//! - `GET /Teams.Tenant/tenants` — service discovery and verified domains
//! - `GET|POST /Skype.Policy/configurations/{Type}`
//! - `GET|PUT|DELETE /Skype.Policy/configurations/{Type}/configuration/{Identity}`
//! - `PATCH /Skype.Policy/users/{user}/policies/{PolicyType}` `{"PolicyName": ".."}` (grant,
//!   go-msadmin's form) and `PUT /Skype.Policy/users/{user}` `{"PolicyType","PolicyName"}`
//!   (grant, go-teams' form)
//!
//! Creating follows the tenant's `ConfigCreate` behaviour: by default `POST` to the collection
//! creates and `PUT` to an instance only updates (without `Identity` in the body).
//!
//! Types: `OnlinePstnUsages` (Identity `Global`, `Usage` list), `OnlineVoiceRoute`,
//! `OnlinePSTNGateway`, `OnlineVoiceRoutingPolicy`, `TenantDialPlan`, `CallingLineIdentity`,
//! `TeamsCallingPolicy` (+ other policy types with their Global instance). Bodies and responses
//! use PowerShell's property names (`Identity`, `OnlinePstnUsages`, `NormalizationRules`, ...).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::admission::{Audience, Caller, apply_faults, authenticate};
use super::behaviour::ConfigCreate;
use super::errors::{ApiResponse, RequestIds};
use super::model::well_known;
use super::model::{Tenant, canonical_type, is_policy_type};
use super::request::segments_of;
use super::state::{SimState, lock};

/// Axum entry point for `/Skype.Policy/*` and `/Teams.Tenant/*`.
pub(crate) async fn entry(
    State(state): State<Arc<SimState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let ids = RequestIds::new(&headers);
    let resp = serve(&state, &method, uri.path(), &headers, &body, &ids).await;
    resp.into_http(&ids)
}

async fn serve(
    state: &SimState,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    body: &Bytes,
    ids: &RequestIds,
) -> ApiResponse {
    let caller = match authenticate(state, headers, Audience::TeamsAdmin, ids) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let err = |status: StatusCode, code: &str, msg: String| {
        ApiResponse::graph_error(status, code, msg, ids)
    };
    let permitted = if caller.app_only {
        caller
            .roles
            .iter()
            .any(|r| r == well_known::TEAMS_ADMIN_APP_ROLE)
    } else {
        caller.scopes.iter().any(|s| s == "user_impersonation")
    };
    if !permitted {
        return err(StatusCode::FORBIDDEN, "Forbidden", "The token does not grant access to the Skype and Teams Tenant Admin API (application_access). Grant admin consent to the app.".into());
    }
    if caller.app_only {
        let t = lock(&caller.tenant);
        let has_role = t.sp_roles.iter().any(|r| {
            r == well_known::ROLE_TEAMS_ADMIN
                || r == well_known::ROLE_GLOBAL_ADMIN
                || r == well_known::ROLE_TEAMS_COMMS_ADMIN
        });
        if !has_role {
            return err(
                StatusCode::FORBIDDEN,
                "Forbidden",
                "The application's service principal holds no Teams Administrator role in this tenant. Assign the Teams Administrator role to the app.".into(),
            );
        }
    } else if let Some(uid) = &caller.user_id {
        let t = lock(&caller.tenant);
        let ok = t.user_idx(uid).is_some_and(|i| {
            t.user(i).wids.iter().any(|w| {
                w == well_known::ROLE_TEAMS_ADMIN
                    || w == well_known::ROLE_GLOBAL_ADMIN
                    || w == well_known::ROLE_TEAMS_COMMS_ADMIN
            })
        });
        if !ok {
            return err(
                StatusCode::FORBIDDEN,
                "Forbidden",
                "The signed-in user is not a Teams administrator.".into(),
            );
        }
    }
    let segs = segments_of(path);
    if let Some(r) = apply_faults(&caller, ids, method, &segs).await {
        return r;
    }
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    let mut t = lock(&caller.tenant);
    let parsed = || -> Result<Value, ApiResponse> {
        serde_json::from_slice(body).map_err(|e| {
            err(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                format!("The request body is not valid JSON: {e}"),
            )
        })
    };
    let result = match (method.clone(), segs.as_slice()) {
        (Method::GET, ["Teams.Tenant", "tenants"]) => Ok(tenant_info(&t)),
        (Method::GET, ["Skype.Policy", "configurations", ty]) => {
            with_type(ty, ids).map(|ty| list(&t, ty))
        }
        (Method::POST, ["Skype.Policy", "configurations", _])
            if t.behaviour.config_create == ConfigCreate::Put =>
        {
            Err(err(
                StatusCode::METHOD_NOT_ALLOWED,
                "MethodNotAllowed",
                "The requested resource does not support http method 'POST'.".into(),
            ))
        }
        (Method::POST, ["Skype.Policy", "configurations", ty]) => {
            with_type(ty, ids).and_then(|ty| {
                let b = parsed()?;
                let identity = b
                    .get("Identity")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .ok_or_else(|| {
                        err(
                            StatusCode::BAD_REQUEST,
                            "BadRequest",
                            "The 'Identity' property is required.".into(),
                        )
                    })?;
                create(&mut t, ty, &identity, b, ids)
            })
        }
        (
            Method::GET,
            [
                "Skype.Policy",
                "configurations",
                ty,
                "configuration",
                identity,
            ],
        ) => with_type(ty, ids).and_then(|ty| get(&t, ty, identity, ids)),
        (
            Method::PUT,
            [
                "Skype.Policy",
                "configurations",
                ty,
                "configuration",
                identity,
            ],
        ) => with_type(ty, ids).and_then(|ty| {
            let b = parsed()?;
            upsert(&mut t, ty, identity, b, ids)
        }),
        (
            Method::DELETE,
            [
                "Skype.Policy",
                "configurations",
                ty,
                "configuration",
                identity,
            ],
        ) => with_type(ty, ids).and_then(|ty| delete(&mut t, ty, identity, ids)),
        (Method::PATCH, ["Skype.Policy", "users", user, "policies", ty]) => {
            let b = parsed();
            b.and_then(|b| grant(&mut t, user, ty, &b, ids))
        }
        (Method::PUT, ["Skype.Policy", "users", user]) => parsed().and_then(|b| {
            let ty = b
                .get("PolicyType")
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| bad(ids, "The 'PolicyType' property is required.".into()))?;
            grant(&mut t, user, &ty, &b, ids)
        }),
        (Method::GET, ["Skype.Policy", "users", user, "policies"]) => {
            user_policies(&mut t, user, ids)
        }
        _ => Err(err(
            StatusCode::NOT_FOUND,
            "NotFound",
            format!("No route for {method} {path}."),
        )),
    };
    drop(t);
    let _ = &caller as &Caller;
    result.unwrap_or_else(|e| e)
}

fn with_type(ty: &str, ids: &RequestIds) -> Result<&'static str, ApiResponse> {
    canonical_type(ty).ok_or_else(|| {
        ApiResponse::graph_error(
            StatusCode::NOT_FOUND,
            "NotFound",
            format!("Unknown configuration type '{ty}'."),
            ids,
        )
    })
}

fn bad(ids: &RequestIds, msg: String) -> ApiResponse {
    ApiResponse::graph_error(StatusCode::BAD_REQUEST, "BadRequest", msg, ids)
}

/// Stored identity of an instance: policies other than Global are `Tag:Name`.
fn stored_identity(ty: &str, identity: &str) -> String {
    let bare = identity.strip_prefix("Tag:").unwrap_or(identity);
    if is_policy_type(ty) && !bare.eq_ignore_ascii_case("Global") {
        format!("Tag:{bare}")
    } else if bare.eq_ignore_ascii_case("Global") {
        "Global".into()
    } else {
        bare.to_string()
    }
}

fn find<'a>(t: &'a Tenant, ty: &str, identity: &str) -> Option<&'a super::model::ConfigItem> {
    let wanted = stored_identity(ty, identity);
    t.config_items(ty)
        .iter()
        .find(|i| i.identity.eq_ignore_ascii_case(&wanted))
}

fn item_json(t: &Tenant, ty: &str, item: &super::model::ConfigItem) -> Value {
    let mut m = item.props.clone();
    m.insert("Identity".into(), Value::from(item.identity.as_str()));
    if is_policy_type(ty) {
        m.insert(
            "PolicyId".into(),
            Value::from(t.policy_id(ty, &item.identity)),
        );
    }
    Value::Object(m)
}

fn list(t: &Tenant, ty: &str) -> ApiResponse {
    let items: Vec<Value> = t
        .config_items(ty)
        .iter()
        .map(|i| item_json(t, ty, i))
        .collect();
    ApiResponse::ok(Value::Array(items))
}

fn get(t: &Tenant, ty: &str, identity: &str, ids: &RequestIds) -> Result<ApiResponse, ApiResponse> {
    find(t, ty, identity)
        .map(|i| ApiResponse::ok(item_json(t, ty, i)))
        .ok_or_else(|| not_found(ty, identity, ids))
}

fn not_found(ty: &str, identity: &str, ids: &RequestIds) -> ApiResponse {
    ApiResponse::graph_error(
        StatusCode::NOT_FOUND,
        "NotFound",
        format!("Couldn't find the {ty} instance '{identity}'."),
        ids,
    )
}

fn str_list(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        Some(Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

fn usages(t: &Tenant) -> Vec<String> {
    t.config_items("OnlinePstnUsages")
        .first()
        .map(|i| str_list(i.props.get("Usage")))
        .unwrap_or_default()
}

/// Checks the invariants PowerShell enforces before storing an item.
fn validate(
    t: &Tenant,
    ty: &str,
    identity: &str,
    props: &Map<String, Value>,
    ids: &RequestIds,
) -> Result<(), ApiResponse> {
    let known_usages = usages(t);
    let check_usages = |list: Vec<String>| -> Result<(), ApiResponse> {
        for u in list {
            if !known_usages.iter().any(|k| k.eq_ignore_ascii_case(&u)) {
                return Err(bad(
                    ids,
                    format!(
                        "The PSTN usage '{u}' does not exist. Add it to the Global OnlinePstnUsages list first (Set-CsOnlinePstnUsage -Identity Global -Usage @{{Add=\"{u}\"}})."
                    ),
                ));
            }
        }
        Ok(())
    };
    match ty {
        "OnlineVoiceRoute" => {
            check_usages(str_list(props.get("OnlinePstnUsages")))?;
            for gw in str_list(props.get("OnlinePstnGatewayList")) {
                let configured = t
                    .config_items("OnlinePSTNGateway")
                    .iter()
                    .any(|g| g.identity.eq_ignore_ascii_case(&gw));
                let verified = t.domains.iter().any(|d| {
                    d.is_verified
                        && (gw.eq_ignore_ascii_case(&d.id)
                            || gw
                                .to_ascii_lowercase()
                                .ends_with(&format!(".{}", d.id.to_ascii_lowercase())))
                });
                if !configured && !verified {
                    return Err(bad(
                        ids,
                        format!(
                            "The gateway '{gw}' is neither an online PSTN gateway of this tenant nor in one of its verified domains."
                        ),
                    ));
                }
            }
            if let Some(p) = props.get("NumberPattern").and_then(Value::as_str)
                && p.is_empty()
            {
                return Err(bad(ids, "NumberPattern must not be empty.".into()));
            }
        }
        "OnlineVoiceRoutingPolicy" => check_usages(str_list(props.get("OnlinePstnUsages")))?,
        "OnlinePSTNGateway" => {
            let fqdn = props
                .get("Fqdn")
                .and_then(Value::as_str)
                .unwrap_or(identity)
                .to_ascii_lowercase();
            let ok = t.domains.iter().any(|d| {
                d.is_verified
                    && !d.id.ends_with(".onmicrosoft.com")
                    && (fqdn == d.id || fqdn.ends_with(&format!(".{}", d.id)))
            });
            if !ok {
                return Err(bad(
                    ids,
                    format!(
                        "Cannot use '{fqdn}' as an online PSTN gateway: its domain is not a verified domain of the tenant (onmicrosoft.com domains are not allowed)."
                    ),
                ));
            }
        }
        "TenantDialPlan" => {
            if let Some(rules) = props.get("NormalizationRules") {
                let Some(rules) = rules.as_array() else {
                    return Err(bad(ids, "NormalizationRules must be a list.".into()));
                };
                for r in rules {
                    let pattern = r.get("Pattern").and_then(Value::as_str).unwrap_or_default();
                    let translation = r
                        .get("Translation")
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    if pattern.is_empty() || translation.is_empty() {
                        return Err(bad(
                            ids,
                            "Every normalization rule needs a Pattern and a Translation.".into(),
                        ));
                    }
                }
            }
        }
        "TeamsCallingPolicy" => {
            if let Some(v) = props.get("AllowVoicemail").and_then(Value::as_str)
                && !matches!(v, "AlwaysEnabled" | "AlwaysDisabled" | "UserOverride")
            {
                return Err(bad(
                    ids,
                    format!(
                        "AllowVoicemail must be AlwaysEnabled, AlwaysDisabled or UserOverride, not '{v}'."
                    ),
                ));
            }
        }
        "CallingLineIdentity" => {
            if let Some(v) = props.get("CallingIDSubstitute").and_then(Value::as_str)
                && !matches!(v, "Anonymous" | "Service" | "LineUri" | "Resource")
            {
                return Err(bad(
                    ids,
                    format!(
                        "CallingIDSubstitute must be Anonymous, Service, LineUri or Resource, not '{v}'."
                    ),
                ));
            }
        }
        _ => {}
    }
    Ok(())
}

fn create(
    t: &mut Tenant,
    ty: &'static str,
    identity: &str,
    body: Value,
    ids: &RequestIds,
) -> Result<ApiResponse, ApiResponse> {
    if find(t, ty, identity).is_some() || ty == "OnlinePstnUsages" {
        return Err(ApiResponse::graph_error(
            StatusCode::CONFLICT,
            "Conflict",
            format!("A {ty} instance '{identity}' already exists."),
            ids,
        ));
    }
    let props = match body {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    let stored = stored_identity(ty, identity);
    validate(t, ty, &stored, &props, ids)?;
    t.put_config(ty, &stored, Value::Object(props));
    if is_policy_type(ty) {
        t.policy_created(ty, &stored);
    }
    let created = find(t, ty, &stored)
        .map(|i| item_json(t, ty, i))
        .unwrap_or(Value::Null);
    Ok(ApiResponse::json(StatusCode::CREATED, created))
}

/// PUT: merges the given properties into the instance. By default only an existing instance
/// is updated and the body must not name the `Identity` (it is the path); with the tenant's
/// `ConfigCreate::Put` behaviour a missing instance is created.
fn upsert(
    t: &mut Tenant,
    ty: &'static str,
    identity: &str,
    body: Value,
    ids: &RequestIds,
) -> Result<ApiResponse, ApiResponse> {
    let stored = stored_identity(ty, identity);
    let existing = find(t, ty, &stored).map(|i| i.props.clone());
    let Value::Object(changes) = body else {
        return Err(bad(ids, "The request body must be a JSON object.".into()));
    };
    let creates = t.behaviour.config_create == ConfigCreate::Put;
    if !creates {
        if existing.is_none() {
            return Err(not_found(ty, identity, ids));
        }
        if changes.keys().any(|k| k.eq_ignore_ascii_case("Identity")) {
            return Err(bad(
                ids,
                "The 'Identity' property cannot be set in the body: the instance is named by the URL.".into(),
            ));
        }
    }
    let is_new = existing.is_none();
    let mut props = existing.unwrap_or_default();
    for (k, v) in changes {
        if k == "Identity" || k == "PolicyId" {
            continue;
        }
        if ty == "OnlinePstnUsages" && k == "Usage" {
            props.insert(k, merge_list(str_list(props.get("Usage")), &v));
            continue;
        }
        if let Value::Object(ops) = &v
            && (ops.contains_key("Add")
                || ops.contains_key("Remove")
                || ops.contains_key("Replace"))
        {
            props.insert(k.clone(), merge_list(str_list(props.get(&k)), &v));
            continue;
        }
        props.insert(k, v);
    }
    if ty == "OnlinePstnUsages" {
        let remaining = str_list(props.get("Usage"));
        for kind in ["OnlineVoiceRoute", "OnlineVoiceRoutingPolicy"] {
            for item in t.config_items(kind) {
                for u in str_list(item.props.get("OnlinePstnUsages")) {
                    if !remaining.iter().any(|r| r.eq_ignore_ascii_case(&u)) {
                        return Err(bad(
                            ids,
                            format!(
                                "The PSTN usage '{u}' is still used by {kind} '{}'.",
                                item.identity
                            ),
                        ));
                    }
                }
            }
        }
    }
    validate(t, ty, &stored, &props, ids)?;
    t.put_config(ty, &stored, Value::Object(props));
    if is_new && is_policy_type(ty) {
        t.policy_created(ty, &stored);
    }
    let item = find(t, ty, &stored)
        .map(|i| item_json(t, ty, i))
        .unwrap_or(Value::Null);
    Ok(ApiResponse::ok(item))
}

/// `["a","b"]` replaces; `{"Add": [..], "Remove": [..], "Replace": [..]}` edits.
fn merge_list(mut current: Vec<String>, v: &Value) -> Value {
    match v {
        Value::Object(ops) => {
            if let Some(r) = ops.get("Replace") {
                current = str_list(Some(r));
            }
            for a in str_list(ops.get("Add")) {
                if !current.iter().any(|c| c.eq_ignore_ascii_case(&a)) {
                    current.push(a);
                }
            }
            let remove = str_list(ops.get("Remove"));
            current.retain(|c| !remove.iter().any(|r| r.eq_ignore_ascii_case(c)));
            Value::from(current)
        }
        other => Value::from(str_list(Some(other))),
    }
}

fn delete(
    t: &mut Tenant,
    ty: &'static str,
    identity: &str,
    ids: &RequestIds,
) -> Result<ApiResponse, ApiResponse> {
    let stored = stored_identity(ty, identity);
    if stored == "Global" {
        return Err(bad(
            ids,
            format!("The Global instance of {ty} cannot be removed."),
        ));
    }
    if find(t, ty, &stored).is_none() {
        return Err(not_found(ty, identity, ids));
    }
    if ty == "OnlinePSTNGateway" {
        for r in t.config_items("OnlineVoiceRoute") {
            if str_list(r.props.get("OnlinePstnGatewayList"))
                .iter()
                .any(|g| g.eq_ignore_ascii_case(&stored))
            {
                return Err(bad(
                    ids,
                    format!(
                        "The gateway '{stored}' is still used by voice route '{}'.",
                        r.identity
                    ),
                ));
            }
        }
    }
    if is_policy_type(ty) {
        let in_use = t.users.iter().any(|u| {
            u.teams.policies.get(ty).is_some_and(|s| {
                s.effective
                    .as_deref()
                    .is_some_and(|e| e.eq_ignore_ascii_case(&stored))
                    || s.pending.as_ref().is_some_and(|(p, _)| {
                        p.as_deref()
                            .is_some_and(|e| e.eq_ignore_ascii_case(&stored))
                    })
            })
        });
        if in_use {
            return Err(bad(
                ids,
                format!(
                    "The policy '{stored}' is assigned to users; unassign it before removing it."
                ),
            ));
        }
    }
    if let Some(items) = t.config.get_mut(ty) {
        items.retain(|i| !i.identity.eq_ignore_ascii_case(&stored));
    }
    Ok(ApiResponse::empty(StatusCode::NO_CONTENT))
}

fn grant(
    t: &mut Tenant,
    user: &str,
    ty: &str,
    body: &Value,
    ids: &RequestIds,
) -> Result<ApiResponse, ApiResponse> {
    let Some(ty) = canonical_type(ty).filter(|x| is_policy_type(x)) else {
        return Err(bad(ids, format!("'{ty}' is not a policy type.")));
    };
    let Some(idx) = t.user_idx(user) else {
        return Err(ApiResponse::graph_error(
            StatusCode::NOT_FOUND,
            "NotFound",
            format!("Management object not found for identity '{user}'."),
            ids,
        ));
    };
    let name = body
        .get("PolicyName")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty());
    let identity = match name {
        None => None,
        Some(n) => {
            let Some(item) = t.find_policy(ty, n) else {
                return Err(not_found(ty, n, ids));
            };
            (!item.identity.eq_ignore_ascii_case("Global")).then(|| item.identity.clone())
        }
    };
    let uid = t.user(idx).id.clone();
    t.count_write(&uid);
    t.set_policy(idx, ty, identity);
    Ok(ApiResponse::empty(StatusCode::NO_CONTENT))
}

fn user_policies(t: &mut Tenant, user: &str, ids: &RequestIds) -> Result<ApiResponse, ApiResponse> {
    let Some(idx) = t.user_idx(user) else {
        return Err(ApiResponse::graph_error(
            StatusCode::NOT_FOUND,
            "NotFound",
            format!("Management object not found for identity '{user}'."),
            ids,
        ));
    };
    t.settle_policies(idx, std::time::Instant::now());
    let mut m = Map::new();
    for ty in super::model::POLICY_TYPES {
        let name = t
            .user(idx)
            .teams
            .policies
            .get(ty)
            .and_then(|s| s.effective.clone())
            .unwrap_or_else(|| "Global".into());
        m.insert(ty.to_string(), Value::from(name));
    }
    Ok(ApiResponse::ok(Value::Object(m)))
}

fn tenant_info(t: &Tenant) -> ApiResponse {
    let domains: Vec<Value> = t
        .domains
        .iter()
        .filter(|d| d.is_verified)
        .map(|d| Value::from(d.id.as_str()))
        .collect();
    ApiResponse::ok(json!({
        "tenantId": t.id,
        "displayName": t.display_name,
        "verifiedDomains": domains,
        "serviceDiscovery": {
            "Endpoints": {
                "ConfigApiEndpoint": "",
                "AdminServiceEndpoint": "",
            },
            "Headers": { "X-MS-Forest": "sim" },
        },
    }))
}
