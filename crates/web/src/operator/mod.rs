//! The operator area under `/operator`, for platform operator accounts only: resellers
//! (create, suspend, their admins) and SBC regions. Any other session gets "not found" on
//! every operator page, so a reseller admin cannot even tell the pages exist.

mod regions;
mod resellers;

use crate::AppState;
use crate::csrf;
use crate::error::PageError;
use crate::local_portal::{MenuItem, NotSignedIn, menu};
use crate::routes::Routes;
use crate::session::{Principal, keys, renew_if_due};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use teamline_domain::FieldErrors;
use teamline_domain::audit::Actor;
use teamline_domain::reseller::AccountRole;
use teamline_store::Account;
use time::OffsetDateTime;
use tower_sessions::Session;

/// Where a request without an operator's sign-in goes.
const SIGN_IN: &str = "/operator/sign-in";

pub fn routes() -> Routes {
    Routes::new()
        .merge(resellers::routes())
        .merge(regions::routes())
}

/// The signed-in platform operator of an operator-area request.
pub struct Operator {
    pub account: Account,
    pub session: Session,
    pub csrf: String,
}

/// The operator area's frame: who is signed in, the menu, the form token.
pub struct OperatorLayout {
    pub email: String,
    pub csrf: String,
    pub active: OperatorMenu,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperatorMenu {
    Resellers,
    Regions,
    TwoFactor,
}

impl OperatorLayout {
    pub fn menu(&self) -> Vec<MenuItem> {
        menu(
            &[
                ("Resellers", "/operator/resellers", OperatorMenu::Resellers),
                ("SBC Regions", "/operator/regions", OperatorMenu::Regions),
                (
                    "Two-factor",
                    "/operator/two-factor",
                    OperatorMenu::TwoFactor,
                ),
            ],
            self.active,
        )
    }

    pub fn asset_version(&self) -> &'static str {
        crate::assets::VERSION
    }
}

impl Operator {
    pub fn actor(&self) -> Actor {
        Actor::PlatformOperator(self.account.email.as_str().to_owned())
    }

    pub fn layout(&self, active: OperatorMenu) -> OperatorLayout {
        OperatorLayout {
            email: self.account.email.as_str().to_owned(),
            csrf: self.csrf.clone(),
            active,
        }
    }

    pub async fn flash(&self, message: impl Into<String>) -> Result<(), PageError> {
        crate::local_portal::flash(&self.session, message).await
    }

    pub async fn take_flash(&self) -> Result<Option<String>, PageError> {
        crate::local_portal::take_flash(&self.session).await
    }
}

/// A form's field errors as (field, message) pairs for the templates.
pub(crate) fn field_errors(errors: &FieldErrors) -> Vec<(String, String)> {
    errors
        .iter()
        .map(|e| (e.field.to_string(), e.message.clone()))
        .collect()
}

impl FromRequestParts<AppState> for Operator {
    type Rejection = NotSignedIn;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, NotSignedIn> {
        let session = parts
            .extensions
            .get::<Session>()
            .cloned()
            .ok_or_else(|| PageError::Internal("the session layer is missing".into()))?;
        let principal: Option<Principal> = session
            .get(keys::PRINCIPAL)
            .await
            .map_err(PageError::session)?;
        let (account_id, email) = match principal {
            None => return Err(NotSignedIn::SignIn(SIGN_IN)),
            Some(Principal::PlatformOperator { account_id, email }) => (account_id, email),
            // The operator area does not exist for anyone else.
            Some(Principal::EnterpriseAdmin(_) | Principal::ResellerAdmin { .. }) => {
                return Err(PageError::NotFound.into());
            }
        };
        // The account may have been removed or had its password reset since: the session then
        // grants nothing.
        let account = match state.store.account_by_email(&email).await? {
            Some(a) if a.id == account_id && a.role == AccountRole::PlatformOperator => a,
            _ => {
                session.flush().await.map_err(PageError::session)?;
                return Err(NotSignedIn::SignIn(SIGN_IN));
            }
        };
        renew_if_due(&session, OffsetDateTime::now_utc()).await;
        let csrf = csrf::token(&session).await?;
        Ok(Self {
            account,
            session,
            csrf,
        })
    }
}
