//! Domains and their users (extensions), as the reseller or domain the caller may see.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::auth::Principal;
use super::{ApiError, ApiResult, paging, resolve_domain};
use crate::netsapiens::NetSapiensSim;
use crate::netsapiens::json;
use crate::netsapiens::state::page;

pub(super) async fn list_domains(
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

pub(super) async fn get_domain(
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

pub(super) async fn domain_exists(
    State(sim): State<NetSapiensSim>,
    who: Principal,
    Path(domain): Path<String>,
) -> ApiResult<Json<Value>> {
    let st = sim.lock();
    resolve_domain(&st, &who, &domain)?;
    Ok(Json(json!({ "total": 1 })))
}

pub(super) async fn list_users(
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
    let items = page(d.users.values(), p.start, p.limit);
    let rows: Vec<_> = items
        .into_iter()
        .map(|u| json::user_row(&name, u))
        .collect();
    // Serialized while the state is borrowed: no copy of each user as a `Value`.
    Ok(Json(rows).into_response())
}

pub(super) async fn count_users(
    State(sim): State<NetSapiensSim>,
    who: Principal,
    Path(domain): Path<String>,
) -> ApiResult<Json<Value>> {
    let st = sim.lock();
    let name = resolve_domain(&st, &who, &domain)?;
    let total = st.domains.get(&name).map_or(0, |d| d.users.len());
    Ok(Json(json!({ "total": total })))
}

pub(super) async fn get_user(
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
