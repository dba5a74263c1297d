//! Delta queries (`/users/delta`, `/groups/delta`) on top of the tenant's change log.
//!
//! A delta token records a position (sequence number) in the change log; a round after it
//! reads only the log entries since then, so a round with nothing new costs a binary search,
//! not a scan of the directory. Paging state travels in an opaque `$skiptoken`.

use std::collections::HashMap;

use axum::http::StatusCode;
use serde_json::{Map, Value, json};

use super::directory::{GROUP_PROPS, USER_PROPS, group_json, parse_select, user_json};
use super::errors::ApiResponse;
use super::model::{Change, Member, Removal, Tenant, now_unix};
use super::odata::{self, Expr, Lit, Operand};
use super::request::{GraphRequest, member_type};
use super::state::SimState;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Users,
    Groups,
}

impl Kind {
    fn tag(self) -> &'static str {
        match self {
            Kind::Users => "users",
            Kind::Groups => "groups",
        }
    }
}

/// Where a round is: listing everything (initial) or replaying changes after a token.
enum Phase {
    Initial { offset: usize, upto: u64 },
    Changes { from: u64, upto: u64, offset: usize },
}

struct Round {
    select: Vec<String>,
    ids: Vec<String>,
    phase: Phase,
}

pub(crate) fn users(state: &SimState, t: &mut Tenant, req: &GraphRequest) -> ApiResponse {
    run(state, t, req, Kind::Users).unwrap_or_else(|e| e)
}

pub(crate) fn groups(state: &SimState, t: &mut Tenant, req: &GraphRequest) -> ApiResponse {
    run(state, t, req, Kind::Groups).unwrap_or_else(|e| e)
}

fn expired(req: &GraphRequest) -> ApiResponse {
    req.error(
        StatusCode::BAD_REQUEST,
        "syncStateNotFound",
        "The sync state generation is not found. The delta token is expired and data must be synchronized again.",
    )
}

fn gone(req: &GraphRequest, kind: Kind, select: &[String], ids: &[String]) -> ApiResponse {
    let mut pairs = Vec::new();
    if !select.is_empty() {
        pairs.push(("$select".to_string(), select.join(",")));
    }
    if !ids.is_empty() {
        let f = ids
            .iter()
            .map(|i| format!("id eq '{i}'"))
            .collect::<Vec<_>>()
            .join(" or ");
        pairs.push(("$filter".to_string(), f));
    }
    pairs.push(("$deltatoken".to_string(), String::new()));
    let location = format!(
        "{}?{}",
        req.link(&format!("{}/delta", kind.tag())),
        odata::encode_pairs(&pairs)
    );
    req.error(
        StatusCode::GONE,
        "resyncRequired",
        "The delta token is no longer valid because the tenant's state was reset. Restart with a full synchronization from the URL in the Location header.",
    )
    .with_header("location", location)
}

