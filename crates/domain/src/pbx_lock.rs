//! PBX credential templates: the reseller sets an enterprise's PBX location and locks some of
//! its fields. The enterprise's admins then see a locked field read-only and cannot change it
//! (the engine refuses an edit that does, whatever the browser sent); only the reseller can.

use crate::error::{FieldError, FieldErrors};
use crate::pbx_location::{ApiAuthKind, PbxLocationCommand, PbxLocationSettings};
use std::collections::BTreeSet;

/// A field of the PBX location form a reseller can lock (every one but the location's name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LockableField {
    PbxType,
    DnsLookup,
    SipDomain,
    Proxy,
    VoicemailCode,
    ApiBaseUrl,
    ApiAuth,
    ApiKey,
    OAuthClientId,
    OAuthClientSecret,
    OAuthUsername,
    OAuthPassword,
}

impl LockableField {
    pub const ALL: [LockableField; 12] = [
        Self::PbxType,
        Self::DnsLookup,
        Self::SipDomain,
        Self::Proxy,
        Self::VoicemailCode,
        Self::ApiBaseUrl,
        Self::ApiAuth,
        Self::ApiKey,
        Self::OAuthClientId,
        Self::OAuthClientSecret,
        Self::OAuthUsername,
        Self::OAuthPassword,
    ];

    /// The form input's name (also how it is stored).
    pub fn key(self) -> &'static str {
        match self {
            Self::PbxType => "pbx_type",
            Self::DnsLookup => "dns_lookup",
            Self::SipDomain => "sip_domain",
            Self::Proxy => "proxy",
            Self::VoicemailCode => "voicemail_code",
            Self::ApiBaseUrl => "api_base_url",
            Self::ApiAuth => "api_auth",
            Self::ApiKey => "api_key",
            Self::OAuthClientId => "oauth_client_id",
            Self::OAuthClientSecret => "oauth_client_secret",
            Self::OAuthUsername => "oauth_username",
            Self::OAuthPassword => "oauth_password",
        }
    }

    /// The form's label, as field errors name it.
    pub fn label(self) -> &'static str {
        match self {
            Self::PbxType => "PBX Type",
            Self::DnsLookup => "DNS Lookup Type",
            Self::SipDomain => "SIP Domain",
            Self::Proxy => "SIP Domain Proxy",
            Self::VoicemailCode => "Voicemail Feature Code",
            Self::ApiBaseUrl => "API Base URL",
            Self::ApiAuth => "API Authentication",
            Self::ApiKey => "API Key",
            Self::OAuthClientId => "OAuth Client ID",
            Self::OAuthClientSecret => "OAuth Client Secret",
            Self::OAuthUsername => "Masquerade Login",
            Self::OAuthPassword => "Masquerade Password",
        }
    }

    pub fn parse(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.key() == key.trim())
    }

    fn is_secret(self) -> bool {
        matches!(
            self,
            Self::ApiKey | Self::OAuthClientSecret | Self::OAuthPassword
        )
    }

    /// Whether `cmd` changes this field of `stored`. A locked secret is changed by any value
    /// typed for it (secrets are write-only, so "the same value again" cannot be told apart).
    fn changed(self, stored: &PbxLocationSettings, cmd: &PbxLocationCommand) -> bool {
        let new = &cmd.settings;
        match self {
            Self::PbxType => new.pbx_type != stored.pbx_type,
            Self::DnsLookup => new.dns_lookup != stored.dns_lookup,
            Self::SipDomain => new.sip_domain != stored.sip_domain,
            Self::Proxy => new.proxy != stored.proxy,
            Self::VoicemailCode => new.voicemail_code != stored.voicemail_code,
            Self::ApiBaseUrl => new.api_base_url != stored.api_base_url,
            Self::ApiAuth => new.api_auth_kind != stored.api_auth_kind,
            Self::OAuthClientId => new.oauth_client_id != stored.oauth_client_id,
            Self::OAuthUsername => new.oauth_username != stored.oauth_username,
            secret => {
                debug_assert!(secret.is_secret());
                let kind_uses_it = match cmd.settings.api_auth_kind {
                    ApiAuthKind::ApiKey => secret == Self::ApiKey,
                    ApiAuthKind::OAuth => secret != Self::ApiKey,
                };
                kind_uses_it && cmd.auth.is_some()
            }
        }
    }
}

