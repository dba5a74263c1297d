//! Teamline web crate.
