//! The `/ns-api/v2` surface: authentication, domains, users, devices, emergency addresses.

use std::collections::HashMap;
use std::time::{Instant, SystemTime};

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rand::RngExt;
use serde_json::{Map, Value, json};

use super::NetSapiensSim;
use super::faults::Forced;
use super::json;
use super::state::{
    Access, AddressRec, ApiKey, DEFAULT_PAGE_LIMIT, Grant, NewDevice, Refusal, SimState, page,
};

/// A NetSapiens `ErrorResponse`: `{"code": <status>, "message": "..."}`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
        }
    }
    fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }
    fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, message)
    }
    fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, message)
    }
    fn not_found(message: impl Into<String>) -> Self {
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

type ApiResult<T> = Result<T, ApiError>;

/// The caller, identified from `Authorization: Bearer <API key or access token>`.
#[derive(Debug, Clone)]
pub struct Principal {
    access: Access,
    readonly: bool,
    /// The domain `~` stands for.
    home_domain: Option<String>,
    api_key: Option<ApiKey>,
}

impl Principal {
    fn ensure_can_write(&self) -> ApiResult<()> {
        if self.readonly {
            return Err(ApiError::forbidden("This API key is read-only"));
        }
        Ok(())
    }
}

impl FromRequestParts<NetSapiensSim> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, sim: &NetSapiensSim) -> ApiResult<Self> {
        let token = bearer(&parts.headers);
        let mut st = sim.lock();
        let Some(token) = token else {
            st.stats.unauthorized += 1;
            return Err(ApiError::unauthorized("Authentication Required"));
        };
        if let Some(key) = st.api_keys.get(token) {
            return Ok(Principal {
                access: key.access.clone(),
                readonly: key.readonly,
                home_domain: key.access.home_domain().map(str::to_owned),
                api_key: Some(key.clone()),
            });
        }
        match st.access_tokens.get(token) {
            Some(grant) if grant.expires_at > Instant::now() => Ok(Principal {
                access: grant.access.clone(),
                readonly: false,
                home_domain: Some(grant.domain.clone()),
                api_key: None,
            }),
            Some(_) => {
                st.stats.unauthorized += 1;
                Err(ApiError::unauthorized("Access token has expired"))
            }
            None => {
                st.stats.unauthorized += 1;
                Err(ApiError::unauthorized("Invalid API key or access token"))
            }
        }
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty()).then(|| token.trim())
}

