//! Teamline's view of a PBX: extensions, device handles, registrations and emergency
//! addresses. These types are the same whatever the PBX; only the PBX clients know the wire
//! formats.

use std::fmt;

use secrecy::SecretString;

/// A PBX extension (a NetSapiens "user"): the SIP User of the SET UP PBX USER form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extension {
    /// The extension number, e.g. `1000`.
    pub id: String,
    pub first_name: String,
    pub last_name: String,
    pub email: Option<String>,
    /// Auth ids of the extension's device handles (e.g. `1000`, `1000tm`), sorted.
    pub devices: Vec<String>,
}

impl Extension {
    /// "First Last", or the extension number when the PBX has no name for it.
    pub fn display_name(&self) -> String {
        let name = format!("{} {}", self.first_name.trim(), self.last_name.trim());
        let name = name.trim();
        if name.is_empty() {
            self.id.clone()
        } else {
            name.to_owned()
        }
    }

    /// Whether the extension already has a device handle with this auth id.
    pub fn has_device(&self, auth_id: &str) -> bool {
        self.devices.iter().any(|d| d == auth_id)
    }
}

/// A device handle of an extension: what a SIP endpoint (a desk phone, or Teamline's gateway
/// for Teams) registers with.
#[derive(Clone)]
pub struct Device {
    /// The SIP authentication id / device id, e.g. `1000tm`.
    pub auth_id: String,
    /// The extension the device belongs to.
    pub extension: String,
    /// The SIP URI the device registers as, e.g. `sip:1000tm@contoso`.
    pub sip_uri: String,
    /// The SIP digest password. `None` when the PBX did not disclose it (for example to a
    /// read-only or low-scope credential); see [`Device::require_password`].
    pub sip_password: Option<SecretString>,
    /// The emergency address bound to this device, when the PBX reports one.
    pub emergency_address_id: Option<String>,
    pub registration: Registration,
}

impl Device {
    /// The SIP password, or an error telling the admin why Teamline cannot use the device.
    pub fn require_password(&self, domain: &str) -> Result<&SecretString, crate::PbxError> {
        self.sip_password
            .as_ref()
            .ok_or_else(|| crate::PbxError::PasswordNotDisclosed {
                device: self.auth_id.clone(),
                extension: self.extension.clone(),
                domain: domain.to_owned(),
            })
    }
}

impl fmt::Debug for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Device")
            .field("auth_id", &self.auth_id)
            .field("extension", &self.extension)
            .field("sip_uri", &self.sip_uri)
            .field(
                "sip_password",
                &self.sip_password.as_ref().map(|_| "[REDACTED]"),
            )
            .field("emergency_address_id", &self.emergency_address_id)
            .field("registration", &self.registration)
            .finish()
    }
}

/// Whether a device is registered right now, as the PBX reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistrationState {
    Registered,
    Unregistered,
    /// The PBX did not say.
    Unknown,
}

/// The last registration of a device. Times are as the PBX wrote them (NetSapiens: ISO 8601).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    pub state: RegistrationState,
    pub user_agent: Option<String>,
    pub contact: Option<String>,
    pub source_address: Option<String>,
    pub registered_at: Option<String>,
    pub expires_at: Option<String>,
}

impl Registration {
    pub fn unknown() -> Self {
        Registration {
            state: RegistrationState::Unknown,
            user_agent: None,
            contact: None,
            source_address: None,
            registered_at: None,
            expires_at: None,
        }
    }
}

/// A device handle to create on the PBX.
#[derive(Clone)]
pub struct NewDevice {
    /// The device's auth id, usually `<extension><suffix>` such as `1002tm`
    /// (see [`device_handle`]).
    pub auth_id: String,
    /// The SIP password to set; `None` lets the PBX generate one (NetSapiens: 16 characters).
    pub sip_password: Option<SecretString>,
    /// The emergency address to bind. Many NetSapiens platforms refuse a device without one
    /// ([`crate::PbxError::EmergencyAddressRequired`]).
    pub emergency_address_id: Option<String>,
}

impl fmt::Debug for NewDevice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewDevice")
            .field("auth_id", &self.auth_id)
            .field(
                "sip_password",
                &self.sip_password.as_ref().map(|_| "[REDACTED]"),
            )
            .field("emergency_address_id", &self.emergency_address_id)
            .finish()
    }
}

/// Who an emergency address belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddressScope {
    /// Shared by the whole domain (e.g. the main office).
    Domain,
    /// Personal to one extension.
    Extension(String),
}

/// A dispatchable location for emergency calls (E911).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmergencyAddress {
    pub id: String,
    pub scope: AddressScope,
    /// The label, e.g. "Contoso HQ".
    pub name: String,
    pub caller_name: String,
    pub line1: String,
    pub line2: Option<String>,
    pub city: String,
    /// State or province abbreviation.
    pub state: String,
    pub postal_code: String,
    /// Country abbreviation, e.g. `US`.
    pub country: String,
    pub location_description: Option<String>,
}

impl EmergencyAddress {
    /// One line for a dropdown: "Contoso HQ — 1 Microsoft Way, Redmond, WA 98052, US".
    pub fn summary(&self) -> String {
        let mut parts = vec![self.line1.clone()];
        if let Some(l2) = self.line2.as_ref().filter(|l| !l.is_empty()) {
            parts.push(l2.clone());
        }
        parts.push(self.city.clone());
        parts.push(
            format!("{} {}", self.state, self.postal_code)
                .trim()
                .to_owned(),
        );
        parts.push(self.country.clone());
        let address = parts
            .into_iter()
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
            .join(", ");
        format!("{} — {address}", self.name)
    }
}

