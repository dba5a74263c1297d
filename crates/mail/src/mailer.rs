//! The one interface the rest of Teamline uses to send e-mail.

use async_trait::async_trait;

use crate::{MailError, OutgoingMessage};

/// Sends e-mail. Object safe, so the engine and the portal can hold an `Arc<dyn Mailer>`.
#[async_trait]
pub trait Mailer: Send + Sync {
    /// Delivers `message` (to the SMTP server, or into the outbox) and returns its Message-ID.
    async fn send(&self, message: &OutgoingMessage) -> Result<SentMessage, MailError>;
}

/// What was sent: the `Message-ID` header, e.g. `<…@teamline.example>`, for the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentMessage {
    pub message_id: String,
}
