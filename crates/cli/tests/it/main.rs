//! Runs the real `teamline` binary.

// Test code asserts by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod demo;
