//! `SmtpMailer` against a real SMTP server (aiosmtpd, see `teamline_mail::testing`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

mod delivery;
mod failures;
mod support;
