//! Prometheus metrics: one process-wide recorder, rendered at `/metrics`: next to the portal,
//! or on a listener of its own (`serve_metrics`), and behind a bearer token when one is set.

use crate::AppState;
use crate::routes::{Routes, get};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use secrecy::ExposeSecret;
use std::sync::OnceLock;

pub fn routes() -> Routes {
    Routes::new().route("/metrics", get(render))
}

async fn render(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(token) = &state.options.metrics_token {
        let presented = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        if !crate::csrf::same_token(presented.trim(), token.expose_secret()) {
            return (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
                "/metrics needs the bearer token configured with --metrics-token\n",
            )
                .into_response();
        }
    }
    registration_gauges(&state).await;
    gateway_gauges(&state).await;
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
        .into_response()
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

/// The gateway's Microsoft side as last stored: each proxy up (1) or not (0), and the seconds
/// left on each region's certificate (negative once expired).
async fn gateway_gauges(state: &AppState) {
    let regions = match state.store.gateway_health().await {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the gateway's health for /metrics");
            return;
        }
    };
    let now = state.store.clock().now_ms();
    for r in regions {
        for p in &r.proxies {
            metrics::gauge!("teamline_gateway_microsoft_proxy_up", "region" => r.region.clone(), "proxy" => p.fqdn.clone())
                .set(if p.state == "up" { 1.0 } else { 0.0 });
        }
        if let Some(at) = r.certificate_expires_ms {
            metrics::gauge!("teamline_gateway_certificate_expiry_seconds", "region" => r.region.clone(), "fqdn" => r.base_fqdn.clone())
                .set(((at - now) / 1000) as f64);
        }
    }
}

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the recorder on first use and returns its handle (later calls share it).
pub fn install() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            // Another recorder may already be installed (e.g. by an embedding test); then our
            // handle still renders what was recorded through this recorder, which is nothing.
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("a metrics recorder was already installed");
            }
            handle
        })
        .clone()
}

/// Counts requests by route and status, and times them.
pub async fn track_requests(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = req.method().to_string();
    let started = std::time::Instant::now();
    let response = next.run(req).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("teamline_http_requests_total", "method" => method, "route" => route.clone(), "status" => status).increment(1);
    metrics::histogram!("teamline_http_request_seconds", "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}
