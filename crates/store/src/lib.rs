//! Teamline store crate.
