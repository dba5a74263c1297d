//! Calls through the gateway: the per-user settings Teamline pushes, the call events and
//! records Kamailio reports, and the health of the Microsoft side per region.

pub mod events;
pub mod health;
pub mod settings;
pub mod test_call;

pub use events::{
    CallEvent, CallRecord, CallRecords, Direction, EventKind, EventStream, MEDIA_RELAY_UNAVAILABLE,
    Outcome,
};
pub use health::{ProxyHealth, ProxyState, RegionHealth};
pub use settings::{CallSettings, CallerName, ForwardedCallerId, SettingsError};
pub use test_call::{TestCall, TestCallError};
