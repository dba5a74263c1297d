//! Microsoft Graph v1.0: authentication, throttling and fault injection shared by every
//! request, and the dispatcher that routes OData paths to the directory, delta, batch and Teams
//! administration handlers.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::errors::{ApiResponse, RequestIds};
use super::faults::Refusal;
use super::model::well_known;
use super::model::{Member, Tenant};
use super::odata::{self, FilterError, Query};
use super::state::{SimState, lock};
use super::{Scheme, base_url, directory, teams};

/// A Graph request after the HTTP layer (also built for each `$batch` item).
#[derive(Clone)]
pub(crate) struct GraphRequest {
    pub method: Method,
    /// Decoded path segments after `/v1.0/`.
    pub segments: Vec<String>,
    pub query: Query,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// Scheme and authority of the simulator as the client sees it.
    pub base: String,
    pub ids: RequestIds,
}

impl GraphRequest {
    /// `https://host/v1.0/<path>` for links.
    pub(crate) fn link(&self, path: &str) -> String {
        format!("{}/v1.0/{}", self.base, path.trim_start_matches('/'))
    }

    /// The request's own path (segments re-joined, encoded) for `@odata.nextLink`.
    pub(crate) fn self_path(&self) -> String {
        self.segments
            .iter()
            .map(|s| encode_segment(s))
            .collect::<Vec<_>>()
            .join("/")
    }

    /// A next link that repeats this request with other query options replaced.
    pub(crate) fn next_link(&self, replace: &[&str], extra: &[(&str, String)]) -> String {
        let mut pairs = self.query.without(replace);
        for (k, v) in extra {
            pairs.push(((*k).to_string(), v.clone()));
        }
        format!(
            "{}?{}",
            self.link(&self.self_path()),
            odata::encode_pairs(&pairs)
        )
    }

    pub(crate) fn advanced(&self) -> bool {
        self.headers
            .get("consistencylevel")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("eventual"))
    }

    pub(crate) fn error(
        &self,
        status: StatusCode,
        code: &str,
        message: impl Into<String>,
    ) -> ApiResponse {
        ApiResponse::graph_error(status, code, message, &self.ids)
    }

    pub(crate) fn not_found(&self, what: &str) -> ApiResponse {
        self.error(
            StatusCode::NOT_FOUND,
            "Request_ResourceNotFound",
            format!("Resource '{what}' does not exist or one of its queried reference-property objects are not present."),
        )
    }

    pub(crate) fn bad_request(&self, message: impl Into<String>) -> ApiResponse {
        self.error(StatusCode::BAD_REQUEST, "Request_BadRequest", message)
    }

    pub(crate) fn json_body(&self) -> Result<Value, ApiResponse> {
        serde_json::from_slice(&self.body).map_err(|e| {
            self.error(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                format!("Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format. ({e})"),
            )
        })
    }
}

