//! What the operator is told when the mail server is down, TLS fails, the sign-in or the
//! recipient is refused.

use teamline_mail::invitation::InvitationKey;
use teamline_mail::{MailAddress, MailError, Mailer, SmtpMailer, SmtpSecurity};

use crate::support::{auth, from, invitation, send_failing, server};

#[tokio::test]
async fn a_server_that_is_down_is_reported_with_its_address() {
    let mut server = server(SmtpSecurity::None, false).await;
    let settings = server.smtp.settings(from(), None);
    server.smtp.stop().await;
    let err = send_failing(settings).await;

    assert!(matches!(err, MailError::Connect { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.starts_with(&format!(
            "could not connect to the mail server 127.0.0.1:{}: Connection refused",
            server.smtp.port()
        )) && text.ends_with(
            "Check the SMTP host and port in the mail settings and that the server runs"
        ),
        "{text}"
    );
}

#[tokio::test]
async fn a_certificate_from_an_untrusted_ca_fails_starttls() {
    let server = server(SmtpSecurity::StartTls, false).await;
    let mut settings = server.smtp.settings(from(), None);
    settings.extra_ca_pem = None; // the test CA is not trusted
    let err = send_failing(settings).await;

    assert!(matches!(err, MailError::Tls { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.starts_with(&format!(
            "the TLS connection to the mail server 127.0.0.1:{} failed: ",
            server.smtp.port()
        )) && text.contains("certificate"),
        "{text}"
    );
    assert!(server.smtp.received().unwrap().is_empty());
}

#[tokio::test]
async fn implicit_tls_to_a_plain_server_is_a_tls_failure() {
    let server = server(SmtpSecurity::None, false).await;
    let mut settings = server.smtp.settings(from(), None);
    settings.security = SmtpSecurity::Tls;
    let err = send_failing(settings).await;

    assert!(matches!(err, MailError::Tls { .. }), "{err:?}");
}

#[tokio::test]
async fn starttls_is_never_silently_skipped() {
    let server = server(SmtpSecurity::None, false).await;
    let mut settings = server.smtp.settings(from(), None);
    settings.security = SmtpSecurity::StartTls;
    let err = send_failing(settings).await;

    assert!(
        matches!(err, MailError::StartTlsUnavailable { .. }),
        "{err:?}"
    );
    assert!(server.smtp.received().unwrap().is_empty());
}

#[tokio::test]
async fn a_refused_sign_in_quotes_the_servers_reply() {
    let server = server(SmtpSecurity::StartTls, true).await;
    let err = send_failing(server.smtp.settings(from(), auth("wrong-password"))).await;

    assert!(matches!(err, MailError::AuthRefused { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!(
            "the mail server 127.0.0.1:{} refused the sign-in of `teamline`: 535 5.7.8 \
             Authentication credentials invalid. Check the SMTP user and password in the mail \
             settings",
            server.smtp.port()
        )
    );
    assert!(!err.to_string().contains("wrong-password"));
}

#[tokio::test]
async fn a_server_that_requires_sign_in_refuses_an_anonymous_sender() {
    let server = server(SmtpSecurity::StartTls, true).await;
    let err = send_failing(server.smtp.settings(from(), None)).await;

    assert!(matches!(err, MailError::Rejected { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains(": 530 5.7.0 Authentication required"),
        "{err}"
    );
}

#[tokio::test]
async fn a_refused_recipient_is_named_with_the_reply() {
    let server = server(SmtpSecurity::None, false).await;
    let mailer = SmtpMailer::new(server.smtp.settings(from(), None)).unwrap();
    let (_, mut message) = invitation(&InvitationKey::generate());
    message.to = MailAddress::parse("admin@reject.example").unwrap();

    let err = mailer.send(&message).await.unwrap_err();

    assert!(matches!(err, MailError::Rejected { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!(
            "the mail server 127.0.0.1:{} did not accept the message to admin@reject.example: \
             550 5.1.1 <admin@reject.example>: mailbox unavailable",
            server.smtp.port()
        )
    );
}
