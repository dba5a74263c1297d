//! Teamline's e-mail: the invitation that brings a new enterprise's Global Administrator to
//! Teamline, and how it is delivered.
//!
//! - [`Mailer`]: sends one [`OutgoingMessage`]. [`SmtpMailer`] delivers over SMTP (plain,
//!   STARTTLS or implicit TLS, optional AUTH); [`Outbox`] keeps messages instead, for the demo
//!   and its Outbox page.
//! - [`invitation`]: the signed, expiring, single-use invitation token, its link, and the
//!   invitation e-mail.
//! - `testing` (feature `testing`): a real SMTP server for tests.

mod address;
mod compose;
mod error;
pub mod invitation;
mod mailer;
mod message;
mod outbox;
pub mod smtp;
#[cfg(feature = "testing")]
pub mod testing;

pub use address::MailAddress;
pub use error::MailError;
pub use mailer::{Mailer, SentMessage};
pub use message::OutgoingMessage;
pub use outbox::{Outbox, OutboxEntry};
pub use smtp::{SmtpAuth, SmtpMailer, SmtpSecurity, SmtpSettings};
