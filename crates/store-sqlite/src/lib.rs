//! Teamline store-sqlite crate.
