//! Entra ID (login.microsoftonline.com): OpenID discovery, JWKS, the authorize sign-in and
//! consent pages, the token endpoint (authorization_code + PKCE, refresh_token,
//! client_credentials), admin consent (v2 and v1) and logout.
//!
//! Split by seam: `discovery` (metadata, keys), `session` (sign-in form, cookie, logout),
//! `flow` (what happens after sign-in), `authorize` (the code flow), `consent` (consent
//! decisions, admin consent), `token` (the token endpoint) and `redirect` (redirect URI rules and
//! answers to the app). This module holds what they share: tenant path segments and issuers.

mod authorize;
mod consent;
mod discovery;
mod flow;
mod redirect;
mod session;
mod token;

use std::collections::HashMap;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

use super::state::{SimState, lock};

pub(crate) use self::authorize::authorize;
pub(crate) use self::consent::{admin_consent_v1, admin_consent_v2, consent_decision};
pub(crate) use self::discovery::{jwks, openid_configuration};
pub(crate) use self::session::{login, logout};
pub(crate) use self::token::token;

pub(super) type Params = HashMap<String, String>;

pub(super) fn random_token(bytes: usize) -> String {
    let mut buf = Vec::with_capacity(bytes + 16);
    while buf.len() < bytes {
        buf.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    }
    buf.truncate(bytes);
    URL_SAFE_NO_PAD.encode(buf)
}

/// How a tenant path segment resolves.
pub(super) enum TenantRef {
    /// `organizations` or `common`: any work account.
    Any(String),
    /// One tenant (by id or domain).
    One(String),
}

pub(super) fn resolve_segment(state: &SimState, seg: &str) -> Option<TenantRef> {
    let lower = seg.to_ascii_lowercase();
    if lower == "organizations" || lower == "common" {
        return Some(TenantRef::Any(lower));
    }
    let t = state.tenant(seg)?;
    let id = lock(&t).id.clone();
    Some(TenantRef::One(id))
}

pub(super) fn issuer(base: &str, tid: &str) -> String {
    format!("{base}/{tid}/v2.0")
}

pub(super) fn json_response(status: StatusCode, v: Value) -> Response {
    (
        status,
        [("content-type", "application/json; charset=utf-8")],
        v.to_string(),
    )
        .into_response()
}
