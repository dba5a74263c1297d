//! The invitation link (`/register?invitation=…`): whom it is for and "Sign in with
//! Microsoft" as that tenant's Global Administrator. The sign-in's callback registers the
//! enterprise (`auth`), then admin consent and Manage User Groups follow.

use crate::AppState;
use crate::routes::{Routes, get};
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use teamline_engine::registration::RegistrationError;

pub fn routes() -> Routes {
    Routes::new().route("/register", get(invitation))
}

#[derive(Deserialize)]
struct InvitationQuery {
    #[serde(default)]
    invitation: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "register.html")]
struct InvitationPage {
    enterprise: String,
    reseller: String,
    invited: String,
    expires: String,
    start: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "refused.html")]
struct RefusedPage {
    title: String,
    detail: String,
}

async fn invitation(
    State(state): State<AppState>,
    Query(q): Query<InvitationQuery>,
) -> Result<Response, crate::error::PageError> {
    match state.engine.open_invitation(&q.invitation).await {
        Ok(opened) => Ok(InvitationPage {
            enterprise: opened.enterprise.name.as_str().to_owned(),
            reseller: opened.reseller.name.as_str().to_owned(),
            invited: opened.enterprise.global_admin_email.as_str().to_owned(),
            expires: crate::views::timestamp(opened.expires_at.unix_timestamp() * 1000),
            start: format!(
                "/auth/microsoft/start?{}",
                serde_urlencoded::to_string([("invitation", q.invitation.as_str())])
                    .unwrap_or_default()
            ),
        }
        .into_response()),
        Err(RegistrationError::Engine(e)) => Err(e.into()),
        Err(refusal) => Ok((
            StatusCode::BAD_REQUEST,
            RefusedPage {
                title: "This invitation link does not work".into(),
                detail: refusal.to_string(),
            },
        )
            .into_response()),
    }
}
