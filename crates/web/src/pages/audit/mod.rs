//! Audit log: every change made by a person or a job in this enterprise, newest first, with
//! what changed in the object. Filters (words, user, who, action, date range), paging through
//! the whole log, and the CSV export of the filtered view.

mod diff;
mod listing;
pub(crate) mod view;

use crate::AppState;
use crate::auth::Admin;
use crate::error::PageError;
use crate::pages::user_list::csv_field;
use crate::routes::{Routes, get};
use crate::views::{Layout, Menu, ago, iso, timestamp};
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use diff::{FieldChange, Names};
pub use listing::{Choice, Filters, Pager, Scope, page_of};
use std::collections::HashMap;
use teamline_domain::audit::AuditEvent;
use teamline_domain::ids::EnterpriseId;
use teamline_store::{AuditCursor, PbxUserQuery, Store, UserTab};
pub use view::{AuditParams, View};

pub fn routes() -> Routes {
    Routes::new()
        .route("/audit", get(page))
        .route("/audit/export.csv", get(export_csv))
}

/// How many events one page shows.
pub const PAGE: u32 = 50;
/// The most events one CSV export holds.
const MAX_EXPORT: usize = 100_000;
/// The most PBX users the User filter looks for.
const MAX_USERS: u32 = 200;

/// An action as the admin reads it.
pub fn action_label(action: &str) -> String {
    let label = match action {
        "pbx_user.create" => "User set up",
        "pbx_user.update" => "User edited",
        "pbx_user.move" => "Extension moved to another person",
        "pbx_user.disable" => "User disabled",
        "pbx_user.enable" => "User enabled",
        "pbx_user.delete" => "User deleted",
        "pbx_user.repair" => "User repaired",
        "calling.enable" => "Calling enabled",
        "calling.disable" => "Calling disabled",
        "teams.push" => "Sent to Microsoft Teams",
        "teams.push_failed" => "Microsoft Teams refused a change",
        "teams.in_sync" => "Microsoft Teams in sync",
        "teams.drift" => "Changed in Microsoft Teams",
        "teams.bulk_grant" => "Policies granted in bulk",
        "device.create" => "Device created on the PBX",
        "device.create_failed" => "Device creation failed",
        "device.recreate" => "Device created again",
        "device.delete" => "Device removed",
        "device.refresh" => "Device password read again",
        "device.store" => "Device stored",
        "pbx_location.create" => "PBX location added",
        "pbx_location.update" => "PBX settings changed",
        "api_token.create" => "API token created",
        "api_token.revoke" => "API token revoked",
        "consent.grant" => "Consent granted",
        "consent.revoke" => "Consent revoked",
        "reseller.act" => "Reseller began acting",
        "admin.sign_in" => "Signed in",
        "directory.sync" => "Teams users synced",
        "sync.request" => "Sync Teams Users requested",
        "doctor.write_test" => "Readiness write test",
        other => return other.to_owned(),
    };
    label.to_owned()
}

pub struct EventRow {
    pub when: String,
    pub at: String,
    pub iso: String,
    pub who: String,
    pub action: String,
    pub summary: String,
    pub fields: Vec<FieldChange>,
    pub changed: Vec<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "audit.html")]
pub struct AuditPage {
    pub layout: Layout,
    pub view: View,
    pub events: Vec<EventRow>,
    pub filters: Filters,
    pub pager: Pager,
    /// The User filter matched no PBX user.
    pub no_user: bool,
}

/// The ids of the PBX users (of any tab) the User filter matches; `None` without one. (The
/// API's audit list filters by user the same way.)
pub(crate) async fn matching_users(
    store: &dyn Store,
    enterprise: EnterpriseId,
    view: &View,
) -> Result<Option<Vec<String>>, teamline_store::StoreError> {
    if view.user.is_empty() {
        return Ok(None);
    }
    let mut ids = Vec::new();
    for tab in [UserTab::Licensed, UserTab::Disabled, UserTab::Deleted] {
        let query = PbxUserQuery {
            tab,
            search: Some(view.user.clone()),
            limit: MAX_USERS,
            ..Default::default()
        };
        let page = store.list_pbx_users(enterprise, &query).await?;
        ids.extend(page.items.iter().map(|i| i.user.id.to_string()));
    }
    Ok(Some(ids))
}

