//! Device handles: the PBX devices (SIP registrations) of an extension that Teams uses.

use crate::error::FieldError;
use crate::sip::Extension;
use rand::{Rng, RngExt};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The SIP authentication id of a device handle (`1000tm`): letters and digits, 1–40 characters.
/// A NetSapiens device written as `sip:1000tm@contoso` is accepted and reduced to `1000tm`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DeviceAuthId(String);

impl DeviceAuthId {
    pub const FIELD: &'static str = "SIP Authentication ID";
    /// The suffix the seed article recommends for Teams device handles.
    pub const RECOMMENDED_SUFFIX: &'static str = "tm";

    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let s = input.trim();
        let s = s.strip_prefix("sip:").unwrap_or(s);
        let s = s.split_once('@').map(|(user, _)| user).unwrap_or(s);
        if s.is_empty() || s.len() > 40 || !s.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(FieldError::new(
                Self::FIELD,
                format!(
                    "'{}' is not a device name: use the extension followed by a suffix, letters and digits only (e.g. 1000tm)",
                    input.trim()
                ),
            ));
        }
        Ok(Self(s.to_owned()))
    }

    /// The handle Teamline suggests for an extension: `<ext>tm`.
    pub fn suggested(extension: &Extension) -> Self {
        Self(format!(
            "{}{}",
            extension.as_str(),
            Self::RECOMMENDED_SUFFIX
        ))
    }

    /// Whether this handle belongs to the extension (`1000tm` and `1000` belong to `1000`).
    pub fn belongs_to(&self, extension: &Extension) -> bool {
        self.0.starts_with(extension.as_str())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DeviceAuthId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for DeviceAuthId {
    type Error = FieldError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<DeviceAuthId> for String {
    fn from(value: DeviceAuthId) -> Self {
        value.0
    }
}

/// A device handle's SIP password. Letters and digits only, because several PBXs and SBCs
/// mishandle special characters in digest credentials. Never printed: `Debug` is redacted and
/// there is no `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct SipPassword(String);

impl SipPassword {
    pub const FIELD: &'static str = "SIP Password";
    pub const GENERATED_LEN: usize = 12;
    pub const MIN_LEN: usize = 8;
    pub const MAX_LEN: usize = 64;

    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let len = input.chars().count();
        if !(Self::MIN_LEN..=Self::MAX_LEN).contains(&len) {
            return Err(FieldError::new(
                Self::FIELD,
                format!(
                    "has {len} characters: use {} to {} letters and digits",
                    Self::MIN_LEN,
                    Self::MAX_LEN
                ),
            ));
        }
        if !input.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(FieldError::new(
                Self::FIELD,
                "contains a character that is not a letter or digit: use letters and digits only",
            ));
        }
        Ok(Self(input.to_owned()))
    }

    /// A new random password of 12 letters and digits, drawn from the given generator.
    pub fn generate(rng: &mut impl Rng) -> Self {
        // Look-alikes (I, O, l, 0, 1) are left out: admins sometimes read these aloud.
        const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
        const LOWER: &[u8] = b"abcdefghijkmnopqrstuvwxyz";
        const DIGITS: &[u8] = b"23456789";
        const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
        let mut out = String::with_capacity(Self::GENERATED_LEN);
        // At least one upper, one lower and one digit: some PBX password policies insist.
        let classes = [UPPER, LOWER, DIGITS];
        for class in classes {
            out.push(char::from(class[rng.random_range(0..class.len())]));
        }
        while out.len() < Self::GENERATED_LEN {
            out.push(char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]));
        }
        // Shuffle so the class positions are not predictable.
        let mut bytes = out.into_bytes();
        for i in (1..bytes.len()).rev() {
            bytes.swap(i, rng.random_range(0..=i));
        }
        Self(bytes.into_iter().map(char::from).collect())
    }

    /// The secret itself, for the few places that must send it (the PBX API, the encryption layer).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SipPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SipPassword(<redacted>)")
    }
}

/// A device of a SIP user on the PBX, as Teamline knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceHandle {
    pub auth_id: DeviceAuthId,
    pub extension: Extension,
    /// True when Teamline created it on the PBX, so deleting the user may delete it too.
    pub created_by_teamline: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::SeedableRng;

    #[test]
    fn suggested_handle_is_ext_tm() {
        let ext = Extension::parse("1000").unwrap();
        let h = DeviceAuthId::suggested(&ext);
        assert_eq!(h.as_str(), "1000tm");
        assert!(h.belongs_to(&ext));
    }

    #[test]
    fn netsapiens_device_uri_is_reduced() {
        assert_eq!(
            DeviceAuthId::parse("sip:1002tm@contoso").unwrap().as_str(),
            "1002tm"
        );
        assert!(DeviceAuthId::parse("1002 tm").is_err());
        assert!(DeviceAuthId::parse("").is_err());
    }

    #[test]
    fn password_rules() {
        assert!(SipPassword::parse("abcd1234").is_ok());
        assert!(SipPassword::parse("abc123").is_err());
        assert!(SipPassword::parse("abcd1234!").is_err());
        assert!(SipPassword::parse(&"a".repeat(65)).is_err());
        assert_eq!(
            format!("{:?}", SipPassword::parse("secret123").unwrap()),
            "SipPassword(<redacted>)"
        );
    }

    proptest! {
        #[test]
        fn generated_passwords_are_accepted(seed in any::<u64>()) {
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
            let p = SipPassword::generate(&mut rng);
            prop_assert_eq!(p.expose().len(), 12);
            prop_assert!(p.expose().chars().any(|c| c.is_ascii_digit()));
            prop_assert!(p.expose().chars().any(|c| c.is_ascii_uppercase()));
            prop_assert!(p.expose().chars().any(|c| c.is_ascii_lowercase()));
            prop_assert!(SipPassword::parse(p.expose()).is_ok());
        }

        #[test]
        fn auth_id_never_panics(s in "\\PC{0,50}") {
            let _ = DeviceAuthId::parse(&s);
            let _ = SipPassword::parse(&s);
        }
    }
}
