//! Management consent acting: once an enterprise granted its reseller management consent, a
//! reseller admin opens that enterprise's Enterprise portal from the reseller portal ("Manage
//! as reseller") and works there as themselves. The session remembers the enterprise
//! (`keys::ACTING_FOR`); `auth::Admin` then admits the reseller admin to that enterprise only,
//! checks the consent again on every request (a revoked consent stops acting at once), and
//! every change is recorded as the reseller admin's, which the audit logs show as
//! "reseller admin … for <enterprise>".

use super::ResellerAdmin;
use super::enterprises::own_enterprise;
use crate::AppState;
use crate::error::PageError;
use crate::local_portal::NotSignedIn;
use crate::routes::{Routes, post};
use crate::session::keys;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::response::Redirect;
use teamline_domain::audit::Actor;
use teamline_domain::enterprise::{ConsentKind, Enterprise};
use teamline_domain::ids::EnterpriseId;
use teamline_store::{AuditRecord, StoreError};
use tower_sessions::Session;

pub fn routes() -> Routes {
    Routes::new()
        .route("/reseller/enterprises/{id}/manage", post(start))
        .route("/reseller/acting/stop", post(stop))
}

/// The reseller admin acting inside an enterprise, as the Enterprise portal shows and records
/// them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acting {
    pub email: String,
    pub reseller: String,
}

impl Acting {
    pub fn actor(&self) -> Actor {
        Actor::ResellerAdmin(self.email.clone())
    }
}

/// Why a reseller admin may not act in `e`.
fn without_consent(e: &Enterprise) -> PageError {
    let name = e.name.as_str();
    PageError::Forbidden {
        title: format!("{name} has not granted management consent"),
        detail: format!(
            "Reseller admins can act in {name}'s Enterprise portal only while {name} grants its reseller management consent, and it does not (it was never granted, or {name}'s administrator revoked it). Ask {name}'s Global Administrator to grant it on their Dashboard; until then, manage {name} from the reseller portal's Enterprises page."
        ),
    }
}

/// "Manage as reseller": opens the enterprise's portal for the signed-in reseller admin.
async fn start(
    State(state): State<AppState>,
    admin: ResellerAdmin,
    Path(id): Path<String>,
) -> Result<Redirect, PageError> {
    let e = own_enterprise(&state, &admin, &id).await?;
    if !e.consent(ConsentKind::Management) {
        return Err(without_consent(&e));
    }
    let email = admin.account.email.as_str().to_owned();
    state
        .store
        .record_audit(&AuditRecord {
            enterprise_id: Some(e.id),
            actor: admin.actor(),
            action: "reseller.act".into(),
            summary: format!(
                "{email} of {} opened the Enterprise portal through management consent",
                admin.reseller.name.as_str()
            ),
            object_type: "enterprise".into(),
            object_id: Some(e.id.to_string()),
            before: None,
            after: None,
        })
        .await?;
    admin
        .session
        .insert(keys::ACTING_FOR, e.id)
        .await
        .map_err(PageError::session)?;
    Ok(Redirect::to("/dashboard"))
}

/// Back to the reseller portal: the session no longer opens the enterprise's portal.
async fn stop(admin: ResellerAdmin) -> Result<Redirect, PageError> {
    let was: Option<EnterpriseId> = admin
        .session
        .remove(keys::ACTING_FOR)
        .await
        .map_err(PageError::session)?;
    Ok(Redirect::to(&match was {
        Some(id) => format!("/reseller/enterprises/{}", id.0),
        None => "/reseller/enterprises".to_owned(),
    }))
}

/// The enterprise a signed-in reseller admin acts for, when the session says so and the
/// enterprise (one of the reseller's) grants management consent right now.
pub(crate) async fn acting_admin(
    parts: &mut Parts,
    state: &AppState,
    session: &Session,
) -> Result<(Enterprise, Acting), PageError> {
    let acting_for: Option<EnterpriseId> = session
        .get(keys::ACTING_FOR)
        .await
        .map_err(PageError::session)?;
    let Some(id) = acting_for else {
        return Err(PageError::Forbidden {
            title: "This is the Enterprise portal".into(),
            detail: "You are signed in as a reseller admin. An enterprise's pages open from the reseller portal (Enterprises, the enterprise, Manage as reseller) once the enterprise has granted management consent.".into(),
        });
    };
    let admin = match ResellerAdmin::from_request_parts(parts, state).await {
        Ok(a) => a,
        Err(NotSignedIn::Page(e)) => return Err(e),
        Err(NotSignedIn::SignIn(_)) => {
            return Err(PageError::Forbidden {
                title: "Your reseller sign-in has ended".into(),
                detail: "Sign in to the reseller portal at /reseller/sign-in again, then open the enterprise with Manage as reseller.".into(),
            });
        }
    };
    let enterprise = match state.store.get_enterprise(id).await {
        Ok(e) if e.reseller_id == admin.reseller.id => e,
        Ok(_) | Err(StoreError::NotFound { .. }) => return Err(PageError::NotFound),
        Err(e) => return Err(e.into()),
    };
    if !enterprise.consent(ConsentKind::Management) {
        return Err(without_consent(&enterprise));
    }
    Ok((
        enterprise,
        Acting {
            email: admin.account.email.as_str().to_owned(),
            reseller: admin.reseller.name.as_str().to_owned(),
        },
    ))
}
