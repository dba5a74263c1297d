//! Teams administration in Graph v1.0 (`/admin/teams/...`): number assignment with
//! long-running operations, policy ids and user policy assignment, and user configurations.
//!
//! Invariants enforced (as Teams does): a number belongs to at most one user or resource
//! account; assigning requires an enabled Teams Phone plan and turns enterprise voice on;
//! unassigning turns it off; numbers are stored with a leading `+`; policy changes become
//! visible after the tenant's propagation delay.

use std::time::Instant;

use axum::http::{Method, StatusCode};
use serde_json::{Map, Value, json};

use super::admission::{Caller, guard};
use super::errors::ApiResponse;
use super::model::well_known;
use super::model::{
    NumberRecord, Operation, OperationKind, OperationStatus, Tenant, UserNumber, canonical_type,
    is_policy_type, iso, now_unix,
};
use super::odata::{self, Filterable};
use super::request::{GraphRequest, collection, page_size, skip_link, skip_offset};
use super::state::{EntityShape, SimState};

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

/// Normalises a telephone number to `+<digits>[;ext=<digits>]`; `None` when invalid.
pub fn normalize_number(raw: &str) -> Option<String> {
    let raw = raw.trim();
    let raw = raw.strip_prefix("tel:").unwrap_or(raw);
    let (main, ext) = match raw.to_ascii_lowercase().find(";ext=") {
        Some(i) => (&raw[..i], Some(&raw[i + 5..])),
        None => (raw, None),
    };
    let digits: String = main
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '.'))
        .collect();
    let digits = digits.strip_prefix('+').unwrap_or(&digits);
    if digits.is_empty() || digits.len() > 15 || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    match ext {
        Some(e) if !e.is_empty() && e.chars().all(|c| c.is_ascii_digit()) => {
            Some(format!("+{digits};ext={e}"))
        }
        Some(_) => None,
        None => Some(format!("+{digits}")),
    }
}

fn number_id(t: &Tenant, number: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{}|{number}", t.id))
}

fn number_json(t: &Tenant, base: &str, r: &NumberRecord) -> Value {
    let status = match (&r.target, r.activation_state) {
        (_, "assignmentFailed") | (None, _) => "unassigned",
        (Some(_), _) if r.target_is_resource => "voiceApplicationAssigned",
        (Some(_), _) => "userAssigned",
    };
    let _ = base;
    json!({
        "@odata.type": "#microsoft.graph.teamsAdministration.numberAssignment",
        "id": number_id(t, &r.number),
        "telephoneNumber": r.number,
        "operatorId": null,
        "numberType": r.number_type,
        "activationState": r.activation_state,
        "capabilities": ["userAssignment", "voiceApplicationAssignment", "conferenceAssignment"],
        "locationId": r.location_id,
        "civicAddressId": null,
        "networkSiteId": null,
        "assignmentTargetId": if status == "unassigned" { None } else { r.target.clone() },
        "assignmentCategory": if status == "unassigned" { None } else { r.category.clone() },
        "portInStatus": null,
        "assignmentStatus": status,
        "isoCountryCode": null,
        "city": null,
        "numberSource": "onPremises",
        "supportedCustomerActions": ["locationUpdate"],
        "reverseNumberLookupOptions": [],
    })
}

struct JsonView(Value);
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

