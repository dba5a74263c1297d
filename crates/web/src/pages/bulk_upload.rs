//! Bulk Upload: many users at once from a CSV file. The admin downloads the template, uploads
//! the filled-in file, and sees every row checked against the live PBX and Teams data with the
//! SET UP PBX USER form's own rules — each problem by row and column, with its fix. A file
//! with any bad row is kept but cannot be applied (the fixed file is uploaded again); a clean
//! one is applied as a job whose progress the import's page polls, and its result file (every
//! row with its outcome) can be downloaded.
//!
//! The engine does the work (`Engine::upload_import`, `apply_import_later`,
//! `import_result_csv`); this module only shows it. The API's `imports` resource is the same
//! import object.

use crate::AppState;
use crate::auth::Admin;
use crate::error::PageError;
use crate::pages::is_htmx;
use crate::pages::preview::ImportPreview;
use crate::routes::{Routes, get, post};
use crate::views::{Layout, Menu, ago, timestamp};
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use teamline_domain::bulk_import;
use teamline_domain::ids::ImportId;
use teamline_engine::import::{ApplyError, ImportError, stored_rows_over_user_limit};
use teamline_store::{ImportRowRecord, ImportState, StoredImport};

/// Rows with problems shown on the page; the result file holds them all.
const ROWS_SHOWN: usize = 200;
/// Imports listed on the Bulk Upload page.
const RECENT_IMPORTS: u32 = 20;

pub fn routes() -> Routes {
    Routes::new()
        .route("/bulk-upload", get(page).post(upload))
        .route("/bulk-upload/template.csv", get(template))
        .route("/bulk-upload/{id}", get(import_page))
        .route("/bulk-upload/{id}/status", get(status))
        .route("/bulk-upload/{id}/preview", get(preview))
        .route("/bulk-upload/{id}/apply", post(apply))
        .route("/bulk-upload/{id}/result.csv", get(result_csv))
}

/// One import in the list of recent uploads.
pub struct ImportLine {
    pub href: String,
    pub file_name: String,
    pub state: &'static str,
    pub rows: u64,
    pub bad_rows: u64,
    pub when: String,
    pub at: String,
}

/// One row with problems, each against its column with the fix.
pub struct ProblemRow {
    pub row: u64,
    pub teams_user: String,
    pub sip_user: String,
    /// `(column, what is wrong and how to fix it)`.
    pub problems: Vec<(String, String)>,
}

/// Where an import stands, as the part of its page that refreshes itself.
pub struct Progress {
    pub id: i64,
    pub state: ImportState,
    pub row_count: u64,
    pub bad_rows: u64,
    pub applied_rows: u64,
    pub error: Option<String>,
    pub csrf: String,
}

impl Progress {
    fn of(import: &StoredImport, csrf: &str) -> Self {
        Self {
            id: import.id.0,
            state: import.state,
            row_count: import.row_count,
            bad_rows: import.bad_rows,
            applied_rows: import.applied_rows,
            error: import.error.clone(),
            csrf: csrf.to_owned(),
        }
    }

    pub fn checked(&self) -> bool {
        self.state == ImportState::Checked
    }

    pub fn applying(&self) -> bool {
        self.state == ImportState::Applying
    }

    pub fn done(&self) -> bool {
        self.state == ImportState::Done
    }

    pub fn failed(&self) -> bool {
        self.state == ImportState::Failed
    }

    /// The progress bar's width class (`w-0` … `w-10`: the CSP forbids inline styles).
    pub fn width_class(&self) -> String {
        let tenths = (self.applied_rows * 10)
            .checked_div(self.row_count)
            .unwrap_or(0)
            .min(10);
        format!("w-{tenths}")
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "bulk_upload.html")]
pub struct BulkUploadPage {
    pub layout: Layout,
    pub columns: Vec<(&'static str, bool)>,
    pub imports: Vec<ImportLine>,
    pub problem: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "bulk_upload_import.html")]
pub struct ImportPage {
    pub layout: Layout,
    pub file_name: String,
    pub uploaded_by: String,
    pub uploaded_at: String,
    pub progress: Progress,
    /// How many rows do not fit in the enterprise's user limit, and what to do.
    pub over_user_limit: Option<String>,
    pub rows: Vec<ProblemRow>,
    /// Rows with problems beyond those shown.
    pub more_rows: usize,
    /// The upload form's message (none on this page: a failed upload shows on its own).
    pub problem: Option<String>,
}

