//! `/healthz` (is the database reachable?) and `/metrics` (Prometheus text).

use crate::AppState;
use crate::routes::{Routes, get};
use axum::Json;
use axum::extract::{FromRef, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde_json::json;
use std::sync::Arc;
use teamline_store::StoreInfo;

pub fn routes() -> Routes {
    Routes::new()
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
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
}
