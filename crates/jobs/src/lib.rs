//! Teamline's durable jobs, independent of what they do.
//!
//! A job is a type: it implements [`Job`] (its kind, lane, idempotency key, priority, throttle
//! group and how it runs) and is its own payload through serde. [`Queue::enqueue`] stores it;
//! a [`Runner`] claims due jobs from the store, finds each kind in its [`Registry`] (filled once
//! at start-up), keeps the lease alive while the job runs, and records the outcome: done, retry
//! at a time that honours a server's Retry-After, deferred while the service throttles the
//! tenant, or failed for good.
//!
//! This crate knows nothing of Microsoft or the PBX: the workflows that do the work define
//! their job types next to their code and say which errors are worth a retry.

mod attempt;
mod error;
mod job;
mod queue;
mod registry;
mod runner;

pub use attempt::Attempt;
pub use error::{EnqueueError, JobError};
pub use job::Job;
pub use queue::Queue;
pub use registry::Registry;
pub use runner::{Outcome, Runner};

/// The store the jobs live in. Only its job methods are used (enqueue, claim, lease, progress,
/// outcome, deferral) and its clock; this alias is the one place that names the store trait.
pub type JobStoreHandle = std::sync::Arc<dyn teamline_store::JobStore>;

#[cfg(test)]
mod tests;
