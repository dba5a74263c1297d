//! What the operator configures for outgoing mail.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use secrecy::SecretString;

use crate::{MailAddress, MailError};

/// How the connection to the mail server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// No encryption: only for a relay on a network you trust (e.g. on the same host).
    None,
    /// Plain connection upgraded with STARTTLS before anything else is sent (usually port 587).
    /// A server that does not offer STARTTLS is an error, never a silent plain-text fallback.
    StartTls,
    /// TLS from the first byte, "SMTPS" (usually port 465).
    Tls,
}

impl SmtpSecurity {
    /// The port the mode usually uses: 25, 587 or 465.
    pub fn default_port(self) -> u16 {
        match self {
            Self::None => 25,
            Self::StartTls => 587,
            Self::Tls => 465,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::StartTls => "starttls",
            Self::Tls => "tls",
        }
    }
}

impl FromStr for SmtpSecurity {
    type Err = MailError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "none" | "plain" => Ok(Self::None),
            "starttls" => Ok(Self::StartTls),
            "tls" | "smtps" | "implicit-tls" => Ok(Self::Tls),
            other => Err(MailError::Settings {
                setting: "SMTP security",
                detail: format!("`{other}` is not a mode: use none, starttls or tls"),
            }),
        }
    }
}

/// The account Teamline signs in with (AUTH PLAIN or LOGIN). `Debug` hides the password.
#[derive(Clone)]
pub struct SmtpAuth {
    pub user: String,
    pub password: SecretString,
}

impl fmt::Debug for SmtpAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpAuth")
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// Where and how Teamline sends e-mail.
#[derive(Debug, Clone)]
pub struct SmtpSettings {
    /// The mail server's name (checked against its certificate) or address.
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    pub auth: Option<SmtpAuth>,
    /// The sender of every message, e.g. `Teamline <noreply@voice.example>`.
    pub from: MailAddress,
    /// A CA certificate (PEM) to trust in addition to the system's, for a server whose
    /// certificate a private CA issued.
    pub extra_ca_pem: Option<String>,
    /// How long connecting and each step of the conversation may take.
    pub timeout: Duration,
}

impl SmtpSettings {
    /// Settings on the security mode's usual port, without sign-in, with a 30 s timeout.
    pub fn new(host: impl Into<String>, security: SmtpSecurity, from: MailAddress) -> Self {
        Self {
            host: host.into(),
            port: security.default_port(),
            security,
            auth: None,
            from,
            extra_ca_pem: None,
            timeout: Duration::from_secs(30),
        }
    }

    /// `host:port`, for messages.
    pub(crate) fn server(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn security_modes_parse_and_pick_their_usual_port() {
        let from = MailAddress::parse("noreply@example.net").unwrap();
        for (text, port) in [("none", 25), ("STARTTLS", 587), ("tls", 465)] {
            let security: SmtpSecurity = text.parse().unwrap();
            assert_eq!(SmtpSettings::new("mail", security, from.clone()).port, port);
        }
        let err = "ssl3".parse::<SmtpSecurity>().unwrap_err();
        assert!(
            err.to_string().contains("use none, starttls or tls"),
            "{err}"
        );
    }

    #[test]
    fn the_password_is_never_shown() {
        let auth = SmtpAuth {
            user: "teamline".to_owned(),
            password: SecretString::from("hunter2-secret"),
        };
        assert!(!format!("{auth:?}").contains("hunter2"));
    }
}
