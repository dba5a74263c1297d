//! The sign-in session: the e-mail + password form, the session cookie (`ESTSAUTH`) that lets a
//! later flow skip the form, and logout.

use std::sync::Arc;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;

use super::flow::continue_flow;
use super::redirect::redirect_to;
use super::{Params, TenantRef, random_token, resolve_segment};
use crate::microsoft::errors::{AadError, aad};
use crate::microsoft::state::{SimState, lock};
use crate::microsoft::{Scheme, pages};

const SESSION_COOKIE: &str = "ESTSAUTH";

pub(super) fn session_user(state: &SimState, headers: &HeaderMap) -> Option<(String, String)> {
    let cookies = headers.get_all("cookie");
    for c in cookies.iter().filter_map(|v| v.to_str().ok()) {
        for part in c.split(';') {
            if let Some(sid) = part.trim().strip_prefix(&format!("{SESSION_COOKIE}="))
                && let Some(u) = lock(&state.entra).sessions.get(sid)
            {
                return Some(u.clone());
            }
        }
    }
    None
}

/// POST /{tenant}/login (the sign-in form).
pub(crate) async fn login(
    State(state): State<Arc<SimState>>,
    scheme: Option<axum::Extension<Scheme>>,
    Path(segment): Path<String>,
    Form(form): Form<Params>,
) -> Response {
    let flow_id = form.get("flow").cloned().unwrap_or_default();
    let Some(flow) = lock(&state.entra).flows.get(&flow_id).cloned() else {
        return pages::error(
            StatusCode::BAD_REQUEST,
            "AADSTS90014: The sign-in session has expired or is unknown. Go back to the application and sign in again.",
        );
    };
    let app_name = state
        .app(&flow.client_id)
        .map(|a| a.name)
        .unwrap_or_default();
    let upn = form
        .get("loginfmt")
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    let password = form.get("passwd").cloned().unwrap_or_default();
    let action = format!("/{segment}/login");
    let retry =
        |e: AadError| pages::sign_in(&action, &flow_id, &upn, &app_name, Some(&e.description()));
    let domain = upn.rsplit('@').next().unwrap_or_default().to_string();
    let Some(tenant) = state.tenant(&domain) else {
        return retry(aad::user_not_found(&segment));
    };
    let (tid, uid, tenant_name) = {
        let t = lock(&tenant);
        let Some(idx) = t.user_idx(&upn) else {
            return retry(aad::user_not_found(&t.display_name));
        };
        let u = t.user(idx);
        if &*u.password != password.as_str() {
            return retry(aad::wrong_password());
        }
        if !u.account_enabled {
            return retry(aad::account_disabled());
        }
        (t.id.clone(), u.id.clone(), t.display_name.clone())
    };
    if let Some(TenantRef::One(id)) = resolve_segment(&state, &flow.tenant_segment)
        && !id.eq_ignore_ascii_case(&tid)
    {
        let name = state
            .tenant(&id)
            .map(|t| lock(&t).display_name.clone())
            .unwrap_or_default();
        let _ = tenant_name;
        return retry(aad::wrong_tenant_user(&name));
    }
    let sid = random_token(24);
    {
        let mut entra = lock(&state.entra);
        entra
            .sessions
            .insert(sid.clone(), (tid.clone(), uid.clone()));
        if let Some(f) = entra.flows.get_mut(&flow_id) {
            f.user = Some((tid, uid));
        }
    }
    let mut resp = continue_flow(&state, &flow_id, false);
    let secure = matches!(scheme.map(|s| s.0.0), Some("https"));
    let cookie = if secure {
        format!("{SESSION_COOKIE}={sid}; Path=/; HttpOnly; Secure; SameSite=None")
    } else {
        format!("{SESSION_COOKIE}={sid}; Path=/; HttpOnly; SameSite=Lax")
    };
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().append("set-cookie", v);
    }
    resp
}

pub(crate) async fn logout(
    State(state): State<Arc<SimState>>,
    headers: HeaderMap,
    Query(q): Query<Params>,
) -> Response {
    let cookies: Vec<String> = headers
        .get_all("cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|c| {
            c.split(';')
                .map(|p| p.trim().to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    {
        let mut entra = lock(&state.entra);
        for c in cookies {
            if let Some(sid) = c.strip_prefix(&format!("{SESSION_COOKIE}=")) {
                entra.sessions.remove(sid);
            }
        }
    }
    let mut resp = match q.get("post_logout_redirect_uri") {
        Some(uri) => {
            let mut params = Vec::new();
            if let Some(s) = q.get("state") {
                params.push(("state".to_string(), s.clone()));
            }
            redirect_to(uri, &params)
        }
        None => pages::signed_out(),
    };
    if let Ok(v) = HeaderValue::from_str(&format!("{SESSION_COOKIE}=; Path=/; Max-Age=0")) {
        resp.headers_mut().append("set-cookie", v);
    }
    resp
}
