//! Entra ID (login.microsoftonline.com): OpenID discovery, JWKS, the authorize sign-in and
//! consent pages, the token endpoint (authorization_code + PKCE, refresh_token,
//! client_credentials), admin consent (v2 and v1) and logout.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use sha2::Digest;

use super::errors::{AadError, aad};
use super::model::{Consent, Tenant, User, now_unix};
use super::model::{ids, well_known};
use super::state::{AppRegistration, AuthCode, Flow, FlowKind, RefreshGrant, SimState, lock};
use super::{Scheme, base_url, pages};

const SESSION_COOKIE: &str = "ESTSAUTH";
const CODE_LIFETIME: Duration = Duration::from_secs(600);
const FLOW_LIFETIME: Duration = Duration::from_secs(3600);

type Params = HashMap<String, String>;

fn random_token(bytes: usize) -> String {
    let mut buf = Vec::with_capacity(bytes + 16);
    while buf.len() < bytes {
        buf.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    }
    buf.truncate(bytes);
    URL_SAFE_NO_PAD.encode(buf)
}

/// How a tenant path segment resolves.
enum TenantRef {
    /// `organizations` or `common`: any work account.
    Any(String),
    /// One tenant (by id or domain).
    One(String),
}

fn resolve_segment(state: &SimState, seg: &str) -> Option<TenantRef> {
    let lower = seg.to_ascii_lowercase();
    if lower == "organizations" || lower == "common" {
        return Some(TenantRef::Any(lower));
    }
    let t = state.tenant(seg)?;
    let id = lock(&t).id.clone();
    Some(TenantRef::One(id))
}

fn issuer(base: &str, tid: &str) -> String {
    format!("{base}/{tid}/v2.0")
}

// ---------------------------------------------------------------------------------------------
// discovery

