//! Directory endpoints of Microsoft Graph: users, groups and their (transitive) membership,
//! the organization and domains.

use axum::http::StatusCode;
use serde_json::{Map, Value, json};

use super::admission::Caller;
use super::errors::ApiResponse;
use super::model::{Group, Member, Tenant, User, iso};
use super::model::{ids, well_known};
use super::odata::{self, Filterable};
use super::request::{
    GraphRequest, check_count, collection, context, filter_of, member_type, page_size, skip_link,
    skip_offset,
};
use super::state::{SimState, lock};

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

const USER_FILTERABLE: [&str; 13] = [
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
const USER_COLLECTIONS: [&str; 4] = [
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
const GROUP_FILTERABLE: [&str; 8] = [
    "id",
    "displayName",
    "description",
    "mail",
    "mailEnabled",
    "mailNickname",
    "securityEnabled",
    "createdDateTime",
];
const GROUP_COLLECTIONS: [&str; 1] = ["groupTypes"];

fn sku_of(u: &User) -> Vec<Value> {
    let has = |p: &str| u.plans.iter().any(|x| &*x.plan_id == p);
    let mut out = Vec::new();
    if has(well_known::PLAN_TEAMS1) {
        // Office 365 E5 (includes Teams and Teams Phone).
        let disabled: Vec<Value> = if has(well_known::PLAN_MCOEV) {
            Vec::new()
        } else {
            vec![Value::from(well_known::PLAN_MCOEV)]
        };
        out.push(
            json!({"disabledPlans": disabled, "skuId": "c7df2760-2c81-4ef7-b578-5b5392b571df"}),
        );
    } else if has(well_known::PLAN_MCOEV) {
        out.push(json!({"disabledPlans": [], "skuId": "e43b5b99-8dfb-405f-9987-dc307f34bcbd"}));
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
fn canonical<'a>(known: &[&'a str], name: &str) -> Option<&'a str> {
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

struct UserView<'a>(&'a User);
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

struct GroupView<'a>(&'a Group);
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

/// Pages through `len` candidates starting at `offset`, keeping those `keep` accepts, until
/// `top` are collected. Returns the kept indices and the offset of the next page, if any.
fn scan(
    len: usize,
    offset: usize,
    top: usize,
    mut keep: impl FnMut(usize) -> bool,
) -> (Vec<usize>, Option<usize>) {
    let mut out = Vec::new();
    let mut i = offset;
    while i < len {
        if keep(i) {
            if out.len() == top {
                return (out, Some(i));
            }
            out.push(i);
        }
        i += 1;
    }
    (out, None)
}

/// GET /users
pub(crate) fn list_users(t: &Tenant, req: &GraphRequest) -> ApiResponse {
    let run = || -> Result<ApiResponse, ApiResponse> {
        let select = parse_select(req, &USER_PROPS, "user")?;
        let filter = filter_of(req, &USER_FILTERABLE, &USER_COLLECTIONS, "User")?;
        let count = check_count(req)?;
        let top = page_size(req, 100, 999)?;
        let offset = skip_offset(req)?;
        let keep = |i: usize| {
            let u = &t.users[i];
            u.deleted.is_none() && filter.as_ref().is_none_or(|f| odata::eval(f, &UserView(u)))
        };
        let total = count.then(|| (0..t.users.len()).filter(|i| keep(*i)).count());
        let (idx, next) = scan(t.users.len(), offset, top, keep);
        let values = idx
            .iter()
            .map(|i| Value::Object(user_json(&t.users[*i], &select)))
            .collect();
        let sel: Vec<String> = select.iter().map(|s| s.to_string()).collect();
        Ok(collection(
            context(req, "users", &sel),
            values,
            next.map(|o| skip_link(req, o)),
            total,
        ))
    };
    run().unwrap_or_else(|e| e)
}