/// Resolves `~` and checks that the domain exists and that the caller may act on it.
fn resolve_domain(st: &SimState, who: &Principal, name: &str) -> ApiResult<String> {
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
struct Paging {
    start: usize,
    limit: usize,
}

fn paging(q: &HashMap<String, String>) -> ApiResult<Paging> {
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

fn parse_object(body: &Bytes) -> ApiResult<Map<String, Value>> {
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

fn text_field(map: &Map<String, Value>, key: &str) -> Option<String> {
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
            "/ns-api/v2/domains/{domain}/addresses",
            get(list_domain_addresses).post(create_domain_address),
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
        Some(Forced::RateLimited { retry_after_secs }) => {
            let mut resp = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "Too many requests, slow down",
            )
            .into_response();
            if let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string()) {
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

fn random_token() -> String {
    format!("{:032x}", rand::rng().random::<u128>())
}

/// `POST /ns-api/v2/tokens`: OAuth password and refresh-token grants (JSON body; a
/// form-encoded body is accepted too, like the v1 `oauth2/token` endpoint).
async fn tokens(
    State(sim): State<NetSapiensSim>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let form: Map<String, Value> = if is_form {
        form_urlencoded_parse(&body)
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect()
    } else {
        parse_object(&body)?
    };
    let field = |k: &str| text_field(&form, k).unwrap_or_default();
    let grant_type = field("grant_type");
    let client_id = field("client_id");
    let mut st = sim.lock();
    let client_ok = st
        .oauth_clients
        .get(&client_id)
        .is_some_and(|secret| *secret == field("client_secret"));
    let now = Instant::now();
    let (username, mut grant) = match grant_type.as_str() {
        "password" => {
            if !client_ok {
                st.stats.unauthorized += 1;
                return Err(ApiError::unauthorized("Invalid client_id or client_secret"));
            }
            let username = field("username");
            let login = st
                .logins
                .get(&username)
                .filter(|l| l.password == field("password"))
                .cloned();
            let Some(login) = login else {
                st.stats.unauthorized += 1;
                return Err(ApiError::unauthorized("Invalid username or password"));
            };
            st.stats.password_grants += 1;
            let grant = Grant {
                username: username.clone(),
                client_id: client_id.clone(),
                access: login.access,
                domain: login.domain,
                user: login.user,
                expires_at: now,
            };
            (username, grant)
        }
        "refresh_token" => {
            if !client_ok {
                st.stats.unauthorized += 1;
                return Err(ApiError::unauthorized("Invalid client_id or client_secret"));
            }
            let refresh = field("refresh_token");
            // Refresh tokens are single use: the answer carries a new one.
            let grant = st
                .refresh_tokens
                .remove(&refresh)
                .filter(|g| g.expires_at > now && g.client_id == client_id);
            let Some(grant) = grant else {
                st.stats.unauthorized += 1;
                return Err(ApiError::unauthorized("Invalid or expired refresh token"));
            };
            st.stats.refresh_grants += 1;
            (grant.username.clone(), grant)
        }
        "" => return Err(ApiError::bad_request("Missing required field grant_type")),
        other => {
            return Err(ApiError::bad_request(format!(
                "Unsupported grant_type {other}"
            )));
        }
    };
    let lifetime = st.token_lifetime;
    let access_token = random_token();
    let refresh_token = random_token();
    grant.expires_at = now + lifetime;
    st.access_tokens.insert(access_token.clone(), grant.clone());
    let mut refresh_grant = grant.clone();
    refresh_grant.expires_at = now + st.refresh_token_lifetime;
    st.refresh_tokens
        .insert(refresh_token.clone(), refresh_grant);
    Ok(Json(json!({
        "username": username,
        "user": grant.user,
        "territory": grant.access.reseller(),
        "domain": grant.domain,
        "uid": format!("{}@{}", grant.user, grant.domain),
        "login": username,
        "scope": grant.access.user_scope(),
        "display_name": username,
        "access_token": access_token,
        "expires_in": lifetime.as_secs(),
        "token_type": "Bearer",
        "refresh_token": refresh_token,
        "client_id": client_id,
        "apiversion": "44.4.0",
    })))
}

/// Minimal `application/x-www-form-urlencoded` decoding (keys and values are short ASCII here).
fn form_urlencoded_parse(body: &[u8]) -> Vec<(String, String)> {
    fn decode(s: &str) -> String {
        let bytes = s.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < bytes.len() => {
                    let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                    match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                        Some(b) => {
                            out.push(b);
                            i += 2;
                        }
                        None => out.push(b'%'),
                    }
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    String::from_utf8_lossy(body)
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(pair), String::new()),
        })
        .collect()
}

async fn my_api_key(who: Principal) -> ApiResult<Json<Value>> {
    match &who.api_key {
        Some(key) => Ok(Json(json::api_key(key))),
        None => Err(ApiError::not_found(
            "This request was not made with an API key",
        )),
    }
}

async fn list_domains(
    State(sim): State<NetSapiensSim>,
    who: Principal,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let p = paging(&q)?;
    let st = sim.lock();
    let items = page(
        st.domains.values().filter(|d| who.access.allows(d)),
        p.start,
        p.limit,
    );
    Ok(Json(Value::Array(
        items.into_iter().map(json::domain).collect(),
    )))
}

async fn get_domain(
    State(sim): State<NetSapiensSim>,
    who: Principal,
    Path(domain): Path<String>,
) -> ApiResult<Json<Value>> {
    let st = sim.lock();
    let name = resolve_domain(&st, &who, &domain)?;
    Ok(Json(
        st.domains
            .get(&name)
            .map(json::domain)
            .unwrap_or(Value::Null),
    ))
}

async fn domain_exists(
    State(sim): State<NetSapiensSim>,
    who: Principal,
    Path(domain): Path<String>,
) -> ApiResult<Json<Value>> {
    let st = sim.lock();
    resolve_domain(&st, &who, &domain)?;
    Ok(Json(json!({ "total": 1 })))
}

async fn list_users(
    State(sim): State<NetSapiensSim>,
    who: Principal,
    Path(domain): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let p = paging(&q)?;
    let st = sim.lock();
    let name = resolve_domain(&st, &who, &domain)?;
    let Some(d) = st.domains.get(&name) else {
        return Err(ApiError::not_found(format!("Domain {name} does not exist")));
    };
    let items = page(d.users.values(), p.start, p.limit);
    Ok(Json(Value::Array(
        items.into_iter().map(|u| json::user(&name, u)).collect(),
    )))
}

async fn count_users(
    State(sim): State<NetSapiensSim>,
    who: Principal,
    Path(domain): Path<String>,
) -> ApiResult<Json<Value>> {
    let st = sim.lock();
    let name = resolve_domain(&st, &who, &domain)?;
    let total = st.domains.get(&name).map_or(0, |d| d.users.len());
    Ok(Json(json!({ "total": total })))
}

async fn get_user(
    State(sim): State<NetSapiensSim>,
    who: Principal,
    Path((domain, user)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let st = sim.lock();
    let name = resolve_domain(&st, &who, &domain)?;
    let Some(d) = st.domains.get(&name) else {
        return Err(ApiError::not_found(format!("Domain {name} does not exist")));
    };
    let u = d
        .users
        .get(&user)
        .ok_or_else(|| ApiError::from(d.user_missing(&user)))?;
    Ok(Json(json::user(&name, u)))
}

async fn list_domain_devices(
    State(sim): State<NetSapiensSim>,
    who: Principal,
    Path(domain): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let p = paging(&q)?;
    let st = sim.lock();
    let name = resolve_domain(&st, &who, &domain)?;
    let Some(d) = st.domains.get(&name) else {
        return Err(ApiError::not_found(format!("Domain {name} does not exist")));
    };
    let now = SystemTime::now();
    let items = page(d.devices.values(), p.start, p.limit);
    Ok(Json(Value::Array(
        items.into_iter().map(|x| json::device(d, x, now)).collect(),
    )))
}

async fn count_domain_devices(
    State(sim): State<NetSapiensSim>,
    who: Principal,
    Path(domain): Path<String>,
) -> ApiResult<Json<Value>> {
    let st = sim.lock();
    let name = resolve_domain(&st, &who, &domain)?;
    let total = st.domains.get(&name).map_or(0, |d| d.devices.len());
    Ok(Json(json!({ "total": total })))
}

async fn list_devices(
    State(sim): State<NetSapiensSim>,
    who: Principal,
    Path((domain, user)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let st = sim.lock();
    let name = resolve_domain(&st, &who, &domain)?;
    let Some(d) = st.domains.get(&name) else {
        return Err(ApiError::not_found(format!("Domain {name} does not exist")));
    };
    let u = d
        .users
        .get(&user)
        .ok_or_else(|| ApiError::from(d.user_missing(&user)))?;
    let now = SystemTime::now();
    let items = u
        .devices
        .iter()
        .filter_map(|id| d.devices.get(id))
        .map(|x| json::device(d, x, now));
    Ok(Json(Value::Array(items.collect())))
}

async fn count_user_devices(
    State(sim): State<NetSapiensSim>,
    who: Principal,
    Path((domain, user)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let st = sim.lock();
    let name = resolve_domain(&st, &who, &domain)?;
    let Some(d) = st.domains.get(&name) else {
        return Err(ApiError::not_found(format!("Domain {name} does not exist")));
    };
    let u = d
        .users
        .get(&user)
        .ok_or_else(|| ApiError::from(d.user_missing(&user)))?;
    Ok(Json(json!({ "total": u.devices.len() })))
}

async fn get_device(
    State(sim): State<NetSapiensSim>,
    who: Principal,
    Path((domain, user, device)): Path<(String, String, String)>,
) -> ApiResult<Json<Value>> {
    let st = sim.lock();
    let name = resolve_domain(&st, &who, &domain)?;
    let Some(d) = st.domains.get(&name) else {
        return Err(ApiError::not_found(format!("Domain {name} does not exist")));
    };
    let rec = d.device_of_user(&user, &device)?;
    Ok(Json(json::device(d, rec, SystemTime::now())))
}

async fn create_device(
    State(sim): State<NetSapiensSim>,
    who: Principal,
    Path((domain, user)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult<Response> {
    who.ensure_can_write()?;
    let body = parse_object(&body)?;
    let device = text_field(&body, "device")
        .ok_or_else(|| ApiError::bad_request("Missing required field device"))?;
    let password = match body.get("device-sip-registration-password") {
        Some(Value::String(s)) => Some(s.clone()),
        _ => None,
    };
    let expiry_seconds = body
        .get("device-sip-registration-expiry-seconds")
        .and_then(Value::as_u64)
        .and_then(|n| u32::try_from(n).ok());
    let new = NewDevice {
        device,
        password,
        emergency_address_id: text_field(&body, "emergency-address-id"),
        expiry_seconds,
    };
    let synchronous =
        text_field(&body, "synchronous").is_some_and(|s| s.eq_ignore_ascii_case("yes"));
    let mut guard = sim.lock();
    let st = &mut *guard;
    let name = resolve_domain(st, &who, &domain)?;
    let Some(d) = st.domains.get_mut(&name) else {
        return Err(ApiError::not_found(format!("Domain {name} does not exist")));
    };
    let created = d.create_device(&user, new, &mut rand::rng())?.clone();
    st.stats.devices_created += 1;
    sim.devices_changed();
    let force_async = st.faults.take_accept_async();
    if synchronous && !force_async {
        let Some(d) = st.domains.get(&name) else {
            return Err(ApiError::not_found(format!("Domain {name} does not exist")));
        };
        Ok((
            StatusCode::OK,
            Json(json::device(d, &created, SystemTime::now())),
        )
            .into_response())
    } else {
        Ok((
            StatusCode::ACCEPTED,
            Json(json::code_message(202, "Accepted")),
        )
            .into_response())
    }
}

async fn delete_device(
    State(sim): State<NetSapiensSim>,
    who: Principal,
    Path((domain, user, device)): Path<(String, String, String)>,
) -> ApiResult<Response> {
    who.ensure_can_write()?;
    let mut st = sim.lock();
    let name = resolve_domain(&st, &who, &domain)?;
    let Some(d) = st.domains.get_mut(&name) else {
        return Err(ApiError::not_found(format!("Domain {name} does not exist")));
    };
    d.delete_device(&user, &device)?;
    st.stats.devices_deleted += 1;
    sim.devices_changed();
    Ok((
        StatusCode::ACCEPTED,
        Json(json::code_message(202, "Accepted")),
    )
        .into_response())
}

fn address_list(st: &SimState, domain: &str, items: Vec<&AddressRec>) -> Value {
    let Some(d) = st.domains.get(domain) else {
        return Value::Array(Vec::new());
    };
    Value::Array(
        items
            .into_iter()
            .map(|a| {
                let used = d
                    .devices
                    .values()
                    .filter(|x| x.emergency_address_id.as_deref() == Some(a.id.as_str()))
                    .count();
                json::address(domain, a, used)
            })
            .collect(),
    )
}

async fn list_domain_addresses(
    State(sim): State<NetSapiensSim>,
    who: Principal,
    Path(domain): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let p = paging(&q)?;
    let st = sim.lock();
    let name = resolve_domain(&st, &who, &domain)?;
    let Some(d) = st.domains.get(&name) else {
        return Err(ApiError::not_found(format!("Domain {name} does not exist")));
    };
    let items = page(
        d.addresses.values().filter(|a| a.user.is_none()),
        p.start,
        p.limit,
    );
    Ok(Json(address_list(&st, &name, items)))
}

async fn list_user_addresses(
    State(sim): State<NetSapiensSim>,
    who: Principal,
    Path((domain, user)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let p = paging(&q)?;
    let only_personal = q
        .get("show_only_personal")
        .is_some_and(|v| v.eq_ignore_ascii_case("yes"));
    let st = sim.lock();
    let name = resolve_domain(&st, &who, &domain)?;
    let Some(d) = st.domains.get(&name) else {
        return Err(ApiError::not_found(format!("Domain {name} does not exist")));
    };
    if !d.users.contains_key(&user) {
        return Err(d.user_missing(&user).into());
    }
    let items = page(d.addresses_for_user(&user, only_personal), p.start, p.limit);
    Ok(Json(address_list(&st, &name, items)))
}

fn address_from_body(body: &Map<String, Value>, user: Option<String>) -> AddressRec {
    let f = |k: &str| text_field(body, k).unwrap_or_default();
    AddressRec {
        id: f("emergency-address-id"),
        user,
        name: f("address-name"),
        caller_name: f("caller-name"),
        line1: f("address-line-1"),
        line2: f("address-line-2"),
        city: f("address-city"),
        state: f("address-state-province-abbreviation"),
        postal_code: f("address-postal-code"),
        country: f("address-country-abbreviation"),
        location_description: f("address-location-description"),
        carrier: f("carrier"),
    }
}

async fn create_address(
    sim: &NetSapiensSim,
    who: &Principal,
    domain: &str,
    user: Option<String>,
    body: &Bytes,
) -> ApiResult<Response> {
    who.ensure_can_write()?;
    let body = parse_object(body)?;
    let rec = address_from_body(&body, user);
    let mut st = sim.lock();
    let name = resolve_domain(&st, who, domain)?;
    let seq = st.next_address_seq();
    let Some(d) = st.domains.get_mut(&name) else {
        return Err(ApiError::not_found(format!("Domain {name} does not exist")));
    };
    let created = d.create_address(rec, seq)?.clone();
    st.stats.addresses_created += 1;
    // Not documented; 201 Created with the new object (the client also accepts 200 and 202).
    Ok((StatusCode::CREATED, Json(json::address(&name, &created, 0))).into_response())
}

async fn create_domain_address(
    State(sim): State<NetSapiensSim>,
    who: Principal,
    Path(domain): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    create_address(&sim, &who, &domain, None, &body).await
}

async fn create_user_address(
    State(sim): State<NetSapiensSim>,
    who: Principal,
    Path((domain, user)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult<Response> {
    create_address(&sim, &who, &domain, Some(user), &body).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_bodies_decode() {
        let pairs = form_urlencoded_parse(
            b"grant_type=password&username=teamline%40northwind&password=a+b",
        );
        assert_eq!(
            pairs,
            vec![
                ("grant_type".to_owned(), "password".to_owned()),
                ("username".to_owned(), "teamline@northwind".to_owned()),
                ("password".to_owned(), "a b".to_owned()),
            ]
        );
    }

    #[test]
    fn bearer_needs_the_scheme_and_a_token() {
        let mut h = HeaderMap::new();
        assert_eq!(bearer(&h), None);
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer abc"),
        );
        assert_eq!(bearer(&h), Some("abc"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(bearer(&h), None);
    }
}
