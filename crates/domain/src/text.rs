//! Small validated text values shared by several objects: names, e-mail addresses, host names.

use crate::error::FieldError;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A display name for something an admin creates (an enterprise, a reseller, a PBX location).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Name(String);

impl Name {
    pub const MAX_LEN: usize = 100;

    pub fn parse(field: &'static str, input: &str) -> Result<Self, FieldError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(FieldError::new(field, "is required"));
        }
        if trimmed.chars().count() > Self::MAX_LEN {
            return Err(FieldError::new(
                field,
                format!("is too long: use at most {} characters", Self::MAX_LEN),
            ));
        }
        if trimmed.chars().any(char::is_control) {
            return Err(FieldError::new(
                field,
                "must not contain control characters",
            ));
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A short URL- and CLI-friendly identifier derived from a name: `Contoso Ltd` → `contoso-ltd`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Slug(String);

impl Slug {
    pub fn from_name(name: &Name) -> Self {
        let mut out = String::new();
        for c in name.as_str().chars() {
            if c.is_ascii_alphanumeric() {
                out.push(c.to_ascii_lowercase());
            } else if !out.ends_with('-') && !out.is_empty() {
                out.push('-');
            }
        }
        while out.ends_with('-') {
            out.pop();
        }
        if out.is_empty() {
            out.push_str("enterprise");
        }
        Self(out)
    }

    pub fn parse(field: &'static str, input: &str) -> Result<Self, FieldError> {
        let s = input.trim();
        let valid = !s.is_empty()
            && s.len() <= 63
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !s.starts_with('-')
            && !s.ends_with('-');
        if valid {
            Ok(Self(s.to_owned()))
        } else {
            Err(FieldError::new(
                field,
                format!(
                    "'{s}' is not a valid identifier: use lower-case letters, digits and hyphens (e.g. contoso)"
                ),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An e-mail address or a Microsoft user principal name (`AdeleV@contoso.example`).
///
/// Only the shape is checked (one `@`, a domain with a dot, no spaces); whether the mailbox exists
/// is for Microsoft to say. The domain part is lower-cased, the local part kept as typed because
/// UPNs are displayed as their owner wrote them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    pub fn parse(field: &'static str, input: &str) -> Result<Self, FieldError> {
        let s = input.trim();
        let bad = || {
            FieldError::new(
                field,
                format!("'{s}' is not an e-mail address: use the form name@example.com"),
            )
        };
        if s.is_empty() {
            return Err(FieldError::new(
                field,
                "is required: use the form name@example.com",
            ));
        }
        let (local, domain) = s.split_once('@').ok_or_else(bad)?;
        if local.is_empty()
            || domain.contains('@')
            || s.chars().any(|c| c.is_whitespace() || c.is_control())
            || s.len() > 254
        {
            return Err(bad());
        }
        let domain = HostName::parse(field, domain).map_err(|_| bad())?;
        if !domain.as_str().contains('.') {
            return Err(bad());
        }
        Ok(Self(format!("{local}@{domain}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map(|(_, d)| d).unwrap_or_default()
    }

    /// Case-insensitive comparison, as Entra compares user principal names.
    pub fn same_as(&self, other: &str) -> bool {
        self.0.eq_ignore_ascii_case(other.trim())
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A DNS host name: letters, digits, hyphens and dots; labels of 1–63 characters that neither
/// start nor end with a hyphen; 253 characters at most. Lower-cased.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct HostName(String);

impl HostName {
    pub fn parse(field: &'static str, input: &str) -> Result<Self, FieldError> {
        let s = input.trim().trim_end_matches('.').to_ascii_lowercase();
        if s.is_empty() {
            return Err(FieldError::new(
                field,
                "is required (a host name such as sbc.pbx.example)",
            ));
        }
        if let Some(c) = s
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '.'))
        {
            let what = if c.is_whitespace() {
                "a space".to_owned()
            } else {
                format!("'{c}'")
            };
            return Err(FieldError::new(
                field,
                format!(
                    "'{}' contains {what}: use only letters, digits, dots and hyphens (e.g. sbc.pbx.example)",
                    input.trim()
                ),
            ));
        }
        if s.len() > 253 {
            return Err(FieldError::new(
                field,
                "is too long: a host name has at most 253 characters",
            ));
        }
        for label in s.split('.') {
            if label.is_empty()
                || label.len() > 63
                || label.starts_with('-')
                || label.ends_with('-')
            {
                return Err(FieldError::new(
                    field,
                    format!(
                        "'{s}' is not a valid host name: each dot-separated part needs 1–63 letters, digits or hyphens and cannot start or end with a hyphen"
                    ),
                ));
            }
        }
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for HostName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Optional free text (a user tag, a note): trimmed, `None` when blank, bounded in length.
pub fn optional_text(
    field: &'static str,
    input: &str,
    max_chars: usize,
) -> Result<Option<String>, FieldError> {
    let s = input.trim();
    if s.is_empty() {
        return Ok(None);
    }
    if s.chars().count() > max_chars {
        return Err(FieldError::new(
            field,
            format!("is too long: use at most {max_chars} characters"),
        ));
    }
    if s.chars().any(char::is_control) {
        return Err(FieldError::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(Some(s.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn slug_from_name() {
        let n = Name::parse("Name", "  Contoso Ltd. (EU) ").unwrap();
        assert_eq!(Slug::from_name(&n).as_str(), "contoso-ltd-eu");
    }

    #[test]
    fn email_lowercases_domain_only() {
        let e = Email::parse("Global Admin e-mail", "AdeleV@Contoso.Example").unwrap();
        assert_eq!(e.as_str(), "AdeleV@contoso.example");
        assert!(e.same_as("adelev@CONTOSO.example"));
        assert_eq!(e.domain(), "contoso.example");
    }

    #[test]
    fn email_errors_name_the_form() {
        for bad in ["", "adele", "a@b", "a b@c.d", "@contoso.example", "a@@b.c"] {
            let err = Email::parse("Global Admin e-mail", bad).unwrap_err();
            assert_eq!(err.field, "Global Admin e-mail");
            assert!(err.message.contains("name@example.com"), "{bad}: {err}");
        }
    }

    #[test]
    fn host_name_rejects_spaces_with_a_clear_message() {
        let err = HostName::parse("SIP Domain Proxy", "sbc pbx.example").unwrap_err();
        assert!(err.to_string().contains("a space"), "{err}");
        assert!(HostName::parse("x", "-a.example").is_err());
        assert_eq!(
            HostName::parse("x", "SBC.pbx.example.").unwrap().as_str(),
            "sbc.pbx.example"
        );
    }

    proptest! {
        #[test]
        fn host_name_parse_is_idempotent(s in "[a-zA-Z0-9.-]{0,80}") {
            if let Ok(h) = HostName::parse("h", &s) {
                prop_assert_eq!(HostName::parse("h", h.as_str()).unwrap(), h);
            }
        }

        #[test]
        fn email_never_panics(s in "\\PC{0,80}") {
            let _ = Email::parse("e", &s);
        }
    }
}
