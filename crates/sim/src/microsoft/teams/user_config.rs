//! `userConfigurations`: what Teams holds for a user (enterprise voice, numbers, effective
//! policies, account type and features), one by id or as a filtered, paged list.

use std::time::Instant;

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::{JsonView, entity, json_filter};
use crate::microsoft::errors::ApiResponse;
use crate::microsoft::model::well_known;
use crate::microsoft::model::{Tenant, iso};
use crate::microsoft::odata;
use crate::microsoft::request::{GraphRequest, collection, page_size, skip_link, skip_offset};
use crate::microsoft::state::SimState;

/// Whether the user has a Teams account (Teams licence or a resource account).
fn hosted_in_teams(t: &Tenant, idx: u32) -> bool {
    let u = t.user(idx);
    u.resource_account || u.has_enabled_plan(well_known::PLAN_TEAMS1)
}

/// The `teamsUserConfiguration` of a user (after settling propagated policy changes).
pub(crate) fn user_config_json(t: &mut Tenant, idx: u32) -> Value {
    t.settle_policies(idx, Instant::now());
    let u = t.user(idx);
    let policies: Vec<Value> = u
        .teams
        .policies
        .iter()
        .filter_map(|(ty, slot)| {
            let identity = slot.effective.as_ref()?;
            Some(json!({
                "policyType": ty,
                "policyAssignment": {
                    "displayName": identity.strip_prefix("Tag:").unwrap_or(identity),
                    "assignmentType": "direct",
                    "policyId": t.policy_id(ty, identity),
                    "groupId": null,
                }
            }))
        })
        .collect();
    json!({
        "id": u.id,
        "userPrincipalName": u.upn,
        "tenantId": t.id,
        "isEnterpriseVoiceEnabled": u.teams.ev,
        "accountType": u.account_type(),
        "featureTypes": u.feature_types(),
        "telephoneNumbers": u.teams.numbers.iter().map(|n| json!({"telephoneNumber": n.number, "assignmentCategory": n.category})).collect::<Vec<_>>(),
        "effectivePolicyAssignments": policies,
        "createdDateTime": iso(u.created),
        "modifiedDateTime": iso(u.teams.modified.max(u.created)),
    })
}

pub(super) fn get_user_config(
    state: &SimState,
    t: &mut Tenant,
    req: &GraphRequest,
    id: &str,
) -> ApiResponse {
    let Some(idx) = t.user_idx(id).filter(|i| hosted_in_teams(t, *i)) else {
        return req.error(
            StatusCode::NOT_FOUND,
            "NotFound",
            format!("Management object not found for identity '{id}'."),
        );
    };
    let body = user_config_json(t, idx);
    entity(state, req, "admin/teams/userConfigurations/$entity", body)
}

pub(super) fn list_user_configs(t: &mut Tenant, req: &GraphRequest) -> ApiResponse {
    let run = |t: &mut Tenant| -> Result<ApiResponse, ApiResponse> {
        let filter = json_filter(
            req,
            &[
                "id",
                "userPrincipalName",
                "isEnterpriseVoiceEnabled",
                "accountType",
                "tenantId",
            ],
            &["featureTypes", "telephoneNumbers"],
        )?;
        let top = page_size(req, 100, 999)?;
        let offset = skip_offset(req)?;
        let select = req.query.select();
        let mut values = Vec::new();
        let mut next = None;
        let mut i = offset;
        while i < t.users.len() {
            let idx = i as u32;
            if t.users[i].deleted.is_none() && hosted_in_teams(t, idx) {
                let v = user_config_json(t, idx);
                if filter
                    .as_ref()
                    .is_none_or(|f| odata::eval(f, &JsonView(v.clone())))
                {
                    if values.len() == top {
                        next = Some(i);
                        break;
                    }
                    values.push(project(v, &select));
                }
            }
            i += 1;
        }
        Ok(collection(
            format!("{}/v1.0/$metadata#admin/teams/userConfigurations", req.base),
            values,
            next.map(|o| skip_link(req, o)),
            None,
        ))
    };
    run(t).unwrap_or_else(|e| e)
}

fn project(v: Value, select: &[String]) -> Value {
    if select.is_empty() {
        return v;
    }
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter(|(k, _)| k == "id" || select.iter().any(|s| s.eq_ignore_ascii_case(k)))
                .collect(),
        ),
        other => other,
    }
}
