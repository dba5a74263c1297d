//! `teamline bench enable`: Enable Calling for many users while the simulated tenant accepts
//! N requests per throttling window; the achieved rate as a fraction of N.
//!
//! The rate is measured over the simulator's own throttling windows: a window starts at the
//! first request after the previous one ended, and only whole windows count (the last one,
//! in which the work ended, is partial and would flatter the figure). Gaps between windows,
//! when Teamline sent nothing, count against the rate.

use super::{engine, quiet, testbed_for};
use crate::sim_process::SimProcess;
use clap::Args;
use serde::Serialize;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use teamline_domain::pbx_user::PushState;
use teamline_engine::{Engine, EngineSettings};
use teamline_sim::microsoft::{RequestStats, WindowStats};
use teamline_store::JobQuery;
use teamline_testkit::testbed;
use tokio_util::sync::CancellationToken;

#[derive(Args, Debug, Clone)]
pub struct BenchEnableArgs {
    /// Users whose calling is enabled.
    #[arg(long, default_value_t = 2_000)]
    pub users: usize,
    /// Requests the simulated tenant accepts per throttling window (N).
    #[arg(long, default_value_t = 2_000)]
    pub budget: u32,
    /// The simulator's throttling window in milliseconds (Microsoft's is 10 s; a smoke run
    /// shortens it to see several windows quickly).
    #[arg(long, default_value_t = 10_000)]
    pub window_ms: u64,
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
    pub budget_per_window: u32,
    pub window_ms: u64,
    pub elapsed_ms: u128,
    /// Requests Microsoft accepted (not answered 429), reads and writes.
    pub requests_accepted: u64,
    pub reads_accepted: u64,
    pub writes_accepted: u64,
    pub requests_throttled: u64,
    pub early_requests: u64,
    /// Whole throttling windows measured, and the time they span (from the first window's
    /// start to the end of the last whole one).
    pub whole_windows: usize,
    pub measured_ms: u64,
    /// Requests accepted in the whole windows, reads and writes.
    pub measured_reads: u64,
    pub measured_writes: u64,
    /// Accepted requests per window over the whole windows, as a fraction of the budget.
    pub rate_fraction: f64,
    pub users_in_sync: usize,
    pub failed_users: usize,
    /// Users enabled per minute of the whole run.
    pub users_per_minute: f64,
    /// Requests Microsoft accepted per user (each item of a `$batch` counts, as Microsoft
    /// throttles them one by one; a policy granted to a list of users is one request).
    pub requests_per_user: f64,
    /// Changes Microsoft made per user (a listed user's grant counts for that user).
    pub writes_per_user: f64,
    /// Requests Microsoft accepted by kind (method and path without ids), per user.
    pub accepted_per_user_by_kind: BTreeMap<String, f64>,
}

/// The achieved rate over the whole windows of the simulator's stats.
struct Measured {
    windows: usize,
    span_ms: u64,
    reads: u64,
    writes: u64,
}

impl Measured {
    /// Every window that ended, except the last one the stats saw: the work ended in it.
    fn of(windows: &[WindowStats]) -> Self {
        let whole: Vec<&WindowStats> = match windows.split_last() {
            Some((_, earlier)) => earlier.iter().filter(|w| w.ended).collect(),
            None => Vec::new(),
        };
        Self {
            windows: whole.len(),
            span_ms: whole.last().map_or(0, |w| w.start_ms + w.length_ms),
            reads: whole.iter().map(|w| w.reads).sum(),
            writes: whole.iter().map(|w| w.writes).sum(),
        }
    }

    fn fraction(&self, budget: u32, window_ms: u64) -> f64 {
        if self.span_ms == 0 {
            return 0.0;
        }
        let possible = self.span_ms as f64 / window_ms.max(1) as f64 * f64::from(budget.max(1));
        (self.reads + self.writes) as f64 / possible
    }
}

