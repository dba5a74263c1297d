//! Troubleshoot: "a Microsoft 365 user is not syncing". Asks Microsoft about a name or UPN
//! (even a user Teamline never synced) and shows each cause as a pass/fail line with its fix,
//! plus Sync Teams Users with visible progress.

use crate::AppState;
use crate::auth::Admin;
use crate::error::PageError;
use crate::pages::is_htmx;
use crate::routes::{Routes, get, post};
use crate::views::{Layout, Menu, ago, timestamp};
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use teamline_engine::troubleshoot::{CheckStatus, Troubleshooting};

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
