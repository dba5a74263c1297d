//! `teamline --server … sync` and `jobs wait`: start or find a job and follow it to its end
//! with a progress bar.

use super::client::Client;
use super::{enterprise, print_json};
use crate::commands::sync::show_count;
use anyhow::bail;
use clap::{Args, Subcommand};
use indicatif::ProgressBar;
use std::io::IsTerminal;
use std::time::Duration;
use teamline_web::api::v1::jobs::JobOut;

#[derive(Args, Debug, Clone)]
pub struct JobsArgs {
    #[command(subcommand)]
    pub command: JobsCommand,
}

#[derive(Subcommand, Debug, Clone)]
pub enum JobsCommand {
    /// Follow a job until it finishes (exit status 1 when it failed).
    Wait {
        /// The job's id (as `sync` or the API's `Location` gave it).
        id: i64,
        /// The enterprise (id, short name or name); needed when the token reaches several.
        #[arg(long)]
        enterprise: Option<String>,
        /// Print the finished job as JSON.
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(client: &Client, args: JobsArgs) -> anyhow::Result<()> {
    match args.command {
        JobsCommand::Wait {
            id,
            enterprise: key,
            json,
        } => {
            let e = enterprise(client, key.as_deref()).await?;
            let job = follow(client, e.id, id, &format!("{}: job {id}", e.name)).await?;
            finish(&job, json)
        }
    }
}

/// Sync Teams Users: queues the enterprise's sync on the server and follows it.
pub async fn sync(client: &Client, key: Option<&str>, json: bool) -> anyhow::Result<()> {
    let e = enterprise(client, key).await?;
    let job: JobOut = client
        .post::<(), _>(&format!("/api/v1/enterprises/{}/sync", e.id), None)
        .await?;
    let job = follow(client, e.id, job.id, &format!("{}: sync", e.name)).await?;
    if json {
        print_json(&job)?;
    } else if job.state == "succeeded" {
        let summary = job.progress_message.as_deref().unwrap_or("synced");
        println!("{}: {summary}", e.name);
    }
    failed(&job)
}

/// Prints the finished job; a failed job is an error naming its last error.
fn finish(job: &JobOut, json: bool) -> anyhow::Result<()> {
    if json {
        print_json(job)?;
    } else if job.state == "succeeded" {
        println!("job {} ({}) succeeded", job.id, job.kind);
    }
    failed(job)
}

fn failed(job: &JobOut) -> anyhow::Result<()> {
    if job.state == "failed" {
        bail!(
            "job {} ({}) failed: {}",
            job.id,
            job.kind,
            job.last_error
                .as_deref()
                .unwrap_or("no reason was recorded")
        );
    }
    Ok(())
}

/// Polls the job until it finishes, showing its progress.
pub async fn follow(
    client: &Client,
    enterprise: i64,
    id: i64,
    name: &str,
) -> anyhow::Result<JobOut> {
    let path = format!("/api/v1/enterprises/{enterprise}/jobs/{id}");
    let mut view = Progress::new(name);
    loop {
        let job: JobOut = client.get(&path, &[]).await?;
        view.show(&job);
        if matches!(job.state.as_str(), "succeeded" | "failed") {
            view.done();
            return Ok(job);
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// A progress bar on a terminal; otherwise one line on stderr per change, so stdout carries
/// only the result (e.g. `--json`).
pub struct Progress {
    bar: Option<ProgressBar>,
    last: String,
    name: String,
}

impl Progress {
    pub fn new(name: &str) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new_spinner();
            bar.enable_steady_tick(Duration::from_millis(120));
            bar.set_message(format!("{name}: starting"));
            bar
        });
        Self {
            bar,
            last: String::new(),
            name: name.to_owned(),
        }
    }

    fn show(&mut self, job: &JobOut) {
        let line = match (job.state.as_str(), &job.progress_message, &job.last_error) {
            ("queued", _, Some(wait)) => format!("waiting: {wait}"),
            ("queued", _, None) => "waiting for a runner".to_owned(),
            (_, Some(m), _) => m.clone(),
            (state, None, _) => state.to_owned(),
        };
        if let Some(bar) = &self.bar {
            show_count(bar, job.progress_done, job.progress_total);
        }
        self.line(line);
    }

    /// Shows a line of progress (the bar's message, or a line on stderr when it changed).
    pub fn line(&mut self, line: String) {
        match &self.bar {
            Some(bar) => bar.set_message(format!("{}: {line}", self.name)),
            None if line != self.last => eprintln!("{}: {line}", self.name),
            None => {}
        }
        self.last = line;
    }

    pub fn done(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
