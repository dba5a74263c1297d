//! Bulk Upload: a CSV file of users (the template's columns) is checked against the live PBX
//! and Teams data with the SET UP PBX USER form's rules and kept as an import with each row's
//! result (`?dry_run=true`: checked only, nothing kept). A clean import is applied as a job
//! (`POST …/imports/{id}/apply`, 202); poll the import for its progress, then download the
//! result file (every row with its outcome).

use super::preview::{DryRun, ImportPreviewOut};
use super::{ApiPath, ApiQuery, rfc3339};
use crate::AppState;
use crate::api::auth::Caller;
use crate::api::problem::Problem;
use axum::Json;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use teamline_domain::enterprise::Enterprise;
use teamline_domain::ids::ImportId;
use teamline_domain::pbx_user::OverUserLimit;
use teamline_engine::import::{ApplyError, ImportCheck, ImportError, stored_rows_over_user_limit};
use teamline_store::{ImportRowRecord, StoredImport};
use utoipa::{IntoParams, ToSchema};

/// One problem with a row, against its column.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RowProblemOut {
    /// The column (the form's field label), e.g. `Phone Number`.
    pub field: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

/// One row of an import.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ImportRowOut {
    /// The row number a spreadsheet shows (the header is row 1).
    pub row: u64,
    pub teams_user: String,
    pub sip_user: String,
    /// `ready`, `invalid`, `set_up` or `failed`.
    pub outcome: String,
    pub problems: Vec<RowProblemOut>,
    /// The PBX user the row set up.
    pub pbx_user_id: Option<i64>,
}

impl From<&ImportRowRecord> for ImportRowOut {
    fn from(r: &ImportRowRecord) -> Self {
        Self {
            row: r.row,
            teams_user: r.upn.clone(),
            sip_user: r.sip_user.clone(),
            outcome: r.outcome.as_str().to_owned(),
            problems: r
                .problems
                .iter()
                .map(|p| RowProblemOut {
                    field: p.field.clone(),
                    message: p.message.clone(),
                })
                .collect(),
            pbx_user_id: r.pbx_user_id.map(|p| p.0),
        }
    }
}

/// Rows of a file that do not fit in the enterprise's user limit.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OverUserLimitOut {
    /// Rows refused for the limit: remove this many (or have the limit raised).
    pub rows_over: u64,
    pub limit: u32,
    /// Users configured (active or disabled) now.
    pub in_use: u64,
    /// E.g. "7 rows would exceed your user limit of 5 (3 in use): remove 7 rows or ask your
    /// reseller to raise the limit".
    pub summary: String,
}

impl From<OverUserLimit> for OverUserLimitOut {
    fn from(o: OverUserLimit) -> Self {
        Self {
            rows_over: o.rows,
            limit: o.limit,
            in_use: o.in_use,
            summary: o.to_string(),
        }
    }
}

/// An import: the uploaded file's check and, once applied, its progress.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ImportOut {
    /// `null` for a dry run (nothing was kept).
    pub id: Option<i64>,
    pub file_name: String,
    /// `checked`, `applying`, `done` or `failed`.
    pub state: String,
    pub row_count: u64,
    /// Rows that cannot be set up: the import cannot be applied while there are any.
    pub bad_rows: u64,
    /// Rows set up so far.
    pub applied_rows: u64,
    /// Present when rows do not fit in the enterprise's user limit.
    pub user_limit: Option<OverUserLimitOut>,
    /// Why the apply failed.
    pub error: Option<String>,
    /// The rows with problems (all rows: `GET …/rows`).
    pub rows: Vec<ImportRowOut>,
    pub created_by: Option<String>,
    pub created_at: Option<String>,
    pub finished_at: Option<String>,
    /// The job that applies it.
    pub job_id: Option<i64>,
}

impl ImportOut {
    fn stored(i: &StoredImport, rows: &[ImportRowRecord], over: Option<OverUserLimit>) -> Self {
        Self {
            id: Some(i.id.0),
            file_name: i.file_name.clone(),
            state: i.state.as_str().to_owned(),
            row_count: i.row_count,
            bad_rows: i.bad_rows,
            applied_rows: i.applied_rows,
            user_limit: over.map(Into::into),
            error: i.error.clone(),
            rows: rows
                .iter()
                .filter(|r| !r.problems.is_empty())
                .map(ImportRowOut::from)
                .collect(),
            created_by: Some(i.created_by.encode()),
            created_at: Some(rfc3339(i.created_ms)),
            finished_at: i.finished_ms.map(rfc3339),
            job_id: i.job_id.map(|j| j.0),
        }
    }

