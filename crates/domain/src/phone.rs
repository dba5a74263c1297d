//! Teams line numbers in E.164 form.

use crate::error::FieldError;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A phone number as Teams stores it: `+` and 3–15 digits, optionally `;ext=` and digits.
///
/// Admins type numbers the way they read them; the seed article's convention is to type
/// `1<extension>` and let the portal add the `+`. So spaces, dashes, dots and parentheses are
/// dropped and a missing `+` is added: `11000` → `+11000`, `+1 (425) 555-0100` → `+14255550100`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PhoneNumber {
    digits: String,
    extension: Option<String>,
}

const FIELD: &str = "Phone Number";
const ACCEPTED: &str = "use digits, optionally starting with + (e.g. 11000 or +1 425 555 0100), \
                        3 to 15 digits, optionally followed by ;ext= and digits";

impl PhoneNumber {
    pub const MAX_DIGITS: usize = 15;
    pub const MIN_DIGITS: usize = 3;

    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(FieldError::new(FIELD, format!("is required: {ACCEPTED}")));
        }
        let lower = trimmed.to_ascii_lowercase();
        let (main, extension) = match lower.find(";ext=") {
            Some(at) => (&trimmed[..at], Some(&trimmed[at + ";ext=".len()..])),
            None => (trimmed, None),
        };
        let rest = main.strip_prefix('+').unwrap_or(main);
        let mut digits = String::with_capacity(rest.len());
        for c in rest.chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '-' | '.' | '(' | ')' => {}
                _ => {
                    return Err(FieldError::new(
                        FIELD,
                        format!(
                            "'{trimmed}' is not a phone number ('{c}' is not allowed): {ACCEPTED}"
                        ),
                    ));
                }
            }
        }
        if digits.len() < Self::MIN_DIGITS {
            return Err(FieldError::new(
                FIELD,
                format!("'{trimmed}' is too short: {ACCEPTED}"),
            ));
        }
        if digits.len() > Self::MAX_DIGITS {
            return Err(FieldError::new(
                FIELD,
                format!(
                    "'{trimmed}' has {} digits, more than the {} an E.164 number can have: {ACCEPTED}",
                    digits.len(),
                    Self::MAX_DIGITS
                ),
            ));
        }
        if digits.starts_with('0') {
            return Err(FieldError::new(
                FIELD,
                format!(
                    "'{trimmed}' starts with 0, but international numbers start with a country code (1 for the US): {ACCEPTED}"
                ),
            ));
        }
        let extension = match extension {
            None => None,
            Some(ext) => {
                let ext = ext.trim();
                if ext.is_empty() || ext.len() > 10 || !ext.chars().all(|c| c.is_ascii_digit()) {
                    return Err(FieldError::new(
                        FIELD,
                        format!(
                            "'{trimmed}' has an invalid extension: after ;ext= use 1 to 10 digits"
                        ),
                    ));
                }
                Some(ext.to_owned())
            }
        };
        Ok(Self { digits, extension })
    }

    /// The number Teamline suggests for an extension, following the seed article: `+1<ext>`.
    /// `None` when the extension is not all digits (e.g. `216a`): then the admin must type one.
    pub fn suggested_for_extension(extension: &str) -> Option<Self> {
        if extension.is_empty() || !extension.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
        Self::parse(&format!("1{extension}")).ok()
    }

    /// `+` and the digits, without `;ext=`.
    pub fn e164(&self) -> String {
        format!("+{}", self.digits)
    }

    pub fn extension(&self) -> Option<&str> {
        self.extension.as_deref()
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "+{}", self.digits)?;
        if let Some(ext) = &self.extension {
            write!(f, ";ext={ext}")?;
        }
        Ok(())
    }
}

impl TryFrom<String> for PhoneNumber {
    type Error = FieldError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<PhoneNumber> for String {
    fn from(value: PhoneNumber) -> Self {
        value.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ok(s: &str) -> String {
        PhoneNumber::parse(s).unwrap().to_string()
    }

    #[test]
    fn seed_article_convention_adds_the_plus() {
        assert_eq!(ok("11000"), "+11000");
        assert_eq!(ok("+11000"), "+11000");
    }

    #[test]
    fn punctuation_is_dropped() {
        assert_eq!(ok("+1 (425) 555-0100"), "+14255550100");
        assert_eq!(ok(" 1.425.555.0100 "), "+14255550100");
    }

    #[test]
    fn extension_is_kept() {
        let n = PhoneNumber::parse("+1 425 555 0100;ext=123").unwrap();
        assert_eq!(n.to_string(), "+14255550100;ext=123");
        assert_eq!(n.e164(), "+14255550100");
        assert_eq!(n.extension(), Some("123"));
        assert_eq!(ok("+14255550100;EXT=9"), "+14255550100;ext=9");
    }

    #[test]
    fn bad_numbers_say_what_is_accepted() {
        for bad in [
            "",
            "abc",
            "1-800-FLOWERS",
            "+1234567890123456",
            "12",
            "+0123",
            "+1;ext=",
            "+1425;ext=12a",
        ] {
            let err = PhoneNumber::parse(bad).unwrap_err();
            assert_eq!(err.field, "Phone Number", "{bad}");
            assert!(
                err.message.contains("digits"),
                "message for {bad:?} should say what is accepted: {err}"
            );
        }
        let long = PhoneNumber::parse("+1234567890123456").unwrap_err();
        assert!(long.message.contains("more than the 15"), "{long}");
        let letters = PhoneNumber::parse("abc").unwrap_err();
        assert!(letters.message.contains("'a' is not allowed"), "{letters}");
    }

    #[test]
    fn suggestion_for_an_extension() {
        assert_eq!(
            PhoneNumber::suggested_for_extension("1000")
                .unwrap()
                .to_string(),
            "+11000"
        );
        assert_eq!(PhoneNumber::suggested_for_extension("216a"), None);
    }

    #[test]
    fn serde_round_trip() {
        let n = PhoneNumber::parse("+14255550100;ext=1").unwrap();
        let json = serde_json_like(&n);
        assert_eq!(json, "+14255550100;ext=1");
    }

    fn serde_json_like(n: &PhoneNumber) -> String {
        String::from(n.clone())
    }

    proptest! {
        #[test]
        fn any_digit_string_in_range_parses_to_plus_digits(d in "[1-9][0-9]{2,14}") {
            let n = PhoneNumber::parse(&d).unwrap();
            prop_assert_eq!(n.to_string(), format!("+{d}"));
        }

        #[test]
        fn parse_of_display_is_identity(d in "[1-9][0-9]{2,14}", ext in proptest::option::of("[0-9]{1,10}")) {
            let input = match &ext { Some(e) => format!("+{d};ext={e}"), None => format!("+{d}") };
            let n = PhoneNumber::parse(&input).unwrap();
            prop_assert_eq!(PhoneNumber::parse(&n.to_string()).unwrap(), n.clone());
            prop_assert_eq!(n.to_string(), input);
        }

        #[test]
        fn never_panics_and_errors_name_the_field(s in "\\PC{0,40}") {
            if let Err(e) = PhoneNumber::parse(&s) {
                prop_assert_eq!(e.field, "Phone Number");
            }
        }

        #[test]
        fn too_many_digits_rejected(d in "[1-9][0-9]{15,30}") {
            prop_assert!(PhoneNumber::parse(&d).is_err());
        }

        #[test]
        fn letters_rejected(s in "[0-9]{0,5}[a-zA-Z][0-9a-zA-Z]{0,5}") {
            prop_assert!(PhoneNumber::parse(&s).is_err());
        }
    }
}
