//! Subscriptions and licence assignment as Graph has them: `GET /subscribedSkus` (each SKU the
//! tenant bought, `prepaidUnits.enabled` bought, `consumedUnits` assigned, its service plans),
//! `POST /users` and `POST /users/{id}/assignLicense`. A user's licences are its service plans
//! (`assignedPlans`, as the rest of the simulator keeps them); a SKU's consumed units count the
//! users holding it. What a tenant bought beyond what is assigned is `Tenant::spare_licences`
//! (5 Office 365 E5 licences unless the control API sets otherwise).

use serde_json::{Value, json};
use std::sync::Arc;

use super::json::{USER_PROPS, parse_select, sku_of, user_json};
use crate::microsoft::errors::ApiResponse;
use crate::microsoft::model::{
    AssignedPlan, CapabilityStatus, Change, TeamsUser, Tenant, User, ids, now_unix,
    service_of_plan, well_known,
};
use crate::microsoft::request::{GraphRequest, collection};

/// The SKUs the simulator knows: id, part number, service plans.
pub(crate) const SKUS: [(&str, &str, &[&str]); 4] = [
    (
        well_known::SKU_E5,
        "ENTERPRISEPREMIUM",
        &[well_known::PLAN_TEAMS1, well_known::PLAN_MCOEV],
    ),
    (well_known::SKU_MCOEV, "MCOEV", &[well_known::PLAN_MCOEV]),
    (
        "440eaaa8-b3e0-484b-a8be-62870b9ba70a",
        "PHONESYSTEM_VIRTUALUSER",
        &[well_known::PLAN_MCOEV_VIRTUALUSER],
    ),
    (
        "0dab259f-bf13-4952-b7f8-7db8f131b28d",
        "MCOPSTN1",
        &[well_known::PLAN_MCOPSTN1],
    ),
];

fn consumed(t: &Tenant, sku_id: &str) -> i64 {
    t.users
        .iter()
        .filter(|u| u.deleted.is_none())
        .filter(|u| {
            sku_of(u)
                .iter()
                .any(|l| l.get("skuId").and_then(Value::as_str) == Some(sku_id))
        })
        .count() as i64
}

/// GET /subscribedSkus: every SKU the tenant holds or has spare.
pub(crate) fn subscribed_skus(t: &Tenant, req: &GraphRequest) -> ApiResponse {
    let values = SKUS
        .iter()
        .filter_map(|(sku, part, plans)| {
            let used = consumed(t, sku);
            let spare = t.spare_licences.get(*sku).copied().unwrap_or(0);
            (used > 0 || spare != 0).then(|| {
                json!({
                    "accountId": t.id,
                    "accountName": t.display_name,
                    "appliesTo": "User",
                    "capabilityStatus": "Enabled",
                    "consumedUnits": used,
                    "id": format!("{}_{sku}", t.id),
                    "prepaidUnits": {"enabled": used + spare, "lockedOut": 0, "suspended": 0, "warning": 0},
                    "servicePlans": plans.iter().map(|p| json!({
                        "servicePlanId": p,
                        "servicePlanName": service_of_plan(p),
                        "provisioningStatus": "Success",
                        "appliesTo": "User",
                    })).collect::<Vec<_>>(),
                    "skuId": sku,
                    "skuPartNumber": part,
                    "subscriptionIds": [ids::user_id(&t.id, part)],
                })
            })
        })
        .collect();
    collection(
        format!("{}/v1.0/$metadata#subscribedSkus", req.base),
        values,
        None,
        None,
    )
}