/// GET /users/$count (text/plain; needs ConsistencyLevel: eventual)
pub(crate) fn count_users(t: &Tenant, req: &GraphRequest) -> ApiResponse {
    if !req.advanced() {
        return req.bad_request("Count is not currently supported.");
    }
    let n = t.users.iter().filter(|u| u.deleted.is_none()).count();
    ApiResponse::ok(Value::from(n.to_string())).with_header("content-type", "text/plain")
}

/// GET /users/{id | userPrincipalName}
pub(crate) fn get_user(t: &Tenant, req: &GraphRequest, key: &str) -> ApiResponse {
    let select = match parse_select(req, &USER_PROPS, "user") {
        Ok(s) => s,
        Err(e) => return e,
    };
    let Some(idx) = t.user_idx(key) else {
        return req.not_found(key);
    };
    let mut m = user_json(t.user(idx), &select);
    let sel: Vec<String> = select.iter().map(|s| s.to_string()).collect();
    let mut ctx = context(req, "users", &sel);
    ctx.push_str("/$entity");
    m.insert("@odata.context".into(), Value::from(ctx));
    ApiResponse::ok(Value::Object(m))
}

/// GET /users/{id}/memberOf | transitiveMemberOf [/microsoft.graph.group]
pub(crate) fn user_member_of(
    t: &Tenant,
    req: &GraphRequest,
    key: &str,
    transitive: bool,
    cast: Option<&str>,
) -> ApiResponse {
    // `graph.` is the namespace alias the SDKs use for `microsoft.graph.`.
    let cast = cast.map(|c| c.strip_prefix("microsoft.").unwrap_or(c));
    if let Some(c) = cast
        && c != "graph.group"
        && c != "graph.directoryRole"
    {
        return req.bad_request(format!("Resource not found for the segment '{c}'."));
    }
    let Some(idx) = t.user_idx(key) else {
        return req.not_found(key);
    };
    if cast == Some("graph.directoryRole") {
        let values: Vec<Value> = t
            .user(idx)
            .wids
            .iter()
            .filter(|w| *w != well_known::ROLE_DEFAULT_USER)
            .map(|w| {
                let name = match w.as_str() {
                    well_known::ROLE_GLOBAL_ADMIN => "Global Administrator",
                    well_known::ROLE_TEAMS_ADMIN => "Teams Administrator",
                    well_known::ROLE_TEAMS_COMMS_ADMIN => "Teams Communications Administrator",
                    well_known::ROLE_PRIVILEGED_ROLE_ADMIN => "Privileged Role Administrator",
                    _ => "Directory role",
                };
                json!({
                    "@odata.type": "#microsoft.graph.directoryRole",
                    "id": ids::stable_guid(&format!("{}/directoryRole", t.id), w),
                    "displayName": name,
                    "roleTemplateId": w,
                })
            })
            .collect();
        return collection(
            format!("{}/v1.0/$metadata#directoryRoles", req.base),
            values,
            None,
            None,
        );
    }
    let select = match parse_select(req, &GROUP_PROPS, "group") {
        Ok(s) => s,
        Err(e) => return e,
    };
    let groups = if transitive {
        t.transitive_member_of(Member::User(idx))
    } else {
        t.member_of(Member::User(idx))
    };
    let values = groups
        .iter()
        .map(|g| {
            let mut m = group_json(t.group(*g), &select);
            if cast.is_none() {
                m.insert("@odata.type".into(), Value::from("#microsoft.graph.group"));
            }
            Value::Object(m)
        })
        .collect();
    collection(
        format!("{}/v1.0/$metadata#directoryObjects", req.base),
        values,
        None,
        None,
    )
}

