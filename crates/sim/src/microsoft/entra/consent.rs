//! Consent: the Accept / Cancel decision on the consent screen (for the user, the
//! organisation, or as admin consent) and the admin consent endpoints (v2.0 and v1).

use std::sync::Arc;
use std::time::Instant;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::Params;
use super::authorize::finish_authorize;
use super::flow::start_flow;
use super::redirect::{ClientRequest, client_request, error_params, redirect_to};
use crate::microsoft::errors::{AadError, aad};
use crate::microsoft::model::Consent;
use crate::microsoft::model::well_known;
use crate::microsoft::pages;
use crate::microsoft::state::{Flow, FlowKind, SimState, lock};

/// POST /{tenant}/consent (Accept / Cancel).
pub(crate) async fn consent_decision(
    State(state): State<Arc<SimState>>,
    Form(form): Form<Params>,
) -> Response {
    let flow_id = form.get("flow").cloned().unwrap_or_default();
    let Some(flow) = lock(&state.entra).flows.get(&flow_id).cloned() else {
        return pages::error(
            StatusCode::BAD_REQUEST,
            "AADSTS90014: The sign-in session has expired or is unknown.",
        );
    };
    let Some((tid, uid)) = flow.user.clone() else {
        return pages::error(StatusCode::BAD_REQUEST, "AADSTS90014: Not signed in.");
    };
    let accepted = form.get("decision").map(String::as_str) == Some("accept");
    let org = form
        .get("consent_org")
        .is_some_and(|v| v == "true" || v == "on");
    let Some(tenant) = state.tenant(&tid) else {
        return pages::error(
            StatusCode::BAD_REQUEST,
            &aad::tenant_not_found(&tid).description(),
        );
    };
    let admin_flow = matches!(flow.kind, FlowKind::AdminConsent { .. });
    if !accepted {
        lock(&state.entra).flows.remove(&flow_id);
        let e = if admin_flow {
            AadError::new(
                StatusCode::BAD_REQUEST,
                "consent_required",
                65004,
                "The resource owner or authorization server denied the request.",
            )
        } else {
            aad::declined()
        };
        let mut params = Vec::new();
        if admin_flow {
            params.push(("admin_consent".to_string(), "True".to_string()));
        }
        params.extend(error_params(&e, flow.state.as_deref()));
        if !admin_flow {
            params.push(("error_subcode".into(), "cancel".into()));
        }
        return redirect_to(&flow.redirect_uri, &params);
    }
    let app = state.app(&flow.client_id);
    {
        let mut t = lock(&tenant);
        let Some(idx) = t.user_idx(&uid) else {
            return pages::error(
                StatusCode::BAD_REQUEST,
                "AADSTS50034: The user no longer exists.",
            );
        };
        let is_admin = t.user(idx).is_admin_for_consent();
        if admin_flow {
            if !is_admin {
                return pages::error(
                    StatusCode::FORBIDDEN,
                    &aad::admin_approval_needed("the application").description(),
                );
            }
            let roles = app
                .as_ref()
                .map(|a| a.graph_roles.clone())
                .unwrap_or_default();
            t.consent = Some(Consent {
                graph_roles: roles.into_iter().collect(),
                teams_admin: true,
                delegated_org: true,
            });
        } else if org && is_admin {
            let c = t.consent.get_or_insert_with(Consent::default);
            c.delegated_org = true;
        } else {
            t.user_consents.insert(uid.clone());
        }
    }
    if admin_flow {
        let mut entra = lock(&state.entra);
        entra.flows.remove(&flow_id);
        drop(entra);
        let FlowKind::AdminConsent { scope, v1 } = &flow.kind else {
            return pages::error(StatusCode::INTERNAL_SERVER_ERROR, "unexpected flow");
        };
        let mut params = vec![
            ("admin_consent".to_string(), "True".to_string()),
            ("tenant".to_string(), tid.clone()),
        ];
        if !v1 {
            params.push((
                "scope".into(),
                scope
                    .clone()
                    .unwrap_or_else(|| format!("{}/.default", well_known::GRAPH_RESOURCE)),
            ));
        }
        if let Some(s) = &flow.state {
            params.push(("state".into(), s.clone()));
        }
        return redirect_to(&flow.redirect_uri, &params);
    }
    finish_authorize(&state, &flow_id)
}

pub(crate) async fn admin_consent_v2(
    State(state): State<Arc<SimState>>,
    Path(segment): Path<String>,
    headers: HeaderMap,
    Query(q): Query<Params>,
) -> Response {
    admin_consent(state, segment, headers, q, false)
}

pub(crate) async fn admin_consent_v1(
    State(state): State<Arc<SimState>>,
    Path(segment): Path<String>,
    headers: HeaderMap,
    Query(q): Query<Params>,
) -> Response {
    admin_consent(state, segment, headers, q, true)
}

fn admin_consent(
    state: Arc<SimState>,
    segment: String,
    headers: HeaderMap,
    q: Params,
    v1: bool,
) -> Response {
    let ClientRequest {
        tref,
        client_id,
        app,
        redirect_uri,
    } = match client_request(&state, &segment, &q) {
        Ok(r) => r,
        Err(e) => return pages::error(StatusCode::BAD_REQUEST, &e.description()),
    };
    let client_id = &client_id;
    if !v1 && q.get("scope").is_none_or(|s| s.trim().is_empty()) {
        let e = aad::missing_parameter("scope");
        let mut params = vec![("admin_consent".to_string(), "True".to_string())];
        params.extend(error_params(&e, q.get("state").map(String::as_str)));
        return redirect_to(&redirect_uri, &params);
    }
    let flow = Flow {
        kind: FlowKind::AdminConsent {
            scope: q.get("scope").cloned(),
            v1,
        },
        tenant_segment: segment,
        client_id: client_id.clone(),
        redirect_uri,
        state: q.get("state").cloned(),
        login_hint: q.get("login_hint").cloned(),
        user: None,
        created: Instant::now(),
    };
    let prompt = q.get("prompt").map(String::as_str).unwrap_or_default();
    start_flow(&state, flow, &tref, &headers, prompt, &app)
}
