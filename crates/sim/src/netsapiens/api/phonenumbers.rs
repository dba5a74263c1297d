//! A domain's phone numbers (DIDs): `GET /domains/{domain}/phonenumbers`, each number a dial
//! rule naming the extension it rings.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use serde_json::Value;

use super::auth::Principal;
use super::{ApiResult, paging, resolve_domain};
use crate::netsapiens::NetSapiensSim;
use crate::netsapiens::json;
use crate::netsapiens::state::page;

pub(super) async fn list_phone_numbers(
    State(sim): State<NetSapiensSim>,
    who: Principal,
    Path(domain): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let p = paging(&q)?;
    let st = sim.lock();
    let name = resolve_domain(&st, &who, &domain)?;
    let items = st.domains.get(&name).map_or_else(Vec::new, |d| {
        page(d.phone_numbers.values(), p.start, p.limit)
            .into_iter()
            .map(|n| json::phone_number(&name, n))
            .collect()
    });
    Ok(Json(Value::Array(items)))
}
