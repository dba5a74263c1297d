//! Readiness check: `teamline doctor` in the portal. Checks against the enterprise's real
//! Microsoft 365 tenant and PBX what decides whether Teamline works there (permissions, which
//! way the tenant behaves where Microsoft's documentation leaves it open, the PBX API key),
//! each with what was found, the service's own error text and the fix. Read-only unless the
//! admin names a test user for the write round trip (who is put back as before).

use crate::AppState;
use crate::auth::Admin;
use crate::error::PageError;
use crate::pages::is_htmx;
use crate::routes::{Routes, get};
use crate::views::{Layout, Menu};
use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use teamline_domain::diagnosis::{Check, Outcome};
use teamline_engine::doctor::{DoctorReport, DoctorRequest};
use teamline_microsoft::doctor::WriteTest;

/// The number the write test assigns when the test user holds none (the command line's
/// default too).
const DEFAULT_TEST_NUMBER: &str = "+12025550199";

pub fn routes() -> Routes {
    Routes::new().route("/troubleshoot/readiness", get(page).post(run))
}

/// One check as the page shows it.
pub struct CheckRow {
    pub id: String,
    pub title: String,
    pub status: &'static str,
    pub class: &'static str,
    pub found: String,
    pub error: Option<String>,
    pub fix: Option<String>,
}

/// The outcome of one run.
pub struct Results {
    pub ok: bool,
    pub failed: usize,
    pub warned: usize,
    pub write_test: bool,
    pub checks: Vec<CheckRow>,
}

#[derive(Template, WebTemplate)]
#[template(path = "readiness.html")]
pub struct ReadinessPage {
    pub layout: Layout,
    pub form: ReadinessForm,
    pub results: Option<Results>,
    pub problem: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "readiness_results.html")]
pub struct ResultsFragment {
    pub results: Option<Results>,
    pub problem: Option<String>,
}

#[derive(Deserialize, Clone)]
pub struct ReadinessForm {
    /// UPN or object id of a test user for the write round trip; empty = read-only.
    #[serde(default)]
    pub test_user: String,
    #[serde(default)]
    pub test_number: String,
    /// An extension whose PBX devices are read.
    #[serde(default)]
    pub extension: String,
}

impl Default for ReadinessForm {
    fn default() -> Self {
        Self {
            test_user: String::new(),
            test_number: DEFAULT_TEST_NUMBER.to_owned(),
            extension: String::new(),
        }
    }
}

impl ReadinessForm {
    fn request(&self) -> DoctorRequest {
        let given = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        DoctorRequest {
            location: None,
            extension: given(&self.extension),
            write_test: given(&self.test_user).map(|user| WriteTest {
                user,
                number: given(&self.test_number).unwrap_or_else(|| DEFAULT_TEST_NUMBER.to_owned()),
            }),
        }
    }
}

fn row(check: Check) -> CheckRow {
    let (status, class) = match check.outcome {
        Outcome::Pass => ("Pass", "badge badge-ok"),
        Outcome::Warn => ("Check", "badge badge-warn"),
        Outcome::Fail => ("Fail", "badge badge-bad"),
        Outcome::Skip => ("Skipped", "badge"),
    };
    CheckRow {
        id: check.id,
        title: check.title,
        status,
        class,
        found: check.found,
        error: check.error,
        fix: check.fix,
    }
}

fn results(report: DoctorReport, write_test: bool) -> Results {
    let count = |o: Outcome| report.checks.iter().filter(|c| c.outcome == o).count();
    Results {
        ok: report.ok(),
        failed: count(Outcome::Fail),
        warned: count(Outcome::Warn),
        write_test,
        checks: report.checks.into_iter().map(row).collect(),
    }
}

async fn page(admin: Admin) -> ReadinessPage {
    ReadinessPage {
        layout: admin.layout(Menu::Troubleshoot),
        form: ReadinessForm::default(),
        results: None,
        problem: None,
    }
}

async fn run(
    State(state): State<AppState>,
    admin: Admin,
    headers: HeaderMap,
    Form(form): Form<ReadinessForm>,
) -> Result<Response, PageError> {
    let request = form.request();
    let write_test = request.write_test.is_some();
    let (results, problem) = match state
        .engine
        .doctor(admin.enterprise.id, &admin.actor(), &request)
        .await
    {
        Ok(report) => (Some(results(report, write_test)), None),
        // No tenant yet and the like: said on the page, next to the form.
        Err(e) if !e.is_not_found() => (None, Some(PageError::from(e).info().detail)),
        Err(e) => return Err(e.into()),
    };
    if is_htmx(&headers) {
        return Ok(ResultsFragment { results, problem }.into_response());
    }
    Ok(ReadinessPage {
        layout: admin.layout(Menu::Troubleshoot),
        form,
        results,
        problem,
    }
    .into_response())
}
