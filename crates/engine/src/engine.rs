//! The [`Engine`]: the workflows behind the portals, on top of the store, Microsoft and the
//! PBX. Pages call it; it validates, stores, and queues the jobs that do the slow work.

use crate::EngineError;
use crate::pbx::{PbxConnector, PbxService};
use std::sync::Arc;
use std::time::Duration;
use teamline_domain::ids::JobId;
use teamline_jobs::{Job, Queue, Registry, Runner};
use teamline_microsoft::MicrosoftCloud;
use teamline_store::DynStore;

/// Names of the tenant-level Teams policies Teamline grants, and timings.
#[derive(Debug, Clone)]
pub struct EngineSettings {
    /// The enterprise dial plan (normalization rules) granted when "Assign Default Dial Plan
    /// Policy" is checked.
    pub dial_plan: String,
    /// The Teams calling policy that turns Teams voicemail off ("Use Voicemail in Teams"
    /// unchecked), so unanswered calls reach the PBX's voicemail.
    pub no_voicemail_calling_policy: String,
    /// Caller ID policies for Caller Name Policy = Other are named this plus the name.
    pub caller_id_policy_prefix: String,
    /// How long a page waits for the PBX (e.g. the extension list) before saying it is slow.
    pub pbx_read_timeout: Duration,
    /// How long after a push Microsoft's state is first read again, when it was still
    /// propagating; later checks back off from there.
    pub propagation_recheck: Duration,
    /// How many re-checks before a persisting difference is reported as drift.
    pub propagation_rechecks: u32,
    /// How long a change Microsoft accepted is assumed to be propagating (and is not sent
    /// again) while reads do not show it yet.
    pub propagation_window: Duration,
    /// How often each enterprise with consent is synced from Microsoft 365 (a delta round);
    /// `None` = only on demand.
    pub directory_sync_every: Option<Duration>,
    /// How often each enterprise's configured users are checked for drift (Teams read back in
    /// `$batch`es, and the PBX device); `None` = only on demand.
    pub reconcile_every: Option<Duration>,
    /// The longest a per-user job waits for a throttled tenant before it steps aside (it is
    /// rescheduled for when Microsoft accepts requests again, and the worker serves other
    /// tenants meanwhile).
    pub job_throttle_wait: Duration,
    /// Jobs a runner works on at once (across all tenants; each tenant's requests are also
    /// limited by the Microsoft client).
    pub runner_concurrency: usize,
    /// How long a runner holds a job before another may take it over: after a crash, the
    /// job is picked up again once its lease runs out. Renewed every third of it.
    pub job_lease: Duration,
    /// How often a Direct Routing set-up asks Microsoft again to verify the tenant's
    /// subdomain while Microsoft does not see the TXT record yet.
    pub direct_routing_recheck: Duration,
}

impl Default for EngineSettings {
    fn default() -> Self {
        Self {
            dial_plan: "Teamline".to_owned(),
            no_voicemail_calling_policy: "Teamline No Voicemail".to_owned(),
            caller_id_policy_prefix: "Teamline Caller Name ".to_owned(),
            pbx_read_timeout: Duration::from_secs(8),
            propagation_recheck: Duration::from_secs(15),
            propagation_rechecks: 8,
            propagation_window: Duration::from_secs(3600),
            directory_sync_every: Some(Duration::from_secs(300)),
            reconcile_every: Some(Duration::from_secs(3600)),
            job_throttle_wait: Duration::from_secs(2),
            runner_concurrency: 8,
            job_lease: Duration::from_secs(60),
            direct_routing_recheck: Duration::from_secs(30),
        }
    }
}

pub(crate) struct Inner {
    pub store: DynStore,
    pub microsoft: Arc<dyn MicrosoftCloud>,
    pub pbx: PbxService,
    pub settings: EngineSettings,
    pub jobs: Queue,
    /// How invitations are signed and sent, once configured (`serve`, the demo, tests).
    pub invitations: std::sync::OnceLock<Arc<crate::onboarding::Invitations>>,
    /// The DNS zone of Direct Routing verification records, once configured.
    pub dns: std::sync::OnceLock<Arc<dyn teamline_dns::ZonePublisher>>,
    /// What places test calls through the SIP gateway, once configured.
    pub test_caller: std::sync::OnceLock<Arc<crate::test_call::TestCaller>>,
}

/// Cheap to clone: everything is shared.
#[derive(Clone)]
pub struct Engine {
    pub(crate) inner: Arc<Inner>,
}

impl Engine {
    pub fn new(
        store: DynStore,
        microsoft: Arc<dyn MicrosoftCloud>,
        pbx: Arc<dyn PbxConnector>,
        settings: EngineSettings,
    ) -> Self {
        let pbx = PbxService::new(store.clone(), pbx, settings.pbx_read_timeout);
        Self {
            inner: Arc::new(Inner {
                jobs: Queue::new(store.clone()),
                store,
                microsoft,
                pbx,
                settings,
                invitations: std::sync::OnceLock::new(),
                dns: std::sync::OnceLock::new(),
                test_caller: std::sync::OnceLock::new(),
            }),
        }
    }

    pub fn store(&self) -> &DynStore {
        &self.inner.store
    }

    pub fn microsoft(&self) -> &Arc<dyn MicrosoftCloud> {
        &self.inner.microsoft
    }

    pub fn settings(&self) -> &EngineSettings {
        &self.inner.settings
    }

    /// A job runner for every workflow's jobs, woken whenever this engine queues one.
    pub fn runner(&self, worker: impl Into<String>) -> Runner<Engine> {
        let s = &self.inner.settings;
        Runner::new(&self.inner.jobs, self.job_types(), worker)
            .max_concurrent(s.runner_concurrency)
            .lease(s.job_lease)
    }

    /// Every job type the workflows queue, registered once.
    fn job_types(&self) -> Registry<Engine> {
        Registry::new(self.clone())
            .register::<crate::pbx::EnsureDevice>()
            .register::<crate::pbx::RemoveDevice>()
            .register::<crate::calling::PushUser>()
            .register::<crate::calling::VerifyUser>()
            .register::<crate::directory::SyncDirectory>()
            .register::<crate::directory::SyncTeamsUsers>()
            .register::<crate::reconcile::Reconcile>()
            .register::<crate::direct_routing::SetUpDirectRouting>()
            .register::<crate::import::ApplyImport>()
    }

    /// Queues a job (a waiting one with the same idempotency key covers it).
    pub(crate) async fn enqueue<J: Job>(&self, job: &J) -> Result<JobId, EngineError> {
        Ok(self.inner.jobs.enqueue(job).await?)
    }

    /// Queues several jobs of one kind in one transaction.
    pub(crate) async fn enqueue_all<J: Job>(&self, jobs: &[J]) -> Result<Vec<JobId>, EngineError> {
        Ok(self.inner.jobs.enqueue_all(jobs).await?)
    }

    /// Queues a job to run not before `at_ms`.
    pub(crate) async fn enqueue_at<J: Job>(
        &self,
        job: &J,
        at_ms: i64,
    ) -> Result<JobId, EngineError> {
        Ok(self.inner.jobs.enqueue_at(job, at_ms).await?)
    }

    /// The PBX side: extensions, devices, emergency addresses, Test connection.
    pub(crate) fn pbx(&self) -> &PbxService {
        &self.inner.pbx
    }
}
