//! JSON batching (`POST /$batch`): at most 20 requests per batch, each answered on its own;
//! items throttled with 429 are sent again after their `Retry-After` (which holds the whole
//! tenant), within the budget.

use std::collections::HashMap;
use std::time::Duration;

use serde::Deserialize;
use serde_json::json;

use crate::error::MicrosoftError;
use crate::graph::GraphError;
use crate::tenant::{Req, TenantCore};

/// Graph's documented limit of requests per batch.
pub(crate) const MAX_PER_BATCH: usize = 20;

/// The answer to one batched GET.
pub(crate) struct ItemReply {
    pub status: u16,
    pub body: serde_json::Value,
}

#[derive(Deserialize)]
struct BatchResponse {
    responses: Vec<ItemResponse>,
}

#[derive(Deserialize)]
struct ItemResponse {
    id: String,
    status: u16,
    #[serde(default)]
    headers: HashMap<String, String>,
    #[serde(default)]
    body: serde_json::Value,
}

/// Runs the GETs (relative URLs such as `/users/{id}?$select=...`), returning one result per
/// input in the same order.
pub(crate) async fn get_all(
    core: &TenantCore,
    urls: &[String],
    what: &str,
) -> Vec<Result<ItemReply, MicrosoftError>> {
    let mut results: Vec<Option<Result<ItemReply, MicrosoftError>>> =
        urls.iter().map(|_| None).collect();
    for (chunk_no, chunk) in urls.chunks(MAX_PER_BATCH).enumerate() {
        let offset = chunk_no * MAX_PER_BATCH;
        let mut pending: Vec<usize> = (0..chunk.len()).collect();
        let mut attempt = 0u32;
        while !pending.is_empty() {
            attempt += 1;
            let requests: Vec<_> = pending
                .iter()
                .map(|i| json!({"id": (i + 1).to_string(), "method": "GET", "url": chunk[*i]}))
                .collect();
            let body = json!({ "requests": requests });
            let mut req = Req::post(core.graph_url("/$batch"), &body, what);
            // A batch of GETs changes nothing, so it may be resent after a network error.
            req.idempotent = true;
            let answer = match core
                .send_ok(&req)
                .await
                .and_then(|r| core.json::<BatchResponse>(&r, what))
            {
                Ok(a) => a,
                Err(e) => {
                    for i in &pending {
                        results[offset + i] = Some(Err(e.clone()));
                    }
                    break;
                }
            };
            let mut throttled = Vec::new();
            let mut wait = Duration::ZERO;
            for item in answer.responses {
                let Some(i) = item
                    .id
                    .parse::<usize>()
                    .ok()
                    .and_then(|n| n.checked_sub(1))
                    .filter(|i| *i < chunk.len())
                else {
                    continue;
                };
                if item.status == 429 || item.status == 503 {
                    let after = item
                        .headers
                        .iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case("retry-after"))
                        .and_then(|(_, v)| {
                            crate::http::parse_retry_after(v, std::time::SystemTime::now())
                        })
                        .unwrap_or(core.retry.base_delay.saturating_mul(1 << attempt.min(6)));
                    wait = wait.max(after);
                    throttled.push((i, item));
                } else {
                    results[offset + i] = Some(Ok(ItemReply {
                        status: item.status,
                        body: item.body,
                    }));
                }
            }
            pending = throttled.iter().map(|(i, _)| *i).collect();
            if pending.is_empty() {
                break;
            }
            // Each item is throttled on its own, but the wait applies to the whole tenant: the
            // next send (this batch's retry or anyone else's request) waits for it, or fails
            // at once when the caller cannot wait that long.
            core.http.pause_tenant(&core.tenant_id, wait);
            if attempt >= core.retry.max_attempts {
                for (i, item) in throttled {
                    let err = body_error(&item.body);
                    results[offset + i] = Some(Err(if item.status == 429 {
                        MicrosoftError::Throttled {
                            tenant_id: core.tenant_id.clone(),
                            retry_after: wait,
                            request_id: err.1,
                        }
                    } else {
                        MicrosoftError::Unavailable {
                            what: what.to_owned(),
                            status: item.status,
                            retry_after: Some(wait),
                            request_id: err.1,
                        }
                    }));
                }
                break;
            }
        }
    }
    results
        .into_iter()
        .map(|r| {
            r.unwrap_or_else(|| {
                Err(MicrosoftError::UnexpectedResponse {
                    what: what.to_owned(),
                    detail: "the batch answer had no response for one of the requests".into(),
                })
            })
        })
        .collect()
}

fn body_error(body: &serde_json::Value) -> (GraphError, Option<String>) {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    let err = crate::graph::parse_error(&bytes);
    let request_id = body
        .pointer("/error/innerError/request-id")
        .and_then(|v| v.as_str())
        .map(str::to_owned);
    (err, request_id)
}

/// Turns an item's error body into the generic admin-facing error.
pub(crate) fn item_error(
    core: &TenantCore,
    status: u16,
    body: &serde_json::Value,
    what: &str,
) -> MicrosoftError {
    let (err, request_id) = body_error(body);
    match status {
        401 => MicrosoftError::Unauthorized {
            tenant_id: core.tenant_id.clone(),
            request_id,
        },
        403 => MicrosoftError::AccessDenied {
            tenant_id: core.tenant_id.clone(),
            what: what.to_owned(),
            code: err.code,
            message: err.message,
            request_id,
        },
        404 => MicrosoftError::NotFound {
            what: what.to_owned(),
            request_id,
        },
        500..=599 => MicrosoftError::Unavailable {
            what: what.to_owned(),
            status,
            retry_after: None,
            request_id,
        },
        _ => MicrosoftError::Rejected {
            what: what.to_owned(),
            status,
            code: err.code,
            message: err.message,
            request_id,
        },
    }
}
