//! The periodic work: a directory sync of each enterprise with consent every
//! [`EngineSettings::directory_sync_every`](crate::EngineSettings) and a drift check every
//! `reconcile_every`. The scheduler only queues jobs; runners run them.
//!
//! Safe with several instances: a sync is queued only when none is queued or running, a
//! second instance queueing the same sync at the same moment gets the waiting job back
//! (idempotency key), and the job's lane keeps two syncs of one tenant from ever running at
//! once.

use crate::directory::{SyncDirectory, SyncTeamsUsers};
use crate::reconcile::Reconcile;
use crate::{Engine, EngineError};
use std::collections::{HashMap, HashSet};
use std::time::Duration;
use teamline_domain::enterprise::ConsentKind;
use teamline_domain::ids::{EnterpriseId, JobId};
use teamline_jobs::Job;
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
        // The whole fleet in a handful of reads and one write, however many enterprises: a
        // tick with nothing due costs the same few queries for 10 enterprises or 2 000.
        let enterprises: Vec<EnterpriseId> = store
            .list_enterprises(None)
            .await?
            .into_iter()
            .filter(|e| e.consent(ConsentKind::UserSync) && e.tenant_id.is_some())
            .map(|e| e.id)
            .collect();
        let mut queued = Vec::new();
        if let Some(every) = settings.directory_sync_every {
            let last: HashMap<EnterpriseId, i64> =
                store.last_sync_times().await?.into_iter().collect();
            let syncing: HashSet<EnterpriseId> = store
                .enterprises_with_unfinished_jobs(&[SyncTeamsUsers::KIND, SyncDirectory::KIND])
                .await?
                .into_iter()
                .collect();
            let due: Vec<SyncDirectory> = enterprises
                .iter()
                .filter(|e| last.get(e).is_none_or(|&t| now - t >= ms(every)))
                .filter(|e| !syncing.contains(e))
                .map(|&e| SyncDirectory::new(e, false))
                .collect();
            queued.extend(engine.enqueue_all(&due).await?);
        }
        if let Some(every) = settings.reconcile_every {
            // The newest drift check of each enterprise: due when it finished long enough ago
            // (one still waiting or running is not), or when there was none.
            let last: HashMap<EnterpriseId, Option<i64>> = store
                .latest_job_per_enterprise(Reconcile::KIND)
                .await?
                .into_iter()
                .filter_map(|job| job.enterprise_id.map(|e| (e, job.finished_ms)))
                .collect();
            let due: Vec<Reconcile> = enterprises
                .iter()
                .filter(|e| match last.get(e) {
                    None => true,
                    Some(finished) => finished.is_some_and(|f| now - f >= ms(every)),
                })
                .map(|&e| Reconcile { enterprise_id: e })
                .collect();
            queued.extend(engine.enqueue_all(&due).await?);
        }
        Ok(queued)
    }
}
