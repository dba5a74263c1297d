//! The signed-in user's Privileged Identity Management eligibilities:
//! `roleManagement/directory/roleEligibilityScheduleInstances/filterByCurrentUser(on='principal')`.
//! Active roles are served with the user's `memberOf` (`microsoft.graph.directoryRole` cast).

use serde_json::{Value, json};

use crate::microsoft::errors::ApiResponse;
use crate::microsoft::model::{Tenant, ids};
use crate::microsoft::request::{GraphRequest, collection};

/// Delegated permissions that may read the caller's own role eligibilities.
pub(crate) const READ_ELIGIBILITY_SCP: &[&str] = &[
    "RoleEligibilitySchedule.Read.Directory",
    "RoleEligibilitySchedule.ReadWrite.Directory",
    "RoleManagement.Read.Directory",
    "RoleManagement.Read.All",
    "RoleManagement.ReadWrite.Directory",
];

/// GET roleEligibilityScheduleInstances/filterByCurrentUser(on='principal')
pub(crate) fn eligibilities_of_caller(
    t: &Tenant,
    req: &GraphRequest,
    function: &str,
    user_id: &str,
) -> ApiResponse {
    let on = function
        .strip_prefix("filterByCurrentUser(on=")
        .and_then(|r| r.strip_suffix(')'))
        .map(|v| v.trim_matches('\''));
    if on != Some("principal") {
        return req.bad_request(format!(
            "Invalid function call '{function}'. Expected filterByCurrentUser(on='principal')."
        ));
    }
    let Some(idx) = t.user_idx(user_id) else {
        return req.not_found(user_id);
    };
    let user = t.user(idx);
    let values: Vec<Value> = user
        .eligible_roles
        .iter()
        .map(|role| {
            json!({
                "id": ids::stable_guid(&format!("{}/eligibility/{}", t.id, user.id), role),
                "principalId": user.id,
                "roleDefinitionId": role,
                "directoryScopeId": "/",
                "appScopeId": null,
                "memberType": "Direct",
                "startDateTime": "2024-01-07T09:08:50Z",
                "endDateTime": null,
            })
        })
        .collect();
    collection(
        format!(
            "{}/v1.0/$metadata#Collection(unifiedRoleEligibilityScheduleInstance)",
            req.base
        ),
        values,
        None,
        None,
    )
}
