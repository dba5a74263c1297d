//! The enterprise's audit log, newest first. Changes made through the API name their token.

use super::{ApiPath, ApiQuery, rfc3339};
use crate::AppState;
use crate::api::auth::Caller;
use crate::api::problem::Problem;
use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AuditEventOut {
    pub id: i64,
    pub at: String,
    /// Who: an admin, a job, or `API token "name"`.
    pub actor: String,
    /// e.g. `pbx_user.create`, `calling.enable`.
    pub action: String,
    pub summary: String,
    pub object_type: String,
    pub object_id: Option<String>,
    /// The object before and after the change (no secrets).
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AuditList {
    pub items: Vec<AuditEventOut>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditFilter {
    /// How many, 1 to 500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
}

fn json(s: Option<String>) -> Option<serde_json::Value> {
    s.map(|s| serde_json::from_str(&s).unwrap_or(serde_json::Value::String(s)))
}

#[utoipa::path(get, path = "/api/v1/enterprises/{enterprise}/audit", tag = "audit",
    params(("enterprise" = i64, Path, description = "Enterprise id"), AuditFilter),
    responses((status = 200, body = AuditList), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(enterprise): ApiPath<i64>,
    ApiQuery(filter): ApiQuery<AuditFilter>,
) -> Result<Json<AuditList>, Problem> {
    let e = caller.enterprise(&state, enterprise).await?;
    let limit = filter.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(Problem::field("limit", "must be between 1 and 500"));
    }
    let items = state
        .store
        .list_audit(Some(e.id), limit)
        .await?
        .into_iter()
        .map(|a| AuditEventOut {
            id: a.id.0,
            at: rfc3339(a.at_ms),
            actor: a.actor.to_string(),
            action: a.action,
            summary: a.summary,
            object_type: a.object_type,
            object_id: a.object_id,
            before: json(a.before),
            after: json(a.after),
        })
        .collect();
    Ok(Json(AuditList { items }))
}
