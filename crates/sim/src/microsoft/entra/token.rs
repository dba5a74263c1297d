//! The token endpoint: client authentication (body or HTTP Basic) and the grants
//! `client_credentials` (app-only tokens for Graph and the Teams admin API),
//! `authorization_code` (with PKCE) and `refresh_token`, issuing access, id and refresh tokens.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use sha2::Digest;

use super::{Params, TenantRef, issuer, random_token, resolve_segment};
use crate::microsoft::errors::{AadError, aad};
use crate::microsoft::model::{Tenant, User, now_unix};
use crate::microsoft::model::{ids, well_known};
use crate::microsoft::state::{AppRegistration, AuthCode, RefreshGrant, SimState, lock};
use crate::microsoft::{Scheme, base_url};

const CODE_LIFETIME: Duration = Duration::from_secs(600);

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
    // Once the organisation consented, a token carries every delegated permission of the
    // app registration, not only the ones this request named.
    if t.consent.as_ref().is_some_and(|c| c.delegated_org) {
        for s in &app.delegated_scopes {
            if !oidc.contains(&s.as_str()) && !resource_scopes.contains(s) {
                resource_scopes.push(s.clone());
            }
        }
    }
    let mut granted: Vec<String> = scopes
        .iter()
        .filter(|s| oidc.contains(s))
        .map(|s| s.to_string())
        .collect();
    granted.extend(resource_scopes.iter().cloned());
    let now = now_unix();
    let exp = now + state.config.token_lifetime.as_secs() as i64;
    // `wids` is emitted only when the app registration asks for directory roles; the
    // tenant's behaviour switch models both.
    let wids: Option<Vec<String>> = t.behaviour.id_token_wids.then(|| user.wids.clone());
    let mut access_claims = json!({
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
    });
    if let (Some(m), Some(w)) = (access_claims.as_object_mut(), &wids) {
        m.insert("wids".into(), json!(w));
    }
    let access = state.keys.sign(&access_claims);
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
        });
        if let Some(m) = id.as_object_mut() {
            if let Some(w) = &wids {
                m.insert("wids".into(), json!(w));
            }
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
