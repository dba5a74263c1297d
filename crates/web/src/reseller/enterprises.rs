//! The reseller's enterprises: the list (state, users against the limit, last sync, failures,
//! the invitation), Add Enterprise, one enterprise's page and Resend Invitation Email.

use super::{ResellerAdmin, ResellerLayout, ResellerMenu};
use crate::AppState;
use crate::error::PageError;
use crate::routes::{Routes, get, post};
use crate::views::{ago, timestamp};
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use teamline_domain::FieldErrors;
use teamline_domain::enterprise::{Enterprise, EnterpriseForm, EnterpriseState};
use teamline_domain::ids::{EnterpriseId, SbcRegionId};
use teamline_engine::onboarding::AddEnterpriseError;
use teamline_store::InvitationRecord;

pub fn routes() -> Routes {
    Routes::new()
        .route("/reseller/enterprises", get(list))
        .route("/reseller/enterprises/new", get(new_form).post(add))
        .route("/reseller/enterprises/{id}", get(detail))
        .route("/reseller/enterprises/{id}/edit", get(edit_form).post(edit))
        .route("/reseller/enterprises/{id}/invitation", post(resend))
}

/// One row of the Enterprises list.
pub struct EnterpriseRow {
    pub id: i64,
    pub name: String,
    pub state: &'static str,
    pub state_class: &'static str,
    /// "3 / 5" or "3 (no limit)".
    pub users: String,
    pub last_sync: String,
    pub failures: u64,
    pub invitation: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "reseller/enterprises.html")]
struct ListPage {
    layout: ResellerLayout,
    flash: Option<String>,
    rows: Vec<EnterpriseRow>,
}

fn state_class(s: EnterpriseState) -> &'static str {
    match s {
        EnterpriseState::Invited => "badge badge-info",
        EnterpriseState::Registered => "badge",
        EnterpriseState::DirectRoutingReady => "badge badge-ok",
    }
}

/// What the invitation column says.
fn invitation_text(now: i64, inv: Option<&InvitationRecord>, state: EnterpriseState) -> String {
    match (state, inv) {
        (EnterpriseState::Invited, None) => "not sent".to_owned(),
        (EnterpriseState::Invited, Some(i)) if i.expires_ms <= now => {
            format!("expired {}: resend it", timestamp(i.expires_ms))
        }
        (EnterpriseState::Invited, Some(i)) => format!(
            "sent {}, valid until {}",
            ago(now, i.sent_ms),
            timestamp(i.expires_ms)
        ),
        (_, Some(i)) if i.used_ms.is_some() => "accepted".to_owned(),
        _ => "—".to_owned(),
    }
}

async fn row(state: &AppState, now: i64, e: &Enterprise) -> Result<EnterpriseRow, PageError> {
    let counts = state.store.user_counts(e.id).await?;
    let configured = counts.active + counts.disabled;
    let sync = state.store.sync_state(e.id).await?;
    let invitation = state.store.list_invitations(e.id).await?.into_iter().next();
    Ok(EnterpriseRow {
        id: e.id.0,
        name: e.name.as_str().to_owned(),
        state: e.state.label(),
        state_class: state_class(e.state),
        users: match e.user_limit {
            Some(limit) => format!("{configured} / {limit}"),
            None => format!("{configured} (no limit)"),
        },
        last_sync: sync
            .last_sync_ms
            .map_or_else(|| "never".to_owned(), |t| ago(now, t)),
        failures: counts.failed,
        invitation: invitation_text(now, invitation.as_ref(), e.state),
    })
}

async fn list(State(state): State<AppState>, admin: ResellerAdmin) -> Result<ListPage, PageError> {
    let now = state.store.clock().now_ms();
    let mut rows = Vec::new();
    for e in state
        .store
        .list_enterprises(Some(admin.reseller.id))
        .await?
    {
        rows.push(row(&state, now, &e).await?);
    }
    Ok(ListPage {
        flash: admin.take_flash().await?,
        layout: admin.layout(ResellerMenu::Enterprises),
        rows,
    })
}

/// An SBC region offered on the form.
pub struct RegionOption {
    pub id: i64,
    pub name: String,
    pub checked: bool,
}

/// Add Enterprise and Edit Enterprise: one form.
#[derive(Template, WebTemplate)]
#[template(path = "reseller/enterprise_form.html")]
struct FormPage {
    layout: ResellerLayout,
    heading: String,
    intro: &'static str,
    action: String,
    submit: &'static str,
    cancel: String,
    /// The version edited (Edit Enterprise): a change made meanwhile is not overwritten.
    version: Option<i64>,
    /// Registered: the Global Admin e-mail no longer changes.
    email_locked: bool,
    /// Edit Enterprise: the users configured now, below which the limit cannot go.
    configured: Option<u64>,
    form: EnterpriseForm,
    regions: Vec<RegionOption>,
    errors: Vec<(String, String)>,
}

