//! Dashboard: the Enterprise Admin Action Items, summary counts and recent activity.

use crate::AppState;
use crate::auth::Admin;
use crate::error::PageError;
use crate::views::{Layout, Menu, ago, timestamp};
use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use teamline_domain::action_item::{ActionItem, EnterpriseFacts, action_items};
use teamline_domain::enterprise::ConsentKind;
use teamline_domain::voice_route::VoiceRouteState;
use teamline_store::UserCounts;

pub fn routes() -> Router<AppState> {
    Router::new().route("/dashboard", get(dashboard))
}

pub struct ActivityRow {
    pub when: String,
    pub at: String,
    pub who: String,
    pub summary: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "dashboard.html")]
pub struct DashboardPage {
    pub layout: Layout,
    pub items: Vec<ActionItem>,
    pub counts: UserCounts,
    pub activity: Vec<ActivityRow>,
}

async fn dashboard(
    State(state): State<AppState>,
    admin: Admin,
) -> Result<DashboardPage, PageError> {
    let id = admin.enterprise.id;
    let counts = state.store.user_counts(id).await?;
    let routes = state.store.list_voice_routes(id).await?;
    let facts = EnterpriseFacts {
        user_sync_consent: admin.enterprise.consent(ConsentKind::UserSync),
        management_consent_requested: admin.enterprise.request_management_consent,
        management_consent: admin.enterprise.consent(ConsentKind::Management),
        pending_pushes: counts.pending,
        failed_users: counts.failed,
        pending_voice_routes: routes
            .iter()
            .filter(|r| r.state != VoiceRouteState::Provisioned)
            .count() as u64,
        sync_running: false,
    };
    let now = state.store.clock().now_ms();
    let activity = state
        .store
        .list_audit(Some(id), 12)
        .await?
        .into_iter()
        .map(|e| ActivityRow {
            when: ago(now, e.at_ms),
            at: timestamp(e.at_ms),
            who: e.actor.to_string(),
            summary: e.summary,
        })
        .collect();
    Ok(DashboardPage {
        layout: admin.layout(Menu::Dashboard),
        items: action_items(&facts),
        counts,
        activity,
    })
}
