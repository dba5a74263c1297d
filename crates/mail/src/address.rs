//! E-mail addresses, with an optional display name.

use std::fmt;
use std::str::FromStr;

use lettre::message::Mailbox;

use crate::MailError;

/// An address such as `admin@fabrikam.example` or `Teamline <noreply@example.net>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailAddress(Mailbox);

impl MailAddress {
    /// Parses an address; the error quotes what was given and says what is expected.
    pub fn parse(text: &str) -> Result<Self, MailError> {
        Mailbox::from_str(text.trim())
            .map(Self)
            .map_err(|e| MailError::InvalidAddress {
                address: text.trim().to_owned(),
                detail: e.to_string(),
            })
    }

    /// The bare address, `admin@fabrikam.example`.
    pub fn email(&self) -> String {
        self.0.email.to_string()
    }

    /// The display name, if any.
    pub fn name(&self) -> Option<&str> {
        self.0.name.as_deref()
    }

    pub(crate) fn mailbox(&self) -> &Mailbox {
        &self.0
    }
}

impl fmt::Display for MailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_keep_their_display_name() {
        let a = MailAddress::parse("Teamline <noreply@example.net>").unwrap();
        assert_eq!(a.email(), "noreply@example.net");
        assert_eq!(a.name(), Some("Teamline"));
        let b = MailAddress::parse(" admin@fabrikam.example ").unwrap();
        assert_eq!(b.to_string(), "admin@fabrikam.example");
        let err = MailAddress::parse("admin at fabrikam").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("`admin at fabrikam` is not an e-mail address"),
            "{err}"
        );
    }
}
