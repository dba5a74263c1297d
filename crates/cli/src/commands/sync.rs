//! `teamline sync --enterprise contoso`: syncs an enterprise's users from Microsoft 365 now and
//! shows the progress (a progress bar on a terminal, plain lines otherwise).
//!
//! The sync is a job like any other, so it never runs twice at once for a tenant. When a
//! Teamline server holds the data directory, its runner does the work and this command
//! follows it; otherwise (or on PostgreSQL) this process also runs jobs until the sync is done.

use super::serve::MicrosoftArgs;
use crate::config::{PbxNetworkArgs, StoreArgs, open_store_alongside_server, worker_id};
use anyhow::{Context, bail};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;
use teamline_domain::enterprise::Enterprise;
use teamline_domain::job::{Job, JobState};
use teamline_engine::directory::{SyncDirectory, SyncReport};
use teamline_jobs::Queue;
use teamline_store::DynStore;
use tokio_util::sync::CancellationToken;

#[derive(Args, Debug, Clone)]
pub struct SyncArgs {
    /// The enterprise to sync: its short name (e.g. contoso) or its name.
    #[arg(long)]
    pub enterprise: String,

    /// Read every user again instead of only the changes since the last sync.
    #[arg(long)]
    pub full: bool,

    /// Print the outcome as JSON (the sync's report, or the job through --server).
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    pub store: StoreArgs,

    #[command(flatten)]
    pub microsoft: MicrosoftArgs,

    #[command(flatten)]
    pub pbx_network: PbxNetworkArgs,
}

pub async fn run(args: SyncArgs) -> anyhow::Result<()> {
    let (opened, run_here) = open_store_alongside_server(&args.store).await?;
    let store = opened.store.clone();
    let enterprise = find_enterprise(&store, &args.enterprise).await?;
    let job = Queue::new(store.clone())
        .enqueue(&SyncDirectory::new(enterprise.id, args.full))
        .await
        .with_context(|| format!("could not queue the sync of {}", enterprise.name))?;

    // No server holds the data directory (or the database is shared): run jobs here too.
    let cancel = CancellationToken::new();
    let runner = if run_here {
        let engine = args
            .microsoft
            .engine_beside_server(store.clone(), args.pbx_network.connector())?;
        let runner = Arc::new(engine.runner(worker_id()));
        Some(tokio::spawn(runner.run(cancel.clone())))
    } else {
        None
    };
    let finished = follow(&store, job, &enterprise).await;
    cancel.cancel();
    if let Some(r) = runner {
        let _ = r.await;
    }
    let job = finished?;
    let report: Option<SyncReport> = store
        .sync_state(enterprise.id)
        .await?
        .last_result
        .and_then(|r| serde_json::from_str(&r).ok());
    match (job.state, report) {
        (JobState::Succeeded, Some(r)) if args.json => {
            println!("{}", serde_json::to_string_pretty(&r)?);
            Ok(())
        }
        (JobState::Succeeded, Some(r)) => {
            println!("{}: {}", enterprise.name, r.summary());
            if let Some(why) = &r.reason
                && r.full
            {
                println!("  full read: {why}");
            }
            for w in &r.warnings {
                println!("  warning: {w}");
            }
            Ok(())
        }
        (JobState::Succeeded, None) => Ok(()),
        _ => bail!(
            "the sync of {} failed: {}",
            enterprise.name,
            job.last_error
                .as_deref()
                .unwrap_or("no reason was recorded")
        ),
    }
}

pub(crate) async fn find_enterprise(store: &DynStore, key: &str) -> anyhow::Result<Enterprise> {
    if let Some(e) = store.enterprise_by_slug(&key.to_lowercase()).await? {
        return Ok(e);
    }
    let all = store.list_enterprises(None).await?;
    all.iter()
        .find(|e| e.name.as_str().eq_ignore_ascii_case(key.trim()))
        .cloned()
        .with_context(|| {
            let names: Vec<&str> = all.iter().map(|e| e.slug.as_str()).collect();
            format!(
                "no enterprise '{key}': use one of {}",
                if names.is_empty() {
                    "(none yet)".to_owned()
                } else {
                    names.join(", ")
                }
            )
        })
}

/// Shows the job's progress until it finishes.
async fn follow(
    store: &DynStore,
    id: teamline_domain::ids::JobId,
    enterprise: &Enterprise,
) -> anyhow::Result<Job> {
    let mut view = Progress::new(std::io::stdout().is_terminal(), enterprise.name.as_str());
    loop {
        let job = store.get_job(id).await?;
        view.show(&job);
        if job.state.is_finished() {
            view.done();
            return Ok(job);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A progress bar on a terminal; otherwise one line per change of the progress message.
struct Progress {
    bar: Option<ProgressBar>,
    last: String,
    name: String,
}

impl Progress {
    fn new(terminal: bool, name: &str) -> Self {
        let bar = terminal.then(|| {
            let bar = ProgressBar::new_spinner();
            bar.enable_steady_tick(Duration::from_millis(120));
            bar.set_message(format!("{name}: waiting for a runner"));
            bar
        });
        Self {
            bar,
            last: String::new(),
            name: name.to_owned(),
        }
    }

    fn line(&self, job: &Job) -> String {
        match (job.state, &job.progress_message, &job.last_error) {
            (JobState::Queued, _, Some(wait)) => format!("waiting: {wait}"),
            (JobState::Queued, _, None) => "waiting for a runner".to_owned(),
            (_, Some(m), _) => m.clone(),
            (_, None, _) => "starting".to_owned(),
        }
    }

    fn show(&mut self, job: &Job) {
        let line = self.line(job);
        match &self.bar {
            Some(bar) => {
                show_count(bar, job.progress_done, job.progress_total);
                bar.set_message(format!("{}: {line}", self.name));
            }
            None => {
                if line != self.last {
                    println!("{}: {line}", self.name);
                }
            }
        }
        self.last = line;
    }

    fn done(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// Turns the spinner into a bar once the job knows how much it has to do.
pub(crate) fn show_count(bar: &ProgressBar, done: u64, total: Option<u64>) {
    let Some(total) = total else { return };
    if bar.length() != Some(total) {
        bar.set_style(
            ProgressStyle::with_template("{spinner} {wide_bar} {pos}/{len} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.set_length(total);
    }
    bar.set_position(done);
}
