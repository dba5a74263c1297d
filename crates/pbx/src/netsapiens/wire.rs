//! NetSapiens v2 JSON: reading users, devices, addresses and tokens into Teamline's types,
//! and writing request bodies. Field names are the hyphenated v2 names (see FIDELITY.md).
//!
//! Reading is lenient on purpose: NetSapiens versions differ in which fields they send, send
//! numbers where strings are documented (and the reverse), and use `""` or `null` for "none".

use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value, json};

use crate::error::PbxError;
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

/// A text field read straight from a listing, as [`text`] reads it from a `Value`: strings
/// (trimmed, `""` is none) and numbers; anything else is none. Borrowed from the answer when
/// it holds no escapes.
#[derive(Debug, Default)]
pub struct Text<'a>(Option<Cow<'a, str>>);

impl<'a> Text<'a> {
    fn of(s: Cow<'a, str>) -> Self {
        let trimmed = s.trim();
        if trimmed.is_empty() {
            return Self(None);
        }
        Self(Some(match s {
            Cow::Borrowed(b) => Cow::Borrowed(b.trim()),
            Cow::Owned(o) if o.len() == trimmed.len() => Cow::Owned(o),
            Cow::Owned(o) => Cow::Owned(o.trim().to_owned()),
        }))
    }

    fn or(self, other: Self) -> Self {
        if self.0.is_some() { self } else { other }
    }

    fn into_string(self) -> Option<String> {
        self.0.map(Cow::into_owned)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(TextVisitor(std::marker::PhantomData))
    }
}

struct TextVisitor<'a>(std::marker::PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for TextVisitor<'a> {
    type Value = Text<'a>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a text, a number or null")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Text::of(Cow::Borrowed(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Text::of(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Text::of(Cow::Owned(v)))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Text(Some(Cow::Owned(v.to_string()))))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Text(Some(Cow::Owned(v.to_string()))))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        // Written as serde_json writes the number, as `text` does.
        Ok(Text(
            serde_json::Number::from_f64(v).map(|n| Cow::Owned(n.to_string())),
        ))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Text(None))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Text(None))
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Text(None))
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Text(None))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Text(None))
    }
}

/// A row of `GET /domains/{d}/users` with only the fields Teamline reads; the rest of each
/// row is skipped unread.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct UserListing<'a> {
    #[serde(borrow)]
    user: Text<'a>,
    #[serde(borrow, rename = "name-first-name")]
    name_first_name: Text<'a>,
    #[serde(borrow, rename = "first-name")]
    first_name: Text<'a>,
    #[serde(borrow, rename = "name-last-name")]
    name_last_name: Text<'a>,
    #[serde(borrow, rename = "last-name")]
    last_name: Text<'a>,
    #[serde(borrow)]
    email: Text<'a>,
    #[serde(borrow, rename = "email-address")]
    email_address: Text<'a>,
    #[serde(borrow, rename = "service-code")]
    service_code: Text<'a>,
}

impl UserListing<'_> {
    /// The user, or none when the row names no extension.
    pub fn into_row(self) -> Option<UserRow> {
        let extension = self.user.into_string()?;
        Some(UserRow {
            extension,
            first_name: self
                .name_first_name
                .or(self.first_name)
                .into_string()
                .unwrap_or_default(),
            last_name: self
                .name_last_name
                .or(self.last_name)
                .into_string()
                .unwrap_or_default(),
            email: self
                .email
                .or(self.email_address)
                .0
                .map(|e| e.split(';').next().unwrap_or_default().trim().to_owned()),
            is_system: self
                .service_code
                .0
                .is_some_and(|c| c.starts_with("system-")),
        })
    }
}

pub fn user_row(v: &Value) -> Option<UserRow> {
    UserListing::deserialize(v).ok()?.into_row()
}

/// A row of `GET /domains/{d}/devices` with only the fields Teamline reads for a listing.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct DeviceListing<'a> {
    #[serde(borrow)]
    user: Text<'a>,
    #[serde(borrow)]
    device: Text<'a>,
    #[serde(borrow, rename = "device-sip-registration-uri")]
    uri: Text<'a>,
    #[serde(borrow)]
    aor: Text<'a>,
}

