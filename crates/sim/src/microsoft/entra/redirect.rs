//! Redirect URIs: Entra's matching rules, and how answers travel back to the app (query
//! parameters, errors as `error` + `error_description`). [`client_request`] is the check
//! `/authorize` and `/adminconsent` share before they may redirect anywhere.

use axum::response::{IntoResponse, Redirect, Response};

use super::{Params, TenantRef, resolve_segment};
use crate::microsoft::errors::{AadError, aad};
use crate::microsoft::state::{AppRegistration, SimState};

/// Entra ignores the port of loopback redirect URIs (`http://localhost`, `http://127.0.0.1`).
pub(super) fn redirect_matches(registered: &str, given: &str) -> bool {
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

pub(super) fn redirect_allowed(app: &AppRegistration, uri: &str) -> bool {
    app.redirect_uris.iter().any(|r| redirect_matches(r, uri))
}

pub(super) fn with_params(uri: &str, params: &[(String, String)]) -> String {
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

pub(super) fn redirect_to(uri: &str, params: &[(String, String)]) -> Response {
    Redirect::to(&with_params(uri, params)).into_response()
}

pub(super) fn error_params(err: &AadError, state: Option<&str>) -> Vec<(String, String)> {
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
pub(super) struct ClientRequest {
    pub tref: TenantRef,
    pub client_id: String,
    pub app: AppRegistration,
    pub redirect_uri: String,
}

pub(super) fn client_request(
    state: &SimState,
    segment: &str,
    q: &Params,
) -> Result<ClientRequest, AadError> {
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
