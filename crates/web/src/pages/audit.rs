//! Audit log: every change made by a person or a job in this enterprise, newest first, with
//! the object's state before and after.

use crate::AppState;
use crate::auth::Admin;
use crate::error::PageError;
use crate::routes::{Routes, get};
use crate::views::{Layout, Menu, ago, iso, timestamp};
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;

pub fn routes() -> Routes {
    Routes::new().route("/audit", get(page))
}

/// How many events the page shows.
pub const SHOWN: u32 = 500;

pub struct EventRow {
    pub when: String,
    pub at: String,
    pub iso: String,
    pub who: String,
    pub action: String,
    pub summary: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "audit.html")]
pub struct AuditPage {
    pub layout: Layout,
    pub events: Vec<EventRow>,
    pub shown: u32,
}

fn pretty(json: Option<String>) -> Option<String> {
    json.map(|j| {
        serde_json::from_str::<serde_json::Value>(&j)
            .ok()
            .and_then(|v| serde_json::to_string_pretty(&v).ok())
            .unwrap_or(j)
    })
}

async fn page(State(state): State<AppState>, admin: Admin) -> Result<AuditPage, PageError> {
    let now = state.store.clock().now_ms();
    let events = state
        .store
        .list_audit(Some(admin.enterprise.id), SHOWN)
        .await?
        .into_iter()
        .map(|e| EventRow {
            when: ago(now, e.at_ms),
            at: timestamp(e.at_ms),
            iso: iso(e.at_ms),
            who: e.actor.to_string(),
            action: e.action,
            summary: e.summary,
            before: pretty(e.before),
            after: pretty(e.after),
        })
        .collect();
    Ok(AuditPage {
        layout: admin.layout(Menu::AuditLog),
        events,
        shown: SHOWN,
    })
}
