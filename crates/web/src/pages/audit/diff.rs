//! An audit event's before/after as the admin reads it: each field under the label the portal
//! gives it, each value as the admin knows it (a voice route's name, a Teams user's name and
//! UPN, "Yes"/"No", a time), the fields that changed marked; no JSON, no internal ids.

use crate::views::timestamp;
use serde_json::Value;
use std::collections::HashMap;
use teamline_domain::pbx_user::{CallerNamePolicy, ForwardedCallerId, PbxUserState, PushState};

/// The names behind the ids an event's objects refer to.
#[derive(Debug, Default)]
pub struct Names {
    pub voice_routes: HashMap<i64, String>,
    pub pbx_locations: HashMap<i64, String>,
    /// Entra object id → "Display Name (UPN)".
    pub teams_users: HashMap<String, String>,
}

/// One field of the object, before and after the change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldChange {
    pub label: String,
    pub before: String,
    pub after: String,
    pub changed: bool,
}

/// How a field is shown.
#[derive(Clone, Copy)]
enum Kind {
    Text,
    YesNo,
    Enabled,
    VoiceRoute,
    PbxLocation,
    TeamsUser,
    CallerName,
    ForwardedCallerId,
    UserState,
    PushState,
    DeviceCreation,
    Access,
    Time,
    Hidden,
}

/// The portal's label of `key` in an object of `object_type`.
fn field(object_type: &str, key: &str) -> (String, Kind) {
    let known = match (object_type, key) {
        ("pbx_user", "pbx_location_id") => Some(("PBX Location", Kind::PbxLocation)),
        ("pbx_user", "voice_route_id") => Some(("Voice Route", Kind::VoiceRoute)),
        ("pbx_user", "teams_user_object_id") => Some(("Teams User", Kind::TeamsUser)),
        ("pbx_user", "sip_user") => Some(("SIP User", Kind::Text)),
        ("pbx_user", "phone_number") => Some(("Phone Number", Kind::Text)),
        ("pbx_user", "use_teams_voicemail") => Some(("Use Voicemail in Teams", Kind::YesNo)),
        ("pbx_user", "caller_name") => Some(("Caller Name Policy", Kind::CallerName)),
        ("pbx_user", "forwarded_caller_id") => {
            Some(("Caller ID on Forwarded Calls", Kind::ForwardedCallerId))
        }
        ("pbx_user", "assign_dial_plan") => Some(("Assign Default Dial Plan Policy", Kind::YesNo)),
        ("pbx_user", "device") => Some(("Device", Kind::Text)),
        ("pbx_user", "device_creation") => Some(("Device created on Save", Kind::DeviceCreation)),
        ("pbx_user", "tag") => Some(("User Tag", Kind::Text)),
        ("pbx_user", "state") => Some(("State", Kind::UserState)),
        ("pbx_user", "calling_enabled") => Some(("Calling", Kind::Enabled)),
        ("pbx_user", "push_state") => Some(("Microsoft Teams", Kind::PushState)),
        ("pbx_location", "name") => Some(("Location Name", Kind::Text)),
        ("pbx_location", "proxy") => Some(("SIP Domain Proxy", Kind::Text)),
        ("pbx_location", "dns_lookup") => Some(("DNS Lookup Type", Kind::Text)),
        ("pbx_location", "voicemail_code") => Some(("Voicemail Feature Code", Kind::Text)),
        ("pbx_location", "api_base_url") => Some(("API Base URL", Kind::Text)),
        ("pbx_location", "api_auth") => Some(("API Authentication", Kind::Text)),
        ("pbx_location", "oauth_client_id") => Some(("OAuth Client ID", Kind::Text)),
        ("pbx_location", "oauth_username") => Some(("Masquerade Login", Kind::Text)),
        ("api_token", "prefix") => Some(("Token", Kind::Text)),
        ("api_token", "read_only") => Some(("Access", Kind::Access)),
        ("api_token", "rate_per_minute") => Some(("Requests a minute", Kind::Text)),
        ("api_token", "expires_ms") => Some(("Expires", Kind::Time)),
        ("api_token", "revoked_ms") => Some(("Revoked", Kind::Time)),
        ("device_handle", "auth_id") => Some(("Device", Kind::Text)),
        ("device_handle", "extension") => Some(("SIP User", Kind::Text)),
        ("enterprise", "tenant_id") => Some(("Microsoft 365 tenant", Kind::Text)),
        (_, "sip_domain") => Some(("SIP Domain", Kind::Text)),
        (_, "pbx_type") => Some(("PBX Type", Kind::Text)),
        _ => None,
    };
    if let Some((label, kind)) = known {
        return (label.to_owned(), kind);
    }
    // Teamline's own row ids mean nothing to the admin.
    if key == "id" || key.ends_with("_id") {
        return (String::new(), Kind::Hidden);
    }
    if key.ends_with("_ms") {
        return (humanize(key.trim_end_matches("_ms")), Kind::Time);
    }
    (humanize(key), Kind::Text)
}

