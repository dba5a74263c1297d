//! `teamline import FILE --enterprise E [--dry-run] [--json]`: Bulk Upload from the command
//! line. The file is checked against the live PBX and Teams data (every problem by row and
//! column); with `--dry-run` that is all, otherwise a clean file is applied as a job and its
//! progress shown until every row is set up.
//!
//! The command's core ([`run_import`]) works on an [`ImportTarget`], so the local mode (this
//! process's engine on the data directory) and the remote mode (the JSON API of a server)
//! check, apply, follow and print the same way; both speak in [`ImportReport`], the API's
//! own representation of an import.

use super::serve::MicrosoftArgs;
use super::sync::find_enterprise;
use crate::config::{PbxNetworkArgs, StoreArgs, open_store_alongside_server, worker_id};
use anyhow::{Context, bail};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use teamline_domain::audit::Actor;
use teamline_domain::ids::{EnterpriseId, ImportId};
use teamline_engine::Engine;
use teamline_engine::import::{ImportCheck, ImportError};
use teamline_store::{DynStore, ImportRowRecord, StoredImport};
use tokio_util::sync::CancellationToken;

#[derive(Args, Debug, Clone)]
pub struct ImportArgs {
    /// The CSV file (the Bulk Upload template's columns; `-` reads standard input).
    pub file: PathBuf,

    /// The enterprise: its short name (e.g. contoso) or its name (through --server also its
    /// id; there it may be left out when the token reaches one enterprise).
    #[arg(long)]
    pub enterprise: Option<String>,

    /// Check every row and report; write nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Print the result as one JSON object instead of lines (no progress bar).
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    pub store: StoreArgs,

    #[command(flatten)]
    pub microsoft: MicrosoftArgs,

    #[command(flatten)]
    pub pbx_network: PbxNetworkArgs,
}

/// One problem with a row, against its column.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ProblemReport {
    pub field: String,
    pub message: String,
}

/// One row of an import and what became of it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RowReport {
    /// The row number a spreadsheet shows (the header is row 1).
    pub row: u64,
    pub teams_user: String,
    pub sip_user: String,
    /// `ready`, `invalid`, `set_up` or `failed`.
    pub outcome: String,
    pub problems: Vec<ProblemReport>,
}

/// An import as `teamline import` prints it (and as the API answers it).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ImportReport {
    /// `None` for a dry run: nothing was stored.
    pub id: Option<i64>,
    pub file_name: String,
    /// `checked`, `applying`, `done` or `failed`.
    pub state: String,
    pub row_count: u64,
    pub bad_rows: u64,
    pub applied_rows: u64,
    pub error: Option<String>,
    /// Only the rows with problems, unless asked for all.
    pub rows: Vec<RowReport>,
}

impl ImportReport {
    fn finished(&self) -> bool {
        matches!(self.state.as_str(), "done" | "failed")
    }
}

/// Where an import is checked and applied: this process's engine, or a server's API.
pub trait ImportTarget: Send + Sync {
    /// Checks the file (and keeps it as an import unless `dry_run`).
    fn upload(
        &self,
        file_name: &str,
        text: &str,
        dry_run: bool,
    ) -> impl Future<Output = anyhow::Result<ImportReport>> + Send;
    /// Starts applying a checked, clean import.
    fn apply(&self, id: i64) -> impl Future<Output = anyhow::Result<()>> + Send;
    /// The import now (its rows with problems included).
    fn status(&self, id: i64) -> impl Future<Output = anyhow::Result<ImportReport>> + Send;
}

/// The command's core: check, then (unless a dry run or a bad row) apply and follow. Fails
/// (non-zero exit) when a row is bad or could not be set up.
pub async fn run_import(
    target: &impl ImportTarget,
    file: &Path,
    dry_run: bool,
    json: bool,
) -> anyhow::Result<ImportReport> {
    let text = read_file(file)?;
    let name = file.file_name().map_or_else(
        || "stdin.csv".to_owned(),
        |n| n.to_string_lossy().into_owned(),
    );
    let checked = target.upload(&name, &text, dry_run).await?;
    let report = match checked.id {
        Some(id) if !dry_run && checked.bad_rows == 0 && checked.row_count > 0 => {
            target.apply(id).await?;
            follow(target, id, json).await?
        }
        _ => checked,
    };
    print_report(&report, dry_run, json)?;
    if report.bad_rows > 0 || report.state == "failed" {
        bail!(
            "{}",
            report.error.clone().unwrap_or_else(|| format!(
                "{} of {} rows cannot be set up: fix them in {name} and run the import again",
                report.bad_rows, report.row_count
            ))
        );
    }
    Ok(report)
}

