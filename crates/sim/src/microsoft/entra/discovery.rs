//! OpenID Connect discovery and the signing keys (JWKS), per tenant or for
//! `organizations`/`common` (whose issuer is the `{tenantid}` template).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::{TenantRef, issuer, json_response, resolve_segment};
use crate::microsoft::errors::aad;
use crate::microsoft::state::SimState;
use crate::microsoft::{Scheme, base_url};

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
