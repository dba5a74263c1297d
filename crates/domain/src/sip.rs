//! SIP-side identifiers of a PBX: extensions (SIP users), SIP domains, feature codes.

use crate::error::FieldError;
use crate::text::HostName;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A PBX extension, the "SIP User" of the form: letters and digits as PBX extensions are
/// (`1000`, `216a`), at most 32 characters, no `@`, no spaces.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Extension(String);

impl Extension {
    pub const MAX_LEN: usize = 32;
    const FIELD: &'static str = "SIP User";

    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(FieldError::new(
                Self::FIELD,
                "is required: choose the user's PBX extension (e.g. 1000)",
            ));
        }
        if s.contains('@') {
            return Err(FieldError::new(
                Self::FIELD,
                format!(
                    "'{s}' contains '@': give the extension alone (e.g. 1000), not 1000@domain"
                ),
            ));
        }
        if let Some(c) = s.chars().find(|c| !c.is_ascii_alphanumeric()) {
            let what = if c.is_whitespace() {
                "a space".to_owned()
            } else {
                format!("'{c}'")
            };
            return Err(FieldError::new(
                Self::FIELD,
                format!(
                    "'{s}' contains {what}: an extension is letters and digits only (e.g. 1000 or 216a)"
                ),
            ));
        }
        if s.len() > Self::MAX_LEN {
            return Err(FieldError::new(
                Self::FIELD,
                format!(
                    "'{s}' is too long: an extension has at most {} characters",
                    Self::MAX_LEN
                ),
            ));
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Extension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Extension {
    type Error = FieldError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Extension> for String {
    fn from(value: Extension) -> Self {
        value.0
    }
}

/// A SIP user as written in an address of record: `1000` or `1000@contoso`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SipUser {
    pub extension: Extension,
    pub domain: Option<SipDomain>,
}

impl SipUser {
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let s = input.trim();
        let s = s.strip_prefix("sip:").unwrap_or(s);
        match s.split_once('@') {
            None => Ok(Self {
                extension: Extension::parse(s)?,
                domain: None,
            }),
            Some((user, domain)) => {
                let extension = Extension::parse(user)?;
                let domain = SipDomain::parse(domain).map_err(|e| e.for_field("SIP User"))?;
                Ok(Self {
                    extension,
                    domain: Some(domain),
                })
            }
        }
    }

    /// The address of record `ext@domain` shown on the Users page.
    pub fn aor(&self, default_domain: &SipDomain) -> String {
        format!(
            "{}@{}",
            self.extension,
            self.domain.as_ref().unwrap_or(default_domain)
        )
    }
}

/// The PBX's SIP domain (`contoso`, `pbx.example.net`): letters, digits, dots and hyphens.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SipDomain(HostName);

impl SipDomain {
    const FIELD: &'static str = "SIP Domain";

    pub fn parse(input: &str) -> Result<Self, FieldError> {
        HostName::parse(Self::FIELD, input)
            .map(Self)
            .map_err(|e| FieldError::new(Self::FIELD, e.message.replace("sbc.pbx.example", "acme")))
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl fmt::Display for SipDomain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl TryFrom<String> for SipDomain {
    type Error = FieldError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<SipDomain> for String {
    fn from(value: SipDomain) -> Self {
        value.0.as_str().to_owned()
    }
}

/// The SIP proxy of a PBX location: a host name with an optional port (`sbc.pbx.example:5060`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ProxyHost {
    host: HostName,
    port: Option<u16>,
}

impl ProxyHost {
    const FIELD: &'static str = "SIP Domain Proxy";

    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let s = input.trim();
        let (host, port) = match s.rsplit_once(':') {
            Some((h, p)) => {
                let port = p.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(|| {
                    FieldError::new(
                        Self::FIELD,
                        format!("'{s}' has an invalid port: use host or host:port with a port from 1 to 65535"),
                    )
                })?;
                (h, Some(port))
            }
            None => (s, None),
        };
        Ok(Self {
            host: HostName::parse(Self::FIELD, host)?,
            port,
        })
    }

    pub fn host(&self) -> &str {
        self.host.as_str()
    }

    pub fn port(&self) -> Option<u16> {
        self.port
    }
}

impl fmt::Display for ProxyHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.port {
            Some(p) => write!(f, "{}:{p}", self.host),
            None => write!(f, "{}", self.host),
        }
    }
}

