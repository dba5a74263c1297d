//! PBX locations: how Teamline registers device handles to a PBX and reads it through its API.

use crate::error::{FieldError, FieldErrors};
use crate::ids::{EnterpriseId, PbxLocationId};
use crate::sip::{FeatureCode, ProxyHost, SipDomain};
use crate::text::Name;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PbxType {
    NetSapiens,
}

impl PbxType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NetSapiens => "netsapiens",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::NetSapiens => "NetSapiens",
        }
    }

    pub fn parse(s: &str) -> Result<Self, FieldError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "netsapiens" => Ok(Self::NetSapiens),
            other => Err(FieldError::new(
                "PBX Type",
                format!("'{other}' is not a supported PBX type: use NetSapiens"),
            )),
        }
    }
}

/// How the gateway finds the PBX's SIP proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DnsLookup {
    Srv,
    A,
}

impl DnsLookup {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Srv => "srv",
            Self::A => "a",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Srv => "SRV",
            Self::A => "A",
        }
    }

    pub fn parse(s: &str) -> Result<Self, FieldError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "srv" => Ok(Self::Srv),
            "a" => Ok(Self::A),
            other => Err(FieldError::new(
                "DNS Lookup Type",
                format!("'{other}' is not a DNS lookup type: use SRV or A"),
            )),
        }
    }
}

/// The PBX API's base URL (`https://pbx.example.net/ns-api/v2`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ApiBaseUrl(String);

impl ApiBaseUrl {
    const FIELD: &'static str = "API Base URL";

    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let s = input.trim();
        let url = url::Url::parse(s).map_err(|_| {
            FieldError::new(
                Self::FIELD,
                format!("'{s}' is not a URL: use the form https://pbx.example.net/ns-api/v2"),
            )
        })?;
        if !matches!(url.scheme(), "https" | "http") || url.host_str().is_none() {
            return Err(FieldError::new(
                Self::FIELD,
                format!(
                    "'{s}' must start with https:// and name a host (e.g. https://pbx.example.net/ns-api/v2)"
                ),
            ));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(FieldError::new(
                Self::FIELD,
                "must not contain a user name or password: put credentials in the API key fields",
            ));
        }
        Ok(Self(s.trim_end_matches('/').to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ApiBaseUrl {
    type Error = FieldError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<ApiBaseUrl> for String {
    fn from(value: ApiBaseUrl) -> Self {
        value.0
    }
}

/// How Teamline authenticates to the PBX API. Secrets are held as `SecretString`, so they never
/// appear in `Debug` output.
#[derive(Debug, Clone)]
pub enum PbxApiAuth {
    ApiKey {
        api_key: SecretString,
    },
    OAuth {
        client_id: String,
        client_secret: SecretString,
        /// The masquerade login (a reseller or domain admin user) for the password grant.
        username: String,
        password: SecretString,
    },
}

impl PbxApiAuth {
    pub fn kind(&self) -> ApiAuthKind {
        match self {
            Self::ApiKey { .. } => ApiAuthKind::ApiKey,
            Self::OAuth { .. } => ApiAuthKind::OAuth,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApiAuthKind {
    ApiKey,
    OAuth,
}

impl ApiAuthKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ApiKey => "api_key",
            Self::OAuth => "oauth",
        }
    }

    pub fn parse(s: &str) -> Result<Self, FieldError> {
        match s.trim() {
            "api_key" => Ok(Self::ApiKey),
            "oauth" => Ok(Self::OAuth),
            other => Err(FieldError::new(
                "API Authentication",
                format!("'{other}' is not an authentication method: use api_key or oauth"),
            )),
        }
    }
}

/// A PBX location as stored, without its secrets (those are read separately, only when needed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PbxLocation {
    pub id: PbxLocationId,
    pub enterprise_id: EnterpriseId,
    pub settings: PbxLocationSettings,
    /// The fields the reseller locked: read-only for the enterprise's admins.
    pub locked: crate::pbx_lock::LockedFields,
}

/// Everything about a PBX location except its secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PbxLocationSettings {
    pub name: Name,
    pub pbx_type: PbxType,
    pub dns_lookup: DnsLookup,
    pub sip_domain: SipDomain,
    pub proxy: ProxyHost,
    pub voicemail_code: FeatureCode,
    pub api_base_url: ApiBaseUrl,
    pub api_auth_kind: ApiAuthKind,
    /// OAuth client id and masquerade login: not secret, shown on the settings page.
    pub oauth_client_id: Option<String>,
    pub oauth_username: Option<String>,
}

impl PbxLocationSettings {
    /// What credentials saved with these settings are bound to.
    pub fn credential_binding(&self) -> CredentialBinding {
        CredentialBinding {
            api_base_url: self.api_base_url.clone(),
            sip_domain: self.sip_domain.clone(),
            auth_kind: self.api_auth_kind,
        }
    }
}

/// What stored PBX credentials were saved for. They are only ever sent there: a change of the
/// API base URL, the SIP domain or the authentication method needs the secrets typed again, so
/// nobody who can edit the settings can send a stored key to a host of their choosing (or use
/// a reseller-wide key on another customer's domain).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialBinding {
    pub api_base_url: ApiBaseUrl,
    pub sip_domain: SipDomain,
    pub auth_kind: ApiAuthKind,
}

impl CredentialBinding {
    /// The form label of the first setting that differs in `other`, if any.
    pub fn changed_field(&self, other: &CredentialBinding) -> Option<&'static str> {
        if self.api_base_url != other.api_base_url {
            Some(ApiBaseUrl::FIELD)
        } else if self.sip_domain != other.sip_domain {
            Some("SIP Domain")
        } else if self.auth_kind != other.auth_kind {
            Some("API Authentication")
        } else {
            None
        }
    }
}

