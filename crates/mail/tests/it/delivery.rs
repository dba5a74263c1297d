//! The invitation reaches a real SMTP server in every security mode, and its link works.

use teamline_domain::ids::EnterpriseId;
use teamline_mail::invitation::{InvitationKey, token_in_link};
use teamline_mail::{Mailer, SmtpMailer, SmtpSecurity};
use time::OffsetDateTime;

use crate::support::{PASSWORD, USER, auth, from, invitation, link_in, server};

#[tokio::test]
async fn the_invitation_arrives_and_its_link_opens_the_invitation() {
    let server = server(SmtpSecurity::None, false).await;
    let mailer = SmtpMailer::new(server.smtp.settings(from(), None)).unwrap();
    let key = InvitationKey::generate();
    let (issued, message) = invitation(&key);

    let sent = mailer.send(&message).await.unwrap();

    let mail = server.smtp.wait_for_mail(1).await.unwrap().remove(0);
    assert_eq!(mail.mail_from, "noreply@teamline.example");
    assert_eq!(mail.rcpt_to, ["admin@fabrikam.example"]);
    assert_eq!(mail.from, "Teamline <noreply@teamline.example>");
    assert_eq!(mail.to, "Fabrikam Admin <admin@fabrikam.example>");
    assert_eq!(
        mail.subject,
        "Northwind Voice invites Fabrikam to Microsoft Teams calling"
    );
    assert_eq!(mail.message_id, sent.message_id);
    assert_eq!(mail.content_type, "multipart/alternative");
    assert!(!mail.tls);

    let text = mail.text.unwrap();
    let link = link_in(&text);
    assert_eq!(link.path(), "/register");
    let token = token_in_link(&link).unwrap();
    assert_eq!(token, issued.token.as_str());
    let pending = key.open(&token, OffsetDateTime::now_utc()).unwrap();
    assert_eq!(pending.enterprise(), EnterpriseId(7));
    let html = mail.html.unwrap();
    assert!(html.contains(&format!("href=\"{link}\"")), "{html}");
}

#[tokio::test]
async fn starttls_with_sign_in_delivers_encrypted() {
    let server = server(SmtpSecurity::StartTls, true).await;
    let mailer = SmtpMailer::new(server.smtp.settings(from(), auth(PASSWORD))).unwrap();
    let (_, message) = invitation(&InvitationKey::generate());

    mailer.send(&message).await.unwrap();

    let mail = server.smtp.wait_for_mail(1).await.unwrap().remove(0);
    assert!(mail.tls, "sent after STARTTLS");
    assert_eq!(mail.auth_user.as_deref(), Some(USER));
}

#[tokio::test]
async fn implicit_tls_with_sign_in_delivers_encrypted() {
    let server = server(SmtpSecurity::Tls, true).await;
    let mailer = SmtpMailer::new(server.smtp.settings(from(), auth(PASSWORD))).unwrap();
    let (_, message) = invitation(&InvitationKey::generate());

    mailer.send(&message).await.unwrap();

    let mail = server.smtp.wait_for_mail(1).await.unwrap().remove(0);
    assert!(mail.tls);
    assert_eq!(mail.auth_user.as_deref(), Some(USER));
}

#[tokio::test]
async fn sign_in_works_without_encryption_when_the_server_allows_it() {
    let server = server(SmtpSecurity::None, true).await;
    let mailer = SmtpMailer::new(server.smtp.settings(from(), auth(PASSWORD))).unwrap();
    let (_, message) = invitation(&InvitationKey::generate());
    let (_, second) = invitation(&InvitationKey::generate());

    mailer.send(&message).await.unwrap();
    mailer.send(&second).await.unwrap();

    let mails = server.smtp.wait_for_mail(2).await.unwrap();
    assert!(
        mails
            .iter()
            .all(|m| !m.tls && m.auth_user.as_deref() == Some(USER))
    );
    assert_ne!(mails[0].message_id, mails[1].message_id);
}
