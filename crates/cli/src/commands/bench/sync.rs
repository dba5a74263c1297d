//! `teamline bench sync`: a full sync of a large simulated tenant, then a delta round after a
//! share of the sync group changed, and Teamline's peak memory.

use super::{engine, peak_rss_mb, quiet, testbed_for};
use crate::sim_process::SimProcess;
use anyhow::bail;
use clap::Args;
use futures::StreamExt;
use serde::Serialize;
use serde_json::json;
use std::time::Instant;
use teamline_sim::microsoft::demo as ms;

#[derive(Args, Debug, Clone)]
pub struct BenchSyncArgs {
    /// Users in the simulated tenant.
    #[arg(long, default_value_t = 100_000)]
    pub users: usize,
    /// Of those, members of the sync group.
    #[arg(long, default_value_t = 20_000)]
    pub members: usize,
    /// Share of the sync group changed before the delta round, in percent.
    #[arg(long, default_value_t = 1.0)]
    pub delta_percent: f64,
    /// Latency the simulator adds to every Graph request, as over a real network (ms).
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
}

/// `teamline bench sync`'s figures.
#[derive(Debug, Clone, Serialize)]
pub struct SyncFigures {
    pub users: usize,
    pub members: usize,
    pub full_sync_ms: u128,
    pub full_sync_users: u64,
    pub full_sync_requests: u64,
    /// The simulator's added latency per request.
    pub latency_ms: u64,
    /// The full sync's requests one after the other, each taking the latency: the least
    /// time it can take.
    pub full_sync_floor_ms: u128,
    pub delta_changes: usize,
    pub delta_sync_ms: u128,
    pub delta_sync_seen: u64,
    pub delta_sync_requests: u64,
    pub peak_rss_mb: f64,
}

/// Full sync of `members` of `users`, then a delta round after `delta_percent` of the
/// members changed (renamed, lost Teams Phone, left the group, or non-members joined).
pub async fn run(args: &BenchSyncArgs) -> anyhow::Result<SyncFigures> {
    const TENANT: &str = "benchsync";
    let members = args.members.min(args.users);
    let exe = std::env::current_exe()?;
    println!(
        "Starting the Microsoft simulator with {} users ({members} in \"{}\") ...",
        args.users,
        ms::SYNC_GROUP
    );
    let sim = SimProcess::start(&exe, &format!("{TENANT}:{}:{members}", args.users)).await?;
    let (engine, _db) = engine(&sim, quiet(), 4).await?;
    let tb = testbed_for(&engine, TENANT).await?;
    let e = tb.enterprise.id;

    if args.latency_ms > 0 {
        sim.patch_faults(TENANT, json!({ "latencyMs": args.latency_ms }))
            .await?;
    }
    sim.reset_stats(TENANT).await?;
    let started = Instant::now();
    let full = engine.sync_directory(e, true).await?;
    let full_ms = started.elapsed().as_millis();
    let full_requests = sim.stats(TENANT).await?.requests;
    let floor_ms = u128::from(full_requests) * u128::from(args.latency_ms);
    println!(
        "full sync: {} users in {full_ms} ms ({full_requests} requests, floor {floor_ms} ms): {}",
        full.seen,
        full.summary()
    );
    if full.seen != members as u64 {
        bail!(
            "the full sync saw {} users, the sync group has {members}",
            full.seen
        );
    }

    let changes = ((members as f64) * args.delta_percent / 100.0).round() as usize;
    let applied = apply_changes(&sim, TENANT, args.users, members, changes).await?;
    sim.reset_stats(TENANT).await?;
    let started = Instant::now();
    let delta = engine.sync_directory(e, false).await?;
    let delta_ms = started.elapsed().as_millis();
    let delta_requests = sim.stats(TENANT).await?.requests;
    if delta.full {
        bail!("the second sync was not a delta round: {delta:?}");
    }
    let mut problems = Vec::new();
    if let Some(error) = full.error.as_ref().or(delta.error.as_ref()) {
        problems.push(format!("a sync failed: {error}"));
    }
    if full.seen != members as u64 || full.added != members as u64 {
        problems.push(format!(
            "the full sync read {} users and added {}: it must read every one of the {members} members",
            full.seen, full.added
        ));
    }
    if delta.seen < applied.total() as u64
        || delta.changed < applied.renamed as u64
        || delta.added < applied.joined as u64
        || delta.flagged < (applied.unlicensed + applied.left) as u64
    {
        problems.push(format!(
            "the delta round saw {} changes ({} changed, {} added, {} flagged) of the {} made ({} renamed, {} lost Teams Phone, {} left, {} joined): it must see every change",
            delta.seen,
            delta.changed,
            delta.added,
            delta.flagged,
            applied.total(),
            applied.renamed,
            applied.unlicensed,
            applied.left,
            applied.joined
        ));
    }
    println!(
        "delta round after {changes} changes: {delta_ms} ms ({delta_requests} requests): {}",
        delta.summary()
    );
    let figures = SyncFigures {
        users: args.users,
        members,
        full_sync_ms: full_ms,
        full_sync_users: full.seen,
        full_sync_requests: full_requests,
        latency_ms: args.latency_ms,
        full_sync_floor_ms: floor_ms,
        delta_changes: applied.total(),
        delta_sync_ms: delta_ms,
        delta_sync_seen: delta.seen,
        delta_sync_requests: delta_requests,
        peak_rss_mb: (peak_rss_mb() * 10.0).round() / 10.0,
    };
    println!("peak RSS of Teamline: {:.1} MiB", figures.peak_rss_mb);
    sim.stop().await;
    super::validated(&figures, &problems)?;
    println!("{}", serde_json::to_string(&figures)?);
    Ok(figures)
}

