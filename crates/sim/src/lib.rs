//! Teamline sim crate.
