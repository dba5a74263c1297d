//! The periodic work: a directory sync of each enterprise with consent every
//! [`EngineSettings::directory_sync_every`](crate::EngineSettings) and a drift check every
//! `reconcile_every`. The scheduler only queues jobs; runners run them.
//!
//! Safe with several instances: a sync is queued only when none is queued or running, a
//! second instance queueing the same sync at the same moment gets the waiting job back
//! (idempotency key), and the job's lane keeps two syncs of one tenant from ever running at
//! once.

use crate::reconcile::Reconcile;
use crate::{Engine, EngineError};
use std::time::Duration;
use teamline_domain::enterprise::ConsentKind;
use teamline_domain::ids::JobId;
use teamline_jobs::Job;
use teamline_store::JobQuery;
use tokio_util::sync::CancellationToken;

pub struct Scheduler {
    engine: Engine,
    tick: Duration,
}

impl Engine {
    /// The scheduler of this engine's periodic syncs and drift checks.
    pub fn scheduler(&self) -> Scheduler {
        let s = &self.inner.settings;
        let shortest = [s.directory_sync_every, s.reconcile_every]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(Duration::from_secs(60));
        Scheduler {
            engine: self.clone(),
            tick: (shortest / 4).clamp(Duration::from_millis(200), Duration::from_secs(15)),
        }
    }
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl Scheduler {
    /// How often the scheduler looks for due work.
    pub fn tick(mut self, tick: Duration) -> Self {
        self.tick = tick.max(Duration::from_millis(10));
        self
    }

    /// Queues due work until `shutdown` is cancelled.
    pub async fn run(self, shutdown: CancellationToken) {
        loop {
            if let Err(e) = self.queue_due().await {
                tracing::warn!(error = %e, "could not queue the periodic syncs; will try again");
            }
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(self.tick) => {}
            }
        }
    }

    /// Queues every sync and drift check that is due now; returns the jobs queued.
    pub async fn queue_due(&self) -> Result<Vec<JobId>, EngineError> {
        let engine = &self.engine;
        let store = engine.store();
        let settings = engine.settings();
        let now = store.clock().now_ms();
        let mut queued = Vec::new();
        for enterprise in store.list_enterprises(None).await? {
            if !enterprise.consent(ConsentKind::UserSync) || enterprise.tenant_id.is_none() {
                continue;
            }
            let e = enterprise.id;
            if let Some(every) = settings.directory_sync_every {
                let last = store.sync_state(e).await?.last_sync_ms;
                let due = last.is_none_or(|t| now - t >= ms(every));
                if due && engine.running_sync(e).await?.is_none() {
                    queued.push(engine.enqueue_directory_sync(e, false).await?);
                }
            }
            if let Some(every) = settings.reconcile_every {
                let last = store
                    .list_jobs(&JobQuery {
                        enterprise_id: Some(e),
                        kind: Some(Reconcile::KIND.into()),
                        unfinished_only: false,
                        limit: 1,
                        before: None,
                    })
                    .await?
                    .into_iter()
                    .next();
                let due = match last {
                    None => true,
                    Some(job) => job
                        .finished_ms
                        .is_some_and(|finished| now - finished >= ms(every)),
                };
                if due {
                    queued.push(engine.enqueue_reconcile(e).await?);
                }
            }
        }
        Ok(queued)
    }
}
