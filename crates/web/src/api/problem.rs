//! Errors of the JSON API as RFC 9457 problem details (`application/problem+json`): a status,
//! a title, a detail worded for the admin, and — when the request must be fixed — the fields
//! at fault, each with what to change.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use teamline_domain::FieldErrors;
use teamline_engine::{EngineError, SaveError};
use teamline_store::StoreError;
use utoipa::ToSchema;

/// A problem with the request or with carrying it out (RFC 9457).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem; `about:blank` when the status says it all.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// The fields to correct, when the request body was at fault.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldProblem>,
    /// Seconds to wait before trying again (also sent as `Retry-After`).
    #[serde(skip)]
    pub retry_after_secs: Option<u64>,
}

/// One field of the request and what is wrong with it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FieldProblem {
    /// The request's field name (e.g. `phone_number`).
    pub field: String,
    pub detail: String,
}

impl Problem {
    pub fn new(status: StatusCode, title: &str, detail: impl Into<String>) -> Self {
        Self {
            kind: "about:blank".into(),
            title: title.into(),
            status: status.as_u16(),
            detail: detail.into(),
            errors: Vec::new(),
            retry_after_secs: None,
        }
    }

    /// Another tenant's objects answer exactly like objects that do not exist.
    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "Not found",
            "There is no such object for this token. Check the id and the enterprise in the URL.",
        )
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "Bad request", detail)
    }

    /// The request body is wrong in these fields.
    pub fn invalid(detail: impl Into<String>, errors: Vec<FieldProblem>) -> Self {
        Self {
            errors,
            ..Self::new(StatusCode::UNPROCESSABLE_ENTITY, "Invalid request", detail)
        }
    }

    pub fn field(field: &str, detail: impl Into<String>) -> Self {
        let detail = detail.into();
        Self::invalid(
            format!("{field}: {detail}"),
            vec![FieldProblem {
                field: field.into(),
                detail,
            }],
        )
    }

    fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(%detail, "an API request failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal error",
            "Teamline could not complete this request. Try again; if it keeps failing, tell your Teamline operator the time it happened (the details are in Teamline's log).",
        )
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let retry_after = self.retry_after_secs;
        let mut response = (status, axum::Json(&self)).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(secs) = retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// The portal's form labels → the API's field names.
fn api_field(label: &str) -> String {
    use teamline_domain::pbx_user::fields;
    match label {
        fields::PBX_LOCATION => "pbx_location_id",
        fields::VOICE_ROUTE => "voice_route_id",
        fields::TEAMS_USER => "teams_user",
        fields::SIP_USER => "sip_user",
        fields::PHONE_NUMBER => "phone_number",
        fields::CALLER_NAME_POLICY => "caller_name_policy",
        fields::CALLER_NAME => "caller_name",
        fields::FORWARDED_CALLER_ID => "forwarded_caller_id",
        fields::USER_DEVICES => "device",
        fields::USER_TAG => "tag",
        // Add Enterprise's labels.
        "Enterprise Name" => "name",
        "Global Admin E-mail" => "global_admin_email",
        "SBC Regions" => "sbc_region_ids",
        other => return other.to_lowercase().replace(' ', "_"),
    }
    .into()
}

impl From<FieldErrors> for Problem {
    fn from(errors: FieldErrors) -> Self {
        let errors: Vec<FieldProblem> = errors
            .iter()
            .map(|e| FieldProblem {
                field: api_field(e.field),
                detail: e.message.clone(),
            })
            .collect();
        let detail = errors
            .iter()
            .map(|e| format!("{}: {}", e.field, e.detail))
            .collect::<Vec<_>>()
            .join("; ");
        Self::invalid(detail, errors)
    }
}

impl From<StoreError> for Problem {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { .. } => Self::not_found(),
            StoreError::Conflict { field, message } => Self::field(&api_field(field), message),
            StoreError::Stale { .. } => Self::new(
                StatusCode::PRECONDITION_FAILED,
                "Changed in the meantime",
                format!("{e}; read the object again and send its new ETag in If-Match"),
            ),
            other => Self::internal(other),
        }
    }
}

impl From<EngineError> for Problem {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::Store(s) => s.into(),
            EngineError::Refused(message) => Self::new(StatusCode::CONFLICT, "Refused", message),
            EngineError::Microsoft(m) => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "Microsoft did not answer as expected",
                m.to_string(),
            ),
            EngineError::Pbx(p) => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "The PBX did not answer as expected",
                p.to_string(),
            ),
            EngineError::Enqueue(q) => Self::internal(q),
        }
    }
}

impl From<SaveError> for Problem {
    fn from(e: SaveError) -> Self {
        match e {
            SaveError::Fields(f) => f.into(),
            SaveError::Engine(e) => e.into(),
        }
    }
}

/// The framework's own plain-text refusals on API paths (a method the address does not take,
/// a body too large, a request that took too long) as problem details; the API's own answers
/// pass unchanged.
pub fn plain_rejections(response: Response) -> Response {
    let status = response.status();
    let plain = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| v.starts_with("text/plain"));
    if !status.is_client_error() || !plain {
        return response;
    }
    let allow = response.headers().get(header::ALLOW).cloned();
    let title = status.canonical_reason().unwrap_or("Refused");
    let detail = match status {
        StatusCode::METHOD_NOT_ALLOWED => {
            "This address does not take this method; the OpenAPI document lists what it takes."
        }
        StatusCode::PAYLOAD_TOO_LARGE => "The request body is too large.",
        StatusCode::REQUEST_TIMEOUT => "The request took too long to arrive; send it again.",
        _ => "The request could not be read; check it against the OpenAPI document.",
    };
    let mut problem = Problem::new(status, title, detail).into_response();
    if let Some(allow) = allow {
        problem.headers_mut().insert(header::ALLOW, allow);
    }
    problem
}