/// The names behind the ids the events refer to.
async fn names_for(
    store: &dyn Store,
    enterprise: EnterpriseId,
    events: &[AuditEvent],
) -> Result<Names, PageError> {
    let voice_routes = store
        .list_voice_routes(enterprise)
        .await?
        .into_iter()
        .map(|r| (r.id.0, r.name.to_string()))
        .collect();
    let pbx_locations = store
        .list_pbx_locations(enterprise)
        .await?
        .into_iter()
        .map(|l| (l.id.0, l.settings.name.to_string()))
        .collect();
    let mut oids: Vec<String> = events
        .iter()
        .flat_map(|e| diff::teams_user_ids(e.before.as_deref(), e.after.as_deref()))
        .collect();
    oids.sort();
    oids.dedup();
    let teams_users: HashMap<String, String> = store
        .get_teams_users(enterprise, &oids)
        .await?
        .into_iter()
        .map(|u| (u.object_id, format!("{} ({})", u.display_name, u.upn)))
        .collect();
    Ok(Names {
        voice_routes,
        pbx_locations,
        teams_users,
    })
}

fn row(now: i64, e: &AuditEvent, names: &Names, enterprise: &str) -> EventRow {
    let fields = diff::diff(
        &e.object_type,
        e.before.as_deref(),
        e.after.as_deref(),
        names,
    );
    EventRow {
        when: ago(now, e.at_ms),
        at: timestamp(e.at_ms),
        iso: iso(e.at_ms),
        who: crate::reseller::acted_for(&e.actor, Some(enterprise)),
        action: action_label(&e.action),
        summary: e.summary.clone(),
        changed: fields
            .iter()
            .filter(|f| f.changed)
            .map(|f| f.label.clone())
            .collect(),
        fields,
    }
}

async fn page(
    State(state): State<AppState>,
    admin: Admin,
    Query(params): Query<AuditParams>,
) -> Result<AuditPage, PageError> {
    let e = admin.enterprise.id;
    let store = state.store.as_ref();
    let now = store.clock().now_ms();
    let view = View::of(&params);
    let users = matching_users(store, e, &view).await?;
    let no_user = users.as_ref().is_some_and(Vec::is_empty);
    let fetched = store.search_audit(e, &view.query(PAGE + 1, users)).await?;
    let (events, pager) = page_of(&view, fetched);
    let names = names_for(store, e, &events).await?;
    let filters = Filters::new(&view, &store.audit_facets(e).await?, Scope::User);
    Ok(AuditPage {
        layout: admin.layout(Menu::AuditLog),
        events: events
            .iter()
            .map(|ev| row(now, ev, &names, admin.enterprise.name.as_str()))
            .collect(),
        view,
        filters,
        pager,
        no_user,
    })
}

/// The filtered view, every event of it, as CSV: one line per event, what changed in words.
async fn export_csv(
    State(state): State<AppState>,
    admin: Admin,
    Query(params): Query<AuditParams>,
) -> Result<Response, PageError> {
    let e = admin.enterprise.id;
    let store = state.store.as_ref();
    let view = View {
        cursor: None,
        ..View::of(&params)
    };
    let users = matching_users(store, e, &view).await?;
    let mut out = String::from("Time (UTC),Who,Action,Summary,What changed\r\n");
    let mut query = view.query(1000, users);
    let mut written = 0;
    loop {
        let events = store.search_audit(e, &query).await?;
        let Some(last) = events.last() else { break };
        query.cursor = Some(AuditCursor::Older {
            at_ms: last.at_ms,
            id: last.id,
        });
        let names = names_for(store, e, &events).await?;
        for ev in &events {
            let r = row(0, ev, &names, admin.enterprise.name.as_str());
            let changes = r
                .fields
                .iter()
                .filter(|f| f.changed)
                .map(|f| format!("{}: {} → {}", f.label, f.before, f.after))
                .collect::<Vec<_>>()
                .join("; ");
            let line = [iso(ev.at_ms), r.who, r.action, r.summary, changes]
                .map(|s| csv_field(&s))
                .join(",");
            out.push_str(&line);
            out.push_str("\r\n");
            written += 1;
        }
        if written >= MAX_EXPORT {
            break;
        }
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"teamline-audit-log.csv\"",
            ),
        ],
        out,
    )
        .into_response())
}
