//! Jobs: the durable work behind long operations. A long operation (a directory sync) answers
//! 202 with its job and a `Location` to poll until `state` is `succeeded` or `failed`.

use super::{ApiPath, ApiQuery, rfc3339};
use crate::AppState;
use crate::api::auth::Caller;
use crate::api::paging::{decode_keyset, encode_keyset};
use crate::api::problem::Problem;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use teamline_domain::enterprise::Enterprise;
use teamline_domain::ids::JobId;
use teamline_domain::job::Job;
use teamline_store::JobQuery;
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct JobOut {
    pub id: i64,
    /// e.g. `sync_teams_users`, `push_user`.
    pub kind: String,
    /// `queued`, `running`, `succeeded` or `failed`.
    pub state: String,
    pub attempts: u32,
    pub max_attempts: u32,
    pub progress_done: u64,
    pub progress_total: Option<u64>,
    pub progress_message: Option<String>,
    pub last_error: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub finished_at: Option<String>,
}

impl From<&Job> for JobOut {
    fn from(j: &Job) -> Self {
        Self {
            id: j.id.0,
            kind: j.kind.clone(),
            state: j.state.as_str().to_owned(),
            attempts: j.attempts,
            max_attempts: j.max_attempts,
            progress_done: j.progress_done,
            progress_total: j.progress_total,
            progress_message: j.progress_message.clone(),
            last_error: j.last_error.clone(),
            created_at: rfc3339(j.created_ms),
            updated_at: rfc3339(j.updated_ms),
            finished_at: j.finished_ms.map(rfc3339),
        }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct JobList {
    /// Newest first.
    pub items: Vec<JobOut>,
    /// Pass as `cursor` for the next (older) page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JobFilter {
    /// Only queued or running jobs.
    pub unfinished: Option<bool>,
    /// Only jobs of this kind, e.g. `sync_teams_users`.
    pub kind: Option<String>,
    /// How many, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page; absent for the first page.
    pub cursor: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/enterprises/{enterprise}/jobs", tag = "jobs",
    params(("enterprise" = i64, Path, description = "Enterprise id"), JobFilter),
    responses((status = 200, body = JobList), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(enterprise): ApiPath<i64>,
    ApiQuery(filter): ApiQuery<JobFilter>,
) -> Result<Json<JobList>, Problem> {
    let e = caller.enterprise(&state, enterprise).await?;
    let limit = filter.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(Problem::field("limit", "must be between 1 and 200"));
    }
    // The cursor is the last job of the previous page: pages stay put while jobs are queued.
    let before = match &filter.cursor {
        None => None,
        Some(c) => Some(decode_keyset(c).map(|(_, id)| JobId(id)).ok_or_else(|| {
            Problem::field(
                "cursor",
                "is not a cursor this API gave out: pass the `next_cursor` of the previous page unchanged",
            )
        })?),
    };
    let mut jobs = state
        .store
        .list_jobs(&JobQuery {
            enterprise_id: Some(e.id),
            kind: filter.kind.filter(|k| !k.trim().is_empty()),
            unfinished_only: filter.unfinished.unwrap_or(false),
            limit: limit + 1,
            before,
        })
        .await?;
    let more = jobs.len() > limit as usize;
    jobs.truncate(limit as usize);
    let next_cursor = more
        .then(|| jobs.last().map(|j| encode_keyset(j.created_ms, j.id.0)))
        .flatten();
    Ok(Json(JobList {
        items: jobs.iter().map(JobOut::from).collect(),
        next_cursor,
    }))
}

/// A job of this enterprise; another enterprise's job (or a platform job) is "not found".
async fn job_of(state: &AppState, e: &Enterprise, id: i64) -> Result<Job, Problem> {
    let job = state.store.get_job(JobId(id)).await?;
    if job.enterprise_id != Some(e.id) {
        return Err(Problem::not_found());
    }
    Ok(job)
}

#[utoipa::path(get, path = "/api/v1/enterprises/{enterprise}/jobs/{id}", tag = "jobs",
    params(("enterprise" = i64, Path, description = "Enterprise id"), ("id" = i64, Path, description = "Job id")),
    responses((status = 200, body = JobOut), (status = 404, body = Problem)))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((enterprise, id)): ApiPath<(i64, i64)>,
) -> Result<Json<JobOut>, Problem> {
    let e = caller.enterprise(&state, enterprise).await?;
    Ok(Json(JobOut::from(&job_of(&state, &e, id).await?)))
}

/// Sync Teams Users: refreshes the directory and sends every pending change to Microsoft.
#[utoipa::path(post, path = "/api/v1/enterprises/{enterprise}/sync", tag = "jobs",
    params(("enterprise" = i64, Path, description = "Enterprise id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Repeat a POST safely: the first answer is kept for a day")),
    responses((status = 202, body = JobOut, headers(("Location" = String))), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn sync(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(enterprise): ApiPath<i64>,
) -> Result<Response, Problem> {
    let e = caller.enterprise(&state, enterprise).await?;
    let id = state.engine.sync_teams_users(e.id, &caller.actor()).await?;
    let job = job_of(&state, &e, id.0).await?;
    let mut response = (StatusCode::ACCEPTED, Json(JobOut::from(&job))).into_response();
    if let Ok(l) = HeaderValue::from_str(&format!("/api/v1/enterprises/{}/jobs/{id}", e.id)) {
        response.headers_mut().insert(header::LOCATION, l);
    }
    Ok(response)
}
