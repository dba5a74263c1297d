//! Integration tests of the simulators, driven over real HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

mod ms_common;
mod ms_configapi;
mod ms_control;
mod ms_delta;
mod ms_directory;
mod ms_entra;
mod ms_sdk;
mod ms_teams;
mod registrar;
