//! `teamline serve`: the web server and the job runner in one process.

use crate::config::{StoreArgs, open_store, worker_id};
use clap::Args;
use std::net::SocketAddr;
use std::sync::Arc;
use teamline_engine::Runner;
use teamline_store::DynStore;
use tokio_util::sync::CancellationToken;

#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    #[command(flatten)]
    pub store: StoreArgs,

    /// Address to listen on.
    #[arg(long, env = "TEAMLINE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
}

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let opened = open_store(&args.store).await?;
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, "Teamline is listening");
    println!("Teamline is running at http://{addr}");
    run_app(opened.store, listener, shutdown_signal()).await
}

/// Serves `store` on `listener` with a job runner until `shutdown` resolves.
pub async fn run_app(
    store: DynStore,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let cancel = CancellationToken::new();
    let runner = Arc::new(Runner::new(store.clone(), worker_id()));
    let runner_task = tokio::spawn(runner.run(cancel.clone()));
    let state = teamline_web::AppState {
        store,
        metrics: teamline_web::metrics::install(),
    };
    let web_cancel = cancel.clone();
    let served = teamline_web::serve(listener, state, async move {
        tokio::select! {
            () = shutdown => {}
            () = web_cancel.cancelled() => {}
        }
    })
    .await;
    cancel.cancel();
    let _ = runner_task.await;
    served.map_err(Into::into)
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutting down");
}
