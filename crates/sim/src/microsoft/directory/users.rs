//! Users: the collection (`$filter`, `$count`, paging), one user, and the groups a user is a
//! member of (directly or through nesting).

use serde_json::{Value, json};

use super::json::{
    GROUP_PROPS, USER_COLLECTIONS, USER_FILTERABLE, USER_PROPS, UserView, group_json, parse_select,
    user_json,
};
use super::scan;
use crate::microsoft::errors::ApiResponse;
use crate::microsoft::model::{Member, Tenant};
use crate::microsoft::model::{ids, well_known};
use crate::microsoft::odata;
use crate::microsoft::request::{
    GraphRequest, check_count, collection, context, filter_of, page_size, skip_link, skip_offset,
};

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