    fn dry_run(file_name: &str, check: &ImportCheck, over: Option<OverUserLimit>) -> Self {
        let rows: Vec<ImportRowOut> = check
            .rows
            .iter()
            .filter_map(|r| {
                let errors = r.outcome.as_ref().err()?;
                Some(ImportRowOut {
                    row: r.row as u64,
                    teams_user: r.upn.clone(),
                    sip_user: r.sip_user.clone(),
                    outcome: "invalid".to_owned(),
                    problems: errors
                        .iter()
                        .map(|e| RowProblemOut {
                            field: e.field.to_owned(),
                            message: e.message.clone(),
                        })
                        .collect(),
                    pbx_user_id: None,
                })
            })
            .collect();
        Self {
            id: None,
            file_name: file_name.to_owned(),
            state: "checked".to_owned(),
            row_count: check.rows.len() as u64,
            bad_rows: rows.len() as u64,
            applied_rows: 0,
            user_limit: over.map(Into::into),
            error: None,
            rows,
            created_by: None,
            created_at: None,
            finished_at: None,
            job_id: None,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ImportRowList {
    /// In file order.
    pub items: Vec<ImportRowOut>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ImportList {
    /// Newest first.
    pub items: Vec<ImportOut>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadParams {
    /// Check every row and answer with the problems; keep and write nothing.
    pub dry_run: Option<bool>,
    /// The file's name as the import shows it (a multipart upload's own name otherwise).
    pub file_name: Option<String>,
}

/// The uploaded file: the body as CSV, or the `file` part of a multipart form.
pub struct CsvUpload {
    name: Option<String>,
    text: String,
}

impl<S: Send + Sync> FromRequest<S> for CsvUpload {
    type Rejection = Problem;

    async fn from_request(request: Request, state: &S) -> Result<Self, Problem> {
        let multipart = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("multipart/form-data"));
        if multipart {
            let mut form = Multipart::from_request(request, state)
                .await
                .map_err(|e| Problem::bad_request(format!("The form could not be read: {e}")))?;
            while let Some(field) = form
                .next_field()
                .await
                .map_err(|e| Problem::bad_request(format!("The form could not be read: {e}")))?
            {
                if field.name() == Some("file") {
                    let name = field.file_name().map(str::to_owned);
                    let bytes = field.bytes().await.map_err(|e| {
                        Problem::bad_request(format!("The file could not be read: {e}"))
                    })?;
                    return Ok(Self {
                        name,
                        text: String::from_utf8_lossy(&bytes).into_owned(),
                    });
                }
            }
            return Err(Problem::field(
                "file",
                "is required: send the CSV file as the form's `file` part",
            ));
        }
        let bytes = axum::body::Bytes::from_request(request, state)
            .await
            .map_err(|e| Problem::bad_request(format!("The body could not be read: {e}")))?;
        Ok(Self {
            name: None,
            text: String::from_utf8_lossy(&bytes).into_owned(),
        })
    }
}

fn import_problem(e: ImportError) -> Problem {
    match e {
        ImportError::File(f) => Problem::field("file", f.to_string()),
        ImportError::Engine(e) => e.into(),
    }
}

fn apply_problem(e: ApplyError) -> Problem {
    match e {
        ApplyError::NotFound(_) => Problem::not_found(),
        ApplyError::Engine(e) => e.into(),
        other => Problem::new(StatusCode::CONFLICT, "Cannot apply", other.to_string()),
    }
}

async fn stored(state: &AppState, e: &Enterprise, id: ImportId) -> Result<ImportOut, Problem> {
    let import = state
        .store
        .get_import(e.id, id)
        .await?
        .ok_or_else(Problem::not_found)?;
    let rows = state.store.import_rows(e.id, id).await?;
    let over = state
        .engine
        .over_user_limit(e.id, stored_rows_over_user_limit(&rows))
        .await?;
    Ok(ImportOut::stored(&import, &rows, over))
}

fn location(e: &Enterprise, id: i64) -> HeaderValue {
    HeaderValue::from_str(&format!("/api/v1/enterprises/{}/imports/{id}", e.id))
        .unwrap_or(HeaderValue::from_static("/api/v1"))
}

#[utoipa::path(post, path = "/api/v1/enterprises/{enterprise}/imports", tag = "bulk upload",
    params(("enterprise" = i64, Path, description = "Enterprise id"), UploadParams,
        ("Idempotency-Key" = Option<String>, Header, description = "Repeat a POST safely: the first answer is kept for a day")),
    request_body(content = String, description = "The CSV file (the Bulk Upload template's columns), as the body (`text/csv`) or as the `file` part of `multipart/form-data`", content_type = "text/csv"),
    responses((status = 201, body = ImportOut, description = "Checked and kept (apply it when `bad_rows` is 0)", headers(("Location" = String))),
        (status = 200, body = ImportOut, description = "Dry run: checked, nothing kept"),
        (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn upload(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(enterprise): ApiPath<i64>,
    ApiQuery(params): ApiQuery<UploadParams>,
    file: CsvUpload,
) -> Result<Response, Problem> {
    let e = caller.enterprise(&state, enterprise).await?;
    let name = params
        .file_name
        .or(file.name)
        .unwrap_or_else(|| "upload.csv".to_owned());
    if params.dry_run == Some(true) {
        let check = state
            .engine
            .check_import(e.id, &file.text)
            .await
            .map_err(import_problem)?;
        let over = state
            .engine
            .over_user_limit(e.id, check.rows_over_user_limit())
            .await?;
        return Ok(Json(ImportOut::dry_run(&name, &check, over)).into_response());
    }
    let (import, _) = state
        .engine
        .upload_import(e.id, &caller.actor(), &name, &file.text)
        .await
        .map_err(import_problem)?;
    let out = stored(&state, &e, import.id).await?;
    let mut response = (StatusCode::CREATED, Json(out)).into_response();
    response
        .headers_mut()
        .insert(header::LOCATION, location(&e, import.id.0));
    Ok(response)
}

#[utoipa::path(get, path = "/api/v1/enterprises/{enterprise}/imports", tag = "bulk upload",
    params(("enterprise" = i64, Path, description = "Enterprise id")),
    responses((status = 200, body = ImportList), (status = 404, body = Problem)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(enterprise): ApiPath<i64>,
) -> Result<Json<ImportList>, Problem> {
    let e = caller.enterprise(&state, enterprise).await?;
    let items = state
        .store
        .list_imports(e.id, 50)
        .await?
        .iter()
        .map(|i| ImportOut::stored(i, &[], None))
        .collect();
    Ok(Json(ImportList { items }))
}

#[utoipa::path(get, path = "/api/v1/enterprises/{enterprise}/imports/{id}", tag = "bulk upload",
    params(("enterprise" = i64, Path, description = "Enterprise id"), ("id" = i64, Path, description = "Import id")),
    responses((status = 200, body = ImportOut), (status = 404, body = Problem)))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((enterprise, id)): ApiPath<(i64, i64)>,
) -> Result<Json<ImportOut>, Problem> {
    let e = caller.enterprise(&state, enterprise).await?;
    Ok(Json(stored(&state, &e, ImportId(id)).await?))
}

#[utoipa::path(get, path = "/api/v1/enterprises/{enterprise}/imports/{id}/rows", tag = "bulk upload",
    params(("enterprise" = i64, Path, description = "Enterprise id"), ("id" = i64, Path, description = "Import id")),
    responses((status = 200, body = ImportRowList), (status = 404, body = Problem)))]
pub async fn rows(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((enterprise, id)): ApiPath<(i64, i64)>,
) -> Result<Json<ImportRowList>, Problem> {
    let e = caller.enterprise(&state, enterprise).await?;
    let id = ImportId(id);
    state
        .store
        .get_import(e.id, id)
        .await?
        .ok_or_else(Problem::not_found)?;
    let items = state
        .store
        .import_rows(e.id, id)
        .await?
        .iter()
        .map(ImportRowOut::from)
        .collect();
    Ok(Json(ImportRowList { items }))
}

#[utoipa::path(get, path = "/api/v1/enterprises/{enterprise}/imports/{id}/result.csv", tag = "bulk upload",
    params(("enterprise" = i64, Path, description = "Enterprise id"), ("id" = i64, Path, description = "Import id")),
    responses((status = 200, body = String, content_type = "text/csv", description = "Every row of the file with its Result and Problems"),
        (status = 404, body = Problem)))]