/// The changes made before the delta round.
struct Changes {
    renamed: usize,
    unlicensed: usize,
    left: usize,
    joined: usize,
}

impl Changes {
    fn total(&self) -> usize {
        self.renamed + self.unlicensed + self.left + self.joined
    }
}

/// Changes `n` members: half renamed, a quarter lose Teams Phone, an eighth leave the sync
/// group, and an eighth of non-members join it.
async fn apply_changes(
    sim: &SimProcess,
    tenant: &str,
    users: usize,
    members: usize,
    n: usize,
) -> anyhow::Result<Changes> {
    let renamed = n / 2;
    let unlicensed = n / 4;
    let leaving = n / 8;
    let joining = (n - renamed - unlicensed - leaving).min(users - members);
    let upn = |i: usize| ms::generated_user_upn(tenant, i);
    let mut work: Vec<(usize, u8)> = Vec::new();
    work.extend((0..renamed).map(|i| (i, 0)));
    work.extend((renamed..renamed + unlicensed).map(|i| (i, 1)));
    work.extend((renamed + unlicensed..renamed + unlicensed + leaving).map(|i| (i, 2)));
    work.extend((members..members + joining).map(|i| (i, 3)));
    let results: Vec<anyhow::Result<()>> = futures::stream::iter(work)
        .map(|(i, what)| {
            let upn = upn(i);
            async move {
                match what {
                    0 => {
                        sim.patch_user(tenant, &upn, json!({"displayName": format!("Renamed {i}")}))
                            .await
                    }
                    1 => {
                        let plans = json!([{"servicePlanId": ms::PLAN_TEAMS1, "capabilityStatus": "Enabled"}]);
                        sim.patch_user(tenant, &upn, json!({ "plans": plans })).await
                    }
                    2 => sim.remove_member(tenant, ms::SYNC_GROUP, &upn).await,
                    _ => sim.add_member(tenant, ms::SYNC_GROUP, &upn).await,
                }
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    results.into_iter().collect::<anyhow::Result<()>>()?;
    Ok(Changes {
        renamed,
        unlicensed,
        left: leaving,
        joined: joining,
    })
}
