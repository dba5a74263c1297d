//! `teamline bench save`: how long a change an admin saves takes to show as configured in
//! Teams when every Microsoft request takes `--latency-ms` (no propagation delay), against the
//! floor: the requests that must follow one another × the latency.
//!
//! Each sample turns calling on for one PBX user, as the portal's POST does (the change stored
//! and its push queued, on the job runner that `serve` runs), and ends when the user's stored
//! read-back shows them configured (push state In sync: Teamline read Microsoft after the
//! changes and it holds everything). A first user is set up before the samples, so the
//! tenant's token and policy ids are known, as they are in a running Teamline.

use super::{engine, quiet, testbed_for};
use crate::sim_process::SimProcess;
use clap::Args;
use serde::Serialize;
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};
use teamline_domain::audit::Actor;
use teamline_domain::ids::{EnterpriseId, PbxUserId};
use teamline_domain::pbx_user::PushState;
use teamline_engine::Engine;
use teamline_testkit::testbed;
use tokio_util::sync::CancellationToken;

/// Requests of one push that must follow one another: the number assignment (the policy
/// grants go alongside it), then the read-back that shows the user configured.
const SEQUENTIAL_REQUESTS: u64 = 2;

#[derive(Args, Debug, Clone)]
pub struct BenchSaveArgs {
    /// Saves timed, one after the other.
    #[arg(long, default_value_t = 10)]
    pub samples: usize,
    /// Latency the simulator adds to every Microsoft request, in milliseconds.
    #[arg(long, default_value_t = 100)]
    pub latency_ms: u64,
}

/// `teamline bench save`'s figures.
#[derive(Debug, Clone, Serialize)]
pub struct SaveFigures {
    pub samples: usize,
    pub latency_ms: u64,
    /// Sequential requests × latency.
    pub floor_ms: u64,
    pub median_ms: f64,
    pub p95_ms: f64,
    /// Median over the floor (target ≤ 1.2).
    pub ratio: f64,
    /// Microsoft requests per save (each item of a `$batch` counts), reads and writes.
    pub reads_per_save: f64,
    pub writes_per_save: f64,
}

pub async fn run(args: &BenchSaveArgs) -> anyhow::Result<SaveFigures> {
    const TENANT: &str = "benchsave";
    let samples = args.samples.max(1);
    let users = samples + 1;
    let exe = std::env::current_exe()?;
    println!(
        "Starting the Microsoft simulator ({} ms per request) ...",
        args.latency_ms
    );
    let sim = SimProcess::start(&exe, &format!("{TENANT}:{users}:{users}")).await?;
    let (engine, _db) = engine(&sim, quiet(), 4).await?;
    let tb = testbed_for(&engine, TENANT).await?;
    let e = tb.enterprise.id;
    engine.sync_directory(e, false).await?;
    let ids = testbed::seed_pbx_users(&engine, &tb, users, 100_000).await?;
    sim.patch_faults(TENANT, json!({ "latencyMs": args.latency_ms }))
        .await?;

    let cancel = CancellationToken::new();
    let runner = Arc::new(engine.runner("bench"));
    let task = tokio::spawn(runner.run(cancel.clone()));
    let result = async {
        // The tenant's token and policy ids, as a running Teamline has them.
        save_and_wait(&engine, e, ids[0]).await?;
        sim.reset_stats(TENANT).await?;
        let mut times = Vec::with_capacity(samples);
        for id in &ids[1..] {
            times.push(save_and_wait(&engine, e, *id).await?);
        }
        Ok::<_, anyhow::Error>(times)
    }
    .await;
    cancel.cancel();
    let _ = task.await;
    let stats = sim.stats(TENANT).await;
    sim.stop().await;
    let mut times = result?;
    let stats = stats?;
    let f = super::figures(&mut times);
    let floor_ms = SEQUENTIAL_REQUESTS * args.latency_ms;
    let per_save = |n: u64| (n as f64 / samples as f64 * 100.0).round() / 100.0;
    let figures = SaveFigures {
        samples,
        latency_ms: args.latency_ms,
        floor_ms,
        median_ms: (f.median_ms * 10.0).round() / 10.0,
        p95_ms: (f.p95_ms * 10.0).round() / 10.0,
        ratio: (f.median_ms / floor_ms.max(1) as f64 * 100.0).round() / 100.0,
        reads_per_save: per_save(stats.accepted_reads),
        writes_per_save: per_save(stats.accepted_writes),
    };
    let mut problems = Vec::new();
    if stats.throttled > 0 {
        problems.push(format!(
            "the simulator throttled {} requests: the times include waiting",
            stats.throttled
        ));
    }
    // Faster than the floor means a request did not take the latency: the set-up is wrong.
    if args.latency_ms > 0 && f.median_ms < floor_ms as f64 {
        problems.push(format!(
            "the median save took {:.1} ms, less than the floor of {floor_ms} ms",
            f.median_ms
        ));
    }
    super::validated(&figures, &problems)?;
    println!(
        "{samples} saves at {} ms per request: median {:.1} ms, p95 {:.1} ms; floor {floor_ms} ms ({SEQUENTIAL_REQUESTS} sequential requests), ratio {:.2}; {:.2} reads and {:.2} writes per save",
        args.latency_ms,
        figures.median_ms,
        figures.p95_ms,
        figures.ratio,
        figures.reads_per_save,
        figures.writes_per_save
    );
    println!("{}", serde_json::to_string(&figures)?);
    Ok(figures)
}

/// Turns calling on for one user and waits until the read-back shows them configured.
async fn save_and_wait(
    engine: &Engine,
    e: EnterpriseId,
    id: PbxUserId,
) -> anyhow::Result<Duration> {
    let actor = Actor::System("bench".into());
    let started = Instant::now();
    engine.set_calling(e, &actor, id, true).await?;
    loop {
        let item = engine.store().get_pbx_user(e, id).await?;
        match item.user.push_state {
            PushState::InSync => return Ok(started.elapsed()),
            PushState::Failed | PushState::Drift => anyhow::bail!(
                "{} did not end configured in Teams: {}",
                item.display_name,
                item.user.last_error.unwrap_or_default()
            ),
            _ => {}
        }
        if started.elapsed() > Duration::from_secs(60) {
            anyhow::bail!(
                "{} was not configured in Teams within 60 s",
                item.display_name
            );
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}
