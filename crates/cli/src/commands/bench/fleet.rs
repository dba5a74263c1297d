//! `teamline bench fleet`: a service provider's fleet — many enterprises, each its own
//! simulated Microsoft tenant behind a network latency — synced by the scheduler and job
//! runner exactly as `teamline serve` syncs them periodically. Times one scheduled cycle over
//! the whole fleet with nothing changed, then one after a share of every tenant's users
//! changed, with Teamline's own CPU time per tenant, the requests per tenant (counted by the
//! simulator) and peak memory.

use super::users_page::BenchBackend;
use super::{peak_rss_mb, testbed_for};
use crate::commands::serve::EngineArgs;
use crate::sim_process::SimProcess;
use clap::Args;
use futures::{StreamExt, TryStreamExt};
use serde::Serialize;
use serde_json::json;
use std::time::{Duration, Instant};
use teamline_domain::ids::EnterpriseId;
use teamline_engine::{Engine, EngineSettings};
use teamline_sim::microsoft::demo as ms;
use teamline_store::{JobQuery, TeamsUserQuery};
use teamline_testkit::{TestDatabase, Workers, engine_for};

/// Targets at the default size (2 000 enterprises × 50 users, 50 ms per request).
const IDLE_CYCLE_TARGET_MS: u128 = 30_000;
const CHANGED_CYCLE_TARGET_MS: u128 = 60_000;
const IDLE_CPU_MS_PER_TENANT_TARGET: f64 = 2.0;
const PEAK_RSS_TARGET_MB: f64 = 300.0;

/// Control API calls (stats, changes) at once: loopback, no latency.
const CONTROL_CONCURRENCY: usize = 32;

#[derive(Args, Debug, Clone)]
pub struct BenchFleetArgs {
    /// Enterprises, each its own simulated Microsoft tenant.
    #[arg(long, default_value_t = 2_000)]
    pub enterprises: usize,
    /// Users of each tenant, all in its sync group.
    #[arg(long, default_value_t = 50)]
    pub users_per_enterprise: usize,
    /// Latency the simulator adds to every Graph and Teams admin request (ms).
    #[arg(long, default_value_t = 50)]
    pub latency_ms: u64,
    /// Share of each tenant's users renamed before the second cycle, in percent (at least
    /// one user per tenant).
    #[arg(long, default_value_t = 1.0)]
    pub changed_percent: f64,
    /// Jobs the runner works on at once across the fleet (`serve --runner-concurrency`);
    /// defaults to `serve`'s default.
    #[arg(long)]
    pub runner_concurrency: Option<usize>,
    /// The database Teamline stores the fleet in (a fresh one).
    #[arg(long, value_enum, default_value_t = BenchBackend::Sqlite)]
    pub backend: BenchBackend,
}

/// One scheduled cycle over the fleet.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CycleFigures {
    /// From the scheduler looking for due syncs until the last sync job finished.
    pub cycle_ms: u128,
    /// How long the scheduler took to queue every enterprise's sync (part of the cycle).
    pub queue_ms: u128,
    /// Teamline's CPU time (user + system) over the cycle, per tenant.
    pub cpu_ms_per_tenant: f64,
    /// The simulator's CPU time over the cycle (a separate process), in all.
    pub sim_cpu_ms: f64,
    pub requests: u64,
    pub requests_per_tenant: f64,
    /// Users the syncs added or changed, over the fleet.
    pub changes_applied: u64,
}

/// `teamline bench fleet`'s figures.
#[derive(Debug, Clone, Serialize)]
pub struct FleetFigures {
    pub backend: String,
    pub enterprises: usize,
    pub users_per_enterprise: usize,
    pub latency_ms: u64,
    pub runner_concurrency: usize,
    pub tenant_concurrency: usize,
    pub seed_ms: u128,
    /// The first cycle: a full read of every tenant.
    pub full: CycleFigures,
    /// A delta round of every tenant with nothing changed.
    pub idle: CycleFigures,
    /// Users renamed per tenant before the last cycle.
    pub changed_users_per_tenant: usize,
    pub changed: CycleFigures,
    pub peak_rss_mb: f64,
    pub tenants_synced: usize,
    pub changed_users_stored: usize,
    pub targets_met: bool,
    /// What went wrong (the bench then prints no figures).
    #[serde(skip)]
    pub problems: Vec<String>,
}

