//! The resources of `/api/v1`, one module each, with their own request and response types
//! (domain types are not the API: they may change without breaking clients).

pub mod audit;
pub mod enterprises;
pub mod imports;
pub mod jobs;
pub mod pbx_users;
pub mod preview;
pub mod reseller;
pub mod teams_users;
pub mod troubleshoot;

use super::problem::{FieldProblem, Problem};
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use serde::de::DeserializeOwned;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// A JSON body whose faults come back as problem details naming the field.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = Problem;

    async fn from_request(request: Request, state: &S) -> Result<Self, Problem> {
        let is_json = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        if !is_json {
            return Err(Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "JSON expected",
                "Send the body as JSON with `Content-Type: application/json`.",
            ));
        }
        let bytes = axum::body::Bytes::from_request(request, state)
            .await
            .map_err(|e| Problem::bad_request(format!("The body could not be read: {e}")))?;
        serde_json::from_slice(&bytes)
            .map(ApiJson)
            .map_err(|e| json_problem(&e))
    }
}

/// Path parameters; a malformed one (an id that is not a number) is "not found".
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| ApiPath(p.0))
            .map_err(|_: PathRejection| Problem::not_found())
    }
}

/// Query parameters, whose faults come back as problem details.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| ApiQuery(q.0))
            .map_err(|e: QueryRejection| {
                let message = e.body_text();
                let field = message
                    .split('`')
                    .nth(1)
                    .filter(|f| f.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or("query");
                Problem::field(field, message.clone())
            })
    }
}

/// serde's message names the field in backticks (`missing field `sip_user``); the problem
/// lists it as the field to fix.
fn json_problem(e: &serde_json::Error) -> Problem {
    let message = e.to_string();
    let field = message
        .split('`')
        .nth(1)
        .filter(|f| !f.is_empty() && f.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .map(str::to_owned);
    match field {
        Some(field) => Problem::invalid(
            format!("{field}: {message}"),
            vec![FieldProblem {
                field,
                detail: message,
            }],
        ),
        None => Problem::invalid(format!("The body is not valid: {message}"), Vec::new()),
    }
}

/// A time as RFC 3339 (UTC).
pub fn rfc3339(ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

/// The ETag of an object at `version`.
pub fn etag(version: i64) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{version}\"")).unwrap_or(HeaderValue::from_static("\"0\""))
}

/// The version an `If-Match` names: `Ok(None)` without the header.
pub fn if_match(headers: &HeaderMap) -> Result<Option<i64>, Problem> {
    let Some(value) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .map(|v| v.trim().trim_start_matches("W/").trim_matches('"'))
        .and_then(|v| v.parse().ok())
        .map(Some)
        .ok_or_else(|| {
            Problem::bad_request(
                "If-Match must be the ETag of the object as this API sent it, e.g. \"3\".",
            )
        })
}

/// Refuses a change of an object that changed since the client read it.
pub fn check_version(expected: Option<i64>, current: i64) -> Result<(), Problem> {
    match expected {
        Some(v) if v != current => Err(Problem::new(
            StatusCode::PRECONDITION_FAILED,
            "Changed in the meantime",
            format!(
                "The object is at version \"{current}\", not \"{v}\": read it again, check the change still makes sense, and send the new ETag in If-Match."
            ),
        )),
        _ => Ok(()),
    }
}