fn json_filter(
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

/// GET numberAssignments (`$filter`, `$top` default 500 max 1000, `$skip`).
fn list_numbers(t: &Tenant, req: &GraphRequest) -> ApiResponse {
    let run = || -> Result<ApiResponse, ApiResponse> {
        let filter = json_filter(
            req,
            &[
                "telephoneNumber",
                "numberType",
                "activationState",
                "assignmentStatus",
                "assignmentTargetId",
                "assignmentCategory",
                "locationId",
                "numberSource",
            ],
            &["capabilities"],
        )?;
        let top = page_size(req, 500, 1000)?;
        let skip = match req.query.get("$skip") {
            Some(s) => s
                .parse::<usize>()
                .map_err(|_| req.bad_request(format!("Invalid $skip value '{s}'.")))?,
            None => skip_offset(req)?,
        };
        let all: Vec<Value> = t
            .numbers
            .values()
            .map(|r| number_json(t, &req.base, r))
            .filter(|v| {
                filter
                    .as_ref()
                    .is_none_or(|f| odata::eval(f, &JsonView(v.clone())))
            })
            .collect();
        let end = (skip + top).min(all.len());
        let page = all
            .get(skip..end)
            .map(<[Value]>::to_vec)
            .unwrap_or_default();
        let next = (end < all.len())
            .then(|| req.next_link(&["$skip", "$skiptoken"], &[("$skip", end.to_string())]));
        Ok(collection(
            format!(
                "{}/v1.0/$metadata#admin/teams/telephoneNumberManagement/numberAssignments",
                req.base
            ),
            page,
            next,
            None,
        ))
    };
    run().unwrap_or_else(|e| e)
}

fn get_number(state: &SimState, t: &Tenant, req: &GraphRequest, id: &str) -> ApiResponse {
    let found = t.numbers.values().find(|r| number_id(t, &r.number) == id);
    match found {
        Some(r) => entity(
            state,
            req,
            "admin/teams/telephoneNumberManagement/numberAssignments/$entity",
            number_json(t, &req.base, r),
        ),
        None => req.error(
            StatusCode::NOT_FOUND,
            "NotFound",
            format!("The number assignment '{id}' was not found."),
        ),
    }
}

/// Wraps a single entity according to the configured [`EntityShape`].
fn entity(state: &SimState, req: &GraphRequest, ctx: &str, body: Value) -> ApiResponse {
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

fn required_str<'a>(
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

fn number_type(req: &GraphRequest, body: &Value) -> Result<String, ApiResponse> {
    let ty = required_str(req, body, "numberType")?;
    match ty.to_ascii_lowercase().as_str() {
        "directrouting" => Ok("directRouting".into()),
        "callingplan" => Ok("callingPlan".into()),
        "operatorconnect" => Ok("operatorConnect".into()),
        _ => Err(req.error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            format!("Invalid value '{ty}' for 'numberType'. Expected one of: directRouting, callingPlan, operatorConnect."),
        )),
    }
}

fn parse_number(req: &GraphRequest, body: &Value) -> Result<String, ApiResponse> {
    let raw = required_str(req, body, "telephoneNumber")?;
    normalize_number(raw).ok_or_else(|| {
        req.error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            format!("The telephone number '{raw}' is not valid. Use E.164 digits, optionally with a leading '+' and ';ext='."),
        )
    })
}

/// POST assignNumber: 202 + Location of the operation.
fn assign_number(t: &mut Tenant, req: &GraphRequest) -> ApiResponse {
    let run = |t: &mut Tenant| -> Result<ApiResponse, ApiResponse> {
        let body = req.json_body()?;
        let number = parse_number(req, &body)?;
        let target = required_str(req, &body, "assignmentTargetId")?.to_string();
        let number_type = number_type(req, &body)?;
        let category = body
            .get("assignmentCategory")
            .and_then(Value::as_str)
            .unwrap_or("primary")
            .to_string();
        if !matches!(category.as_str(), "primary" | "private" | "alternate") {
            return Err(req.error(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                format!("Invalid value '{category}' for 'assignmentCategory'."),
            ));
        }
        let location_id = body
            .get("locationId")
            .and_then(Value::as_str)
            .map(str::to_string);
        let target_id = t
            .user_idx(&target)
            .map(|i| t.user(i).id.clone())
            .unwrap_or(target.clone());
        t.count_write(&target_id);
        let op = create_operation(
            t,
            "Assignment",
            OperationKind::Assign {
                number,
                target,
                number_type,
                category,
                location_id,
            },
        );
        Ok(accepted(req, &op))
    };
    run(t).unwrap_or_else(|e| e)
}

