//! `Idempotency-Key` on POST: the first successful answer to a key is kept for a day and sent
//! again for a repeat of the same request, so a client that lost the answer can retry safely.
//! The same key with a different request is refused.

use super::auth::{Caller, sha256};
use super::problem::Problem;
use crate::AppState;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use teamline_store::StoredResponse;

pub const HEADER: &str = "idempotency-key";
/// Sent with an answer that is a replay of the kept one.
const REPLAYED: &str = "idempotent-replayed";
/// The largest request or response body kept (API bodies are small).
const MAX_BODY: usize = 1024 * 1024;
const MAX_KEY_LEN: usize = 255;

pub async fn replay_or_keep(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    // A dry run changes nothing: it neither uses up the key nor replays the real answer.
    if request.method() != Method::POST || super::v1::preview::is_dry_run(request.uri()) {
        return next.run(request).await;
    }
    let Some(key) = request
        .headers()
        .get(HEADER)
        .map(|v| v.to_str().map(str::to_owned))
    else {
        return next.run(request).await;
    };
    let key = match key {
        Ok(k) if !k.is_empty() && k.len() <= MAX_KEY_LEN => k,
        _ => {
            return Problem::bad_request(format!(
                "The Idempotency-Key header must be 1 to {MAX_KEY_LEN} visible ASCII characters, e.g. a UUID."
            ))
            .into_response();
        }
    };
    let Some(caller) = request.extensions().get::<Caller>().cloned() else {
        return next.run(request).await;
    };
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY).await else {
        return Problem::bad_request("The request body is larger than 1 MiB.").into_response();
    };
    let fingerprint = sha256(&format!(
        "{} {}\n{}",
        parts.method,
        parts.uri,
        String::from_utf8_lossy(&bytes)
    ));
    match state.store.stored_response(caller.token.id, &key).await {
        Ok(Some(kept)) if kept.request_sha256 == fingerprint => return replay(kept),
        Ok(Some(_)) => {
            return Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Idempotency key reused",
                "This Idempotency-Key was already used for a different request in the last 24 hours: use a new key for a new request.",
            )
            .into_response();
        }
        Ok(None) => {}
        Err(e) => return Problem::from(e).into_response(),
    }
    let response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    if !response.status().is_success() {
        return response;
    }
    let (parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY).await else {
        return Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal error",
            "The answer could not be kept for the Idempotency-Key.",
        )
        .into_response();
    };
    let kept = StoredResponse {
        request_sha256: fingerprint,
        status: parts.status.as_u16(),
        location: parts
            .headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        body: String::from_utf8_lossy(&bytes).into_owned(),
    };
    if let Err(e) = state
        .store
        .store_response(caller.token.id, &key, &kept)
        .await
    {
        tracing::warn!(error = %e, "could not keep an API answer for its Idempotency-Key");
    }
    Response::from_parts(parts, Body::from(bytes))
}

fn replay(kept: StoredResponse) -> Response {
    let status = StatusCode::from_u16(kept.status).unwrap_or(StatusCode::OK);
    let mut response = (status, kept.body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(
        HeaderName::from_static(REPLAYED),
        HeaderValue::from_static("true"),
    );
    if let Some(location) = kept.location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        headers.insert(header::LOCATION, location);
    }
    response
}
