//! What can go wrong sending e-mail, worded for the operator who configured the mail server.

/// Why a message was not sent. Messages name the server (and user, recipient) involved, quote
/// the server's reply when there is one, and say what to check; they never contain a password.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("`{address}` is not an e-mail address ({detail}): write e.g. admin@fabrikam.example")]
    InvalidAddress { address: String, detail: String },

    #[error("the mail settings are not valid: {setting} {detail}")]
    Settings {
        setting: &'static str,
        detail: String,
    },

    #[error("could not compose the e-mail: {detail}")]
    Compose { detail: String },

    #[error(
        "could not connect to the mail server {server}: {detail}. Check the SMTP host and port in \
         the mail settings and that the server runs"
    )]
    Connect { server: String, detail: String },

    #[error(
        "the TLS connection to the mail server {server} failed: {detail}. Check the security \
         setting (STARTTLS, usually port 587; implicit TLS, usually port 465) and that the \
         server's certificate is valid for its name and issued by a CA this host trusts"
    )]
    Tls { server: String, detail: String },

    #[error(
        "the mail server {server} does not offer STARTTLS: choose implicit TLS if it listens for \
         it, or no encryption only on a network you trust"
    )]
    StartTlsUnavailable { server: String },

    #[error(
        "the mail server {server} does not offer a sign-in Teamline supports (AUTH PLAIN or \
         LOGIN) on this connection{hint}"
    )]
    AuthUnavailable { server: String, hint: &'static str },

    #[error(
        "the mail server {server} refused the sign-in of `{user}`: {reply}. Check the SMTP user \
         and password in the mail settings"
    )]
    AuthRefused {
        server: String,
        user: String,
        reply: String,
    },

    #[error("the mail server {server} did not accept the message to {recipient}: {reply}")]
    Rejected {
        server: String,
        recipient: String,
        reply: String,
    },

    #[error("the mail server {server} did not answer within {secs} s")]
    Timeout { server: String, secs: u64 },

    #[error("the conversation with the mail server {server} failed: {detail}")]
    Smtp { server: String, detail: String },
}