/// The apply preview as a page of its own (without JavaScript), with the Apply button.
#[derive(Template, WebTemplate)]
#[template(path = "bulk_upload_preview.html")]
pub struct PreviewPage {
    pub layout: Layout,
    pub file_name: String,
    pub progress: Progress,
    pub preview: ImportPreview,
}

#[derive(Template, WebTemplate)]
#[template(path = "bulk_upload_status.html")]
pub struct StatusFragment {
    pub progress: Progress,
}

#[derive(Template, WebTemplate)]
#[template(path = "bulk_upload_problem.html")]
pub struct UploadProblem {
    pub problem: String,
}

fn state_label(state: ImportState) -> &'static str {
    match state {
        ImportState::Checked => "Checked",
        ImportState::Applying => "Applying",
        ImportState::Done => "Applied",
        ImportState::Failed => "Failed",
    }
}

async fn page(State(state): State<AppState>, admin: Admin) -> Result<BulkUploadPage, PageError> {
    index(&state, &admin, None).await
}

async fn index(
    state: &AppState,
    admin: &Admin,
    problem: Option<String>,
) -> Result<BulkUploadPage, PageError> {
    let now = state.store.clock().now_ms();
    let imports = state
        .store
        .list_imports(admin.enterprise.id, RECENT_IMPORTS)
        .await?
        .iter()
        .map(|i| ImportLine {
            href: format!("/bulk-upload/{}", i.id.0),
            file_name: i.file_name.clone(),
            state: state_label(i.state),
            rows: i.row_count,
            bad_rows: i.bad_rows,
            when: ago(now, i.created_ms),
            at: timestamp(i.created_ms),
        })
        .collect();
    Ok(BulkUploadPage {
        layout: admin.layout(Menu::BulkUpload),
        columns: bulk_import::COLUMNS
            .iter()
            .map(|c| (c.header(), c.required()))
            .collect(),
        imports,
        problem,
    })
}

async fn template() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"teamline-bulk-upload.csv\"",
            ),
        ],
        bulk_import::template(),
    )
        .into_response()
}

/// The `file` part of the upload form: its name and text.
async fn read_file(mut form: Multipart) -> Result<(String, String), String> {
    let unreadable = |e: axum::extract::multipart::MultipartError| {
        format!("The file could not be read ({e}): choose it again and upload it")
    };
    while let Some(field) = form.next_field().await.map_err(unreadable)? {
        if field.name() == Some("file") {
            let name = field.file_name().unwrap_or_default().to_owned();
            let bytes = field.bytes().await.map_err(unreadable)?;
            if bytes.is_empty() {
                break;
            }
            // A spreadsheet may save in a legacy code page: a wrong byte shows in the check.
            return Ok((name, String::from_utf8_lossy(&bytes).into_owned()));
        }
    }
    Err("Choose a CSV file to upload (the template's columns, one row per user).".to_owned())
}

/// Uploading checks the file and keeps it as an import; the browser then opens the import's
/// page with each row's result. A file that cannot be read at all is said next to the form.
async fn upload(
    State(state): State<AppState>,
    admin: Admin,
    headers: HeaderMap,
    form: Multipart,
) -> Result<Response, PageError> {
    let problem = match read_file(form).await {
        Ok((name, text)) => {
            match state
                .engine
                .upload_import(admin.enterprise.id, &admin.actor(), &name, &text)
                .await
            {
                Ok((import, _)) => {
                    return Ok(go_to(&headers, &format!("/bulk-upload/{}", import.id.0)));
                }
                Err(ImportError::File(f)) => f.to_string(),
                Err(ImportError::Engine(e)) => return Err(e.into()),
            }
        }
        Err(why) => why,
    };
    if is_htmx(&headers) {
        return Ok(UploadProblem { problem }.into_response());
    }
    Ok(index(&state, &admin, Some(problem)).await?.into_response())
}

