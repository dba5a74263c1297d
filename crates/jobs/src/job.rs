use crate::{Attempt, JobError};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::future::Future;
use teamline_domain::ids::EnterpriseId;

/// A kind of durable job. The value is the payload: it is stored as JSON when queued and read
/// back when a runner claims it, so a job carries everything it needs to run again after a
/// crash. Jobs must be idempotent: an attempt cut short (crash, lost lease) runs again.
///
/// Each type is registered once in a [`Registry`](crate::Registry) under [`Job::KIND`].
pub trait Job: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// Stored with every queued job and looked up when it runs: unique in the application,
    /// and never renamed while jobs of the old name may be waiting.
    const KIND: &'static str;

    /// Jobs whose kinds share a throttle group (e.g. everything that calls one service) pause
    /// together, per enterprise, when one of them is throttled.
    const THROTTLE_GROUP: Option<&'static str> = None;

    /// Higher runs first among due jobs.
    const PRIORITY: i32 = 0;

    /// Attempts before the job fails for good (deferrals while throttled do not count).
    const MAX_ATTEMPTS: u32 = 8;

    /// What the job needs to run (e.g. the engine), given by the registry.
    type Context: Clone + Send + Sync + 'static;

    /// The enterprise whose data the job works on (kept in the job's row too: the store
    /// scopes, lists and defers jobs by it). A stored payload without an `enterprise_id` field
    /// gets the row's when read back.
    fn enterprise(&self) -> Option<EnterpriseId>;

    /// Jobs of one lane never run at the same time, on any instance; `None` = the
    /// enterprise's lane.
    fn lane(&self) -> Option<String> {
        None
    }

    /// While a job with this key waits (queued, not yet running), queueing another returns
    /// the waiting one: it covers the new request too.
    fn idempotency_key(&self) -> Option<String> {
        None
    }

    /// Does the work of one attempt.
    fn run(
        &self,
        ctx: &Self::Context,
        attempt: &Attempt,
    ) -> impl Future<Output = Result<(), JobError>> + Send;
}