/// Enables calling for `users` users while the tenant accepts `budget` requests per 10 s.
pub async fn run(args: &BenchEnableArgs) -> anyhow::Result<EnableFigures> {
    const TENANT: &str = "benchenable";
    let exe = std::env::current_exe()?;
    println!(
        "Starting the Microsoft simulator with {} users, {} requests per {} ms ...",
        args.users, args.budget, args.window_ms
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
    sim.patch_faults(
        TENANT,
        json!({ "throttleBudget": args.budget, "throttleWindowMs": args.window_ms }),
    )
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
    sim.stop().await;
    let accepted = stats.requests - stats.throttled;
    let measured = Measured::of(&stats.windows);
    let fraction = measured.fraction(args.budget, args.window_ms);
    let figures = EnableFigures {
        users: args.users,
        budget_per_window: args.budget,
        window_ms: args.window_ms,
        elapsed_ms: elapsed.as_millis(),
        requests_accepted: accepted,
        reads_accepted: stats.accepted_reads,
        writes_accepted: stats.accepted_writes,
        requests_throttled: stats.throttled,
        early_requests: stats.early,
        whole_windows: measured.windows,
        measured_ms: measured.span_ms,
        measured_reads: measured.reads,
        measured_writes: measured.writes,
        rate_fraction: (fraction * 1000.0).round() / 1000.0,
        users_in_sync: in_sync,
        failed_users: failed,
        users_per_minute: (in_sync as f64 / elapsed.as_secs_f64().max(0.001) * 60.0 * 10.0).round()
            / 10.0,
        requests_per_user: (accepted as f64 / args.users.max(1) as f64 * 100.0).round() / 100.0,
        writes_per_user: writes.values().sum::<u64>() as f64 / args.users.max(1) as f64,
        accepted_per_user_by_kind: stats
            .by_kind
            .iter()
            .filter(|(_, k)| k.accepted > 0)
            .map(|(kind, k)| {
                let per_user = k.accepted as f64 / args.users.max(1) as f64;
                (kind.clone(), (per_user * 1000.0).round() / 1000.0)
            })
            .collect(),
    };
    super::validated(&figures, &problems(&figures, &stats))?;
    println!(
        "enabled calling for {in_sync} of {} users in {:.1} s ({:.1} users per minute): {accepted} requests accepted ({} reads, {} writes), {} answered 429, {failed} failed; over {} whole windows ({} ms) {} reads and {} writes = {:.3} of the budget",
        args.users,
        elapsed.as_secs_f64(),
        figures.users_per_minute,
        stats.accepted_reads,
        stats.accepted_writes,
        stats.throttled,
        measured.windows,
        measured.span_ms,
        measured.reads,
        measured.writes,
        figures.rate_fraction,
    );
    println!("requests by kind: accepted (per user), answered 429");
    for (kind, k) in &stats.by_kind {
        println!(
            "  {kind}: {} ({:.3}), {}",
            k.accepted,
            k.accepted as f64 / args.users.max(1) as f64,
            k.throttled
        );
    }
    println!("{}", serde_json::to_string(&figures)?);
    Ok(figures)
}

/// What would make the figures meaningless.
fn problems(f: &EnableFigures, stats: &RequestStats) -> Vec<String> {
    let mut problems = Vec::new();
    if f.users_in_sync != f.users || f.failed_users > 0 {
        problems.push(format!(
            "{} of {} users ended in sync and {} failed: every user must end in sync",
            f.users_in_sync, f.users, f.failed_users
        ));
    }
    if f.whole_windows == 0 {
        problems.push(format!(
            "the run saw no whole throttling window ({} windows in all): enable more users or shorten --window-ms",
            stats.windows.len()
        ));
    }
    if stats.accepted_reads + stats.accepted_writes != f.requests_accepted {
        problems.push(format!(
            "the simulator counted {} reads and {} writes but {} accepted requests",
            stats.accepted_reads, stats.accepted_writes, f.requests_accepted
        ));
    }
    let by_kind: u64 = stats.by_kind.values().map(|k| k.accepted).sum();
    if by_kind != f.requests_accepted {
        problems.push(format!(
            "the simulator's requests by kind add up to {by_kind}, not the {} accepted requests",
            f.requests_accepted
        ));
    }
    // More than the budget per window is impossible: the measurement would be wrong.
    if f.rate_fraction > 1.0 {
        problems.push(format!(
            "the rate over whole windows is {:.3} of the budget, more than the simulator lets through",
            f.rate_fraction
        ));
    }
    problems
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

#[cfg(test)]
mod tests {
    use super::*;

    fn window(start_ms: u64, reads: u64, writes: u64, ended: bool) -> WindowStats {
        WindowStats {
            start_ms,
            length_ms: 10_000,
            reads,
            writes,
            throttled: 0,
            ended,
        }
    }

    #[test]
    fn only_whole_windows_count_and_gaps_count_against_the_rate() {
        // Two full windows, a gap of 5 s with nothing sent, then the window the work ended in.
        let windows = [
            window(0, 500, 1_500, true),
            window(10_000, 400, 1_600, true),
            window(25_000, 10, 90, true),
        ];
        let m = Measured::of(&windows);
        assert_eq!(
            (m.windows, m.span_ms, m.reads, m.writes),
            (2, 20_000, 900, 3_100)
        );
        assert_eq!(m.fraction(2_000, 10_000), 1.0);
        let gap = [
            window(0, 0, 2_000, true),
            window(15_000, 0, 2_000, true),
            window(30_000, 0, 1, false),
        ];
        assert_eq!(
            Measured::of(&gap).fraction(2_000, 10_000),
            4_000.0 / 5_000.0
        );
        // A single (partial) window measures nothing.
        assert_eq!(Measured::of(&[window(0, 0, 100, true)]).windows, 0);
    }
}
