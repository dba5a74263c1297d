//! The engine end to end: against the simulated Microsoft cloud and NetSapiens PBX over HTTP,
//! on SQLite, and on PostgreSQL where several instances matter.

// Test code asserts by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod bulk;
mod direct_routing;
mod directory;
mod drift;
mod import;
mod instances;
mod support;
mod throttling;
