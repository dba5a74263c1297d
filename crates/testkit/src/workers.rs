use std::sync::Arc;
use std::time::Duration;
use teamline_engine::Engine;
use tokio_util::sync::CancellationToken;

/// Job runners and schedulers running in the background until stopped (or dropped), as
/// `teamline serve` runs them: one per engine, or several to play several instances.
pub struct Workers {
    cancel: CancellationToken,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Default for Workers {
    fn default() -> Self {
        Self::new()
    }
}

impl Workers {
    pub fn new() -> Self {
        Self {
            cancel: CancellationToken::new(),
            tasks: Vec::new(),
        }
    }

    /// A runner of `engine`'s jobs, named `worker` in the jobs table.
    pub fn runner(mut self, engine: &Engine, worker: &str) -> Self {
        self.add_runner(engine, worker);
        self
    }

    pub fn add_runner(&mut self, engine: &Engine, worker: &str) {
        let runner = Arc::new(engine.runner(worker));
        self.tasks
            .push(tokio::spawn(runner.run(self.cancel.clone())));
    }

    /// `engine`'s scheduler of periodic syncs and drift checks, looking for due work every
    /// `tick` (`None`: its own pace).
    pub fn add_scheduler(&mut self, engine: &Engine, tick: Option<Duration>) {
        let mut scheduler = engine.scheduler();
        if let Some(tick) = tick {
            scheduler = scheduler.tick(tick);
        }
        self.tasks
            .push(tokio::spawn(scheduler.run(self.cancel.clone())));
    }

    /// Stops them after the jobs they run finish their current attempt.
    pub async fn stop(mut self) {
        self.cancel.cancel();
        for t in std::mem::take(&mut self.tasks) {
            let _ = t.await;
        }
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}