/// Decrypted API credentials with what they were saved for (only the PBX client reads them).
#[derive(Debug, Clone)]
pub struct BoundPbxAuth {
    pub auth: PbxApiAuth,
    pub bound_to: CredentialBinding,
}

/// The PBX settings form, as typed. Secret fields are write-only: on edit, blank means "keep".
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct PbxLocationForm {
    pub name: String,
    pub pbx_type: String,
    pub dns_lookup: String,
    pub sip_domain: String,
    pub proxy: String,
    pub voicemail_code: String,
    pub api_base_url: String,
    pub api_auth: String,
    pub api_key: String,
    pub oauth_client_id: String,
    pub oauth_client_secret: String,
    pub oauth_username: String,
    pub oauth_password: String,
}

/// A validated PBX settings submission. `auth` is `None` when editing and the admin left every
/// secret blank (the stored secrets are kept).
#[derive(Debug, Clone)]
pub struct PbxLocationCommand {
    pub settings: PbxLocationSettings,
    pub auth: Option<PbxApiAuth>,
    /// The reseller's locks to store; `None` keeps the stored ones (an enterprise admin's save).
    pub locked: Option<crate::pbx_lock::LockedFields>,
}

/// Which stored secrets a submission may keep.
#[derive(Clone, Copy)]
enum Stored<'a> {
    /// A new location: nothing is stored, every secret is required.
    Nothing,
    /// An existing location; with what its secrets were saved for, when known (otherwise the
    /// store checks it when saving).
    Secrets(Option<&'a CredentialBinding>),
}

impl PbxLocationForm {
    /// The form of a stored location, to edit it: its settings as typed, every secret blank
    /// (secrets are write-only; blank keeps them).
    pub fn of(s: &PbxLocationSettings) -> Self {
        PbxLocationForm {
            name: s.name.to_string(),
            pbx_type: s.pbx_type.as_str().into(),
            dns_lookup: s.dns_lookup.as_str().into(),
            sip_domain: s.sip_domain.to_string(),
            proxy: s.proxy.to_string(),
            voicemail_code: s.voicemail_code.to_string(),
            api_base_url: s.api_base_url.as_str().into(),
            api_auth: s.api_auth_kind.as_str().into(),
            oauth_client_id: s.oauth_client_id.clone().unwrap_or_default(),
            oauth_username: s.oauth_username.clone().unwrap_or_default(),
            ..Default::default()
        }
    }

    /// `editing` is true when the location already exists (its secrets are stored). Prefer
    /// [`Self::validate_edit`] for edits: it also says, by field, which secrets must be typed
    /// again because a setting they are bound to changed.
    pub fn validate(&self, editing: bool) -> Result<PbxLocationCommand, FieldErrors> {
        self.check(if editing {
            Stored::Secrets(None)
        } else {
            Stored::Nothing
        })
    }

    /// Validates an edit of a location whose secrets were saved for `stored`. Blank secrets
    /// keep the stored ones only while the API base URL, SIP domain and authentication method
    /// are unchanged; otherwise each secret field asks for its value again.
    pub fn validate_edit(
        &self,
        stored: &CredentialBinding,
    ) -> Result<PbxLocationCommand, FieldErrors> {
        self.check(Stored::Secrets(Some(stored)))
    }

