//! The enterprises a token reaches, and what SET UP PBX USER needs to know about one: its voice
//! routes and PBX locations.

use super::ApiPath;
use crate::AppState;
use crate::api::auth::Caller;
use crate::api::problem::Problem;
use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use teamline_domain::enterprise::{ConsentKind, Enterprise};
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EnterpriseOut {
    pub id: i64,
    pub name: String,
    pub slug: String,
    /// `invited`, `onboarding`, `active`, …
    pub state: String,
    /// The Microsoft 365 tenant, once registered.
    pub tenant_id: Option<String>,
    /// How many PBX users the enterprise may configure; absent: no limit.
    pub user_limit: Option<u32>,
    /// Teamline may read the tenant's users and assign numbers and policies.
    pub user_sync_consent: bool,
    /// The reseller may manage the enterprise.
    pub management_consent: bool,
    /// The Global Administrator invited (who registers the tenant).
    pub global_admin_email: String,
    pub pbx_music_on_hold: bool,
    pub access_sip_data: bool,
    /// The tenant is asked for consent to let the reseller manage it.
    pub request_management_consent: bool,
    /// Ids of the enterprise's SBC regions.
    pub sbc_region_ids: Vec<i64>,
    /// The reseller's own contract or customer number.
    pub billing_reference: Option<String>,
    /// Also the ETag; send it in If-Match to change the enterprise.
    pub version: i64,
}

impl From<&Enterprise> for EnterpriseOut {
    fn from(e: &Enterprise) -> Self {
        Self {
            id: e.id.0,
            name: e.name.as_str().to_owned(),
            slug: e.slug.as_str().to_owned(),
            state: e.state.as_str().to_owned(),
            tenant_id: e.tenant_id.as_ref().map(|t| t.as_str().to_owned()),
            user_limit: e.user_limit,
            user_sync_consent: e.consent(ConsentKind::UserSync),
            management_consent: e.consent(ConsentKind::Management),
            global_admin_email: e.global_admin_email.as_str().to_owned(),
            pbx_music_on_hold: e.pbx_music_on_hold,
            access_sip_data: e.access_sip_data,
            request_management_consent: e.request_management_consent,
            sbc_region_ids: e.sbc_regions.iter().map(|r| r.0).collect(),
            billing_reference: e.billing_reference.clone(),
            version: e.version,
        }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EnterpriseList {
    pub items: Vec<EnterpriseOut>,
}

/// The enterprises this token reaches: its own, or every enterprise of its reseller.
#[utoipa::path(get, path = "/api/v1/enterprises", tag = "enterprises",
    responses((status = 200, body = EnterpriseList), (status = 401, body = Problem)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<EnterpriseList>, Problem> {
    let items = match caller.token.enterprise_id {
        Some(e) => vec![state.store.get_enterprise(e).await?],
        None => {
            state
                .store
                .list_enterprises(Some(caller.token.reseller_id))
                .await?
        }
    };
    Ok(Json(EnterpriseList {
        items: items.iter().map(EnterpriseOut::from).collect(),
    }))
}

#[utoipa::path(get, path = "/api/v1/enterprises/{enterprise}", tag = "enterprises",
    params(("enterprise" = i64, Path, description = "Enterprise id")),
    responses((status = 200, body = EnterpriseOut, headers(("ETag" = String))), (status = 404, body = Problem)))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(enterprise): ApiPath<i64>,
) -> Result<Response, Problem> {
    let e = caller.enterprise(&state, enterprise).await?;
    Ok(with_etag(&e, StatusCode::OK))
}

/// The enterprise as JSON with its version as the ETag.
pub fn with_etag(e: &Enterprise, status: StatusCode) -> Response {
    let mut response = (status, Json(EnterpriseOut::from(e))).into_response();
    response
        .headers_mut()
        .insert(header::ETAG, super::etag(e.version));
    response
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct VoiceRouteOut {
    pub id: i64,
    pub name: String,
    pub subdomain: String,
    pub policy_name: String,
    pub state: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct VoiceRouteList {
    pub items: Vec<VoiceRouteOut>,
}

#[utoipa::path(get, path = "/api/v1/enterprises/{enterprise}/voice-routes", tag = "enterprises",
    params(("enterprise" = i64, Path, description = "Enterprise id")),
    responses((status = 200, body = VoiceRouteList), (status = 404, body = Problem)))]
pub async fn voice_routes(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(enterprise): ApiPath<i64>,
) -> Result<Json<VoiceRouteList>, Problem> {
    let e = caller.enterprise(&state, enterprise).await?;
    let items = state
        .store
        .list_voice_routes(e.id)
        .await?
        .into_iter()
        .map(|r| VoiceRouteOut {
            id: r.id.0,
            name: r.name.as_str().to_owned(),
            subdomain: r.subdomain.as_str().to_owned(),
            policy_name: r.policy_name,
            state: r.state.as_str().to_owned(),
        })
        .collect();
    Ok(Json(VoiceRouteList { items }))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PbxLocationOut {
    pub id: i64,
    pub name: String,
    pub sip_domain: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PbxLocationList {
    pub items: Vec<PbxLocationOut>,
}

/// The PBX locations (never their API credentials).
#[utoipa::path(get, path = "/api/v1/enterprises/{enterprise}/pbx-locations", tag = "enterprises",
    params(("enterprise" = i64, Path, description = "Enterprise id")),
    responses((status = 200, body = PbxLocationList), (status = 404, body = Problem)))]
pub async fn pbx_locations(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(enterprise): ApiPath<i64>,
) -> Result<Json<PbxLocationList>, Problem> {
    let e = caller.enterprise(&state, enterprise).await?;
    let items = state
        .store
        .list_pbx_locations(e.id)
        .await?
        .into_iter()
        .map(|l| PbxLocationOut {
            id: l.id.0,
            name: l.settings.name.as_str().to_owned(),
            sip_domain: l.settings.sip_domain.to_string(),
        })
        .collect();
    Ok(Json(PbxLocationList { items }))
}
