//! The gateway crate's integration tests: real Kamailio processes (the gateway and the
//! stand-in PBX registrar), sipp as a misbehaving registrar, Knot DNS as the PBX's DNS. None
//! of them is skipped: a missing tool fails the test with what to install.

// Test helpers outside `#[test]` functions: a failed setup should panic with its reason.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod calls;
mod dns;
mod faults;
mod harness;
mod registration;
mod restart;
mod supervisor;
