//! NetSapiens v2 JSON: reading users, devices, addresses and tokens into Teamline's types,
//! and writing request bodies. Field names are the hyphenated v2 names (see FIDELITY.md).
//!
//! Reading is lenient on purpose: NetSapiens versions differ in which fields they send, send
//! numbers where strings are documented (and the reverse), and use `""` or `null` for "none".

use std::cmp::Ordering;

use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value, json};

use crate::model::{
    AddressScope, Device, EmergencyAddress, Extension, NewDevice, NewEmergencyAddress,
    Registration, RegistrationState, bare_device_id,
};

/// A text field: strings (trimmed, `""` is none) and numbers are accepted.
pub fn text(v: &Value, key: &str) -> Option<String> {
    match v.get(key)? {
        Value::String(s) => {
            let s = s.trim();
            (!s.is_empty()).then(|| s.to_owned())
        }
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn first_text(v: &Value, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|k| text(v, k))
}

/// A NetSapiens user as Teamline needs it, before devices are attached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRow {
    pub extension: String,
    pub first_name: String,
    pub last_name: String,
    pub email: Option<String>,
    /// System users (auto attendants, the domain user, …) have a `service-code` starting with
    /// `system-`; portals hide them and so does Teamline.
    pub is_system: bool,
}

pub fn user_row(v: &Value) -> Option<UserRow> {
    let extension = text(v, "user")?;
    Some(UserRow {
        extension,
        first_name: first_text(v, &["name-first-name", "first-name"]).unwrap_or_default(),
        last_name: first_text(v, &["name-last-name", "last-name"]).unwrap_or_default(),
        email: first_text(v, &["email", "email-address"])
            .map(|e| e.split(';').next().unwrap_or_default().trim().to_owned()),
        is_system: text(v, "service-code").is_some_and(|c| c.starts_with("system-")),
    })
}

/// The extension a device row belongs to (`user`), if the PBX says.
pub fn device_owner(v: &Value) -> Option<String> {
    text(v, "user")
}

/// The bare device id of a device row (`device`, or the user part of its SIP URI).
pub fn device_id(v: &Value) -> Option<String> {
    first_text(v, &["device", "device-sip-registration-uri", "aor"])
        .map(|raw| bare_device_id(&raw).to_owned())
}

pub fn device(v: &Value, extension: &str, domain: &str) -> Option<Device> {
    let auth_id = device_id(v)?;
    let state = match text(v, "device-sip-registration-state")
        .map(|s| s.to_ascii_lowercase())
        .as_deref()
    {
        Some("registered") => RegistrationState::Registered,
        Some("unregistered") => RegistrationState::Unregistered,
        _ => RegistrationState::Unknown,
    };
    let sip_uri = text(v, "device-sip-registration-uri")
        .filter(|u| u.contains('@'))
        .unwrap_or_else(|| format!("sip:{auth_id}@{domain}"));
    Some(Device {
        extension: device_owner(v).unwrap_or_else(|| extension.to_owned()),
        sip_uri,
        sip_password: text(v, "device-sip-registration-password").map(SecretString::from),
        emergency_address_id: text(v, "emergency-address-id"),
        registration: Registration {
            state,
            user_agent: text(v, "device-sip-registration-user-agent"),
            contact: text(v, "device-sip-registration-contact"),
            source_address: text(v, "device-sip-registration-ip-address"),
            registered_at: text(v, "device-sip-registration-datetime"),
            expires_at: text(v, "device-sip-registration-expires-datetime"),
        },
        auth_id,
    })
}

pub fn create_device_body(new: &NewDevice) -> Value {
    let mut body = Map::new();
    // Ask for the created object back (200) instead of a bare 202, so that the password the
    // PBX generated is in the answer and the device is readable right away.
    body.insert("synchronous".into(), json!("yes"));
    body.insert("device".into(), json!(new.auth_id));
    if let Some(pw) = &new.sip_password {
        body.insert(
            "device-sip-registration-password".into(),
            json!(pw.expose_secret()),
        );
    }
    if let Some(id) = &new.emergency_address_id {
        body.insert("emergency-address-id".into(), json!(id));
    }
    Value::Object(body)
}

