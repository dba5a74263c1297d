//! Signing in to the Reseller portal with a local account, and out.

use crate::AppState;
use crate::csrf;
use crate::error::PageError;
use crate::routes::{Routes, get, post};
use crate::session::{Principal, keys};
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Form, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use teamline_domain::audit::Actor;
use teamline_domain::reseller::AccountRole;
use teamline_engine::accounts::SignInError;
use teamline_store::{AuditRecord, LockoutPolicy};
use tower_sessions::Session;

pub fn routes() -> Routes {
    Routes::new()
        .route("/reseller", get(home))
        .route("/reseller/sign-in", get(page).post(submit))
        .route("/reseller/sign-out", post(sign_out))
}

async fn home() -> Redirect {
    Redirect::to("/reseller/enterprises")
}

#[derive(Template, WebTemplate)]
#[template(path = "reseller/sign_in.html")]
struct SignInPage {
    signed_out: bool,
    email: String,
    error: Option<String>,
}

#[derive(Deserialize)]
struct SignInQuery {
    #[serde(default)]
    signed_out: Option<String>,
}

async fn page(Query(q): Query<SignInQuery>) -> SignInPage {
    SignInPage {
        signed_out: q.signed_out.is_some(),
        email: String::new(),
        error: None,
    }
}

#[derive(Deserialize)]
struct Credentials {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

async fn submit(
    State(state): State<AppState>,
    session: Session,
    Form(form): Form<Credentials>,
) -> Result<Response, PageError> {
    let refused = |error: String| {
        (
            axum::http::StatusCode::UNAUTHORIZED,
            SignInPage {
                signed_out: false,
                email: form.email.trim().to_owned(),
                error: Some(error),
            },
        )
            .into_response()
    };
    let account = match state
        .engine
        .sign_in_local(&form.email, &form.password, LockoutPolicy::default())
        .await
    {
        Ok(a) => a,
        Err(SignInError::Refused(r)) => return Ok(refused(r.to_string())),
        Err(SignInError::Store(e)) => return Err(e.into()),
    };
    let (AccountRole::ResellerAdmin, Some(reseller_id)) = (account.role, account.reseller_id)
    else {
        return Ok(refused(
            "This is the Reseller portal: platform operator accounts sign in to the operator area."
                .into(),
        ));
    };
    let email = account.email.as_str().to_owned();
    // A new session id at sign-in: an id planted before sign-in (session fixation) is worthless.
    session.cycle_id().await.map_err(PageError::session)?;
    session
        .insert(
            keys::PRINCIPAL,
            Principal::ResellerAdmin {
                account_id: account.id,
                reseller_id,
                email: email.clone(),
            },
        )
        .await
        .map_err(PageError::session)?;
    session
        .insert(keys::CSRF, csrf::new_token())
        .await
        .map_err(PageError::session)?;
    state
        .store
        .record_audit(&AuditRecord {
            enterprise_id: None,
            actor: Actor::ResellerAdmin(email.clone()),
            action: "reseller_admin.sign_in".into(),
            summary: format!("{email} signed in to the Reseller portal"),
            object_type: "account".into(),
            object_id: Some(account.id.to_string()),
            before: None,
            after: None,
        })
        .await?;
    Ok(Redirect::to("/reseller/enterprises").into_response())
}

async fn sign_out(session: Session) -> Result<Redirect, PageError> {
    session.flush().await.map_err(PageError::session)?;
    Ok(Redirect::to("/reseller/sign-in?signed_out=1"))
}
