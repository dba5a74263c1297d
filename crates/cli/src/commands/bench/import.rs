//! `teamline bench import --rows 10000`: a Bulk Upload file of N rows for a generated tenant
//! (N synced Teams users) and a generated PBX domain (N extensions): the time to check every
//! row against the live data (target under 2 s at 10 000 rows), to keep the upload, and to
//! apply it as a job with its progress. Fails unless every row checks clean and is set up.
//!
//! Each row pairs a user with the desk device its extension already has on the PBX, so the
//! check reads the PBX once per file (rows that create a `tm` device also ask the PBX for the
//! extension's emergency addresses, one request per row).

use super::{engine, quiet};
use crate::sim_process::SimProcess;
use clap::Args;
use serde::Serialize;
use std::sync::Arc;
use std::time::{Duration, Instant};
use teamline_domain::audit::Actor;
use teamline_domain::enterprise::TenantId;
use teamline_engine::import::CheckPhases;
use teamline_sim::microsoft::demo as ms;
use teamline_sim::netsapiens::{Access, DEMO_RESELLER, GENERATED_FIRST_EXTENSION, NetSapiensSim};
use teamline_store::{ImportState, TeamsUserQuery};
use teamline_testkit::testbed;
use tokio_util::sync::CancellationToken;

/// The check of a 10 000-row file should take less than this.
const VALIDATE_TARGET_MS: u128 = 2_000;
/// The PBX API key the testbed's PBX location is saved with.
const TESTBED_PBX_KEY: &str = "nsk_testbed";

#[derive(Args, Debug, Clone)]
pub struct BenchImportArgs {
    /// Rows in the file (one user each).
    #[arg(long, default_value_t = 10_000)]
    pub rows: usize,
    /// Requests at once per tenant.
    #[arg(long, default_value_t = 4)]
    pub tenant_concurrency: usize,
}

/// `teamline bench import`'s figures.
#[derive(Debug, Clone, Serialize)]
pub struct ImportFigures {
    pub rows: usize,
    /// Checking every row against the live PBX and Teams data (nothing written).
    pub validate_ms: u128,
    pub validate_target_ms: u128,
    pub validate_target_met: bool,
    /// Where the check's time went (the store and the PBX are read at the same time).
    pub validate_phases: CheckPhasesMs,
    /// Checking again and keeping the upload with each row's result.
    pub upload_ms: u128,
    /// From Apply until the import is done (every user stored, its work queued).
    pub apply_ms: u128,
    pub rows_applied_per_second: f64,
    pub bad_rows: u64,
    pub users_set_up: u64,
    /// Progress reports seen while applying (the apply reported as it went).
    pub progress_reports: usize,
}

/// [`teamline_engine::import::CheckPhases`] in milliseconds, with a fraction.
#[derive(Debug, Clone, Serialize)]
pub struct CheckPhasesMs {
    pub parse_csv: f64,
    pub store: f64,
    pub pbx_listing: f64,
    pub emergency_addresses: f64,
    pub rows: f64,
}

impl From<CheckPhases> for CheckPhasesMs {
    fn from(p: CheckPhases) -> Self {
        let ms = |d: Duration| (d.as_secs_f64() * 10_000.0).round() / 10.0;
        Self {
            parse_csv: ms(p.parse),
            store: ms(p.store),
            pbx_listing: ms(p.pbx_listing),
            emergency_addresses: ms(p.emergency_addresses),
            rows: ms(p.rows),
        }
    }
}

