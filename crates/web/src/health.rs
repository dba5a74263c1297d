//! `/healthz` (is the database reachable?) and `/metrics` (Prometheus text).

use crate::AppState;
use axum::extract::{FromRef, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use std::sync::Arc;
use teamline_store::StoreInfo;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
}

/// `/healthz` needs only to know which database and whether it answers.
impl FromRef<AppState> for Arc<dyn StoreInfo> {
    fn from_ref(state: &AppState) -> Self {
        state.store.clone()
    }
}

async fn healthz(State(store): State<Arc<dyn StoreInfo>>) -> impl IntoResponse {
    let backend = store.backend();
    match store.ping().await {
        Ok(()) => (
            StatusCode::OK,
            Json(json!({"status": "ok", "database": backend})),
        ),
        Err(e) => {
            tracing::error!(error = %e, "health check: database unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"status": "error", "database": backend, "error": e.to_string()})),
            )
        }
    }
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    registration_gauges(&state).await;
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
}

/// Device handles per registration state, as the SIP gateway last reported them (every state,
/// so a state that empties shows 0).
async fn registration_gauges(state: &AppState) {
    use teamline_domain::registration::RegistrationStatus;
    match state.store.registration_counts(None).await {
        Ok(counts) => {
            for s in RegistrationStatus::ALL {
                let n = counts.get(&s).copied().unwrap_or(0);
                metrics::gauge!("teamline_registrations", "state" => s.as_str()).set(n as f64);
            }
        }
        Err(e) => tracing::warn!(error = %e, "cannot read the registration counts for /metrics"),
    }
}
