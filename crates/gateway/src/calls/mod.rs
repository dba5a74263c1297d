//! Calls through the gateway: the per-user settings Teamline pushes, and the call events and
//! records Kamailio reports.

pub mod events;
pub mod settings;

pub use events::{CallEvent, CallRecord, CallRecords, Direction, EventKind, EventStream, Outcome};
pub use settings::{CallSettings, CallerName, ForwardedCallerId, SettingsError};
