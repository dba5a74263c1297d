//! The `/ns-api/v2` surface: authentication, domains, users, devices, emergency addresses,
//! phone numbers.
//!
//! Split by resource: `auth` (the caller), `tokens` (OAuth, API key), `domains` (with their
//! users), `devices`, `addresses`, `phonenumbers`. This module routes, applies armed faults, and holds the
//! error type and the paging and body helpers they share.

mod addresses;
mod auth;
mod devices;
mod domains;
mod phonenumbers;
mod tokens;

use std::collections::HashMap;
use std::time::SystemTime;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Map, Value, json};

use self::addresses::{
    create_domain_address, create_user_address, list_domain_addresses, list_user_addresses,
    validate_address,
};
use self::auth::Principal;
use self::devices::{
    count_domain_devices, count_user_devices, create_device, delete_device, get_device,
    list_devices, list_domain_devices,
};
use self::domains::{count_users, domain_exists, get_domain, get_user, list_domains, list_users};
use self::phonenumbers::list_phone_numbers;
use self::tokens::{my_api_key, tokens};
use super::NetSapiensSim;
use super::faults::Forced;
use super::json;
use super::state::{DEFAULT_PAGE_LIMIT, Refusal, SimState};

/// A NetSapiens `ErrorResponse`: `{"code": <status>, "message": "..."}`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    pub(super) fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
        }
    }
    pub(super) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }
    pub(super) fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, message)
    }
    pub(super) fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, message)
    }
    pub(super) fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }
}

impl From<Refusal> for ApiError {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::BadRequest(m) => ApiError::bad_request(m),
            Refusal::NotFound(m) => ApiError::not_found(m),
            Refusal::Conflict(m) => ApiError::new(StatusCode::CONFLICT, m),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(json::code_message(self.status.as_u16(), &self.message)),
        )
            .into_response()
    }
}

pub(super) type ApiResult<T> = Result<T, ApiError>;

/// Resolves `~` and checks that the domain exists and that the caller may act on it.
pub(super) fn resolve_domain(st: &SimState, who: &Principal, name: &str) -> ApiResult<String> {
    let name = if name == "~" {
        who.home_domain
            .clone()
            .ok_or_else(|| ApiError::not_found("No domain is linked to this key"))?
    } else {
        name.to_owned()
    };
    let domain = st
        .domains
        .get(&name)
        .ok_or_else(|| ApiError::not_found(format!("Domain {name} does not exist")))?;
    if !who.access.allows(domain) {
        return Err(ApiError::forbidden("Domain not found or access denied"));
    }
    Ok(name)
}

#[derive(Debug, Clone, Copy)]
pub(super) struct Paging {
    pub(super) start: usize,
    pub(super) limit: usize,
}

pub(super) fn paging(q: &HashMap<String, String>) -> ApiResult<Paging> {
    let num = |key: &str, default: usize| -> ApiResult<usize> {
        match q.get(key) {
            None => Ok(default),
            Some(v) => v.trim().parse::<usize>().map_err(|_| {
                ApiError::bad_request(format!("Invalid value for {key}: must be a whole number"))
            }),
        }
    };
    Ok(Paging {
        start: num("start", 0)?,
        limit: num("limit", DEFAULT_PAGE_LIMIT)?,
    })
}

pub(super) fn parse_object(body: &Bytes) -> ApiResult<Map<String, Value>> {
    if body.is_empty() {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::bad_request("Request body must be a JSON object")),
        Err(e) => Err(ApiError::bad_request(format!(
            "Invalid JSON in request body: {e}"
        ))),
    }
}

pub(super) fn text_field(map: &Map<String, Value>, key: &str) -> Option<String> {
    match map.get(key) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}

pub fn router(sim: NetSapiensSim) -> Router {
    Router::new()
        .route("/ns-api/v2/version", get(version))
        .route("/ns-api/v2/tokens", axum::routing::post(tokens))
        .route("/ns-api/v2/apikeys/~", get(my_api_key))
        .route("/ns-api/v2/domains", get(list_domains))
        .route("/ns-api/v2/domains/{domain}", get(get_domain))
        .route("/ns-api/v2/domains/{domain}/count", get(domain_exists))
        .route("/ns-api/v2/domains/{domain}/users", get(list_users))
        .route("/ns-api/v2/domains/{domain}/users/count", get(count_users))
        .route("/ns-api/v2/domains/{domain}/users/{user}", get(get_user))
        .route(
            "/ns-api/v2/domains/{domain}/devices",
            get(list_domain_devices),
        )
        .route(
            "/ns-api/v2/domains/{domain}/devices/count",
            get(count_domain_devices),
        )
        .route(
            "/ns-api/v2/domains/{domain}/users/{user}/devices",
            get(list_devices).post(create_device),
        )
        .route(
            "/ns-api/v2/domains/{domain}/users/{user}/devices/count",
            get(count_user_devices),
        )
        .route(
            "/ns-api/v2/domains/{domain}/users/{user}/devices/{device}",
            get(get_device).delete(delete_device),
        )
        .route(
            "/ns-api/v2/domains/{domain}/phonenumbers",
            get(list_phone_numbers),
        )
        .route(
            "/ns-api/v2/domains/{domain}/addresses",
            get(list_domain_addresses).post(create_domain_address),
        )
        .route(
            "/ns-api/v2/domains/{domain}/addresses/validate",
            axum::routing::post(validate_address),
        )
        .route(
            "/ns-api/v2/domains/{domain}/users/{user}/addresses",
            get(list_user_addresses).post(create_user_address),
        )
        .fallback(unknown_route)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(sim.clone(), inject_faults))
        .with_state(sim)
}

async fn unknown_route() -> ApiError {
    ApiError::not_found("Unknown API path")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "Method not allowed on this path",
    )
}

/// Counts the request and applies armed faults before any handler runs.
async fn inject_faults(State(sim): State<NetSapiensSim>, req: Request, next: Next) -> Response {
    let (latency, forced) = {
        let mut st = sim.lock();
        st.stats.requests += 1;
        (st.faults.latency, st.faults.take_forced())
    };
    if let Some(delay) = latency {
        tokio::time::sleep(delay).await;
    }
    match forced {
        Some(Forced::RateLimited {
            retry_after_secs,
            as_date,
        }) => {
            let mut resp = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "Too many requests, slow down",
            )
            .into_response();
            let value = if as_date {
                // Whole seconds from now, rounded up so the wait is never shorter.
                let at = SystemTime::now() + std::time::Duration::from_secs(retry_after_secs + 1);
                httpdate::fmt_http_date(at)
            } else {
                retry_after_secs.to_string()
            };
            if let Ok(v) = HeaderValue::from_str(&value) {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
            resp
        }
        Some(Forced::Status(code)) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            ApiError::new(status, "Service temporarily unavailable").into_response()
        }
        None => next.run(req).await,
    }
}

async fn version() -> Json<Value> {
    Json(json!({
        "apiversion": "44.4.0",
        "hostname": "teamline-netsapiens-sim",
        "current-time": json::datetime(SystemTime::now()),
    }))
}
