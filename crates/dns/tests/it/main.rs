//! `Rfc2136Publisher` against a real Knot DNS server (see `teamline_dns::testing`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

mod failures;
mod publish;
mod support;