/// Seeds the fleet, syncs it fully, then times an idle and a changed cycle.
pub async fn run(args: &BenchFleetArgs) -> anyhow::Result<FleetFigures> {
    const PREFIX: &str = "fleet";
    let n = args.enterprises.max(1);
    let m = args.users_per_enterprise.max(1);
    let defaults = EngineArgs::default();
    let runner_concurrency = args
        .runner_concurrency
        .unwrap_or(defaults.runner_concurrency)
        .max(1);
    let names: Vec<String> = (1..=n).map(|i| format!("{PREFIX}-{i}")).collect();
    let exe = std::env::current_exe()?;
    println!(
        "Starting the Microsoft simulator with {n} tenants of {m} users, {} ms per request ...",
        args.latency_ms
    );
    let sim = SimProcess::start_with(
        &exe,
        &format!("{PREFIX}*{n}:{m}:{m}"),
        &["--latency-ms", &args.latency_ms.to_string()],
    )
    .await?;
    // The scheduler's own interval is what makes an enterprise due; the bench asks it once per
    // cycle (as its loop does every tick) with every enterprise due, and turns the drift
    // checks off so the cycles hold directory syncs only.
    let settings = EngineSettings {
        directory_sync_every: Some(Duration::from_millis(1)),
        reconcile_every: None,
        runner_concurrency,
        ..defaults.settings()
    };
    let db = match args.backend {
        BenchBackend::Sqlite => TestDatabase::sqlite()?,
        BenchBackend::Postgres => TestDatabase::postgres().await,
    };
    let result = measure(args, &sim, &db, settings, &names).await;
    sim.stop().await;
    db.remove().await;
    let mut figures = result?;
    figures.peak_rss_mb = (peak_rss_mb() * 10.0).round() / 10.0;
    figures.targets_met = figures.idle.cycle_ms <= IDLE_CYCLE_TARGET_MS
        && figures.changed.cycle_ms <= CHANGED_CYCLE_TARGET_MS
        && figures.idle.cpu_ms_per_tenant <= IDLE_CPU_MS_PER_TENANT_TARGET
        && figures.peak_rss_mb <= PEAK_RSS_TARGET_MB;
    println!("peak RSS of Teamline: {:.1} MiB", figures.peak_rss_mb);
    super::validated(&figures, &figures.problems)?;
    println!("{}", serde_json::to_string(&figures)?);
    Ok(figures)
}

/// Seeds the fleet in `db` and runs the three cycles; the figures, with what went wrong.
async fn measure(
    args: &BenchFleetArgs,
    sim: &SimProcess,
    db: &TestDatabase,
    settings: EngineSettings,
    names: &[String],
) -> anyhow::Result<FleetFigures> {
    let n = names.len();
    let m = args.users_per_enterprise.max(1);
    let runner_concurrency = settings.runner_concurrency;
    let tenant_concurrency = EngineArgs::default().microsoft_tenant_concurrency;
    let engine = engine_for(
        db.open().await?,
        &sim.base_url,
        settings,
        tenant_concurrency,
    )?;

    let started = Instant::now();
    let enterprises = seed(&engine, names).await?;
    let seed_ms = started.elapsed().as_millis();
    println!("seeded {n} enterprises in {seed_ms} ms");

    let workers = Workers::new().runner(&engine, "bench-fleet");
    let full = cycle(&engine, sim, names).await?;
    println!(
        "full sync of the fleet: {} ms, {:.1} requests and {:.2} ms of CPU per tenant",
        full.cycle_ms, full.requests_per_tenant, full.cpu_ms_per_tenant
    );
    let mut problems = Vec::new();
    let synced = check_synced(&engine, &enterprises, true, &mut problems).await?;
    check_user_counts(&engine, &enterprises, m, &mut problems).await?;

    let idle = cycle(&engine, sim, names).await?;
    println!(
        "idle cycle: {} ms (queued in {} ms), {:.1} requests and {:.2} ms of CPU per tenant, {} changes; the simulator used {} ms of CPU",
        idle.cycle_ms,
        idle.queue_ms,
        idle.requests_per_tenant,
        idle.cpu_ms_per_tenant,
        idle.changes_applied,
        idle.sim_cpu_ms
    );
    check_synced(&engine, &enterprises, false, &mut problems).await?;
    if idle.changes_applied > 0 {
        problems.push(format!(
            "the idle cycle applied {} changes though nothing changed",
            idle.changes_applied
        ));
    }

    let per_tenant = ((m as f64) * args.changed_percent / 100.0).ceil().max(1.0) as usize;
    let per_tenant = per_tenant.min(m);
    let renamed = rename_users(sim, names, per_tenant).await?;
    let changed = cycle(&engine, sim, names).await?;
    println!(
        "cycle after {per_tenant} users per tenant changed: {} ms, {:.1} requests and {:.2} ms of CPU per tenant, {} changes",
        changed.cycle_ms,
        changed.requests_per_tenant,
        changed.cpu_ms_per_tenant,
        changed.changes_applied
    );
    let tenants_synced =
        synced.min(check_synced(&engine, &enterprises, false, &mut problems).await?);
    let stored = check_renamed(&engine, &enterprises, names, &renamed, &mut problems).await?;
    workers.stop().await;
    Ok(FleetFigures {
        backend: format!("{:?}", args.backend).to_lowercase(),
        enterprises: n,
        users_per_enterprise: m,
        latency_ms: args.latency_ms,
        runner_concurrency,
        tenant_concurrency,
        seed_ms,
        full,
        idle,
        changed_users_per_tenant: per_tenant,
        changed,
        peak_rss_mb: 0.0,
        tenants_synced,
        changed_users_stored: stored,
        targets_met: false,
        problems,
    })
}

