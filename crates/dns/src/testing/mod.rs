//! Test fixtures (feature `testing`): a real authoritative DNS server for tests, here and in
//! other crates (the gateway's SRV tests, the simulator's domain verification, the engine's
//! Direct Routing job).
//!
//! Tests run the real thing: when `knotd`, `kdig` or `knsupdate` is missing the fixture fails
//! with the Debian package to install, it never skips.

mod knot;
mod tools;

pub use knot::{Knot, KnotConfig, KnotError, TestTsigKey};
pub use tools::{free_port, require_tool};
