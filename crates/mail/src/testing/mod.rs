//! Test fixtures (feature `testing`): a real SMTP server for tests, here and in other crates
//! (the browser story follows the invitation link from the received mail).
//!
//! The server is the `aiosmtpd` Python package run by the interpreter in
//! `TEAMLINE_TEST_PYTHON` (scripts/test.sh installs it into the tests' virtualenv). When it is
//! missing the fixture fails with what to run; it never skips.

mod ca;
mod smtp_server;

pub use ca::TestCa;
pub use smtp_server::{ReceivedMail, SmtpServer, SmtpServerError};