fn read_file(file: &Path) -> anyhow::Result<String> {
    let bytes = if file.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf)?;
        buf
    } else {
        std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?
    };
    // Spreadsheets may save in a legacy code page; a wrong byte is shown, not fatal.
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Polls the import until it is done or failed, with a progress bar on a terminal.
async fn follow(target: &impl ImportTarget, id: i64, json: bool) -> anyhow::Result<ImportReport> {
    let bar = (!json && std::io::stderr().is_terminal()).then(|| {
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template("{spinner} {wide_bar} {pos}/{len} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    });
    let mut last = u64::MAX;
    loop {
        let now = target.status(id).await?;
        match &bar {
            Some(bar) => {
                bar.set_length(now.row_count);
                bar.set_position(now.applied_rows);
                bar.set_message(now.state.clone());
            }
            None if !json && now.applied_rows != last => {
                println!("applied {} of {} rows", now.applied_rows, now.row_count);
            }
            None => {}
        }
        last = now.applied_rows;
        if now.finished() {
            if let Some(bar) = bar {
                bar.finish_and_clear();
            }
            return Ok(now);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Prints the report: one JSON object, or a summary line and each problem by row and column.
pub fn print_report(report: &ImportReport, dry_run: bool, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string(report)?);
        return Ok(());
    }
    let what = match (dry_run, report.state.as_str()) {
        (true, _) => "checked (dry run, nothing written)",
        (false, "done") => "applied",
        (false, "failed") => "failed",
        (false, _) => "checked, nothing written",
    };
    println!(
        "{}: {} rows, {} to fix, {} set up: {what}",
        report.file_name, report.row_count, report.bad_rows, report.applied_rows
    );
    if let Some(id) = report.id {
        println!("import {id}");
    }
    for r in &report.rows {
        for p in &r.problems {
            println!(
                "row {} ({}): {}: {}",
                r.row, r.teams_user, p.field, p.message
            );
        }
    }
    Ok(())
}

/// The rows worth printing: those with problems.
pub fn row_reports<'a>(rows: impl IntoIterator<Item = &'a ImportRowRecord>) -> Vec<RowReport> {
    rows.into_iter()
        .filter(|r| !r.problems.is_empty())
        .map(|r| RowReport {
            row: r.row,
            teams_user: r.upn.clone(),
            sip_user: r.sip_user.clone(),
            outcome: r.outcome.as_str().to_owned(),
            problems: r
                .problems
                .iter()
                .map(|p| ProblemReport {
                    field: p.field.clone(),
                    message: p.message.clone(),
                })
                .collect(),
        })
        .collect()
}

fn stored_report(import: &StoredImport, rows: &[ImportRowRecord]) -> ImportReport {
    ImportReport {
        id: Some(import.id.0),
        file_name: import.file_name.clone(),
        state: import.state.as_str().to_owned(),
        row_count: import.row_count,
        bad_rows: import.bad_rows,
        applied_rows: import.applied_rows,
        error: import.error.clone(),
        rows: row_reports(rows),
    }
}

fn dry_run_report(file_name: &str, check: &ImportCheck) -> ImportReport {
    let rows: Vec<ImportRowRecord> = check
        .rows
        .iter()
        .filter_map(|r| {
            let errors = r.outcome.as_ref().err()?;
            Some(ImportRowRecord {
                row: r.row as u64,
                upn: r.upn.clone(),
                sip_user: r.sip_user.clone(),
                outcome: teamline_store::RowOutcome::Invalid,
                problems: errors
                    .iter()
                    .map(|e| teamline_store::RowProblem {
                        field: e.field.to_owned(),
                        message: e.message.clone(),
                    })
                    .collect(),
                pbx_user_id: None,
            })
        })
        .collect();
    ImportReport {
        id: None,
        file_name: file_name.to_owned(),
        state: "checked".to_owned(),
        row_count: check.rows.len() as u64,
        bad_rows: rows.len() as u64,
        applied_rows: 0,
        error: None,
        rows: row_reports(&rows),
    }
}

/// The local mode: this process's engine on the data directory (or database).
pub struct LocalTarget {
    pub engine: Engine,
    pub store: DynStore,
    pub enterprise: EnterpriseId,
    pub actor: Actor,
}

fn import_error(e: ImportError) -> anyhow::Error {
    anyhow::anyhow!("{e}")
}

impl ImportTarget for LocalTarget {
    async fn upload(
        &self,
        file_name: &str,
        text: &str,
        dry_run: bool,
    ) -> anyhow::Result<ImportReport> {
        let e = self.enterprise;
        if dry_run {
            let check = self
                .engine
                .check_import(e, text)
                .await
                .map_err(import_error)?;
            return Ok(dry_run_report(file_name, &check));
        }
        let (import, _) = self
            .engine
            .upload_import(e, &self.actor, file_name, text)
            .await
            .map_err(import_error)?;
        let rows = self.store.import_rows(e, import.id).await?;
        Ok(stored_report(&import, &rows))
    }

    async fn apply(&self, id: i64) -> anyhow::Result<()> {
        self.engine
            .apply_import_later(self.enterprise, &self.actor, ImportId(id))
            .await?;
        Ok(())
    }

    async fn status(&self, id: i64) -> anyhow::Result<ImportReport> {
        let e = self.enterprise;
        let import = self
            .store
            .get_import(e, ImportId(id))
            .await?
            .with_context(|| format!("import {id} was not found"))?;
        let rows = self.store.import_rows(e, import.id).await?;
        Ok(stored_report(&import, &rows))
    }
}

pub async fn run(args: ImportArgs) -> anyhow::Result<()> {
    let (opened, run_here) = open_store_alongside_server(&args.store).await?;
    let store = opened.store.clone();
    let key = args.enterprise.as_deref().context(
        "--enterprise is required: name the enterprise whose users the file sets up (its short name, e.g. contoso)",
    )?;
    let enterprise = find_enterprise(&store, key).await?;
    let engine = args
        .microsoft
        .engine_beside_server(store.clone(), args.pbx_network.connector())?;
    // No server holds the data directory (or the database is shared): run jobs here too, so
    // the apply proceeds; the users' own Microsoft and PBX work is left to the server's runner
    // when this command ends.
    let cancel = CancellationToken::new();
    let runner = (run_here && !args.dry_run).then(|| {
        let runner = Arc::new(engine.runner(worker_id()));
        tokio::spawn(runner.run(cancel.clone()))
    });
    let target = LocalTarget {
        engine,
        store,
        enterprise: enterprise.id,
        actor: Actor::System(format!("teamline import {}", args.file.display())),
    };
    let result = run_import(&target, &args.file, args.dry_run, args.json).await;
    cancel.cancel();
    if let Some(r) = runner {
        let _ = r.await;
    }
    result.map(drop)
}