/// Onboards an enterprise for each tenant (the first alone: it creates the shared reseller
/// and SBC region), many at once as the latency would otherwise dominate.
async fn seed(engine: &Engine, names: &[String]) -> anyhow::Result<Vec<EnterpriseId>> {
    let Some((first, rest)) = names.split_first() else {
        return Ok(Vec::new());
    };
    let mut ids = vec![testbed_for(engine, first).await?.enterprise.id];
    let more: Vec<EnterpriseId> = futures::stream::iter(rest)
        .map(|name| async move { anyhow::Ok(testbed_for(engine, name).await?.enterprise.id) })
        .buffered(64)
        .try_collect()
        .await?;
    ids.extend(more);
    Ok(ids)
}

/// CPU seconds (user + system) of this process, from `/proc/self/stat` (clock ticks of 10 ms).
fn own_cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let f: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, r)| r.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    (ticks(11) + ticks(12)) as f64 / 100.0
}

/// One cycle as the scheduler's loop runs it: every due enterprise's sync queued, the
/// runner working them off within its concurrency; ends when no job is left.
async fn cycle(
    engine: &Engine,
    sim: &SimProcess,
    names: &[String],
) -> anyhow::Result<CycleFigures> {
    for_each_tenant(names, |t| sim.reset_stats(t)).await?;
    let store = engine.store();
    let cpu = own_cpu_secs();
    let sim_cpu = sim.cpu_secs();
    let started = Instant::now();
    let queued = engine.scheduler().queue_due().await?;
    let queue_ms = started.elapsed().as_millis();
    loop {
        let left = store
            .list_jobs(&JobQuery {
                unfinished_only: true,
                limit: 1,
                ..Default::default()
            })
            .await?;
        if left.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let cycle_ms = started.elapsed().as_millis();
    let cpu_ms = (own_cpu_secs() - cpu) * 1000.0;
    let sim_cpu_ms = (sim.cpu_secs() - sim_cpu) * 1000.0;
    if queued.len() != names.len() {
        anyhow::bail!(
            "the scheduler queued {} syncs for {} enterprises with consent: each must be due",
            queued.len(),
            names.len()
        );
    }
    let requests: u64 = for_each_tenant(names, |t| async move { Ok(sim.stats(t).await?.requests) })
        .await?
        .into_iter()
        .sum();
    let changes_applied = applied(engine).await?;
    let n = names.len().max(1) as f64;
    Ok(CycleFigures {
        cycle_ms,
        queue_ms,
        cpu_ms_per_tenant: (cpu_ms / n * 100.0).round() / 100.0,
        sim_cpu_ms: sim_cpu_ms.round(),
        requests,
        requests_per_tenant: (requests as f64 / n * 10.0).round() / 10.0,
        changes_applied,
    })
}

/// Users added or changed by every enterprise's last sync.
async fn applied(engine: &Engine) -> anyhow::Result<u64> {
    let mut total = 0;
    for e in engine.store().list_enterprises(None).await? {
        if let Some(r) = last_result(engine, e.id).await? {
            total += r.changed + r.added;
        }
    }
    Ok(total)
}

/// The parts of an enterprise's last sync result the bench checks.
#[derive(Debug, serde::Deserialize)]
struct LastResult {
    #[serde(default)]
    full: bool,
    #[serde(default)]
    added: u64,
    #[serde(default)]
    changed: u64,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    finished_ms: i64,
}

async fn last_result(engine: &Engine, e: EnterpriseId) -> anyhow::Result<Option<LastResult>> {
    let state = engine.store().sync_state(e).await?;
    Ok(match state.last_result {
        Some(json) => Some(serde_json::from_str(&json)?),
        None => None,
    })
}

/// Every enterprise's last sync ended without an error, as a full read or a delta round as
/// expected; returns how many did.
async fn check_synced(
    engine: &Engine,
    enterprises: &[EnterpriseId],
    full: bool,
    problems: &mut Vec<String>,
) -> anyhow::Result<usize> {
    let mut ok = 0;
    let mut bad = Vec::new();
    for e in enterprises {
        match last_result(engine, *e).await? {
            Some(r) if r.error.is_none() && r.full == full && r.finished_ms > 0 => ok += 1,
            other => bad.push(format!("{e}: {other:?}")),
        }
    }
    if !bad.is_empty() {
        problems.push(format!(
            "{} of {} enterprises did not end their {} sync cleanly, e.g. {}",
            bad.len(),
            enterprises.len(),
            if full { "full" } else { "delta" },
            bad.iter().take(3).cloned().collect::<Vec<_>>().join("; ")
        ));
    }
    Ok(ok)
}

async fn check_user_counts(
    engine: &Engine,
    enterprises: &[EnterpriseId],
    users: usize,
    problems: &mut Vec<String>,
) -> anyhow::Result<()> {
    let mut short = 0;
    for e in enterprises {
        let page = engine
            .store()
            .list_teams_users(
                *e,
                &TeamsUserQuery {
                    limit: 1,
                    ..Default::default()
                },
            )
            .await?;
        if page.total != users as u64 {
            short += 1;
        }
    }
    if short > 0 {
        problems.push(format!(
            "{short} enterprises do not hold all {users} users of their tenant after the full sync"
        ));
    }
    Ok(())
}

/// Renames the first `per_tenant` users of every tenant; returns (tenant index, user index,
/// new name).
async fn rename_users(
    sim: &SimProcess,
    names: &[String],
    per_tenant: usize,
) -> anyhow::Result<Vec<(usize, usize, String)>> {
    let work: Vec<(usize, usize, String)> = (0..names.len())
        .flat_map(|t| (0..per_tenant).map(move |u| (t, u, format!("Changed {t} {u}"))))
        .collect();
    futures::stream::iter(work.iter())
        .map(|(t, u, new)| {
            let upn = ms::generated_user_upn(&names[*t], *u);
            async move {
                sim.patch_user(&names[*t], &upn, json!({ "displayName": new }))
                    .await
            }
        })
        .buffer_unordered(CONTROL_CONCURRENCY)
        .try_collect::<Vec<()>>()
        .await?;
    Ok(work)
}

/// Every renamed user's new name is stored; returns how many are.
async fn check_renamed(
    engine: &Engine,
    enterprises: &[EnterpriseId],
    names: &[String],
    renamed: &[(usize, usize, String)],
    problems: &mut Vec<String>,
) -> anyhow::Result<usize> {
    let mut stored = 0;
    let mut wrong = Vec::new();
    for (t, u, new) in renamed {
        let upn = ms::generated_user_upn(&names[*t], *u);
        let user = engine
            .store()
            .teams_user_by_upn(enterprises[*t], &upn)
            .await?;
        match user {
            Some(user) if &user.display_name == new => stored += 1,
            other => wrong.push(format!("{upn}: {:?}", other.map(|u| u.display_name))),
        }
    }
    if !wrong.is_empty() {
        problems.push(format!(
            "{} of {} renamed users do not have their new name in Teamline, e.g. {}",
            wrong.len(),
            renamed.len(),
            wrong.iter().take(3).cloned().collect::<Vec<_>>().join("; ")
        ));
    }
    Ok(stored)
}

/// Runs `f` for every tenant through the control API, a few at a time, in tenant order.
async fn for_each_tenant<'a, T, F, Fut>(names: &'a [String], f: F) -> anyhow::Result<Vec<T>>
where
    F: Fn(&'a str) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<T>>,
{
    futures::stream::iter(names.iter().map(|n| f(n.as_str())))
        .buffered(CONTROL_CONCURRENCY)
        .try_collect()
        .await
}
