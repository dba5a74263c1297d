//! `/healthz`: is the database reachable?

use crate::AppState;
use crate::routes::{Routes, get};
use axum::Json;
use axum::extract::{FromRef, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::json;
use std::sync::Arc;
use teamline_store::StoreInfo;

pub fn routes() -> Routes {
    Routes::new().route("/healthz", get(healthz))
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
