//! `/oauth2/v2.0/authorize`: the authorization code flow (PKCE, `nonce`, `prompt`,
//! `response_mode` query or form_post) up to the code sent back to the app.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::flow::start_flow;
use super::redirect::{ClientRequest, client_request, error_params, redirect_to};
use super::{Params, random_token};
use crate::microsoft::errors::{AadError, aad};
use crate::microsoft::pages;
use crate::microsoft::state::{AuthCode, Flow, FlowKind, SimState, lock};

pub(crate) async fn authorize(
    State(state): State<Arc<SimState>>,
    Path(segment): Path<String>,
    headers: HeaderMap,
    Query(q): Query<Params>,
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
    let st = q.get("state").cloned();
    let fail = |e: AadError| redirect_to(&redirect_uri, &error_params(&e, st.as_deref()));
    let response_type = q
        .get("response_type")
        .map(String::as_str)
        .unwrap_or_default();
    if response_type != "code" {
        return fail(AadError::new(
            StatusCode::BAD_REQUEST,
            "unsupported_response_type",
            700054,
            format!("response_type '{response_type}' is not enabled for the application."),
        ));
    }
    let Some(scope) = q.get("scope").cloned().filter(|s| !s.trim().is_empty()) else {
        return fail(aad::missing_parameter("scope"));
    };
    let method = q.get("code_challenge_method").cloned();
    if q.contains_key("code_challenge")
        && !matches!(method.as_deref(), None | Some("S256") | Some("plain"))
    {
        return fail(AadError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            501491,
            "Invalid code_challenge_method: only S256 and plain are supported.",
        ));
    }
    let response_mode = q
        .get("response_mode")
        .cloned()
        .unwrap_or_else(|| "query".into());
    if !matches!(response_mode.as_str(), "query" | "form_post") {
        return fail(AadError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            900352,
            format!(
                "The response_mode '{response_mode}' is not supported with the authorization code flow in this simulator; use query or form_post."
            ),
        ));
    }
    let flow = Flow {
        kind: FlowKind::Authorize {
            scope,
            nonce: q.get("nonce").cloned(),
            code_challenge: q.get("code_challenge").cloned(),
            code_challenge_method: method,
            response_mode,
        },
        tenant_segment: segment.clone(),
        client_id: client_id.clone(),
        redirect_uri,
        state: st,
        login_hint: q.get("login_hint").cloned(),
        user: None,
        created: Instant::now(),
    };
    let prompt = q.get("prompt").map(String::as_str).unwrap_or_default();
    start_flow(&state, flow, &tref, &headers, prompt, &app)
}

/// Issues an authorization code and sends the browser back to the app.
pub(super) fn finish_authorize(state: &SimState, flow_id: &str) -> Response {
    let Some(flow) = lock(&state.entra).flows.remove(flow_id) else {
        return pages::error(
            StatusCode::BAD_REQUEST,
            "AADSTS90014: The sign-in session has expired or is unknown.",
        );
    };
    let FlowKind::Authorize {
        scope,
        nonce,
        code_challenge,
        code_challenge_method,
        response_mode,
    } = flow.kind
    else {
        return pages::error(StatusCode::INTERNAL_SERVER_ERROR, "unexpected flow");
    };
    let Some((tid, uid)) = flow.user else {
        return pages::error(StatusCode::BAD_REQUEST, "AADSTS90014: Not signed in.");
    };
    let code = format!("1.A{}", random_token(48));
    lock(&state.entra).codes.insert(
        code.clone(),
        AuthCode {
            tenant_id: tid,
            user_id: uid,
            client_id: flow.client_id,
            redirect_uri: flow.redirect_uri.clone(),
            scope,
            nonce,
            code_challenge,
            code_challenge_method,
            issued: Instant::now(),
            redeemed: false,
        },
    );
    let mut params = vec![("code".to_string(), code)];
    if let Some(s) = flow.state {
        params.push(("state".into(), s));
    }
    params.push(("session_state".into(), uuid::Uuid::new_v4().to_string()));
    if response_mode == "form_post" {
        pages::form_post(&flow.redirect_uri, &params)
    } else {
        redirect_to(&flow.redirect_uri, &params)
    }
}
