//! Troubleshoot: "a Microsoft 365 user is not syncing". Asks Microsoft about a name or UPN
//! (even a user Teamline never synced) and shows each cause as a pass/fail line with its fix,
//! plus Sync Teams Users with visible progress; and "a call did not reach Teams / the PBX":
//! the latest calls of a number, handle or user from the call records, each with its likely
//! cause and fix.

use crate::AppState;
use crate::auth::Admin;
use crate::error::PageError;
use crate::pages::{calls, is_htmx};
use crate::routes::{Routes, get, post};
use crate::views::{Layout, Menu, ago, timestamp};
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use teamline_domain::call;
use teamline_engine::troubleshoot::{CheckStatus, Troubleshooting};
use teamline_store::CallFilter;

pub fn routes() -> Routes {
    Routes::new()
        .route("/troubleshoot", get(page))
        .route("/troubleshoot/sync", post(sync_teams_users))
        .route("/troubleshoot/sync-status", get(sync_status))
}

pub struct CheckRow {
    pub label: &'static str,
    pub status: &'static str,
    pub class: &'static str,
    pub detail: String,
    pub fix: Option<String>,
    pub record: Option<String>,
}

pub struct Checklist {
    pub title: String,
    pub all_passed: bool,
    pub checks: Vec<CheckRow>,
}

pub struct Candidate {
    pub upn: String,
    pub name: String,
    pub href: String,
}

/// Sync Teams Users's state: running (the block refreshes itself) or how the last one went.
pub struct SyncStatus {
    pub running: Option<String>,
    pub last: Option<String>,
    pub last_error: Option<String>,
    pub csrf: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "troubleshoot.html")]
pub struct TroubleshootPage {
    pub layout: Layout,
    pub q: String,
    /// What the call check was asked about ("" when not asked).
    pub call_q: String,
    pub call_check: Option<CallChecks>,
    pub problem: Option<String>,
    pub candidates: Vec<Candidate>,
    pub checklist: Option<Checklist>,
    pub sync: SyncStatus,
}

#[derive(Template, WebTemplate)]
#[template(path = "troubleshoot_sync.html")]
pub struct SyncFragment {
    pub sync: SyncStatus,
}

#[derive(Deserialize, Default)]
struct TroubleshootQuery {
    #[serde(default)]
    q: String,
    /// A number, device handle or user whose call did not get through.
    #[serde(default)]
    call: String,
}

/// One of the latest calls of the "a call did not reach Teams / the PBX" check.
pub struct CallCheck {
    pub href: String,
    pub summary: String,
    pub status: &'static str,
    pub class: &'static str,
    pub cause: String,
    pub fix: Option<String>,
}

/// The answer of the call check: the latest matching calls explained, or why none is shown.
pub struct CallChecks {
    pub q: String,
    /// The enterprise may see its calls (Access SIP Data).
    pub allowed: bool,
    pub calls: Vec<CallCheck>,
    /// Set when no call matched: what that means.
    pub none: Option<CallCheck>,
}

/// How many of the latest matching calls the check explains.
const CALLS_CHECKED: u32 = 5;

async fn call_checks(
    state: &AppState,
    admin: &Admin,
    q: &str,
) -> Result<Option<CallChecks>, PageError> {
    if q.is_empty() {
        return Ok(None);
    }
    let allowed = admin.enterprise.access_sip_data;
    let mut out = CallChecks {
        q: q.to_owned(),
        allowed,
        calls: Vec::new(),
        none: None,
    };
    if !allowed {
        return Ok(Some(out));
    }
    let filter = CallFilter {
        search: Some(q.to_owned()),
        limit: CALLS_CHECKED,
        ..Default::default()
    };
    let calls = state.store.list_calls(admin.enterprise.id, &filter).await?;
    let row = |d: call::Diagnosis, href: String, summary: String| CallCheck {
        href,
        summary,
        status: if d.fine { "Fine" } else { "Fix" },
        class: if d.fine {
            "badge badge-ok"
        } else {
            "badge badge-bad"
        },
        cause: d.cause,
        fix: d.fix,
    };
    out.calls = calls
        .iter()
        .map(|c| {
            let code = c.sip_code.map(|c| format!(", SIP {c}")).unwrap_or_default();
            row(
                call::diagnose(&c.direction, &c.result, c.sip_code),
                calls::call_href(&c.call_id),
                format!(
                    "{} · {} {} → {}: {}{code}",
                    timestamp(c.started_ms),
                    call::direction_label(&c.direction),
                    c.from_number,
                    c.to_number,
                    call::result_label(&c.result),
                ),
            )
        })
        .collect();
    if out.calls.is_empty() {
        out.none = Some(row(
            call::never_reached_gateway(),
            String::new(),
            format!("No call of \u{201c}{q}\u{201d} in the call records"),
        ));
    }
    Ok(Some(out))
}

