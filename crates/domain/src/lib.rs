//! Teamline's domain: the objects of the product (resellers, enterprises, PBX locations, Teams
//! users, PBX users, device handles, action items, jobs, audit events) as types that can only
//! hold valid values; each module states the rules of its object, the rules that relate them, and the planner that turns what an admin configured into
//! the steps that make Microsoft Teams and the PBX match it.
//!
//! This crate does no I/O: no async, no SQL, no HTTP, no clock. Callers pass in what the rules
//! need (the current time, a random number generator, lists read from the store or the PBX).

pub mod action_item;
pub mod audit;
pub mod billing;
pub mod bulk_import;
pub mod call;
pub mod device;
pub mod diagnosis;
pub mod direct_routing;
pub mod enterprise;
pub mod error;
pub mod ids;
pub mod job;
pub mod pbx_location;
pub mod pbx_lock;
pub mod pbx_user;
pub mod phone;
pub mod preview;
pub mod registration;
pub mod reseller;
pub mod sip;
pub mod sync_group;
pub mod teams_user;
pub mod teams_voice;
pub mod text;
pub mod voice_route;

pub use error::{FieldError, FieldErrors};
