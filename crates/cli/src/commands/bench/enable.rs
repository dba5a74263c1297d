//! `teamline bench enable`: Enable Calling for many users while the simulated tenant accepts
//! N requests per 10 s; the achieved rate as a fraction of N.

use super::{engine, quiet, testbed_for};
use crate::sim_process::SimProcess;
use clap::Args;
use serde::Serialize;
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};
use teamline_domain::pbx_user::PushState;
use teamline_engine::{Engine, EngineSettings};
use teamline_store::JobQuery;
use teamline_testkit::testbed;
use tokio_util::sync::CancellationToken;

#[derive(Args, Debug, Clone)]
pub struct BenchEnableArgs {
    /// Users whose calling is enabled.
    #[arg(long, default_value_t = 2_000)]
    pub users: usize,
    /// Requests the simulated tenant accepts per 10-second window (N).
    #[arg(long, default_value_t = 2_000)]
    pub budget: u32,
    /// Jobs run at once.
    #[arg(long, default_value_t = 64)]
    pub runner_concurrency: usize,
    /// Requests at once per tenant.
    #[arg(long, default_value_t = 4)]
    pub tenant_concurrency: usize,
}

/// `teamline bench enable`'s figures.
#[derive(Debug, Clone, Serialize)]
pub struct EnableFigures {
    pub users: usize,
    pub budget_per_10s: u32,
    pub elapsed_ms: u128,
    /// Requests Microsoft accepted (not answered 429).
    pub requests_accepted: u64,
    pub requests_throttled: u64,
    pub early_requests: u64,
    /// Accepted requests per 10 s, as a fraction of the budget.
    pub rate_fraction: f64,
    pub users_in_sync: usize,
    pub failed_users: usize,
    pub writes_per_user: f64,
}

/// Enables calling for `users` users while the tenant accepts `budget` requests per 10 s.
pub async fn run(args: &BenchEnableArgs) -> anyhow::Result<EnableFigures> {
    const TENANT: &str = "benchenable";
    let exe = std::env::current_exe()?;
    println!(
        "Starting the Microsoft simulator with {} users, {} requests per 10 s ...",
        args.users, args.budget
    );
    let sim = SimProcess::start(&exe, &format!("{TENANT}:{}:{}", args.users, args.users)).await?;
    let settings = EngineSettings {
        runner_concurrency: args.runner_concurrency.max(1),
        ..quiet()
    };
    let (engine, _db) = engine(&sim, settings, args.tenant_concurrency).await?;
    let tb = testbed_for(&engine, TENANT).await?;
    let e = tb.enterprise.id;
    engine.sync_directory(e, false).await?;
    let ids = testbed::seed_pbx_users(&engine, &tb, args.users, 100_000).await?;
    sim.patch_faults(TENANT, json!({ "throttleBudget": args.budget }))
        .await?;
    sim.reset_stats(TENANT).await?;

    let started = Instant::now();
    testbed::enable_calling(&engine, e, &ids).await?;
    let cancel = CancellationToken::new();
    let runner = Arc::new(engine.runner("bench"));
    let task = tokio::spawn(runner.run(cancel.clone()));
    let store = engine.store().clone();
    let mut last_report = Instant::now();
    let (in_sync, failed) = loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let unfinished = |limit| JobQuery {
            enterprise_id: Some(e),
            unfinished_only: true,
            limit,
            ..Default::default()
        };
        if store.list_jobs(&unfinished(1)).await?.is_empty() {
            break (
                count_state(&engine, e, &ids, PushState::InSync).await?,
                count_state(&engine, e, &ids, PushState::Failed).await?,
            );
        }
        if last_report.elapsed() > Duration::from_secs(10) {
            last_report = Instant::now();
            let left = store.list_jobs(&unfinished(100_000)).await?.len();
            println!(
                "  {:>5.1} s: {left} jobs left, {} users failed",
                started.elapsed().as_secs_f64(),
                store.user_counts(e).await?.failed
            );
        }
    };
    let elapsed = started.elapsed();
    cancel.cancel();
    let _ = task.await;
    let stats = sim.stats(TENANT).await?;
    let writes = sim.write_counts(TENANT).await?;
    let accepted = stats.requests - stats.throttled;
    let per_window = accepted as f64 / elapsed.as_secs_f64() * 10.0;
    let figures = EnableFigures {
        users: args.users,
        budget_per_10s: args.budget,
        elapsed_ms: elapsed.as_millis(),
        requests_accepted: accepted,
        requests_throttled: stats.throttled,
        early_requests: stats.early,
        rate_fraction: (per_window / f64::from(args.budget.max(1)) * 1000.0).round() / 1000.0,
        users_in_sync: in_sync,
        failed_users: failed,
        writes_per_user: writes.values().sum::<u64>() as f64 / args.users.max(1) as f64,
    };
    println!(
        "enabled calling for {in_sync} of {} users in {:.1} s: {accepted} requests accepted ({per_window:.0} per 10 s = {:.3} of the budget), {} answered 429, {failed} failed",
        args.users,
        elapsed.as_secs_f64(),
        figures.rate_fraction,
        stats.throttled
    );
    sim.stop().await;
    println!("{}", serde_json::to_string(&figures)?);
    Ok(figures)
}

async fn count_state(
    engine: &Engine,
    e: teamline_domain::ids::EnterpriseId,
    ids: &[teamline_domain::ids::PbxUserId],
    state: PushState,
) -> anyhow::Result<usize> {
    let mut n = 0;
    for id in ids {
        if engine.store().get_pbx_user(e, *id).await?.user.push_state == state {
            n += 1;
        }
    }
    Ok(n)
}
