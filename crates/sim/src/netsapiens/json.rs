//! NetSapiens v2 JSON shapes (hyphenated field names), rendered from the simulator's state.

use std::time::SystemTime;

use serde::Serialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::state::{AddressRec, ApiKey, DeviceRec, Domain, PhoneNumberRec, User, unix_seconds};

/// RFC 3339 timestamp, the `date-time` format of the v2 schema.
pub fn datetime(t: SystemTime) -> Option<String> {
    OffsetDateTime::from_unix_timestamp(unix_seconds(t))
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
}

pub fn domain(d: &Domain) -> Value {
    json!({
        "domain": d.name,
        "reseller": d.reseller,
        "description": d.description,
        "domain-type": "Standard",
        "time-zone": "US/Pacific",
        "dial-policy": "US and Canada",
        "caller-id-name": d.description,
        "caller-id-number-emergency": "",
        "count-users": d.users.len(),
    })
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct UserJson<'a> {
    domain: &'a str,
    user: &'a str,
    name_first_name: &'a str,
    name_last_name: &'a str,
    login_username: String,
    email: &'a str,
    user_scope: &'static str,
    department: &'a str,
    site: &'a str,
    time_zone: &'static str,
    voicemail_enabled: &'static str,
    emergency_address_id: Option<&'a str>,
    account_status: &'static str,
}

pub fn user(domain: &str, u: &User) -> Value {
    serde_json::to_value(user_row(domain, u)).unwrap_or(Value::Null)
}

/// A user as listed: serialized straight into the answer (a listing of thousands of users
/// skips building each one as a `Value` first).
pub fn user_row<'a>(domain: &'a str, u: &'a User) -> impl Serialize + 'a {
    UserJson {
        domain,
        user: &u.user,
        name_first_name: &u.first_name,
        name_last_name: &u.last_name,
        login_username: format!("{}@{domain}", u.user),
        email: &u.email,
        user_scope: "Basic User",
        department: &u.department,
        site: &u.site,
        time_zone: "US/Pacific",
        voicemail_enabled: "yes",
        emergency_address_id: u.emergency_address_id.as_deref(),
        account_status: "standard",
    }
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct DeviceJson<'a> {
    device: &'a str,
    user: &'a str,
    domain: &'a str,
    device_sip_registration_uri: String,
    device_sip_registration_state: &'static str,
    device_sip_registration_password: &'a str,
    device_sip_registration_contact: &'a str,
    device_sip_registration_core_server: &'a str,
    device_sip_registration_datetime: Option<String>,
    device_sip_registration_expires_datetime: Option<String>,
    device_sip_registration_expiry_seconds: u32,
    device_sip_registration_ip_address: &'a str,
    device_sip_registration_user_agent: &'a str,
    caller_id_number_emergency: &'static str,
    device_push_enabled: &'static str,
    device_srtp_enabled: &'static str,
    device_sip_nat_traversal_enabled: &'static str,
    emergency_address_id: Option<&'a str>,
    login_username: String,
    name_full_name: String,
}

pub fn device(domain: &Domain, d: &DeviceRec, now: SystemTime) -> Value {
    serde_json::to_value(device_row(domain, d, now)).unwrap_or(Value::Null)
}

/// A device as listed, serialized straight into the answer (see [`user_row`]).
pub fn device_row<'a>(
    domain: &'a Domain,
    d: &'a DeviceRec,
    now: SystemTime,
) -> impl Serialize + 'a {
    let registration = d
        .registration
        .as_ref()
        .and_then(|r| r.window(d.expiry_seconds, now).map(|w| (r, w)));
    let (reg, window) = match registration {
        Some((r, w)) => (Some(r), Some(w)),
        None => (None, None),
    };
    let full_name = domain
        .users
        .get(&d.user)
        .map(|u| format!("{} {}", u.first_name, u.last_name))
        .unwrap_or_default();
    DeviceJson {
        device: &d.device,
        user: &d.user,
        domain: &domain.name,
        device_sip_registration_uri: format!("sip:{}@{}", d.device, domain.name),
        device_sip_registration_state: if window.is_some() {
            "registered"
        } else {
            "unregistered"
        },
        device_sip_registration_password: &d.password,
        device_sip_registration_contact: reg.map_or("", |r| r.contact.as_str()),
        device_sip_registration_core_server: reg.map_or("", |r| r.core_server.as_str()),
        device_sip_registration_datetime: window.and_then(|(at, _)| datetime(at)),
        device_sip_registration_expires_datetime: window.and_then(|(_, until)| datetime(until)),
        device_sip_registration_expiry_seconds: d.expiry_seconds,
        device_sip_registration_ip_address: reg.map_or("", |r| r.ip_address.as_str()),
        device_sip_registration_user_agent: reg.map_or("", |r| r.user_agent.as_str()),
        caller_id_number_emergency: "[*]",
        device_push_enabled: "yes",
        device_srtp_enabled: "no",
        device_sip_nat_traversal_enabled: "automatic",
        emergency_address_id: d.emergency_address_id.as_deref(),
        login_username: format!("{}@{}", d.user, domain.name),
        name_full_name: full_name,
    }
}