fn str_list(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// Decodes and checks a token of this tenant and kind.
fn open_token(
    state: &SimState,
    t: &Tenant,
    req: &GraphRequest,
    kind: Kind,
    token: &str,
) -> Result<Value, ApiResponse> {
    let v = odata::decode_token(token)
        .filter(|v| v.get("k").and_then(Value::as_str) == Some(kind.tag()))
        .filter(|v| {
            v.get("t")
                .and_then(Value::as_str)
                .is_some_and(|x| x.eq_ignore_ascii_case(&t.id))
        })
        .ok_or_else(|| req.bad_request("Badly formed token."))?;
    let select = str_list(v.get("sel"));
    let ids = str_list(v.get("ids"));
    if v.get("e").and_then(Value::as_u64) != Some(t.delta_epoch) {
        return Err(gone(req, kind, &select, &ids));
    }
    let seq = v
        .get("s")
        .or_else(|| v.get("u"))
        .and_then(Value::as_u64)
        .unwrap_or(0);
    let iat = v.get("iat").and_then(Value::as_i64).unwrap_or(0);
    let max_age = state.config.delta_token_max_age.as_secs() as i64;
    if seq < t.delta_min_seq || now_unix() - iat > max_age {
        return Err(expired(req));
    }
    Ok(v)
}

fn group_filter_ids(req: &GraphRequest, t: &Tenant) -> Result<Vec<String>, ApiResponse> {
    let Some(raw) = req.query.get("$filter") else {
        return Ok(Vec::new());
    };
    let unsupported = || {
        req.error(
            StatusCode::BAD_REQUEST,
            "Request_UnsupportedQuery",
            "Unsupported query. Delta query on groups supports only $filter=id eq '{id}' (combined with 'or').",
        )
    };
    let expr = odata::parse_filter(raw).map_err(|_| unsupported())?;
    fn collect(e: &Expr, out: &mut Vec<String>) -> bool {
        match e {
            Expr::Or(a, b) => collect(a, out) && collect(b, out),
            Expr::Cmp(Operand::Prop(p), op, Operand::Lit(Lit::Str(v)))
                if p.eq_ignore_ascii_case("id") && op == "eq" =>
            {
                out.push(v.to_ascii_lowercase());
                true
            }
            _ => false,
        }
    }
    let mut ids = Vec::new();
    if !collect(&expr, &mut ids) {
        return Err(unsupported());
    }
    let max = t.behaviour.max_filter_or_clauses as usize;
    if ids.len() > max {
        return Err(req.error(
            StatusCode::BAD_REQUEST,
            "Request_UnsupportedQuery",
            format!(
                "Too many child clauses specified in search filter expression containing 'OR' operators: {}. Max allowed: {max}.",
                ids.len()
            ),
        ));
    }
    // Unknown ids are silently absent, as in Graph.
    Ok(ids)
}

fn run(
    state: &SimState,
    t: &mut Tenant,
    req: &GraphRequest,
    kind: Kind,
) -> Result<ApiResponse, ApiResponse> {
    let round = if let Some(tok) = req.query.get("$skiptoken") {
        let v = open_token(state, t, req, kind, tok)?;
        let select = str_list(v.get("sel"));
        let ids = str_list(v.get("ids"));
        let offset = v.get("o").and_then(Value::as_u64).unwrap_or(0) as usize;
        let upto = v.get("u").and_then(Value::as_u64).unwrap_or(0);
        let phase = match v.get("p").and_then(Value::as_str) {
            Some("c") => Phase::Changes {
                from: v.get("s").and_then(Value::as_u64).unwrap_or(0),
                upto,
                offset,
            },
            _ => Phase::Initial { offset, upto },
        };
        Round { select, ids, phase }
    } else if let Some(tok) = req.query.get("$deltatoken").filter(|t| !t.is_empty()) {
        if tok.eq_ignore_ascii_case("latest") {
            let select = select_names(req, kind)?;
            let ids = if kind == Kind::Groups {
                group_filter_ids(req, t)?
            } else {
                Vec::new()
            };
            let link = delta_link(req, t, kind, &select, &ids, t.current_seq());
            return Ok(page(req, kind, &select, Vec::new(), None, Some(link)));
        }
        let v = open_token(state, t, req, kind, tok)?;
        let select = str_list(v.get("sel"));
        let ids = str_list(v.get("ids"));
        let from = v.get("s").and_then(Value::as_u64).unwrap_or(0);
        Round {
            select,
            ids,
            phase: Phase::Changes {
                from,
                upto: t.current_seq(),
                offset: 0,
            },
        }
    } else {
        if req.query.get("$top").is_some()
            || req.query.get("$orderby").is_some()
            || req.query.get("$expand").is_some()
        {
            return Err(req.bad_request("$top, $orderby and $expand are not supported with delta queries on directory objects."));
        }
        let select = select_names(req, kind)?;
        let ids = if kind == Kind::Groups {
            group_filter_ids(req, t)?
        } else {
            if req.query.get("$filter").is_some() {
                return Err(req.error(
                    StatusCode::BAD_REQUEST,
                    "Request_UnsupportedQuery",
                    "Unsupported query. Delta query on users supports only $filter=id eq '{id}'.",
                ));
            }
            Vec::new()
        };
        Round {
            select,
            ids,
            phase: Phase::Initial {
                offset: 0,
                upto: t.current_seq(),
            },
        }
    };
    let size = state.config.delta_page_size.max(1);
    match round.phase {
        Phase::Initial { offset, upto } => {
            let (values, next) = match kind {
                Kind::Users => initial_users(t, &round.select, offset, size),
                Kind::Groups => initial_groups(t, &round.select, &round.ids, offset, size),
            };
            let (next_link, delta) = match next {
                Some(o) => (
                    Some(skip_link(
                        req,
                        t,
                        kind,
                        &round,
                        json!({"p": "i", "o": o, "u": upto}),
                    )),
                    None,
                ),
                None => (
                    None,
                    Some(delta_link(req, t, kind, &round.select, &round.ids, upto)),
                ),
            };
            Ok(page(req, kind, &round.select, values, next_link, delta))
        }
        Phase::Changes { from, upto, offset } => {
            let entries = match kind {
                Kind::Users => changed_users(t, from, upto, &round.select),
                Kind::Groups => changed_groups(t, from, upto, &round.select, &round.ids),
            };
            let end = (offset + size).min(entries.len());
            let values: Vec<Value> = entries
                .get(offset..end)
                .map(<[Value]>::to_vec)
                .unwrap_or_default();
            let (next_link, delta) = if end < entries.len() {
                (
                    Some(skip_link(
                        req,
                        t,
                        kind,
                        &round,
                        json!({"p": "c", "s": from, "o": end, "u": upto}),
                    )),
                    None,
                )
            } else {
                (
                    None,
                    Some(delta_link(req, t, kind, &round.select, &round.ids, upto)),
                )
            };
            Ok(page(req, kind, &round.select, values, next_link, delta))
        }
    }
}

fn select_names(req: &GraphRequest, kind: Kind) -> Result<Vec<String>, ApiResponse> {
    let mut names: Vec<String> = match kind {
        Kind::Users => parse_select(req, &USER_PROPS, "user")?
            .iter()
            .map(|s| s.to_string())
            .collect(),
        Kind::Groups => parse_select(req, &GROUP_PROPS, "group")?
            .iter()
            .map(|s| s.to_string())
            .collect(),
    };
    if kind == Kind::Groups
        && req
            .query
            .select()
            .iter()
            .any(|s| s.eq_ignore_ascii_case("members"))
    {
        names.push("members".into());
    }
    Ok(names)
}

fn token_base(t: &Tenant, kind: Kind, select: &[String], ids: &[String]) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("k".into(), Value::from(kind.tag()));
    m.insert("t".into(), Value::from(t.id.as_str()));
    m.insert("e".into(), Value::from(t.delta_epoch));
    m.insert("iat".into(), Value::from(now_unix()));
    m.insert("sel".into(), Value::from(select.to_vec()));
    m.insert("ids".into(), Value::from(ids.to_vec()));
    m
}

