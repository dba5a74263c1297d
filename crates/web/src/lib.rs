//! Teamline's web layer: portal pages, the JSON API, health and metrics endpoints.
//!
//! The web layer never holds a database transaction across a call to Microsoft or the PBX; it
//! validates input into domain commands, stores them with their jobs, and shows results.

pub mod health;
pub mod metrics;

use axum::Router;
use metrics_exporter_prometheus::PrometheusHandle;
use teamline_engine::Engine;
use teamline_store::DynStore;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

/// Everything a request handler may use.
#[derive(Clone)]
pub struct AppState {
    pub store: DynStore,
    pub engine: Engine,
    pub metrics: PrometheusHandle,
    /// The URL browsers reach Teamline at (e.g. `https://teamline.example.net`), used for
    /// sign-in redirects and the cookie's Secure flag.
    pub public_url: String,
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(health::routes())
        .layer(axum::middleware::from_fn(metrics::track_requests))
        .layer(TraceLayer::new_for_http())
        .layer(CatchPanicLayer::new())
        .with_state(state)
}

/// Serves the router on `listener` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}