/// POST unassignNumber: 202 + Location of the operation.
fn unassign_number(t: &mut Tenant, req: &GraphRequest) -> ApiResponse {
    let run = |t: &mut Tenant| -> Result<ApiResponse, ApiResponse> {
        let body = req.json_body()?;
        let number = parse_number(req, &body)?;
        let number_type = number_type(req, &body)?;
        let holder = t
            .numbers
            .get(&number)
            .and_then(|r| r.target.clone())
            .unwrap_or_else(|| number.clone());
        t.count_write(&holder);
        let op = create_operation(
            t,
            "Unassignment",
            OperationKind::Unassign {
                number,
                number_type,
            },
        );
        Ok(accepted(req, &op))
    };
    run(t).unwrap_or_else(|e| e)
}

fn accepted(req: &GraphRequest, op_id: &str) -> ApiResponse {
    ApiResponse::empty(StatusCode::ACCEPTED).with_header(
        "location",
        format!(
            "{}/v1.0/admin/teams/telephoneNumberManagement/operations('{op_id}')",
            req.base
        ),
    )
}

/// Creates an operation; runs it at once unless the tenant's faults keep it running.
fn create_operation(t: &mut Tenant, prefix: &str, kind: OperationKind) -> String {
    let id = t.next_operation_id(prefix);
    let polls_left = t.traffic.faults.operation_running_polls;
    let mut op = Operation {
        id: id.clone(),
        created: now_unix(),
        kind,
        status: OperationStatus::NotStarted,
        polls_left,
        forced_failure: t.traffic.faults.operation_failure.clone(),
        detail: None,
        polls: 0,
    };
    if polls_left == 0 {
        execute(t, &mut op);
    } else if let OperationKind::Assign {
        number,
        target,
        number_type,
        category,
        location_id,
    } = &op.kind
        && !t
            .numbers
            .get(number)
            .is_some_and(|r| r.target.is_some() && r.activation_state != "assignmentFailed")
    {
        let target_id = t
            .user_idx(target)
            .map(|i| t.user(i).id.clone())
            .unwrap_or(target.clone());
        t.numbers.insert(
            number.clone(),
            NumberRecord {
                number: number.clone(),
                number_type: number_type.clone(),
                target: Some(target_id),
                target_is_resource: false,
                category: Some(category.clone()),
                activation_state: "assignmentPending",
                location_id: location_id.clone(),
            },
        );
    }
    t.operations.insert(id.clone(), op);
    id
}

/// Applies an operation to the tenant, setting its final status and detail.
fn execute(t: &mut Tenant, op: &mut Operation) {
    let result = match &op.kind {
        OperationKind::Assign {
            number,
            target,
            number_type,
            category,
            location_id,
        } => match op.forced_failure.clone() {
            Some(detail) => Err(detail),
            None => do_assign(
                t,
                number,
                target,
                number_type,
                category,
                location_id.clone(),
            ),
        },
        OperationKind::Unassign {
            number,
            number_type,
        } => match op.forced_failure.clone() {
            Some(detail) => Err(detail),
            None => do_unassign(t, number, number_type),
        },
    };
    match result {
        Ok(()) => {
            op.status = OperationStatus::Succeeded;
            op.detail = None;
        }
        Err(detail) => {
            op.status = OperationStatus::Failed;
            if let OperationKind::Assign { number, .. } = &op.kind
                && let Some(r) = t.numbers.get_mut(number)
                && r.activation_state == "assignmentPending"
            {
                r.activation_state = "assignmentFailed";
            }
            op.detail = Some(detail);
        }
    }
}