pub(crate) async fn openid_configuration(
    State(state): State<Arc<SimState>>,
    scheme: Option<axum::Extension<Scheme>>,
    headers: HeaderMap,
    Path(segment): Path<String>,
) -> Response {
    let base = base_url(&state, scheme.map(|s| s.0), &headers);
    let tenant_part = match resolve_segment(&state, &segment) {
        Some(TenantRef::Any(s)) => (s, "{tenantid}".to_string()),
        Some(TenantRef::One(id)) => (segment.clone(), id),
        None => return aad::tenant_not_found(&segment).into_response(),
    };
    let (seg, tid) = tenant_part;
    let doc = json!({
        "token_endpoint": format!("{base}/{seg}/oauth2/v2.0/token"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "jwks_uri": format!("{base}/{seg}/discovery/v2.0/keys"),
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": issuer(&base, &tid),
        "request_uri_parameter_supported": false,
        "authorization_endpoint": format!("{base}/{seg}/oauth2/v2.0/authorize"),
        "device_authorization_endpoint": format!("{base}/{seg}/oauth2/v2.0/devicecode"),
        "http_logout_supported": true,
        "frontchannel_logout_supported": true,
        "end_session_endpoint": format!("{base}/{seg}/oauth2/v2.0/logout"),
        "claims_supported": ["sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name", "msgraph_host", "aud", "exp", "iat", "auth_time", "acr", "nonce", "preferred_username", "name", "tid", "ver", "at_hash", "c_hash", "email"],
        "kerberos_endpoint": format!("{base}/{seg}/kerberos"),
        "tenant_region_scope": "NA",
        "cloud_instance_name": "microsoftonline.com",
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": "graph.microsoft.com",
        "rbac_url": "https://pas.windows.net",
    });
    json_response(StatusCode::OK, doc)
}

pub(crate) async fn jwks(
    State(state): State<Arc<SimState>>,
    scheme: Option<axum::Extension<Scheme>>,
    headers: HeaderMap,
    segment: Option<Path<String>>,
) -> Response {
    let base = base_url(&state, scheme.map(|s| s.0), &headers);
    let iss = match segment.as_ref().and_then(|s| resolve_segment(&state, &s.0)) {
        Some(TenantRef::One(id)) => issuer(&base, &id),
        _ => issuer(&base, "{tenantid}"),
    };
    json_response(StatusCode::OK, state.keys.jwks(Some(&iss)))
}

fn json_response(status: StatusCode, v: Value) -> Response {
    (
        status,
        [("content-type", "application/json; charset=utf-8")],
        v.to_string(),
    )
        .into_response()
}

// ---------------------------------------------------------------------------------------------
// redirect URIs

/// Entra ignores the port of loopback redirect URIs (`http://localhost`, `http://127.0.0.1`).
fn redirect_matches(registered: &str, given: &str) -> bool {
    if registered == given {
        return true;
    }
    let (Ok(r), Ok(g)) = (url::Url::parse(registered), url::Url::parse(given)) else {
        return false;
    };
    let loopback = |u: &url::Url| matches!(u.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    loopback(&r)
        && loopback(&g)
        && r.scheme() == g.scheme()
        && r.host_str() == g.host_str()
        && r.path() == g.path()
        && r.query() == g.query()
}

fn redirect_allowed(app: &AppRegistration, uri: &str) -> bool {
    app.redirect_uris.iter().any(|r| redirect_matches(r, uri))
}

fn with_params(uri: &str, params: &[(String, String)]) -> String {
    let mut out = uri.to_string();
    let sep = if uri.contains('?') { '&' } else { '?' };
    let qs = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .finish();
    if !qs.is_empty() {
        out.push(sep);
        out.push_str(&qs);
    }
    out
}

fn redirect_to(uri: &str, params: &[(String, String)]) -> Response {
    Redirect::to(&with_params(uri, params)).into_response()
}

fn error_params(err: &AadError, state: Option<&str>) -> Vec<(String, String)> {
    let mut p = vec![
        ("error".to_string(), err.error.to_string()),
        ("error_description".to_string(), err.description()),
    ];
    if let Some(s) = state {
        p.push(("state".into(), s.to_string()));
    }
    p
}

/// What `/authorize` and `/adminconsent` both check before they may redirect anywhere: the
/// tenant, the app and its registered redirect URI. Failures here are shown as a page, as Entra
/// does, never sent to an unverified redirect URI.
struct ClientRequest {
    tref: TenantRef,
    client_id: String,
    app: AppRegistration,
    redirect_uri: String,
}

fn client_request(state: &SimState, segment: &str, q: &Params) -> Result<ClientRequest, AadError> {
    let tref = resolve_segment(state, segment).ok_or_else(|| aad::tenant_not_found(segment))?;
    let client_id = q
        .get("client_id")
        .cloned()
        .ok_or_else(|| aad::missing_parameter("client_id"))?;
    let app = state
        .app(&client_id)
        .ok_or_else(|| aad::app_not_found(&client_id, segment))?;
    let redirect_uri = q
        .get("redirect_uri")
        .cloned()
        .ok_or_else(|| aad::missing_parameter("redirect_uri"))?;
    if !redirect_allowed(&app, &redirect_uri) {
        return Err(aad::redirect_mismatch(&redirect_uri, &client_id));
    }
    Ok(ClientRequest {
        tref,
        client_id,
        app,
        redirect_uri,
    })
}

// ---------------------------------------------------------------------------------------------
// authorize

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

/// Starts a browser flow: reuse the session when allowed, else show the sign-in page.
fn start_flow(
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

fn session_user(state: &SimState, headers: &HeaderMap) -> Option<(String, String)> {
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
fn continue_flow(state: &SimState, flow_id: &str, force_consent: bool) -> Response {
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

/// Issues an authorization code and sends the browser back to the app.
fn finish_authorize(state: &SimState, flow_id: &str) -> Response {
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

// ---------------------------------------------------------------------------------------------
// admin consent

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

// ---------------------------------------------------------------------------------------------
// logout

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

// ---------------------------------------------------------------------------------------------
// token endpoint

pub(crate) async fn token(
    State(state): State<Arc<SimState>>,
    scheme: Option<axum::Extension<Scheme>>,
    Path(segment): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let base = base_url(&state, scheme.map(|s| s.0), &headers);
    let form: Params = url::form_urlencoded::parse(&body).into_owned().collect();
    let correlation = headers
        .get("client-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    match issue(&state, &base, &segment, &headers, &form) {
        Ok(v) => (
            StatusCode::OK,
            [
                ("content-type", "application/json; charset=utf-8"),
                ("cache-control", "no-store, no-cache"),
                ("pragma", "no-cache"),
            ],
            v.to_string(),
        )
            .into_response(),
        Err(e) => e.with_correlation(correlation.as_deref()).into_response(),
    }
}

/// Client credentials from the body or HTTP Basic.
fn client_credentials(headers: &HeaderMap, form: &Params) -> (Option<String>, Option<String>) {
    if let Some(basic) = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| STANDARD.decode(b.trim()).ok())
        .and_then(|b| String::from_utf8(b).ok())
        && let Some((id, secret)) = basic.split_once(':')
    {
        let dec = |s: &str| {
            url::form_urlencoded::parse(format!("x={s}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
        };
        return (dec(id), dec(secret));
    }
    (
        form.get("client_id").cloned(),
        form.get("client_secret").cloned(),
    )
}

fn issue(
    state: &SimState,
    base: &str,
    segment: &str,
    headers: &HeaderMap,
    form: &Params,
) -> Result<Value, AadError> {
    let tref = resolve_segment(state, segment).ok_or_else(|| aad::tenant_not_found(segment))?;
    let grant = form
        .get("grant_type")
        .ok_or_else(|| aad::missing_parameter("grant_type"))?
        .clone();
    let (client_id, secret) = client_credentials(headers, form);
    let client_id = client_id.ok_or_else(|| aad::missing_parameter("client_id"))?;
    let tenant_name = match &tref {
        TenantRef::One(id) => state
            .tenant(id)
            .map(|t| lock(&t).display_name.clone())
            .unwrap_or_default(),
        TenantRef::Any(s) => s.clone(),
    };
    let app = state
        .app(&client_id)
        .ok_or_else(|| aad::app_not_found(&client_id, &tenant_name))?;
    match secret {
        None => return Err(aad::secret_required()),
        Some(s) if s != app.secret => return Err(aad::bad_secret(&client_id)),
        Some(_) => {}
    }
    match grant.as_str() {
        "client_credentials" => {
            let TenantRef::One(tid) = tref else {
                return Err(aad::no_tenant_info());
            };
            client_credentials_grant(state, &app, &tid, form)
        }
        "authorization_code" => auth_code_grant(state, base, &app, &tref, form),
        "refresh_token" => refresh_grant(state, base, &app, &tref, form),
        other => Err(aad::unsupported_grant(other)),
    }
}

fn client_credentials_grant(
    state: &SimState,
    app: &AppRegistration,
    tid: &str,
    form: &Params,
) -> Result<Value, AadError> {
    let scope = form
        .get("scope")
        .ok_or_else(|| aad::missing_parameter("scope"))?;
    let scope = scope.trim();
    let Some(resource) = scope.strip_suffix("/.default") else {
        return Err(aad::invalid_scope_default(scope));
    };
    let tenant = state
        .tenant(tid)
        .ok_or_else(|| aad::tenant_not_found(tid))?;
    let t = lock(&tenant);
    let audience = match resource.trim_end_matches('/') {
        well_known::GRAPH_RESOURCE | well_known::GRAPH_APP_ID => well_known::GRAPH_RESOURCE,
        r if r == well_known::TEAMS_ADMIN_APP_ID
            || r == format!("api://{}", well_known::TEAMS_ADMIN_APP_ID) =>
        {
            well_known::TEAMS_ADMIN_APP_ID
        }
        _ => return Err(aad::resource_not_found(resource, &t.display_name)),
    };
    let Some(consent) = t.consent.clone() else {
        return Err(aad::missing_service_principal(&app.client_id, &t.id));
    };
    let roles: Vec<String> = if audience == well_known::GRAPH_RESOURCE {
        consent.graph_roles.iter().cloned().collect()
    } else if consent.teams_admin {
        vec![well_known::TEAMS_ADMIN_APP_ROLE.to_string()]
    } else {
        Vec::new()
    };
    let now = now_unix();
    let exp = now + state.config.token_lifetime.as_secs() as i64;
    let sp = ids::service_principal_id(&t.id, &app.client_id);
    let mut claims = json!({
        "aud": audience,
        "iss": format!("https://sts.windows.net/{}/", t.id),
        "iat": now, "nbf": now, "exp": exp,
        "app_displayname": app.name,
        "appid": app.client_id,
        "appidacr": "1",
        "idp": format!("https://sts.windows.net/{}/", t.id),
        "idtyp": "app",
        "oid": sp,
        "sub": sp,
        "tid": t.id,
        "uti": random_token(16),
        "ver": "1.0",
    });
    if !roles.is_empty()
        && let Some(m) = claims.as_object_mut()
    {
        m.insert("roles".into(), Value::from(roles));
    }
    let token = state.keys.sign(&claims);
    Ok(json!({
        "token_type": "Bearer",
        "expires_in": state.config.token_lifetime.as_secs(),
        "ext_expires_in": state.config.token_lifetime.as_secs(),
        "access_token": token,
    }))
}

fn verify_pkce(code: &AuthCode, verifier: Option<&String>) -> Result<(), AadError> {
    let Some(challenge) = &code.code_challenge else {
        return Ok(());
    };
    let Some(verifier) = verifier else {
        return Err(aad::pkce_missing());
    };
    let computed = match code.code_challenge_method.as_deref() {
        Some("S256") => URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes())),
        _ => verifier.clone(),
    };
    if &computed == challenge {
        Ok(())
    } else {
        Err(aad::pkce_mismatch())
    }
}

fn auth_code_grant(
    state: &SimState,
    base: &str,
    app: &AppRegistration,
    tref: &TenantRef,
    form: &Params,
) -> Result<Value, AadError> {
    let code_value = form
        .get("code")
        .ok_or_else(|| aad::missing_parameter("code"))?;
    let redirect_uri = form
        .get("redirect_uri")
        .ok_or_else(|| aad::missing_parameter("redirect_uri"))?;
    let code = {
        let mut entra = lock(&state.entra);
        entra
            .codes
            .retain(|_, c| c.issued.elapsed() < CODE_LIFETIME * 6);
        let Some(code) = entra.codes.get_mut(code_value) else {
            return Err(aad::invalid_code());
        };
        if code.redeemed {
            return Err(aad::code_redeemed());
        }
        if code.issued.elapsed() > CODE_LIFETIME {
            return Err(aad::code_expired());
        }
        if !code.client_id.eq_ignore_ascii_case(&app.client_id) {
            return Err(aad::invalid_code());
        }
        if &code.redirect_uri != redirect_uri {
            return Err(aad::redirect_mismatch(redirect_uri, &app.client_id));
        }
        verify_pkce(code, form.get("code_verifier"))?;
        code.redeemed = true;
        code.clone()
    };
    if let TenantRef::One(tid) = tref
        && !tid.eq_ignore_ascii_case(&code.tenant_id)
    {
        return Err(aad::invalid_code());
    }
    user_tokens(
        state,
        base,
        app,
        &code.tenant_id,
        &code.user_id,
        &code.scope,
        code.nonce.as_deref(),
    )
}

fn refresh_grant(
    state: &SimState,
    base: &str,
    app: &AppRegistration,
    tref: &TenantRef,
    form: &Params,
) -> Result<Value, AadError> {
    let rt = form
        .get("refresh_token")
        .ok_or_else(|| aad::missing_parameter("refresh_token"))?;
    let grant = lock(&state.entra)
        .refresh
        .get(rt)
        .cloned()
        .ok_or_else(aad::bad_refresh_token)?;
    if !grant.client_id.eq_ignore_ascii_case(&app.client_id) {
        return Err(aad::bad_refresh_token());
    }
    if let TenantRef::One(tid) = tref
        && !tid.eq_ignore_ascii_case(&grant.tenant_id)
    {
        return Err(aad::bad_refresh_token());
    }
    let scope = form.get("scope").cloned().unwrap_or(grant.scope.clone());
    user_tokens(
        state,
        base,
        app,
        &grant.tenant_id,
        &grant.user_id,
        &scope,
        None,
    )
}

fn pairwise_sub(user: &User, client_id: &str) -> String {
    URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(
        format!("{}|{client_id}", user.id).as_bytes(),
    ))
}

/// Tokens for a signed-in user: access token (Graph, delegated), id token, refresh token.
fn user_tokens(
    state: &SimState,
    base: &str,
    app: &AppRegistration,
    tid: &str,
    uid: &str,
    scope: &str,
    nonce: Option<&str>,
) -> Result<Value, AadError> {
    let tenant = state
        .tenant(tid)
        .ok_or_else(|| aad::tenant_not_found(tid))?;
    let t = lock(&tenant);
    let idx = t
        .user_idx(uid)
        .ok_or_else(|| aad::user_not_found(&t.display_name))?;
    let user = t.user(idx).clone();
    if !user.account_enabled {
        return Err(aad::account_disabled());
    }
    let consented =
        t.consent.as_ref().is_some_and(|c| c.delegated_org) || t.user_consents.contains(&user.id);
    if !consented {
        return Err(aad::consent_required(&app.client_id, &app.name));
    }
    let scopes: Vec<&str> = scope.split_whitespace().collect();
    let oidc = ["openid", "profile", "email", "offline_access"];
    let mut resource_scopes: Vec<String> = scopes
        .iter()
        .filter(|s| !oidc.contains(s))
        .map(|s| {
            s.trim_start_matches("https://graph.microsoft.com/")
                .trim_start_matches("00000003-0000-0000-c000-000000000000/")
                .to_string()
        })
        .flat_map(|s| {
            if s == ".default" {
                app.delegated_scopes
                    .iter()
                    .filter(|d| !oidc.contains(&d.as_str()))
                    .cloned()
                    .collect::<Vec<_>>()
            } else {
                vec![s]
            }
        })
        .collect();
    if resource_scopes.is_empty() {
        resource_scopes.push("User.Read".into());
    }
    let mut granted: Vec<String> = scopes
        .iter()
        .filter(|s| oidc.contains(s))
        .map(|s| s.to_string())
        .collect();
    granted.extend(resource_scopes.iter().cloned());
    let now = now_unix();
    let exp = now + state.config.token_lifetime.as_secs() as i64;
    let wids: Vec<String> = user.wids.clone();
    let access = state.keys.sign(&json!({
        "aud": well_known::GRAPH_RESOURCE,
        "iss": format!("https://sts.windows.net/{tid}/"),
        "iat": now, "nbf": now, "exp": exp,
        "acct": 0, "acr": "1",
        "app_displayname": app.name,
        "appid": app.client_id,
        "appidacr": "1",
        "family_name": user.surname,
        "given_name": user.given_name,
        "idtyp": "user",
        "name": user.display_name,
        "oid": user.id,
        "scp": resource_scopes.join(" "),
        "sub": pairwise_sub(&user, well_known::GRAPH_APP_ID),
        "tid": tid,
        "unique_name": user.upn,
        "upn": user.upn,
        "uti": random_token(16),
        "ver": "1.0",
        "wids": wids,
    }));
    let mut out = json!({
        "token_type": "Bearer",
        "scope": granted.join(" "),
        "expires_in": state.config.token_lifetime.as_secs(),
        "ext_expires_in": state.config.token_lifetime.as_secs(),
        "access_token": access,
    });
    let Some(obj) = out.as_object_mut() else {
        return Ok(out);
    };
    if scopes.contains(&"openid") {
        let mut id = json!({
            "aud": app.client_id,
            "iss": issuer(base, tid),
            "iat": now, "nbf": now, "exp": exp,
            "name": user.display_name,
            "oid": user.id,
            "preferred_username": user.upn,
            "rh": "0.A.sim",
            "sub": pairwise_sub(&user, &app.client_id),
            "tid": tid,
            "uti": random_token(16),
            "ver": "2.0",
            "wids": user.wids,
        });
        if let Some(m) = id.as_object_mut() {
            if let Some(n) = nonce {
                m.insert("nonce".into(), Value::from(n));
            }
            if scopes.contains(&"email")
                && let Some(mail) = &user.mail
            {
                m.insert("email".into(), Value::from(mail.as_str()));
            }
        }
        obj.insert("id_token".into(), Value::from(state.keys.sign(&id)));
    }
    if scopes.contains(&"offline_access") {
        let rt = format!("0.A{}", random_token(64));
        lock(&state.entra).refresh.insert(
            rt.clone(),
            RefreshGrant {
                tenant_id: tid.to_string(),
                user_id: user.id.clone(),
                client_id: app.client_id.clone(),
                scope: scope.to_string(),
            },
        );
        obj.insert("refresh_token".into(), Value::from(rt));
    }
    let _ = &t as &Tenant;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_redirects_ignore_the_port() {
        assert!(redirect_matches(
            "http://127.0.0.1/auth/microsoft/callback",
            "http://127.0.0.1:43123/auth/microsoft/callback"
        ));
        assert!(!redirect_matches(
            "http://127.0.0.1/auth/microsoft/callback",
            "http://127.0.0.1:43123/other"
        ));
        assert!(!redirect_matches(
            "https://teamline.example/cb",
            "https://teamline.example:8443/cb"
        ));
        assert!(!redirect_matches(
            "http://localhost/cb",
            "http://evil.example/cb"
        ));
    }
}
