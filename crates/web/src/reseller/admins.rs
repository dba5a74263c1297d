//! The reseller's own admins: the list, and Add Admin (a generated first password, shown once
//! to the admin who added the account).

use super::{ResellerAdmin, ResellerLayout, ResellerMenu};
use crate::AppState;
use crate::error::PageError;
use crate::operator::field_errors;
use crate::routes::{Routes, get};
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use teamline_engine::accounts::AddAdminError;

pub fn routes() -> Routes {
    Routes::new().route("/reseller/admins", get(list).post(add))
}

#[derive(Template, WebTemplate)]
#[template(path = "reseller/admins.html")]
struct AdminsPage {
    layout: ResellerLayout,
    admins: Vec<String>,
    /// The admin just added and their first password, shown once.
    added: Option<(String, String)>,
    email: String,
    errors: Vec<(String, String)>,
}

async fn page(
    state: &AppState,
    admin: &ResellerAdmin,
    added: Option<(String, String)>,
    email: String,
    errors: Vec<(String, String)>,
) -> Result<AdminsPage, PageError> {
    let admins = state
        .store
        .list_accounts(Some(admin.reseller.id))
        .await?
        .into_iter()
        .map(|a| a.email.as_str().to_owned())
        .collect();
    Ok(AdminsPage {
        layout: admin.layout(ResellerMenu::Admins),
        admins,
        added,
        email,
        errors,
    })
}

async fn list(
    State(state): State<AppState>,
    admin: ResellerAdmin,
) -> Result<AdminsPage, PageError> {
    page(&state, &admin, None, String::new(), vec![]).await
}

#[derive(Deserialize)]
struct AdminForm {
    #[serde(default)]
    email: String,
}

async fn add(
    State(state): State<AppState>,
    admin: ResellerAdmin,
    Form(form): Form<AdminForm>,
) -> Result<Response, PageError> {
    match state
        .engine
        .add_reseller_admin(&admin.reseller, &form.email, admin.actor())
        .await
    {
        Ok(added) => {
            let added = Some((added.account.email.as_str().to_owned(), added.password));
            Ok(page(&state, &admin, added, String::new(), vec![])
                .await?
                .into_response())
        }
        Err(AddAdminError::Field(e)) => {
            let errors = field_errors(&e.into());
            let page = page(&state, &admin, None, form.email.trim().to_owned(), errors).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(AddAdminError::Store(e)) => Err(e.into()),
        Err(AddAdminError::Password(e)) => Err(PageError::Internal(e.to_string())),
    }
}
