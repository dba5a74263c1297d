//! Entra ID (AADSTS) errors: the OAuth error body of the token endpoint and the `error` /
//! `error_description` query parameters of sign-in and consent redirects, mapped to typed,
//! admin-facing errors.

use serde::Deserialize;

use crate::error::MicrosoftError;
use crate::http::Reply;

/// The token endpoint's error body:
/// `{"error":"invalid_client","error_description":"AADSTS7000215: ...","error_codes":[7000215],...}`.
#[derive(Debug, Deserialize)]
pub(crate) struct OAuthErrorBody {
    pub error: String,
    #[serde(default)]
    pub error_description: Option<String>,
    #[serde(default)]
    pub error_codes: Vec<u64>,
}

/// Microsoft's `request-id` header of an Entra ID answer, if any. Entra's error body has no
/// request id: its trace and correlation ids are part of `error_description`.
pub(crate) fn request_id(reply: &Reply) -> Option<String> {
    reply.header("request-id").map(str::to_owned)
}

/// What Teamline was doing, to name the tenant or redirect URI in the message.
#[derive(Clone, Copy, Default)]
pub(crate) struct AadContext<'a> {
    pub tenant_id: Option<&'a str>,
    pub redirect_uri: Option<&'a str>,
}

/// The `AADSTSnnnn` number from the error codes array or from the description text.
pub(crate) fn aadsts_code(description: &str, codes: &[u64]) -> Option<u64> {
    if let Some(code) = codes.first() {
        return Some(*code);
    }
    let start = description.find("AADSTS")? + "AADSTS".len();
    let digits: String = description[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// Microsoft's description without the `Trace ID` / `Correlation ID` / `Timestamp` parts,
/// which come on their own lines or inline after the message.
pub(crate) fn clean_description(description: &str) -> String {
    let message = description
        .split(" Trace ID:")
        .next()
        .unwrap_or(description);
    message
        .split(['\r', '\n'])
        .map(str::trim)
        .filter(|line| {
            !line.is_empty()
                && !line.starts_with("Trace ID")
                && !line.starts_with("Correlation ID")
                && !line.starts_with("Timestamp")
        })
        .collect::<Vec<_>>()
        .join(" ")
}

pub(crate) fn map_error(
    error: &str,
    description: &str,
    codes: &[u64],
    ctx: AadContext<'_>,
) -> MicrosoftError {
    let tenant = || ctx.tenant_id.unwrap_or("(unknown tenant)").to_owned();
    let code = aadsts_code(description, codes);
    match code {
        Some(7_000_215 | 7_000_222 | 7_000_216) => MicrosoftError::InvalidClientSecret {
            code: format!("AADSTS{}", code.unwrap_or_default()),
        },
        Some(65_001) => MicrosoftError::ConsentRequired {
            tenant_id: tenant(),
        },
        // The resource (Graph or the Teams admin API) has no service principal or grant in
        // the tenant: consent has not been given for it.
        Some(500_011) => MicrosoftError::ConsentRequired {
            tenant_id: tenant(),
        },
        // 7000229: the app has no service principal in the tenant (client credentials).
        Some(700_016 | 7_000_229) => MicrosoftError::AppNotInTenant {
            tenant_id: tenant(),
        },
        Some(90_094 | 90_008) => MicrosoftError::AdminConsentRequired,
        Some(50_011) => MicrosoftError::RedirectUriMismatch {
            redirect_uri: ctx.redirect_uri.unwrap_or("(unknown)").to_owned(),
        },
        Some(90_002) => MicrosoftError::UnknownTenant {
            tenant_id: tenant(),
        },
        Some(65_004) => MicrosoftError::ConsentDeclined {
            description: clean_description(description),
        },
        _ if error == "access_denied" || error == "consent_required" => {
            if error == "consent_required" {
                MicrosoftError::ConsentRequired {
                    tenant_id: tenant(),
                }
            } else {
                MicrosoftError::ConsentDeclined {
                    description: clean_description(description),
                }
            }
        }
        Some(n) => MicrosoftError::SignInRejected {
            code: format!("AADSTS{n}"),
            description: clean_description(description),
        },
        None => MicrosoftError::SignInRejected {
            code: error.to_owned(),
            description: clean_description(description),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aadsts_codes_become_typed_errors() {
        let desc = "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value.\r\nTrace ID: 1\r\nCorrelation ID: 2\r\nTimestamp: 2024-01-01 00:00:00Z";
        let e = map_error("invalid_client", desc, &[7_000_215], AadContext::default());
        assert!(
            matches!(e, MicrosoftError::InvalidClientSecret { .. }),
            "{e:?}"
        );

        let e = map_error(
            "invalid_request",
            "AADSTS90002: Tenant 'nope' not found.",
            &[],
            AadContext {
                tenant_id: Some("nope"),
                redirect_uri: None,
            },
        );
        assert!(
            matches!(e, MicrosoftError::UnknownTenant { ref tenant_id } if tenant_id == "nope")
        );

        let e = map_error(
            "access_denied",
            "AADSTS65004: User declined to consent to access the app.",
            &[],
            AadContext::default(),
        );
        assert!(matches!(e, MicrosoftError::ConsentDeclined { .. }));

        let e = map_error(
            "unauthorized_client",
            "AADSTS700016: Application with identifier 'x' was not found in the directory 'Contoso'.",
            &[],
            AadContext {
                tenant_id: Some("t1"),
                redirect_uri: None,
            },
        );
        assert_eq!(
            e.to_string(),
            "Teamline's app is not registered in tenant t1 (AADSTS700016): a Global Administrator of that tenant must sign in and grant admin consent"
        );
    }

    #[test]
    fn descriptions_lose_their_trace_lines() {
        assert_eq!(
            clean_description(
                "AADSTS50011: The redirect URI does not match.\r\nTrace ID: abc\r\nCorrelation ID: def"
            ),
            "AADSTS50011: The redirect URI does not match."
        );
        assert_eq!(
            clean_description(
                "AADSTS7000229: The client application x is missing service principal in the tenant y. See https://go.microsoft.com/fwlink/?linkid=2225119 Trace ID: 0000 Correlation ID: aaaa Timestamp: 2025-09-18 01:17:37Z"
            ),
            "AADSTS7000229: The client application x is missing service principal in the tenant y. See https://go.microsoft.com/fwlink/?linkid=2225119"
        );
    }
}
