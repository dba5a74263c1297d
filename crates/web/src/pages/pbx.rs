//! PBX: the enterprise's PBX locations — the SIP registration template and API access Teamline
//! uses — with Test connection. Secrets are write-only: the page says whether one is stored,
//! never what it is, and leaving a secret blank when editing keeps the stored one.

use crate::AppState;
use crate::auth::Admin;
use crate::error::PageError;
use crate::pages::is_htmx;
use crate::routes::{Routes, get, post};
use crate::views::{Layout, Menu};
use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use teamline_domain::ids::PbxLocationId;
use teamline_domain::pbx_location::{ApiAuthKind, PbxLocation, PbxLocationForm};
use teamline_domain::pbx_lock::LockedFields;
use teamline_engine::PbxCheckStatus as CheckStatus;
use teamline_engine::SaveError;

pub fn routes() -> Routes {
    Routes::new()
        .route("/pbx", get(list))
        .route("/pbx/new", get(new_form).post(create))
        .route("/pbx/{id}/edit", get(edit_form).post(update))
        .route("/pbx/{id}/test", post(test_connection))
        .route("/pbx/new/test", post(test_new_settings))
        .route("/pbx/{id}/edit/test", post(test_edited_settings))
}

/// The form's inputs, by the label the domain names in its errors.
pub const FIELDS: [(&str, &str); 13] = [
    ("Location Name", "name"),
    ("PBX Type", "pbx_type"),
    ("DNS Lookup Type", "dns_lookup"),
    ("SIP Domain", "sip_domain"),
    ("SIP Domain Proxy", "proxy"),
    ("Voicemail Feature Code", "voicemail_code"),
    ("API Base URL", "api_base_url"),
    ("API Authentication", "api_auth"),
    ("API Key", "api_key"),
    ("OAuth Client ID", "oauth_client_id"),
    ("OAuth Client Secret", "oauth_client_secret"),
    ("Masquerade Login", "oauth_username"),
    ("Masquerade Password", "oauth_password"),
];

pub struct LocationRow {
    pub id: i64,
    pub name: String,
    pub pbx_type: &'static str,
    pub dns_lookup: &'static str,
    pub sip_domain: String,
    pub proxy: String,
    pub voicemail_code: String,
    pub api_base_url: String,
    pub api_auth: String,
}

impl LocationRow {
    pub fn of(l: &PbxLocation) -> Self {
        let s = &l.settings;
        let api_auth = match s.api_auth_kind {
            ApiAuthKind::ApiKey => "API key (stored encrypted, not shown)".to_owned(),
            ApiAuthKind::OAuth => format!(
                "OAuth: client {} as {} (secrets stored encrypted, not shown)",
                s.oauth_client_id.as_deref().unwrap_or("?"),
                s.oauth_username.as_deref().unwrap_or("?")
            ),
        };
        Self {
            id: l.id.0,
            name: s.name.to_string(),
            pbx_type: s.pbx_type.label(),
            dns_lookup: s.dns_lookup.label(),
            sip_domain: s.sip_domain.to_string(),
            proxy: s.proxy.to_string(),
            voicemail_code: s.voicemail_code.to_string(),
            api_base_url: s.api_base_url.as_str().to_owned(),
            api_auth,
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "pbx.html")]
pub struct PbxPage {
    pub layout: Layout,
    pub locations: Vec<LocationRow>,
    pub notice: Option<String>,
}

pub struct CheckLine {
    pub label: &'static str,
    pub status: &'static str,
    pub class: &'static str,
    pub message: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "pbx_test.html")]
pub struct TestFragment {
    pub id: i64,
    pub ok: bool,
    pub checks: Vec<CheckLine>,
}

/// Test connection's report, as its lines.
pub struct TestReport {
    pub ok: bool,
    pub checks: Vec<CheckLine>,
}

impl TestReport {
    fn of(report: &teamline_engine::ConnectionReport) -> Self {
        let checks = report
            .checks()
            .into_iter()
            .map(|(label, c)| {
                let (status, class) = match c.status {
                    CheckStatus::Passed => ("Pass", "badge badge-ok"),
                    CheckStatus::Failed => ("Fail", "badge badge-bad"),
                    CheckStatus::Skipped => ("Skipped", "badge"),
                };
                CheckLine {
                    label,
                    status,
                    class,
                    message: c.message.clone(),
                }
            })
            .collect();
        Self {
            ok: report.ok(),
            checks,
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "pbx_form.html")]
pub struct PbxFormPage {
    pub layout: Layout,
    /// `None` for a new location.
    pub id: Option<i64>,
    pub form: PbxLocationForm,
    pub errors: Vec<(&'static str, String)>,
    /// Test connection of the settings as typed, when the admin asked for it.
    pub report: Option<TestReport>,
    /// The fields the reseller locked, shown read-only, and the reseller's name.
    pub locks: LockedFields,
    pub reseller_name: String,
    /// Only the reseller's form has lock check boxes.
    pub lockable: bool,
}

impl PbxFormPage {
    pub fn locked(&self, name: &str) -> bool {
        self.locks.contains_key(name)
    }

