//! Teamline pbx crate.