fn do_assign(
    t: &mut Tenant,
    number: &str,
    target: &str,
    number_type: &str,
    category: &str,
    location_id: Option<String>,
) -> Result<(), String> {
    let Some(idx) = t.user_idx(target) else {
        return Err(format!(
            "Could not find user or resource account '{target}' in the tenant."
        ));
    };
    let user = t.user(idx).clone();
    if user.guest {
        return Err(format!(
            "{} is not a valid target for phone number assignment: guest accounts cannot be assigned a number.",
            user.upn
        ));
    }
    let licensed = if user.resource_account {
        user.has_enabled_plan(well_known::PLAN_MCOEV_VIRTUALUSER)
            || user.has_enabled_plan(well_known::PLAN_MCOEV)
    } else {
        user.has_enabled_plan(well_known::PLAN_MCOEV)
    };
    if !licensed {
        return Err(format!(
            "{} is not enabled for Enterprise Voice: the account has no enabled Teams Phone (MCOEV) license. Assign a Teams Phone license and wait for it to be provisioned.",
            user.upn
        ));
    }
    let acquired_as_type = t
        .numbers
        .get(number)
        .is_some_and(|r| r.number_type == number_type);
    if number_type != "directRouting" && !acquired_as_type {
        return Err(format!(
            "The telephone number {number} is not valid for the specified phone number type '{number_type}': it was not acquired in this tenant as that type."
        ));
    }
    if let Some(r) = t.numbers.get(number)
        && r.number_type != number_type
    {
        return Err(format!(
            "The telephone number {number} is not valid for the specified phone number type '{number_type}' (it is a {} number).",
            r.number_type
        ));
    }
    if let Some(r) = t.numbers.get(number)
        && let Some(holder) = &r.target
        && !holder.eq_ignore_ascii_case(&user.id)
        && matches!(r.activation_state, "activated" | "assignmentPending")
    {
        return Err(format!(
            "The telephone number {number} is already assigned to another user or resource account ({holder})."
        ));
    }
    let already = user.teams.numbers.iter().any(|n| n.number == number);
    if !already
        && category == "primary"
        && user.teams.numbers.iter().any(|n| n.category == "primary")
    {
        let existing = user
            .teams
            .numbers
            .iter()
            .map(|n| n.number.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        return Err(format!(
            "{} already has a phone number assigned ({existing}). Unassign it first.",
            user.upn
        ));
    }
    t.numbers.insert(
        number.to_string(),
        NumberRecord {
            number: number.to_string(),
            number_type: number_type.to_string(),
            target: Some(user.id.clone()),
            target_is_resource: user.resource_account,
            category: Some(category.to_string()),
            activation_state: "activated",
            location_id,
        },
    );
    let u = t.user_mut(idx);
    if !already {
        u.teams.numbers.push(UserNumber {
            number: number.to_string(),
            category: category.to_string(),
        });
    }
    u.teams.ev = true;
    u.teams.modified = now_unix();
    Ok(())
}

fn do_unassign(t: &mut Tenant, number: &str, number_type: &str) -> Result<(), String> {
    let Some(record) = t.numbers.get(number).cloned() else {
        return Err(format!(
            "The telephone number {number} was not found in the tenant."
        ));
    };
    if record.number_type != number_type {
        return Err(format!(
            "The telephone number {number} is not valid for the specified phone number type '{number_type}' (it is a {} number).",
            record.number_type
        ));
    }
    let Some(holder) = record
        .target
        .clone()
        .filter(|_| record.activation_state != "assignmentFailed")
    else {
        return Err(format!(
            "The telephone number {number} is not assigned to any user or resource account."
        ));
    };
    if let Some(r) = t.numbers.get_mut(number) {
        r.target = None;
        r.category = None;
        r.activation_state = "activated";
        r.target_is_resource = false;
    }
    if let Some(idx) = t.user_idx(&holder) {
        let u = t.user_mut(idx);
        u.teams.numbers.retain(|n| n.number != number);
        if u.teams.numbers.is_empty() {
            u.teams.ev = false;
        }
        u.teams.modified = now_unix();
    }
    Ok(())
}

/// GET operations/{id}: advances the operation by one poll.
fn get_operation(state: &SimState, t: &mut Tenant, req: &GraphRequest, id: &str) -> ApiResponse {
    let Some(mut op) = t.operations.remove(id) else {
        return req.error(
            StatusCode::NOT_FOUND,
            "NotFound",
            format!("The operation '{id}' was not found."),
        );
    };
    op.polls += 1;
    if matches!(
        op.status,
        OperationStatus::NotStarted | OperationStatus::Running
    ) {
        if op.polls_left > 0 {
            op.polls_left -= 1;
            op.status = OperationStatus::Running;
        } else {
            execute(t, &mut op);
        }
    }
    let number = match &op.kind {
        OperationKind::Assign { number, .. } | OperationKind::Unassign { number, .. } => {
            number.clone()
        }
    };
    let body = json!({
        "@odata.type": "#microsoft.graph.teamsAdministration.telephoneNumberLongRunningOperation",
        "id": op.id,
        "createdDateTime": iso(op.created),
        "status": op.status.as_str(),
        "numbers": [{
            "@odata.type": "#microsoft.graph.teamsAdministration.telephoneNumberLongRunningOperationDetails",
            "resourceLocation": format!("{}/v1.0/admin/teams/telephoneNumberManagement/numberAssignments/{}", req.base, number_id(t, &number)),
            "status": op.status.as_str(),
            "statusDetail": op.detail,
        }],
    });
    t.operations.insert(id.to_string(), op);
    entity(
        state,
        req,
        "admin/teams/telephoneNumberManagement/operations/$entity",
        body,
    )
}

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

/// GET policy/getPolicyId(type='..',name='..')
fn get_policy_id(t: &Tenant, req: &GraphRequest, func: &str) -> ApiResponse {
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
    let Some(ty) = canonical_type(ty).filter(|t| is_policy_type(t)) else {
        return req.error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            format!("The policy type '{ty}' is not supported."),
        );
    };
    let Some(item) = t.find_policy(ty, name) else {
        return req.error(
            StatusCode::NOT_FOUND,
            "NotFound",
            format!("The policy '{name}' of type '{ty}' was not found in the tenant."),
        );
    };
    let value = json!([{
        "@odata.type": "#microsoft.graph.teamsAdministration.policyIdentifierDetail",
        "name": item.identity,
        "policyId": t.policy_id(ty, &item.identity),
    }]);
    ApiResponse::ok(json!({
        "@odata.context": format!("{}/v1.0/$metadata#Collection(microsoft.graph.teamsAdministration.policyIdentifierDetail)", req.base),
        "value": value,
    }))
}

