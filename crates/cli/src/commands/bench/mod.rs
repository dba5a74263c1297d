//! `teamline bench …`: benchmarks that print their figures, the last line as JSON (tests never
//! assert on time). `users-page` measures the Users page of the demo stack; `sync`, `fleet`,
//! `enable` and `save` run against the Microsoft simulator as a separate process (`teamline sim`), so
//! the figures (wall time, peak memory) are Teamline's own.

mod calls;
mod enable;
mod fleet;
mod import;
mod proc_stats;
mod registrations;
mod save;
mod sync;
mod users_page;

use crate::sim_process::SimProcess;
use clap::{Args, Subcommand};
use std::time::Duration;
use teamline_domain::enterprise::TenantId;
use teamline_engine::{Engine, EngineSettings};
use teamline_sim::microsoft::demo as ms;
use teamline_testkit::testbed::{self, Testbed};
use teamline_testkit::{TestDatabase, engine_for};

pub use enable::EnableFigures;
pub use fleet::FleetFigures;
pub use save::SaveFigures;
pub use sync::SyncFigures;

#[derive(Args, Debug, Clone)]
pub struct BenchArgs {
    #[command(subcommand)]
    pub bench: Bench,
}

#[derive(Subcommand, Debug, Clone)]
pub enum Bench {
    /// Time the Users page (first page, searches, each filter) with many PBX users on SQLite
    /// or PostgreSQL (targets at 20 000 users: median 5 ms, p95 10 ms). Prints JSON last.
    UsersPage(users_page::UsersPageArgs),
    /// Full sync and a 1 % delta round of a large simulated tenant, and peak memory (targets:
    /// 5 s, 0.5 s, 200 MB). Prints JSON last.
    Sync(sync::BenchSyncArgs),
    /// A fleet of enterprises, each its own simulated tenant behind a network latency: one
    /// scheduled sync cycle over all with nothing changed (targets at 2 000 × 50 users and
    /// 50 ms: 30 s, 2 ms of CPU per tenant, 300 MB) and one after 1 % of the users changed
    /// (60 s). Prints JSON last.
    Fleet(fleet::BenchFleetArgs),
    /// Enable Calling for many users under a simulated throttle of N requests per window;
    /// prints the achieved rate over whole windows as a fraction of N (target 0.9), reads and
    /// writes apart and users per minute, as JSON last.
    Enable(enable::BenchEnableArgs),
    /// Time from turning a user's calling on to the read-back showing them configured in
    /// Teams, at a simulated latency per Microsoft request, against the floor (sequential
    /// requests × latency; target 1.2×). Prints JSON last.
    Save(save::BenchSaveArgs),
    /// Register many device handles through the gateway's Kamailio to the stand-in PBX
    /// registrar (targets: all registered in 60 s, reconcile 1 s, 150 MB). Prints JSON.
    Registrations(registrations::BenchRegistrationsArgs),
    /// Bulk Upload of a file of N rows (default 10 000): the check against the live PBX and
    /// Teams data (target 2 s), keeping the upload, and the apply with its progress. Prints
    /// JSON last.
    Import(import::BenchImportArgs),
    /// Concurrent calls with media both ways (Teams → PBX and PBX → Teams) through the
    /// gateway's Kamailio and rtpengine, sipp on every side (targets: 200 concurrent calls,
    /// 0 failed, setup latency the gateway adds p99 20 ms). Prints JSON last.
    Calls(calls::BenchCallsArgs),
}

pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    match args.bench {
        Bench::UsersPage(a) => users_page::run(a).await,
        Bench::Sync(a) => sync::run(&a).await.map(drop),
        Bench::Fleet(a) => fleet::run(&a).await.map(drop),
        Bench::Enable(a) => enable::run(&a).await.map(drop),
        Bench::Save(a) => save::run(&a).await.map(drop),
        Bench::Registrations(a) => registrations::run(&a).await,
        Bench::Import(a) => import::run(&a).await.map(drop),
        Bench::Calls(a) => calls::run(&a).await,
    }
}
/// Checks a benchmark's result before its figures are printed: any problem fails the command
/// (non-zero exit), naming what went wrong, with the figures for a closer look.
pub(super) fn validated<F: serde::Serialize>(
    figures: &F,
    problems: &[String],
) -> anyhow::Result<()> {
    if problems.is_empty() {
        return Ok(());
    }
    anyhow::bail!(
        "the benchmark's result is not valid, so it prints no figures:\n- {}\n(measured: {})",
        problems.join("\n- "),
        serde_json::to_string(figures).unwrap_or_default()
    )
}

/// Median and 95th percentile, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Figures {
    pub median_ms: f64,
    pub p95_ms: f64,
}

pub fn figures(samples: &mut [Duration]) -> Figures {
    samples.sort();
    let at = |q: f64| {
        if samples.is_empty() {
            return 0.0;
        }
        // Nearest-rank percentile.
        let rank = ((q * samples.len() as f64).ceil() as usize).clamp(1, samples.len());
        samples[rank - 1].as_secs_f64() * 1000.0
    };
    Figures {
        median_ms: at(0.5),
        p95_ms: at(0.95),
    }
}

/// This process's peak resident memory in MiB (Linux `VmHWM`).
pub fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// An engine on a fresh SQLite database, talking to the simulator.
pub(super) async fn engine(
    sim: &SimProcess,
    settings: EngineSettings,
    tenant_concurrency: usize,
) -> anyhow::Result<(Engine, TestDatabase)> {
    let db = TestDatabase::sqlite()?;
    let engine = engine_for(
        db.open().await?,
        &sim.base_url,
        settings,
        tenant_concurrency,
    )?;
    Ok((engine, db))
}

pub(super) async fn testbed_for(engine: &Engine, name: &str) -> anyhow::Result<Testbed> {
    Ok(testbed::seed_enterprise(
        engine,
        name,
        &TenantId::parse(&ms::generated_tenant_id(name))?,
        ms::SYNC_GROUP,
        "http://127.0.0.1:9/ns-api/v2",
    )
    .await?)
}

pub(super) fn quiet() -> EngineSettings {
    EngineSettings {
        directory_sync_every: None,
        reconcile_every: None,
        ..EngineSettings::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_p95_by_nearest_rank() {
        let mut samples: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        let f = figures(&mut samples);
        assert_eq!(f.median_ms, 50.0);
        assert_eq!(f.p95_ms, 95.0);
        assert_eq!(figures(&mut []).median_ms, 0.0);
    }
}
