//! The Reseller portal under `/reseller`: a service provider's admins sign in with a local
//! account (e-mail and password, Argon2id, locked after repeated wrong passwords), see their
//! own enterprises, add one and invite its Global Administrator, see what was e-mailed, the
//! SIP gateway's health (Microsoft's proxies, certificates), their audit log and the monthly
//! billing summary.
//!
//! Every page takes [`ResellerAdmin`] and scopes every read and write by its reseller: another
//! reseller's enterprise answers "not found", as does any reseller page for a session that is
//! not a reseller admin's.

mod acting;
mod admins;
mod audit;
mod billing;
mod enterprises;
pub(crate) mod gateway;
mod outbox;
mod pbx;

pub(crate) use acting::{Acting, acting_admin};
pub(crate) use audit::acted_for;

use crate::AppState;
use crate::csrf;
use crate::error::PageError;
use crate::local_portal::{MenuItem, NotSignedIn, menu};
use crate::routes::Routes;
use crate::session::{Principal, keys, renew_if_due};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use teamline_domain::audit::Actor;
use teamline_domain::reseller::{AccountRole, Reseller};
use teamline_store::Account;
use time::OffsetDateTime;
use tower_sessions::Session;

/// Where a request without a reseller admin's sign-in goes.
const SIGN_IN: &str = "/reseller/sign-in";

pub fn routes() -> Routes {
    Routes::new()
        .merge(enterprises::routes())
        .merge(admins::routes())
        .merge(outbox::routes())
        .merge(gateway::routes())
        .merge(audit::routes())
        .merge(billing::routes())
        .merge(acting::routes())
        .merge(pbx::routes())
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
    Audit,
    Billing,
    TwoFactor,
}

impl ResellerLayout {
    pub fn menu(&self) -> Vec<MenuItem> {
        menu(
            &[
                (
                    "Enterprises",
                    "/reseller/enterprises",
                    ResellerMenu::Enterprises,
                ),
                ("Outbox", "/reseller/outbox", ResellerMenu::Outbox),
                ("Gateway", "/reseller/gateway", ResellerMenu::Gateway),
                ("Admins", "/reseller/admins", ResellerMenu::Admins),
                ("Audit log", "/reseller/audit", ResellerMenu::Audit),
                ("Billing", "/reseller/billing", ResellerMenu::Billing),
                (
                    "Two-factor",
                    "/reseller/two-factor",
                    ResellerMenu::TwoFactor,
                ),
            ],
            self.active,
        )
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
        crate::local_portal::flash(&self.session, message).await
    }

    pub async fn take_flash(&self) -> Result<Option<String>, PageError> {
        crate::local_portal::take_flash(&self.session).await
    }
}

impl FromRequestParts<AppState> for ResellerAdmin {
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
                return Err(NotSignedIn::SignIn(SIGN_IN));
            }
        };
        let Some(reseller_id) = account.reseller_id else {
            return Err(PageError::NotFound.into());
        };
        let reseller = state.store.get_reseller(reseller_id).await?;
        // A suspended reseller's sessions end: the sign-in page then says why.
        if reseller.is_suspended() {
            session.flush().await.map_err(PageError::session)?;
            return Err(NotSignedIn::SignIn(SIGN_IN));
        }
        // The reseller requires two-factor and this account has none yet: it enrols first.
        if !account.two_factor
            && parts.uri.path() != crate::two_factor::RESELLER_PAGE
            && state
                .store
                .reseller_requires_two_factor(reseller.id)
                .await?
        {
            return Err(NotSignedIn::SignIn(crate::two_factor::RESELLER_PAGE));
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