pub async fn result_csv(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((enterprise, id)): ApiPath<(i64, i64)>,
) -> Result<Response, Problem> {
    let e = caller.enterprise(&state, enterprise).await?;
    let csv = state
        .engine
        .import_result_csv(e.id, ImportId(id))
        .await
        .map_err(import_problem)?
        .ok_or_else(Problem::not_found)?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"import-{id}-result.csv\""),
            ),
        ],
        csv,
    )
        .into_response())
}

/// With `dry_run=true`: answers 200 with what applying would change for each row in Teams and
/// on the PBX (each row checked again against what holds now), changing nothing.
#[utoipa::path(post, path = "/api/v1/enterprises/{enterprise}/imports/{id}/apply", tag = "bulk upload",
    params(("enterprise" = i64, Path, description = "Enterprise id"), ("id" = i64, Path, description = "Import id"), DryRun,
        ("Idempotency-Key" = Option<String>, Header, description = "Repeat a POST safely: the first answer is kept for a day")),
    responses((status = 200, body = ImportPreviewOut, description = "dry_run=true: the changes applying would make; nothing was changed"),
        (status = 202, body = ImportOut, description = "Applying: poll the import", headers(("Location" = String))),
        (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn apply(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((enterprise, id)): ApiPath<(i64, i64)>,
    ApiQuery(dry_run): ApiQuery<DryRun>,
) -> Result<Response, Problem> {
    let e = caller.enterprise(&state, enterprise).await?;
    if dry_run.is_set() {
        let rows = state
            .engine
            .preview_import(e.id, ImportId(id))
            .await
            .map_err(apply_problem)?;
        return Ok(Json(ImportPreviewOut::new(&rows)).into_response());
    }
    state
        .engine
        .apply_import_later(e.id, &caller.actor(), ImportId(id))
        .await
        .map_err(apply_problem)?;
    let out = stored(&state, &e, ImportId(id)).await?;
    let mut response = (StatusCode::ACCEPTED, Json(out)).into_response();
    response
        .headers_mut()
        .insert(header::LOCATION, location(&e, id));
    Ok(response)
}
