//! Policies: `getPolicyId(type, name)` and user policy assignment (assign / unassign), which
//! takes effect after the tenant's propagation delay. The tenant's behaviour decides whether
//! Graph accepts the voice policy types and what `getPolicyId` answers; a policy just created
//! through the Teams admin REST surface is invisible here for the replication delay.

use std::time::Instant;

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::required_str;
use crate::microsoft::behaviour::PolicyIdLookup;
use crate::microsoft::errors::ApiResponse;
use crate::microsoft::model::{ConfigItem, Tenant, canonical_type, is_policy_type};
use crate::microsoft::request::GraphRequest;

/// Parses `name(k='v',k2='v2')` function parameters.
fn function_params(seg: &str) -> Option<Vec<(String, String)>> {
    let open = seg.find('(')?;
    let inner = seg.get(open + 1..seg.len().checked_sub(1)?)?;
    if !seg.ends_with(')') {
        return None;
    }
    let mut out = Vec::new();
    let chars: Vec<char> = inner.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let start = i;
        while i < chars.len() && chars[i] != '=' {
            i += 1;
        }
        let key: String = chars[start..i]
            .iter()
            .collect::<String>()
            .trim()
            .to_string();
        i += 1;
        while i < chars.len() && chars[i] == ' ' {
            i += 1;
        }
        if chars.get(i) != Some(&'\'') {
            return None;
        }
        i += 1;
        let mut value = String::new();
        loop {
            match chars.get(i) {
                None => return None,
                Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                    value.push('\'');
                    i += 2;
                }
                Some('\'') => {
                    i += 1;
                    break;
                }
                Some(c) => {
                    value.push(*c);
                    i += 1;
                }
            }
        }
        out.push((key, value));
        while i < chars.len() && (chars[i] == ',' || chars[i] == ' ') {
            i += 1;
        }
    }
    Some(out)
}

/// The canonical policy type if Graph's policy assignment accepts it in this tenant.
fn supported_type(t: &Tenant, raw: &str) -> Option<&'static str> {
    canonical_type(raw)
        .filter(|ty| is_policy_type(ty))
        .filter(|ty| t.behaviour.graph_voice_policies || !Tenant::is_voice_policy_type(ty))
}

fn unsupported(req: &GraphRequest, ty: &str) -> ApiResponse {
    req.error(
        StatusCode::BAD_REQUEST,
        "BadRequest",
        format!("The policy type '{ty}' is not supported."),
    )
}

/// GET policy/getPolicyId(type='..',name='..')
pub(super) fn get_policy_id(t: &Tenant, req: &GraphRequest, func: &str) -> ApiResponse {
    let Some(params) = function_params(func) else {
        return req.error(StatusCode::BAD_REQUEST, "BadRequest", format!("Invalid function call '{func}'. Expected getPolicyId(type='{{type}}',name='{{name}}')."));
    };
    let param = |k: &str| {
        params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(k))
            .map(|(_, v)| v.as_str())
    };
    let (Some(ty), Some(name)) = (param("type"), param("name")) else {
        return req.error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "Both 'type' and 'name' parameters are required.",
        );
    };
    let Some(ty) = supported_type(t, ty) else {
        return unsupported(req, ty);
    };
    let now = Instant::now();
    let visible = |identity: &str| t.policy_visible_to_graph(ty, identity, now);
    let found: Vec<&ConfigItem> = match t.behaviour.policy_id_lookup {
        PolicyIdLookup::Exact => t
            .find_policy(ty, name)
            .filter(|i| visible(&i.identity))
            .into_iter()
            .collect(),
        PolicyIdLookup::AllOfType => {
            let mut all: Vec<&ConfigItem> = t
                .config_items(ty)
                .iter()
                .filter(|i| visible(&i.identity))
                .collect();
            all.sort_by_key(|i| !i.identity.eq_ignore_ascii_case("Global"));
            all
        }
    };
    if found.is_empty() {
        return req.error(
            StatusCode::NOT_FOUND,
            "NotFound",
            format!("The policy '{name}' of type '{ty}' was not found in the tenant."),
        );
    }
    let value: Vec<Value> = found
        .iter()
        .map(|item| {
            json!({
                "@odata.type": "#microsoft.graph.teamsAdministration.policyIdentifierDetail",
                "name": item.identity,
                "policyId": t.policy_id(ty, &item.identity),
            })
        })
        .collect();
    ApiResponse::ok(json!({
        "@odata.context": format!("{}/v1.0/$metadata#Collection(microsoft.graph.teamsAdministration.policyIdentifierDetail)", req.base),
        "value": value,
    }))
}

/// POST policy/userAssignments/assign | unassign: 204.
pub(super) fn user_assignments(t: &mut Tenant, req: &GraphRequest, assign: bool) -> ApiResponse {
    t.policy_assignment_requests += 1;
    let run = |t: &mut Tenant| -> Result<ApiResponse, ApiResponse> {
        let body = req.json_body()?;
        let Some(items) = body.get("value").and_then(Value::as_array) else {
            return Err(req.error(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                "The 'value' parameter is required.",
            ));
        };
        if items.is_empty() {
            return Err(req.error(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                "The 'value' parameter must list at least one assignment.",
            ));
        }
        // Validate everything first so a bad item changes nothing.
        let mut plan = Vec::new();
        for item in items {
            let user = required_str(req, item, "userId")?;
            let ty_raw = required_str(req, item, "policyType")?;
            let Some(ty) = supported_type(t, ty_raw) else {
                return Err(unsupported(req, ty_raw));
            };
            let Some(idx) = t.user_idx(user) else {
                return Err(req.error(
                    StatusCode::NOT_FOUND,
                    "NotFound",
                    format!("The user '{user}' was not found in the tenant."),
                ));
            };
            let identity = if assign {
                let pid = required_str(req, item, "policyId")?;
                let Some(instance) = t
                    .find_policy_by_id(ty, pid)
                    .filter(|i| t.policy_visible_to_graph(ty, &i.identity, Instant::now()))
                else {
                    return Err(req.error(
                        StatusCode::BAD_REQUEST,
                        "BadRequest",
                        format!("The policy id '{pid}' does not identify a policy of type '{ty}'. Use getPolicyId to look it up."),
                    ));
                };
                (!instance.identity.eq_ignore_ascii_case("Global"))
                    .then(|| instance.identity.clone())
            } else {
                None
            };
            plan.push((idx, ty, identity));
        }
        for (idx, ty, identity) in plan {
            let uid = t.user(idx).id.clone();
            t.count_write(&uid);
            t.set_policy(idx, ty, identity);
        }
        Ok(ApiResponse::empty(StatusCode::NO_CONTENT))
    };
    run(t).unwrap_or_else(|e| e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_parameters_parse_quoted_values() {
        let p = function_params("getPolicyId(type='OnlineVoiceRoutingPolicy',name='US East 2')")
            .unwrap();
        assert_eq!(p[0], ("type".into(), "OnlineVoiceRoutingPolicy".into()));
        assert_eq!(p[1], ("name".into(), "US East 2".into()));
        let p = function_params("getPolicyId(type='X', name='O''Brien')").unwrap();
        assert_eq!(p[1].1, "O'Brien");
        assert!(function_params("getPolicyId(type=X)").is_none());
    }
}
