//! Long-running number operations: created by assign/unassign, run at once or after the polls
//! the tenant's faults ask for, and applied to the tenant with Teams' invariants (one holder per
//! number, Teams Phone required, enterprise voice follows the number).

use axum::http::StatusCode;
use serde_json::json;

use super::entity;
use crate::microsoft::behaviour::ReassignHeldNumber;
use crate::microsoft::errors::ApiResponse;
use crate::microsoft::model::well_known;
use crate::microsoft::model::{
    NumberRecord, Operation, OperationKind, OperationStatus, Tenant, UserNumber, iso, now_unix,
};
use crate::microsoft::request::GraphRequest;
use crate::microsoft::state::SimState;

pub(super) fn number_id(t: &Tenant, number: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{}|{number}", t.id))
}

pub(super) fn accepted(req: &GraphRequest, op_id: &str) -> ApiResponse {
    ApiResponse::empty(StatusCode::ACCEPTED).with_header(
        "location",
        format!(
            "{}/v1.0/admin/teams/telephoneNumberManagement/operations('{op_id}')",
            req.base
        ),
    )
}

/// Creates an operation; runs it at once unless the tenant's faults keep it running.
pub(super) fn create_operation(t: &mut Tenant, prefix: &str, kind: OperationKind) -> String {
    let id = t.next_operation_id(prefix);
    let duration = t.traffic.faults.operation_duration_ms;
    let due = (duration > 0)
        .then(|| std::time::Instant::now() + std::time::Duration::from_millis(duration));
    // A timed operation runs until it is due, however often it is polled.
    let polls_left = if due.is_some() {
        u32::MAX
    } else {
        t.traffic.faults.operation_running_polls
    };
    let mut op = Operation {
        id: id.clone(),
        created: now_unix(),
        kind,
        status: OperationStatus::NotStarted,
        polls_left,
        due,
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

/// Completes the timed operations that are due, polled or not (called before the tenant
/// handles any request, so reads see what Microsoft would show by then).
pub(crate) fn settle_due_operations(t: &mut Tenant, now: std::time::Instant) {
    let due: Vec<String> = t
        .operations
        .values()
        .filter(|op| {
            op.due.is_some_and(|d| d <= now)
                && matches!(
                    op.status,
                    OperationStatus::NotStarted | OperationStatus::Running
                )
        })
        .map(|op| op.id.clone())
        .collect();
    for id in due {
        if let Some(mut op) = t.operations.remove(&id) {
            execute(t, &mut op);
            t.operations.insert(id, op);
        }
    }
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
    if already && t.behaviour.reassign_held_number == ReassignHeldNumber::AlreadyAssigned {
        return Err(format!(
            "The telephone number {number} is already assigned to {} ({}).",
            user.upn, user.id
        ));
    }
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
pub(super) fn get_operation(
    state: &SimState,
    t: &mut Tenant,
    req: &GraphRequest,
    id: &str,
) -> ApiResponse {
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
        if op.due.is_some_and(|d| d <= std::time::Instant::now()) {
            execute(t, &mut op);
        } else if op.polls_left > 0 {
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
