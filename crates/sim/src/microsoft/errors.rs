//! Error bodies exactly as Microsoft's services shape them.
//!
//! - Microsoft Graph: `{"error":{"code","message","innerError":{"date","request-id","client-request-id"}}}`
//!   with `request-id` / `client-request-id` response headers.
//! - Entra ID token endpoint: `{"error","error_description","error_codes","timestamp","trace_id",
//!   "correlation_id","error_uri"}` where the description starts with the `AADSTSnnnn:` code and
//!   ends with the trace id, correlation id and timestamp.

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// A response produced by the Graph / Teams admin dispatcher: status, extra headers and an
/// optional body. Kept independent of axum so `$batch` can embed it.
#[derive(Debug, Clone)]
pub(crate) struct ApiResponse {
    pub status: StatusCode,
    pub headers: Vec<(String, String)>,
    pub body: Option<Value>,
}

impl ApiResponse {
    pub(crate) fn json(status: StatusCode, body: Value) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Some(body),
        }
    }

    pub(crate) fn ok(body: Value) -> Self {
        Self::json(StatusCode::OK, body)
    }

    pub(crate) fn empty(status: StatusCode) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: None,
        }
    }

    pub(crate) fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    /// A Graph error with the standard envelope.
    pub(crate) fn graph_error(
        status: StatusCode,
        code: &str,
        message: impl Into<String>,
        ctx: &RequestIds,
    ) -> Self {
        Self::json(
            status,
            json!({
                "error": {
                    "code": code,
                    "message": message.into(),
                    "innerError": {
                        "date": ctx.date,
                        "request-id": ctx.request_id,
                        "client-request-id": ctx.client_request_id,
                    }
                }
            }),
        )
    }

    pub(crate) fn into_http(self, ids: &RequestIds) -> Response {
        let mut headers = HeaderMap::new();
        for (k, v) in &self.headers {
            if let (Ok(name), Ok(value)) = (
                axum::http::HeaderName::from_bytes(k.as_bytes()),
                HeaderValue::from_str(v),
            ) {
                headers.append(name, value);
            }
        }
        if let Ok(v) = HeaderValue::from_str(&ids.request_id) {
            headers.insert("request-id", v);
        }
        if let Ok(v) = HeaderValue::from_str(&ids.client_request_id) {
            headers.insert("client-request-id", v);
        }
        match self.body {
            Some(Value::String(text)) if headers.contains_key("content-type") => {
                (self.status, headers, text).into_response()
            }
            Some(body) => {
                headers.insert(
                    "content-type",
                    HeaderValue::from_static("application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"),
                );
                (self.status, headers, body.to_string()).into_response()
            }
            None => (self.status, headers).into_response(),
        }
    }
}

/// Per-request identifiers echoed in Graph errors and headers.
#[derive(Debug, Clone)]
pub(crate) struct RequestIds {
    pub date: String,
    pub request_id: String,
    pub client_request_id: String,
}

impl RequestIds {
    pub(crate) fn new(headers: &HeaderMap) -> Self {
        let request_id = uuid::Uuid::new_v4().to_string();
        let client_request_id = headers
            .get("client-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
            .unwrap_or_else(|| request_id.clone());
        let date = time::OffsetDateTime::now_utc()
            .replace_nanosecond(0)
            .ok()
            .and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .unwrap_or_default();
        Self {
            date,
            request_id,
            client_request_id,
        }
    }
}

/// An Entra ID (AADSTS) error, as the token endpoint and redirects report it.
#[derive(Debug, Clone)]
pub(crate) struct AadError {
    pub status: StatusCode,
    pub error: &'static str,
    pub code: u32,
    pub message: String,
    pub trace_id: String,
    pub correlation_id: String,
    pub timestamp: String,
}

impl AadError {
    pub(crate) fn new(
        status: StatusCode,
        error: &'static str,
        code: u32,
        message: impl Into<String>,
    ) -> Self {
        Self {
            status,
            error,
            code,
            message: message.into(),
            trace_id: uuid::Uuid::new_v4().to_string(),
            correlation_id: uuid::Uuid::new_v4().to_string(),
            timestamp: time::OffsetDateTime::now_utc()
                .format(time::macros::format_description!(
                    "[year]-[month]-[day] [hour]:[minute]:[second]Z"
                ))
                .unwrap_or_default(),
        }
    }

    pub(crate) fn with_correlation(mut self, correlation_id: Option<&str>) -> Self {
        if let Some(c) = correlation_id {
            self.correlation_id = c.to_string();
        }
        self
    }

    /// `AADSTSnnnn: message Trace ID: ... Correlation ID: ... Timestamp: ...`
    pub(crate) fn description(&self) -> String {
        format!(
            "AADSTS{}: {} Trace ID: {} Correlation ID: {} Timestamp: {}",
            self.code, self.message, self.trace_id, self.correlation_id, self.timestamp
        )
    }

    pub(crate) fn body(&self) -> Value {
        json!({
            "error": self.error,
            "error_description": self.description(),
            "error_codes": [self.code],
            "timestamp": self.timestamp,
            "trace_id": self.trace_id,
            "correlation_id": self.correlation_id,
            "error_uri": format!("https://login.microsoftonline.com/error?code={}", self.code),
        })
    }
}

impl IntoResponse for AadError {
    fn into_response(self) -> Response {
        let body = self.body().to_string();
        (
            self.status,
            [
                ("content-type", "application/json; charset=utf-8"),
                ("cache-control", "no-store, no-cache"),
            ],
            body,
        )
            .into_response()
    }
}

/// Common AADSTS errors (messages follow Entra's wording).
pub(crate) mod aad {
    use super::AadError;
    use axum::http::StatusCode;