fn delta_link(
    req: &GraphRequest,
    t: &Tenant,
    kind: Kind,
    select: &[String],
    ids: &[String],
    seq: u64,
) -> String {
    let mut m = token_base(t, kind, select, ids);
    m.insert("s".into(), Value::from(seq));
    let token = odata::encode_token(&Value::Object(m));
    format!(
        "{}?$deltatoken={token}",
        req.link(&format!("{}/delta", kind.tag()))
    )
}

fn skip_link(req: &GraphRequest, t: &Tenant, kind: Kind, round: &Round, extra: Value) -> String {
    let mut m = token_base(t, kind, &round.select, &round.ids);
    if let Value::Object(e) = extra {
        m.extend(e);
    }
    let token = odata::encode_token(&Value::Object(m));
    format!(
        "{}?$skiptoken={token}",
        req.link(&format!("{}/delta", kind.tag()))
    )
}

fn page(
    req: &GraphRequest,
    kind: Kind,
    select: &[String],
    values: Vec<Value>,
    next: Option<String>,
    delta: Option<String>,
) -> ApiResponse {
    let mut m = Map::new();
    let sel: Vec<&str> = select
        .iter()
        .map(String::as_str)
        .filter(|s| *s != "members")
        .collect();
    let ctx = if sel.is_empty() {
        format!("{}/v1.0/$metadata#{}", req.base, kind.tag())
    } else {
        format!(
            "{}/v1.0/$metadata#{}({})",
            req.base,
            kind.tag(),
            sel.join(",")
        )
    };
    m.insert("@odata.context".into(), Value::from(ctx));
    if let Some(n) = next {
        m.insert("@odata.nextLink".into(), Value::from(n));
    }
    if let Some(d) = delta {
        m.insert("@odata.deltaLink".into(), Value::from(d));
    }
    m.insert("value".into(), Value::Array(values));
    ApiResponse::ok(Value::Object(m))
}