impl TryFrom<String> for ProxyHost {
    type Error = FieldError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<ProxyHost> for String {
    fn from(value: ProxyHost) -> Self {
        value.to_string()
    }
}

/// The code a phone dials to reach voicemail (`9901`, `*97`): digits, `*` and `#`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct FeatureCode(String);

impl FeatureCode {
    const FIELD: &'static str = "Voicemail Feature Code";

    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(FieldError::new(
                Self::FIELD,
                "enter the PBX's voicemail feature code: 1 to 16 digits, * or # (e.g. 9901 or *97)",
            ));
        }
        if s.len() > 16
            || !s
                .chars()
                .all(|c| c.is_ascii_digit() || c == '*' || c == '#')
        {
            return Err(FieldError::new(
                Self::FIELD,
                format!(
                    "'{s}' is not a feature code: use 1 to 16 digits, * or # (e.g. 9901 or *97)"
                ),
            ));
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FeatureCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for FeatureCode {
    type Error = FieldError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<FeatureCode> for String {
    fn from(value: FeatureCode) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn extensions() {
        assert_eq!(Extension::parse(" 1000 ").unwrap().as_str(), "1000");
        assert_eq!(Extension::parse("216a").unwrap().as_str(), "216a");
        let at = Extension::parse("1000@contoso").unwrap_err();
        assert!(at.message.contains("not 1000@domain"), "{at}");
        let space = Extension::parse("10 00").unwrap_err();
        assert!(space.message.contains("a space"), "{space}");
        assert_eq!(Extension::parse("").unwrap_err().field, "SIP User");
    }

    #[test]
    fn sip_user_splits_extension_and_domain() {
        let u = SipUser::parse("1000@contoso").unwrap();
        assert_eq!(u.extension.as_str(), "1000");
        assert_eq!(u.domain.as_ref().unwrap().as_str(), "contoso");
        let plain = SipUser::parse("sip:216a").unwrap();
        assert_eq!(plain.domain, None);
        assert_eq!(
            plain.aor(&SipDomain::parse("contoso").unwrap()),
            "216a@contoso"
        );
        assert!(SipUser::parse("1000@con toso").is_err());
    }

    #[test]
    fn sip_domain_with_space_is_named() {
        let e = SipDomain::parse("con toso").unwrap_err();
        assert_eq!(e.field, "SIP Domain");
        assert!(e.message.contains("a space"), "{e}");
    }

    #[test]
    fn proxy_host_and_port() {
        assert_eq!(
            ProxyHost::parse("sbc.pbx.example").unwrap().to_string(),
            "sbc.pbx.example"
        );
        let p = ProxyHost::parse("SBC.pbx.example:5061").unwrap();
        assert_eq!((p.host(), p.port()), ("sbc.pbx.example", Some(5061)));
        assert!(ProxyHost::parse("sbc:0").is_err());
        assert!(ProxyHost::parse("sbc:http").is_err());
    }

    #[test]
    fn feature_codes() {
        assert!(FeatureCode::parse("9901").is_ok());
        assert!(FeatureCode::parse("*97#").is_ok());
        let e = FeatureCode::parse("99a").unwrap_err();
        assert!(e.message.contains("digits, * or #"), "{e}");
        // Nothing typed is asked for, not quoted back as ''.
        let e = FeatureCode::parse("  ").unwrap_err();
        assert!(
            e.message
                .starts_with("enter the PBX's voicemail feature code"),
            "{e}"
        );
        assert!(!e.message.contains("''"), "{e}");
    }

    proptest! {
        #[test]
        fn alnum_extensions_parse(s in "[a-zA-Z0-9]{1,32}") {
            let parsed = Extension::parse(&s).unwrap();
            prop_assert_eq!(parsed.as_str(), s.as_str());
        }

        #[test]
        fn extension_and_domain_round_trip(e in "[0-9]{2,6}[a-z]?", d in "[a-z][a-z0-9]{0,10}(\\.[a-z][a-z0-9]{0,10}){0,2}") {
            let u = SipUser::parse(&format!("{e}@{d}")).unwrap();
            prop_assert_eq!(u.extension.as_str(), e.as_str());
            let domain = u.domain.unwrap();
            prop_assert_eq!(domain.as_str(), d.as_str());
        }

        #[test]
        fn extension_never_panics(s in "\\PC{0,40}") {
            let _ = Extension::parse(&s);
            let _ = SipUser::parse(&s);
            let _ = FeatureCode::parse(&s);
            let _ = ProxyHost::parse(&s);
        }
    }
}
