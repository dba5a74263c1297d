//! Teamline store-tests crate.