impl FormPage {
    async fn add(
        state: &AppState,
        admin: &ResellerAdmin,
        form: EnterpriseForm,
        errors: Vec<(String, String)>,
    ) -> Result<Self, PageError> {
        Ok(Self {
            layout: admin.layout(ResellerMenu::Enterprises),
            heading: "Add Enterprise".to_owned(),
            intro: "Teamline e-mails the Global Administrator a link to register the enterprise's Microsoft 365 tenant.",
            action: "/reseller/enterprises/new".to_owned(),
            submit: "Add Enterprise and send invitation",
            cancel: "/reseller/enterprises".to_owned(),
            version: None,
            email_locked: false,
            configured: None,
            regions: regions(state, &form.sbc_regions).await?,
            form,
            errors,
        })
    }

    async fn edit(
        state: &AppState,
        admin: &ResellerAdmin,
        e: &Enterprise,
        version: i64,
        form: EnterpriseForm,
        errors: Vec<(String, String)>,
    ) -> Result<Self, PageError> {
        let counts = state.store.user_counts(e.id).await?;
        Ok(Self {
            layout: admin.layout(ResellerMenu::Enterprises),
            heading: format!("Edit {}", e.name.as_str()),
            intro: "A changed Global Admin e-mail gets a new invitation; the links sent before stop working.",
            action: format!("/reseller/enterprises/{}/edit", e.id.0),
            submit: "Save",
            cancel: format!("/reseller/enterprises/{}", e.id.0),
            version: Some(version),
            email_locked: e.state != EnterpriseState::Invited,
            configured: Some(counts.active + counts.disabled),
            regions: regions(state, &form.sbc_regions).await?,
            form,
            errors,
        })
    }
}

async fn regions(state: &AppState, chosen: &[SbcRegionId]) -> Result<Vec<RegionOption>, PageError> {
    Ok(state
        .store
        .list_sbc_regions()
        .await?
        .into_iter()
        .map(|r| RegionOption {
            id: r.id.0,
            checked: chosen.contains(&r.id),
            name: format!("{} ({})", r.name.as_str(), r.gateway_fqdn.as_str()),
        })
        .collect())
}

async fn new_form(
    State(state): State<AppState>,
    admin: ResellerAdmin,
) -> Result<FormPage, PageError> {
    let form = EnterpriseForm {
        request_management_consent: true,
        ..Default::default()
    };
    FormPage::add(&state, &admin, form, vec![]).await
}

/// The form as posted: check boxes are present only when checked, regions repeat.
fn read_form(fields: &[(String, String)]) -> EnterpriseForm {
    let text = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let checked = |name: &str| fields.iter().any(|(k, _)| k == name);
    EnterpriseForm {
        name: text("name"),
        global_admin_email: text("global_admin_email"),
        user_limit: text("user_limit"),
        pbx_music_on_hold: checked("pbx_music_on_hold"),
        access_sip_data: checked("access_sip_data"),
        request_management_consent: checked("request_management_consent"),
        // A region id that is not a number names no region: it becomes one that does not
        // exist, which the validation reports.
        sbc_regions: fields
            .iter()
            .filter(|(k, _)| k == "sbc_region")
            .map(|(_, v)| SbcRegionId(v.trim().parse().unwrap_or(-1)))
            .collect(),
        billing_reference: text("billing_reference"),
    }
}

fn field_errors(errors: &FieldErrors) -> Vec<(String, String)> {
    errors
        .iter()
        .map(|e| (e.field.to_string(), e.message.clone()))
        .collect()
}

async fn add(
    State(state): State<AppState>,
    admin: ResellerAdmin,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let form = read_form(&fields);
    match state
        .engine
        .add_enterprise(&admin.reseller, &form, admin.actor())
        .await
    {
        Ok(added) => {
            let name = added.enterprise.name.as_str();
            let message = match added.invitation {
                Ok(_) => format!(
                    "Added {name} and sent the invitation to {}.",
                    added.enterprise.global_admin_email.as_str()
                ),
                Err(e) => format!(
                    "Added {name}, but the invitation was not sent: {e}. Use Resend Invitation Email once that is fixed."
                ),
            };
            admin.flash(message).await?;
            Ok(Redirect::to("/reseller/enterprises").into_response())
        }
        Err(AddEnterpriseError::Fields(errors)) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            FormPage::add(&state, &admin, form, field_errors(&errors)).await?,
        )
            .into_response()),
        Err(AddEnterpriseError::Engine(e)) => Err(e.into()),
    }
}

async fn edit_form(
    State(state): State<AppState>,
    admin: ResellerAdmin,
    Path(id): Path<String>,
) -> Result<FormPage, PageError> {
    let e = own_enterprise(&state, &admin, &id).await?;
    FormPage::edit(
        &state,
        &admin,
        &e,
        e.version,
        EnterpriseForm::of(&e),
        vec![],
    )
    .await
}