fn href(q: &str) -> String {
    format!(
        "/troubleshoot?{}",
        serde_urlencoded::to_string([("q", q)]).unwrap_or_default()
    )
}

async fn sync_status_of(state: &AppState, admin: &Admin) -> Result<SyncStatus, PageError> {
    let e = admin.enterprise.id;
    let running = state.engine.running_sync(e).await?.map(|job| {
        job.progress_message.unwrap_or_else(|| {
            if job.locked_by.is_some() {
                "Syncing with Microsoft 365…".to_owned()
            } else {
                "Waiting to start…".to_owned()
            }
        })
    });
    let last = state.engine.last_sync(e).await?;
    let now = state.store.clock().now_ms();
    Ok(SyncStatus {
        running,
        last: last.as_ref().map(|r| {
            format!(
                "{} · {} ({})",
                timestamp(r.finished_ms),
                r.summary(),
                ago(now, r.finished_ms)
            )
        }),
        last_error: last.and_then(|r| r.error),
        csrf: admin.csrf.clone(),
    })
}

async fn page(
    State(state): State<AppState>,
    admin: Admin,
    Query(query): Query<TroubleshootQuery>,
) -> Result<TroubleshootPage, PageError> {
    let q = query.q.trim().to_owned();
    let call_check = call_checks(&state, &admin, query.call.trim()).await?;
    let mut problem = None;
    let mut candidates = Vec::new();
    let mut checklist = None;
    if !q.is_empty() {
        match state.engine.troubleshoot(admin.enterprise.id, &q).await {
            Ok(Troubleshooting::Candidates(list)) => {
                candidates = list
                    .into_iter()
                    .map(|(upn, name)| Candidate {
                        href: href(&upn),
                        upn,
                        name,
                    })
                    .collect();
            }
            Ok(t @ Troubleshooting::Checklist { .. }) => {
                let all_passed = t.all_passed();
                if let Troubleshooting::Checklist {
                    upn,
                    display_name,
                    checks,
                } = t
                {
                    let title = match (display_name, upn) {
                        (Some(n), Some(u)) => format!("{n} ({u})"),
                        (_, Some(u)) => u,
                        _ => format!("“{q}”"),
                    };
                    checklist = Some(Checklist {
                        title,
                        all_passed,
                        checks: checks
                            .into_iter()
                            .map(|c| {
                                let (status, class) = match c.status {
                                    CheckStatus::Pass => ("Pass", "badge badge-ok"),
                                    CheckStatus::Fail => ("Fail", "badge badge-bad"),
                                    CheckStatus::Warn => ("Check", "badge badge-warn"),
                                };
                                CheckRow {
                                    label: c.label,
                                    status,
                                    class,
                                    detail: c.detail,
                                    fix: c.fix,
                                    record: c.pbx_user.map(|id| format!("/users/{id}/edit")),
                                }
                            })
                            .collect(),
                    });
                }
            }
            Err(e) if e.is_not_found() => return Err(PageError::NotFound),
            Err(e) => problem = Some(PageError::from(e).info().detail),
        }
    }
    Ok(TroubleshootPage {
        sync: sync_status_of(&state, &admin).await?,
        layout: admin.layout(Menu::Troubleshoot),
        q,
        call_check,
        call_q: query.call.trim().to_owned(),
        problem,
        candidates,
        checklist,
    })
}

async fn sync_teams_users(
    State(state): State<AppState>,
    admin: Admin,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    state
        .engine
        .sync_teams_users(admin.enterprise.id, &admin.actor())
        .await?;
    if !is_htmx(&headers) {
        return Ok(Redirect::to("/troubleshoot").into_response());
    }
    Ok(SyncFragment {
        sync: sync_status_of(&state, &admin).await?,
    }
    .into_response())
}

async fn sync_status(
    State(state): State<AppState>,
    admin: Admin,
) -> Result<SyncFragment, PageError> {
    Ok(SyncFragment {
        sync: sync_status_of(&state, &admin).await?,
    })
}
