//! Devices of a domain or of a user: listing, counting, reading, creating (with the SIP
//! password and, where the domain requires it, an emergency address) and deleting.

use std::collections::HashMap;
use std::time::SystemTime;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::auth::Principal;
use super::{ApiError, ApiResult, paging, parse_object, resolve_domain, text_field};
use crate::netsapiens::NetSapiensSim;
use crate::netsapiens::json;
use crate::netsapiens::state::{NewDevice, page};

/// How a platform that answers an empty listing with 404 says so.
fn no_devices() -> ApiError {
    ApiError::not_found("No devices found")
}

pub(super) async fn list_domain_devices(
    State(sim): State<NetSapiensSim>,
    who: Principal,
    Path(domain): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    let p = paging(&q)?;
    let st = sim.lock();
    let name = resolve_domain(&st, &who, &domain)?;
    let Some(d) = st.domains.get(&name) else {
        return Err(ApiError::not_found(format!("Domain {name} does not exist")));
    };
    let now = SystemTime::now();
    let items = page(d.devices.values(), p.start, p.limit);
    if items.is_empty() && d.empty_device_list_404 {
        return Err(no_devices());
    }
    let rows: Vec<_> = items
        .into_iter()
        .map(|x| json::device_row(d, x, now))
        .collect();
    // Serialized while the state is borrowed: no copy of each device as a `Value`.
    Ok(Json(rows).into_response())
}

pub(super) async fn count_domain_devices(
    State(sim): State<NetSapiensSim>,
    who: Principal,
    Path(domain): Path<String>,
) -> ApiResult<Json<Value>> {
    let st = sim.lock();
    let name = resolve_domain(&st, &who, &domain)?;
    let total = st.domains.get(&name).map_or(0, |d| d.devices.len());
    Ok(Json(json!({ "total": total })))
}

pub(super) async fn list_devices(
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
    let items: Vec<Value> = u
        .devices
        .iter()
        .filter_map(|id| d.devices.get(id))
        .map(|x| json::device(d, x, now))
        .collect();
    if items.is_empty() && d.empty_device_list_404 {
        return Err(no_devices());
    }
    Ok(Json(Value::Array(items)))
}

pub(super) async fn count_user_devices(
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

pub(super) async fn get_device(
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

pub(super) async fn create_device(
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

pub(super) async fn delete_device(
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
