//! What the Reseller portal does, for a reseller-wide token: Add Enterprise (which sends the
//! invitation e-mail to its Global Administrator), Edit Enterprise, Resend Invitation Email, and the SBC regions
//! an enterprise can be given. An enterprise-scoped token is refused: it reaches one
//! enterprise, not the reseller's.

use super::enterprises::{EnterpriseOut, with_etag};
use super::{ApiJson, ApiPath, check_version, if_match};
use crate::AppState;
use crate::api::auth::Caller;
use crate::api::problem::Problem;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use teamline_domain::enterprise::EnterpriseForm;
use teamline_domain::ids::SbcRegionId;
use teamline_domain::reseller::Reseller;
use teamline_engine::onboarding::AddEnterpriseError;
use utoipa::ToSchema;

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SbcRegionOut {
    pub id: i64,
    pub name: String,
    /// The gateway's host name Microsoft Teams sends calls to.
    pub gateway_fqdn: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SbcRegionList {
    pub items: Vec<SbcRegionOut>,
}

/// A new enterprise, as the Add Enterprise form takes it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnterpriseIn {
    pub name: String,
    /// Receives the invitation to register the Microsoft 365 tenant.
    pub global_admin_email: String,
    /// How many PBX users the enterprise may configure; absent: no limit.
    #[serde(default)]
    #[schema(minimum = 1)]
    pub user_limit: Option<u32>,
    #[serde(default)]
    pub pbx_music_on_hold: bool,
    #[serde(default)]
    pub access_sip_data: bool,
    /// Ask the tenant for consent to manage it (default true).
    #[serde(default)]
    pub request_management_consent: Option<bool>,
    /// Ids of the SBC regions (see `/api/v1/sbc-regions`).
    #[serde(default)]
    pub sbc_region_ids: Vec<i64>,
    /// Your own contract or customer number (at most 100 characters).
    #[serde(default)]
    pub billing_reference: Option<String>,
}

impl EnterpriseIn {
    fn into_form(self) -> EnterpriseForm {
        EnterpriseForm {
            name: self.name,
            global_admin_email: self.global_admin_email,
            user_limit: self.user_limit.map(|n| n.to_string()).unwrap_or_default(),
            pbx_music_on_hold: self.pbx_music_on_hold,
            access_sip_data: self.access_sip_data,
            request_management_consent: self.request_management_consent.unwrap_or(true),
            sbc_regions: self.sbc_region_ids.into_iter().map(SbcRegionId).collect(),
            billing_reference: self.billing_reference.unwrap_or_default(),
        }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AddedEnterpriseOut {
    pub enterprise: EnterpriseOut,
    /// The invitation e-mail went out.
    pub invitation_sent: bool,
    /// Why it did not (the enterprise is added all the same; resend once that is fixed).
    pub invitation_error: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct InvitationOut {
    /// Where the invitation went.
    pub sent_to: String,
    pub expires_at: String,
}

/// The token's reseller, when the token is reseller-wide.
async fn reseller(state: &AppState, caller: &Caller) -> Result<Reseller, Problem> {
    if caller.token.enterprise_id.is_some() {
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "Reseller-wide token needed",
            format!(
                "The API token \"{}\" reaches one enterprise; adding enterprises and sending invitations needs a reseller-wide token (`teamline api-token create --reseller …`).",
                caller.token.name
            ),
        ));
    }
    Ok(state.store.get_reseller(caller.token.reseller_id).await?)
}

/// The SBC regions of the platform, to choose from for a new enterprise.
#[utoipa::path(get, path = "/api/v1/sbc-regions", tag = "reseller",
    responses((status = 200, body = SbcRegionList)))]
pub async fn sbc_regions(
    State(state): State<AppState>,
    _caller: Caller,
) -> Result<Json<SbcRegionList>, Problem> {
    let items = state
        .store
        .list_sbc_regions()
        .await?
        .into_iter()
        .map(|r| SbcRegionOut {
            id: r.id.0,
            name: r.name.as_str().to_owned(),
            gateway_fqdn: r.gateway_fqdn.as_str().to_owned(),
        })
        .collect();
    Ok(Json(SbcRegionList { items }))
}

