//! A message to send, independent of how it travels.

use crate::MailAddress;

/// One e-mail to one recipient: plain text with an HTML alternative. The sender is the
/// mailer's (the platform's `From`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMessage {
    pub to: MailAddress,
    pub subject: String,
    pub text: String,
    pub html: String,
}
