//! Resellers, as the platform operator sees them: the list, Add Reseller, one reseller's page
//! with its admins (the operator adds them; each gets a generated first password shown once),
//! and suspending or reinstating it.

use super::{Operator, OperatorLayout, OperatorMenu, field_errors};
use crate::AppState;
use crate::error::PageError;
use crate::routes::{Routes, get, post};
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use teamline_domain::audit::Audit;
use teamline_domain::ids::ResellerId;
use teamline_domain::reseller::{Reseller, ResellerForm, suspension_reason};
use teamline_domain::{FieldError, FieldErrors};
use teamline_engine::accounts::AddAdminError;
use teamline_store::StoreError;

pub fn routes() -> Routes {
    Routes::new()
        .route("/operator/resellers", get(list).post(add))
        .route("/operator/resellers/{id}", get(detail))
        .route("/operator/resellers/{id}/admins", post(add_admin))
        .route("/operator/resellers/{id}/suspension", post(suspension))
}

pub struct ResellerRow {
    pub id: i64,
    pub name: String,
    pub contact_email: String,
    pub enterprises: usize,
    pub admins: usize,
    pub suspended: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "operator/resellers.html")]
struct ListPage {
    layout: OperatorLayout,
    flash: Option<String>,
    rows: Vec<ResellerRow>,
    form: ResellerForm,
    errors: Vec<(String, String)>,
}

async fn list_page(
    state: &AppState,
    operator: &Operator,
    form: ResellerForm,
    errors: Vec<(String, String)>,
) -> Result<ListPage, PageError> {
    let mut rows = Vec::new();
    for r in state.store.list_resellers().await? {
        rows.push(ResellerRow {
            id: r.id.0,
            enterprises: state.store.list_enterprises(Some(r.id)).await?.len(),
            admins: state.store.list_accounts(Some(r.id)).await?.len(),
            name: r.name.as_str().to_owned(),
            contact_email: r.contact_email.as_str().to_owned(),
            suspended: r.suspended,
        });
    }
    Ok(ListPage {
        flash: operator.take_flash().await?,
        layout: operator.layout(OperatorMenu::Resellers),
        rows,
        form,
        errors,
    })
}

async fn list(State(state): State<AppState>, operator: Operator) -> Result<ListPage, PageError> {
    list_page(&state, &operator, ResellerForm::default(), vec![]).await
}

async fn add(
    State(state): State<AppState>,
    operator: Operator,
    Form(form): Form<ResellerForm>,
) -> Result<Response, PageError> {
    let errors: FieldErrors = match form.validate() {
        Ok(new) => {
            let audit = Audit::new(
                operator.actor(),
                "reseller.create",
                format!("Added reseller {}", new.name.as_str()),
            );
            match state.store.create_reseller(&new, &audit).await {
                Ok(reseller) => {
                    operator
                        .flash(format!(
                            "Added {}. Add its first admin below.",
                            reseller.name.as_str()
                        ))
                        .await?;
                    return Ok(
                        Redirect::to(&format!("/operator/resellers/{}", reseller.id.0))
                            .into_response(),
                    );
                }
                Err(StoreError::Conflict { .. }) => FieldError::new(
                    "Reseller Name",
                    format!(
                        "A reseller named {} already exists: choose another name.",
                        new.name.as_str()
                    ),
                )
                .into(),
                Err(e) => return Err(e.into()),
            }
        }
        Err(errors) => errors,
    };
    let page = list_page(&state, &operator, form, field_errors(&errors)).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}

/// A reseller named by the path, or "not found".
async fn reseller(state: &AppState, id: &str) -> Result<Reseller, PageError> {
    let id: i64 = id.trim().parse().map_err(|_| PageError::NotFound)?;
    match state.store.get_reseller(ResellerId(id)).await {
        Ok(r) => Ok(r),
        Err(StoreError::NotFound { .. }) => Err(PageError::NotFound),
        Err(e) => Err(e.into()),
    }
}

pub struct AdminRow {
    pub email: String,
    pub locked: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "operator/reseller.html")]
struct DetailPage {
    layout: OperatorLayout,
    flash: Option<String>,
    id: i64,
    name: String,
    contact_email: String,
    billing_reference: String,
    suspended: Option<String>,
    admins: Vec<AdminRow>,
    enterprises: Vec<String>,
    /// The admin just added and their first password, shown once.
    added: Option<(String, String)>,
    admin_email: String,
    reason: String,
    errors: Vec<(String, String)>,
}

struct Extra {
    added: Option<(String, String)>,
    admin_email: String,
    reason: String,
    errors: Vec<(String, String)>,
}