/// The locked fields of a PBX location.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LockedFields(BTreeSet<LockableField>);

impl LockedFields {
    pub fn new(fields: impl IntoIterator<Item = LockableField>) -> Self {
        Self(fields.into_iter().collect())
    }

    /// The stored form: keys separated by commas; unknown keys (from a newer Teamline) are
    /// dropped.
    pub fn decode(s: &str) -> Self {
        Self::new(s.split(',').filter_map(LockableField::parse))
    }

    pub fn encode(&self) -> String {
        self.0.iter().map(|f| f.key()).collect::<Vec<_>>().join(",")
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn contains(&self, field: LockableField) -> bool {
        self.0.contains(&field)
    }

    /// Whether the form input named `key` is locked.
    pub fn contains_key(&self, key: &str) -> bool {
        LockableField::parse(key).is_some_and(|f| self.contains(f))
    }

    pub fn iter(&self) -> impl Iterator<Item = LockableField> + '_ {
        self.0.iter().copied()
    }

    /// An enterprise admin's edit against the reseller's locks: every locked field the edit
    /// changes, each naming who can change it.
    pub fn check_edit(
        &self,
        stored: &PbxLocationSettings,
        cmd: &PbxLocationCommand,
        reseller: &str,
    ) -> Result<(), FieldErrors> {
        let mut errors = FieldErrors::new();
        for field in self.iter().filter(|f| f.changed(stored, cmd)) {
            errors.push(locked_error(field, reseller));
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

/// The error for a change of a locked field.
pub fn locked_error(field: LockableField, reseller: &str) -> FieldError {
    let what = if field.is_secret() {
        "leave it blank to keep the stored one"
    } else {
        "keep the value shown"
    };
    FieldError::new(
        field.label(),
        format!(
            "is locked by your reseller {reseller}: only they can change it ({what}, or ask {reseller} to change it)"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pbx_location::PbxLocationForm;

    fn form() -> PbxLocationForm {
        PbxLocationForm {
            name: "PBX".into(),
            pbx_type: "netsapiens".into(),
            dns_lookup: "srv".into(),
            sip_domain: "contoso".into(),
            proxy: "sbc.pbx.example".into(),
            voicemail_code: "9901".into(),
            api_base_url: "https://pbx.example.net/ns-api/v2".into(),
            api_auth: "api_key".into(),
            api_key: "k".into(),
            ..Default::default()
        }
    }

    #[test]
    fn stored_form_round_trips_and_drops_unknown_keys() {
        let locked = LockedFields::decode("sip_domain,api_key,,colour");
        assert_eq!(locked.encode(), "sip_domain,api_key");
        assert!(locked.contains_key("api_key"));
        assert!(!locked.contains_key("name"));
        assert!(LockedFields::decode("").is_empty());
    }

    #[test]
    fn a_change_of_a_locked_field_is_refused_by_field_and_names_the_reseller() {
        let stored = form().validate(false).unwrap().settings;
        let locked = LockedFields::new([LockableField::SipDomain, LockableField::ApiKey]);
        // Unchanged locked fields, a changed free one, secrets left blank: fine.
        let mut edit = form();
        edit.proxy = "other.pbx.example".into();
        edit.api_key.clear();
        let cmd = edit.validate_edit(&stored.credential_binding()).unwrap();
        assert!(locked.check_edit(&stored, &cmd, "Northwind").is_ok());

        let mut edit = form();
        edit.sip_domain = "fabrikam".into();
        let cmd = edit.validate(true).unwrap();
        let errors = locked.check_edit(&stored, &cmd, "Northwind").unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field).collect();
        assert_eq!(fields, ["SIP Domain", "API Key"]);
        let first = errors.iter().next().unwrap();
        assert!(first.message.contains("locked by your reseller Northwind"));
    }

    #[test]
    fn a_secret_of_another_method_is_not_a_change() {
        let stored = form().validate(false).unwrap().settings;
        let locked = LockedFields::new([LockableField::OAuthPassword]);
        let cmd = form().validate(true).unwrap();
        assert!(locked.check_edit(&stored, &cmd, "Northwind").is_ok());
    }
}
