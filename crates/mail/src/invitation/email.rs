//! The invitation e-mail: plain text and HTML (askama templates; the HTML one escapes the
//! names, which the reseller typed).

use askama::Template;
use time::OffsetDateTime;
use time::macros::format_description;
use url::Url;

use crate::{MailAddress, MailError, OutgoingMessage};

/// What the invitation says and to whom.
#[derive(Debug, Clone)]
pub struct Invitation {
    /// The tenant's Global Administrator.
    pub to: MailAddress,
    pub enterprise_name: String,
    pub reseller_name: String,
    /// From [`super::registration_link`].
    pub link: Url,
    pub expires_at: OffsetDateTime,
}

/// What both templates show.
struct Fields<'a> {
    enterprise: &'a str,
    reseller: &'a str,
    link: &'a str,
    expires: &'a str,
}

#[derive(Template)]
#[template(path = "invitation.txt")]
struct Text<'a> {
    f: &'a Fields<'a>,
}

#[derive(Template)]
#[template(path = "invitation.html")]
struct Html<'a> {
    f: &'a Fields<'a>,
}

/// The invitation as a message ready for any [`crate::Mailer`].
pub fn invitation_message(invitation: &Invitation) -> Result<OutgoingMessage, MailError> {
    let expires = format_expiry(invitation.expires_at);
    let enterprise = invitation.enterprise_name.trim();
    let reseller = invitation.reseller_name.trim();
    let link = invitation.link.as_str();
    let render = |e: askama::Error| MailError::Compose {
        detail: format!("the invitation template failed ({e})"),
    };
    let fields = Fields {
        enterprise,
        reseller,
        link,
        expires: &expires,
    };
    let text = Text { f: &fields }.render().map_err(render)?;
    let html = Html { f: &fields }.render().map_err(render)?;
    Ok(OutgoingMessage {
        to: invitation.to.clone(),
        subject: format!("{reseller} invites {enterprise} to Microsoft Teams calling"),
        text,
        html,
    })
}

/// `12 March 2026, 14:00 UTC`.
pub(crate) fn format_expiry(at: OffsetDateTime) -> String {
    let format =
        format_description!("[day padding:none] [month repr:long] [year], [hour]:[minute] UTC");
    at.to_offset(time::UtcOffset::UTC)
        .format(&format)
        .unwrap_or_else(|_| at.unix_timestamp().to_string())
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn invitation(enterprise: &str) -> Invitation {
        Invitation {
            to: MailAddress::parse("admin@fabrikam.example").unwrap(),
            enterprise_name: enterprise.to_owned(),
            reseller_name: "Northwind Voice".to_owned(),
            link: Url::parse("https://voice.example/register?invitation=abc-_123").unwrap(),
            expires_at: datetime!(2026-03-12 15:00 +01:00),
        }
    }

    #[test]
    fn the_invitation_names_both_parties_the_link_and_the_expiry() {
        let message = invitation_message(&invitation("Fabrikam")).unwrap();
        assert_eq!(
            message.subject,
            "Northwind Voice invites Fabrikam to Microsoft Teams calling"
        );
        assert_eq!(message.to.email(), "admin@fabrikam.example");
        for body in [&message.text, &message.html] {
            assert!(
                body.contains("https://voice.example/register?invitation=abc-_123"),
                "{body}"
            );
            assert!(
                body.contains("expires on 12 March 2026, 14:00 UTC"),
                "{body}"
            );
            assert!(body.contains("Global Administrator of Fabrikam"), "{body}");
        }
        assert!(
            message
                .text
                .contains("Northwind Voice invites Fabrikam to connect")
        );
        assert!(
            message
                .html
                .contains("<a href=\"https://voice.example/register?invitation=abc-_123\"")
        );
    }

    #[test]
    fn names_are_escaped_in_html_and_left_alone_in_text() {
        let message = invitation_message(&invitation("Fabrikam <b>&</b> Sons")).unwrap();
        assert!(
            message
                .html
                .contains("Fabrikam &#60;b&#62;&#38;&#60;/b&#62; Sons"),
            "{}",
            message.html
        );
        assert!(!message.html.contains("<b>&"));
        assert!(message.text.contains("Fabrikam <b>&</b> Sons"));
    }
}
