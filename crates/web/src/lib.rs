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
mod local_portal;
mod local_sign_in;
pub mod metrics;
pub mod operator;
pub mod pages;
pub mod reseller;
pub mod routes;
mod server;
pub mod session;
mod two_factor;
pub mod views;

pub use server::WebOptions;

use axum::Router;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use metrics_exporter_prometheus::PrometheusHandle;
use routes::{RouteInfo, Routes};
use std::sync::Arc;
use teamline_engine::Engine;
use teamline_store::{DynStore, SessionStore};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use url::Url;

/// Everything a request handler may use.
#[derive(Clone)]
pub struct AppState {
    pub store: DynStore,
    pub engine: Engine,
    pub metrics: PrometheusHandle,
    /// The URL browsers reach Teamline at (e.g. `https://teamline.example.net`), used for
    /// sign-in redirects, the cookies' Secure flag and HSTS.
    pub public_url: String,
    /// Time limits and who may read `/metrics`.
    pub options: Arc<WebOptions>,
}

impl AppState {
    /// With the default [`WebOptions`].
    pub fn new(
        store: DynStore,
        engine: Engine,
        metrics: PrometheusHandle,
        public_url: impl Into<String>,
    ) -> Self {
        Self {
            store,
            engine,
            metrics,
            public_url: public_url.into(),
            options: Arc::new(WebOptions::default()),
        }
    }

    #[must_use]
    pub fn with_options(mut self, options: WebOptions) -> Self {
        self.options = Arc::new(options);
        self
    }

    /// Cookies are marked Secure, and browsers told to use https only (HSTS), when Teamline
    /// is served over https.
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

/// Browsers that reached Teamline over https keep using https for a year.
const HSTS: &str = "max-age=31536000";

/// Health and static files: no session, no CSRF check.
fn open_routes() -> Routes {
    Routes::new()
        .merge(health::routes())
        .merge(assets::routes())
        .merge(api::reference::routes())
}

/// Sign-in and the portal's pages, behind sessions and CSRF protection.
fn portal_routes() -> Routes {
    Routes::new()
        .merge(auth::routes())
        .merge(pages::routes())
        .merge(local_sign_in::routes())
        .merge(reseller::routes())
        .merge(operator::routes())
        .merge(two_factor::routes())
        .merge(api::portal::routes())
}

/// Every route [`router`] serves, by path and method, with what its handler reads.
pub fn route_table() -> Vec<RouteInfo> {
    let mut table = open_routes().table().to_vec();
    table.extend_from_slice(portal_routes().table());
    table.extend_from_slice(metrics::routes().table());
    table
}

pub fn router(state: AppState) -> Router {
    let portal = portal_routes()
        .into_router()
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            csrf::protect,
        ))
        .layer(session::layer(state.store.clone(), state.secure_cookies()))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ));
    let mut app = open_routes()
        .into_router()
        .merge(api::router(&state))
        .merge(portal);
    if state.options.metrics_on_portal {
        app = app.merge(metrics::routes().into_router());
    }
    let app = app
        .fallback(|| async { error::PageError::NotFound })
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            state.options.request_timeout,
        ))
        .layer(axum::middleware::from_fn(error::plain_rejections))
        .layer(axum::middleware::from_fn(error::htmx_errors));
    with_common_layers(app, state.secure_cookies()).with_state(state)
}

/// The headers every answer carries, metrics, tracing and panic safety.
fn with_common_layers(app: Router<AppState>, https: bool) -> Router<AppState> {
    let app = if https {
        app.layer(SetResponseHeaderLayer::overriding(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(HSTS),
        ))
    } else {
        app
    };
    app.layer(SetResponseHeaderLayer::overriding(
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
    .layer(TraceLayer::new_for_http().make_span_with(request_span))
    .layer(CatchPanicLayer::new())
}

/// The span of a request names its path but never its query string: Microsoft's redirects
/// carry the authorization code there, and no secret may reach the log.
fn request_span<B>(request: &axum::http::Request<B>) -> tracing::Span {
    tracing::debug_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        version = ?request.version(),
    )
}

/// Serves the portal on `listener` until `shutdown` completes, with the time limits of
/// `state.options`. Expired sessions are removed every hour meanwhile.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let sweeper = tokio::spawn(sweep_sessions(state.store.clone()));
    let header_read_timeout = state.options.header_read_timeout;
    let served = server::serve_router(listener, router(state), header_read_timeout, shutdown).await;
    sweeper.abort();
    served
}

/// Serves only `/metrics` on `listener` (e.g. an address only the monitoring network
/// reaches), with the bearer token of `state.options` if one is set.
pub async fn serve_metrics(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let header_read_timeout = state.options.header_read_timeout;
    let app = metrics::routes()
        .into_router()
        .fallback(|| async { StatusCode::NOT_FOUND })
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            state.options.request_timeout,
        ))
        .with_state(state);
    server::serve_router(listener, app, header_read_timeout, shutdown).await
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