    fn check(&self, stored: Stored<'_>) -> Result<PbxLocationCommand, FieldErrors> {
        let editing = matches!(stored, Stored::Secrets(_));
        let mut e = FieldErrors::new();
        let name = e.check(Name::parse("Location Name", &self.name));
        let pbx_type = e.check(PbxType::parse(&self.pbx_type));
        let dns_lookup = e.check(DnsLookup::parse(&self.dns_lookup));
        let sip_domain = e.check(SipDomain::parse(&self.sip_domain));
        let proxy = e.check(ProxyHost::parse(&self.proxy));
        let voicemail_code = e.check(FeatureCode::parse(&self.voicemail_code));
        let api_base_url = e.check(ApiBaseUrl::parse(&self.api_base_url));
        let kind = e.check(ApiAuthKind::parse(&self.api_auth));
        let blank = |s: &str| s.trim().is_empty();
        let secret = |s: &str| SecretString::from(s.trim().to_owned());
        let (auth, client_id, username) = match kind {
            Some(ApiAuthKind::ApiKey) => {
                if blank(&self.api_key) {
                    if !editing {
                        e.push(FieldError::new(
                            "API Key",
                            "is required: paste the key from the PBX's API settings",
                        ));
                    }
                    (None, None, None)
                } else {
                    (
                        Some(PbxApiAuth::ApiKey {
                            api_key: secret(&self.api_key),
                        }),
                        None,
                        None,
                    )
                }
            }
            Some(ApiAuthKind::OAuth) => {
                for (value, label) in [
                    (&self.oauth_client_id, "OAuth Client ID"),
                    (&self.oauth_username, "Masquerade Login"),
                ] {
                    if blank(value) {
                        e.push(FieldError::new(
                            label,
                            "is required for OAuth authentication",
                        ));
                    }
                }
                let secrets_blank = blank(&self.oauth_client_secret) && blank(&self.oauth_password);
                let auth = if secrets_blank && editing {
                    None
                } else {
                    for (value, label) in [
                        (&self.oauth_client_secret, "OAuth Client Secret"),
                        (&self.oauth_password, "Masquerade Password"),
                    ] {
                        if blank(value) {
                            e.push(FieldError::new(
                                label,
                                "is required for OAuth authentication",
                            ));
                        }
                    }
                    Some(PbxApiAuth::OAuth {
                        client_id: self.oauth_client_id.trim().to_owned(),
                        client_secret: secret(&self.oauth_client_secret),
                        username: self.oauth_username.trim().to_owned(),
                        password: secret(&self.oauth_password),
                    })
                };
                (
                    auth,
                    Some(self.oauth_client_id.trim().to_owned()),
                    Some(self.oauth_username.trim().to_owned()),
                )
            }
            None => (None, None, None),
        };
        // Blank secrets are kept only for what they were saved for.
        if let (Stored::Secrets(Some(bound)), None, Some(url), Some(domain), Some(kind)) =
            (stored, &auth, &api_base_url, &sip_domain, kind)
        {
            let now = CredentialBinding {
                api_base_url: url.clone(),
                sip_domain: domain.clone(),
                auth_kind: kind,
            };
            if let Some(changed) = bound.changed_field(&now) {
                for label in kind.secret_fields() {
                    if e.for_field(label).is_none() {
                        e.push(FieldError::new(label, secrets_needed_again(changed, label)));
                    }
                }
            }
        }
        match (
            name,
            pbx_type,
            dns_lookup,
            sip_domain,
            proxy,
            voicemail_code,
            api_base_url,
            kind,
        ) {
            (
                Some(name),
                Some(pbx_type),
                Some(dns_lookup),
                Some(sip_domain),
                Some(proxy),
                Some(voicemail_code),
                Some(api_base_url),
                Some(api_auth_kind),
            ) if e.is_empty() => Ok(PbxLocationCommand {
                settings: PbxLocationSettings {
                    name,
                    pbx_type,
                    dns_lookup,
                    sip_domain,
                    proxy,
                    voicemail_code,
                    api_base_url,
                    api_auth_kind,
                    oauth_client_id: client_id,
                    oauth_username: username,
                },
                auth,
                locked: None,
            }),
            _ => Err(e),
        }
    }
}

/// Why a blank secret field is not "keep" any more.
pub fn secrets_needed_again(changed: &str, label: &str) -> String {
    format!(
        "is required again because the {changed} changed: a stored {} is only sent to the API Base URL and SIP Domain it was saved for",
        label.to_ascii_lowercase()
    )
}

impl ApiAuthKind {
    /// The form labels of this method's secrets (write-only fields).
    pub fn secret_fields(self) -> &'static [&'static str] {
        match self {
            Self::ApiKey => &["API Key"],
            Self::OAuth => &["OAuth Client Secret", "Masquerade Password"],
        }
    }
}

