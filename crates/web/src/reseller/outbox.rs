//! The outbox: the e-mail Teamline would have sent, when it keeps messages instead of sending
//! them (the demo has no mail server). A reseller sees only the invitations it sent.

use super::{ResellerAdmin, ResellerLayout, ResellerMenu};
use crate::AppState;
use crate::error::PageError;
use crate::routes::{Routes, get};
use crate::views::timestamp;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;

pub fn routes() -> Routes {
    Routes::new().route("/reseller/outbox", get(page))
}

pub struct MessageView {
    pub sent: String,
    pub to: String,
    pub subject: String,
    pub text: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "reseller/outbox.html")]
struct OutboxPage {
    layout: ResellerLayout,
    /// Whether Teamline keeps messages here (else it sends them over SMTP).
    kept: bool,
    messages: Vec<MessageView>,
}

async fn page(
    State(state): State<AppState>,
    admin: ResellerAdmin,
) -> Result<OutboxPage, PageError> {
    let outbox = state.engine.invitations().and_then(|i| i.outbox.clone());
    let mut messages = Vec::new();
    if let Some(outbox) = &outbox {
        // By Message-ID, not by recipient: another reseller may invite the same address.
        let mut own = std::collections::HashSet::new();
        for e in state
            .store
            .list_enterprises(Some(admin.reseller.id))
            .await?
        {
            for i in state.store.list_invitations(e.id).await? {
                own.extend(i.message_id);
            }
        }
        for entry in outbox.entries() {
            let to = entry.message.to.email();
            if own.contains(&entry.message_id) {
                messages.push(MessageView {
                    sent: timestamp(entry.sent_at.unix_timestamp() * 1000),
                    to,
                    subject: entry.message.subject.clone(),
                    text: entry.message.text.clone(),
                });
            }
        }
    }
    Ok(OutboxPage {
        layout: admin.layout(ResellerMenu::Outbox),
        kept: outbox.is_some(),
        messages,
    })
}
