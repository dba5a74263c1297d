//! The Reseller portal under `/reseller`: a service provider's admins sign in with a local
//! account (e-mail and password, Argon2id, locked after repeated wrong passwords), see their
//! own enterprises, add one and invite its Global Administrator, see what was e-mailed, and the
//! SIP gateway's health (Microsoft's proxies, certificates).
//!
//! Every page takes [`ResellerAdmin`] and scopes every read and write by its reseller: another
//! reseller's enterprise answers "not found", as does any reseller page for a session that is
//! not a reseller admin's.

mod admins;
mod enterprises;
mod gateway;
mod outbox;

use crate::AppState;
use crate::csrf;
use crate::error::PageError;
use crate::routes::Routes;
use crate::session::{Principal, keys, renew_if_due};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use teamline_domain::audit::Actor;
use teamline_domain::reseller::{AccountRole, Reseller};
use teamline_store::Account;
use time::OffsetDateTime;
use tower_sessions::Session;

pub fn routes() -> Routes {
    Routes::new()
        .merge(enterprises::routes())
        .merge(admins::routes())
        .merge(outbox::routes())
        .merge(gateway::routes())
}

/// The signed-in reseller admin of a Reseller portal request, with their reseller.
pub struct ResellerAdmin {
    pub account: Account,
    pub reseller: Reseller,
    pub session: Session,
    pub csrf: String,
}

/// The reseller portal's frame: who is signed in, the menu, the form token.
pub struct ResellerLayout {
    pub reseller: String,
    pub email: String,
    pub csrf: String,
    pub active: ResellerMenu,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResellerMenu {
    Enterprises,
    Outbox,
    Gateway,
    Admins,
}

pub struct ResellerMenuItem {
    pub label: &'static str,
    pub href: &'static str,
    pub current: bool,
}

impl ResellerLayout {
    pub fn menu(&self) -> Vec<ResellerMenuItem> {
        [
            (
                "Enterprises",
                "/reseller/enterprises",
                ResellerMenu::Enterprises,
            ),
            ("Outbox", "/reseller/outbox", ResellerMenu::Outbox),
            ("Gateway", "/reseller/gateway", ResellerMenu::Gateway),
            ("Admins", "/reseller/admins", ResellerMenu::Admins),
        ]
        .into_iter()
        .map(|(label, href, menu)| ResellerMenuItem {
            label,
            href,
            current: menu == self.active,
        })
        .collect()
    }

    pub fn asset_version(&self) -> &'static str {
        crate::assets::VERSION
    }
}

impl ResellerAdmin {
    pub fn actor(&self) -> Actor {
        Actor::ResellerAdmin(self.account.email.as_str().to_owned())
    }

    pub fn layout(&self, active: ResellerMenu) -> ResellerLayout {
        ResellerLayout {
            reseller: self.reseller.name.as_str().to_owned(),
            email: self.account.email.as_str().to_owned(),
            csrf: self.csrf.clone(),
            active,
        }
    }

    pub async fn flash(&self, message: impl Into<String>) -> Result<(), PageError> {
        self.session
            .insert(keys::FLASH, message.into())
            .await
            .map_err(PageError::session)
    }

    pub async fn take_flash(&self) -> Result<Option<String>, PageError> {
        self.session
            .remove(keys::FLASH)
            .await
            .map_err(PageError::session)
    }
}

/// Why a request did not get a reseller admin.
pub enum NotResellerAdmin {
    /// Nobody is signed in: to the reseller sign-in.
    SignIn,
    Page(PageError),
}

impl IntoResponse for NotResellerAdmin {
    fn into_response(self) -> Response {
        match self {
            Self::SignIn => Redirect::to("/reseller/sign-in").into_response(),
            Self::Page(e) => e.into_response(),
        }
    }
}

impl From<PageError> for NotResellerAdmin {
    fn from(e: PageError) -> Self {
        Self::Page(e)
    }
}

impl From<teamline_store::StoreError> for NotResellerAdmin {
    fn from(e: teamline_store::StoreError) -> Self {
        Self::Page(e.into())
    }
}

impl FromRequestParts<AppState> for ResellerAdmin {
    type Rejection = NotResellerAdmin;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, NotResellerAdmin> {
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
            None => return Err(NotResellerAdmin::SignIn),
            Some(Principal::ResellerAdmin {
                account_id, email, ..
            }) => (account_id, email),
            // The Reseller portal does not exist for anyone else.
            Some(Principal::EnterpriseAdmin(_) | Principal::PlatformOperator { .. }) => {
                return Err(PageError::NotFound.into());
            }
        };
        // The account may have been removed, moved or had its password reset since: the
        // session then grants nothing.
        let account = match state.store.account_by_email(&email).await? {
            Some(a) if a.id == account_id && a.role == AccountRole::ResellerAdmin => a,
            _ => {
                session.flush().await.map_err(PageError::session)?;
                return Err(NotResellerAdmin::SignIn);
            }
        };
        let Some(reseller_id) = account.reseller_id else {
            return Err(PageError::NotFound.into());
        };
        let reseller = state.store.get_reseller(reseller_id).await?;
        // A suspended reseller's sessions end: the sign-in page then says why.
        if reseller.is_suspended() {
            session.flush().await.map_err(PageError::session)?;
            return Err(NotResellerAdmin::SignIn);
        }
        renew_if_due(&session, OffsetDateTime::now_utc()).await;
        let csrf = csrf::token(&session).await?;
        Ok(Self {
            account,
            reseller,
            session,
            csrf,
        })
    }
}