/// GET /groups
pub(crate) fn list_groups(t: &Tenant, req: &GraphRequest) -> ApiResponse {
    let run = || -> Result<ApiResponse, ApiResponse> {
        let select = parse_select(req, &GROUP_PROPS, "group")?;
        let filter = filter_of(req, &GROUP_FILTERABLE, &GROUP_COLLECTIONS, "Group")?;
        let count = check_count(req)?;
        let top = page_size(req, 100, 999)?;
        let offset = skip_offset(req)?;
        let keep = |i: usize| {
            let g = &t.groups[i];
            g.deleted.is_none()
                && filter
                    .as_ref()
                    .is_none_or(|f| odata::eval(f, &GroupView(g)))
        };
        let total = count.then(|| (0..t.groups.len()).filter(|i| keep(*i)).count());
        let (idx, next) = scan(t.groups.len(), offset, top, keep);
        let values = idx
            .iter()
            .map(|i| Value::Object(group_json(&t.groups[*i], &select)))
            .collect();
        let sel: Vec<String> = select.iter().map(|s| s.to_string()).collect();
        Ok(collection(
            context(req, "groups", &sel),
            values,
            next.map(|o| skip_link(req, o)),
            total,
        ))
    };
    run().unwrap_or_else(|e| e)
}

/// GET /groups/{id}
pub(crate) fn get_group(t: &Tenant, req: &GraphRequest, key: &str) -> ApiResponse {
    let select = match parse_select(req, &GROUP_PROPS, "group") {
        Ok(s) => s,
        Err(e) => return e,
    };
    let Some(idx) = t.group_idx(key) else {
        return req.not_found(key);
    };
    let mut m = group_json(t.group(idx), &select);
    m.insert(
        "@odata.context".into(),
        Value::from(format!("{}/v1.0/$metadata#groups/$entity", req.base)),
    );
    ApiResponse::ok(Value::Object(m))
}

/// GET /groups/{id}/members | transitiveMembers [/microsoft.graph.user | /microsoft.graph.group]
pub(crate) fn group_members(
    t: &mut Tenant,
    req: &GraphRequest,
    key: &str,
    transitive: bool,
    cast: Option<&str>,
) -> ApiResponse {
    let cast = cast.map(|c| c.strip_prefix("microsoft.").unwrap_or(c));
    let only = match cast {
        None => None,
        Some("graph.user") => Some(true),
        Some("graph.group") => Some(false),
        Some("$count") => {
            let Some(g) = t.group_idx(key) else {
                return req.not_found(key);
            };
            if !req.advanced() {
                return req.bad_request("Count is not currently supported.");
            }
            let n = if transitive {
                t.transitive_members(g).len()
            } else {
                t.direct_members(g).len()
            };
            return ApiResponse::ok(Value::from(n.to_string()))
                .with_header("content-type", "text/plain");
        }
        Some(other) => {
            return req.bad_request(format!("Resource not found for the segment '{other}'."));
        }
    };
    let Some(g) = t.group_idx(key) else {
        return req.not_found(key);
    };
    let mut run = || -> Result<ApiResponse, ApiResponse> {
        let user_select = {
            // `$select` applies to every member type; unknown names for one type are ignored
            // as Graph does for directoryObject collections.
            let mut known: Vec<&'static str> = USER_PROPS.to_vec();
            known.extend(GROUP_PROPS.iter().copied());
            parse_select(req, &known, "directoryObject")?
        };
        let user_sel: Vec<&str> = user_select
            .iter()
            .copied()
            .filter(|s| USER_PROPS.contains(s))
            .collect();
        let group_sel: Vec<&str> = user_select
            .iter()
            .copied()
            .filter(|s| GROUP_PROPS.contains(s))
            .collect();
        let filter = if only == Some(true) {
            filter_of(req, &USER_FILTERABLE, &USER_COLLECTIONS, "User")?
        } else {
            filter_of(req, &["id", "displayName"], &[], "DirectoryObject")?
        };
        if filter.is_some() && !(req.advanced() && req.query.count()) {
            return Err(req.error(
                StatusCode::BAD_REQUEST,
                "Request_UnsupportedQuery",
                "Filter on this relationship requires the ConsistencyLevel:eventual header and $count=true.",
            ));
        }
        let count = check_count(req)?;
        let top = page_size(req, 100, 999)?;
        let offset = skip_offset(req)?;
        let members: std::sync::Arc<Vec<Member>> = if transitive {
            t.transitive_members(g)
        } else {
            std::sync::Arc::new(t.direct_members(g))
        };
        let keep = |i: usize| {
            let m = members[i];
            match (m, only) {
                (Member::User(_), Some(false)) | (Member::Group(_), Some(true)) => false,
                (Member::User(u), _) => filter
                    .as_ref()
                    .is_none_or(|f| odata::eval(f, &UserView(t.user(u)))),
                (Member::Group(gi), _) => filter
                    .as_ref()
                    .is_none_or(|f| odata::eval(f, &GroupView(t.group(gi)))),
            }
        };
        let total = count.then(|| (0..members.len()).filter(|i| keep(*i)).count());
        let (idx, next) = scan(members.len(), offset, top, keep);
        let values = idx
            .iter()
            .map(|i| {
                let m = members[*i];
                let mut obj = match m {
                    Member::User(u) => user_json(t.user(u), &user_sel),
                    Member::Group(gi) => group_json(t.group(gi), &group_sel),
                };
                if only.is_none() {
                    obj.insert("@odata.type".into(), Value::from(member_type(m)));
                }
                Value::Object(obj)
            })
            .collect();
        let ctx = match only {
            Some(true) => format!("{}/v1.0/$metadata#users", req.base),
            Some(false) => format!("{}/v1.0/$metadata#groups", req.base),
            None => format!("{}/v1.0/$metadata#directoryObjects", req.base),
        };
        Ok(collection(
            ctx,
            values,
            next.map(|o| skip_link(req, o)),
            total,
        ))
    };
    run().unwrap_or_else(|e| e)
}