fn static_select(select: &[String], known: &[&'static str]) -> Vec<&'static str> {
    select
        .iter()
        .filter_map(|s| known.iter().find(|k| k.eq_ignore_ascii_case(s)).copied())
        .collect()
}

fn initial_users(
    t: &Tenant,
    select: &[String],
    offset: usize,
    size: usize,
) -> (Vec<Value>, Option<usize>) {
    let sel = static_select(select, &USER_PROPS);
    let mut out = Vec::new();
    let mut i = offset;
    while i < t.users.len() {
        let u = &t.users[i];
        if u.deleted.is_none() {
            if out.len() == size {
                return (out, Some(i));
            }
            out.push(Value::Object(user_json(u, &sel)));
        }
        i += 1;
    }
    (out, None)
}

fn members_delta(t: &Tenant, g: u32) -> Vec<Value> {
    t.direct_members(g)
        .into_iter()
        .map(|m| json!({"@odata.type": member_type(m), "id": member_id(t, m)}))
        .collect()
}

fn member_id(t: &Tenant, m: Member) -> &str {
    match m {
        Member::User(u) => &t.user(u).id,
        Member::Group(g) => &t.group(g).id,
    }
}

fn wanted_group(t: &Tenant, g: u32, ids: &[String]) -> bool {
    ids.is_empty() || ids.iter().any(|id| t.group(g).id.eq_ignore_ascii_case(id))
}

fn initial_groups(
    t: &Tenant,
    select: &[String],
    ids: &[String],
    offset: usize,
    size: usize,
) -> (Vec<Value>, Option<usize>) {
    let sel = static_select(select, &GROUP_PROPS);
    let with_members = select.iter().any(|s| s == "members");
    let mut out = Vec::new();
    let mut i = offset;
    while i < t.groups.len() {
        let g = &t.groups[i];
        if g.deleted.is_none() && wanted_group(t, i as u32, ids) {
            if out.len() == size {
                return (out, Some(i));
            }
            let mut obj = group_json(g, &sel);
            if with_members {
                obj.insert(
                    "members@delta".into(),
                    Value::Array(members_delta(t, i as u32)),
                );
            }
            out.push(Value::Object(obj));
        }
        i += 1;
    }
    (out, None)
}

fn removed(id: &str, how: Removal) -> Value {
    let reason = match how {
        Removal::Changed => "changed",
        Removal::Deleted => "deleted",
    };
    json!({"id": id, "@removed": {"reason": reason}})
}

fn changed_users(t: &Tenant, from: u64, upto: u64, select: &[String]) -> Vec<Value> {
    let sel = static_select(select, &USER_PROPS);
    let mut order: Vec<u32> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for c in t.changes_between(from, upto) {
        if let Change::User(u, props) = c {
            // A change to a property outside $select does not surface the user.
            // Without $select every property is tracked.
            let relevant =
                props.is_empty() || sel.is_empty() || props.iter().any(|p| sel.contains(p));
            if relevant && seen.insert(*u) {
                order.push(*u);
            }
        }
    }
    order
        .into_iter()
        .map(|u| {
            let user = t.user(u);
            match user.deleted {
                Some(how) => removed(&user.id, how),
                None => Value::Object(user_json(user, &sel)),
            }
        })
        .collect()
}

fn changed_groups(
    t: &Tenant,
    from: u64,
    upto: u64,
    select: &[String],
    ids: &[String],
) -> Vec<Value> {
    let sel = static_select(select, &GROUP_PROPS);
    let with_members = select.iter().any(|s| s == "members");
    let mut order: Vec<u32> = Vec::new();
    let mut member_changes: HashMap<u32, Vec<(Member, bool)>> = HashMap::new();
    let touch = |g: u32, order: &mut Vec<u32>| {
        if !order.contains(&g) {
            order.push(g);
        }
    };
    for c in t.changes_between(from, upto) {
        match c {
            Change::Group(g) if wanted_group(t, *g, ids) => touch(*g, &mut order),
            Change::Membership {
                group,
                member,
                added,
            } if with_members && wanted_group(t, *group, ids) => {
                touch(*group, &mut order);
                let list = member_changes.entry(*group).or_default();
                list.retain(|(m, _)| m != member);
                list.push((*member, *added));
            }
            _ => {}
        }
    }
    order
        .into_iter()
        .map(|g| {
            let group = t.group(g);
            if let Some(how) = group.deleted {
                return removed(&group.id, how);
            }
            let mut obj = group_json(group, &sel);
            if let Some(changes) = member_changes.get(&g) {
                let list: Vec<Value> = changes
                    .iter()
                    .map(|(m, added)| {
                        let mut v = json!({"@odata.type": member_type(*m), "id": member_id(t, *m)});
                        if !added && let Some(o) = v.as_object_mut() {
                            o.insert("@removed".into(), json!({"reason": "deleted"}));
                        }
                        v
                    })
                    .collect();
                obj.insert("members@delta".into(), Value::Array(list));
            }
            Value::Object(obj)
        })
        .collect()
}
