//! Teamline store-postgres crate.