pub fn address(v: &Value) -> Option<EmergencyAddress> {
    let id = first_text(v, &["emergency-address-id", "address-id", "address_id"])?;
    let scope = match text(v, "user") {
        Some(u) if u != "*" => AddressScope::Extension(u),
        _ => AddressScope::Domain,
    };
    Some(EmergencyAddress {
        id,
        scope,
        name: first_text(v, &["address-name", "address_name"]).unwrap_or_default(),
        caller_name: first_text(v, &["caller-name", "callid_nmbr"]).unwrap_or_default(),
        line1: first_text(v, &["address-line-1", "address_line_1"]).unwrap_or_default(),
        line2: first_text(v, &["address-line-2", "address_line_2"]),
        city: first_text(v, &["address-city", "city"]).unwrap_or_default(),
        state: first_text(v, &["address-state-province-abbreviation", "state_code"])
            .unwrap_or_default(),
        postal_code: first_text(v, &["address-postal-code", "zip"]).unwrap_or_default(),
        country: first_text(v, &["address-country-abbreviation", "country_code"])
            .unwrap_or_default(),
        location_description: first_text(v, &["address-location-description", "location"]),
    })
}

pub fn create_address_body(new: &NewEmergencyAddress) -> Value {
    let mut body = json!({
        "address-name": new.name,
        "caller-name": new.caller_name,
        "address-line-1": new.line1,
        "address-city": new.city,
        "address-state-province-abbreviation": new.state,
        "address-postal-code": new.postal_code,
        "address-country-abbreviation": new.country,
    });
    if let Some(obj) = body.as_object_mut() {
        if let Some(l2) = new.line2.as_ref().filter(|l| !l.is_empty()) {
            obj.insert("address-line-2".into(), json!(l2));
        }
        if let Some(d) = new.location_description.as_ref().filter(|l| !l.is_empty()) {
            obj.insert("address-location-description".into(), json!(d));
        }
    }
    body
}

/// The body of `POST /domains/{d}/addresses/validate`: the create fields, with the location
/// description the v2 spec requires there (the address name when none was given).
pub fn validate_address_body(new: &NewEmergencyAddress) -> Value {
    let mut body = create_address_body(new);
    if let Some(obj) = body.as_object_mut()
        && !obj.contains_key("address-location-description")
    {
        obj.insert("address-location-description".into(), json!(new.name));
    }
    body
}

/// What the validate endpoint hands back to create the address with: its
/// `emergency-address-id` and the carrier's `address-formatted-pidflo`.
pub fn validated_address(v: &Value) -> Option<(String, Value)> {
    let id = text(v, "emergency-address-id")?;
    let pidflo = v.get("address-formatted-pidflo")?.clone();
    Some((id, pidflo))
}

/// A create body carrying a validation's id and standardised address.
pub fn create_validated_address_body(new: &NewEmergencyAddress, id: &str, pidflo: &Value) -> Value {
    let mut body = validate_address_body(new);
    if let Some(obj) = body.as_object_mut() {
        obj.insert("emergency-address-id".into(), json!(id));
        obj.insert("address-formatted-pidflo".into(), pidflo.clone());
    }
    body
}

/// Whether a refused address create asks for the validate step first.
pub fn asks_for_validation(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("pidflo") || m.contains("validat") || m.contains("emergency-address-id")
}

/// Whether a 404 is a list with nothing in it rather than a missing domain or user (some
/// platform versions answer an empty listing so: "No devices found").
pub fn is_empty_list_404(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    !(m.starts_with("domain ") || m.starts_with("user ") || m.contains("access denied"))
}

