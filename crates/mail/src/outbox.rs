//! A mailer that keeps messages instead of sending them: the demo has no mail server, and its
//! Outbox page shows what Teamline would have sent.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::compose::message_id;
use crate::{MailAddress, MailError, Mailer, OutgoingMessage, SentMessage};

/// How many messages the outbox keeps; the oldest go first.
const CAPACITY: usize = 1000;

/// One kept message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    /// 1, 2, 3, … in the order messages were sent.
    pub id: u64,
    pub sent_at: OffsetDateTime,
    pub message_id: String,
    pub from: MailAddress,
    pub message: OutgoingMessage,
}

/// The messages "sent" in this process, newest first. Cloning shares the same outbox.
#[derive(Debug, Clone)]
pub struct Outbox {
    from: MailAddress,
    inner: Arc<Mutex<Kept>>,
}

#[derive(Debug, Default)]
struct Kept {
    next_id: u64,
    entries: VecDeque<OutboxEntry>,
}

impl Outbox {
    /// An empty outbox; `from` is the sender the messages show.
    pub fn new(from: MailAddress) -> Self {
        Self {
            from,
            inner: Arc::default(),
        }
    }

    /// Every kept message, newest first.
    pub fn entries(&self) -> Vec<OutboxEntry> {
        self.lock().entries.iter().rev().cloned().collect()
    }

    /// One kept message by its id.
    pub fn get(&self, id: u64) -> Option<OutboxEntry> {
        self.lock().entries.iter().find(|e| e.id == id).cloned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Kept> {
        // A panic while holding the lock leaves the list itself intact.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait]
impl Mailer for Outbox {
    async fn send(&self, message: &OutgoingMessage) -> Result<SentMessage, MailError> {
        let message_id = message_id(&self.from);
        let mut kept = self.lock();
        kept.next_id += 1;
        let entry = OutboxEntry {
            id: kept.next_id,
            sent_at: OffsetDateTime::now_utc(),
            message_id: message_id.clone(),
            from: self.from.clone(),
            message: message.clone(),
        };
        if kept.entries.len() == CAPACITY {
            kept.entries.pop_front();
        }
        kept.entries.push_back(entry);
        tracing::info!(to = %message.to, subject = %message.subject, "e-mail kept in the outbox");
        Ok(SentMessage { message_id })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(to: &str, subject: &str) -> OutgoingMessage {
        OutgoingMessage {
            to: MailAddress::parse(to).unwrap(),
            subject: subject.to_owned(),
            text: "text".to_owned(),
            html: "<p>html</p>".to_owned(),
        }
    }

    #[tokio::test]
    async fn the_outbox_keeps_messages_newest_first_and_shares_them_between_clones() {
        let outbox =
            Outbox::new(MailAddress::parse("Teamline <noreply@teamline.example>").unwrap());
        let shown = outbox.clone();
        let first = outbox
            .send(&message("a@fabrikam.example", "one"))
            .await
            .unwrap();
        outbox
            .send(&message("b@fabrikam.example", "two"))
            .await
            .unwrap();

        let entries = shown.entries();
        assert_eq!(
            entries
                .iter()
                .map(|e| (e.id, e.message.subject.as_str()))
                .collect::<Vec<_>>(),
            [(2, "two"), (1, "one")]
        );
        assert_eq!(entries[1].message_id, first.message_id);
        assert!(
            first.message_id.ends_with("@teamline.example>"),
            "{}",
            first.message_id
        );
        assert_eq!(
            shown.get(1).unwrap().message.to.email(),
            "a@fabrikam.example"
        );
        assert!(shown.get(3).is_none());
    }
}
