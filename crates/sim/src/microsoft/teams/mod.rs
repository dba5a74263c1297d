//! Teams administration in Graph v1.0 (`/admin/teams/...`): number assignment with
//! long-running operations, policy ids and user policy assignment, and user configurations.
//!
//! Invariants enforced (as Teams does): a number belongs to at most one user or resource
//! account; assigning requires an enabled Teams Phone plan and turns enterprise voice on;
//! unassigning turns it off; numbers are stored with a leading `+`; policy changes become
//! visible after the tenant's propagation delay.
//!
//! Split by resource: `numbers` (inventory, assign/unassign), `operations` (the long-running
//! operations behind them), `policies` (policy ids, user assignments) and `user_config`
//! (userConfigurations). This module routes and holds what they share: the single-entity
//! shape, `$filter` over JSON, required body fields.

mod numbers;
mod operations;
mod policies;
mod user_config;

use axum::http::{Method, StatusCode};
use serde_json::{Map, Value, json};

use self::numbers::{assign_number, get_number, list_numbers, unassign_number};
use self::operations::get_operation;
use self::policies::{get_policy_id, user_assignments};
use self::user_config::{get_user_config, list_user_configs};
use super::admission::{Caller, guard};
use super::errors::ApiResponse;
use super::model::Tenant;
use super::odata::{self, Filterable};
use super::request::GraphRequest;
use super::state::{EntityShape, SimState};

pub use self::numbers::normalize_number;
pub(crate) use self::operations::settle_due_operations;

const NUMBERS_READ: &[&str] = &[
    "TeamsTelephoneNumber.Read.All",
    "TeamsTelephoneNumber.ReadWrite.All",
];
const NUMBERS_WRITE: &[&str] = &["TeamsTelephoneNumber.ReadWrite.All"];
const POLICY: &[&str] = &["TeamsPolicyUserAssign.ReadWrite.All"];
const USER_CONFIG: &[&str] = &[
    "TeamsUserConfiguration.Read.All",
    "TeamsUserConfiguration.ReadWrite.All",
];

/// Routes `/admin/teams/...` (the segments after `teams`).
pub(crate) fn dispatch(
    state: &SimState,
    caller: &Caller,
    t: &mut Tenant,
    req: &GraphRequest,
    rest: &[&str],
) -> ApiResponse {
    let get = req.method == Method::GET;
    let post = req.method == Method::POST;
    match rest {
        ["telephoneNumberManagement", "numberAssignments"] if get => {
            guard(caller, req, NUMBERS_READ, NUMBERS_READ, || {
                list_numbers(t, req)
            })
        }
        [
            "telephoneNumberManagement",
            "numberAssignments",
            "assignNumber",
        ] if post => guard(caller, req, NUMBERS_WRITE, NUMBERS_WRITE, || {
            assign_number(t, req)
        }),
        [
            "telephoneNumberManagement",
            "numberAssignments",
            "unassignNumber",
        ] if post => guard(caller, req, NUMBERS_WRITE, NUMBERS_WRITE, || {
            unassign_number(t, req)
        }),
        ["telephoneNumberManagement", "numberAssignments", id] if get => {
            guard(caller, req, NUMBERS_READ, NUMBERS_READ, || {
                get_number(state, t, req, id)
            })
        }
        ["telephoneNumberManagement", "operations", id] if get => {
            guard(caller, req, NUMBERS_READ, NUMBERS_READ, || {
                get_operation(state, t, req, id)
            })
        }
        ["telephoneNumberManagement", seg] if get && seg.starts_with("operations(") => {
            let id = seg
                .trim_start_matches("operations(")
                .trim_end_matches(')')
                .trim_matches('\'')
                .to_string();
            guard(caller, req, NUMBERS_READ, NUMBERS_READ, || {
                get_operation(state, t, req, &id)
            })
        }
        ["policy", func] if get && func.starts_with("getPolicyId") => {
            guard(caller, req, POLICY, POLICY, || get_policy_id(t, req, func))
        }
        [
            "policy",
            "userAssignments",
            action @ ("assign" | "unassign"),
        ] if post => guard(caller, req, POLICY, POLICY, || {
            user_assignments(t, req, *action == "assign")
        }),
        ["userConfigurations"] if get => guard(caller, req, USER_CONFIG, USER_CONFIG, || {
            list_user_configs(t, req)
        }),
        ["userConfigurations", id] if get => guard(caller, req, USER_CONFIG, USER_CONFIG, || {
            get_user_config(state, t, req, id)
        }),
        _ => req.error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            format!(
                "Resource not found for the segment '{}'.",
                rest.first().copied().unwrap_or("teams")
            ),
        ),
    }
}

pub(super) struct JsonView(Value);
impl Filterable for JsonView {
    fn prop(&self, name: &str) -> Value {
        self.0
            .as_object()
            .and_then(|m| m.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)))
            .map(|(_, v)| v.clone())
            .unwrap_or(Value::Null)
    }
    fn collection(&self, name: &str) -> Vec<Value> {
        match self.prop(name) {
            Value::Array(a) => a,
            _ => Vec::new(),
        }
    }
}

pub(super) fn json_filter(
    req: &GraphRequest,
    fields: &[&str],
    collections: &[&str],
) -> Result<Option<odata::Expr>, ApiResponse> {
    let Some(raw) = req.query.get("$filter") else {
        return Ok(None);
    };
    let e = odata::parse_filter(raw).map_err(|e| {
        req.error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            format!("Invalid filter clause: {e:?}"),
        )
    })?;
    odata::validate(&e, fields, collections, true).map_err(|e| {
        req.error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            format!("Invalid filter clause: {e:?}"),
        )
    })?;
    Ok(Some(e))
}

/// Wraps a single entity according to the configured [`EntityShape`].
pub(super) fn entity(state: &SimState, req: &GraphRequest, ctx: &str, body: Value) -> ApiResponse {
    let mut obj = match body {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    let context = format!("{}/v1.0/$metadata#{ctx}", req.base);
    match state.config.entity_shape {
        EntityShape::Documented => {
            obj.insert("@odata.context".into(), Value::from(context));
            ApiResponse::ok(json!({ "value": obj }))
        }
        EntityShape::Flat => {
            let mut m = Map::new();
            m.insert("@odata.context".into(), Value::from(context));
            m.extend(obj);
            ApiResponse::ok(Value::Object(m))
        }
    }
}

pub(super) fn required_str<'a>(
    req: &GraphRequest,
    body: &'a Value,
    name: &str,
) -> Result<&'a str, ApiResponse> {
    body.get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| {
            req.error(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                format!("The '{name}' parameter is required."),
            )
        })
}
