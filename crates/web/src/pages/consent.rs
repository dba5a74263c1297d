//! Grant Consent (Dashboard action items): the Teamline app's admin consent in the tenant
//! (user sync: read users and groups, assign numbers and policies), through Microsoft's
//! admin-consent page; and the management consent that lets the reseller act inside the
//! enterprise, recorded here.

use crate::AppState;
use crate::auth::Admin;
use crate::csrf;
use crate::error::PageError;
use crate::routes::{Routes, get, post};
use crate::session::keys;
use axum::extract::{RawQuery, State};
use axum::response::Redirect;
use teamline_domain::enterprise::TenantId;
use tower_sessions::Session;

pub fn routes() -> Routes {
    Routes::new()
        .route("/consent/user-sync", post(start_user_sync))
        .route("/auth/microsoft/consent", get(user_sync_callback))
        .route("/consent/management", post(grant_management))
        .route("/consent/management/revoke", post(revoke_management))
}

/// Sends the admin to Microsoft's admin-consent page for their own tenant.
async fn start_user_sync(
    State(state): State<AppState>,
    admin: Admin,
) -> Result<Redirect, PageError> {
    let tenant = admin.enterprise.tenant_id.clone().ok_or_else(|| {
        PageError::BadRequest("this enterprise has no Microsoft 365 tenant registered yet".into())
    })?;
    to_admin_consent(&state, &admin.session, &tenant).await
}

/// Microsoft's admin-consent page for `tenant`, remembering in `session` the state value its
/// answer must carry (also where a registration continues).
pub(crate) async fn to_admin_consent(
    state: &AppState,
    session: &Session,
    tenant: &TenantId,
) -> Result<Redirect, PageError> {
    let expected = csrf::new_token();
    session
        .insert(keys::PENDING_CONSENT, expected.clone())
        .await
        .map_err(PageError::session)?;
    let url = state
        .engine
        .microsoft()
        .sign_in()
        .admin_consent_url(tenant.as_str(), &expected);
    Ok(Redirect::to(url.as_str()))
}

/// Microsoft sends the admin back here, with the outcome in the query string.
async fn user_sync_callback(
    State(state): State<AppState>,
    admin: Admin,
    RawQuery(query): RawQuery,
) -> Result<Redirect, PageError> {
    let expected: Option<String> = admin
        .session
        .remove(keys::PENDING_CONSENT)
        .await
        .map_err(PageError::session)?;
    let expected = expected.ok_or_else(|| {
        PageError::BadRequest("this consent answer does not belong to this browser session: use Grant Consent on the Dashboard again".into())
    })?;
    let granted = state
        .engine
        .microsoft()
        .sign_in()
        .finish_admin_consent(&expected, query.as_deref().unwrap_or_default())
        .map_err(|e| PageError::BadRequest(e.to_string()))?;
    let own_tenant = admin
        .enterprise
        .tenant_id
        .as_ref()
        .is_some_and(|t| t.as_str().eq_ignore_ascii_case(&granted.tenant_id));
    if !own_tenant {
        return Err(PageError::BadRequest(format!(
            "consent was granted in tenant {}, which is not {}'s tenant: sign in to Microsoft with an administrator of your own tenant and try again",
            granted.tenant_id, admin.enterprise.name
        )));
    }
    // Consent makes the first sync and any waiting changes possible now: the engine starts
    // them.
    state
        .engine
        .grant_user_sync_consent(
            admin.enterprise.id,
            &admin.actor(),
            &admin.principal.username,
        )
        .await?;
    // The first consent comes before any sync group is chosen: Manage User Groups next.
    if state
        .store
        .list_sync_groups(admin.enterprise.id)
        .await?
        .is_empty()
    {
        admin
            .flash("Consent granted. Now choose the groups whose members Teamline syncs.")
            .await?;
        return Ok(Redirect::to("/groups"));
    }
    admin
        .flash("Consent granted: Teamline is syncing your Teams users now.")
        .await?;
    Ok(Redirect::to("/dashboard"))
}

/// Records that the enterprise lets its reseller manage it.
async fn grant_management(
    State(state): State<AppState>,
    admin: Admin,
) -> Result<Redirect, PageError> {
    state
        .engine
        .grant_management_consent(
            admin.enterprise.id,
            &admin.actor(),
            &admin.principal.username,
        )
        .await?;
    admin
        .flash("Management consent granted: your reseller can now manage this enterprise.")
        .await?;
    Ok(Redirect::to("/dashboard"))
}

/// Withdraws the management consent: a reseller admin acting here is refused from their next
/// request on. Only the enterprise's own admins may do this.
async fn revoke_management(
    State(state): State<AppState>,
    admin: Admin,
) -> Result<Redirect, PageError> {
    if admin.acting.is_some() {
        return Err(PageError::Forbidden {
            title: "Only the enterprise's administrators revoke management consent".into(),
            detail: format!(
                "You act for {} through its management consent; {}'s own administrators decide whether to revoke it.",
                admin.enterprise.name, admin.enterprise.name
            ),
        });
    }
    state
        .engine
        .revoke_management_consent(admin.enterprise.id, &admin.actor())
        .await?;
    admin
        .flash(
            "Management consent revoked: your reseller's admins can no longer act in this portal.",
        )
        .await?;
    Ok(Redirect::to("/dashboard"))
}
