//! Teamline's engine: the workflows behind the portals (set up a user, enable and disable
//! calling, a user's lifecycle, the PBX, consent, directory sync, drift checks,
//! troubleshooting, `teamline doctor`) and the jobs that carry them out against Microsoft and the PBX.
//!
//! The engine talks to the store, Microsoft and the PBX only through their traits, so tests
//! run it against the simulators and either database. Pages call [`Engine`]; it validates,
//! stores, and queues the jobs that do the slow work. Each workflow module defines its job
//! types (`teamline_jobs::Job`); [`Engine::runner`] registers them all once and runs them.
//! The [`scheduler::Scheduler`] queues the periodic directory syncs and drift checks.

pub mod accounts;
mod calling;
pub mod calls;
mod consent;
mod convert;
pub mod dashboard;
pub mod direct_routing;
pub mod directory;
pub mod doctor;
mod engine;
mod error;
pub mod gateway;
pub mod import;
pub mod onboarding;
mod pbx;
pub mod reconcile;
pub mod registration;
pub mod registration_check;
pub mod scheduler;
pub mod setup;
pub mod sip_trace;
pub mod test_call;
pub mod troubleshoot;
pub mod two_factor;
mod user_lifecycle;

pub use calling::{BulkGrants, ChangePreview, RowPreview};
pub use engine::{Engine, EngineSettings};
pub use error::{EngineError, SaveError};
pub use pbx::{ApiConnector, DeviceOption, PbxConnector, PbxService};
/// Which hosts PBX APIs may be on (the operator's choice; see [`ApiConnector`]).
pub use teamline_pbx::NetworkPolicy as PbxNetworkPolicy;
/// Test connection's report, as the PBX client gives it.
pub use teamline_pbx::{Check as PbxCheck, CheckStatus as PbxCheckStatus, ConnectionReport};