/// Add Enterprise: stores the enterprise (invited) and e-mails the invitation to its Global
/// Administrator. Reseller-wide tokens only.
#[utoipa::path(post, path = "/api/v1/enterprises", tag = "reseller",
    params(("Idempotency-Key" = Option<String>, Header, description = "Repeat a POST safely: the first answer is kept for a day")),
    request_body = EnterpriseIn,
    responses((status = 201, body = AddedEnterpriseOut, headers(("Location" = String))),
        (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<ApiJson<EnterpriseIn>, Problem>,
) -> Result<Response, Problem> {
    // Who may add enterprises is decided before what the body says.
    let reseller = reseller(&state, &caller).await?;
    let ApiJson(body) = body?;
    let form = body.into_form();
    let added = match state
        .engine
        .add_enterprise(&reseller, &form, caller.actor())
        .await
    {
        Ok(added) => added,
        Err(AddEnterpriseError::Fields(errors)) => return Err(errors.into()),
        Err(AddEnterpriseError::Engine(e)) => return Err(e.into()),
    };
    let id = added.enterprise.id;
    let out = AddedEnterpriseOut {
        enterprise: EnterpriseOut::from(&added.enterprise),
        invitation_sent: added.invitation.is_ok(),
        invitation_error: added.invitation.err().map(|e| e.to_string()),
    };
    let mut response = (StatusCode::CREATED, Json(out)).into_response();
    if let Ok(l) = HeaderValue::from_str(&format!("/api/v1/enterprises/{id}")) {
        response.headers_mut().insert(header::LOCATION, l);
    }
    Ok(response)
}

/// Edit Enterprise: every field of Add Enterprise (what is left out goes back to its default,
/// as in a form). `If-Match` with the ETag the enterprise was read at is required, so a
/// concurrent change is never overwritten. The user limit cannot drop below the users
/// configured; the Global Admin e-mail changes only while the enterprise is invited (a changed
/// one gets a new invitation). Reseller-wide tokens only.
#[utoipa::path(put, path = "/api/v1/enterprises/{enterprise}", tag = "reseller",
    params(("enterprise" = i64, Path, description = "Enterprise id"),
        ("If-Match" = String, Header, description = "The ETag the enterprise was read at")),
    request_body = EnterpriseIn,
    responses((status = 200, body = EnterpriseOut, headers(("ETag" = String))),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 412, body = Problem),
        (status = 422, body = Problem), (status = 428, body = Problem)))]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(enterprise): ApiPath<i64>,
    headers: HeaderMap,
    body: Result<ApiJson<EnterpriseIn>, Problem>,
) -> Result<Response, Problem> {
    let e = caller.enterprise(&state, enterprise).await?;
    let reseller = reseller(&state, &caller).await?;
    let Some(version) = if_match(&headers)? else {
        return Err(Problem::new(
            StatusCode::PRECONDITION_REQUIRED,
            "If-Match required",
            "Send the ETag of the enterprise as you read it in If-Match, so a change made meanwhile is not overwritten.",
        ));
    };
    check_version(Some(version), e.version)?;
    let ApiJson(body) = body?;
    let form = body.into_form();
    match state
        .engine
        .edit_enterprise(&reseller, e.id, version, &form, caller.actor())
        .await
    {
        Ok(edited) => Ok(with_etag(&edited.enterprise, StatusCode::OK)),
        Err(AddEnterpriseError::Fields(errors)) => Err(errors.into()),
        Err(AddEnterpriseError::Engine(e)) => Err(e.into()),
    }
}

/// Resend Invitation Email: a new link for an enterprise still invited (the links sent before
/// stop working). Reseller-wide tokens only.
#[utoipa::path(post, path = "/api/v1/enterprises/{enterprise}/invitation", tag = "reseller",
    params(("enterprise" = i64, Path, description = "Enterprise id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Repeat a POST safely: the first answer is kept for a day")),
    responses((status = 202, body = InvitationOut), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn resend_invitation(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(enterprise): ApiPath<i64>,
) -> Result<Response, Problem> {
    let e = caller.enterprise(&state, enterprise).await?;
    let reseller = reseller(&state, &caller).await?;
    let sent = state
        .engine
        .send_invitation(&reseller, e.id, caller.actor())
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(InvitationOut {
            sent_to: e.global_admin_email.as_str().to_owned(),
            expires_at: super::rfc3339(sent.expires_ms),
        }),
    )
        .into_response())
}
