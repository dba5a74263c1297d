//! Teamline domain crate.
