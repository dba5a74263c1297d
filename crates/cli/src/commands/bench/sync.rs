//! `teamline bench sync`: a full sync of a large simulated tenant, then a delta round after a
//! share of the sync group changed, and Teamline's peak memory. With `--groups N` the tenant
//! has N overlapping sync groups: the full sync must end with exactly their union in scope
//! (as the simulator counts it), and so must the delta round after members left and joined.

use super::{engine, peak_rss_mb, quiet, testbed_for};
use crate::sim_process::SimProcess;
use anyhow::bail;
use clap::Args;
use futures::StreamExt;
use serde::Serialize;
use serde_json::json;
use std::time::Instant;
use teamline_domain::audit::{Actor, Audit};
use teamline_domain::sync_group::SyncGroupChoice;
use teamline_sim::microsoft::demo as ms;
use teamline_store::TeamsUserQuery;

const TENANT: &str = "benchsync";

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
    /// Sync groups of `--members` each, overlapping (each starts a stride after the last, so
    /// together they cover at most `--users`).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=50))]
    pub groups: u64,
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
    /// Sync groups synced.
    pub groups: u64,
    /// Distinct members of all the sync groups (the simulator's count) after the full sync
    /// and after the delta round; Teamline's users in scope matched both.
    pub union_members: u64,
    pub union_members_after_delta: u64,
    /// The full sync's time as a multiple of its floor (with latency).
    pub full_sync_floor_ratio: Option<f64>,
    pub peak_rss_mb: f64,
}

/// Full sync of `members` of `users`, then a delta round after `delta_percent` of the
/// members changed (renamed, lost Teams Phone, left the group, or non-members joined).
pub async fn run(args: &BenchSyncArgs) -> anyhow::Result<SyncFigures> {
    let members = args.members.min(args.users);
    let groups = usize::try_from(args.groups)?;
    let exe = std::env::current_exe()?;
    println!(
        "Starting the Microsoft simulator with {} users ({members} in each of {groups} sync groups) ...",
        args.users,
    );
    let sim =
        SimProcess::start(&exe, &format!("{TENANT}:{}:{members}:{groups}", args.users)).await?;
    let (engine, _db) = engine(&sim, quiet(), 4).await?;
    let tb = testbed_for(&engine, TENANT).await?;
    let e = tb.enterprise.id;
    let group_ids = choose_groups(&engine, e, groups).await?;

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
    let union = sim.group_union(TENANT, &group_ids).await?;
    if full.seen != union {
        bail!(
            "the full sync saw {} users, the sync groups have {union} members",
            full.seen
        );
    }
    let mut problems = Vec::new();
    check_in_scope(&engine, e, union, "full sync", &mut problems).await?;

    let changes = ((members as f64) * args.delta_percent / 100.0).round() as usize;
    let applied = if groups == 1 {
        apply_changes(&sim, TENANT, args.users, members, changes).await?
    } else {
        apply_group_changes(&sim, TENANT, args.users, members, groups, changes).await?
    };
    sim.reset_stats(TENANT).await?;
    let started = Instant::now();
    let delta = engine.sync_directory(e, false).await?;
    let delta_ms = started.elapsed().as_millis();
    let delta_requests = sim.stats(TENANT).await?.requests;
    if delta.full {
        bail!("the second sync was not a delta round: {delta:?}");
    }
    let union_after = sim.group_union(TENANT, &group_ids).await?;
    // Members who lost Teams Phone stay in scope but are no longer eligible.
    let eligible_after = union_after.saturating_sub(applied.unlicensed as u64);
    check_in_scope(&engine, e, eligible_after, "delta round", &mut problems).await?;
    if let Some(error) = full.error.as_ref().or(delta.error.as_ref()) {
        problems.push(format!("a sync failed: {error}"));
    }
    if full.seen != union || full.added != union {
        problems.push(format!(
            "the full sync read {} users and added {}: it must read every one of the {union} members",
            full.seen, full.added
        ));
    }
    if groups == 1
        && (delta.seen < applied.total() as u64
            || delta.changed < applied.renamed as u64
            || delta.added < applied.joined as u64
            || delta.flagged < (applied.unlicensed + applied.left) as u64)
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
        groups: args.groups,
        union_members: union,
        union_members_after_delta: union_after,
        full_sync_floor_ratio: (floor_ms > 0)
            .then(|| ((full_ms as f64 / floor_ms as f64) * 100.0).round() / 100.0),
        peak_rss_mb: (peak_rss_mb() * 10.0).round() / 10.0,
    };
    println!("peak RSS of Teamline: {:.1} MiB", figures.peak_rss_mb);
    sim.stop().await;
    super::validated(&figures, &problems)?;
    println!("{}", serde_json::to_string(&figures)?);
    Ok(figures)
}

