//! What the tests share: an SMTP server in a temp dir, the platform sender, an invitation.

use secrecy::SecretString;
use teamline_domain::ids::EnterpriseId;
use teamline_mail::invitation::{
    Invitation, InvitationKey, IssuedInvitation, invitation_message, registration_link,
};
use teamline_mail::testing::SmtpServer;
use teamline_mail::{MailAddress, OutgoingMessage, SmtpAuth, SmtpSecurity};
use time::OffsetDateTime;
use url::Url;

pub const USER: &str = "teamline";
pub const PASSWORD: &str = "Relay-Pass-2026";

pub struct Server {
    pub smtp: SmtpServer,
    _dir: tempfile::TempDir,
}

pub async fn server(security: SmtpSecurity, auth: bool) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let smtp = SmtpServer::start(dir.path(), security, auth.then_some((USER, PASSWORD)))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    Server { smtp, _dir: dir }
}

pub fn from() -> MailAddress {
    MailAddress::parse("Teamline <noreply@teamline.example>").unwrap()
}

pub fn auth(password: &str) -> Option<SmtpAuth> {
    Some(SmtpAuth {
        user: USER.to_owned(),
        password: SecretString::from(password.to_owned()),
    })
}

/// Fabrikam's invitation from Northwind Voice, signed with `key`, valid for a week.
pub fn invitation(key: &InvitationKey) -> (IssuedInvitation, OutgoingMessage) {
    let issued = key.issue(
        EnterpriseId(7),
        OffsetDateTime::now_utc() + time::Duration::days(7),
    );
    let portal = Url::parse("http://127.0.0.1:8080/").unwrap();
    let message = invitation_message(&Invitation {
        to: MailAddress::parse("Fabrikam Admin <admin@fabrikam.example>").unwrap(),
        enterprise_name: "Fabrikam".to_owned(),
        reseller_name: "Northwind Voice".to_owned(),
        link: registration_link(&portal, &issued.token),
        expires_at: issued.expires_at,
    })
    .unwrap();
    (issued, message)
}

/// The registration link in a received text body: the line that is a URL.
pub fn link_in(text: &str) -> Url {
    text.lines()
        .find_map(|line| Url::parse(line.trim()).ok())
        .unwrap_or_else(|| panic!("no link in:\n{text}"))
}

/// Sends an invitation with `settings`, which must fail, and returns the error.
pub async fn send_failing(settings: teamline_mail::SmtpSettings) -> teamline_mail::MailError {
    use teamline_mail::{Mailer, SmtpMailer};
    let mailer = SmtpMailer::new(settings).unwrap();
    mailer
        .send(&invitation(&InvitationKey::generate()).1)
        .await
        .unwrap_err()
}
