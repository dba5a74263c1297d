//! The stories every store backend must pass, one module per part of the store.

pub mod api_tokens;
pub mod audit;
pub mod calls;
pub mod directory;
pub mod enterprises;
pub mod imports;
pub mod jobs;
pub mod migrations;
pub mod pbx_users;
pub mod platform;
pub mod registrations;
pub mod reseller_reports;
pub mod secrets;
pub mod sessions;
