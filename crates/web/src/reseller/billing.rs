//! The billing summary: per enterprise, the PBX users configured at any time during a calendar
//! month (UTC) — what the reseller bills — and how many were configured at its end. An
//! enterprise added during the month is listed from that month; a user deleted mid-month still
//! counts for it. The same table as CSV for the reseller's billing system.

use super::{ResellerAdmin, ResellerLayout, ResellerMenu};
use crate::AppState;
use crate::error::PageError;
use crate::pages::user_list::csv_field;
use crate::routes::{Routes, get};
use crate::views::iso;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use teamline_domain::billing::{BillingLine, Month};

pub fn routes() -> Routes {
    Routes::new()
        .route("/reseller/billing", get(page))
        .route("/reseller/billing/export.csv", get(export_csv))
}

#[derive(Debug, Deserialize, Default)]
pub struct BillingParams {
    #[serde(default)]
    month: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "reseller/billing.html")]
struct BillingPage {
    layout: ResellerLayout,
    month: String,
    label: String,
    previous: String,
    /// None for the current month (nothing to bill after it yet).
    next: Option<String>,
    current: bool,
    lines: Vec<BillingLine>,
    total: u64,
    problem: Option<String>,
}

impl BillingPage {
    fn added(&self, line: &BillingLine) -> String {
        iso(line.added_ms).chars().take(10).collect()
    }
}

/// The month asked for, else the current one; a month that does not parse says so.
fn month_of(params: &BillingParams, now_ms: i64) -> (Month, Option<String>) {
    let current = Month::containing(now_ms);
    match params
        .month
        .as_deref()
        .map(str::trim)
        .filter(|m| !m.is_empty())
    {
        None => (current, None),
        Some(m) => match Month::parse(m) {
            Some(month) => (month, None),
            None => (
                current,
                Some(format!(
                    "Month: \u{201c}{m}\u{201d} is not a month; enter it as {current}."
                )),
            ),
        },
    }
}

async fn page(
    State(state): State<AppState>,
    admin: ResellerAdmin,
    Query(params): Query<BillingParams>,
) -> Result<BillingPage, PageError> {
    let now = state.store.clock().now_ms();
    let (month, problem) = month_of(&params, now);
    let lines = state
        .store
        .billing_summary(admin.reseller.id, month, now)
        .await?;
    let current = month == Month::containing(now);
    Ok(BillingPage {
        layout: admin.layout(ResellerMenu::Billing),
        month: month.to_string(),
        label: month.label(),
        previous: month.previous().to_string(),
        next: (month < Month::containing(now)).then(|| month.next().to_string()),
        current,
        total: lines.iter().map(|l| l.configured_users).sum(),
        lines,
        problem,
    })
}

async fn export_csv(
    State(state): State<AppState>,
    admin: ResellerAdmin,
    Query(params): Query<BillingParams>,
) -> Result<Response, PageError> {
    let now = state.store.clock().now_ms();
    let (month, problem) = month_of(&params, now);
    if let Some(problem) = problem {
        return Err(PageError::BadRequest(problem));
    }
    let lines = state
        .store
        .billing_summary(admin.reseller.id, month, now)
        .await?;
    let reference = admin.reseller.billing_reference.clone().unwrap_or_default();
    let mut out = String::from(
        "Month,Reseller billing reference,Enterprise ID,Enterprise,Added (UTC),Configured users,Configured at month end\r\n",
    );
    for l in &lines {
        let fields = [
            month.to_string(),
            reference.clone(),
            l.enterprise_id.0.to_string(),
            l.enterprise.clone(),
            iso(l.added_ms),
            l.configured_users.to_string(),
            l.configured_at_end.to_string(),
        ];
        out.push_str(&fields.map(|f| csv_field(&f)).join(","));
        out.push_str("\r\n");
    }
    let disposition = format!("attachment; filename=\"teamline-billing-{month}.csv\"");
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        out,
    )
        .into_response())
}