/// POST /users
pub(crate) fn create_user(t: &mut Tenant, req: &GraphRequest) -> ApiResponse {
    let body = match req.json_body() {
        Ok(b) => b,
        Err(e) => return e,
    };
    let text = |k: &str| body.get(k).and_then(Value::as_str).map(str::trim);
    for required in ["displayName", "mailNickname", "userPrincipalName"] {
        if text(required).is_none_or(str::is_empty) {
            return req.bad_request(format!(
                "Invalid value specified for property '{required}' of resource 'User'."
            ));
        }
    }
    if body
        .pointer("/passwordProfile/password")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        return req.bad_request(
            "Invalid value specified for property 'passwordProfile' of resource 'User'.",
        );
    }
    let upn = text("userPrincipalName").unwrap_or_default().to_owned();
    let domain = upn.rsplit_once('@').map(|(_, d)| d.to_ascii_lowercase());
    let verified = domain
        .as_deref()
        .is_some_and(|d| t.domains.iter().any(|x| x.is_verified && x.id == d));
    if !verified {
        return req.bad_request(
            "The domain portion of the userPrincipalName property is invalid. You must use one of the verified domain names in your organization.",
        );
    }
    if t.user_by_upn.contains_key(&upn.to_lowercase()) {
        return req.bad_request(
            "Another object with the same value for property userPrincipalName already exists.",
        );
    }
    let user = User {
        id: ids::user_id(&t.id, &upn),
        upn: upn.clone(),
        display_name: text("displayName").unwrap_or_default().to_owned(),
        given_name: None,
        surname: None,
        mail: None,
        account_enabled: body
            .get("accountEnabled")
            .and_then(Value::as_bool)
            .unwrap_or(true),
        guest: false,
        usage_location: text("usageLocation")
            .filter(|s| !s.is_empty())
            .map(str::to_owned),
        created: now_unix(),
        plans: Vec::new(),
        password: Arc::from("set-by-caller"),
        wids: Vec::new(),
        eligible_roles: Vec::new(),
        resource_account: false,
        deleted: None,
        teams: TeamsUser::default(),
    };
    let idx = t.add_user(user);
    let select = parse_select(req, &USER_PROPS, "user").unwrap_or_default();
    ApiResponse::json(
        axum::http::StatusCode::CREATED,
        Value::Object(user_json(t.user(idx), &select)),
    )
}

/// PATCH /users/{id} (the usage location only: what a licence needs).
pub(crate) fn update_user(t: &mut Tenant, req: &GraphRequest, key: &str) -> ApiResponse {
    let body = match req.json_body() {
        Ok(b) => b,
        Err(e) => return e,
    };
    let Some(idx) = t.user_idx(key) else {
        return req.not_found(key);
    };
    if let Some(loc) = body.get("usageLocation").and_then(Value::as_str) {
        t.user_mut(idx).usage_location = Some(loc.to_owned()).filter(|l| !l.is_empty());
        t.record(Change::User(idx, vec!["usageLocation"]));
    }
    ApiResponse::empty(axum::http::StatusCode::NO_CONTENT)
}

/// POST /users/{id}/assignLicense
pub(crate) fn assign_license(t: &mut Tenant, req: &GraphRequest, key: &str) -> ApiResponse {
    let body = match req.json_body() {
        Ok(b) => b,
        Err(e) => return e,
    };
    let (Some(add), Some(_remove)) = (
        body.get("addLicenses").and_then(Value::as_array),
        body.get("removeLicenses").and_then(Value::as_array),
    ) else {
        return req.bad_request(
            "One or more parameters of the operation 'assignLicense' are missing from the request payload. The missing parameters are: addLicenses, removeLicenses.",
        );
    };
    let Some(idx) = t.user_idx(key) else {
        return req.not_found(key);
    };
    let mut plans_to_add = Vec::new();
    for licence in add {
        let sku = licence
            .get("skuId")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_ascii_lowercase();
        let Some((_, _, plans)) = SKUS.iter().find(|(id, ..)| *id == sku) else {
            return req.bad_request(format!(
                "License {sku} does not correspond to a valid company License."
            ));
        };
        let held = sku_of(t.user(idx))
            .iter()
            .any(|l| l.get("skuId").and_then(Value::as_str) == Some(sku.as_str()));
        if held {
            continue;
        }
        if t.user(idx).usage_location.is_none() {
            return req.bad_request(
                "License assignment cannot be done for user with invalid usage location.",
            );
        }
        let spare = t.spare_licences.get(sku.as_str()).copied().unwrap_or(0);
        if spare <= 0 {
            return req.bad_request(format!(
                "Subscription with SKU {sku} does not have any available licenses."
            ));
        }
        plans_to_add.push((sku, *plans));
    }
    let now = now_unix();
    for (sku, plans) in plans_to_add {
        if let Some(n) = t.spare_licences.get_mut(sku.as_str()) {
            *n -= 1;
        }
        let user = t.user_mut(idx);
        for plan in plans {
            if !user.plans.iter().any(|p| &*p.plan_id == *plan) {
                user.plans.push(AssignedPlan {
                    plan_id: Arc::from(*plan),
                    service: Arc::from(service_of_plan(plan)),
                    status: CapabilityStatus::Enabled,
                    assigned: now,
                });
            }
        }
    }
    t.record(Change::User(idx, vec!["assignedLicenses", "assignedPlans"]));
    let select = parse_select(req, &USER_PROPS, "user").unwrap_or_default();
    ApiResponse::ok(Value::Object(user_json(t.user(idx), &select)))
}