/// Chooses the tenant's first `groups` generated sync groups as the enterprise's sync groups;
/// returns their object ids.
async fn choose_groups(
    engine: &teamline_engine::Engine,
    e: teamline_domain::ids::EnterpriseId,
    groups: usize,
) -> anyhow::Result<Vec<String>> {
    let mut choices = Vec::with_capacity(groups);
    for k in 0..groups {
        let name = ms::generated_sync_group_name(k);
        let id = ms::generated_group_id(TENANT, &name);
        choices.push(SyncGroupChoice::parse(&id, &name)?);
    }
    if groups > 1 {
        let audit = Audit::new(
            Actor::System("bench".into()),
            "sync_groups.set",
            "benchmark sync groups",
        );
        engine.store().set_sync_groups(e, &choices, &audit).await?;
    }
    Ok(choices.iter().map(|c| c.object_id().to_owned()).collect())
}

/// Teamline's users in scope must be exactly the sync groups' members. Every generated user
/// is licensed for Teams Phone (until a delta change takes it away: `expected` leaves those
/// out) and none is paired yet, so the users eligible for SET UP PBX USER are the users in
/// scope.
async fn check_in_scope(
    engine: &teamline_engine::Engine,
    e: teamline_domain::ids::EnterpriseId,
    expected: u64,
    after: &str,
    problems: &mut Vec<String>,
) -> anyhow::Result<()> {
    let query = TeamsUserQuery {
        eligible_unpaired_only: true,
        limit: 1,
        ..TeamsUserQuery::default()
    };
    let in_scope = engine.store().list_teams_users(e, &query).await?.total;
    println!("after the {after}: {in_scope} users in scope and eligible, expected {expected}");
    if in_scope != expected {
        problems.push(format!(
            "after the {after} {in_scope} users are in scope and eligible, but the sync groups have {expected} such members"
        ));
    }
    Ok(())
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

/// With several groups: `n` changes of membership, half leaving (each taken out of the first
/// group: a member also in the second stays in scope, one only in the first leaves it) and
/// half joining the last group from the users outside every group (or back into it).
async fn apply_group_changes(
    sim: &SimProcess,
    tenant: &str,
    users: usize,
    members: usize,
    groups: usize,
    n: usize,
) -> anyhow::Result<Changes> {
    let first = ms::generated_sync_group_range(users, members, groups, 0);
    let last = ms::generated_sync_group_range(users, members, groups, groups - 1);
    let first_group = ms::generated_sync_group_name(0);
    let last_group = ms::generated_sync_group_name(groups - 1);
    let leaving = (n / 2).min(first.len());
    // Users at both ends of the first group: those past the second group's start stay in
    // scope through it.
    let half = leaving / 2;
    let mut work: Vec<(usize, bool)> = Vec::new();
    work.extend(first.clone().take(leaving - half).map(|i| (i, false)));
    work.extend(first.clone().rev().take(half).map(|i| (i, false)));
    let outside: Vec<usize> = (last.end..users).collect();
    let joining = (n - leaving).min(outside.len());
    work.extend(outside.iter().take(joining).map(|&i| (i, true)));
    let results: Vec<anyhow::Result<()>> = futures::stream::iter(work)
        .map(|(i, join)| {
            let upn = ms::generated_user_upn(tenant, i);
            let (first_group, last_group) = (&first_group, &last_group);
            async move {
                if join {
                    sim.add_member(tenant, last_group, &upn).await
                } else {
                    sim.remove_member(tenant, first_group, &upn).await
                }
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    results.into_iter().collect::<anyhow::Result<()>>()?;
    Ok(Changes {
        renamed: 0,
        unlicensed: 0,
        left: leaving,
        joined: joining,
    })
}