/// Which extension a listed device belongs to (`user`) and its bare id (`device`, or the
/// user part of its SIP URI), each if the PBX says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceOwner {
    pub extension: Option<String>,
    pub device: Option<String>,
}

impl DeviceListing<'_> {
    pub fn into_owner(self) -> DeviceOwner {
        DeviceOwner {
            extension: self.user.into_string(),
            device: self
                .device
                .or(self.uri)
                .or(self.aor)
                .0
                .map(|raw| bare_device_id(&raw).to_owned()),
        }
    }
}

/// [`DeviceListing::into_owner`] for a row already read as a `Value`.
pub fn device_owner_row(v: &Value) -> DeviceOwner {
    DeviceOwner {
        extension: device_owner(v),
        device: device_id(v),
    }
}

/// One page of a listing read into rows: the body's objects read straight into `R` (only the
/// fields it names, borrowing the text), each turned into a `T` by `into`. A list holding
/// something other than objects is read through `Value` and `of_value`, row by row, as is a
/// body that is no JSON at all (an empty list, as `null`, `{}` and an empty body are).
pub fn listing_page<'a, R, T>(
    body: &'a [u8],
    action: &str,
    into: impl Fn(R) -> T,
    of_value: impl Fn(&Value) -> T,
) -> Result<Vec<T>, PbxError>
where
    R: Deserialize<'a>,
{
    let starts_list = body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[');
    if starts_list && let Ok(rows) = serde_json::from_slice::<Vec<R>>(body) {
        return Ok(rows.into_iter().map(into).collect());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Array(rows)) => Ok(rows.iter().map(of_value).collect()),
        Ok(Value::Null) | Err(_) => Ok(Vec::new()),
        Ok(Value::Object(o)) if o.is_empty() => Ok(Vec::new()),
        Ok(_) => Err(PbxError::UnexpectedResponse {
            action: action.to_owned(),
            detail: "expected a JSON list".to_owned(),
        }),
    }
}

/// One page of a listing as `Value`s, for the small listings read whole.
pub fn value_page(body: &[u8], action: &str) -> Result<Vec<Value>, PbxError> {
    listing_page(body, action, |v: Value| v, Value::clone)
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
    fn listings_read_straight_from_the_body_as_from_values() {
        let body = br#"[
            {"user": 1000, "name-first-name": " Adele\u0020", "first-name": "x", "email": "", "email-address": "a@x", "domain": "d", "devices": [1, {"a": 2}]},
            {"user": "8000", "service-code": "system-aa", "name-last-name": null, "last-name": true},
            {"name-first-name": "No extension"},
            {"device": "", "device-sip-registration-uri": "sip:1000tm@d", "user": "1000"}
        ]"#;
        let rows = listing_page(body, "list", UserListing::into_row, user_row).unwrap();
        let values: Vec<Value> = serde_json::from_slice(body).unwrap();
        let expected: Vec<_> = values.iter().map(user_row).collect();
        assert_eq!(rows, expected);
        assert_eq!(rows[0].as_ref().unwrap().extension, "1000");
        assert_eq!(rows[0].as_ref().unwrap().first_name, "Adele");
        assert_eq!(rows[0].as_ref().unwrap().email.as_deref(), Some("a@x"));
        assert!(rows[1].as_ref().unwrap().is_system);
        assert_eq!(rows[2], None);

        let devices =
            listing_page(body, "list", DeviceListing::into_owner, device_owner_row).unwrap();
        let expected: Vec<_> = values.iter().map(device_owner_row).collect();
        assert_eq!(devices, expected);
        assert_eq!(devices[3].device.as_deref(), Some("1000tm"));
    }

    #[test]
    fn listing_pages_that_are_empty_or_hold_other_things() {
        for empty in [&b""[..], b"  ", b"null", b"{}", b"not json"] {
            let rows = listing_page(empty, "list", UserListing::into_row, user_row).unwrap();
            assert!(rows.is_empty());
        }
        // A list of something other than objects is read row by row, as before.
        let rows = listing_page(
            br#"["x", {"user": "1001"}]"#,
            "list",
            UserListing::into_row,
            user_row,
        )
        .unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0], None);
        assert_eq!(rows[1].as_ref().unwrap().extension, "1001");
        assert!(listing_page(br#"{"code": 1}"#, "list", UserListing::into_row, user_row).is_err());
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
