//! How users and groups look in Graph JSON: the default and known properties, `$select`
//! projection, and the views `$filter` evaluates.

use serde_json::{Map, Value, json};

use crate::microsoft::errors::ApiResponse;
use crate::microsoft::model::well_known;
use crate::microsoft::model::{Group, User, iso};
use crate::microsoft::odata::Filterable;
use crate::microsoft::request::GraphRequest;

/// Properties a user has in Graph's default (no `$select`) v1.0 response.
pub(crate) const USER_DEFAULT: [&str; 11] = [
    "businessPhones",
    "displayName",
    "givenName",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
    "id",
];

/// Every user property the simulator knows.
pub(crate) const USER_PROPS: [&str; 20] = [
    "id",
    "userPrincipalName",
    "displayName",
    "givenName",
    "surname",
    "mail",
    "mailNickname",
    "accountEnabled",
    "userType",
    "usageLocation",
    "assignedPlans",
    "assignedLicenses",
    "businessPhones",
    "jobTitle",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "createdDateTime",
    "onPremisesSyncEnabled",
    "proxyAddresses",
];

pub(super) const USER_FILTERABLE: [&str; 13] = [
    "id",
    "userPrincipalName",
    "displayName",
    "givenName",
    "surname",
    "mail",
    "mailNickname",
    "accountEnabled",
    "userType",
    "usageLocation",
    "createdDateTime",
    "onPremisesSyncEnabled",
    "jobTitle",
];
pub(super) const USER_COLLECTIONS: [&str; 4] = [
    "assignedPlans",
    "assignedLicenses",
    "businessPhones",
    "proxyAddresses",
];

/// Default and known group properties.
pub(crate) const GROUP_PROPS: [&str; 14] = [
    "id",
    "displayName",
    "description",
    "mail",
    "mailEnabled",
    "mailNickname",
    "securityEnabled",
    "groupTypes",
    "createdDateTime",
    "visibility",
    "membershipRule",
    "membershipRuleProcessingState",
    "onPremisesSyncEnabled",
    "securityIdentifier",
];
pub(super) const GROUP_FILTERABLE: [&str; 8] = [
    "id",
    "displayName",
    "description",
    "mail",
    "mailEnabled",
    "mailNickname",
    "securityEnabled",
    "createdDateTime",
];
pub(super) const GROUP_COLLECTIONS: [&str; 1] = ["groupTypes"];

pub(super) fn sku_of(u: &User) -> Vec<Value> {
    let has = |p: &str| u.plans.iter().any(|x| &*x.plan_id == p);
    let mut out = Vec::new();
    if has(well_known::PLAN_TEAMS1) {
        // Office 365 E5 (includes Teams and Teams Phone).
        let disabled: Vec<Value> = if has(well_known::PLAN_MCOEV) {
            Vec::new()
        } else {
            vec![Value::from(well_known::PLAN_MCOEV)]
        };
        out.push(json!({"disabledPlans": disabled, "skuId": well_known::SKU_E5}));
    } else if has(well_known::PLAN_MCOEV) {
        out.push(json!({"disabledPlans": [], "skuId": well_known::SKU_MCOEV}));
    }
    if has(well_known::PLAN_MCOEV_VIRTUALUSER) {
        out.push(json!({"disabledPlans": [], "skuId": "440eaaa8-b3e0-484b-a8be-62870b9ba70a"}));
    }
    if has(well_known::PLAN_MCOPSTN1) {
        out.push(json!({"disabledPlans": [], "skuId": "0dab259f-bf13-4952-b7f8-7db8f131b28d"}));
    }
    out
}

/// The value of one user property (canonical name), or `None` when unknown.
pub(crate) fn user_field(u: &User, name: &str) -> Option<Value> {
    let opt = |v: &Option<String>| v.as_deref().map(Value::from).unwrap_or(Value::Null);
    Some(match name {
        "id" => Value::from(u.id.as_str()),
        "userPrincipalName" => Value::from(u.upn.as_str()),
        "displayName" => Value::from(u.display_name.as_str()),
        "givenName" => opt(&u.given_name),
        "surname" => opt(&u.surname),
        "mail" => opt(&u.mail),
        "mailNickname" => Value::from(u.upn.split('@').next().unwrap_or_default()),
        "accountEnabled" => Value::Bool(u.account_enabled),
        "userType" => Value::from(u.user_type()),
        "usageLocation" => opt(&u.usage_location),
        "assignedPlans" => Value::Array(
            u.plans
                .iter()
                .map(|p| {
                    json!({
                        "assignedDateTime": iso(p.assigned),
                        "capabilityStatus": p.status.as_str(),
                        "service": &*p.service,
                        "servicePlanId": &*p.plan_id,
                    })
                })
                .collect(),
        ),
        "assignedLicenses" => Value::Array(sku_of(u)),
        "businessPhones" | "proxyAddresses" => Value::Array(Vec::new()),
        "jobTitle"
        | "mobilePhone"
        | "officeLocation"
        | "preferredLanguage"
        | "onPremisesSyncEnabled" => Value::Null,
        "createdDateTime" => Value::from(iso(u.created)),
        _ => return None,
    })
}

