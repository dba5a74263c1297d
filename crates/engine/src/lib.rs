//! Teamline's engine: the workflows (set up a user, sync, enable and disable calling,
//! reconcile) and the durable job runner that executes them against Microsoft and the PBX.
//!
//! The engine talks to the store, Microsoft and the PBX only through their traits, so tests
//! can run it against the simulators and either database.

pub mod accounts;
pub mod demo;
pub mod runner;

pub use runner::{JobContext, JobError, JobHandler, Runner};