/// `global_admin_email` → "Global admin email".
fn humanize(key: &str) -> String {
    let words = key.replace('_', " ");
    let mut chars = words.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

const NONE: &str = "—";

fn show(kind: Kind, value: &Value, names: &Names) -> String {
    let text = || match value {
        Value::Null => NONE.to_owned(),
        Value::String(s) if s.is_empty() => NONE.to_owned(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => if *b { "Yes" } else { "No" }.to_owned(),
        Value::Number(n) => n.to_string(),
        Value::Array(items) if items.is_empty() => NONE.to_owned(),
        Value::Array(items) => items
            .iter()
            .map(|i| show(Kind::Text, i, names))
            .collect::<Vec<_>>()
            .join(", "),
        Value::Object(map) => map
            .iter()
            .filter(|(k, _)| !matches!(field("", k).1, Kind::Hidden))
            .map(|(k, v)| format!("{}: {}", humanize(k), show(Kind::Text, v, names)))
            .collect::<Vec<_>>()
            .join(", "),
    };
    let id = || value.as_i64();
    let named = |map: &HashMap<i64, String>, what: &str| match id() {
        Some(i) => map
            .get(&i)
            .cloned()
            .unwrap_or_else(|| format!("a {what} since removed")),
        None => text(),
    };
    match kind {
        Kind::Text | Kind::Hidden => text(),
        Kind::YesNo => text(),
        Kind::Enabled => match value.as_bool() {
            Some(true) => "Enabled".to_owned(),
            Some(false) => "Disabled".to_owned(),
            None => text(),
        },
        Kind::Access => match value.as_bool() {
            Some(true) => "Read only".to_owned(),
            Some(false) => "Read and write".to_owned(),
            None => text(),
        },
        Kind::VoiceRoute => named(&names.voice_routes, "voice route"),
        Kind::PbxLocation => named(&names.pbx_locations, "PBX location"),
        Kind::TeamsUser => match value.as_str() {
            Some(oid) => names
                .teams_users
                .get(oid)
                .cloned()
                .unwrap_or_else(|| "a Teams user no longer in the directory".to_owned()),
            None => text(),
        },
        Kind::CallerName => serde_json::from_value::<CallerNamePolicy>(value.clone())
            .map(|p| p.label())
            .unwrap_or_else(|_| text()),
        Kind::ForwardedCallerId => serde_json::from_value::<ForwardedCallerId>(value.clone())
            .map(|p| p.label().to_owned())
            .unwrap_or_else(|_| text()),
        Kind::UserState => value
            .as_str()
            .and_then(PbxUserState::parse)
            .map_or_else(text, |s| s.label().to_owned()),
        Kind::PushState => value
            .as_str()
            .and_then(PushState::parse)
            .map_or_else(text, |s| s.label().to_owned()),
        Kind::DeviceCreation => if value.is_null() { "No" } else { "Yes" }.to_owned(),
        Kind::Time => value.as_i64().map_or_else(text, timestamp),
    }
}

/// A PBX user's fields as SET UP PBX USER has them, then its state.
const ORDER: [&str; 15] = [
    "pbx_location_id",
    "voice_route_id",
    "teams_user_object_id",
    "sip_user",
    "phone_number",
    "tag",
    "use_teams_voicemail",
    "caller_name",
    "forwarded_caller_id",
    "assign_dial_plan",
    "device",
    "device_creation",
    "state",
    "calling_enabled",
    "push_state",
];

/// The object's fields in order, a PBX user's form (`spec`) flattened among its state.
fn fields(json: Option<&str>) -> Option<Vec<(String, Value)>> {
    let value: Value = serde_json::from_str(json?).ok()?;
    let mut out = Vec::new();
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                match v {
                    Value::Object(spec) if k == "spec" => out.extend(spec),
                    v => out.push((k, v)),
                }
            }
        }
        // e.g. the sync groups: a list of names.
        other => out.push(("value".to_owned(), other)),
    }
    // In the form's order, then the state; anything else after them.
    out.sort_by_key(|(k, _)| ORDER.iter().position(|o| o == k).unwrap_or(ORDER.len()));
    Some(out)
}

