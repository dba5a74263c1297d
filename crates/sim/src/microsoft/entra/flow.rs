//! The browser flow shared by `/authorize` and `/adminconsent`: reuse a signed-in session or
//! show the sign-in page, then decide between the consent screen, the "needs admin approval"
//! page and finishing the flow.

use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::authorize::finish_authorize;
use super::redirect::{error_params, redirect_to, with_params};
use super::session::session_user;
use super::{TenantRef, random_token};
use crate::microsoft::errors::aad;
use crate::microsoft::pages;
use crate::microsoft::state::{AppRegistration, Flow, FlowKind, SimState, lock};

const FLOW_LIFETIME: Duration = Duration::from_secs(3600);

/// Starts a browser flow: reuse the session when allowed, else show the sign-in page.
pub(super) fn start_flow(
    state: &SimState,
    mut flow: Flow,
    tref: &TenantRef,
    headers: &HeaderMap,
    prompt: &str,
    app: &AppRegistration,
) -> Response {
    let session = session_user(state, headers);
    let session = session.filter(|(tid, _)| match tref {
        TenantRef::Any(_) => true,
        TenantRef::One(id) => id.eq_ignore_ascii_case(tid),
    });
    let flow_id = random_token(24);
    let reuse = !matches!(prompt, "login" | "select_account");
    if let (true, Some(user)) = (reuse, session.clone()) {
        flow.user = Some(user);
        lock(&state.entra).flows.insert(flow_id.clone(), flow);
        return continue_flow(state, &flow_id, prompt == "consent");
    }
    if prompt == "none" {
        let e = aad::login_required();
        let params = error_params(&e, flow.state.as_deref());
        return redirect_to(&flow.redirect_uri, &params);
    }
    let action = format!("/{}/login", flow.tenant_segment);
    let hint = flow.login_hint.clone().unwrap_or_default();
    {
        let mut entra = lock(&state.entra);
        entra
            .flows
            .retain(|_, f| f.created.elapsed() < FLOW_LIFETIME);
        entra.flows.insert(flow_id.clone(), flow);
    }
    pages::sign_in(&action, &flow_id, &hint, &app.name, None)
}

fn consent_permissions(app: &AppRegistration, admin_flow: bool) -> Vec<String> {
    let mut out: Vec<String> = vec![
        "Sign you in and read your profile (User.Read)".into(),
        "Maintain access to data you have given it access to (offline_access)".into(),
        "View your basic profile and email address (openid, profile, email)".into(),
    ];
    if admin_flow {
        out.extend(
            app.graph_roles
                .iter()
                .map(|r| format!("Microsoft Graph application permission: {r}")),
        );
        out.push("Skype and Teams Tenant Admin API: application_access".into());
    }
    out
}

/// Decides what happens after sign-in: consent screen, approval page or redirect with a code.
pub(super) fn continue_flow(state: &SimState, flow_id: &str, force_consent: bool) -> Response {
    let Some(flow) = lock(&state.entra).flows.get(flow_id).cloned() else {
        return pages::error(
            StatusCode::BAD_REQUEST,
            "AADSTS90014: The sign-in session has expired or is unknown.",
        );
    };
    let Some(app) = state.app(&flow.client_id) else {
        return pages::error(
            StatusCode::BAD_REQUEST,
            &aad::app_not_found(&flow.client_id, &flow.tenant_segment).description(),
        );
    };
    let Some((tid, uid)) = flow.user.clone() else {
        return pages::error(StatusCode::BAD_REQUEST, "AADSTS90014: Not signed in.");
    };
    let Some(tenant) = state.tenant(&tid) else {
        return pages::error(
            StatusCode::BAD_REQUEST,
            &aad::tenant_not_found(&tid).description(),
        );
    };
    let t = lock(&tenant);
    let Some(idx) = t.user_idx(&uid) else {
        return pages::error(
            StatusCode::BAD_REQUEST,
            &aad::user_not_found(&t.display_name).description(),
        );
    };
    let user = t.user(idx).clone();
    let action = format!("/{}/consent", flow.tenant_segment);
    match &flow.kind {
        FlowKind::Authorize { .. } => {
            let consented = t.consent.as_ref().is_some_and(|c| c.delegated_org)
                || t.user_consents.contains(&user.id);
            if consented && !force_consent {
                drop(t);
                return finish_authorize(state, flow_id);
            }
            if user.is_admin_for_consent() || t.users_can_consent {
                let offer_org = user.is_admin_for_consent();
                return pages::consent(
                    &action,
                    flow_id,
                    &app.name,
                    &user.upn,
                    &consent_permissions(&app, false),
                    offer_org,
                    false,
                );
            }
            let e = aad::admin_approval_needed(&app.name);
            let ret = with_params(&flow.redirect_uri, &error_params(&e, flow.state.as_deref()));
            pages::need_admin_approval(&app.name, &user.upn, &e.description(), &ret)
        }
        FlowKind::AdminConsent { .. } => {
            if user.is_admin_for_consent() {
                return pages::consent(
                    &action,
                    flow_id,
                    &app.name,
                    &user.upn,
                    &consent_permissions(&app, true),
                    false,
                    true,
                );
            }
            let e = aad::admin_approval_needed(&app.name);
            let mut params = vec![("admin_consent".to_string(), "True".to_string())];
            params.extend(error_params(&e, flow.state.as_deref()));
            let ret = with_params(&flow.redirect_uri, &params);
            pages::need_admin_approval(&app.name, &user.upn, &e.description(), &ret)
        }
    }
}
