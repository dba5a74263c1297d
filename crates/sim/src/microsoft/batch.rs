//! JSON batching (`POST /v1.0/$batch`): up to 20 requests, each authenticated, throttled and
//! answered individually (status, headers, body), in order, honouring `dependsOn`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use serde_json::{Map, Value, json};

use super::admission::{Audience, authenticate};
use super::errors::{ApiResponse, RequestIds};
use super::graph::serve;
use super::odata::Query;
use super::request::{GraphRequest, segments_of};
use super::state::SimState;

const MAX_REQUESTS: usize = 20;

pub(crate) async fn handle(state: &Arc<SimState>, req: &GraphRequest) -> ApiResponse {
    if req.method != Method::POST {
        return req.error(
            StatusCode::METHOD_NOT_ALLOWED,
            "Request_BadRequest",
            "The $batch endpoint only accepts POST.",
        );
    }
    if let Err(resp) = authenticate(state, &req.headers, Audience::Graph, &req.ids) {
        return resp;
    }
    let body = match req.json_body() {
        Ok(b) => b,
        Err(e) => return e,
    };
    let Some(items) = body.get("requests").and_then(Value::as_array) else {
        return req.error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "Invalid batch payload format: the 'requests' array is required.",
        );
    };
    if items.len() > MAX_REQUESTS {
        return req.error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            format!("Invalid batch payload format: the number of requests ({}) exceeds the limit of {MAX_REQUESTS}.", items.len()),
        );
    }
    let mut ids = Vec::new();
    for item in items {
        let Some(id) = item.get("id").and_then(|v| {
            v.as_str()
                .map(str::to_string)
                .or_else(|| v.as_u64().map(|n| n.to_string()))
        }) else {
            return req.error(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                "Invalid batch payload format: every request needs an 'id'.",
            );
        };
        if ids.contains(&id) {
            return req.error(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                format!("Invalid batch payload format: the request id '{id}' is duplicated."),
            );
        }
        ids.push(id);
    }
    let mut statuses: HashMap<String, u16> = HashMap::new();
    let mut responses = Vec::new();
    for (item, id) in items.iter().zip(ids) {
        let resp = run_item(state, req, item, &statuses).await;
        statuses.insert(id.clone(), resp.status.as_u16());
        responses.push(to_json(&id, resp));
    }
    ApiResponse::ok(json!({ "responses": responses }))
}

async fn run_item(
    state: &Arc<SimState>,
    outer: &GraphRequest,
    item: &Value,
    done: &HashMap<String, u16>,
) -> ApiResponse {
    let ids = RequestIds::new(&outer.headers);
    let bad = |m: String| ApiResponse::graph_error(StatusCode::BAD_REQUEST, "BadRequest", m, &ids);
    if let Some(deps) = item.get("dependsOn").and_then(Value::as_array) {
        for d in deps.iter().filter_map(Value::as_str) {
            match done.get(d) {
                Some(s) if *s < 400 => {}
                Some(_) => {
                    return ApiResponse::graph_error(
                        StatusCode::FAILED_DEPENDENCY,
                        "FailedDependency",
                        format!("The request it depends on ('{d}') failed."),
                        &ids,
                    );
                }
                None => {
                    return bad(format!(
                        "The request it depends on ('{d}') is not earlier in the batch."
                    ));
                }
            }
        }
    }
    let Some(method) = item
        .get("method")
        .and_then(Value::as_str)
        .and_then(|m| Method::from_bytes(m.to_ascii_uppercase().as_bytes()).ok())
    else {
        return bad("Every batch request needs a valid 'method'.".into());
    };
    let Some(url) = item.get("url").and_then(Value::as_str) else {
        return bad("Every batch request needs a relative 'url'.".into());
    };
    if url.starts_with("http://") || url.starts_with("https://") {
        return bad(format!("The url '{url}' must be relative, e.g. '/users'."));
    }
    let url = url.strip_prefix("/v1.0").unwrap_or(url);
    let (path, query) = match url.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (url, None),
    };
    let mut headers: HeaderMap = outer.headers.clone();
    headers.remove("content-length");
    let item_headers = item.get("headers").and_then(Value::as_object);
    if let Some(h) = item_headers {
        for (k, v) in h {
            if let (Ok(name), Some(Ok(value))) = (
                HeaderName::from_bytes(k.as_bytes()),
                v.as_str().map(HeaderValue::from_str),
            ) {
                headers.insert(name, value);
            }
        }
    }
    let body = match item.get("body") {
        None | Some(Value::Null) => Bytes::new(),
        Some(b) => {
            let has_ct = item_headers
                .is_some_and(|h| h.keys().any(|k| k.eq_ignore_ascii_case("content-type")));
            if !has_ct {
                return bad(
                    "A 'Content-Type' header is required in 'headers' when a request has a body."
                        .into(),
                );
            }
            Bytes::from(b.to_string())
        }
    };
    let inner = GraphRequest {
        method,
        segments: segments_of(path),
        query: Query::parse(query),
        headers,
        body,
        base: outer.base.clone(),
        ids,
    };
    Box::pin(serve(state, inner)).await
}

fn to_json(id: &str, resp: ApiResponse) -> Value {
    let mut headers = Map::new();
    for (k, v) in &resp.headers {
        let name = match k.to_ascii_lowercase().as_str() {
            "retry-after" => "Retry-After".to_string(),
            "location" => "Location".to_string(),
            "content-type" => "Content-Type".to_string(),
            _ => k.clone(),
        };
        headers.insert(name, Value::from(v.as_str()));
    }
    if resp.body.is_some() && !headers.contains_key("Content-Type") {
        headers.insert("Content-Type".into(), Value::from("application/json; odata.metadata=minimal; odata.streaming=true; IEEE754Compatible=false; charset=utf-8"));
    }
    let mut m = Map::new();
    m.insert("id".into(), Value::from(id));
    m.insert("status".into(), Value::from(resp.status.as_u16()));
    m.insert("headers".into(), Value::Object(headers));
    if let Some(b) = resp.body {
        m.insert("body".into(), b);
    }
    Value::Object(m)
}