fn encode_segment(s: &str) -> String {
    let mut out = String::new();
    for ch in s.chars() {
        if ch.is_ascii_alphanumeric() || "-._~!$&'()*+,;=:@".contains(ch) {
            out.push(ch);
        } else {
            let mut buf = [0u8; 4];
            for b in ch.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}

/// Percent-decodes one path segment.
pub(crate) fn decode_segment(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Some(b) = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Splits and decodes a path after a prefix such as `/v1.0`.
pub(crate) fn segments_of(path: &str) -> Vec<String> {
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(decode_segment)
        .collect()
}

/// The authenticated caller of a Graph or Teams admin request.
#[derive(Clone)]
pub(crate) struct Caller {
    pub tenant: Arc<Mutex<Tenant>>,
    pub app_only: bool,
    pub roles: Vec<String>,
    pub scopes: Vec<String>,
    pub user_id: Option<String>,
}

impl Caller {
    /// Whether the caller holds one of these application roles (app-only) or delegated
    /// scopes (delegated).
    pub(crate) fn allowed(&self, roles: &[&str], scopes: &[&str]) -> bool {
        if self.app_only {
            self.roles.iter().any(|r| roles.contains(&r.as_str()))
        } else {
            self.scopes.iter().any(|s| scopes.contains(&s.as_str()))
        }
    }
}

/// Which surface a token is presented to.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Audience {
    Graph,
    TeamsAdmin,
}

/// Validates the bearer token for a surface. On failure returns the response to send.
pub(crate) fn authenticate(
    state: &SimState,
    headers: &HeaderMap,
    audience: Audience,
    ids: &RequestIds,
) -> Result<Caller, ApiResponse> {
    let unauthorized = |message: &str| {
        ApiResponse::graph_error(StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken", message, ids)
            .with_header("www-authenticate", "Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\", client_id=\"00000003-0000-0000-c000-000000000000\"")
    };
    let Some(auth) = headers.get("authorization").and_then(|v| v.to_str().ok()) else {
        return Err(unauthorized("Access token is empty."));
    };
    let Some(token) = auth
        .strip_prefix("Bearer ")
        .or_else(|| auth.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
    else {
        return Err(unauthorized("Access token is empty."));
    };
    if token.split('.').count() != 3 {
        return Err(unauthorized(
            "IDX14100: JWT is not well formed, there are no dots (.).\nThe token needs to be in JWS or JWE Compact Serialization Format.",
        ));
    }
    let Some(claims) = state.keys.verify(token) else {
        let expired = jsonwebtoken::dangerous::insecure_decode::<Value>(token)
            .ok()
            .and_then(|d| d.claims.get("exp").and_then(Value::as_i64))
            .is_some_and(|exp| exp < super::model::now_unix());
        return Err(unauthorized(if expired {
            "Lifetime validation failed, the token is expired."
        } else {
            "Access token validation failure. Invalid signature."
        }));
    };
    let aud = claims
        .get("aud")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let aud_ok = match audience {
        Audience::Graph => {
            aud == well_known::GRAPH_RESOURCE
                || aud == well_known::GRAPH_APP_ID
                || aud == "https://graph.microsoft.com/"
        }
        Audience::TeamsAdmin => {
            aud == well_known::TEAMS_ADMIN_APP_ID || aud.ends_with(well_known::TEAMS_ADMIN_APP_ID)
        }
    };
    if !aud_ok {
        return Err(unauthorized(
            "Access token validation failure. Invalid audience.",
        ));
    }
    let tid = claims
        .get("tid")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let Some(tenant) = state.tenant(tid) else {
        return Err(unauthorized(
            "Access token validation failure. Invalid tenant.",
        ));
    };
    let strings = |v: Option<&Value>| -> Vec<String> {
        match v {
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
            Some(Value::String(s)) => s
                .split(' ')
                .filter(|x| !x.is_empty())
                .map(str::to_string)
                .collect(),
            _ => Vec::new(),
        }
    };
    let app_only = claims.get("idtyp").and_then(Value::as_str) == Some("app");
    Ok(Caller {
        tenant,
        app_only,
        roles: strings(claims.get("roles")),
        scopes: strings(claims.get("scp")),
        user_id: (!app_only)
            .then(|| {
                claims
                    .get("oid")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .flatten(),
    })
}

/// Applies the tenant's throttling budget, latency and injected errors. Returns the response
/// to send instead of handling the request, if any.
pub(crate) async fn apply_faults(caller: &Caller, ids: &RequestIds) -> Option<ApiResponse> {
    let (latency, refusal) = {
        let mut t = lock(&caller.tenant);
        let latency = t.traffic.faults.latency_ms;
        (latency, t.traffic.admit(Instant::now()))
    };
    if latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }
    lock(&caller.tenant).traffic.finish();
    refusal.map(|r| refusal_response(r, ids))
}

/// Graph's answer to a request the tenant's faults refuse.
fn refusal_response(refusal: Refusal, ids: &RequestIds) -> ApiResponse {
    match refusal {
        Refusal::Throttled { retry_after_secs } => ApiResponse::graph_error(
            StatusCode::TOO_MANY_REQUESTS,
            "TooManyRequests",
            "Too many requests. Please wait and retry the request later.",
            ids,
        )
        .with_header("retry-after", retry_after_secs.to_string()),
        Refusal::Injected {
            status,
            retry_after_secs,
        } => {
            let code = match status {
                503 => "serviceNotAvailable",
                504 => "gatewayTimeout",
                502 => "badGateway",
                429 => "TooManyRequests",
                _ => "generalException",
            };
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            let resp = ApiResponse::graph_error(
                status,
                code,
                "The service is temporarily unavailable (injected by the simulator).",
                ids,
            );
            match retry_after_secs {
                Some(secs) => resp.with_header("retry-after", secs.to_string()),
                None => resp,
            }
        }
    }
}

/// Axum entry point for `/v1.0/*`.
pub(crate) async fn entry(
    State(state): State<Arc<SimState>>,
    scheme: Option<axum::Extension<Scheme>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let ids = RequestIds::new(&headers);
    let base = base_url(&state, scheme.map(|s| s.0), &headers);
    let path = uri.path().strip_prefix("/v1.0").unwrap_or(uri.path());
    let req = GraphRequest {
        method,
        segments: segments_of(path),
        query: Query::parse(uri.query()),
        headers,
        body,
        base,
        ids: ids.clone(),
    };
    let resp = if req.segments.len() == 1 && req.segments[0] == "$batch" {
        super::batch::handle(&state, &req).await
    } else {
        serve(&state, req).await
    };
    resp.into_http(&ids)
}

/// Authenticates, applies faults and dispatches one Graph request.
pub(crate) async fn serve(state: &Arc<SimState>, req: GraphRequest) -> ApiResponse {
    let caller = match authenticate(state, &req.headers, Audience::Graph, &req.ids) {
        Ok(c) => c,
        Err(resp) => return resp,
    };
    if let Some(resp) = apply_faults(&caller, &req.ids).await {
        return resp;
    }
    dispatch(state, &caller, &req)
}

fn forbidden(req: &GraphRequest) -> ApiResponse {
    req.error(
        StatusCode::FORBIDDEN,
        "Authorization_RequestDenied",
        "Insufficient privileges to complete the operation.",
    )
}

const READ_USERS: &[&str] = &[
    "User.Read.All",
    "User.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
];
const READ_USERS_SCP: &[&str] = &[
    "User.Read.All",
    "User.ReadBasic.All",
    "User.ReadWrite.All",
    "Directory.Read.All",
    "Directory.AccessAsUser.All",
];
const READ_GROUPS: &[&str] = &[
    "GroupMember.Read.All",
    "Group.Read.All",
    "Group.ReadWrite.All",
    "GroupMember.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
];
const READ_GROUPS_SCP: &[&str] = &[
    "GroupMember.Read.All",
    "Group.Read.All",
    "Group.ReadWrite.All",
    "Directory.Read.All",
    "Directory.AccessAsUser.All",
];
const READ_DOMAINS: &[&str] = &[
    "Domain.Read.All",
    "Domain.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
];
const WRITE_DOMAINS: &[&str] = &["Domain.ReadWrite.All"];
const READ_ORG: &[&str] = &[
    "Organization.Read.All",
    "Organization.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
];
const READ_ORG_SCP: &[&str] = &["Organization.Read.All", "Directory.Read.All", "User.Read"];

/// Routes a Graph request (already authenticated) to its handler.
pub(crate) fn dispatch(state: &SimState, caller: &Caller, req: &GraphRequest) -> ApiResponse {
    let segs: Vec<&str> = req.segments.iter().map(String::as_str).collect();
    let get = req.method == Method::GET;
    let post = req.method == Method::POST;
    let mut t = lock(&caller.tenant);
    match segs.as_slice() {
        ["users"] if get => guard(caller, req, READ_USERS, READ_USERS_SCP, || {
            directory::list_users(&t, req)
        }),
        ["users", "$count"] if get => guard(caller, req, READ_USERS, READ_USERS_SCP, || {
            directory::count_users(&t, req)
        }),
        ["users", "delta" | "delta()"] if get => {
            guard(caller, req, READ_USERS, READ_USERS_SCP, || {
                super::delta::users(state, &mut t, req)
            })
        }
        ["users", id] if get => guard(caller, req, READ_USERS, READ_USERS_SCP, || {
            directory::get_user(&t, req, id)
        }),
        ["users", id, rel @ ("memberOf" | "transitiveMemberOf")] if get => {
            guard(caller, req, READ_GROUPS, READ_GROUPS_SCP, || {
                directory::user_member_of(&t, req, id, *rel == "transitiveMemberOf", None)
            })
        }
        ["users", id, rel @ ("memberOf" | "transitiveMemberOf"), cast] if get => {
            guard(caller, req, READ_GROUPS, READ_GROUPS_SCP, || {
                directory::user_member_of(&t, req, id, *rel == "transitiveMemberOf", Some(cast))
            })
        }
        ["me"] if get && !caller.app_only => me(&t, caller, req),
        ["me", rel @ ("memberOf" | "transitiveMemberOf"), rest @ ..] if get && !caller.app_only => {
            let Some(uid) = caller.user_id.clone() else {
                return forbidden(req);
            };
            directory::user_member_of(
                &t,
                req,
                &uid,
                *rel == "transitiveMemberOf",
                rest.first().copied(),
            )
        }
        ["me", ..] if caller.app_only => {
            req.bad_request("/me request is only valid with delegated authentication flow.")
        }
        ["groups"] if get => guard(caller, req, READ_GROUPS, READ_GROUPS_SCP, || {
            directory::list_groups(&t, req)
        }),
        ["groups", "delta" | "delta()"] if get => {
            guard(caller, req, READ_GROUPS, READ_GROUPS_SCP, || {
                super::delta::groups(state, &mut t, req)
            })
        }
        ["groups", id] if get => guard(caller, req, READ_GROUPS, READ_GROUPS_SCP, || {
            directory::get_group(&t, req, id)
        }),
        ["groups", id, rel @ ("members" | "transitiveMembers")] if get => {
            guard(caller, req, READ_GROUPS, READ_GROUPS_SCP, || {
                directory::group_members(&mut t, req, id, *rel == "transitiveMembers", None)
            })
        }
        ["groups", id, rel @ ("members" | "transitiveMembers"), cast] if get => {
            guard(caller, req, READ_GROUPS, READ_GROUPS_SCP, || {
                directory::group_members(&mut t, req, id, *rel == "transitiveMembers", Some(cast))
            })
        }
        ["organization"] if get => guard(caller, req, READ_ORG, READ_ORG_SCP, || {
            directory::organization(&t, req)
        }),
        ["domains"] if get => guard(caller, req, READ_DOMAINS, READ_DOMAINS, || {
            directory::list_domains(&t, req)
        }),
        ["domains"] if post => {
            drop(t);
            if !caller.allowed(WRITE_DOMAINS, WRITE_DOMAINS) {
                return forbidden(req);
            }
            directory::add_domain(state, caller, req)
        }
        ["domains", id] if get => guard(caller, req, READ_DOMAINS, READ_DOMAINS, || {
            directory::get_domain(&t, req, id)
        }),
        ["domains", id, "verificationDnsRecords"] if get => {
            guard(caller, req, READ_DOMAINS, READ_DOMAINS, || {
                directory::verification_records(&t, req, id)
            })
        }
        ["domains", id, "verify"] if post => {
            guard(caller, req, WRITE_DOMAINS, WRITE_DOMAINS, || {
                directory::verify_domain(&mut t, req, id)
            })
        }
        ["admin", "teams", rest @ ..] => teams::dispatch(state, caller, &mut t, req, rest),
        _ => {
            let known = matches!(
                segs.first(),
                Some(&("users" | "groups" | "domains" | "organization" | "admin" | "me"))
            );
            if known {
                req.error(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "Request_BadRequest",
                    format!("The request URI is not valid for method {}.", req.method),
                )
            } else {
                req.error(
                    StatusCode::BAD_REQUEST,
                    "BadRequest",
                    format!(
                        "Resource not found for the segment '{}'.",
                        segs.first().copied().unwrap_or_default()
                    ),
                )
            }
        }
    }
}

/// Runs `f` if the caller holds one of the roles/scopes, else answers 403.
pub(crate) fn guard(
    caller: &Caller,
    req: &GraphRequest,
    roles: &[&str],
    scopes: &[&str],
    f: impl FnOnce() -> ApiResponse,
) -> ApiResponse {
    if caller.allowed(roles, scopes) {
        f()
    } else {
        forbidden(req)
    }
}

fn me(t: &Tenant, caller: &Caller, req: &GraphRequest) -> ApiResponse {
    let Some(uid) = caller.user_id.as_deref() else {
        return forbidden(req);
    };
    directory::get_user(t, req, uid)
}

/// Page size from `$top`: default, max 999 (Graph's limit for users and groups).
pub(crate) fn page_size(
    req: &GraphRequest,
    default: usize,
    max: usize,
) -> Result<usize, ApiResponse> {
    match req.query.get("$top") {
        None => Ok(default),
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(req.bad_request(format!(
                "Invalid page size specified: '{v}'. Must be between 1 and {max} inclusive."
            ))),
        },
    }
}

/// Offset encoded in `$skiptoken` (0 when absent).
pub(crate) fn skip_offset(req: &GraphRequest) -> Result<usize, ApiResponse> {
    match req.query.get("$skiptoken") {
        None => Ok(0),
        Some(tok) => odata::decode_token(tok)
            .and_then(|v| v.get("o").and_then(Value::as_u64))
            .map(|o| o as usize)
            .ok_or_else(|| req.bad_request("The specified page token value has expired and can no longer be included in your request.")),
    }
}

/// Next link carrying an opaque `$skiptoken`.
pub(crate) fn skip_link(req: &GraphRequest, offset: usize) -> String {
    let token = odata::encode_token(
        &json!({ "o": offset, "n": uuid::Uuid::new_v4().simple().to_string()[..8] }),
    );
    req.next_link(&["$skiptoken"], &[("$skiptoken", token)])
}

/// Parses and validates `$filter`, mapping errors to Graph's responses.
pub(crate) fn filter_of(
    req: &GraphRequest,
    filterable: &[&str],
    collections: &[&str],
    resource: &str,
) -> Result<Option<odata::Expr>, ApiResponse> {
    let Some(raw) = req.query.get("$filter") else {
        return Ok(None);
    };
    let advanced = req.advanced() && req.query.count();
    let expr = odata::parse_filter(raw).map_err(|e| match e {
        FilterError::Syntax(m) => req.bad_request(format!("Invalid filter clause: {m}")),
        _ => req.bad_request("Invalid filter clause"),
    })?;
    odata::validate(&expr, filterable, collections, advanced).map_err(|e| match e {
        FilterError::Property(p) => req.error(
            StatusCode::BAD_REQUEST,
            "Request_UnsupportedQuery",
            format!("Unsupported or invalid query filter clause specified for property '{p}' of resource '{resource}'."),
        ),
        FilterError::Advanced(op) => req.error(
            StatusCode::BAD_REQUEST,
            "Request_UnsupportedQuery",
            format!("Operator '{op}' is not supported because the required parameters might be missing. Try adding $count=true query parameter and ConsistencyLevel:eventual header. Refer to https://aka.ms/graph-docs/advanced-queries for more information"),
        ),
        FilterError::Syntax(m) => req.bad_request(format!("Invalid filter clause: {m}")),
    })?;
    Ok(Some(expr))
}

/// `$count=true` is an advanced query on directory objects: it needs `ConsistencyLevel: eventual`.
pub(crate) fn check_count(req: &GraphRequest) -> Result<bool, ApiResponse> {
    if !req.query.count() {
        return Ok(false);
    }
    if !req.advanced() {
        return Err(req.bad_request("$count is not currently supported."));
    }
    Ok(true)
}

/// Builds a collection response.
pub(crate) fn collection(
    context: String,
    values: Vec<Value>,
    next: Option<String>,
    count: Option<usize>,
) -> ApiResponse {
    let mut m = Map::new();
    m.insert("@odata.context".into(), Value::from(context));
    if let Some(c) = count {
        m.insert("@odata.count".into(), Value::from(c));
    }
    if let Some(n) = next {
        m.insert("@odata.nextLink".into(), Value::from(n));
    }
    m.insert("value".into(), Value::Array(values));
    ApiResponse::ok(Value::Object(m))
}

/// `@odata.context` for a collection, with the selected properties.
pub(crate) fn context(req: &GraphRequest, entity_set: &str, select: &[String]) -> String {
    if select.is_empty() {
        format!("{}/v1.0/$metadata#{entity_set}", req.base)
    } else {
        format!(
            "{}/v1.0/$metadata#{entity_set}({})",
            req.base,
            select.join(",")
        )
    }
}

/// Type name of a directory object member, for `@odata.type`.
pub(crate) fn member_type(m: Member) -> &'static str {
    match m {
        Member::User(_) => "#microsoft.graph.user",
        Member::Group(_) => "#microsoft.graph.group",
    }
}