/// The address to pick for a new device of `extension` when the admin did not choose one:
/// the extension's own address first, then a domain-wide one (e.g. the main office).
pub fn default_emergency_address<'a>(
    addresses: &'a [EmergencyAddress],
    extension: &str,
) -> Option<&'a EmergencyAddress> {
    addresses
        .iter()
        .find(|a| matches!(&a.scope, AddressScope::Extension(e) if e == extension))
        .or_else(|| addresses.iter().find(|a| a.scope == AddressScope::Domain))
}

/// An emergency address to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEmergencyAddress {
    pub name: String,
    pub caller_name: String,
    pub line1: String,
    pub line2: Option<String>,
    pub city: String,
    pub state: String,
    pub postal_code: String,
    pub country: String,
    pub location_description: Option<String>,
}

/// The device handle for `extension` with `suffix`: `device_handle("1002", "tm")` is `1002tm`.
pub fn device_handle(extension: &str, suffix: &str) -> String {
    format!("{extension}{suffix}")
}

/// Splits a device handle into extension and suffix when the extension is numeric, as on most
/// PBXs: `1002tm` gives `("1002", "tm")`, `1002` gives `("1002", "")`. `None` when the handle
/// does not start with digits.
pub fn split_device_handle(handle: &str) -> Option<(&str, &str)> {
    let handle = bare_device_id(handle);
    let digits = handle.bytes().take_while(u8::is_ascii_digit).count();
    (digits > 0).then(|| handle.split_at(digits))
}

/// The bare device id from what a PBX may report: NetSapiens v2 uses `1002tm`, v1 and some
/// fields use the SIP URI `sip:1002tm@contoso`. Both give `1002tm`.
pub fn bare_device_id(raw: &str) -> &str {
    let raw = raw.trim();
    let without_scheme = raw
        .strip_prefix("sip:")
        .or_else(|| raw.strip_prefix("sips:"))
        .or_else(|| raw.strip_prefix("SIP:"))
        .unwrap_or(raw);
    without_scheme
        .split_once('@')
        .map_or(without_scheme, |(user, _)| user)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_ids_in_either_form_give_the_auth_id() {
        assert_eq!(bare_device_id("1002tm"), "1002tm");
        assert_eq!(bare_device_id("sip:1002tm@contoso"), "1002tm");
        assert_eq!(bare_device_id(" sips:1002tm@contoso.example "), "1002tm");
        assert_eq!(bare_device_id("1002tm@contoso"), "1002tm");
        assert_eq!(device_handle("1002", "tm"), "1002tm");
        assert_eq!(split_device_handle("1002tm"), Some(("1002", "tm")));
        assert_eq!(split_device_handle("sip:1002@contoso"), Some(("1002", "")));
        assert_eq!(split_device_handle("tm1002"), None);
    }

    #[test]
    fn display_name_falls_back_to_the_extension() {
        let mut e = Extension {
            id: "1000".into(),
            first_name: "Adele".into(),
            last_name: "Vance".into(),
            email: None,
            devices: vec!["1000".into(), "1000tm".into()],
        };
        assert_eq!(e.display_name(), "Adele Vance");
        assert!(e.has_device("1000tm") && !e.has_device("1001tm"));
        e.first_name.clear();
        e.last_name = " ".into();
        assert_eq!(e.display_name(), "1000");
    }

    #[test]
    fn debug_output_never_shows_passwords() {
        let d = Device {
            auth_id: "1000tm".into(),
            extension: "1000".into(),
            sip_uri: "sip:1000tm@contoso".into(),
            sip_password: Some(SecretString::from("TopSecret123")),
            emergency_address_id: None,
            registration: Registration::unknown(),
        };
        let shown = format!("{d:?}");
        assert!(
            !shown.contains("TopSecret123") && shown.contains("REDACTED"),
            "{shown}"
        );
        let n = NewDevice {
            auth_id: "1000tm".into(),
            sip_password: Some(SecretString::from("TopSecret123")),
            emergency_address_id: None,
        };
        assert!(!format!("{n:?}").contains("TopSecret123"));
    }

    #[test]
    fn the_extensions_own_address_wins_over_the_domain_one() {
        let addr = |id: &str, scope: AddressScope| EmergencyAddress {
            id: id.into(),
            scope,
            name: id.into(),
            caller_name: String::new(),
            line1: "1 Main St".into(),
            line2: None,
            city: "Redmond".into(),
            state: "WA".into(),
            postal_code: "98052".into(),
            country: "US".into(),
            location_description: None,
        };
        let list = vec![
            addr("hq", AddressScope::Domain),
            addr("home", AddressScope::Extension("1000".into())),
        ];
        assert_eq!(
            default_emergency_address(&list, "1000").map(|a| a.id.as_str()),
            Some("home")
        );
        assert_eq!(
            default_emergency_address(&list, "1001").map(|a| a.id.as_str()),
            Some("hq")
        );
        assert_eq!(default_emergency_address(&[], "1001"), None);
        assert_eq!(list[0].summary(), "hq — 1 Main St, Redmond, WA 98052, US");
    }
}
