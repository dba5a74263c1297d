//! Emergency addresses of a domain or of a user.

use std::collections::HashMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use super::auth::Principal;
use super::{ApiError, ApiResult, paging, parse_object, resolve_domain, text_field};
use crate::netsapiens::NetSapiensSim;
use crate::netsapiens::json;
use crate::netsapiens::state::{AddressRec, SimState, page};

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

pub(super) async fn list_domain_addresses(
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

pub(super) async fn list_user_addresses(
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
    let validated = body
        .get("address-formatted-pidflo")
        .is_some_and(|v| v.is_object() || v.as_str().is_some_and(|s| !s.is_empty()));
    let rec = address_from_body(&body, user);
    let mut st = sim.lock();
    let name = resolve_domain(&st, who, domain)?;
    let seq = st.next_address_seq();
    let Some(d) = st.domains.get_mut(&name) else {
        return Err(ApiError::not_found(format!("Domain {name} does not exist")));
    };
    let created = d.create_address(rec, seq, validated)?.clone();
    st.stats.addresses_created += 1;
    // Not documented; 201 Created with the new object (the client also accepts 200 and 202).
    Ok((StatusCode::CREATED, Json(json::address(&name, &created, 0))).into_response())
}

pub(super) async fn create_domain_address(
    State(sim): State<NetSapiensSim>,
    who: Principal,
    Path(domain): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    create_address(&sim, &who, &domain, None, &body).await
}

pub(super) async fn create_user_address(
    State(sim): State<NetSapiensSim>,
    who: Principal,
    Path((domain, user)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult<Response> {
    create_address(&sim, &who, &domain, Some(user), &body).await
}

/// POST /domains/{domain}/addresses/validate: checks the address and answers it with the
/// `emergency-address-id` and `address-formatted-pidflo` to create it with (the v2 spec's
/// `AddressValidate`).
pub(super) async fn validate_address(
    State(sim): State<NetSapiensSim>,
    who: Principal,
    Path(domain): Path<String>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let body = parse_object(&body)?;
    let rec = address_from_body(&body, None);
    let mut st = sim.lock();
    let name = resolve_domain(&st, &who, &domain)?;
    let seq = st.next_address_seq();
    let Some(d) = st.domains.get_mut(&name) else {
        return Err(ApiError::not_found(format!("Domain {name} does not exist")));
    };
    let id = d.validate_address(&rec, seq)?;
    Ok(Json(json::validated_address(&name, &id, &rec)))
}