/// The fields of an event's object before and after, the changed ones marked. Empty when the
/// event carries neither.
pub fn diff(
    object_type: &str,
    before: Option<&str>,
    after: Option<&str>,
    names: &Names,
) -> Vec<FieldChange> {
    let (before, after) = (fields(before), fields(after));
    let mut keys: Vec<String> = Vec::new();
    for (k, _) in before.iter().chain(after.iter()).flatten() {
        if !keys.contains(k) {
            keys.push(k.clone());
        }
    }
    let value_of = |side: &Option<Vec<(String, Value)>>, key: &str| {
        side.as_ref()
            .and_then(|f| f.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone()))
    };
    keys.iter()
        .filter_map(|key| {
            let (label, kind) = if object_type == "sync_groups" {
                ("Sync groups".to_owned(), Kind::Text)
            } else {
                field(object_type, key)
            };
            if matches!(kind, Kind::Hidden) {
                return None;
            }
            let b = value_of(&before, key);
            let a = value_of(&after, key);
            let shown =
                |v: &Option<Value>| v.as_ref().map_or(NONE.to_owned(), |v| show(kind, v, names));
            let (before, after) = (shown(&b), shown(&a));
            Some(FieldChange {
                label,
                changed: before != after,
                before,
                after,
            })
        })
        .collect()
}

/// The object ids of Teams users an event refers to, so their names can be looked up.
pub fn teams_user_ids(before: Option<&str>, after: Option<&str>) -> Vec<String> {
    [before, after]
        .into_iter()
        .filter_map(fields)
        .flatten()
        .filter(|(k, _)| k == "teams_user_object_id")
        .filter_map(|(_, v)| v.as_str().map(str::to_owned))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(route: i64, number: &str, calling: bool) -> String {
        serde_json::json!({
            "spec": {
                "pbx_location_id": 1, "voice_route_id": route,
                "teams_user_object_id": "oid-adele", "sip_user": "1000",
                "phone_number": number, "use_teams_voicemail": false,
                "caller_name": {"policy": "other", "name": "Contoso Sales"},
                "forwarded_caller_id": "original_caller", "assign_dial_plan": true,
                "device": "1000tm", "device_creation": null, "tag": null
            },
            "state": "active", "calling_enabled": calling, "push_state": "in_sync"
        })
        .to_string()
    }

    fn names() -> Names {
        Names {
            voice_routes: HashMap::from([(1, "US East 2".into()), (2, "US West".into())]),
            pbx_locations: HashMap::from([(1, "PBX".into())]),
            teams_users: HashMap::from([(
                "oid-adele".into(),
                "Adele Vance (AdeleV@contoso.example)".into(),
            )]),
        }
    }

    #[test]
    fn a_users_change_shows_labels_names_and_what_changed() {
        let (b, a) = (user(1, "+11000", true), user(2, "+11001", false));
        let d = diff("pbx_user", Some(&b), Some(&a), &names());
        let row = |label: &str| d.iter().find(|f| f.label == label).unwrap().clone();
        assert_eq!(row("Voice Route").before, "US East 2");
        assert_eq!(row("Voice Route").after, "US West");
        assert!(row("Voice Route").changed && row("Phone Number").changed);
        assert_eq!(
            row("Teams User").after,
            "Adele Vance (AdeleV@contoso.example)"
        );
        assert!(!row("Teams User").changed);
        assert_eq!(row("Caller Name Policy").after, "Other: Contoso Sales");
        assert_eq!(row("Caller ID on Forwarded Calls").after, "Original Caller");
        assert_eq!(
            (
                row("Calling").before.as_str(),
                row("Calling").after.as_str()
            ),
            ("Enabled", "Disabled")
        );
        assert_eq!(row("Microsoft Teams").after, "In sync");
        assert_eq!(row("User Tag").after, NONE);
        // The form's fields come first, in the form's order.
        assert_eq!(d[0].label, "PBX Location");
        // Nothing internal is shown.
        for f in &d {
            for text in [&f.label, &f.before, &f.after] {
                assert!(
                    !text.contains('{') && !text.contains("oid-") && !text.contains("_id"),
                    "{f:?}"
                );
            }
        }
    }

    #[test]
    fn created_and_removed_objects_and_lists() {
        let token = serde_json::json!({"name": "ci", "prefix": "tl_ab12", "enterprise_id": 1,
            "read_only": true, "rate_per_minute": 120, "expires_ms": null, "revoked_ms": null})
        .to_string();
        let d = diff("api_token", None, Some(&token), &Names::default());
        assert!(
            d.iter()
                .all(|f| f.before == NONE && f.label != "Enterprise")
        );
        let access = d.iter().find(|f| f.label == "Access").unwrap();
        assert_eq!(access.after, "Read only");
        let groups = diff(
            "sync_groups",
            Some(r#"["Sales"]"#),
            Some(r#"["Sales","Support"]"#),
            &Names::default(),
        );
        assert_eq!(groups.len(), 1);
        assert_eq!(
            (groups[0].label.as_str(), groups[0].after.as_str()),
            ("Sync groups", "Sales, Support")
        );
        assert!(diff("pbx_user", None, None, &Names::default()).is_empty());
    }
}
