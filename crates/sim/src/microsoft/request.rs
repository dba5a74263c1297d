//! A Graph request as the handlers see it (path segments, query options, headers, body and the
//! base URL for links), and the helpers every collection endpoint shares: `$top` and
//! `$skiptoken` paging, `$filter` and `$count` validation, and the collection envelope.
//!
//! A leaf: it knows Graph's wire conventions but no endpoint, tenant lock or authentication.

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode};
use serde_json::{Map, Value, json};

use super::errors::{ApiResponse, RequestIds};
use super::model::Member;
use super::odata::{self, FilterError, Query};

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