    /// Read-only for this admin: locked by the reseller.
    pub fn ro(&self, name: &str) -> bool {
        self.locked(name)
    }

    pub fn error(&self, name: &str) -> &str {
        self.errors
            .iter()
            .find(|(n, _)| *n == name)
            .map_or("", |(_, m)| m.as_str())
    }

    pub fn oauth(&self) -> bool {
        self.form.api_auth == "oauth"
    }

    pub fn action(&self) -> String {
        self.id
            .map_or_else(|| "/pbx/new".to_owned(), |id| format!("/pbx/{id}/edit"))
    }

    /// Where "Test connection" of the typed settings posts the form.
    pub fn test_action(&self) -> String {
        format!("{}/test", self.action())
    }
}

async fn list(State(state): State<AppState>, admin: Admin) -> Result<PbxPage, PageError> {
    let locations = state.store.list_pbx_locations(admin.enterprise.id).await?;
    Ok(PbxPage {
        locations: locations.iter().map(LocationRow::of).collect(),
        notice: admin.take_flash().await?,
        layout: admin.layout(Menu::Pbx),
    })
}

fn parse_id(raw: &str) -> Result<PbxLocationId, PageError> {
    raw.parse::<i64>()
        .map(PbxLocationId)
        .map_err(|_| PageError::NotFound)
}

async fn new_form(admin: Admin) -> PbxFormPage {
    let form = PbxLocationForm {
        name: "PBX".into(),
        pbx_type: "netsapiens".into(),
        dns_lookup: "srv".into(),
        api_auth: "api_key".into(),
        ..Default::default()
    };
    PbxFormPage {
        layout: admin.layout(Menu::Pbx),
        id: None,
        form,
        errors: Vec::new(),
        report: None,
        locks: LockedFields::default(),
        reseller_name: String::new(),
        lockable: false,
    }
}

async fn edit_form(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
) -> Result<PbxFormPage, PageError> {
    let id = parse_id(&id)?;
    let l = state
        .store
        .get_pbx_location(admin.enterprise.id, id)
        .await?;
    let form = PbxLocationForm::of(&l.settings);
    Ok(PbxFormPage {
        layout: admin.layout(Menu::Pbx),
        id: Some(id.0),
        form,
        errors: Vec::new(),
        report: None,
        reseller_name: reseller_name(&state, &admin).await?,
        locks: l.locked,
        lockable: false,
    })
}

/// The name of the enterprise's reseller, for "locked by your reseller …".
async fn reseller_name(state: &AppState, admin: &Admin) -> Result<String, PageError> {
    Ok(state
        .store
        .get_reseller(admin.enterprise.reseller_id)
        .await?
        .name
        .to_string())
}

/// A location's locks (none for a new one, or one of another enterprise).
async fn locks_of(
    state: &AppState,
    admin: &Admin,
    id: Option<i64>,
) -> Result<(LockedFields, String), PageError> {
    let Some(id) = id else {
        return Ok((LockedFields::default(), String::new()));
    };
    let locks = match state
        .store
        .get_pbx_location(admin.enterprise.id, PbxLocationId(id))
        .await
    {
        Ok(l) => l.locked,
        Err(teamline_store::StoreError::NotFound { .. }) => LockedFields::default(),
        Err(e) => return Err(e.into()),
    };
    Ok((locks, reseller_name(state, admin).await?))
}

/// The form as posted: secrets included, the CSRF token ignored here.
#[derive(Deserialize)]
struct Posted {
    #[serde(flatten)]
    form: PbxLocationForm,
}

/// Re-shows the form with every problem next to its field; secrets are never echoed back.
async fn with_errors(
    state: &AppState,
    admin: &Admin,
    id: Option<i64>,
    mut form: PbxLocationForm,
    errors: Vec<(&'static str, String)>,
) -> Result<PbxFormPage, PageError> {
    form.api_key.clear();
    form.oauth_client_secret.clear();
    form.oauth_password.clear();
    let (locks, reseller_name) = locks_of(state, admin, id).await?;
    Ok(PbxFormPage {
        layout: admin.layout(Menu::Pbx),
        id,
        form,
        errors,
        report: None,
        locks,
        reseller_name,
        lockable: false,
    })
}

pub fn field_errors(errors: &teamline_domain::FieldErrors) -> Vec<(&'static str, String)> {
    errors
        .iter()
        .map(|e| {
            let name = FIELDS
                .iter()
                .find(|(label, _)| *label == e.field)
                .map_or("name", |(_, n)| *n);
            (name, e.message.clone())
        })
        .collect()
}

async fn create(
    State(state): State<AppState>,
    admin: Admin,
    Form(posted): Form<Posted>,
) -> Result<Response, PageError> {
    let form = posted.form;
    match state
        .engine
        .create_pbx_location(admin.enterprise.id, &admin.actor(), &form)
        .await
    {
        Ok(l) => {
            admin
                .flash(format!(
                    "Added PBX location {}: use Test connection to check it.",
                    l.settings.name
                ))
                .await?;
            Ok(Redirect::to("/pbx").into_response())
        }
        Err(SaveError::Fields(errors)) => {
            Ok(
                with_errors(&state, &admin, None, form, field_errors(&errors))
                    .await?
                    .into_response(),
            )
        }
        Err(SaveError::Engine(e)) => Err(e.into()),
    }
}

async fn update(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    Form(posted): Form<Posted>,
) -> Result<Response, PageError> {
    let id = parse_id(&id)?;
    let form = posted.form;
    match state
        .engine
        .update_pbx_location(admin.enterprise.id, &admin.actor(), id, &form)
        .await
    {
        Ok(l) => {
            admin
                .flash(format!("Saved PBX location {}.", l.settings.name))
                .await?;
            Ok(Redirect::to("/pbx").into_response())
        }
        Err(SaveError::Fields(errors)) => {
            Ok(
                with_errors(&state, &admin, Some(id.0), form, field_errors(&errors))
                    .await?
                    .into_response(),
            )
        }
        Err(SaveError::Engine(e)) => Err(e.into()),
    }
}

async fn test_connection(
    State(state): State<AppState>,
    admin: Admin,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id = parse_id(&id)?;
    let report = state
        .engine
        .test_pbx_connection(admin.enterprise.id, id)
        .await?;
    let lines = TestReport::of(&report);
    let fragment = TestFragment {
        id: id.0,
        ok: lines.ok,
        checks: lines.checks,
    };
    if is_htmx(&headers) {
        Ok(fragment.into_response())
    } else {
        let message = if fragment.ok {
            "Test connection: everything works.".to_owned()
        } else {
            format!(
                "Test connection: {}",
                report.first_failure().unwrap_or("a check failed")
            )
        };
        admin.flash(message).await?;
        Ok(Redirect::to("/pbx").into_response())
    }
}

async fn test_new_settings(
    State(state): State<AppState>,
    admin: Admin,
    Form(posted): Form<Posted>,
) -> Result<Response, PageError> {
    test_typed_settings(&state, &admin, None, posted.form).await
}

async fn test_edited_settings(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    Form(posted): Form<Posted>,
) -> Result<Response, PageError> {
    let id = parse_id(&id)?;
    test_typed_settings(&state, &admin, Some(id), posted.form).await
}

/// "Test connection" on the form: the settings as typed, before saving. Blank secrets stand
/// for the stored ones only where Save would keep them (same API base URL, SIP domain and
/// authentication); otherwise the fields say what is needed and nothing is sent anywhere.
async fn test_typed_settings(
    state: &AppState,
    admin: &Admin,
    id: Option<PbxLocationId>,
    form: PbxLocationForm,
) -> Result<Response, PageError> {
    let raw_id = id.map(|id| id.0);
    match state
        .engine
        .test_unsaved_pbx_settings(admin.enterprise.id, id, &form)
        .await
    {
        Ok(report) => {
            let mut page = with_errors(state, admin, raw_id, form, Vec::new()).await?;
            page.report = Some(TestReport::of(&report));
            Ok(page.into_response())
        }
        Err(SaveError::Fields(errors)) => {
            Ok(
                with_errors(state, admin, raw_id, form, field_errors(&errors))
                    .await?
                    .into_response(),
            )
        }
        Err(SaveError::Engine(e)) => Err(e.into()),
    }
}