/// An OAuth token answer (`AccessToken`).
pub struct TokenAnswer {
    pub access_token: SecretString,
    pub refresh_token: Option<SecretString>,
    pub expires_in_secs: Option<u64>,
}

pub fn token_answer(v: &Value) -> Option<TokenAnswer> {
    let access_token = text(v, "access_token")?;
    let expires_in_secs = match v.get("expires_in") {
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    };
    Some(TokenAnswer {
        access_token: SecretString::from(access_token),
        refresh_token: text(v, "refresh_token").map(SecretString::from),
        expires_in_secs,
    })
}

/// The explanation in a NetSapiens error body (`{code, message}`, or `{error}` on some 404s),
/// made safe to show: one line, no markup, bounded length.
pub fn error_message(body: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let raw = first_text(&v, &["message", "error", "error_description"])?;
    let one_line: String = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.contains('<') && one_line.contains('>') {
        return None;
    }
    const MAX: usize = 240;
    Some(if one_line.chars().count() > MAX {
        format!("{}…", one_line.chars().take(MAX).collect::<String>())
    } else {
        one_line
    })
}

/// Extensions in dial order: numeric ones by value (999 before 1000), then the others.
pub fn compare_extensions(a: &str, b: &str) -> Ordering {
    let numeric = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    match (numeric(a), numeric(b)) {
        (true, true) => {
            let (ta, tb) = (a.trim_start_matches('0'), b.trim_start_matches('0'));
            ta.len()
                .cmp(&tb.len())
                .then_with(|| ta.cmp(tb))
                .then_with(|| a.cmp(b))
        }
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        (false, false) => a.cmp(b),
    }
}

/// One row of `GET /domains/{domain}/phonenumbers`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneNumberRow {
    /// Digits only, as the PBX stores them (`12125551000`).
    pub number: String,
    /// The extension the number's dial rule rings (`dial-rule-translation-destination-user`).
    pub extension: String,
    pub enabled: bool,
}

/// A phone number row; `None` without a number or a destination user (a number routed to a
/// queue or off-net has a user too, so the caller compares it with the extension it asks for).
pub fn phone_number(v: &Value) -> Option<PhoneNumberRow> {
    let number: String = first_text(v, &["phonenumber", "phone-number"])?
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    let extension = text(v, "dial-rule-translation-destination-user")?;
    if number.is_empty() {
        return None;
    }
    let enabled = !matches!(
        text(v, "enabled")
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref(),
        Some("no" | "false" | "0")
    );
    Some(PhoneNumberRow {
        number,
        extension,
        enabled,
    })
}

