//! The pieces of the `teamline` binary, as a library so tests can assemble the same app the
//! binary runs (the demo stack with its simulators, the web server and the job runner).

pub mod commands;
pub mod config;
pub mod remote;
pub mod sim_process;
