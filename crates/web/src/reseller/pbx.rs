//! PBX settings per enterprise, set by the reseller: the enterprise's PBX locations (the same
//! form as the Enterprise portal's PBX page) with fields the reseller locks — a credential
//! template. The enterprise's admins see locked fields read-only and the engine refuses their
//! changes; the reseller's own saves are never bound by them. Secrets stay write-only here too.

use super::enterprises::own_enterprise;
use super::{ResellerAdmin, ResellerLayout, ResellerMenu};
use crate::AppState;
use crate::error::PageError;
use crate::pages::pbx::{LocationRow, field_errors};
use crate::routes::{Routes, get};
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use teamline_domain::enterprise::Enterprise;
use teamline_domain::ids::PbxLocationId;
use teamline_domain::pbx_location::PbxLocationForm;
use teamline_domain::pbx_lock::{LockableField, LockedFields};
use teamline_engine::SaveError;

pub fn routes() -> Routes {
    Routes::new()
        .route("/reseller/enterprises/{id}/pbx", get(list))
        .route(
            "/reseller/enterprises/{id}/pbx/new",
            get(new_form).post(create),
        )
        .route(
            "/reseller/enterprises/{id}/pbx/{location}/edit",
            get(edit_form).post(update),
        )
}

pub struct TemplateRow {
    pub location: LocationRow,
    /// The locked fields' labels, or "none".
    pub locked: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "reseller/pbx.html")]
struct ListPage {
    layout: ResellerLayout,
    flash: Option<String>,
    enterprise_id: i64,
    enterprise: String,
    rows: Vec<TemplateRow>,
}

async fn list(
    State(state): State<AppState>,
    admin: ResellerAdmin,
    Path(id): Path<String>,
) -> Result<ListPage, PageError> {
    let e = own_enterprise(&state, &admin, &id).await?;
    let rows = state
        .store
        .list_pbx_locations(e.id)
        .await?
        .iter()
        .map(|l| TemplateRow {
            location: LocationRow::of(l),
            locked: if l.locked.is_empty() {
                "none".to_owned()
            } else {
                l.locked
                    .iter()
                    .map(LockableField::label)
                    .collect::<Vec<_>>()
                    .join(", ")
            },
        })
        .collect();
    Ok(ListPage {
        flash: admin.take_flash().await?,
        layout: admin.layout(ResellerMenu::Enterprises),
        enterprise_id: e.id.0,
        enterprise: e.name.to_string(),
        rows,
    })
}

