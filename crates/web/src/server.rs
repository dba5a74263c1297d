//! Serving HTTP with time limits: a client that sends its request slowly or not at all
//! (slowloris) is disconnected after [`WebOptions::header_read_timeout`], and no request runs
//! longer than [`WebOptions::request_timeout`], so idle or half-sent connections cannot pile
//! up and pin the process.
//!
//! `axum::serve` sets no timer on its HTTP/1 connections, so it has no header-read timeout;
//! this accept loop is the same thing with one. It speaks HTTP/1 only: the portal is plain
//! HTTP behind whatever terminates TLS, and browsers do not speak HTTP/2 without TLS.

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use secrecy::SecretString;
use std::future::Future;
use std::time::Duration;
use tokio::net::TcpListener;

/// How the portal serves: time limits and who may read `/metrics`.
#[derive(Debug, Clone)]
pub struct WebOptions {
    /// How long a client has to send a request's headers (also how long an idle keep-alive
    /// connection stays open).
    pub header_read_timeout: Duration,
    /// How long one request may take, from its headers to the end of the answer (a slow
    /// body included).
    pub request_timeout: Duration,
    /// Whether `/metrics` is served next to the portal (otherwise only on a separate
    /// listener, see [`crate::serve_metrics`]).
    pub metrics_on_portal: bool,
    /// When set, `/metrics` answers only requests with `Authorization: Bearer <token>`.
    pub metrics_token: Option<SecretString>,
}

impl Default for WebOptions {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(15),
            request_timeout: Duration::from_secs(60),
            metrics_on_portal: true,
            metrics_token: None,
        }
    }
}

/// How long a shutdown waits for requests in flight before closing their connections.
const DRAIN: Duration = Duration::from_secs(10);

/// Serves `app` on `listener` until `shutdown` completes, then lets requests in flight finish
/// (up to [`DRAIN`]).
pub(crate) async fn serve_router(
    listener: TcpListener,
    app: Router,
    header_read_timeout: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let mut builder = auto::Builder::new(TokioExecutor::new()).http1_only();
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout);
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors or a connection reset before it was accepted:
                    // wait a moment instead of spinning, and keep serving.
                    tracing::warn!(error = %e, "could not accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let service = TowerToHyperService::new(app.clone());
        let connection = builder
            .serve_connection(TokioIo::new(stream), service)
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection ended");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("closed connections whose requests were still running at shutdown");
    }
    Ok(())
}
