//! The simulator's own control surface under `/_sim/netsapiens/...` (JSON): faults, token
//! expiry, seeding, registrations, extra API keys and counters. It mirrors the in-process
//! methods of `NetSapiensSim`, for tests and demos that only hold a URL.

use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use super::faults::FaultConfig;
use super::state::Access;
use super::{NetSapiensSim, RegistrationInfo};

pub fn router(sim: NetSapiensSim) -> Router {
    Router::new()
        .route("/_sim/netsapiens/stats", get(stats))
        .route(
            "/_sim/netsapiens/faults",
            put(set_faults).delete(clear_faults),
        )
        .route("/_sim/netsapiens/tokens/expire", post(expire_tokens))
        .route("/_sim/netsapiens/tokens/revoke", post(revoke_tokens))
        .route("/_sim/netsapiens/token-lifetime", put(token_lifetime))
        .route("/_sim/netsapiens/seed/contoso", post(seed_contoso))
        .route("/_sim/netsapiens/seed/generated", post(seed_generated))
        .route("/_sim/netsapiens/api-keys", post(add_api_key))
        .route(
            "/_sim/netsapiens/domains/{domain}/emergency-address-required",
            put(require_emergency_address),
        )
        .route(
            "/_sim/netsapiens/domains/{domain}/address-validation-required",
            put(require_address_validation),
        )
        .route(
            "/_sim/netsapiens/domains/{domain}/empty-device-list-404",
            put(empty_device_list_404),
        )
        .route(
            "/_sim/netsapiens/domains/{domain}/devices/{device}/registration",
            put(register).delete(unregister),
        )
        .with_state(sim)
}

fn not_found(what: String) -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({ "code": 404, "message": what })),
    )
        .into_response()
}

fn ok() -> Response {
    (
        StatusCode::OK,
        Json(json!({ "code": 200, "message": "OK" })),
    )
        .into_response()
}

async fn stats(State(sim): State<NetSapiensSim>) -> Response {
    Json(sim.stats()).into_response()
}

async fn set_faults(State(sim): State<NetSapiensSim>, Json(cfg): Json<FaultConfig>) -> Response {
    sim.set_faults(&cfg);
    ok()
}

async fn clear_faults(State(sim): State<NetSapiensSim>) -> Response {
    sim.clear_faults();
    ok()
}

async fn expire_tokens(State(sim): State<NetSapiensSim>) -> Response {
    sim.expire_tokens();
    ok()
}

async fn revoke_tokens(State(sim): State<NetSapiensSim>) -> Response {
    sim.revoke_tokens();
    ok()
}

#[derive(Deserialize)]
struct Lifetime {
    seconds: u64,
}

async fn token_lifetime(State(sim): State<NetSapiensSim>, Json(l): Json<Lifetime>) -> Response {
    sim.set_token_lifetime(Duration::from_secs(l.seconds));
    ok()
}

async fn seed_contoso(State(sim): State<NetSapiensSim>) -> Response {
    sim.add_contoso();
    ok()
}

#[derive(Deserialize)]
struct Generated {
    domain: String,
    extensions: u32,
}

async fn seed_generated(State(sim): State<NetSapiensSim>, Json(g): Json<Generated>) -> Response {
    sim.add_generated(&g.domain, g.extensions);
    ok()
}

#[derive(Deserialize)]
struct NewKey {
    key: String,
    /// Limit the key to one domain (`nsd_`-style); otherwise `reseller` or all domains.
    #[serde(default)]
    domain: Option<String>,
    #[serde(default)]
    reseller: Option<String>,
    #[serde(default)]
    readonly: bool,
}

async fn add_api_key(State(sim): State<NetSapiensSim>, Json(k): Json<NewKey>) -> Response {
    let access = match (k.domain, k.reseller) {
        (Some(d), _) => Access::Domain(d),
        (None, Some(r)) => Access::Reseller(r),
        (None, None) => Access::System,
    };
    sim.add_api_key(&k.key, access, k.readonly);
    ok()
}

#[derive(Deserialize)]
struct Required {
    required: bool,
}

async fn require_emergency_address(
    State(sim): State<NetSapiensSim>,
    Path(domain): Path<String>,
    Json(r): Json<Required>,
) -> Response {
    if sim.set_require_emergency_address(&domain, r.required) {
        ok()
    } else {
        not_found(format!("Domain {domain} does not exist"))
    }
}

async fn require_address_validation(
    State(sim): State<NetSapiensSim>,
    Path(domain): Path<String>,
    Json(r): Json<Required>,
) -> Response {
    if sim.set_require_address_validation(&domain, r.required) {
        ok()
    } else {
        not_found(format!("Domain {domain} does not exist"))
    }
}

#[derive(Deserialize)]
struct Enabled {
    enabled: bool,
}

async fn empty_device_list_404(
    State(sim): State<NetSapiensSim>,
    Path(domain): Path<String>,
    Json(e): Json<Enabled>,
) -> Response {
    if sim.set_empty_device_list_404(&domain, e.enabled) {
        ok()
    } else {
        not_found(format!("Domain {domain} does not exist"))
    }
}

async fn register(
    State(sim): State<NetSapiensSim>,
    Path((domain, device)): Path<(String, String)>,
    Json(info): Json<RegistrationInfo>,
) -> Response {
    if sim.set_registration(&domain, &device, Some(info)) {
        ok()
    } else {
        not_found(format!("Device {device} does not exist in domain {domain}"))
    }
}

async fn unregister(
    State(sim): State<NetSapiensSim>,
    Path((domain, device)): Path<(String, String)>,
) -> Response {
    if sim.set_registration(&domain, &device, None) {
        ok()
    } else {
        not_found(format!("Device {device} does not exist in domain {domain}"))
    }
}