/// POST policy/userAssignments/assign | unassign: 204.
fn user_assignments(t: &mut Tenant, req: &GraphRequest, assign: bool) -> ApiResponse {
    let run = |t: &mut Tenant| -> Result<ApiResponse, ApiResponse> {
        let body = req.json_body()?;
        let Some(items) = body.get("value").and_then(Value::as_array) else {
            return Err(req.error(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                "The 'value' parameter is required.",
            ));
        };
        // Validate everything first so a bad item changes nothing.
        let mut plan = Vec::new();
        for item in items {
            let user = required_str(req, item, "userId")?;
            let ty_raw = required_str(req, item, "policyType")?;
            let Some(ty) = canonical_type(ty_raw).filter(|t| is_policy_type(t)) else {
                return Err(req.error(
                    StatusCode::BAD_REQUEST,
                    "BadRequest",
                    format!("The policy type '{ty_raw}' is not supported."),
                ));
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
                let Some(instance) = t.find_policy_by_id(ty, pid) else {
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

fn get_user_config(state: &SimState, t: &mut Tenant, req: &GraphRequest, id: &str) -> ApiResponse {
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

fn list_user_configs(t: &mut Tenant, req: &GraphRequest) -> ApiResponse {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_normalised_with_a_plus() {
        assert_eq!(normalize_number("11000").as_deref(), Some("+11000"));
        assert_eq!(
            normalize_number("+1 (425) 555-0100").as_deref(),
            Some("+14255550100")
        );
        assert_eq!(
            normalize_number("tel:+14255550100;ext=12").as_deref(),
            Some("+14255550100;ext=12")
        );
        assert_eq!(normalize_number("12a"), None);
        assert_eq!(normalize_number(""), None);
    }

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
