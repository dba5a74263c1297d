//! Integration tests of the Microsoft client against local servers that answer with the JSON
//! Microsoft documents.

// Test code may unwrap: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod alternatives;
mod direct_routing;
mod directory;
mod doctor;
mod fixture;
mod resilience;
mod signin;
mod sim;
mod tokens;
mod voice;