impl Extra {
    fn none() -> Self {
        Self {
            added: None,
            admin_email: String::new(),
            reason: String::new(),
            errors: vec![],
        }
    }
}

async fn detail_page(
    state: &AppState,
    operator: &Operator,
    r: Reseller,
    extra: Extra,
) -> Result<DetailPage, PageError> {
    let now = state.store.clock().now_ms();
    let admins = state
        .store
        .list_accounts(Some(r.id))
        .await?
        .into_iter()
        .map(|a| AdminRow {
            email: a.email.as_str().to_owned(),
            locked: a.locked_until_ms.is_some_and(|u| u > now),
        })
        .collect();
    let enterprises = state
        .store
        .list_enterprises(Some(r.id))
        .await?
        .into_iter()
        .map(|e| e.name.as_str().to_owned())
        .collect();
    Ok(DetailPage {
        flash: operator.take_flash().await?,
        layout: operator.layout(OperatorMenu::Resellers),
        id: r.id.0,
        name: r.name.as_str().to_owned(),
        contact_email: r.contact_email.as_str().to_owned(),
        billing_reference: r.billing_reference.unwrap_or_default(),
        suspended: r.suspended,
        admins,
        enterprises,
        added: extra.added,
        admin_email: extra.admin_email,
        reason: extra.reason,
        errors: extra.errors,
    })
}

async fn detail(
    State(state): State<AppState>,
    operator: Operator,
    Path(id): Path<String>,
) -> Result<DetailPage, PageError> {
    let r = reseller(&state, &id).await?;
    detail_page(&state, &operator, r, Extra::none()).await
}

#[derive(Deserialize)]
struct AdminForm {
    #[serde(default)]
    email: String,
}

async fn add_admin(
    State(state): State<AppState>,
    operator: Operator,
    Path(id): Path<String>,
    Form(form): Form<AdminForm>,
) -> Result<Response, PageError> {
    let r = reseller(&state, &id).await?;
    match state
        .engine
        .add_reseller_admin(&r, &form.email, operator.actor())
        .await
    {
        Ok(added) => {
            let extra = Extra {
                added: Some((added.account.email.as_str().to_owned(), added.password)),
                ..Extra::none()
            };
            Ok(detail_page(&state, &operator, r, extra)
                .await?
                .into_response())
        }
        Err(AddAdminError::Field(e)) => {
            let extra = Extra {
                admin_email: form.email.trim().to_owned(),
                errors: field_errors(&e.into()),
                ..Extra::none()
            };
            let page = detail_page(&state, &operator, r, extra).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(AddAdminError::Store(e)) => Err(e.into()),
        Err(AddAdminError::Password(e)) => Err(PageError::Internal(e.to_string())),
    }
}

#[derive(Deserialize)]
struct SuspensionForm {
    /// `suspend` or `reinstate`.
    #[serde(default)]
    action: String,
    #[serde(default)]
    reason: String,
}

async fn suspension(
    State(state): State<AppState>,
    operator: Operator,
    Path(id): Path<String>,
    Form(form): Form<SuspensionForm>,
) -> Result<Response, PageError> {
    let r = reseller(&state, &id).await?;
    let name = r.name.as_str().to_owned();
    let (reason, message) = match form.action.as_str() {
        "suspend" => match suspension_reason(&form.reason) {
            Ok(reason) => (
                Some(reason),
                format!("Suspended {name}: its admins can no longer sign in."),
            ),
            Err(e) => {
                let extra = Extra {
                    reason: form.reason.trim().to_owned(),
                    errors: field_errors(&e.into()),
                    ..Extra::none()
                };
                let page = detail_page(&state, &operator, r, extra).await?;
                return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
            }
        },
        "reinstate" => (
            None,
            format!("Reinstated {name}: its admins can sign in again."),
        ),
        other => {
            return Err(PageError::BadRequest(format!(
                "'{other}' is not an action here: use suspend or reinstate."
            )));
        }
    };
    let audit = Audit::new(
        operator.actor(),
        if reason.is_some() {
            "reseller.suspend"
        } else {
            "reseller.reinstate"
        },
        match &reason {
            Some(why) => format!("Suspended reseller {name}: {why}"),
            None => format!("Reinstated reseller {name}"),
        },
    );
    state
        .store
        .set_reseller_suspension(r.id, reason.as_deref(), &audit)
        .await?;
    operator.flash(message).await?;
    Ok(Redirect::to(&format!("/operator/resellers/{}", r.id.0)).into_response())
}
