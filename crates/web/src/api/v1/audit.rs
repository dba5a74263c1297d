//! The enterprise's audit log, newest first, with the Audit log page's filters and search.
//! Changes made through the API name their token.

use super::{ApiPath, ApiQuery, rfc3339};
use crate::AppState;
use crate::api::auth::Caller;
use crate::api::paging;
use crate::api::problem::Problem;
use crate::pages::audit::{AuditParams, View, matching_users};
use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use teamline_domain::ids::AuditEventId;
use teamline_store::AuditCursor;
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AuditEventOut {
    pub id: i64,
    pub at: String,
    /// Who: an admin, a job, or `API token "name"`.
    pub actor: String,
    /// The actor as the `actor` filter takes it, e.g. `api_token:billing`.
    pub actor_id: String,
    /// e.g. `pbx_user.create`, `calling.enable`.
    pub action: String,
    pub summary: String,
    pub object_type: String,
    pub object_id: Option<String>,
    /// The object before and after the change (no secrets).
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

/// One page of the log, newest first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AuditList {
    pub items: Vec<AuditEventOut>,
    /// Pass as `cursor` for the next (older) page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// The Audit log page's filters; every one given must hold.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditFilter {
    /// Words in the summary or the actor's name (case-insensitive).
    pub search: Option<String>,
    /// Events about the PBX users matching this name, UPN, extension or number.
    pub user: Option<String>,
    /// Who, as an event's `actor_id` (e.g. `api_token:billing`).
    pub actor: Option<String>,
    /// e.g. `pbx_user.update`.
    pub action: Option<String>,
    /// From this day on (`YYYY-MM-DD`, UTC).
    pub from: Option<String>,
    /// Up to and including this day (`YYYY-MM-DD`, UTC).
    pub to: Option<String>,
    /// The `next_cursor` of the previous page; absent for the newest events.
    pub cursor: Option<String>,
    /// How many, 1 to 500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
}

fn json(s: Option<String>) -> Option<serde_json::Value> {
    s.map(|s| serde_json::from_str(&s).unwrap_or(serde_json::Value::String(s)))
}

/// The enterprise's audit log with the Audit log page's filters (the same search), paged by
/// cursor from the newest event.
#[utoipa::path(get, path = "/api/v1/enterprises/{enterprise}/audit", tag = "audit",
    params(("enterprise" = i64, Path, description = "Enterprise id"), AuditFilter),
    responses((status = 200, body = AuditList), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(enterprise): ApiPath<i64>,
    ApiQuery(filter): ApiQuery<AuditFilter>,
) -> Result<Json<AuditList>, Problem> {
    let e = caller.enterprise(&state, enterprise).await?;
    let limit = filter.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(Problem::field("limit", "must be between 1 and 500"));
    }
    let cursor = match &filter.cursor {
        None => None,
        Some(c) => Some(paging::decode_keyset(c).ok_or_else(|| {
            Problem::field(
                "cursor",
                "is not a cursor this API gave out: pass the `next_cursor` of the previous page unchanged",
            )
        })?),
    };
    let view = View::of(&AuditParams {
        q: filter.search,
        user: filter.user,
        actor: filter.actor,
        action: filter.action,
        from: filter.from.clone(),
        to: filter.to.clone(),
        tz: None,
        older: None,
        newer: None,
        enterprise: None,
    });
    for (field, value) in [("from", &filter.from), ("to", &filter.to)] {
        if let Some(v) = value.as_deref().filter(|v| !v.trim().is_empty())
            && time::Date::parse(
                v.trim(),
                time::macros::format_description!("[year]-[month]-[day]"),
            )
            .is_err()
        {
            return Err(Problem::field(
                field,
                format!("\"{v}\" is not a day: write it as 2026-11-27"),
            ));
        }
    }
    let store = state.store.as_ref();
    let users = matching_users(store, e.id, &view).await?;
    let mut query = view.query(limit + 1, users);
    query.cursor = cursor.map(|(at_ms, id)| AuditCursor::Older {
        at_ms,
        id: AuditEventId(id),
    });
    let mut events = store.search_audit(e.id, &query).await?;
    let more = events.len() > limit as usize;
    events.truncate(limit as usize);
    let next_cursor = events
        .last()
        .filter(|_| more)
        .map(|last| paging::encode_keyset(last.at_ms, last.id.0));
    let items = events
        .into_iter()
        .map(|a| AuditEventOut {
            id: a.id.0,
            at: rfc3339(a.at_ms),
            actor: a.actor.to_string(),
            actor_id: a.actor.encode(),
            action: a.action,
            summary: a.summary,
            object_type: a.object_type,
            object_id: a.object_id,
            before: json(a.before),
            after: json(a.after),
        })
        .collect();
    Ok(Json(AuditList { items, next_cursor }))
}
