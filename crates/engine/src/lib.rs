//! Teamline engine crate.
