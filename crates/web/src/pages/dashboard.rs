//! Dashboard: the Enterprise Admin Action Items, summary counts, the last sync and recent
//! activity. "Sync Teams Users" queues the sync and the live part of the page (counts and
//! action items) refreshes itself while it runs, then stops: the item is gone once done.

use crate::AppState;
use crate::auth::Admin;
use crate::error::PageError;
use crate::pages::is_htmx;
use crate::routes::{Routes, get, post};
use crate::views::{Layout, Menu, ago, iso, timestamp};
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use teamline_domain::action_item::ActionItem;
use teamline_domain::enterprise::ConsentKind;
use teamline_domain::job::Job;
use teamline_engine::dashboard::Dashboard;
use teamline_store::UserCounts;

pub fn routes() -> Routes {
    Routes::new()
        .route("/dashboard", get(dashboard))
        .route("/dashboard/live", get(live))
        .route("/dashboard/sync-teams-users", post(sync_teams_users))
}

pub struct ActivityRow {
    pub when: String,
    pub at: String,
    pub iso: String,
    pub who: String,
    pub summary: String,
}

/// An action item as a row: what, its status, and its button.
pub struct ItemRow {
    pub title: String,
    pub status: &'static str,
    pub status_class: &'static str,
    pub button: &'static str,
    pub action: ItemAction,
    /// What to do, when the title alone does not say it.
    pub fix: Option<&'static str>,
}

pub enum ItemAction {
    /// Sync Teams Users (runs here, with progress).
    Sync { running: bool },
    /// A page that handles it.
    Link(&'static str),
    /// A form that posts here (e.g. Grant Consent).
    Post(&'static str),
}

impl ItemRow {
    fn from(item: &ActionItem) -> Self {
        let action = match item {
            ActionItem::SyncTeamsUsers { running, .. } => ItemAction::Sync { running: *running },
            ActionItem::FixUsers { .. } => ItemAction::Link("/users?tab=licensed&state=failed"),
            ActionItem::FixRegistrations { .. } => ItemAction::Link("/users"),
            ActionItem::GrantConsent(ConsentKind::UserSync) => {
                ItemAction::Post("/consent/user-sync")
            }
            ActionItem::GrantConsent(ConsentKind::Management) => {
                ItemAction::Post("/consent/management")
            }
            ActionItem::SyncVoiceRoutes { .. } => ItemAction::Post("/direct-routing"),
        };
        let status_class = match item.status() {
            "Failed" => "badge badge-bad",
            "Syncing" => "badge badge-info",
            _ => "badge badge-warn",
        };
        Self {
            title: item.title(),
            status: item.status(),
            status_class,
            button: item.button(),
            action,
            fix: item.fix(),
        }
    }

    pub fn is_sync(&self) -> bool {
        matches!(self.action, ItemAction::Sync { .. })
    }

    pub fn is_running(&self) -> bool {
        matches!(self.action, ItemAction::Sync { running: true })
    }

    pub fn post(&self) -> Option<&'static str> {
        match self.action {
            ItemAction::Post(action) => Some(action),
            _ => None,
        }
    }

    pub fn link(&self) -> Option<&'static str> {
        match self.action {
            ItemAction::Link(href) => Some(href),
            _ => None,
        }
    }
}

/// A running sync's progress.
pub struct SyncProgress {
    pub message: String,
    /// Percent, when the total is known.
    pub percent: Option<u64>,
}

impl SyncProgress {
    fn of(job: &Job) -> Self {
        let message = job.progress_message.clone().unwrap_or_else(|| {
            if job.locked_by.is_some() {
                "Syncing with Microsoft 365…".to_owned()
            } else {
                "Waiting to start…".to_owned()
            }
        });
        let percent = job
            .progress_total
            .filter(|t| *t > 0)
            .map(|t| (job.progress_done * 100 / t).min(100));
        Self { message, percent }
    }
}

/// The part of the Dashboard that changes while a sync runs.
pub struct Live {
    pub counts: UserCounts,
    /// A sync is running or changes are on their way: the live part refreshes itself.
    pub refreshing: bool,
    pub items: Vec<ItemRow>,
    pub sync: Option<SyncProgress>,
    pub last_sync: Option<String>,
    pub last_sync_error: Option<String>,
    pub csrf: String,
}

impl Live {
    fn of(d: &Dashboard, now_ms: i64, csrf: &str) -> Self {
        Self {
            counts: d.counts,
            refreshing: d.sync_job.is_some() || d.counts.pending > 0,
            items: d.action_items.iter().map(ItemRow::from).collect(),
            sync: d.sync_job.as_ref().map(SyncProgress::of),
            last_sync: d.last_sync.as_ref().map(|r| {
                format!(
                    "{} · {} ({})",
                    timestamp(r.finished_ms),
                    r.summary(),
                    ago(now_ms, r.finished_ms)
                )
            }),
            last_sync_error: d.last_sync.as_ref().and_then(|r| r.error.clone()),
            csrf: csrf.to_owned(),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "dashboard.html")]
pub struct DashboardPage {
    pub layout: Layout,
    pub live: Live,
    pub activity: Vec<ActivityRow>,
    /// What the previous action did (e.g. "Consent granted").
    pub notice: Option<String>,
    /// Teamline's Direct Routing set-up, region by region.
    pub direct_routing: Vec<super::direct_routing::RegionSetup>,
    /// The SIP gateway's health in the enterprise's own regions.
    pub gateway: Vec<super::gateway_health::RegionHealth>,
    /// The reseller may act here and the admin (not the reseller) may end that.
    pub can_revoke_management: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "dashboard_live.html")]
pub struct LiveFragment {
    pub live: Live,
}

async fn dashboard(State(state): State<AppState>, admin: Admin) -> Result<Response, PageError> {
    // Manage User Groups comes first: without a sync group there is nobody to set up.
    if admin.enterprise.consent(ConsentKind::UserSync)
        && state
            .store
            .list_sync_groups(admin.enterprise.id)
            .await?
            .is_empty()
    {
        return Ok(Redirect::to("/groups").into_response());
    }
    let d = state.engine.dashboard(admin.enterprise.id).await?;
    let now = state.store.clock().now_ms();
    let activity = d
        .recent
        .iter()
        .map(|e| ActivityRow {
            when: ago(now, e.at_ms),
            at: timestamp(e.at_ms),
            iso: iso(e.at_ms),
            who: crate::reseller::acted_for(&e.actor, Some(admin.enterprise.name.as_str())),
            summary: e.summary.clone(),
        })
        .collect();
    Ok(DashboardPage {
        layout: admin.layout(Menu::Dashboard),
        live: Live::of(&d, now, &admin.csrf),
        activity,
        notice: admin.take_flash().await?,
        direct_routing: super::direct_routing::region_setups(&state, admin.enterprise.id).await?,
        gateway: super::gateway_health::of_enterprise(&state, &admin.enterprise).await?,
        can_revoke_management: admin.acting.is_none()
            && admin.enterprise.consent(ConsentKind::Management),
    }
    .into_response())
}

async fn live_fragment(state: &AppState, admin: &Admin) -> Result<LiveFragment, PageError> {
    let d = state.engine.dashboard(admin.enterprise.id).await?;
    Ok(LiveFragment {
        live: Live::of(&d, state.store.clock().now_ms(), &admin.csrf),
    })
}

async fn live(State(state): State<AppState>, admin: Admin) -> Result<LiveFragment, PageError> {
    live_fragment(&state, &admin).await
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
        return Ok(Redirect::to("/dashboard").into_response());
    }
    Ok(live_fragment(&state, &admin).await?.into_response())
}
