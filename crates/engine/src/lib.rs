//! Teamline's engine: the workflows (set up a user, sync, enable and disable calling,
//! reconcile, troubleshoot) and the durable job runner that executes them against Microsoft
//! and the PBX.
//!
//! The engine talks to the store, Microsoft and the PBX only through their traits, so tests
//! run it against the simulators and either database. Pages call [`Engine`]; it validates,
//! stores, and queues the jobs that do the slow work. The [`scheduler::Scheduler`] queues the
//! periodic directory syncs and drift checks.

pub mod accounts;
mod calling;
mod consent;
mod convert;
pub mod dashboard;
pub mod directory;
mod engine;
mod error;
mod pbx;
pub mod reconcile;
pub mod scheduler;
pub mod setup;
pub mod troubleshoot;
mod user_lifecycle;

pub use engine::{Engine, EngineSettings};
pub use error::{EngineError, SaveError};
pub use pbx::{ApiConnector, DeviceOption, PbxConnector, PbxService};
/// Test connection's report, as the PBX client gives it.
pub use teamline_pbx::{Check as PbxCheck, CheckStatus as PbxCheckStatus, ConnectionReport};