/// The validate endpoint's answer: the address as the carrier standardised it and the id to
/// create it with.
pub fn validated_address(domain: &str, id: &str, a: &AddressRec) -> Value {
    json!({
        "domain": domain,
        "object": "address",
        "action": "validate",
        "emergency-address-id": id,
        "address-name": a.name,
        "caller-name": a.caller_name,
        "address-line-1": a.line1,
        "address-line-2": a.line2,
        "address-country-abbreviation": a.country,
        "address-state-province-abbreviation": a.state,
        "address-city": a.city,
        "address-postal-code": a.postal_code,
        "address-location-description": a.location_description,
        "address-formatted-pidflo": {
            "StreetName": a.line1.to_uppercase(),
            "City": a.city.to_uppercase(),
            "StateCode": a.state,
            "Zip": a.postal_code,
            "Country": a.country,
            "AddressType": "E911",
            "LocationId": id,
            "ValidationStatus": "VALID",
            "Adjusted": "false",
        },
        "address-provisioned-carrier-name": "teamline-sim",
    })
}

pub fn address(domain: &str, a: &AddressRec, users_configured: usize) -> Value {
    let pretty = [
        a.line1.as_str(),
        a.line2.as_str(),
        a.city.as_str(),
        a.state.as_str(),
        a.postal_code.as_str(),
        a.country.as_str(),
    ]
    .iter()
    .filter(|s| !s.is_empty())
    .copied()
    .collect::<Vec<_>>()
    .join(", ");
    json!({
        "emergency-address-id": a.id,
        "domain": domain,
        "user": a.user.clone().unwrap_or_default(),
        "address-name": a.name,
        "caller-name": a.caller_name,
        "address-line-1": a.line1,
        "address-line-2": a.line2,
        "address-city": a.city,
        "address-state-province-abbreviation": a.state,
        "address-postal-code": a.postal_code,
        "address-country-abbreviation": a.country,
        "address-location-description": a.location_description,
        "carrier": a.carrier,
        "count-users-configured": users_configured,
        "address-formatted-pretty": pretty,
    })
}

pub fn api_key(k: &ApiKey) -> Value {
    json!({
        "key-id": k.key_id,
        "description": k.description,
        "reseller": k.access.reseller(),
        "domain": k.access.home_domain().unwrap_or("*"),
        "user": "*",
        "user-scope": k.access.user_scope(),
        "readonly": if k.readonly { "yes" } else { "no" },
        "ip-address": "",
    })
}

/// `ErrorResponse` / `SuccessResponse`: `{code, message}`.
/// A phone number as `GET /domains/{domain}/phonenumbers` answers it: a dial rule sending the
/// number to a user of the domain.
pub fn phone_number(domain: &str, n: &PhoneNumberRec) -> Value {
    json!({
        "domain": domain,
        "phonenumber": n.number,
        "enabled": if n.enabled { "yes" } else { "no" },
        "dial-rule-application": "to-user",
        "dial-rule-parameter": "",
        "dial-rule-description": "",
        "dial-rule-translation-destination-user": n.user,
        "dial-rule-translation-destination-host": domain,
        "dial-rule-translation-source-name": "[*]",
    })
}

pub fn code_message(code: u16, message: &str) -> Value {
    json!({ "code": code, "message": message })
}