    pub(crate) fn missing_parameter(name: &str) -> AadError {
        AadError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            900144,
            format!("The request body must contain the following parameter: '{name}'."),
        )
    }

    pub(crate) fn tenant_not_found(tenant: &str) -> AadError {
        AadError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            90002,
            format!(
                "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant."
            ),
        )
    }

    pub(crate) fn app_not_found(client_id: &str, tenant_name: &str) -> AadError {
        AadError::new(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            700016,
            format!(
                "Application with identifier '{client_id}' was not found in the directory '{tenant_name}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant."
            ),
        )
    }

    pub(crate) fn bad_secret(client_id: &str) -> AadError {
        AadError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000215,
            format!(
                "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{client_id}'."
            ),
        )
    }

    pub(crate) fn secret_required() -> AadError {
        AadError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        )
    }

    pub(crate) fn missing_service_principal(client_id: &str, tenant_id: &str) -> AadError {
        AadError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000229,
            format!(
                "The client application {client_id} is missing service principal in the tenant {tenant_id}. See instructions here: https://go.microsoft.com/fwlink/?linkid=2225119"
            ),
        )
    }

    pub(crate) fn consent_required(client_id: &str, app_name: &str) -> AadError {
        AadError::new(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            65001,
            format!(
                "The user or administrator has not consented to use the application with ID '{client_id}' named '{app_name}'. Send an interactive authorization request for this user and resource."
            ),
        )
    }

    pub(crate) fn redirect_mismatch(uri: &str, client_id: &str) -> AadError {
        AadError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            50011,
            format!(
                "The redirect URI '{uri}' specified in the request does not match the redirect URIs configured for the application '{client_id}'. Make sure the redirect URI sent in the request matches one added to your application in the Azure portal. Navigate to https://aka.ms/redirectUriMismatchError to learn more about how to fix this."
            ),
        )
    }

    pub(crate) fn invalid_code() -> AadError {
        AadError::new(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            70000,
            "The provided value for the 'code' parameter is not valid.",
        )
    }

    pub(crate) fn code_redeemed() -> AadError {
        AadError::new(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            54005,
            "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.",
        )
    }

    pub(crate) fn code_expired() -> AadError {
        AadError::new(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            70008,
            "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.",
        )
    }

    pub(crate) fn pkce_mismatch() -> AadError {
        AadError::new(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            50148,
            "The code_verifier does not match the code_challenge supplied in the authorization request for PKCE.",
        )
    }

    pub(crate) fn pkce_missing() -> AadError {
        AadError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            501481,
            "The Code_Verifier does not match the code_challenge supplied in the authorization request.",
        )
    }

    pub(crate) fn invalid_scope_default(scope: &str) -> AadError {
        AadError::new(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            1002012,
            format!(
                "The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."
            ),
        )
    }

    pub(crate) fn resource_not_found(resource: &str, tenant_name: &str) -> AadError {
        AadError::new(
            StatusCode::BAD_REQUEST,
            "invalid_resource",
            500011,
            format!(
                "The resource principal named {resource} was not found in the tenant named {tenant_name}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant."
            ),
        )
    }

    pub(crate) fn no_tenant_info() -> AadError {
        AadError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            50059,
            "No tenant-identifying information found in either the request or implied by any provided credentials.",
        )
    }

    pub(crate) fn unsupported_grant(grant: &str) -> AadError {
        AadError::new(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            70003,
            format!("The app requested an unsupported grant type '{grant}'."),
        )
    }

    pub(crate) fn bad_refresh_token() -> AadError {
        AadError::new(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            9002313,
            "Invalid request. Request is malformed or invalid.",
        )
    }

    pub(crate) fn wrong_password() -> AadError {
        AadError::new(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            50126,
            "Error validating credentials due to invalid username or password.",
        )
    }

    pub(crate) fn user_not_found(tenant_name: &str) -> AadError {
        AadError::new(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            50034,
            format!(
                "The user account {{EmailHidden}} does not exist in the {tenant_name} directory. To sign into this application, the account must be added to the directory."
            ),
        )
    }

    pub(crate) fn account_disabled() -> AadError {
        AadError::new(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            50057,
            "The user account is disabled.",
        )
    }

    pub(crate) fn wrong_tenant_user(tenant_name: &str) -> AadError {
        AadError::new(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            50020,
            format!(
                "User account from identity provider does not exist in tenant '{tenant_name}' and cannot access the application in that tenant. The account needs to be added as an external user in the tenant first. Sign out and sign in again with a different Azure Active Directory user account."
            ),
        )
    }

    pub(crate) fn admin_approval_needed(app_name: &str) -> AadError {
        AadError::new(
            StatusCode::FORBIDDEN,
            "consent_required",
            90094,
            format!(
                "{app_name} needs permission to access resources in your organization that only an admin can grant. Please ask an admin to grant permission to this app before you can use it."
            ),
        )
    }

    pub(crate) fn declined() -> AadError {
        AadError::new(
            StatusCode::BAD_REQUEST,
            "access_denied",
            65004,
            "User declined to consent to access the app.",
        )
    }

    pub(crate) fn login_required() -> AadError {
        AadError::new(
            StatusCode::BAD_REQUEST,
            "login_required",
            50058,
            "A silent sign-in request was sent but no user is signed in.",
        )
    }
}