/// A redirect, as htmx follows it (a whole new page) or as a browser does.
fn go_to(headers: &HeaderMap, to: &str) -> Response {
    if is_htmx(headers) {
        let mut response = ().into_response();
        if let Ok(v) = HeaderValue::from_str(to) {
            response.headers_mut().insert("hx-redirect", v);
        }
        return response;
    }
    Redirect::to(to).into_response()
}

async fn stored(state: &AppState, admin: &Admin, id: i64) -> Result<StoredImport, PageError> {
    state
        .store
        .get_import(admin.enterprise.id, ImportId(id))
        .await?
        .ok_or(PageError::NotFound)
}

fn problem_rows(rows: &[ImportRowRecord]) -> Vec<ProblemRow> {
    rows.iter()
        .filter(|r| !r.problems.is_empty())
        .map(|r| ProblemRow {
            row: r.row,
            teams_user: r.upn.clone(),
            sip_user: r.sip_user.clone(),
            problems: r
                .problems
                .iter()
                .map(|p| (p.field.clone(), p.message.clone()))
                .collect(),
        })
        .collect()
}

async fn import_page(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<i64>,
) -> Result<ImportPage, PageError> {
    let import = stored(&state, &admin, id).await?;
    let rows = state
        .store
        .import_rows(admin.enterprise.id, import.id)
        .await?;
    let over_user_limit = state
        .engine
        .over_user_limit(admin.enterprise.id, stored_rows_over_user_limit(&rows))
        .await?
        .map(|o| o.to_string());
    let mut rows = problem_rows(&rows);
    let more_rows = rows.len().saturating_sub(ROWS_SHOWN);
    rows.truncate(ROWS_SHOWN);
    Ok(ImportPage {
        layout: admin.layout(Menu::BulkUpload),
        file_name: import.file_name.clone(),
        uploaded_by: import.created_by.to_string(),
        uploaded_at: timestamp(import.created_ms),
        progress: Progress::of(&import, &admin.csrf),
        over_user_limit,
        rows,
        more_rows,
        problem: None,
    })
}

async fn status(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<i64>,
) -> Result<StatusFragment, PageError> {
    let import = stored(&state, &admin, id).await?;
    Ok(StatusFragment {
        progress: Progress::of(&import, &admin.csrf),
    })
}

async fn apply(
    State(state): State<AppState>,
    admin: Admin,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    state
        .engine
        .apply_import_later(admin.enterprise.id, &admin.actor(), ImportId(id))
        .await
        .map_err(apply_refused)?;
    if !is_htmx(&headers) {
        return Ok(Redirect::to(&format!("/bulk-upload/{id}")).into_response());
    }
    let import = stored(&state, &admin, id).await?;
    Ok(StatusFragment {
        progress: Progress::of(&import, &admin.csrf),
    }
    .into_response())
}

/// What applying a clean import will change for each user in Microsoft Teams and on the PBX,
/// planned as the apply will run it (`Engine::preview_import`); writes nothing. With htmx the
/// preview replaces its placeholder on the import's page; without, it is a page with Apply.
async fn preview(
    State(state): State<AppState>,
    admin: Admin,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let import = stored(&state, &admin, id).await?;
    let rows = state
        .engine
        .preview_import(admin.enterprise.id, import.id)
        .await
        .map_err(apply_refused)?;
    let preview = ImportPreview::first(&rows, ROWS_SHOWN);
    if is_htmx(&headers) {
        return Ok(preview.into_response());
    }
    Ok(PreviewPage {
        layout: admin.layout(Menu::BulkUpload),
        file_name: import.file_name.clone(),
        progress: Progress::of(&import, &admin.csrf),
        preview,
    }
    .into_response())
}

/// An apply (or its preview) the import's state refuses: another enterprise's import is not
/// found; one with bad rows or already applied says why.
fn apply_refused(e: ApplyError) -> PageError {
    match e {
        ApplyError::NotFound(_) => PageError::NotFound,
        ApplyError::Engine(e) => e.into(),
        refused => PageError::Conflict(refused.to_string()),
    }
}

async fn result_csv(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let csv = state
        .engine
        .import_result_csv(admin.enterprise.id, ImportId(id))
        .await
        .map_err(|e| match e {
            ImportError::File(f) => PageError::BadRequest(f.to_string()),
            ImportError::Engine(e) => e.into(),
        })?
        .ok_or(PageError::NotFound)?;
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