/// Reads a secret for the one place that must send it.
pub fn expose(secret: &SecretString) -> &str {
    secret.expose_secret()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> PbxLocationForm {
        PbxLocationForm {
            name: "PBX".into(),
            pbx_type: "netsapiens".into(),
            dns_lookup: "srv".into(),
            sip_domain: "contoso".into(),
            proxy: "sbc.pbx.example".into(),
            voicemail_code: "9901".into(),
            api_base_url: "https://pbx.example/ns-api/v2/".into(),
            api_auth: "api_key".into(),
            api_key: "nsk_secret".into(),
            ..Default::default()
        }
    }

    #[test]
    fn valid_settings() {
        let cmd = form().validate(false).unwrap();
        assert_eq!(
            cmd.settings.api_base_url.as_str(),
            "https://pbx.example/ns-api/v2"
        );
        assert!(matches!(cmd.auth, Some(PbxApiAuth::ApiKey { .. })));
        assert!(
            !format!("{cmd:?}").contains("nsk_secret"),
            "secrets must not be in Debug"
        );
    }

    #[test]
    fn sip_domain_with_spaces_and_other_errors_at_once() {
        let mut f = form();
        f.sip_domain = "con toso".into();
        f.voicemail_code = "vm".into();
        f.api_key = "".into();
        let errors = f.validate(false).unwrap_err();
        assert!(errors.for_field("SIP Domain").unwrap().contains("a space"));
        assert!(errors.for_field("Voicemail Feature Code").is_some());
        assert!(errors.for_field("API Key").is_some());
    }

    #[test]
    fn editing_keeps_secrets_when_blank() {
        let mut f = form();
        f.api_key = "".into();
        assert!(f.validate(true).unwrap().auth.is_none());
    }

    #[test]
    fn kept_secrets_stay_bound_to_where_they_were_saved_for() {
        let saved = form()
            .validate(false)
            .unwrap()
            .settings
            .credential_binding();
        let mut f = form();
        f.api_key = "".into();
        f.voicemail_code = "*97".into();
        assert!(
            f.validate_edit(&saved).unwrap().auth.is_none(),
            "other fields may change"
        );
        for (field, value, changed) in [
            (
                "api_base_url",
                "https://attacker.example/ns-api/v2",
                "API Base URL",
            ),
            ("sip_domain", "fabrikam", "SIP Domain"),
        ] {
            let mut f = form();
            f.api_key = "".into();
            match field {
                "api_base_url" => f.api_base_url = value.into(),
                _ => f.sip_domain = value.into(),
            }
            let errors = f.validate_edit(&saved).unwrap_err();
            let message = errors.for_field("API Key").unwrap();
            assert!(
                message.contains("required again") && message.contains(changed),
                "{message}"
            );
            // Typed again, the new key is saved for the new settings.
            f.api_key = "nsk_new".into();
            assert!(f.validate_edit(&saved).unwrap().auth.is_some());
        }
        // The same URL spelled with a trailing slash is the same URL.
        let mut f = form();
        f.api_key = "".into();
        f.api_base_url = "https://pbx.example/ns-api/v2".into();
        assert!(f.validate_edit(&saved).is_ok());
    }

    #[test]
    fn oauth_secrets_are_required_again_after_a_change() {
        let mut oauth = form();
        oauth.api_auth = "oauth".into();
        oauth.oauth_client_id = "id".into();
        oauth.oauth_username = "u@d".into();
        oauth.oauth_client_secret = "s".into();
        oauth.oauth_password = "p".into();
        let saved = oauth.validate(false).unwrap().settings.credential_binding();
        oauth.oauth_client_secret.clear();
        oauth.oauth_password.clear();
        assert!(oauth.validate_edit(&saved).unwrap().auth.is_none());
        oauth.sip_domain = "fabrikam".into();
        let errors = oauth.validate_edit(&saved).unwrap_err();
        assert!(errors.for_field("OAuth Client Secret").is_some());
        assert!(errors.for_field("Masquerade Password").is_some());
        // Switching from the stored API key to OAuth needs the OAuth secrets, as before.
        let api_key_saved = form()
            .validate(false)
            .unwrap()
            .settings
            .credential_binding();
        oauth.sip_domain = "contoso".into();
        assert!(oauth.validate_edit(&api_key_saved).is_err());
    }

    #[test]
    fn oauth_requires_its_fields() {
        let mut f = form();
        f.api_auth = "oauth".into();
        let errors = f.validate(false).unwrap_err();
        for field in [
            "OAuth Client ID",
            "Masquerade Login",
            "OAuth Client Secret",
            "Masquerade Password",
        ] {
            assert!(errors.for_field(field).is_some(), "{field}");
        }
    }

    #[test]
    fn urls() {
        assert!(ApiBaseUrl::parse("ftp://x").is_err());
        assert!(ApiBaseUrl::parse("pbx.example").is_err());
        assert!(ApiBaseUrl::parse("https://u:p@pbx.example").is_err());
    }
}