/// GET /organization
pub(crate) fn organization(t: &Tenant, req: &GraphRequest) -> ApiResponse {
    let verified: Vec<Value> = t
        .domains
        .iter()
        .filter(|d| d.is_verified)
        .map(|d| {
            json!({
                "capabilities": if d.supported_services.is_empty() { "None".to_string() } else { d.supported_services.join(", ") },
                "isDefault": d.is_default,
                "isInitial": d.is_initial,
                "name": d.id,
                "type": "Managed",
            })
        })
        .collect();
    let org = json!({
        "id": t.id,
        "displayName": t.display_name,
        "tenantType": "AAD",
        "countryLetterCode": "US",
        "preferredLanguage": "en",
        "createdDateTime": iso(t.created),
        "verifiedDomains": verified,
        "assignedPlans": [],
        "businessPhones": [],
        "city": null, "state": null, "street": null, "postalCode": null,
        "technicalNotificationMails": [format!("admin@{}", t.default_domain())],
        "onPremisesSyncEnabled": null,
    });
    collection(
        format!("{}/v1.0/$metadata#organization", req.base),
        vec![org],
        None,
        None,
    )
}

fn domain_json(d: &super::model::Domain) -> Value {
    json!({
        "authenticationType": "Managed",
        "availabilityStatus": null,
        "id": d.id,
        "isAdminManaged": true,
        "isDefault": d.is_default,
        "isInitial": d.is_initial,
        "isRoot": true,
        "isVerified": d.is_verified,
        "passwordNotificationWindowInDays": null,
        "passwordValidityPeriodInDays": null,
        "supportedServices": d.supported_services,
        "state": null,
    })
}

/// GET /domains
pub(crate) fn list_domains(t: &Tenant, req: &GraphRequest) -> ApiResponse {
    let values = t.domains.iter().map(domain_json).collect();
    collection(
        format!("{}/v1.0/$metadata#domains", req.base),
        values,
        None,
        None,
    )
}

/// GET /domains/{id}
pub(crate) fn get_domain(t: &Tenant, req: &GraphRequest, id: &str) -> ApiResponse {
    match t.domains.iter().find(|d| d.id.eq_ignore_ascii_case(id)) {
        Some(d) => {
            let mut v = domain_json(d);
            if let Some(m) = v.as_object_mut() {
                m.insert(
                    "@odata.context".into(),
                    Value::from(format!("{}/v1.0/$metadata#domains/$entity", req.base)),
                );
            }
            ApiResponse::ok(v)
        }
        None => req.not_found(id),
    }
}

