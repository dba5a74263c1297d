//! The number inventory (`numberAssignments`): listing and reading numbers, and the
//! `assignNumber` / `unassignNumber` actions, which answer 202 with a long-running operation.

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::operations::{accepted, create_operation, number_id};
use super::{JsonView, entity, json_filter, required_str};
use crate::microsoft::errors::ApiResponse;
use crate::microsoft::model::{NumberRecord, OperationKind, Tenant};
use crate::microsoft::odata;
use crate::microsoft::request::{GraphRequest, collection, page_size, skip_offset};
use crate::microsoft::state::SimState;

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

pub(super) fn number_json(t: &Tenant, base: &str, r: &NumberRecord) -> Value {
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

/// GET numberAssignments (`$filter`, `$top` default 500 max 1000, `$skip`).
pub(super) fn list_numbers(t: &Tenant, req: &GraphRequest) -> ApiResponse {
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

pub(super) fn get_number(
    state: &SimState,
    t: &Tenant,
    req: &GraphRequest,
    id: &str,
) -> ApiResponse {
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
pub(super) fn assign_number(t: &mut Tenant, req: &GraphRequest) -> ApiResponse {
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
        *t.number_assignments.entry(target_id).or_default() += 1;
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
pub(super) fn unassign_number(t: &mut Tenant, req: &GraphRequest) -> ApiResponse {
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
}
