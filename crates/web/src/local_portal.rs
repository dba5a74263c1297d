//! What the two portals of local accounts (the Reseller portal and the operator area) share:
//! a request without the portal's own sign-in is sent to its sign-in page, a menu entry, and the
//! one-time message shown on the next page (also the Enterprise portal's).

use crate::error::PageError;
use crate::session::keys;
use axum::response::{IntoResponse, Redirect, Response};
use tower_sessions::Session;

/// Why a request did not get the portal's signed-in account.
pub enum NotSignedIn {
    /// Nobody (valid) is signed in: to this sign-in page.
    SignIn(&'static str),
    Page(PageError),
}

impl IntoResponse for NotSignedIn {
    fn into_response(self) -> Response {
        match self {
            Self::SignIn(page) => Redirect::to(page).into_response(),
            Self::Page(e) => e.into_response(),
        }
    }
}

impl From<PageError> for NotSignedIn {
    fn from(e: PageError) -> Self {
        Self::Page(e)
    }
}

impl From<teamline_store::StoreError> for NotSignedIn {
    fn from(e: teamline_store::StoreError) -> Self {
        Self::Page(e.into())
    }
}

/// One entry of a portal's menu.
pub struct MenuItem {
    pub label: &'static str,
    pub href: &'static str,
    pub current: bool,
}

/// The menu from its entries, `active` marked as the current page.
pub fn menu<M: PartialEq + Copy>(
    entries: &[(&'static str, &'static str, M)],
    active: M,
) -> Vec<MenuItem> {
    entries
        .iter()
        .map(|&(label, href, menu)| MenuItem {
            label,
            href,
            current: menu == active,
        })
        .collect()
}

/// Shows `message` on the next page this session opens.
pub async fn flash(session: &Session, message: impl Into<String>) -> Result<(), PageError> {
    session
        .insert(keys::FLASH, message.into())
        .await
        .map_err(PageError::session)
}

/// The message left by the previous request, once.
pub async fn take_flash(session: &Session) -> Result<Option<String>, PageError> {
    session
        .remove(keys::FLASH)
        .await
        .map_err(PageError::session)
}
