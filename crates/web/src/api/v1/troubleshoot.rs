//! Troubleshoot, as on the portal's page: type a name, a UPN or a device handle (e.g. `1000tm`)
//! and get the checklist that says what holds, what does not and what to do — or, when the
//! words match several Teams users, the candidates to ask about instead.

use super::{ApiPath, ApiQuery};
use crate::AppState;
use crate::api::auth::Caller;
use crate::api::problem::Problem;
use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use teamline_engine::troubleshoot::{CheckStatus, Troubleshooting};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CheckOut {
    pub label: String,
    /// `pass`, `fail` or `warn` (worth a look).
    pub status: String,
    pub detail: String,
    /// What to do, when the check did not pass.
    pub fix: Option<String>,
    /// The PBX user the check is about, when there is one.
    pub pbx_user_id: Option<i64>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CandidateOut {
    pub upn: String,
    pub display_name: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TroubleshootOut {
    /// Several Teams users match: ask again with one of their UPNs. Empty with a checklist.
    pub candidates: Vec<CandidateOut>,
    pub upn: Option<String>,
    pub display_name: Option<String>,
    /// No check failed.
    pub all_passed: bool,
    pub checks: Vec<CheckOut>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TroubleshootQuery {
    /// A name, a user principal name or a device handle (e.g. `1000tm`).
    pub q: String,
}

#[utoipa::path(get, path = "/api/v1/enterprises/{enterprise}/troubleshoot", tag = "troubleshoot",
    params(("enterprise" = i64, Path, description = "Enterprise id"), TroubleshootQuery),
    responses((status = 200, body = TroubleshootOut), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn troubleshoot(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(enterprise): ApiPath<i64>,
    ApiQuery(query): ApiQuery<TroubleshootQuery>,
) -> Result<Json<TroubleshootOut>, Problem> {
    let e = caller.enterprise(&state, enterprise).await?;
    if query.q.trim().is_empty() {
        return Err(Problem::field(
            "q",
            "type a name, a user principal name (e.g. AdeleV@contoso.example) or a device handle (e.g. 1000tm)",
        ));
    }
    let found = state.engine.troubleshoot(e.id, &query.q).await?;
    let all_passed = found.all_passed();
    Ok(Json(match found {
        Troubleshooting::Candidates(list) => TroubleshootOut {
            candidates: list
                .into_iter()
                .map(|(upn, display_name)| CandidateOut { upn, display_name })
                .collect(),
            upn: None,
            display_name: None,
            all_passed,
            checks: Vec::new(),
        },
        Troubleshooting::Checklist {
            upn,
            display_name,
            checks,
        } => TroubleshootOut {
            candidates: Vec::new(),
            upn,
            display_name,
            all_passed,
            checks: checks
                .into_iter()
                .map(|c| CheckOut {
                    label: c.label.to_owned(),
                    status: match c.status {
                        CheckStatus::Pass => "pass",
                        CheckStatus::Fail => "fail",
                        CheckStatus::Warn => "warn",
                    }
                    .to_owned(),
                    detail: c.detail,
                    fix: c.fix,
                    pbx_user_id: c.pbx_user.map(|id| id.0),
                })
                .collect(),
        },
    }))
}
