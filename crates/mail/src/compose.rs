//! Turning an [`OutgoingMessage`] into an RFC 5322 message.

use lettre::message::{Message, MultiPart};

use crate::{MailAddress, MailError, OutgoingMessage};

/// A fresh `Message-ID` in the sender's domain, e.g. `<3f9a…@teamline.example>`.
pub(crate) fn message_id(from: &MailAddress) -> String {
    let mut random = [0u8; 16];
    rand::fill(&mut random);
    let hex: String = random.iter().map(|b| format!("{b:02x}")).collect();
    let email = from.email();
    let domain = email
        .rsplit_once('@')
        .map_or("teamline.invalid", |(_, d)| d);
    format!("<{hex}@{domain}>")
}

/// The message as lettre builds it: `multipart/alternative` with the text first, so clients
/// that can show HTML do, and the others show the text.
pub(crate) fn compose(
    from: &MailAddress,
    message: &OutgoingMessage,
    message_id: &str,
) -> Result<Message, MailError> {
    Message::builder()
        .from(from.mailbox().clone())
        .to(message.to.mailbox().clone())
        .subject(message.subject.clone())
        .message_id(Some(message_id.to_owned()))
        .multipart(MultiPart::alternative_plain_html(
            message.text.clone(),
            message.html.clone(),
        ))
        .map_err(|e| MailError::Compose {
            detail: e.to_string(),
        })
}