pub async fn run(args: &BenchImportArgs) -> anyhow::Result<ImportFigures> {
    const TENANT: &str = "benchimport";
    let n = args.rows.max(1);
    let exe = std::env::current_exe()?;
    println!("Starting the Microsoft simulator with {n} users and a PBX with {n} extensions ...");
    let sim = SimProcess::start(&exe, &format!("{TENANT}:{n}:{n}")).await?;
    let pbx_sim = NetSapiensSim::new().seed_generated(TENANT, u32::try_from(n)?);
    pbx_sim.add_api_key(
        TESTBED_PBX_KEY,
        Access::Reseller(DEMO_RESELLER.to_owned()),
        false,
    );
    let pbx = pbx_sim.spawn("127.0.0.1:0".parse()?).await?;
    let (engine, _db) = engine(&sim, quiet(), args.tenant_concurrency).await?;
    let tb = testbed::seed_enterprise(
        &engine,
        TENANT,
        &TenantId::parse(&ms::generated_tenant_id(TENANT))?,
        ms::SYNC_GROUP,
        &format!("{}/ns-api/v2", pbx.base_url),
    )
    .await?;
    let e = tb.enterprise.id;
    engine.sync_directory(e, false).await?;
    let store = engine.store().clone();
    let users = store
        .list_teams_users(
            e,
            &TeamsUserQuery {
                eligible_unpaired_only: true,
                limit: u32::try_from(n)?,
                ..Default::default()
            },
        )
        .await?
        .items;
    anyhow::ensure!(
        users.len() == n,
        "only {} eligible Teams users were synced, {n} are needed",
        users.len()
    );
    let mut file = String::from("Teams User,SIP User,Phone Number,User Devices\r\n");
    for (i, u) in users.iter().enumerate() {
        let ext = GENERATED_FIRST_EXTENSION as usize + i;
        file.push_str(&format!("{},{ext},+1206{ext:07},{ext}\r\n", u.upn));
    }

    println!("Checking {n} rows ...");
    let started = Instant::now();
    let check = engine.check_import(e, &file).await?;
    let validate = started.elapsed();
    // Said at once: the figure that matters most, before the longer apply.
    println!(
        "Checked {n} rows in {} ms (target {VALIDATE_TARGET_MS} ms): {:?}",
        validate.as_millis(),
        check.phases
    );
    let bad: Vec<String> = check
        .bad_rows()
        .take(3)
        .map(|r| format!("row {}: {:?}", r.row, r.outcome.as_ref().err()))
        .collect();

    let admin = Actor::System("bench import".into());
    let started = Instant::now();
    let (import, _) = engine.upload_import(e, &admin, "bench.csv", &file).await?;
    let upload = started.elapsed();

    let mut reports = 0;
    let mut apply = Duration::ZERO;
    let mut finished = import.clone();
    if import.bad_rows == 0 {
        println!("Applying {n} rows ...");
        let cancel = CancellationToken::new();
        let runner = Arc::new(engine.runner("bench"));
        let task = tokio::spawn(runner.run(cancel.clone()));
        let started = Instant::now();
        engine.apply_import_later(e, &admin, import.id).await?;
        let mut last_print = Instant::now();
        let mut last_seen = 0;
        loop {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let now = store
                .get_import(e, import.id)
                .await?
                .ok_or_else(|| anyhow::anyhow!("import {} vanished", import.id))?;
            if now.applied_rows != last_seen {
                reports += 1;
                last_seen = now.applied_rows;
            }
            if last_print.elapsed() > Duration::from_secs(2) {
                last_print = Instant::now();
                println!(
                    "  {:>5.1} s: {} of {n} rows set up",
                    started.elapsed().as_secs_f64(),
                    now.applied_rows
                );
            }
            if matches!(now.state, ImportState::Done | ImportState::Failed) {
                apply = started.elapsed();
                finished = now;
                break;
            }
        }
        cancel.cancel();
        let _ = task.await;
    }
    pbx.shutdown().await;
    sim.stop().await;

    let figures = ImportFigures {
        rows: n,
        validate_ms: validate.as_millis(),
        validate_target_ms: VALIDATE_TARGET_MS,
        validate_target_met: validate.as_millis() < VALIDATE_TARGET_MS,
        validate_phases: check.phases.into(),
        upload_ms: upload.as_millis(),
        apply_ms: apply.as_millis(),
        rows_applied_per_second: (finished.applied_rows as f64 / apply.as_secs_f64().max(0.001)
            * 10.0)
            .round()
            / 10.0,
        bad_rows: import.bad_rows,
        users_set_up: finished.applied_rows,
        progress_reports: reports,
    };
    let mut problems = Vec::new();
    if !bad.is_empty() {
        problems.push(format!(
            "the generated file has bad rows: {}",
            bad.join("; ")
        ));
    }
    if finished.state != ImportState::Done || finished.applied_rows != n as u64 {
        problems.push(format!(
            "the import ended {} with {} of {n} rows set up: {}",
            finished.state.as_str(),
            finished.applied_rows,
            finished.error.as_deref().unwrap_or("no reason recorded")
        ));
    }
    let configured = store.user_counts(e).await?;
    if configured.active + configured.disabled != n as u64 {
        problems.push(format!(
            "{} users are configured after the import, {n} expected",
            configured.active + configured.disabled
        ));
    }
    super::validated(&figures, &problems)?;
    println!(
        "checked {n} rows in {} ms (target {VALIDATE_TARGET_MS} ms), kept the upload in {} ms, applied it in {:.1} s ({} rows/s)",
        figures.validate_ms,
        figures.upload_ms,
        apply.as_secs_f64(),
        figures.rows_applied_per_second
    );
    println!("{}", serde_json::to_string(&figures)?);
    Ok(figures)
}
