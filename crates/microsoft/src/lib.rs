//! Teamline microsoft crate.