async fn edit(
    State(state): State<AppState>,
    admin: ResellerAdmin,
    Path(id): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let e = own_enterprise(&state, &admin, &id).await?;
    let form = read_form(&fields);
    // The version the form was read at; without one (a hand-made POST) the current one.
    let version = fields
        .iter()
        .find(|(k, _)| k == "version")
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or(e.version);
    let errors = match state
        .engine
        .edit_enterprise(&admin.reseller, e.id, version, &form, admin.actor())
        .await
    {
        Ok(edited) => {
            let name = edited.enterprise.name.as_str();
            let message = match edited.invitation {
                None => format!("Saved {name}."),
                Some(Ok(_)) => format!(
                    "Saved {name} and sent a new invitation to {}; the links sent before no longer work.",
                    edited.enterprise.global_admin_email.as_str()
                ),
                Some(Err(err)) => format!(
                    "Saved {name}, but the new invitation was not sent: {err}. Use Resend Invitation Email once that is fixed."
                ),
            };
            admin.flash(message).await?;
            return Ok(Redirect::to(&format!("/reseller/enterprises/{}", e.id.0)).into_response());
        }
        Err(AddEnterpriseError::Fields(errors)) => field_errors(&errors),
        Err(AddEnterpriseError::Engine(err)) if err.is_not_found() => {
            return Err(PageError::NotFound);
        }
        Err(AddEnterpriseError::Engine(teamline_engine::EngineError::Store(
            teamline_store::StoreError::Stale { .. },
        ))) => vec![(
            "Enterprise".to_owned(),
            format!(
                "{} was changed by someone else while you edited it: check the values below (they are your changes) and save again",
                e.name.as_str()
            ),
        )],
        Err(AddEnterpriseError::Engine(err)) => return Err(err.into()),
    };
    Ok((
        StatusCode::UNPROCESSABLE_ENTITY,
        FormPage::edit(&state, &admin, &e, e.version, form, errors).await?,
    )
        .into_response())
}

/// One of the signed-in reseller's enterprises; another's is "not found".
pub(super) async fn own_enterprise(
    state: &AppState,
    admin: &ResellerAdmin,
    id: &str,
) -> Result<Enterprise, PageError> {
    let id: i64 = id.parse().map_err(|_| PageError::NotFound)?;
    let e = state.store.get_enterprise(EnterpriseId(id)).await?;
    if e.reseller_id == admin.reseller.id {
        Ok(e)
    } else {
        Err(PageError::NotFound)
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "reseller/enterprise.html")]
struct DetailPage {
    layout: ResellerLayout,
    flash: Option<String>,
    row: EnterpriseRow,
    global_admin_email: String,
    tenant_id: Option<String>,
    regions: Vec<String>,
    can_invite: bool,
    /// The enterprise grants management consent: "Manage as reseller" opens its portal.
    can_manage: bool,
    /// PBX Music on Hold, Access SIP Data, Request Management Consent: those chosen.
    options: String,
    billing_reference: Option<String>,
    /// Teamline's Direct Routing set-up, region by region.
    direct_routing: Vec<crate::pages::direct_routing::RegionSetup>,
}

async fn detail(
    State(state): State<AppState>,
    admin: ResellerAdmin,
    Path(id): Path<String>,
) -> Result<DetailPage, PageError> {
    let e = own_enterprise(&state, &admin, &id).await?;
    let now = state.store.clock().now_ms();
    let all = state.store.list_sbc_regions().await?;
    Ok(DetailPage {
        flash: admin.take_flash().await?,
        layout: admin.layout(ResellerMenu::Enterprises),
        row: row(&state, now, &e).await?,
        global_admin_email: e.global_admin_email.as_str().to_owned(),
        tenant_id: e.tenant_id.as_ref().map(|t| t.as_str().to_owned()),
        regions: all
            .iter()
            .filter(|r| e.sbc_regions.contains(&r.id))
            .map(|r| r.name.as_str().to_owned())
            .collect(),
        can_invite: e.state == EnterpriseState::Invited,
        can_manage: e.consent(teamline_domain::enterprise::ConsentKind::Management),
        options: options_text(&e),
        billing_reference: e.billing_reference.clone(),
        direct_routing: crate::pages::direct_routing::region_setups(&state, e.id).await?,
    })
}

fn options_text(e: &Enterprise) -> String {
    let chosen: Vec<&str> = [
        (e.pbx_music_on_hold, "PBX Music on Hold"),
        (e.access_sip_data, "Access SIP Data"),
        (e.request_management_consent, "Request Management Consent"),
    ]
    .into_iter()
    .filter_map(|(on, label)| on.then_some(label))
    .collect();
    if chosen.is_empty() {
        "none".to_owned()
    } else {
        chosen.join(", ")
    }
}

async fn resend(
    State(state): State<AppState>,
    admin: ResellerAdmin,
    Path(id): Path<String>,
) -> Result<Redirect, PageError> {
    let e = own_enterprise(&state, &admin, &id).await?;
    let message = match state
        .engine
        .send_invitation(&admin.reseller, e.id, admin.actor())
        .await
    {
        Ok(_) => format!(
            "Sent the invitation to {} again; the links sent before no longer work.",
            e.global_admin_email.as_str()
        ),
        Err(err) if err.is_not_found() => return Err(PageError::NotFound),
        Err(teamline_engine::EngineError::Refused(why)) => format!("Not sent: {why}."),
        Err(err) => return Err(err.into()),
    };
    admin.flash(message).await?;
    Ok(Redirect::to(&format!("/reseller/enterprises/{}", e.id.0)))
}
