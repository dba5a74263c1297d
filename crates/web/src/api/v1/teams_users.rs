//! The tenant's Teams users as the last directory sync saw them.

use super::{ApiPath, ApiQuery};
use crate::AppState;
use crate::api::auth::Caller;
use crate::api::paging::{PageParams, Paged};
use crate::api::problem::Problem;
use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use teamline_domain::teams_user::TeamsUser;
use teamline_store::TeamsUserQuery;
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TeamsUserOut {
    /// The Entra object id.
    pub object_id: String,
    pub upn: String,
    pub display_name: String,
    pub account_enabled: bool,
    /// In a sync group (or every user, when no group is chosen).
    pub in_scope: bool,
    pub deleted_in_tenant: bool,
    /// Can be set up as a PBX user (licensed, enabled, in scope, a member).
    pub eligible: bool,
    /// Why not, with what to do, when not eligible.
    pub ineligible_reasons: Vec<String>,
}

impl From<&TeamsUser> for TeamsUserOut {
    fn from(u: &TeamsUser) -> Self {
        Self {
            object_id: u.object_id.clone(),
            upn: u.upn.clone(),
            display_name: u.display_name.clone(),
            account_enabled: u.account_enabled,
            in_scope: u.in_scope,
            deleted_in_tenant: u.deleted_in_tenant,
            eligible: u.is_eligible(),
            ineligible_reasons: u
                .ineligible_reasons()
                .iter()
                .map(|r| r.explain(&u.upn))
                .collect(),
        }
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TeamsUserFilter {
    /// Part of the display name or UPN (case-insensitive).
    pub search: Option<String>,
    /// Only users who can be set up and are not paired yet.
    pub eligible_unpaired: Option<bool>,
}

#[utoipa::path(get, path = "/api/v1/enterprises/{enterprise}/teams-users", tag = "teams users",
    params(("enterprise" = i64, Path, description = "Enterprise id"), TeamsUserFilter, PageParams),
    responses((status = 200, body = inline(Paged<TeamsUserOut>)), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(enterprise): ApiPath<i64>,
    ApiQuery(filter): ApiQuery<TeamsUserFilter>,
    ApiQuery(page): ApiQuery<PageParams>,
) -> Result<Json<Paged<TeamsUserOut>>, Problem> {
    let e = caller.enterprise(&state, enterprise).await?;
    let window = page.window()?;
    let result = state
        .store
        .list_teams_users(
            e.id,
            &TeamsUserQuery {
                search: filter.search.filter(|s| !s.trim().is_empty()),
                eligible_unpaired_only: filter.eligible_unpaired.unwrap_or(false),
                limit: window.limit,
                offset: window.offset,
            },
        )
        .await?;
    let items = result.items.iter().map(TeamsUserOut::from).collect();
    Ok(Json(Paged::new(items, result.total, &window)))
}
