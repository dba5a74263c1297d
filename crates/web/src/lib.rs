//! Teamline's web layer: the Enterprise portal's pages (askama + htmx), sign-in, sessions and
//! CSRF protection, the JSON API (`api`), health and metrics endpoints.
//!
//! The web layer never holds a database transaction across a call to Microsoft or the PBX and
//! knows neither SQL nor Microsoft's or the PBX's JSON: it talks to the `Store`, the engine's
//! workflows and the `microsoft` crate's sign-in API, and renders what they return.

pub mod api;
pub mod assets;
pub mod auth;
pub mod csrf;
pub mod error;
pub mod health;
pub mod metrics;
pub mod pages;
pub mod session;
pub mod views;

use axum::Router;
use axum::http::{HeaderName, HeaderValue, header};
use metrics_exporter_prometheus::PrometheusHandle;
use std::sync::Arc;
use teamline_engine::Engine;
use teamline_store::{DynStore, SessionStore};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use url::Url;

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

impl AppState {
    /// The session cookie is marked Secure when Teamline is served over https.
    pub fn secure_cookies(&self) -> bool {
        self.public_url.starts_with("https://")
    }

    /// `scheme://host[:port]` of the public URL, the origin our pages have.
    pub fn public_origin(&self) -> Option<String> {
        Url::parse(&self.public_url)
            .ok()
            .map(|u| u.origin().ascii_serialization())
            .filter(|o| o != "null")
    }
}

/// Pages may only run our own scripts and styles, and may not be framed.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; \
     base-uri 'none'; object-src 'none'";

pub fn router(state: AppState) -> Router {
    let portal = Router::new()
        .merge(auth::routes())
        .merge(pages::routes())
        .merge(api::portal::routes())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            csrf::protect,
        ))
        .layer(session::layer(state.store.clone(), state.secure_cookies()))
        .layer(axum::middleware::from_fn(error::htmx_errors))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ));
    Router::new()
        .merge(health::routes())
        .merge(assets::routes())
        .merge(api::router(&state))
        .merge(portal)
        .fallback(|| async { error::PageError::NotFound })
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static("x-frame-options"),
            HeaderValue::from_static("DENY"),
        ))
        .layer(axum::middleware::from_fn(metrics::track_requests))
        .layer(TraceLayer::new_for_http())
        .layer(CatchPanicLayer::new())
        .with_state(state)
}

/// Serves the router on `listener` until `shutdown` completes. Expired sessions are removed
/// every hour meanwhile.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let sweeper = tokio::spawn(sweep_sessions(state.store.clone()));
    let served = axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await;
    sweeper.abort();
    served
}

async fn sweep_sessions(store: Arc<dyn SessionStore>) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(3600));
    loop {
        every.tick().await;
        match store.delete_expired_sessions().await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(n, "removed expired sessions"),
            Err(e) => tracing::warn!(error = %e, "could not remove expired sessions"),
        }
    }
}
