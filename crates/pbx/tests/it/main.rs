//! The NetSapiens client against the NetSapiens simulator, over real HTTP on 127.0.0.1.

// Test helpers outside `#[test]` functions: a failed setup should panic with its reason.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod addresses;
mod alternatives;
mod connection;
mod devices;
mod errors;
mod extensions;
mod oauth;
mod security;
mod sim_control;
mod support;
