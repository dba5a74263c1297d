//! Runs the real `teamline` binary and the demo stack (simulators + store + engine + portal).

// Test code asserts by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod api_token_cmd;
mod bench;
mod call_ladder;
mod crash;
mod demo;
mod doctor;
mod fleet;
mod gateway;
mod import_cmd;
mod instances;
mod pbx_settings;
mod remote_cli;
mod schemathesis;
mod secrets_in_logs;
mod serve_smtp;
mod setup_user;
mod sync_cmd;
mod test_call;