pub fn extension(row: UserRow, mut devices: Vec<String>) -> Extension {
    devices.sort_by(|a, b| compare_extensions(a, b));
    devices.dedup();
    Extension {
        id: row.extension,
        first_name: row.first_name,
        last_name: row.last_name,
        email: row.email,
        devices,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_read_from_either_id_form() {
        let v = json!({
            "device": "sip:1002tm@contoso",
            "user": "1002",
            "device-sip-registration-password": "Abcdefgh12345678",
            "device-sip-registration-state": "registered",
            "device-sip-registration-user-agent": "Teamline",
            "device-sip-registration-contact": "",
            "emergency-address-id": null,
        });
        let d = device(&v, "1002", "contoso").unwrap();
        assert_eq!(d.auth_id, "1002tm");
        assert_eq!(d.sip_uri, "sip:1002tm@contoso");
        assert_eq!(d.registration.state, RegistrationState::Registered);
        assert_eq!(d.registration.contact, None);
        assert_eq!(d.emergency_address_id, None);
        assert_eq!(
            d.sip_password.as_ref().map(|p| p.expose_secret().len()),
            Some(16)
        );

        let only_uri = json!({ "device-sip-registration-uri": "sip:1000@contoso", "user": 1000 });
        let d = device(&only_uri, "1000", "contoso").unwrap();
        assert_eq!((d.auth_id.as_str(), d.extension.as_str()), ("1000", "1000"));
        assert!(d.sip_password.is_none());
    }

    #[test]
    fn create_body_uses_hyphenated_names_and_asks_for_a_synchronous_answer() {
        let body = create_device_body(&NewDevice {
            auth_id: "1002tm".into(),
            sip_password: None,
            emergency_address_id: Some("abc".into()),
        });
        assert_eq!(
            body,
            json!({ "synchronous": "yes", "device": "1002tm", "emergency-address-id": "abc" })
        );
    }

    #[test]
    fn error_messages_are_one_safe_line() {
        assert_eq!(
            error_message(
                br#"{"code":404,"message":"User 1099 does not exist\n in domain contoso"}"#
            )
            .as_deref(),
            Some("User 1099 does not exist in domain contoso")
        );
        assert_eq!(
            error_message(br#"{"error":"Not found"}"#).as_deref(),
            Some("Not found")
        );
        assert_eq!(
            error_message(b"<html><body>502 Bad Gateway</body></html>"),
            None
        );
        assert_eq!(error_message(br#"{"message":"<b>boom</b>"}"#), None);
        let long = format!(r#"{{"message":"{}"}}"#, "x".repeat(1000));
        assert!(error_message(long.as_bytes()).unwrap().chars().count() <= 241);
    }

    #[test]
    fn extensions_sort_in_dial_order() {
        let mut v = vec!["1000", "999", "1000a", "20", "0100"];
        v.sort_by(|a, b| compare_extensions(a, b));
        assert_eq!(v, vec!["20", "0100", "999", "1000", "1000a"]);
    }

    #[test]
    fn system_users_are_flagged_and_first_email_is_kept() {
        let aa = user_row(&json!({ "user": "8000", "service-code": "system-aa" })).unwrap();
        assert!(aa.is_system);
        let u =
            user_row(&json!({ "user": "1000", "name-first-name": "Adele", "email": "a@x; b@y" }))
                .unwrap();
        assert!(!u.is_system);
        assert_eq!(u.email.as_deref(), Some("a@x"));
    }

    #[test]
    fn addresses_read_v2_and_create_return_shapes() {
        let v2 = json!({ "emergency-address-id": "e1", "user": "", "address-name": "HQ", "address-city": "Redmond" });
        let a = address(&v2).unwrap();
        assert_eq!((a.id.as_str(), &a.scope), ("e1", &AddressScope::Domain));
        let ret = json!({ "address_id": "e2", "user": "1000", "address_name": "Home", "city": "Seattle", "zip": "98101" });
        let a = address(&ret).unwrap();
        assert_eq!(a.scope, AddressScope::Extension("1000".into()));
        assert_eq!((a.name.as_str(), a.postal_code.as_str()), ("Home", "98101"));
    }

    #[test]
    fn phone_number_rows_name_their_extension() {
        let row = phone_number(&json!({
            "phonenumber": "+1 (212) 555-1000",
            "enabled": "yes",
            "dial-rule-application": "to-user",
            "dial-rule-translation-destination-user": "1000",
        }))
        .unwrap();
        assert_eq!(
            (row.number.as_str(), row.extension.as_str()),
            ("12125551000", "1000")
        );
        assert!(row.enabled);
        let off = phone_number(&json!({
            "phonenumber": "12125551001",
            "enabled": "no",
            "dial-rule-translation-destination-user": "1001",
        }))
        .unwrap();
        assert!(!off.enabled);
        assert!(phone_number(&json!({ "phonenumber": "12125551002" })).is_none());
    }

    #[test]
    fn token_answers_accept_string_lifetimes() {
        let t = token_answer(
            &json!({ "access_token": "a", "expires_in": "3600", "refresh_token": "r" }),
        )
        .unwrap();
        assert_eq!(t.expires_in_secs, Some(3600));
        assert!(t.refresh_token.is_some());
        assert!(token_answer(&json!({ "expires_in": 5 })).is_none());
    }
}
