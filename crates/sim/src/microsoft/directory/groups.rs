//! Groups: the collection, one group, and its members (direct or transitive, optionally cast
//! to users or groups).

use axum::http::StatusCode;
use serde_json::Value;

use super::json::{
    GROUP_COLLECTIONS, GROUP_FILTERABLE, GROUP_PROPS, GroupView, USER_COLLECTIONS, USER_FILTERABLE,
    USER_PROPS, UserView, group_json, parse_select, user_json,
};
use super::scan;
use crate::microsoft::errors::ApiResponse;
use crate::microsoft::model::{Member, Tenant};
use crate::microsoft::odata;
use crate::microsoft::request::{
    GraphRequest, check_count, collection, context, filter_of, member_type, page_size, skip_link,
    skip_offset,
};

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
