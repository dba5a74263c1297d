//! What every Graph and Teams admin request goes through before its handler: the bearer token
//! (signature, expiry, audience, tenant) becomes a [`Caller`], the tenant's faults may refuse
//! the request (throttling, injected errors) or slow it down, and [`guard`] checks the
//! caller's app roles or delegated scopes.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode};
use serde_json::Value;

use super::errors::{ApiResponse, RequestIds};
use super::faults::{Access, Refusal, request_kind};
use super::model::{Tenant, well_known};
use super::request::GraphRequest;
use super::state::{SimState, lock};

/// The authenticated caller of a Graph or Teams admin request.
#[derive(Clone)]
pub(crate) struct Caller {
    pub tenant: Arc<Mutex<Tenant>>,
    pub app_only: bool,
    pub roles: Vec<String>,
    pub scopes: Vec<String>,
    pub user_id: Option<String>,
}

impl Caller {
    /// Whether the caller holds one of these application roles (app-only) or delegated
    /// scopes (delegated).
    pub(crate) fn allowed(&self, roles: &[&str], scopes: &[&str]) -> bool {
        if self.app_only {
            self.roles.iter().any(|r| roles.contains(&r.as_str()))
        } else {
            self.scopes.iter().any(|s| scopes.contains(&s.as_str()))
        }
    }
}

/// Which surface a token is presented to.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Audience {
    Graph,
    TeamsAdmin,
}

/// Validates the bearer token for a surface. On failure returns the response to send.
pub(crate) fn authenticate(
    state: &SimState,
    headers: &HeaderMap,
    audience: Audience,
    ids: &RequestIds,
) -> Result<Caller, ApiResponse> {
    let unauthorized = |message: &str| {
        ApiResponse::graph_error(StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken", message, ids)
            .with_header("www-authenticate", "Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\", client_id=\"00000003-0000-0000-c000-000000000000\"")
    };
    let Some(auth) = headers.get("authorization").and_then(|v| v.to_str().ok()) else {
        return Err(unauthorized("Access token is empty."));
    };
    let Some(token) = auth
        .strip_prefix("Bearer ")
        .or_else(|| auth.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
    else {
        return Err(unauthorized("Access token is empty."));
    };
    if token.split('.').count() != 3 {
        return Err(unauthorized(
            "IDX14100: JWT is not well formed, there are no dots (.).\nThe token needs to be in JWS or JWE Compact Serialization Format.",
        ));
    }
    let Some(claims) = state.keys.verify(token) else {
        let expired = jsonwebtoken::dangerous::insecure_decode::<Value>(token)
            .ok()
            .and_then(|d| d.claims.get("exp").and_then(Value::as_i64))
            .is_some_and(|exp| exp < super::model::now_unix());
        return Err(unauthorized(if expired {
            "Lifetime validation failed, the token is expired."
        } else {
            "Access token validation failure. Invalid signature."
        }));
    };
    let aud = claims
        .get("aud")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let aud_ok = match audience {
        Audience::Graph => {
            aud == well_known::GRAPH_RESOURCE
                || aud == well_known::GRAPH_APP_ID
                || aud == "https://graph.microsoft.com/"
        }
        Audience::TeamsAdmin => {
            aud == well_known::TEAMS_ADMIN_APP_ID || aud.ends_with(well_known::TEAMS_ADMIN_APP_ID)
        }
    };
    if !aud_ok {
        return Err(unauthorized(
            "Access token validation failure. Invalid audience.",
        ));
    }
    let tid = claims
        .get("tid")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let Some(tenant) = state.tenant(tid) else {
        return Err(unauthorized(
            "Access token validation failure. Invalid tenant.",
        ));
    };
    let strings = |v: Option<&Value>| -> Vec<String> {
        match v {
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
            Some(Value::String(s)) => s
                .split(' ')
                .filter(|x| !x.is_empty())
                .map(str::to_string)
                .collect(),
            _ => Vec::new(),
        }
    };
    let app_only = claims.get("idtyp").and_then(Value::as_str) == Some("app");
    Ok(Caller {
        tenant,
        app_only,
        roles: strings(claims.get("roles")),
        scopes: strings(claims.get("scp")),
        user_id: (!app_only)
            .then(|| {
                claims
                    .get("oid")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .flatten(),
    })
}

/// Applies the tenant's throttling budget, latency and injected errors to a request of
/// `method` on the path of `segments`. Returns the response to send instead of handling the
/// request, if any.
pub(crate) async fn apply_faults<S: AsRef<str>>(
    caller: &Caller,
    ids: &RequestIds,
    method: &axum::http::Method,
    segments: &[S],
) -> Option<ApiResponse> {
    let access = Access::of(method);
    let kind = request_kind(method.as_str(), segments);
    let (latency, refusal) = {
        let mut t = lock(&caller.tenant);
        super::teams::settle_due_operations(&mut t, Instant::now());
        let latency = t.traffic.faults.latency_ms;
        (latency, t.traffic.admit(Instant::now(), access, &kind))
    };
    if latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }
    lock(&caller.tenant).traffic.finish();
    refusal.map(|r| refusal_response(r, ids))
}

/// Graph's answer to a request the tenant's faults refuse.
fn refusal_response(refusal: Refusal, ids: &RequestIds) -> ApiResponse {
    match refusal {
        Refusal::Throttled { retry_after_secs } => ApiResponse::graph_error(
            StatusCode::TOO_MANY_REQUESTS,
            "TooManyRequests",
            "Too many requests. Please wait and retry the request later.",
            ids,
        )
        .with_header("retry-after", retry_after_secs.to_string()),
        Refusal::Injected {
            status,
            retry_after_secs,
        } => {
            let code = match status {
                503 => "serviceNotAvailable",
                504 => "gatewayTimeout",
                502 => "badGateway",
                429 => "TooManyRequests",
                _ => "generalException",
            };
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            let resp = ApiResponse::graph_error(
                status,
                code,
                "The service is temporarily unavailable (injected by the simulator).",
                ids,
            );
            match retry_after_secs {
                Some(secs) => resp.with_header("retry-after", secs.to_string()),
                None => resp,
            }
        }
    }
}

/// Runs `f` if the caller holds one of the roles/scopes, else answers 403.
pub(crate) fn guard(
    caller: &Caller,
    req: &GraphRequest,
    roles: &[&str],
    scopes: &[&str],
    f: impl FnOnce() -> ApiResponse,
) -> ApiResponse {
    if caller.allowed(roles, scopes) {
        f()
    } else {
        forbidden(req)
    }
}

pub(crate) fn forbidden(req: &GraphRequest) -> ApiResponse {
    req.error(
        StatusCode::FORBIDDEN,
        "Authorization_RequestDenied",
        "Insufficient privileges to complete the operation.",
    )
}