/// POST /domains {"id": "sub.example.net"}
pub(crate) fn add_domain(state: &SimState, caller: &Caller, req: &GraphRequest) -> ApiResponse {
    let body = match req.json_body() {
        Ok(b) => b,
        Err(e) => return e,
    };
    let Some(name) = body
        .get("id")
        .and_then(Value::as_str)
        .map(|s| s.trim().to_ascii_lowercase())
    else {
        return req.bad_request("Property 'id' is required.");
    };
    let valid = name.contains('.')
        && name
            .split('.')
            .all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    if !valid {
        return req.bad_request(format!("Domain name '{name}' is invalid."));
    }
    if let Some(owner) = state.tenant(&name)
        && !std::sync::Arc::ptr_eq(&owner, &caller.tenant)
    {
        return req.bad_request(format!(
            "Domain '{name}' has already been added to a different tenant."
        ));
    }
    let mut t = lock(&caller.tenant);
    if t.domains.iter().any(|d| d.id == name) {
        return req.error(
            StatusCode::BAD_REQUEST,
            "Request_BadRequest",
            "Another object with the same value for property id already exists.",
        );
    }
    let d = super::model::Domain {
        id: name.clone(),
        is_default: false,
        is_initial: false,
        is_verified: false,
        supported_services: Vec::new(),
        verification_code: super::seed::verification_code(&name),
        dns_published: !t.traffic.faults.require_dns_for_domain_verification,
    };
    let mut v = domain_json(&d);
    t.domains.push(d);
    let tid = t.id.clone();
    drop(t);
    state.index_domain(&name, &tid);
    if let Some(m) = v.as_object_mut() {
        m.insert(
            "@odata.context".into(),
            Value::from(format!("{}/v1.0/$metadata#domains/$entity", req.base)),
        );
    }
    ApiResponse::json(StatusCode::CREATED, v)
}

/// GET /domains/{id}/verificationDnsRecords
pub(crate) fn verification_records(t: &Tenant, req: &GraphRequest, id: &str) -> ApiResponse {
    let Some(d) = t.domains.iter().find(|d| d.id.eq_ignore_ascii_case(id)) else {
        return req.not_found(id);
    };
    let code = d.verification_code.trim_start_matches("MS=").to_string();
    let values = vec![
        json!({
            "@odata.type": "#microsoft.graph.domainDnsTxtRecord",
            "id": ids::stable_guid("dns-txt", &d.id),
            "isOptional": false,
            "label": d.id,
            "recordType": "Txt",
            "supportedService": "Email",
            "ttl": 3600,
            "text": d.verification_code,
        }),
        json!({
            "@odata.type": "#microsoft.graph.domainDnsMxRecord",
            "id": ids::stable_guid("dns-mx", &d.id),
            "isOptional": false,
            "label": d.id,
            "recordType": "Mx",
            "supportedService": "Email",
            "ttl": 3600,
            "mailExchange": format!("{code}.msv1.invalid"),
            "preference": 32767,
        }),
    ];
    collection(
        format!(
            "{}/v1.0/$metadata#domains('{}')/verificationDnsRecords",
            req.base, d.id
        ),
        values,
        None,
        None,
    )
}

/// POST /domains/{id}/verify
pub(crate) fn verify_domain(t: &mut Tenant, req: &GraphRequest, id: &str) -> ApiResponse {
    let Some(d) = t.domains.iter_mut().find(|d| d.id.eq_ignore_ascii_case(id)) else {
        return req.not_found(id);
    };
    if !d.is_verified {
        if !d.dns_published {
            return req.bad_request(format!(
                "Domain verification failed because the required DNS record was not found. Add a TXT record '{}' to the DNS zone of '{}' and try again.",
                d.verification_code, d.id
            ));
        }
        d.is_verified = true;
    }
    let mut v = domain_json(d);
    if let Some(m) = v.as_object_mut() {
        m.insert(
            "@odata.context".into(),
            Value::from(format!("{}/v1.0/$metadata#domains/$entity", req.base)),
        );
    }
    ApiResponse::ok(v)
}
