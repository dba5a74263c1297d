//! The pieces of the `teamline` binary, as a library so tests can assemble the same app the
//! binary runs (the demo stack with its simulators, the web server and the job runner).

pub mod bench;
pub mod bench_sync;
pub mod config;
pub mod demo;
pub mod pbx_cmd;
pub mod serve;
pub mod sync_cmd;