/// The PBX location form with its lock check boxes.
#[derive(Template, WebTemplate)]
#[template(path = "reseller/pbx_form.html")]
struct FormPage {
    layout: ResellerLayout,
    enterprise_id: i64,
    enterprise: String,
    /// `None` for a new location.
    id: Option<i64>,
    form: PbxLocationForm,
    errors: Vec<(&'static str, String)>,
    locks: LockedFields,
    reseller_name: String,
    lockable: bool,
}

impl FormPage {
    fn new(
        admin: &ResellerAdmin,
        e: &Enterprise,
        id: Option<i64>,
        mut form: PbxLocationForm,
        locks: LockedFields,
        errors: Vec<(&'static str, String)>,
    ) -> Self {
        // Secrets are never echoed back.
        form.api_key.clear();
        form.oauth_client_secret.clear();
        form.oauth_password.clear();
        Self {
            layout: admin.layout(ResellerMenu::Enterprises),
            enterprise_id: e.id.0,
            enterprise: e.name.to_string(),
            id,
            form,
            errors,
            locks,
            reseller_name: admin.reseller.name.to_string(),
            lockable: true,
        }
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

    pub fn locked(&self, name: &str) -> bool {
        self.locks.contains_key(name)
    }

    /// The reseller edits every field, locked or not.
    pub fn ro(&self, _name: &str) -> bool {
        false
    }

    pub fn action(&self) -> String {
        let base = format!("/reseller/enterprises/{}/pbx", self.enterprise_id);
        self.id
            .map_or_else(|| format!("{base}/new"), |id| format!("{base}/{id}/edit"))
    }
}

/// The form as posted: the location's fields and the repeated `lock` check boxes.
fn read_form(fields: &[(String, String)]) -> (PbxLocationForm, LockedFields) {
    let text = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let form = PbxLocationForm {
        name: text("name"),
        pbx_type: text("pbx_type"),
        dns_lookup: text("dns_lookup"),
        sip_domain: text("sip_domain"),
        proxy: text("proxy"),
        voicemail_code: text("voicemail_code"),
        api_base_url: text("api_base_url"),
        api_auth: text("api_auth"),
        api_key: text("api_key"),
        oauth_client_id: text("oauth_client_id"),
        oauth_client_secret: text("oauth_client_secret"),
        oauth_username: text("oauth_username"),
        oauth_password: text("oauth_password"),
    };
    let locks = LockedFields::new(
        fields
            .iter()
            .filter(|(k, _)| k == "lock")
            .filter_map(|(_, v)| LockableField::parse(v)),
    );
    (form, locks)
}

fn parse_location(raw: &str) -> Result<PbxLocationId, PageError> {
    raw.parse::<i64>()
        .map(PbxLocationId)
        .map_err(|_| PageError::NotFound)
}

async fn new_form(
    State(state): State<AppState>,
    admin: ResellerAdmin,
    Path(id): Path<String>,
) -> Result<FormPage, PageError> {
    let e = own_enterprise(&state, &admin, &id).await?;
    let form = PbxLocationForm {
        name: "PBX".into(),
        pbx_type: "netsapiens".into(),
        dns_lookup: "srv".into(),
        api_auth: "api_key".into(),
        ..Default::default()
    };
    Ok(FormPage::new(
        &admin,
        &e,
        None,
        form,
        LockedFields::default(),
        vec![],
    ))
}

async fn edit_form(
    State(state): State<AppState>,
    admin: ResellerAdmin,
    Path((id, location)): Path<(String, String)>,
) -> Result<FormPage, PageError> {
    let e = own_enterprise(&state, &admin, &id).await?;
    let l = state
        .store
        .get_pbx_location(e.id, parse_location(&location)?)
        .await?;
    let form = PbxLocationForm::of(&l.settings);
    Ok(FormPage::new(
        &admin,
        &e,
        Some(l.id.0),
        form,
        l.locked,
        vec![],
    ))
}

async fn save(
    state: &AppState,
    admin: &ResellerAdmin,
    e: &Enterprise,
    id: Option<PbxLocationId>,
    fields: &[(String, String)],
) -> Result<Response, PageError> {
    let (form, locks) = read_form(fields);
    match state
        .engine
        .save_pbx_template(
            &admin.reseller,
            e.id,
            id,
            &admin.actor(),
            &form,
            locks.clone(),
        )
        .await
    {
        Ok(l) => {
            admin
                .flash(format!(
                    "Saved PBX location {} of {}.",
                    l.settings.name,
                    e.name.as_str()
                ))
                .await?;
            Ok(Redirect::to(&format!("/reseller/enterprises/{}/pbx", e.id.0)).into_response())
        }
        Err(SaveError::Fields(errors)) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            FormPage::new(
                admin,
                e,
                id.map(|i| i.0),
                form,
                locks,
                field_errors(&errors),
            ),
        )
            .into_response()),
        Err(SaveError::Engine(err)) => Err(err.into()),
    }
}

async fn create(
    State(state): State<AppState>,
    admin: ResellerAdmin,
    Path(id): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let e = own_enterprise(&state, &admin, &id).await?;
    save(&state, &admin, &e, None, &fields).await
}

async fn update(
    State(state): State<AppState>,
    admin: ResellerAdmin,
    Path((id, location)): Path<(String, String)>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let e = own_enterprise(&state, &admin, &id).await?;
    let location = parse_location(&location)?;
    save(&state, &admin, &e, Some(location), &fields).await
}