/// Canonical spelling of a known property (`$select` is case-insensitive).
pub(super) fn canonical<'a>(known: &[&'a str], name: &str) -> Option<&'a str> {
    known.iter().find(|k| k.eq_ignore_ascii_case(name)).copied()
}

/// Checks `$select` against known properties; returns canonical names.
pub(crate) fn parse_select(
    req: &GraphRequest,
    known: &[&'static str],
    type_name: &str,
) -> Result<Vec<&'static str>, ApiResponse> {
    let mut out = Vec::new();
    for p in req.query.select() {
        if p == "members" && type_name == "group" {
            continue;
        }
        match canonical(known, &p) {
            Some(c) => out.push(c),
            None => {
                return Err(req.bad_request(format!(
                    "Could not find a property named '{p}' on type 'microsoft.graph.{type_name}'."
                )));
            }
        }
    }
    Ok(out)
}

/// A user as JSON with the selected properties (default set when none).
pub(crate) fn user_json(u: &User, select: &[&str]) -> Map<String, Value> {
    let mut m = Map::new();
    let fields: &[&str] = if select.is_empty() {
        &USER_DEFAULT
    } else {
        select
    };
    for f in fields {
        if let Some(v) = user_field(u, f) {
            m.insert((*f).to_string(), v);
        }
    }
    if !m.contains_key("id") {
        m.insert("id".into(), Value::from(u.id.as_str()));
    }
    m
}

pub(crate) fn group_field(g: &Group, name: &str) -> Option<Value> {
    let opt = |v: &Option<String>| v.as_deref().map(Value::from).unwrap_or(Value::Null);
    Some(match name {
        "id" => Value::from(g.id.as_str()),
        "displayName" => Value::from(g.display_name.as_str()),
        "description" => opt(&g.description),
        "mail" => opt(&g.mail),
        "mailEnabled" => Value::Bool(g.mail_enabled),
        "mailNickname" => Value::from(g.mail_nickname.as_str()),
        "securityEnabled" => Value::Bool(g.security_enabled),
        "groupTypes" => Value::Array(
            g.group_types
                .iter()
                .map(|s| Value::from(s.as_str()))
                .collect(),
        ),
        "createdDateTime" => Value::from(iso(g.created)),
        "visibility" => {
            if g.group_types.iter().any(|t| t == "Unified") {
                Value::from("Public")
            } else {
                Value::Null
            }
        }
        "membershipRule" | "membershipRuleProcessingState" | "onPremisesSyncEnabled" => Value::Null,
        "securityIdentifier" => Value::from(format!(
            "S-1-12-1-{}",
            g.id.split('-')
                .next()
                .map(|h| u32::from_str_radix(h, 16).unwrap_or(0))
                .unwrap_or(0)
        )),
        _ => return None,
    })
}

pub(crate) fn group_json(g: &Group, select: &[&str]) -> Map<String, Value> {
    let mut m = Map::new();
    let fields: &[&str] = if select.is_empty() {
        &GROUP_PROPS
    } else {
        select
    };
    for f in fields {
        if let Some(v) = group_field(g, f) {
            m.insert((*f).to_string(), v);
        }
    }
    if !m.contains_key("id") {
        m.insert("id".into(), Value::from(g.id.as_str()));
    }
    m
}

pub(super) struct UserView<'a>(pub &'a User);
impl Filterable for UserView<'_> {
    fn prop(&self, name: &str) -> Value {
        canonical(&USER_PROPS, name)
            .and_then(|c| user_field(self.0, c))
            .unwrap_or(Value::Null)
    }
    fn collection(&self, name: &str) -> Vec<Value> {
        match self.prop(name) {
            Value::Array(a) => a,
            _ => Vec::new(),
        }
    }
}

pub(super) struct GroupView<'a>(pub &'a Group);
impl Filterable for GroupView<'_> {
    fn prop(&self, name: &str) -> Value {
        canonical(&GROUP_PROPS, name)
            .and_then(|c| group_field(self.0, c))
            .unwrap_or(Value::Null)
    }
    fn collection(&self, name: &str) -> Vec<Value> {
        match self.prop(name) {
            Value::Array(a) => a,
            _ => Vec::new(),
        }
    }
}
